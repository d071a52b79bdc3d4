//! The `lasthop-origin` binary: parses flags and wires the library together.
//!
//! `serve` logs JSON lines to stderr (see [`lasthop_origin::telemetry`]) and stops gracefully
//! on SIGTERM or SIGINT (Ctrl-C): requests in flight finish, background tasks end, exit 0.

use clap::Parser as _;
use lasthop_origin::commands;
use lasthop_origin::config::{
    AuditCommand, Cli, Command, ExposeSecret as _, KeysCommand, LogFormat, Settings,
};
use lasthop_origin::startup::Application;
use lasthop_origin::telemetry;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Serve(args) => {
            let settings = Settings::from_args(&args)?;
            telemetry::init(settings.log_format)?;
            let app = Application::build(settings).await?;
            app.run_until(shutdown_signal()).await?;
        }
        Command::Keygen(args) => {
            telemetry::init(LogFormat::Text)?;
            for (path, written) in commands::keygen(&args.dir)?.files {
                let what = if written { "wrote" } else { "kept existing" };
                println!("{what} {}", path.display());
            }
        }
        Command::EdgeSecrets(args) => {
            telemetry::init(LogFormat::Text)?;
            let ring = args.load()?;
            println!(
                "{}",
                commands::edge_secrets_line(ring.expose_secret())?.as_str()
            );
        }
        Command::Provision(args) => {
            telemetry::init(LogFormat::Text)?;
            let report = commands::provision_command(&args).await?;
            for step in &report.steps {
                println!("{step}");
            }
            if let Some(path) = &args.pgpass_file {
                println!("wrote {}", path.display());
            }
            println!("# for origin.toml (passwords from PGPASSFILE or the *_url_file settings):");
            println!("directory_url = \"{}\"", report.directory_url);
            println!("vault_url = \"{}\"", report.vault_url);
        }
        Command::Audit(args) => {
            telemetry::init(LogFormat::Text)?;
            audit(args.command).await?;
        }
        Command::Keys(args) => {
            telemetry::init(LogFormat::Text)?;
            keys(args.command).await?;
        }
    }
    Ok(())
}

/// Exit status of `keys retire` when the version is still needed (1 is any other failure), so
/// a script can tell "not yet" from an error.
const STILL_NEEDED: i32 = 3;

/// `keys …`: a refused retirement is reported on stderr with exit status [`STILL_NEEDED`].
async fn keys(command: KeysCommand) -> anyhow::Result<()> {
    use commands::keys;
    match command {
        KeysCommand::Rotate(args) => {
            let path = keys::key_file(&args)?;
            let version = keys::rotate(&path)?;
            println!(
                "added master key version {} to {}; it is current",
                version.0,
                path.display()
            );
            println!("next:");
            println!("  1. restart the origin with this key file (it accepts the edge's calls signed under the previous version meanwhile)");
            println!("  2. give the edge its new secrets: lasthop-origin edge-secrets --master-keys-file {} | cut -d= -f2- | wrangler secret put LASTHOP_EDGE_SECRETS", path.display());
            println!(
                "  3. lasthop-origin keys rewrap, then lasthop-origin keys retire <old version>"
            );
        }
        KeysCommand::Rewrap(args) => {
            let report = keys::rewrap_command(&args.serve, args.batch_size).await?;
            for (table, rows) in &report.tables {
                println!("{table}: {rows} records re-sealed");
            }
            println!(
                "rewrapped {} records under version {} in {:.2} s ({:.0} records/s)",
                report.records(),
                report.current.0,
                report.elapsed.as_secs_f64(),
                report.per_second()
            );
        }
        KeysCommand::Retire(args) => {
            let version = lasthop_core::keys::KeyVersion(args.version);
            match keys::retire(&args.serve, version, args.end_credentials).await? {
                keys::Retired::Done => {
                    println!("retired master key version {}; now give the edge its new secrets (edge-secrets) and restart the origin", args.version);
                }
                keys::Retired::Refused(needs) => {
                    eprintln!(
                        "refusing to retire master key version {}: it is still needed",
                        args.version
                    );
                    for need in needs {
                        eprintln!("  - {need}");
                    }
                    std::process::exit(STILL_NEEDED);
                }
            }
        }
    }
    Ok(())
}

/// `audit …`: a broken chain is reported on stderr with exit status 1.
async fn audit(command: AuditCommand) -> anyhow::Result<()> {
    use commands::audit;
    let broken = |fault: audit::ChainFault| -> ! {
        eprintln!("audit chain broken: {fault}");
        std::process::exit(1)
    };
    match command {
        AuditCommand::Verify(args) => match audit::verify_command(&args).await? {
            Ok(report) => println!(
                "audit chain intact: {} rows, head {}; {} rows from before the chain began",
                report.verified.rows,
                report.verified.head.to_hex(),
                report.legacy_rows
            ),
            Err(fault) => broken(fault),
        },
        AuditCommand::Export(args) => match audit::export_command(&args).await? {
            Ok(export) => println!(
                "wrote {} rows to {}, head {}, signed by {} {}",
                export.head.seq,
                args.out.display(),
                export.head.hash,
                export.key_id,
                export.public_key
            ),
            Err(fault) => broken(fault),
        },
        AuditCommand::CheckExport(args) => {
            let (export, rows) = audit::check_export_command(&args)?;
            println!(
                "export intact: {rows} rows, head {}, signed by {} {}",
                export.head.hash, export.key_id, export.public_key
            );
        }
        AuditCommand::PublicKey(args) => {
            let (key_id, public_key) = audit::public_key_command(&args)?;
            println!("{key_id} {public_key}");
        }
    }
    Ok(())
}

/// Resolves on the first SIGTERM (systemd, `kill`) or SIGINT (Ctrl-C).
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = terminate.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(err) => {
                tracing::warn!(error = %err, "cannot listen for SIGTERM; only Ctrl-C stops the origin");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

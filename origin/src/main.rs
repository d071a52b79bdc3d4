//! The `lasthop-origin` binary: parses flags and wires the library together.
//!
//! `serve` logs JSON lines to stderr (see [`lasthop_origin::telemetry`]) and stops gracefully
//! on SIGTERM or SIGINT (Ctrl-C): requests in flight finish, background tasks end, exit 0.

use clap::Parser as _;
use lasthop_origin::commands;
use lasthop_origin::config::{Cli, Command, ExposeSecret as _, LogFormat, Settings};
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

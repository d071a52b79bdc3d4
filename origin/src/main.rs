//! The `lasthop-origin` binary: parses flags and wires the library together.

use clap::Parser as _;
use lasthop_origin::commands;
use lasthop_origin::config::{Cli, Command, Settings};
use lasthop_origin::startup::Application;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Serve(args) => {
            let settings = Settings::from_args(&args)?;
            let app = Application::build(settings).await?;
            println!("listening on {}", app.port());
            app.run_until(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await?;
        }
        Command::Keygen(args) => {
            for (path, written) in commands::keygen(&args.dir)?.files {
                let what = if written { "wrote" } else { "kept existing" };
                println!("{what} {}", path.display());
            }
        }
        Command::EdgeSecrets(args) => {
            let ring = args.load()?;
            println!("{}", commands::edge_secrets_line(ring.expose())?.as_str());
        }
    }
    Ok(())
}

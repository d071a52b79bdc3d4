//! `cargo xtask dev`: the origin and the edge on this machine until Ctrl-C or SIGTERM.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use lasthop_e2e::postgres::{self, PgStores};
use lasthop_e2e::{LaunchError, Stack, StackOptions};

use crate::{edge, setup};

/// Flags of `cargo xtask dev`.
#[derive(Debug, clap::Args)]
pub struct DevArgs {
    /// Port of the edge (`wrangler dev`).
    #[arg(long, default_value_t = 8787)]
    edge_port: u16,
    /// Port of the origin.
    #[arg(long, default_value_t = 8080)]
    origin_port: u16,
    /// Origin SQLite files, development keys, `.dev.vars` and the edge's local storage.
    #[arg(long, default_value = ".lasthop/dev")]
    state_dir: PathBuf,
    /// Where to write the URLs and ops token once both answer
    /// [default: `dev.json` next to the state dir, i.e. `.lasthop/dev.json`].
    #[arg(long)]
    dev_json: Option<PathBuf>,
    /// The origin's stores: SQLite files, or PostgreSQL — a directory cluster and a vault
    /// primary with a synchronous streaming standby, under `<state dir>/pg`, on free ports
    /// (written into dev.json under `directory`, `vault_primary`, `vault_standby`).
    #[arg(long, value_enum, default_value_t = DevVault::Sqlite)]
    vault: DevVault,
}

/// The stores `cargo xtask dev` runs the origin on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum DevVault {
    /// SQLite files in the state dir.
    Sqlite,
    /// Three PostgreSQL clusters in the state dir.
    Postgres,
}

/// Set up, build the Worker, start both services, write dev.json, then wait for a signal.
pub fn run(root: &Path, args: DevArgs) -> anyhow::Result<ExitCode> {
    // Registered first so that a Ctrl-C during the build or startup also stops what started
    // instead of killing xtask and orphaning the children.
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&stop))
            .context("installing the SIGINT/SIGTERM handler")?;
    }

    let tools = setup::run(root, setup::Needs::WorkerBuild)?;
    edge::build(root, &tools)?;
    if stop.load(Ordering::SeqCst) {
        println!("dev: stopped before starting the services");
        return Ok(ExitCode::SUCCESS);
    }

    let state_dir = root.join(&args.state_dir);
    let dev_json = match args.dev_json {
        Some(path) => root.join(path),
        None => state_dir.parent().unwrap_or(root).join("dev.json"),
    };
    let mut options = StackOptions::new(&state_dir);
    options.edge_port = Some(args.edge_port);
    options.origin_port = Some(args.origin_port);
    options.cancel = Some(Arc::clone(&stop));
    // Declared before the stack, so they are stopped after it (the origin first).
    let clusters = match args.vault {
        DevVault::Sqlite => None,
        DevVault::Postgres => {
            if !postgres::required()? {
                anyhow::bail!("--vault postgres needs the PostgreSQL server binaries");
            }
            println!("dev: starting PostgreSQL: directory, vault primary and its standby");
            let clusters = PgStores::start(&state_dir.join("pg"), false)
                .context("starting the PostgreSQL clusters")?;
            options.origin_stores = Some(clusters.urls());
            Some(clusters)
        }
    };
    println!(
        "dev: starting origin on :{} and edge on :{} (state in {})",
        args.origin_port,
        args.edge_port,
        state_dir.display()
    );
    let mut stack = match Stack::spawn(options) {
        Ok(stack) => stack,
        Err(LaunchError::Cancelled(_)) => {
            println!("dev: stopped during startup");
            return Ok(ExitCode::SUCCESS);
        }
        Err(e) => return Err(e).context("starting the development stack"),
    };

    let mut info = serde_json::json!({
        "edge_url": stack.edge.url(),
        "origin_url": stack.origin.url(),
        "ops_token": stack.origin.ops_token()?,
        "edge_state_dir": stack.edge.persist_dir(),
    });
    if let (Some(clusters), Some(fields)) = (&clusters, info.as_object_mut()) {
        if let serde_json::Value::Object(described) = clusters.describe() {
            fields.extend(described);
        }
    }
    let text = serde_json::to_string_pretty(&info)?;
    if let Some(parent) = dev_json.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    std::fs::write(&dev_json, format!("{text}\n"))
        .with_context(|| format!("writing {}", dev_json.display()))?;
    println!(
        "dev: both services answer /healthz; wrote {}:",
        dev_json.display()
    );
    println!("{text}");
    println!(
        "dev: logs in {} and {}; Ctrl-C stops both",
        stack.origin.log_path().display(),
        stack.edge.log_path().display()
    );

    let outcome = loop {
        if stop.load(Ordering::SeqCst) {
            break Ok(ExitCode::SUCCESS);
        }
        if !stack.origin.is_running() {
            break Err(anyhow::anyhow!(
                "the origin exited; last lines of {}:\n{}",
                stack.origin.log_path().display(),
                lasthop_e2e::log_tail(&stack.origin.log_path(), 30)
            ));
        }
        if !stack.edge.is_running() {
            break Err(anyhow::anyhow!(
                "wrangler dev exited; last lines of {}:\n{}",
                stack.edge.log_path().display(),
                lasthop_e2e::log_tail(&stack.edge.log_path(), 30)
            ));
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    println!("dev: stopping the edge and the origin");
    stack.stop();
    if let Some(clusters) = clusters {
        println!("dev: stopping PostgreSQL");
        drop(clusters);
    }
    // Nothing is removed: keys, databases, edge storage and dev.json stay for the next run.
    println!("dev: stopped");
    outcome
}

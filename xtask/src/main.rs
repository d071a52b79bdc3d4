//! `cargo xtask`: the project's own commands, so a fresh machine with only Rust and Node.js
//! can develop and test lasthop.
//!
//! - `cargo xtask setup` — install what is missing (wasm32 target, `worker-build`,
//!   `wasm-bindgen-cli` matching Cargo.lock, `npm ci` (wrangler, binaryen, playwright-core),
//!   PostgreSQL server binaries for the origin's tests, Debian's Chromium and chromedriver for
//!   the page tests, schemathesis with pip for the API fuzz test); prints what it installs and
//!   skips what is already right.
//! - `cargo xtask build-edge` — build the browser wasm of the pages into `pages/pkg/` and the
//!   Worker (`worker-build --profile edge-release`, names stripped); print both sizes, raw and
//!   gzip-compressed, and fail when the Worker is over its size budget.
//! - `cargo xtask dev` — setup, build the Worker, start the origin on SQLite under
//!   `.lasthop/dev/` and `wrangler dev` for the edge; write `.lasthop/dev.json` once both answer.
//!   Ctrl-C or SIGTERM stops both, with everything they spawned.
//! - `cargo xtask test` — setup, fmt, clippy (host and wasm32), wasm32 check of the core, the
//!   Worker's release build, all tests including end to end; each phase timed.
//! - `cargo xtask screenshots` — every page at desktop and phone width in both languages,
//!   taken along the seed's journey in Chromium, into `docs/screenshots/`.
//! - `cargo xtask bench` — build the Worker and its bench-only variant, run every benchmark in
//!   release mode, and write `BENCHMARKS.md` (machine, date, commit, figures, ratios, goals).
//!
//! Opt-out: `LASTHOP_SKIP_POSTGRES=1` skips installing PostgreSQL (the origin's PostgreSQL tests
//! then skip themselves).
//!
//! # Layout
//! - `setup`: detecting and installing tools; `Tools` says where they are.
//! - `edge`: the Worker builds (deployed and bench-only), their size report and budget.
//! - `browser`: the pages' wasm build (`lasthop-browser` → `pages/pkg/`) and its size report.
//! - `dev`: the development stack and its signal handling.
//! - `screenshots`: the pages' screenshots.
//! - `check`: `cargo xtask test`, phase by phase.
//! - `bench`: the benchmark runner; `bench_report`: `BENCHMARKS.md` from its figures.
//! - `cmd`: running child commands with a printed command line, and timing phases.

// Tests may unwrap: a panic there is the failure report.
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod bench;
mod bench_report;
mod browser;
mod check;
mod cmd;
mod dev;
mod edge;
mod screenshots;
mod setup;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

/// lasthop's development commands.
#[derive(Debug, Parser)]
#[command(name = "cargo xtask", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Install what is missing: wasm32 target, worker-build, wasm-bindgen-cli, npm tools,
    /// PostgreSQL, Chromium, schemathesis.
    Setup,
    /// Build the pages' browser wasm and the Worker; print both sizes; fail when the Worker is
    /// over its size budget.
    BuildEdge,
    /// Run the origin and the edge locally until Ctrl-C or SIGTERM.
    Dev(dev::DevArgs),
    /// Everything CI checks: fmt, clippy, wasm32 checks, the Worker build, all tests.
    Test,
    /// Run every benchmark and write BENCHMARKS.md.
    Bench,
    /// Take the pages' screenshots (both widths, both languages) into docs/screenshots/.
    Screenshots,
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("xtask: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let root = repo_root()?;
    match cli.command {
        Command::Setup => {
            setup::run(&root, setup::Needs::Everything)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::BuildEdge => {
            let tools = setup::run(&root, setup::Needs::WorkerBuild)?;
            edge::build(&root, &tools)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Dev(args) => dev::run(&root, args),
        Command::Test => check::run(&root),
        Command::Bench => bench::run(&root),
        Command::Screenshots => {
            screenshots::run(&root)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The repository root, where every command runs: the parent of this crate's manifest dir.
fn repo_root() -> anyhow::Result<PathBuf> {
    let root = lasthop_e2e::Workspace::locate().context("locating the lasthop repository")?;
    Ok(root.root().to_path_buf())
}

//! `cargo xtask test`: everything CI checks, phase by phase, each timed.

use std::path::Path;
use std::process::{Command, ExitCode};

use crate::cmd::{self, Phases};
use crate::edge;
use crate::setup::{self, Tools, WASM_TARGET};

/// Run every phase; stop at the first failure and exit non-zero. Phase timings are printed
/// either way.
pub fn run(root: &Path) -> anyhow::Result<ExitCode> {
    let mut phases = Phases::default();
    let result = run_phases(root, &mut phases);
    println!("\n{}", phases.summary());
    match result {
        Ok(()) => {
            println!("xtask test: all phases passed");
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("xtask test: {e:#}");
            Ok(ExitCode::FAILURE)
        }
    }
}

fn run_phases(root: &Path, phases: &mut Phases) -> anyhow::Result<()> {
    let cargo = |args: &[&str]| {
        let mut c = Command::new("cargo");
        c.current_dir(root).args(args);
        c
    };
    let mut tools: Option<Tools> = None;
    phases.run("setup", || {
        tools = Some(setup::run(root, setup::Needs::Everything)?);
        Ok(())
    })?;
    let tools = tools.ok_or_else(|| anyhow::anyhow!("setup returned no tools"))?;
    phases.run("fmt", || {
        cmd::run(&mut cargo(&["fmt", "--all", "--", "--check"]))
    })?;
    // Default members: everything but the edge, which deploys as wasm32 and has its own phases.
    phases.run("clippy (host)", || {
        cmd::run(&mut cargo(&[
            "clippy",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]))
    })?;
    phases.run("clippy (edge, wasm32)", || {
        cmd::run(&mut cargo(&[
            "clippy",
            "-p",
            "lasthop-edge",
            "--target",
            WASM_TARGET,
            "--",
            "-D",
            "warnings",
        ]))
    })?;
    // The edge's decision glue also has native unit tests; lint them like every other test,
    // with the bench build's code (`--features bench`), which only `cargo xtask bench` runs.
    phases.run("clippy (edge tests, host)", || {
        cmd::run(&mut cargo(&[
            "clippy",
            "-p",
            "lasthop-edge",
            "--all-targets",
            "--features",
            "bench",
            "--",
            "-D",
            "warnings",
        ]))
    })?;
    phases.run("check core for wasm32", || {
        cmd::run(&mut cargo(&[
            "check",
            "-p",
            "lasthop-core",
            "--target",
            WASM_TARGET,
        ]))
    })?;
    phases.run("build edge (release)", || {
        edge::build(root, &tools).map(|_| ())
    })?;
    // The production bundle, as `wrangler deploy --env production` would upload it.
    phases.run("edge bundle (wrangler deploy --dry-run)", || {
        edge::dry_run_deploy(root, &edge::PLATFORM_LIMIT).map(drop)
    })?;
    // The end-to-end launchers run these binaries; building them here keeps compiler output
    // out of the test run and makes the launchers' own `cargo build` a no-op.
    phases.run("build origin and xtask", || {
        cmd::run(&mut cargo(&["build", "-p", "lasthop-origin"]))?;
        cmd::run(&mut cargo(&["build", "-p", "xtask"]))
    })?;
    phases.run("tests (unit, integration, end to end)", || {
        let mut test = cargo(&["test", "--no-fail-fast"]);
        if let Some(chromium) = &tools.chromium {
            // The page tests drive the browser setup found or installed.
            test.env(setup::CHROMIUM_ENV, chromium);
        }
        if let Some(st) = &tools.schemathesis {
            // The API fuzz test runs the schemathesis setup installed.
            test.env(setup::SCHEMATHESIS_ENV, st);
        }
        if let Some(pg) = &tools.postgres_bin {
            // Debian installs pg_ctl/initdb off PATH; the origin's PostgreSQL tests look on PATH.
            let path = std::env::var_os("PATH").unwrap_or_default();
            let joined = std::env::join_paths(
                std::iter::once(pg.clone()).chain(std::env::split_paths(&path)),
            )?;
            test.env("PATH", joined);
        }
        cmd::run(&mut test)?;
        // Not a default member (it only deploys as wasm32), so named explicitly.
        cmd::run(&mut cargo(&[
            "test",
            "-p",
            "lasthop-edge",
            "--lib",
            "--features",
            "bench",
        ]))
    })?;
    Ok(())
}

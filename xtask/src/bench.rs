//! `cargo xtask bench`: build the deployed Worker (its size) and the bench Worker, run every
//! benchmark in release mode, and write `BENCHMARKS.md` from that one run
//! ([`crate::bench_report`]).
//!
//! The benchmarks, in order:
//! - `lasthop-core/hop` (criterion): the costliest hop decision, natively;
//! - `lasthop-e2e/worker_costs`: the bench Worker under `wrangler dev` — the decision inside
//!   wasm, non-final scans against the plaintext baseline at 1, 8 and 32 scanners, scans as
//!   stored orders grow;
//! - `lasthop-e2e/load` (the load generator): registrations, orders, scans and final-hop
//!   releases at the origin on SQLite and PostgreSQL;
//! - `lasthop-e2e/scan_profile`: where one hop scan's time goes, step by step.
//!
//! A benchmark that fails stops the run (no partial report); one that does not exist yet is
//! named under "Not measured in this run".

use std::path::Path;
use std::process::{Command, ExitCode};

use anyhow::Context;

use crate::bench_report::{self, Machine, Report};
use crate::cmd;
use crate::edge::{self, Variant};
use crate::setup;

/// The report, at the repository root.
const REPORT: &str = "BENCHMARKS.md";

/// Run everything and write the report.
pub fn run(root: &Path) -> anyhow::Result<ExitCode> {
    let tools = setup::run(root, setup::Needs::Everything)?;
    let date = probe_line(Command::new("date").arg("-u")).unwrap_or_else(|| "unknown".into());
    let load_before = load_average();
    // Read now: the report is about the tree the benchmarks were built from.
    let commit = commit(root);
    let worker = edge::build(root, &tools)?;
    edge::build_variant(root, &tools, Variant::Bench)?;
    let benches = bench_targets(root)?;
    let mut missing = Vec::new();
    let mut figures = Vec::new();

    let cargo_bench = |package: &str, bench: &str| {
        let mut command = Command::new("cargo");
        command
            .current_dir(root)
            .args(["bench", "-p", package, "--bench", bench]);
        if let Some(pg) = &tools.postgres_bin {
            // The load generator starts PostgreSQL clusters; Debian keeps pg_ctl off PATH.
            let path = std::env::var_os("PATH").unwrap_or_default();
            if let Ok(joined) = std::env::join_paths(
                std::iter::once(pg.clone()).chain(std::env::split_paths(&path)),
            ) {
                command.env("PATH", joined);
            }
        }
        command
    };

    let hop = cmd::run_capture(&mut cargo_bench("lasthop-core", "hop"))?;
    let hop_native = bench_report::parse_criterion(&hop, "hop_decision_worst_case");
    if hop_native.is_none() {
        missing.push("lasthop-core/hop: criterion's estimate could not be read".to_owned());
    }
    for (package, bench, what) in [
        (
            "lasthop-e2e",
            "worker_costs",
            "the bench Worker's figures (decision in wasm, baseline, stored orders)",
        ),
        (
            "lasthop-e2e",
            "load",
            "the load generator (registrations, orders, scans, releases on SQLite and PostgreSQL)",
        ),
        (
            "lasthop-e2e",
            "scan_profile",
            "where one hop scan's time goes",
        ),
    ] {
        if !benches.iter().any(|(p, b)| p == package && b == bench) {
            missing.push(format!("{package}/{bench}: {what} — not written yet"));
            continue;
        }
        let output = cmd::run_capture(&mut cargo_bench(package, bench))?;
        figures.extend(bench_report::json_figures(&output));
    }

    let report = Report {
        date,
        commit,
        machine: machine(load_before),
        worker,
        hop_native,
        figures,
        missing,
    };
    let path = root.join(REPORT);
    std::fs::write(&path, bench_report::render(&report))
        .with_context(|| format!("writing {}", path.display()))?;
    println!("bench: wrote {}", path.display());
    for goal in bench_report::goals(&report) {
        println!(
            "bench: {}: {} ({}; {})",
            goal.goal, goal.status, goal.measured, goal.distance
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The short commit hash, `-dirty` when the work tree has changes.
fn commit(root: &Path) -> String {
    let hash =
        probe_line(
            Command::new("git")
                .current_dir(root)
                .args(["rev-parse", "--short", "HEAD"]),
        )
        .unwrap_or_else(|| "unknown".into());
    let dirty = cmd::probe(Command::new("git").current_dir(root).args([
        "status",
        "--porcelain",
        "--untracked-files=no",
    ]))
    .is_some_and(|s| !s.trim().is_empty());
    if dirty {
        format!("{hash}-dirty")
    } else {
        hash
    }
}

fn machine(load_before: String) -> Machine {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let field = |text: &str, name: &str| {
        text.lines()
            .find_map(|l| {
                let (key, value) = l.split_once(':')?;
                (key.trim() == name).then(|| value.trim().to_owned())
            })
            .unwrap_or_else(|| "unknown".into())
    };
    Machine {
        cpu: field(&cpuinfo, "model name"),
        cores: std::thread::available_parallelism().map_or(0, std::num::NonZero::get),
        memory: field(&meminfo, "MemTotal"),
        kernel: probe_line(Command::new("uname").arg("-r")).unwrap_or_else(|| "unknown".into()),
        load: (load_before, load_average()),
    }
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "unknown".into())
}

fn probe_line(command: &mut Command) -> Option<String> {
    cmd::probe(command).map(|s| s.trim().to_owned())
}

/// `(package, bench target)` pairs of the workspace, from `cargo metadata`.
fn bench_targets(root: &Path) -> anyhow::Result<Vec<(String, String)>> {
    let metadata = cmd::probe(Command::new("cargo").current_dir(root).args([
        "metadata",
        "--no-deps",
        "--format-version",
        "1",
    ]))
    .context("`cargo metadata` failed")?;
    parse_bench_targets(&metadata)
}

fn parse_bench_targets(metadata: &str) -> anyhow::Result<Vec<(String, String)>> {
    let json: serde_json::Value =
        serde_json::from_str(metadata).context("parsing cargo metadata")?;
    let mut out = Vec::new();
    for package in json["packages"].as_array().into_iter().flatten() {
        let Some(name) = package["name"].as_str() else {
            continue;
        };
        for target in package["targets"].as_array().into_iter().flatten() {
            let is_bench = target["kind"]
                .as_array()
                .is_some_and(|k| k.iter().any(|k| k == "bench"));
            if let (true, Some(t)) = (is_bench, target["name"].as_str()) {
                out.push((name.to_string(), t.to_string()));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bench_targets_lists_only_bench_kinds() {
        let metadata = r#"{"packages":[{"name":"lasthop-core","targets":[
            {"name":"lasthop_core","kind":["lib"]},
            {"name":"hop","kind":["bench"]}]},
            {"name":"lasthop-origin","targets":[{"name":"lasthop-origin","kind":["bin"]}]}]}"#;
        assert_eq!(
            parse_bench_targets(metadata).unwrap(),
            vec![("lasthop-core".to_string(), "hop".to_string())]
        );
    }

    #[test]
    fn the_machine_is_read_from_proc() {
        let m = machine("0.00 0.00 0.00".into());
        assert!(m.cores >= 1);
        assert_ne!(m.memory, "");
        assert_eq!(m.load.0, "0.00 0.00 0.00");
    }
}

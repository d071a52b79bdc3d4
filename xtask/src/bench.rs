//! `cargo xtask bench`: run the benchmarks that exist, and say which expected ones do not.

use std::path::Path;
use std::process::{Command, ExitCode};

use anyhow::Context;

use crate::cmd;

/// The benchmarks the project promises, by package; any bench target found is run.
const EXPECTED: [(&str, &str); 3] = [
    ("lasthop-core", "the hop decision (shared/benches/hop.rs)"),
    (
        "lasthop-origin",
        "release latency against the origin in release mode",
    ),
    ("lasthop-e2e", "end-to-end hop latency through wrangler dev"),
];

/// Run every bench target of the three packages; missing ones are listed, not faked.
pub fn run(root: &Path) -> anyhow::Result<ExitCode> {
    let metadata = cmd::probe(Command::new("cargo").current_dir(root).args([
        "metadata",
        "--no-deps",
        "--format-version",
        "1",
    ]))
    .context("`cargo metadata` failed")?;
    let benches = bench_targets(&metadata)?;
    let mut missing = Vec::new();
    let mut failed = Vec::new();
    for (package, what) in EXPECTED {
        let names: Vec<&String> = benches
            .iter()
            .filter(|(p, _)| p == package)
            .map(|(_, b)| b)
            .collect();
        if names.is_empty() {
            missing.push(format!("{package}: {what}"));
            continue;
        }
        for bench in names {
            let ok = cmd::run(
                Command::new("cargo")
                    .current_dir(root)
                    .args(["bench", "-p", package, "--bench", bench]),
            );
            if let Err(e) = ok {
                failed.push(format!("{package}/{bench}: {e:#}"));
            }
        }
    }
    for m in &missing {
        println!("bench: missing (not written yet): {m}");
    }
    for f in &failed {
        eprintln!("bench: failed: {f}");
    }
    Ok(if failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// `(package, bench target)` pairs from `cargo metadata` output.
fn bench_targets(metadata: &str) -> anyhow::Result<Vec<(String, String)>> {
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
            bench_targets(metadata).unwrap(),
            vec![("lasthop-core".to_string(), "hop".to_string())]
        );
    }
}

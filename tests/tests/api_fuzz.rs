//! Schemathesis against both running services, with real credentials: the origin's document
//! (ops, internal and health routes) and the edge's (public, buyer, seller, courier and push
//! routes), each fuzzed from its own `/openapi.json` through the real processes.
//!
//! `st` comes from `cargo xtask setup` (pip, pinned); `LASTHOP_SCHEMATHESIS` names it where it
//! is not on PATH. The configuration and the signing hook live in `tests/fuzz/`: the hook signs
//! the origin's internal calls as the edge does, the edge's push route as the origin does, and
//! courier requests as the scanner's device does, with the keys this test hands it.
//!
//! A fixed seed and a small per-operation budget keep every run the same and short
//! (`LASTHOP_FUZZ_SEED` tries another seed by hand).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use common::{Person, Scanner, World};
use lasthop_core::credential::read_scanner_claims;
use lasthop_e2e::SCHEMATHESIS_ENV;
use serde_json::Value;

/// The fixed seed of every run.
const SEED: &str = "13";
/// Overrides [`SEED`], to explore other inputs by hand; CI never sets it.
const SEED_ENV: &str = "LASTHOP_FUZZ_SEED";
/// Examples per operation in the generating phases.
const MAX_EXAMPLES: &str = "15";

/// One `st run`: which service, with which session credential, over which operations.
struct Run<'a> {
    name: &'a str,
    base_url: String,
    /// `origin` or `edge`: which signature the hook adds to `/internal/` routes.
    target: &'a str,
    /// The `session_token` credential: the buyer's or the seller's.
    session_token: &'a str,
    /// The `scanner_token` credential and the device that signs with it.
    scanner: &'a Scanner,
    /// `--include-path-regex` / `--exclude-path-regex` arguments.
    filter: [&'a str; 2],
}

/// What one run found, from its JSON report.
struct Outcome {
    name: String,
    cases: u64,
    failures: Vec<String>,
    seconds: f64,
}

#[test]
fn schemathesis_finds_no_failure_on_either_service_with_buyer_seller_scanner_and_ops_credentials() {
    let st = schemathesis();
    let stack = common::spawn_stack("api-fuzz", &[]);
    let world = World::new(&stack);
    let buyer = world.register_buyer(&Person::chaoyang("模糊", "13600000013"));
    let seller = world.register_seller("Fuzz seller");
    // A hub scanner for hops, deliveries and renewals; a pickup scanner for pickups.
    let scanner = world.scanner("110105", "hub");
    let pickup = world.scanner("330108", "pickup");
    let secrets_line = stack.origin.edge_secrets_line().unwrap();
    let edge_secrets = secrets_line
        .trim_start_matches("LASTHOP_EDGE_SECRETS=")
        .trim_matches('"')
        .to_owned();

    let origin = stack.origin.url();
    let edge = stack.edge.url();
    let runs = [
        Run {
            name: "origin: ops, internal and health routes (buyer session)",
            base_url: origin.clone(),
            target: "origin",
            session_token: &buyer.token,
            scanner: &scanner,
            filter: ["--exclude-path-regex", "/seller/"],
        },
        Run {
            name: "origin: seller routes",
            base_url: origin,
            target: "origin",
            session_token: &seller.token,
            scanner: &scanner,
            filter: ["--include-path-regex", "/seller/"],
        },
        Run {
            name: "edge: public, buyer, hub scanner and push routes (buyer session)",
            base_url: edge.clone(),
            target: "edge",
            session_token: &buyer.token,
            scanner: &scanner,
            filter: ["--exclude-path-regex", "/seller/|/scans/pickup"],
        },
        Run {
            name: "edge: pickup scans (pickup scanner)",
            base_url: edge.clone(),
            target: "edge",
            session_token: &buyer.token,
            scanner: &pickup,
            filter: ["--include-path-regex", "/scans/pickup"],
        },
        Run {
            name: "edge: seller routes",
            base_url: edge,
            target: "edge",
            session_token: &seller.token,
            scanner: &scanner,
            filter: ["--include-path-regex", "/seller/"],
        },
    ];

    let reports = stack.origin.state_dir().join("schemathesis");
    std::fs::create_dir_all(&reports).unwrap();
    let outcomes: Vec<Outcome> = runs
        .iter()
        .enumerate()
        .map(|(n, run)| {
            let mut command = Command::new(&st);
            command
                .env("LASTHOP_FUZZ_EDGE_SECRETS", &edge_secrets)
                .envs(device_env(run.scanner))
                .env("LASTHOP_FUZZ_OPS_TOKEN", world.ops_token())
                .env("LASTHOP_FUZZ_SESSION_TOKEN", run.session_token)
                .env("LASTHOP_FUZZ_TARGET", run.target);
            fuzz(command, run, &reports.join(format!("run-{n}.json")))
        })
        .collect();

    let mut failed = Vec::new();
    for outcome in &outcomes {
        eprintln!(
            "schemathesis: {}: {} cases, {} failures, {:.1} s",
            outcome.name,
            outcome.cases,
            outcome.failures.len(),
            outcome.seconds
        );
        failed.extend(
            outcome
                .failures
                .iter()
                .map(|f| format!("{}: {f}", outcome.name)),
        );
    }
    assert!(
        outcomes.iter().all(|o| o.cases > 0),
        "a run generated no case"
    );
    assert!(
        failed.is_empty(),
        "schemathesis failures:\n{}",
        failed.join("\n")
    );
}

/// The hook's view of a scanner: its credential, the credential's `tid` and its device's
/// Ed25519 seed.
fn device_env(scanner: &Scanner) -> [(&'static str, String); 3] {
    let device = scanner.device.as_ref().expect("a device-bound scanner");
    let tid = read_scanner_claims(&scanner.token)
        .expect("a scanner credential")
        .token_id
        .to_hex();
    let seed = device
        .to_bytes()
        .0
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    [
        ("LASTHOP_FUZZ_SCANNER_TOKEN", scanner.token.clone()),
        ("LASTHOP_FUZZ_SCANNER_TID", tid),
        ("LASTHOP_FUZZ_DEVICE_SEED", seed),
    ]
}

/// The schemathesis CLI: `LASTHOP_SCHEMATHESIS`, else `st` on PATH; fails loudly without it.
fn schemathesis() -> PathBuf {
    let st = std::env::var_os(SCHEMATHESIS_ENV).map_or_else(|| PathBuf::from("st"), PathBuf::from);
    let version = Command::new(&st).arg("--version").output();
    match version {
        Ok(out) if out.status.success() => st,
        _ => panic!(
            "schemathesis (`{}`) is not runnable: run `cargo xtask setup` (pip installs it) or \
             set {SCHEMATHESIS_ENV} to its `st` binary",
            st.display()
        ),
    }
}

/// Runs `st run` for `run` and reads its JSON report at `report`.
fn fuzz(mut command: Command, run: &Run<'_>, report: &Path) -> Outcome {
    let fuzz_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    command
        // st and hypothesis write their working files into the current directory: the
        // state directory, never the source tree.
        .current_dir(report.parent().expect("the report is in a directory"))
        .env("PYTHONPATH", &fuzz_dir)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .arg("--config-file")
        .arg(fuzz_dir.join("schemathesis.toml"))
        .arg("--no-color")
        .arg("run")
        .arg(format!("{}/openapi.json", run.base_url))
        .arg("--seed")
        .arg(std::env::var(SEED_ENV).unwrap_or_else(|_| SEED.to_owned()))
        .args(["--max-examples", MAX_EXAMPLES])
        .args(run.filter)
        .args(["--report", "json", "--report-json-path"])
        .arg(report);
    let started = Instant::now();
    let output = command.output().expect("st runs");
    let seconds = started.elapsed().as_secs_f64();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let parsed: Value = std::fs::read(report)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_else(|| {
            panic!(
                "{}: st wrote no JSON report ({}):\n{stdout}\n{stderr}",
                run.name, output.status
            )
        });
    let failures = read_failures(&parsed);
    if !failures.is_empty() || !output.status.success() {
        // The failures' details (request, response, curl line) for the reader of the test log.
        eprintln!("{}: st {}:\n{stdout}\n{stderr}", run.name, output.status);
    }
    assert!(
        !failures.is_empty() || output.status.success(),
        "{}: st failed ({}) but its report lists no failure",
        run.name,
        output.status
    );
    Outcome {
        name: run.name.to_owned(),
        cases: parsed["test_cases"]["generated"].as_u64().unwrap_or(0),
        failures,
        seconds,
    }
}

/// Each failure kind and error of a JSON run report, with the operations it was found on.
fn read_failures(report: &Value) -> Vec<String> {
    let list = |key: &str| report[key].as_array().cloned().unwrap_or_default();
    let failures = list("failures").into_iter().map(|f| {
        format!(
            "{} {} ({} cases): {}",
            f["code"].as_str().unwrap_or("?"),
            f["title"].as_str().unwrap_or("?"),
            f["count"],
            f["operations"]
        )
    });
    let errors = list("errors").into_iter().map(|e| format!("error: {e}"));
    failures.chain(errors).collect()
}

//! From a scan on the hub terminal page to the verdict shown on it: the seed's journey in
//! Chromium up to the city hub of Hangzhou (3301), then `LASTHOP_TERMINAL_SCANS` (default 100)
//! more scans of the same parcel at that hub, each timed inside the page from the form's
//! submit (device signature in WebCrypto, the signed request through the edge) to the verdict
//! drawn. Prints one JSON object and p50/p90/max. Run: `cargo bench -p lasthop-e2e --bench
//! terminal_latency` (Worker and browser wasm built first: `cargo xtask build-edge`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use lasthop_e2e::pages::{run_seed_journey, JourneyMode};
use lasthop_e2e::{Stack, StackOptions};

fn main() {
    let scans: usize = std::env::var("LASTHOP_TERMINAL_SCANS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let dir = std::env::temp_dir().join(format!("lasthop-terminal-latency-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut options = StackOptions::new(dir.join("stack"));
    options.edge_vars = vec![("SCANNER_RATE_PER_MINUTE".into(), "100000".into())];
    let stack = Stack::spawn(options).expect("origin and edge start");
    let result = run_seed_journey(
        &stack,
        JourneyMode::Latency(scans),
        dir.join("browser"),
        None,
    )
    .expect("the journey runs in Chromium");
    let mut ms: Vec<f64> = result["timings_ms"]
        .as_array()
        .expect("timings")
        .iter()
        .map(|v| v.as_f64().expect("a number"))
        .collect();
    assert_eq!(ms.len(), scans, "{}", result["failed"]);
    ms.sort_by(f64::total_cmp);
    let at = |q: f64| ms[((ms.len() - 1) as f64 * q).round() as usize];
    let figure = serde_json::json!({
        "bench": "terminal_scan_to_verdict",
        "scans": scans,
        "p50_ms": at(0.5),
        "p90_ms": at(0.9),
        "max_ms": ms[ms.len() - 1],
    });
    println!("{figure}");
    println!(
        "terminal page, scan to verdict over {scans} scans: p50 {:.1} ms, p90 {:.1} ms, max {:.1} ms",
        at(0.5),
        at(0.9),
        ms[ms.len() - 1]
    );
    drop(stack);
    let _ = std::fs::remove_dir_all(&dir);
}

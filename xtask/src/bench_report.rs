//! `BENCHMARKS.md` from one run of `cargo xtask bench`: the machine, date and commit, every
//! figure the benchmarks printed, the ratios, and each goal of issue 13 with how far it is.
//!
//! The figures arrive as the JSON lines the benchmark programs print (`{"bench":"worker",…}`
//! from `tests/benches/worker_costs.rs`, `{"bench":"load",…}` from `tests/benches/load.rs`);
//! rendering is a pure function of them, so it is unit-tested on made-up figures.

use std::fmt::Write as _;

use serde_json::Value;

use crate::edge::{WorkerSize, WORKER_GZIP_BUDGET};

/// Everything one run measured.
#[derive(Debug, Clone)]
pub struct Report {
    /// When the run started (UTC, as `date -u` prints it).
    pub date: String,
    /// The commit measured, with `-dirty` when the tree had changes.
    pub commit: String,
    /// The machine and what else was running.
    pub machine: Machine,
    /// The deployed Worker's size.
    pub worker: WorkerSize,
    /// The native criterion estimate of the costliest hop decision.
    pub hop_native: Option<HopNative>,
    /// Every JSON figure the benchmark programs printed.
    pub figures: Vec<Value>,
    /// Benchmarks that did not run, with the reason.
    pub missing: Vec<String>,
}

/// The machine a run measured on.
#[derive(Debug, Clone, Default)]
pub struct Machine {
    /// CPU model.
    pub cpu: String,
    /// Logical cores.
    pub cores: usize,
    /// Total memory, as `/proc/meminfo` states it.
    pub memory: String,
    /// Kernel release.
    pub kernel: String,
    /// 1/5/15-minute load averages at the start and at the end of the run.
    pub load: (String, String),
}

/// Criterion's estimate for the native hop decision.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HopNative {
    /// Median estimate, microseconds.
    pub micros: f64,
    /// HMAC-SHA256 computations of the case.
    pub hmacs: u32,
}

/// Reads criterion's `time: [low mid high]` line for `name` and the bench's HMAC count line.
pub fn parse_criterion(output: &str, name: &str) -> Option<HopNative> {
    let hmacs = output
        .lines()
        .find_map(|l| l.strip_prefix("worst-case hop decision: "))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())?;
    let mut lines = output.lines();
    let mut timing = None;
    while let Some(line) = lines.next() {
        if !line.trim_start().starts_with(name) {
            continue;
        }
        // Criterion prints the name alone on a line when it is long, `time:` on the next.
        let candidate = if line.contains("time:") {
            Some(line)
        } else {
            lines.next()
        };
        timing = candidate.and_then(|l| l.split_once('[').map(|(_, rest)| rest.to_owned()));
        break;
    }
    let words: Vec<&str> = timing.as_deref()?.split_whitespace().collect();
    // [low unit mid unit high unit]
    let (value, unit) = (words.get(2)?, words.get(3)?);
    let value: f64 = value.parse().ok()?;
    let micros = match *unit {
        "ns" => value / 1000.0,
        "µs" | "us" => value,
        "ms" => value * 1000.0,
        _ => return None,
    };
    Some(HopNative { micros, hmacs })
}

/// The JSON figures in a program's stdout (lines that parse as objects with a `bench` key).
pub fn json_figures(output: &str) -> Vec<Value> {
    output
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l.trim()).ok())
        .filter(|v| v.get("bench").is_some())
        .collect()
}

/// One goal's verdict.
#[derive(Debug, Clone, PartialEq)]
pub struct Goal {
    /// The goal as the issue states it.
    pub goal: &'static str,
    /// What was measured.
    pub measured: String,
    /// `met`, `missed` or `not measured`.
    pub status: &'static str,
    /// How far from the goal, in the goal's terms.
    pub distance: String,
}

const PRIVACY_RATIO: f64 = 1.5;
const DECISION_P99_US: f64 = 50.0;
const SCANS_PER_S: f64 = 1000.0;
const SCANS_P99_MS: f64 = 20.0;
const RELEASES_P99_MS: f64 = 5.0;
const RELEASES_PER_S: f64 = 2000.0;

fn num(v: &Value, key: &str) -> f64 {
    v.get(key).and_then(Value::as_f64).unwrap_or(f64::NAN)
}

fn is(v: &Value, key: &str, want: &str) -> bool {
    v.get(key).and_then(Value::as_str) == Some(want)
}

fn worker_scan<'a>(figures: &'a [Value], path: &str, clients: u64) -> Option<&'a Value> {
    figures.iter().find(|f| {
        is(f, "bench", "worker")
            && is(f, "figure", "scans")
            && is(f, "path", path)
            && f.get("clients").and_then(Value::as_u64) == Some(clients)
    })
}

/// lasthop / baseline for each client count: (clients, p50 ratio, p99 ratio, throughput ratio
/// baseline/lasthop), so every ratio above 1 is lasthop's overhead.
pub fn privacy_ratios(figures: &[Value]) -> Vec<(u64, f64, f64, f64)> {
    let mut counts: Vec<u64> = figures
        .iter()
        .filter(|f| is(f, "bench", "worker") && is(f, "figure", "scans"))
        .filter_map(|f| f.get("clients").and_then(Value::as_u64))
        .collect();
    counts.sort_unstable();
    counts.dedup();
    counts
        .into_iter()
        .filter_map(|c| {
            let l = worker_scan(figures, "lasthop", c)?;
            let b = worker_scan(figures, "baseline", c)?;
            Some((
                c,
                num(l, "p50_ms") / num(b, "p50_ms"),
                num(l, "p99_ms") / num(b, "p99_ms"),
                num(b, "per_second") / num(l, "per_second"),
            ))
        })
        .collect()
}

/// Each goal of issue 13 against the figures.
pub fn goals(report: &Report) -> Vec<Goal> {
    let f = &report.figures;
    let mut out = Vec::new();

    let ratios = privacy_ratios(f);
    out.push(match ratios.iter().map(|r| r.1).reduce(f64::max) {
        Some(worst) => Goal {
            goal: "privacy overhead ≤ 1.5× the plaintext baseline (p50 of non-final scans)",
            measured: ratios
                .iter()
                .map(|(c, p50, _, _)| format!("{p50:.2}× at {c}"))
                .collect::<Vec<_>>()
                .join(", "),
            status: verdict(worst <= PRIVACY_RATIO),
            distance: format!("worst {worst:.2}× against 1.5×"),
        },
        None => not_measured("privacy overhead ≤ 1.5× the plaintext baseline"),
    });

    out.push(
        match f
            .iter()
            .find(|v| is(v, "bench", "worker") && is(v, "figure", "decision_wasm"))
        {
            Some(d) => {
                let p99 = num(d, "p99_us");
                Goal {
                    goal: "hop decision in wasm ≤ 50 µs p99",
                    measured: format!("p99 {p99:.1} µs (p50 {:.1} µs)", num(d, "p50_us")),
                    status: verdict(p99 <= DECISION_P99_US),
                    distance: format!("{:.0}% of the budget", p99 / DECISION_P99_US * 100.0),
                }
            }
            None => not_measured("hop decision in wasm ≤ 50 µs p99"),
        },
    );

    out.push(match worker_scan(f, "lasthop", 32) {
        Some(s) => {
            let (rate, p99) = (num(s, "per_second"), num(s, "p99_ms"));
            Goal {
                goal: "≥ 1,000 non-final scans/s at 32 concurrent, p99 ≤ 20 ms (local workerd)",
                measured: format!("{rate:.0}/s, p99 {p99:.1} ms"),
                status: verdict(rate >= SCANS_PER_S && p99 <= SCANS_P99_MS),
                distance: format!(
                    "{:.0}% of the rate; p99 {:.1}× the limit",
                    rate / SCANS_PER_S * 100.0,
                    p99 / SCANS_P99_MS
                ),
            }
        }
        None => not_measured("≥ 1,000 non-final scans/s at 32 concurrent, p99 ≤ 20 ms"),
    });

    let releases: Vec<&Value> = f
        .iter()
        .filter(|v| is(v, "figure", "releases") && is(v, "backend", "sqlite"))
        .collect();
    out.push(
        match releases
            .iter()
            .max_by(|a, b| num(a, "per_second").total_cmp(&num(b, "per_second")))
        {
            Some(best) => {
                let (rate, p99) = (num(best, "per_second"), num(best, "p99_ms"));
                Goal {
                    goal: "origin releases p99 ≤ 5 ms at ≥ 2,000/s on SQLite",
                    measured: format!(
                        "best {rate:.0}/s at {} clients, p99 {p99:.1} ms",
                        best.get("clients").and_then(Value::as_u64).unwrap_or(0)
                    ),
                    status: verdict(rate >= RELEASES_PER_S && p99 <= RELEASES_P99_MS),
                    distance: format!(
                        "{:.0}% of the rate; p99 {:.1}× the limit",
                        rate / RELEASES_PER_S * 100.0,
                        p99 / RELEASES_P99_MS
                    ),
                }
            }
            None => not_measured("origin releases p99 ≤ 5 ms at ≥ 2,000/s on SQLite"),
        },
    );

    let total = report.worker.total_gzip();
    out.push(Goal {
        goal: "Worker ≤ 300 KiB gzip-compressed",
        measured: format!("{:.1} KiB", kib(total)),
        status: verdict(total <= 300 * 1024),
        distance: format!("{:.1} KiB to spare", kib(300 * 1024) - kib(total)),
    });
    out
}

fn verdict(met: bool) -> &'static str {
    if met {
        "met"
    } else {
        "missed"
    }
}

fn not_measured(goal: &'static str) -> Goal {
    Goal {
        goal,
        measured: "—".into(),
        status: "not measured",
        distance: "see “Not measured in this run”".into(),
    }
}

// Sizes are far below 2^52 bytes, so the float is exact enough for a report.
#[allow(clippy::cast_precision_loss)]
fn kib(n: usize) -> f64 {
    n as f64 / 1024.0
}

/// The whole document.
pub fn render(report: &Report) -> String {
    let mut md = String::new();
    let m = &report.machine;
    let _ = writeln!(md, "# lasthop benchmarks\n");
    let _ = writeln!(
        md,
        "Written by `cargo xtask bench` from one run; do not edit by hand. Every figure below \
         comes from the same run.\n"
    );
    let _ = writeln!(md, "- Date: {}", report.date);
    let _ = writeln!(md, "- Commit: `{}`", report.commit);
    let _ = writeln!(
        md,
        "- Machine: {} × {}, {} memory, Linux {}",
        m.cores, m.cpu, m.memory, m.kernel
    );
    let _ = writeln!(
        md,
        "- Load average (1/5/15 min) at the start: {}; at the end: {} (other work on the machine \
         shares its cores with the benchmark)",
        m.load.0, m.load.1
    );
    let _ = writeln!(
        md,
        "- The edge is `wrangler dev` (local workerd) on the same machine as the clients and the \
         origin: every figure through it includes the local proxy and shares the cores.\n"
    );

    let _ = writeln!(md, "## Goals\n");
    let _ = writeln!(md, "| goal | measured | status | how far |");
    let _ = writeln!(md, "|------|----------|--------|---------|");
    for g in goals(report) {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} |",
            g.goal, g.measured, g.status, g.distance
        );
    }

    let w = &report.worker;
    let _ = writeln!(md, "\n## Worker size\n");
    let _ = writeln!(
        md,
        "The deployed Worker (`edge/build/`): wasm {:.1} KiB raw, {:.1} KiB gzip-compressed; with \
         its JavaScript {:.1} KiB gzip-compressed. The build fails above {:.0} KiB \
         (`WORKER_GZIP_BUDGET`).",
        kib(w.wasm_raw),
        kib(w.wasm_gzip),
        kib(w.total_gzip()),
        kib(WORKER_GZIP_BUDGET)
    );

    let _ = writeln!(md, "\n## The hop decision\n");
    if let Some(h) = report.hop_native {
        let _ = writeln!(
            md,
            "- Native (criterion, `shared/benches/hop.rs`): {:.2} µs median estimate for the \
             costliest case, {} HMAC-SHA256 computations.",
            h.micros, h.hmacs
        );
    }
    for d in report
        .figures
        .iter()
        .filter(|v| is(v, "figure", "decision_wasm"))
    {
        let _ = writeln!(
            md,
            "- Inside wasm on workerd (bench build, `POST /bench/v1/decisions`): p50 {:.1} µs, \
             p99 {:.1} µs per decision, the same case ({} HMACs), from {} pairs of requests of {} \
             and of 1 decisions (the Worker's clock stands still while it computes, so each \
             sample is the extra time of {} decisions over the median single-decision request, \
             {:.2} ms, divided by {}).",
            num(d, "p50_us"),
            num(d, "p99_us"),
            d["hmacs"],
            d["rounds"],
            d["n"],
            num(d, "n") - 1.0,
            num(d, "single_request_p50_ms"),
            num(d, "n") - 1.0
        );
    }

    let scans: Vec<&Value> = report
        .figures
        .iter()
        .filter(|v| is(v, "bench", "worker") && is(v, "figure", "scans"))
        .collect();
    if !scans.is_empty() {
        let _ = writeln!(
            md,
            "\n## Non-final hop scans: lasthop against the plaintext baseline\n"
        );
        let _ = writeln!(
            md,
            "Through `wrangler dev`, each client a scanner with its own credential, sending its \
             next scan when the last is answered; every scan a new hop its order's object \
             decides and writes. The baseline (bench build only) keeps the Worker path, the \
             credential, the gate object and the order object's storage, and drops what exists \
             for privacy: region tags (it stores the buyer's region in the clear and compares \
             codes), the sealed route, device signatures.\n"
        );
        scan_table(&mut md, &scans);
        let ratios = privacy_ratios(&report.figures);
        if !ratios.is_empty() {
            let _ = writeln!(
                md,
                "\n| clients | p50 lasthop/baseline | p99 lasthop/baseline | throughput baseline/lasthop |"
            );
            let _ = writeln!(md, "|---|---|---|---|");
            for (c, p50, p99, rate) in ratios {
                let _ = writeln!(md, "| {c} | {p50:.2}× | {p99:.2}× | {rate:.2}× |");
            }
        }
    }

    let stored: Vec<&Value> = report
        .figures
        .iter()
        .filter(|v| is(v, "figure", "scans_stored"))
        .collect();
    if !stored.is_empty() {
        let _ = writeln!(md, "\n## Scans as stored orders grow\n");
        let _ = writeln!(
            md,
            "Orders seeded through the bench build's bulk path (`POST /bench/v1/seed`: tokenised \
             at the edge, then the order object's real `create` and `pickup`), then the same \
             non-final scans.\n"
        );
        scan_table(&mut md, &stored);
    }

    let load: Vec<&Value> = report
        .figures
        .iter()
        .filter(|v| is(v, "bench", "load"))
        .collect();
    if !load.is_empty() {
        let _ = writeln!(md, "\n## Load generator (`tests/benches/load.rs`)\n");
        let _ = writeln!(
            md,
            "| figure | via | backend | clients | stored orders | answered | per s | p50 ms | p99 ms | failures |"
        );
        let _ = writeln!(md, "|---|---|---|---|---|---|---|---|---|---|");
        for v in load {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} | {} | {:.1} | {:.2} | {:.2} | {} |",
                text(v, "figure"),
                text(v, "via"),
                text(v, "backend"),
                v["clients"],
                v.get("stored_orders")
                    .map_or_else(|| "—".to_owned(), Value::to_string),
                v["answered"],
                num(v, "per_second"),
                num(v, "p50_ms"),
                num(v, "p99_ms"),
                failures(v)
            );
        }
    }

    let profile: Vec<&Value> = report
        .figures
        .iter()
        .filter(|v| is(v, "bench", "scan_profile"))
        .collect();
    if !profile.is_empty() {
        let _ = writeln!(
            md,
            "\n## Where one hop scan's time goes (`tests/benches/scan_profile.rs`)\n"
        );
        let _ = writeln!(
            md,
            "Sequential requests, each step doing a little more than the one before; the \
             difference of medians is that step's cost.\n"
        );
        let _ = writeln!(
            md,
            "| step | samples | p50 ms | p99 ms | p50 minus the step before |"
        );
        let _ = writeln!(md, "|---|---|---|---|---|");
        let mut previous: Option<f64> = None;
        for v in profile {
            let p50 = num(v, "p50_ms");
            let delta = previous.map_or_else(|| "—".to_owned(), |p| format!("{:+.2}", p50 - p));
            let _ = writeln!(
                md,
                "| {} | {} | {:.2} | {:.2} | {delta} |",
                text(v, "step"),
                v["samples"],
                p50,
                num(v, "p99_ms")
            );
            previous = Some(p50);
        }
    }

    if !report.missing.is_empty() {
        let _ = writeln!(md, "\n## Not measured in this run\n");
        for m in &report.missing {
            let _ = writeln!(md, "- {m}");
        }
    }
    md
}

fn scan_table(md: &mut String, rows: &[&Value]) {
    let _ = writeln!(
        md,
        "| path | clients | stored orders | answered | per s | p50 ms | p99 ms | failures |"
    );
    let _ = writeln!(md, "|---|---|---|---|---|---|---|---|");
    for v in rows {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {:.1} | {:.2} | {:.2} | {} |",
            text(v, "path"),
            v["clients"],
            v["stored_orders"],
            v["answered"],
            num(v, "per_second"),
            num(v, "p50_ms"),
            num(v, "p99_ms"),
            failures(v)
        );
    }
}

fn text(v: &Value, key: &str) -> String {
    v.get(key).and_then(Value::as_str).unwrap_or("—").to_owned()
}

fn failures(v: &Value) -> String {
    match v.get("failures").and_then(Value::as_object) {
        Some(map) if !map.is_empty() => map
            .iter()
            .map(|(status, n)| format!("{n}×{status}"))
            .collect::<Vec<_>>()
            .join(", "),
        _ => "none".into(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn scan(path: &str, clients: u64, per_second: f64, p50: f64, p99: f64) -> Value {
        json!({"bench":"worker","figure":"scans","path":path,"clients":clients,
               "stored_orders":1000,"answered":300,"failures":{},"seconds":1.0,
               "per_second":per_second,"p50_ms":p50,"p99_ms":p99})
    }

    fn report(figures: Vec<Value>) -> Report {
        Report {
            date: "Sat Nov 22 04:00:00 UTC 2025".into(),
            commit: "abc1234".into(),
            machine: Machine::default(),
            worker: WorkerSize {
                wasm_raw: 700_000,
                wasm_gzip: 270_000,
                js_gzip: 8_000,
            },
            hop_native: Some(HopNative {
                micros: 13.0,
                hmacs: 40,
            }),
            figures,
            missing: vec!["load: not written yet".into()],
        }
    }

    #[test]
    fn criterion_output_gives_the_median_in_microseconds_and_the_hmac_count() {
        let out = "worst-case hop decision: 42 HMAC-SHA256 computations\n\
                   hop_decision_worst_case time:   [12.862 µs 12.913 µs 12.969 µs]\n";
        assert_eq!(
            parse_criterion(out, "hop_decision_worst_case"),
            Some(HopNative {
                micros: 12.913,
                hmacs: 42
            })
        );
        let wrapped = "worst-case hop decision: 42 HMAC-SHA256 computations\n\
                       hop_decision_worst_case\n                        time:   [900.1 ns 950.5 ns 999.0 ns]\n";
        let h = parse_criterion(wrapped, "hop_decision_worst_case").unwrap();
        assert!((h.micros - 0.9505).abs() < 1e-9);
        assert_eq!(
            parse_criterion("nothing here", "hop_decision_worst_case"),
            None
        );
    }

    #[test]
    fn only_json_objects_with_a_bench_key_are_figures() {
        let out = "table header\n{\"bench\":\"load\",\"figure\":\"scans\"}\n{\"other\":1}\n";
        assert_eq!(
            json_figures(out),
            vec![json!({"bench":"load","figure":"scans"})]
        );
    }

    #[test]
    fn ratios_put_lasthops_overhead_above_one() {
        let figures = vec![
            scan("lasthop", 1, 100.0, 12.0, 30.0),
            scan("baseline", 1, 150.0, 8.0, 20.0),
            scan("lasthop", 32, 400.0, 60.0, 90.0),
        ];
        let ratios = privacy_ratios(&figures);
        assert_eq!(ratios.len(), 1, "32 clients have no baseline");
        let (c, p50, p99, rate) = ratios[0];
        assert_eq!(c, 1);
        assert!((p50 - 1.5).abs() < 1e-9 && (p99 - 1.5).abs() < 1e-9 && (rate - 1.5).abs() < 1e-9);
    }

    #[test]
    fn goals_say_met_missed_or_not_measured_with_the_distance() {
        let figures = vec![
            scan("lasthop", 32, 900.0, 15.0, 25.0),
            scan("baseline", 32, 1000.0, 12.0, 20.0),
            json!({"bench":"worker","figure":"decision_wasm","hmacs":40,"n":501,"rounds":60,
                   "p50_us":30.0,"p99_us":45.0,"single_request_p50_ms":2.0}),
        ];
        let goals = goals(&report(figures));
        let status: Vec<&str> = goals.iter().map(|g| g.status).collect();
        assert_eq!(status, ["met", "met", "missed", "not measured", "met"]);
        assert!(
            goals[2].distance.contains("90% of the rate"),
            "{:?}",
            goals[2]
        );
        assert!(goals[4].distance.contains("to spare"));
    }

    #[test]
    fn the_document_names_the_machine_commit_goals_and_every_figure() {
        let figures = vec![
            scan("lasthop", 8, 300.0, 20.0, 40.0),
            scan("baseline", 8, 320.0, 18.0, 35.0),
            json!({"bench":"load","figure":"releases","via":"origin","backend":"sqlite",
                   "clients":4,"answered":600,"failures":{"503":2},"per_second":700.0,
                   "p50_ms":4.0,"p99_ms":9.0}),
        ];
        let md = render(&report(figures));
        for needle in [
            "Commit: `abc1234`",
            "## Goals",
            "| lasthop | 8 |",
            "| baseline | 8 |",
            "1.11×",
            "| releases | origin | sqlite | 4 |",
            "2×503",
            "load: not written yet",
            "13.00 µs median",
        ] {
            assert!(md.contains(needle), "missing {needle} in:\n{md}");
        }
    }
}

//! What lasthop's privacy costs at the edge, measured on the bench build of the Worker
//! (`edge/build-bench/`, cargo feature `bench`, never deployed) under `wrangler dev` (real
//! workerd) with a real origin:
//!
//! - `decision_wasm`: the costliest hop decision's CPU time inside wasm. Workers freeze the
//!   clock while code runs, so the Worker cannot time itself: the bench times requests that
//!   take the decision N times and once, alternately, and divides the difference by N − 1.
//! - `scans`: non-final hop scans (`POST /v1/scans/hop`) against the plaintext baseline
//!   (`POST /bench/v1/baseline/scans/hop`: the same Worker path, credential, gate and Durable
//!   Object storage, with the buyer's region in the clear and compared directly) at 1, 8 and
//!   32 concurrent scanners, each scanner its own credential, over many orders (every scan a
//!   new hop its order's object decides and writes).
//! - `scans_stored`: the same scans at 8 scanners once 1k, 10k and 100k orders are stored
//!   (seeded through the bench build's bulk path, `POST /bench/v1/seed`).
//!
//! Output: one JSON object per figure on its own line of stdout (`{"bench":"worker",...}`, for
//! `cargo xtask bench` to collect), then a readable table.
//!
//! Run with `cargo xtask bench` (which builds the bench Worker first), or, once built,
//! `cargo bench -p lasthop-e2e --bench worker_costs`. Sizes: `LASTHOP_BENCH_SCANS` (scans per
//! path and client count, default 1,200), `LASTHOP_BENCH_STORED` (the largest stored-orders
//! level, default 100,000), `LASTHOP_BENCH_DECISIONS` (N, default 501).

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::{state_dir, Scanner, World};
use lasthop_e2e::{Client, Reply, Stack, StackOptions, Workspace};
use serde_json::{json, Value};

/// Non-final hops of a Hangzhou → Beijing journey: 330108 forward_up, 3301 and 1101 route_to.
const HOPS: [&str; 3] = ["330108", "3301", "1101"];
/// The buyer's district of every seeded order.
const BUYER_REGION: &str = "110105";
/// Orders per seed request.
const SEED_BATCH: usize = 50;
/// Concurrent seed requests.
const SEED_CLIENTS: usize = 2;
/// Client counts of the scans figure.
const CLIENTS: [usize; 3] = [1, 8, 32];
/// Scanners at the stored-orders levels.
const STORED_CLIENTS: usize = 8;

fn main() {
    let scans = size("LASTHOP_BENCH_SCANS", 1_200);
    let stored_max = size("LASTHOP_BENCH_STORED", 100_000);
    let decisions = size("LASTHOP_BENCH_DECISIONS", 501);
    let workspace = Workspace::locate().unwrap();
    let shim = workspace.root().join("edge/build-bench/worker/shim.mjs");
    assert!(
        shim.is_file(),
        "the bench Worker is not built ({} is missing): run `cargo xtask bench`",
        shim.display()
    );
    let mut options = StackOptions::new(state_dir("worker-costs"));
    options.edge_vars = vec![("SCANNER_RATE_PER_MINUTE".into(), "100000000".into())];
    options.worker_shim = Some(shim);
    let stack = Stack::spawn(options).unwrap();
    let w = World::new(&stack);
    let mut figures: Vec<Value> = Vec::new();
    let mut table = Vec::new();

    let decision = decision_figure(&w.edge, decisions);
    table.push(format!(
        "decision_wasm   {} HMACs, N = {}: p50 {:.1} µs, p99 {:.1} µs per decision",
        decision["hmacs"], decision["n"], decision["p50_us"], decision["p99_us"]
    ));
    figures.push(decision);

    // One credential per scanner and hub, so no gate object is shared between clients.
    let max_clients = CLIENTS.iter().copied().max().unwrap_or(1);
    let scanners: Vec<Vec<Scanner>> = (0..max_clients)
        .map(|_| HOPS.iter().map(|code| w.scanner(code, "hub")).collect())
        .collect();
    let mut seeder = Seeder::new(&w.edge);
    // Warm both paths and the isolate outside the measurement.
    for path in [Path::Lasthop, Path::Baseline] {
        let orders = seeder.seed(path, 3);
        for order in &orders {
            for (hop, _) in HOPS.iter().enumerate() {
                let _ = path.scan(&w.edge, &scanners[0][hop], order);
            }
        }
    }

    for clients in CLIENTS {
        for path in [Path::Lasthop, Path::Baseline] {
            let orders = seeder.seed(path, scans.div_ceil(HOPS.len()));
            let figure = measure(&w.edge, path, clients, &scanners, &orders);
            table.push(figure.row("scans", seeder.stored));
            figures.push(figure.json("scans", path, seeder.stored));
        }
    }

    let mut level = 1_000;
    while level <= stored_max {
        if seeder.stored < level {
            seeder.fill(Path::Lasthop, level - seeder.stored);
        }
        let orders = seeder.seed(Path::Lasthop, scans.div_ceil(HOPS.len()));
        let figure = measure(&w.edge, Path::Lasthop, STORED_CLIENTS, &scanners, &orders);
        table.push(figure.row("scans_stored", seeder.stored));
        figures.push(figure.json("scans_stored", Path::Lasthop, seeder.stored));
        level *= 10;
    }

    for figure in &figures {
        println!("{figure}");
    }
    println!();
    for row in &table {
        println!("{row}");
    }
}

/// Which scan path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Path {
    Lasthop,
    Baseline,
}

impl Path {
    const fn name(self) -> &'static str {
        match self {
            Self::Lasthop => "lasthop",
            Self::Baseline => "baseline",
        }
    }

    const fn scan_path(self) -> &'static str {
        match self {
            Self::Lasthop => "/v1/scans/hop",
            Self::Baseline => "/bench/v1/baseline/scans/hop",
        }
    }

    fn scan(self, edge: &Client, scanner: &Scanner, order: &str) -> Reply {
        edge.post(self.scan_path())
            .bearer(&scanner.token)
            .json(&json!({"platform_id": "demo", "order_id": order}))
            .send()
            .unwrap()
    }
}

/// The costliest decision inside wasm: requests of `n` and of 1 decisions, alternating.
fn decision_figure(edge: &Client, n: usize) -> Value {
    let time = |count: usize| {
        let started = Instant::now();
        let reply = edge
            .post("/bench/v1/decisions")
            .json(&json!({ "n": count }))
            .send()
            .unwrap();
        let took = started.elapsed();
        assert_eq!(reply.status, 200, "decisions: {}", reply.body);
        (took, reply.json().unwrap())
    };
    for _ in 0..5 {
        let _ = time(n);
        let _ = time(1);
    }
    let rounds = 60;
    let mut many = Vec::with_capacity(rounds);
    let mut one = Vec::with_capacity(rounds);
    let mut body = Value::Null;
    for _ in 0..rounds {
        let (took, answer) = time(n);
        many.push(took);
        body = answer;
        one.push(time(1).0);
    }
    assert_eq!(body["verdict"], "route_to", "{body}");
    one.sort();
    let baseline = one[one.len() / 2];
    // Each sample: the extra time of n − 1 decisions over the median single one, per decision.
    let mut per = many
        .iter()
        .map(|t| t.saturating_sub(baseline).as_secs_f64() * 1e6 / (n - 1) as f64)
        .collect::<Vec<f64>>();
    per.sort_by(f64::total_cmp);
    json!({
        "bench": "worker",
        "figure": "decision_wasm",
        "hmacs": body["hmacs"],
        "n": n,
        "rounds": rounds,
        "p50_us": round(quantile(&per, 0.50)),
        "p99_us": round(quantile(&per, 0.99)),
        "single_request_p50_ms": round(baseline.as_secs_f64() * 1000.0),
    })
}

/// Creates picked-up orders through the bench build's bulk path, with fresh ids.
struct Seeder<'a> {
    edge: &'a Client,
    next: usize,
    /// Orders stored at the edge so far (both paths).
    stored: usize,
}

impl<'a> Seeder<'a> {
    fn new(edge: &'a Client) -> Self {
        Self {
            edge,
            next: 0,
            stored: 0,
        }
    }

    /// `count` new orders for `path`; their ids. A batch the edge drops (wrangler dev restarts
    /// the Worker now and then under this load: 503) is sent again under fresh ids, so a half
    /// created batch never collides with its retry.
    fn seed(&mut self, path: Path, count: usize) -> Vec<String> {
        let next_id = AtomicUsize::new(self.next);
        let remaining = AtomicUsize::new(count);
        let seeded = Mutex::new(Vec::with_capacity(count));
        std::thread::scope(|scope| {
            for _ in 0..SEED_CLIENTS {
                scope.spawn(|| {
                    let edge = self.edge.clone();
                    let mut retries = 0;
                    loop {
                        let want = take(&remaining, SEED_BATCH);
                        if want == 0 {
                            break;
                        }
                        let first = next_id.fetch_add(want, Ordering::Relaxed);
                        let ids: Vec<String> =
                            (first..first + want).map(|i| format!("o_{i:016}")).collect();
                        let orders: Vec<Value> = ids
                            .iter()
                            .map(|id| json!({"order_id": id, "region": BUYER_REGION, "pickup": HOPS[0]}))
                            .collect();
                        let reply = edge
                            .post("/bench/v1/seed")
                            .json(&json!({"path": path.name(), "orders": orders}))
                            .send();
                        match reply {
                            Ok(reply) if reply.status == 201 => {
                                seeded.lock().unwrap().extend(ids);
                            }
                            other => {
                                retries += 1;
                                assert!(retries <= 20, "seeding keeps failing: {other:?}");
                                remaining.fetch_add(want, Ordering::Relaxed);
                                std::thread::sleep(Duration::from_secs(1));
                            }
                        }
                    }
                });
            }
        });
        self.next = next_id.into_inner();
        let seeded = seeded.into_inner().unwrap();
        self.stored += seeded.len();
        seeded
    }

    /// `count` more stored orders that no scan will touch; prints the seeding rate.
    fn fill(&mut self, path: Path, count: usize) {
        let started = Instant::now();
        let _ = self.seed(path, count);
        let took = started.elapsed().as_secs_f64();
        eprintln!(
            "seeded {count} {} orders in {took:.1} s ({:.0}/s); {} stored",
            path.name(),
            count as f64 / took,
            self.stored
        );
    }
}

/// Takes up to `most` from `counter`; 0 when it is empty.
fn take(counter: &AtomicUsize, most: usize) -> usize {
    let mut taken = 0;
    let _ = counter.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
        taken = left.min(most);
        Some(left - taken)
    });
    taken
}

/// Each client takes the next order and scans all its hops with its own scanners.
fn measure(
    edge: &Client,
    path: Path,
    clients: usize,
    scanners: &[Vec<Scanner>],
    orders: &[String],
) -> Figure {
    let next = AtomicUsize::new(0);
    let all = Mutex::new(Vec::new());
    let started = Instant::now();
    std::thread::scope(|scope| {
        for mine in scanners.iter().take(clients) {
            let (next, all) = (&next, &all);
            scope.spawn(move || {
                let edge = edge.clone();
                let mut samples = Vec::new();
                while let Some(order) = orders.get(next.fetch_add(1, Ordering::Relaxed)) {
                    for scanner in mine {
                        let sent = Instant::now();
                        let reply = path.scan(&edge, scanner, order);
                        samples.push((sent.elapsed(), reply.status));
                        assert!(reply.status != 500, "{}", reply.body);
                    }
                }
                all.lock().unwrap().extend(samples);
            });
        }
    });
    let wall = started.elapsed();
    let samples = all.into_inner().unwrap();
    let mut failures = BTreeMap::new();
    for (_, status) in &samples {
        if *status != 200 {
            *failures.entry(*status).or_insert(0usize) += 1;
        }
    }
    let mut latencies: Vec<f64> = samples
        .iter()
        .map(|(d, _)| d.as_secs_f64() * 1000.0)
        .collect();
    latencies.sort_by(f64::total_cmp);
    Figure {
        path,
        clients,
        latencies,
        failures,
        wall,
    }
}

struct Figure {
    path: Path,
    clients: usize,
    /// Milliseconds, sorted.
    latencies: Vec<f64>,
    failures: BTreeMap<u16, usize>,
    wall: Duration,
}

impl Figure {
    fn per_second(&self) -> f64 {
        self.latencies.len() as f64 / self.wall.as_secs_f64()
    }

    fn json(&self, figure: &str, path: Path, stored: usize) -> Value {
        json!({
            "bench": "worker",
            "figure": figure,
            "path": path.name(),
            "clients": self.clients,
            "stored_orders": stored,
            "answered": self.latencies.len(),
            "failures": self.failures.iter().map(|(k, v)| (k.to_string(), *v)).collect::<BTreeMap<_, _>>(),
            "seconds": round(self.wall.as_secs_f64()),
            "per_second": round(self.per_second()),
            "p50_ms": round(quantile(&self.latencies, 0.50)),
            "p99_ms": round(quantile(&self.latencies, 0.99)),
        })
    }

    fn row(&self, figure: &str, stored: usize) -> String {
        format!(
            "{figure:<14} {:<9} {:>3} clients {:>7} stored  {:>8.1}/s  p50 {:>6.2} ms  p99 {:>6.2} ms  failures {:?}",
            self.path.name(),
            self.clients,
            stored,
            self.per_second(),
            quantile(&self.latencies, 0.50),
            quantile(&self.latencies, 0.99),
            self.failures
        )
    }
}

/// The `q` quantile of sorted values (nearest rank).
fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((sorted.len() as f64 * q).ceil() as usize).saturating_sub(1);
    sorted[rank.min(sorted.len() - 1)]
}

fn size(var: &str, default: usize) -> usize {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn round(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

//! Load generator: throughput and latency of lasthop's busy paths at N concurrent clients,
//! against a release build of the origin and the real Worker under `wrangler dev` (workerd).
//!
//! Figures, each at the client counts given:
//! - `registrations` through the edge (`POST /v1/buyers`), 1 and 8 clients;
//! - `orders` through the edge (`POST /v1/orders`), 1 and 8 clients;
//! - `scans`: non-final hop scans through the edge (`POST /v1/scans/hop`), 1, 8 and 32 clients,
//!   every scan a new hop its order's object decides and writes;
//! - `releases`: final-hop releases at the origin (`POST /internal/v1/releases`, signed as the
//!   edge signs it), one per order, 1, 4, 8, 16 and 32 clients, on SQLite and on PostgreSQL;
//! - `registrations` and `orders` at the origin alone (signed internal calls), 1 and 8 clients,
//!   on both backends: the origin's share of the edge's figures.
//!
//! Each client is a thread with its own blocking HTTP connection, sending its next request as
//! soon as the previous one is answered. Throughput is answered requests over wall time.
//!
//! Output: one JSON object per figure on its own line of stdout (`{"bench":"load",...}`, for
//! `cargo xtask bench` to collect), then a readable table.
//!
//! Run: `cargo bench -p lasthop-e2e --bench load` (the Worker must be built:
//! `cargo xtask build-edge`). Sizes: `LASTHOP_LOAD_REGISTRATIONS` (per client count, default
//! 200), `LASTHOP_LOAD_SCANS` (per client count, default 480), `LASTHOP_LOAD_RELEASES` (default
//! 600). `LASTHOP_SKIP_POSTGRES=1` leaves out the PostgreSQL releases when the server binaries
//! are missing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::internal::InternalOrigin;
use common::{order_created, state_dir, Buyer, Person, Seller, World, HANGZHOU_TO_BEIJING};
use lasthop_e2e::postgres::{self, PgCluster, PgOptions};
use lasthop_e2e::{OriginOptions, OriginProcess, Reply, Stack, StackOptions, Workspace};
use serde_json::json;

fn main() {
    let registrations = size("LASTHOP_LOAD_REGISTRATIONS", 200);
    let scans = size("LASTHOP_LOAD_SCANS", 480);
    let releases = size("LASTHOP_LOAD_RELEASES", 600);
    let origin_binary = Workspace::locate()
        .unwrap()
        .release_binary("lasthop-origin", "lasthop-origin")
        .unwrap();
    let mut figures = Vec::new();

    let mut options = StackOptions::new(state_dir("load"));
    options.edge_vars = vec![("SCANNER_RATE_PER_MINUTE".into(), "100000000".into())];
    // One terminal asks for every release here: lift its per-scanner release limit.
    options.origin_env = vec![("LASTHOP_RELEASE_RATE_PER_MINUTE".into(), "100000000".into())];
    options.origin_binary = Some(origin_binary.clone());
    let stack = Stack::spawn(options).unwrap();
    let w = World::new(&stack);
    edge_figures(&w, registrations, scans, &mut figures);
    figures.extend(origin_figures(
        "sqlite",
        &InternalOrigin::new(&stack.origin),
        registrations,
        releases,
    ));
    drop(stack);

    if postgres::required().unwrap() {
        let cluster = PgCluster::primary(PgOptions::throwaway(state_dir("load-pg"))).unwrap();
        let stores = cluster.create_store_databases("lasthop").unwrap();
        let mut options = OriginOptions::new(state_dir("load-pg-origin"));
        options.stores = Some(stores);
        options.binary = Some(origin_binary);
        options.env = vec![("LASTHOP_RELEASE_RATE_PER_MINUTE".into(), "100000000".into())];
        let origin = OriginProcess::spawn(options).unwrap();
        figures.extend(origin_figures(
            "postgres",
            &InternalOrigin::new(&origin),
            registrations,
            releases,
        ));
    }

    for figure in &figures {
        println!("{}", figure.json());
    }
    println!();
    println!(
        "{:<14} {:<7} {:<9} {:>7} {:>9} {:>9} {:>8} {:>8}  failures",
        "figure", "via", "backend", "clients", "answered", "per_s", "p50_ms", "p99_ms"
    );
    for figure in &figures {
        println!("{}", figure.row());
    }
}

/// Registrations, orders and non-final scans through the edge on the stack's origin (SQLite).
fn edge_figures(w: &World, registrations: usize, scans: usize, figures: &mut Vec<Figure>) {
    let seller = w.register_seller("Load Shop");
    let (pickup, hubs) = w.courier_route();
    let _ = w.register_buyer(&person(0, "warm"));

    let mut buyers = Vec::new();
    for clients in [1, 8] {
        let people: Vec<Person> = (0..registrations)
            .map(|i| person(i, &format!("r{clients}")))
            .collect();
        let registered = Mutex::new(Vec::new());
        let figure = Figure::measure(
            "registrations",
            "edge",
            "sqlite",
            clients,
            &people,
            |p, s| {
                let reply = s.time(|| w.register_buyer_reply(p));
                if reply.status == 201 {
                    registered
                        .lock()
                        .unwrap()
                        .push(Buyer::registered(&reply, p));
                }
            },
        );
        figures.push(figure);
        buyers.extend(registered.into_inner().unwrap());
    }

    // Orders for the scans: one per three scans per client count, spread over the buyers.
    let per_level = scans.div_ceil(HANGZHOU_TO_BEIJING.len());
    let order_count = per_level * 3;
    let mut orders = Vec::new();
    for (clients, count) in [(1, order_count / 4), (8, order_count - order_count / 4)] {
        let tasks: Vec<(&Buyer, &Seller)> = (0..count)
            .map(|i| (&buyers[i % buyers.len()], &seller))
            .collect();
        let created = Mutex::new(Vec::new());
        let figure = Figure::measure("orders", "edge", "sqlite", clients, &tasks, |(b, sl), s| {
            let reply = s.time(|| w.create_order_reply(b, sl));
            if reply.status == 201 {
                created
                    .lock()
                    .unwrap()
                    .push((order_created(&reply), b.id.clone()));
            }
        });
        figures.push(figure);
        orders.extend(created.into_inner().unwrap());
    }
    assert!(
        orders.len() >= order_count,
        "too few orders were created for the scans"
    );
    let picked = Figure::measure("pickups", "edge", "sqlite", 8, &orders, |(o, b), s| {
        let reply = s.time(|| w.pickup(&pickup, o, b));
        assert_eq!(reply.status, 200, "pickup: {}", reply.body);
    });
    drop(picked);

    // Warm the hop path outside the measurement.
    let _ = w.hop(&hubs[0], "o_0000000000000000");
    for (level, clients) in [1, 8, 32].into_iter().enumerate() {
        let mine = &orders[level * per_level..(level + 1) * per_level];
        figures.push(Figure::measure(
            "scans",
            "edge",
            "sqlite",
            clients,
            mine,
            |(o, _), s| {
                for hub in &hubs {
                    let reply = s.time(|| w.hop(hub, o));
                    assert!(reply.status < 500 || reply.status == 503, "{}", reply.body);
                }
            },
        ));
    }
}

/// At one origin, without the edge: registrations and orders at 1 and 8 clients (to tell the
/// origin's share of the edge's figures), then final-hop releases, one per order, at 1, 8 and
/// 32 clients.
fn origin_figures(
    backend: &'static str,
    origin: &InternalOrigin,
    registrations: usize,
    releases: usize,
) -> Vec<Figure> {
    let mut figures = Vec::new();
    let seller = origin.register_seller("Release Shop");
    let final_hub = origin.scanner("110105", "hub");
    let pickup = origin.scanner("110105", "pickup");
    let _ = origin.register_buyer(&person(0, &format!("warm-{backend}")));
    let mut buyers = Vec::new();
    for clients in [1, 8] {
        let people: Vec<Person> = (0..registrations)
            .map(|i| person(i, &format!("o{clients}-{backend}")))
            .collect();
        let registered = Mutex::new(Vec::new());
        figures.push(Figure::measure(
            "registrations",
            "origin",
            backend,
            clients,
            &people,
            |p, s| {
                let reply = s.time(|| origin.register_buyer_reply(p));
                if reply.status == 201 {
                    registered
                        .lock()
                        .unwrap()
                        .push(Buyer::registered(&reply, p));
                }
            },
        ));
        buyers.extend(registered.into_inner().unwrap());
    }
    // Issue 13 asks for 4 and 16 clients as well.
    let levels = [1, 4, 8, 16, 32];
    // One more than the measured releases: the first warms the release path.
    let needed = releases * levels.len() + 1;
    let mut orders = Vec::new();
    for (clients, count) in [(1, needed / 8), (8, needed - needed / 8)] {
        let tasks: Vec<&Buyer> = (0..count).map(|i| &buyers[i % buyers.len()]).collect();
        let created = Mutex::new(Vec::new());
        figures.push(Figure::measure(
            "orders",
            "origin",
            backend,
            clients,
            &tasks,
            |b, s| {
                let reply = s.time(|| origin.create_order_reply(b, &seller));
                if reply.status == 201 {
                    created
                        .lock()
                        .unwrap()
                        .push((order_created(&reply), b.id.clone()));
                }
            },
        ));
        orders.extend(created.into_inner().unwrap());
    }
    assert!(
        orders.len() >= needed,
        "too few orders were created for the releases"
    );
    let _ = origin.release(&pickup, &final_hub, &orders[0].0, &orders[0].1);
    for (level, clients) in levels.into_iter().enumerate() {
        let mine = &orders[1 + level * releases..1 + (level + 1) * releases];
        figures.push(Figure::measure(
            "releases",
            "origin",
            backend,
            clients,
            mine,
            |(o, b), s| {
                s.time(|| origin.release(&pickup, &final_hub, o, b));
            },
        ));
    }
    figures
}

/// A buyer in Beijing's Chaoyang district with personal data unique to `(tag, i)`.
fn person(i: usize, tag: &str) -> Person {
    Person {
        name: format!("负载买家{i}"),
        phone: format!("135{:08}", i % 100_000_000),
        region: "110105".into(),
        line: format!("朝阳负载路{tag}-{i}号"),
        postal_code: "100020".into(),
    }
}

fn size(var: &str, default: usize) -> usize {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// One client's record of its requests.
#[derive(Default)]
struct Samples(Vec<(Duration, u16)>);

impl Samples {
    /// Sends one request, recording its latency and status.
    fn time(&mut self, send: impl FnOnce() -> Reply) -> Reply {
        let started = Instant::now();
        let reply = send();
        self.0.push((started.elapsed(), reply.status));
        reply
    }
}

/// One measured figure.
struct Figure {
    figure: &'static str,
    via: &'static str,
    backend: &'static str,
    clients: usize,
    latencies: Vec<Duration>,
    failures: BTreeMap<u16, usize>,
    wall: Duration,
}

impl Figure {
    /// Runs `each` over `tasks` on `clients` threads, each taking the next task when done.
    fn measure<T: Sync>(
        figure: &'static str,
        via: &'static str,
        backend: &'static str,
        clients: usize,
        tasks: &[T],
        each: impl Fn(&T, &mut Samples) + Sync,
    ) -> Self {
        let next = AtomicUsize::new(0);
        let all = Mutex::new(Vec::new());
        let started = Instant::now();
        std::thread::scope(|scope| {
            for _ in 0..clients {
                scope.spawn(|| {
                    let mut samples = Samples::default();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(task) = tasks.get(i) else { break };
                        each(task, &mut samples);
                    }
                    all.lock().unwrap().extend(samples.0);
                });
            }
        });
        let wall = started.elapsed();
        let samples = all.into_inner().unwrap();
        let mut failures = BTreeMap::new();
        for (_, status) in &samples {
            if *status >= 400 {
                *failures.entry(*status).or_insert(0) += 1;
            }
        }
        let mut latencies: Vec<Duration> = samples.into_iter().map(|(d, _)| d).collect();
        latencies.sort();
        Self {
            figure,
            via,
            backend,
            clients,
            latencies,
            failures,
            wall,
        }
    }

    fn quantile_ms(&self, q: f64) -> f64 {
        if self.latencies.is_empty() {
            return 0.0;
        }
        let rank = ((self.latencies.len() as f64 * q).ceil() as usize).saturating_sub(1);
        self.latencies[rank].as_secs_f64() * 1000.0
    }

    fn per_second(&self) -> f64 {
        self.latencies.len() as f64 / self.wall.as_secs_f64()
    }

    fn json(&self) -> serde_json::Value {
        json!({
            "bench": "load",
            "figure": self.figure,
            "via": self.via,
            "backend": self.backend,
            "clients": self.clients,
            "answered": self.latencies.len(),
            "failures": self.failures.iter().map(|(k, v)| (k.to_string(), *v)).collect::<BTreeMap<_, _>>(),
            "seconds": round(self.wall.as_secs_f64()),
            "per_second": round(self.per_second()),
            "p50_ms": round(self.quantile_ms(0.50)),
            "p99_ms": round(self.quantile_ms(0.99)),
        })
    }

    fn row(&self) -> String {
        let failures: Vec<String> = self
            .failures
            .iter()
            .map(|(status, n)| format!("{n}×{status}"))
            .collect();
        format!(
            "{:<14} {:<7} {:<9} {:>7} {:>9} {:>9.1} {:>8.2} {:>8.2}  {}",
            self.figure,
            self.via,
            self.backend,
            self.clients,
            self.latencies.len(),
            self.per_second(),
            self.quantile_ms(0.50),
            self.quantile_ms(0.99),
            if failures.is_empty() {
                "none".to_owned()
            } else {
                failures.join(", ")
            }
        )
    }
}

fn round(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

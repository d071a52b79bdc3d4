//! Latency of a non-final hop scan through `wrangler dev` (real workerd) against a real origin:
//! 1,000 sequential `POST /v1/scans/hop` requests, each a new hop that the order's Durable
//! Object decides and writes (no repeats, which skip the write). Prints p50 and p99.
//!
//! Run with `cargo bench -p lasthop-e2e --bench hop_latency` (the Worker must be built:
//! `cargo xtask build-edge`). The rate limit is raised so the bench measures the scan path.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::{spawn_stack, Person, World};

const SCANS: usize = 1_000;
/// Non-final hops of a Hangzhou → Beijing journey: 330108 forward_up, 3301 and 1101 route_to.
const HOPS_PER_ORDER: usize = 3;

fn main() {
    let stack = spawn_stack("hop-latency", &[("SCANNER_RATE_PER_MINUTE", "1000000")]);
    let w = World::new(&stack);
    let seller = w.register_seller("Bench Shop");
    let buyer = w.register_buyer(&Person::chaoyang("基准", "13500135005"));
    let (pickup, hubs) = w.courier_route();
    let orders: Vec<String> = (0..SCANS.div_ceil(HOPS_PER_ORDER))
        .map(|_| {
            let order = w.create_order(&buyer, &seller);
            assert_eq!(w.pickup(&pickup, &order, &buyer.id).status, 200);
            order
        })
        .collect();
    // Warm the isolate and both objects' code paths once, outside the measurement.
    let _ = w.hop(&hubs[0], "o_0000000000000000");

    let mut samples = Vec::with_capacity(SCANS);
    'outer: for hub in &hubs {
        for order in &orders {
            if samples.len() == SCANS {
                break 'outer;
            }
            let started = Instant::now();
            let reply = w.hop(hub, order);
            samples.push(started.elapsed());
            assert_eq!(reply.status, 200, "{}", reply.body);
        }
    }
    samples.sort();
    let pick = |q: f64| samples[((samples.len() as f64 * q).ceil() as usize).saturating_sub(1)];
    let mean = samples.iter().sum::<Duration>() / u32::try_from(samples.len()).unwrap();
    println!(
        "hop_latency: {} sequential non-final hop scans through wrangler dev: p50 {:.2} ms, p99 {:.2} ms, mean {:.2} ms, max {:.2} ms",
        samples.len(),
        ms(pick(0.50)),
        ms(pick(0.99)),
        ms(mean),
        ms(samples[samples.len() - 1]),
    );
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

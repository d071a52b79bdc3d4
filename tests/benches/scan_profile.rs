//! Where the time of one non-final hop scan goes, measured from outside by difference: the
//! same Worker asked to do a little more at each step, sequentially, once through the
//! `wrangler dev` proxy and once straight at workerd's own socket.
//!
//! | step | what runs |
//! |---|---|
//! | `healthz via proxy` / `healthz direct` | the proxy (or not) and the Worker's routing |
//! | `bad signature` | + the scanner credential's Ed25519 check (fails, 401) |
//! | `wrong role` | + the scanner's gate object (rate and revocation), 403 |
//! | `repeat hop` | + the order's object: read, decide, no write (same hub again) |
//! | `new hop direct` / `new hop via proxy` | + the order's object writing the new hop |
//!
//! Workerd does not advance the Worker's clock during computation, so the Worker cannot time
//! itself; differences of medians from outside are what is left. Prints one JSON object per
//! step and a table. Run: `cargo bench -p lasthop-e2e --bench scan_profile` (Worker built
//! first: `cargo xtask build-edge`); `LASTHOP_PROFILE_SAMPLES` (default 300 per step).

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::{spawn_stack, Person, World};
use lasthop_e2e::{procfs, Client, Reply};
use serde_json::json;

fn main() {
    let samples: usize = std::env::var("LASTHOP_PROFILE_SAMPLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    let stack = spawn_stack("scan-profile", &[("SCANNER_RATE_PER_MINUTE", "100000000")]);
    let w = World::new(&stack);
    let direct = Client::new(format!("http://127.0.0.1:{}", workerd_port(&stack)));
    let proxy = stack.edge.client();

    let seller = w.register_seller("Profile Shop");
    let buyer = w.register_buyer(&Person::chaoyang("剖析", "13500135099"));
    let (pickup, hubs) = w.courier_route();
    // Enough fresh hops for both `new hop` steps and their warm-ups (three per order), and one
    // order for the repeated hop.
    let orders: Vec<String> = (0..(2 * samples + 2).div_ceil(3) + 1)
        .map(|_| {
            let order = w.create_order(&buyer, &seller);
            assert_eq!(w.pickup(&pickup, &order, &buyer.id).status, 200);
            order
        })
        .collect();
    // Every order's hops in route order: all first hops, then all second, then all third.
    let repeat_order = &orders[orders.len() - 1];
    let movable = &orders[..orders.len() - 1];
    let fresh = (0..3).flat_map(|h| movable.iter().map(move |o| (h, o)));

    let tampered = {
        let mut token = hubs[0].token.clone();
        let last = token.pop().unwrap();
        token.push(if last == 'A' { 'B' } else { 'A' });
        token
    };
    assert_eq!(hop(&direct, &hubs[0].token, repeat_order).status, 200);

    // Round robin: every round times each step once, so background load shifts all steps alike.
    let fresh = std::cell::RefCell::new(fresh);
    let next_hop = |client: &Client| {
        let (h, order) = fresh.borrow_mut().next().expect("enough fresh hops");
        hop(client, &hubs[h].token, order)
    };
    let plan: Vec<Step> = vec![
        (
            "healthz via proxy",
            Box::new(|| proxy.get("/healthz").send().unwrap()),
            200,
        ),
        (
            "healthz direct",
            Box::new(|| direct.get("/healthz").send().unwrap()),
            200,
        ),
        (
            "bad signature",
            Box::new(|| hop(&direct, &tampered, repeat_order)),
            401,
        ),
        (
            "wrong role",
            Box::new(|| hop(&direct, &pickup.token, repeat_order)),
            403,
        ),
        (
            "repeat hop",
            Box::new(|| hop(&direct, &hubs[0].token, repeat_order)),
            200,
        ),
        ("new hop direct", Box::new(|| next_hop(&direct)), 200),
        ("new hop via proxy", Box::new(|| next_hop(&proxy)), 200),
    ];
    let mut steps: Vec<(&'static str, Vec<Duration>)> = plan
        .iter()
        .map(|(name, _, _)| (*name, Vec::new()))
        .collect();
    for round in 0..=samples {
        for (i, (name, send, expect)) in plan.iter().enumerate() {
            let started = Instant::now();
            let reply = send();
            let took = started.elapsed();
            assert_eq!(reply.status, *expect, "{name}: {}", reply.body);
            // Round 0 warms every path and is not counted.
            if round > 0 {
                steps[i].1.push(took);
            }
        }
    }
    for (_, times) in &mut steps {
        times.sort();
    }

    let median = |t: &[Duration]| t[t.len() / 2].as_secs_f64() * 1000.0;
    for (name, times) in &steps {
        println!(
            "{}",
            json!({"bench": "scan_profile", "step": name, "samples": times.len(),
                   "p50_ms": round(median(times)),
                   "p99_ms": round(times[times.len() * 99 / 100].as_secs_f64() * 1000.0)})
        );
    }
    println!();
    println!(
        "{:<20} {:>8} {:>8} {:>14}",
        "step", "p50_ms", "p99_ms", "p50 - previous"
    );
    let mut previous = None;
    for (name, times) in &steps {
        let p50 = median(times);
        let delta = previous.map_or(String::new(), |p: f64| format!("{:+.2}", p50 - p));
        println!(
            "{:<20} {:>8.2} {:>8.2} {:>14}",
            name,
            p50,
            times[times.len() * 99 / 100].as_secs_f64() * 1000.0,
            delta
        );
        previous = Some(p50);
    }
}

/// A named request and the status it must get.
type Step<'a> = (&'static str, Box<dyn Fn() -> Reply + 'a>, u16);

fn hop(client: &Client, token: &str, order: &str) -> Reply {
    client
        .post("/v1/scans/hop")
        .bearer(token)
        .json(&json!({"platform_id": "demo", "order_id": order}))
        .send()
        .unwrap()
}

/// The port on which the edge's workerd itself serves the Worker (behind wrangler's proxy):
/// the listening TCP sockets of the workerd process, the one that answers `/healthz` as the
/// Worker does.
fn workerd_port(stack: &lasthop_e2e::Stack) -> u16 {
    let leader = stack.edge.pid().unwrap();
    let workerd = procfs::descendants(leader)
        .into_iter()
        .find(|p| p.comm == "workerd")
        .expect("a workerd under wrangler dev");
    let inodes: Vec<String> = std::fs::read_dir(format!("/proc/{}/fd", workerd.pid))
        .unwrap()
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter_map(|l| {
            let l = l.to_string_lossy().into_owned();
            l.strip_prefix("socket:[")?
                .strip_suffix(']')
                .map(str::to_owned)
        })
        .collect();
    let expected = stack.edge.client().get("/healthz").send().unwrap().body;
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap();
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let listening = fields.get(3) == Some(&"0A");
            let ours = fields.get(9).is_some_and(|i| inodes.iter().any(|x| x == i));
            let port = fields.get(1)?.split(':').nth(1)?;
            (listening && ours).then(|| u16::from_str_radix(port, 16).ok())?
        })
        .find(|port| {
            Client::new(format!("http://127.0.0.1:{port}"))
                .get("/healthz")
                .send()
                .is_ok_and(|r| r.status == 200 && r.body == expected)
        })
        .expect("workerd's own socket answering /healthz")
}

fn round(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

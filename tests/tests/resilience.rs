//! The edge without its origin, and a stolen scanner's rate limit, through the real Worker
//! (`wrangler dev`) and the real origin, both started here on free ports. This binary owns its
//! stack because it stops and restarts the origin (on the same port).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{assert_error, assert_verdict, run_scenarios, spawn_stack, text, Person, World};
use serde_json::json;

fn buyer_in_chaoyang() -> Person {
    Person {
        name: "测试买家丁四".into(),
        phone: "13600136004".into(),
        region: "110105".into(),
        line: "朝阳测试北路404号".into(),
        postal_code: "100020".into(),
    }
}

#[test]
fn the_edge_keeps_routing_without_its_origin_and_limits_each_scanner() {
    // The default rate (120 a minute) so the limit is the deployed one; a short origin timeout
    // so the stalled-origin scenario does not wait the default 10 s.
    let mut stack = spawn_stack("resilience", &[("ORIGIN_TIMEOUT_MS", "2000")]);
    let world = World::new(&stack);
    // Everything that needs the origin (accounts, hubs, scanners, the order) is set up first.
    let seller = world.register_seller("Offline Shop");
    let buyer = world.register_buyer(&buyer_in_chaoyang());
    let order = world.create_order(&buyer, &seller);
    let pickup = world.scanner("330108", "pickup");
    let route = [
        world.scanner("330108", "hub"),
        world.scanner("3301", "hub"),
        world.scanner("1101", "hub"),
    ];
    let final_hub = world.scanner("110105", "hub");
    let stolen = world.scanner("330108", "hub");
    drop(world);

    let origin_port = stack.origin.port();
    stack.origin.stop();
    let world = World::new(&stack);
    let w = &world;
    run_scenarios(&[
        (
            "with_the_origin_down_pickup_and_every_non_final_hop_still_work",
            &|| {
                assert_eq!(w.pickup(&pickup, &order, &buyer.id).status, 200);
                assert_verdict(&w.hop(&route[0], &order), "forward_up", None);
                assert_verdict(
                    &w.hop(&route[1], &order),
                    "route_to",
                    Some(("city", "1101")),
                );
                assert_verdict(
                    &w.hop(&route[2], &order),
                    "route_to",
                    Some(("district", "110105")),
                );
                let tracking = w.tracking(&buyer.token, &order);
                assert_eq!(tracking.status, 200, "{}", tracking.body);
                assert_eq!(
                    tracking.json().unwrap()["hops"].as_array().unwrap().len(),
                    3
                );
            },
        ),
        (
            "with_the_origin_down_only_the_final_hop_answers_503_with_retry_after",
            &|| {
                let refused = w.hop(&final_hub, &order);
                assert_error(&refused, 503, "unavailable");
                let retry_after: u32 = refused
                    .header("retry-after")
                    .expect("Retry-After")
                    .parse()
                    .unwrap();
                assert!(retry_after >= 1);
            },
        ),
        (
            "a_stalled_origin_gets_a_503_with_retry_after_instead_of_a_hanging_scan",
            &|| {
                // A socket that completes the handshake (the kernel's backlog) but never
                // answers: the vault is up, and stuck.
                let stalled = std::net::TcpListener::bind(("127.0.0.1", origin_port))
                    .expect("the stopped origin's port is free");
                let refused = w.hop(&final_hub, &order);
                assert_error(&refused, 503, "unavailable");
                assert!(refused.header("retry-after").is_some());
                drop(stalled);
            },
        ),
        (
            "a_stolen_scanner_cannot_enumerate_orders_faster_than_its_rate",
            &|| {
                // The gate is a bucket of 120 scans that refills at 2 per second: however
                // slow the machine, no more than 120 plus what refilled meanwhile get through.
                let started = std::time::Instant::now();
                let ceiling = || 120 + 2 * started.elapsed().as_secs() + 2;
                let mut answered = 0;
                let limited = loop {
                    let guess = format!("o_{:016}", answered);
                    let reply = w.hop(&stolen, &guess);
                    if reply.status == 429 {
                        break reply;
                    }
                    assert_error(&reply, 404, "not_found");
                    answered += 1;
                    assert!(
                        answered <= ceiling(),
                        "no rate limit after {answered} scans in {:?}",
                        started.elapsed()
                    );
                };
                assert!(answered >= 110, "limited after only {answered} scans");
                assert_error(&limited, 429, "rate_limited");
                assert!(limited.header("retry-after").is_some());
                // Another scanner is not affected.
                assert_error(&w.hop(&route[0], "o_0000000000000000"), 404, "not_found");
            },
        ),
    ]);

    stack
        .origin
        .restart()
        .expect("origin restarts on the same port");
    let world = World::new(&stack);
    let released = world.hop(&final_hub, &order);
    assert_verdict(&released, "deliver", None);
    let body = released.json().unwrap();
    assert_eq!(
        final_hub.open_recipient(&body, &order)["name"],
        json!(buyer.person.name)
    );
    assert_eq!(released.header("cache-control"), Some("no-store"));
    let delivered = world.deliver(&final_hub, &order, &text(&body, "release_id"));
    assert_eq!(delivered.status, 200, "{}", delivered.body);
    assert_error(&world.hop(&final_hub, &order), 410, "order_closed");
}

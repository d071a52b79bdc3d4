//! The chain of custody end to end, played as an attacker would, through `wrangler dev` and a
//! real origin: a compromised edge (every edge secret, every bearer token and signed scan seen
//! in real journeys) obtains no recipient; sellers' views are the same wherever the buyer
//! lives; a delivery whose answer was lost is closed by its retry; and a revoked scanner stops
//! working within one credential lifetime even when no revocation push gets through.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::internal::InternalOrigin;
use common::{
    assert_error, assert_verdict, run_scenarios, spawn_stack, state_dir, text, Person, Scanner,
    World,
};
use lasthop_core::api::paths;
use lasthop_core::device::SignedScan;
use lasthop_e2e::{Reply, Stack, StackOptions};
use serde_json::{json, Value};

fn person(tag: &str, region: &str, postal_code: &str) -> Person {
    Person {
        name: format!("Custody {tag}"),
        phone: "+86 139 1234 5678".to_owned(),
        region: region.to_owned(),
        line: format!("{tag} Custody Road 1"),
        postal_code: postal_code.to_owned(),
    }
}

#[test]
fn the_chain_of_custody_holds_against_a_compromised_edge_and_sellers_learn_nothing() {
    let stack = spawn_stack("custody", &[]);
    let w = World::new(&stack);
    run_scenarios(&[
        (
            "a_compromised_edge_obtains_no_recipient_and_each_attempt_is_refused_and_counted",
            &|| compromised_edge(&w),
        ),
        ("seller_views_are_the_same_for_every_buyer_region", &|| {
            seller_views(&w)
        }),
        (
            "a_delivery_whose_answer_was_lost_is_closed_by_its_retry",
            &|| lost_delivery_answer(&w),
        ),
    ]);
}

/// A hop signed by `scanner`'s device, sent through the edge; returns the answer and the
/// chain link the edge keeps (exactly what a compromised edge would hold).
fn hop_seen(w: &World, scanner: &Scanner, order: &str) -> (Reply, SignedScan) {
    send_seen(
        w,
        scanner,
        paths::SCAN_HOP,
        &json!({"platform_id": "demo", "order_id": order}),
    )
}

fn send_seen(w: &World, scanner: &Scanner, path: &str, body: &Value) -> (Reply, SignedScan) {
    let link = scanner.signed_scan(path, body);
    let mut request = w
        .edge
        .post(path)
        .bearer(&scanner.token)
        .header("content-type", "application/json")
        .header("x-lasthop-device-timestamp", &link.timestamp.to_string())
        .header("x-lasthop-device-nonce", &link.nonce)
        .header("x-lasthop-device-signature", &link.signature);
    request = request.body(link.body.clone().into_bytes());
    (request.send().unwrap(), link)
}

fn pickup_seen(w: &World, scanner: &Scanner, order: &str, buyer: &str) -> (Reply, SignedScan) {
    send_seen(
        w,
        scanner,
        paths::SCAN_PICKUP,
        &json!({"platform_id": "demo", "order_id": order, "buyer_id": buyer, "waybill": "WB-1"}),
    )
}

/// The refusals the origin counted so far, from its metrics.
fn refusals_counted(w: &World) -> u64 {
    let metrics = w
        .origin
        .get("/metrics")
        .bearer(w.ops_token())
        .send()
        .unwrap();
    assert_eq!(metrics.status, 200, "{}", metrics.body);
    metrics
        .body
        .lines()
        .filter(|line| line.starts_with("lasthop_origin_custody_refusals_total{"))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

fn compromised_edge(w: &World) {
    // Real journeys: order A goes all the way; B is picked up and routed to Hangzhou's city hub
    // only; C is never picked up. Every token and every signed scan is kept, as the edge sees them.
    let seller = w.register_seller("Custody Shop");
    let buyer = w.register_buyer(&person("attacked", "110105", "100020"));
    let (a, b, c) = (
        w.create_order(&buyer, &seller),
        w.create_order(&buyer, &seller),
        w.create_order(&buyer, &seller),
    );
    let pickup = w.scanner("330108", "pickup");
    let route: Vec<Scanner> = ["330108", "3301", "1101", "110105"]
        .iter()
        .map(|code| w.scanner(code, "hub"))
        .collect();
    let final_hub = &route[3];
    let mut chain_a = vec![pickup_seen(w, &pickup, &a, &buyer.id).1];
    for hub in &route {
        let (reply, link) = hop_seen(w, hub, &a);
        assert_eq!(reply.status, 200, "{}", reply.body);
        chain_a.push(link);
    }
    let mut chain_b = vec![pickup_seen(w, &pickup, &b, &buyer.id).1];
    for hub in &route[..2] {
        chain_b.push(hop_seen(w, hub, &b).1);
    }
    // The legitimate release that the edge relayed: sealed, nothing readable with edge secrets.
    let (released, _) = hop_seen(w, final_hub, &a);
    assert_verdict(&released, "deliver", None);
    for secret in buyer.person.secrets() {
        assert!(
            !released.body.contains(&secret),
            "the relayed answer shows {secret}"
        );
    }

    // The attacker: every edge secret (it signs as the edge), every token, every chain.
    let edge = InternalOrigin::new(&w.stack.origin);
    let before = refusals_counted(w);
    let attempt = |order: &str, token: &str, chain: &[SignedScan]| {
        let body = json!({"platform_id": "demo", "order_id": order, "scanner_token": token,
                          "chain": chain});
        edge.send("POST", paths::INTERNAL_RELEASES, Some(&body), None)
    };
    let mut changed = chain_a.clone();
    changed[2].body = changed[2].body.replace("\"demo\"", "\"demo\" ");
    let mut b_with_a_final = chain_b.clone();
    b_with_a_final.push(chain_a[4].clone());
    let cases: Vec<(&str, Reply)> = vec![
        // C was never picked up: A's chain, and the final hub's token, with no scan of C.
        ("never picked up", attempt(&c, &final_hub.token, &chain_a)),
        (
            "never picked up, no chain",
            attempt(&c, &final_hub.token, &[]),
        ),
        // B never reached the buyer's district.
        (
            "not routed to the district",
            attempt(&b, &final_hub.token, &chain_b),
        ),
        // A's final scan once more (its nonce was used; soon it is stale too).
        (
            "replayed final scan",
            attempt(&a, &final_hub.token, &chain_a),
        ),
        // B's chain ending in A's final scan.
        (
            "final scan of another order",
            attempt(&b, &final_hub.token, &b_with_a_final),
        ),
        // A's chain with one hop's body changed.
        ("one hop changed", attempt(&a, &final_hub.token, &changed)),
    ];
    for (case, reply) in &cases {
        assert!(
            matches!(reply.status, 401 | 403),
            "{case}: {} {}",
            reply.status,
            reply.body
        );
        assert!(
            !reply.body.contains("recipient"),
            "{case}: a recipient in {}",
            reply.body
        );
        for secret in buyer.person.secrets() {
            assert!(!reply.body.contains(&secret), "{case}: {secret}");
        }
    }
    let counted = refusals_counted(w) - before;
    assert!(
        counted >= cases.len() as u64,
        "{counted} refusals counted for {} attempts",
        cases.len()
    );
}

/// The seller's view of an order at each step of its journey, the order id blanked.
fn seller_view(w: &World, token: &str, order: &str) -> String {
    let reply = w.tracking(token, order);
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    reply.body.replace(order, "o_ORDER")
}

fn seller_views(w: &World) {
    let seller = w.register_seller("Binjiang Everywhere");
    let pickup = w.scanner("330108", "pickup");
    // Buyers in the pickup's own district, elsewhere in its city, in another province, and in
    // a city without districts.
    let journeys: [(&str, &str, &[&str]); 4] = [
        ("330108", "310012", &["330108"]),
        ("330106", "310013", &["330108", "3301", "330106"]),
        ("110105", "100020", &["330108", "3301", "1101", "110105"]),
        ("4419", "523000", &["330108", "3301", "4419"]),
    ];
    let mut sequences = Vec::new();
    for (region, postal, route) in journeys {
        let buyer = w.register_buyer(&person(&format!("view-{region}"), region, postal));
        let order = w.create_order(&buyer, &seller);
        let mut views = vec![seller_view(w, &seller.token, &order)];
        assert_eq!(w.pickup(&pickup, &order, &buyer.id).status, 200);
        views.push(seller_view(w, &seller.token, &order));
        let mut last = None;
        for code in route {
            let hub = w.scanner(code, "hub");
            let reply = w.hop(&hub, &order);
            assert_eq!(reply.status, 200, "{region} at {code}: {}", reply.body);
            views.push(seller_view(w, &seller.token, &order));
            last = Some((hub, reply));
        }
        // Released at the buyer's hub: the seller's list says in_transit, as for everyone.
        let list = w.seller_orders(&seller);
        assert!(!list.body.contains("released"), "{}", list.body);
        let (hub, released) = last.unwrap();
        let release_id = text(&released.json().unwrap(), "release_id");
        assert_eq!(w.deliver(&hub, &order, &release_id).status, 200);
        views.push(seller_view(w, &seller.token, &order));
        views.dedup();
        sequences.push((region, views));
    }
    let (_, first) = &sequences[0];
    assert_eq!(
        first,
        &[
            // The carrier and the waybill (issue 11) are the same for every buyer region.
            r#"{"order_id":"o_ORDER","status":"created","hops":[],"carrier":{"carrier_id":"ca_0000000000000000","name":"lasthop"},"waybill":null}"#,
            r#"{"order_id":"o_ORDER","status":"picked_up","hops":[],"carrier":{"carrier_id":"ca_0000000000000000","name":"lasthop"},"waybill":"WB-0001"}"#,
            r#"{"order_id":"o_ORDER","status":"in_transit","hops":[],"carrier":{"carrier_id":"ca_0000000000000000","name":"lasthop"},"waybill":"WB-0001"}"#,
            r#"{"order_id":"o_ORDER","status":"delivered","hops":[],"carrier":{"carrier_id":"ca_0000000000000000","name":"lasthop"},"waybill":"WB-0001"}"#,
        ]
    );
    for (region, views) in &sequences {
        assert_eq!(
            views, first,
            "the seller's views for a buyer in {region} differ"
        );
    }
}

fn lost_delivery_answer(w: &World) {
    let seller = w.register_seller("Lost Answers");
    let buyer = w.register_buyer(&person("lost", "330108", "310012"));
    let order = w.create_order(&buyer, &seller);
    let pickup = w.scanner("330108", "pickup");
    let hub = w.scanner("330108", "hub");
    assert_eq!(w.pickup(&pickup, &order, &buyer.id).status, 200);
    let released = w.hop(&hub, &order);
    assert_verdict(&released, "deliver", None);
    let release_id = text(&released.json().unwrap(), "release_id");
    // The edge's delivery call reaches the origin, and its answer is lost on the way back: the
    // origin has closed the order, the edge has not.
    let delivery = json!({"platform_id": "demo", "order_id": order, "release_id": release_id,
                          "signature": "signed-by-recipient"});
    let scan = hub.signed_scan(paths::SCAN_DELIVER, &delivery);
    let mut relayed = delivery.clone();
    relayed["scanner_token"] = json!(hub.token);
    relayed["scan"] = serde_json::to_value(&scan).unwrap();
    let edge = InternalOrigin::new(&w.stack.origin);
    let first = edge.send("POST", paths::INTERNAL_DELIVERIES, Some(&relayed), None);
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(
        w.tracking(&buyer.token, &order).json().unwrap()["status"],
        "released"
    );
    // The terminal retries with the same release and proof: 200, and the edge closes the order.
    let retried = w.deliver(&hub, &order, &release_id);
    assert_eq!(retried.status, 200, "{}", retried.body);
    assert_eq!(
        retried.json().unwrap(),
        json!({"status": "delivered", "erase": [release_id]})
    );
    assert_eq!(
        w.tracking(&buyer.token, &order).json().unwrap()["status"],
        "delivered"
    );
    assert_error(&w.label(&seller, &order), 410, "order_closed");
}

#[test]
fn a_revoked_scanner_stops_working_within_one_credential_lifetime_when_no_push_gets_through() {
    const TTL_SECS: u64 = 8;
    let mut options = StackOptions::new(state_dir("custody-revocation"));
    options.block_revocation_pushes = true;
    options.origin_env = vec![("LASTHOP_SCANNER_TTL_SECS".into(), TTL_SECS.to_string())];
    let stack = Stack::spawn(options).unwrap();
    let w = World::new(&stack);
    let seller = w.register_seller("Revocation Bound");
    let buyer = w.register_buyer(&person("bound", "110105", "100020"));
    let order = w.create_order(&buyer, &seller);
    let pickup = w.scanner("330108", "pickup");
    assert_eq!(w.pickup(&pickup, &order, &buyer.id).status, 200);
    let revoked = w.scanner("330108", "hub");
    let mut kept = w.scanner("3301", "hub");
    let issued = std::time::Instant::now();
    assert_verdict(&w.hop(&revoked, &order), "forward_up", None);
    w.revoke(&revoked);
    // No push can reach the edge, so the edge still admits the revoked scanner's credential …
    assert_verdict(&w.hop(&revoked, &order), "forward_up", None);
    // … and the origin refuses it a new one.
    let renewal = revoked
        .signed(&w.edge, paths::SCANNER_RENEW, &json!({}))
        .send()
        .unwrap();
    assert_error(&renewal, 401, "unauthorized");
    // An unrevoked device renews and keeps working past the first credential's lifetime.
    let renewed = kept
        .signed(&w.edge, paths::SCANNER_RENEW, &json!({}))
        .send()
        .unwrap();
    assert_eq!(renewed.status, 200, "{}", renewed.body);
    assert_eq!(renewed.header("cache-control"), Some("no-store"));
    kept.token = text(&renewed.json().unwrap(), "token");
    // Half a lifetime later the device renews again, as a terminal does during its shift.
    std::thread::sleep(std::time::Duration::from_secs(TTL_SECS / 2));
    let again = kept
        .signed(&w.edge, paths::SCANNER_RENEW, &json!({}))
        .send()
        .unwrap();
    assert_eq!(again.status, 200, "{}", again.body);
    kept.token = text(&again.json().unwrap(), "token");
    // Wait out the revoked credential's lifetime; it is refused from then on.
    let refused = loop {
        let reply = w.hop(&revoked, &order);
        if reply.status == 401 {
            break issued.elapsed();
        }
        assert!(
            issued.elapsed().as_secs() <= TTL_SECS + 5,
            "still admitted {} s after issue: {}",
            issued.elapsed().as_secs(),
            reply.body
        );
        std::thread::sleep(std::time::Duration::from_millis(250));
    };
    eprintln!(
        "revoked scanner refused {} ms after its credential was issued (TTL {TTL_SECS} s, no push)",
        refused.as_millis()
    );
    assert_verdict(&w.hop(&kept, &order), "route_to", Some(("city", "1101")));
}

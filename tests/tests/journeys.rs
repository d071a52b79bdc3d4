//! End-to-end journeys through the real Worker (`wrangler dev`, workerd) and the real origin,
//! both started here on free ports, over real GB/T 2260 region codes. One stack serves every
//! scenario of this binary (starting workerd is the slow part); the scenarios use their own
//! buyers, sellers, hubs and orders. After them, every file of the edge's local state and the
//! edge's log are searched for the test buyers' personal data.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{
    assert_error, assert_verdict, contains_bytes, files_under, run_scenarios, state_dir, text,
    Person, World,
};
use lasthop_e2e::{Stack, StackOptions};
use serde_json::{json, Value};

fn beijing_buyer() -> Person {
    Person {
        name: "测试买家甲一".into(),
        phone: "13800138001".into(),
        region: "110105".into(),
        line: "朝阳路测试巷101号".into(),
        postal_code: "100020".into(),
    }
}

fn hangzhou_buyer() -> Person {
    Person {
        name: "测试买家乙二".into(),
        phone: "13900139002".into(),
        region: "330106".into(),
        line: "西湖测试街202号".into(),
        postal_code: "310013".into(),
    }
}

fn dongguan_buyer() -> Person {
    Person {
        name: "测试买家丙三".into(),
        phone: "13700137003".into(),
        region: "4419".into(),
        line: "东城测试道303号".into(),
        postal_code: "523000".into(),
    }
}

#[test]
fn journeys_over_real_region_codes_keep_personal_data_away_from_the_edge_and_the_seller() {
    let mut options = StackOptions::new(state_dir("journeys"));
    options.edge_vars = vec![("SCANNER_RATE_PER_MINUTE".into(), "100000".into())];
    // The origin logs everything it would log at its most verbose, so the search below
    // covers statements, connections and requests, not only the default lines.
    options.origin_env = vec![("RUST_LOG".into(), "debug".into())];
    let stack = Stack::spawn(options).expect("origin and edge start");
    let world = World::new(&stack);
    let w = &world;
    run_scenarios(&[
        (
            "full_journey_across_provinces_delivers_at_the_buyers_district_and_closes_the_order",
            &|| full_journey_across_provinces(w),
        ),
        (
            "same_city_journey_routes_from_the_city_hub_to_the_buyers_district",
            &|| same_city_journey(w),
        ),
        (
            "journey_to_a_city_without_districts_delivers_at_the_city_hub",
            &|| journey_to_city_without_districts(w),
        ),
        ("pickup_with_wrong_buyer_id_returns_label_mismatch", &|| {
            pickup_with_wrong_buyer_id(w)
        }),
        ("hubs_off_the_route_are_refused_with_off_route", &|| {
            hubs_off_the_route(w)
        }),
        ("hubs_racing_for_one_transition_cannot_both_win", &|| {
            hubs_racing_for_one_transition(w)
        }),
        (
            "scanners_of_the_wrong_role_are_refused_with_wrong_role",
            &|| scanners_of_the_wrong_role(w),
        ),
        (
            "revoked_scanner_is_refused_at_the_edge_within_seconds",
            &|| revoked_scanner(w),
        ),
        ("bad_requests_get_contract_errors_not_500s", &|| {
            bad_requests(w)
        }),
        (
            "openapi_document_is_served_and_every_path_in_it_is_routed",
            &|| openapi_paths_are_routed(w),
        ),
        (
            "a_buyer_modifies_an_address_through_the_edge_and_sees_the_new_version",
            &|| modify_an_address(w),
        ),
    ]);
    edge_state_and_logs_hold_no_personal_data(
        w,
        &[
            beijing_buyer(),
            hangzhou_buyer(),
            dongguan_buyer(),
            moved_buyer(),
        ],
    );
}

/// A Dongguan buyer after moving house (the modified line and recipient are personal data too).
fn moved_buyer() -> Person {
    Person {
        name: "测试收件人丁四".into(),
        phone: "13700137004".into(),
        region: "4419".into(),
        line: "东城新测试路404号".into(),
        postal_code: "523000".into(),
    }
}

fn modify_an_address(w: &World) {
    let buyer = w.register_buyer(&dongguan_buyer());
    let moved = moved_buyer();
    let address = json!({"country": "CN", "region": moved.region, "line": moved.line,
        "postal_code": moved.postal_code, "label": "moved",
        "recipient": {"name": moved.name, "phone": moved.phone}});
    let reply = w
        .edge
        .request(
            "PUT",
            &format!("/v1/buyers/me/addresses/{}", buyer.address_id),
        )
        .bearer(&buyer.token)
        .json(&json!({ "address": address }))
        .send()
        .unwrap();
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        reply.json().unwrap(),
        json!({"address_id": buyer.address_id})
    );
    let profile = w.profile(&buyer).json().unwrap();
    let entry = &profile["addresses"][0];
    assert_eq!(entry["line"], moved.line.as_str());
    assert_eq!(entry["recipient_name"], moved.name.as_str());
    assert_eq!(entry["modified"]["channel"], "shop");
    // Without a buyer credential, or for an id that is none of the buyer's: refused.
    let anonymous = w
        .edge
        .request(
            "PUT",
            &format!("/v1/buyers/me/addresses/{}", buyer.address_id),
        )
        .json(&json!({ "address": address }))
        .send()
        .unwrap();
    assert_error(&anonymous, 401, "unauthorized");
    let other = w.register_buyer(&hangzhou_buyer());
    let foreign = w
        .edge
        .request(
            "PUT",
            &format!("/v1/buyers/me/addresses/{}", buyer.address_id),
        )
        .bearer(&other.token)
        .json(&json!({ "address": address }))
        .send()
        .unwrap();
    assert_error(&foreign, 404, "not_found");
}

/// Sends an endless chunked body (64 MiB at most) over a raw connection until the server
/// stops taking it; returns how many body bytes got through.
fn endless_chunked_upload(base_url: &str, path: &str, token: &str) -> usize {
    use std::io::Write as _;
    let address = base_url.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    stream
        .set_write_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).unwrap();
    let chunk = vec![b' '; 64 * 1024];
    let framed = [
        format!("{:x}\r\n", chunk.len()).into_bytes(),
        chunk,
        b"\r\n".to_vec(),
    ]
    .concat();
    let mut sent = 0;
    while sent < 64 * 1024 * 1024 {
        if stream.write_all(&framed).is_err() {
            break;
        }
        sent += 64 * 1024;
    }
    sent
}

fn buyer_view_cache(reply: &lasthop_e2e::Reply) -> Option<String> {
    reply.header("cache-control").map(str::to_owned)
}

fn full_journey_across_provinces(w: &World) {
    let seller = w.register_seller("Binjiang Tea Shop");
    let buyer = w.register_buyer(&beijing_buyer());
    let other_buyer = w.register_buyer(&hangzhou_buyer());
    let other_seller = w.register_seller("Another Shop");
    let order = w.create_order(&buyer, &seller);
    let pickup = w.scanner("330108", "pickup");
    let seller_district = w.scanner("330108", "hub");
    let seller_city = w.scanner("3301", "hub");
    let buyer_city = w.scanner("1101", "hub");
    let buyer_district = w.scanner("110105", "hub");

    assert_error(&w.hop(&seller_district, &order), 409, "not_picked_up");
    let picked = w.pickup(&pickup, &order, &buyer.id);
    assert_eq!(picked.status, 200, "{}", picked.body);
    assert_eq!(picked.json().unwrap(), json!({"status": "picked_up"}));

    assert_error(&w.hop(&buyer_city, &order), 403, "off_route");
    assert_verdict(&w.hop(&seller_district, &order), "forward_up", None);
    // The hub that scanned last gets the same verdict again, and no hop is added.
    assert_verdict(&w.hop(&seller_district, &order), "forward_up", None);
    assert_error(&w.hop(&buyer_district, &order), 403, "off_route");
    assert_verdict(
        &w.hop(&seller_city, &order),
        "route_to",
        Some(("city", "1101")),
    );
    assert_verdict(
        &w.hop(&buyer_city, &order),
        "route_to",
        Some(("district", "110105")),
    );
    assert_error(
        &w.deliver(&buyer_city, &order, "r_0000000000000000"),
        409,
        "wrong_state",
    );

    let released = w.hop(&buyer_district, &order);
    assert_verdict(&released, "deliver", None);
    assert_eq!(released.header("cache-control"), Some("no-store"));
    let body = released.json().unwrap();
    let person = &buyer.person;
    // Sealed to the final hub's device: nothing of the recipient crosses the edge readable.
    for secret in person.secrets() {
        assert!(
            !released.body.contains(&secret),
            "the verdict shows {secret}"
        );
    }
    assert_eq!(
        buyer_district.open_recipient(&body, &order),
        json!({"name": person.name, "phone": person.phone, "country": "CN", "region": "110105",
               "line": person.line, "postal_code": person.postal_code})
    );
    let release_id = text(&body, "release_id");
    assert!(release_id.starts_with("r_"), "{release_id}");
    assert!(body["erase_after"].is_string(), "{body}");
    // The final hub's repeated scan gets the same release.
    let again = w.hop(&buyer_district, &order);
    assert_verdict(&again, "deliver", None);
    assert_eq!(text(&again.json().unwrap(), "release_id"), release_id);

    // Tracking: the buyer sees the whole route; the seller the status alone.
    let buyer_view = w.tracking(&buyer.token, &order);
    assert_eq!(buyer_view.status, 200, "{}", buyer_view.body);
    let buyer_view = buyer_view.json().unwrap();
    assert_eq!(buyer_view["status"], "released");
    let hops = buyer_view["hops"].as_array().unwrap();
    let route: Vec<(&str, &str)> = hops
        .iter()
        .map(|h| (h["code"].as_str().unwrap(), h["verdict"].as_str().unwrap()))
        .collect();
    assert_eq!(
        route,
        [
            ("330108", "forward_up"),
            ("3301", "route_to"),
            ("1101", "route_to"),
            ("110105", "deliver")
        ]
    );
    assert_eq!(hops[3]["hub_id"], json!(buyer_district.hub_id));
    assert_eq!(
        buyer_view_cache(&w.tracking(&buyer.token, &order)),
        Some("no-store".to_owned())
    );
    let seller_view = w.tracking(&seller.token, &order);
    assert_eq!(seller_view.status, 200, "{}", seller_view.body);
    assert_eq!(seller_view.header("cache-control"), Some("no-store"));
    assert_eq!(
        seller_view.json().unwrap(),
        json!({"order_id": order, "status": "in_transit", "hops": [],
               "carrier": {"carrier_id": "ca_0000000000000000", "name": "lasthop"},
               "waybill": "WB-0001"}),
        "a seller sees the status alone, `released` as `in_transit`, with the carrier and waybill"
    );
    for needle in [
        "1101",
        buyer_city.hub_id.as_str(),
        buyer_district.hub_id.as_str(),
    ] {
        assert!(
            !seller_view.body.contains(needle),
            "seller tracking shows {needle}"
        );
    }
    assert_error(&w.tracking(&other_buyer.token, &order), 403, "forbidden");
    assert_error(&w.tracking(&other_seller.token, &order), 403, "forbidden");

    // The seller's list and the label: ids and status only.
    let list = w.seller_orders(&seller);
    assert_eq!(list.status, 200, "{}", list.body);
    let listed = list.json().unwrap()["orders"].as_array().unwrap().clone();
    let entry = listed
        .iter()
        .find(|o| o["order_id"] == json!(order))
        .expect("order listed");
    assert_eq!(entry["status"], "in_transit");
    assert_eq!(entry["buyer_id"], json!(buyer.id));
    let label = w.label(&seller, &order);
    assert_eq!(label.status, 200, "{}", label.body);
    assert_eq!(label.header("content-type"), Some("image/svg+xml"));
    assert!(
        label.body.contains("<svg")
            && label.body.contains(&order)
            && label.body.contains(&buyer.id)
    );
    assert!(label.body.contains("demo"));
    for view in [&list.body, &label.body, &seller_view.body] {
        for secret in person.secrets().iter().chain([&person.region]) {
            assert!(
                !view.contains(secret.as_str()),
                "a seller view contains buyer data"
            );
        }
    }

    assert_error(
        &w.deliver(&buyer_district, &order, "r_0000000000000000"),
        409,
        "wrong_state",
    );
    let delivered = w.deliver(&buyer_district, &order, &release_id);
    assert_eq!(delivered.status, 200, "{}", delivered.body);
    assert_eq!(
        delivered.json().unwrap(),
        json!({"status": "delivered", "erase": [release_id]})
    );

    // Closed: every courier request and the label answer 410; tracking gives status only.
    assert_error(&w.hop(&buyer_district, &order), 410, "order_closed");
    assert_error(&w.hop(&seller_district, &order), 410, "order_closed");
    assert_error(&w.pickup(&pickup, &order, &buyer.id), 410, "order_closed");
    assert_error(
        &w.deliver(&buyer_district, &order, &release_id),
        410,
        "order_closed",
    );
    assert_error(&w.label(&seller, &order), 410, "order_closed");
    for token in [&buyer.token, &seller.token] {
        let view = w.tracking(token, &order);
        assert_eq!(view.status, 200, "{}", view.body);
        assert_eq!(
            view.json().unwrap(),
            json!({"order_id": order, "status": "delivered", "hops": [],
                   "carrier": {"carrier_id": "ca_0000000000000000", "name": "lasthop"},
                   "waybill": "WB-0001"})
        );
    }
}

fn same_city_journey(w: &World) {
    let seller = w.register_seller("Binjiang Books");
    let buyer = w.register_buyer(&hangzhou_buyer());
    let order = w.create_order(&buyer, &seller);
    let pickup = w.scanner("330108", "pickup");
    let district = w.scanner("330108", "hub");
    let city = w.scanner("3301", "hub");
    let final_hub = w.scanner("330106", "hub");
    assert_eq!(w.pickup(&pickup, &order, &buyer.id).status, 200);
    assert_verdict(&w.hop(&district, &order), "forward_up", None);
    assert_verdict(
        &w.hop(&city, &order),
        "route_to",
        Some(("district", "330106")),
    );
    let released = w.hop(&final_hub, &order);
    assert_verdict(&released, "deliver", None);
    let body = released.json().unwrap();
    let recipient = final_hub.open_recipient(&body, &order);
    assert_eq!(recipient["region"], "330106");
    assert_eq!(recipient["name"], json!(buyer.person.name));
    let delivered = w.deliver(&final_hub, &order, &text(&body, "release_id"));
    assert_eq!(delivered.status, 200, "{}", delivered.body);
    assert_error(&w.hop(&city, &order), 410, "order_closed");
}

fn journey_to_city_without_districts(w: &World) {
    let seller = w.register_seller("Binjiang Lamps");
    let buyer = w.register_buyer(&dongguan_buyer());
    let order = w.create_order(&buyer, &seller);
    let pickup = w.scanner("330108", "pickup");
    let district = w.scanner("330108", "hub");
    let city = w.scanner("3301", "hub");
    let dongguan = w.scanner("4419", "hub");
    assert_eq!(w.pickup(&pickup, &order, &buyer.id).status, 200);
    assert_verdict(&w.hop(&district, &order), "forward_up", None);
    assert_verdict(&w.hop(&city, &order), "route_to", Some(("city", "4419")));
    let released = w.hop(&dongguan, &order);
    assert_verdict(&released, "deliver", None);
    let body = released.json().unwrap();
    assert_eq!(dongguan.open_recipient(&body, &order)["region"], "4419");
    let delivered = w.deliver(&dongguan, &order, &text(&body, "release_id"));
    assert_eq!(delivered.status, 200, "{}", delivered.body);
}

fn pickup_with_wrong_buyer_id(w: &World) {
    let seller = w.register_seller("Label Checkers");
    let buyer = w.register_buyer(&beijing_buyer());
    let someone_else = w.register_buyer(&hangzhou_buyer());
    let order = w.create_order(&buyer, &seller);
    let pickup = w.scanner("330108", "pickup");
    let refused = w.pickup(&pickup, &order, &someone_else.id);
    assert_error(&refused, 409, "label_mismatch");
    assert!(refused.json().unwrap()["message"]
        .as_str()
        .unwrap()
        .contains("label"));
    for secret in buyer
        .person
        .secrets()
        .iter()
        .chain(someone_else.person.secrets().iter())
    {
        assert!(!refused.body.contains(secret.as_str()));
    }
    // A well-formed id that exists nowhere is refused the same way.
    assert_error(
        &w.pickup(&pickup, &order, "b_0000000000000000"),
        409,
        "label_mismatch",
    );
    assert_eq!(w.pickup(&pickup, &order, &buyer.id).status, 200);
}

fn hubs_off_the_route(w: &World) {
    let seller = w.register_seller("Route Testers");
    let buyer = w.register_buyer(&beijing_buyer());
    let order = w.create_order(&buyer, &seller);
    let pickup = w.scanner("330108", "pickup");
    assert_eq!(w.pickup(&pickup, &order, &buyer.id).status, 200);
    for code in ["3302", "330106", "1101", "110105", "4419"] {
        let hub = w.scanner(code, "hub");
        assert_error(&w.hop(&hub, &order), 403, "off_route");
    }
    let district = w.scanner("330108", "hub");
    assert_verdict(&w.hop(&district, &order), "forward_up", None);
    // Sent to Hangzhou's city hub: Ningbo's city hub and the sending district itself are off the route.
    assert_error(&w.hop(&w.scanner("3302", "hub"), &order), 403, "off_route");
    assert_error(
        &w.hop(&w.scanner("330108", "hub"), &order),
        403,
        "off_route",
    );
    // Unknown and foreign orders are unknown.
    assert_error(&w.hop(&district, "o_0000000000000000"), 404, "not_found");
}

fn hubs_racing_for_one_transition(w: &World) {
    let seller = w.register_seller("Race Testers");
    let buyer = w.register_buyer(&beijing_buyer());
    let order = w.create_order(&buyer, &seller);
    let pickup = w.scanner("330108", "pickup");
    assert_eq!(w.pickup(&pickup, &order, &buyer.id).status, 200);
    // Eight hubs of the same district, each its own hub id, scan at the same moment: the
    // order's object serialises them, so exactly one moves the parcel on; the parcel is then
    // expected at the city hub and the others are off its route.
    let racers: Vec<_> = (0..8).map(|_| w.scanner("330108", "hub")).collect();
    let barrier = std::sync::Barrier::new(racers.len());
    let statuses: Vec<(u16, String)> = std::thread::scope(|scope| {
        let handles: Vec<_> = racers
            .iter()
            .map(|hub| {
                let barrier = &barrier;
                let order = &order;
                scope.spawn(move || {
                    barrier.wait();
                    let reply = w.hop(hub, order);
                    (
                        reply.status,
                        reply.error_code().unwrap_or_else(|| reply.body.clone()),
                    )
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let winners = statuses.iter().filter(|(status, _)| *status == 200).count();
    assert_eq!(winners, 1, "{statuses:?}");
    assert!(
        statuses
            .iter()
            .all(|(status, code)| *status == 200 || (*status == 403 && code == "off_route")),
        "{statuses:?}"
    );
    let view = w.tracking(&buyer.token, &order).json().unwrap();
    assert_eq!(view["hops"].as_array().unwrap().len(), 1, "{view}");
}

fn scanners_of_the_wrong_role(w: &World) {
    let seller = w.register_seller("Role Testers");
    let buyer = w.register_buyer(&beijing_buyer());
    let order = w.create_order(&buyer, &seller);
    let pickup = w.scanner("330108", "pickup");
    let hub = w.scanner("330108", "hub");
    assert_error(&w.pickup(&hub, &order, &buyer.id), 403, "wrong_role");
    assert_error(&w.hop(&pickup, &order), 403, "wrong_role");
    assert_error(
        &w.deliver(&pickup, &order, "r_0000000000000000"),
        403,
        "wrong_role",
    );
    // A buyer's session credential is no scanner credential.
    let as_scanner = common::Scanner {
        token: buyer.token.clone(),
        ..hub.clone()
    };
    assert_error(&w.hop(&as_scanner, &order), 401, "unauthorized");
    // Neither refusal moved the order.
    assert_eq!(w.pickup(&pickup, &order, &buyer.id).status, 200);
}

fn revoked_scanner(w: &World) {
    let seller = w.register_seller("Revocation Testers");
    let buyer = w.register_buyer(&beijing_buyer());
    let order = w.create_order(&buyer, &seller);
    let pickup = w.scanner("330108", "pickup");
    let hub = w.scanner("330108", "hub");
    assert_eq!(w.pickup(&pickup, &order, &buyer.id).status, 200);
    assert_verdict(&w.hop(&hub, &order), "forward_up", None);
    let revoked_at = std::time::Instant::now();
    w.revoke(&hub);
    let refused = loop {
        let reply = w.hop(&hub, &order);
        if reply.status != 200 {
            break reply;
        }
        assert!(
            revoked_at.elapsed().as_secs() < 15,
            "revocation did not reach the edge in 15 s"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert_error(&refused, 401, "unauthorized");
    eprintln!(
        "revocation reached the edge after {} ms",
        revoked_at.elapsed().as_millis()
    );
    // The hub's other, unrevoked scanner still works.
    let other = w.scanner("3301", "hub");
    assert_verdict(&w.hop(&other, &order), "route_to", Some(("city", "1101")));
}

fn bad_requests(w: &World) {
    let buyer = w.register_buyer(&beijing_buyer());
    let hub = w.scanner("330108", "hub");
    let signed = |bytes: &[u8]| {
        hub.signed_bytes(&w.edge, "/v1/scans/hop", bytes.to_vec())
            .send()
            .unwrap()
    };
    let unknown =
        signed(br#"{"platform_id":"demo","order_id":"o_0000000000000000","hub_code":"110105"}"#);
    assert_error(&unknown, 400, "unknown_field");
    let not_json = signed(b"{not json");
    assert_error(&not_json, 400, "invalid_input");
    let bad_id = signed(br#"{"platform_id":"demo","order_id":"nope"}"#);
    assert_error(&bad_id, 400, "invalid_input");
    assert!(bad_id.body.contains("order_id"), "{}", bad_id.body);
    // A device-bound scanner's request without its device's signature, or with one replayed
    // or made for another body: refused before anything else.
    let body = br#"{"platform_id":"demo","order_id":"o_0000000000000000"}"#;
    let unsigned = w
        .edge
        .post("/v1/scans/hop")
        .bearer(&hub.token)
        .body(body.to_vec())
        .send()
        .unwrap();
    assert_error(&unsigned, 401, "unauthorized");
    let headers = hub.device_headers("/v1/scans/hop", body);
    let send = |bytes: &[u8]| {
        let mut request = w.edge.post("/v1/scans/hop").bearer(&hub.token);
        for (name, value) in &headers {
            request = request.header(name, value);
        }
        request.body(bytes.to_vec()).send().unwrap()
    };
    assert_error(&send(body), 404, "not_found");
    assert_error(&send(body), 401, "unauthorized");
    let other = br#"{"platform_id":"demo","order_id":"o_1111111111111111"}"#;
    assert_error(&send(other), 401, "unauthorized");
    // A chunked body is refused as soon as it passes 64 KiB, not after reading it all: a
    // small one gets its 413, and an endless one has its connection closed long before the
    // client could send it (the client counts what it got through).
    let over = std::io::Read::take(std::io::repeat(b' '), 100 * 1024);
    let chunked = w
        .edge
        .post("/v1/scans/hop")
        .bearer(&hub.token)
        .send_chunked(over)
        .unwrap();
    assert_error(&chunked, 413, "payload_too_large");
    let sent = endless_chunked_upload(w.edge.base_url(), "/v1/scans/hop", &hub.token);
    assert!(
        sent < 32 * 1024 * 1024,
        "the edge read {sent} bytes of a chunked body before refusing it"
    );
    let huge = w
        .edge
        .post("/v1/buyers")
        .body(vec![b' '; 70 * 1024])
        .send()
        .unwrap();
    assert_error(&huge, 413, "payload_too_large");
    assert_error(
        &w.edge.get("/v1/seller/orders").send().unwrap(),
        401,
        "unauthorized",
    );
    assert_error(
        &w.edge
            .get("/v1/seller/orders")
            .bearer("lh1.garbage.sig")
            .send()
            .unwrap(),
        401,
        "unauthorized",
    );
    // A buyer credential is not a seller credential.
    assert_error(
        &w.edge
            .get("/v1/seller/orders")
            .bearer(&buyer.token)
            .send()
            .unwrap(),
        403,
        "forbidden",
    );
    assert_error(
        &w.edge.get("/v1/nothing-here").send().unwrap(),
        404,
        "not_found",
    );
    // Only the origin, signing with the origin-push key, may revoke a scanner.
    let push = json!({"scanner_id": hub.id});
    let unsigned = w
        .edge
        .post("/internal/v1/revocations")
        .json(&push)
        .send()
        .unwrap();
    assert_error(&unsigned, 401, "unauthorized");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let forged = w
        .edge
        .post("/internal/v1/revocations")
        .header("x-lasthop-key-id", "origin-push-v1")
        .header("x-lasthop-timestamp", &now.to_string())
        .header("x-lasthop-nonce", &"ab".repeat(16))
        .header("x-lasthop-signature", &"00".repeat(32))
        .json(&push)
        .send()
        .unwrap();
    assert_error(&forged, 401, "unauthorized");
    let still_admitted = w.hop(&hub, "o_0000000000000000");
    assert_error(&still_admitted, 404, "not_found");
    let profile = w
        .edge
        .get("/v1/buyers/me")
        .bearer(&buyer.token)
        .send()
        .unwrap();
    assert_eq!(profile.status, 200, "{}", profile.body);
    assert_eq!(profile.header("cache-control"), Some("no-store"));
    assert_eq!(profile.json().unwrap()["name"], json!(buyer.person.name));
}

fn openapi_paths_are_routed(w: &World) {
    let checked_in = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../pages/openapi.json"),
    )
    .unwrap();
    let served = w.edge.get("/openapi.json").send().unwrap();
    assert_eq!(served.status, 200);
    assert_eq!(served.body, checked_in);
    let document: Value = serde_json::from_str(&checked_in).unwrap();
    let paths = document["paths"].as_object().expect("paths");
    assert!(paths.len() >= 14, "only {} paths", paths.len());
    for (path, operations) in paths {
        let concrete = path.replace("{order_id}", "o_0000000000000000");
        for method in operations.as_object().unwrap().keys() {
            let reply = w
                .edge
                .request(&method.to_uppercase(), &concrete)
                .send()
                .unwrap();
            let unrouted = reply.status == 404
                && reply
                    .json()
                    .ok()
                    .and_then(|b| b["message"].as_str().map(str::to_owned))
                    == Some("There is no endpoint for this method and path.".to_owned());
            assert!(!unrouted, "{method} {path} is not routed by the Worker");
        }
        // Any other method: 405 in the contract's format, `Allow` naming the documented ones.
        let reply = w.edge.request("PATCH", &concrete).send().unwrap();
        assert_error(&reply, 405, "method_not_allowed");
        let mut documented: Vec<String> = operations
            .as_object()
            .unwrap()
            .keys()
            .map(|m| m.to_uppercase())
            .collect();
        documented.sort();
        assert_eq!(
            reply.header("allow"),
            Some(documented.join(", ").as_str()),
            "PATCH {path}"
        );
    }
}

fn edge_state_and_logs_hold_no_personal_data(w: &World, people: &[Person]) {
    let persist = w.stack.edge.persist_dir();
    let files = files_under(&persist);
    let sqlite: Vec<_> = files
        .iter()
        .filter(|f| f.to_string_lossy().contains(".sqlite"))
        .filter(|f| std::fs::metadata(f).is_ok_and(|m| m.len() > 0))
        .collect();
    assert!(
        sqlite.len() >= 2,
        "expected Durable Object SQLite files under {}, found {files:?}",
        persist.display()
    );
    let mut needles: Vec<String> = people.iter().flat_map(Person::secrets).collect();
    needles.sort();
    needles.dedup();
    let mut saw_an_order_record = false;
    for file in &files {
        let bytes = std::fs::read(file).unwrap();
        saw_an_order_record |= contains_bytes(&bytes, b"\"binding\"");
        for needle in &needles {
            assert!(
                !contains_bytes(&bytes, needle.as_bytes()),
                "{} contains a test buyer's personal data",
                file.display()
            );
        }
    }
    // Proof that the scan read the orders' stored records and not just empty pages.
    assert!(
        saw_an_order_record,
        "no stored order record found under {}",
        persist.display()
    );
    let logs = w.stack.edge.logs();
    assert!(!logs.is_empty(), "the edge log is empty");
    for needle in &needles {
        assert!(
            !logs.contains(needle.as_str()),
            "the edge log contains a test buyer's personal data"
        );
    }
    origin_log_is_json_without_personal_data(w, &needles);
}

/// The origin's whole log of the journeys (at `debug`): every line a JSON object, and not one
/// byte sequence of a test buyer's name, phone, street line or postal code in it.
fn origin_log_is_json_without_personal_data(w: &World, needles: &[String]) {
    let log = std::fs::read(w.stack.origin.log_path()).unwrap();
    let text = String::from_utf8_lossy(&log);
    let lines: Vec<&str> = text.lines().collect();
    // Requests, statements and connections: far more than a handful of lines.
    assert!(lines.len() > 100, "the origin log is nearly empty: {text}");
    for line in &lines {
        let parsed: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("an origin log line is not JSON ({e}): {line}"));
        assert!(parsed["level"].is_string(), "{line}");
    }
    assert!(
        lines.iter().any(|l| l.contains("/internal/v1/releases")),
        "the log holds no release request, so it did not cover the final hops"
    );
    for needle in needles {
        assert!(
            !contains_bytes(&log, needle.as_bytes()),
            "the origin log contains a test buyer's personal data"
        );
    }
}

#[test]
fn personal_data_search_finds_embedded_values_but_not_digits_inside_long_hex_tags() {
    assert!(contains_bytes(
        "北京朝阳路测试巷101号x".as_bytes(),
        "朝阳路测试巷101号".as_bytes()
    ));
    assert!(contains_bytes(b"{\"p\":\"A100020\"}", b"100020"));
    assert!(contains_bytes(b"ab100020cd", b"100020"));
    let tag = format!("{}100020{}", "a1".repeat(13), "f0".repeat(13));
    assert!(!contains_bytes(tag.as_bytes(), b"100020"));
    assert!(!contains_bytes(b"", b"100020"));
    assert!(!contains_bytes(b"10002", b"100020"));
}

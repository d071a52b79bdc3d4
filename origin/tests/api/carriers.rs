//! Carriers at the origin (issue 11): ops creates them, hubs and their scanners belong to one,
//! sellers ship from a region with the carriers they list, an order is carried by one, and
//! the chain of custody holds only with the order's carrier's scanners and a pickup from a
//! hub serving the seller's ship-from region. Run on both backends (see `main.rs`).

use axum::http::{Method, StatusCode};
use lasthop_core::api::paths;
use serde_json::{json, Value};

use crate::helpers::{DeviceScanner, Person, TestApp};

/// Creates a carrier; returns its id.
pub async fn carrier(app: &TestApp, name: &str) -> String {
    let reply = app
        .ops(
            Method::POST,
            "/v1/ops/carriers",
            Some(&json!({"name": name})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    assert_eq!(reply.body["name"], name);
    reply.str("carrier_id")
}

/// Creates a hub of `carrier_id`; returns its id.
async fn hub_of(app: &TestApp, carrier_id: &str, level: &str, code: &str) -> String {
    let reply = app
        .ops(
            Method::POST,
            "/v1/ops/hubs",
            Some(&json!({"code": code, "level": level, "name": "Hub", "carrier_id": carrier_id})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    reply.str("hub_id")
}

/// Registers a seller shipping from `ship_from` with `carriers`; returns the reply.
pub async fn seller(app: &TestApp, ship_from: &str, carriers: &[&str]) -> crate::helpers::Reply {
    app.internal(
        Method::POST,
        "/internal/v1/sellers",
        Some(&json!({"platform_id": "demo", "name": "Hangzhou Tea",
                     "ship_from": ship_from, "carriers": carriers})),
        None,
    )
    .await
}

pub async fn order(app: &TestApp, buyer_token: &str, body: &Value) -> crate::helpers::Reply {
    app.internal(
        Method::POST,
        "/internal/v1/orders",
        Some(body),
        Some(buyer_token),
    )
    .await
}

pub async fn carriers_are_created_by_ops_and_sellers_and_orders_name_them(app: &TestApp) {
    let sf = carrier(app, "SF Express").await;
    let yto = carrier(app, "YTO").await;
    let listed = app.ops(Method::GET, "/v1/ops/carriers", None).await;
    assert_eq!(listed.status, StatusCode::OK);
    let ids: Vec<&str> = listed.body["carriers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["carrier_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["ca_0000000000000000", sf.as_str(), yto.as_str()]);

    // Hubs name a known carrier; their scanners' credentials carry it.
    let unknown = "ca_0123456789abcdef";
    let reply = app
        .ops(
            Method::POST,
            "/v1/ops/hubs",
            Some(&json!({"code": "110105", "level": "district", "name": "Hub", "carrier_id": unknown})),
        )
        .await;
    assert_eq!(
        (reply.status, reply.error()),
        (StatusCode::NOT_FOUND, "not_found")
    );
    let hub = hub_of(app, &sf, "district", "110105").await;
    let scanner = app.enrol(&hub, "hub").await;
    let claims = app
        .edge
        .credentials
        .verify_scanner(&scanner.token, app.clock.now())
        .unwrap();
    assert_eq!(claims.carrier_id.as_str(), sf);
    let plain_hub = app.hub("district", "110105").await;
    let plain = app.enrol(&plain_hub, "hub").await;
    let claims = app
        .edge
        .credentials
        .verify_scanner(&plain.token, app.clock.now())
        .unwrap();
    assert_eq!(claims.carrier_id.as_str(), "ca_0000000000000000");

    // Sellers list known carriers and ship from a known district.
    let reply = seller(app, "330108", &[unknown]).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND, "{:?}", reply.body);
    let reply = seller(app, "3301", &[&sf]).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{:?}", reply.body);
    assert!(reply.body["message"]
        .as_str()
        .unwrap()
        .contains("ship_from"));
    let registered = seller(app, "330108", &[&sf, &yto]).await;
    assert_eq!(
        registered.status,
        StatusCode::CREATED,
        "{:?}",
        registered.body
    );
    let seller_id = registered.str("seller_id");
    let seller_token = registered.str("seller_token");

    // An order takes the seller's first carrier, or the buyer's choice among the seller's.
    let (_, address_id, buyer_token) = app.buyer(&Person::new("carriers")).await;
    let first = order(
        app,
        &buyer_token,
        &json!({"seller_id": seller_id, "address_id": address_id}),
    )
    .await;
    assert_eq!(first.status, StatusCode::CREATED, "{:?}", first.body);
    assert_eq!(
        first.body["record"]["carriage"],
        json!({"carrier_id": sf, "carrier_name": "SF Express", "ship_from": "330108"})
    );
    let chosen = order(
        app,
        &buyer_token,
        &json!({"seller_id": seller_id, "address_id": address_id, "carrier_id": yto}),
    )
    .await;
    assert_eq!(chosen.status, StatusCode::CREATED, "{:?}", chosen.body);
    assert_eq!(
        chosen.body["record"]["carriage"]["carrier_id"],
        yto.as_str()
    );
    let refused = order(
        app,
        &buyer_token,
        &json!({"seller_id": seller_id, "address_id": address_id,
                "carrier_id": "ca_0000000000000000"}),
    )
    .await;
    assert_eq!(
        (refused.status, refused.error()),
        (StatusCode::BAD_REQUEST, "invalid_input")
    );

    // The seller's view of the order names its carrier (for the label).
    let order_id = chosen.body["order_id"].as_str().unwrap();
    let detail = app
        .internal(
            Method::GET,
            &format!("/internal/v1/seller/orders/{order_id}"),
            None,
            Some(&seller_token),
        )
        .await;
    assert_eq!(detail.status, StatusCode::OK, "{:?}", detail.body);
    assert_eq!(
        detail.body["carrier"],
        json!({"carrier_id": yto, "name": "YTO"})
    );

    // A seller registered without carriers ships with the default carrier, from anywhere.
    let (plain_seller, _) = app.seller("Plain Shop").await;
    let plain_order = app.order(&buyer_token, &plain_seller, &address_id).await;
    assert_eq!(
        plain_order["record"]["carriage"],
        json!({"carrier_id": "ca_0000000000000000", "carrier_name": "lasthop"})
    );
}

/// A scan of `order_id` by `scanner` on `path`.
fn scan(
    app: &TestApp,
    scanner: &DeviceScanner,
    path: &str,
    order_id: &str,
    buyer_id: &str,
) -> lasthop_core::device::SignedScan {
    let body = if path == paths::SCAN_PICKUP {
        json!({"platform_id": "demo", "order_id": order_id, "buyer_id": buyer_id, "waybill": "SF1"})
    } else {
        json!({"platform_id": "demo", "order_id": order_id})
    };
    app.scan(scanner, path, &body)
}

pub async fn a_chain_with_another_carriers_scanner_or_a_far_pickup_gets_no_recipient(
    app: &TestApp,
) {
    let ours = carrier(app, "SF Express").await;
    let theirs = carrier(app, "YTO").await;
    // The seller ships from Chaoyang (110105); the buyer lives there too: pickup, one hop.
    let registered = seller(app, "110105", &[&ours]).await;
    let seller_id = registered.str("seller_id");
    let (buyer_id, address_id, buyer_token) = app.buyer(&Person::new("strand")).await;
    let created = order(
        app,
        &buyer_token,
        &json!({"seller_id": seller_id, "address_id": address_id}),
    )
    .await;
    let order_id = created.body["order_id"].as_str().unwrap().to_owned();

    let our_hub = hub_of(app, &ours, "district", "110105").await;
    let pickup = app.enrol(&our_hub, "pickup").await;
    let terminal = app.enrol(&our_hub, "hub").await;
    let their_hub = hub_of(app, &theirs, "district", "110105").await;
    let their_pickup = app.enrol(&their_hub, "pickup").await;
    let their_terminal = app.enrol(&their_hub, "hub").await;
    // Our carrier's pickup scanner in Hangzhou does not serve Chaoyang.
    let far_hub = hub_of(app, &ours, "city", "3301").await;
    let far_pickup = app.enrol(&far_hub, "pickup").await;

    let refusals = [
        // Another carrier's final hub.
        (
            vec![
                scan(app, &pickup, paths::SCAN_PICKUP, &order_id, &buyer_id),
                scan(app, &their_terminal, paths::SCAN_HOP, &order_id, &buyer_id),
            ],
            &their_terminal,
        ),
        // Another carrier's pickup.
        (
            vec![
                scan(app, &their_pickup, paths::SCAN_PICKUP, &order_id, &buyer_id),
                scan(app, &terminal, paths::SCAN_HOP, &order_id, &buyer_id),
            ],
            &terminal,
        ),
        // Our carrier's pickup far from the seller.
        (
            vec![
                scan(app, &far_pickup, paths::SCAN_PICKUP, &order_id, &buyer_id),
                scan(app, &terminal, paths::SCAN_HOP, &order_id, &buyer_id),
            ],
            &terminal,
        ),
    ];
    for (chain, presenter) in refusals {
        let reply = app
            .release_with_chain(&order_id, &presenter.token, &chain)
            .await;
        assert_eq!(
            (reply.status, reply.error()),
            (StatusCode::FORBIDDEN, "forbidden"),
            "{:?}",
            reply.body
        );
    }
    let honest = vec![
        scan(app, &pickup, paths::SCAN_PICKUP, &order_id, &buyer_id),
        scan(app, &terminal, paths::SCAN_HOP, &order_id, &buyer_id),
    ];
    let reply = app
        .release_with_chain(&order_id, &terminal.token, &honest)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    let metrics = app.state.metrics().render();
    assert!(
        metrics
            .contains("custody_refusals_total{endpoint=\"release\",reason=\"foreign_carrier\"} 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains(
            "custody_refusals_total{endpoint=\"release\",reason=\"pickup_not_serving_ship_from\"} 1"
        ),
        "{metrics}"
    );
}

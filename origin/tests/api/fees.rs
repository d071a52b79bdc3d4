//! Fee tables at the origin (issue 11): imported through the ops API as JSON or CSV, each
//! version written once, the highest version current, earlier ones kept. Run on both
//! backends (see `main.rs`).

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{Reply, TestApp, OPS_TOKEN};

/// A table body: `base` fen for the first step of the narrowest zone, each wider zone dearer.
pub fn table(version: u32, base: u64) -> Value {
    let zones = [
        "same_district",
        "same_city",
        "same_province",
        "other_province",
        "remote",
    ];
    json!({
        "version": version,
        "step_grams": 500,
        "prices": zones.iter().zip(0_u64..).map(|(zone, i)| json!({
            "zone": zone, "first_fen": base + 100 * i, "additional_fen": 50 + 10 * i,
        })).collect::<Vec<_>>(),
    })
}

/// The CSV twin of [`table`], its lines in another order.
fn csv(base: u64) -> String {
    let mut text = String::from("zone,first_fen,additional_fen\n");
    for (zone, i) in [("remote", 4), ("same_city", 1), ("same_district", 0)]
        .into_iter()
        .chain([("other_province", 3), ("same_province", 2)])
    {
        text += &format!("{zone},{},{}\n", base + 100 * i, 50 + 10 * i);
    }
    text
}

async fn import_csv(app: &TestApp, carrier_id: &str, query: &str, body: String) -> Reply {
    app.send(
        Request::builder()
            .method(Method::POST)
            .uri(format!("/v1/ops/carriers/{carrier_id}/fees/csv?{query}"))
            .header(header::AUTHORIZATION, format!("Bearer {OPS_TOKEN}"))
            .header(header::CONTENT_TYPE, "text/csv")
            .body(Body::from(body))
            .expect("request"),
    )
    .await
}

/// Imports a table; returns the reply.
pub async fn import(app: &TestApp, carrier_id: &str, body: &Value) -> Reply {
    app.ops(
        Method::POST,
        &format!("/v1/ops/carriers/{carrier_id}/fees"),
        Some(body),
    )
    .await
}

pub async fn fee_tables_are_imported_once_per_version_as_json_or_csv_and_the_highest_is_current(
    app: &TestApp,
) {
    let sf = crate::carriers::carrier(app, "SF Express").await;
    let fees = format!("/v1/ops/carriers/{sf}/fees");
    let none = app.ops(Method::GET, &fees, None).await;
    assert_eq!(none.status, StatusCode::NOT_FOUND, "{:?}", none.body);

    let v2 = import(app, &sf, &table(2, 1000)).await;
    assert_eq!(v2.status, StatusCode::CREATED, "{:?}", v2.body);
    assert_eq!(v2.body["carrier_id"], sf.as_str());
    assert_eq!(v2.body["prices"], table(2, 1000)["prices"]);
    // The same table again: nothing changes. Another one under version 2: refused.
    let again = import(app, &sf, &table(2, 1000)).await;
    assert_eq!(again.status, StatusCode::OK, "{:?}", again.body);
    let other = import(app, &sf, &table(2, 999)).await;
    assert_eq!(other.status, StatusCode::CONFLICT, "{:?}", other.body);
    assert_eq!(other.body["error"], "wrong_state");
    // A late, older version is kept but does not become current.
    let v1 = import(app, &sf, &table(1, 500)).await;
    assert_eq!(v1.status, StatusCode::CREATED, "{:?}", v1.body);
    let current = app.ops(Method::GET, &fees, None).await;
    assert_eq!(current.status, StatusCode::OK);
    assert_eq!(current.body, v2.body);
    let first = app
        .ops(Method::GET, &format!("{fees}?version=1"), None)
        .await;
    assert_eq!(first.body, v1.body);

    // The CSV twin: version 3 becomes current, and reads as its JSON form would.
    let v3 = import_csv(app, &sf, "version=3&step_grams=500", csv(2000)).await;
    assert_eq!(v3.status, StatusCode::CREATED, "{:?}", v3.body);
    assert_eq!(v3.body["prices"], table(3, 2000)["prices"]);
    let same = import(app, &sf, &table(3, 2000)).await;
    assert_eq!(same.status, StatusCode::OK, "{:?}", same.body);
    assert_eq!(app.ops(Method::GET, &fees, None).await.body, v3.body);

    // Bad input: a clear 400 naming what is wrong, never the value; unknown carrier 404.
    let bad_line = import_csv(
        app,
        &sf,
        "version=4&step_grams=500",
        "remote,12.5,1\n".into(),
    )
    .await;
    assert_eq!(bad_line.status, StatusCode::BAD_REQUEST);
    assert!(
        bad_line.body["message"]
            .as_str()
            .unwrap()
            .contains("line 1"),
        "{:?}",
        bad_line.body
    );
    assert!(!bad_line.body.to_string().contains("12.5"));
    let no_step = import_csv(app, &sf, "version=4", csv(1)).await;
    assert_eq!(no_step.status, StatusCode::BAD_REQUEST);
    assert!(no_step.body["message"]
        .as_str()
        .unwrap()
        .contains("step_grams"));
    let mut partial = table(4, 1);
    partial["prices"].as_array_mut().unwrap().pop();
    let partial = import(app, &sf, &partial).await;
    assert_eq!(
        partial.status,
        StatusCode::BAD_REQUEST,
        "{:?}",
        partial.body
    );
    let unknown = import(app, "ca_0123456789abcdef", &table(1, 1)).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let bad_version = app
        .ops(Method::GET, &format!("{fees}?version=0"), None)
        .await;
    assert_eq!(bad_version.status, StatusCode::BAD_REQUEST);
    // Without the ops token, nothing.
    let anonymous = app
        .send(
            Request::builder()
                .uri(&fees)
                .body(Body::empty())
                .expect("request"),
        )
        .await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
}

/// The buyer's quotes for `query`.
async fn quotes(app: &TestApp, buyer_token: &str, query: &str) -> Reply {
    app.internal(
        Method::GET,
        &format!("/internal/v1/buyers/me/quotes?{query}"),
        None,
        Some(buyer_token),
    )
    .await
}

/// The fee of a zone in [`table`]: `steps` started steps of 500 g.
fn fee(base: u64, zone: u64, steps: u64) -> u64 {
    base + 100 * zone + (steps - 1) * (50 + 10 * zone)
}

pub async fn a_quote_prices_each_of_the_sellers_carriers_and_an_order_keeps_its_fee_after_an_update(
    app: &TestApp,
) {
    let sf = crate::carriers::carrier(app, "SF Express").await;
    let yto = crate::carriers::carrier(app, "YTO").await;
    assert_eq!(
        import(app, &sf, &table(1, 1000)).await.status,
        StatusCode::CREATED
    );
    assert_eq!(
        import(app, &yto, &table(1, 700)).await.status,
        StatusCode::CREATED
    );
    // Hangzhou Binjiang ships; the buyer lives in Beijing Chaoyang (other province) and has a
    // second address in Lhasa (remote) and a third in Binjiang itself.
    let seller = crate::carriers::seller(app, "330108", &[&sf, &yto]).await;
    let seller_id = seller.str("seller_id");
    let seller_token = seller.str("seller_token");
    let (_, beijing, buyer) = app.buyer(&crate::helpers::Person::new("fees")).await;
    let add = |region: &'static str, postal: &'static str| {
        let buyer = buyer.clone();
        async move {
            let reply = app
                .internal(
                    Method::POST,
                    "/internal/v1/buyers/me/addresses",
                    Some(&json!({"address": {"country": "CN", "region": region,
                        "line": "1 Fee Road", "postal_code": postal, "label": region}})),
                    Some(&buyer),
                )
                .await;
            assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
            reply.str("address_id")
        }
    };
    let lhasa = add("540102", "850000").await;
    let binjiang = add("330108", "310051").await;

    let q = format!("seller_id={seller_id}&address_id={beijing}&weight_g=1200");
    let reply = quotes(app, &buyer, &q).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_eq!(reply.headers["cache-control"], "no-store");
    assert_eq!(
        reply.body,
        json!({"weight_g": 1200, "quotes": [
            {"carrier": {"carrier_id": sf, "name": "SF Express"}, "fee_fen": fee(1000, 3, 3), "fee_version": 1},
            {"carrier": {"carrier_id": yto, "name": "YTO"}, "fee_fen": fee(700, 3, 3), "fee_version": 1},
        ]})
    );
    let remote = quotes(
        app,
        &buyer,
        &format!("seller_id={seller_id}&address_id={lhasa}"),
    )
    .await;
    assert_eq!(remote.body["weight_g"], 1000);
    assert_eq!(remote.body["quotes"][0]["fee_fen"], fee(1000, 4, 2));
    let near = quotes(
        app,
        &buyer,
        &format!("seller_id={seller_id}&address_id={binjiang}&weight_g=1"),
    )
    .await;
    assert_eq!(near.body["quotes"][1]["fee_fen"], fee(700, 0, 1));

    // The order stores carrier, weight, fee and version; a later table does not reprice it.
    let placed = crate::carriers::order(
        app,
        &buyer,
        &json!({"seller_id": seller_id, "address_id": beijing, "carrier_id": yto, "weight_g": 1200}),
    )
    .await;
    assert_eq!(placed.status, StatusCode::CREATED, "{:?}", placed.body);
    let order_id = placed.str("order_id");
    let stored = |order_id: String| async move {
        let row = app
            .state
            .stores()
            .directory
            .order_fee(&order_id)
            .await
            .unwrap()
            .unwrap();
        (row.carrier_id, row.weight_g, row.fee_fen, row.fee_version)
    };
    let expected = (
        yto.clone(),
        1200,
        Some(i64::try_from(fee(700, 3, 3)).unwrap()),
        Some(1),
    );
    assert_eq!(stored(order_id.clone()).await, expected);
    assert_eq!(
        import(app, &yto, &table(2, 5000)).await.status,
        StatusCode::CREATED
    );
    assert_eq!(stored(order_id.clone()).await, expected);
    // The buyer's own profile shows what the order stored, after the update too.
    let profile = app
        .internal(Method::GET, "/internal/v1/buyers/me", None, Some(&buyer))
        .await;
    assert_eq!(profile.status, StatusCode::OK, "{:?}", profile.body);
    let listed = profile.body["orders"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["order_id"] == order_id.as_str())
        .unwrap()
        .clone();
    assert_eq!(
        listed["fee"],
        json!({"carrier_id": yto, "weight_g": 1200, "fee_fen": fee(700, 3, 3), "fee_version": 1})
    );
    let after = quotes(app, &buyer, &q).await;
    assert_eq!(after.body["quotes"][1]["fee_fen"], fee(5000, 3, 3));
    assert_eq!(after.body["quotes"][1]["fee_version"], 2);
    // Without a weight: 1000 g, the first two steps.
    let default = app.order(&buyer, &seller_id, &beijing).await;
    let default = stored(default["order_id"].as_str().unwrap().to_owned()).await;
    assert_eq!(
        default,
        (
            sf.clone(),
            1000,
            Some(i64::try_from(fee(1000, 3, 2)).unwrap()),
            Some(1)
        )
    );

    // The seller sees no fee: it would tell the buyer's zone.
    let listed = app
        .internal(
            Method::GET,
            "/internal/v1/seller/orders",
            None,
            Some(&seller_token),
        )
        .await;
    assert_eq!(listed.status, StatusCode::OK);
    for word in ["fee", "weight", "zone"] {
        assert!(
            !listed.body.to_string().contains(word),
            "{word} in {}",
            listed.body
        );
    }

    // A seller without a ship-from region, or a carrier without a table: no fee, null.
    let (plain_seller, _) = app.seller("Plain Shop").await;
    let unpriced = quotes(
        app,
        &buyer,
        &format!("seller_id={plain_seller}&address_id={beijing}"),
    )
    .await;
    assert_eq!(unpriced.status, StatusCode::OK, "{:?}", unpriced.body);
    assert_eq!(unpriced.body["quotes"][0]["fee_fen"], Value::Null);
    assert_eq!(unpriced.body["quotes"][0]["fee_version"], Value::Null);

    // Bad queries: 400 naming the field; another buyer's address: 404.
    for (query, field) in [
        (format!("address_id={beijing}"), "seller_id"),
        (
            format!("seller_id={seller_id}&address_id={beijing}&weight_g=0"),
            "weight_g",
        ),
        (
            format!("seller_id={seller_id}&address_id={beijing}&weight_g=100001"),
            "weight_g",
        ),
        (
            format!("seller_id={seller_id}&address_id=nope"),
            "address_id",
        ),
    ] {
        let reply = quotes(app, &buyer, &query).await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{query}: {:?}",
            reply.body
        );
        assert!(
            reply.body["message"].as_str().unwrap().contains(field),
            "{:?}",
            reply.body
        );
    }
    let by_seller = quotes(app, &seller_token, &q).await;
    assert_eq!(
        by_seller.status,
        StatusCode::FORBIDDEN,
        "{:?}",
        by_seller.body
    );
    let (_, _, other) = app.buyer(&crate::helpers::Person::new("other")).await;
    let foreign = quotes(app, &other, &q).await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND, "{:?}", foreign.body);
    let heavy = crate::carriers::order(
        app,
        &buyer,
        &json!({"seller_id": seller_id, "address_id": beijing, "weight_g": 100_001}),
    )
    .await;
    assert_eq!(heavy.status, StatusCode::BAD_REQUEST, "{:?}", heavy.body);
}

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

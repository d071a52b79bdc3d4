//! The edge's OpenAPI document. The Worker serves the checked-in `pages/openapi.json` as a
//! static file of its assets binding (not compiled in: it would cost the size budget); the document itself is generated natively by the
//! core (`lasthop_core::openapi::EdgeApi`, feature `openapi`) from the same DTOs the Worker
//! and the origin use. This test fails when the checked-in file differs from what the core
//! generates; regenerate it with `LASTHOP_BLESS=1 cargo test -p lasthop-e2e --test edge_openapi`
//! The journeys test checks that the
//! running Worker serves this file and routes every path in it.

#![allow(clippy::unwrap_used)]

use lasthop_core::openapi::edge_document_json;
use serde_json::Value;

const REGENERATE: &str =
    "regenerate it with `LASTHOP_BLESS=1 cargo test -p lasthop-e2e --test edge_openapi`, \
     and commit pages/openapi.json";

fn checked_in_path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../pages/openapi.json")
}

#[test]
fn checked_in_edge_openapi_matches_the_generated_document() {
    let path = checked_in_path();
    let generated = edge_document_json();
    if std::env::var("LASTHOP_BLESS").as_deref() == Ok("1") {
        std::fs::write(&path, &generated).unwrap();
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    // Byte for byte: the Worker serves the file's bytes, so that is what must be current.
    assert!(
        checked_in == generated,
        "pages/openapi.json is out of date with the core's document; {REGENERATE}"
    );
}

#[test]
fn generated_document_covers_every_contract_path_of_the_edge() {
    let document: Value = serde_json::from_str(&edge_document_json()).unwrap();
    let paths = document["paths"].as_object().unwrap();
    // docs/api-v1.md's edge endpoints, plus what docs/design.md adds to the Worker.
    let expected = [
        ("/v1/buyers", "post", "201"),
        ("/v1/buyers/me/addresses", "post", "201"),
        ("/v1/buyers/me/addresses/{address_id}", "put", "200"),
        ("/v1/buyers/me/addresses/{address_id}/sealed", "put", "200"),
        ("/v1/buyers/me", "get", "200"),
        ("/v1/buyers/me/quotes", "get", "200"),
        ("/v1/vault/intake-key", "get", "200"),
        ("/v1/buyers/sealed", "post", "201"),
        ("/v1/buyers/me/addresses/sealed", "post", "201"),
        ("/v1/buyers/me/sealed", "get", "200"),
        ("/v1/sellers", "post", "201"),
        ("/v1/orders", "post", "201"),
        ("/v1/seller/orders", "get", "200"),
        ("/v1/seller/orders/{order_id}/label", "get", "200"),
        ("/v1/orders/{order_id}/tracking", "get", "200"),
        ("/v1/scans/pickup", "post", "200"),
        ("/v1/scans/hop", "post", "200"),
        ("/v1/scans/deliver", "post", "200"),
        ("/v1/scanners/renew", "post", "200"),
        ("/healthz", "get", "200"),
        ("/openapi.json", "get", "200"),
        ("/internal/v1/revocations", "post", "204"),
    ];
    for (path, method, success) in expected {
        let operation = paths
            .get(path)
            .and_then(|p| p.get(method))
            .unwrap_or_else(|| panic!("{method} {path} missing"));
        assert!(
            operation["responses"].get(success).is_some(),
            "{method} {path} does not document its {success}"
        );
    }
    let documented: usize = paths.values().map(|p| p.as_object().unwrap().len()).sum();
    assert_eq!(
        documented,
        expected.len(),
        "the document has operations the contract test does not know"
    );
}

#[test]
fn contract_status_codes_and_credentials_are_documented() {
    let document: Value = serde_json::from_str(&edge_document_json()).unwrap();
    let responses = |path: &str, method: &str| {
        let mut codes: Vec<String> = document["paths"][path][method]["responses"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        codes.sort();
        codes
    };
    // The contract's refusals of the hop scan: 403 off_route, 409 before pickup, 410 after
    // delivery, 503 when the final hop cannot reach the origin; 429 from the rate limit.
    let hop = responses("/v1/scans/hop", "post");
    for code in ["200", "403", "409", "410", "429", "503"] {
        assert!(hop.contains(&code.to_owned()), "hop lacks {code}: {hop:?}");
    }
    let pickup = responses("/v1/scans/pickup", "post");
    assert!(
        pickup.contains(&"409".to_owned()),
        "label_mismatch is a 409"
    );
    let security =
        |path: &str, method: &str| document["paths"][path][method]["security"][0].clone();
    for (path, method) in [
        ("/v1/scans/pickup", "post"),
        ("/v1/scans/hop", "post"),
        ("/v1/scans/deliver", "post"),
    ] {
        assert!(
            security(path, method).get("scanner_token").is_some(),
            "{path}"
        );
    }
    for (path, method) in [
        ("/v1/buyers/me/addresses", "post"),
        ("/v1/buyers/me", "get"),
        ("/v1/orders", "post"),
        ("/v1/seller/orders", "get"),
        ("/v1/seller/orders/{order_id}/label", "get"),
        ("/v1/orders/{order_id}/tracking", "get"),
    ] {
        assert!(
            security(path, method).get("session_token").is_some(),
            "{path}"
        );
    }
    let label = &document["paths"]["/v1/seller/orders/{order_id}/label"]["get"];
    assert!(label["responses"]["200"]["content"]["image/svg+xml"].is_object());
}

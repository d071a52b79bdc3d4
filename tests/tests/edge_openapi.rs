//! The edge's OpenAPI document, generated here natively (the Worker is wasm-only, so it serves
//! the checked-in `edge/openapi.json` with `include_str!`). The test fails when the checked-in
//! file differs from what this generates; regenerate with
//! `LASTHOP_BLESS=1 cargo test -p lasthop-e2e --test edge_openapi`. The journeys test checks
//! that the running Worker serves this file and routes every path in it.
//!
//! Built with `serde_json` rather than utoipa: the contract's DTOs live in the core, which has
//! no schema derives, and the document is small enough to state directly.

#![allow(clippy::unwrap_used)]

use serde_json::{json, Map, Value};

fn error_responses(codes: &[u16]) -> Map<String, Value> {
    let mut responses = Map::new();
    for code in codes {
        let description = match code {
            400 => "invalid_input or unknown_field (the message names the field)",
            401 => "unauthorized: missing, bad, expired or revoked credential",
            403 => "forbidden, wrong_role or off_route",
            404 => "not_found",
            409 => "label_mismatch, wrong_state or not_picked_up",
            410 => "order_closed: delivered",
            413 => "payload_too_large (over 64 KiB)",
            429 => "rate_limited, with Retry-After",
            503 => "unavailable (the origin is down), with Retry-After",
            _ => "error",
        };
        responses.insert(
            code.to_string(),
            json!({"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}}),
        );
    }
    responses
}

fn operation(
    tag: &str,
    summary: &str,
    security: Option<&str>,
    request: Option<&str>,
    ok: (u16, &str, Value),
    errors: &[u16],
) -> Value {
    let mut op = Map::new();
    op.insert("tags".into(), json!([tag]));
    op.insert("summary".into(), json!(summary));
    if let Some(scheme) = security {
        op.insert("security".into(), json!([{ scheme: [] }]));
    }
    if let Some(schema) = request {
        op.insert(
            "requestBody".into(),
            json!({"required": true, "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}}}),
        );
    }
    let mut responses = error_responses(errors);
    responses.insert(
        ok.0.to_string(),
        json!({"description": ok.1, "content": ok.2}),
    );
    op.insert("responses".into(), Value::Object(responses));
    Value::Object(op)
}

fn json_body(schema: &str) -> Value {
    json!({"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}})
}

fn order_param() -> Value {
    json!([{"name": "order_id", "in": "path", "required": true, "schema": {"type": "string", "example": "o_…"}}])
}

fn string() -> Value {
    json!({"type": "string"})
}

fn object(required: &[&str], properties: Value) -> Value {
    json!({"type": "object", "additionalProperties": false, "required": required, "properties": properties})
}

fn document() -> Value {
    let scan_errors = [400, 401, 403, 404, 409, 410, 413, 429];
    let mut hop = operation(
        "courier",
        "Hub scan: forward_up, route_to the next hub, or deliver with the recipient (final hub only)",
        Some("scanner_token"),
        Some("HopScanRequest"),
        (200, "The verdict; `deliver` answers carry Cache-Control: no-store", json_body("HopResponse")),
        &[400, 401, 403, 404, 409, 410, 413, 429, 503],
    );
    hop["responses"]["200"]["headers"] =
        json!({"Cache-Control": {"schema": {"type": "string", "example": "no-store"}}});
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "lasthop edge",
            "version": "1",
            "description": "The edge Worker: shop endpoints for browsers, courier endpoints for scanners, and the origin's revocation push. Errors are {\"error\":\"<code>\",\"message\":\"<sentence>\"}."
        },
        "paths": {
            "/healthz": {"get": operation("public", "Liveness", None, None, (200, "Serving", json!({"text/plain": {"schema": string()}})), &[])},
            "/openapi.json": {"get": operation("public", "This document", None, None, (200, "The document", json!({"application/json": {"schema": {"type": "object"}}})), &[])},
            "/v1/buyers": {"post": operation("shop", "Register a buyer with a first address (passed to the origin; nothing stored at the edge)", None, Some("RegisterBuyerRequest"), (201, "Registered", json_body("RegisterBuyerResponse")), &[400, 413, 503])},
            "/v1/buyers/me/addresses": {"post": operation("shop", "Add an address (passed to the origin)", Some("session_token"), Some("AddAddressRequest"), (201, "Added", json_body("AddAddressResponse")), &[400, 401, 403, 413, 503])},
            "/v1/buyers/me": {"get": operation("shop", "The buyer's own profile and access log (Cache-Control: no-store)", Some("session_token"), None, (200, "Profile", json!({"application/json": {"schema": {"type": "object"}}})), &[401, 403, 503])},
            "/v1/sellers": {"post": operation("shop", "Register a seller", None, Some("RegisterSellerRequest"), (201, "Registered", json_body("RegisterSellerResponse")), &[400, 413, 503])},
            "/v1/orders": {"post": operation("shop", "Create an order (buyer); the edge keeps only the tokenised record", Some("session_token"), Some("CreateOrderRequest"), (201, "Created", json_body("StatusWithOrder")), &[400, 401, 403, 404, 413, 503])},
            "/v1/seller/orders": {"get": operation("shop", "The seller's orders: ids and status only", Some("session_token"), None, (200, "Orders", json_body("SellerOrdersResponse")), &[401, 403, 503])},
            "/v1/seller/orders/{order_id}/label": {
                "parameters": order_param(),
                "get": operation("shop", "Shipping label: QR code and printed platform id, order id, buyer id", Some("session_token"), None, (200, "SVG", json!({"image/svg+xml": {"schema": string()}})), &[401, 403, 404, 410, 503])
            },
            "/v1/orders/{order_id}/tracking": {
                "parameters": order_param(),
                "get": operation("shop", "Tracking for the order's buyer or seller; the seller does not see the hubs in the buyer's city; status only once delivered", Some("session_token"), None, (200, "Tracking", json_body("TrackingResponse")), &[401, 403, 404, 503])
            },
            "/v1/scans/pickup": {"post": operation("courier", "Pickup scan with the buyer-id check", Some("scanner_token"), Some("PickupScanRequest"), (200, "Picked up", json_body("StatusResponse")), &scan_errors)},
            "/v1/scans/hop": {"post": hop},
            "/v1/scans/deliver": {"post": operation("courier", "Proof of receipt at the final hub; closes the order", Some("scanner_token"), Some("DeliverScanRequest"), (200, "Delivered; the terminal must erase the release's data", json_body("DeliverResponse")), &[400, 401, 403, 404, 409, 410, 413, 429, 503])},
            "/internal/v1/revocations": {"post": operation("internal", "Origin push: a scanner is revoked (HMAC-signed with the origin-push key in the x-lasthop-* headers; nonces are single-use)", Some("origin_push_signature"), Some("RevocationRequest"), (204, "Revoked", Value::Null), &[400, 401, 413])}
        },
        "components": {
            "securitySchemes": {
                "session_token": {"type": "http", "scheme": "bearer", "description": "Buyer or seller token"},
                "scanner_token": {"type": "http", "scheme": "bearer", "description": "Scanner token bound to one hub and one role"},
                "origin_push_signature": {"type": "apiKey", "in": "header", "name": "x-lasthop-signature", "description": "With x-lasthop-key-id, x-lasthop-timestamp and x-lasthop-nonce"}
            },
            "schemas": {
                "ErrorBody": object(&["error", "message"], json!({"error": {"type": "string", "enum": ["invalid_input", "unknown_field", "unauthorized", "forbidden", "wrong_role", "off_route", "not_found", "label_mismatch", "wrong_state", "not_picked_up", "order_closed", "payload_too_large", "rate_limited", "unavailable"]}, "message": string()})),
                "AddressInput": object(&["country", "region", "line", "postal_code", "label"], json!({"country": string(), "region": string(), "line": string(), "postal_code": string(), "label": string()})),
                "RegisterBuyerRequest": object(&["platform_id", "name", "phone", "address"], json!({"platform_id": string(), "name": string(), "phone": string(), "address": {"$ref": "#/components/schemas/AddressInput"}})),
                "RegisterBuyerResponse": object(&["buyer_id", "address_id", "buyer_token"], json!({"buyer_id": string(), "address_id": string(), "buyer_token": string()})),
                "AddAddressRequest": object(&["address"], json!({"address": {"$ref": "#/components/schemas/AddressInput"}})),
                "AddAddressResponse": object(&["address_id"], json!({"address_id": string()})),
                "RegisterSellerRequest": object(&["platform_id", "name"], json!({"platform_id": string(), "name": string()})),
                "RegisterSellerResponse": object(&["seller_id", "seller_token"], json!({"seller_id": string(), "seller_token": string()})),
                "CreateOrderRequest": object(&["seller_id", "address_id"], json!({"seller_id": string(), "address_id": string()})),
                "OrderStatus": {"type": "string", "enum": ["created", "picked_up", "in_transit", "released", "delivered"]},
                "StatusResponse": object(&["status"], json!({"status": {"$ref": "#/components/schemas/OrderStatus"}})),
                "StatusWithOrder": object(&["order_id", "status"], json!({"order_id": string(), "status": {"$ref": "#/components/schemas/OrderStatus"}})),
                "SellerOrdersResponse": object(&["orders"], json!({"orders": {"type": "array", "items": object(&["order_id", "buyer_id", "platform_id", "status", "created_at"], json!({"order_id": string(), "buyer_id": string(), "platform_id": string(), "status": {"$ref": "#/components/schemas/OrderStatus"}, "created_at": {"type": "string", "format": "date-time"}}))}})),
                "TrackingResponse": object(&["order_id", "status", "hops"], json!({"order_id": string(), "status": {"$ref": "#/components/schemas/OrderStatus"}, "hops": {"type": "array", "items": object(&["hub_id", "level", "code", "verdict", "at"], json!({"hub_id": {"type": ["string", "null"]}, "level": {"type": "string", "enum": ["district", "city"]}, "code": {"type": ["string", "null"]}, "verdict": {"type": "string", "enum": ["forward_up", "route_to", "deliver"]}, "at": {"type": "string", "format": "date-time"}}))}})),
                "PickupScanRequest": object(&["platform_id", "order_id", "buyer_id", "waybill"], json!({"platform_id": string(), "order_id": string(), "buyer_id": string(), "waybill": string()})),
                "HopScanRequest": object(&["platform_id", "order_id"], json!({"platform_id": string(), "order_id": string()})),
                "HopResponse": object(&["verdict"], json!({"verdict": {"type": "string", "enum": ["forward_up", "route_to", "deliver"]}, "next_hop": object(&["level", "code"], json!({"level": {"type": "string", "enum": ["district", "city"]}, "code": string()})), "release_id": string(), "erase_after": {"type": "string", "format": "date-time"}, "recipient": object(&["name", "phone", "country", "region", "line", "postal_code"], json!({"name": string(), "phone": string(), "country": string(), "region": string(), "line": string(), "postal_code": string()}))})),
                "DeliverScanRequest": object(&["platform_id", "order_id", "release_id", "signature"], json!({"platform_id": string(), "order_id": string(), "release_id": string(), "signature": string()})),
                "DeliverResponse": object(&["status", "erase"], json!({"status": {"$ref": "#/components/schemas/OrderStatus"}, "erase": {"type": "array", "items": string()}})),
                "RevocationRequest": object(&["scanner_id"], json!({"scanner_id": string()}))
            }
        }
    })
}

fn document_text() -> String {
    let mut text = serde_json::to_string_pretty(&document()).unwrap();
    text.push('\n');
    text
}

#[test]
fn checked_in_edge_openapi_matches_the_generated_document() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../edge/openapi.json");
    let generated = document_text();
    if std::env::var_os("LASTHOP_BLESS").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let checked_in = std::fs::read_to_string(&path).unwrap();
    assert!(
        checked_in == generated,
        "edge/openapi.json is stale: regenerate with LASTHOP_BLESS=1 cargo test -p lasthop-e2e --test edge_openapi"
    );
}

#[test]
fn generated_document_covers_every_contract_path_of_the_edge() {
    let document = document();
    let paths = document["paths"].as_object().unwrap();
    for (path, method) in [
        ("/v1/buyers", "post"),
        ("/v1/buyers/me/addresses", "post"),
        ("/v1/buyers/me", "get"),
        ("/v1/sellers", "post"),
        ("/v1/orders", "post"),
        ("/v1/seller/orders", "get"),
        ("/v1/seller/orders/{order_id}/label", "get"),
        ("/v1/orders/{order_id}/tracking", "get"),
        ("/v1/scans/pickup", "post"),
        ("/v1/scans/hop", "post"),
        ("/v1/scans/deliver", "post"),
        ("/healthz", "get"),
        ("/internal/v1/revocations", "post"),
    ] {
        assert!(
            paths.get(path).and_then(|p| p.get(method)).is_some(),
            "{method} {path} missing"
        );
    }
}

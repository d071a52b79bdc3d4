//! Serde DTOs for every JSON body of `docs/api-v1.md` and the internal calls of
//! `docs/design.md`, the error codes and the error body.
//!
//! Request DTOs keep plain strings and reject unknown fields; their `parse()` turns them into
//! domain types or a [`FieldError`] naming the field, which becomes a precise 400. Response
//! DTOs use the domain types directly. [`parse_json`] maps serde's errors to the contract's
//! error body, so adapters never answer bad input with a 500.
//!
//! With the feature `openapi` every DTO also derives `utoipa::ToSchema` (the `openapi` module
//! describes the domain types they carry), so both services' OpenAPI documents are generated
//! from these very types; the wasm build of the edge leaves the feature off.
//!
//! # Layout
//! - `errors`: [`ErrorCode`], [`ErrorBody`], [`FieldError`] and [`parse_json`].
//! - `buyers`: registration, addresses and the buyer's profile.
//! - `orders`: sellers, order creation, the seller's list and tracking.
//! - `scans`: pickup, hop and deliver scans and their verdicts.
//! - `internal`: the edge-to-origin release, delivery and revocation bodies.
//! - `ops`: hubs, scanners, audit, rotation and health.
//! - `fees`: carriers' fee tables and the buyer's quotes.
//! - [`paths`]: the internal and courier paths, one constant each.

mod buyers;
mod errors;
mod fees;
pub(crate) mod fields;
mod internal;
mod ops;
mod orders;
pub mod paths;
mod scans;

pub use buyers::*;
pub use errors::*;
pub use fees::*;
pub use internal::*;
pub use ops::*;
pub use orders::*;
pub use scans::*;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::ReleaseId;
    use crate::time::Timestamp;

    #[test]
    fn error_codes_have_contract_words_and_statuses() {
        let body = ErrorBody::from_code(ErrorCode::OffRoute);
        assert_eq!(
            serde_json::to_value(&body).unwrap(),
            serde_json::json!({"error":"off_route","message":"This hub is not on the parcel's route."})
        );
        assert_eq!(ErrorCode::OrderClosed.status(), 410);
        assert_eq!(ErrorCode::NotPickedUp.status(), 409);
        assert_eq!(ErrorCode::RateLimited.as_str(), "rate_limited");
        assert_eq!(ErrorCode::Internal.status(), 500);
        assert_eq!(
            serde_json::to_value(ErrorCode::Internal).unwrap(),
            serde_json::json!(ErrorCode::Internal.as_str())
        );
        assert_eq!(ErrorCode::Internal.as_str(), "internal");
    }

    #[test]
    fn unknown_fields_are_rejected_with_the_field_named() {
        let err =
            parse_json::<HopScanRequest>(br#"{"platform_id":"demo","order_id":"o_x","extra":1}"#)
                .unwrap_err();
        assert_eq!(err.error, ErrorCode::UnknownField);
        assert!(err.message.contains("`extra`"), "{}", err.message);
        assert_eq!(err.status(), 400);
    }

    #[test]
    fn missing_fields_and_bad_json_are_invalid_input() {
        let err = parse_json::<HopScanRequest>(br#"{"platform_id":"demo"}"#).unwrap_err();
        assert_eq!(err.error, ErrorCode::InvalidInput);
        assert!(err.message.contains("`order_id`"));
        let err = parse_json::<HopScanRequest>(b"{not json").unwrap_err();
        assert_eq!(err.error, ErrorCode::InvalidInput);
        let err =
            parse_json::<HopScanRequest>(br#"{"platform_id":"demo","order_id":12}"#).unwrap_err();
        assert_eq!(err.error, ErrorCode::InvalidInput);
    }

    #[test]
    fn register_buyer_parse_names_the_bad_nested_field_without_its_value() {
        let mut request: RegisterBuyerRequest = parse_json(
            br#"{"platform_id":"demo","name":"Wang","phone":"+86 138 0000 0000",
                "address":{"country":"CN","region":"110105","line":"Road 8","postal_code":"100020","label":"home"}}"#,
        )
        .unwrap();
        let parsed = request.parse().unwrap();
        assert_eq!(parsed.address.address.region().code().to_string(), "110105");
        request.address.region = "3301".into();
        let err = request.parse().unwrap_err();
        assert_eq!(err.field, "address.region");
        let body = ErrorBody::from(err);
        assert_eq!(body.error, ErrorCode::InvalidInput);
        assert!(body.message.contains("address.region") && !body.message.contains("3301"));
        request.address.region = "110105".into();
        request.phone = "abc".into();
        assert_eq!(request.parse().unwrap_err().field, "phone");
    }

    #[test]
    fn scan_requests_parse_ids() {
        let request = PickupScanRequest {
            platform_id: "demo".into(),
            order_id: "O_0123456789ABCDEF".into(),
            buyer_id: "b_0123456789abcdef".into(),
            waybill: "SF123".into(),
        };
        let scan = request.parse().unwrap();
        assert_eq!(scan.order_id.as_str(), "o_0123456789abcdef");
        let bad = PickupScanRequest {
            buyer_id: "s_0123456789abcdef".into(),
            ..request
        };
        assert_eq!(bad.parse().unwrap_err().field, "buyer_id");
    }

    #[test]
    fn seller_requests_check_ship_from_and_carriers() {
        let ok = RegisterSellerRequest {
            platform_id: "demo".into(),
            name: "Hangzhou Tea".into(),
            ship_from: Some("330108".into()),
            carriers: Some(vec![
                "ca_0123456789abcdef".into(),
                "CA_0123456789ABCDEF".into(),
            ]),
        };
        let parsed = ok.parse().unwrap();
        assert_eq!(parsed.carriers.len(), 1, "repeats are dropped");
        assert_eq!(parsed.ship_from.unwrap().code().to_string(), "330108");
        for (bad, field) in [
            (
                RegisterSellerRequest {
                    ship_from: Some("33".into()),
                    ..ok.clone()
                },
                "ship_from",
            ),
            (
                RegisterSellerRequest {
                    carriers: Some(vec![]),
                    ..ok.clone()
                },
                "carriers",
            ),
            (
                RegisterSellerRequest {
                    carriers: Some(vec!["x".into()]),
                    ..ok.clone()
                },
                "carriers",
            ),
        ] {
            assert_eq!(bad.parse().unwrap_err().field, field);
        }
        let plain = RegisterSellerRequest {
            ship_from: None,
            carriers: None,
            ..ok
        };
        assert_eq!(
            plain.parse().unwrap().carriers,
            vec![crate::ids::CarrierId::platform_default()]
        );
    }

    #[test]
    fn hub_requests_check_level_and_code() {
        let ok = CreateHubRequest {
            code: "110105".into(),
            level: "district".into(),
            name: "Chaoyang".into(),
            carrier_id: None,
        };
        assert_eq!(
            ok.parse().unwrap().carrier_id,
            crate::ids::CarrierId::platform_default()
        );
        let bad = CreateHubRequest {
            carrier_id: Some("h_0123456789abcdef".into()),
            ..ok.clone()
        };
        assert_eq!(bad.parse().unwrap_err().field, "carrier_id");
        let bad = CreateHubRequest {
            level: "city".into(),
            ..ok.clone()
        };
        assert_eq!(bad.parse().unwrap_err().field, "code");
        let bad = CreateHubRequest {
            level: "town".into(),
            ..ok
        };
        assert_eq!(bad.parse().unwrap_err().field, "level");
    }

    #[test]
    fn deliver_body_has_the_contract_shape() {
        let body = HopResponse::deliver(ReleaseResponse {
            release_id: ReleaseId::parse("r_0123456789abcdef").unwrap(),
            erase_after: Timestamp::from_unix_seconds(0),
            recipient: Some(Recipient {
                name: "n".into(),
                phone: "p".into(),
                country: "CN".into(),
                region: "110105".into(),
                line: "l".into(),
                postal_code: "100020".into(),
            }),
            sealed_recipient: None,
        });
        let value = serde_json::to_value(&body).unwrap();
        assert_eq!(value["verdict"], "deliver");
        assert_eq!(value["release_id"], "r_0123456789abcdef");
        assert_eq!(value["erase_after"], "1970-01-01T00:00:00Z");
        assert_eq!(value["recipient"]["region"], "110105");
        assert_eq!(serde_json::from_value::<HopResponse>(value).unwrap(), body);
    }

    #[test]
    fn a_sealed_deliver_body_carries_no_plaintext_recipient() {
        use crate::sealed_box::{seal, BoxSecretKey, Purpose};
        use rand::rngs::StdRng;
        use rand::SeedableRng;
        let mut rng = StdRng::seed_from_u64(1);
        let key = BoxSecretKey::generate(&mut rng);
        let sealed = seal(&key.public_key(), Purpose::Recipient, b"", b"{}", &mut rng).unwrap();
        let body = HopResponse::deliver(ReleaseResponse {
            release_id: ReleaseId::parse("r_0123456789abcdef").unwrap(),
            erase_after: Timestamp::from_unix_seconds(0),
            recipient: None,
            sealed_recipient: Some(sealed),
        });
        let value = serde_json::to_value(&body).unwrap();
        assert!(value.get("recipient").is_none());
        assert!(value["sealed_recipient"]["enc"].is_string());
        assert!(value["sealed_recipient"]["ciphertext"].is_string());
        assert_eq!(serde_json::from_value::<HopResponse>(value).unwrap(), body);
    }

    #[test]
    fn scanner_enrolment_parses_the_device_keys_and_names_a_bad_one() {
        use crate::device::DeviceKeys;
        use rand::rngs::StdRng;
        use rand::SeedableRng;
        let device = DeviceKeys::generate(&mut StdRng::seed_from_u64(2)).public();
        let request: CreateScannerRequest = parse_json(
            serde_json::json!({
                "hub_id": "h_0123456789abcdef",
                "role": "hub",
                "device": {"sign_key": device.sign_key.to_base64(), "box_key": device.box_key.to_base64()},
            })
            .to_string()
            .as_bytes(),
        )
        .unwrap();
        assert_eq!(request.parse().unwrap().device, Some(device.clone()));
        let mut bad = request.clone();
        if let Some(keys) = bad.device.as_mut() {
            keys.box_key = "AAAA".into();
        }
        assert_eq!(bad.parse().unwrap_err().field, "device.box_key");
        let without = CreateScannerRequest {
            device: None,
            ..request
        };
        assert_eq!(without.parse().unwrap().device, None);
        let unknown = parse_json::<CreateScannerRequest>(
            br#"{"hub_id":"h_0123456789abcdef","role":"hub","device":{"sign_key":"a","box_key":"b","x":1}}"#,
        )
        .unwrap_err();
        assert_eq!(unknown.error, ErrorCode::UnknownField);
    }
}

//! Behaviour scenarios, each run on SQLite and on PostgreSQL (see `main.rs`).

use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use lasthop_core::credential::{ScannerClaims, ScannerRole};
use lasthop_core::ids::{HubId, ScannerId};
use lasthop_core::region::{Directory, HubLevel, RegionCode};
use serde_json::{json, Value};

use lasthop_core::api::paths;
use lasthop_core::device::SignedScan;

use crate::helpers::{DeviceScanner, Person, Reply, TestApp};
pub use crate::sealed_intake::{
    a_buyer_registered_in_plaintext_has_no_sealed_profile,
    a_buyer_registered_sealed_gets_the_profile_only_sealed_to_their_pages_key,
    a_sealed_modification_is_bound_to_its_buyer_and_address,
    sealed_data_moved_to_another_buyer_platform_or_key_is_refused_by_name,
};

// The racing-writes scenarios live in their own file; the backend macro finds them here.
pub use crate::audit::*;
pub use crate::carriers::*;
pub use crate::contention::*;
pub use crate::entries::*;
pub use crate::fees::*;

/// A buyer (Chaoyang, 110105), a seller, an order, and the buyer's final hub with a pickup
/// scanner and a hub terminal, both enrolled with devices.
pub struct Parcel {
    pub person: Person,
    pub buyer_id: String,
    pub buyer_token: String,
    pub address_id: String,
    pub seller_token: String,
    pub order_id: String,
    pub hub_id: String,
    pub scanner_id: String,
    pub scanner_token: String,
    pub pickup: DeviceScanner,
    pub terminal: DeviceScanner,
}

pub async fn parcel(app: &TestApp, tag: &str) -> Parcel {
    let person = Person::new(tag);
    let (buyer_id, address_id, buyer_token) = app.buyer(&person).await;
    let (seller_id, seller_token) = app.seller("Tea Shop").await;
    let order = app.order(&buyer_token, &seller_id, &address_id).await;
    let hub_id = app.hub("district", "110105").await;
    let pickup = app.enrol(&hub_id, "pickup").await;
    let terminal = app.enrol(&hub_id, "hub").await;
    Parcel {
        person,
        buyer_id,
        buyer_token,
        address_id,
        seller_token,
        order_id: order["order_id"].as_str().expect("order id").to_owned(),
        hub_id,
        scanner_id: terminal.scanner_id.clone(),
        scanner_token: terminal.token.clone(),
        pickup,
        terminal,
    }
}

impl Parcel {
    /// A hub scan of this parcel by `terminal`, signed now.
    pub fn hop_scan(&self, app: &TestApp, terminal: &DeviceScanner) -> SignedScan {
        app.scan(
            terminal,
            paths::SCAN_HOP,
            &json!({"platform_id": "demo", "order_id": self.order_id}),
        )
    }

    /// The honest chain ending in `terminal`'s fresh final scan.
    pub fn chain(&self, app: &TestApp, terminal: &DeviceScanner) -> Vec<SignedScan> {
        app.chain(&self.pickup, terminal, &self.order_id, &self.buyer_id)
    }

    /// A release to the parcel's own terminal with an honest chain.
    pub async fn release(&self, app: &TestApp) -> Reply {
        self.release_by(app, &self.terminal).await
    }

    /// A release to `terminal` with an honest chain ending in its scan.
    pub async fn release_by(&self, app: &TestApp, terminal: &DeviceScanner) -> Reply {
        app.release_with_chain(&self.order_id, &terminal.token, &self.chain(app, terminal))
            .await
    }

    /// Opens the sealed recipient of a release answer with the terminal's device key.
    pub fn recipient(&self, reply: &Reply) -> Value {
        self.terminal.open_recipient(reply, &self.order_id)
    }

    /// A delivery body signed by `terminal`'s device.
    pub fn delivery(
        &self,
        app: &TestApp,
        terminal: &DeviceScanner,
        release_id: &str,
        signature: &str,
    ) -> Value {
        let scan = app.scan(
            terminal,
            paths::SCAN_DELIVER,
            &json!({"platform_id": "demo", "order_id": self.order_id,
                    "release_id": release_id, "signature": signature}),
        );
        json!({"platform_id": "demo", "order_id": self.order_id, "release_id": release_id,
               "scanner_token": terminal.token, "signature": signature, "scan": scan})
    }
}

pub async fn registering_a_buyer_returns_ids_and_a_token_and_the_owner_sees_the_plaintext(
    app: &TestApp,
) {
    let person = Person::new("profile");
    let reply = app
        .internal(
            Method::POST,
            "/internal/v1/buyers",
            Some(&person.registration()),
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    assert!(reply.str("buyer_id").starts_with("b_"));
    assert!(reply.str("address_id").starts_with("a_"));
    assert!(reply.str("buyer_token").starts_with("lh1."));

    let token = reply.str("buyer_token");
    let second = person.address("company");
    let mut office = second.clone();
    office["line"] = json!("1 Office Park, Floor 3");
    let added = app
        .internal(
            Method::POST,
            "/internal/v1/buyers/me/addresses",
            Some(&json!({"address": office})),
            Some(&token),
        )
        .await;
    assert_eq!(added.status, StatusCode::CREATED, "{:?}", added.body);

    let profile = app
        .internal(Method::GET, "/internal/v1/buyers/me", None, Some(&token))
        .await;
    assert_eq!(profile.status, StatusCode::OK, "{:?}", profile.body);
    assert_eq!(profile.headers[header::CACHE_CONTROL], "no-store");
    assert_eq!(profile.body["name"], person.name.as_str());
    assert_eq!(profile.body["platform_id"], "demo");
    let addresses = profile.body["addresses"].as_array().expect("addresses");
    assert_eq!(addresses.len(), 2);
    assert_eq!(addresses[0]["line"], person.line.as_str());
    assert_eq!(addresses[0]["label"], "home");
    assert_eq!(addresses[0]["region"], "110105");
    assert_eq!(addresses[0]["postal_code"], "100020");
    assert_eq!(addresses[1]["label"], "company");
    assert_eq!(addresses[1]["line"], "1 Office Park, Floor 3");
    assert_eq!(profile.body["access_log"], json!([]));
}

pub async fn an_identical_address_shares_one_vault_number_but_each_buyer_has_their_own_id(
    app: &TestApp,
) {
    let alice = Person::new("family");
    let (_, first, alice_token) = app.buyer(&alice).await;
    // The same home typed differently by a relative: case, extra spaces, full-width forms.
    let mut bob = Person::new("family");
    bob.name = "Zhang Min".to_owned();
    bob.line = "  ８８  JIANGUO road,   unit FAMILY ".to_owned();
    let (_, second, bob_token) = app.buyer(&bob).await;
    assert_ne!(first, second, "each buyer gets an id of their own");
    assert_eq!(
        app.vault_number(&first).await,
        app.vault_number(&second).await,
        "normalised-identical addresses share one vault number"
    );
    let (shared,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM address_records")
        .fetch_one(&app.state.stores().vault.primary_pool().expect("vault"))
        .await
        .expect("count");
    assert_eq!(shared, 1, "one shared record for the two spellings");

    let other = Person::new("elsewhere");
    let (_, third, _) = app.buyer(&other).await;
    assert_ne!(
        app.vault_number(&first).await,
        app.vault_number(&third).await,
        "different addresses get different numbers"
    );

    // Adding the same address again, in the other buyer's spelling, keeps this buyer's id and
    // this buyer's entry as it was.
    for (token, own, line) in [
        (&bob_token, &second, &bob.line),
        (&alice_token, &first, &alice.line),
    ] {
        let again = app
            .internal(
                Method::POST,
                "/internal/v1/buyers/me/addresses",
                Some(&json!({"address": alice.address("destination")})),
                Some(token),
            )
            .await;
        assert_eq!(again.status, StatusCode::CREATED);
        assert_eq!(&again.str("address_id"), own);
        let profile = app
            .internal(Method::GET, "/internal/v1/buyers/me", None, Some(token))
            .await;
        let addresses = profile.body["addresses"].as_array().expect("addresses");
        assert_eq!(addresses.len(), 1, "{addresses:?}");
        assert_eq!(addresses[0]["line"], line.trim());
        assert_eq!(addresses[0]["label"], "home");
    }
}

pub async fn creating_an_order_returns_a_tokenised_record_without_region_codes(app: &TestApp) {
    let person = Person::new("order");
    let (buyer_id, address_id, token) = app.buyer(&person).await;
    let (seller_id, _) = app.seller("Book Shop").await;
    let order = app.order(&token, &seller_id, &address_id).await;
    assert_eq!(order["status"], "created");
    let record = &order["record"];
    assert_eq!(record["order_id"], order["order_id"]);
    assert_eq!(record["seller_id"], seller_id.as_str());
    assert_eq!(record["platform_id"], "demo");
    for tag in ["province", "city", "delivery", "binding"] {
        let value = record[tag]
            .as_str()
            .unwrap_or_else(|| panic!("{tag} missing: {record}"));
        assert!(value.len() >= 32, "{tag} is a tag, not a code");
    }
    let text = record.to_string();
    assert!(!text.contains("110105"), "no delivery region in the clear");
    assert!(
        !text.contains(&buyer_id),
        "the edge never gets the buyer id from the record"
    );
    // The tags are the core's: the edge recomputes them from the same keys.
    let region = Directory::china()
        .delivery_region(RegionCode::parse("110105").unwrap())
        .unwrap();
    let parsed: lasthop_core::tokens::TokenisedOrder =
        serde_json::from_value(record.clone()).expect("core record");
    let expected = lasthop_core::tokens::tokenise_order(
        &app.edge.region,
        &app.edge.binding,
        &parsed.platform_id,
        &parsed.order_id,
        &parsed.seller_id,
        &lasthop_core::ids::BuyerId::parse(&buyer_id).unwrap(),
        &region,
    )
    .unwrap();
    assert_eq!(parsed, expected);
    serde_json::from_value::<lasthop_core::api::InternalCreateOrderResponse>(order.clone())
        .expect("core DTO");

    // An address the buyer does not have cannot be ordered to.
    let stranger = Person::new("stranger");
    let (_, foreign_address, _) = app.buyer(&stranger).await;
    let refused = app
        .internal(
            Method::POST,
            "/internal/v1/orders",
            Some(&json!({"seller_id": seller_id, "address_id": foreign_address})),
            Some(&token),
        )
        .await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND, "{:?}", refused.body);
}

pub async fn a_release_to_the_final_hub_returns_the_recipient_and_writes_an_audit_row(
    app: &TestApp,
) {
    let p = parcel(app, "release").await;
    let reply = p.release(app).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_eq!(reply.headers[header::CACHE_CONTROL], "no-store");
    assert!(reply.str("release_id").starts_with("r_"));
    // Sealed to the terminal's device: nothing of the recipient is readable on the way.
    let text = reply.body.to_string();
    assert!(!text.contains(&p.person.name) && !text.contains(&p.person.line));
    let recipient = &p.recipient(&reply);
    assert_eq!(recipient["name"], p.person.name.as_str());
    assert_eq!(recipient["line"], p.person.line.as_str());
    assert_eq!(recipient["postal_code"], "100020");
    assert_eq!(recipient["region"], "110105");
    assert_eq!(recipient["country"], "CN");
    assert!(recipient["phone"].as_str().unwrap().contains("139"));
    let erase_after =
        lasthop_core::time::Timestamp::parse_rfc3339(&reply.str("erase_after")).unwrap();
    let ttl = erase_after.unix_seconds() - app.clock.now().unix_seconds();
    assert!(
        (86_300..=86_400).contains(&ttl),
        "erase_after is 24 h ahead, was {ttl} s"
    );

    let audit = app
        .ops(
            Method::GET,
            &format!("/v1/ops/audit?order_id={}", p.order_id),
            None,
        )
        .await;
    assert_eq!(audit.status, StatusCode::OK);
    let rows = audit.body["releases"].as_array().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["release_id"], reply.body["release_id"]);
    assert_eq!(rows[0]["hub_id"], p.hub_id.as_str());
    assert_eq!(rows[0]["scanner_id"], p.scanner_id.as_str());

    // The owner sees who saw the address.
    let profile = app
        .internal(
            Method::GET,
            "/internal/v1/buyers/me",
            None,
            Some(&p.buyer_token),
        )
        .await;
    let log = profile.body["access_log"].as_array().unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0]["hub_id"], p.hub_id.as_str());
    assert_eq!(log[0]["hub_code"], "110105");
    assert_eq!(log[0]["address_id"], p.address_id.as_str());
    assert_eq!(log[0]["order_id"], p.order_id.as_str());
    assert_eq!(log[0]["release_id"], reply.body["release_id"]);
    assert_eq!(profile.body["buyer_id"], p.buyer_id.as_str());

    // The edge reads these bodies with the core's DTOs: the shapes must agree.
    serde_json::from_value::<lasthop_core::api::ReleaseResponse>(reply.body.clone())
        .expect("core ReleaseResponse");
    serde_json::from_value::<lasthop_core::api::BuyerProfile>(profile.body.clone())
        .expect("core BuyerProfile");
    serde_json::from_value::<lasthop_core::api::AuditResponse>(audit.body.clone())
        .expect("core AuditResponse");
}

pub async fn a_repeated_release_returns_the_same_release(app: &TestApp) {
    let p = parcel(app, "repeat").await;
    let first = p.release(app).await;
    app.clock.advance(Duration::from_secs(30));
    let second = p.release(app).await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(second.status, StatusCode::OK);
    assert_eq!(first.body["release_id"], second.body["release_id"]);
    assert_eq!(first.body["erase_after"], second.body["erase_after"]);
    // A second terminal of the same hub gets the same release too.
    let other = app.enrol(&p.hub_id, "hub").await;
    let third = p.release_by(app, &other).await;
    assert_eq!(third.status, StatusCode::OK, "{:?}", third.body);
    assert_eq!(third.body["release_id"], first.body["release_id"]);
    let audit = app
        .ops(
            Method::GET,
            &format!("/v1/ops/audit?order_id={}", p.order_id),
            None,
        )
        .await;
    let rows = audit.body["releases"].as_array().unwrap();
    assert_eq!(rows.len(), 3, "every answered call is audited");
    assert!(rows
        .iter()
        .all(|r| r["release_id"] == first.body["release_id"]));

    // Another hub of the same district gets no release of its own: a release belongs to one hub.
    let rival = app.device_scanner("district", "110105", "hub").await;
    let refused = p.release_by(app, &rival).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{:?}", refused.body);
    assert!(refused.body.get("sealed_recipient").is_none());
}

pub async fn releases_with_forged_expired_or_revoked_credentials_are_refused(app: &TestApp) {
    let p = parcel(app, "creds").await;
    // Forged: a credential with the right claims signed by another key ring.
    let claims = ScannerClaims {
        scanner_id: ScannerId::parse(&p.scanner_id).unwrap(),
        hub_id: HubId::parse(&p.hub_id).unwrap(),
        hub: Directory::china()
            .hub_region(HubLevel::District, RegionCode::parse("110105").unwrap())
            .unwrap(),
        role: ScannerRole::Hub,
        expires_at: app.clock.now().plus_seconds(3600),
        token_id: lasthop_core::device::TokenId::generate(&mut rand::rngs::OsRng),
        device: None,
        carrier_id: lasthop_core::ids::CarrierId::platform_default(),
    };
    let forged = app.stranger.credentials.issue_scanner(&claims);
    let reply = app.release(&p.order_id, &forged).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{:?}", reply.body);
    assert_eq!(reply.error(), "unauthorized");
    // Tampered: a valid token with a flipped character in its claims.
    let mut tampered = p.scanner_token.clone().into_bytes();
    tampered[6] = if tampered[6] == b'A' { b'B' } else { b'A' };
    let reply = app
        .release(&p.order_id, &String::from_utf8(tampered).unwrap())
        .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    // A session token is not a scanner token.
    let reply = app.release(&p.order_id, &p.buyer_token).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    // A pickup scanner of the right hub has the wrong role.
    let pickup = app
        .ops(
            Method::POST,
            "/v1/ops/scanners",
            Some(&json!({"hub_id": p.hub_id, "role": "pickup"})),
        )
        .await;
    let reply = app.release(&p.order_id, &pickup.str("token")).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(reply.error(), "wrong_role");

    // Revoked.
    let (_, revoked_id, revoked_token) = app.hub_scanner("district", "110105", "hub").await;
    let gone = app
        .ops(
            Method::DELETE,
            &format!("/v1/ops/scanners/{revoked_id}"),
            None,
        )
        .await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT);
    let reply = app.release(&p.order_id, &revoked_token).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{:?}", reply.body);
    let unknown = app
        .ops(Method::DELETE, "/v1/ops/scanners/sc_0000000000000000", None)
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);

    // Expired: 31 days later the 30-day credential no longer works.
    app.clock.advance(Duration::from_secs(31 * 86_400));
    let reply = app.release(&p.order_id, &p.scanner_token).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{:?}", reply.body);
    assert!(reply.body["message"].as_str().unwrap().contains("expired"));

    let audit = app
        .ops(
            Method::GET,
            &format!("/v1/ops/audit?order_id={}", p.order_id),
            None,
        )
        .await;
    assert_eq!(
        audit.body["releases"],
        json!([]),
        "refusals release nothing"
    );
}

pub async fn a_release_for_a_hub_outside_the_buyers_region_is_off_route(app: &TestApp) {
    let p = parcel(app, "offroute").await;
    for (level, code) in [("district", "110108"), ("city", "1101"), ("city", "4419")] {
        let outsider = app.device_scanner(level, code, "hub").await;
        let reply = p.release_by(app, &outsider).await;
        assert_eq!(
            reply.status,
            StatusCode::FORBIDDEN,
            "{level} {code}: {:?}",
            reply.body
        );
        assert_eq!(reply.error(), "off_route");
        assert!(reply.body.get("sealed_recipient").is_none());
    }
    // A scanner without a device gets nothing at all (no legacy switch here).
    let (_, _, legacy) = app.hub_scanner("district", "110105", "hub").await;
    let reply = app.release(&p.order_id, &legacy).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{:?}", reply.body);
    assert!(reply.body.get("recipient").is_none());
    let audit = app
        .ops(
            Method::GET,
            &format!("/v1/ops/audit?order_id={}", p.order_id),
            None,
        )
        .await;
    assert_eq!(audit.body["releases"], json!([]));
    let refusals = app
        .state
        .stores()
        .directory
        .refusals_for_order(&p.order_id)
        .await
        .unwrap();
    assert_eq!(refusals.len(), 4, "every refusal is audited: {refusals:?}");
    assert!(refusals.iter().filter(|r| r.reason == "off_route").count() == 3);
    assert!(refusals.iter().any(|r| r.reason == "no_device"));
}

pub async fn a_release_after_delivery_is_refused(app: &TestApp) {
    let p = parcel(app, "delivered").await;
    let released = p.release(app).await;
    assert_eq!(released.status, StatusCode::OK, "{:?}", released.body);
    let release_id = released.str("release_id");
    let deliver = |body: Value| async move {
        app.internal(Method::POST, "/internal/v1/deliveries", Some(&body), None)
            .await
    };
    // Only the hub it was released to can close it.
    let other = app.device_scanner("district", "110105", "hub").await;
    let reply = deliver(p.delivery(app, &other, &release_id, "sig")).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{:?}", reply.body);
    // Unsigned, or signed for another delivery: refused.
    let mut unsigned = p.delivery(app, &p.terminal, &release_id, "proof-of-receipt-xyz");
    unsigned.as_object_mut().unwrap().remove("scan");
    assert_eq!(deliver(unsigned).await.status, StatusCode::UNAUTHORIZED);
    let mut swapped = p.delivery(app, &p.terminal, &release_id, "another proof");
    swapped["signature"] = json!("proof-of-receipt-xyz");
    assert_eq!(deliver(swapped).await.status, StatusCode::FORBIDDEN);

    let reply = deliver(p.delivery(app, &p.terminal, &release_id, "proof-of-receipt-xyz")).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_eq!(reply.body, json!({"status": "delivered"}));

    let after = p.release(app).await;
    assert_eq!(after.status, StatusCode::GONE, "{:?}", after.body);
    assert_eq!(after.error(), "order_closed");
    assert!(after.body.get("sealed_recipient").is_none());
    // A retry of the same delivery (its answer was lost) answers 200 again; another proof is
    // a second delivery of a closed order.
    let again = deliver(p.delivery(app, &p.terminal, &release_id, "proof-of-receipt-xyz")).await;
    assert_eq!(again.status, StatusCode::OK, "{:?}", again.body);
    let different = deliver(p.delivery(app, &p.terminal, &release_id, "other proof")).await;
    assert_eq!(different.status, StatusCode::GONE);
    assert!(
        !app.dump()
            .await
            .windows(20)
            .any(|w| w == b"proof-of-receipt-xyz"),
        "only a digest of the proof is kept"
    );
}

pub async fn a_release_is_refused_after_its_erase_after(app: &TestApp) {
    let p = parcel(app, "expiry").await;
    let first = p.release(app).await;
    assert_eq!(first.status, StatusCode::OK, "{:?}", first.body);
    // The release lives 24 h in these tests; a day and a second later the terminal is told no.
    // The credential lives one shift, so a fresh one stands in for the renewed one.
    app.clock.advance(Duration::from_secs(86_401));
    let terminal = app.enrol(&p.hub_id, "hub").await;
    let pickup = app.enrol(&p.hub_id, "pickup").await;
    let late = Parcel { pickup, ..p };
    let reply = late.release_by(app, &terminal).await;
    assert_eq!(reply.status, StatusCode::CONFLICT, "{:?}", reply.body);
    assert!(reply.body.get("sealed_recipient").is_none());
}

pub async fn a_replayed_or_foreign_chain_gets_no_recipient(app: &TestApp) {
    let p = parcel(app, "replay").await;
    let chain = p.chain(app, &p.terminal);
    let first = app
        .release_with_chain(&p.order_id, &p.terminal.token, &chain)
        .await;
    assert_eq!(first.status, StatusCode::OK, "{:?}", first.body);
    // The same chain again: its final scan's nonce was used.
    let replayed = app
        .release_with_chain(&p.order_id, &p.terminal.token, &chain)
        .await;
    assert_eq!(
        replayed.status,
        StatusCode::UNAUTHORIZED,
        "{:?}",
        replayed.body
    );
    // Another order's chain: the signed bodies name that order.
    let q = parcel(app, "replay-other").await;
    let foreign = app
        .release_with_chain(&q.order_id, &p.terminal.token, &p.chain(app, &p.terminal))
        .await;
    assert_eq!(foreign.status, StatusCode::FORBIDDEN, "{:?}", foreign.body);
    // A chain whose pickup never happened (a hop scan alone).
    let alone = app
        .release_with_chain(
            &q.order_id,
            &q.terminal.token,
            &[q.hop_scan(app, &q.terminal)],
        )
        .await;
    assert_eq!(alone.status, StatusCode::FORBIDDEN, "{:?}", alone.body);
    // Another terminal's final scan presented with this terminal's credential.
    let stolen = app
        .release_with_chain(&q.order_id, &p.terminal.token, &q.chain(app, &q.terminal))
        .await;
    assert_ne!(stolen.status, StatusCode::OK, "{:?}", stolen.body);
    for reply in [&replayed, &foreign, &alone, &stolen] {
        assert!(reply.body.get("sealed_recipient").is_none());
        assert!(reply.body.get("recipient").is_none());
    }
    let metrics = app.state.metrics().render();
    assert!(
        metrics.contains("custody_refusals_total{endpoint=\"release\",reason=\"replayed_scan\"} 1"),
        "{metrics}"
    );
    let refusals = app
        .state
        .stores()
        .directory
        .refusals_for_order(&q.order_id)
        .await
        .unwrap();
    assert_eq!(refusals.len(), 3, "{refusals:?}");
}

pub async fn store_dumps_hold_no_personal_data(app: &TestApp) {
    let mut secrets: Vec<String> = Vec::new();
    for tag in ["dump-one", "dump-two"] {
        let p = parcel(app, tag).await;
        let reply = p.release(app).await;
        assert_eq!(reply.status, StatusCode::OK);
        secrets.extend([p.person.name.clone(), p.person.line.clone()]);
    }
    // A buyer with a distinctive phone and postal code and a second address.
    let mut special = Person::new("dump-three");
    special.phone = "+86 137 9988 7766".to_owned();
    special.postal_code = "100027".to_owned();
    let (_, _, token) = app.buyer(&special).await;
    let mut second = special.address("company");
    second["line"] = json!("Unit 42, Sanlitun SOHO Tower B");
    second["postal_code"] = json!("100028");
    app.internal(
        Method::POST,
        "/internal/v1/buyers/me/addresses",
        Some(&json!({"address": second})),
        Some(&token),
    )
    .await;
    secrets.extend([
        special.name.clone(),
        special.line.clone(),
        "13799887766".to_owned(),
        "137 9988 7766".to_owned(),
        "100027".to_owned(),
        "100028".to_owned(),
        "Sanlitun SOHO".to_owned(),
        "Tea Shop".to_owned(),
    ]);
    let dump = app.dump().await;
    assert!(dump.len() > 1000, "the dump has content");
    for secret in &secrets {
        assert!(
            !dump.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "personal data {secret:?} found in a raw store dump"
        );
    }
    // And the dump does hold the ids, so the search itself works.
    let (buyer_id, _, _) = app.buyer(&Person::new("dump-four")).await;
    let dump = app.dump().await;
    assert!(dump
        .windows(buyer_id.len())
        .any(|w| w == buyer_id.as_bytes()));
}

pub async fn bad_input_never_causes_a_server_error(app: &TestApp) {
    let p = parcel(app, "bad").await;
    let long = "x".repeat(70 * 1024);
    let bodies: Vec<Vec<u8>> = vec![
        b"".to_vec(),
        b"{".to_vec(),
        b"null".to_vec(),
        b"[]".to_vec(),
        b"\"text\"".to_vec(),
        br#"{"platform_id": 5}"#.to_vec(),
        br#"{"unexpected": true}"#.to_vec(),
        br#"{"platform_id":"demo","name":"","phone":"1","address":{}}"#.to_vec(),
        br#"{"platform_id":"demo","name":"A","phone":"13912345678","address":{"country":"CN","region":"11","line":"x","postal_code":"100020","label":"home"}}"#.to_vec(),
        br#"{"platform_id":"demo","name":"A","phone":"13912345678","address":{"country":"XX","region":"110105","line":"x","postal_code":"100020","label":"home"}}"#.to_vec(),
        br#"{"platform_id":"demo","name":"A","phone":"13912345678","address":{"country":"CN","region":"110105","line":"x","postal_code":"1","label":"home","extra":1}}"#.to_vec(),
        br#"{"platform_id":"nope","order_id":"o_x","scanner_token":"lh1.a.b"}"#.to_vec(),
        br#"{"platform_id":"demo","order_id":"o_0000000000000000","scanner_token":"lh1.a.b"}"#.to_vec(),
        br#"{"seller_id":"s_0000000000000000","address_id":"a_zz"}"#.to_vec(),
        br#"{"platform_id":"demo","order_id":"o_0000000000000000","release_id":"r_0000000000000000","scanner_token":"","signature":""}"#.to_vec(),
        format!(r#"{{"platform_id":"demo","name":"{long}"}}"#).into_bytes(),
        vec![0xff, 0xfe, 0x00, 0x7b],
    ];
    let internal = [
        ("/internal/v1/buyers", None),
        (
            "/internal/v1/buyers/me/addresses",
            Some(p.buyer_token.as_str()),
        ),
        ("/internal/v1/sellers", None),
        ("/internal/v1/orders", Some(p.buyer_token.as_str())),
        ("/internal/v1/releases", None),
        ("/internal/v1/deliveries", None),
    ];
    for (path, token) in internal {
        for body in &bodies {
            let reply = app
                .send(app.signed_request(Method::POST, path, body.clone(), token))
                .await;
            assert!(
                reply.status.is_client_error(),
                "{path} answered {} to {:?}",
                reply.status,
                String::from_utf8_lossy(&body[..body.len().min(80)])
            );
            assert!(
                reply.body["error"].is_string() && reply.body["message"].is_string(),
                "{path}: {:?}",
                reply.body
            );
            if body.len() > 64 * 1024 {
                assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
                assert_eq!(reply.error(), "payload_too_large");
            }
        }
    }
    for path in ["/v1/ops/hubs", "/v1/ops/scanners"] {
        for body in &bodies {
            let request = Request::post(path)
                .header(
                    header::AUTHORIZATION,
                    format!("Bearer {}", crate::helpers::OPS_TOKEN),
                )
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body.clone()))
                .unwrap();
            let reply = app.send(request).await;
            assert!(
                reply.status.is_client_error(),
                "{path} answered {}",
                reply.status
            );
        }
    }
    // Field-naming messages, and bad ids in paths and queries.
    let reply = app
        .send(app.signed_request(Method::POST, "/internal/v1/buyers", bodies[8].clone(), None))
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(
        reply.body["message"]
            .as_str()
            .unwrap()
            .contains("address.region"),
        "{:?}",
        reply.body
    );
    let reply = app
        .send(app.signed_request(
            Method::POST,
            "/internal/v1/buyers",
            bodies[10].clone(),
            None,
        ))
        .await;
    assert_eq!(reply.error(), "unknown_field");
    assert!(
        reply.body["message"]
            .as_str()
            .unwrap()
            .contains("address.extra"),
        "{:?}",
        reply.body
    );
    for (method, path) in [
        (Method::GET, "/v1/ops/audit"),
        (Method::GET, "/v1/ops/audit?order_id=nonsense"),
        (Method::DELETE, "/v1/ops/scanners/not-an-id"),
        (Method::POST, "/v1/ops/addresses/a_bad/rotate"),
        (Method::POST, "/v1/ops/addresses/a_0000000000000000/rotate"),
        (Method::GET, "/v1/ops/nothing-here"),
        (Method::PUT, "/v1/ops/hubs"),
    ] {
        let reply = app.ops(method.clone(), path, None).await;
        assert!(
            reply.status.is_client_error(),
            "{method} {path}: {}",
            reply.status
        );
        assert!(
            reply.body["error"].is_string(),
            "{method} {path}: {:?}",
            reply.body
        );
    }
    let reply = app
        .internal(
            Method::GET,
            "/internal/v1/seller/orders/o_notanid",
            None,
            Some(&p.seller_token),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
}

pub async fn rotating_an_address_number_moves_entries_and_open_orders(app: &TestApp) {
    let p = parcel(app, "rotate").await;
    let number = app.vault_number(&p.address_id).await;
    let reply = app.rotate_number(&number).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    let new = reply.str("address_id");
    assert_ne!(new, number);
    assert_eq!(app.vault_number(&p.address_id).await, new);
    // The buyer's own id does not change: the number is the vault's business.
    let profile = app
        .internal(
            Method::GET,
            "/internal/v1/buyers/me",
            None,
            Some(&p.buyer_token),
        )
        .await;
    assert_eq!(
        profile.body["addresses"][0]["address_id"],
        p.address_id.as_str()
    );
    assert_eq!(profile.body["addresses"][0]["line"], p.person.line.as_str());
    // The open order follows the new number and still releases.
    let released = p.release(app).await;
    assert_eq!(released.status, StatusCode::OK, "{:?}", released.body);
    assert_eq!(p.recipient(&released)["line"], p.person.line.as_str());
    let audit_profile = app
        .internal(
            Method::GET,
            "/internal/v1/buyers/me",
            None,
            Some(&p.buyer_token),
        )
        .await;
    assert_eq!(
        audit_profile.body["access_log"][0]["address_id"],
        p.address_id.as_str()
    );
    // The old number is gone.
    let again = app.rotate_number(&number).await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    // The buyer's id names the new number now: rotating by it moves that one.
    let by_entry = app.rotate_number(&p.address_id).await;
    assert_eq!(by_entry.status, StatusCode::OK, "{:?}", by_entry.body);
    let newer = by_entry.str("address_id");
    assert_ne!(newer, new);
    assert_eq!(app.vault_number(&p.address_id).await, newer);
    // Registering the same address again now finds the newest number.
    let (_, same, _) = app.buyer(&p.person).await;
    assert_ne!(same, p.address_id);
    assert_eq!(app.vault_number(&same).await, newer);
}

pub async fn internal_calls_need_a_fresh_edge_signature(app: &TestApp) {
    let body = serde_json::to_vec(&json!({"platform_id": "demo", "name": "Shop"})).unwrap();
    // Unsigned.
    let unsigned = Request::post("/internal/v1/sellers")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.clone()))
        .unwrap();
    let reply = app.send(unsigned).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    // Signed, then replayed with the same nonce.
    let first = app.signed_request(Method::POST, "/internal/v1/sellers", body.clone(), None);
    let headers = first.headers().clone();
    assert_eq!(app.send(first).await.status, StatusCode::CREATED);
    let mut replay = Request::post("/internal/v1/sellers")
        .body(Body::from(body.clone()))
        .unwrap();
    *replay.headers_mut() = headers.clone();
    let reply = app.send(replay).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert!(reply.body["message"].as_str().unwrap().contains("replayed"));
    // Body changed under a valid signature.
    let mut tampered = app.signed_request(Method::POST, "/internal/v1/sellers", body.clone(), None);
    *tampered.body_mut() =
        Body::from(serde_json::to_vec(&json!({"platform_id": "demo", "name": "Evil"})).unwrap());
    assert_eq!(app.send(tampered).await.status, StatusCode::UNAUTHORIZED);
    // Signed with the wrong key (the origin-push key, the other direction).
    let mut wrong =
        Request::post("/internal/v1/sellers").header(header::CONTENT_TYPE, "application/json");
    for (name, value) in lasthop_origin::signing::sign(
        &app.edge.origin_push,
        &lasthop_core::signing::SignedRequest {
            method: "POST",
            path_and_query: "/internal/v1/sellers",
            body: &body,
            authorization: None,
        },
        app.clock.now(),
    ) {
        wrong = wrong.header(name, value);
    }
    assert_eq!(
        app.send(wrong.body(Body::from(body.clone())).unwrap())
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    // Stale: signed two minutes ago.
    let mut stale =
        Request::post("/internal/v1/sellers").header(header::CONTENT_TYPE, "application/json");
    let then = app.clock.now().plus_seconds(-120);
    for (name, value) in lasthop_origin::signing::sign(
        &app.edge.edge_request,
        &lasthop_core::signing::SignedRequest {
            method: "POST",
            path_and_query: "/internal/v1/sellers",
            body: &body,
            authorization: None,
        },
        then,
    ) {
        stale = stale.header(name, value);
    }
    assert_eq!(
        app.send(stale.body(Body::from(body)).unwrap()).await.status,
        StatusCode::UNAUTHORIZED
    );
    // A relayed token moved to another request: the signature covers `Authorization`.
    let p = parcel(app, "sessions").await;
    let mut moved = app.signed_request(
        Method::GET,
        "/internal/v1/buyers/me",
        Vec::new(),
        Some(&p.buyer_token),
    );
    let other = parcel(app, "other-buyer").await;
    moved.headers_mut().insert(
        header::AUTHORIZATION,
        format!("Bearer {}", other.buyer_token).parse().unwrap(),
    );
    assert_eq!(app.send(moved).await.status, StatusCode::UNAUTHORIZED);
    // A buyer act without or with the wrong kind of session token.
    let reply = app
        .internal(Method::GET, "/internal/v1/buyers/me", None, None)
        .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    let reply = app
        .internal(
            Method::GET,
            "/internal/v1/buyers/me",
            None,
            Some(&p.seller_token),
        )
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    let reply = app
        .internal(
            Method::GET,
            "/internal/v1/buyers/me",
            None,
            Some(&p.scanner_token),
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
}

pub async fn ops_calls_need_the_ops_token(app: &TestApp) {
    let body = json!({"code": "110105", "level": "district", "name": "Hub"}).to_string();
    for auth in [
        None,
        Some("Bearer wrong-token"),
        Some("Basic abc"),
        Some("Bearer "),
    ] {
        let mut request =
            Request::post("/v1/ops/hubs").header(header::CONTENT_TYPE, "application/json");
        if let Some(auth) = auth {
            request = request.header(header::AUTHORIZATION, auth);
        }
        let reply = app
            .send(request.body(Body::from(body.clone())).unwrap())
            .await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{auth:?}");
        assert_eq!(reply.error(), "unauthorized");
    }
    let reply = app
        .ops(
            Method::POST,
            "/v1/ops/hubs",
            Some(&json!({"code": "110105", "level": "city", "name": "Hub"})),
        )
        .await;
    assert_eq!(
        reply.status,
        StatusCode::BAD_REQUEST,
        "a city hub needs a city code"
    );
    let reply = app
        .ops(
            Method::POST,
            "/v1/ops/hubs",
            Some(&json!({"code": "110105", "level": "district", "name": "Hub\u{7}1"})),
        )
        .await;
    assert_eq!(
        reply.status,
        StatusCode::BAD_REQUEST,
        "a hub name with a control character"
    );
    let reply = app
        .ops(
            Method::POST,
            "/v1/ops/scanners",
            Some(&json!({"hub_id": "h_0000000000000000", "role": "hub"})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    let health = app
        .send(Request::get("/healthz").body(Body::empty()).unwrap())
        .await;
    assert_eq!(health.status, StatusCode::OK);
    let metrics = app.ops(Method::GET, "/metrics", None).await;
    let text = metrics.body.as_str().unwrap_or_default().to_owned();
    assert!(
        text.contains("lasthop_origin_http_requests_total"),
        "{text}"
    );
    assert!(text.contains("route=\"/v1/ops/hubs\""), "{text}");
}

pub async fn sellers_see_their_orders_without_buyer_details(app: &TestApp) {
    let p = parcel(app, "seller").await;
    let reply = app
        .internal(
            Method::GET,
            "/internal/v1/seller/orders",
            None,
            Some(&p.seller_token),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    let orders = reply.body["orders"].as_array().unwrap();
    assert_eq!(orders.len(), 1);
    assert_eq!(orders[0]["order_id"], p.order_id.as_str());
    assert_eq!(orders[0]["buyer_id"], p.buyer_id.as_str());
    let text = reply.body.to_string();
    for secret in [
        &p.person.name,
        &p.person.line,
        &p.person.postal_code,
        &"110105".to_owned(),
    ] {
        assert!(!text.contains(secret.as_str()));
    }
    serde_json::from_value::<lasthop_core::api::InternalSellerOrdersResponse>(reply.body.clone())
        .expect("core DTO");
    let one = app
        .internal(
            Method::GET,
            &format!("/internal/v1/seller/orders/{}", p.order_id),
            None,
            Some(&p.seller_token),
        )
        .await;
    assert_eq!(one.status, StatusCode::OK);
    assert_eq!(one.body, orders[0]);
    let (_, other_token) = app.seller("Rival").await;
    let hidden = app
        .internal(
            Method::GET,
            &format!("/internal/v1/seller/orders/{}", p.order_id),
            None,
            Some(&other_token),
        )
        .await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND);
    let as_buyer = app
        .internal(
            Method::GET,
            "/internal/v1/seller/orders",
            None,
            Some(&p.buyer_token),
        )
        .await;
    assert_eq!(as_buyer.status, StatusCode::FORBIDDEN);
    let _: Value = one.body;
}

pub async fn a_scanner_enrolled_with_a_device_gets_a_device_bound_credential(app: &TestApp) {
    let hub = app
        .ops(
            Method::POST,
            "/v1/ops/hubs",
            Some(&json!({"code": "110105", "level": "district", "name": "Chaoyang"})),
        )
        .await;
    let hub_id = hub.str("hub_id");
    let device = lasthop_core::device::DeviceKeys::generate(&mut rand::rngs::OsRng).public();
    let enrol = |device: Value| json!({"hub_id": hub_id, "role": "hub", "device": device});
    let reply = app
        .ops(
            Method::POST,
            "/v1/ops/scanners",
            Some(&enrol(json!({
                "sign_key": device.sign_key.to_base64(),
                "box_key": device.box_key.to_base64(),
            }))),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    let claims = app
        .edge
        .credentials
        .verify_scanner(&reply.str("token"), app.clock.now())
        .unwrap();
    assert_eq!(claims.device, Some(device.sign_key));
    let row = app
        .state
        .stores()
        .directory
        .scanner(claims.scanner_id.as_str())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.box_key, Some(device.box_key.to_base64()));

    // A key that is not 32 bytes of base64url is refused, naming the field.
    let reply = app
        .ops(
            Method::POST,
            "/v1/ops/scanners",
            Some(&enrol(json!({
                "sign_key": device.sign_key.to_base64(),
                "box_key": "c2hvcnQ",
            }))),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(
        reply.str("message").contains("device.box_key"),
        "{:?}",
        reply.body
    );

    // Without a device: a credential with a token id and no device claim.
    let (_, _, token) = app.hub_scanner("district", "110105", "hub").await;
    let claims = app
        .edge
        .credentials
        .verify_scanner(&token, app.clock.now())
        .unwrap();
    assert_eq!(claims.device, None);
}

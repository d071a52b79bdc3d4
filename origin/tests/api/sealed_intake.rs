//! The pages' sealed buyer endpoints: registration and addresses sealed in the browser to the
//! vault's intake key, the profile sealed back to the page's key, and what an edge that relays
//! them (and every bearer token) can and cannot do with them. Run on both backends.

use axum::http::{Method, StatusCode};
use lasthop_core::api::{
    AddressInput, IntakeKeyResponse, SealedProfileResponse, SealedRegisterBuyerRequest,
};
use lasthop_core::ids::BuyerId;
use lasthop_core::intake::{self, RegistrationIntake};
use lasthop_core::sealed_box::{self, BoxSecretKey, Purpose};
use rand::rngs::OsRng;
use serde_json::{json, Value};

use crate::helpers::{Person, TestApp};

/// A browser: its profile key and what it sealed.
struct Page {
    profile_key: BoxSecretKey,
    buyer_id: String,
    token: String,
}

fn address(person: &Person, label: &str) -> AddressInput {
    serde_json::from_value(person.address(label)).unwrap()
}

async fn intake_key(app: &TestApp) -> IntakeKeyResponse {
    let reply = app
        .internal(Method::GET, "/internal/v1/vault/intake-key", None, None)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    serde_json::from_value(reply.body).unwrap()
}

fn sealed_registration(
    vault: &IntakeKeyResponse,
    person: &Person,
    profile_key: &BoxSecretKey,
) -> SealedRegisterBuyerRequest {
    let intake = RegistrationIntake {
        name: person.name.clone(),
        phone: person.phone.clone(),
        address: address(person, "home"),
        profile_key: profile_key.public_key(),
    };
    intake::seal_registration(vault, "demo", &intake, &mut OsRng).unwrap()
}

async fn register_sealed(app: &TestApp, person: &Person) -> Page {
    let vault = intake_key(app).await;
    let profile_key = BoxSecretKey::generate(&mut OsRng);
    let body = serde_json::to_value(sealed_registration(&vault, person, &profile_key)).unwrap();
    let reply = app
        .internal(
            Method::POST,
            "/internal/v1/buyers/sealed",
            Some(&body),
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    assert_eq!(reply.headers["cache-control"], "no-store");
    Page {
        profile_key,
        buyer_id: reply.str("buyer_id"),
        token: reply.str("buyer_token"),
    }
}

async fn sealed_profile(app: &TestApp, page: &Page) -> Value {
    let reply = app
        .internal(
            Method::GET,
            "/internal/v1/buyers/me/sealed",
            None,
            Some(&page.token),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_eq!(reply.headers["cache-control"], "no-store");
    let sealed: SealedProfileResponse = serde_json::from_value(reply.body).unwrap();
    let buyer = BuyerId::parse(&page.buyer_id).unwrap();
    let profile = intake::open_profile(&page.profile_key, &buyer, &sealed).unwrap();
    serde_json::to_value(profile).unwrap()
}

fn seal_address_for(vault: &IntakeKeyResponse, buyer_id: &str, person: &Person) -> Value {
    let buyer = BuyerId::parse(buyer_id).unwrap();
    let sealed = intake::seal_address(
        vault,
        &intake::address_aad(&buyer),
        &address(person, "office"),
        &mut OsRng,
    )
    .unwrap();
    serde_json::to_value(sealed).unwrap()
}

pub async fn a_buyer_registered_sealed_gets_the_profile_only_sealed_to_their_pages_key(
    app: &TestApp,
) {
    let person = Person::new("sealed");
    let page = register_sealed(app, &person).await;

    // The contract's plaintext profile is refused for this buyer: a relayed token reads nothing.
    let plain = app
        .internal(
            Method::GET,
            "/internal/v1/buyers/me",
            None,
            Some(&page.token),
        )
        .await;
    assert_eq!(plain.status, StatusCode::FORBIDDEN, "{:?}", plain.body);
    assert_eq!(plain.error(), "forbidden");
    assert!(!plain.body.to_string().contains(&person.name));

    let profile = sealed_profile(app, &page).await;
    assert_eq!(profile["name"], person.name.as_str());
    assert_eq!(profile["addresses"][0]["line"], person.line.as_str());
    assert_eq!(profile["orders"], json!([]));

    // A second address, sealed for this buyer; then an order shows in the profile too.
    let vault = intake_key(app).await;
    let mut office = person.clone();
    office.line = "9 Office Park, sealed".into();
    let added = app
        .internal(
            Method::POST,
            "/internal/v1/buyers/me/addresses/sealed",
            Some(&seal_address_for(&vault, &page.buyer_id, &office)),
            Some(&page.token),
        )
        .await;
    assert_eq!(added.status, StatusCode::CREATED, "{:?}", added.body);
    let (seller_id, _) = app.seller("Tea Shop").await;
    let order = app
        .order(&page.token, &seller_id, &added.str("address_id"))
        .await;
    let profile = sealed_profile(app, &page).await;
    assert_eq!(profile["addresses"].as_array().unwrap().len(), 2);
    assert_eq!(profile["addresses"][1]["line"], office.line.as_str());
    // Sealed in the page: the entries say so.
    assert_eq!(profile["addresses"][0]["registered"]["channel"], "page");
    assert_eq!(profile["addresses"][1]["registered"]["channel"], "page");
    assert_eq!(profile["orders"][0]["order_id"], order["order_id"]);
    assert_eq!(profile["orders"][0]["seller_id"], seller_id.as_str());

    // Neither store holds what was sealed in the clear.
    let dump = app.dump().await;
    for secret in [&person.name, &person.line, &office.line] {
        assert!(
            !dump.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "{secret} in a store dump"
        );
    }
}

pub async fn a_buyer_registered_in_plaintext_has_no_sealed_profile(app: &TestApp) {
    let (_, _, token) = app.buyer(&Person::new("plain")).await;
    let reply = app
        .internal(
            Method::GET,
            "/internal/v1/buyers/me/sealed",
            None,
            Some(&token),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CONFLICT, "{:?}", reply.body);
    assert_eq!(reply.error(), "wrong_state");
    let plain = app
        .internal(Method::GET, "/internal/v1/buyers/me", None, Some(&token))
        .await;
    assert_eq!(plain.status, StatusCode::OK);
    assert_eq!(plain.body["orders"], json!([]));
}

pub async fn sealed_data_moved_to_another_buyer_platform_or_key_is_refused_by_name(app: &TestApp) {
    let victim = Person::new("victim");
    let victim_page = register_sealed(app, &victim).await;
    let vault = intake_key(app).await;
    // An edge holding the victim's sealed address and its own buyer's token (even a plaintext
    // buyer, whose profile it could read) cannot file the address there.
    let sealed_for_victim = seal_address_for(&vault, &victim_page.buyer_id, &victim);
    let (_, _, attacker_token) = app.buyer(&Person::new("attacker")).await;
    let reply = app
        .internal(
            Method::POST,
            "/internal/v1/buyers/me/addresses/sealed",
            Some(&sealed_for_victim),
            Some(&attacker_token),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{:?}", reply.body);
    assert_eq!(reply.error(), "invalid_input");
    assert!(reply.body["message"].as_str().unwrap().contains("sealed"));
    let attacker_profile = app
        .internal(
            Method::GET,
            "/internal/v1/buyers/me",
            None,
            Some(&attacker_token),
        )
        .await;
    assert!(!attacker_profile.body.to_string().contains(&victim.line));

    // A registration sealed for one platform, replayed for another, or naming a key version
    // the vault never had, or tampered with.
    let profile_key = BoxSecretKey::generate(&mut OsRng);
    let good = serde_json::to_value(sealed_registration(&vault, &victim, &profile_key)).unwrap();
    let mut moved = good.clone();
    moved["platform_id"] = json!("other");
    let mut unknown = good.clone();
    unknown["key_version"] = json!(99);
    let mut tampered = good.clone();
    tampered["sealed"]["ciphertext"] = json!("AAAA");
    for (body, field) in [
        (moved, "platform_id` is not a platform"),
        (unknown, "key_version"),
        (tampered, "sealed"),
    ] {
        let reply = app
            .internal(
                Method::POST,
                "/internal/v1/buyers/sealed",
                Some(&body),
                None,
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{body}: {:?}",
            reply.body
        );
        let message = reply.body["message"].as_str().unwrap();
        assert!(
            message.contains(field) || message.contains("sealed"),
            "{message}"
        );
    }

    // A box that opens but holds a bad field (a page that skipped the core's checks) is
    // refused naming the field, never its value.
    let mut bad = victim.clone();
    bad.region = "3301".into();
    let intake = RegistrationIntake {
        name: bad.name.clone(),
        phone: bad.phone.clone(),
        address: address(&bad, "home"),
        profile_key: profile_key.public_key(),
    };
    let sealed = sealed_box::seal(
        &vault.public_key,
        Purpose::Intake,
        &intake::registration_aad("demo"),
        &serde_json::to_vec(&intake).unwrap(),
        &mut OsRng,
    )
    .unwrap();
    let body = json!({"platform_id": "demo", "key_version": vault.key_version, "sealed": sealed});
    let reply = app
        .internal(
            Method::POST,
            "/internal/v1/buyers/sealed",
            Some(&body),
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{:?}", reply.body);
    let message = reply.body["message"].as_str().unwrap();
    assert!(message.contains("address.region"), "{message}");
    assert!(!message.contains("3301") && !message.contains(&bad.name));

    // Unknown fields are refused as everywhere.
    let mut extra = good;
    extra["name"] = json!("plaintext on the side");
    let reply = app
        .internal(
            Method::POST,
            "/internal/v1/buyers/sealed",
            Some(&extra),
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.error(), "unknown_field");
}

pub async fn a_sealed_modification_is_bound_to_its_buyer_and_address(app: &TestApp) {
    let person = Person::new("sealed-move");
    let page = register_sealed(app, &person).await;
    let profile = sealed_profile(app, &page).await;
    let address_id = profile["addresses"][0]["address_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let vault = intake_key(app).await;
    let buyer = BuyerId::parse(&page.buyer_id).unwrap();
    let id = lasthop_core::ids::AddressId::parse(&address_id).unwrap();
    let mut moved = person.clone();
    moved.line = "12 Sealed Lane, moved".into();
    let put = |body: Value| {
        let token = page.token.clone();
        let path = format!("/internal/v1/buyers/me/addresses/{address_id}/sealed");
        async move {
            app.internal(Method::PUT, &path, Some(&body), Some(&token))
                .await
        }
    };
    // A box sealed for adding an address (no address id in its associated data) is refused.
    let for_adding = seal_address_for(&vault, &page.buyer_id, &moved);
    let refused = put(for_adding).await;
    assert_eq!(
        refused.status,
        StatusCode::BAD_REQUEST,
        "{:?}",
        refused.body
    );
    let sealed = intake::seal_address(
        &vault,
        &intake::address_change_aad(&buyer, &id),
        &address(&moved, "moved"),
        &mut OsRng,
    )
    .unwrap();
    let reply = put(serde_json::to_value(sealed).unwrap()).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    let profile = sealed_profile(app, &page).await;
    let entry = &profile["addresses"][0];
    assert_eq!(entry["address_id"], address_id.as_str());
    assert_eq!(entry["line"], moved.line.as_str());
    assert_eq!(entry["modified"]["channel"], "page");
    assert_eq!(entry["registered"]["channel"], "page");
    let vault_bytes = app.dump().await;
    assert!(
        !vault_bytes
            .windows(moved.line.len())
            .any(|w| w == moved.line.as_bytes()),
        "the modified line is sealed in the stores"
    );
}

//! The full address record (issue 10): each buyer's own entry per address, with its own id,
//! spelling, label, region levels, recipient and provenance; identical addresses share one
//! number inside the vault only, so nothing in any answer to one buyer reveals another's.

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{Person, Reply, TestApp};
use crate::scenarios::parcel;

/// Every answer a buyer can get about their addresses, as text.
async fn everything_answered_to(app: &TestApp, token: &str, answers: &[&Reply]) -> String {
    let profile = own_profile(app, token).await;
    assert_eq!(profile.status, StatusCode::OK, "{:?}", profile.body);
    let mut text = profile.body.to_string();
    for reply in answers {
        text.push_str(&reply.body.to_string());
    }
    text
}

/// `POST /internal/v1/buyers/me/addresses` with `address`.
async fn add(app: &TestApp, token: &str, address: &serde_json::Value) -> Reply {
    app.internal(
        Method::POST,
        "/internal/v1/buyers/me/addresses",
        Some(&json!({ "address": address })),
        Some(token),
    )
    .await
}

/// `GET /internal/v1/buyers/me`.
async fn own_profile(app: &TestApp, token: &str) -> Reply {
    app.internal(Method::GET, "/internal/v1/buyers/me", None, Some(token))
        .await
}

async fn register(app: &TestApp, person: &Person) -> Reply {
    app.internal(
        Method::POST,
        "/internal/v1/buyers",
        Some(&person.registration()),
        None,
    )
    .await
}

pub async fn two_buyers_at_one_address_each_see_only_their_own_record_and_nothing_of_the_other(
    app: &TestApp,
) {
    let alice = Person::new("shared-home");
    let mut bob = Person::new("shared-home");
    bob.name = "Bob Other-Name".to_owned();
    bob.phone = "+86 137 0000 1111".to_owned();
    bob.line = "88  JIANGUO ROAD,  unit SHARED-HOME".to_owned();
    let alice_reply = register(app, &alice).await;
    assert_eq!(
        alice_reply.status,
        StatusCode::CREATED,
        "{:?}",
        alice_reply.body
    );
    let bob_reply = register(app, &bob).await;
    assert_eq!(
        bob_reply.status,
        StatusCode::CREATED,
        "{:?}",
        bob_reply.body
    );
    let (alice_id, alice_entry, alice_token) = (
        alice_reply.str("buyer_id"),
        alice_reply.str("address_id"),
        alice_reply.str("buyer_token"),
    );
    let (bob_id, bob_entry, bob_token) = (
        bob_reply.str("buyer_id"),
        bob_reply.str("address_id"),
        bob_reply.str("buyer_token"),
    );
    let number = app.vault_number(&alice_entry).await;
    assert_eq!(
        number,
        app.vault_number(&bob_entry).await,
        "one shared number"
    );

    // Bob adds the address again in Alice's spelling: his own id comes back.
    let again = add(app, &bob_token, &alice.address("again")).await;
    assert_eq!(again.str("address_id"), bob_entry);

    let alice_sees = everything_answered_to(app, &alice_token, &[&alice_reply]).await;
    let bob_sees = everything_answered_to(app, &bob_token, &[&bob_reply, &again]).await;
    assert!(alice_sees.contains(&alice.line) && alice_sees.contains(&alice_entry));
    assert!(bob_sees.contains(&bob.line) && bob_sees.contains(&bob_entry));
    for (sees, other) in [
        (
            &alice_sees,
            [
                &bob_id, &bob_entry, &bob.line, &bob.name, &bob.phone, &bob_token,
            ],
        ),
        (
            &bob_sees,
            [
                &alice_id,
                &alice_entry,
                &alice.line,
                &alice.name,
                &alice.phone,
                &alice_token,
            ],
        ),
    ] {
        for secret in other {
            assert!(!sees.contains(secret.as_str()), "{secret} leaked: {sees}");
        }
        assert!(
            !sees.contains(&number),
            "the shared number is never answered"
        );
    }

    // Another buyer cannot order to, or even tell apart, Alice's id from a made-up one.
    let (seller_id, _) = app.seller("Probe Shop").await;
    let probe = |address_id: String| {
        let token = bob_token.clone();
        let seller_id = seller_id.clone();
        async move {
            app.internal(
                Method::POST,
                "/internal/v1/orders",
                Some(&json!({"seller_id": seller_id, "address_id": address_id})),
                Some(&token),
            )
            .await
        }
    };
    let foreign = probe(alice_entry.clone()).await;
    let made_up = probe("a_0000000000000000".to_owned()).await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND, "{:?}", foreign.body);
    assert_eq!(foreign.status, made_up.status);
    assert_eq!(foreign.body, made_up.body);
}

pub async fn guessing_addresses_learns_nothing_about_other_buyers(app: &TestApp) {
    // The attack: register 100 guessed addresses, one of them someone else's, and look
    // for any answer that differs. Every answer is a fresh id of the guesser's own.
    let victim = Person::new("guess-42");
    let victim_reply = register(app, &victim).await;
    let victim_entry = victim_reply.str("address_id");
    let guesser = Person::new("guesser");
    let (_, first, token) = app.buyer(&guesser).await;
    let mut ids = std::collections::BTreeSet::from([first]);
    for n in 0..100 {
        let guess = Person::new(&format!("guess-{n}"));
        let reply = add(app, &token, &guess.address("guess")).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
        let keys: Vec<&String> = reply.body.as_object().expect("object").keys().collect();
        assert_eq!(
            keys,
            ["address_id"],
            "the same answer shape for every guess"
        );
        let id = reply.str("address_id");
        assert_ne!(id, victim_entry);
        assert!(ids.insert(id), "every guess gets a new id");
    }
    // The guesser's profile lists the guesses as the guesser typed them and labelled them,
    // and the right guess no differently from the 99 wrong ones.
    let profile = own_profile(app, &token).await;
    let addresses = profile.body["addresses"].as_array().expect("addresses");
    assert_eq!(addresses.len(), 101);
    for a in &addresses[1..] {
        assert_eq!(a["label"], "guess");
        assert_eq!(a["recipient_name"], guesser.name.as_str());
        assert_eq!(a["registered"]["by"], a["modified"]["by"]);
    }
    assert!(!profile.body.to_string().contains(&victim.name));
}

pub async fn the_owner_sees_the_full_record_and_the_final_hub_gets_the_entrys_recipient(
    app: &TestApp,
) {
    let mut p = parcel(app, "gift").await;
    let gift = json!({"country": "CN", "region": "110105", "line": "1 Office Park, Tower B",
        "postal_code": "100020", "label": "aunt's office",
        "recipient": {"name": "Aunt Li", "phone": "+86 135 0000 2222"}});
    let added = add(app, &p.buyer_token, &gift).await;
    assert_eq!(added.status, StatusCode::CREATED, "{:?}", added.body);
    let gift_id = added.str("address_id");
    let profile = own_profile(app, &p.buyer_token).await;
    let addresses = profile.body["addresses"].as_array().expect("addresses");
    let own = &addresses[0];
    assert_eq!(own["recipient_name"], p.person.name.as_str());
    assert_eq!(own["recipient_phone"], "+8613912345678");
    assert_eq!(own["region_levels"], json!(["11", "1101", "110105"]));
    assert_eq!(own["registered"]["channel"], "shop");
    assert_eq!(own["registered"]["by"], p.buyer_id.as_str());
    assert_eq!(own["modified"], own["registered"]);
    let entry = &addresses[1];
    assert_eq!(entry["address_id"], gift_id.as_str());
    assert_eq!(entry["label"], "aunt's office");
    assert_eq!(entry["line"], "1 Office Park, Tower B");
    assert_eq!(entry["recipient_name"], "Aunt Li");
    assert_eq!(entry["recipient_phone"], "+8613500002222");
    assert_eq!(entry["postal_code"], "100020");

    // An order to the gift address: the final hub's recipient is the entry's.
    let (seller_id, _) = app.seller("Gift Shop").await;
    let order = app.order(&p.buyer_token, &seller_id, &gift_id).await;
    p.order_id = order["order_id"].as_str().expect("order").to_owned();
    let released = p.release(app).await;
    assert_eq!(released.status, StatusCode::OK, "{:?}", released.body);
    let recipient = p.recipient(&released);
    assert_eq!(recipient["name"], "Aunt Li");
    assert_eq!(recipient["phone"], "+8613500002222");
    assert_eq!(recipient["line"], "1 Office Park, Tower B");

    // A bad recipient is a 400 naming the field.
    let bad = app
        .internal(
            Method::POST,
            "/internal/v1/buyers/me/addresses",
            Some(
                &json!({"address": {"country": "CN", "region": "110105", "line": "x",
                "postal_code": "100020", "label": "l", "recipient": {"name": "", "phone": "1"}}}),
            ),
            Some(&p.buyer_token),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{:?}", bad.body);
    assert!(
        bad.body["message"]
            .as_str()
            .is_some_and(|m| m.contains("address.recipient.name")),
        "{:?}",
        bad.body
    );
}

async fn modify(
    app: &TestApp,
    token: &str,
    address_id: &str,
    address: &serde_json::Value,
) -> Reply {
    app.internal(
        Method::PUT,
        &format!("/internal/v1/buyers/me/addresses/{address_id}"),
        Some(&json!({ "address": address })),
        Some(token),
    )
    .await
}

pub async fn modifying_an_address_writes_a_new_version_with_its_provenance_and_the_release_follows_it(
    app: &TestApp,
) {
    let p = parcel(app, "moving").await;
    let number_before = app.vault_number(&p.address_id).await;
    let before = own_profile(app, &p.buyer_token).await;
    let registered = before.body["addresses"][0]["registered"].clone();
    app.clock.advance(std::time::Duration::from_secs(60));
    let changed = json!({"country": "CN", "region": "110105", "line": "99 New Street, Flat 2",
        "postal_code": "100020", "label": "new home",
        "recipient": {"name": "Uncle Wang", "phone": "+86 136 0000 3333"}});
    let reply = modify(app, &p.buyer_token, &p.address_id, &changed).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_eq!(reply.body, json!({"address_id": p.address_id}));

    let profile = own_profile(app, &p.buyer_token).await;
    let entry = &profile.body["addresses"][0];
    assert_eq!(profile.body["addresses"].as_array().map(Vec::len), Some(1));
    assert_eq!(entry["address_id"], p.address_id.as_str());
    assert_eq!(entry["line"], "99 New Street, Flat 2");
    assert_eq!(entry["label"], "new home");
    assert_eq!(entry["recipient_name"], "Uncle Wang");
    assert_eq!(entry["registered"], registered, "the registration is kept");
    assert_eq!(entry["modified"]["channel"], "shop");
    assert_eq!(entry["modified"]["by"], p.buyer_id.as_str());
    assert_ne!(entry["modified"]["at"], registered["at"]);
    assert_ne!(
        app.vault_number(&p.address_id).await,
        number_before,
        "another address, another shared number"
    );

    // The open order's release reads the new version.
    let released = p.release(app).await;
    assert_eq!(released.status, StatusCode::OK, "{:?}", released.body);
    let recipient = p.recipient(&released);
    assert_eq!(recipient["line"], "99 New Street, Flat 2");
    assert_eq!(recipient["name"], "Uncle Wang");

    // Another delivery region while the order is on its way: refused, nothing changed.
    let elsewhere = json!({"country": "CN", "region": "330108", "line": "1 West Lake Road",
        "postal_code": "310012", "label": "hangzhou"});
    let refused = modify(app, &p.buyer_token, &p.address_id, &elsewhere).await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{:?}", refused.body);
    // Into another of the buyer's own addresses: refused.
    let second = p.person.address("second");
    let added = add(app, &p.buyer_token, &second).await;
    assert_eq!(added.status, StatusCode::CREATED, "{:?}", added.body);
    let clash = modify(app, &p.buyer_token, &p.address_id, &second).await;
    assert_eq!(clash.status, StatusCode::CONFLICT, "{:?}", clash.body);
    let profile = own_profile(app, &p.buyer_token).await;
    assert_eq!(
        profile.body["addresses"][0]["line"],
        "99 New Street, Flat 2"
    );

    // Someone else's id, or no id at all.
    let other = Person::new("not-the-owner");
    let (_, _, other_token) = app.buyer(&other).await;
    let foreign = modify(app, &other_token, &p.address_id, &changed).await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND, "{:?}", foreign.body);
    let bad = modify(app, &p.buyer_token, "a_bad", &changed).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{:?}", bad.body);
}

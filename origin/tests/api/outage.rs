//! The vault going away and coming back, on the embedded default: the SQLite vault's folder is
//! moved away (as a volume that went away) and back. Meanwhile registrations are still
//! answered 201 and wait, sealed, in the directory's temporary table; orders and final-hop
//! releases of those addresses are served from it; identical addresses share one number; the
//! directory holds ciphertext only. Once the vault is back everything is flushed into it, and
//! an address the vault already had is merged into its number.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{DeviceScanner, Person, Reply, StoreLocation, TestApp};

/// The final hub's release of `order_id`, with the chain of a pickup at the buyer's district
/// and `terminal`'s own scan, both signed now.
async fn release(
    app: &TestApp,
    order_id: &str,
    buyer_id: &str,
    pickup: &DeviceScanner,
    terminal: &DeviceScanner,
) -> Reply {
    let chain = app.chain(pickup, terminal, order_id, buyer_id);
    app.release_with_chain(order_id, &terminal.token, &chain)
        .await
}

async fn health(app: &TestApp) -> Value {
    let reply = app
        .send(Request::get("/healthz").body(Body::empty()).unwrap())
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    reply.body
}

/// Polls `/healthz` until `done` holds (the probe runs every 250 ms, the flush every 100 ms).
async fn wait_for(app: &TestApp, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let body = health(app).await;
        if done(&body) {
            return body;
        }
        assert!(Instant::now() < deadline, "{what} never happened: {body}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn profile(app: &TestApp, token: &str) -> Reply {
    app.internal(Method::GET, "/internal/v1/buyers/me", None, Some(token))
        .await
}

fn vault_folder(app: &TestApp) -> (PathBuf, PathBuf) {
    let StoreLocation::Sqlite(dir) = &app.location else {
        unreachable!("a SQLite app")
    };
    (dir.join("vault"), dir.join("vault-away"))
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

fn directory_bytes(dir: &Path) -> Vec<u8> {
    ["directory.db", "directory.db-wal"]
        .iter()
        .filter_map(|f| std::fs::read(dir.join(f)).ok())
        .flatten()
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sqlite_vault_going_away_and_coming_back_loses_nothing() {
    let app = TestApp::sqlite_with_vault_folder().await;
    let (folder, away) = vault_folder(&app);
    let (seller_id, _) = app.seller("Outage Shop").await;
    let hub_id = app.hub("district", "110105").await;
    let pickup = app.enrol(&hub_id, "pickup").await;
    let terminal = app.enrol(&hub_id, "hub").await;

    // Before: a buyer whose address the vault holds, with an order.
    let before = Person::new("before");
    let (before_id, before_number, before_token) = app.buyer(&before).await;
    let before_order = app.order(&before_token, &seller_id, &before_number).await;
    let before_order = before_order["order_id"].as_str().unwrap().to_owned();

    std::fs::rename(&folder, &away).unwrap();
    wait_for(&app, "the vault counted as away", |h| {
        h["vault"]["writes_to"] == "temporary_table"
    })
    .await;

    // During: three buyers at one new address, and one at the address stored before.
    let during = Person::new("during");
    let mut neighbours = Vec::new();
    for i in 0..3 {
        let mut person = during.clone();
        person.name = format!("Neighbour {i}");
        neighbours.push((person.clone(), app.buyer(&person).await));
    }
    // Each neighbour has an id of their own, behind one shared (waiting) number.
    let mut numbers = std::collections::BTreeSet::new();
    let mut ids = std::collections::BTreeSet::new();
    for (_, (_, id, _)) in &neighbours {
        ids.insert(id.clone());
        numbers.insert(app.vault_number(id).await);
    }
    assert_eq!((ids.len(), numbers.len()), (3, 1), "{ids:?} {numbers:?}");
    let mut twin = before.clone();
    twin.name = "Twin of before".to_owned();
    let (twin_id, twin_number, twin_token) = app.buyer(&twin).await;
    assert_ne!(
        app.vault_number(&twin_number).await,
        app.vault_number(&before_number).await,
        "the vault could not be read to share it"
    );

    // The buyer from before adds their own address again: the vault cannot be read to find
    // it, so it shares the twin's waiting number with a new entry, and an order goes to that
    // entry. At the flush this buyer holds both numbers that merge.
    let again = app
        .internal(
            Method::POST,
            "/internal/v1/buyers/me/addresses",
            Some(&json!({"address": before.address("again")})),
            Some(&before_token),
        )
        .await;
    assert_eq!(again.status, StatusCode::CREATED, "{:?}", again.body);
    let again_id = again.str("address_id");
    assert_ne!(again_id, before_number);
    let again_order = app.order(&before_token, &seller_id, &again_id).await;
    let again_order = again_order["order_id"].as_str().unwrap().to_owned();

    let waiting = health(&app).await;
    // Two addresses, five buyer entries and four contacts wait.
    assert_eq!(waiting["temporary_table"]["depth"], 11, "{waiting}");
    let (_, (buyer_id, number, token)) = &neighbours[0];
    let reply = profile(&app, token).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_eq!(reply.body["addresses"][0]["line"], during.line.as_str());
    assert_eq!(reply.body["name"], "Neighbour 0");

    // An order for a waiting address, released from the temporary table.
    let order = app.order(token, &seller_id, number).await;
    let order = order["order_id"].as_str().unwrap().to_owned();
    let released = release(&app, &order, buyer_id, &pickup, &terminal).await;
    assert_eq!(released.status, StatusCode::OK, "{:?}", released.body);
    assert_eq!(
        terminal.open_recipient(&released, &order)["line"],
        during.line.as_str()
    );
    // The address stored before cannot be read: fail closed, retry later.
    let refused = release(&app, &before_order, &before_id, &pickup, &terminal).await;
    assert_eq!(
        refused.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{:?}",
        refused.body
    );
    assert!(refused.headers.contains_key("retry-after"));

    // The directory holds the waiting records sealed: no name, street line or phone.
    let StoreLocation::Sqlite(dir) = &app.location else {
        unreachable!()
    };
    let bytes = directory_bytes(dir);
    for secret in [&during.line, &twin.name, "Neighbour 1", &during.phone] {
        assert!(!contains(&bytes, secret), "{secret} is in the directory");
    }

    // After: the vault comes back and every waiting record is flushed into it.
    std::fs::rename(&away, &folder).unwrap();
    let flushed = wait_for(&app, "the flush", |h| {
        h["vault"]["writes_to"] == "primary" && h["temporary_table"]["depth"] == 0
    })
    .await;
    assert_eq!(flushed["temporary_table"]["oldest_age_seconds"], 0.0);
    for (person, (_, number, token)) in &neighbours {
        let reply = profile(&app, token).await;
        assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
        assert_eq!(reply.body["name"], person.name.as_str());
        assert_eq!(reply.body["addresses"][0]["address_id"], number.as_str());
    }
    // The twin's address was the one stored before: merged into its number.
    let reply = profile(&app, &twin_token).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_eq!(
        reply.body["addresses"][0]["address_id"],
        twin_number.as_str()
    );
    assert_eq!(
        app.vault_number(&twin_number).await,
        app.vault_number(&before_number).await,
        "{twin_id}"
    );
    // The buyer who held the address twice keeps their older entry; the order to the other
    // one follows it and is released to the address as they first spelled it.
    let reply = profile(&app, &before_token).await;
    let addresses = reply.body["addresses"].as_array().unwrap();
    assert_eq!(addresses.len(), 1, "{addresses:?}");
    assert_eq!(addresses[0]["address_id"], before_number.as_str());
    let released = release(&app, &again_order, &before_id, &pickup, &terminal).await;
    assert_eq!(released.status, StatusCode::OK, "{:?}", released.body);
    assert_eq!(
        terminal.open_recipient(&released, &again_order)["line"],
        before.line.as_str()
    );
    // Orders of both kinds are released from the vault now.
    let released = release(&app, &before_order, &before_id, &pickup, &terminal).await;
    assert_eq!(released.status, StatusCode::OK, "{:?}", released.body);
    assert_eq!(
        terminal.open_recipient(&released, &before_order)["line"],
        before.line.as_str()
    );
    let again = release(&app, &order, buyer_id, &pickup, &terminal).await;
    assert_eq!(again.status, StatusCode::OK, "{:?}", again.body);
    let vault = std::fs::read(folder.join("vault.db")).unwrap();
    assert!(
        !contains(&vault, &during.line),
        "the vault holds ciphertext only"
    );
    let metrics = app.ops(Method::GET, "/metrics", None).await;
    let text = metrics.body.as_str().unwrap_or_default().to_owned();
    assert!(
        text.contains("lasthop_origin_temporary_table_depth 0"),
        "{text}"
    );
    assert!(text.contains("lasthop_origin_vault_writable 1"), "{text}");
}

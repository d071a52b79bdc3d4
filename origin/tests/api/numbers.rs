//! Number rotation (`lasthop_origin::numbers`): a rotation stopped after any of its steps (as a
//! kill -9 would stop it) leaves every record reachable under exactly one number and is
//! finished by the job's resume; the periodic job renumbers aged records while orders go on.

use std::collections::BTreeSet;
use std::time::Duration;

use axum::http::StatusCode;
use lasthop_core::ids::AddressId;
use lasthop_origin::numbers;
use lasthop_origin::records::{self, AddressPlain};
use tokio_util::sync::CancellationToken;

use crate::helpers::TestApp;
use crate::scenarios::parcel;

/// Both stores as they are: `(vault numbers with their blind index, numbers the directory's
/// entries name, unfinished rotations)`.
async fn stores(app: &TestApp) -> (Vec<(String, String)>, BTreeSet<String>, i64) {
    let vault = app.state.stores().vault.primary_pool().expect("vault pool");
    let records: Vec<(String, String)> =
        sqlx::query_as("SELECT address_id, blind_index FROM address_records ORDER BY address_id")
            .fetch_all(&vault)
            .await
            .unwrap();
    let directory = app.state.stores().directory.pool();
    let named: Vec<(String,)> = sqlx::query_as("SELECT address_id FROM buyer_addresses")
        .fetch_all(directory)
        .await
        .unwrap();
    let (unfinished,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM number_rotations WHERE state <> 'done'")
            .fetch_one(directory)
            .await
            .unwrap();
    (
        records,
        named.into_iter().map(|(n,)| n).collect(),
        unfinished,
    )
}

/// Every number an entry names is in the vault, and duplicate detection (a real blind index)
/// finds each address under one number only.
async fn every_entry_reachable(app: &TestApp) {
    let (records, named, _) = stores(app).await;
    let held: BTreeSet<&str> = records.iter().map(|(id, _)| id.as_str()).collect();
    for number in &named {
        assert!(
            held.contains(number.as_str()),
            "{number} named but not held"
        );
    }
    let real: Vec<&str> = records
        .iter()
        .filter(|(_, index)| !index.starts_with("rotating:"))
        .map(|(_, index)| index.as_str())
        .collect();
    let unique: BTreeSet<&str> = real.iter().copied().collect();
    assert_eq!(real.len(), unique.len(), "one number per address");
}

/// After the job: one record per number, no placeholder, nothing unfinished, nothing orphaned.
async fn exactly_one_number_each(app: &TestApp) {
    every_entry_reachable(app).await;
    let (records, named, unfinished) = stores(app).await;
    assert_eq!(unfinished, 0);
    let held: BTreeSet<String> = records.iter().map(|(id, _)| id.clone()).collect();
    assert_eq!(
        held, named,
        "every vault number is named by an entry, and only those"
    );
    assert!(records.iter().all(|(_, i)| !i.starts_with("rotating:")));
}

/// The steps of a rotation of `old`, stopped after `steps` of them (0: only the intent).
async fn rotate_partly(app: &TestApp, old: &str, steps: usize) -> String {
    let stores = app.state.stores();
    let new = AddressId::generate(&mut rand::rngs::OsRng);
    let new = new.as_str();
    let now = app.state.now().unix_millis();
    stores
        .directory
        .begin_rotation(old, new, now)
        .await
        .unwrap();
    if steps >= 1 {
        let sealed = stores.vault.address(old).await.unwrap().unwrap();
        let plain: AddressPlain = records::open(&app.state.keys().vault, old, &sealed).unwrap();
        let resealed = records::seal(&app.state.keys().vault, new, &plain);
        stores.vault.insert_rotated(new, &resealed).await.unwrap();
    }
    if steps >= 2 {
        stores.directory.switch_rotation(old, new).await.unwrap();
    }
    if steps >= 3 {
        stores.vault.retire_rotated(old, new).await.unwrap();
    }
    new.to_owned()
}

/// For each point a crash can stop a rotation at: the order in flight still releases there,
/// a new registration of the same address joins the record, and the resume finishes the
/// rotation with every entry on the new number and the old one gone.
pub async fn a_rotation_stopped_after_any_step_is_finished_by_the_resume(app: TestApp) {
    for steps in 0..=3 {
        let p = parcel(&app, &format!("stop{steps}")).await;
        let old = app.vault_number(&p.address_id).await;
        let new = rotate_partly(&app, &old, steps).await;
        every_entry_reachable(&app).await;
        let released = p.release(&app).await;
        assert_eq!(
            released.status,
            StatusCode::OK,
            "{steps}: {:?}",
            released.body
        );
        // A neighbour registering the same address now shares the record.
        let (_, twin, _) = app.buyer(&p.person).await;
        let twin_number = app.vault_number(&twin).await;
        assert!(twin_number == old || twin_number == new, "{steps}");
        every_entry_reachable(&app).await;

        let finished = numbers::resume(&app.state).await.unwrap();
        assert_eq!(finished, 1, "{steps}");
        assert_eq!(app.vault_number(&p.address_id).await, new, "{steps}");
        assert_eq!(app.vault_number(&twin).await, new, "{steps}");
        assert!(app
            .state
            .stores()
            .vault
            .address(&old)
            .await
            .unwrap()
            .is_none());
        exactly_one_number_each(&app).await;
        // The entry ids did not move: the owner still sees the order's address.
        let again = p.release(&app).await;
        assert_eq!(again.status, StatusCode::OK, "{steps}: {:?}", again.body);
        // Resuming again finds nothing to do.
        assert_eq!(numbers::resume(&app.state).await.unwrap(), 0);
    }
    let rendered = app.state.metrics().render();
    assert!(
        rendered.contains("lasthop_origin_number_rotations_resumed_total 4"),
        "{rendered}"
    );
}

/// The periodic job renumbers every record older than its period, again and again, while
/// buyers register and order; the ops call goes through the same steps.
pub async fn the_periodic_job_renumbers_aged_records_and_orders_go_on(app: TestApp) {
    let p = parcel(&app, "periodic").await;
    let first = app.vault_number(&p.address_id).await;
    let shutdown = CancellationToken::new();
    let job = tokio::spawn(numbers::run(
        app.state.clone(),
        Some(Duration::from_secs(1)),
        shutdown.clone(),
    ));
    let mut seen = BTreeSet::from([first.clone()]);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while seen.len() < 3 {
        assert!(tokio::time::Instant::now() < deadline, "rotated {seen:?}");
        let (_, entry, token) = app.buyer(&crate::helpers::Person::new("periodic")).await;
        let (seller, _) = app.seller("Tea Shop").await;
        app.order(&token, &seller, &entry).await;
        seen.insert(app.vault_number(&p.address_id).await);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    shutdown.cancel();
    job.await.unwrap();
    exactly_one_number_each(&app).await;
    let released = p.release(&app).await;
    assert_eq!(released.status, StatusCode::OK, "{:?}", released.body);
    assert!(app
        .state
        .stores()
        .vault
        .address(&first)
        .await
        .unwrap()
        .is_none());
    assert!(app
        .state
        .metrics()
        .render()
        .contains("lasthop_origin_numbers_rotated_total"));
    // The ops call rotates through the same steps and answers as before.
    let number = app.vault_number(&p.address_id).await;
    let reply = app.rotate_number(&number).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_eq!(
        app.vault_number(&p.address_id).await,
        reply.str("address_id")
    );
    exactly_one_number_each(&app).await;
}

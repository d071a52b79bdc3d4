//! Writes that race each other: many releases at once (some of the same order), and the same
//! address registered by many buyers at once. Each must succeed, with exactly its audit row
//! and one address number, on both backends.

use axum::http::StatusCode;
use futures_util::future::join_all;

use crate::helpers::{Person, TestApp};

/// Orders released at the same moment, each asked for twice at once.
const ORDERS: usize = 12;

pub async fn concurrent_releases_all_succeed_each_with_exactly_its_audit_rows(app: &TestApp) {
    let person = Person::new("contention");
    let (buyer_id, address_id, buyer_token) = app.buyer(&person).await;
    let (seller_id, _) = app.seller("Busy Shop").await;
    let hub_id = app.hub("district", "110105").await;
    let pickup = app.enrol(&hub_id, "pickup").await;
    let terminal = app.enrol(&hub_id, "hub").await;
    let mut orders = Vec::new();
    for _ in 0..ORDERS {
        let order = app.order(&buyer_token, &seller_id, &address_id).await;
        orders.push(order["order_id"].as_str().expect("order id").to_owned());
    }
    // Each ask carries its own chain: the pickup at the buyer's district and the terminal's scan.
    let chain = |order: &str| app.chain(&pickup, &terminal, order, &buyer_id);
    let chains: Vec<_> = orders
        .iter()
        .chain(orders.iter())
        .map(|o| (o, chain(o)))
        .collect();
    let asks = chains
        .iter()
        .map(|(order, chain)| app.release_with_chain(order, &terminal.token, chain));
    let replies = join_all(asks).await;
    for reply in &replies {
        assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    }
    let directory = &app.state.stores().directory;
    for (i, order) in orders.iter().enumerate() {
        let first = replies[i].str("release_id");
        assert_eq!(
            replies[i + ORDERS].str("release_id"),
            first,
            "one release per order and hub"
        );
        let audit = directory.audit_for_order(order).await.expect("audit");
        assert_eq!(
            audit.len(),
            2,
            "one audit row per answered release of {order}"
        );
        assert!(audit.iter().all(|row| row.release_id == first));
    }
    // The releases took their places in the audit's hash chain one after the other.
    let chain = directory.audit_chain().await.expect("audit chain");
    let verified = lasthop_origin::commands::audit::check_chain(&chain)
        .expect("the audit chain stays linear under concurrent releases");
    assert_eq!(verified.rows, 2 * ORDERS as u64);
}

pub async fn one_address_registered_by_many_buyers_at_once_gets_one_number(app: &TestApp) {
    let people: Vec<Person> = (0..ORDERS)
        .map(|i| {
            let mut person = Person::new("same-address");
            person.name = format!("Neighbour {i}");
            person
        })
        .collect();
    let registered = join_all(people.iter().map(|p| app.buyer(p))).await;
    let ids: std::collections::BTreeSet<&str> = registered
        .iter()
        .map(|(_, address, _)| address.as_str())
        .collect();
    assert_eq!(ids.len(), ORDERS, "one id per buyer: {ids:?}");
    let mut numbers = std::collections::BTreeSet::new();
    for id in ids {
        numbers.insert(app.vault_number(id).await);
    }
    assert_eq!(numbers.len(), 1, "{numbers:?}");
}

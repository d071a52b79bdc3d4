//! Correct under parallel load: 16 clients run whole journeys at once — registrations (some of
//! identical addresses), orders, pickups, hops, final-hop releases (some asked again right away, as
//! after a lost answer) and deliveries — for a bounded time through the real stack (the origin and the Worker
//! under `wrangler dev`), once with the origin on SQLite files and once on PostgreSQL.
//!
//! Afterwards: no request was answered 5xx (or anything a journey does not expect); every
//! acknowledged registration is in its owner's profile, identical addresses share one number;
//! every acknowledged order is in the seller's list with its last acknowledged state; every
//! answered release has exactly its audit row in the buyer's access log, with the same release id.
//!
//! `LASTHOP_CONCURRENCY_SECS` sets the load time per backend (default 12).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::{order_created, state_dir, text, Buyer, Person, Scanner, Seller, World};
use lasthop_e2e::postgres::{self, PgCluster, PgOptions};
use lasthop_e2e::{Reply, Stack, StackOptions};

const CLIENTS: usize = 16;
/// Addresses several buyers register at the same time; they must end up with one number each.
const SHARED_ADDRESSES: usize = 3;

#[test]
fn sixteen_clients_of_mixed_journeys_on_sqlite_get_no_5xx_and_lose_nothing() {
    let mut options = StackOptions::new(state_dir("concurrency-sqlite"));
    options.edge_vars = vec![("SCANNER_RATE_PER_MINUTE".into(), "100000000".into())];
    // One final hub serves every client here: lift its release limit at the origin too.
    options.origin_env = vec![("LASTHOP_RELEASE_RATE_PER_MINUTE".into(), "100000000".into())];
    let stack = Stack::spawn(options).unwrap();
    let directory = format!("sqlite://{}?mode=ro", stack.origin.directory_db().display());
    run_and_check(&stack, &directory);
}

#[test]
fn sixteen_clients_of_mixed_journeys_on_postgres_get_no_5xx_and_lose_nothing() {
    if !postgres::required().unwrap() {
        return;
    }
    let cluster = PgCluster::primary(PgOptions::throwaway(state_dir("concurrency-pg"))).unwrap();
    let stores = cluster.create_store_databases("lasthop").unwrap();
    let mut options = StackOptions::new(state_dir("concurrency-postgres"));
    options.edge_vars = vec![("SCANNER_RATE_PER_MINUTE".into(), "100000000".into())];
    // One final hub serves every client here: lift its release limit at the origin too.
    options.origin_env = vec![("LASTHOP_RELEASE_RATE_PER_MINUTE".into(), "100000000".into())];
    let directory = stores.directory.clone();
    options.origin_stores = Some(stores);
    let stack = Stack::spawn(options).unwrap();
    run_and_check(&stack, &directory);
}

/// The hubs of a Hangzhou → Beijing (Chaoyang) journey.
struct Route {
    pickup: Scanner,
    hops: Vec<Scanner>,
    last: Scanner,
}

/// What the clients saw acknowledged, and what they did not expect.
#[derive(Default)]
struct Ledger {
    buyers: Vec<(Buyer, Option<usize>)>,
    /// Order id → (buyer id, delivered).
    orders: BTreeMap<String, (String, bool)>,
    /// Order id → release ids of every answered final-hop scan.
    releases: BTreeMap<String, Vec<String>>,
    unexpected: Vec<String>,
    requests: usize,
}

impl Ledger {
    fn expect(&mut self, what: &str, reply: &Reply, status: u16) -> bool {
        self.requests += 1;
        if reply.status == status {
            return true;
        }
        self.unexpected
            .push(format!("{what}: {} {}", reply.status, reply.body));
        false
    }
}

/// The shared vault number behind each buyer's address id, read from the directory store (no
/// answer to a buyer names it).
fn vault_numbers(directory_url: &str) -> BTreeMap<String, String> {
    common::with_pool(directory_url, |pool| async move {
        let rows: Vec<(String, String)> =
            sqlx::query_as("SELECT entry_id, address_id FROM buyer_addresses")
                .fetch_all(&pool)
                .await
                .unwrap();
        rows.into_iter().collect()
    })
}

fn run_and_check(stack: &Stack, directory_url: &str) {
    let w = World::new(stack);
    let seller = w.register_seller("Concurrent Shop");
    let (pickup, hops) = w.courier_route();
    let route = Route {
        pickup,
        hops,
        last: w.scanner("110105", "hub"),
    };
    // One journey first, alone: the Worker's and the gates' first requests are slow (cold
    // isolates, new objects), and the load should measure contention, not warm-up.
    let warm_up = Mutex::new(Ledger::default());
    run_journey(&w, &seller, &route, CLIENTS, 0, &warm_up);
    let warm_up = warm_up.into_inner().unwrap();
    assert!(warm_up.unexpected.is_empty(), "{:?}", warm_up.unexpected);
    let seconds = std::env::var("LASTHOP_CONCURRENCY_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(12);
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let ledger = Mutex::new(Ledger::default());
    std::thread::scope(|scope| {
        for client in 0..CLIENTS {
            let (w, seller, route, ledger) = (&w, &seller, &route, &ledger);
            scope.spawn(move || {
                let mut journey = 0;
                while Instant::now() < deadline {
                    run_journey(w, seller, route, client, journey, ledger);
                    journey += 1;
                }
            });
        }
    });
    let ledger = ledger.into_inner().unwrap();
    eprintln!(
        "{} requests by {CLIENTS} clients in {seconds} s: {} buyers, {} orders, {} released",
        ledger.requests,
        ledger.buyers.len(),
        ledger.orders.len(),
        ledger.releases.len()
    );
    assert!(
        ledger.unexpected.is_empty(),
        "{} unexpected answers under load, first ones: {:#?}",
        ledger.unexpected.len(),
        &ledger.unexpected[..ledger.unexpected.len().min(10)]
    );
    assert!(
        ledger.releases.len() >= CLIENTS,
        "the load was too light to mean anything"
    );
    check_everything_acknowledged_is_there(&w, &seller, &ledger, &vault_numbers(directory_url));
}

/// One whole journey; every answer is booked into the ledger.
fn run_journey(
    w: &World,
    seller: &Seller,
    route: &Route,
    client: usize,
    journey: usize,
    ledger: &Mutex<Ledger>,
) {
    let book =
        |what: &str, reply: &Reply, status: u16| ledger.lock().unwrap().expect(what, reply, status);
    // Every third registration is of one of a few addresses other clients register too.
    let shared = (journey % 3 == 0).then_some((client + journey) % SHARED_ADDRESSES);
    let person = Person::numbered(&format!("并发{client}-"), journey, shared);
    let reply = w.register_buyer_reply(&person);
    if !book("register buyer", &reply, 201) {
        return;
    }
    let buyer = Buyer::registered(&reply, &person);
    ledger.lock().unwrap().buyers.push((buyer.clone(), shared));

    let reply = w.create_order_reply(&buyer, seller);
    if !book("create order", &reply, 201) {
        return;
    }
    let order = order_created(&reply);
    ledger
        .lock()
        .unwrap()
        .orders
        .insert(order.clone(), (buyer.id.clone(), false));

    if !book("pickup", &w.pickup(&route.pickup, &order, &buyer.id), 200) {
        return;
    }
    for hub in &route.hops {
        if !book("hop", &w.hop(hub, &order), 200) {
            return;
        }
    }
    // The final hop; on every other journey asked again at once, as a hub does whose answer
    // was lost (the origin answers the same release and audits the second answer too).
    let asks = if journey % 2 == 0 { 2 } else { 1 };
    let finals: Vec<Reply> = (0..asks).map(|_| w.hop(&route.last, &order)).collect();
    let mut release_id = None;
    for reply in &finals {
        if book("final hop", reply, 200) {
            let body = reply.json().unwrap();
            let id = text(&body, "release_id");
            ledger
                .lock()
                .unwrap()
                .releases
                .entry(order.clone())
                .or_default()
                .push(id.clone());
            release_id = Some(id);
        }
    }
    let Some(release_id) = release_id else {
        return;
    };
    // Most parcels are delivered; a few stay released.
    if journey % 4 != 3 && book("deliver", &w.deliver(&route.last, &order, &release_id), 200) {
        if let Some(entry) = ledger.lock().unwrap().orders.get_mut(&order) {
            entry.1 = true;
        }
    }
}

fn check_everything_acknowledged_is_there(
    w: &World,
    seller: &Seller,
    ledger: &Ledger,
    behind: &BTreeMap<String, String>,
) {
    // Identical addresses share one vault number, whoever registered them and whenever; each
    // buyer has an id of their own for it.
    let mut numbers: BTreeMap<usize, BTreeSet<&str>> = BTreeMap::new();
    let mut ids = BTreeSet::new();
    for (buyer, shared) in &ledger.buyers {
        assert!(
            ids.insert(&buyer.address_id),
            "{} answered twice",
            buyer.address_id
        );
        if let Some(shared) = shared {
            numbers.entry(*shared).or_default().insert(
                behind
                    .get(&buyer.address_id)
                    .map_or("(no entry)", String::as_str),
            );
        }
    }
    for (shared, numbers) in &numbers {
        assert_eq!(
            numbers.len(),
            1,
            "shared address {shared} got several numbers: {numbers:?}"
        );
    }

    // Every registration is readable by its owner; every release has exactly its audit row.
    let mut audited = 0;
    for (buyer, _) in &ledger.buyers {
        let reply = w.profile(buyer);
        assert_eq!(reply.status, 200, "profile of {}: {}", buyer.id, reply.body);
        let profile = reply.json().unwrap();
        assert_eq!(profile["name"], buyer.person.name.as_str());
        assert_eq!(profile["phone"], buyer.person.phone.as_str());
        let addresses = profile["addresses"].as_array().unwrap();
        assert!(
            addresses
                .iter()
                .any(|a| a["address_id"] == buyer.address_id.as_str()
                    && a["line"] == buyer.person.line.as_str()),
            "{} lost its address: {profile}",
            buyer.id
        );
        let log = profile["access_log"].as_array().unwrap();
        for (order, (owner, _)) in &ledger.orders {
            if owner != &buyer.id {
                continue;
            }
            let rows: Vec<&str> = log
                .iter()
                .filter(|row| row["order_id"] == order.as_str())
                .map(|row| row["release_id"].as_str().unwrap())
                .collect();
            let answered = ledger.releases.get(order).cloned().unwrap_or_default();
            assert_eq!(
                rows.len(),
                answered.len(),
                "order {order}: {} answered releases but {} audit rows",
                answered.len(),
                rows.len()
            );
            assert!(
                rows.iter().all(|r| answered.iter().any(|a| a == r)),
                "order {order}: audit rows {rows:?} for releases {answered:?}"
            );
            audited += rows.len();
        }
    }
    assert_eq!(
        audited,
        ledger.releases.values().map(Vec::len).sum::<usize>()
    );

    // Every order is in the seller's list, delivered ones as delivered.
    let reply = w.seller_orders(seller);
    assert_eq!(reply.status, 200, "seller orders: {}", reply.body);
    let listed: BTreeMap<String, String> = reply.json().unwrap()["orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| (text(o, "order_id"), text(o, "status")))
        .collect();
    for (order, (_, delivered)) in &ledger.orders {
        let status = listed
            .get(order)
            .unwrap_or_else(|| panic!("acknowledged order {order} is missing"));
        if *delivered {
            assert_eq!(status, "delivered", "order {order}");
        }
    }
}

//! The vault stays up: faults on real PostgreSQL clusters started here (the directory, the vault
//! primary and its synchronous streaming standby), against the real origin binary, and one
//! through the edge on the embedded SQLite default.
//!
//! - `kill -9` of the vault primary under registration load: registrations keep getting 201
//!   through the temporary table; every one is readable afterwards, none duplicated, identical
//!   addresses share one number; the table is empty again soon after the primary is back.
//! - With the primary killed, the standby serves final-hop releases of addresses stored before;
//!   after an operator promotes it, the origin writes to it and flushes the table into it.
//! - `kill -9` of the origin 100 times at random points of a mixed release/registration load
//!   (the vault primary down for the second half of them): no release was answered without its
//!   audit row, nothing acknowledged is lost or half-written, the table flushes after a restart.
//! - The directory down: 503 with `Retry-After`, nothing lost, service resumes by itself.
//! - Through the edge, the SQLite vault going away and coming back: a final hop answers 503
//!   with `Retry-After` while nothing can serve its address, and 200 on a retry afterwards.
//!
//! Each test prints its figures (times from a fault to the recovery it waits for) on stderr;
//! they are reported, never asserted.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::internal::InternalOrigin;
use common::{order_created, state_dir, text, Buyer, Person, Scanner, Seller, World};
use lasthop_e2e::postgres::{self, PgStores};
use lasthop_e2e::{OriginOptions, OriginProcess, Reply, Stack, StackOptions, StoreUrls};
use rand::Rng as _;
use serde_json::Value;

/// Addresses several registrations share.
const SHARED: usize = 3;

/// The three clusters and an origin on them.
fn pg_origin(name: &str) -> Option<(PgStores, OriginProcess)> {
    if !postgres::required().unwrap() {
        return None;
    }
    let stores = PgStores::start(&state_dir(&format!("{name}-pg")), true).unwrap();
    let mut options = OriginOptions::new(state_dir(&format!("{name}-origin")));
    options.stores = Some(stores.urls());
    // One final hub serves every release here: lift its release limit.
    options.env = vec![("LASTHOP_RELEASE_RATE_PER_MINUTE".into(), "100000000".into())];
    let origin = OriginProcess::spawn(options).unwrap();
    Some((stores, origin))
}

fn health(origin: &OriginProcess) -> Option<Value> {
    let reply = origin.client().get("/healthz").send().ok()?;
    (reply.status == 200).then(|| reply.json().ok()).flatten()
}

/// Polls `/healthz` until `done` holds; how long it took.
fn wait_health(origin: &OriginProcess, what: &str, done: impl Fn(&Value) -> bool) -> Duration {
    let started = Instant::now();
    loop {
        if health(origin).as_ref().is_some_and(&done) {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{what} did not happen: {:?}",
            health(origin)
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// One answered registration.
struct Registered {
    buyer: Buyer,
    shared: Option<usize>,
    finished: Instant,
    started: Instant,
}

/// Registrations by `clients` threads until `stop`; every answer other than 201 and 503 (or
/// no answer, when `origin_may_vanish`) is a failure.
fn registration_load(
    api: &InternalOrigin,
    tag: &str,
    clients: usize,
    stop: &AtomicBool,
    origin_may_vanish: bool,
) -> (Vec<Registered>, Vec<String>) {
    let done = Mutex::new(Vec::new());
    let failures = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for client in 0..clients {
            let (done, failures) = (&done, &failures);
            scope.spawn(move || {
                let mut n = 0;
                while !stop.load(Ordering::SeqCst) {
                    n += 1;
                    let shared = (n % 3 == 0).then_some(n % SHARED);
                    let who = Person::numbered(&format!("{tag}{client}-"), n, shared);
                    let started = Instant::now();
                    match api.try_register_buyer(&who) {
                        Ok(reply) if reply.status == 201 => {
                            done.lock().unwrap().push(Registered {
                                buyer: Buyer::registered(&reply, &who),
                                shared,
                                finished: Instant::now(),
                                started,
                            });
                        }
                        Ok(reply) if reply.status == 503 => {
                            assert!(reply.header("retry-after").is_some(), "{}", reply.body);
                            std::thread::sleep(Duration::from_millis(20));
                        }
                        Ok(reply) => failures
                            .lock()
                            .unwrap()
                            .push(format!("{} {}", reply.status, reply.body)),
                        Err(err) if origin_may_vanish => {
                            let _ = err;
                            std::thread::sleep(Duration::from_millis(20));
                        }
                        Err(err) => failures.lock().unwrap().push(err.to_string()),
                    }
                }
            });
        }
    });
    (done.into_inner().unwrap(), failures.into_inner().unwrap())
}

/// The shared vault number behind each buyer's address id, read from the directory (no answer
/// to a buyer names it).
fn vault_numbers(stores: &PgStores) -> BTreeMap<String, String> {
    rows(
        &stores.directory,
        "lasthop_directory",
        "SELECT entry_id || ' ' || address_id FROM buyer_addresses",
    )
    .into_iter()
    .filter_map(|row| {
        row.split_once(' ')
            .map(|(entry, number)| (entry.to_owned(), number.to_owned()))
    })
    .collect()
}

/// Every acknowledged registration is readable by its owner with its address, no buyer twice,
/// each with an address id of their own, and identical addresses share one vault number.
fn check_registrations(api: &InternalOrigin, stores: &PgStores, registered: &[Registered]) {
    let behind = vault_numbers(stores);
    let mut entries = BTreeSet::new();
    let mut ids = BTreeSet::new();
    let mut numbers: BTreeMap<usize, BTreeSet<String>> = BTreeMap::new();
    for r in registered {
        assert!(ids.insert(r.buyer.id.clone()), "{} twice", r.buyer.id);
        let reply = api.profile(&r.buyer);
        assert_eq!(reply.status, 200, "{}: {}", r.buyer.id, reply.body);
        let profile = reply.json().unwrap();
        assert_eq!(profile["name"], r.buyer.person.name.as_str());
        let addresses = profile["addresses"].as_array().unwrap();
        assert_eq!(addresses.len(), 1, "{profile}");
        assert_eq!(addresses[0]["line"], r.buyer.person.line.as_str());
        let entry = text(&addresses[0], "address_id");
        assert!(
            entries.insert(entry.clone()),
            "{entry} answered to two buyers"
        );
        if let Some(shared) = r.shared {
            numbers
                .entry(shared)
                .or_default()
                .insert(behind.get(&entry).cloned().unwrap_or_default());
        }
    }
    for (shared, set) in numbers {
        assert_eq!(set.len(), 1, "shared address {shared}: {set:?}");
    }
}

#[test]
fn kill_9_of_the_vault_primary_under_registration_load_loses_no_registration() {
    let Some((mut stores, origin)) = pg_origin("kill-primary") else {
        return;
    };
    let api = InternalOrigin::new(&origin);
    let stop = AtomicBool::new(false);
    let (registered, failures, killed_at, restarted_at) = std::thread::scope(|scope| {
        let load = scope.spawn(|| registration_load(&api, "kp", 4, &stop, false));
        std::thread::sleep(Duration::from_secs(3));
        let killed_at = Instant::now();
        stores.vault_primary.kill();
        wait_health(&origin, "writes to the temporary table", |h| {
            h["temporary_table"]["depth"].as_i64() > Some(0)
        });
        std::thread::sleep(Duration::from_secs(4));
        let restarted_at = Instant::now();
        stores.vault_primary.start().unwrap();
        std::thread::sleep(Duration::from_secs(2));
        stop.store(true, Ordering::SeqCst);
        let (registered, failures) = load.join().unwrap();
        (registered, failures, killed_at, restarted_at)
    });
    assert!(failures.is_empty(), "{failures:#?}");
    let first_after_kill = registered
        .iter()
        .filter(|r| r.started >= killed_at)
        .map(|r| r.finished - killed_at)
        .min()
        .expect("a registration during the outage");
    wait_health(&origin, "an empty temporary table", |h| {
        h["vault"]["writes_to"] == "primary" && h["temporary_table"]["depth"] == 0
    });
    let emptied = restarted_at.elapsed();
    let during = registered
        .iter()
        .filter(|r| r.started >= killed_at && r.finished < restarted_at)
        .count();
    eprintln!(
        "figures: kill -9 of the vault primary -> first 201 through the temporary table: {} ms; \
         primary restarted -> temporary table empty: {} ms; {} registrations, {during} during \
         the outage",
        first_after_kill.as_millis(),
        emptied.as_millis(),
        registered.len()
    );
    assert!(during > 0, "no registration was answered during the outage");
    check_registrations(&api, &stores, &registered);
}

#[test]
fn with_the_primary_killed_the_standby_serves_releases_and_a_promoted_standby_takes_the_writes() {
    let Some((mut stores, origin)) = pg_origin("standby") else {
        return;
    };
    let api = InternalOrigin::new(&origin);
    let seller = api.register_seller("Standby Shop");
    let pickup = api.scanner("110105", "pickup");
    let hub = api.scanner("110105", "hub");
    let before: Vec<(Buyer, String)> = (0..6)
        .map(|n| {
            let buyer = api.register_buyer(&Person::numbered("sb", n, None));
            let order = api.create_order(&buyer, &seller);
            (buyer, order)
        })
        .collect();

    let killed_at = Instant::now();
    stores.vault_primary.kill();
    // The first release after the kill: the primary's failure costs one attempt, then the
    // standby answers.
    let first = loop {
        let (buyer, order) = &before[0];
        let reply = api.release(&pickup, &hub, order, &buyer.id);
        if reply.status == 200 {
            break killed_at.elapsed();
        }
        assert_eq!(reply.status, 503, "{}", reply.body);
        assert!(
            killed_at.elapsed() < Duration::from_secs(30),
            "{}",
            reply.body
        );
    };
    for (buyer, order) in &before[1..] {
        let reply = api.release(&pickup, &hub, order, &buyer.id);
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert_eq!(
            hub.open_recipient(&reply.json().unwrap(), order)["name"],
            buyer.person.name.as_str()
        );
    }
    let health_now = health(&origin).unwrap();
    assert_eq!(health_now["vault"]["reads_from"], "standby", "{health_now}");
    // Registrations meanwhile wait in the temporary table.
    let during: Vec<Buyer> = (10..14)
        .map(|n| api.register_buyer(&Person::numbered("sb", n, Some(n % 2))))
        .collect();
    assert!(health(&origin).unwrap()["temporary_table"]["depth"].as_i64() >= Some(4));

    // An operator promotes the standby: writes go there and the table is flushed into it.
    let promoted_at = Instant::now();
    stores.vault_standby.promote().unwrap();
    wait_health(&origin, "the promoted standby taking writes", |h| {
        h["vault"]["writes_to"] == "standby" && h["temporary_table"]["depth"] == 0
    });
    let emptied = promoted_at.elapsed();
    let after = api.register_buyer(&Person::numbered("sb", 20, None));
    assert_eq!(health(&origin).unwrap()["temporary_table"]["depth"], 0);
    eprintln!(
        "figures: kill -9 of the vault primary -> first release served by the standby: {} ms; \
         standby promoted -> temporary table empty: {} ms",
        first.as_millis(),
        emptied.as_millis()
    );
    for buyer in during.iter().chain(std::iter::once(&after)) {
        let reply = api.profile(buyer);
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert_eq!(reply.json().unwrap()["name"], buyer.person.name.as_str());
    }
    let behind = vault_numbers(&stores);
    let number = |buyer: &Buyer| {
        let entry = text(
            &api.profile(buyer).json().unwrap()["addresses"][0],
            "address_id",
        );
        behind
            .get(&entry)
            .cloned()
            .unwrap_or_else(|| panic!("{entry}"))
    };
    assert_eq!(
        number(&during[0]),
        number(&during[2]),
        "identical addresses share one number"
    );
}

#[test]
fn kill_9_of_the_origin_100_times_loses_nothing_and_releases_nothing_unaudited() {
    let Some((mut stores, mut origin)) = pg_origin("kill-origin") else {
        return;
    };
    let api = InternalOrigin::new(&origin);
    let seller = api.register_seller("Crash Shop");
    let pickup = api.scanner("110105", "pickup");
    let hub = api.scanner("110105", "hub");
    let stop = AtomicBool::new(false);
    let registered = Mutex::new(Vec::<Buyer>::new());
    // Order id -> release ids of every answered release.
    let released = Mutex::new(BTreeMap::<String, Vec<String>>::new());
    let unexpected = Mutex::new(Vec::<String>::new());
    let cycles = 100;
    std::thread::scope(|scope| {
        for client in 0..2 {
            let (api, seller, pickup, hub, stop) = (&api, &seller, &pickup, &hub, &stop);
            let (registered, released, unexpected) = (&registered, &released, &unexpected);
            scope.spawn(move || {
                let mut n = 0;
                while !stop.load(Ordering::SeqCst) {
                    n += 1;
                    mixed_step(
                        api, seller, pickup, hub, client, n, registered, released, unexpected,
                    );
                }
            });
        }
        let mut rng = rand::thread_rng();
        for cycle in 0..cycles {
            // The second half runs without the vault primary: records wait in the table while
            // the origin is killed again and again (releases come from the standby).
            if cycle == cycles / 2 {
                stores.vault_primary.kill();
            }
            std::thread::sleep(Duration::from_millis(rng.gen_range(20..300)));
            origin.kill();
            origin.restart().unwrap();
        }
        stop.store(true, Ordering::SeqCst);
    });
    let waiting = health(&origin).unwrap()["temporary_table"]["depth"].as_i64();
    assert!(
        waiting > Some(0),
        "nothing waited in the table: {waiting:?}"
    );
    // The primary comes back while the origin is down; the restarted origin flushes.
    origin.kill();
    stores.vault_primary.start().unwrap();
    origin.restart().unwrap();
    let restarted = Instant::now();
    wait_health(&origin, "the flush after the last restart", |h| {
        h["vault"]["writes_to"] == "primary" && h["temporary_table"]["depth"] == 0
    });
    let emptied = restarted.elapsed();
    let unexpected = unexpected.into_inner().unwrap();
    assert!(unexpected.is_empty(), "{unexpected:#?}");
    let registered = registered.into_inner().unwrap();
    let released = released.into_inner().unwrap();
    eprintln!(
        "figures: {cycles} kill -9 of the origin; {} registrations and {} answered releases \
         acknowledged; {} records waiting at the last kill; origin restarted -> temporary table \
         empty: {} ms",
        registered.len(),
        released.values().map(Vec::len).sum::<usize>(),
        waiting.unwrap_or(0),
        emptied.as_millis()
    );
    assert!(
        !registered.is_empty() && !released.is_empty(),
        "no load got through"
    );

    // No release answered without its audit row.
    let audited = rows(
        &stores.directory,
        "lasthop_directory",
        "SELECT order_id || ' ' || release_id FROM release_audit",
    );
    for (order, ids) in &released {
        for id in ids {
            let n = audited
                .iter()
                .filter(|r| *r == &format!("{order} {id}"))
                .count();
            assert!(
                n >= 1,
                "release {id} of {order} was answered without its audit row"
            );
        }
        let answered = ids.len();
        let rows_of_order = audited
            .iter()
            .filter(|r| r.starts_with(order.as_str()))
            .count();
        assert!(
            rows_of_order >= answered,
            "{order}: {rows_of_order} < {answered}"
        );
    }
    // Nothing acknowledged lost; nothing in the directory half-written (every buyer has its
    // contact and every linked address its record, in the vault — the table is empty).
    let registered: Vec<Registered> = registered
        .into_iter()
        .map(|buyer| Registered {
            buyer,
            shared: None,
            started: Instant::now(),
            finished: Instant::now(),
        })
        .collect();
    check_registrations(&api, &stores, &registered);
    let contacts: BTreeSet<String> = rows(
        &stores.vault_primary,
        "lasthop_vault",
        "SELECT contact_id FROM contact_records",
    )
    .into_iter()
    .collect();
    let addresses: BTreeSet<String> = rows(
        &stores.vault_primary,
        "lasthop_vault",
        "SELECT address_id FROM address_records",
    )
    .into_iter()
    .collect();
    let merged: BTreeSet<String> = rows(
        &stores.directory,
        "lasthop_directory",
        "SELECT from_id FROM vault_merged",
    )
    .into_iter()
    .collect();
    for buyer in rows(
        &stores.directory,
        "lasthop_directory",
        "SELECT buyer_id FROM buyers",
    ) {
        assert!(
            contacts.contains(&buyer),
            "buyer {buyer} without a contact record"
        );
    }
    for link in rows(
        &stores.directory,
        "lasthop_directory",
        "SELECT address_id FROM buyer_addresses",
    ) {
        assert!(
            addresses.contains(&link) || merged.contains(&link),
            "address {link} linked without its record"
        );
    }
    // Every buyer's entry, and every order's (orders name entries), has its sealed record.
    let entries: BTreeSet<String> = rows(
        &stores.vault_primary,
        "lasthop_vault",
        "SELECT entry_id FROM entry_records",
    )
    .into_iter()
    .collect();
    for entry in rows(
        &stores.directory,
        "lasthop_directory",
        "SELECT entry_id FROM buyer_addresses UNION SELECT address_id FROM orders",
    ) {
        assert!(entries.contains(&entry), "entry {entry} without its record");
    }
}

/// One step of the crash test's load: a registration, an order for it, its release (and now
/// and then the release asked again). What the origin acknowledged is booked; a refused or
/// unanswered call is not (the origin may be dead at that moment).
#[allow(clippy::too_many_arguments)]
fn mixed_step(
    api: &InternalOrigin,
    seller: &Seller,
    pickup: &Scanner,
    hub: &Scanner,
    client: usize,
    n: usize,
    registered: &Mutex<Vec<Buyer>>,
    released: &Mutex<BTreeMap<String, Vec<String>>>,
    unexpected: &Mutex<Vec<String>>,
) {
    let book = |reply: &Reply, ok: u16| -> bool {
        if reply.status == ok {
            return true;
        }
        if reply.status != 503 {
            unexpected
                .lock()
                .unwrap()
                .push(format!("{} {}", reply.status, reply.body));
        }
        std::thread::sleep(Duration::from_millis(10));
        false
    };
    let who = Person::numbered(
        &format!("ko{client}-"),
        n,
        (n % 4 == 0).then_some(n % SHARED),
    );
    let Ok(reply) = api.try_register_buyer(&who) else {
        return;
    };
    if !book(&reply, 201) {
        return;
    }
    let buyer = Buyer::registered(&reply, &who);
    registered.lock().unwrap().push(buyer.clone());
    let Ok(reply) = api.try_create_order(&buyer, seller) else {
        return;
    };
    if !book(&reply, 201) {
        return;
    }
    let order = order_created(&reply);
    for _ in 0..(1 + n % 2) {
        let Ok(reply) = api.try_release(pickup, hub, &order, &buyer.id) else {
            return;
        };
        if book(&reply, 200) {
            let id = text(&reply.json().unwrap(), "release_id");
            released
                .lock()
                .unwrap()
                .entry(order.clone())
                .or_default()
                .push(id);
        }
    }
}

/// One column of a query's rows, as the superuser.
fn rows(cluster: &postgres::PgCluster, database: &str, sql: &str) -> Vec<String> {
    cluster
        .psql(database, sql)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .filter(|l| !l.is_empty())
        .collect()
}

#[test]
fn with_the_directory_down_requests_answer_503_with_retry_after_and_service_resumes() {
    let Some((mut stores, origin)) = pg_origin("directory-down") else {
        return;
    };
    let api = InternalOrigin::new(&origin);
    let stop = AtomicBool::new(false);
    let refused = std::sync::atomic::AtomicUsize::new(0);
    let (registered, failures, restarted_at) = std::thread::scope(|scope| {
        let load = scope.spawn(|| registration_load(&api, "dd", 2, &stop, false));
        std::thread::sleep(Duration::from_secs(2));
        stores.directory.kill();
        // Whatever asks now is refused with 503 and Retry-After (the load checks the header).
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            if let Ok(reply) = api.try_register_buyer(&Person::numbered("dd-probe", 0, None)) {
                if reply.status == 503 {
                    assert!(reply.header("retry-after").is_some());
                    refused.fetch_add(1, Ordering::SeqCst);
                } else {
                    assert_ne!(reply.status, 201, "a registration without the directory");
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let restarted_at = Instant::now();
        stores.directory.start().unwrap();
        // Service resumes by itself: the origin is not restarted.
        let resumed = loop {
            let reply = api.register_buyer_reply(&Person::numbered("dd-after", 1, None));
            if reply.status == 201 {
                break restarted_at.elapsed();
            }
            assert_eq!(reply.status, 503, "{}", reply.body);
            assert!(restarted_at.elapsed() < Duration::from_secs(30));
            std::thread::sleep(Duration::from_millis(20));
        };
        eprintln!(
            "figures: directory restarted -> first registration answered again: {} ms",
            resumed.as_millis()
        );
        std::thread::sleep(Duration::from_secs(1));
        stop.store(true, Ordering::SeqCst);
        let (registered, failures) = load.join().unwrap();
        (registered, failures, restarted_at)
    });
    assert!(failures.is_empty(), "{failures:#?}");
    assert!(
        refused.load(Ordering::SeqCst) > 0,
        "nothing was refused while it was down"
    );
    assert!(
        registered.iter().any(|r| r.started > restarted_at),
        "the load did not resume"
    );
    check_registrations(&api, &stores, &registered);
}

#[test]
fn through_the_edge_a_final_hop_waits_out_the_sqlite_vault_going_away_and_coming_back() {
    let dir = state_dir("edge-vault-away");
    let vault_folder = dir.join("vault");
    std::fs::create_dir_all(&vault_folder).unwrap();
    let mut options = StackOptions::new(&dir);
    options.edge_vars = vec![("SCANNER_RATE_PER_MINUTE".into(), "100000".into())];
    options.origin_stores = Some(StoreUrls {
        directory: format!("sqlite://{}?mode=rwc", dir.join("directory.db").display()),
        vault: format!(
            "sqlite://{}?mode=rwc",
            vault_folder.join("vault.db").display()
        ),
        vault_standby: None,
    });
    let stack = Stack::spawn(options).unwrap();
    let w = World::new(&stack);
    let seller = w.register_seller("Edge Outage Shop");
    let buyer = w.register_buyer(&Person::numbered("edge", 1, None));
    let order = w.create_order(&buyer, &seller);
    let (pickup, hubs) = w.courier_route();
    let last = w.scanner("110105", "hub");
    assert_eq!(w.pickup(&pickup, &order, &buyer.id).status, 200);
    for hub in &hubs {
        assert_eq!(w.hop(hub, &order).status, 200);
    }

    let away = dir.join("vault-away");
    std::fs::rename(&vault_folder, &away).unwrap();
    wait_health(&stack.origin, "the vault counted as away", |h| {
        h["vault"]["writes_to"] == "temporary_table"
    });
    // Nothing can serve this address: 503 with Retry-After, nothing released.
    let refused = w.hop(&last, &order);
    assert_eq!(refused.status, 503, "{}", refused.body);
    assert!(refused.header("retry-after").is_some());
    // A registration meanwhile is answered, and its owner reads it from the table.
    let during = w.register_buyer(&Person::numbered("edge", 2, None));
    assert_eq!(w.profile(&during).status, 200);

    std::fs::rename(&away, &vault_folder).unwrap();
    let back = Instant::now();
    let retried = loop {
        let reply = w.hop(&last, &order);
        if reply.status == 200 {
            break reply;
        }
        assert_eq!(reply.status, 503, "{}", reply.body);
        assert!(back.elapsed() < Duration::from_secs(30), "{}", reply.body);
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(
        last.open_recipient(&retried.json().unwrap(), &order)["name"],
        buyer.person.name.as_str()
    );
    wait_health(&stack.origin, "the flush", |h| {
        h["temporary_table"]["depth"] == 0
    });
    let profile = w.profile(&during);
    assert_eq!(profile.status, 200, "{}", profile.body);
    assert_eq!(profile.json().unwrap()["name"], during.person.name.as_str());
}

//! Number rotation under fire, on SQLite and on PostgreSQL: the real origin binary renumbering every
//! shared record older than one second (`--rotate-numbers-every 1s`) while buyers register
//! (a third of them at a few shared addresses), order, and have their parcels released, is
//! killed with SIGKILL 50 times at random moments and restarted. Afterwards:
//! - both stores, read directly, hold every record under exactly one number: every number an
//!   entry names is in the vault, no number a rotation replaced is left, no record is left
//!   half-rotated (placeholder index, unfinished intent), and each shared address has one
//!   number (a vault record nobody names is only a registration killed half-way);
//! - every order created before or during the kills is released (none failed);
//! - the origin's log shows interrupted rotations resumed (the kills did hit mid-rotation).
//!
//! It prints its figures (rotations resumed, kills, orders) on stderr; they are reported, never
//! asserted beyond "some".

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::internal::InternalOrigin;
use common::{order_created, state_dir, text, Buyer, Person, Scanner, Seller};
use lasthop_e2e::postgres::{self, PgCluster, PgOptions};
use lasthop_e2e::{OriginOptions, OriginProcess, StoreUrls};
use rand::Rng as _;

/// Shared addresses a third of the buyers register.
const SHARED: usize = 3;

/// Kills of the origin.
const KILLS: usize = 50;

/// A registration and the order made for it.
#[derive(Clone)]
struct Booked {
    buyer: Buyer,
    shared: Option<usize>,
    order: String,
}

fn origin(dir: &std::path::Path, stores: Option<&StoreUrls>, rotate: bool) -> OriginProcess {
    let mut options = OriginOptions::new(dir);
    options.stores = stores.cloned();
    // One final hub serves every release here: lift its release limit.
    options.env = vec![("LASTHOP_RELEASE_RATE_PER_MINUTE".into(), "100000000".into())];
    if rotate {
        options.args = vec!["--rotate-numbers-every".into(), "1s".into()];
    }
    OriginProcess::spawn(options).unwrap()
}

/// One registration (at a shared address now and then) and its order; `None` when the origin
/// was down or refused (it may be dead at that moment). Anything but 201 or 503 is noted.
fn book(
    api: &InternalOrigin,
    seller: &Seller,
    tag: &str,
    n: usize,
    unexpected: &Mutex<Vec<String>>,
) -> Option<Booked> {
    let shared = (n % 3 == 0).then_some(n % SHARED);
    let who = Person::numbered(tag, n, shared);
    let note = |status: u16, body: &str| {
        if status != 503 {
            unexpected.lock().unwrap().push(format!("{status} {body}"));
        }
    };
    let reply = api.try_register_buyer(&who).ok()?;
    if reply.status != 201 {
        note(reply.status, &reply.body);
        return None;
    }
    let buyer = Buyer::registered(&reply, &who);
    let reply = api.try_create_order(&buyer, seller).ok()?;
    if reply.status != 201 {
        note(reply.status, &reply.body);
        // The buyer is registered all the same: checked below without an order.
        return Some(Booked {
            buyer,
            shared,
            order: String::new(),
        });
    }
    Some(Booked {
        buyer,
        shared,
        order: order_created(&reply),
    })
}

/// `(vault number, blind index)` of every shared record, and `(entry, number)` of every entry,
/// and how many rotations are unfinished, read from the two stores directly.
#[allow(clippy::type_complexity)]
fn read_stores(urls: &StoreUrls) -> (Vec<(String, String)>, BTreeMap<String, String>, i64) {
    let records = common::with_pool(&urls.vault, |pool| async move {
        let rows: Vec<(String, String)> =
            sqlx::query_as("SELECT address_id, blind_index FROM address_records")
                .fetch_all(&pool)
                .await
                .unwrap();
        rows
    });
    let (entries, unfinished) = common::with_pool(&urls.directory, |pool| async move {
        let rows: Vec<(String, String)> =
            sqlx::query_as("SELECT entry_id, address_id FROM buyer_addresses")
                .fetch_all(&pool)
                .await
                .unwrap();
        let (unfinished,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM number_rotations WHERE state <> 'done'")
                .fetch_one(&pool)
                .await
                .unwrap();
        (rows.into_iter().collect::<BTreeMap<_, _>>(), unfinished)
    });
    (records, entries, unfinished)
}

/// Every number a finished rotation replaced (remembered for an hour).
fn old_numbers(urls: &StoreUrls) -> Vec<String> {
    common::with_pool(&urls.directory, |pool| async move {
        let rows: Vec<(String,)> = sqlx::query_as("SELECT old_id FROM number_rotations")
            .fetch_all(&pool)
            .await
            .unwrap();
        rows.into_iter().map(|(id,)| id).collect()
    })
}

#[test]
fn kill_9_of_the_origin_50_times_during_number_rotation_on_sqlite_leaves_one_number_per_record() {
    let dir = state_dir("number-rotation-sqlite");
    let urls = StoreUrls {
        directory: format!("sqlite://{}", dir.join("directory.db").display()),
        vault: format!("sqlite://{}", dir.join("vault.db").display()),
        vault_standby: None,
    };
    under_fire(&dir, None, &urls);
}

#[test]
fn kill_9_of_the_origin_50_times_during_number_rotation_on_postgres_leaves_one_number_per_record() {
    if !postgres::required().unwrap() {
        return;
    }
    let cluster =
        PgCluster::primary(PgOptions::throwaway(state_dir("number-rotation-pg"))).unwrap();
    let stores = cluster.create_store_databases("lasthop").unwrap();
    under_fire(
        &state_dir("number-rotation-postgres"),
        Some(&stores),
        &stores,
    );
}

/// The test on an origin in `dir` on `stores` (`None`: its SQLite files), whose stores a test
/// reads at `urls`.
fn under_fire(dir: &std::path::Path, stores: Option<&StoreUrls>, urls: &StoreUrls) {
    let started = Instant::now();
    let mut origin = origin(dir, stores, true);
    let api = InternalOrigin::new(&origin);
    let seller = api.register_seller("Rotation Shop");
    let pickup: Scanner = api.scanner("110105", "pickup");
    let hub: Scanner = api.scanner("110105", "hub");
    let unexpected = Mutex::new(Vec::<String>::new());
    // Orders before the kills, whose numbers the job rotates as soon as they are a second old.
    let mut booked: Vec<Booked> = (1..=30)
        .map(|n| book(&api, &seller, "before-", n, &unexpected).expect("origin up"))
        .collect();
    std::thread::sleep(Duration::from_millis(1500));

    let stop = AtomicBool::new(false);
    let during = Mutex::new(Vec::<Booked>::new());
    let released_during = Mutex::new(0_usize);
    std::thread::scope(|scope| {
        for client in 0..2 {
            let (api, seller, pickup, hub, stop) = (&api, &seller, &pickup, &hub, &stop);
            let (during, unexpected, released_during) = (&during, &unexpected, &released_during);
            scope.spawn(move || {
                let mut n = 0;
                while !stop.load(Ordering::SeqCst) {
                    n += 1;
                    let Some(b) = book(api, seller, &format!("fire{client}-"), n, unexpected)
                    else {
                        std::thread::sleep(Duration::from_millis(10));
                        continue;
                    };
                    during.lock().unwrap().push(b.clone());
                    if b.order.is_empty() {
                        continue;
                    }
                    // Released at once now and then; the rest stay in flight to the end.
                    if n % 2 == 0 {
                        if let Ok(reply) = api.try_release(pickup, hub, &b.order, &b.buyer.id) {
                            match reply.status {
                                200 => *released_during.lock().unwrap() += 1,
                                503 => {}
                                status => unexpected
                                    .lock()
                                    .unwrap()
                                    .push(format!("release {status} {}", reply.body)),
                            }
                        }
                    }
                }
            });
        }
        let mut rng = rand::thread_rng();
        for _ in 0..KILLS {
            std::thread::sleep(Duration::from_millis(rng.gen_range(30..400)));
            origin.kill();
            origin.restart().unwrap();
        }
        stop.store(true, Ordering::SeqCst);
    });
    let under_fire = started.elapsed();
    let logs = origin.logs();
    origin.kill();
    drop(origin);
    booked.extend(during.into_inner().unwrap());

    // Restarted without the periodic job: the start resumes whatever the last kill left
    // unfinished, and nothing moves while the stores are read.
    let origin = self::origin(dir, stores, false);
    let deadline = Instant::now() + Duration::from_secs(20);
    let (records, entries, _) = loop {
        let read = read_stores(urls);
        if read.2 == 0 {
            break read;
        }
        assert!(
            Instant::now() < deadline,
            "{} rotations never finished",
            read.2
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let unexpected = unexpected.into_inner().unwrap();
    assert!(unexpected.is_empty(), "{unexpected:#?}");

    // Every record under exactly one number: each number an entry names is held; a held
    // number nobody names is a registration killed between its vault write and its directory
    // write (at most one per client per kill), never a rotation's old number.
    let held: BTreeSet<&str> = records.iter().map(|(id, _)| id.as_str()).collect();
    let named: BTreeSet<&str> = entries.values().map(String::as_str).collect();
    let lost: Vec<_> = named.difference(&held).collect();
    assert!(
        lost.is_empty(),
        "entries name numbers the vault does not hold: {lost:?}"
    );
    let unnamed: Vec<&str> = held.difference(&named).copied().collect();
    assert!(
        unnamed.len() <= 2 * KILLS,
        "{} unnamed records",
        unnamed.len()
    );
    let rotated_away = old_numbers(urls);
    let kept: Vec<_> = rotated_away
        .iter()
        .filter(|old| held.contains(old.as_str()))
        .collect();
    assert!(kept.is_empty(), "rotated-away numbers still held: {kept:?}");
    let placeholders: Vec<_> = records
        .iter()
        .filter(|(_, index)| index.starts_with("rotating:"))
        .collect();
    assert!(placeholders.is_empty(), "{placeholders:?}");
    let mut shared_numbers: BTreeMap<usize, BTreeSet<&str>> = BTreeMap::new();
    for b in &booked {
        let number = entries
            .get(&b.buyer.address_id)
            .unwrap_or_else(|| panic!("entry {} lost", b.buyer.address_id));
        if let Some(shared) = b.shared {
            shared_numbers.entry(shared).or_default().insert(number);
        }
    }
    for (shared, numbers) in &shared_numbers {
        assert_eq!(numbers.len(), 1, "shared address {shared}: {numbers:?}");
    }

    // No order in flight failed: every one is released now (again, for those released before).
    let api = InternalOrigin::new(&origin);
    let orders: Vec<&Booked> = booked.iter().filter(|b| !b.order.is_empty()).collect();
    for b in &orders {
        let reply = api.release(&pickup, &hub, &b.order, &b.buyer.id);
        assert_eq!(reply.status, 200, "{}: {}", b.order, reply.body);
        let recipient = hub.open_recipient(&reply.json().unwrap(), &b.order);
        assert_eq!(recipient["line"], b.buyer.person.line.as_str());
    }
    for b in booked.iter().step_by(7) {
        let profile = api.profile(&b.buyer);
        assert_eq!(profile.status, 200, "{}", profile.body);
        let profile = profile.json().unwrap();
        assert_eq!(
            text(&profile["addresses"][0], "address_id"),
            b.buyer.address_id
        );
    }

    let resumed = logs
        .lines()
        .filter(|line| line.contains("unfinished number rotations finished"))
        .count();
    let rotated = logs
        .lines()
        .filter(|line| line.contains("address numbers rotated"))
        .count();
    eprintln!(
        "figures: {KILLS} kill -9 of the origin in {} ms under rotation every 1s; {} buyers, {} \
         orders ({} released under fire, all {} released after); {} rounds that rotated, {} \
         starts that finished interrupted rotations; {} rotations remembered; {} shared records at \
         the end, {} of them unnamed (registrations killed half-way)",
        under_fire.as_millis(),
        booked.len(),
        orders.len(),
        released_during.into_inner().unwrap(),
        orders.len(),
        rotated,
        resumed,
        rotated_away.len(),
        records.len(),
        unnamed.len()
    );
    assert!(!rotated_away.is_empty());
    assert!(rotated > 0, "the job never rotated");
    assert!(resumed > 0, "no kill interrupted a rotation");
}

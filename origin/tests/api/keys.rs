//! Master key rotation as an operator carries it out, through the `lasthop-origin keys`
//! commands on the app's own stores: `rotate` and a restart, an address registered before the
//! rotation found again by duplicate detection, an order tokenised before it released and
//! delivered after it, `retire` refused while anything needs the old version (by name),
//! `rewrap` re-sealing everything, and `retire` then removing it. Run on both backends.

use std::path::Path;
use std::process::{Command, Output};

use axum::http::{Method, StatusCode};
use serde_json::{json, Value};

use lasthop_core::keys::{KeyVersion, MasterKeyRing, OriginKeys};

use crate::audit::audit;
use crate::helpers::{shown as text, Person, TestApp, OPS_TOKEN};
use crate::scenarios::parcel;

/// Runs `lasthop-origin keys <args>` on the app's stores with the key file `key_file`.
fn keys(app: &TestApp, key_file: &Path, args: &[&str]) -> Output {
    let args = [&["keys"], args].concat();
    app.run_origin(&args, &[("LASTHOP_MASTER_KEYS_FILE", key_file.as_os_str())])
}

/// `(rows, rows under version 1)` of every sealed table, and blind indexes under version 1.
async fn versions(app: &TestApp) -> (i64, i64, i64) {
    let vault = app.state.stores().vault.primary_pool().expect("vault");
    let directory = app.state.stores().directory.pool().clone();
    let (mut rows, mut old, mut old_indexes) = (0, 0, 0);
    for (pool, table) in [
        (&vault, "address_records"),
        (&vault, "contact_records"),
        (&vault, "entry_records"),
        (&directory, "vault_pending"),
    ] {
        let count = |sql: String| async move {
            sqlx::query_scalar::<_, i64>(&sql)
                .fetch_one(pool)
                .await
                .unwrap()
        };
        rows += count(format!("SELECT COUNT(*) FROM {table}")).await;
        old += count(format!(
            "SELECT COUNT(*) FROM {table} WHERE key_version = 1"
        ))
        .await;
    }
    for (pool, table) in [(&vault, "address_records"), (&directory, "vault_pending")] {
        old_indexes += sqlx::query_scalar::<_, i64>(&format!(
            "SELECT COUNT(*) FROM {table} WHERE blind_index IS NOT NULL AND blind_index NOT LIKE 'v%'"
        ))
        .fetch_one(pool)
        .await
        .unwrap();
    }
    (rows, old, old_indexes)
}

async fn profile(app: &TestApp, token: &str) -> Value {
    let reply = app
        .internal(Method::GET, "/internal/v1/buyers/me", None, Some(token))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    reply.body
}

pub async fn rotation_rewrap_and_retire_leave_nothing_under_the_old_version(app: TestApp) {
    let folder = tempfile::tempdir().unwrap();
    let key_file = folder.path().join("master.keys");
    std::fs::write(&key_file, &app.master_keys).unwrap();
    let alice = parcel(&app, "keys-alice").await;

    // An audit export signed under version 1 (a refused release makes its one row).
    let refused = app.release(&alice.order_id, "not-a-token").await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    let early = folder.path().join("early.json");
    let export = audit(&app, &["export", "--out", early.to_str().unwrap()]);
    assert!(export.status.success(), "{}", text(&export));
    let public_key = |app: &TestApp| {
        let out = audit(app, &["public-key"]);
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .nth(1)
            .unwrap()
            .to_owned()
    };
    let first_key = public_key(&app);

    let rotate = keys(&app, &key_file, &["rotate"]);
    assert!(rotate.status.success(), "{}", text(&rotate));
    let out = String::from_utf8_lossy(&rotate.stdout);
    assert!(
        out.contains("added master key version 2"),
        "{}",
        text(&rotate)
    );
    assert!(
        out.contains("wrangler secret put LASTHOP_EDGE_SECRETS"),
        "{}",
        text(&rotate)
    );
    let rotated = std::fs::read_to_string(&key_file).unwrap();
    assert!(
        rotated.starts_with(app.master_keys.trim()),
        "version 1 is kept as it was"
    );
    let app = app.restarted_with_keys(rotated).await;

    // Duplicate detection finds the address indexed under version 1.
    let mut bob = Person::new("keys-alice");
    bob.name = "Bob Rotated".to_owned();
    bob.line = format!("  {}  ", alice.person.line.to_uppercase());
    let (_, bob_address, _) = app.buyer(&bob).await;
    assert_eq!(
        app.vault_number(&bob_address).await,
        app.vault_number(&alice.address_id).await,
        "an address registered before the rotation shares its number after it"
    );
    let (rows, old, old_indexes) = versions(&app).await;
    assert!(
        old > 0 && old < rows && old_indexes == 1,
        "{rows} {old} {old_indexes}"
    );

    // Refused before rewrap, naming each thing that needs version 1.
    let refused = keys(&app, &key_file, &["retire", "1"]);
    assert_eq!(refused.status.code(), Some(3), "{}", text(&refused));
    let err = String::from_utf8_lossy(&refused.stderr);
    for needed in [
        "refusing to retire master key version 1",
        "records in vault.address_records are sealed under it (run keys rewrap)",
        "records in vault.contact_records are sealed under it",
        "records in vault.entry_records are sealed under it",
        "1 blind indexes in vault.address_records are made under it",
        "1 orders not yet delivered",
        "--end-credentials",
    ] {
        assert!(err.contains(needed), "{needed:?} in {}", text(&refused));
    }
    let current = keys(&app, &key_file, &["retire", "2"]);
    assert!(!current.status.success());
    assert!(String::from_utf8_lossy(&current.stderr).contains("current version"));

    // The order tokenised under version 1 is released and delivered under version 2.
    let released = alice.release(&app).await;
    assert_eq!(released.status, StatusCode::OK, "{:?}", released.body);
    assert_eq!(
        alice.recipient(&released)["name"],
        alice.person.name.as_str()
    );
    let delivery = alice.delivery(&app, &alice.terminal, &released.str("release_id"), "sig");
    let delivered = app
        .internal(
            Method::POST,
            "/internal/v1/deliveries",
            Some(&delivery),
            None,
        )
        .await;
    assert_eq!(delivered.status, StatusCode::OK, "{:?}", delivered.body);

    // The auditor checks the next export, signed under version 2, against the earlier one.
    let late = folder.path().join("late.json");
    let export = audit(&app, &["export", "--out", late.to_str().unwrap()]);
    assert!(export.status.success(), "{}", text(&export));
    let second_key = public_key(&app);
    assert_ne!(first_key, second_key);
    let (late, early) = (late.to_str().unwrap(), early.to_str().unwrap());
    let check = [
        "check-export",
        late,
        "--public-key",
        &second_key,
        "--previous",
        early,
    ];
    assert!(
        !audit(&app, &check).status.success(),
        "the earlier export's key is another"
    );
    let both = [&check[..], &["--previous-public-key", &first_key]].concat();
    let checked = audit(&app, &both);
    assert!(checked.status.success(), "{}", text(&checked));

    let rewrap = keys(&app, &key_file, &["rewrap", "--batch-size", "2"]);
    assert!(rewrap.status.success(), "{}", text(&rewrap));
    let out = String::from_utf8_lossy(&rewrap.stdout);
    assert!(
        out.contains(&format!("rewrapped {old} records under version 2")),
        "{}",
        text(&rewrap)
    );
    assert!(out.contains("records/s"), "{}", text(&rewrap));
    assert_eq!(versions(&app).await, (rows, 0, 0));
    // A second run finds nothing left: it resumes where a killed one stopped.
    let again = keys(&app, &key_file, &["rewrap"]);
    assert!(
        String::from_utf8_lossy(&again.stdout).contains("rewrapped 0 records"),
        "{}",
        text(&again)
    );

    // Only the credentials signed under version 1 remain, until the operator ends them.
    let refused = keys(&app, &key_file, &["retire", "1"]);
    assert_eq!(refused.status.code(), Some(3), "{}", text(&refused));
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains("--end-credentials"), "{}", text(&refused));
    assert!(
        !err.contains("records") && !err.contains("orders"),
        "{}",
        text(&refused)
    );
    let retired = keys(&app, &key_file, &["retire", "1", "--end-credentials"]);
    assert!(retired.status.success(), "{}", text(&retired));
    let left = std::fs::read_to_string(&key_file).unwrap();
    assert_eq!(left.lines().count(), 1);
    assert!(left.starts_with("2:"));

    // The origin with version 2 alone opens every record; the address is still found.
    let app = app.restarted_with_keys(left).await;
    let (_, _, fresh_token) = app.buyer(&Person::new("keys-fresh")).await;
    let body = json!({"address": alice.person.address("again")});
    let again = app
        .internal(
            Method::POST,
            "/internal/v1/buyers/me/addresses",
            Some(&body),
            Some(&fresh_token),
        )
        .await;
    assert_eq!(again.status, StatusCode::CREATED, "{:?}", again.body);
    assert_eq!(
        app.vault_number(&again.str("address_id")).await,
        app.vault_number(&alice.address_id).await,
        "the rewrapped blind index finds the address"
    );
    assert_eq!(
        profile(&app, &fresh_token).await["addresses"][1]["line"],
        alice.person.line.as_str()
    );
    let ring = MasterKeyRing::parse(&std::fs::read_to_string(&key_file).unwrap()).unwrap();
    let only_two = OriginKeys::derive(&ring);
    assert!(all_open(&app, &only_two).await > 0);
    // The old session was signed under version 1, which is gone.
    let old_session = app
        .internal(
            Method::GET,
            "/internal/v1/buyers/me",
            None,
            Some(&alice.buyer_token),
        )
        .await;
    assert_eq!(old_session.status, StatusCode::UNAUTHORIZED);
}

/// The rewrap throughput figure: `records` rows (addresses, contacts, entries in equal parts)
/// sealed under version 1 straight into the vault, the ring rotated, then `keys rewrap` timed
/// by the command itself. Run by hand (it is ignored in the suite), with the release binary:
///
/// ```text
/// cargo build --release -p lasthop-origin
/// LASTHOP_ORIGIN_BIN=$PWD/target/release/lasthop-origin LASTHOP_REWRAP_RECORDS=30000 \
///   cargo test -p lasthop-origin --test api rewrap_throughput -- --ignored --nocapture
/// ```
pub async fn rewrap_throughput(app: TestApp, backend: &str) {
    let records: usize = std::env::var("LASTHOP_REWRAP_RECORDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(30_000);
    seed(&app, records).await;
    let folder = tempfile::tempdir().unwrap();
    let key_file = folder.path().join("master.keys");
    std::fs::write(&key_file, &app.master_keys).unwrap();
    let binary = std::env::var("LASTHOP_ORIGIN_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_lasthop-origin").to_owned());
    let run = |args: &[&str]| {
        let out = Command::new(&binary)
            .arg("keys")
            .args(args)
            .env("LASTHOP_DIRECTORY_URL", app.directory_url())
            .env("LASTHOP_VAULT_URL", app.vault_url())
            .env("LASTHOP_MASTER_KEYS_FILE", &key_file)
            .env("LASTHOP_OPS_TOKEN", OPS_TOKEN)
            .env("RUST_LOG", "warn")
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    run(&["rotate"]);
    let report = run(&["rewrap"]);
    let line = report
        .lines()
        .find(|l| l.starts_with("rewrapped"))
        .unwrap_or_default()
        .to_owned();
    assert!(line.contains("records/s"), "{report}");
    eprintln!("rewrap throughput ({backend}, {binary}): {line}");
    assert_eq!(versions(&app).await.1, 0);
}

/// `records` rows (addresses, contacts, entries in equal parts) sealed under the app's current
/// version straight into the vault, 1000 a transaction.
async fn seed(app: &TestApp, records: usize) {
    use lasthop_origin::records::{self, AddressPlain, ContactPlain, Provenance};
    let ring = MasterKeyRing::parse(&app.master_keys).unwrap();
    let keys = OriginKeys::derive(&ring);
    let vault = app.state.stores().vault.primary_pool().expect("vault");
    let provenance = Provenance {
        channel: "shop".into(),
        by: "ops".into(),
        at: lasthop_core::time::Timestamp::from_unix_seconds(1_700_000_000),
    };
    let per_table = records / 3;
    let seeding = std::time::Instant::now();
    for chunk in 0..per_table.div_ceil(1000) {
        let mut tx = vault.begin().await.unwrap();
        for n in chunk * 1000..((chunk + 1) * 1000).min(per_table) {
            let address = AddressPlain {
                country: "CN".into(),
                region_path: vec!["110000".into(), "1101".into(), "110105".into()],
                line: format!("throughput road {n}"),
                postal_code: "100020".into(),
                registered: provenance.clone(),
                modified: provenance.clone(),
            };
            let id = format!("a_bench{n:011}");
            let sealed = records::seal(&keys.vault, &id, &address);
            sqlx::query(
                "INSERT INTO address_records (address_id, blind_index, key_version, ciphertext) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(&id)
            .bind(keys.blind_index.index(&address.normalised_key()))
            .bind(sealed.key_version)
            .bind(&sealed.ciphertext)
            .execute(&mut *tx)
            .await
            .unwrap();
            let contact = ContactPlain {
                name: format!("Bench Buyer {n}"),
                phone: Some("+86 139 0000 0000".into()),
                registered: provenance.clone(),
                modified: provenance.clone(),
            };
            // Entries are sealed like contacts: rewrap never reads what is inside.
            for (table, column, id) in [
                ("contact_records", "contact_id", format!("b_bench{n:011}")),
                ("entry_records", "entry_id", format!("a_entry{n:011}")),
            ] {
                let sealed = records::seal(&keys.vault, &id, &contact);
                sqlx::query(&format!(
                    "INSERT INTO {table} ({column}, key_version, ciphertext) VALUES ($1, $2, $3)"
                ))
                .bind(&id)
                .bind(sealed.key_version)
                .bind(&sealed.ciphertext)
                .execute(&mut *tx)
                .await
                .unwrap();
            }
        }
        tx.commit().await.unwrap();
    }
    eprintln!(
        "seeded {} records in {:.1} s",
        per_table * 3,
        seeding.elapsed().as_secs_f64()
    );
}

/// Every sealed vault row opens with `keys` under the version it names.
async fn all_open(app: &TestApp, keys: &OriginKeys) -> usize {
    let vault = app.state.stores().vault.primary_pool().expect("vault");
    let mut opened = 0;
    for (table, id) in [
        ("address_records", "address_id"),
        ("contact_records", "contact_id"),
        ("entry_records", "entry_id"),
    ] {
        let rows: Vec<(String, i64, Vec<u8>)> = sqlx::query_as(&format!(
            "SELECT {id}, key_version, ciphertext FROM {table}"
        ))
        .fetch_all(&vault)
        .await
        .unwrap();
        for (id, version, sealed) in rows {
            let version = KeyVersion(u32::try_from(version).unwrap());
            assert!(
                keys.vault.open_record(version, &id, &sealed).is_ok(),
                "{table} {id} under {version} does not open"
            );
            opened += 1;
        }
    }
    opened
}

pub async fn a_rewrap_killed_midway_leaves_every_record_open_and_a_rerun_finishes_it(app: TestApp) {
    seed(&app, 6000).await;
    let folder = tempfile::tempdir().unwrap();
    let key_file = folder.path().join("master.keys");
    std::fs::write(&key_file, &app.master_keys).unwrap();
    let rotate = keys(&app, &key_file, &["rotate"]);
    assert!(rotate.status.success(), "{}", text(&rotate));
    let rotated = std::fs::read_to_string(&key_file).unwrap();
    let both = OriginKeys::derive(&MasterKeyRing::parse(&rotated).unwrap());
    let vault = app.state.stores().vault.primary_pool().expect("vault");
    let under = |version: i64| {
        let vault = vault.clone();
        async move {
            let mut n = 0;
            for table in ["address_records", "contact_records", "entry_records"] {
                n += sqlx::query_scalar::<_, i64>(&format!(
                    "SELECT COUNT(*) FROM {table} WHERE key_version = $1"
                ))
                .bind(version)
                .fetch_one(&vault)
                .await
                .unwrap();
            }
            n
        }
    };
    let mut child = Command::new(env!("CARGO_BIN_EXE_lasthop-origin"))
        .args(["keys", "rewrap", "--batch-size", "20"])
        .env("LASTHOP_DIRECTORY_URL", app.directory_url())
        .env("LASTHOP_VAULT_URL", app.vault_url())
        .env("LASTHOP_MASTER_KEYS_FILE", &key_file)
        .env("LASTHOP_OPS_TOKEN", OPS_TOKEN)
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Killed (SIGKILL, as a crash) once some batches are in.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while under(2).await < 100 {
        assert!(
            std::time::Instant::now() < deadline,
            "rewrap made no progress"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "rewrap ended before it was killed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let (old, new) = (under(1).await, under(2).await);
    assert!(old > 0 && new > 0, "killed midway: {old} old, {new} new");
    assert_eq!(
        all_open(&app, &both).await,
        6000,
        "every record opens after the kill"
    );
    let rerun = keys(&app, &key_file, &["rewrap"]);
    assert!(rerun.status.success(), "{}", text(&rerun));
    let out = String::from_utf8_lossy(&rerun.stdout);
    // The kill may have landed after a batch committed and before the count was read.
    let resealed: i64 = out
        .lines()
        .find_map(|l| l.strip_prefix("rewrapped "))
        .and_then(|l| l.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap();
    assert!(
        resealed > 0 && resealed <= old,
        "{resealed} of {old}: {out}"
    );
    assert_eq!((under(1).await, under(2).await), (0, 6000));
    let only_two =
        OriginKeys::derive(&MasterKeyRing::parse(rotated.lines().nth(1).unwrap()).unwrap());
    assert_eq!(all_open(&app, &only_two).await, 6000);
}

pub async fn a_rewrap_names_an_address_stored_twice_under_two_versions(app: TestApp) {
    use lasthop_origin::records::{self, AddressPlain};
    seed(&app, 3).await;
    let folder = tempfile::tempdir().unwrap();
    let key_file = folder.path().join("master.keys");
    std::fs::write(&key_file, &app.master_keys).unwrap();
    assert!(keys(&app, &key_file, &["rotate"]).status.success());
    let rotated = OriginKeys::derive(
        &MasterKeyRing::parse(&std::fs::read_to_string(&key_file).unwrap()).unwrap(),
    );
    // The seeded address, registered again at the same moment by an origin on version 2.
    let vault = app.state.stores().vault.primary_pool().expect("vault");
    let (sealed,): (Vec<u8>,) = sqlx::query_as(
        "SELECT ciphertext FROM address_records WHERE address_id = 'a_bench00000000000'",
    )
    .fetch_one(&vault)
    .await
    .unwrap();
    let ring = MasterKeyRing::parse(&app.master_keys).unwrap();
    let plain: AddressPlain = serde_json::from_slice(
        &OriginKeys::derive(&ring)
            .vault
            .open_record(KeyVersion(1), "a_bench00000000000", &sealed)
            .unwrap(),
    )
    .unwrap();
    let twin = records::seal(&rotated.vault, "a_twin0000000000", &plain);
    sqlx::query(
        "INSERT INTO address_records (address_id, blind_index, key_version, ciphertext) \
         VALUES ('a_twin0000000000', $1, $2, $3)",
    )
    .bind(rotated.blind_index.index(&plain.normalised_key()))
    .bind(twin.key_version)
    .bind(&twin.ciphertext)
    .execute(&vault)
    .await
    .unwrap();
    let rewrap = keys(&app, &key_file, &["rewrap"]);
    assert_eq!(rewrap.status.code(), Some(1), "{}", text(&rewrap));
    assert!(
        String::from_utf8_lossy(&rewrap.stderr).contains(
            "vault.address_records a_bench00000000000: its address is stored a second time"
        ),
        "{}",
        text(&rewrap)
    );
}

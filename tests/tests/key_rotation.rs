//! Master key rotation in the middle of a journey, on a real stack (the origin binary on
//! SQLite files, the Worker under `wrangler dev`), carried out the way an operator does it:
//! `lasthop-origin keys rotate`, new edge secrets from `lasthop-origin edge-secrets` written
//! where the Worker reads them (here `.dev.vars`; in production `wrangler secret put`), both
//! services restarted. The order picked up before the rotation is delivered after it; a buyer
//! registering the same address after it shares its number; `keys retire 1` refuses until
//! `keys rewrap` has re-sealed everything; afterwards the stores hold nothing under version 1.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::{assert_verdict, spawn_stack, text, with_pool, Person, Shop};
use lasthop_e2e::OriginProcess;

/// Runs `lasthop-origin <args>` with the stack origin's stores, key file and ops token.
fn origin_command(origin: &OriginProcess, args: &[&str]) -> Output {
    Command::new(origin.binary())
        .args(args)
        .env("LASTHOP_DIRECTORY_URL", sqlite(&origin.directory_db()))
        .env("LASTHOP_VAULT_URL", sqlite(&origin.vault_db()))
        .env("LASTHOP_MASTER_KEYS_FILE", origin.master_keys_file())
        .env("LASTHOP_OPS_TOKEN_FILE", origin.ops_token_file())
        .env("RUST_LOG", "warn")
        .output()
        .expect("run lasthop-origin")
}

fn shown(output: &Output) -> String {
    format!(
        "status {:?}\nstdout: {}\nstderr: {}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// The origin restarted with the key file, then the edge given new secrets from it, written
/// where `wrangler dev` reads the Worker's secrets, and restarted. Between the two, the edge
/// still signs its calls under the previous version: `meanwhile` runs then.
fn hand_new_keys_over(stack: &mut lasthop_e2e::Stack, meanwhile: impl FnOnce(&lasthop_e2e::Stack)) {
    stack.origin.restart().expect("the origin restarts");
    meanwhile(stack);
    let line = stack.origin.edge_secrets_line().unwrap();
    std::fs::write(
        stack.edge.state_dir().join(".dev.vars"),
        format!("{line}\n"),
    )
    .unwrap();
    stack
        .edge
        .restart()
        .expect("the edge restarts with its new secrets");
}

/// A sealed row as stored: `(table, id, key_version, ciphertext, blind index)`.
type SealedRow = (String, String, i64, Vec<u8>, Option<String>);

/// Every sealed row of both stores.
fn sealed_rows(origin: &OriginProcess) -> Vec<SealedRow> {
    let mut rows = Vec::new();
    for (file, table, id, index) in [
        (
            origin.vault_db(),
            "address_records",
            "address_id",
            "blind_index",
        ),
        (origin.vault_db(), "contact_records", "contact_id", "NULL"),
        (origin.vault_db(), "entry_records", "entry_id", "NULL"),
        (
            origin.directory_db(),
            "vault_pending",
            "record_id",
            "blind_index",
        ),
    ] {
        let sql = format!("SELECT {id}, key_version, ciphertext, {index} FROM {table}");
        let found: Vec<(String, i64, Vec<u8>, Option<String>)> =
            with_pool(&sqlite(&file), |pool| async move {
                sqlx::query_as(&sql).fetch_all(&pool).await.unwrap()
            });
        rows.extend(
            found
                .into_iter()
                .map(|(id, v, c, i)| (table.to_owned(), id, v, c, i)),
        );
    }
    rows
}

/// The vault number behind a buyer's address id, read from the directory.
fn vault_number(origin: &OriginProcess, entry_id: &str) -> String {
    with_pool(&sqlite(&origin.directory_db()), |pool| async move {
        let (number,): (String,) =
            sqlx::query_as("SELECT address_id FROM buyer_addresses WHERE entry_id = $1")
                .bind(entry_id)
                .fetch_one(&pool)
                .await
                .unwrap();
        number
    })
}

fn sqlite(file: &Path) -> String {
    format!("sqlite://{}", file.display())
}

#[test]
fn an_order_picked_up_before_a_key_rotation_is_delivered_after_it_and_rewrap_and_retire_leave_nothing_under_the_old_version(
) {
    let mut stack = spawn_stack("key-rotation", &[]);
    let ops_token = stack.origin.ops_token().unwrap();
    let shop = |stack: &lasthop_e2e::Stack| {
        Shop::new(
            stack.edge.client(),
            stack.origin.client(),
            ops_token.clone(),
        )
    };
    let w = shop(&stack);
    let seller = w.register_seller("Rotation Teas");
    let before = Person::chaoyang("轮换", "13900139001");
    let buyer = w.register_buyer(&before);
    let order = w.create_order(&buyer, &seller);
    let pickup = w.scanner("330108", "pickup");
    let district = w.scanner("330108", "hub");
    let city = w.scanner("3301", "hub");
    assert_eq!(w.pickup(&pickup, &order, &buyer.id).status, 200);
    assert_verdict(&w.hop(&district, &order), "forward_up", None);
    let old_rows = sealed_rows(&stack.origin);
    assert!(old_rows.iter().all(|row| row.2 == 1) && !old_rows.is_empty());

    let rotate = origin_command(&stack.origin, &["keys", "rotate"]);
    assert!(rotate.status.success(), "{}", shown(&rotate));
    assert!(String::from_utf8_lossy(&rotate.stdout).contains("added master key version 2"));
    hand_new_keys_over(&mut stack, |stack| {
        // The origin on version 2 accepts the edge's calls signed under version 1.
        let profile = shop(stack).profile(&buyer);
        assert_eq!(profile.status, 200, "{}", profile.body);
    });
    let w = shop(&stack);

    // Duplicate detection finds the address indexed under version 1.
    let mut neighbour = Person::chaoyang("轮换", "13900139002");
    neighbour.name = "轮换邻居".into();
    let second = w.register_buyer(&neighbour);
    assert_eq!(
        vault_number(&stack.origin, &second.address_id),
        vault_number(&stack.origin, &buyer.address_id),
        "the same address registered after the rotation shares the number"
    );

    // The old order continues: sealed route and tags under version 1, new hops under 2.
    assert_verdict(&w.hop(&city, &order), "route_to", Some(("city", "1101")));
    let beijing = w.scanner("1101", "hub");
    assert_verdict(
        &w.hop(&beijing, &order),
        "route_to",
        Some(("district", "110105")),
    );
    let final_hub = w.scanner("110105", "hub");
    let released = w.hop(&final_hub, &order);
    assert_verdict(&released, "deliver", None);
    let body = released.json().unwrap();
    let recipient = final_hub.open_recipient(&body, &order);
    assert_eq!(recipient["name"], before.name.as_str());
    assert_eq!(recipient["line"], before.line.as_str());
    let delivered = w.deliver(&final_hub, &order, &text(&body, "release_id"));
    assert_eq!(delivered.status, 200, "{}", delivered.body);

    // Retire refuses before rewrap, naming what still needs version 1.
    let refused = origin_command(&stack.origin, &["keys", "retire", "1"]);
    assert_eq!(refused.status.code(), Some(3), "{}", shown(&refused));
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(
        err.contains("refusing to retire master key version 1")
            && err
                .contains("records in vault.contact_records are sealed under it (run keys rewrap)")
            && err.contains("blind indexes in vault.address_records are made under it"),
        "{}",
        shown(&refused)
    );

    let rewrap = origin_command(&stack.origin, &["keys", "rewrap"]);
    assert!(rewrap.status.success(), "{}", shown(&rewrap));
    assert!(
        String::from_utf8_lossy(&rewrap.stdout).contains("records/s"),
        "{}",
        shown(&rewrap)
    );
    // Scanners and sessions signed under version 1 are still valid: the operator ends them.
    let refused = origin_command(&stack.origin, &["keys", "retire", "1"]);
    assert_eq!(refused.status.code(), Some(3), "{}", shown(&refused));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--end-credentials"));
    let retired = origin_command(&stack.origin, &["keys", "retire", "1", "--end-credentials"]);
    assert!(retired.status.success(), "{}", shown(&retired));
    hand_new_keys_over(&mut stack, |_| {});
    let w = shop(&stack);

    // Nothing under version 1: every row, read from the files; no old ciphertext in the bytes.
    let rows = sealed_rows(&stack.origin);
    assert_eq!(
        rows.len(),
        old_rows.len() + 2,
        "the neighbour's contact and entry"
    );
    for (table, id, version, _, index) in &rows {
        assert_eq!(*version, 2, "{table} {id}");
        if let Some(index) = index {
            assert!(index.starts_with("v2:"), "{table} {id}");
        }
    }
    stack.origin.stop();
    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(stack.origin.state_dir()).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with("directory.db") || name.starts_with("vault.db") {
            bytes.extend(std::fs::read(&path).unwrap());
        }
    }
    for (table, id, _, ciphertext, _) in &old_rows {
        assert!(
            !bytes.windows(32).any(|w| w == &ciphertext[..32]),
            "{table} {id}: its version-1 ciphertext is still in the files"
        );
    }
    stack.origin.restart().unwrap();
    let key_file = std::fs::read_to_string(stack.origin.master_keys_file()).unwrap();
    assert!(key_file.trim().starts_with("2:") && key_file.trim().lines().count() == 1);

    // The stack on version 2 alone serves a new journey; credentials of version 1 are over.
    let fresh = w.register_buyer(&Person::chaoyang("新钥", "13900139003"));
    let seller = w.register_seller("Rotation Teas, again");
    let order = w.create_order(&fresh, &seller);
    let pickup = w.scanner("330108", "pickup");
    assert_eq!(w.pickup(&pickup, &order, &fresh.id).status, 200);
    assert_eq!(
        w.hop(&district, &order).status,
        401,
        "a version-1 scanner credential"
    );
    assert_eq!(w.profile(&buyer).status, 401, "a version-1 session");
    assert_eq!(w.profile(&fresh).status, 200);
}

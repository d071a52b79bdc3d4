//! The tamper-evident audit, through the `lasthop-origin audit` commands an operator and an
//! auditor run: rows edited or deleted directly in the directory are named by `audit verify`;
//! an export checks, and a tampered one does not. Each scenario runs on both backends.

use std::path::Path;
use std::process::Output;

use axum::http::StatusCode;
use serde_json::Value;

use crate::helpers::TestApp;
use crate::scenarios::parcel;

/// Runs `lasthop-origin audit <args>` on the app's directory, with its master keys.
pub(crate) fn audit(app: &TestApp, args: &[&str]) -> Output {
    let args = [&["audit"], args].concat();
    app.run_origin(&args, &[("LASTHOP_MASTER_KEYS", app.master_keys.as_ref())])
}

use crate::helpers::shown as text;

/// Three chained rows: a release, a refused release, a release of another order.
async fn three_rows(app: &TestApp) -> crate::scenarios::Parcel {
    let first = parcel(app, "audit-one").await;
    assert_eq!(first.release(app).await.status, StatusCode::OK);
    let refused = app.release(&first.order_id, "not-a-token").await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    let second = parcel(app, "audit-two").await;
    assert_eq!(second.release(app).await.status, StatusCode::OK);
    let verify = audit(app, &["verify"]);
    assert!(verify.status.success(), "{}", text(&verify));
    assert!(
        String::from_utf8_lossy(&verify.stdout).contains("audit chain intact: 3 rows"),
        "{}",
        text(&verify)
    );
    first
}

async fn audit_ids(app: &TestApp) -> Vec<i64> {
    sqlx::query_scalar("SELECT audit_id FROM release_audit ORDER BY chain_seq")
        .fetch_all(app.state.stores().directory.pool())
        .await
        .unwrap()
}

async fn execute(app: &TestApp, statement: &str, id: i64) {
    let done = sqlx::query(statement)
        .bind(id)
        .execute(app.state.stores().directory.pool())
        .await
        .unwrap();
    assert_eq!(done.rows_affected(), 1, "{statement}");
}

pub async fn audit_verify_names_a_release_row_edited_in_the_database(app: &TestApp) {
    let p = three_rows(app).await;
    let ids = audit_ids(app).await;
    // Someone with the directory's credentials hides who saw the address.
    execute(
        app,
        "UPDATE release_audit SET scanner_id = 'sc_00000000000000000000000000000000' \
         WHERE audit_id = $1",
        ids[0],
    )
    .await;
    let verify = audit(app, &["verify"]);
    assert_eq!(verify.status.code(), Some(1), "{}", text(&verify));
    let stderr = String::from_utf8_lossy(&verify.stderr);
    assert!(
        stderr.contains(&format!(
            "release_audit audit_id={} (chain row 1) was changed after it was written",
            ids[0]
        )),
        "{}",
        text(&verify)
    );
    // The buyer still sees the row and its purpose; only the chain tells it was edited.
    let profile = app
        .internal(
            axum::http::Method::GET,
            lasthop_core::api::paths::INTERNAL_BUYER_PROFILE,
            None,
            Some(&p.buyer_token),
        )
        .await;
    assert_eq!(profile.status, StatusCode::OK, "{:?}", profile.body);
    assert_eq!(profile.body["access_log"][0]["purpose"], "delivery");
}

pub async fn audit_verify_names_the_gap_a_deleted_audit_row_leaves(app: &TestApp) {
    three_rows(app).await;
    let ids = audit_ids(app).await;
    let (refusal_id,): (i64,) =
        sqlx::query_as("SELECT refusal_id FROM custody_refusals WHERE chain_seq = 2")
            .fetch_one(app.state.stores().directory.pool())
            .await
            .unwrap();
    execute(
        app,
        "DELETE FROM custody_refusals WHERE refusal_id = $1",
        refusal_id,
    )
    .await;
    let verify = audit(app, &["verify"]);
    assert_eq!(verify.status.code(), Some(1), "{}", text(&verify));
    let expected = format!(
        "chain rows 2 to 2 are missing (deleted): the gap is after release_audit audit_id={} \
         (chain row 1) and before release_audit audit_id={} (chain row 3)",
        ids[0], ids[1]
    );
    assert!(
        String::from_utf8_lossy(&verify.stderr).contains(&expected),
        "{}",
        text(&verify)
    );
    // The last row deleted too: the head still counts it.
    execute(app, "DELETE FROM release_audit WHERE audit_id = $1", ids[1]).await;
    let verify = audit(app, &["verify"]);
    assert_eq!(verify.status.code(), Some(1), "{}", text(&verify));
    assert!(
        String::from_utf8_lossy(&verify.stderr).contains("chain rows 2 to 3 are missing"),
        "{}",
        text(&verify)
    );
    // Nothing is signed for an auditor while the chain is broken.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("audit.json");
    let export = audit(app, &["export", "--out", out.to_str().unwrap()]);
    assert_eq!(export.status.code(), Some(1), "{}", text(&export));
    assert!(!out.exists());
}

pub async fn an_audit_export_checks_and_a_tampered_export_does_not(app: &TestApp) {
    let p = three_rows(app).await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("audit.json");
    let path = out.to_str().unwrap();
    let export = audit(app, &["export", "--out", path]);
    assert!(export.status.success(), "{}", text(&export));
    let key = audit(app, &["public-key"]);
    assert!(key.status.success(), "{}", text(&key));
    let key = String::from_utf8_lossy(&key.stdout).trim().to_owned();
    let (key_id, public_key) = key.split_once(' ').expect("key id and key");
    assert_eq!(key_id, "audit-v1");
    assert_eq!(public_key, app.state.keys().audit.public_key_base64());

    let check = audit(app, &["check-export", path, "--public-key", public_key]);
    assert!(check.status.success(), "{}", text(&check));
    assert!(
        String::from_utf8_lossy(&check.stdout).contains("export intact: 3 rows"),
        "{}",
        text(&check)
    );

    // Ids, times and fixed words only: nothing of the buyer.
    let bytes = std::fs::read(&out).unwrap();
    let file = String::from_utf8_lossy(&bytes);
    for needle in [
        p.person.name.as_str(),
        p.person.phone.as_str(),
        p.person.line.as_str(),
        p.person.postal_code.as_str(),
    ] {
        assert!(!file.contains(needle), "the export holds {needle}");
    }
    let json: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(json["rows"][0]["kind"], "release");
    assert_eq!(json["rows"][1]["kind"], "refusal");

    // One field changed in the file.
    let tampered = dir.path().join("tampered.json");
    let mut edited = json.clone();
    edited["rows"][0]["fields"][3][1] = Value::from("sc_00000000000000000000000000000000");
    write_json(&tampered, &edited);
    let check = audit(app, &["check-export", tampered.to_str().unwrap()]);
    assert_ne!(check.status.code(), Some(0), "{}", text(&check));
    assert!(
        String::from_utf8_lossy(&check.stderr).contains("row 1 was changed"),
        "{}",
        text(&check)
    );
    // The last row dropped and the head moved back to the row before: the signature fails.
    let mut shortened = json.clone();
    let rows = shortened["rows"].as_array_mut().unwrap();
    rows.pop();
    let hash = rows[1]["row_hash"].clone();
    shortened["head"] = serde_json::json!({"seq": 2, "hash": hash});
    write_json(&tampered, &shortened);
    let check = audit(app, &["check-export", tampered.to_str().unwrap()]);
    assert_ne!(check.status.code(), Some(0), "{}", text(&check));
    assert!(
        String::from_utf8_lossy(&check.stderr).contains("signature does not verify"),
        "{}",
        text(&check)
    );

    // A later export extends this one; the tampered file is not extended by it.
    let second = parcel(app, "audit-three").await;
    assert_eq!(second.release(app).await.status, StatusCode::OK);
    let later = dir.path().join("later.json");
    let export = audit(app, &["export", "--out", later.to_str().unwrap()]);
    assert!(export.status.success(), "{}", text(&export));
    let check = audit(
        app,
        &["check-export", later.to_str().unwrap(), "--previous", path],
    );
    assert!(check.status.success(), "{}", text(&check));
    let mut rewritten = json;
    rewritten["rows"][0]["fields"][3][1] = Value::from("sc_00000000000000000000000000000000");
    write_json(&tampered, &rewritten);
    let check = audit(
        app,
        &[
            "check-export",
            later.to_str().unwrap(),
            "--previous",
            tampered.to_str().unwrap(),
        ],
    );
    assert_ne!(check.status.code(), Some(0), "{}", text(&check));
}

fn write_json(path: &Path, value: &Value) {
    std::fs::write(path, serde_json::to_vec_pretty(value).unwrap()).unwrap();
}

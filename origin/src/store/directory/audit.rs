//! The audit's hash chain in the directory (see [`crate::audit_chain`] for the hash and the
//! check): appending a release or refusal row under the chain head's lock, and reading the
//! chain back for `audit verify` and `audit export`.
//!
//! One chain spans both tables, so a deleted refusal is as visible as a deleted release and
//! the order of events between them is fixed. Appending updates the one-row
//! `audit_chain_head` first (`UPDATE … RETURNING`): on PostgreSQL that takes the row's lock
//! until the transaction ends, so concurrent releases append one after the other (a writer
//! that waited re-reads the head its predecessor committed, at `READ COMMITTED`); on SQLite the
//! transaction already holds the file's write lock.

use sqlx::{AnyConnection, FromRow};

use super::{Directory, RefusalRow, Result};
use crate::audit_chain::{row_hash, ChainHash, ChainRow, StoredRow};
use crate::store::db;

/// The purpose recorded for every release so far.
pub const PURPOSE_DELIVERY: &str = lasthop_core::api::ReleasePurpose::Delivery.as_str();

/// A row's place in the chain, as written beside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Link {
    pub seq: i64,
    pub prev_hash: String,
    pub row_hash: String,
}

/// Appends a row of `kind` with `fields` to the chain: takes the next `seq` under the head's
/// lock and moves the head to the row's hash. Call it inside the transaction that inserts the
/// row, and store the [`Link`] with it.
pub(super) async fn append(
    conn: &mut AnyConnection,
    kind: &str,
    fields: Vec<(String, Option<String>)>,
) -> std::result::Result<Link, sqlx::Error> {
    let (seq, head): (i64, String) = sqlx::query_as(
        "UPDATE audit_chain_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, head_hash",
    )
    .fetch_one(&mut *conn)
    .await?;
    let corrupt = || sqlx::Error::Decode("the audit chain's head is unreadable".into());
    let previous = ChainHash::from_hex(&head).map_err(|_| corrupt())?;
    let row = ChainRow {
        seq: u64::try_from(seq).map_err(|_| corrupt())?,
        kind: kind.to_owned(),
        fields,
    };
    let own = row_hash(&previous, &row).to_hex();
    sqlx::query("UPDATE audit_chain_head SET head_hash = $1 WHERE id = 1")
        .bind(&own)
        .execute(&mut *conn)
        .await?;
    Ok(Link {
        seq,
        prev_hash: head,
        row_hash: own,
    })
}

/// The hashed fields of a release row, in their hashed order.
pub(super) fn release_fields(
    release_id: &str,
    order_id: &str,
    hub_id: &str,
    scanner_id: &str,
    address_id: &str,
    purpose: &str,
    at: i64,
) -> Vec<(String, Option<String>)> {
    [
        ("release_id", Some(release_id.to_owned())),
        ("order_id", Some(order_id.to_owned())),
        ("hub_id", Some(hub_id.to_owned())),
        ("scanner_id", Some(scanner_id.to_owned())),
        ("address_id", Some(address_id.to_owned())),
        ("purpose", Some(purpose.to_owned())),
        ("at", Some(at.to_string())),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), value))
    .collect()
}

/// The hashed fields of a refusal row, in their hashed order.
pub(super) fn refusal_fields(refusal: &RefusalRow) -> Vec<(String, Option<String>)> {
    [
        ("endpoint", Some(refusal.endpoint.clone())),
        ("order_id", refusal.order_id.clone()),
        ("scanner_id", refusal.scanner_id.clone()),
        ("code", Some(refusal.code.clone())),
        ("reason", Some(refusal.reason.clone())),
        ("at", Some(refusal.at.to_string())),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), value))
    .collect()
}

/// Kind words of the chain's rows.
pub const KIND_RELEASE: &str = "release";
/// See [`KIND_RELEASE`].
pub const KIND_REFUSAL: &str = "refusal";

/// One chained row as stored, with the table and key that locate it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainRecord {
    /// `release_audit` or `custody_refusals`.
    pub table: &'static str,
    /// Its `audit_id` or `refusal_id`.
    pub id: i64,
    /// The row, its fields and hashes.
    pub stored: StoredRow,
}

impl ChainRecord {
    /// `release_audit audit_id=7`, for messages.
    pub fn locator(&self) -> String {
        let key = if self.table == "release_audit" {
            "audit_id"
        } else {
            "refusal_id"
        };
        format!("{} {key}={}", self.table, self.id)
    }
}

/// The chain as read back: its rows in `seq` order, its head, and the rows from before it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditChain {
    /// Chained rows of both tables with `seq` up to the head's, in `seq` order.
    pub records: Vec<ChainRecord>,
    /// The head's `seq` (rows written so far).
    pub head_seq: i64,
    /// The head's hash.
    pub head_hash: String,
    /// Unchained release rows the head recorded when the chain began.
    pub legacy_releases: i64,
    /// Unchained refusal rows the head recorded when the chain began.
    pub legacy_refusals: i64,
    /// Unchained release rows now.
    pub unchained_releases: i64,
    /// Unchained refusal rows now.
    pub unchained_refusals: i64,
}

#[derive(FromRow)]
struct ReleaseLinkRow {
    audit_id: i64,
    chain_seq: i64,
    prev_hash: Option<String>,
    row_hash: Option<String>,
    release_id: String,
    order_id: String,
    hub_id: String,
    scanner_id: String,
    address_id: String,
    purpose: String,
    at: i64,
}

#[derive(FromRow)]
struct RefusalLinkRow {
    refusal_id: i64,
    chain_seq: i64,
    prev_hash: Option<String>,
    row_hash: Option<String>,
    endpoint: String,
    order_id: Option<String>,
    scanner_id: Option<String>,
    code: String,
    reason: String,
    at: i64,
}

fn stored(
    seq: i64,
    kind: &str,
    fields: Vec<(String, Option<String>)>,
    prev_hash: Option<String>,
    own_hash: Option<String>,
) -> StoredRow {
    StoredRow {
        // A negative seq (an edit) reads as 0, which the check reports as out of order.
        row: ChainRow {
            seq: u64::try_from(seq).unwrap_or(0),
            kind: kind.to_owned(),
            fields,
        },
        prev_hash: prev_hash.unwrap_or_default(),
        row_hash: own_hash.unwrap_or_default(),
    }
}

impl Directory {
    /// Reads the whole chain. The head is read first; every row up to its `seq` was committed
    /// with it, and rows appended meanwhile are left out, so the read is consistent without a
    /// snapshot while releases go on.
    ///
    /// # Errors
    /// [`crate::store::StoreError`] when the store fails.
    pub async fn audit_chain(&self) -> Result<AuditChain> {
        let pool = self.store.pool();
        let (head_seq, head_hash, legacy_releases, legacy_refusals): (i64, String, i64, i64) =
            db(sqlx::query_as(
                "SELECT seq, head_hash, legacy_releases, legacy_refusals \
                 FROM audit_chain_head WHERE id = 1",
            )
            .fetch_one(pool)
            .await)?;
        let releases: Vec<ReleaseLinkRow> = db(sqlx::query_as(
            "SELECT audit_id, chain_seq, prev_hash, row_hash, release_id, order_id, hub_id, \
             scanner_id, address_id, purpose, at FROM release_audit \
             WHERE chain_seq IS NOT NULL AND chain_seq <= $1",
        )
        .bind(head_seq)
        .fetch_all(pool)
        .await)?;
        let refusals: Vec<RefusalLinkRow> = db(sqlx::query_as(
            "SELECT refusal_id, chain_seq, prev_hash, row_hash, endpoint, order_id, scanner_id, \
             code, reason, at FROM custody_refusals \
             WHERE chain_seq IS NOT NULL AND chain_seq <= $1",
        )
        .bind(head_seq)
        .fetch_all(pool)
        .await)?;
        let (unchained_releases,): (i64,) = db(sqlx::query_as(
            "SELECT COUNT(*) FROM release_audit WHERE chain_seq IS NULL",
        )
        .fetch_one(pool)
        .await)?;
        let (unchained_refusals,): (i64,) = db(sqlx::query_as(
            "SELECT COUNT(*) FROM custody_refusals WHERE chain_seq IS NULL",
        )
        .fetch_one(pool)
        .await)?;
        let mut records: Vec<ChainRecord> = releases
            .into_iter()
            .map(|r| ChainRecord {
                table: "release_audit",
                id: r.audit_id,
                stored: stored(
                    r.chain_seq,
                    KIND_RELEASE,
                    release_fields(
                        &r.release_id,
                        &r.order_id,
                        &r.hub_id,
                        &r.scanner_id,
                        &r.address_id,
                        &r.purpose,
                        r.at,
                    ),
                    r.prev_hash,
                    r.row_hash,
                ),
            })
            .chain(refusals.into_iter().map(|r| {
                let fields = refusal_fields(&RefusalRow {
                    endpoint: r.endpoint,
                    order_id: r.order_id,
                    scanner_id: r.scanner_id,
                    code: r.code,
                    reason: r.reason,
                    at: r.at,
                });
                ChainRecord {
                    table: "custody_refusals",
                    id: r.refusal_id,
                    stored: stored(r.chain_seq, KIND_REFUSAL, fields, r.prev_hash, r.row_hash),
                }
            }))
            .collect();
        records.sort_by_key(|r| r.stored.row.seq);
        Ok(AuditChain {
            records,
            head_seq,
            head_hash,
            legacy_releases,
            legacy_refusals,
            unchained_releases,
            unchained_refusals,
        })
    }
}

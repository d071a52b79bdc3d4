//! Releases of a recipient to a final hub, and their audit trail (also the buyer's access log).

use sqlx::{AnyConnection, FromRow};

use super::audit::{self, KIND_RELEASE, PURPOSE_DELIVERY};
use super::{Directory, Result};
use crate::store::db;
#[cfg(doc)]
use crate::store::StoreError;

/// A release of an order's recipient to one hub.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct ReleaseRow {
    /// `r_…`
    pub release_id: String,
    /// `o_…`
    pub order_id: String,
    /// `h_…`
    pub hub_id: String,
    /// `sc_…` of the scanner that asked first.
    pub scanner_id: String,
    /// Unix milliseconds.
    pub created_at: i64,
    /// Unix milliseconds after which the terminal must have erased the recipient.
    pub erase_after: i64,
}

/// One answered release call, as the audit trail and the buyer's access log show it.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct AuditRow {
    /// `r_…`
    pub release_id: String,
    /// `o_…`
    pub order_id: String,
    /// `h_…`
    pub hub_id: String,
    /// The hub's region code (joined from `hubs`).
    pub hub_code: String,
    /// `sc_…`
    pub scanner_id: String,
    /// `a_…`
    pub address_id: String,
    /// Why it was released (`delivery`).
    pub purpose: String,
    /// Unix milliseconds.
    pub at: i64,
}

/// What recording a release found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded {
    /// The order's release to this hub (new, or the one made before) and its new audit row.
    Released(ReleaseRow),
    /// The order was delivered (or no longer exists): nothing was recorded or released.
    Closed,
    /// The order is released to another hub: a release belongs to one hub; nothing written.
    OtherHub,
    /// The order's release is past its `erase_after`: nothing written, nothing released.
    Expired,
}

impl Directory {
    /// Finds the release of `order_id` to `hub_id`, creating it if there is none, and
    /// writes an audit row; both commit together or not at all. The caller returns the
    /// recipient only after this succeeded, so nothing is released without its audit.
    /// Refuses, in the same transaction, an order that has been delivered meanwhile, one
    /// released to another hub, and a release past its `erase_after`.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when anything in the transaction fails.
    pub async fn record_release(
        &self,
        fresh: &ReleaseRow,
        address_id: &str,
        now: i64,
    ) -> Result<Recorded> {
        let mut attempts = self.store.transactions();
        loop {
            let mut tx = attempts.begin().await?;
            let outcome = record_release_in(&mut tx, fresh, address_id, now).await;
            if let Some(done) = attempts.settle(tx, outcome).await? {
                return Ok(done);
            }
        }
    }

    /// A release by id.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the store fails.
    pub async fn release(&self, release_id: &str) -> Result<Option<ReleaseRow>> {
        db(sqlx::query_as(
            "SELECT release_id, order_id, hub_id, scanner_id, created_at, erase_after \
             FROM releases WHERE release_id = $1",
        )
        .bind(release_id)
        .fetch_optional(self.store.pool())
        .await)
    }

    /// The audit rows of one order, oldest first.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the store fails.
    pub async fn audit_for_order(&self, order_id: &str) -> Result<Vec<AuditRow>> {
        db(sqlx::query_as(
            "SELECT a.release_id, a.order_id, a.hub_id, h.code AS hub_code, a.scanner_id, a.address_id, a.purpose, a.at \
             FROM release_audit a JOIN hubs h ON h.hub_id = a.hub_id \
             WHERE a.order_id = $1 ORDER BY a.audit_id",
        )
        .bind(order_id)
        .fetch_all(self.store.pool())
        .await)
    }

    /// Every audit row about the buyer's orders: who saw which address for which order.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the store fails.
    pub async fn access_log(&self, buyer_id: &str) -> Result<Vec<AuditRow>> {
        db(sqlx::query_as(
            "SELECT a.release_id, a.order_id, a.hub_id, h.code AS hub_code, a.scanner_id, a.address_id, a.purpose, a.at \
             FROM release_audit a JOIN hubs h ON h.hub_id = a.hub_id JOIN orders o ON o.order_id = a.order_id \
             WHERE o.buyer_id = $1 ORDER BY a.audit_id",
        )
        .bind(buyer_id)
        .fetch_all(self.store.pool())
        .await)
    }
}

/// The release transaction, race-free at `READ COMMITTED`:
/// 1. the order's row is updated first, which locks it: a twin release or a delivery of the
///    same order waits here, and a delivered order is refused on the state it now sees;
/// 2. the order's release, if any, is read under that lock: another hub's, or one past its
///    `erase_after`, ends it here;
/// 3. the release is inserted unless this hub has one (`ON CONFLICT DO NOTHING`), and the
///    order's release to this hub is read back — ours, or the one committed before;
/// 4. the audit row of this answer, appended to the audit's hash chain (which locks the
///    chain's head last, so releases of different orders wait for each other only there).
async fn record_release_in(
    conn: &mut AnyConnection,
    fresh: &ReleaseRow,
    address_id: &str,
    now: i64,
) -> std::result::Result<Recorded, sqlx::Error> {
    let open = sqlx::query(
        "UPDATE orders SET status = CASE WHEN status = 'created' THEN 'released' ELSE status END \
         WHERE order_id = $1 AND status <> 'delivered'",
    )
    .bind(&fresh.order_id)
    .execute(&mut *conn)
    .await?;
    if open.rows_affected() == 0 {
        return Ok(Recorded::Closed);
    }
    let existing: Option<ReleaseRow> = sqlx::query_as(
        "SELECT release_id, order_id, hub_id, scanner_id, created_at, erase_after \
         FROM releases WHERE order_id = $1",
    )
    .bind(&fresh.order_id)
    .fetch_optional(&mut *conn)
    .await?;
    match existing {
        Some(release) if release.hub_id != fresh.hub_id => return Ok(Recorded::OtherHub),
        Some(release) if release.erase_after <= now => return Ok(Recorded::Expired),
        _ => {}
    }
    let inserted: Option<ReleaseRow> = sqlx::query_as(
        "INSERT INTO releases (release_id, order_id, hub_id, scanner_id, created_at, erase_after) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (order_id, hub_id) DO NOTHING \
         RETURNING release_id, order_id, hub_id, scanner_id, created_at, erase_after",
    )
    .bind(&fresh.release_id)
    .bind(&fresh.order_id)
    .bind(&fresh.hub_id)
    .bind(&fresh.scanner_id)
    .bind(fresh.created_at)
    .bind(fresh.erase_after)
    .fetch_optional(&mut *conn)
    .await?;
    let release = match inserted {
        Some(release) => release,
        None => {
            sqlx::query_as(
                "SELECT release_id, order_id, hub_id, scanner_id, created_at, erase_after \
                 FROM releases WHERE order_id = $1 AND hub_id = $2",
            )
            .bind(&fresh.order_id)
            .bind(&fresh.hub_id)
            .fetch_one(&mut *conn)
            .await?
        }
    };
    let link = audit::append(
        conn,
        KIND_RELEASE,
        audit::release_fields(
            &release.release_id,
            &release.order_id,
            &release.hub_id,
            &fresh.scanner_id,
            address_id,
            PURPOSE_DELIVERY,
            now,
        ),
    )
    .await?;
    sqlx::query(
        "INSERT INTO release_audit (release_id, order_id, hub_id, scanner_id, address_id, \
         purpose, at, chain_seq, prev_hash, row_hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(&release.release_id)
    .bind(&release.order_id)
    .bind(&release.hub_id)
    .bind(&fresh.scanner_id)
    .bind(address_id)
    .bind(PURPOSE_DELIVERY)
    .bind(now)
    .bind(link.seq)
    .bind(&link.prev_hash)
    .bind(&link.row_hash)
    .execute(&mut *conn)
    .await?;
    Ok(Recorded::Released(release))
}

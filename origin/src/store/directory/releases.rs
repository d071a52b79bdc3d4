//! Releases of a recipient to a final hub, and their audit trail (also the buyer's access log).

use sqlx::FromRow;

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
    /// Unix milliseconds.
    pub at: i64,
}

impl Directory {
    /// Finds the release of `order_id` to `hub_id`, creating it if there is none, and
    /// writes an audit row; both commit together or not at all. The caller returns the
    /// recipient only after this succeeded, so nothing is released without its audit.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when anything in the transaction fails.
    pub async fn record_release(
        &self,
        fresh: &ReleaseRow,
        address_id: &str,
        now: i64,
    ) -> Result<ReleaseRow> {
        let mut tx = db(self.pool.begin().await)?;
        let existing: Option<ReleaseRow> = db(sqlx::query_as(
            "SELECT release_id, order_id, hub_id, scanner_id, created_at, erase_after \
             FROM releases WHERE order_id = $1 AND hub_id = $2",
        )
        .bind(&fresh.order_id)
        .bind(&fresh.hub_id)
        .fetch_optional(&mut *tx)
        .await)?;
        let release = match existing {
            Some(release) => release,
            None => {
                db(sqlx::query(
                    "INSERT INTO releases (release_id, order_id, hub_id, scanner_id, created_at, erase_after) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(&fresh.release_id)
                .bind(&fresh.order_id)
                .bind(&fresh.hub_id)
                .bind(&fresh.scanner_id)
                .bind(fresh.created_at)
                .bind(fresh.erase_after)
                .execute(&mut *tx)
                .await)?;
                db(sqlx::query("UPDATE orders SET status = 'released' WHERE order_id = $1 AND status = 'created'")
                    .bind(&fresh.order_id)
                    .execute(&mut *tx)
                    .await)?;
                fresh.clone()
            }
        };
        db(sqlx::query(
            "INSERT INTO release_audit (release_id, order_id, hub_id, scanner_id, address_id, at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&release.release_id)
        .bind(&release.order_id)
        .bind(&release.hub_id)
        .bind(&fresh.scanner_id)
        .bind(address_id)
        .bind(now)
        .execute(&mut *tx)
        .await)?;
        db(tx.commit().await)?;
        Ok(release)
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
        .fetch_optional(&self.pool)
        .await)
    }

    /// The audit rows of one order, oldest first.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the store fails.
    pub async fn audit_for_order(&self, order_id: &str) -> Result<Vec<AuditRow>> {
        db(sqlx::query_as(
            "SELECT a.release_id, a.order_id, a.hub_id, h.code AS hub_code, a.scanner_id, a.address_id, a.at \
             FROM release_audit a JOIN hubs h ON h.hub_id = a.hub_id \
             WHERE a.order_id = $1 ORDER BY a.audit_id",
        )
        .bind(order_id)
        .fetch_all(&self.pool)
        .await)
    }

    /// Every audit row about the buyer's orders: who saw which address for which order.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the store fails.
    pub async fn access_log(&self, buyer_id: &str) -> Result<Vec<AuditRow>> {
        db(sqlx::query_as(
            "SELECT a.release_id, a.order_id, a.hub_id, h.code AS hub_code, a.scanner_id, a.address_id, a.at \
             FROM release_audit a JOIN hubs h ON h.hub_id = a.hub_id JOIN orders o ON o.order_id = a.order_id \
             WHERE o.buyer_id = $1 ORDER BY a.audit_id",
        )
        .bind(buyer_id)
        .fetch_all(&self.pool)
        .await)
    }
}

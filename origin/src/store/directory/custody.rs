//! The chain of custody's records: device nonces the origin accepted (one use per scanner),
//! refused releases and deliveries (an audit trail of attempts, by fixed reason words), and the
//! receipt digest of a delivered order (so a retried delivery is recognised).

use sqlx::AnyConnection;

use super::audit::{self, KIND_REFUSAL};
use super::{Directory, Result};
use crate::store::{db, StoreError};

/// One refused custody call, as audited.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct RefusalRow {
    /// `release` or `delivery`.
    pub endpoint: String,
    /// The order named, when it parsed.
    pub order_id: Option<String>,
    /// The scanner whose credential came with it, when it verified.
    pub scanner_id: Option<String>,
    /// The error code answered.
    pub code: String,
    /// A fixed reason word.
    pub reason: String,
    /// Unix milliseconds.
    pub at: i64,
}

impl Directory {
    /// Remembers a device nonce of a scanner. Returns false when it was seen before (a replay).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the store fails.
    pub async fn note_device_nonce(&self, scanner_id: &str, nonce: &str, now: i64) -> Result<bool> {
        match sqlx::query(
            "INSERT INTO device_nonces (scanner_id, nonce, seen_at) VALUES ($1, $2, $3)",
        )
        .bind(scanner_id)
        .bind(nonce)
        .bind(now)
        .execute(self.store.pool())
        .await
        .map_err(StoreError::from_sqlx)
        {
            Ok(_) => Ok(true),
            Err(StoreError::Conflict) => Ok(false),
            Err(other) => Err(other),
        }
    }

    /// Forgets device nonces older than `before`; their signatures are stale anyway.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the store fails.
    pub async fn prune_device_nonces(&self, before: i64) -> Result<u64> {
        let done = db(sqlx::query("DELETE FROM device_nonces WHERE seen_at < $1")
            .bind(before)
            .execute(self.store.pool())
            .await)?;
        Ok(done.rows_affected())
    }

    /// Audits a refused release or delivery, as the next row of the audit's hash chain.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the store fails.
    pub async fn record_refusal(&self, refusal: &RefusalRow) -> Result<()> {
        let mut attempts = self.store.transactions();
        loop {
            let mut tx = attempts.begin().await?;
            let outcome = record_refusal_in(&mut tx, refusal).await;
            if let Some(done) = attempts.settle(tx, outcome).await? {
                return Ok(done);
            }
        }
    }

    /// The refusals about one order, oldest first.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the store fails.
    pub async fn refusals_for_order(&self, order_id: &str) -> Result<Vec<RefusalRow>> {
        db(sqlx::query_as(
            "SELECT endpoint, order_id, scanner_id, code, reason, at FROM custody_refusals \
             WHERE order_id = $1 ORDER BY refusal_id",
        )
        .bind(order_id)
        .fetch_all(self.store.pool())
        .await)
    }

    /// The receipt digest of a delivered order (`None` while undelivered).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the store fails.
    pub async fn delivered_receipt(&self, order_id: &str) -> Result<Option<String>> {
        let row: Option<(Option<String>,)> = db(sqlx::query_as(
            "SELECT receipt_sha256 FROM orders WHERE order_id = $1 AND status = 'delivered'",
        )
        .bind(order_id)
        .fetch_optional(self.store.pool())
        .await)?;
        Ok(row.and_then(|(digest,)| digest))
    }
}

async fn record_refusal_in(
    conn: &mut AnyConnection,
    refusal: &RefusalRow,
) -> std::result::Result<(), sqlx::Error> {
    let link = audit::append(conn, KIND_REFUSAL, audit::refusal_fields(refusal)).await?;
    sqlx::query(
        "INSERT INTO custody_refusals (endpoint, order_id, scanner_id, code, reason, at, \
         chain_seq, prev_hash, row_hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&refusal.endpoint)
    .bind(&refusal.order_id)
    .bind(&refusal.scanner_id)
    .bind(&refusal.code)
    .bind(&refusal.reason)
    .bind(refusal.at)
    .bind(link.seq)
    .bind(&link.prev_hash)
    .bind(&link.row_hash)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

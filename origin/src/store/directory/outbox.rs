//! Scanner revocations and the outbox that pushes them to the edge until acknowledged.

use sqlx::AnyConnection;

use super::{Directory, Result};
use crate::store::db;
#[cfg(doc)]
use crate::store::StoreError;

impl Directory {
    /// Revokes a scanner and queues the push to the edge in the same transaction, so a
    /// revocation is never recorded without its notification. Returns false if unknown.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the store fails.
    pub async fn revoke_scanner(&self, scanner_id: &str, now: i64) -> Result<bool> {
        let mut attempts = self.store.transactions();
        loop {
            let mut tx = attempts.begin().await?;
            let outcome = revoke_in(&mut tx, scanner_id, now).await;
            if let Some(done) = attempts.settle(tx, outcome).await? {
                return Ok(done);
            }
        }
    }

    /// Scanner ids whose revocation the edge has not acknowledged yet.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the store fails.
    pub async fn pending_revocations(&self) -> Result<Vec<String>> {
        let rows: Vec<(String,)> = db(sqlx::query_as(
            "SELECT scanner_id FROM revocation_outbox WHERE delivered_at IS NULL ORDER BY queued_at, scanner_id",
        )
        .fetch_all(self.store.pool())
        .await)?;
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }

    /// Marks one outbox entry acknowledged (`delivered`) or counts a failed attempt.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the store fails.
    pub async fn revocation_attempted(
        &self,
        scanner_id: &str,
        delivered: bool,
        now: i64,
    ) -> Result<()> {
        let query = if delivered {
            sqlx::query("UPDATE revocation_outbox SET attempts = attempts + 1, delivered_at = $2 WHERE scanner_id = $1")
                .bind(scanner_id)
                .bind(now)
        } else {
            sqlx::query(
                "UPDATE revocation_outbox SET attempts = attempts + 1 WHERE scanner_id = $1",
            )
            .bind(scanner_id)
        };
        db(self.store.execute(query).await)?;
        Ok(())
    }
}

/// The update locks the scanner's row (and keeps the first revocation time); the outbox insert
/// is idempotent, so a revocation racing its twin queues one push.
async fn revoke_in(
    conn: &mut AnyConnection,
    scanner_id: &str,
    now: i64,
) -> std::result::Result<bool, sqlx::Error> {
    let updated = sqlx::query(
        "UPDATE scanners SET revoked_at = COALESCE(revoked_at, $2) WHERE scanner_id = $1",
    )
    .bind(scanner_id)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    if updated.rows_affected() == 0 {
        return Ok(false);
    }
    sqlx::query(
        "INSERT INTO revocation_outbox (scanner_id, queued_at, attempts) VALUES ($1, $2, 0) \
         ON CONFLICT (scanner_id) DO NOTHING",
    )
    .bind(scanner_id)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(true)
}

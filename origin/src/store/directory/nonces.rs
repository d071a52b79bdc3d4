//! Edge request nonces seen recently, so a replayed signed request is refused.

use super::{Directory, Result};
use crate::store::{db, StoreError};

impl Directory {
    /// Remembers an edge request nonce. Returns false when it was seen before (a replay).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the store fails.
    pub async fn note_nonce(&self, nonce: &str, now: i64) -> Result<bool> {
        match self
            .store
            .execute(
                sqlx::query("INSERT INTO edge_nonces (nonce, seen_at) VALUES ($1, $2)")
                    .bind(nonce)
                    .bind(now),
            )
            .await
            .map_err(StoreError::from_sqlx)
        {
            Ok(_) => Ok(true),
            Err(StoreError::Conflict) => Ok(false),
            Err(other) => Err(other),
        }
    }

    /// Forgets nonces older than `before`; a replay that old fails the timestamp check anyway.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the store fails.
    pub async fn prune_nonces(&self, before: i64) -> Result<u64> {
        let done = db(self
            .store
            .execute(sqlx::query("DELETE FROM edge_nonces WHERE seen_at < $1").bind(before))
            .await)?;
        Ok(done.rows_affected())
    }
}

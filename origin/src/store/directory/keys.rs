//! What the directory knows about master key versions without holding any key: when each
//! version became current (so credentials signed under an older one are known to expire), and
//! which orders in flight were tokenised under which version.

use super::{Directory, Result};
use crate::store::db;
#[cfg(doc)]
use crate::store::StoreError;

impl Directory {
    /// Records that this origin serves with `version` as the current key version since `now`,
    /// unless an earlier start recorded it already.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the store fails.
    pub async fn note_current_key_version(&self, version: u32, now: i64) -> Result<()> {
        db(self
            .store
            .execute(
                sqlx::query(
                    "INSERT INTO key_versions (version, current_since) VALUES ($1, $2) \
                     ON CONFLICT (version) DO NOTHING",
                )
                .bind(i64::from(version))
                .bind(now),
            )
            .await)?;
        Ok(())
    }

    /// When an origin first served with a version above `version` (unix milliseconds): from
    /// then on nothing is signed under `version`. `None` while none has.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the store fails.
    pub async fn key_version_superseded_at(&self, version: u32) -> Result<Option<i64>> {
        db(
            sqlx::query_scalar("SELECT MIN(current_since) FROM key_versions WHERE version > $1")
                .bind(i64::from(version))
                .fetch_one(self.store.pool())
                .await,
        )
    }

    /// Orders not yet delivered whose tags or sealed route may be under `version`: tokenised
    /// under it or an earlier version (the edge re-seals a route under the version current at
    /// each hop), or from before orders recorded their version.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the store fails.
    pub async fn open_orders_needing_key_version(&self, version: u32) -> Result<i64> {
        db(sqlx::query_scalar(
            "SELECT COUNT(*) FROM orders WHERE status NOT IN ('delivered', 'cancelled') \
             AND (key_version IS NULL OR key_version <= $1)",
        )
        .bind(i64::from(version))
        .fetch_one(self.store.pool())
        .await)
    }

    /// The latest expiry (unix milliseconds) of a scanner credential issued before `before`
    /// and not revoked, if any.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the store fails.
    pub async fn scanner_credentials_issued_before_expire_by(
        &self,
        before: i64,
    ) -> Result<Option<i64>> {
        db(sqlx::query_scalar(
            "SELECT MAX(expires_at) FROM scanners WHERE revoked_at IS NULL AND created_at < $1",
        )
        .bind(before)
        .fetch_one(self.store.pool())
        .await)
    }
}

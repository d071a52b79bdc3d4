//! The directory's side of number rotation: the intent rows (`number_rotations`) written before
//! each step, the switch of every buyer entry to the new number, and the resolution that sends
//! a link made to a number just rotated away to its successor.

use sqlx::{AnyConnection, FromRow};

use super::{Directory, Result};
use crate::store::db;

/// A rotation started and not yet finished, or finished a short while ago.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct RotationRow {
    /// The number being replaced.
    pub old_id: String,
    /// Its successor.
    pub new_id: String,
    /// `started`, `switched` or `done` (see the migration `1010_number_rotations.sql`).
    pub state: String,
}

impl Directory {
    /// Records the intent to replace `old` by `new`, unless a rotation of `old` is recorded
    /// already; returns the rotation as stored (ours, or the one found).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`](crate::store::StoreError) when the store fails.
    pub async fn begin_rotation(&self, old: &str, new: &str, now: i64) -> Result<RotationRow> {
        db(self
            .store
            .execute(
                sqlx::query(
                    "INSERT INTO number_rotations (old_id, new_id, state, started_at) \
                     VALUES ($1, $2, 'started', $3) ON CONFLICT (old_id) DO NOTHING",
                )
                .bind(old)
                .bind(new)
                .bind(now),
            )
            .await)?;
        db(
            sqlx::query_as("SELECT old_id, new_id, state FROM number_rotations WHERE old_id = $1")
                .bind(old)
                .fetch_one(self.store.pool())
                .await,
        )
    }

    /// Rotations not finished (a crash or a failed step interrupted them), oldest first.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`](crate::store::StoreError) when the store fails.
    pub async fn unfinished_rotations(&self) -> Result<Vec<RotationRow>> {
        db(sqlx::query_as(
            "SELECT old_id, new_id, state FROM number_rotations WHERE state <> 'done' \
             ORDER BY started_at, old_id",
        )
        .fetch_all(self.store.pool())
        .await)
    }

    /// Step 2: points every buyer entry of `old` at `new` and marks the rotation switched, in
    /// one transaction.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`](crate::store::StoreError) when the store fails.
    pub async fn switch_rotation(&self, old: &str, new: &str) -> Result<()> {
        let mut attempts = self.store.transactions();
        loop {
            let mut tx = attempts.begin().await?;
            let outcome = switch_in(&mut tx, old, new).await;
            if let Some(done) = attempts.settle(tx, outcome).await? {
                return Ok(done);
            }
        }
    }

    /// Step 4: points at `new` any entry linked to `old` after the switch (a registration that
    /// found the old number just before it went), and marks the rotation done.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`](crate::store::StoreError) when the store fails.
    pub async fn finish_rotation(&self, old: &str, new: &str, now: i64) -> Result<()> {
        let mut attempts = self.store.transactions();
        loop {
            let mut tx = attempts.begin().await?;
            let outcome = finish_in(&mut tx, old, new, now).await;
            if let Some(done) = attempts.settle(tx, outcome).await? {
                return Ok(done);
            }
        }
    }

    /// Forgets a rotation that never switched (its record went away before).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`](crate::store::StoreError) when the store fails.
    pub async fn abandon_rotation(&self, old: &str) -> Result<()> {
        db(self
            .store
            .execute(
                sqlx::query("DELETE FROM number_rotations WHERE old_id = $1 AND state = 'started'")
                    .bind(old),
            )
            .await)?;
        Ok(())
    }

    /// Sweeps the rotations done since `since` once more (an entry linked concurrently with
    /// their switch) and forgets those done before. Returns how many entries moved.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`](crate::store::StoreError) when the store fails.
    pub async fn sweep_rotations(&self, since: i64) -> Result<u64> {
        let moved = db(self
            .store
            .execute(sqlx::query(
                "UPDATE buyer_addresses SET address_id = (SELECT new_id FROM number_rotations r \
                 WHERE r.old_id = buyer_addresses.address_id) \
                 WHERE address_id IN (SELECT old_id FROM number_rotations WHERE state = 'done')",
            ))
            .await)?
        .rows_affected();
        db(self
            .store
            .execute(
                sqlx::query("DELETE FROM number_rotations WHERE state = 'done' AND done_at < $1")
                    .bind(since),
            )
            .await)?;
        Ok(moved)
    }
}

async fn switch_in(
    conn: &mut AnyConnection,
    old: &str,
    new: &str,
) -> std::result::Result<(), sqlx::Error> {
    move_entries(conn, old, new).await?;
    sqlx::query(
        "UPDATE number_rotations SET state = 'switched' WHERE old_id = $1 AND state = 'started'",
    )
    .bind(old)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn finish_in(
    conn: &mut AnyConnection,
    old: &str,
    new: &str,
    now: i64,
) -> std::result::Result<(), sqlx::Error> {
    move_entries(conn, old, new).await?;
    sqlx::query(
        "UPDATE number_rotations SET state = 'done', done_at = $2 WHERE old_id = $1 \
         AND state <> 'done'",
    )
    .bind(old)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Points every buyer entry of `old` at `new` (orders and the audit name entries).
async fn move_entries(
    conn: &mut AnyConnection,
    old: &str,
    new: &str,
) -> std::result::Result<(), sqlx::Error> {
    sqlx::query("UPDATE buyer_addresses SET address_id = $2 WHERE address_id = $1")
        .bind(old)
        .bind(new)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

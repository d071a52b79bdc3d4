//! The vault's steps of a number rotation (the directory's are in `directory/numbers.rs`; the
//! job that orders them is [`crate::numbers`]). Each step is one transaction and can be run
//! again: a rotation interrupted anywhere is finished by running its remaining steps.
//!
//! While a shared record is being renumbered the vault holds it twice: under the old number
//! with its blind index, and under the new one with a placeholder index
//! (`rotating:<new number>`, never an HMAC) so duplicate detection finds exactly one of them.
//! The last vault step deletes the old row and gives the new one the real index, together.

use sqlx::AnyConnection;

use super::vault::{SealedRecord, Vault};
use super::StoreError;

type Result<T> = std::result::Result<T, StoreError>;

/// The prefix of a placeholder blind index (a record under a number still being rotated in).
pub const PLACEHOLDER_PREFIX: &str = "rotating:";

impl Vault {
    /// Up to `limit` shared numbers given before `cutoff` (unix ms), oldest first, leaving out
    /// records still being rotated in.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when no server answers.
    pub async fn numbers_older_than(&self, cutoff: i64, limit: i64) -> Result<Vec<String>> {
        let rows: Vec<(String,)> = self
            .read(|pool| async move {
                Ok(sqlx::query_as(
                    "SELECT address_id FROM address_records WHERE numbered_at < $1 \
                     AND blind_index NOT LIKE 'rotating:%' ORDER BY numbered_at, address_id LIMIT $2",
                )
                .bind(cutoff)
                .bind(limit)
                .fetch_all(pool.pool())
                .await?)
            })
            .await?;
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }

    /// Step 1: stores the record re-sealed under its new number, beside the old one (a
    /// placeholder blind index). Does nothing when the new number is stored already.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when no server takes writes.
    pub async fn insert_rotated(&self, new: &str, record: &SealedRecord) -> Result<()> {
        self.write(|pool| async move {
            pool.execute(
                sqlx::query(
                    "INSERT INTO address_records (address_id, blind_index, key_version, ciphertext) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT (address_id) DO NOTHING",
                )
                .bind(new)
                .bind(format!("{PLACEHOLDER_PREFIX}{new}"))
                .bind(record.key_version)
                .bind(&record.ciphertext),
            )
            .await?;
            Ok(())
        })
        .await
    }

    /// Step 3: deletes the old number and gives its blind index to the new one, in one
    /// transaction. Does nothing when the old number is gone already.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when no server takes writes.
    pub async fn retire_rotated(&self, old: &str, new: &str) -> Result<()> {
        self.write(|pool| async move {
            let mut attempts = pool.transactions();
            loop {
                let mut tx = attempts.begin().await?;
                let outcome = retire_in(&mut tx, old, new).await;
                if let Some(done) = attempts.settle(tx, outcome).await? {
                    return Ok(done);
                }
            }
        })
        .await
    }

    /// Removes a record stored under a new number that never took over (its rotation was
    /// abandoned because the old record went away). A record holding a real blind index is
    /// never removed here.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when no server takes writes.
    pub async fn drop_rotated(&self, new: &str) -> Result<()> {
        self.write(|pool| async move {
            pool.execute(
                sqlx::query(
                    "DELETE FROM address_records WHERE address_id = $1 AND blind_index = $2",
                )
                .bind(new)
                .bind(format!("{PLACEHOLDER_PREFIX}{new}")),
            )
            .await?;
            Ok(())
        })
        .await
    }
}

/// Deletes first, so the blind index is free when the new row takes it.
async fn retire_in(
    conn: &mut AnyConnection,
    old: &str,
    new: &str,
) -> std::result::Result<(), sqlx::Error> {
    let removed: Option<(String,)> =
        sqlx::query_as("DELETE FROM address_records WHERE address_id = $1 RETURNING blind_index")
            .bind(old)
            .fetch_optional(&mut *conn)
            .await?;
    if let Some((blind_index,)) = removed {
        sqlx::query("UPDATE address_records SET blind_index = $2 WHERE address_id = $1")
            .bind(new)
            .bind(blind_index)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

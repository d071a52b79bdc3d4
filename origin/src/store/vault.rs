//! The vault store: sealed address and contact records. This module moves ciphertexts
//! only; sealing and opening happen in [`crate::records`].

use sqlx::{AnyConnection, AnyPool, FromRow};

use super::pool::StorePool;
use super::{db, StoreError};

type Result<T> = std::result::Result<T, StoreError>;

/// A ciphertext and the key version it was sealed under.
#[derive(Debug, Clone, FromRow)]
pub struct SealedRecord {
    /// The vault-record key version; also part of the associated data.
    pub key_version: i64,
    /// XChaCha20-Poly1305 output (nonce included) as produced by the core's `seal`.
    pub ciphertext: Vec<u8>,
}

/// Handle on the vault pool.
#[derive(Clone)]
pub struct Vault {
    store: StorePool,
}

impl Vault {
    pub(super) fn new(store: StorePool) -> Self {
        Self { store }
    }

    /// The pool, for tests that read the raw store.
    pub fn pool(&self) -> &AnyPool {
        self.store.pool()
    }

    /// The address number whose normalised address has this blind index, if any.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the store fails.
    pub async fn address_by_blind_index(&self, blind_index: &str) -> Result<Option<String>> {
        let row: Option<(String,)> = db(sqlx::query_as(
            "SELECT address_id FROM address_records WHERE blind_index = $1",
        )
        .bind(blind_index)
        .fetch_optional(self.store.pool())
        .await)?;
        Ok(row.map(|(id,)| id))
    }

    /// Stores a new address record unless its blind index is stored already, and returns the
    /// number that holds the address: `address_id` when it was stored, else the existing one
    /// (a concurrent registration of the same address waits for the first and shares it).
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when `address_id` itself exists with another blind index (a
    /// number collision); otherwise unavailability.
    pub async fn insert_or_share_address(
        &self,
        address_id: &str,
        blind_index: &str,
        record: &SealedRecord,
    ) -> Result<String> {
        // The existing record can only vanish between the two statements when an operator
        // deletes it; a second round then stores ours.
        for _ in 0..3 {
            let inserted: Option<(String,)> = db(self
                .store
                .fetch_optional(
                    sqlx::query_as(
                        "INSERT INTO address_records (address_id, blind_index, key_version, ciphertext) \
                         VALUES ($1, $2, $3, $4) ON CONFLICT (blind_index) DO NOTHING RETURNING address_id",
                    )
                    .bind(address_id)
                    .bind(blind_index)
                    .bind(record.key_version)
                    .bind(&record.ciphertext),
                )
                .await)?;
            if let Some((stored,)) = inserted {
                return Ok(stored);
            }
            if let Some(existing) = self.address_by_blind_index(blind_index).await? {
                return Ok(existing);
            }
        }
        Err(StoreError::Unavailable)
    }

    /// The sealed address record for an address number.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the store fails.
    pub async fn address(&self, address_id: &str) -> Result<Option<SealedRecord>> {
        db(sqlx::query_as(
            "SELECT key_version, ciphertext FROM address_records WHERE address_id = $1",
        )
        .bind(address_id)
        .fetch_optional(self.store.pool())
        .await)
    }

    /// Replaces an address record by one under a new number, keeping its blind index, in one
    /// transaction. Returns false when the old number does not exist.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the store fails.
    pub async fn renumber_address(
        &self,
        old: &str,
        new: &str,
        record: &SealedRecord,
    ) -> Result<bool> {
        let mut attempts = self.store.transactions();
        loop {
            let mut tx = attempts.begin().await?;
            let outcome = renumber_in(&mut tx, old, new, record).await;
            if let Some(done) = attempts.settle(tx, outcome).await? {
                return Ok(done);
            }
        }
    }

    /// Stores or replaces a contact record (a buyer's name and phone, or a seller's name).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the store fails.
    pub async fn put_contact(&self, contact_id: &str, record: &SealedRecord) -> Result<()> {
        db(self.store.execute(sqlx::query(
            "INSERT INTO contact_records (contact_id, key_version, ciphertext) VALUES ($1, $2, $3) \
             ON CONFLICT (contact_id) DO UPDATE SET key_version = excluded.key_version, ciphertext = excluded.ciphertext",
        )
        .bind(contact_id)
        .bind(record.key_version)
        .bind(&record.ciphertext)
        )
        .await)?;
        Ok(())
    }

    /// The sealed contact record for a buyer or seller id.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the store fails.
    pub async fn contact(&self, contact_id: &str) -> Result<Option<SealedRecord>> {
        db(sqlx::query_as(
            "SELECT key_version, ciphertext FROM contact_records WHERE contact_id = $1",
        )
        .bind(contact_id)
        .fetch_optional(self.store.pool())
        .await)
    }
}

/// The delete reads the blind index it removes (so a twin renumbering finds nothing to move),
/// and the insert puts it back under the new number before anyone can see it gone.
async fn renumber_in(
    conn: &mut AnyConnection,
    old: &str,
    new: &str,
    record: &SealedRecord,
) -> std::result::Result<bool, sqlx::Error> {
    let removed: Option<(String,)> =
        sqlx::query_as("DELETE FROM address_records WHERE address_id = $1 RETURNING blind_index")
            .bind(old)
            .fetch_optional(&mut *conn)
            .await?;
    let Some((blind_index,)) = removed else {
        return Ok(false);
    };
    sqlx::query(
        "INSERT INTO address_records (address_id, blind_index, key_version, ciphertext) VALUES ($1, $2, $3, $4)",
    )
    .bind(new)
    .bind(&blind_index)
    .bind(record.key_version)
    .bind(&record.ciphertext)
    .execute(&mut *conn)
    .await?;
    Ok(true)
}

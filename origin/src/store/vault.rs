//! The vault store: sealed address and contact records. This module moves ciphertexts
//! only; sealing and opening happen in [`crate::records`].

use sqlx::{AnyPool, FromRow};

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
    pool: AnyPool,
}

impl Vault {
    pub(super) fn new(pool: AnyPool) -> Self {
        Self { pool }
    }

    /// The pool, for tests that read the raw store.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
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
        .fetch_optional(&self.pool)
        .await)?;
        Ok(row.map(|(id,)| id))
    }

    /// Stores a new address record.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when the number or the blind index exists already (a
    /// concurrent registration of the same address); otherwise unavailability.
    pub async fn insert_address(
        &self,
        address_id: &str,
        blind_index: &str,
        record: &SealedRecord,
    ) -> Result<()> {
        db(sqlx::query(
            "INSERT INTO address_records (address_id, blind_index, key_version, ciphertext) VALUES ($1, $2, $3, $4)",
        )
        .bind(address_id)
        .bind(blind_index)
        .bind(record.key_version)
        .bind(&record.ciphertext)
        .execute(&self.pool)
        .await)?;
        Ok(())
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
        .fetch_optional(&self.pool)
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
        let mut tx = db(self.pool.begin().await)?;
        let blind: Option<(String,)> = db(sqlx::query_as(
            "SELECT blind_index FROM address_records WHERE address_id = $1",
        )
        .bind(old)
        .fetch_optional(&mut *tx)
        .await)?;
        let Some((blind_index,)) = blind else {
            return Ok(false);
        };
        db(
            sqlx::query("DELETE FROM address_records WHERE address_id = $1")
                .bind(old)
                .execute(&mut *tx)
                .await,
        )?;
        db(sqlx::query(
            "INSERT INTO address_records (address_id, blind_index, key_version, ciphertext) VALUES ($1, $2, $3, $4)",
        )
        .bind(new)
        .bind(&blind_index)
        .bind(record.key_version)
        .bind(&record.ciphertext)
        .execute(&mut *tx)
        .await)?;
        db(tx.commit().await)?;
        Ok(true)
    }

    /// Stores or replaces a contact record (a buyer's name and phone, or a seller's name).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the store fails.
    pub async fn put_contact(&self, contact_id: &str, record: &SealedRecord) -> Result<()> {
        db(sqlx::query(
            "INSERT INTO contact_records (contact_id, key_version, ciphertext) VALUES ($1, $2, $3) \
             ON CONFLICT (contact_id) DO UPDATE SET key_version = excluded.key_version, ciphertext = excluded.ciphertext",
        )
        .bind(contact_id)
        .bind(record.key_version)
        .bind(&record.ciphertext)
        .execute(&self.pool)
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
        .fetch_optional(&self.pool)
        .await)
    }
}

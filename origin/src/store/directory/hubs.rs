//! Distribution centres and the scanners the origin issued credentials to.

use sqlx::FromRow;

use super::{Directory, Result};
use crate::store::db;
#[cfg(doc)]
use crate::store::StoreError;

/// A distribution centre.
#[derive(Debug, Clone, FromRow)]
pub struct HubRow {
    /// `h_…`
    pub hub_id: String,
    /// `district` or `city`.
    pub level: String,
    /// The GB/T 2260 code of the hub's region.
    pub code: String,
    /// The hub's own (business) name.
    pub name: String,
}

/// A scanner the origin issued a credential to.
#[derive(Debug, Clone, FromRow)]
pub struct ScannerRow {
    /// `sc_…`
    pub scanner_id: String,
    /// `h_…`
    pub hub_id: String,
    /// `pickup` or `hub`.
    pub role: String,
    /// Unix milliseconds.
    pub expires_at: i64,
    /// Unix milliseconds, when revoked.
    pub revoked_at: Option<i64>,
    /// The device's Ed25519 public key (base64url), if enrolled with one.
    pub sign_key: Option<String>,
    /// The device's X25519 public key (base64url), if enrolled with one.
    pub box_key: Option<String>,
}

impl Directory {
    /// Registers a hub.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] if the id exists; otherwise unavailability.
    pub async fn insert_hub(&self, hub: &HubRow, now: i64) -> Result<()> {
        db(self.store.execute(sqlx::query(
            "INSERT INTO hubs (hub_id, level, code, name, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&hub.hub_id)
        .bind(&hub.level)
        .bind(&hub.code)
        .bind(&hub.name)
        .bind(now)
        )
        .await)?;
        Ok(())
    }

    /// A hub by id.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the store fails.
    pub async fn hub(&self, hub_id: &str) -> Result<Option<HubRow>> {
        db(
            sqlx::query_as("SELECT hub_id, level, code, name FROM hubs WHERE hub_id = $1")
                .bind(hub_id)
                .fetch_optional(self.store.pool())
                .await,
        )
    }

    /// Records an issued scanner credential.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] if the id exists; otherwise unavailability.
    pub async fn insert_scanner(&self, scanner: &ScannerRow, now: i64) -> Result<()> {
        db(self.store.execute(sqlx::query(
            "INSERT INTO scanners (scanner_id, hub_id, role, created_at, expires_at, sign_key, box_key) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&scanner.scanner_id)
        .bind(&scanner.hub_id)
        .bind(&scanner.role)
        .bind(now)
        .bind(scanner.expires_at)
        .bind(&scanner.sign_key)
        .bind(&scanner.box_key)
        )
        .await)?;
        Ok(())
    }

    /// A scanner by id.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the store fails.
    pub async fn scanner(&self, scanner_id: &str) -> Result<Option<ScannerRow>> {
        db(sqlx::query_as(
            "SELECT scanner_id, hub_id, role, expires_at, revoked_at, sign_key, box_key \
             FROM scanners WHERE scanner_id = $1",
        )
        .bind(scanner_id)
        .fetch_optional(self.store.pool())
        .await)
    }
}

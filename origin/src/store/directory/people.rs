//! Platforms, buyers, sellers and the buyers' address links (address numbers and labels,
//! never the addresses themselves).

use sqlx::{AnyConnection, FromRow};

use super::{Directory, NewBuyer, Result};
use crate::store::db;
#[cfg(doc)]
use crate::store::StoreError;

/// A registered buyer.
#[derive(Debug, Clone, FromRow)]
pub struct BuyerRow {
    /// `b_…`
    pub buyer_id: String,
    /// The shop platform the buyer registered on.
    pub platform_id: String,
    /// The X25519 key (base64url) the profile is sealed to, for a buyer who registered sealed.
    pub profile_key: Option<String>,
}

/// A registered seller.
#[derive(Debug, Clone, FromRow)]
pub struct SellerRow {
    /// `s_…`
    pub seller_id: String,
    /// The shop platform.
    pub platform_id: String,
}

impl Directory {
    /// Makes sure each configured platform exists.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the store fails.
    pub async fn ensure_platforms(&self, platforms: &[String]) -> Result<()> {
        for platform in platforms {
            db(self.store.execute(sqlx::query("INSERT INTO platforms (platform_id) VALUES ($1) ON CONFLICT (platform_id) DO NOTHING")
                .bind(platform)
                )
                .await)?;
        }
        Ok(())
    }

    /// Whether a platform is known.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the store fails.
    pub async fn platform_exists(&self, platform_id: &str) -> Result<bool> {
        let row: Option<(String,)> = db(sqlx::query_as(
            "SELECT platform_id FROM platforms WHERE platform_id = $1",
        )
        .bind(platform_id)
        .fetch_optional(self.store.pool())
        .await)?;
        Ok(row.is_some())
    }

    /// Registers a buyer together with their first address number (and profile key),
    /// atomically.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] if the buyer id exists; otherwise unavailability.
    pub async fn insert_buyer(&self, buyer: &NewBuyer<'_>, address_id: &str) -> Result<()> {
        let mut attempts = self.store.transactions();
        loop {
            let mut tx = attempts.begin().await?;
            let outcome = insert_buyer_in(&mut tx, buyer, address_id).await;
            if let Some(done) = attempts.settle(tx, outcome).await? {
                return Ok(done);
            }
        }
    }

    /// A buyer by id.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the store fails.
    pub async fn buyer(&self, buyer_id: &str) -> Result<Option<BuyerRow>> {
        db(sqlx::query_as(
            "SELECT buyer_id, platform_id, profile_key FROM buyers WHERE buyer_id = $1",
        )
        .bind(buyer_id)
        .fetch_optional(self.store.pool())
        .await)
    }

    /// Links an address number to a buyer under a label; linking again updates the label.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the store fails.
    pub async fn link_address(
        &self,
        buyer_id: &str,
        address_id: &str,
        label: &str,
        now: i64,
    ) -> Result<()> {
        db(self
            .store
            .execute(link_query(buyer_id, address_id, label, now))
            .await)?;
        Ok(())
    }

    /// The buyer's address numbers and labels, oldest first.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the store fails.
    pub async fn buyer_addresses(&self, buyer_id: &str) -> Result<Vec<(String, String)>> {
        db(sqlx::query_as(
            "SELECT address_id, label FROM buyer_addresses WHERE buyer_id = $1 ORDER BY created_at, address_id",
        )
        .bind(buyer_id)
        .fetch_all(self.store.pool())
        .await)
    }

    /// Registers a seller.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] if the id exists; otherwise unavailability.
    pub async fn insert_seller(&self, seller_id: &str, platform_id: &str, now: i64) -> Result<()> {
        db(self
            .store
            .execute(
                sqlx::query(
                    "INSERT INTO sellers (seller_id, platform_id, created_at) VALUES ($1, $2, $3)",
                )
                .bind(seller_id)
                .bind(platform_id)
                .bind(now),
            )
            .await)?;
        Ok(())
    }

    /// A seller by id.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the store fails.
    pub async fn seller(&self, seller_id: &str) -> Result<Option<SellerRow>> {
        db(
            sqlx::query_as("SELECT seller_id, platform_id FROM sellers WHERE seller_id = $1")
                .bind(seller_id)
                .fetch_optional(self.store.pool())
                .await,
        )
    }

    /// Moves every buyer link and every open order from one address number to another.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the store fails.
    pub async fn renumber_address(&self, old: &str, new: &str) -> Result<()> {
        let mut attempts = self.store.transactions();
        loop {
            let mut tx = attempts.begin().await?;
            let outcome = renumber_in(&mut tx, old, new).await;
            if let Some(done) = attempts.settle(tx, outcome).await? {
                return Ok(done);
            }
        }
    }
}

/// Write-only (no read to race with): the buyer and their first link.
pub(super) async fn insert_buyer_in(
    conn: &mut AnyConnection,
    buyer: &NewBuyer<'_>,
    address_id: &str,
) -> std::result::Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO buyers (buyer_id, platform_id, created_at, profile_key) VALUES ($1, $2, $3, $4)",
    )
    .bind(buyer.buyer_id)
    .bind(buyer.platform_id)
    .bind(buyer.now)
    .bind(buyer.profile_key)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO buyer_addresses (buyer_id, address_id, label, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(buyer.buyer_id)
    .bind(address_id)
    .bind(buyer.label)
    .bind(buyer.now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Two updates keyed on the old number; each locks the rows it moves, so a concurrent link or
/// order on the old number either lands before (and is moved) or after (and waits).
async fn renumber_in(
    conn: &mut AnyConnection,
    old: &str,
    new: &str,
) -> std::result::Result<(), sqlx::Error> {
    sqlx::query("UPDATE buyer_addresses SET address_id = $2 WHERE address_id = $1")
        .bind(old)
        .bind(new)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "UPDATE orders SET address_id = $2 WHERE address_id = $1 AND status <> 'delivered'",
    )
    .bind(old)
    .bind(new)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Links an address number to a buyer; linking again updates the label.
pub(super) fn link_query<'q>(
    buyer_id: &'q str,
    address_id: &'q str,
    label: &'q str,
    now: i64,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    sqlx::query(
        "INSERT INTO buyer_addresses (buyer_id, address_id, label, created_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (buyer_id, address_id) DO UPDATE SET label = excluded.label",
    )
    .bind(buyer_id)
    .bind(address_id)
    .bind(label)
    .bind(now)
}

//! Platforms, buyers, sellers and the buyers' address entries: each entry's own `a_…` id and the
//! shared vault number behind it, never the address itself (its spelling, label and recipient
//! are sealed in the vault's entry record).

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

/// One of a buyer's address entries, as the directory knows it.
#[derive(Debug, Clone, FromRow)]
pub struct EntryRow {
    /// The entry's own `a_…` id: the only id of it its buyer sees.
    pub entry_id: String,
    /// The shared vault number behind it.
    pub address_id: String,
    /// The label written before entries held it (empty for entries since).
    pub label: String,
    /// The buyer.
    pub buyer_id: String,
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

    /// Registers a buyer together with their first address entry (and profile key),
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

    /// Gives a buyer an entry for a vault number, unless they have one for it already; returns
    /// the entry id that holds it (`entry_id`, or the existing one).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the store fails.
    pub async fn link_address(
        &self,
        buyer_id: &str,
        address_id: &str,
        entry_id: &str,
        now: i64,
    ) -> Result<String> {
        let mut attempts = self.store.transactions();
        loop {
            let mut tx = attempts.begin().await?;
            let outcome = link_in(&mut tx, buyer_id, address_id, entry_id, now).await;
            if let Some(done) = attempts.settle(tx, outcome).await? {
                return Ok(done);
            }
        }
    }

    /// The buyer's entries, oldest first.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the store fails.
    pub async fn buyer_entries(&self, buyer_id: &str) -> Result<Vec<EntryRow>> {
        db(sqlx::query_as(
            "SELECT entry_id, address_id, label, buyer_id FROM buyer_addresses WHERE buyer_id = $1 \
             ORDER BY created_at, entry_id",
        )
        .bind(buyer_id)
        .fetch_all(self.store.pool())
        .await)
    }

    /// An entry by its id.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the store fails.
    pub async fn entry(&self, entry_id: &str) -> Result<Option<EntryRow>> {
        db(sqlx::query_as(
            "SELECT entry_id, address_id, label, buyer_id FROM buyer_addresses WHERE entry_id = $1",
        )
        .bind(entry_id)
        .fetch_optional(self.store.pool())
        .await)
    }

    /// The buyer's entry for a vault number, if they have one.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the store fails.
    pub async fn entry_for_number(
        &self,
        buyer_id: &str,
        address_id: &str,
    ) -> Result<Option<String>> {
        let row: Option<(String,)> = db(sqlx::query_as(
            "SELECT entry_id FROM buyer_addresses WHERE buyer_id = $1 AND address_id = \
         COALESCE((SELECT new_id FROM number_rotations WHERE old_id = $2 \
         AND state <> 'started'), $2)",
        )
        .bind(buyer_id)
        .bind(address_id)
        .fetch_optional(self.store.pool())
        .await)?;
        Ok(row.map(|(id,)| id))
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

    /// Points an entry at another vault number (its address was modified).
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when the buyer has another entry for that number; otherwise
    /// unavailability.
    pub async fn repoint_entry(&self, entry_id: &str, address_id: &str) -> Result<()> {
        db(self
            .store
            .execute(repoint_query(entry_id, address_id))
            .await)?;
        Ok(())
    }

    /// How many undelivered orders go to an entry.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the store fails.
    pub async fn open_orders_to(&self, entry_id: &str) -> Result<i64> {
        let (count,): (i64,) = db(sqlx::query_as(
            "SELECT COUNT(*) FROM orders WHERE address_id = $1 AND status <> 'delivered'",
        )
        .bind(entry_id)
        .fetch_one(self.store.pool())
        .await)?;
        Ok(count)
    }
}

/// Write-only (no read to race with): the buyer and their first entry.
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
    // A number rotated away meanwhile is linked as its successor (see `numbers.rs`).
    sqlx::query(
        "INSERT INTO buyer_addresses (buyer_id, address_id, entry_id, label, created_at) \
         VALUES ($1, COALESCE((SELECT new_id FROM number_rotations WHERE old_id = $2 \
         AND state <> 'started'), $2), $3, '', $4)",
    )
    .bind(buyer.buyer_id)
    .bind(address_id)
    .bind(buyer.entry_id)
    .bind(buyer.now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Inserts the entry unless the buyer has one for the number, then reads which one holds it
/// (the insert's own, or the one a concurrent link committed first).
pub(super) async fn link_in(
    conn: &mut AnyConnection,
    buyer_id: &str,
    address_id: &str,
    entry_id: &str,
    now: i64,
) -> std::result::Result<String, sqlx::Error> {
    // A number rotated away meanwhile is linked as its successor (see `numbers.rs`).
    sqlx::query(
        "INSERT INTO buyer_addresses (buyer_id, address_id, entry_id, label, created_at) \
         VALUES ($1, COALESCE((SELECT new_id FROM number_rotations WHERE old_id = $2 \
         AND state <> 'started'), $2), $3, '', $4) ON CONFLICT (buyer_id, address_id) DO NOTHING",
    )
    .bind(buyer_id)
    .bind(address_id)
    .bind(entry_id)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    let (held,): (String,) = sqlx::query_as(
        "SELECT entry_id FROM buyer_addresses WHERE buyer_id = $1 AND address_id = \
         COALESCE((SELECT new_id FROM number_rotations WHERE old_id = $2 \
         AND state <> 'started'), $2)",
    )
    .bind(buyer_id)
    .bind(address_id)
    .fetch_one(&mut *conn)
    .await?;
    Ok(held)
}

/// Points an entry at another vault number.
pub(super) fn repoint_query<'q>(
    entry_id: &'q str,
    address_id: &'q str,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    sqlx::query(
        "UPDATE buyer_addresses SET address_id = COALESCE((SELECT new_id FROM number_rotations \
         WHERE old_id = $2 AND state <> 'started'), $2) WHERE entry_id = $1",
    )
    .bind(entry_id)
    .bind(address_id)
}

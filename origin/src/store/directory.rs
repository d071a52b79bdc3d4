//! The directory store: ids and relations only, never plaintext personal data.

use sqlx::{AnyPool, FromRow};

use super::{db, StoreError};

type Result<T> = std::result::Result<T, StoreError>;

/// A registered buyer.
#[derive(Debug, Clone, FromRow)]
pub struct BuyerRow {
    /// `b_…`
    pub buyer_id: String,
    /// The shop platform the buyer registered on.
    pub platform_id: String,
}

/// A registered seller.
#[derive(Debug, Clone, FromRow)]
pub struct SellerRow {
    /// `s_…`
    pub seller_id: String,
    /// The shop platform.
    pub platform_id: String,
}

/// An order as the directory knows it.
#[derive(Debug, Clone, FromRow)]
pub struct OrderRow {
    /// `o_…`
    pub order_id: String,
    /// The shop platform.
    pub platform_id: String,
    /// `b_…`
    pub buyer_id: String,
    /// `s_…`
    pub seller_id: String,
    /// `a_…`, the address number the parcel goes to.
    pub address_id: String,
    /// `created`, `released` or `delivered` (the edge tracks the hops in between).
    pub status: String,
    /// Unix milliseconds.
    pub created_at: i64,
}

/// What creating an order writes.
#[derive(Debug, Clone)]
pub struct NewOrder<'a> {
    /// `o_…`
    pub order_id: &'a str,
    /// The shop platform.
    pub platform_id: &'a str,
    /// `b_…`
    pub buyer_id: &'a str,
    /// `s_…`
    pub seller_id: &'a str,
    /// `a_…`
    pub address_id: &'a str,
    /// Unix milliseconds.
    pub created_at: i64,
}

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
}

/// A release of an order's recipient to one hub.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct ReleaseRow {
    /// `r_…`
    pub release_id: String,
    /// `o_…`
    pub order_id: String,
    /// `h_…`
    pub hub_id: String,
    /// `sc_…` of the scanner that asked first.
    pub scanner_id: String,
    /// Unix milliseconds.
    pub created_at: i64,
    /// Unix milliseconds after which the terminal must have erased the recipient.
    pub erase_after: i64,
}

/// One answered release call, as the audit trail and the buyer's access log show it.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct AuditRow {
    /// `r_…`
    pub release_id: String,
    /// `o_…`
    pub order_id: String,
    /// `h_…`
    pub hub_id: String,
    /// The hub's region code (joined from `hubs`).
    pub hub_code: String,
    /// `sc_…`
    pub scanner_id: String,
    /// `a_…`
    pub address_id: String,
    /// Unix milliseconds.
    pub at: i64,
}

/// Handle on the directory pool.
#[derive(Clone)]
pub struct Directory {
    pool: AnyPool,
}

impl Directory {
    pub(super) fn new(pool: AnyPool) -> Self {
        Self { pool }
    }

    /// The pool, for tests that need a side connection (e.g. to inject a fault).
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Makes sure each configured platform exists.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the store fails.
    pub async fn ensure_platforms(&self, platforms: &[String]) -> Result<()> {
        for platform in platforms {
            db(sqlx::query("INSERT INTO platforms (platform_id) VALUES ($1) ON CONFLICT (platform_id) DO NOTHING")
                .bind(platform)
                .execute(&self.pool)
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
        .fetch_optional(&self.pool)
        .await)?;
        Ok(row.is_some())
    }

    /// Registers a buyer together with their first address number, atomically.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] if the buyer id exists; otherwise unavailability.
    pub async fn insert_buyer(
        &self,
        buyer_id: &str,
        platform_id: &str,
        address_id: &str,
        label: &str,
        now: i64,
    ) -> Result<()> {
        let mut tx = db(self.pool.begin().await)?;
        db(sqlx::query(
            "INSERT INTO buyers (buyer_id, platform_id, created_at) VALUES ($1, $2, $3)",
        )
        .bind(buyer_id)
        .bind(platform_id)
        .bind(now)
        .execute(&mut *tx)
        .await)?;
        db(sqlx::query(
            "INSERT INTO buyer_addresses (buyer_id, address_id, label, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(buyer_id)
        .bind(address_id)
        .bind(label)
        .bind(now)
        .execute(&mut *tx)
        .await)?;
        db(tx.commit().await)
    }

    /// A buyer by id.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the store fails.
    pub async fn buyer(&self, buyer_id: &str) -> Result<Option<BuyerRow>> {
        db(
            sqlx::query_as("SELECT buyer_id, platform_id FROM buyers WHERE buyer_id = $1")
                .bind(buyer_id)
                .fetch_optional(&self.pool)
                .await,
        )
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
        db(sqlx::query(
            "INSERT INTO buyer_addresses (buyer_id, address_id, label, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (buyer_id, address_id) DO UPDATE SET label = excluded.label",
        )
        .bind(buyer_id)
        .bind(address_id)
        .bind(label)
        .bind(now)
        .execute(&self.pool)
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
        .fetch_all(&self.pool)
        .await)
    }

    /// Registers a seller.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] if the id exists; otherwise unavailability.
    pub async fn insert_seller(&self, seller_id: &str, platform_id: &str, now: i64) -> Result<()> {
        db(sqlx::query(
            "INSERT INTO sellers (seller_id, platform_id, created_at) VALUES ($1, $2, $3)",
        )
        .bind(seller_id)
        .bind(platform_id)
        .bind(now)
        .execute(&self.pool)
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
                .fetch_optional(&self.pool)
                .await,
        )
    }

    /// Creates an order in state `created`.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] if the id exists; otherwise unavailability.
    pub async fn insert_order(&self, order: &NewOrder<'_>) -> Result<()> {
        db(sqlx::query(
            "INSERT INTO orders (order_id, platform_id, buyer_id, seller_id, address_id, status, created_at) \
             VALUES ($1, $2, $3, $4, $5, 'created', $6)",
        )
        .bind(order.order_id)
        .bind(order.platform_id)
        .bind(order.buyer_id)
        .bind(order.seller_id)
        .bind(order.address_id)
        .bind(order.created_at)
        .execute(&self.pool)
        .await)?;
        Ok(())
    }

    /// An order by id.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the store fails.
    pub async fn order(&self, order_id: &str) -> Result<Option<OrderRow>> {
        db(sqlx::query_as(
            "SELECT order_id, platform_id, buyer_id, seller_id, address_id, status, created_at \
             FROM orders WHERE order_id = $1",
        )
        .bind(order_id)
        .fetch_optional(&self.pool)
        .await)
    }

    /// A seller's orders, newest first.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the store fails.
    pub async fn seller_orders(&self, seller_id: &str) -> Result<Vec<OrderRow>> {
        db(sqlx::query_as(
            "SELECT order_id, platform_id, buyer_id, seller_id, address_id, status, created_at \
             FROM orders WHERE seller_id = $1 ORDER BY created_at DESC, order_id",
        )
        .bind(seller_id)
        .fetch_all(&self.pool)
        .await)
    }

    /// Registers a hub.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] if the id exists; otherwise unavailability.
    pub async fn insert_hub(&self, hub: &HubRow, now: i64) -> Result<()> {
        db(sqlx::query(
            "INSERT INTO hubs (hub_id, level, code, name, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&hub.hub_id)
        .bind(&hub.level)
        .bind(&hub.code)
        .bind(&hub.name)
        .bind(now)
        .execute(&self.pool)
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
                .fetch_optional(&self.pool)
                .await,
        )
    }

    /// Records an issued scanner credential.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] if the id exists; otherwise unavailability.
    pub async fn insert_scanner(&self, scanner: &ScannerRow, now: i64) -> Result<()> {
        db(sqlx::query(
            "INSERT INTO scanners (scanner_id, hub_id, role, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&scanner.scanner_id)
        .bind(&scanner.hub_id)
        .bind(&scanner.role)
        .bind(now)
        .bind(scanner.expires_at)
        .execute(&self.pool)
        .await)?;
        Ok(())
    }

    /// A scanner by id.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the store fails.
    pub async fn scanner(&self, scanner_id: &str) -> Result<Option<ScannerRow>> {
        db(sqlx::query_as(
            "SELECT scanner_id, hub_id, role, expires_at, revoked_at FROM scanners WHERE scanner_id = $1",
        )
        .bind(scanner_id)
        .fetch_optional(&self.pool)
        .await)
    }

    /// Revokes a scanner and queues the push to the edge in the same transaction, so a
    /// revocation is never recorded without its notification. Returns false if unknown.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the store fails.
    pub async fn revoke_scanner(&self, scanner_id: &str, now: i64) -> Result<bool> {
        let mut tx = db(self.pool.begin().await)?;
        let updated = db(sqlx::query(
            "UPDATE scanners SET revoked_at = COALESCE(revoked_at, $2) WHERE scanner_id = $1",
        )
        .bind(scanner_id)
        .bind(now)
        .execute(&mut *tx)
        .await)?;
        if updated.rows_affected() == 0 {
            return Ok(false);
        }
        db(sqlx::query(
            "INSERT INTO revocation_outbox (scanner_id, queued_at, attempts) VALUES ($1, $2, 0) \
             ON CONFLICT (scanner_id) DO NOTHING",
        )
        .bind(scanner_id)
        .bind(now)
        .execute(&mut *tx)
        .await)?;
        db(tx.commit().await)?;
        Ok(true)
    }

    /// Scanner ids whose revocation the edge has not acknowledged yet.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the store fails.
    pub async fn pending_revocations(&self) -> Result<Vec<String>> {
        let rows: Vec<(String,)> = db(sqlx::query_as(
            "SELECT scanner_id FROM revocation_outbox WHERE delivered_at IS NULL ORDER BY queued_at, scanner_id",
        )
        .fetch_all(&self.pool)
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
        db(query.execute(&self.pool).await)?;
        Ok(())
    }

    /// Finds the release of `order_id` to `hub_id`, creating it if there is none, and
    /// writes an audit row; both commit together or not at all. The caller returns the
    /// recipient only after this succeeded, so nothing is released without its audit.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when anything in the transaction fails.
    pub async fn record_release(
        &self,
        fresh: &ReleaseRow,
        address_id: &str,
        now: i64,
    ) -> Result<ReleaseRow> {
        let mut tx = db(self.pool.begin().await)?;
        let existing: Option<ReleaseRow> = db(sqlx::query_as(
            "SELECT release_id, order_id, hub_id, scanner_id, created_at, erase_after \
             FROM releases WHERE order_id = $1 AND hub_id = $2",
        )
        .bind(&fresh.order_id)
        .bind(&fresh.hub_id)
        .fetch_optional(&mut *tx)
        .await)?;
        let release = match existing {
            Some(release) => release,
            None => {
                db(sqlx::query(
                    "INSERT INTO releases (release_id, order_id, hub_id, scanner_id, created_at, erase_after) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(&fresh.release_id)
                .bind(&fresh.order_id)
                .bind(&fresh.hub_id)
                .bind(&fresh.scanner_id)
                .bind(fresh.created_at)
                .bind(fresh.erase_after)
                .execute(&mut *tx)
                .await)?;
                db(sqlx::query("UPDATE orders SET status = 'released' WHERE order_id = $1 AND status = 'created'")
                    .bind(&fresh.order_id)
                    .execute(&mut *tx)
                    .await)?;
                fresh.clone()
            }
        };
        db(sqlx::query(
            "INSERT INTO release_audit (release_id, order_id, hub_id, scanner_id, address_id, at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&release.release_id)
        .bind(&release.order_id)
        .bind(&release.hub_id)
        .bind(&fresh.scanner_id)
        .bind(address_id)
        .bind(now)
        .execute(&mut *tx)
        .await)?;
        db(tx.commit().await)?;
        Ok(release)
    }

    /// A release by id.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the store fails.
    pub async fn release(&self, release_id: &str) -> Result<Option<ReleaseRow>> {
        db(sqlx::query_as(
            "SELECT release_id, order_id, hub_id, scanner_id, created_at, erase_after \
             FROM releases WHERE release_id = $1",
        )
        .bind(release_id)
        .fetch_optional(&self.pool)
        .await)
    }

    /// Closes an order, keeping only a digest of the proof of receipt. Returns false if the
    /// order was already delivered (or does not exist).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the store fails.
    pub async fn deliver(&self, order_id: &str, receipt_sha256: &str, now: i64) -> Result<bool> {
        let done = db(sqlx::query(
            "UPDATE orders SET status = 'delivered', delivered_at = $2, receipt_sha256 = $3 \
             WHERE order_id = $1 AND status <> 'delivered'",
        )
        .bind(order_id)
        .bind(now)
        .bind(receipt_sha256)
        .execute(&self.pool)
        .await)?;
        Ok(done.rows_affected() == 1)
    }

    /// The audit rows of one order, oldest first.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the store fails.
    pub async fn audit_for_order(&self, order_id: &str) -> Result<Vec<AuditRow>> {
        db(sqlx::query_as(
            "SELECT a.release_id, a.order_id, a.hub_id, h.code AS hub_code, a.scanner_id, a.address_id, a.at \
             FROM release_audit a JOIN hubs h ON h.hub_id = a.hub_id \
             WHERE a.order_id = $1 ORDER BY a.audit_id",
        )
        .bind(order_id)
        .fetch_all(&self.pool)
        .await)
    }

    /// Every audit row about the buyer's orders: who saw which address for which order.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the store fails.
    pub async fn access_log(&self, buyer_id: &str) -> Result<Vec<AuditRow>> {
        db(sqlx::query_as(
            "SELECT a.release_id, a.order_id, a.hub_id, h.code AS hub_code, a.scanner_id, a.address_id, a.at \
             FROM release_audit a JOIN hubs h ON h.hub_id = a.hub_id JOIN orders o ON o.order_id = a.order_id \
             WHERE o.buyer_id = $1 ORDER BY a.audit_id",
        )
        .bind(buyer_id)
        .fetch_all(&self.pool)
        .await)
    }

    /// Remembers an edge request nonce. Returns false when it was seen before (a replay).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the store fails.
    pub async fn note_nonce(&self, nonce: &str, now: i64) -> Result<bool> {
        match sqlx::query("INSERT INTO edge_nonces (nonce, seen_at) VALUES ($1, $2)")
            .bind(nonce)
            .bind(now)
            .execute(&self.pool)
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
        let done = db(sqlx::query("DELETE FROM edge_nonces WHERE seen_at < $1")
            .bind(before)
            .execute(&self.pool)
            .await)?;
        Ok(done.rows_affected())
    }

    /// Moves every buyer link and every open order from one address number to another.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the store fails.
    pub async fn renumber_address(&self, old: &str, new: &str) -> Result<()> {
        let mut tx = db(self.pool.begin().await)?;
        db(
            sqlx::query("UPDATE buyer_addresses SET address_id = $2 WHERE address_id = $1")
                .bind(old)
                .bind(new)
                .execute(&mut *tx)
                .await,
        )?;
        db(sqlx::query(
            "UPDATE orders SET address_id = $2 WHERE address_id = $1 AND status <> 'delivered'",
        )
        .bind(old)
        .bind(new)
        .execute(&mut *tx)
        .await)?;
        db(tx.commit().await)
    }
}

//! Orders as the directory knows them: who ordered from whom, to which address number, and
//! whether the parcel was released or delivered (the hops in between live at the edge).

use sqlx::FromRow;

use super::{Directory, Result};
use crate::store::db;
#[cfg(doc)]
use crate::store::StoreError;

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
    /// The master key version its tags were made with.
    pub key_version: i64,
}

/// Whose orders to list.
#[derive(Debug, Clone, Copy)]
enum OrderParty {
    Buyer,
    Seller,
}

impl Directory {
    /// Creates an order in state `created`.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] if the id exists; otherwise unavailability.
    pub async fn insert_order(&self, order: &NewOrder<'_>) -> Result<()> {
        db(self.store.execute(sqlx::query(
            "INSERT INTO orders (order_id, platform_id, buyer_id, seller_id, address_id, status, created_at, key_version) \
             VALUES ($1, $2, $3, $4, $5, 'created', $6, $7)",
        )
        .bind(order.order_id)
        .bind(order.platform_id)
        .bind(order.buyer_id)
        .bind(order.seller_id)
        .bind(order.address_id)
        .bind(order.created_at)
        .bind(order.key_version)
        )
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
        .fetch_optional(self.store.pool())
        .await)
    }

    /// A seller's orders, newest first.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the store fails.
    pub async fn seller_orders(&self, seller_id: &str) -> Result<Vec<OrderRow>> {
        self.orders_by(OrderParty::Seller, seller_id).await
    }

    /// A buyer's orders, newest first.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the store fails.
    pub async fn buyer_orders(&self, buyer_id: &str) -> Result<Vec<OrderRow>> {
        self.orders_by(OrderParty::Buyer, buyer_id).await
    }

    async fn orders_by(&self, party: OrderParty, id: &str) -> Result<Vec<OrderRow>> {
        let column = match party {
            OrderParty::Buyer => "buyer_id",
            OrderParty::Seller => "seller_id",
        };
        let sql = format!(
            "SELECT order_id, platform_id, buyer_id, seller_id, address_id, status, created_at \
             FROM orders WHERE {column} = $1 ORDER BY created_at DESC, order_id"
        );
        db(sqlx::query_as(&sql)
            .bind(id)
            .fetch_all(self.store.pool())
            .await)
    }

    /// Closes an order, keeping only a digest of the proof of receipt. Returns false if the
    /// order was already delivered (or does not exist).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the store fails.
    pub async fn deliver(&self, order_id: &str, receipt_sha256: &str, now: i64) -> Result<bool> {
        let done = db(self.store.execute(sqlx::query(
            "UPDATE orders SET status = 'delivered', delivered_at = $2, receipt_sha256 = $3 \
             WHERE order_id = $1 AND status <> 'delivered'",
        )
        .bind(order_id)
        .bind(now)
        .bind(receipt_sha256)
        )
        .await)?;
        Ok(done.rows_affected() == 1)
    }
}

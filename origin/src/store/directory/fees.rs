//! Carriers' fee tables, one row per carrier and version, each written once (migration 1102).
//! The rows hold what the ops API imported; the rules (zones, steps, which version is current)
//! are the core's [`lasthop_core::fees`].

use sqlx::FromRow;

use super::{Directory, Result};
use crate::store::db;
#[cfg(doc)]
use crate::store::StoreError;

/// One version of a carrier's table as stored.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct FeeTableRow {
    /// `ca_…`
    pub carrier_id: String,
    /// The version.
    pub version: i64,
    /// The weight step in grams.
    pub step_grams: i64,
    /// The prices as the API's JSON array.
    pub prices: String,
}

impl Directory {
    /// Writes one version of a carrier's table.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] if the carrier has this version already; otherwise
    /// unavailability.
    pub async fn insert_fee_table(&self, row: &FeeTableRow, now: i64) -> Result<()> {
        db(self
            .store
            .execute(
                sqlx::query(
                    "INSERT INTO fee_tables (carrier_id, version, step_grams, prices, imported_at) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(&row.carrier_id)
                .bind(row.version)
                .bind(row.step_grams)
                .bind(&row.prices)
                .bind(now),
            )
            .await)?;
        Ok(())
    }

    /// One version of a carrier's table, or its current one (the highest version) when
    /// `version` is `None`.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the store fails.
    pub async fn fee_table(
        &self,
        carrier_id: &str,
        version: Option<i64>,
    ) -> Result<Option<FeeTableRow>> {
        let query = match version {
            Some(version) => sqlx::query_as(
                "SELECT carrier_id, version, step_grams, prices FROM fee_tables \
                 WHERE carrier_id = $1 AND version = $2",
            )
            .bind(carrier_id)
            .bind(version),
            None => sqlx::query_as(
                "SELECT carrier_id, version, step_grams, prices FROM fee_tables \
                 WHERE carrier_id = $1 ORDER BY version DESC LIMIT 1",
            )
            .bind(carrier_id),
        };
        db(query.fetch_optional(self.store.pool()).await)
    }
}

/// The fee an order was placed with (migration 1103).
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct OrderFeeRow {
    /// `o_…`
    pub order_id: String,
    /// Its carrier.
    pub carrier_id: String,
    /// The parcel's weight in grams.
    pub weight_g: i64,
    /// The fee in fen, if the order was priced.
    pub fee_fen: Option<i64>,
    /// The table version the fee came from.
    pub fee_version: Option<i64>,
}

impl Directory {
    /// Records an order's fee (before the order's own row).
    ///
    /// # Errors
    /// [`StoreError::Conflict`] if the order has one; otherwise unavailability.
    pub async fn insert_order_fee(&self, row: &OrderFeeRow) -> Result<()> {
        db(self
            .store
            .execute(
                sqlx::query(
                    "INSERT INTO order_fees (order_id, carrier_id, weight_g, fee_fen, fee_version) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(&row.order_id)
                .bind(&row.carrier_id)
                .bind(row.weight_g)
                .bind(row.fee_fen)
                .bind(row.fee_version),
            )
            .await)?;
        Ok(())
    }

    /// The fee an order was placed with; `None` for orders made before fees existed.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the store fails.
    pub async fn order_fee(&self, order_id: &str) -> Result<Option<OrderFeeRow>> {
        db(sqlx::query_as(
            "SELECT order_id, carrier_id, weight_g, fee_fen, fee_version FROM order_fees \
             WHERE order_id = $1",
        )
        .bind(order_id)
        .fetch_optional(self.store.pool())
        .await)
    }
}

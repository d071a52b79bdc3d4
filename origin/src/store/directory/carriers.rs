//! Carriers, and who belongs to which: hubs (their scanners with them), sellers (their
//! ship-from region and the carriers they list) and orders. A hub, seller or order without a
//! row here belongs to the default carrier (migration 1101).

use lasthop_core::ids::DEFAULT_CARRIER;
use sqlx::FromRow;

use super::{Directory, Result};
use crate::store::db;
#[cfg(doc)]
use crate::store::StoreError;

/// A carrier.
#[derive(Debug, Clone, FromRow)]
pub struct CarrierRow {
    /// `ca_…`
    pub carrier_id: String,
    /// Its name.
    pub name: String,
}

/// Where a seller ships from and with whom.
#[derive(Debug, Clone, Default)]
pub struct SellerShipping {
    /// The ship-from region code, if the seller gave one.
    pub ship_from: Option<String>,
    /// Its carriers in the order listed (the default carrier for a seller that listed none).
    pub carriers: Vec<String>,
}

impl Directory {
    /// Registers a carrier.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] if the id exists; otherwise unavailability.
    pub async fn insert_carrier(&self, carrier: &CarrierRow, now: i64) -> Result<()> {
        db(self
            .store
            .execute(
                sqlx::query(
                    "INSERT INTO carriers (carrier_id, name, created_at) VALUES ($1, $2, $3)",
                )
                .bind(&carrier.carrier_id)
                .bind(&carrier.name)
                .bind(now),
            )
            .await)?;
        Ok(())
    }

    /// A carrier by id.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the store fails.
    pub async fn carrier(&self, carrier_id: &str) -> Result<Option<CarrierRow>> {
        db(
            sqlx::query_as("SELECT carrier_id, name FROM carriers WHERE carrier_id = $1")
                .bind(carrier_id)
                .fetch_optional(self.store.pool())
                .await,
        )
    }

    /// Every carrier, oldest first.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the store fails.
    pub async fn carriers(&self) -> Result<Vec<CarrierRow>> {
        db(
            sqlx::query_as("SELECT carrier_id, name FROM carriers ORDER BY created_at, carrier_id")
                .fetch_all(self.store.pool())
                .await,
        )
    }

    /// Puts a hub under a carrier (before the hub's own row is written).
    ///
    /// # Errors
    /// [`StoreError::Conflict`] if the hub has one; otherwise unavailability.
    pub async fn insert_hub_carrier(&self, hub_id: &str, carrier_id: &str) -> Result<()> {
        db(self
            .store
            .execute(
                sqlx::query("INSERT INTO hub_carriers (hub_id, carrier_id) VALUES ($1, $2)")
                    .bind(hub_id)
                    .bind(carrier_id),
            )
            .await)?;
        Ok(())
    }

    /// The carrier a hub (and so each of its scanners) belongs to.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the store fails.
    pub async fn hub_carrier(&self, hub_id: &str) -> Result<String> {
        let row: Option<(String,)> = db(sqlx::query_as(
            "SELECT carrier_id FROM hub_carriers WHERE hub_id = $1",
        )
        .bind(hub_id)
        .fetch_optional(self.store.pool())
        .await)?;
        Ok(row.map_or_else(|| DEFAULT_CARRIER.to_owned(), |(id,)| id))
    }

    /// Records where a seller ships from and with whom (before the seller's own row).
    ///
    /// # Errors
    /// [`StoreError::Conflict`] if the seller has them; otherwise unavailability.
    pub async fn insert_seller_shipping(
        &self,
        seller_id: &str,
        shipping: &SellerShipping,
    ) -> Result<()> {
        db(self
            .store
            .execute(
                sqlx::query("INSERT INTO seller_shipping (seller_id, ship_from) VALUES ($1, $2)")
                    .bind(seller_id)
                    .bind(&shipping.ship_from),
            )
            .await)?;
        for (position, carrier_id) in (0_i64..).zip(&shipping.carriers) {
            db(self
                .store
                .execute(
                    sqlx::query(
                        "INSERT INTO seller_carriers (seller_id, carrier_id, position) \
                         VALUES ($1, $2, $3)",
                    )
                    .bind(seller_id)
                    .bind(carrier_id)
                    .bind(position),
                )
                .await)?;
        }
        Ok(())
    }

    /// Where a seller ships from and with whom.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the store fails.
    pub async fn seller_shipping(&self, seller_id: &str) -> Result<SellerShipping> {
        let ship_from: Option<(Option<String>,)> = db(sqlx::query_as(
            "SELECT ship_from FROM seller_shipping WHERE seller_id = $1",
        )
        .bind(seller_id)
        .fetch_optional(self.store.pool())
        .await)?;
        let carriers: Vec<(String,)> = db(sqlx::query_as(
            "SELECT carrier_id FROM seller_carriers WHERE seller_id = $1 ORDER BY position",
        )
        .bind(seller_id)
        .fetch_all(self.store.pool())
        .await)?;
        let mut carriers: Vec<String> = carriers.into_iter().map(|(id,)| id).collect();
        if carriers.is_empty() {
            carriers.push(DEFAULT_CARRIER.to_owned());
        }
        Ok(SellerShipping {
            ship_from: ship_from.and_then(|(code,)| code),
            carriers,
        })
    }

    /// Records an order's carrier (before the order's own row).
    ///
    /// # Errors
    /// [`StoreError::Conflict`] if the order has one; otherwise unavailability.
    pub async fn insert_order_carriage(&self, order_id: &str, carrier_id: &str) -> Result<()> {
        db(self
            .store
            .execute(
                sqlx::query("INSERT INTO order_carriage (order_id, carrier_id) VALUES ($1, $2)")
                    .bind(order_id)
                    .bind(carrier_id),
            )
            .await)?;
        Ok(())
    }

    /// An order's carrier, with its name.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the store fails.
    pub async fn order_carrier(&self, order_id: &str) -> Result<CarrierRow> {
        let row: Option<CarrierRow> = db(sqlx::query_as(
            "SELECT c.carrier_id, c.name FROM order_carriage o \
             JOIN carriers c ON c.carrier_id = o.carrier_id WHERE o.order_id = $1",
        )
        .bind(order_id)
        .fetch_optional(self.store.pool())
        .await)?;
        match row {
            Some(row) => Ok(row),
            None => Ok(self.carrier(DEFAULT_CARRIER).await?.unwrap_or(CarrierRow {
                carrier_id: DEFAULT_CARRIER.to_owned(),
                name: lasthop_core::carrier::CarrierName::platform_default().to_string(),
            })),
        }
    }
}

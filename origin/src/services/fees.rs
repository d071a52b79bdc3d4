//! Fee tables at the origin: importing a version (written once, as the core's
//! [`lasthop_core::fees::FeeBook`] does it), reading a carrier's current or earlier table, and
//! pricing a parcel from the seller's ship-from region and the buyer's plaintext delivery
//! region (quotes, and the fee an order stores).

use lasthop_core::api::{FeeQuote, FeeTableInput, FeeTableResponse, OrderFee};
use lasthop_core::carrier::Carriage;
use lasthop_core::fees::{FeeError, FeeTable, Zone};
use lasthop_core::ids::{CarrierId, OrderId, SellerId};
use lasthop_core::region::{DeliveryRegion, Directory};

use crate::error::ApiError;
use crate::services::carriers::{carrier_ref, order_carriage};
use crate::state::AppState;
use crate::store::{FeeTableRow, OrderFeeRow, StoreError};

/// A fee and the table version it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Fee {
    /// Fen.
    pub fen: u64,
    /// The carrier's table version.
    pub version: u32,
}

/// The fee of a parcel of `weight_g` with `carriage` to `to`, by the carrier's current table;
/// `None` when the carrier has no table or the seller no ship-from region.
///
/// # Errors
/// 400 naming `weight_g` when the fee would be too large; unavailability.
pub(crate) async fn price(
    state: &AppState,
    carriage: &Carriage,
    to: &DeliveryRegion,
    weight_g: u32,
) -> Result<Option<Fee>, ApiError> {
    let Some(code) = carriage.ship_from else {
        return Ok(None);
    };
    let from = Directory::china()
        .delivery_region(code)
        .map_err(|_| ApiError::Internal)?;
    let Some(table) = table(state, &carriage.carrier_id, None).await? else {
        return Ok(None);
    };
    match table.fee(Zone::between(&from, to), weight_g) {
        Ok(fen) => Ok(Some(Fee {
            fen,
            version: table.version,
        })),
        Err(FeeError::Overflow) => Err(ApiError::invalid(
            "weight_g",
            "makes a fee too large for this carrier's table",
        )),
        Err(_) => Err(ApiError::Internal),
    }
}

/// Each of the seller's carriers with its fee for a parcel of `weight_g` to `to`.
///
/// # Errors
/// As [`price`].
pub(crate) async fn quotes(
    state: &AppState,
    seller_id: &SellerId,
    to: &DeliveryRegion,
    weight_g: u32,
) -> Result<Vec<FeeQuote>, ApiError> {
    let directory = &state.stores().directory;
    let shipping = directory.seller_shipping(seller_id.as_str()).await?;
    let mut quotes = Vec::with_capacity(shipping.carriers.len());
    for carrier_id in &shipping.carriers {
        let choice = Some(carrier_id.parse().map_err(|_| ApiError::Internal)?);
        let carriage = order_carriage(state, seller_id, choice).await?;
        let fee = price(state, &carriage, to, weight_g).await?;
        let row = directory
            .carrier(carrier_id)
            .await?
            .ok_or(ApiError::Internal)?;
        quotes.push(FeeQuote {
            carrier: carrier_ref(&row)?,
            fee_fen: fee.map(|f| f.fen),
            fee_version: fee.map(|f| f.version),
        });
    }
    Ok(quotes)
}

/// Records the carrier, weight and fee of a new order (before its row is written).
///
/// # Errors
/// Unavailability.
pub(crate) async fn record_order_fee(
    state: &AppState,
    order_id: &OrderId,
    carriage: &Carriage,
    weight_g: u32,
    fee: Option<Fee>,
) -> Result<(), ApiError> {
    let row = OrderFeeRow {
        order_id: order_id.to_string(),
        carrier_id: carriage.carrier_id.to_string(),
        weight_g: i64::from(weight_g),
        // At most 2^53 - 1 (the core refuses larger fees), so it fits.
        fee_fen: fee
            .map(|f| i64::try_from(f.fen))
            .transpose()
            .map_err(|_| ApiError::Internal)?,
        fee_version: fee.map(|f| i64::from(f.version)),
    };
    state.stores().directory.insert_order_fee(&row).await?;
    Ok(())
}

/// What an import did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Imported {
    /// A new version was stored.
    Stored,
    /// The very same table was stored before; nothing changed.
    Unchanged,
}

/// Imports one version of a carrier's table. The same table again changes nothing; another
/// table under a stored version is refused (409 `wrong_state`), so an order priced with a
/// version keeps its price. An older version than the current one is kept as history and
/// does not become current, so tables arriving out of order end with the same current table.
///
/// # Errors
/// 404 for an unknown carrier, 409 as above, or unavailability.
pub(crate) async fn import(state: &AppState, table: &FeeTable) -> Result<Imported, ApiError> {
    let directory = &state.stores().directory;
    if directory
        .carrier(table.carrier_id.as_str())
        .await?
        .is_none()
    {
        return Err(ApiError::NotFound("no such carrier"));
    }
    let row = to_row(table)?;
    let existing = match directory
        .insert_fee_table(&row, state.now().unix_millis())
        .await
    {
        Ok(()) => return Ok(Imported::Stored),
        // Stored before (or by a concurrent import): compare with what is there.
        Err(StoreError::Conflict) => directory
            .fee_table(&row.carrier_id, Some(row.version))
            .await?
            .ok_or(ApiError::Internal)?,
        Err(other) => return Err(other.into()),
    };
    if from_row(&existing)? == *table {
        Ok(Imported::Unchanged)
    } else {
        Err(ApiError::WrongState(
            "this carrier already has a different fee table under this version",
        ))
    }
}

/// A carrier's table of `version`, or its current one.
///
/// # Errors
/// Unavailability, or [`ApiError::Internal`] for a damaged row.
pub(crate) async fn table(
    state: &AppState,
    carrier_id: &CarrierId,
    version: Option<u32>,
) -> Result<Option<FeeTable>, ApiError> {
    state
        .stores()
        .directory
        .fee_table(carrier_id.as_str(), version.map(i64::from))
        .await?
        .as_ref()
        .map(from_row)
        .transpose()
}

/// What an order stored of its carriage cost; `None` for orders placed before fees existed.
///
/// # Errors
/// Unavailability, or [`ApiError::Internal`] for a damaged row.
pub(crate) async fn order_fee(
    state: &AppState,
    order_id: &str,
) -> Result<Option<OrderFee>, ApiError> {
    let Some(row) = state.stores().directory.order_fee(order_id).await? else {
        return Ok(None);
    };
    let damaged = |_| ApiError::Internal;
    Ok(Some(OrderFee {
        carrier_id: row.carrier_id.parse().map_err(|_| ApiError::Internal)?,
        weight_g: u32::try_from(row.weight_g).map_err(damaged)?,
        fee_fen: row
            .fee_fen
            .map(u64::try_from)
            .transpose()
            .map_err(damaged)?,
        fee_version: row
            .fee_version
            .map(u32::try_from)
            .transpose()
            .map_err(damaged)?,
    }))
}

fn to_row(table: &FeeTable) -> Result<FeeTableRow, ApiError> {
    let view = FeeTableResponse::from(table);
    Ok(FeeTableRow {
        carrier_id: table.carrier_id.to_string(),
        version: i64::from(table.version),
        step_grams: i64::from(table.step_grams),
        prices: serde_json::to_string(&view.prices).map_err(|_| ApiError::Internal)?,
    })
}

/// A stored row as the core's table; rows are written only from parsed tables, so a failure
/// is a damaged store.
fn from_row(row: &FeeTableRow) -> Result<FeeTable, ApiError> {
    let damaged = |_| ApiError::Internal;
    let input = FeeTableInput {
        version: u32::try_from(row.version).map_err(damaged)?,
        step_grams: u32::try_from(row.step_grams).map_err(damaged)?,
        prices: serde_json::from_str(&row.prices).map_err(|_| ApiError::Internal)?,
    };
    let carrier_id = CarrierId::parse(&row.carrier_id).map_err(|_| ApiError::Internal)?;
    input.parse(carrier_id).map_err(|_| ApiError::Internal)
}

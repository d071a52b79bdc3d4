//! Fee tables at the origin: importing a version (written once, as the core's
//! [`lasthop_core::fees::FeeBook`] does it) and reading a carrier's current or earlier table.

use lasthop_core::api::{FeeTableInput, FeeTableResponse};
use lasthop_core::fees::FeeTable;
use lasthop_core::ids::CarrierId;

use crate::error::ApiError;
use crate::state::AppState;
use crate::store::{FeeTableRow, StoreError};

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

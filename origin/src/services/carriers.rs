//! Carriers at the origin: a seller's ship-from region and carriers at registration, an
//! order's carriage at creation (the buyer's choice among the seller's carriers), and how a
//! stored carrier is shown. The rule who may scan an order is the core's
//! ([`lasthop_core::carrier::admit_scanner`]), applied by the edge and again in the chain of
//! custody.

use lasthop_core::api::{CarrierRef, RegisterSellerRequest};
use lasthop_core::carrier::{Carriage, CarrierName};
use lasthop_core::ids::{CarrierId, SellerId, DEFAULT_CARRIER};

use crate::error::ApiError;
use crate::routes::dto::stored;
use crate::state::AppState;
use crate::store::{CarrierRow, OrderRow, SellerShipping};

/// The seller's ship-from region and carriers from the registration, each carrier known.
pub(crate) async fn seller_shipping(
    state: &AppState,
    body: &RegisterSellerRequest,
) -> Result<SellerShipping, ApiError> {
    let parsed = body.parse()?;
    for carrier in &parsed.carriers {
        if state
            .stores()
            .directory
            .carrier(carrier.as_str())
            .await?
            .is_none()
        {
            return Err(ApiError::NotFound("no such carrier"));
        }
    }
    Ok(SellerShipping {
        ship_from: parsed.ship_from.map(|region| region.code().to_string()),
        carriers: parsed.carriers.iter().map(ToString::to_string).collect(),
    })
}

/// The carriage of a new order: the buyer's choice among the seller's carriers (their first
/// one when the buyer names none) and the seller's ship-from region.
pub(crate) async fn order_carriage(
    state: &AppState,
    seller_id: &SellerId,
    choice: Option<CarrierId>,
) -> Result<Carriage, ApiError> {
    let directory = &state.stores().directory;
    let shipping = directory.seller_shipping(seller_id.as_str()).await?;
    let carrier_id = match choice {
        Some(choice) if shipping.carriers.iter().any(|c| c == choice.as_str()) => choice,
        Some(_) => {
            return Err(ApiError::invalid(
                "carrier_id",
                "must be one of the seller's carriers",
            ))
        }
        None => stored(
            shipping
                .carriers
                .first()
                .map_or(DEFAULT_CARRIER, String::as_str),
        )?,
    };
    let carrier = directory
        .carrier(carrier_id.as_str())
        .await?
        .ok_or(ApiError::Internal)?;
    Ok(Carriage {
        carrier_id,
        carrier_name: CarrierName::parse(&carrier.name).map_err(|_| ApiError::Internal)?,
        ship_from: shipping.ship_from.as_deref().map(stored).transpose()?,
    })
}

/// The carriage of a stored order, as its record at the edge names it: the order's carrier
/// and its seller's ship-from region.
///
/// # Errors
/// Unavailability, or [`ApiError::Internal`] for a damaged row.
pub(crate) async fn carriage_of(state: &AppState, order: &OrderRow) -> Result<Carriage, ApiError> {
    let directory = &state.stores().directory;
    let carrier = directory.order_carrier(&order.order_id).await?;
    let shipping = directory.seller_shipping(&order.seller_id).await?;
    Ok(Carriage {
        carrier_id: stored(&carrier.carrier_id)?,
        carrier_name: CarrierName::parse(&carrier.name).map_err(|_| ApiError::Internal)?,
        ship_from: shipping.ship_from.as_deref().map(stored).transpose()?,
    })
}

/// A stored carrier as the API shows it.
///
/// # Errors
/// [`ApiError::Internal`] for a damaged row.
pub(crate) fn carrier_ref(row: &CarrierRow) -> Result<CarrierRef, ApiError> {
    Ok(CarrierRef {
        carrier_id: stored(&row.carrier_id)?,
        name: CarrierName::parse(&row.name).map_err(|_| ApiError::Internal)?,
    })
}

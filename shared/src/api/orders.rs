//! Seller and order bodies: registration, order creation, the seller's list and tracking.

use serde::{Deserialize, Serialize};

use crate::carrier::parse_ship_from;
use crate::contact::PersonName;
use crate::ids::{AddressId, BuyerId, CarrierId, HubId, OrderId, PlatformId, SellerId};
use crate::progress::OrderStatus;
use crate::region::{DeliveryRegion, HubLevel};
use crate::time::Timestamp;
use crate::tokens::TokenisedOrder;

use super::errors::FieldError;
use super::fields::{address_id, carrier_id, platform, seller_id};
use super::ops::CarrierRef;

/// `POST /v1/sellers` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RegisterSellerRequest {
    /// The shop.
    #[cfg_attr(feature = "openapi", schema(value_type = PlatformId))]
    pub platform_id: String,
    /// The seller's name.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::person_name))]
    pub name: String,
    /// Where the seller ships from (addition): a district code (or a city code where that
    /// city has no districts). Pickups are then accepted only from the hubs that serve it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(examples("330108")))]
    pub ship_from: Option<String>,
    /// The carriers the seller ships with (addition), 1 to 16; without it, the platform's
    /// default carrier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Vec<CarrierId>>))]
    pub carriers: Option<Vec<String>>,
}

/// The most carriers a seller lists.
pub const MAX_SELLER_CARRIERS: usize = 16;

/// A parsed [`RegisterSellerRequest`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSeller {
    /// The shop.
    pub platform_id: PlatformId,
    /// Name.
    pub name: PersonName,
    /// Ship-from region, if given.
    pub ship_from: Option<DeliveryRegion>,
    /// Its carriers, without repeats, in the order given (the default carrier if none given).
    pub carriers: Vec<CarrierId>,
}

impl RegisterSellerRequest {
    /// Parses every field.
    ///
    /// # Errors
    /// The first bad field.
    pub fn parse(&self) -> Result<NewSeller, FieldError> {
        Ok(NewSeller {
            platform_id: platform("platform_id", &self.platform_id)?,
            name: PersonName::parse(&self.name).map_err(|e| FieldError::from_contact("", &e))?,
            ship_from: self
                .ship_from
                .as_deref()
                .map(|raw| {
                    parse_ship_from(raw.trim())
                        .map_err(|e| FieldError::new("ship_from", e.to_string()))
                })
                .transpose()?,
            carriers: match &self.carriers {
                None => vec![CarrierId::platform_default()],
                Some(list) => {
                    if list.is_empty() || list.len() > MAX_SELLER_CARRIERS {
                        return Err(FieldError::new("carriers", "must list 1 to 16 carrier ids"));
                    }
                    let mut carriers: Vec<CarrierId> = Vec::with_capacity(list.len());
                    for raw in list {
                        let id = carrier_id("carriers", raw)?;
                        if !carriers.contains(&id) {
                            carriers.push(id);
                        }
                    }
                    carriers
                }
            },
        })
    }
}

/// `201` answer to seller registration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RegisterSellerResponse {
    /// The new seller.
    pub seller_id: SellerId,
    /// Session credential for the seller (`lh1.…`), sent as `Authorization: Bearer`.
    pub seller_token: String,
}

/// `POST /v1/orders` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateOrderRequest {
    /// The seller.
    #[cfg_attr(feature = "openapi", schema(value_type = SellerId))]
    pub seller_id: String,
    /// One of the buyer's address numbers.
    #[cfg_attr(feature = "openapi", schema(value_type = AddressId))]
    pub address_id: String,
    /// The carrier, one of the seller's (addition); without it, the seller's first carrier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<CarrierId>))]
    pub carrier_id: Option<String>,
    /// The parcel's weight in grams, 1 to 100000 (addition); without it, 1000. The order
    /// stores it with the fee it costs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 100_000))]
    pub weight_g: Option<u32>,
}

/// A parsed [`CreateOrderRequest`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOrder {
    /// The seller.
    pub seller_id: SellerId,
    /// The address.
    pub address_id: AddressId,
    /// The buyer's choice of carrier, if any.
    pub carrier_id: Option<CarrierId>,
    /// Grams ([`super::DEFAULT_WEIGHT_G`] when the request named none).
    pub weight_g: u32,
}

impl CreateOrderRequest {
    /// Parses every field.
    ///
    /// # Errors
    /// The first bad field.
    pub fn parse(&self) -> Result<NewOrder, FieldError> {
        Ok(NewOrder {
            seller_id: seller_id("seller_id", &self.seller_id)?,
            address_id: address_id("address_id", &self.address_id)?,
            carrier_id: self
                .carrier_id
                .as_deref()
                .map(|raw| carrier_id("carrier_id", raw))
                .transpose()?,
            weight_g: super::weight_g(self.weight_g.unwrap_or(super::DEFAULT_WEIGHT_G))?,
        })
    }
}

/// `201` answer to `POST /v1/orders`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateOrderResponse {
    /// The new order.
    pub order_id: OrderId,
    /// `created`.
    pub status: OrderStatus,
}

/// `201` answer to `POST /internal/v1/orders`: the public answer plus the tokenised record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InternalCreateOrderResponse {
    /// The new order.
    pub order_id: OrderId,
    /// `created`.
    pub status: OrderStatus,
    /// When.
    pub created_at: Timestamp,
    /// What the edge stores.
    pub record: TokenisedOrder,
}

/// One order in the seller's list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SellerOrderSummary {
    /// Order.
    pub order_id: OrderId,
    /// Buyer (an opaque id, printed on the label).
    pub buyer_id: BuyerId,
    /// Shop.
    pub platform_id: PlatformId,
    /// Status from the edge's order object.
    pub status: OrderStatus,
    /// When.
    pub created_at: Timestamp,
    /// The order's carrier (addition; printed on the label).
    pub carrier: CarrierRef,
}

/// `GET /v1/seller/orders` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SellerOrdersResponse {
    /// Orders.
    pub orders: Vec<SellerOrderSummary>,
}

/// One order as the origin knows it (the edge adds the status).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InternalSellerOrder {
    /// Order.
    pub order_id: OrderId,
    /// Buyer.
    pub buyer_id: BuyerId,
    /// Shop.
    pub platform_id: PlatformId,
    /// When.
    pub created_at: Timestamp,
    /// Its carrier (printed on the label).
    pub carrier: CarrierRef,
}

impl InternalSellerOrder {
    /// The public summary with the edge's status.
    pub fn with_status(self, status: OrderStatus) -> SellerOrderSummary {
        SellerOrderSummary {
            order_id: self.order_id,
            buyer_id: self.buyer_id,
            platform_id: self.platform_id,
            status,
            created_at: self.created_at,
            carrier: self.carrier,
        }
    }
}

/// `GET /internal/v1/seller/orders` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InternalSellerOrdersResponse {
    /// Orders.
    pub orders: Vec<InternalSellerOrder>,
}

/// The verdict word of a hop in tracking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum VerdictWord {
    /// `forward_up`.
    ForwardUp,
    /// `route_to`.
    RouteTo,
    /// `deliver`.
    Deliver,
}

impl From<&crate::progress::Verdict> for VerdictWord {
    fn from(verdict: &crate::progress::Verdict) -> Self {
        match verdict {
            crate::progress::Verdict::ForwardUp => Self::ForwardUp,
            crate::progress::Verdict::RouteTo(_) => Self::RouteTo,
            crate::progress::Verdict::Deliver => Self::Deliver,
        }
    }
}

/// One hub scan in tracking. `hub_id` and `code` are null where they would tell the seller
/// the buyer's region (the hubs in the buyer's city).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TrackingHop {
    /// The hub, or null.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub hub_id: Option<HubId>,
    /// Its level.
    pub level: HubLevel,
    /// Its region code, or null.
    #[cfg_attr(feature = "openapi", schema(required = true, examples("3301")))]
    pub code: Option<String>,
    /// What it decided.
    pub verdict: VerdictWord,
    /// When.
    pub at: Timestamp,
}

/// `GET /v1/orders/{order_id}/tracking` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TrackingResponse {
    /// Order.
    pub order_id: OrderId,
    /// Status.
    pub status: OrderStatus,
    /// Hub scans (empty after delivery erased them).
    pub hops: Vec<TrackingHop>,
    /// The order's carrier (addition).
    pub carrier: CarrierRef,
    /// The carrier's waybill from the pickup scan (addition); null before pickup.
    #[cfg_attr(feature = "openapi", schema(required = true, examples("SF1234567890")))]
    pub waybill: Option<String>,
}

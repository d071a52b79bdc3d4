//! Seller and order bodies: registration, order creation, the seller's list and tracking.

use serde::{Deserialize, Serialize};

use crate::contact::PersonName;
use crate::ids::{AddressId, BuyerId, HubId, OrderId, PlatformId, SellerId};
use crate::progress::OrderStatus;
use crate::region::HubLevel;
use crate::time::Timestamp;
use crate::tokens::TokenisedOrder;

use super::errors::FieldError;
use super::fields::{address_id, platform, seller_id};

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
}

/// A parsed [`RegisterSellerRequest`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSeller {
    /// The shop.
    pub platform_id: PlatformId,
    /// Name.
    pub name: PersonName,
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
}

/// A parsed [`CreateOrderRequest`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOrder {
    /// The seller.
    pub seller_id: SellerId,
    /// The address.
    pub address_id: AddressId,
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
}

//! Courier scan bodies: pickup, hop (with its verdicts) and delivery.

use serde::{Deserialize, Serialize};

use crate::ids::{BuyerId, OrderId, PlatformId, ReleaseId};
use crate::progress::OrderStatus;
use crate::region::HubLevel;
use crate::sealed_box::SealedBox;
use crate::time::Timestamp;

use super::errors::FieldError;
use super::fields::{buyer_id, opaque_text, order_id, platform, release_id};
use super::internal::ReleaseResponse;

/// `POST /v1/scans/pickup` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PickupScanRequest {
    /// Shop.
    #[cfg_attr(feature = "openapi", schema(value_type = PlatformId))]
    pub platform_id: String,
    /// Order.
    #[cfg_attr(feature = "openapi", schema(value_type = OrderId))]
    pub order_id: String,
    /// Buyer id from the label.
    #[cfg_attr(feature = "openapi", schema(value_type = BuyerId))]
    pub buyer_id: String,
    /// The carrier's waybill number (1 to 64 characters).
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::waybill))]
    pub waybill: String,
}

/// A parsed [`PickupScanRequest`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PickupScan {
    /// Shop.
    pub platform_id: PlatformId,
    /// Order.
    pub order_id: OrderId,
    /// Buyer id from the label.
    pub buyer_id: BuyerId,
    /// Waybill (1 to 64 characters).
    pub waybill: String,
}

impl PickupScanRequest {
    /// Parses every field.
    ///
    /// # Errors
    /// The first bad field.
    pub fn parse(&self) -> Result<PickupScan, FieldError> {
        Ok(PickupScan {
            platform_id: platform("platform_id", &self.platform_id)?,
            order_id: order_id("order_id", &self.order_id)?,
            buyer_id: buyer_id("buyer_id", &self.buyer_id)?,
            waybill: opaque_text("waybill", &self.waybill, 64)?,
        })
    }
}

/// `{"status": …}` answers (pickup, internal delivery).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StatusResponse {
    /// New status.
    pub status: OrderStatus,
}

/// `POST /v1/scans/hop` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct HopScanRequest {
    /// Shop.
    #[cfg_attr(feature = "openapi", schema(value_type = PlatformId))]
    pub platform_id: String,
    /// Order.
    #[cfg_attr(feature = "openapi", schema(value_type = OrderId))]
    pub order_id: String,
}

/// A parsed [`HopScanRequest`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HopScan {
    /// Shop.
    pub platform_id: PlatformId,
    /// Order.
    pub order_id: OrderId,
}

impl HopScanRequest {
    /// Parses every field.
    ///
    /// # Errors
    /// The first bad field.
    pub fn parse(&self) -> Result<HopScan, FieldError> {
        Ok(HopScan {
            platform_id: platform("platform_id", &self.platform_id)?,
            order_id: order_id("order_id", &self.order_id)?,
        })
    }
}

/// The next hub in a `route_to` verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NextHop {
    /// `city` or `district`.
    pub level: HubLevel,
    /// Its region code.
    #[cfg_attr(feature = "openapi", schema(examples("1101")))]
    pub code: String,
}

/// The recipient released to the final hub.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Recipient {
    /// Name.
    pub name: String,
    /// Phone.
    pub phone: String,
    /// `CN`.
    #[cfg_attr(feature = "openapi", schema(examples("CN")))]
    pub country: String,
    /// Delivery region code.
    #[cfg_attr(feature = "openapi", schema(examples("110105")))]
    pub region: String,
    /// Street line.
    pub line: String,
    /// Postal code.
    pub postal_code: String,
}

impl std::fmt::Debug for Recipient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Recipient([redacted])")
    }
}

/// `POST /v1/scans/hop` answer, tagged by `verdict`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum HopResponse {
    /// `{"verdict":"forward_up"}`.
    ForwardUp,
    /// `{"verdict":"route_to","next_hop":{…}}`.
    RouteTo {
        /// Where to send the parcel.
        next_hop: NextHop,
    },
    /// `{"verdict":"deliver","release_id","erase_after","sealed_recipient"}` for a device-bound
    /// scanner; `recipient` in the clear only for a scanner without a device, and only where
    /// the origin runs with its legacy switch.
    Deliver {
        /// The release.
        release_id: ReleaseId,
        /// When the terminal must erase the recipient at the latest.
        erase_after: Timestamp,
        /// The recipient in the clear (legacy scanners without a device only).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        recipient: Option<Recipient>,
        /// The recipient as JSON, sealed with HPKE to the device's `box_key` (info
        /// `lasthop/recipient/v1`, associated data `release_id ‖ 0 ‖ order_id`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sealed_recipient: Option<SealedBox>,
    },
}

impl HopResponse {
    /// The `deliver` body from the origin's release.
    pub fn deliver(release: ReleaseResponse) -> Self {
        Self::Deliver {
            release_id: release.release_id,
            erase_after: release.erase_after,
            recipient: release.recipient,
            sealed_recipient: release.sealed_recipient,
        }
    }
}

/// `POST /v1/scans/deliver` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DeliverScanRequest {
    /// Shop.
    #[cfg_attr(feature = "openapi", schema(value_type = PlatformId))]
    pub platform_id: String,
    /// Order.
    #[cfg_attr(feature = "openapi", schema(value_type = OrderId))]
    pub order_id: String,
    /// The release being closed.
    #[cfg_attr(feature = "openapi", schema(value_type = ReleaseId))]
    pub release_id: String,
    /// Proof of receipt (1 to 4096 characters), e.g. the recipient's signature.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::receipt_signature))]
    pub signature: String,
}

/// A parsed [`DeliverScanRequest`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliverScan {
    /// Shop.
    pub platform_id: PlatformId,
    /// Order.
    pub order_id: OrderId,
    /// Release.
    pub release_id: ReleaseId,
    /// Proof of receipt (1 to 4096 characters).
    pub signature: String,
}

impl DeliverScanRequest {
    /// Parses every field.
    ///
    /// # Errors
    /// The first bad field.
    pub fn parse(&self) -> Result<DeliverScan, FieldError> {
        Ok(DeliverScan {
            platform_id: platform("platform_id", &self.platform_id)?,
            order_id: order_id("order_id", &self.order_id)?,
            release_id: release_id("release_id", &self.release_id)?,
            signature: opaque_text("signature", &self.signature, 4096)?,
        })
    }
}

/// `POST /v1/scans/deliver` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeliverResponse {
    /// `delivered`.
    pub status: OrderStatus,
    /// Releases whose data the terminal must erase.
    pub erase: Vec<ReleaseId>,
}

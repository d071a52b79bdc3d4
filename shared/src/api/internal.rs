//! Bodies of the internal edge-to-origin calls: release, delivery and revocation push.

use serde::{Deserialize, Serialize};

use crate::device::SignedScan;
use crate::ids::{OrderId, PlatformId, ReleaseId, ScannerId};
use crate::sealed_box::SealedBox;
use crate::time::Timestamp;

use super::errors::FieldError;
use super::fields::{opaque_text, order_id, platform, release_id, scanner_id};
use super::scans::Recipient;

/// `POST /internal/v1/releases` body (edge → origin).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ReleaseRequest {
    /// Shop.
    #[cfg_attr(feature = "openapi", schema(value_type = PlatformId))]
    pub platform_id: String,
    /// Order.
    #[cfg_attr(feature = "openapi", schema(value_type = OrderId))]
    pub order_id: String,
    /// The final hub's scanner credential (the origin verifies it too).
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::relayed_token))]
    pub scanner_token: String,
    /// The order's chain of custody: every device-signed scan the edge verified, pickup
    /// first, the final hop (this request's scan) last. Empty only for a legacy scanner
    /// without a device.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub chain: Vec<SignedScan>,
}

/// A parsed [`ReleaseRequest`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRelease {
    /// Shop.
    pub platform_id: PlatformId,
    /// Order.
    pub order_id: OrderId,
    /// Credential, still to verify.
    pub scanner_token: String,
    /// The chain, still to verify.
    pub chain: Vec<SignedScan>,
}

impl ReleaseRequest {
    /// Parses every field.
    ///
    /// # Errors
    /// The first bad field.
    pub fn parse(&self) -> Result<NewRelease, FieldError> {
        Ok(NewRelease {
            platform_id: platform("platform_id", &self.platform_id)?,
            order_id: order_id("order_id", &self.order_id)?,
            scanner_token: opaque_text("scanner_token", &self.scanner_token, 4096)?,
            chain: self.chain.clone(),
        })
    }
}

/// `POST /internal/v1/releases` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReleaseResponse {
    /// The release (the same one when repeated for the same hub).
    pub release_id: ReleaseId,
    /// When the terminal must erase the recipient.
    pub erase_after: Timestamp,
    /// The recipient in the clear (legacy scanners without a device, legacy switch on).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipient: Option<Recipient>,
    /// The recipient sealed to the scanner's device.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealed_recipient: Option<SealedBox>,
}

/// `POST /internal/v1/deliveries` body (edge → origin).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DeliveryRequest {
    /// Shop.
    #[cfg_attr(feature = "openapi", schema(value_type = PlatformId))]
    pub platform_id: String,
    /// Order.
    #[cfg_attr(feature = "openapi", schema(value_type = OrderId))]
    pub order_id: String,
    /// Release.
    #[cfg_attr(feature = "openapi", schema(value_type = ReleaseId))]
    pub release_id: String,
    /// The final hub's scanner credential.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::relayed_token))]
    pub scanner_token: String,
    /// Proof of receipt.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::receipt_signature))]
    pub signature: String,
    /// The device-signed deliver scan as the edge verified it (absent for a legacy scanner
    /// without a device).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scan: Option<SignedScan>,
}

/// A parsed [`DeliveryRequest`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDelivery {
    /// Shop.
    pub platform_id: PlatformId,
    /// Order.
    pub order_id: OrderId,
    /// Release.
    pub release_id: ReleaseId,
    /// Credential, still to verify.
    pub scanner_token: String,
    /// Proof of receipt.
    pub signature: String,
    /// The device-signed scan, still to verify.
    pub scan: Option<SignedScan>,
}

impl DeliveryRequest {
    /// Parses every field.
    ///
    /// # Errors
    /// The first bad field.
    pub fn parse(&self) -> Result<NewDelivery, FieldError> {
        Ok(NewDelivery {
            platform_id: platform("platform_id", &self.platform_id)?,
            order_id: order_id("order_id", &self.order_id)?,
            release_id: release_id("release_id", &self.release_id)?,
            scanner_token: opaque_text("scanner_token", &self.scanner_token, 4096)?,
            signature: opaque_text("signature", &self.signature, 4096)?,
            scan: self.scan.clone(),
        })
    }
}

/// `POST /internal/v1/scanner-renewals` body (edge → origin): a device asks for a fresh
/// credential for its scanner while the current one is valid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ScannerRenewalRequest {
    /// The current credential.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::relayed_token))]
    pub scanner_token: String,
    /// The device-signed renewal request as the edge verified it.
    pub scan: SignedScan,
}

/// `POST /v1/scanners/renew` and `POST /internal/v1/scanner-renewals` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ScannerRenewalResponse {
    /// The new credential (`lh1.…`), bound to the same hub, role and device.
    pub token: String,
    /// When it stops being valid.
    pub expires_at: Timestamp,
}

/// `POST /internal/v1/revocations` body (origin → edge).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RevocationRequest {
    /// The revoked scanner.
    #[cfg_attr(feature = "openapi", schema(value_type = ScannerId))]
    pub scanner_id: String,
}

impl RevocationRequest {
    /// Parses the scanner id.
    ///
    /// # Errors
    /// A bad `scanner_id`.
    pub fn parse(&self) -> Result<ScannerId, FieldError> {
        scanner_id("scanner_id", &self.scanner_id)
    }
}

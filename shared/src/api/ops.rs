//! Operator bodies: hubs, scanners, audit, rotation and health.

use serde::{Deserialize, Serialize};

use crate::carrier::CarrierName;
use crate::credential::ScannerRole;
use crate::device::{DevicePublicKey, EnrolledDevice};
use crate::ids::{AddressId, CarrierId, HubId, OrderId, ReleaseId, ScannerId};
use crate::region::{Directory, HubLevel, HubRegion, RegionCode};
use crate::sealed_box::BoxPublicKey;
use crate::time::Timestamp;

use super::errors::FieldError;
use super::fields::{carrier_id, hub_id, opaque_text};

/// `POST /v1/ops/hubs` body. Its schema (`crate::openapi`) pairs each level with the known
/// codes of that level.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateHubRequest {
    /// 6-digit district code or 4-digit city code (GB/T 2260).
    pub code: String,
    /// `district` or `city`.
    pub level: String,
    /// The hub's name.
    pub name: String,
    /// The carrier the hub belongs to (addition); without it, the platform's default carrier.
    /// Its scanners belong to the same carrier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub carrier_id: Option<String>,
}

/// A parsed [`CreateHubRequest`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewHub {
    /// Region and level.
    pub hub: HubRegion,
    /// Name (1 to 100 characters).
    pub name: String,
    /// Its carrier (the default carrier when the request named none).
    pub carrier_id: CarrierId,
}

impl CreateHubRequest {
    /// Parses every field; the code must exist at the level.
    ///
    /// # Errors
    /// The first bad field.
    pub fn parse(&self) -> Result<NewHub, FieldError> {
        let level = HubLevel::parse(self.level.trim())
            .map_err(|_| FieldError::new("level", "must be `district` or `city`"))?;
        let code = RegionCode::parse(self.code.trim())
            .map_err(|_| FieldError::new("code", "must be a GB/T 2260 code of 4 or 6 digits"))?;
        let hub = Directory::china()
            .hub_region(level, code)
            .map_err(|e| FieldError::new("code", e.to_string()))?;
        Ok(NewHub {
            hub,
            name: opaque_text("name", &self.name, 100)?,
            carrier_id: match &self.carrier_id {
                Some(raw) => carrier_id("carrier_id", raw)?,
                None => CarrierId::platform_default(),
            },
        })
    }
}

/// `POST /v1/ops/carriers` body (addition).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateCarrierRequest {
    /// The carrier's name, printed on labels: 1 to 64 characters.
    #[cfg_attr(feature = "openapi", schema(examples("SF Express")))]
    pub name: String,
}

impl CreateCarrierRequest {
    /// Parses the name.
    ///
    /// # Errors
    /// A bad `name`.
    pub fn parse(&self) -> Result<CarrierName, FieldError> {
        CarrierName::parse(&self.name).map_err(|e| FieldError::new("name", e.to_string()))
    }
}

/// `201` answer to creating a carrier, and one carrier of `GET /v1/ops/carriers`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CarrierRef {
    /// The carrier.
    pub carrier_id: CarrierId,
    /// Its name.
    #[cfg_attr(feature = "openapi", schema(value_type = String, examples("SF Express")))]
    pub name: CarrierName,
}

/// `GET /v1/ops/carriers` answer (addition).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CarriersResponse {
    /// Every carrier, the default one included.
    pub carriers: Vec<CarrierRef>,
}

/// `201` answer to creating a hub.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateHubResponse {
    /// The new hub.
    pub hub_id: HubId,
}

/// `POST /v1/ops/scanners` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateScannerRequest {
    /// The hub.
    #[cfg_attr(feature = "openapi", schema(value_type = HubId))]
    pub hub_id: String,
    /// `pickup` or `hub`.
    #[cfg_attr(feature = "openapi", schema(value_type = ScannerRole))]
    pub role: String,
    /// The public keys of the scanner's device. With them the credential is device-bound:
    /// every courier request must carry the device's signature, the credential lives one shift
    /// and is renewed by the device, and recipients are sealed to `box_key`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<DeviceKeysInput>,
}

/// The `device` object of [`CreateScannerRequest`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DeviceKeysInput {
    /// Ed25519 public key that signs the device's scans: base64url without padding, 32 bytes.
    #[cfg_attr(
        feature = "openapi",
        schema(examples("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"))
    )]
    pub sign_key: String,
    /// X25519 public key that receives sealed recipients: base64url without padding, 32 bytes.
    #[cfg_attr(
        feature = "openapi",
        schema(examples("hSDwCYkwp1R0i33ctD73Wg2_Og0mOBr066SpjqqbTmo"))
    )]
    pub box_key: String,
}

impl DeviceKeysInput {
    /// Parses both keys, naming the bad one as `{prefix}.sign_key` or `{prefix}.box_key`.
    ///
    /// # Errors
    /// The first bad key.
    pub fn parse(&self, prefix: &str) -> Result<EnrolledDevice, FieldError> {
        let reason = "must be base64url without padding of a 32-byte public key";
        Ok(EnrolledDevice {
            sign_key: DevicePublicKey::parse(&self.sign_key)
                .map_err(|_| FieldError::new(format!("{prefix}.sign_key"), reason))?,
            box_key: BoxPublicKey::parse(&self.box_key)
                .map_err(|_| FieldError::new(format!("{prefix}.box_key"), reason))?,
        })
    }
}

impl From<&EnrolledDevice> for DeviceKeysInput {
    fn from(device: &EnrolledDevice) -> Self {
        Self {
            sign_key: device.sign_key.to_base64(),
            box_key: device.box_key.to_base64(),
        }
    }
}

/// A parsed [`CreateScannerRequest`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewScanner {
    /// The hub.
    pub hub_id: HubId,
    /// The role.
    pub role: ScannerRole,
    /// The enrolled device, if any.
    pub device: Option<EnrolledDevice>,
}

impl CreateScannerRequest {
    /// Parses every field.
    ///
    /// # Errors
    /// The first bad field.
    pub fn parse(&self) -> Result<NewScanner, FieldError> {
        let role = match self.role.trim() {
            "pickup" => ScannerRole::Pickup,
            "hub" => ScannerRole::Hub,
            _ => return Err(FieldError::new("role", "must be `pickup` or `hub`")),
        };
        Ok(NewScanner {
            hub_id: hub_id("hub_id", &self.hub_id)?,
            role,
            device: self
                .device
                .as_ref()
                .map(|device| device.parse("device"))
                .transpose()?,
        })
    }
}

/// `201` answer to creating a scanner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateScannerResponse {
    /// The new scanner.
    pub scanner_id: ScannerId,
    /// Its credential (`lh1.…`), bound to one hub and one role.
    pub token: String,
}

/// One release in the audit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEntry {
    /// Release.
    pub release_id: ReleaseId,
    /// Order.
    pub order_id: OrderId,
    /// Hub.
    pub hub_id: HubId,
    /// Scanner.
    pub scanner_id: ScannerId,
    /// When.
    pub at: Timestamp,
}

/// The query of `GET /v1/ops/audit`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "openapi",
    derive(utoipa::IntoParams),
    into_params(parameter_in = Query)
)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    // Optional in the type so that its absence is the contract's 400 naming the field, not
    // the framework's query rejection; the document says it is required.
    /// The order whose releases to list.
    #[cfg_attr(feature = "openapi", param(value_type = OrderId, required = true))]
    pub order_id: Option<String>,
}

/// `GET /v1/ops/audit` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditResponse {
    /// Releases, oldest first.
    pub releases: Vec<AuditEntry>,
}

/// `POST /v1/ops/addresses/{address_id}/rotate` answer (an origin operation beyond the contract).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RotateAddressResponse {
    /// The new number; the old one no longer exists.
    pub address_id: AddressId,
}

//! Serde DTOs for every JSON body of `docs/api-v1.md` and the internal calls of
//! `docs/design.md`, the error codes and the error body.
//!
//! Request DTOs keep plain strings and reject unknown fields; their `parse()` turns them into
//! domain types or a [`FieldError`] naming the field, which becomes a precise 400. Response
//! DTOs use the domain types directly. [`parse_json`] maps serde's errors to the contract's
//! error body, so adapters never answer bad input with a 500.
//!
//! With the feature `openapi` every DTO also derives `utoipa::ToSchema` (the `openapi` module
//! describes the domain types they carry), so both services' OpenAPI documents are generated
//! from these very types; the wasm build of the edge leaves the feature off.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::contact::{AddressLabel, ContactError, PersonName, PhoneNumber, PostalAddress};
use crate::credential::ScannerRole;
use crate::ids::{
    AddressId, BuyerId, HubId, IdError, OrderId, PlatformId, ReleaseId, ScannerId, SellerId,
};
use crate::progress::OrderStatus;
use crate::region::{Directory, HubLevel, HubRegion, RegionCode};
use crate::time::Timestamp;
use crate::tokens::TokenisedOrder;

// ---------------------------------------------------------------------------------------------
// Errors

/// Every error code of the contract and design, and the origin's last-resort `internal`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// 400: a field is missing or invalid (the message names it), or the body is not JSON.
    InvalidInput,
    /// 400: the body has a field the contract does not know.
    UnknownField,
    /// 401: missing or bad credential.
    Unauthorized,
    /// 403: credential valid but not allowed.
    Forbidden,
    /// 403: a scanner credential of the other role.
    WrongRole,
    /// 403: a hub the parcel was not sent to.
    OffRoute,
    /// 404: unknown id.
    NotFound,
    /// 409: the buyer id does not belong to the order.
    LabelMismatch,
    /// 409: the order is not in a state that allows this.
    WrongState,
    /// 409: scanned at a hub before pickup.
    NotPickedUp,
    /// 410: delivered; closed.
    OrderClosed,
    /// 413: body too large.
    PayloadTooLarge,
    /// 429: rate limited (send `Retry-After`).
    RateLimited,
    /// 503: a dependency is down (send `Retry-After`).
    Unavailable,
    /// 500: a fault on the service's side (a bug or a damaged store), never bad input; the
    /// last resort, which the contract's endpoints avoid.
    Internal,
}

impl ErrorCode {
    /// The snake_case wire word.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::InvalidInput => "invalid_input",
            Self::UnknownField => "unknown_field",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::WrongRole => "wrong_role",
            Self::OffRoute => "off_route",
            Self::NotFound => "not_found",
            Self::LabelMismatch => "label_mismatch",
            Self::WrongState => "wrong_state",
            Self::NotPickedUp => "not_picked_up",
            Self::OrderClosed => "order_closed",
            Self::PayloadTooLarge => "payload_too_large",
            Self::RateLimited => "rate_limited",
            Self::Unavailable => "unavailable",
            Self::Internal => "internal",
        }
    }

    /// The HTTP status.
    pub const fn status(self) -> u16 {
        match self {
            Self::InvalidInput | Self::UnknownField => 400,
            Self::Unauthorized => 401,
            Self::Forbidden | Self::WrongRole | Self::OffRoute => 403,
            Self::NotFound => 404,
            Self::LabelMismatch | Self::WrongState | Self::NotPickedUp => 409,
            Self::OrderClosed => 410,
            Self::PayloadTooLarge => 413,
            Self::RateLimited => 429,
            Self::Unavailable => 503,
            Self::Internal => 500,
        }
    }

    /// A generic sentence for the code, for when there is nothing more precise to say.
    pub const fn default_message(self) -> &'static str {
        match self {
            Self::InvalidInput => "The request body is not valid.",
            Self::UnknownField => "The request body has a field this API does not know.",
            Self::Unauthorized => "A valid credential is required.",
            Self::Forbidden => "This credential is not allowed to do that.",
            Self::WrongRole => "This scanner's role does not allow that scan.",
            Self::OffRoute => "This hub is not on the parcel's route.",
            Self::NotFound => "Nothing was found with that id.",
            Self::LabelMismatch => {
                "The buyer id does not match the order; ask the seller to check the label."
            }
            Self::WrongState => "The order is not in a state that allows this.",
            Self::NotPickedUp => "The parcel has not been picked up yet.",
            Self::OrderClosed => "The order has been delivered and is closed.",
            Self::PayloadTooLarge => "The request body is too large.",
            Self::RateLimited => "Too many requests; retry later.",
            Self::Unavailable => "A service this request needs is unavailable; retry later.",
            Self::Internal => "Something went wrong on our side.",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The contract's error body: `{"error":"<code>","message":"<sentence>"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ErrorBody {
    /// The code.
    pub error: ErrorCode,
    /// One human sentence, without personal data or internals.
    pub message: String,
}

impl ErrorBody {
    /// A body with a specific message.
    pub fn new(error: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            error,
            message: message.into(),
        }
    }

    /// A body with the code's default message.
    pub fn from_code(error: ErrorCode) -> Self {
        Self::new(error, error.default_message())
    }

    /// The HTTP status to send.
    pub fn status(&self) -> u16 {
        self.error.status()
    }
}

impl From<ErrorCode> for ErrorBody {
    fn from(code: ErrorCode) -> Self {
        Self::from_code(code)
    }
}

/// A request field that did not parse. Becomes `invalid_input` naming the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Field `{field}` {reason}.")]
pub struct FieldError {
    /// The field path, e.g. `address.region`.
    pub field: String,
    /// What is wrong; never the value.
    pub reason: String,
}

impl FieldError {
    /// A field error.
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            reason: reason.into(),
        }
    }

    fn from_id(field: &str, error: &IdError) -> Self {
        Self::new(field, format!("is not valid: {error}"))
    }

    fn from_contact(prefix: &str, error: &ContactError) -> Self {
        Self::new(format!("{prefix}{}", error.field), error.reason)
    }
}

impl From<FieldError> for ErrorBody {
    fn from(error: FieldError) -> Self {
        Self::new(ErrorCode::InvalidInput, error.to_string())
    }
}

/// Deserialises a JSON body, mapping failures to the contract's 400s: `unknown_field` naming
/// the field, `invalid_input` naming a missing or mistyped field, or saying the body is not JSON.
///
/// # Errors
/// An [`ErrorBody`] with status 400.
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ErrorBody> {
    serde_json::from_slice(body).map_err(|error| json_error(&error))
}

fn json_error(error: &serde_json::Error) -> ErrorBody {
    let text = error.to_string();
    // serde names the field between backticks; field names come from the body, so keep only
    // short identifier-like names and never echo values.
    let field = text
        .split('`')
        .nth(1)
        .filter(|f| f.len() <= 64 && f.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
    if text.starts_with("unknown field") {
        let message = match field {
            Some(field) => format!("Field `{field}` is not part of this request."),
            None => "The body has a field that is not part of this request.".to_owned(),
        };
        return ErrorBody::new(ErrorCode::UnknownField, message);
    }
    if text.starts_with("missing field") {
        if let Some(field) = field {
            return ErrorBody::new(
                ErrorCode::InvalidInput,
                format!("Field `{field}` is required."),
            );
        }
    }
    let message = match error.classify() {
        serde_json::error::Category::Data => {
            "The body has a field of the wrong type or with an invalid value."
        }
        serde_json::error::Category::Eof => "The body is empty or cut short.",
        _ => "The body is not valid JSON.",
    };
    ErrorBody::new(ErrorCode::InvalidInput, message)
}

// ---------------------------------------------------------------------------------------------
// Field parsing helpers

fn platform(field: &str, value: &str) -> Result<PlatformId, FieldError> {
    PlatformId::parse(value).map_err(|e| FieldError::from_id(field, &e))
}

macro_rules! id_parser {
    ($fn_name:ident, $ty:ty) => {
        fn $fn_name(field: &str, value: &str) -> Result<$ty, FieldError> {
            <$ty>::parse(value.trim()).map_err(|e| FieldError::from_id(field, &e))
        }
    };
}

id_parser!(order_id, OrderId);
id_parser!(buyer_id, BuyerId);
id_parser!(seller_id, SellerId);
id_parser!(address_id, AddressId);
id_parser!(hub_id, HubId);
id_parser!(scanner_id, ScannerId);
id_parser!(release_id, ReleaseId);

/// Non-empty, at most `max` characters, no control characters.
fn opaque_text(field: &str, value: &str, max: usize) -> Result<String, FieldError> {
    let trimmed = value.trim();
    let count = trimmed.chars().count();
    if count == 0 || count > max {
        return Err(FieldError::new(
            field,
            format!("must be 1 to {max} characters"),
        ));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(FieldError::new(
            field,
            "must not contain control characters",
        ));
    }
    Ok(trimmed.to_owned())
}

// ---------------------------------------------------------------------------------------------
// Buyers

/// The `address` object of buyer requests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AddressInput {
    /// ISO country code: `CN`.
    #[cfg_attr(feature = "openapi", schema(examples("CN")))]
    pub country: String,
    /// A known district code (GB/T 2260), or a city code where the city has no districts.
    #[cfg_attr(feature = "openapi", schema(examples("110105")))]
    pub region: String,
    /// Street line.
    #[cfg_attr(feature = "openapi", schema(examples("8 Jiuxianqiao Road")))]
    pub line: String,
    /// 6 digits.
    #[cfg_attr(feature = "openapi", schema(examples("100020")))]
    pub postal_code: String,
    /// The buyer's label for it, e.g. `home`.
    #[cfg_attr(feature = "openapi", schema(examples("home")))]
    pub label: String,
}

/// A parsed address input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAddress {
    /// The address.
    pub address: PostalAddress,
    /// The buyer's label for it.
    pub label: AddressLabel,
}

impl AddressInput {
    /// Parses every field; errors name `address.<field>`.
    ///
    /// # Errors
    /// The first bad field.
    pub fn parse(&self) -> Result<NewAddress, FieldError> {
        let address =
            PostalAddress::parse(&self.country, &self.region, &self.line, &self.postal_code)
                .map_err(|e| FieldError::from_contact("address.", &e))?;
        let label = AddressLabel::parse(&self.label)
            .map_err(|e| FieldError::from_contact("address.", &e))?;
        Ok(NewAddress { address, label })
    }
}

/// `POST /v1/buyers` (and `/internal/v1/buyers`) body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RegisterBuyerRequest {
    /// The shop.
    #[cfg_attr(feature = "openapi", schema(value_type = PlatformId))]
    pub platform_id: String,
    /// The buyer's name.
    pub name: String,
    /// The buyer's phone.
    pub phone: String,
    /// The first address.
    pub address: AddressInput,
}

/// A parsed [`RegisterBuyerRequest`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewBuyer {
    /// The shop.
    pub platform_id: PlatformId,
    /// Name.
    pub name: PersonName,
    /// Phone.
    pub phone: PhoneNumber,
    /// First address.
    pub address: NewAddress,
}

impl RegisterBuyerRequest {
    /// Parses every field.
    ///
    /// # Errors
    /// The first bad field.
    pub fn parse(&self) -> Result<NewBuyer, FieldError> {
        Ok(NewBuyer {
            platform_id: platform("platform_id", &self.platform_id)?,
            name: PersonName::parse(&self.name).map_err(|e| FieldError::from_contact("", &e))?,
            phone: PhoneNumber::parse(&self.phone).map_err(|e| FieldError::from_contact("", &e))?,
            address: self.address.parse()?,
        })
    }
}

/// `201` answer to buyer registration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RegisterBuyerResponse {
    /// The new buyer.
    pub buyer_id: BuyerId,
    /// The first address's number.
    pub address_id: AddressId,
    /// Session credential for the buyer (`lh1.…`), sent as `Authorization: Bearer`.
    pub buyer_token: String,
}

/// `POST /v1/buyers/me/addresses` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AddAddressRequest {
    /// The address.
    pub address: AddressInput,
}

impl AddAddressRequest {
    /// Parses the address.
    ///
    /// # Errors
    /// The first bad field.
    pub fn parse(&self) -> Result<NewAddress, FieldError> {
        self.address.parse()
    }
}

/// `201` answer to adding an address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AddAddressResponse {
    /// The address number (shared by identical addresses).
    pub address_id: AddressId,
}

/// One address in the buyer's own profile (plaintext, to its owner only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AddressView {
    /// Address number.
    pub address_id: AddressId,
    /// The buyer's label.
    #[cfg_attr(feature = "openapi", schema(examples("home")))]
    pub label: String,
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

/// Who saw which address for which order, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccessLogEntry {
    /// The final hub.
    pub hub_id: HubId,
    /// Its region code.
    #[cfg_attr(feature = "openapi", schema(examples("110105")))]
    pub hub_code: String,
    /// The address released.
    pub address_id: AddressId,
    /// The order.
    pub order_id: OrderId,
    /// The release.
    pub release_id: ReleaseId,
    /// When.
    pub at: Timestamp,
}

/// `GET /v1/buyers/me` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BuyerProfile {
    /// The buyer.
    pub buyer_id: BuyerId,
    /// The shop.
    pub platform_id: PlatformId,
    /// Name.
    pub name: String,
    /// Phone.
    pub phone: String,
    /// Addresses.
    pub addresses: Vec<AddressView>,
    /// Access log.
    pub access_log: Vec<AccessLogEntry>,
}

// ---------------------------------------------------------------------------------------------
// Sellers and orders

/// `POST /v1/sellers` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RegisterSellerRequest {
    /// The shop.
    #[cfg_attr(feature = "openapi", schema(value_type = PlatformId))]
    pub platform_id: String,
    /// The seller's name.
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

// ---------------------------------------------------------------------------------------------
// Scans

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
    #[cfg_attr(feature = "openapi", schema(examples("SF1234567890")))]
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
    /// `{"verdict":"deliver","release_id","erase_after","recipient"}`.
    Deliver {
        /// The release.
        release_id: ReleaseId,
        /// When the terminal must erase the recipient at the latest.
        erase_after: Timestamp,
        /// The recipient.
        recipient: Recipient,
    },
}

impl HopResponse {
    /// The `deliver` body from the origin's release.
    pub fn deliver(release: ReleaseResponse) -> Self {
        Self::Deliver {
            release_id: release.release_id,
            erase_after: release.erase_after,
            recipient: release.recipient,
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

// ---------------------------------------------------------------------------------------------
// Internal calls

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
    pub scanner_token: String,
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
    /// The recipient.
    pub recipient: Recipient,
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
    pub scanner_token: String,
    /// Proof of receipt.
    pub signature: String,
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
        })
    }
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

// ---------------------------------------------------------------------------------------------
// Operations

/// `POST /v1/ops/hubs` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateHubRequest {
    /// 6-digit district code or 4-digit city code (GB/T 2260).
    #[cfg_attr(feature = "openapi", schema(examples("110105")))]
    pub code: String,
    /// `district` or `city`.
    #[cfg_attr(feature = "openapi", schema(value_type = HubLevel))]
    pub level: String,
    /// The hub's name.
    pub name: String,
}

/// A parsed [`CreateHubRequest`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewHub {
    /// Region and level.
    pub hub: HubRegion,
    /// Name (1 to 100 characters).
    pub name: String,
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
        })
    }
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
}

/// A parsed [`CreateScannerRequest`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewScanner {
    /// The hub.
    pub hub_id: HubId,
    /// The role.
    pub role: ScannerRole,
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

/// The origin's `GET /healthz` answer (the edge answers plain `ok`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HealthResponse {
    /// `ok`.
    #[cfg_attr(feature = "openapi", schema(examples("ok")))]
    pub status: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_have_contract_words_and_statuses() {
        let body = ErrorBody::from_code(ErrorCode::OffRoute);
        assert_eq!(
            serde_json::to_value(&body).unwrap(),
            serde_json::json!({"error":"off_route","message":"This hub is not on the parcel's route."})
        );
        assert_eq!(ErrorCode::OrderClosed.status(), 410);
        assert_eq!(ErrorCode::NotPickedUp.status(), 409);
        assert_eq!(ErrorCode::RateLimited.as_str(), "rate_limited");
        assert_eq!(ErrorCode::Internal.status(), 500);
        assert_eq!(
            serde_json::to_value(ErrorCode::Internal).unwrap(),
            serde_json::json!(ErrorCode::Internal.as_str())
        );
        assert_eq!(ErrorCode::Internal.as_str(), "internal");
    }

    #[test]
    fn unknown_fields_are_rejected_with_the_field_named() {
        let err =
            parse_json::<HopScanRequest>(br#"{"platform_id":"demo","order_id":"o_x","extra":1}"#)
                .unwrap_err();
        assert_eq!(err.error, ErrorCode::UnknownField);
        assert!(err.message.contains("`extra`"), "{}", err.message);
        assert_eq!(err.status(), 400);
    }

    #[test]
    fn missing_fields_and_bad_json_are_invalid_input() {
        let err = parse_json::<HopScanRequest>(br#"{"platform_id":"demo"}"#).unwrap_err();
        assert_eq!(err.error, ErrorCode::InvalidInput);
        assert!(err.message.contains("`order_id`"));
        let err = parse_json::<HopScanRequest>(b"{not json").unwrap_err();
        assert_eq!(err.error, ErrorCode::InvalidInput);
        let err =
            parse_json::<HopScanRequest>(br#"{"platform_id":"demo","order_id":12}"#).unwrap_err();
        assert_eq!(err.error, ErrorCode::InvalidInput);
    }

    #[test]
    fn register_buyer_parse_names_the_bad_nested_field_without_its_value() {
        let mut request: RegisterBuyerRequest = parse_json(
            br#"{"platform_id":"demo","name":"Wang","phone":"+86 138 0000 0000",
                "address":{"country":"CN","region":"110105","line":"Road 8","postal_code":"100020","label":"home"}}"#,
        )
        .unwrap();
        let parsed = request.parse().unwrap();
        assert_eq!(parsed.address.address.region().code().to_string(), "110105");
        request.address.region = "3301".into();
        let err = request.parse().unwrap_err();
        assert_eq!(err.field, "address.region");
        let body = ErrorBody::from(err);
        assert_eq!(body.error, ErrorCode::InvalidInput);
        assert!(body.message.contains("address.region") && !body.message.contains("3301"));
        request.address.region = "110105".into();
        request.phone = "abc".into();
        assert_eq!(request.parse().unwrap_err().field, "phone");
    }

    #[test]
    fn scan_requests_parse_ids() {
        let request = PickupScanRequest {
            platform_id: "demo".into(),
            order_id: "O_0123456789ABCDEF".into(),
            buyer_id: "b_0123456789abcdef".into(),
            waybill: "SF123".into(),
        };
        let scan = request.parse().unwrap();
        assert_eq!(scan.order_id.as_str(), "o_0123456789abcdef");
        let bad = PickupScanRequest {
            buyer_id: "s_0123456789abcdef".into(),
            ..request
        };
        assert_eq!(bad.parse().unwrap_err().field, "buyer_id");
    }

    #[test]
    fn hub_requests_check_level_and_code() {
        let ok = CreateHubRequest {
            code: "110105".into(),
            level: "district".into(),
            name: "Chaoyang".into(),
        };
        assert!(ok.parse().is_ok());
        let bad = CreateHubRequest {
            level: "city".into(),
            ..ok.clone()
        };
        assert_eq!(bad.parse().unwrap_err().field, "code");
        let bad = CreateHubRequest {
            level: "town".into(),
            ..ok
        };
        assert_eq!(bad.parse().unwrap_err().field, "level");
    }

    #[test]
    fn deliver_body_has_the_contract_shape() {
        let body = HopResponse::deliver(ReleaseResponse {
            release_id: ReleaseId::parse("r_0123456789abcdef").unwrap(),
            erase_after: Timestamp::from_unix_seconds(0),
            recipient: Recipient {
                name: "n".into(),
                phone: "p".into(),
                country: "CN".into(),
                region: "110105".into(),
                line: "l".into(),
                postal_code: "100020".into(),
            },
        });
        let value = serde_json::to_value(&body).unwrap();
        assert_eq!(value["verdict"], "deliver");
        assert_eq!(value["release_id"], "r_0123456789abcdef");
        assert_eq!(value["erase_after"], "1970-01-01T00:00:00Z");
        assert_eq!(value["recipient"]["region"], "110105");
        assert_eq!(serde_json::from_value::<HopResponse>(value).unwrap(), body);
    }
}

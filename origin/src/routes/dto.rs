//! JSON bodies of the origin's endpoints (HTTP DTOs, separate from domain types). Request
//! bodies reject unknown fields; values are parsed into core newtypes by the handlers, which
//! name the offending field on failure.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `GET /healthz`
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok`
    pub status: String,
}

/// `POST /v1/ops/hubs`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateHub {
    /// GB/T 2260 code: 6 digits for a district hub, 4 for a city hub.
    pub code: String,
    /// `district` or `city`.
    pub level: String,
    /// The hub's name.
    pub name: String,
}

/// 201 answer of `POST /v1/ops/hubs`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct HubCreated {
    /// `h_…`
    pub hub_id: String,
}

/// `POST /v1/ops/scanners`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IssueScanner {
    /// `h_…`
    pub hub_id: String,
    /// `pickup` or `hub`.
    pub role: String,
}

/// 201 answer of `POST /v1/ops/scanners`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ScannerIssued {
    /// `sc_…`
    pub scanner_id: String,
    /// The scanner credential (`lh1.…`).
    pub token: String,
}

/// Query of `GET /v1/ops/audit`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// `o_…`
    pub order_id: Option<String>,
}

/// One audited release call.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AuditEntry {
    /// `r_…`
    pub release_id: String,
    /// `o_…`
    pub order_id: String,
    /// `h_…`
    pub hub_id: String,
    /// `sc_…`
    pub scanner_id: String,
    /// RFC 3339.
    pub at: String,
}

/// 200 answer of `GET /v1/ops/audit`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AuditList {
    /// Oldest first.
    pub releases: Vec<AuditEntry>,
}

/// 200 answer of `POST /v1/ops/addresses/{address_id}/rotate`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AddressRotated {
    /// The new `a_…`; the old number no longer exists.
    pub address_id: String,
}

/// An address as a buyer submits it.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddressInput {
    /// ISO country code; `CN`.
    pub country: String,
    /// A known district code, or a city code where that city has no districts.
    pub region: String,
    /// Street line.
    pub line: String,
    /// Postal code.
    pub postal_code: String,
    /// The buyer's label for it, e.g. `home`, `company`.
    pub label: String,
}

/// `POST /internal/v1/buyers`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterBuyer {
    /// Platform slug.
    pub platform_id: String,
    /// Recipient name.
    pub name: String,
    /// Recipient phone.
    pub phone: String,
    /// First address.
    pub address: AddressInput,
}

/// 201 answer of `POST /internal/v1/buyers`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BuyerRegistered {
    /// `b_…`
    pub buyer_id: String,
    /// `a_…`
    pub address_id: String,
    /// Session credential for the buyer.
    pub buyer_token: String,
}

/// `POST /internal/v1/buyers/me/addresses`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddAddress {
    /// The address.
    pub address: AddressInput,
}

/// 201 answer of `POST /internal/v1/buyers/me/addresses`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AddressAdded {
    /// `a_…`, shared with anyone who registered the same address.
    pub address_id: String,
}

/// One of the buyer's own addresses, in the clear (to its owner only).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ProfileAddress {
    /// `a_…`
    pub address_id: String,
    /// The buyer's label.
    pub label: String,
    /// Country code.
    pub country: String,
    /// Delivery region code.
    pub region: String,
    /// Street line.
    pub line: String,
    /// Postal code.
    pub postal_code: String,
}

/// Who saw one of the buyer's addresses.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AccessEntry {
    /// `h_…`
    pub hub_id: String,
    /// The hub's region code.
    pub hub_code: String,
    /// `a_…`
    pub address_id: String,
    /// `o_…`
    pub order_id: String,
    /// `r_…`
    pub release_id: String,
    /// RFC 3339.
    pub at: String,
}

/// 200 answer of `GET /internal/v1/buyers/me`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BuyerProfile {
    /// `b_…`
    pub buyer_id: String,
    /// Platform slug.
    pub platform_id: String,
    /// Name.
    pub name: String,
    /// Phone.
    pub phone: String,
    /// Addresses, oldest first.
    pub addresses: Vec<ProfileAddress>,
    /// Releases of the buyer's addresses, oldest first.
    pub access_log: Vec<AccessEntry>,
}

/// `POST /internal/v1/sellers`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterSeller {
    /// Platform slug.
    pub platform_id: String,
    /// The seller's name.
    pub name: String,
}

/// 201 answer of `POST /internal/v1/sellers`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SellerRegistered {
    /// `s_…`
    pub seller_id: String,
    /// Session credential for the seller.
    pub seller_token: String,
}

/// `POST /internal/v1/orders`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateOrder {
    /// `s_…`
    pub seller_id: String,
    /// `a_…`, one of the buyer's address numbers.
    pub address_id: String,
}

/// 201 answer of `POST /internal/v1/orders`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct OrderCreated {
    /// `o_…`
    pub order_id: String,
    /// `created`
    pub status: String,
    /// RFC 3339.
    pub created_at: String,
    /// The tokenised record the edge stores (region tags, binding tag, key version).
    #[schema(value_type = Object)]
    pub record: serde_json::Value,
}

/// One order as the seller sees it: never anything about where it goes.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SellerOrder {
    /// `o_…`
    pub order_id: String,
    /// `b_…`
    pub buyer_id: String,
    /// Platform slug.
    pub platform_id: String,
    /// RFC 3339.
    pub created_at: String,
}

/// 200 answer of `GET /internal/v1/seller/orders`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SellerOrders {
    /// Newest first.
    pub orders: Vec<SellerOrder>,
}

/// `POST /internal/v1/releases`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReleaseRequest {
    /// Platform slug.
    pub platform_id: String,
    /// `o_…`
    pub order_id: String,
    /// The final hub's scanner credential, as presented at the edge.
    pub scanner_token: String,
}

/// The recipient handed to the final hub.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Recipient {
    /// Name.
    pub name: String,
    /// Phone.
    pub phone: String,
    /// Country code.
    pub country: String,
    /// Delivery region code.
    pub region: String,
    /// Street line.
    pub line: String,
    /// Postal code.
    pub postal_code: String,
}

/// 200 answer of `POST /internal/v1/releases`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Released {
    /// `r_…`, the same for every call by the same hub for the same order.
    pub release_id: String,
    /// RFC 3339; the terminal erases the recipient by then.
    pub erase_after: String,
    /// Who and where.
    pub recipient: Recipient,
}

/// `POST /internal/v1/deliveries`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeliveryRequest {
    /// Platform slug.
    pub platform_id: String,
    /// `o_…`
    pub order_id: String,
    /// `r_…` of the release being closed.
    pub release_id: String,
    /// The final hub's scanner credential.
    pub scanner_token: String,
    /// Proof of receipt (only its SHA-256 is kept).
    pub signature: String,
}

/// 200 answer of `POST /internal/v1/deliveries`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Delivered {
    /// `delivered`
    pub status: String,
}

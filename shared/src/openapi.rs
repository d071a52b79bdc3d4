//! OpenAPI schemas of the [`crate::api`] DTOs and the edge's OpenAPI document (feature
//! `openapi`, native builds only: the Worker serves the checked-in `pages/openapi.json`, so its
//! wasm build never compiles utoipa).
//!
//! The DTOs derive `utoipa::ToSchema` in `api.rs`; the domain types they carry (ids,
//! [`Timestamp`], [`OrderStatus`], [`HubLevel`], [`ScannerRole`], [`TokenisedOrder`]) get
//! hand-written schemas here, next to a test that holds each one to its serde form. The origin
//! builds its own document from the same DTOs; [`EdgeApi`] describes the Worker's HTTP API.
//!
//! `lasthop-e2e` checks that `pages/openapi.json` equals [`edge_document_json`]; regenerate it
//! with `LASTHOP_BLESS=1 cargo test -p lasthop-e2e --test edge_openapi`.

use std::borrow::Cow;

use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::schema::{
    AdditionalProperties, KnownFormat, ObjectBuilder, OneOfBuilder, Schema, SchemaFormat,
    SchemaType, Type,
};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Content, Ref, RefOr, Response};
use utoipa::{Modify, OpenApi, PartialSchema, ToResponse, ToSchema};

use crate::api::CreateHubRequest;
use crate::carrier::Carriage;
use crate::credential::ScannerRole;
use crate::ids::{
    AddressId, BuyerId, CarrierId, HubId, OrderId, PlatformId, ReleaseId, ScannerId, SellerId,
};
use crate::progress::OrderStatus;
use crate::region::{Directory, HubLevel, RegionCode};
use crate::time::Timestamp;
use crate::tokens::TokenisedOrder;

// ---------------------------------------------------------------------------------------------
// The edge's document

/// The edge Worker's HTTP API: the contract's shop and courier endpoints, `/healthz`,
/// `/openapi.json` and the origin's signed revocation push.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "lasthop edge",
        version = "1",
        description = "The edge Worker: shop endpoints for browsers, courier endpoints for scanners, and the origin's revocation push. Errors are {\"error\":\"<code>\",\"message\":\"<sentence>\"}; responses that carry personal data or credentials send Cache-Control: no-store.",
    ),
    paths(
        paths::healthz,
        paths::openapi_json,
        paths::register_buyer,
        paths::add_address,
        paths::modify_address,
        paths::buyer_profile,
        paths::quotes,
        paths::intake_key,
        paths::register_buyer_sealed,
        paths::add_address_sealed,
        paths::modify_address_sealed,
        paths::buyer_profile_sealed,
        paths::register_seller,
        paths::create_order,
        paths::seller_orders,
        paths::label,
        paths::tracking,
        paths::pickup,
        paths::hop,
        paths::deliver,
        paths::renew,
        paths::revocation,
    ),
    components(
        schemas(crate::api::ErrorBody),
        responses(
            BadRequest,
            Unauthorized,
            Forbidden,
            NotFound,
            Conflict,
            Gone,
            PayloadTooLarge,
            TooManyRequests,
            ServiceUnavailable,
        ),
    ),
    modifiers(&EdgeSecurity),
    tags(
        (name = "public", description = "Unauthenticated"),
        (name = "shop", description = "Browsers: buyers and sellers, `Authorization: Bearer <buyer or seller token>`"),
        (name = "courier", description = "Scanners: `Authorization: Bearer <scanner token>` and, for a scanner enrolled with a device, the device's signature headers; the hub's region comes from the token"),
        (name = "internal", description = "Origin to edge, HMAC-signed with the origin-push key"),
    ),
)]
pub struct EdgeApi;

/// The edge's document as pretty-printed JSON with a final newline, exactly as checked in at
/// `pages/openapi.json`.
pub fn edge_document_json() -> String {
    // Serialising an `OpenApi` value (maps, strings, numbers) to JSON cannot fail.
    let mut json = EdgeApi::openapi().to_pretty_json().unwrap_or_default();
    json.push('\n');
    json
}

/// The security schemes the paths name.
struct EdgeSecurity;

impl Modify for EdgeSecurity {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "session_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("Buyer or seller token"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "scanner_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("Scanner token bound to one hub and one role"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "device_signature",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "x-lasthop-device-signature",
                "For a scanner enrolled with a device: with x-lasthop-device-timestamp and x-lasthop-device-nonce, the device's base64url Ed25519 signature over `lasthop-scan/v1\\n{METHOD}\\n{path}\\n{hex sha256(body)}\\n{tid}\\n{timestamp}\\n{nonce}`; ±60 s, nonces single-use per scanner",
            ))),
        );
        components.add_security_scheme(
            "origin_push_signature",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "x-lasthop-signature",
                "With x-lasthop-key-id, x-lasthop-timestamp and x-lasthop-nonce; nonces are single-use",
            ))),
        );
    }
}

/// Operation stubs: utoipa reads the annotations; the Worker's handlers live in `edge/`, which
/// cannot depend on utoipa (wasm), so the functions themselves are never called.
#[allow(dead_code)]
mod paths {
    use super::{
        BadRequest, Conflict, Forbidden, Gone, NotFound, PayloadTooLarge, ServiceUnavailable,
        TooManyRequests, Unauthorized,
    };
    use crate::api::{
        AddAddressRequest, AddAddressResponse, BuyerProfile, CreateOrderRequest,
        CreateOrderResponse, DeliverResponse, DeliverScanRequest, HopResponse, HopScanRequest,
        IntakeKeyResponse, PickupScanRequest, QuoteQuery, QuotesResponse, RegisterBuyerRequest,
        RegisterBuyerResponse, RegisterSellerRequest, RegisterSellerResponse, RevocationRequest,
        ScannerRenewalResponse, SealedAddressRequest, SealedProfileResponse,
        SealedRegisterBuyerRequest, SellerOrdersResponse, StatusResponse, TrackingResponse,
    };
    use crate::ids::{AddressId, OrderId};

    /// Liveness
    #[utoipa::path(get, path = "/healthz", tag = "public",
        responses((status = 200, description = "Serving", body = String, content_type = "text/plain")))]
    fn healthz() {}

    /// This document
    #[utoipa::path(get, path = "/openapi.json", tag = "public",
        responses((status = 200, description = "The document", body = Object, content_type = "application/json")))]
    fn openapi_json() {}

    /// Register a buyer with a first address
    ///
    /// Passed to the origin; nothing is stored at the edge. `region` must be a known district
    /// code, or a city code where that city has no districts.
    #[utoipa::path(post, path = "/v1/buyers", tag = "shop",
        request_body = RegisterBuyerRequest,
        responses(
            (status = 201, description = "Registered", body = RegisterBuyerResponse,
                headers(("Cache-Control" = String, description = "`no-store`"))),
            (status = 400, response = BadRequest),
            (status = 413, response = PayloadTooLarge),
            (status = 503, response = ServiceUnavailable),
        ))]
    fn register_buyer() {}

    /// Add an address
    ///
    /// Passed to the origin. An address identical (after normalisation) to one already stored,
    /// by this buyer or any other, shares its number inside the vault; `address_id` is this
    /// buyer's own id for it (the same for an address identical to one of theirs) and says
    /// nothing about other buyers.
    #[utoipa::path(post, path = "/v1/buyers/me/addresses", tag = "shop",
        security(("session_token" = [])),
        request_body = AddAddressRequest,
        responses(
            (status = 201, description = "Added", body = AddAddressResponse),
            (status = 400, response = BadRequest),
            (status = 401, response = Unauthorized),
            (status = 403, response = Forbidden),
            (status = 413, response = PayloadTooLarge),
            (status = 503, response = ServiceUnavailable),
        ))]
    fn add_address() {}

    /// Modify an address
    ///
    /// Passed to the origin: a new sealed version of the buyer's record of this address (its
    /// registration kept, the modification's channel, author and time recorded). The id stays.
    /// 409 when the modified address is another of the buyer's addresses, or when it moves to
    /// another delivery region while orders to it are undelivered.
    #[utoipa::path(put, path = "/v1/buyers/me/addresses/{address_id}", tag = "shop",
        security(("session_token" = [])),
        params(("address_id" = AddressId, Path, description = "The buyer's id for the address")),
        request_body = AddAddressRequest,
        responses(
            (status = 200, description = "Modified", body = AddAddressResponse),
            (status = 400, response = BadRequest),
            (status = 401, response = Unauthorized),
            (status = 403, response = Forbidden),
            (status = 404, response = NotFound),
            (status = 409, response = Conflict),
            (status = 413, response = PayloadTooLarge),
            (status = 503, response = ServiceUnavailable),
        ))]
    fn modify_address() {}

    /// The buyer's own profile, addresses and access log
    ///
    /// Addresses in the clear, to their owner only; the access log says which hub saw which
    /// address for which order, and when.
    #[utoipa::path(get, path = "/v1/buyers/me", tag = "shop",
        security(("session_token" = [])),
        responses(
            (status = 200, description = "Profile", body = BuyerProfile,
                headers(("Cache-Control" = String, description = "`no-store`"))),
            (status = 401, response = Unauthorized),
            (status = 403, response = Forbidden),
            (status = 503, response = ServiceUnavailable),
        ))]
    fn buyer_profile() {}

    /// The buyer's fee quotes
    ///
    /// Each of the seller's carriers with its fee for a parcel of `weight_g` to one of the
    /// buyer's addresses, priced at the origin from the seller's ship-from region and the
    /// buyer's region; relayed, never stored. `fee_fen` is `null` for a carrier without a fee
    /// table or a seller without a ship-from region.
    #[utoipa::path(get, path = "/v1/buyers/me/quotes", tag = "shop",
        security(("session_token" = [])),
        params(QuoteQuery),
        responses(
            (status = 200, description = "Quotes", body = QuotesResponse,
                headers(("Cache-Control" = String, description = "`no-store`"))),
            (status = 400, response = BadRequest),
            (status = 401, response = Unauthorized),
            (status = 403, response = Forbidden),
            (status = 404, response = NotFound),
            (status = 503, response = ServiceUnavailable),
        ))]
    fn quotes() {}

    /// The vault's intake key
    ///
    /// The X25519 public key pages seal a buyer's name, phone and addresses to (HPKE, info
    /// `lasthop/intake/v1`), relayed from the origin. Not secret.
    #[utoipa::path(get, path = "/v1/vault/intake-key", tag = "shop",
        responses(
            (status = 200, description = "The current key", body = IntakeKeyResponse),
            (status = 503, response = ServiceUnavailable),
        ))]
    fn intake_key() {}

    /// Register a buyer, sealed in the browser
    ///
    /// The pages' registration: `sealed` holds `{"name","phone","address","profile_key"}` sealed
    /// to the intake key with associated data `lasthop/intake/register\0{platform_id}`. The edge
    /// relays ciphertext only. The buyer's profile is afterwards only answered sealed to
    /// `profile_key` (`GET /v1/buyers/me/sealed`); `GET /v1/buyers/me` answers 403 for them.
    #[utoipa::path(post, path = "/v1/buyers/sealed", tag = "shop",
        request_body = SealedRegisterBuyerRequest,
        responses(
            (status = 201, description = "Registered", body = RegisterBuyerResponse,
                headers(("Cache-Control" = String, description = "`no-store`"))),
            (status = 400, response = BadRequest),
            (status = 413, response = PayloadTooLarge),
            (status = 503, response = ServiceUnavailable),
        ))]
    fn register_buyer_sealed() {}

    /// Add an address, sealed in the browser
    ///
    /// `sealed` holds `{"address"}` sealed to the intake key with associated data
    /// `lasthop/intake/address\0{buyer_id}`: a box sealed for one buyer is refused for another.
    #[utoipa::path(post, path = "/v1/buyers/me/addresses/sealed", tag = "shop",
        security(("session_token" = [])),
        request_body = SealedAddressRequest,
        responses(
            (status = 201, description = "Added", body = AddAddressResponse),
            (status = 400, response = BadRequest),
            (status = 401, response = Unauthorized),
            (status = 403, response = Forbidden),
            (status = 413, response = PayloadTooLarge),
            (status = 503, response = ServiceUnavailable),
        ))]
    fn add_address_sealed() {}

    /// Modify an address, sealed in the browser
    ///
    /// `sealed` holds `{"address"}` sealed to the intake key with associated data
    /// `lasthop/intake/address\0{buyer_id}\0{address_id}`: a box sealed for one buyer or one
    /// address is refused for any other. Otherwise as the plaintext modification.
    #[utoipa::path(put, path = "/v1/buyers/me/addresses/{address_id}/sealed", tag = "shop",
        security(("session_token" = [])),
        params(("address_id" = AddressId, Path, description = "The buyer's id for the address")),
        request_body = SealedAddressRequest,
        responses(
            (status = 200, description = "Modified", body = AddAddressResponse),
            (status = 400, response = BadRequest),
            (status = 401, response = Unauthorized),
            (status = 403, response = Forbidden),
            (status = 404, response = NotFound),
            (status = 409, response = Conflict),
            (status = 413, response = PayloadTooLarge),
            (status = 503, response = ServiceUnavailable),
        ))]
    fn modify_address_sealed() {}

    /// The buyer's own profile, sealed to their page's key
    ///
    /// The same profile as `GET /v1/buyers/me` (with the buyer's orders), sealed with HPKE (info
    /// `lasthop/profile/v1`, associated data `lasthop/profile\0{buyer_id}`) to the profile key
    /// registered sealed. 409 for a buyer registered in plaintext.
    #[utoipa::path(get, path = "/v1/buyers/me/sealed", tag = "shop",
        security(("session_token" = [])),
        responses(
            (status = 200, description = "Sealed profile", body = SealedProfileResponse,
                headers(("Cache-Control" = String, description = "`no-store`"))),
            (status = 401, response = Unauthorized),
            (status = 403, response = Forbidden),
            (status = 409, response = Conflict),
            (status = 503, response = ServiceUnavailable),
        ))]
    fn buyer_profile_sealed() {}

    /// Register a seller
    ///
    /// Optionally with the region it ships from and the carriers it ships with (404 for an
    /// unknown carrier); without them, the platform's default carrier from anywhere.
    #[utoipa::path(post, path = "/v1/sellers", tag = "shop",
        request_body = RegisterSellerRequest,
        responses(
            (status = 201, description = "Registered", body = RegisterSellerResponse,
                headers(("Cache-Control" = String, description = "`no-store`"))),
            (status = 400, response = BadRequest),
            (status = 404, response = NotFound),
            (status = 413, response = PayloadTooLarge),
            (status = 503, response = ServiceUnavailable),
        ))]
    fn register_seller() {}

    /// Create an order (buyer)
    ///
    /// The edge keeps only the tokenised record the origin returns. The order is carried by
    /// `carrier_id`, which must be one of the seller's carriers (400 otherwise), or by the
    /// seller's first carrier.
    #[utoipa::path(post, path = "/v1/orders", tag = "shop",
        security(("session_token" = [])),
        request_body = CreateOrderRequest,
        responses(
            (status = 201, description = "Created", body = CreateOrderResponse),
            (status = 400, response = BadRequest),
            (status = 401, response = Unauthorized),
            (status = 403, response = Forbidden),
            (status = 404, response = NotFound),
            (status = 413, response = PayloadTooLarge),
            (status = 503, response = ServiceUnavailable),
        ))]
    fn create_order() {}

    /// The seller's orders: ids and status only
    ///
    /// Never any name, phone, address, postal code or region of the buyer.
    #[utoipa::path(get, path = "/v1/seller/orders", tag = "shop",
        security(("session_token" = [])),
        responses(
            (status = 200, description = "Orders", body = SellerOrdersResponse),
            (status = 401, response = Unauthorized),
            (status = 403, response = Forbidden),
            (status = 503, response = ServiceUnavailable),
        ))]
    fn seller_orders() {}

    /// Shipping label
    ///
    /// A QR code and the same text in print: platform id, order id, buyer id, and the name of
    /// the order's carrier. Nothing else about the buyer.
    #[utoipa::path(get, path = "/v1/seller/orders/{order_id}/label", tag = "shop",
        security(("session_token" = [])),
        params(("order_id" = OrderId, Path, description = "The order")),
        responses(
            (status = 200, description = "SVG", body = String, content_type = "image/svg+xml"),
            (status = 401, response = Unauthorized),
            (status = 403, response = Forbidden),
            (status = 404, response = NotFound),
            (status = 410, response = Gone),
            (status = 503, response = ServiceUnavailable),
        ))]
    fn label() {}

    /// Tracking for the order's buyer or seller
    ///
    /// The buyer sees the hub scans so far. The seller sees the status alone (`hops` empty,
    /// `released` shown as `in_transit`): the same shape wherever the buyer lives. Once
    /// delivered, only the status remains for both. Both see the order's carrier and the
    /// waybill (null before pickup). Always Cache-Control: no-store.
    #[utoipa::path(get, path = "/v1/orders/{order_id}/tracking", tag = "shop",
        security(("session_token" = [])),
        params(("order_id" = OrderId, Path, description = "The order")),
        responses(
            (status = 200, description = "Tracking (no-store)", body = TrackingResponse,
                headers(("Cache-Control" = String, description = "`no-store`"))),
            (status = 401, response = Unauthorized),
            (status = 403, response = Forbidden),
            (status = 404, response = NotFound),
            (status = 503, response = ServiceUnavailable),
        ))]
    fn tracking() {}

    /// Pickup scan with the buyer-id check
    ///
    /// 409 `label_mismatch` when the buyer id does not belong to the order; nothing about the
    /// buyer is revealed either way. 403 `forbidden` for a scanner of another carrier than the
    /// order's, or a pickup hub that does not serve the seller's ship-from region.
    #[utoipa::path(post, path = "/v1/scans/pickup", tag = "courier",
        security(("scanner_token" = [], "device_signature" = [])),
        request_body = PickupScanRequest,
        responses(
            (status = 200, description = "Picked up", body = StatusResponse),
            (status = 400, response = BadRequest),
            (status = 401, response = Unauthorized),
            (status = 403, response = Forbidden),
            (status = 404, response = NotFound),
            (status = 409, response = Conflict),
            (status = 410, response = Gone),
            (status = 413, response = PayloadTooLarge),
            (status = 429, response = TooManyRequests),
        ))]
    fn pickup() {}

    /// Hub scan: forward_up, route_to the next hub, or deliver with the recipient (final hub only)
    ///
    /// Only `deliver` involves the origin, which checks the order's chain of custody and seals
    /// the recipient to the scanner's device (`sealed_recipient`); every other verdict is
    /// decided at the edge on tokenised data. 403 `off_route` at a hub the parcel was not sent
    /// to, 403 `forbidden` for a scanner of another carrier than the order's, 409 before pickup,
    /// 410 after delivery, 503 when the final hop cannot reach the origin.
    #[utoipa::path(post, path = "/v1/scans/hop", tag = "courier",
        security(("scanner_token" = [], "device_signature" = [])),
        request_body = HopScanRequest,
        responses(
            (status = 200, description = "The verdict, with Cache-Control: no-store",
                body = HopResponse,
                headers(("Cache-Control" = String, description = "`no-store`"))),
            (status = 400, response = BadRequest),
            (status = 401, response = Unauthorized),
            (status = 403, response = Forbidden),
            (status = 404, response = NotFound),
            (status = 409, response = Conflict),
            (status = 410, response = Gone),
            (status = 413, response = PayloadTooLarge),
            (status = 429, response = TooManyRequests),
            (status = 503, response = ServiceUnavailable),
        ))]
    fn hop() {}

    /// Proof of receipt at the final hub; closes the order
    ///
    /// The terminal must erase the data of every release in `erase`. Afterwards every scan,
    /// label and tracking detail request for the order answers 410. 403 `forbidden` for a
    /// scanner of another carrier than the order's.
    #[utoipa::path(post, path = "/v1/scans/deliver", tag = "courier",
        security(("scanner_token" = [], "device_signature" = [])),
        request_body = DeliverScanRequest,
        responses(
            (status = 200, description = "Delivered; the terminal must erase the release's data", body = DeliverResponse),
            (status = 400, response = BadRequest),
            (status = 401, response = Unauthorized),
            (status = 403, response = Forbidden),
            (status = 404, response = NotFound),
            (status = 409, response = Conflict),
            (status = 410, response = Gone),
            (status = 413, response = PayloadTooLarge),
            (status = 429, response = TooManyRequests),
            (status = 503, response = ServiceUnavailable),
        ))]
    fn deliver() {}

    /// A device renews its scanner credential for one more shift
    ///
    /// Device-signed like every courier request; refused for a revoked scanner and for one
    /// enrolled without a device. The body is `{}`.
    #[utoipa::path(post, path = "/v1/scanners/renew", tag = "courier",
        security(("scanner_token" = [], "device_signature" = [])),
        responses(
            (status = 200, description = "The new credential (no-store)", body = ScannerRenewalResponse,
                headers(("Cache-Control" = String, description = "`no-store`"))),
            (status = 401, response = Unauthorized),
            (status = 403, response = Forbidden),
            (status = 413, response = PayloadTooLarge),
            (status = 429, response = TooManyRequests),
            (status = 503, response = ServiceUnavailable),
        ))]
    fn renew() {}

    /// Origin push: a scanner is revoked
    ///
    /// HMAC-signed with the origin-push key in the `x-lasthop-*` headers; nonces are
    /// single-use. The scanner's token stops working at the edge.
    #[utoipa::path(post, path = "/internal/v1/revocations", tag = "internal",
        security(("origin_push_signature" = [])),
        request_body = RevocationRequest,
        responses(
            (status = 204, description = "Revoked"),
            (status = 400, response = BadRequest),
            (status = 401, response = Unauthorized),
            (status = 413, response = PayloadTooLarge),
        ))]
    fn revocation() {}
}

// ---------------------------------------------------------------------------------------------
// Error responses, one per status, shared by every path

/// An error response in the contract's format, with `Retry-After` where the client should wait.
fn error_response(description: &str, retry_after: bool) -> RefOr<Response> {
    let mut response = ResponseBuilder::new().description(description).content(
        "application/json",
        Content::new(Some(Ref::from_schema_name(crate::api::ErrorBody::name()))),
    );
    if retry_after {
        response = response.header(
            "Retry-After",
            HeaderBuilder::new()
                .schema(
                    ObjectBuilder::new()
                        .schema_type(Type::Integer)
                        .minimum(Some(0)),
                )
                .description(Some("Seconds to wait before retrying"))
                .build(),
        );
    }
    response.build().into()
}

macro_rules! error_responses {
    ($($name:ident => $description:literal, retry_after: $retry_after:literal;)*) => {$(
        #[doc = $description]
        struct $name;

        impl<'r> ToResponse<'r> for $name {
            fn response() -> (&'r str, RefOr<Response>) {
                (stringify!($name), error_response($description, $retry_after))
            }
        }
    )*};
}

error_responses! {
    BadRequest => "invalid_input or unknown_field (the message names the field)", retry_after: false;
    Unauthorized => "unauthorized: missing, bad, expired or revoked credential", retry_after: false;
    Forbidden => "forbidden, wrong_role or off_route", retry_after: false;
    NotFound => "not_found", retry_after: false;
    Conflict => "label_mismatch, wrong_state or not_picked_up", retry_after: false;
    Gone => "order_closed: delivered", retry_after: false;
    PayloadTooLarge => "payload_too_large (over 64 KiB)", retry_after: false;
    TooManyRequests => "rate_limited, with Retry-After", retry_after: true;
    ServiceUnavailable => "unavailable (the origin is down), with Retry-After", retry_after: true;
}

// ---------------------------------------------------------------------------------------------
// Schemas of the domain types the DTOs carry

fn string_schema(description: impl Into<String>, example: &str) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(description))
        .examples([example])
}

/// Adds `T` and whatever it refers to, as the derives do for their fields.
fn collect<T: ToSchema>(schemas: &mut Vec<(String, RefOr<Schema>)>) {
    schemas.push((T::name().into_owned(), T::schema()));
    T::schemas(schemas);
}

/// What `ids::parse_body` accepts: the prefix in either case, then 16 characters of the
/// Crockford alphabet in either case, with the look-alikes `o`, `i` and `l` (only `u` is out).
fn id_pattern(prefix: &str) -> String {
    let mut pattern = String::from("^");
    for c in prefix.chars() {
        if c.is_ascii_alphabetic() {
            pattern.push('[');
            pattern.push(c.to_ascii_uppercase());
            pattern.push(c.to_ascii_lowercase());
            pattern.push(']');
        } else {
            pattern.push(c);
        }
    }
    pattern.push_str("[0-9A-TV-Za-tv-z]{16}$");
    pattern
}

/// White space as `str::trim` removes it (Unicode `White_Space`), as the inside of a regex class.
const TRIMMED: &str = r"\t-\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000";
/// Characters `char::is_control` refuses (Unicode `Cc`), as the inside of a regex class.
const CONTROL: &str = r"\x00-\x1F\x7F-\x9F";
/// Controls and white space together (what may not stand at either end once trimmed), as the
/// inside of a regex class: [`CONTROL`] and [`TRIMMED`] merged.
const CONTROL_OR_TRIMMED: &str =
    r"\x00-\x20\x7F-\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000";

/// What the trimming text parsers accept (`contact`'s names, lines and labels,
/// `fields::opaque_text`): white space (as `str::trim` sees it) at either end is dropped, and
/// the rest is 1 to `max` characters with no control character. Long limits (tokens) are
/// declared as `maxLength` over the whole value, which only refuses more than the parser does,
/// so the regex stays small.
pub fn trimmed_text(max: usize, description: &str, example: &str) -> Schema {
    let edge = format!("[^{CONTROL_OR_TRIMMED}]");
    let inner = format!("[^{CONTROL}]");
    let (middle, max_length) = match max {
        0 | 1 => (String::new(), None),
        2..=256 => (format!("(?:{inner}{{0,{}}}{edge})?", max - 2), None),
        _ => (format!("(?:{inner}*{edge})?"), Some(max)),
    };
    string_schema(description, example)
        .pattern(Some(format!("^[{TRIMMED}]*{edge}{middle}[{TRIMMED}]*$")))
        .max_length(max_length)
        .into()
}

/// A person's name (`contact::PersonName`).
pub fn person_name() -> Schema {
    trimmed_text(100, "A person's name.", "Li Lei")
}

/// A street line (`contact::AddressLine`).
pub fn address_line() -> Schema {
    trimmed_text(200, "Street line.", "8 Jiuxianqiao Road")
}

/// An address label (`contact::AddressLabel`).
pub fn address_label() -> Schema {
    trimmed_text(32, "The buyer's label for it, e.g. `home`.", "home")
}

/// A credential relayed in a body (`fields::opaque_text`, 4096).
pub fn relayed_token() -> Schema {
    trimmed_text(4096, "The final hub's scanner credential.", "lh1.eyJ…")
}

/// Proof of receipt (`fields::opaque_text`, 4096).
pub fn receipt_signature() -> Schema {
    trimmed_text(
        4096,
        "Proof of receipt (1 to 4096 characters), e.g. the recipient's signature.",
        "signed-by-recipient",
    )
}

/// A hub's name (`fields::opaque_text`, 100).
pub fn hub_name() -> Schema {
    trimmed_text(100, "The hub's name.", "Chaoyang hub")
}

/// A carrier's waybill number (`fields::opaque_text`, 64).
pub fn waybill() -> Schema {
    trimmed_text(
        64,
        "The carrier's waybill number (1 to 64 characters).",
        "SF1234567890",
    )
}

/// 16 bytes as 32 hex characters in either case (a credential's `tid`, a nonce).
pub fn hex_128() -> Schema {
    string_schema("32 hex characters.", "00112233445566778899aabbccddeeff")
        .pattern(Some("^[0-9A-Fa-f]{32}$"))
        .into()
}

/// An Ed25519 signature as base64url without padding: 86 characters, the last of which
/// carries only zero bits past the 64th byte (`A`, `Q`, `g` or `w`), as the decoder requires.
pub fn ed25519_signature() -> Schema {
    string_schema(
        "Base64url Ed25519 signature.",
        "JmgThmPEtYkHaf7Uq3lJ0Aqq6JsWNnpeBpK1MSaqzfLEoOWxh2cH6vOLcZSfTWxhKwP7ur2sXdasKQGkQ7uOAw",
    )
    .pattern(Some("^[A-Za-z0-9_-]{85}[AQgw]$"))
    .into()
}

/// A 6-digit postal code (`contact::PostalCode`), white space at either end trimmed.
pub fn postal_code() -> Schema {
    string_schema("6 digits.", "100020")
        .pattern(Some(format!("^[{TRIMMED}]*[0-9]{{6}}[{TRIMMED}]*$")))
        .into()
}

/// A phone number (`contact::PhoneNumber`): an optional leading `+`, then 5 to 20 digits with
/// spaces and dashes anywhere, white space at either end trimmed.
pub fn phone_number() -> Schema {
    string_schema(
        "5 to 20 digits, spaces and dashes, an optional leading `+`.",
        "13800138000",
    )
    .pattern(Some(format!(
        "^[{TRIMMED}]*\\+?[ -]*(?:[0-9][ -]*){{5,20}}[{TRIMMED}]*$"
    )))
    .into()
}

/// The country (`contact::CountryCode`): `CN` in either case.
pub fn country_code() -> Schema {
    string_schema("ISO country code: `CN`.", "CN")
        .pattern(Some(format!("^[{TRIMMED}]*[Cc][Nn][{TRIMMED}]*$")))
        .into()
}

/// A region code as `region::RegionCode` reads it: 2, 4 or 6 digits (GB/T 2260).
pub fn region_code() -> Schema {
    string_schema(
        "A known district code (GB/T 2260), or a city code where the city has no districts.",
        "110105",
    )
    .pattern(Some(format!(
        "^[{TRIMMED}]*[0-9]{{4}}(?:[0-9]{{2}})?[{TRIMMED}]*$"
    )))
    .into()
}

macro_rules! id_schemas {
    ($($ty:ident => $what:literal, $example:literal;)*) => {$(
        impl PartialSchema for $ty {
            fn schema() -> RefOr<Schema> {
                string_schema(
                    format!(
                        "{}: `{}` and 16 Crockford base32 characters (80 random bits); upper case \
                         and look-alikes (`o`, `i`, `l`) are accepted and normalised",
                        $what,
                        $ty::PREFIX,
                    ),
                    $example,
                )
                .pattern(Some(id_pattern($ty::PREFIX)))
                .into()
            }
        }

        impl ToSchema for $ty {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed(stringify!($ty))
            }
        }
    )*};
}

id_schemas! {
    BuyerId => "A buyer", "b_3k7m9p2q8r4t6v1w";
    SellerId => "A seller", "s_5n2x8c4v7b1m3k9j";
    OrderId => "An order", "o_8f3k2m7q9x4t1v6n";
    AddressId => "A buyer's id for one of their addresses (inside the vault, identical addresses share one number that no buyer sees)", "a_2w9e4r7t1y6n3p8q";
    HubId => "A hub (distribution centre)", "h_6d1f8g3h9j2k7m4n";
    ScannerId => "A scanner (courier terminal)", "sc_4q7w2e9r1t8y3h6p";
    ReleaseId => "A release of a recipient to a final hub", "r_9z3x6c1v8b4n7m2k";
    CarrierId => "A carrier (logistics company)", "ca_7h2k9m4p1q8r3t6v";
}

impl PartialSchema for PlatformId {
    fn schema() -> RefOr<Schema> {
        string_schema(
            "A platform (shop) slug: 1 to 32 characters of a-z, 0-9 and `-`",
            "demo",
        )
        .pattern(Some("^[a-z0-9][a-z0-9-]{0,31}$"))
        .into()
    }
}

impl ToSchema for PlatformId {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("PlatformId")
    }
}

impl PartialSchema for Timestamp {
    fn schema() -> RefOr<Schema> {
        string_schema("An RFC 3339 date-time", "2025-01-31T12:00:00Z")
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
            .into()
    }
}

impl ToSchema for Timestamp {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Timestamp")
    }
}

fn word_enum(description: &str, words: &[&str]) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(description))
        .enum_values(Some(words.iter().copied()))
        .into()
}

impl PartialSchema for OrderStatus {
    fn schema() -> RefOr<Schema> {
        word_enum(
            "Where an order is in its life; `delivered` is closed",
            &ORDER_STATUSES.map(OrderStatus::as_str),
        )
    }
}

impl ToSchema for OrderStatus {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("OrderStatus")
    }
}

const ORDER_STATUSES: [OrderStatus; 5] = [
    OrderStatus::Created,
    OrderStatus::PickedUp,
    OrderStatus::InTransit,
    OrderStatus::Released,
    OrderStatus::Delivered,
];

/// One object per hub level, each with the directory's codes of that level: the parser refuses
/// a code of the other level and a code the directory does not know.
impl PartialSchema for CreateHubRequest {
    fn schema() -> RefOr<Schema> {
        let directory = Directory::china();
        let cities: Vec<RegionCode> = directory
            .provinces()
            .iter()
            .flat_map(|&province| directory.children(province))
            .copied()
            .collect();
        let districts: Vec<RegionCode> = cities
            .iter()
            .flat_map(|&city| directory.children(city))
            .copied()
            .collect();
        let hub = |level: HubLevel, codes: &[RegionCode], what: &str| -> Schema {
            let code = ObjectBuilder::new()
                .schema_type(Type::String)
                .description(Some(what))
                .enum_values(Some(codes.iter().map(ToString::to_string)));
            let level = ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some([level.as_str()]));
            ObjectBuilder::new()
                .property("code", code)
                .required("code")
                .property("level", level)
                .required("level")
                .property("name", hub_name())
                .required("name")
                .property(
                    "carrier_id",
                    ObjectBuilder::new()
                        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
                        .description(Some(
                            "The carrier the hub belongs to (addition); absent or null: the \
                             platform's default carrier",
                        ))
                        .pattern(Some(id_pattern(CarrierId::PREFIX))),
                )
                .additional_properties(Some(AdditionalProperties::FreeForm(false)))
                .into()
        };
        OneOfBuilder::new()
            .description(Some(
                "A district hub at a known 6-digit district code, or a city hub at a known \
                 4-digit city code (GB/T 2260)",
            ))
            .item(hub(HubLevel::District, &districts, "A known district code"))
            .item(hub(HubLevel::City, &cities, "A known city code"))
            .into()
    }
}

impl ToSchema for CreateHubRequest {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("CreateHubRequest")
    }
}

impl PartialSchema for HubLevel {
    fn schema() -> RefOr<Schema> {
        word_enum(
            "A district hub (6-digit code) or a city hub (4-digit code)",
            &[HubLevel::District.as_str(), HubLevel::City.as_str()],
        )
    }
}

impl ToSchema for HubLevel {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("HubLevel")
    }
}

impl PartialSchema for ScannerRole {
    fn schema() -> RefOr<Schema> {
        word_enum(
            "`pickup` collects parcels from sellers; `hub` is a distribution centre's terminal",
            &[ScannerRole::Pickup.as_str(), ScannerRole::Hub.as_str()],
        )
    }
}

impl ToSchema for ScannerRole {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("ScannerRole")
    }
}

fn tag_schema(description: &str) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(description))
        .pattern(Some("^[0-9a-f]{64}$"))
}

impl PartialSchema for TokenisedOrder {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .description(Some(
                "An order as the edge stores it: ids and HMAC tags, no plaintext region or buyer",
            ))
            .property("platform_id", Ref::from_schema_name(PlatformId::name()))
            .property("order_id", Ref::from_schema_name(OrderId::name()))
            .property("seller_id", Ref::from_schema_name(SellerId::name()))
            .property(
                "key_version",
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int32)))
                    .minimum(Some(0))
                    .description(Some("The master key version that made the tags")),
            )
            .property("province", tag_schema("Tag of the buyer's province"))
            .property("city", tag_schema("Tag of the buyer's city"))
            .property("delivery", tag_schema("Tag of the delivery region"))
            .property("binding", tag_schema("Buyer-to-order binding tag"))
            .property("carriage", Ref::from_schema_name(Carriage::name()))
            .required("platform_id")
            .required("order_id")
            .required("seller_id")
            .required("key_version")
            .required("province")
            .required("city")
            .required("delivery")
            .required("binding")
            .additional_properties(Some(AdditionalProperties::FreeForm(false)))
            .into()
    }
}

impl ToSchema for TokenisedOrder {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("TokenisedOrder")
    }

    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        collect::<PlatformId>(schemas);
        collect::<OrderId>(schemas);
        collect::<SellerId>(schemas);
        collect::<Carriage>(schemas);
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::*;
    use crate::api::{
        AccessLogEntry, AddressView, BuyerProfile, CarrierRef, DeliverResponse, HopResponse,
        InternalCreateOrderResponse, NextHop, Provenance, Recipient, ReleaseResponse, TrackingHop,
        TrackingResponse, VerdictWord,
    };
    use crate::keys::KeyVersion;
    use crate::tokens::Tag;

    fn document() -> Value {
        serde_json::from_str(&edge_document_json()).unwrap()
    }

    /// Follows a `$ref` into `components`.
    fn resolve<'a>(document: &'a Value, schema: &'a Value) -> &'a Value {
        match schema.get("$ref").and_then(Value::as_str) {
            Some(reference) => {
                let pointer = reference.trim_start_matches('#');
                document
                    .pointer(pointer)
                    .unwrap_or_else(|| panic!("{reference} does not resolve"))
            }
            None => schema,
        }
    }

    /// Whether `value` fits `schema` as far as the shapes go: types, enums, required and
    /// unknown properties, arrays, `oneOf`. Enough to catch a schema drifting from serde.
    fn fits(document: &Value, schema: &Value, value: &Value) -> Result<(), String> {
        let schema = resolve(document, schema);
        if let Some(options) = schema.get("oneOf").and_then(Value::as_array) {
            let errors: Vec<String> = options
                .iter()
                .filter_map(|option| fits(document, option, value).err())
                .collect();
            return if errors.len() < options.len() {
                Ok(())
            } else {
                Err(format!("{value} fits no option: {errors:?}"))
            };
        }
        if let Some(words) = schema.get("enum").and_then(Value::as_array) {
            if !words.contains(value) {
                return Err(format!("{value} is not one of {words:?}"));
            }
        }
        let types: Vec<&str> = match schema.get("type") {
            Some(Value::String(one)) => vec![one.as_str()],
            Some(Value::Array(many)) => many.iter().filter_map(Value::as_str).collect(),
            _ => return Ok(()),
        };
        let actual = match value {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        };
        if !types.contains(&actual) {
            return Err(format!("{value} is {actual}, not {types:?}"));
        }
        match value {
            Value::Object(fields) => {
                let properties = schema["properties"]
                    .as_object()
                    .cloned()
                    .unwrap_or_default();
                for required in schema["required"].as_array().into_iter().flatten() {
                    let name = required.as_str().unwrap();
                    if !fields.contains_key(name) {
                        return Err(format!("required `{name}` missing from {value}"));
                    }
                }
                for (name, field) in fields {
                    let Some(property) = properties.get(name) else {
                        return Err(format!("`{name}` is not in the schema"));
                    };
                    fits(document, property, field).map_err(|e| format!("{name}: {e}"))?;
                }
                Ok(())
            }
            Value::Array(items) => items
                .iter()
                .try_for_each(|item| fits(document, &schema["items"], item)),
            _ => Ok(()),
        }
    }

    fn assert_fits(document: &Value, schema_name: &str, value: &impl serde::Serialize) {
        let value = serde_json::to_value(value).unwrap();
        let reference = json!({ "$ref": format!("#/components/schemas/{schema_name}") });
        if let Err(error) = fits(document, &reference, &value) {
            panic!("{schema_name} does not describe its serde form: {error}");
        }
    }

    fn every_ref(value: &Value, found: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(reference)) = map.get("$ref") {
                    found.push(reference.clone());
                }
                map.values().for_each(|v| every_ref(v, found));
            }
            Value::Array(items) => items.iter().for_each(|v| every_ref(v, found)),
            _ => {}
        }
    }

    #[test]
    fn every_reference_in_the_edge_document_resolves() {
        let document = document();
        let mut references = Vec::new();
        every_ref(&document, &mut references);
        assert!(
            references.len() > 40,
            "only {} references",
            references.len()
        );
        for reference in references {
            assert!(
                document
                    .pointer(reference.trim_start_matches('#'))
                    .is_some(),
                "{reference} does not resolve"
            );
        }
    }

    #[test]
    fn the_edge_document_has_every_worker_route_with_its_method() {
        let document = document();
        let paths = document["paths"].as_object().unwrap();
        let mut routes: Vec<String> = paths
            .iter()
            .flat_map(|(path, item)| {
                item.as_object()
                    .unwrap()
                    .keys()
                    .map(move |method| format!("{method} {path}"))
            })
            .collect();
        routes.sort();
        assert_eq!(
            routes,
            [
                "get /healthz",
                "get /openapi.json",
                "get /v1/buyers/me",
                "get /v1/buyers/me/quotes",
                "get /v1/buyers/me/sealed",
                "get /v1/orders/{order_id}/tracking",
                "get /v1/seller/orders",
                "get /v1/seller/orders/{order_id}/label",
                "get /v1/vault/intake-key",
                "post /internal/v1/revocations",
                "post /v1/buyers",
                "post /v1/buyers/me/addresses",
                "post /v1/buyers/me/addresses/sealed",
                "post /v1/buyers/sealed",
                "post /v1/orders",
                "post /v1/scanners/renew",
                "post /v1/scans/deliver",
                "post /v1/scans/hop",
                "post /v1/scans/pickup",
                "post /v1/sellers",
                "put /v1/buyers/me/addresses/{address_id}",
                "put /v1/buyers/me/addresses/{address_id}/sealed",
            ]
        );
    }

    #[test]
    fn courier_paths_need_a_scanner_token_and_shop_paths_a_session_token() {
        let document = document();
        let security =
            |path: &str, method: &str| document["paths"][path][method]["security"].clone();
        assert_eq!(
            security("/v1/scans/hop", "post"),
            json!([{"scanner_token": [], "device_signature": []}])
        );
        assert_eq!(
            security("/v1/orders", "post"),
            json!([{"session_token": []}])
        );
        assert_eq!(
            security("/internal/v1/revocations", "post"),
            json!([{"origin_push_signature": []}])
        );
        assert_eq!(security("/v1/buyers", "post"), Value::Null);
        let schemes = &document["components"]["securitySchemes"];
        assert_eq!(schemes["scanner_token"]["scheme"], "bearer");
        assert_eq!(
            schemes["origin_push_signature"]["name"],
            "x-lasthop-signature"
        );
    }

    #[test]
    fn rate_limited_and_unavailable_answers_announce_retry_after() {
        let document = document();
        let hop = &document["paths"]["/v1/scans/hop"]["post"]["responses"];
        for status in ["429", "503"] {
            let response = resolve(&document, &hop[status]);
            assert!(response["headers"]["Retry-After"].is_object(), "{status}");
        }
        let not_found = resolve(&document, &hop["404"]);
        assert!(not_found.get("headers").is_none());
        assert_eq!(
            not_found["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/ErrorBody"
        );
    }

    #[test]
    fn enum_schemas_list_exactly_the_serde_words() {
        let words = |schema: RefOr<Schema>| serde_json::to_value(schema).unwrap()["enum"].clone();
        let serde_words = |values: Vec<Value>| Value::Array(values);
        assert_eq!(
            words(OrderStatus::schema()),
            serde_words(
                ORDER_STATUSES
                    .iter()
                    .map(|s| serde_json::to_value(s).unwrap())
                    .collect()
            )
        );
        assert_eq!(words(HubLevel::schema()), json!(["district", "city"]));
        assert_eq!(
            words(HubLevel::schema()),
            serde_words(vec![
                serde_json::to_value(HubLevel::District).unwrap(),
                serde_json::to_value(HubLevel::City).unwrap()
            ])
        );
        assert_eq!(
            words(ScannerRole::schema()),
            serde_words(vec![
                serde_json::to_value(ScannerRole::Pickup).unwrap(),
                serde_json::to_value(ScannerRole::Hub).unwrap()
            ])
        );
        let document = document();
        let codes = &document["components"]["schemas"]["ErrorCode"]["enum"];
        assert_eq!(codes.as_array().unwrap().len(), 16);
        assert!(codes.as_array().unwrap().contains(&json!("label_mismatch")));
        assert!(codes
            .as_array()
            .unwrap()
            .contains(&json!("method_not_allowed")));
        assert!(codes.as_array().unwrap().contains(&json!("internal")));
    }

    #[test]
    fn id_patterns_accept_exactly_what_the_id_parsers_accept() {
        macro_rules! agree {
            ($($ty:ty),*) => {$(
                let pattern = id_pattern(<$ty>::PREFIX);
                let re = regex::Regex::new(&pattern).unwrap();
                let body = "8f3k2m7q9x4t1v6n";
                let prefix = <$ty>::PREFIX;
                let upper = prefix.to_uppercase();
                for candidate in [
                    format!("{prefix}{body}"),
                    format!("{upper}{}", body.to_uppercase()),
                    format!("{prefix}8f3k2m7q9x4t1v6o"),
                    format!("{prefix}8f3k2m7q9x4t1v6i"),
                    format!("{prefix}8f3k2m7q9x4t1v6u"),
                    format!("{prefix}8f3k2m7q9x4t1v6"),
                    format!("{prefix}8f3k2m7q9x4t1v6nn"),
                    format!("{prefix}8f3k2m7q9x4t1v-n"),
                    format!("x{prefix}{body}"),
                    format!("{prefix}{body}\n"),
                    body.to_owned(),
                    String::new(),
                ] {
                    assert_eq!(
                        re.is_match(&candidate),
                        <$ty>::parse(&candidate).is_ok(),
                        "{pattern} and the parser disagree on {candidate:?}"
                    );
                }
            )*};
        }
        agree!(BuyerId, SellerId, OrderId, AddressId, HubId, ScannerId, ReleaseId);
    }

    /// Characters where the text parsers and their patterns could part: every kind of white
    /// space `str::trim` drops, controls (some of them white space too), the separators Python's
    /// `\s` counts but Rust does not, BOM, digits, `+`, `-`, letters and CJK.
    const EDGE_CHARS: &[char] = &[
        ' ', '\t', '\n', '\r', '\u{0b}', '\u{0c}', '\u{85}', '\u{a0}', '\u{1680}', '\u{2000}',
        '\u{200a}', '\u{2028}', '\u{202f}', '\u{3000}', '\u{0}', '\u{1c}', '\u{1f}', '\u{7f}',
        '\u{9f}', '\u{feff}', '\u{200b}', '0', '1', '9', '+', '-', 'a', 'C', 'n', '朝',
    ];

    fn matches(schema: Schema, input: &str) -> bool {
        let value = serde_json::to_value(schema).unwrap();
        let pattern = value["pattern"].as_str().unwrap();
        let fits = value["maxLength"]
            .as_u64()
            .is_none_or(|max| input.chars().count() as u64 <= max);
        fits && regex::Regex::new(pattern).unwrap().is_match(input)
    }

    proptest::proptest! {
        #[test]
        fn text_patterns_accept_exactly_what_the_trimming_parsers_accept(
            chars in proptest::collection::vec(proptest::sample::select(EDGE_CHARS), 0..40),
            filler in 0usize..210,
        ) {
            use crate::api::fields::opaque_text;
            use crate::contact::{
                AddressLabel, AddressLine, CountryCode, PersonName, PhoneNumber, PostalCode,
            };
            let short: String = chars.iter().collect();
            // Around the length limits: the short text with `filler` letters in its middle.
            let half = chars.len() / 2;
            let long: String = chars[..half]
                .iter()
                .chain(std::iter::repeat_n(&'x', filler))
                .chain(&chars[half..])
                .collect();
            for input in [&short, &long] {
                let agree = |schema: Schema, parsed: bool, what: &str| {
                    proptest::prop_assert_eq!(
                        matches(schema, input),
                        parsed,
                        "{} on {:?}",
                        what,
                        input
                    );
                    Ok(())
                };
                agree(person_name(), PersonName::parse(input).is_ok(), "name")?;
                agree(address_line(), AddressLine::parse(input).is_ok(), "line")?;
                agree(address_label(), AddressLabel::parse(input).is_ok(), "label")?;
                agree(postal_code(), PostalCode::parse(input).is_ok(), "postal code")?;
                agree(phone_number(), PhoneNumber::parse(input).is_ok(), "phone")?;
                agree(country_code(), CountryCode::parse(input).is_ok(), "country")?;
                agree(waybill(), opaque_text("waybill", input, 64).is_ok(), "waybill")?;
                // Long limits are declared as `maxLength` over the whole value: the schema may
                // refuse more than the parser (white space past the limit), never less.
                if matches(receipt_signature(), input) {
                    proptest::prop_assert!(opaque_text("signature", input, 4096).is_ok());
                }
            }
        }
    }

    #[test]
    fn id_examples_are_ids_in_canonical_form() {
        fn example<T: PartialSchema>() -> String {
            serde_json::to_value(T::schema()).unwrap()["examples"][0]
                .as_str()
                .unwrap()
                .to_owned()
        }
        macro_rules! canonical {
            ($($ty:ty),*) => {$(
                let id = example::<$ty>();
                assert_eq!(<$ty>::parse(&id).unwrap().as_str(), id);
            )*};
        }
        canonical!(BuyerId, SellerId, OrderId, AddressId, HubId, ScannerId, ReleaseId, PlatformId);
        let at = example::<Timestamp>();
        assert_eq!(Timestamp::parse_rfc3339(&at).unwrap().to_rfc3339(), at);
    }

    fn ids() -> (OrderId, BuyerId, HubId, ReleaseId) {
        (
            OrderId::parse("o_0123456789abcdef").unwrap(),
            BuyerId::parse("b_0123456789abcdef").unwrap(),
            HubId::parse("h_0123456789abcdef").unwrap(),
            ReleaseId::parse("r_0123456789abcdef").unwrap(),
        )
    }

    fn recipient() -> Recipient {
        Recipient {
            name: "n".into(),
            phone: "p".into(),
            country: "CN".into(),
            region: "110105".into(),
            line: "l".into(),
            postal_code: "100020".into(),
        }
    }

    #[test]
    fn response_schemas_describe_what_serde_writes() {
        let document = document();
        let (order_id, buyer_id, hub_id, release_id) = ids();
        let at = Timestamp::from_unix_seconds(1_700_000_000);
        for verdict in [
            HopResponse::ForwardUp,
            HopResponse::RouteTo {
                next_hop: NextHop {
                    level: HubLevel::City,
                    code: "1101".into(),
                },
            },
            HopResponse::deliver(ReleaseResponse {
                release_id: release_id.clone(),
                erase_after: at,
                recipient: Some(recipient()),
                sealed_recipient: None,
            }),
            HopResponse::deliver(ReleaseResponse {
                release_id: release_id.clone(),
                erase_after: at,
                recipient: None,
                sealed_recipient: Some(crate::sealed_box::SealedBox {
                    enc: vec![1; 32],
                    ciphertext: vec![2; 40],
                }),
            }),
        ] {
            assert_fits(&document, "HopResponse", &verdict);
        }
        let tracking = TrackingResponse {
            order_id: order_id.clone(),
            status: OrderStatus::InTransit,
            hops: vec![
                TrackingHop {
                    hub_id: Some(hub_id.clone()),
                    level: HubLevel::District,
                    code: Some("330108".into()),
                    verdict: VerdictWord::ForwardUp,
                    at,
                },
                TrackingHop {
                    hub_id: None,
                    level: HubLevel::City,
                    code: None,
                    verdict: VerdictWord::RouteTo,
                    at,
                },
            ],
            carrier: CarrierRef {
                carrier_id: CarrierId::platform_default(),
                name: crate::carrier::CarrierName::platform_default(),
            },
            waybill: Some("SF1".into()),
        };
        assert_fits(&document, "TrackingResponse", &tracking);
        let not_picked_up = TrackingResponse {
            waybill: None,
            hops: Vec::new(),
            ..tracking
        };
        assert_fits(&document, "TrackingResponse", &not_picked_up);
        let profile = BuyerProfile {
            buyer_id,
            platform_id: PlatformId::parse("demo").unwrap(),
            name: "n".into(),
            phone: "p".into(),
            addresses: vec![AddressView {
                address_id: AddressId::parse("a_0123456789abcdef").unwrap(),
                label: "home".into(),
                country: "CN".into(),
                region: "110105".into(),
                region_levels: vec!["110000".into(), "110100".into(), "110105".into()],
                line: "l".into(),
                postal_code: "100020".into(),
                recipient_name: "n".into(),
                recipient_phone: "p".into(),
                registered: Provenance {
                    channel: "shop".into(),
                    by: "b_0123456789abcdef".into(),
                    at,
                },
                modified: Provenance {
                    channel: "page".into(),
                    by: "b_0123456789abcdef".into(),
                    at,
                },
            }],
            access_log: vec![AccessLogEntry {
                hub_id,
                hub_code: "110105".into(),
                address_id: AddressId::parse("a_0123456789abcdef").unwrap(),
                order_id,
                release_id: release_id.clone(),
                purpose: crate::api::ReleasePurpose::Delivery,
                at,
            }],
            orders: Vec::new(),
        };
        assert_fits(&document, "BuyerProfile", &profile);
        assert_fits(
            &document,
            "DeliverResponse",
            &DeliverResponse {
                status: OrderStatus::Delivered,
                erase: vec![release_id],
            },
        );
    }

    #[test]
    fn tokenised_order_schema_describes_what_serde_writes() {
        let record = TokenisedOrder {
            platform_id: PlatformId::parse("demo").unwrap(),
            order_id: OrderId::parse("o_0123456789abcdef").unwrap(),
            seller_id: SellerId::parse("s_0123456789abcdef").unwrap(),
            key_version: KeyVersion(3),
            province: Tag::from_bytes([1; 32]),
            city: Tag::from_bytes([2; 32]),
            delivery: Tag::from_bytes([3; 32]),
            binding: Tag::from_bytes([4; 32]),
            carriage: crate::carrier::Carriage {
                carrier_id: CarrierId::parse("ca_0123456789abcdef").unwrap(),
                carrier_name: crate::carrier::CarrierName::parse("SF Express").unwrap(),
                ship_from: Some(crate::region::RegionCode::parse("330108").unwrap()),
            },
        };
        let created = InternalCreateOrderResponse {
            order_id: record.order_id.clone(),
            status: OrderStatus::Created,
            created_at: Timestamp::from_unix_seconds(0),
            record,
        };
        // The edge's document does not carry the internal answer; build a document that does.
        #[derive(OpenApi)]
        #[openapi(components(schemas(InternalCreateOrderResponse)))]
        struct Internal;
        let document = serde_json::to_value(Internal::openapi()).unwrap();
        assert_fits(&document, "InternalCreateOrderResponse", &created);
        let mut value = serde_json::to_value(&created).unwrap();
        value["record"]["extra"] = json!(1);
        let reference = json!({"$ref": "#/components/schemas/InternalCreateOrderResponse"});
        assert!(fits(&document, &reference, &value).is_err());
    }

    #[test]
    fn the_json_ends_with_one_newline_and_names_the_edge() {
        let json = edge_document_json();
        assert!(json.ends_with("}\n"));
        let document = document();
        assert_eq!(document["openapi"], "3.1.0");
        assert_eq!(document["info"]["title"], "lasthop edge");
        assert_eq!(document["info"]["version"], "1");
    }
}

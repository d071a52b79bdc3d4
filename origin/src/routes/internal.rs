//! The internal API the edge calls (`/internal/v1/*`). Every request has passed the edge
//! signature check ([`crate::auth::verify_edge_signature`]); buyer and seller acts also
//! carry the user's session token, verified here again.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use lasthop_core::contact::{AddressLabel, PersonName, PhoneNumber, PostalAddress};
use lasthop_core::credential::{SessionClaims, Subject};
use lasthop_core::ids::{AddressId, BuyerId, OrderId, PlatformId, SellerId};
use lasthop_core::progress::OrderStatus;
use lasthop_core::sealed_box::BoxPublicKey;
use lasthop_core::time::Timestamp;
use rand::rngs::OsRng;

use crate::auth::{BuyerSession, SellerSession};
use crate::error::ApiError;
use crate::extract::Json;
use crate::metrics::ReleaseLabels;
use crate::records::{self, ContactPlain, Provenance};
use crate::records::{EntryPlain, RecipientPlain};
use crate::routes::dto::{
    stored, AccessLogEntry, AddAddressRequest, AddAddressResponse, AddressInput, AddressView,
    BuyerOrder, BuyerProfile, CreateOrderRequest, DeliveryRequest, ErrorBody,
    InternalCreateOrderResponse, InternalSellerOrder, InternalSellerOrdersResponse,
    RegisterBuyerRequest, RegisterBuyerResponse, RegisterSellerRequest, RegisterSellerResponse,
    ReleasePurpose, ReleaseRequest, ReleaseResponse, ScannerRenewalRequest, ScannerRenewalResponse,
    StatusResponse,
};
use crate::services::carriers::{carrier_ref, order_carriage, seller_shipping};
use crate::services::vault::{
    delivery_code, delivery_region, entry_plain, open_contact, open_entry, recipient_of,
    seal_address, seal_entry, stored_number,
};
use crate::services::{custody, fees};
use crate::startup::no_store;
use crate::state::AppState;
use crate::store::{BuyerRow, NewBuyer, NewContact, NewOrder, OrderRow};

/// Buyer and seller session lifetime.
/// How many days a buyer's or seller's session lives.
pub const SESSION_DAYS: u64 = 30;

fn platform(state: &AppState, raw: &str) -> Result<PlatformId, ApiError> {
    let platform = PlatformId::parse(raw).map_err(|e| ApiError::invalid("platform_id", e))?;
    if state.serves_platform(platform.as_str()) {
        Ok(platform)
    } else {
        Err(ApiError::invalid(
            "platform_id",
            "is not a platform served here",
        ))
    }
}

/// An address as submitted, parsed: the postal address (for the blind index) and its parts.
pub(crate) struct ParsedAddress {
    postal: PostalAddress,
    label: String,
    recipient: Option<(PersonName, PhoneNumber)>,
}

pub(crate) fn parse_address(input: &AddressInput, prefix: &str) -> Result<ParsedAddress, ApiError> {
    let postal = PostalAddress::parse(
        &input.country,
        &input.region,
        &input.line,
        &input.postal_code,
    )
    .map_err(|e| ApiError::invalid(&format!("{prefix}.{}", e.field), e.reason))?;
    let label = AddressLabel::parse(&input.label)
        .map_err(|e| ApiError::invalid(&format!("{prefix}.label"), e.reason))?;
    let recipient = match &input.recipient {
        Some(r) => Some((
            PersonName::parse(&r.name)
                .map_err(|e| ApiError::invalid(&format!("{prefix}.recipient.name"), e.reason))?,
            PhoneNumber::parse(&r.phone)
                .map_err(|e| ApiError::invalid(&format!("{prefix}.recipient.phone"), e.reason))?,
        )),
        None => None,
    };
    Ok(ParsedAddress {
        postal,
        label: label.as_str().to_owned(),
        recipient,
    })
}

impl ParsedAddress {
    /// The buyer's entry for this address (the recipient is the buyer unless one was given).
    pub(crate) fn entry(&self, provenance: Provenance) -> records::EntryPlain {
        let recipient = self.recipient.as_ref().map(|(name, phone)| RecipientPlain {
            name: name.as_str().to_owned(),
            phone: phone.as_str().to_owned(),
        });
        entry_plain(&self.postal, &self.label, recipient, provenance)
    }
}

/// Whose act, through which channel: `page` for bodies sealed in the buyer's browser, `shop`
/// for the contract's plaintext bodies.
pub(crate) fn provenance(state: &AppState, by: &BuyerId, sealed: bool) -> Provenance {
    Provenance {
        channel: if sealed { "page" } else { "shop" }.to_owned(),
        by: by.to_string(),
        at: state.now(),
    }
}

fn session_token(state: &AppState, subject: Subject, platform_id: PlatformId) -> String {
    let expires_at = state.now().plus_seconds(SESSION_DAYS as i64 * 86_400);
    state.keys().credentials.issue_session(&SessionClaims {
        subject,
        platform_id,
        expires_at,
    })
}

/// Registers a buyer with a first address.
#[utoipa::path(post, path = "/internal/v1/buyers", tag = "internal", request_body = RegisterBuyerRequest,
    responses((status = 201, body = RegisterBuyerResponse), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn register_buyer(
    State(state): State<AppState>,
    Json(body): Json<RegisterBuyerRequest>,
) -> Result<Response, ApiError> {
    let created = register(&state, &body, None).await?;
    Ok(no_store(
        (StatusCode::CREATED, axum::Json(created)).into_response(),
    ))
}

/// Registers a buyer from the contract's body: sent in plaintext, or opened from a sealed
/// intake together with the profile key its page made (then the profile is only ever answered
/// sealed to that key).
pub(crate) async fn register(
    state: &AppState,
    body: &RegisterBuyerRequest,
    profile_key: Option<&BoxPublicKey>,
) -> Result<RegisterBuyerResponse, ApiError> {
    let platform_id = platform(state, &body.platform_id)?;
    let name = PersonName::parse(&body.name).map_err(|e| ApiError::invalid("name", e.reason))?;
    let phone =
        PhoneNumber::parse(&body.phone).map_err(|e| ApiError::invalid("phone", e.reason))?;
    let address = parse_address(&body.address, "address")?;
    let buyer_id = BuyerId::generate(&mut OsRng);
    let now = state.now();
    let new_address = seal_address(state, &address.postal);
    let provenance = provenance(state, &buyer_id, profile_key.is_some());
    let entry_id = AddressId::generate(&mut OsRng);
    let entry = address.entry(provenance.clone());
    let entry = seal_entry(state, entry_id.as_str(), &entry);
    let contact = ContactPlain {
        name: name.as_str().to_owned(),
        phone: Some(phone.as_str().to_owned()),
        registered: provenance.clone(),
        modified: provenance,
    };
    let contact = NewContact {
        contact_id: buyer_id.to_string(),
        record: records::seal(&state.keys().vault, buyer_id.as_str(), &contact),
    };
    let profile_key = profile_key.map(BoxPublicKey::to_base64);
    let buyer = NewBuyer {
        buyer_id: buyer_id.as_str(),
        platform_id: platform_id.as_str(),
        entry_id: entry_id.as_str(),
        profile_key: profile_key.as_deref(),
        now: now.unix_millis(),
    };
    state
        .stores()
        .register_buyer(&buyer, &new_address, &entry.record, &contact)
        .await?;
    // The buyer's own id for the address; the shared number stays inside the stores.
    let address_id = entry_id;
    let buyer_token = session_token(state, Subject::Buyer(buyer_id.clone()), platform_id);
    Ok(RegisterBuyerResponse {
        buyer_id,
        address_id,
        buyer_token,
    })
}

/// Adds an address for the calling buyer.
#[utoipa::path(post, path = "/internal/v1/buyers/me/addresses", tag = "internal", request_body = AddAddressRequest,
    security(("session_token" = [])),
    responses((status = 201, body = AddAddressResponse), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn add_address(
    buyer: BuyerSession,
    State(state): State<AppState>,
    Json(body): Json<AddAddressRequest>,
) -> Result<Response, ApiError> {
    let address_id = add_address_for(&state, &buyer.buyer_id, &body, false).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(AddAddressResponse { address_id }),
    )
        .into_response())
}

/// Adds an address (plaintext, or opened from a sealed intake) for `buyer_id`; returns the
/// buyer's id for it.
pub(crate) async fn add_address_for(
    state: &AppState,
    buyer_id: &BuyerId,
    body: &AddAddressRequest,
    sealed: bool,
) -> Result<AddressId, ApiError> {
    let address = parse_address(&body.address, "address")?;
    buyer_row(state, buyer_id).await?;
    let new_address = seal_address(state, &address.postal);
    let entry_id = AddressId::generate(&mut OsRng);
    let entry = address.entry(provenance(state, buyer_id, sealed));
    let entry = seal_entry(state, entry_id.as_str(), &entry);
    let held = state
        .stores()
        .add_address(
            buyer_id.as_str(),
            &new_address,
            &entry,
            state.now().unix_millis(),
        )
        .await?;
    stored_number(&held)
}

/// Modifies one of the calling buyer's addresses: a new sealed version of their entry, with
/// the modification's provenance.
#[utoipa::path(put, path = "/internal/v1/buyers/me/addresses/{address_id}", tag = "internal",
    request_body = AddAddressRequest, security(("session_token" = [])),
    params(("address_id" = AddressId, Path, description = "The buyer's id for the address")),
    responses((status = 200, body = AddAddressResponse), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn modify_address(
    buyer: BuyerSession,
    State(state): State<AppState>,
    Path(address_id): Path<String>,
    Json(body): Json<AddAddressRequest>,
) -> Result<Response, ApiError> {
    let address_id = modify_address_for(&state, &buyer.buyer_id, &address_id, &body, false).await?;
    Ok(axum::Json(AddAddressResponse { address_id }).into_response())
}

/// The buyer's id for an address in a path, parsed.
///
/// # Errors
/// 400 naming `address_id`.
pub(crate) fn path_address_id(raw: &str) -> Result<AddressId, ApiError> {
    AddressId::parse(raw).map_err(|e| ApiError::invalid("address_id", e))
}

/// Modifies `address_id` of `buyer_id` (plaintext, or opened from a sealed intake): the entry
/// keeps its id and its registration, gets the new address, label and recipient and the
/// modification's provenance, and follows the modified address to its shared number.
///
/// # Errors
/// 404 for an id that is not one of the buyer's addresses; 409 when the modified address is
/// another of the buyer's addresses already, or when it moves to another delivery region while
/// orders to it are undelivered (their route was fixed when they were created).
pub(crate) async fn modify_address_for(
    state: &AppState,
    buyer_id: &BuyerId,
    address_id: &str,
    body: &AddAddressRequest,
    sealed: bool,
) -> Result<AddressId, ApiError> {
    let address_id = path_address_id(address_id)?;
    let address = parse_address(&body.address, "address")?;
    let directory = &state.stores().directory;
    let row = directory
        .entry(address_id.as_str())
        .await?
        .filter(|e| e.buyer_id == buyer_id.as_str())
        .ok_or(ApiError::NotFound(
            "no such address among the buyer's addresses",
        ))?;
    let current = open_entry(state, &row).await?;
    let mut modified = address.entry(provenance(state, buyer_id, sealed));
    if modified.delivery_code() != current.delivery_code()
        && directory.open_orders_to(address_id.as_str()).await? > 0
    {
        return Err(ApiError::WrongState(
            "orders to this address are on their way to its delivery region; \
             change the region once they are delivered",
        ));
    }
    modified.registered = current.registered;
    let entry = seal_entry(state, address_id.as_str(), &modified);
    let new_address = seal_address(state, &address.postal);
    match state
        .stores()
        .modify_entry(
            &row.address_id,
            &new_address,
            &entry,
            state.now().unix_millis(),
        )
        .await
    {
        Err(crate::store::StoreError::Conflict) => Err(ApiError::WrongState(
            "this address is already another of the buyer's addresses",
        )),
        Err(other) => Err(other.into()),
        Ok(()) => Ok(address_id),
    }
}

/// The calling buyer's profile, addresses, orders and access log — in plaintext only for a
/// buyer who registered through the plaintext path; a buyer who registered sealed gets it
/// sealed only (`GET /internal/v1/buyers/me/sealed`), so a relayed token reads nothing here.
#[utoipa::path(get, path = "/internal/v1/buyers/me", tag = "internal", security(("session_token" = [])),
    responses((status = 200, body = BuyerProfile), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn buyer_profile(
    buyer: BuyerSession,
    State(state): State<AppState>,
) -> Result<Response, ApiError> {
    let row = buyer_row(&state, &buyer.buyer_id).await?;
    if row.profile_key.is_some() {
        return Err(ApiError::Forbidden(
            "this buyer's profile is only answered sealed to the key their page registered",
        ));
    }
    let body = profile_of(&state, &row).await?;
    Ok(no_store(axum::Json(body).into_response()))
}

/// The buyer's directory row, or 401 when the buyer no longer exists.
pub(crate) async fn buyer_row(state: &AppState, buyer_id: &BuyerId) -> Result<BuyerRow, ApiError> {
    state
        .stores()
        .directory
        .buyer(buyer_id.as_str())
        .await?
        .ok_or(ApiError::Unauthorized("the buyer no longer exists"))
}

/// The buyer's profile in plaintext: contact, addresses, access log and orders.
pub(crate) async fn profile_of(state: &AppState, row: &BuyerRow) -> Result<BuyerProfile, ApiError> {
    let directory = &state.stores().directory;
    let contact = open_contact(state, &row.buyer_id).await?;
    let mut addresses = Vec::new();
    for entry in directory.buyer_entries(&row.buyer_id).await? {
        let plain = open_entry(state, &entry).await?;
        addresses.push(address_view(&entry.entry_id, plain, &contact)?);
    }
    let access_log = directory
        .access_log(&row.buyer_id)
        .await?
        .into_iter()
        .map(|a| {
            Ok(AccessLogEntry {
                hub_id: stored(&a.hub_id)?,
                hub_code: a.hub_code,
                address_id: stored(&a.address_id)?,
                order_id: stored(&a.order_id)?,
                release_id: stored(&a.release_id)?,
                purpose: ReleasePurpose::parse(&a.purpose).ok_or(ApiError::Internal)?,
                at: Timestamp::from_unix_millis(a.at),
            })
        })
        .collect::<Result<_, ApiError>>()?;
    let mut orders = Vec::new();
    for o in directory.buyer_orders(&row.buyer_id).await? {
        orders.push(BuyerOrder {
            fee: fees::order_fee(state, &o.order_id).await?,
            order_id: stored(&o.order_id)?,
            seller_id: stored(&o.seller_id)?,
            address_id: stored(&o.address_id)?,
            created_at: Timestamp::from_unix_millis(o.created_at),
        });
    }
    Ok(BuyerProfile {
        buyer_id: stored(&row.buyer_id)?,
        platform_id: stored(&row.platform_id)?,
        name: contact.name.clone(),
        phone: contact.phone.clone().unwrap_or_default(),
        addresses,
        access_log,
        orders,
    })
}

/// An opened entry as its owner sees it.
pub(crate) fn address_view(
    entry_id: &str,
    plain: EntryPlain,
    contact: &ContactPlain,
) -> Result<AddressView, ApiError> {
    let recipient = recipient_of(&plain, contact);
    Ok(AddressView {
        address_id: stored(entry_id)?,
        region: delivery_code(&plain)?.to_string(),
        label: plain.label,
        country: plain.country,
        region_levels: plain.region_path,
        line: plain.line,
        postal_code: plain.postal_code,
        recipient_name: recipient.name,
        recipient_phone: recipient.phone,
        registered: plain.registered,
        modified: plain.modified,
    })
}

/// Registers a seller.
#[utoipa::path(post, path = "/internal/v1/sellers", tag = "internal", request_body = RegisterSellerRequest,
    responses((status = 201, body = RegisterSellerResponse), (status = 400, body = ErrorBody),
              (status = 404, description = "An unknown carrier", body = ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn register_seller(
    State(state): State<AppState>,
    Json(body): Json<RegisterSellerRequest>,
) -> Result<Response, ApiError> {
    let platform_id = platform(&state, &body.platform_id)?;
    let name = PersonName::parse(&body.name).map_err(|e| ApiError::invalid("name", e.reason))?;
    let shipping = seller_shipping(&state, &body).await?;
    let seller_id = SellerId::generate(&mut OsRng);
    let now = state.now();
    let provenance = Provenance {
        channel: "shop".to_owned(),
        by: seller_id.to_string(),
        at: now,
    };
    let contact = ContactPlain {
        name: name.as_str().to_owned(),
        phone: None,
        registered: provenance.clone(),
        modified: provenance,
    };
    // A seller may be a person too: the name goes to the vault like a buyer's.
    let contact = NewContact {
        contact_id: seller_id.to_string(),
        record: records::seal(&state.keys().vault, seller_id.as_str(), &contact),
    };
    state
        .stores()
        .put_contact(&contact, now.unix_millis())
        .await?;
    // Shipping first: a seller row without it would ship with the default carrier.
    state
        .stores()
        .directory
        .insert_seller_shipping(seller_id.as_str(), &shipping)
        .await?;
    state
        .stores()
        .directory
        .insert_seller(seller_id.as_str(), platform_id.as_str(), now.unix_millis())
        .await?;
    let seller_token = session_token(&state, Subject::Seller(seller_id.clone()), platform_id);
    let body = RegisterSellerResponse {
        seller_id,
        seller_token,
    };
    Ok(no_store(
        (StatusCode::CREATED, axum::Json(body)).into_response(),
    ))
}

/// Creates an order for the calling buyer and returns the tokenised record for the edge.
#[utoipa::path(post, path = "/internal/v1/orders", tag = "internal", request_body = CreateOrderRequest,
    security(("session_token" = [])),
    responses((status = 201, body = InternalCreateOrderResponse), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn create_order(
    buyer: BuyerSession,
    State(state): State<AppState>,
    Json(body): Json<CreateOrderRequest>,
) -> Result<Response, ApiError> {
    let parsed = body.parse()?;
    let (seller_id, address_id) = (parsed.seller_id, parsed.address_id);
    let region = destination(&state, &buyer, &seller_id, &address_id).await?;
    let directory = &state.stores().directory;
    let carriage = order_carriage(&state, &seller_id, parsed.carrier_id).await?;
    let fee = fees::price(&state, &carriage, &region, parsed.weight_g).await?;
    let order_id = OrderId::generate(&mut OsRng);
    let now = state.now();
    let mut record = lasthop_core::tokens::tokenise_order(
        &state.keys().region,
        &state.keys().binding,
        &buyer.platform_id,
        &order_id,
        &seller_id,
        &buyer.buyer_id,
        &region,
    )
    .map_err(|_| ApiError::Internal)?;
    // The carriage and the fee first: an order row without them would be the default
    // carrier's, without a fee.
    directory
        .insert_order_carriage(order_id.as_str(), carriage.carrier_id.as_str())
        .await?;
    fees::record_order_fee(&state, &order_id, &carriage, parsed.weight_g, fee).await?;
    record.carriage = carriage;
    directory
        .insert_order(&NewOrder {
            order_id: order_id.as_str(),
            platform_id: buyer.platform_id.as_str(),
            buyer_id: buyer.buyer_id.as_str(),
            seller_id: seller_id.as_str(),
            address_id: address_id.as_str(),
            created_at: now.unix_millis(),
            key_version: i64::from(record.key_version.0),
        })
        .await?;
    let body = InternalCreateOrderResponse {
        order_id,
        status: OrderStatus::Created,
        created_at: now,
        record,
    };
    Ok((StatusCode::CREATED, axum::Json(body)).into_response())
}

/// The buyer's delivery region for an order from `seller_id` to one of the buyer's addresses
/// (404 for a seller of another platform or another buyer's address).
///
/// # Errors
/// 404 as above; unavailability.
pub(crate) async fn destination(
    state: &AppState,
    buyer: &BuyerSession,
    seller_id: &SellerId,
    address_id: &AddressId,
) -> Result<lasthop_core::region::DeliveryRegion, ApiError> {
    let directory = &state.stores().directory;
    let seller = directory.seller(seller_id.as_str()).await?;
    if seller.is_none_or(|s| s.platform_id != buyer.platform_id.as_str()) {
        return Err(ApiError::NotFound("no such seller on this platform"));
    }
    // The buyer's own entry: another buyer's id for the same address is not theirs.
    let entry = directory
        .entry(address_id.as_str())
        .await?
        .filter(|e| e.buyer_id == buyer.buyer_id.as_str())
        .ok_or(ApiError::NotFound(
            "no such address among the buyer's addresses",
        ))?;
    let plain = open_entry(state, &entry).await?;
    delivery_region(&plain)
}

async fn seller_order(state: &AppState, row: OrderRow) -> Result<InternalSellerOrder, ApiError> {
    let carrier = state
        .stores()
        .directory
        .order_carrier(&row.order_id)
        .await?;
    Ok(InternalSellerOrder {
        order_id: stored(&row.order_id)?,
        buyer_id: stored(&row.buyer_id)?,
        platform_id: stored(&row.platform_id)?,
        created_at: Timestamp::from_unix_millis(row.created_at),
        carrier: carrier_ref(&carrier)?,
    })
}

/// The calling seller's orders: ids and dates, nothing about where they go.
#[utoipa::path(get, path = "/internal/v1/seller/orders", tag = "internal", security(("session_token" = [])),
    responses((status = 200, body = InternalSellerOrdersResponse), (status = 401, body = ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn seller_orders(
    seller: SellerSession,
    State(state): State<AppState>,
) -> Result<Response, ApiError> {
    let orders = state
        .stores()
        .directory
        .seller_orders(seller.seller_id.as_str())
        .await?;
    let mut listed = Vec::with_capacity(orders.len());
    for row in orders {
        listed.push(seller_order(&state, row).await?);
    }
    Ok(axum::Json(InternalSellerOrdersResponse { orders: listed }).into_response())
}

/// One of the calling seller's orders.
#[utoipa::path(get, path = "/internal/v1/seller/orders/{order_id}", tag = "internal",
    security(("session_token" = [])), params(("order_id" = OrderId, Path, description = "The order")),
    responses((status = 200, body = InternalSellerOrder), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn seller_order_detail(
    seller: SellerSession,
    State(state): State<AppState>,
    Path(order_id): Path<String>,
) -> Result<Response, ApiError> {
    let order_id = OrderId::parse(&order_id).map_err(|e| ApiError::invalid("order_id", e))?;
    let order = state.stores().directory.order(order_id.as_str()).await?;
    match order {
        Some(row) if row.seller_id == seller.seller_id.as_str() => {
            Ok(axum::Json(seller_order(&state, row).await?).into_response())
        }
        _ => Err(ApiError::NotFound("no such order for this seller")),
    }
}

/// Releases the recipient of an order to its final hub: the chain of custody must hold, and the
/// recipient is sealed to the final hub's device (see [`crate::services::custody`]).
#[utoipa::path(post, path = "/internal/v1/releases", tag = "internal", request_body = ReleaseRequest,
    responses((status = 200, body = ReleaseResponse), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
              (status = 410, body = ErrorBody), (status = 429, body = ErrorBody),
              (status = 503, body = ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn release(
    State(state): State<AppState>,
    Json(body): Json<ReleaseRequest>,
) -> Result<Response, ApiError> {
    let outcome = custody::release(&state, &body).await;
    let label = match &outcome {
        Ok(_) => "released",
        Err(err) => err.code(),
    };
    state
        .metrics()
        .releases
        .get_or_create(&ReleaseLabels {
            outcome: label.to_owned(),
        })
        .inc();
    outcome.map(|released| no_store(axum::Json(released).into_response()))
}

/// Closes an order after the final hub delivered it; a retry with the same release and proof
/// answers 200 again.
#[utoipa::path(post, path = "/internal/v1/deliveries", tag = "internal", request_body = DeliveryRequest,
    responses((status = 200, body = StatusResponse), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 410, body = ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn deliver(
    State(state): State<AppState>,
    Json(body): Json<DeliveryRequest>,
) -> Result<Response, ApiError> {
    custody::deliver(&state, &body).await?;
    Ok(axum::Json(StatusResponse {
        status: OrderStatus::Delivered,
    })
    .into_response())
}

/// Renews a device-bound scanner credential for one more shift (device-signed; refused for a
/// revoked scanner).
#[utoipa::path(post, path = "/internal/v1/scanner-renewals", tag = "internal",
    request_body = ScannerRenewalRequest,
    responses((status = 200, body = ScannerRenewalResponse), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn renew_scanner(
    State(state): State<AppState>,
    Json(body): Json<ScannerRenewalRequest>,
) -> Result<Response, ApiError> {
    let renewed = custody::renew(&state, &body).await?;
    Ok(no_store(axum::Json(renewed).into_response()))
}

//! The internal API the edge calls (`/internal/v1/*`). Every request has passed the edge
//! signature check ([`crate::auth::verify_edge_signature`]); buyer and seller acts also
//! carry the user's session token, verified here again.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use lasthop_core::contact::{AddressLabel, PersonName, PhoneNumber, PostalAddress};
use lasthop_core::credential::{SessionClaims, Subject};
use lasthop_core::ids::{AddressId, BuyerId, OrderId, PlatformId, ReleaseId, SellerId};
use lasthop_core::progress::OrderStatus;
use lasthop_core::region::{Directory, RegionCode};
use lasthop_core::time::Timestamp;
use rand::rngs::OsRng;
use sha2::{Digest as _, Sha256};

use crate::auth::{hub_scanner, BuyerSession, SellerSession};
use crate::error::ApiError;
use crate::extract::Json;
use crate::metrics::ReleaseLabels;
use crate::records::{self, AddressPlain, ContactPlain, Provenance};
use crate::routes::dto::{
    stored, AccessLogEntry, AddAddressRequest, AddAddressResponse, AddressInput, AddressView,
    BuyerProfile, CreateOrderRequest, DeliveryRequest, ErrorBody, InternalCreateOrderResponse,
    InternalSellerOrder, InternalSellerOrdersResponse, Recipient, RegisterBuyerRequest,
    RegisterBuyerResponse, RegisterSellerRequest, RegisterSellerResponse, ReleaseRequest,
    ReleaseResponse, StatusResponse,
};
use crate::startup::no_store;
use crate::state::AppState;
use crate::store::{NewAddress, NewBuyer, NewContact, NewOrder, OrderRow, Recorded, ReleaseRow};

/// Buyer and seller session lifetime.
const SESSION_DAYS: i64 = 30;
/// Longest accepted proof of receipt.
const MAX_SIGNATURE: usize = 4096;

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
struct ParsedAddress {
    postal: PostalAddress,
    label: String,
}

fn parse_address(input: &AddressInput, prefix: &str) -> Result<ParsedAddress, ApiError> {
    let postal = PostalAddress::parse(
        &input.country,
        &input.region,
        &input.line,
        &input.postal_code,
    )
    .map_err(|e| ApiError::invalid(&format!("{prefix}.{}", e.field), e.reason))?;
    let label = AddressLabel::parse(&input.label)
        .map_err(|e| ApiError::invalid(&format!("{prefix}.label"), e.reason))?;
    Ok(ParsedAddress {
        postal,
        label: label.as_str().to_owned(),
    })
}

/// A new sealed record for `postal` under a new number, with its blind index. The stores
/// keep it unless the same address (after normalisation) is stored already, by anyone, and
/// then answer that number instead; the lookup goes through the keyed blind index only.
fn seal_address(state: &AppState, postal: &PostalAddress, by: &str) -> NewAddress {
    let blind_index = state.keys().blind_index.index(&postal.normalised_key());
    let provenance = Provenance {
        channel: "shop".to_owned(),
        by: by.to_owned(),
        at: state.now(),
    };
    let region = postal.region();
    let (province, city, district) = region.path();
    let mut region_path = vec![province.to_string(), city.to_string()];
    if let Some(district) = district {
        region_path.push(district.to_string());
    }
    let plain = AddressPlain {
        country: postal.country().as_str().to_owned(),
        region_path,
        line: postal.line().as_str().to_owned(),
        postal_code: postal.postal_code().as_str().to_owned(),
        registered: provenance.clone(),
        modified: provenance,
    };
    let address_id = AddressId::generate(&mut OsRng);
    let record = records::seal(&state.keys().vault, address_id.as_str(), &plain);
    NewAddress {
        address_id: address_id.to_string(),
        blind_index,
        record,
    }
}

/// An address number the stores answered.
fn stored_number(number: &str) -> Result<AddressId, ApiError> {
    AddressId::parse(number).map_err(|_| ApiError::Internal)
}

fn session_token(state: &AppState, subject: Subject, platform_id: PlatformId) -> String {
    let expires_at = state.now().plus_seconds(SESSION_DAYS * 86_400);
    state.keys().credentials.issue_session(&SessionClaims {
        subject,
        platform_id,
        expires_at,
    })
}

async fn open_address(state: &AppState, address_id: &str) -> Result<AddressPlain, ApiError> {
    // Sealed under the number it is stored as (another one when it was merged).
    let (sealed_as, sealed) = state
        .stores()
        .address(address_id)
        .await?
        .ok_or(ApiError::NotFound("no such address"))?;
    records::open(&state.keys().vault, &sealed_as, &sealed).map_err(|_| ApiError::Internal)
}

async fn open_contact(state: &AppState, contact_id: &str) -> Result<ContactPlain, ApiError> {
    let sealed = state
        .stores()
        .contact(contact_id)
        .await?
        .ok_or(ApiError::Internal)?;
    records::open(&state.keys().vault, contact_id, &sealed).map_err(|_| ApiError::Internal)
}

fn delivery_code(plain: &AddressPlain) -> Result<RegionCode, ApiError> {
    plain
        .delivery_code()
        .and_then(|c| RegionCode::parse(c).ok())
        .ok_or(ApiError::Internal)
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
    let platform_id = platform(&state, &body.platform_id)?;
    let name = PersonName::parse(&body.name).map_err(|e| ApiError::invalid("name", e.reason))?;
    let phone =
        PhoneNumber::parse(&body.phone).map_err(|e| ApiError::invalid("phone", e.reason))?;
    let address = parse_address(&body.address, "address")?;
    let buyer_id = BuyerId::generate(&mut OsRng);
    let now = state.now();
    let new_address = seal_address(&state, &address.postal, buyer_id.as_str());
    let provenance = Provenance {
        channel: "shop".to_owned(),
        by: buyer_id.to_string(),
        at: now,
    };
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
    let buyer = NewBuyer {
        buyer_id: buyer_id.as_str(),
        platform_id: platform_id.as_str(),
        label: &address.label,
        now: now.unix_millis(),
    };
    let number = state
        .stores()
        .register_buyer(&buyer, &new_address, &contact)
        .await?;
    let address_id = stored_number(&number)?;
    let buyer_token = session_token(&state, Subject::Buyer(buyer_id.clone()), platform_id);
    let body = RegisterBuyerResponse {
        buyer_id,
        address_id,
        buyer_token,
    };
    Ok(no_store(
        (StatusCode::CREATED, axum::Json(body)).into_response(),
    ))
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
    let address = parse_address(&body.address, "address")?;
    let directory = &state.stores().directory;
    directory
        .buyer(buyer.buyer_id.as_str())
        .await?
        .ok_or(ApiError::Unauthorized("the buyer no longer exists"))?;
    let new_address = seal_address(&state, &address.postal, buyer.buyer_id.as_str());
    let number = state
        .stores()
        .add_address(
            buyer.buyer_id.as_str(),
            &new_address,
            &address.label,
            state.now().unix_millis(),
        )
        .await?;
    let address_id = stored_number(&number)?;
    Ok((
        StatusCode::CREATED,
        axum::Json(AddAddressResponse { address_id }),
    )
        .into_response())
}

/// The calling buyer's profile, addresses and access log.
#[utoipa::path(get, path = "/internal/v1/buyers/me", tag = "internal", security(("session_token" = [])),
    responses((status = 200, body = BuyerProfile), (status = 401, body = ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn buyer_profile(
    buyer: BuyerSession,
    State(state): State<AppState>,
) -> Result<Response, ApiError> {
    let directory = &state.stores().directory;
    let row = directory
        .buyer(buyer.buyer_id.as_str())
        .await?
        .ok_or(ApiError::Unauthorized("the buyer no longer exists"))?;
    let contact = open_contact(&state, &row.buyer_id).await?;
    let mut addresses = Vec::new();
    for (address_id, label) in directory.buyer_addresses(&row.buyer_id).await? {
        let plain = open_address(&state, &address_id).await?;
        addresses.push(AddressView {
            region: delivery_code(&plain)?.to_string(),
            address_id: stored(&address_id)?,
            label,
            country: plain.country.clone(),
            line: plain.line.clone(),
            postal_code: plain.postal_code.clone(),
        });
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
                at: Timestamp::from_unix_millis(a.at),
            })
        })
        .collect::<Result<_, ApiError>>()?;
    let body = BuyerProfile {
        buyer_id: stored(&row.buyer_id)?,
        platform_id: stored(&row.platform_id)?,
        name: contact.name.clone(),
        phone: contact.phone.clone().unwrap_or_default(),
        addresses,
        access_log,
    };
    Ok(no_store(axum::Json(body).into_response()))
}

/// Registers a seller.
#[utoipa::path(post, path = "/internal/v1/sellers", tag = "internal", request_body = RegisterSellerRequest,
    responses((status = 201, body = RegisterSellerResponse), (status = 400, body = ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn register_seller(
    State(state): State<AppState>,
    Json(body): Json<RegisterSellerRequest>,
) -> Result<Response, ApiError> {
    let platform_id = platform(&state, &body.platform_id)?;
    let name = PersonName::parse(&body.name).map_err(|e| ApiError::invalid("name", e.reason))?;
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
    let seller_id =
        SellerId::parse(&body.seller_id).map_err(|e| ApiError::invalid("seller_id", e))?;
    let address_id =
        AddressId::parse(&body.address_id).map_err(|e| ApiError::invalid("address_id", e))?;
    let directory = &state.stores().directory;
    let seller = directory.seller(seller_id.as_str()).await?;
    if seller.is_none_or(|s| s.platform_id != buyer.platform_id.as_str()) {
        return Err(ApiError::NotFound("no such seller on this platform"));
    }
    let owns = directory
        .buyer_addresses(buyer.buyer_id.as_str())
        .await?
        .iter()
        .any(|(id, _)| id == address_id.as_str());
    if !owns {
        return Err(ApiError::NotFound(
            "no such address among the buyer's addresses",
        ));
    }
    let plain = open_address(&state, address_id.as_str()).await?;
    let region = Directory::china()
        .delivery_region(delivery_code(&plain)?)
        .map_err(|_| ApiError::Internal)?;
    let order_id = OrderId::generate(&mut OsRng);
    let now = state.now();
    let record = lasthop_core::tokens::tokenise_order(
        &state.keys().region,
        &state.keys().binding,
        &buyer.platform_id,
        &order_id,
        &seller_id,
        &buyer.buyer_id,
        &region,
    )
    .map_err(|_| ApiError::Internal)?;
    directory
        .insert_order(&NewOrder {
            order_id: order_id.as_str(),
            platform_id: buyer.platform_id.as_str(),
            buyer_id: buyer.buyer_id.as_str(),
            seller_id: seller_id.as_str(),
            address_id: address_id.as_str(),
            created_at: now.unix_millis(),
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

fn seller_order(row: OrderRow) -> Result<InternalSellerOrder, ApiError> {
    Ok(InternalSellerOrder {
        order_id: stored(&row.order_id)?,
        buyer_id: stored(&row.buyer_id)?,
        platform_id: stored(&row.platform_id)?,
        created_at: Timestamp::from_unix_millis(row.created_at),
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
    Ok(axum::Json(InternalSellerOrdersResponse {
        orders: orders
            .into_iter()
            .map(seller_order)
            .collect::<Result<_, _>>()?,
    })
    .into_response())
}

/// One of the calling seller's orders.
#[utoipa::path(get, path = "/internal/v1/seller/orders/{order_id}", tag = "internal",
    security(("session_token" = [])), params(("order_id" = OrderId, Path, description = "The order")),
    responses((status = 200, body = InternalSellerOrder), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
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
            Ok(axum::Json(seller_order(row)?).into_response())
        }
        _ => Err(ApiError::NotFound("no such order for this seller")),
    }
}

/// Releases the recipient of an order to its final hub. Checks the scanner credential, the
/// order's state and, on the plaintext, that the hub is the buyer's delivery region; then
/// commits the release and its audit row, and only then opens the contact record.
#[utoipa::path(post, path = "/internal/v1/releases", tag = "internal", request_body = ReleaseRequest,
    responses((status = 200, body = ReleaseResponse), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 410, body = ErrorBody),
              (status = 503, body = ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn release(
    State(state): State<AppState>,
    Json(body): Json<ReleaseRequest>,
) -> Result<Response, ApiError> {
    let outcome = release_recipient(&state, &body).await;
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

async fn release_recipient(
    state: &AppState,
    body: &ReleaseRequest,
) -> Result<ReleaseResponse, ApiError> {
    let platform_id = platform(state, &body.platform_id)?;
    let order_id = OrderId::parse(&body.order_id).map_err(|e| ApiError::invalid("order_id", e))?;
    let claims = hub_scanner(state, &body.scanner_token).await?;
    let directory = &state.stores().directory;
    let order = match directory.order(order_id.as_str()).await? {
        Some(order) if order.platform_id == platform_id.as_str() => order,
        _ => return Err(ApiError::NotFound("no such order")),
    };
    if order.status == "delivered" {
        return Err(ApiError::OrderClosed("the order has been delivered"));
    }
    // Even an edge that lies about the hop decision cannot pull this address to another
    // hub: the final hub is checked against the plaintext region here.
    let address = open_address(state, &order.address_id).await?;
    let region = Directory::china()
        .delivery_region(delivery_code(&address)?)
        .map_err(|_| ApiError::Internal)?;
    if region.final_hub() != claims.hub {
        return Err(ApiError::OffRoute("this hub is not the order's final hub"));
    }
    let now = state.now();
    let ttl = i64::try_from(state.release_ttl().as_secs()).unwrap_or(i64::MAX);
    let fresh = ReleaseRow {
        release_id: ReleaseId::generate(&mut OsRng).to_string(),
        order_id: order.order_id.clone(),
        hub_id: claims.hub_id.to_string(),
        scanner_id: claims.scanner_id.to_string(),
        created_at: now.unix_millis(),
        erase_after: now.plus_seconds(ttl).unix_millis(),
    };
    // Fail closed: without a committed audit row nothing is released.
    let recorded = directory
        .record_release(&fresh, &order.address_id, now.unix_millis())
        .await
        .map_err(|_| {
            ApiError::Unavailable(
                "the release could not be audited, nothing was released; try again shortly",
            )
        })?;
    let Recorded::Released(release) = recorded else {
        return Err(ApiError::OrderClosed("the order has been delivered"));
    };
    let contact = open_contact(state, &order.buyer_id).await?;
    Ok(ReleaseResponse {
        release_id: stored(&release.release_id)?,
        erase_after: Timestamp::from_unix_millis(release.erase_after),
        recipient: Some(Recipient {
            name: contact.name.clone(),
            phone: contact.phone.clone().unwrap_or_default(),
            country: address.country.clone(),
            region: region.code().to_string(),
            line: address.line.clone(),
            postal_code: address.postal_code.clone(),
        }),
        sealed_recipient: None,
    })
}

/// Closes an order after the final hub delivered it; no release is answered afterwards.
#[utoipa::path(post, path = "/internal/v1/deliveries", tag = "internal", request_body = DeliveryRequest,
    responses((status = 200, body = StatusResponse), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 410, body = ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn deliver(
    State(state): State<AppState>,
    Json(body): Json<DeliveryRequest>,
) -> Result<Response, ApiError> {
    let platform_id = platform(&state, &body.platform_id)?;
    let order_id = OrderId::parse(&body.order_id).map_err(|e| ApiError::invalid("order_id", e))?;
    let release_id =
        ReleaseId::parse(&body.release_id).map_err(|e| ApiError::invalid("release_id", e))?;
    if body.signature.is_empty() || body.signature.len() > MAX_SIGNATURE {
        return Err(ApiError::invalid(
            "signature",
            format!("must be 1 to {MAX_SIGNATURE} bytes"),
        ));
    }
    let claims = hub_scanner(&state, &body.scanner_token).await?;
    let directory = &state.stores().directory;
    let order = match directory.order(order_id.as_str()).await? {
        Some(order) if order.platform_id == platform_id.as_str() => order,
        _ => return Err(ApiError::NotFound("no such order")),
    };
    if order.status == "delivered" {
        return Err(ApiError::OrderClosed(
            "the order has already been delivered",
        ));
    }
    match directory.release(release_id.as_str()).await? {
        Some(release) if release.order_id == order.order_id => {
            if release.hub_id != claims.hub_id.as_str() {
                return Err(ApiError::Forbidden(
                    "only the hub the order was released to can deliver it",
                ));
            }
        }
        _ => return Err(ApiError::NotFound("no such release for this order")),
    }
    // Only a digest of the proof is kept: enough to match a later dispute, nothing more.
    let digest = hex::encode(Sha256::digest(body.signature.as_bytes()));
    if !directory
        .deliver(order.order_id.as_str(), &digest, state.now().unix_millis())
        .await?
    {
        return Err(ApiError::OrderClosed(
            "the order has already been delivered",
        ));
    }
    Ok(axum::Json(StatusResponse {
        status: OrderStatus::Delivered,
    })
    .into_response())
}

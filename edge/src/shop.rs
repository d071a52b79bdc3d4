//! Shop endpoints (browsers). Registration, addresses and the buyer's profile pass through to
//! the origin and leave nothing at the edge; order creation stores the origin's tokenised
//! record in the order's object; the seller's list, the label and tracking show ids, status and
//! hops only.

use futures_util::future::join_all;
use lasthop_core::api::{
    paths, AddAddressRequest, CreateOrderRequest, CreateOrderResponse, ErrorCode,
    InternalCreateOrderResponse, InternalSellerOrder, InternalSellerOrdersResponse,
    RegisterBuyerRequest, RegisterSellerRequest, SealedAddressRequest, SellerOrdersResponse,
};
use lasthop_core::credential::{SessionClaims, Subject};
use lasthop_core::ids::{AddressId, OrderId};
use lasthop_core::label::render_label_svg;
use lasthop_core::progress::OrderStatus;
use worker::{Method, Request, Response, RouteContext};

use crate::config::EdgeConfig;
use crate::error::EdgeError;
use crate::http;
use crate::order_object::{self, OrderCommand, Viewer};
use crate::origin_client::{OriginClient, OriginReply};

/// `POST /v1/buyers`.
///
/// # Errors
/// Bad input (400, checked here before the origin is asked), the origin's refusals, 503.
pub async fn register_buyer(
    mut req: Request,
    ctx: RouteContext<()>,
) -> Result<Response, EdgeError> {
    let config = EdgeConfig::load(&ctx.env)?;
    let (request, bytes) = http::read_json::<RegisterBuyerRequest>(&mut req).await?;
    request.parse()?;
    let reply = origin(&config)
        .send(Method::Post, paths::INTERNAL_BUYERS, Some(&bytes), None)
        .await?;
    relay(reply, Sensitivity::Credential)
}

/// `POST /v1/buyers/me/addresses`.
///
/// # Errors
/// 401 without a buyer credential, 400, the origin's refusals, 503.
pub async fn add_address(mut req: Request, ctx: RouteContext<()>) -> Result<Response, EdgeError> {
    let config = EdgeConfig::load(&ctx.env)?;
    let (token, _) = buyer_session(&req, &config)?;
    let (request, bytes) = http::read_json::<AddAddressRequest>(&mut req).await?;
    request.parse()?;
    let reply = origin(&config)
        .send(
            Method::Post,
            paths::INTERNAL_BUYER_ADDRESSES,
            Some(&bytes),
            Some(&token),
        )
        .await?;
    relay(reply, Sensitivity::Plain)
}

/// `PUT /v1/buyers/me/addresses/{address_id}` and its `/sealed` twin (ciphertext relayed): a
/// modified address. One handler for both keeps the Worker small.
///
/// # Errors
/// 401 without a buyer credential, 400, the origin's refusals, 503.
pub async fn modify_address(
    mut req: Request,
    ctx: RouteContext<()>,
) -> Result<Response, EdgeError> {
    let config = EdgeConfig::load(&ctx.env)?;
    let (token, _) = buyer_session(&req, &config)?;
    let address_id = address_param(&ctx)?;
    let (template, bytes) = if req.path().ends_with("/sealed") {
        let (_, bytes) = http::read_json::<SealedAddressRequest>(&mut req).await?;
        (paths::INTERNAL_BUYER_ADDRESS_SEALED, bytes)
    } else {
        // The shape is checked here; the fields at the origin, which names a bad one.
        let (_, bytes) = http::read_json::<AddAddressRequest>(&mut req).await?;
        (paths::INTERNAL_BUYER_ADDRESS, bytes)
    };
    let path = paths::with_id(template, address_id.as_str());
    let reply = origin(&config)
        .send(Method::Put, &path, Some(&bytes), Some(&token))
        .await?;
    relay(reply, Sensitivity::Plain)
}

/// The `address_id` of a path; a malformed one names none of the buyer's addresses.
fn address_param(ctx: &RouteContext<()>) -> Result<AddressId, EdgeError> {
    let raw = ctx
        .param("address_id")
        .map(String::as_str)
        .unwrap_or_default();
    AddressId::parse(raw).map_err(|_| EdgeError::code(ErrorCode::NotFound))
}

/// `GET /v1/buyers/me`: the buyer's own profile, straight from the origin, never cached.
///
/// # Errors
/// 401 without a buyer credential, the origin's refusals, 503.
pub async fn buyer_profile(req: Request, ctx: RouteContext<()>) -> Result<Response, EdgeError> {
    let config = EdgeConfig::load(&ctx.env)?;
    let (token, _) = buyer_session(&req, &config)?;
    let reply = origin(&config)
        .send(
            Method::Get,
            paths::INTERNAL_BUYER_PROFILE,
            None,
            Some(&token),
        )
        .await?;
    relay(reply, Sensitivity::PersonalData)
}

/// `GET /v1/buyers/me/quotes`: the buyer's fees, priced at the origin (the query passed on
/// as it came, the origin parses it); never cached, never stored.
///
/// # Errors
/// 401, the origin's refusals, 503.
pub async fn quotes(req: Request, ctx: RouteContext<()>) -> Result<Response, EdgeError> {
    let config = EdgeConfig::load(&ctx.env)?;
    let (token, _) = buyer_session(&req, &config)?;
    let url = req.url()?;
    let path = format!(
        "{}?{}",
        paths::INTERNAL_BUYER_QUOTES,
        url.query().unwrap_or_default()
    );
    let reply = origin(&config)
        .send(Method::Get, &path, None, Some(&token))
        .await?;
    relay(reply, Sensitivity::PersonalData)
}

/// `POST /v1/sellers`.
///
/// # Errors
/// 400, the origin's refusals, 503.
pub async fn register_seller(
    mut req: Request,
    ctx: RouteContext<()>,
) -> Result<Response, EdgeError> {
    let config = EdgeConfig::load(&ctx.env)?;
    let (request, bytes) = http::read_json::<RegisterSellerRequest>(&mut req).await?;
    request.parse()?;
    let reply = origin(&config)
        .send(Method::Post, paths::INTERNAL_SELLERS, Some(&bytes), None)
        .await?;
    relay(reply, Sensitivity::Credential)
}

/// `POST /v1/orders`: the origin creates the order and returns its tokenised record, which the
/// order's object keeps.
///
/// # Errors
/// 401, 400, the origin's refusals, 503.
pub async fn create_order(mut req: Request, ctx: RouteContext<()>) -> Result<Response, EdgeError> {
    let config = EdgeConfig::load(&ctx.env)?;
    let (token, _) = buyer_session(&req, &config)?;
    let (request, bytes) = http::read_json::<CreateOrderRequest>(&mut req).await?;
    request.parse()?;
    let reply = origin(&config)
        .send(
            Method::Post,
            paths::INTERNAL_ORDERS,
            Some(&bytes),
            Some(&token),
        )
        .await?;
    let created: InternalCreateOrderResponse = reply.into_json()?;
    let mut stored = order_object::ask(
        &ctx.env,
        &created.order_id,
        &OrderCommand::Create {
            record: created.record,
        },
    )
    .await?;
    if !matches!(stored.status_code(), 200 | 201) {
        let _ = stored.text().await;
        return Err(EdgeError::internal(
            "the order object refused the new record",
        ));
    }
    Ok(http::json(
        201,
        &CreateOrderResponse {
            order_id: created.order_id,
            status: created.status,
        },
    ))
}

/// `GET /v1/seller/orders`: ids from the origin, status from each order's object.
///
/// # Errors
/// 401, the origin's refusals, 503.
pub async fn seller_orders(req: Request, ctx: RouteContext<()>) -> Result<Response, EdgeError> {
    let config = EdgeConfig::load(&ctx.env)?;
    let (token, _) = seller_session(&req, &config)?;
    let reply = origin(&config)
        .send(
            Method::Get,
            paths::INTERNAL_SELLER_ORDERS,
            None,
            Some(&token),
        )
        .await?;
    let listed: InternalSellerOrdersResponse = reply.into_json()?;
    let statuses = join_all(
        listed
            .orders
            .iter()
            .map(|o| order_object::status(&ctx.env, &o.order_id)),
    )
    .await;
    let mut orders = Vec::with_capacity(listed.orders.len());
    for (order, status) in listed.orders.into_iter().zip(statuses) {
        // An order the edge never stored (its creation failed half-way) has not moved.
        let status = status?.unwrap_or(OrderStatus::Created);
        orders.push(order.with_status(order_object::seller_status(status)));
    }
    Ok(http::json(200, &SellerOrdersResponse { orders }))
}

/// `GET /v1/seller/orders/{order_id}/label`: SVG with a QR code and the printed platform id,
/// order id and buyer id; 410 once delivered.
///
/// # Errors
/// 401, 404, 410, 503.
pub async fn label(req: Request, ctx: RouteContext<()>) -> Result<Response, EdgeError> {
    let config = EdgeConfig::load(&ctx.env)?;
    let (token, _) = seller_session(&req, &config)?;
    let order_id = order_param(&ctx)?;
    let path = paths::with_id(paths::INTERNAL_SELLER_ORDER, order_id.as_str());
    let reply = origin(&config)
        .send(Method::Get, &path, None, Some(&token))
        .await?;
    let order: InternalSellerOrder = reply.into_json()?;
    if order_object::status(&ctx.env, &order.order_id).await? == Some(OrderStatus::Delivered) {
        return Err(EdgeError::code(ErrorCode::OrderClosed));
    }
    let svg = render_label_svg(
        &order.platform_id,
        &order.order_id,
        &order.buyer_id,
        &order.carrier.name,
    );
    let mut response = Response::ok(svg)?;
    response
        .headers_mut()
        .set("content-type", "image/svg+xml")?;
    Ok(response)
}

/// `GET /v1/orders/{order_id}/tracking`: for the order's buyer (the route so far) or seller
/// (status only, the same shape wherever the buyer lives); status only once delivered.
///
/// # Errors
/// 401, 403 for anyone else, 404, 503.
pub async fn tracking(req: Request, ctx: RouteContext<()>) -> Result<Response, EdgeError> {
    let config = EdgeConfig::load(&ctx.env)?;
    let (_, claims) = session(&req, &config)?;
    let order_id = order_param(&ctx)?;
    let viewer = match claims.subject {
        Subject::Buyer(buyer) => Viewer::Buyer(buyer),
        Subject::Seller(seller) => Viewer::Seller(seller),
    };
    order_object::ask(
        &ctx.env,
        &order_id,
        &OrderCommand::Tracking {
            platform_id: claims.platform_id,
            viewer,
        },
    )
    .await
}

/// How an origin answer may be handled by caches.
pub(crate) enum Sensitivity {
    /// Ids only.
    Plain,
    /// Carries a fresh credential.
    Credential,
    /// Carries personal data.
    PersonalData,
}

pub(crate) fn relay(reply: OriginReply, sensitivity: Sensitivity) -> Result<Response, EdgeError> {
    if !(200..300).contains(&reply.status) {
        return Err(reply.into_error());
    }
    let response = http::raw_json(reply.status, reply.body);
    Ok(match sensitivity {
        Sensitivity::Plain => response,
        Sensitivity::Credential | Sensitivity::PersonalData => http::no_store(response),
    })
}

pub(crate) fn origin(config: &EdgeConfig) -> OriginClient<'_> {
    OriginClient::new(
        &config.origin_url,
        &config.secrets.edge_request,
        config.origin_timeout,
    )
}

fn order_param(ctx: &RouteContext<()>) -> Result<OrderId, EdgeError> {
    let raw = ctx
        .param("order_id")
        .map(String::as_str)
        .unwrap_or_default();
    // A malformed id names no order.
    OrderId::parse(raw).map_err(|_| EdgeError::code(ErrorCode::NotFound))
}

fn session(req: &Request, config: &EdgeConfig) -> Result<(String, SessionClaims), EdgeError> {
    let token = http::require_bearer(req)?;
    let claims = config
        .secrets
        .credentials
        .verify_session(&token, http::now())
        .map_err(|_| EdgeError::code(ErrorCode::Unauthorized))?;
    Ok((token, claims))
}

pub(crate) fn buyer_session(
    req: &Request,
    config: &EdgeConfig,
) -> Result<(String, SessionClaims), EdgeError> {
    let (token, claims) = session(req, config)?;
    match claims.subject {
        Subject::Buyer(_) => Ok((token, claims)),
        Subject::Seller(_) => Err(EdgeError::with_message(
            ErrorCode::Forbidden,
            "This needs a buyer credential.",
        )),
    }
}

fn seller_session(
    req: &Request,
    config: &EdgeConfig,
) -> Result<(String, SessionClaims), EdgeError> {
    let (token, claims) = session(req, config)?;
    match claims.subject {
        Subject::Seller(_) => Ok((token, claims)),
        Subject::Buyer(_) => Err(EdgeError::with_message(
            ErrorCode::Forbidden,
            "This needs a seller credential.",
        )),
    }
}

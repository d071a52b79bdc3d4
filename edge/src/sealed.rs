//! The buyer endpoints the pages use, where personal data crosses the edge sealed: the vault's
//! intake key, registration and new addresses sealed in the browser to it, and the profile
//! sealed to the key the buyer's page registered. The edge checks the shape of each body
//! (unknown fields, sizes), the buyer's credential where one is needed, and relays the
//! ciphertext to the origin: it holds no key that opens any of it.

use lasthop_core::api::{paths, SealedAddressRequest, SealedRegisterBuyerRequest};
use worker::{Method, Request, Response, RouteContext};

use crate::config::EdgeConfig;
use crate::error::EdgeError;
use crate::http;
use crate::shop::{buyer_session, origin, relay, Sensitivity};

/// `GET /v1/vault/intake-key`.
///
/// # Errors
/// The origin's refusals, 503.
pub async fn intake_key(_req: Request, ctx: RouteContext<()>) -> Result<Response, EdgeError> {
    let config = EdgeConfig::load(&ctx.env)?;
    let reply = origin(&config)
        .send(Method::Get, paths::INTERNAL_INTAKE_KEY, None, None)
        .await?;
    relay(reply, Sensitivity::Plain)
}

/// `POST /v1/buyers/sealed`.
///
/// # Errors
/// 400 for a body of the wrong shape (checked here), the origin's refusals, 503.
pub async fn register_buyer(
    mut req: Request,
    ctx: RouteContext<()>,
) -> Result<Response, EdgeError> {
    let config = EdgeConfig::load(&ctx.env)?;
    let (_, bytes) = http::read_json::<SealedRegisterBuyerRequest>(&mut req).await?;
    let reply = origin(&config)
        .send(
            Method::Post,
            paths::INTERNAL_BUYERS_SEALED,
            Some(&bytes),
            None,
        )
        .await?;
    relay(reply, Sensitivity::Credential)
}

/// `POST /v1/buyers/me/addresses/sealed`.
///
/// # Errors
/// 401 without a buyer credential, 400, the origin's refusals, 503.
pub async fn add_address(mut req: Request, ctx: RouteContext<()>) -> Result<Response, EdgeError> {
    let config = EdgeConfig::load(&ctx.env)?;
    let (token, _) = buyer_session(&req, &config)?;
    let (_, bytes) = http::read_json::<SealedAddressRequest>(&mut req).await?;
    let reply = origin(&config)
        .send(
            Method::Post,
            paths::INTERNAL_BUYER_ADDRESSES_SEALED,
            Some(&bytes),
            Some(&token),
        )
        .await?;
    relay(reply, Sensitivity::Plain)
}

/// `GET /v1/buyers/me/sealed`: ciphertext only, yet never cached.
///
/// # Errors
/// 401 without a buyer credential, 409 for a buyer registered in plaintext, 503.
pub async fn buyer_profile(req: Request, ctx: RouteContext<()>) -> Result<Response, EdgeError> {
    let config = EdgeConfig::load(&ctx.env)?;
    let (token, _) = buyer_session(&req, &config)?;
    let reply = origin(&config)
        .send(
            Method::Get,
            paths::INTERNAL_BUYER_PROFILE_SEALED,
            None,
            Some(&token),
        )
        .await?;
    relay(reply, Sensitivity::PersonalData)
}

//! `lasthop-edge`: the Cloudflare Worker that browsers and courier scanners talk to. It is a
//! thin adapter over `lasthop-core`: every decision (credentials, binding check, hop verdicts,
//! state machine, sealing, request signing, label) is the core's; the Worker routes requests,
//! keeps each order's tokenised record in a Durable Object, and calls the origin vault, signed,
//! only for registration, addresses, the buyer's profile, order creation, the seller's list,
//! and the final hop's release of the recipient.
//!
//! Build with `worker-build --release` in `edge/` (or `cargo xtask build-edge`); run locally
//! with `wrangler dev` (real workerd) from a config like the root `wrangler.toml`, next to a
//! `.dev.vars` holding `LASTHOP_EDGE_SECRETS` (from `lasthop-origin edge-secrets`). Lint with
//! `cargo clippy -p lasthop-edge --target wasm32-unknown-unknown -- -D warnings`. The pure parts
//! (token bucket, route sealing, error mapping) have native unit tests:
//! `cargo test -p lasthop-edge --lib`. End-to-end tests through `wrangler dev` and a real origin
//! live in `tests/tests/` (`journeys.rs`, `resilience.rs`).
//!
//! # Layout
//!
//! - `bench` (cargo feature `bench`, never deployed): the plaintext baseline and the endpoints
//!   `cargo xtask bench` drives.
//! - [`config`]: binding names and settings, read in one place.
//! - [`error`]: the one error type, answered in the contract's format.
//! - [`http`]: bounded body reading, JSON answers, bearer tokens, the clock.
//! - [`shop`]: buyer, seller, order, label and tracking endpoints.
//! - [`courier`]: pickup, hop and deliver scans.
//! - [`pages`]: the buyer, seller and terminal pages (static assets) with their security headers.
//! - [`revocations`]: the origin's signed revocation push.
//! - [`origin_client`]: signed calls to the origin's internal endpoints.
//! - [`order_object`]: `OrderObject`, one Durable Object per order.
//! - [`scanner_gate`]: `ScannerGate`, one Durable Object per scanner (revocation, rate limit).

#[cfg(feature = "bench")]
pub mod bench;
pub mod config;
pub mod courier;
pub mod error;
pub mod http;
pub mod order_object;
pub mod origin_client;
pub mod pages;
pub mod revocations;
pub mod scanner_gate;
pub mod shop;

use std::future::Future;
use std::pin::Pin;

use lasthop_core::api::ErrorCode;
use worker::{
    console_log, event, Context, Date, Env, Method, Request, Response, RouteContext, Router,
};

use crate::error::EdgeError;

pub use crate::order_object::OrderObject;
pub use crate::scanner_gate::ScannerGate;

/// The edge's OpenAPI document, checked in at `edge/openapi.json`.
pub const OPENAPI_JSON: &str = include_str!("../openapi.json");

/// Answer for paths and methods no endpoint serves (the message tells it apart from an
/// unknown id).
pub const NO_ENDPOINT_MESSAGE: &str = "There is no endpoint for this method and path.";

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> worker::Result<Response> {
    let response = router().run(req, env).await?;
    // The router answers a known path with another method itself, in plain text.
    if response.status_code() == 405 {
        return Ok(
            EdgeError::with_message(ErrorCode::NotFound, NO_ENDPOINT_MESSAGE).into_response(),
        );
    }
    Ok(response)
}

fn router() -> Router<'static, ()> {
    let router = routes();
    #[cfg(feature = "bench")]
    let router = bench::routes(router);
    router
}

fn routes() -> Router<'static, ()> {
    Router::new()
        .get_async("/healthz", |req, ctx| serve("/healthz", req, ctx, healthz))
        .get_async("/openapi.json", |req, ctx| {
            serve("/openapi.json", req, ctx, openapi)
        })
        .post_async("/v1/buyers", |req, ctx| {
            serve("/v1/buyers", req, ctx, shop::register_buyer)
        })
        .post_async("/v1/buyers/me/addresses", |req, ctx| {
            serve("/v1/buyers/me/addresses", req, ctx, shop::add_address)
        })
        .get_async("/v1/buyers/me", |req, ctx| {
            serve("/v1/buyers/me", req, ctx, shop::buyer_profile)
        })
        .post_async("/v1/sellers", |req, ctx| {
            serve("/v1/sellers", req, ctx, shop::register_seller)
        })
        .post_async("/v1/orders", |req, ctx| {
            serve("/v1/orders", req, ctx, shop::create_order)
        })
        .get_async("/v1/seller/orders", |req, ctx| {
            serve("/v1/seller/orders", req, ctx, shop::seller_orders)
        })
        .get_async("/v1/seller/orders/:order_id/label", |req, ctx| {
            serve("/v1/seller/orders/{order_id}/label", req, ctx, shop::label)
        })
        .get_async("/v1/orders/:order_id/tracking", |req, ctx| {
            serve("/v1/orders/{order_id}/tracking", req, ctx, shop::tracking)
        })
        .post_async("/v1/scans/pickup", |req, ctx| {
            serve("/v1/scans/pickup", req, ctx, courier::pickup)
        })
        .post_async("/v1/scans/hop", |req, ctx| {
            serve("/v1/scans/hop", req, ctx, courier::hop)
        })
        .post_async("/v1/scans/deliver", |req, ctx| {
            serve("/v1/scans/deliver", req, ctx, courier::deliver)
        })
        .post_async("/internal/v1/revocations", |req, ctx| {
            serve("/internal/v1/revocations", req, ctx, revocations::revoke)
        })
        .get_async("/", |req, ctx| serve("page", req, ctx, pages::serve))
        // Any other path: a page or one of its files for GET and HEAD, else the JSON 404.
        .or_else_any_method_async("/*path", |req, ctx| serve("page", req, ctx, pages::serve))
}

/// Runs one handler, turns its error into the contract's answer, and logs one structured line
/// (method, route pattern, status, milliseconds): never a body, a header or a query.
///
/// Generic only in name: it boxes the handler's future and hands it to [`serve_boxed`], so the
/// answer-and-log code exists once in the Worker instead of once per route (it is a large part
/// of the wasm otherwise).
fn serve<F, Fut>(
    route: &'static str,
    req: Request,
    ctx: RouteContext<()>,
    handler: F,
) -> impl Future<Output = worker::Result<Response>>
where
    F: FnOnce(Request, RouteContext<()>) -> Fut,
    Fut: Future<Output = Result<Response, EdgeError>> + 'static,
{
    let method = req.method();
    serve_boxed(route, method, Box::pin(handler(req, ctx)))
}

/// A handler's answer, boxed so that [`serve_boxed`] is compiled once.
type Handled = Pin<Box<dyn Future<Output = Result<Response, EdgeError>>>>;

async fn serve_boxed(
    route: &'static str,
    method: Method,
    handled: Handled,
) -> worker::Result<Response> {
    let started = Date::now().as_millis();
    let response = handled.await.unwrap_or_else(EdgeError::into_response);
    let elapsed = Date::now().as_millis().saturating_sub(started);
    console_log!(
        "{{\"level\":\"info\",\"method\":\"{method}\",\"route\":\"{route}\",\"status\":{},\"ms\":{elapsed}}}",
        response.status_code()
    );
    Ok(response)
}

async fn healthz(_req: Request, _ctx: RouteContext<()>) -> Result<Response, EdgeError> {
    Ok(Response::ok("ok")?)
}

async fn openapi(_req: Request, _ctx: RouteContext<()>) -> Result<Response, EdgeError> {
    Ok(http::raw_json(200, OPENAPI_JSON.as_bytes().to_vec()))
}

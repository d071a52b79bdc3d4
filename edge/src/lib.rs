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
//! - [`courier`]: pickup, hop and deliver scans (device-signed), and a device's credential renewal.
//! - [`pages`]: the buyer, seller and terminal pages (static assets) with their security headers.
//! - [`sealed`]: the pages' sealed buyer endpoints (intake key, sealed registration, sealed
//!   addresses, sealed profile): ciphertext relayed, nothing opened.
//! - [`revocations`]: the origin's signed revocation push.
//! - [`origin_client`]: signed calls to the origin's internal endpoints.
//! - [`order_object`]: `OrderObject`, one Durable Object per order (command protocol, sealed
//!   route and chain of custody, storage).
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
pub mod sealed;
pub mod shop;

use std::future::Future;
use std::pin::Pin;

use lasthop_core::api::{paths, ErrorCode};
use worker::{
    console_log, event, Context, Date, Env, Method, Request, Response, RouteContext, Router,
};

use crate::error::EdgeError;

pub use crate::order_object::OrderObject;
pub use crate::scanner_gate::ScannerGate;

/// Answer for paths and methods no endpoint serves (the message tells it apart from an
/// unknown id).
pub const NO_ENDPOINT_MESSAGE: &str = "There is no endpoint for this method and path.";

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> worker::Result<Response> {
    let path = req.path();
    // workers-rs reads a method it does not know (`QUERY`, made-up ones) as GET: refuse those
    // before the router would serve them as a GET.
    let raw_method = req.inner().method();
    if Method::from(raw_method.clone()).as_ref() != raw_method.to_ascii_uppercase() {
        return Ok(method_not_allowed(&path));
    }
    let response = router().run(req, env).await?;
    // The router answers a known path with another method itself, in plain text and without
    // `Allow`: answer in the contract's format.
    if response.status_code() == 405 {
        return Ok(method_not_allowed(&path));
    }
    Ok(response)
}

/// A route's handler, its future boxed (see [`serve`]).
pub type Handler = fn(Request, RouteContext<()>) -> Handled;

/// One API route: the router and the `Allow` of a 405 are both built from these.
#[derive(Clone, Copy)]
pub struct Route {
    /// The method it answers, upper case.
    pub method: &'static str,
    /// The router's pattern (`:name` for a parameter).
    pub pattern: &'static str,
    /// The name logged for it (the OpenAPI path).
    pub name: &'static str,
    /// The handler.
    pub handler: Handler,
}

/// Every route of the Worker but the pages' catch-all (which serves any other path).
const ROUTES: [Route; 23] = [
    Route {
        method: "GET",
        pattern: "/healthz",
        name: "/healthz",
        handler: |req, ctx| Box::pin(healthz(req, ctx)),
    },
    Route {
        method: "GET",
        pattern: "/openapi.json",
        name: "/openapi.json",
        // A static file of the assets binding (`pages/openapi.json`), not compiled into the
        // Worker: it would cost ~6 KiB of the size budget.
        handler: |req, ctx| Box::pin(pages::serve(req, ctx)),
    },
    Route {
        method: "POST",
        pattern: "/v1/buyers",
        name: "/v1/buyers",
        handler: |req, ctx| Box::pin(shop::register_buyer(req, ctx)),
    },
    Route {
        method: "POST",
        pattern: "/v1/buyers/me/addresses",
        name: "/v1/buyers/me/addresses",
        handler: |req, ctx| Box::pin(shop::add_address(req, ctx)),
    },
    Route {
        method: "PUT",
        pattern: "/v1/buyers/me/addresses/:address_id",
        name: paths::BUYER_ADDRESS,
        handler: |req, ctx| Box::pin(shop::modify_address(req, ctx)),
    },
    Route {
        method: "PUT",
        pattern: "/v1/buyers/me/addresses/:address_id/sealed",
        name: paths::BUYER_ADDRESS_SEALED,
        handler: |req, ctx| Box::pin(shop::modify_address(req, ctx)),
    },
    Route {
        method: "GET",
        pattern: "/v1/buyers/me",
        name: "/v1/buyers/me",
        handler: |req, ctx| Box::pin(shop::buyer_profile(req, ctx)),
    },
    Route {
        method: "GET",
        pattern: "/v1/buyers/me/quotes",
        name: "/v1/buyers/me/quotes",
        handler: |req, ctx| Box::pin(shop::quotes(req, ctx)),
    },
    Route {
        method: "GET",
        pattern: paths::INTAKE_KEY,
        name: paths::INTAKE_KEY,
        handler: |req, ctx| Box::pin(sealed::intake_key(req, ctx)),
    },
    Route {
        method: "POST",
        pattern: paths::BUYERS_SEALED,
        name: paths::BUYERS_SEALED,
        handler: |req, ctx| Box::pin(sealed::register_buyer(req, ctx)),
    },
    Route {
        method: "POST",
        pattern: paths::BUYER_ADDRESSES_SEALED,
        name: paths::BUYER_ADDRESSES_SEALED,
        handler: |req, ctx| Box::pin(sealed::add_address(req, ctx)),
    },
    Route {
        method: "GET",
        pattern: paths::BUYER_PROFILE_SEALED,
        name: paths::BUYER_PROFILE_SEALED,
        handler: |req, ctx| Box::pin(sealed::buyer_profile(req, ctx)),
    },
    Route {
        method: "POST",
        pattern: "/v1/sellers",
        name: "/v1/sellers",
        handler: |req, ctx| Box::pin(shop::register_seller(req, ctx)),
    },
    Route {
        method: "POST",
        pattern: "/v1/orders",
        name: "/v1/orders",
        handler: |req, ctx| Box::pin(shop::create_order(req, ctx)),
    },
    Route {
        method: "GET",
        pattern: "/v1/seller/orders",
        name: "/v1/seller/orders",
        handler: |req, ctx| Box::pin(shop::seller_orders(req, ctx)),
    },
    Route {
        method: "GET",
        pattern: "/v1/seller/orders/:order_id/label",
        name: "/v1/seller/orders/{order_id}/label",
        handler: |req, ctx| Box::pin(shop::label(req, ctx)),
    },
    Route {
        method: "GET",
        pattern: "/v1/orders/:order_id/tracking",
        name: "/v1/orders/{order_id}/tracking",
        handler: |req, ctx| Box::pin(shop::tracking(req, ctx)),
    },
    Route {
        method: "POST",
        pattern: paths::SCAN_PICKUP,
        name: paths::SCAN_PICKUP,
        handler: |req, ctx| Box::pin(courier::pickup(req, ctx)),
    },
    Route {
        method: "POST",
        pattern: paths::SCAN_HOP,
        name: paths::SCAN_HOP,
        handler: |req, ctx| Box::pin(courier::hop(req, ctx)),
    },
    Route {
        method: "POST",
        pattern: paths::SCAN_DELIVER,
        name: paths::SCAN_DELIVER,
        handler: |req, ctx| Box::pin(courier::deliver(req, ctx)),
    },
    Route {
        method: "POST",
        pattern: paths::SCANNER_RENEW,
        name: paths::SCANNER_RENEW,
        handler: |req, ctx| Box::pin(courier::renew(req, ctx)),
    },
    Route {
        method: "POST",
        pattern: paths::INTERNAL_REVOCATIONS,
        name: paths::INTERNAL_REVOCATIONS,
        handler: |req, ctx| Box::pin(revocations::revoke(req, ctx)),
    },
    Route {
        method: "GET",
        pattern: "/",
        name: "page",
        handler: |req, ctx| Box::pin(pages::serve(req, ctx)),
    },
];

/// The API routes, with the bench build's own when it is one.
fn all_routes() -> impl Iterator<Item = Route> {
    let routes = ROUTES.into_iter();
    #[cfg(feature = "bench")]
    let routes = routes.chain(bench::ROUTES);
    routes
}

fn router() -> Router<'static, ()> {
    let mut router = Router::new();
    for route in all_routes() {
        let run = move |req: Request, ctx: RouteContext<()>| {
            let method = req.method();
            // A path that another route names literally (`…/addresses/sealed`) is that
            // route's, never this pattern's parameter (`…/addresses/:address_id`): another
            // method on it is 405, as `Allow` says.
            let path = req.path();
            if route.pattern.contains(':') && all_routes().any(|other| other.pattern == path) {
                let refused: Handled = Box::pin(async move { Ok(method_not_allowed(&path)) });
                return serve(route.name, method, refused);
            }
            serve(route.name, method, (route.handler)(req, ctx))
        };
        router = match route.method {
            "GET" => router.get_async(route.pattern, run),
            "DELETE" => router.delete_async(route.pattern, run),
            "PUT" => router.put_async(route.pattern, run),
            "PATCH" => router.patch_async(route.pattern, run),
            _ => router.post_async(route.pattern, run),
        };
    }
    router
        // Any other path: a page or one of its files for GET and HEAD, else the JSON 404.
        .or_else_any_method_async("/*path", |req, ctx| {
            let method = req.method();
            serve("page", method, Box::pin(pages::serve(req, ctx)))
        })
}

/// 405 in the contract's format, naming in `Allow` the methods `path` does answer.
fn method_not_allowed(path: &str) -> Response {
    let mut answer = EdgeError::code(ErrorCode::MethodNotAllowed).into_response();
    let _ = answer
        .headers_mut()
        .set("allow", &allowed_methods(path).join(", "));
    answer
}

/// The methods the routes whose pattern matches `path` answer, for `Allow`. A path that a
/// pattern without parameters names (`/v1/buyers/me/addresses/sealed`) is that route's, as
/// the router decides, not a parameter's value (`…/addresses/{address_id}`).
fn allowed_methods(path: &str) -> Vec<&'static str> {
    let literal = all_routes().any(|route| route.pattern == path);
    let mut methods: Vec<&'static str> = all_routes()
        .filter(|route| pattern_matches(route.pattern, path))
        .filter(|route| !literal || route.pattern == path)
        .map(|route| route.method)
        .collect();
    methods.sort_unstable();
    methods.dedup();
    methods
}

/// Whether a router pattern (`/a/:id/b`) matches a path segment by segment.
fn pattern_matches(pattern: &str, path: &str) -> bool {
    let mut wanted = pattern.split('/');
    let mut given = path.split('/');
    loop {
        match (wanted.next(), given.next()) {
            (None, None) => return true,
            (Some(w), Some(g)) if w.starts_with(':') && !g.is_empty() => {}
            (Some(w), Some(g)) if w == g => {}
            _ => return false,
        }
    }
}

/// Runs one handler, turns its error into the contract's answer, and logs one structured line
/// (method, route name, status, milliseconds): never a body, a header or a query. Handlers are
/// boxed so that this code exists once in the Worker instead of once per route.
async fn serve(route: &'static str, method: Method, handled: Handled) -> worker::Result<Response> {
    let started = Date::now().as_millis();
    let response = handled.await.unwrap_or_else(EdgeError::into_response);
    let elapsed = Date::now().as_millis().saturating_sub(started);
    console_log!(
        "{{\"level\":\"info\",\"method\":\"{method}\",\"route\":\"{route}\",\"status\":{},\"ms\":{elapsed}}}",
        response.status_code()
    );
    Ok(response)
}

/// A handler's answer, boxed so that [`serve`] is compiled once.
pub type Handled = Pin<Box<dyn Future<Output = Result<Response, EdgeError>>>>;

async fn healthz(_req: Request, _ctx: RouteContext<()>) -> Result<Response, EdgeError> {
    Ok(Response::ok("ok")?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allow_names_the_methods_of_the_routes_a_path_matches() {
        assert_eq!(allowed_methods(paths::SCAN_HOP), ["POST"]);
        assert_eq!(
            allowed_methods("/v1/orders/o_0000000000000000/tracking"),
            ["GET"]
        );
        assert_eq!(allowed_methods("/v1/buyers/me"), ["GET"]);
        assert_eq!(
            allowed_methods("/v1/buyers/me/addresses/a_0000000000000000"),
            ["PUT"]
        );
        // A literal route's path is not a parameter's value.
        assert_eq!(allowed_methods(paths::BUYER_ADDRESSES_SEALED), ["POST"]);
        assert!(allowed_methods("/v1/orders//tracking").is_empty());
        assert!(allowed_methods("/v1/scans/hop/more").is_empty());
        assert!(allowed_methods("/nothing").is_empty());
    }
}

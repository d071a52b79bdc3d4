//! Bench-only endpoints (cargo feature `bench`): never in the deployed Worker, never in a
//! `wrangler.toml` environment. `cargo xtask bench` builds this variant into
//! `edge/build-bench/` and drives it under `wrangler dev`.
//!
//! - `POST /bench/v1/decisions` `{"n": N}`: takes the costliest hop decision
//!   ([`lasthop_core::bench::costliest_hop`]) N times inside wasm and answers
//!   `{"n", "hmacs", "verdict"}`. Workers freeze the clock while code runs, so the caller
//!   times requests of N and of 1 decisions and divides the difference.
//! - `POST /bench/v1/seed` `{"path": "lasthop" | "baseline", "orders": [{"order_id",
//!   "region", "pickup"}]}`: creates picked-up orders without the origin, many per request, for
//!   scans and for the stored-orders growth figure. `lasthop` orders are tokenised here with the
//!   edge's own keys and go through the real `create` and `pickup` commands of their
//!   `OrderObject`; `baseline` orders are written in the clear (see [`baseline`]).
//! - `POST /bench/v1/baseline/scans/hop`: the plaintext baseline of `POST /v1/scans/hop`.

pub mod baseline;

use std::cell::RefCell;
use std::rc::Rc;

use futures_util::future::join_all;
use lasthop_core::bench::{costliest_hop, HopCase};
use lasthop_core::ids::{BuyerId, CarrierId, HubId, OrderId, PlatformId, SellerId};
use lasthop_core::keys::EdgeSecrets;
use lasthop_core::region::{Directory, HubLevel, HubRegion, RegionCode};
use lasthop_core::tokens::tokenise_order;
use rand_core::OsRng;
use serde::{Deserialize, Serialize};
use worker::{Request, Response, RouteContext};

use crate::config::EdgeConfig;
use crate::error::EdgeError;
use crate::http;
use crate::order_object::{self, OrderCommand, ScanningHub};
use crate::Route;
use lasthop_core::api::ErrorCode;

/// The most orders one seed request may create (each is one or two object calls).
const MAX_SEED_ORDERS: usize = 500;
/// The most decisions one request may take (a few seconds of CPU at worst).
const MAX_DECISIONS: u32 = 100_000;

/// The bench routes, added to the Worker's own.
pub const ROUTES: [Route; 3] = [
    Route {
        method: "POST",
        pattern: "/bench/v1/decisions",
        name: "/bench/v1/decisions",
        handler: |req, ctx| Box::pin(decisions(req, ctx)),
    },
    Route {
        method: "POST",
        pattern: "/bench/v1/seed",
        name: "/bench/v1/seed",
        handler: |req, ctx| Box::pin(seed(req, ctx)),
    },
    Route {
        method: "POST",
        pattern: "/bench/v1/baseline/scans/hop",
        name: "/bench/v1/baseline/scans/hop",
        handler: |req, ctx| Box::pin(baseline::hop(req, ctx)),
    },
];

#[derive(Deserialize)]
struct DecisionsRequest {
    n: u32,
}

#[derive(Serialize)]
struct DecisionsResponse {
    n: u32,
    hmacs: u32,
    verdict: &'static str,
}

thread_local! {
    // Finding the costliest case takes one decision per city; an isolate does it once.
    static CASE: RefCell<Option<Rc<HopCase>>> = const { RefCell::new(None) };
}

fn costliest(secrets: &EdgeSecrets) -> Result<Rc<HopCase>, EdgeError> {
    if let Some(case) = CASE.with(|c| c.borrow().clone()) {
        return Ok(case);
    }
    let case = costliest_hop(&secrets.region, &secrets.binding, &mut OsRng)
        .map_err(|_| EdgeError::internal("building the costliest hop case"))?;
    let case = Rc::new(case);
    CASE.with(|c| *c.borrow_mut() = Some(Rc::clone(&case)));
    Ok(case)
}

/// `POST /bench/v1/decisions`.
async fn decisions(mut req: Request, ctx: RouteContext<()>) -> Result<Response, EdgeError> {
    let config = EdgeConfig::load(&ctx.env)?;
    let (request, _) = http::read_json::<DecisionsRequest>(&mut req).await?;
    if request.n == 0 || request.n > MAX_DECISIONS {
        return Err(EdgeError::with_message(
            ErrorCode::InvalidInput,
            "n must be between 1 and 100000.",
        ));
    }
    let case = costliest(&config.secrets)?;
    let mut verdict = "";
    for _ in 0..request.n {
        let decided = case.decide(std::hint::black_box(&config.secrets.region))?;
        verdict = std::hint::black_box(decided).as_str();
    }
    Ok(http::json(
        200,
        &DecisionsResponse {
            n: request.n,
            hmacs: case.hmacs,
            verdict,
        },
    ))
}

/// Which scan path a seeded order serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum SeedPath {
    Lasthop,
    Baseline,
}

#[derive(Deserialize)]
struct SeedRequest {
    path: SeedPath,
    orders: Vec<SeedOrder>,
}

/// One order to create, already picked up at `pickup` (a hub's region code).
#[derive(Deserialize)]
struct SeedOrder {
    order_id: String,
    region: String,
    pickup: String,
}

#[derive(Serialize)]
struct SeedResponse {
    created: usize,
}

/// `POST /bench/v1/seed`.
async fn seed(mut req: Request, ctx: RouteContext<()>) -> Result<Response, EdgeError> {
    let config = EdgeConfig::load(&ctx.env)?;
    let (request, _) = http::read_json::<SeedRequest>(&mut req).await?;
    if request.orders.len() > MAX_SEED_ORDERS {
        return Err(EdgeError::with_message(
            ErrorCode::InvalidInput,
            "at most 500 orders per seed request.",
        ));
    }
    let env = &ctx.env;
    let config = &config;
    let results = join_all(request.orders.iter().map(|order| async move {
        match request.path {
            SeedPath::Lasthop => seed_lasthop(env, config, order).await,
            SeedPath::Baseline => baseline::seed(env, order).await,
        }
    }))
    .await;
    let created = results.iter().filter(|r| r.is_ok()).count();
    if let Some(Err(error)) = results.into_iter().find(Result::is_err) {
        return Err(error);
    }
    Ok(http::json(201, &SeedResponse { created }))
}

/// A tokenised order picked up at its hub, through the object's real commands.
async fn seed_lasthop(
    env: &worker::Env,
    config: &EdgeConfig,
    order: &SeedOrder,
) -> Result<(), EdgeError> {
    let parsed = ParsedSeed::parse(order)?;
    let buyer = BuyerId::generate(&mut OsRng);
    let secrets = &config.secrets;
    let record = tokenise_order(
        &secrets.region,
        &secrets.binding,
        &parsed.platform,
        &parsed.order_id,
        &SellerId::generate(&mut OsRng),
        &buyer,
        &parsed.region,
    )
    .map_err(|_| EdgeError::internal("tokenising a seeded order"))?;
    expect_ok(order_object::ask(env, &parsed.order_id, &OrderCommand::Create { record }).await?)?;
    let pickup = OrderCommand::Pickup {
        platform_id: parsed.platform,
        buyer_id: buyer,
        waybill: "BENCH".to_owned(),
        scanner: ScanningHub {
            hub_id: HubId::generate(&mut OsRng),
            hub: parsed.pickup,
            // Seeded orders are the default carrier's (no carriage in their record).
            carrier_id: CarrierId::platform_default(),
        },
        scan: None,
    };
    expect_ok(order_object::ask(env, &parsed.order_id, &pickup).await?)
}

fn expect_ok(response: Response) -> Result<(), EdgeError> {
    if (200..300).contains(&response.status_code()) {
        Ok(())
    } else {
        Err(EdgeError::internal(
            "an order object refused a seeded order",
        ))
    }
}

/// A [`SeedOrder`] with its fields parsed.
struct ParsedSeed {
    platform: PlatformId,
    order_id: OrderId,
    region: lasthop_core::region::DeliveryRegion,
    pickup: HubRegion,
}

impl ParsedSeed {
    fn parse(order: &SeedOrder) -> Result<Self, EdgeError> {
        let bad = |field: &str| {
            EdgeError::with_message(
                ErrorCode::InvalidInput,
                format!("bad seed field `{field}`."),
            )
        };
        let directory = Directory::china();
        let region = RegionCode::parse(&order.region)
            .ok()
            .and_then(|code| directory.delivery_region(code).ok())
            .ok_or_else(|| bad("region"))?;
        let pickup = RegionCode::parse(&order.pickup)
            .ok()
            .and_then(|code| {
                let level = if order.pickup.len() == 4 {
                    HubLevel::City
                } else {
                    HubLevel::District
                };
                directory.hub_region(level, code).ok()
            })
            .ok_or_else(|| bad("pickup"))?;
        Ok(Self {
            platform: PlatformId::parse("demo").map_err(|_| bad("platform"))?,
            order_id: OrderId::parse(&order.order_id).map_err(|_| bad("order_id"))?,
            region,
            pickup,
        })
    }
}

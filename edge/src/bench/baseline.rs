//! The plaintext baseline: what a courier network without lasthop's privacy would run for a
//! non-final hop scan, on the same Worker path and the same Durable Object storage, so that
//! `cargo xtask bench` can report lasthop's overhead against it.
//!
//! Kept the same as `POST /v1/scans/hop`: routing, the scanner credential (Ed25519) and its
//! gate object (revocation, rate), the JSON body and its parser, one `OrderObject` per order
//! that loads its state, decides, appends the scan to the route and writes one JSON value
//! under one key. Left out, because they exist for privacy only: region tags (the buyer's
//! delivery region is stored in the clear and compared directly, where lasthop computes HMACs
//! over candidate regions), the sealed route (the route is stored in the clear), and the
//! binding tag. The final hop is not part of the comparison (it needs the origin either way).

use lasthop_core::api::{ErrorCode, HopScanRequest};
use lasthop_core::ids::{HubId, OrderId, PlatformId};
use lasthop_core::progress::Verdict;
use lasthop_core::region::{DeliveryRegion, Directory, HubLevel, HubRegion, RegionCode};
use lasthop_core::time::Timestamp;
use serde::{Deserialize, Serialize};
use worker::{Env, Method, Request, RequestInit, Response, RouteContext, State};

use lasthop_core::credential::ScannerRole;

use super::{ParsedSeed, SeedOrder};
use crate::error::EdgeError;
use crate::http;

/// The object path that carries baseline commands (the real commands use `/`).
pub const OBJECT_PATH: &str = "/bench";
/// Storage key of a baseline order (the real order uses `order`).
const BASELINE_KEY: &str = "baseline";

/// What the Worker asks an order's object on the baseline path.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
enum BaselineCommand {
    /// Store a picked-up order in the clear.
    Seed {
        platform_id: PlatformId,
        order_id: OrderId,
        region: String,
        pickup: HubRegion,
    },
    /// A hub scan.
    Hop {
        platform_id: PlatformId,
        hub_id: HubId,
        hub: HubRegion,
    },
}

/// A baseline order as stored: the buyer's delivery region, the expected hub and the route,
/// all in the clear.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct BaselineOrder {
    platform_id: PlatformId,
    order_id: OrderId,
    region: String,
    expected: Option<HubRegion>,
    last_hub: Option<HubId>,
    route: Vec<BaselineHop>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct BaselineHop {
    hub_id: HubId,
    hub: HubRegion,
    verdict: String,
    next: Option<HubRegion>,
    at: Timestamp,
}

/// `POST /bench/v1/baseline/scans/hop`.
///
/// # Errors
/// As `POST /v1/scans/hop` for non-final scans.
pub async fn hop(mut req: Request, ctx: RouteContext<()>) -> Result<Response, EdgeError> {
    // The same admission as the real path: credential, the scanner's gate, the role.
    let admitted = crate::courier::admit(
        &mut req,
        &ctx,
        Some(ScannerRole::Hub),
        lasthop_core::api::paths::SCAN_HOP,
    )
    .await?;
    let scanner = crate::courier::hub_of(&admitted.claims);
    let scan = lasthop_core::api::parse_json::<HopScanRequest>(&admitted.body)?.parse()?;
    let command = BaselineCommand::Hop {
        platform_id: scan.platform_id,
        hub_id: scanner.hub_id,
        hub: scanner.hub,
    };
    ask(&ctx.env, &scan.order_id, &command).await
}

/// Creates a picked-up baseline order.
pub(super) async fn seed(env: &Env, order: &SeedOrder) -> Result<(), EdgeError> {
    let parsed = ParsedSeed::parse(order)?;
    let command = BaselineCommand::Seed {
        platform_id: parsed.platform,
        order_id: parsed.order_id.clone(),
        region: parsed.region.code().to_string(),
        pickup: parsed.pickup,
    };
    let response = ask(env, &parsed.order_id, &command).await?;
    super::expect_ok(response)
}

async fn ask(
    env: &Env,
    order_id: &OrderId,
    command: &BaselineCommand,
) -> Result<Response, EdgeError> {
    let stub = crate::config::orders(env)?
        .id_from_name(order_id.as_str())?
        .get_stub()?;
    let body = serde_json::to_string(command)
        .map_err(|_| EdgeError::internal("encoding a baseline command"))?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post).with_body(Some(body.into()));
    let request = Request::new_with_init(&format!("https://order{OBJECT_PATH}"), &init)?;
    Ok(stub.fetch_with_request(request).await?)
}

/// Runs a baseline command inside the order's object.
///
/// # Errors
/// Refusals as the real path answers them, or an internal fault.
pub async fn object_fetch(state: &State, mut req: Request) -> Result<Response, EdgeError> {
    let command: BaselineCommand = req.json().await.map_err(|_| {
        EdgeError::internal("the order object got a baseline command it does not know")
    })?;
    match command {
        BaselineCommand::Seed {
            platform_id,
            order_id,
            region,
            pickup,
        } => {
            let order = BaselineOrder {
                platform_id,
                order_id,
                region,
                expected: Some(pickup),
                last_hub: None,
                route: Vec::new(),
            };
            save(state, &order).await?;
            Ok(http::json(201, &serde_json::json!({"status": "picked_up"})))
        }
        BaselineCommand::Hop {
            platform_id,
            hub_id,
            hub,
        } => {
            let mut order = load(state)
                .await?
                .filter(|o| o.platform_id == platform_id)
                .ok_or_else(|| EdgeError::code(ErrorCode::NotFound))?;
            let region = Directory::china()
                .delivery_region(
                    RegionCode::parse(&order.region)
                        .map_err(|_| EdgeError::internal("a stored baseline region"))?,
                )
                .map_err(|_| EdgeError::internal("a stored baseline region"))?;
            let repeat = order.last_hub.as_ref() == Some(&hub_id);
            if !repeat && order.expected != Some(hub) {
                return Err(EdgeError::code(ErrorCode::OffRoute));
            }
            let (verdict, next) = decide(&region, &hub)?;
            if !repeat {
                order.expected = next;
                order.last_hub = Some(hub_id.clone());
                order.route.push(BaselineHop {
                    hub_id,
                    hub,
                    verdict: verdict.as_str().to_owned(),
                    next,
                    at: http::now(),
                });
                save(state, &order).await?;
            }
            match verdict.to_response() {
                Some(body) => Ok(http::json(200, &body)),
                None => Ok(http::json(200, &serde_json::json!({"verdict": "deliver"}))),
            }
        }
    }
}

/// The plaintext hop decision: the same rules as the core's, by comparing codes.
fn decide(
    region: &DeliveryRegion,
    hub: &HubRegion,
) -> Result<(Verdict, Option<HubRegion>), EdgeError> {
    let directory = Directory::china();
    let unknown = |_| EdgeError::internal("a baseline region outside the directory");
    if *hub == region.final_hub() {
        return Ok((Verdict::Deliver, None));
    }
    let next = match hub.level() {
        HubLevel::District => {
            let city = hub
                .code()
                .truncated_parent()
                .ok_or_else(|| EdgeError::internal("a district without a city"))?;
            return Ok((
                Verdict::ForwardUp,
                Some(
                    directory
                        .hub_region(HubLevel::City, city)
                        .map_err(unknown)?,
                ),
            ));
        }
        HubLevel::City if hub.code() == region.city() => region.final_hub(),
        HubLevel::City => directory
            .hub_region(HubLevel::City, region.city())
            .map_err(unknown)?,
    };
    Ok((Verdict::RouteTo(next), Some(next)))
}

async fn load(state: &State) -> Result<Option<BaselineOrder>, EdgeError> {
    let Some(text) = state.storage().get::<String>(BASELINE_KEY).await? else {
        return Ok(None);
    };
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|_| EdgeError::internal("the stored baseline order does not parse"))
}

async fn save(state: &State, order: &BaselineOrder) -> Result<(), EdgeError> {
    let text = serde_json::to_string(order)
        .map_err(|_| EdgeError::internal("encoding the baseline order"))?;
    state.storage().put(BASELINE_KEY, text).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use lasthop_core::ids::{BuyerId, OrderId, SellerId};
    use lasthop_core::keys::{MasterKeyRing, OriginKeys};
    use lasthop_core::progress::Progress;
    use lasthop_core::tokens::tokenise_order;
    use rand_core::OsRng;

    use super::*;

    fn hub(code: &str) -> HubRegion {
        let level = if code.len() == 4 {
            HubLevel::City
        } else {
            HubLevel::District
        };
        Directory::china()
            .hub_region(level, RegionCode::parse(code).unwrap())
            .unwrap()
    }

    /// Follows every verdict from `pickup` with both decisions until `deliver`.
    fn both_routes(buyer_region: &str, pickup: &str) -> (Vec<Verdict>, Vec<Verdict>) {
        let keys = OriginKeys::derive(&MasterKeyRing::generate(&mut OsRng));
        let region = Directory::china()
            .delivery_region(RegionCode::parse(buyer_region).unwrap())
            .unwrap();
        let buyer = BuyerId::generate(&mut OsRng);
        let record = tokenise_order(
            &keys.region,
            &keys.binding,
            &PlatformId::parse("demo").unwrap(),
            &OrderId::generate(&mut OsRng),
            &SellerId::generate(&mut OsRng),
            &buyer,
            &region,
        )
        .unwrap();
        let mut progress = Progress::new();
        let mut at = hub(pickup);
        progress
            .pickup(&keys.region, &keys.binding, &record, &buyer, &at)
            .unwrap();
        let (mut tagged, mut plain) = (Vec::new(), Vec::new());
        loop {
            let decision = progress
                .apply_hop(&keys.region, &record, &HubId::generate(&mut OsRng), &at)
                .unwrap();
            let (verdict, next) = decide(&region, &at).unwrap();
            tagged.push(decision.verdict);
            plain.push(verdict);
            match (decision.verdict, next) {
                (Verdict::Deliver, _) | (_, None) => return (tagged, plain),
                (_, Some(next)) => at = next,
            }
        }
    }

    #[test]
    fn the_plaintext_baseline_takes_the_same_decisions_as_the_tagged_core() {
        for (buyer, pickup) in [
            ("110105", "330108"),
            ("110105", "110105"),
            ("110105", "1101"),
            ("4419", "330108"),
            ("330108", "3301"),
        ] {
            let (tagged, plain) = both_routes(buyer, pickup);
            assert_eq!(tagged, plain, "{buyer} from {pickup}");
            assert_eq!(tagged.last(), Some(&Verdict::Deliver));
        }
    }
}

//! `OrderObject`: one Durable Object per order id. It holds the order's tokenised record from
//! the origin, the core [`Progress`] (state machine and route expectation as tags), the route
//! so far sealed with the route-seal key (its last hub codes are the buyer's region, so they
//! are never stored in the clear), the pickup's waybill and the release id. It never holds a
//! name, phone, street line, postal code, buyer id or plaintext buyer region.
//!
//! Every scan of the order runs here, so the object serialises them: the decision is taken and
//! written without yielding to another request. The one outside call, the final hop's release
//! at the origin, is guarded by an in-memory flag so concurrent duplicates do not race it (the
//! origin's release is idempotent anyway).

use std::cell::Cell;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use lasthop_core::api::{
    DeliverResponse, DeliveryRequest, ErrorCode, HopResponse, ReleaseRequest, ReleaseResponse,
    StatusResponse, TrackingHop, TrackingResponse, VerdictWord,
};
use lasthop_core::ids::{BuyerId, HubId, OrderId, PlatformId, ReleaseId, SellerId};
use lasthop_core::progress::{OrderStatus, Progress, Verdict};
use lasthop_core::region::{HubLevel, HubRegion};
use lasthop_core::time::Timestamp;
use lasthop_core::tokens::{binding_matches, TokenisedOrder};
use rand_core::OsRng;
use serde::{Deserialize, Serialize};
use worker::{durable_object, DurableObject, Env, Method, Request, RequestInit, Response, State};

use crate::config::EdgeConfig;
use crate::error::EdgeError;
use crate::http;
use crate::origin_client::OriginClient;

const ORDER_KEY: &str = "order";

/// The scanning hub as its verified credential names it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScanningHub {
    /// The hub.
    pub hub_id: HubId,
    /// Its region and level (from the credential, never from a request body).
    pub hub: HubRegion,
}

/// Who asks for tracking, as their verified session credential names them.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Viewer {
    /// A buyer: must be the order's buyer (binding tag check).
    Buyer(BuyerId),
    /// A seller: must be the order's seller.
    Seller(SellerId),
}

/// What the Worker asks an order's object.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum OrderCommand {
    /// Store the origin's tokenised record of a new order.
    Create {
        /// The record.
        record: TokenisedOrder,
    },
    /// The order's status (for the seller's list and label).
    Status,
    /// A pickup scan.
    Pickup {
        /// Platform named by the scan.
        platform_id: PlatformId,
        /// Buyer id printed on the label (compared as a tag, never stored).
        buyer_id: BuyerId,
        /// The courier's waybill number.
        waybill: String,
        /// The pickup hub.
        scanner: ScanningHub,
    },
    /// A hub scan.
    Hop {
        /// Platform named by the scan.
        platform_id: PlatformId,
        /// The scanning hub.
        scanner: ScanningHub,
        /// The scanner's credential, forwarded to the origin for a release.
        scanner_token: String,
    },
    /// Proof of receipt from the final hub.
    Deliver {
        /// Platform named by the scan.
        platform_id: PlatformId,
        /// The release being closed.
        release_id: ReleaseId,
        /// Proof of receipt.
        signature: String,
        /// The scanning hub.
        scanner: ScanningHub,
        /// The scanner's credential, forwarded to the origin.
        scanner_token: String,
    },
    /// The tracking view.
    Tracking {
        /// The platform of the viewer's session.
        platform_id: PlatformId,
        /// Buyer or seller.
        viewer: Viewer,
    },
}

/// Sends a command to the object of `order_id` and returns its answer as is.
///
/// # Errors
/// An internal fault when the object cannot be reached.
pub async fn ask(
    env: &Env,
    order_id: &OrderId,
    command: &OrderCommand,
) -> Result<Response, EdgeError> {
    let stub = crate::config::orders(env)?
        .id_from_name(order_id.as_str())?
        .get_stub()?;
    let body = serde_json::to_string(command)
        .map_err(|_| EdgeError::internal("encoding an order command"))?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post).with_body(Some(body.into()));
    let request = Request::new_with_init("https://order/", &init)?;
    Ok(stub.fetch_with_request(request).await?)
}

/// The status of `order_id`, or `None` when the edge holds no such order.
///
/// # Errors
/// An internal fault when the object cannot be reached or answers oddly.
pub async fn status(env: &Env, order_id: &OrderId) -> Result<Option<OrderStatus>, EdgeError> {
    let mut response = ask(env, order_id, &OrderCommand::Status).await?;
    match response.status_code() {
        200 => {
            let body: StatusResponse = response
                .json()
                .await
                .map_err(|_| EdgeError::internal("reading an order status"))?;
            Ok(Some(body.status))
        }
        404 => Ok(None),
        _ => Err(EdgeError::internal("the order object failed")),
    }
}

/// One hub scan of the route, as sealed in storage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct RouteEntry {
    hub_id: HubId,
    level: HubLevel,
    code: String,
    verdict: VerdictWord,
    /// Level of the hub the verdict sent the parcel to (`route_to` only).
    next_level: Option<HubLevel>,
    at: Timestamp,
}

impl RouteEntry {
    /// Whether this scan happened at the buyer's city or district hub; its hub would give the
    /// buyer's region away to anyone but the buyer.
    fn at_buyer_hub(&self) -> bool {
        self.verdict == VerdictWord::Deliver
            || (self.verdict == VerdictWord::RouteTo && self.next_level == Some(HubLevel::District))
    }
}

/// What the object stores, as one JSON value under one key so every write is atomic.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredOrder {
    record: TokenisedOrder,
    progress: Progress,
    waybill: Option<String>,
    /// Base64 of the route (JSON list of [`RouteEntry`]) sealed with the route-seal key, the
    /// order id as associated data. Erased on delivery.
    sealed_route: Option<String>,
}

/// The order object.
#[durable_object]
pub struct OrderObject {
    state: State,
    env: Env,
    /// True while the final hop's release call to the origin is in flight.
    releasing: Cell<bool>,
}

/// Clears the release flag however the release call ends.
struct ReleaseGuard<'a>(&'a Cell<bool>);

impl Drop for ReleaseGuard<'_> {
    fn drop(&mut self) {
        self.0.set(false);
    }
}

impl DurableObject for OrderObject {
    fn new(state: State, env: Env) -> Self {
        Self {
            state,
            env,
            releasing: Cell::new(false),
        }
    }

    async fn fetch(&self, mut req: Request) -> worker::Result<Response> {
        #[cfg(feature = "bench")]
        if req.path() == crate::bench::baseline::OBJECT_PATH {
            let result = crate::bench::baseline::object_fetch(&self.state, req).await;
            return Ok(result.unwrap_or_else(EdgeError::into_response));
        }
        let result = match req.json::<OrderCommand>().await {
            Ok(command) => self.handle(command).await,
            Err(_) => Err(EdgeError::internal(
                "the order object got a command it does not know",
            )),
        };
        Ok(result.unwrap_or_else(EdgeError::into_response))
    }
}

impl OrderObject {
    async fn handle(&self, command: OrderCommand) -> Result<Response, EdgeError> {
        match command {
            OrderCommand::Create { record } => self.handle_create(record).await,
            OrderCommand::Status => self.handle_status().await,
            OrderCommand::Pickup {
                platform_id,
                buyer_id,
                waybill,
                scanner,
            } => {
                self.handle_pickup(&platform_id, &buyer_id, waybill, &scanner)
                    .await
            }
            OrderCommand::Hop {
                platform_id,
                scanner,
                scanner_token,
            } => {
                self.handle_hop(&platform_id, &scanner, &scanner_token)
                    .await
            }
            OrderCommand::Deliver {
                platform_id,
                release_id,
                signature,
                scanner,
                scanner_token,
            } => {
                self.handle_deliver(
                    &platform_id,
                    &release_id,
                    &signature,
                    &scanner,
                    &scanner_token,
                )
                .await
            }
            OrderCommand::Tracking {
                platform_id,
                viewer,
            } => self.handle_tracking(&platform_id, &viewer).await,
        }
    }

    async fn load(&self) -> Result<Option<StoredOrder>, EdgeError> {
        let Some(text) = self.state.storage().get::<String>(ORDER_KEY).await? else {
            return Ok(None);
        };
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|_| EdgeError::internal("the stored order does not parse"))
    }

    /// The stored order of this platform, or 404: an order of another platform is as unknown
    /// as one that does not exist.
    async fn load_for(&self, platform_id: &PlatformId) -> Result<StoredOrder, EdgeError> {
        match self.load().await? {
            Some(order) if order.record.platform_id == *platform_id => Ok(order),
            _ => Err(EdgeError::code(ErrorCode::NotFound)),
        }
    }

    async fn save(&self, order: &StoredOrder) -> Result<(), EdgeError> {
        let text =
            serde_json::to_string(order).map_err(|_| EdgeError::internal("encoding the order"))?;
        self.state.storage().put(ORDER_KEY, text).await?;
        Ok(())
    }

    fn config(&self) -> Result<EdgeConfig, EdgeError> {
        EdgeConfig::load(&self.env)
    }

    async fn handle_create(&self, record: TokenisedOrder) -> Result<Response, EdgeError> {
        if let Some(existing) = self.load().await? {
            // The origin retried its answer: same record, same outcome.
            return if existing.record == record {
                Ok(http::json(
                    200,
                    &StatusResponse {
                        status: existing.progress.status(),
                    },
                ))
            } else {
                Err(EdgeError::code(ErrorCode::WrongState))
            };
        }
        let order = StoredOrder {
            record,
            progress: Progress::new(),
            waybill: None,
            sealed_route: None,
        };
        self.save(&order).await?;
        Ok(http::json(
            201,
            &StatusResponse {
                status: OrderStatus::Created,
            },
        ))
    }

    async fn handle_status(&self) -> Result<Response, EdgeError> {
        let order = self
            .load()
            .await?
            .ok_or_else(|| EdgeError::code(ErrorCode::NotFound))?;
        Ok(http::json(
            200,
            &StatusResponse {
                status: order.progress.status(),
            },
        ))
    }

    async fn handle_pickup(
        &self,
        platform_id: &PlatformId,
        buyer_id: &BuyerId,
        waybill: String,
        scanner: &ScanningHub,
    ) -> Result<Response, EdgeError> {
        let config = self.config()?;
        let mut order = self.load_for(platform_id).await?;
        order.progress.pickup(
            &config.secrets.region,
            &config.secrets.binding,
            &order.record,
            buyer_id,
            &scanner.hub,
        )?;
        if order.waybill.is_none() {
            order.waybill = Some(waybill);
        }
        self.save(&order).await?;
        Ok(http::json(
            200,
            &StatusResponse {
                status: order.progress.status(),
            },
        ))
    }

    async fn handle_hop(
        &self,
        platform_id: &PlatformId,
        scanner: &ScanningHub,
        scanner_token: &str,
    ) -> Result<Response, EdgeError> {
        let config = self.config()?;
        let mut order = self.load_for(platform_id).await?;
        if self.releasing.get() {
            // The final hub's release is in flight; its answer decides what this scan gets.
            return Err(EdgeError::RetryLater {
                body: lasthop_core::api::ErrorBody::new(
                    ErrorCode::Unavailable,
                    "The release for this order is in progress; retry in a moment.",
                ),
                retry_after: 1,
            });
        }
        let decision = order.progress.apply_hop(
            &config.secrets.region,
            &order.record,
            &scanner.hub_id,
            &scanner.hub,
        )?;
        if !decision.repeat {
            let mut route = open_route(&config, &order)?;
            route.push(RouteEntry {
                hub_id: scanner.hub_id.clone(),
                level: scanner.hub.level(),
                code: scanner.hub.code().to_string(),
                verdict: VerdictWord::from(&decision.verdict),
                next_level: match decision.verdict {
                    Verdict::RouteTo(next) => Some(next.level()),
                    Verdict::ForwardUp | Verdict::Deliver => None,
                },
                at: http::now(),
            });
            order.sealed_route = Some(seal_route(&config, &order.record.order_id, &route)?);
            self.save(&order).await?;
        }
        if let Some(body) = decision.verdict.to_response() {
            return Ok(http::json(200, &body));
        }
        self.release(&config, scanner, scanner_token).await
    }

    /// The `deliver` verdict: asks the origin for the recipient, records the release, and hands
    /// the recipient to the terminal without keeping it.
    async fn release(
        &self,
        config: &EdgeConfig,
        scanner: &ScanningHub,
        scanner_token: &str,
    ) -> Result<Response, EdgeError> {
        let release = {
            self.releasing.set(true);
            let _guard = ReleaseGuard(&self.releasing);
            let order = self
                .load()
                .await?
                .ok_or_else(|| EdgeError::code(ErrorCode::NotFound))?;
            let body = ReleaseRequest {
                platform_id: order.record.platform_id.to_string(),
                order_id: order.record.order_id.to_string(),
                scanner_token: scanner_token.to_owned(),
            };
            let body =
                serde_json::to_vec(&body).map_err(|_| EdgeError::internal("encoding a release"))?;
            let client = OriginClient::new(
                &config.origin_url,
                &config.secrets.edge_request,
                config.origin_timeout,
            );
            let reply = client
                .send(Method::Post, "/internal/v1/releases", Some(&body), None)
                .await?;
            reply.into_json::<ReleaseResponse>()?
        };
        let mut order = self
            .load()
            .await?
            .ok_or_else(|| EdgeError::code(ErrorCode::NotFound))?;
        order
            .progress
            .release(&scanner.hub_id, &release.release_id)?;
        self.save(&order).await?;
        Ok(http::no_store(http::json(
            200,
            &HopResponse::deliver(release),
        )))
    }

    async fn handle_deliver(
        &self,
        platform_id: &PlatformId,
        release_id: &ReleaseId,
        signature: &str,
        scanner: &ScanningHub,
        scanner_token: &str,
    ) -> Result<Response, EdgeError> {
        let config = self.config()?;
        let order = self.load_for(platform_id).await?;
        // Check the transition before asking the origin; apply it only once the origin agrees.
        let mut delivered = order.progress.clone();
        delivered.deliver(&scanner.hub_id, release_id)?;
        let body = DeliveryRequest {
            platform_id: order.record.platform_id.to_string(),
            order_id: order.record.order_id.to_string(),
            release_id: release_id.to_string(),
            scanner_token: scanner_token.to_owned(),
            signature: signature.to_owned(),
        };
        let body =
            serde_json::to_vec(&body).map_err(|_| EdgeError::internal("encoding a delivery"))?;
        let client = OriginClient::new(
            &config.origin_url,
            &config.secrets.edge_request,
            config.origin_timeout,
        );
        let reply = client
            .send(Method::Post, "/internal/v1/deliveries", Some(&body), None)
            .await?;
        let _: StatusResponse = reply.into_json()?;
        let mut order = self.load_for(platform_id).await?;
        if order.progress.status() != OrderStatus::Delivered {
            order.progress.deliver(&scanner.hub_id, release_id)?;
            order.sealed_route = None;
            self.save(&order).await?;
        }
        Ok(http::json(
            200,
            &DeliverResponse {
                status: OrderStatus::Delivered,
                erase: vec![release_id.clone()],
            },
        ))
    }

    async fn handle_tracking(
        &self,
        platform_id: &PlatformId,
        viewer: &Viewer,
    ) -> Result<Response, EdgeError> {
        let config = self.config()?;
        let order = self.load_for(platform_id).await?;
        let full_view = match viewer {
            Viewer::Buyer(buyer_id) => {
                if !binding_matches(&config.secrets.binding, &order.record, buyer_id) {
                    return Err(EdgeError::code(ErrorCode::Forbidden));
                }
                true
            }
            Viewer::Seller(seller_id) => {
                if order.record.seller_id != *seller_id {
                    return Err(EdgeError::code(ErrorCode::Forbidden));
                }
                false
            }
        };
        let hops = open_route(&config, &order)?
            .into_iter()
            .map(|entry| {
                // Null hub and code where the seller would otherwise learn the buyer's region.
                let hidden = !full_view && entry.at_buyer_hub();
                TrackingHop {
                    hub_id: (!hidden).then(|| entry.hub_id.clone()),
                    level: entry.level,
                    code: (!hidden).then(|| entry.code.clone()),
                    verdict: entry.verdict,
                    at: entry.at,
                }
            })
            .collect();
        // The hub scans so far; empty once delivered, since delivery erases the route.
        let view = TrackingResponse {
            order_id: order.record.order_id.clone(),
            status: order.progress.status(),
            hops,
        };
        Ok(http::json(200, &view))
    }
}

fn open_route(config: &EdgeConfig, order: &StoredOrder) -> Result<Vec<RouteEntry>, EdgeError> {
    let Some(sealed) = &order.sealed_route else {
        return Ok(Vec::new());
    };
    let sealed = BASE64
        .decode(sealed)
        .map_err(|_| EdgeError::internal("the sealed route is not base64"))?;
    let plain = config
        .secrets
        .route_seal
        .open(order.record.order_id.as_str().as_bytes(), &sealed)
        .map_err(|_| EdgeError::internal("the sealed route does not open"))?;
    serde_json::from_slice(&plain)
        .map_err(|_| EdgeError::internal("the sealed route does not parse"))
}

fn seal_route(
    config: &EdgeConfig,
    order_id: &OrderId,
    route: &[RouteEntry],
) -> Result<String, EdgeError> {
    let plain = serde_json::to_vec(route).map_err(|_| EdgeError::internal("encoding the route"))?;
    let sealed = config
        .secrets
        .route_seal
        .seal(order_id.as_str().as_bytes(), &plain, &mut OsRng);
    Ok(BASE64.encode(sealed))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::rc::Rc;

    use lasthop_core::keys::{EdgeSecrets, MasterKeyRing, OriginKeys};

    use super::*;

    fn config() -> EdgeConfig {
        let master = MasterKeyRing::generate(&mut OsRng);
        EdgeConfig {
            origin_url: "http://127.0.0.1:9".into(),
            secrets: Rc::new(EdgeSecrets::from_origin_keys(&OriginKeys::derive(&master))),
            scanner_rate_per_minute: 120,
            origin_timeout: crate::config::DEFAULT_ORIGIN_TIMEOUT,
        }
    }

    fn entry(code: &str, verdict: VerdictWord, next_level: Option<HubLevel>) -> RouteEntry {
        let level = if code.len() == 4 {
            HubLevel::City
        } else {
            HubLevel::District
        };
        RouteEntry {
            hub_id: HubId::parse("h_0000000000000000").unwrap(),
            level,
            code: code.into(),
            verdict,
            next_level,
            at: Timestamp::from_unix_seconds(1_700_000_000),
        }
    }

    #[test]
    fn only_scans_at_the_buyers_city_and_district_hubs_count_as_buyer_hubs() {
        assert!(!entry("330108", VerdictWord::ForwardUp, None).at_buyer_hub());
        assert!(!entry("3301", VerdictWord::RouteTo, Some(HubLevel::City)).at_buyer_hub());
        assert!(entry("1101", VerdictWord::RouteTo, Some(HubLevel::District)).at_buyer_hub());
        assert!(entry("110105", VerdictWord::Deliver, None).at_buyer_hub());
        assert!(entry("4419", VerdictWord::Deliver, None).at_buyer_hub());
    }

    #[test]
    fn a_sealed_route_opens_for_its_order_and_hides_its_codes() {
        let config = config();
        let order_id = OrderId::parse("o_00000000000000a1").unwrap();
        let route = vec![
            entry("330108", VerdictWord::ForwardUp, None),
            entry("110105", VerdictWord::Deliver, None),
        ];
        let sealed = seal_route(&config, &order_id, &route).unwrap();
        assert!(
            !sealed.contains("110105")
                && !String::from_utf8_lossy(&BASE64.decode(&sealed).unwrap()).contains("110105")
        );
        let record = TokenisedOrder {
            order_id: order_id.clone(),
            ..sample_record()
        };
        let stored = StoredOrder {
            record,
            progress: Progress::new(),
            waybill: None,
            sealed_route: Some(sealed.clone()),
        };
        assert_eq!(open_route(&config, &stored).unwrap(), route);

        // Moved to another order's object, the route does not open.
        let other = StoredOrder {
            record: TokenisedOrder {
                order_id: OrderId::parse("o_00000000000000b2").unwrap(),
                ..stored.record.clone()
            },
            sealed_route: Some(sealed),
            ..stored
        };
        assert!(open_route(&config, &other).is_err());
    }

    /// A record with placeholder tags: sealing does not look at them.
    fn sample_record() -> TokenisedOrder {
        serde_json::from_value(serde_json::json!({
            "platform_id": "demo",
            "order_id": "o_00000000000000a1",
            "seller_id": "s_0000000000000000",
            "key_version": 1,
            "province": "00".repeat(32),
            "city": "00".repeat(32),
            "delivery": "00".repeat(32),
            "binding": "00".repeat(32),
        }))
        .unwrap()
    }
}

//! `OrderObject`: one Durable Object per order id. While the order is open it holds the
//! order's tokenised record from the origin, the core [`Progress`] (state machine and route
//! expectation as tags), the pickup's waybill, and, sealed with the route-seal key, the route
//! so far and the chain of custody (every device-signed scan, which the origin checks before it
//! releases the recipient). Once delivered it keeps the status and its time only. It never
//! holds a name, phone, street line, postal code, plaintext buyer region or recipient: the
//! final hop's recipient passes through sealed to the final hub's device.
//!
//! Every scan of the order runs here, so the object serialises them: the decision is taken and
//! written without yielding to another request. The one outside call, the final hop's release
//! at the origin, is guarded by an in-memory flag so concurrent duplicates do not race it (the
//! origin's release is idempotent anyway).
//!
//! # Layout
//! - [`command`]: the commands the Worker sends, and [`ask`] / [`status`] to send them.
//! - `log`: the sealed route and chain of custody.
//! - `storage`: the stored order, open or delivered.

mod command;
mod log;
mod storage;

use std::cell::Cell;

use lasthop_core::api::paths::{INTERNAL_DELIVERIES, INTERNAL_RELEASES};
use lasthop_core::api::{
    CarrierRef, DeliverResponse, DeliveryRequest, ErrorBody, ErrorCode, HopResponse,
    ReleaseRequest, ReleaseResponse, StatusResponse, TrackingHop, TrackingResponse, VerdictWord,
};
use lasthop_core::carrier::{admit_scanner, ScanRefusal};
use lasthop_core::credential::ScannerRole;
use lasthop_core::device::SignedScan;
use lasthop_core::ids::{BuyerId, PlatformId, ReleaseId};
use lasthop_core::progress::{OrderStatus, Progress, Verdict};
use lasthop_core::tokens::TokenisedOrder;
use worker::{durable_object, DurableObject, Env, Method, Request, Response, State};

pub use command::{ask, status, OrderCommand, ScanningHub, Viewer};

use crate::config::EdgeConfig;
use crate::error::EdgeError;
use crate::http;
use crate::origin_client::OriginClient;
use log::{open_log, seal_log, Log, RouteEntry};
use storage::{DeliveredOrder, OpenOrder, StoredOrder};

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
                scan,
            } => {
                self.handle_pickup(&platform_id, &buyer_id, waybill, &scanner, scan)
                    .await
            }
            OrderCommand::Hop {
                platform_id,
                scanner,
                scanner_token,
                scan,
            } => {
                self.handle_hop(&platform_id, &scanner, &scanner_token, scan)
                    .await
            }
            OrderCommand::Deliver {
                platform_id,
                release_id,
                signature,
                scanner,
                scanner_token,
                scan,
            } => {
                self.handle_deliver(
                    &platform_id,
                    &release_id,
                    &signature,
                    &scanner,
                    &scanner_token,
                    scan,
                )
                .await
            }
            OrderCommand::Tracking {
                platform_id,
                viewer,
            } => self.handle_tracking(&platform_id, &viewer).await,
        }
    }

    /// The stored order of this platform, or 404: an order of another platform is as unknown
    /// as one that does not exist.
    async fn load_for(&self, platform_id: &PlatformId) -> Result<StoredOrder, EdgeError> {
        match storage::load(&self.state).await? {
            Some(order) if order.binding().platform_id == *platform_id => Ok(order),
            _ => Err(EdgeError::code(ErrorCode::NotFound)),
        }
    }

    /// The open order of this platform: 404 as above, 410 once delivered.
    async fn load_open(&self, platform_id: &PlatformId) -> Result<OpenOrder, EdgeError> {
        match self.load_for(platform_id).await? {
            StoredOrder::Open(order) => Ok(*order),
            StoredOrder::Delivered(_) => Err(EdgeError::code(ErrorCode::OrderClosed)),
        }
    }

    async fn save_open(&self, order: OpenOrder) -> Result<(), EdgeError> {
        storage::save(&self.state, &StoredOrder::Open(Box::new(order))).await
    }

    fn config(&self) -> Result<EdgeConfig, EdgeError> {
        EdgeConfig::load(&self.env)
    }

    async fn handle_create(&self, record: TokenisedOrder) -> Result<Response, EdgeError> {
        if let Some(existing) = storage::load(&self.state).await? {
            // The origin retried its answer: same record, same outcome.
            let same = match &existing {
                StoredOrder::Open(order) => order.record == record,
                StoredOrder::Delivered(order) => order.binding == record.buyer_binding(),
            };
            return if same {
                Ok(status_answer(200, existing.status()))
            } else {
                Err(EdgeError::code(ErrorCode::WrongState))
            };
        }
        self.save_open(OpenOrder {
            record,
            progress: Progress::new(),
            waybill: None,
            sealed_route: None,
            sealed_chain: None,
        })
        .await?;
        Ok(status_answer(201, OrderStatus::Created))
    }

    async fn handle_status(&self) -> Result<Response, EdgeError> {
        let order = storage::load(&self.state)
            .await?
            .ok_or_else(|| EdgeError::code(ErrorCode::NotFound))?;
        Ok(status_answer(200, order.status()))
    }

    async fn handle_pickup(
        &self,
        platform_id: &PlatformId,
        buyer_id: &BuyerId,
        waybill: String,
        scanner: &ScanningHub,
        scan: Option<SignedScan>,
    ) -> Result<Response, EdgeError> {
        let config = self.config()?;
        let mut order = self.load_open(platform_id).await?;
        admit(&order, scanner, ScannerRole::Pickup)?;
        let first = order.progress.status() == OrderStatus::Created;
        order.progress.pickup(
            &config.secrets.region,
            &config.secrets.binding,
            &order.record,
            buyer_id,
            &scanner.hub,
        )?;
        if first {
            order.waybill = Some(waybill);
            // The chain of custody starts with this device-signed pickup; a repeated pickup
            // changes nothing.
            let chain: Vec<SignedScan> = scan.into_iter().collect();
            order.sealed_chain = Some(seal_log(
                &config,
                Log::Chain,
                &order.record.order_id,
                &chain,
            )?);
        }
        let status = order.progress.status();
        self.save_open(order).await?;
        Ok(status_answer(200, status))
    }

    async fn handle_hop(
        &self,
        platform_id: &PlatformId,
        scanner: &ScanningHub,
        scanner_token: &str,
        scan: Option<SignedScan>,
    ) -> Result<Response, EdgeError> {
        let config = self.config()?;
        let mut order = self.load_open(platform_id).await?;
        admit(&order, scanner, ScannerRole::Hub)?;
        if self.releasing.get() {
            // The final hub's release is in flight; its answer decides what this scan gets.
            return Err(EdgeError::RetryLater {
                body: ErrorBody::new(
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
        let order_id = order.record.order_id.clone();
        let mut chain: Vec<SignedScan> = open_log(
            &config,
            Log::Chain,
            &order_id,
            order.sealed_chain.as_deref(),
        )?;
        if decision.repeat {
            // The final hub scanning again needs a fresh final scan for the origin: this one.
            if decision.verdict == Verdict::Deliver {
                if let Some(scan) = scan {
                    chain.pop();
                    chain.push(scan);
                }
            }
        } else {
            let mut route: Vec<RouteEntry> = open_log(
                &config,
                Log::Route,
                &order_id,
                order.sealed_route.as_deref(),
            )?;
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
            order.sealed_route = Some(seal_log(&config, Log::Route, &order_id, &route)?);
            chain.extend(scan);
        }
        order.sealed_chain = Some(seal_log(&config, Log::Chain, &order_id, &chain)?);
        self.save_open(order).await?;
        if let Some(body) = decision.verdict.to_response() {
            // Where the parcel goes next is the parcel's progress: no cache keeps it.
            return Ok(http::no_store(http::json(200, &body)));
        }
        self.release(&config, scanner, scanner_token, chain).await
    }

    /// The `deliver` verdict: asks the origin for the recipient with the chain of custody,
    /// records the release, and hands the terminal the recipient sealed to its device.
    async fn release(
        &self,
        config: &EdgeConfig,
        scanner: &ScanningHub,
        scanner_token: &str,
        chain: Vec<SignedScan>,
    ) -> Result<Response, EdgeError> {
        let release = {
            self.releasing.set(true);
            let _guard = ReleaseGuard(&self.releasing);
            let order = self.load_open_any().await?;
            let body = ReleaseRequest {
                platform_id: order.record.platform_id.to_string(),
                order_id: order.record.order_id.to_string(),
                scanner_token: scanner_token.to_owned(),
                chain,
            };
            let body =
                serde_json::to_vec(&body).map_err(|_| EdgeError::internal("encoding a release"))?;
            let reply = origin(config)
                .send(Method::Post, INTERNAL_RELEASES, Some(&body), None)
                .await?;
            reply.into_json::<ReleaseResponse>()?
        };
        let mut order = self.load_open_any().await?;
        order
            .progress
            .release(&scanner.hub_id, &release.release_id)?;
        self.save_open(order).await?;
        Ok(http::no_store(http::json(
            200,
            &HopResponse::deliver(release),
        )))
    }

    async fn load_open_any(&self) -> Result<OpenOrder, EdgeError> {
        match storage::load(&self.state).await? {
            Some(StoredOrder::Open(order)) => Ok(*order),
            Some(StoredOrder::Delivered(_)) => Err(EdgeError::code(ErrorCode::OrderClosed)),
            None => Err(EdgeError::code(ErrorCode::NotFound)),
        }
    }

    async fn handle_deliver(
        &self,
        platform_id: &PlatformId,
        release_id: &ReleaseId,
        signature: &str,
        scanner: &ScanningHub,
        scanner_token: &str,
        scan: Option<SignedScan>,
    ) -> Result<Response, EdgeError> {
        let config = self.config()?;
        let order = self.load_open(platform_id).await?;
        admit(&order, scanner, ScannerRole::Hub)?;
        // Check the transition before asking the origin; apply it only once the origin agrees.
        order
            .progress
            .clone()
            .deliver(&scanner.hub_id, release_id)?;
        let body = DeliveryRequest {
            platform_id: order.record.platform_id.to_string(),
            order_id: order.record.order_id.to_string(),
            release_id: release_id.to_string(),
            scanner_token: scanner_token.to_owned(),
            signature: signature.to_owned(),
            scan,
        };
        let body =
            serde_json::to_vec(&body).map_err(|_| EdgeError::internal("encoding a delivery"))?;
        // A retry after a lost answer gets 200 from the origin again and closes the order here.
        let reply = origin(&config)
            .send(Method::Post, INTERNAL_DELIVERIES, Some(&body), None)
            .await?;
        let _: StatusResponse = reply.into_json()?;
        if let Some(StoredOrder::Open(order)) = storage::load(&self.state).await? {
            // Status and time only from here on.
            let delivered = DeliveredOrder {
                binding: order.record.buyer_binding(),
                delivered_at: http::now(),
                waybill: order.waybill,
            };
            storage::save(&self.state, &StoredOrder::Delivered(delivered)).await?;
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
        let binding = order.binding();
        let (status, hops) = match viewer {
            Viewer::Buyer(buyer_id) => {
                if !binding.matches(&config.secrets.binding, buyer_id) {
                    return Err(EdgeError::code(ErrorCode::Forbidden));
                }
                // The buyer sees the route so far: it leads to their own region.
                let hops = match &order {
                    StoredOrder::Open(open) => open_log::<RouteEntry>(
                        &config,
                        Log::Route,
                        &open.record.order_id,
                        open.sealed_route.as_deref(),
                    )?
                    .into_iter()
                    .map(|entry| TrackingHop {
                        hub_id: Some(entry.hub_id),
                        level: entry.level,
                        code: Some(entry.code),
                        verdict: entry.verdict,
                        at: entry.at,
                    })
                    .collect(),
                    StoredOrder::Delivered(_) => Vec::new(),
                };
                (order.status(), hops)
            }
            Viewer::Seller(seller_id) => {
                if binding.seller_id != *seller_id {
                    return Err(EdgeError::code(ErrorCode::Forbidden));
                }
                (seller_status(order.status()), Vec::new())
            }
        };
        let view = TrackingResponse {
            order_id: binding.order_id,
            status,
            hops,
            carrier: CarrierRef {
                carrier_id: binding.carriage.carrier_id,
                name: binding.carriage.carrier_name,
            },
            waybill: order.waybill().map(str::to_owned),
        };
        Ok(http::no_store(http::json(200, &view)))
    }
}

/// Only the order's carrier's scanners may scan it, and a pickup only from a hub serving the
/// seller's ship-from region (checked before anything else, so a refused scanner learns
/// nothing about the order's state).
fn admit(order: &OpenOrder, scanner: &ScanningHub, role: ScannerRole) -> Result<(), EdgeError> {
    admit_scanner(
        &order.record.carriage,
        &scanner.carrier_id,
        role,
        &scanner.hub,
    )
    .map_err(|refusal| {
        EdgeError::with_message(
            ErrorCode::Forbidden,
            match refusal {
                ScanRefusal::ForeignCarrier => "This order is carried by another carrier.",
                ScanRefusal::NotServingShipFrom => {
                    "This hub does not serve the seller's ship-from region."
                }
            },
        )
    })
}

/// What a seller is told: the status alone, with `released` (the parcel is at the buyer's own
/// hub) shown as `in_transit`, so nothing in the view depends on where the buyer lives.
pub fn seller_status(status: OrderStatus) -> OrderStatus {
    match status {
        OrderStatus::Released => OrderStatus::InTransit,
        other => other,
    }
}

fn status_answer(code: u16, status: OrderStatus) -> Response {
    http::json(code, &StatusResponse { status })
}

fn origin(config: &EdgeConfig) -> OriginClient<'_> {
    OriginClient::new(
        &config.origin_url,
        &config.secrets.edge_request,
        config.origin_timeout,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seller_never_sees_released() {
        for (status, shown) in [
            (OrderStatus::Created, OrderStatus::Created),
            (OrderStatus::PickedUp, OrderStatus::PickedUp),
            (OrderStatus::InTransit, OrderStatus::InTransit),
            (OrderStatus::Released, OrderStatus::InTransit),
            (OrderStatus::Delivered, OrderStatus::Delivered),
        ] {
            assert_eq!(seller_status(status), shown);
        }
    }
}

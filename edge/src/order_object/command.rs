//! The protocol between the Worker and an order's object: the commands, who scans or views,
//! and the calls that send a command to an order's object.

use lasthop_core::api::StatusResponse;
use lasthop_core::device::SignedScan;
use lasthop_core::ids::{BuyerId, CarrierId, HubId, OrderId, PlatformId, ReleaseId, SellerId};
use lasthop_core::progress::OrderStatus;
use lasthop_core::region::HubRegion;
use lasthop_core::tokens::TokenisedOrder;
use serde::{Deserialize, Serialize};
use worker::{Env, Method, Request, RequestInit, Response};

use crate::error::EdgeError;

/// The scanning hub as its verified credential names it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScanningHub {
    /// The hub.
    pub hub_id: HubId,
    /// Its region and level (from the credential, never from a request body).
    pub hub: HubRegion,
    /// Its carrier (from the credential).
    pub carrier_id: CarrierId,
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
        /// Buyer id printed on the label (compared as a tag, never stored in the clear).
        buyer_id: BuyerId,
        /// The courier's waybill number.
        waybill: String,
        /// The pickup hub.
        scanner: ScanningHub,
        /// The device-signed request (`None` for a scanner without a device).
        scan: Option<SignedScan>,
    },
    /// A hub scan.
    Hop {
        /// Platform named by the scan.
        platform_id: PlatformId,
        /// The scanning hub.
        scanner: ScanningHub,
        /// The scanner's credential, forwarded to the origin for a release.
        scanner_token: String,
        /// The device-signed request (`None` for a scanner without a device).
        scan: Option<SignedScan>,
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
        /// The device-signed request (`None` for a scanner without a device).
        scan: Option<SignedScan>,
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

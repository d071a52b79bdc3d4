//! Courier endpoints (scanners). Scanner credentials are verified here with the origin's public
//! key; for a device-bound credential the device's signature over the request is verified too
//! (±60 s; the scanner's gate refuses a nonce it has seen); the gate (revocation, rate) admits
//! the scan; the role is checked; and the order's object takes the decision (only the
//! order's carrier's scanners, pickups only where the seller ships from), keeping the
//! device-signed scan in the order's chain of custody. The hub's region always comes from the
//! credential.

use lasthop_core::api::paths::{
    INTERNAL_SCANNER_RENEWALS, SCANNER_RENEW, SCAN_DELIVER, SCAN_HOP, SCAN_PICKUP,
};
use lasthop_core::api::{
    parse_json, DeliverScanRequest, ErrorCode, HopScanRequest, PickupScanRequest,
    ScannerRenewalRequest,
};
use lasthop_core::credential::{ScannerClaims, ScannerRole};
use lasthop_core::device::{
    verify_scan, ScanHeaders, ScanRequest, SignedScan, HEADER_NONCE, HEADER_SIGNATURE,
    HEADER_TIMESTAMP, SCAN_WINDOW_SECS,
};
use worker::{Method, Request, Response, RouteContext};

use crate::config::EdgeConfig;
use crate::error::EdgeError;
use crate::http;
use crate::order_object::{self, OrderCommand, ScanningHub};
use crate::origin_client::OriginClient;
use crate::scanner_gate::{self, GateCommand};

/// `POST /v1/scans/pickup`.
///
/// # Errors
/// 401, 403 `wrong_role`, 429, 400, 404, 409 `label_mismatch`, 410.
pub async fn pickup(mut req: Request, ctx: RouteContext<()>) -> Result<Response, EdgeError> {
    let admitted = admit(&mut req, &ctx, Some(ScannerRole::Pickup), SCAN_PICKUP).await?;
    let scan = parse_json::<PickupScanRequest>(&admitted.body)?.parse()?;
    let command = OrderCommand::Pickup {
        platform_id: scan.platform_id,
        buyer_id: scan.buyer_id,
        waybill: scan.waybill,
        scanner: hub_of(&admitted.claims),
        scan: admitted.scan,
    };
    order_object::ask(&ctx.env, &scan.order_id, &command).await
}

/// `POST /v1/scans/hop`.
///
/// # Errors
/// 401, 403 `wrong_role`/`off_route`, 429, 400, 404, 409, 410, 503 at the final hop.
pub async fn hop(mut req: Request, ctx: RouteContext<()>) -> Result<Response, EdgeError> {
    let admitted = admit(&mut req, &ctx, Some(ScannerRole::Hub), SCAN_HOP).await?;
    let scan = parse_json::<HopScanRequest>(&admitted.body)?.parse()?;
    let command = OrderCommand::Hop {
        platform_id: scan.platform_id,
        scanner: hub_of(&admitted.claims),
        scanner_token: admitted.token,
        scan: admitted.scan,
    };
    order_object::ask(&ctx.env, &scan.order_id, &command).await
}

/// `POST /v1/scans/deliver`.
///
/// # Errors
/// 401, 403, 429, 400, 404, 409, 410, 503.
pub async fn deliver(mut req: Request, ctx: RouteContext<()>) -> Result<Response, EdgeError> {
    let admitted = admit(&mut req, &ctx, Some(ScannerRole::Hub), SCAN_DELIVER).await?;
    let scan = parse_json::<DeliverScanRequest>(&admitted.body)?.parse()?;
    let command = OrderCommand::Deliver {
        platform_id: scan.platform_id,
        release_id: scan.release_id,
        signature: scan.signature,
        scanner: hub_of(&admitted.claims),
        scanner_token: admitted.token,
        scan: admitted.scan,
    };
    order_object::ask(&ctx.env, &scan.order_id, &command).await
}

/// `POST /v1/scanners/renew`: a device-bound scanner's fresh credential for the next shift,
/// from the origin (which refuses a revoked scanner).
///
/// # Errors
/// 401 (also for a scanner without a device), 429, 503.
pub async fn renew(mut req: Request, ctx: RouteContext<()>) -> Result<Response, EdgeError> {
    let admitted = admit(&mut req, &ctx, None, SCANNER_RENEW).await?;
    let Some(scan) = admitted.scan else {
        return Err(EdgeError::with_message(
            ErrorCode::Forbidden,
            "Only a scanner enrolled with a device renews its credential.",
        ));
    };
    let config = EdgeConfig::load(&ctx.env)?;
    let body = ScannerRenewalRequest {
        scanner_token: admitted.token,
        scan,
    };
    let body = serde_json::to_vec(&body).map_err(|_| EdgeError::internal("encoding a renewal"))?;
    let reply = OriginClient::new(
        &config.origin_url,
        &config.secrets.edge_request,
        config.origin_timeout,
    )
    .send(Method::Post, INTERNAL_SCANNER_RENEWALS, Some(&body), None)
    .await?;
    if !(200..300).contains(&reply.status) {
        return Err(reply.into_error());
    }
    // A fresh credential: no cache keeps it.
    Ok(http::no_store(http::raw_json(reply.status, reply.body)))
}

/// A courier request that passed its checks.
pub(crate) struct Admitted {
    pub(crate) token: String,
    pub(crate) claims: ScannerClaims,
    pub(crate) body: Vec<u8>,
    /// The device-signed request, for the order's chain (`None` without a device).
    pub(crate) scan: Option<SignedScan>,
}

/// Verifies the scanner credential, reads the body (at most 64 KiB), verifies the device's
/// signature for a device-bound credential, passes the scanner's gate (which also refuses a
/// replayed device nonce), then checks the role. The gate comes before the role so that every
/// attempt of a stolen scanner counts against its rate. (The bench build's plaintext baseline
/// admits its scans the same way.)
pub(crate) async fn admit(
    req: &mut Request,
    ctx: &RouteContext<()>,
    role: Option<ScannerRole>,
    path: &'static str,
) -> Result<Admitted, EdgeError> {
    let config = EdgeConfig::load(&ctx.env)?;
    let token = http::require_bearer(req)?;
    let now = http::now();
    let claims = config
        .secrets
        .credentials
        .verify_scanner(&token, now)
        .map_err(|_| EdgeError::code(ErrorCode::Unauthorized))?;
    let body = http::read_body(req).await?;
    let scan = match &claims.device {
        Some(key) => {
            let values = [HEADER_TIMESTAMP, HEADER_NONCE, HEADER_SIGNATURE]
                .map(|name| (name, req.headers().get(name).ok().flatten()));
            let lookup = |name: &str| {
                values
                    .iter()
                    .find(|(n, _)| *n == name)
                    .and_then(|(_, v)| v.as_deref())
            };
            let headers = ScanHeaders::from_lookup(lookup).map_err(|_| {
                EdgeError::with_message(
                    ErrorCode::Unauthorized,
                    "This scanner's requests must carry its device's signature.",
                )
            })?;
            let request = ScanRequest {
                method: "POST",
                path,
                body: &body,
                token_id: &claims.token_id,
            };
            let verified =
                verify_scan(key, &request, &headers, now, SCAN_WINDOW_SECS).map_err(|_| {
                    EdgeError::with_message(
                        ErrorCode::Unauthorized,
                        "The device signature is missing, stale or not valid.",
                    )
                })?;
            let link =
                SignedScan::new(claims.scanner_id.clone(), &request, &verified).map_err(|_| {
                    EdgeError::with_message(ErrorCode::InvalidInput, "The body is not UTF-8 JSON.")
                })?;
            Some(link)
        }
        None => None,
    };
    scanner_gate::ask(
        &ctx.env,
        claims.scanner_id.as_str(),
        &GateCommand::Admit {
            rate_per_minute: config.scanner_rate_per_minute,
            nonce: scan.as_ref().map(|s| s.nonce.clone()),
        },
    )
    .await?;
    if role.is_some_and(|role| claims.role != role) {
        return Err(EdgeError::code(ErrorCode::WrongRole));
    }
    Ok(Admitted {
        token,
        claims,
        body,
        scan,
    })
}

pub(crate) fn hub_of(claims: &ScannerClaims) -> ScanningHub {
    ScanningHub {
        hub_id: claims.hub_id.clone(),
        hub: claims.hub,
        carrier_id: claims.carrier_id.clone(),
    }
}

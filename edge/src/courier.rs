//! Courier endpoints (scanners). Scanner credentials are verified here with the origin's public
//! key; the scanner's gate (revocation, rate) admits the scan; the role is checked; and the
//! order's object takes the decision. The hub's region always comes from the credential.

use lasthop_core::api::{DeliverScanRequest, ErrorCode, HopScanRequest, PickupScanRequest};
use lasthop_core::credential::{ScannerClaims, ScannerRole};
use worker::{Request, Response, RouteContext};

use crate::config::EdgeConfig;
use crate::error::EdgeError;
use crate::http;
use crate::order_object::{self, OrderCommand, ScanningHub};
use crate::scanner_gate::{self, GateCommand};

/// `POST /v1/scans/pickup`.
///
/// # Errors
/// 401, 403 `wrong_role`, 429, 400, 404, 409 `label_mismatch`, 410.
pub async fn pickup(mut req: Request, ctx: RouteContext<()>) -> Result<Response, EdgeError> {
    let (_, claims) = admit(&req, &ctx, ScannerRole::Pickup).await?;
    let (request, _) = http::read_json::<PickupScanRequest>(&mut req).await?;
    let scan = request.parse()?;
    let command = OrderCommand::Pickup {
        platform_id: scan.platform_id,
        buyer_id: scan.buyer_id,
        waybill: scan.waybill,
        scanner: hub_of(&claims),
    };
    order_object::ask(&ctx.env, &scan.order_id, &command).await
}

/// `POST /v1/scans/hop`.
///
/// # Errors
/// 401, 403 `wrong_role`/`off_route`, 429, 400, 404, 409, 410, 503 at the final hop.
pub async fn hop(mut req: Request, ctx: RouteContext<()>) -> Result<Response, EdgeError> {
    let (token, claims) = admit(&req, &ctx, ScannerRole::Hub).await?;
    let (request, _) = http::read_json::<HopScanRequest>(&mut req).await?;
    let scan = request.parse()?;
    let command = OrderCommand::Hop {
        platform_id: scan.platform_id,
        scanner: hub_of(&claims),
        scanner_token: token,
    };
    order_object::ask(&ctx.env, &scan.order_id, &command).await
}

/// `POST /v1/scans/deliver`.
///
/// # Errors
/// 401, 403, 429, 400, 404, 409, 410, 503.
pub async fn deliver(mut req: Request, ctx: RouteContext<()>) -> Result<Response, EdgeError> {
    let (token, claims) = admit(&req, &ctx, ScannerRole::Hub).await?;
    let (request, _) = http::read_json::<DeliverScanRequest>(&mut req).await?;
    let scan = request.parse()?;
    let command = OrderCommand::Deliver {
        platform_id: scan.platform_id,
        release_id: scan.release_id,
        signature: scan.signature,
        scanner: hub_of(&claims),
        scanner_token: token,
    };
    order_object::ask(&ctx.env, &scan.order_id, &command).await
}

/// Verifies the scanner credential, passes the scanner's gate, then checks the role. The gate
/// comes before the role so that every attempt of a stolen scanner counts against its rate.
/// (The bench build's plaintext baseline admits its scans the same way.)
pub(crate) async fn admit(
    req: &Request,
    ctx: &RouteContext<()>,
    role: ScannerRole,
) -> Result<(String, ScannerClaims), EdgeError> {
    let config = EdgeConfig::load(&ctx.env)?;
    let token = http::require_bearer(req)?;
    let claims = config
        .secrets
        .credentials
        .verify_scanner(&token, http::now())
        .map_err(|_| EdgeError::code(ErrorCode::Unauthorized))?;
    scanner_gate::ask(
        &ctx.env,
        claims.scanner_id.as_str(),
        &GateCommand::Admit {
            rate_per_minute: config.scanner_rate_per_minute,
        },
    )
    .await?;
    if claims.role != role {
        return Err(EdgeError::code(ErrorCode::WrongRole));
    }
    Ok((token, claims))
}

pub(crate) fn hub_of(claims: &ScannerClaims) -> ScanningHub {
    ScanningHub {
        hub_id: claims.hub_id.clone(),
        hub: claims.hub,
    }
}

//! `POST /internal/v1/revocations`: the origin pushes a scanner's revocation, signed with the
//! origin-push key. The signature, its ±60 s window and the nonce (remembered by the scanner's
//! gate) are checked; the gate then refuses every later scan of that scanner. The origin keeps
//! an outbox and retries until this answers 204, so a revocation reaches the edge as fast as
//! one push: the next scan after the origin's `DELETE` returns is refused.

use lasthop_core::api::{ErrorCode, RevocationRequest};
use lasthop_core::signing::{verify_request, SignedHeaders, SignedRequest, DEFAULT_WINDOW_SECS};
use worker::{Request, Response, RouteContext};

use crate::config::EdgeConfig;
use crate::error::EdgeError;
use crate::http;
use crate::scanner_gate::{self, GateCommand};

/// `POST /internal/v1/revocations`.
///
/// # Errors
/// 401 for a missing, stale, replayed or bad signature; 400 for a bad body.
pub async fn revoke(mut req: Request, ctx: RouteContext<()>) -> Result<Response, EdgeError> {
    let config = EdgeConfig::load(&ctx.env)?;
    let url = req.url()?;
    let path_and_query = match url.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_owned(),
    };
    let header_values: Vec<(String, String)> = req.headers().entries().collect();
    let headers = SignedHeaders::from_lookup(|name| {
        header_values
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    })
    .map_err(|_| EdgeError::code(ErrorCode::Unauthorized))?;
    let authorization = req.headers().get("authorization").ok().flatten();
    let body = http::read_body(&mut req).await?;
    let now = http::now();
    let nonce = verify_request(
        &config.secrets.origin_push,
        &SignedRequest {
            method: "POST",
            path_and_query: &path_and_query,
            body: &body,
            authorization: authorization.as_deref(),
        },
        &headers,
        now,
        DEFAULT_WINDOW_SECS,
    )
    .map_err(|_| EdgeError::code(ErrorCode::Unauthorized))?;
    let request: RevocationRequest = lasthop_core::api::parse_json(&body)?;
    let scanner_id = request.parse()?;
    scanner_gate::ask(
        &ctx.env,
        scanner_id.as_str(),
        &GateCommand::Revoke {
            nonce: nonce.to_hex(),
            at: now.unix_seconds(),
        },
    )
    .await?;
    Ok(Response::empty()?.with_status(204))
}

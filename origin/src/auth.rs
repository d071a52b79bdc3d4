//! Who is calling: the edge (HMAC-signed internal requests, nonce replay refused), buyers
//! and sellers (session credentials forwarded by the edge), and scanners (scanner
//! credentials issued here, checked against the directory for revocation).

use axum::body::Body;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use lasthop_core::credential::{CredentialError, ScannerClaims, ScannerRole, Subject};
use lasthop_core::ids::{BuyerId, PlatformId, SellerId};
use lasthop_core::signing::SignedRequest;

use crate::error::ApiError;
use crate::extract::bearer;
use crate::startup::BODY_LIMIT;
use crate::state::AppState;
use crate::store::ScannerRow;

/// Seconds an edge request's timestamp may differ from our clock.
pub const SIGNATURE_WINDOW_SECONDS: i64 = 60;

/// Checks the edge's HMAC signature over method, path, timestamp, nonce, body digest and the
/// `Authorization` header, the ±60 s window, and that the nonce is new. The body is buffered (up to the body
/// limit) and handed on unchanged.
pub async fn verify_edge_signature(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let (parts, body) = request.into_parts();
    let bytes = match axum::body::to_bytes(body, BODY_LIMIT).await {
        Ok(bytes) => bytes,
        Err(_) => return ApiError::PayloadTooLarge.into_response(),
    };
    if let Err(err) = check_signature(&state, &parts, &bytes).await {
        return err.into_response();
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

async fn check_signature(state: &AppState, parts: &Parts, body: &[u8]) -> Result<(), ApiError> {
    let path_and_query = parts
        .uri
        .path_and_query()
        .map_or_else(|| parts.uri.path(), |pq| pq.as_str());
    let now = state.now();
    let authorization = parts
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .map(|v| {
            v.to_str()
                .map_err(|_| ApiError::Unauthorized("the credential is malformed"))
        })
        .transpose()?;
    let request = SignedRequest {
        method: parts.method.as_str(),
        path_and_query,
        body,
        authorization,
    };
    let nonce = crate::signing::verify(
        &state.keys().edge_request,
        &request,
        |name| parts.headers.get(name).and_then(|v| v.to_str().ok()),
        now,
        SIGNATURE_WINDOW_SECONDS,
    )
    .map_err(|_| ApiError::Unauthorized("the edge signature is missing, stale or not valid"))?;
    if state
        .stores()
        .directory
        .note_nonce(&nonce, now.unix_millis())
        .await?
    {
        Ok(())
    } else {
        Err(ApiError::Unauthorized("the edge request was replayed"))
    }
}

fn session_error(err: CredentialError) -> ApiError {
    match err {
        CredentialError::Expired => ApiError::Unauthorized("the session has expired"),
        _ => ApiError::Unauthorized("the session token is not valid"),
    }
}

/// A verified buyer session.
#[derive(Debug, Clone)]
pub struct BuyerSession {
    /// The buyer.
    pub buyer_id: BuyerId,
    /// Their platform.
    pub platform_id: PlatformId,
}

impl FromRequestParts<AppState> for BuyerSession {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer(parts).ok_or(ApiError::Unauthorized("a buyer token is required"))?;
        let claims = state
            .verifier()
            .verify_session(token, state.now())
            .map_err(session_error)?;
        match claims.subject {
            Subject::Buyer(buyer_id) => Ok(Self {
                buyer_id,
                platform_id: claims.platform_id,
            }),
            Subject::Seller(_) => Err(ApiError::Forbidden(
                "this needs a buyer token, not a seller token",
            )),
        }
    }
}

/// A verified seller session.
#[derive(Debug, Clone)]
pub struct SellerSession {
    /// The seller.
    pub seller_id: SellerId,
    /// Their platform.
    pub platform_id: PlatformId,
}

impl FromRequestParts<AppState> for SellerSession {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer(parts).ok_or(ApiError::Unauthorized("a seller token is required"))?;
        let claims = state
            .verifier()
            .verify_session(token, state.now())
            .map_err(session_error)?;
        match claims.subject {
            Subject::Seller(seller_id) => Ok(Self {
                seller_id,
                platform_id: claims.platform_id,
            }),
            Subject::Buyer(_) => Err(ApiError::Forbidden(
                "this needs a seller token, not a buyer token",
            )),
        }
    }
}

/// Verifies a scanner credential (signature, expiry) and that the directory still knows it
/// as issued, unrevoked, bound to the same hub and, for a device-bound credential, to the same
/// device. Returns the claims and the scanner's row (with its device keys).
///
/// # Errors
/// `unauthorized` for a forged, expired, revoked or unknown credential.
pub async fn scanner(
    state: &AppState,
    token: &str,
) -> Result<(ScannerClaims, ScannerRow), ApiError> {
    let claims = state
        .verifier()
        .verify_scanner(token, state.now())
        .map_err(|err| match err {
            CredentialError::Expired => ApiError::Unauthorized("the scanner token has expired"),
            _ => ApiError::Unauthorized("the scanner token is not valid"),
        })?;
    let row = state
        .stores()
        .directory
        .scanner(claims.scanner_id.as_str())
        .await?
        .ok_or(ApiError::Unauthorized("the scanner token is not valid"))?;
    if row.revoked_at.is_some() {
        return Err(ApiError::Unauthorized("the scanner has been revoked"));
    }
    let same_device = match (&claims.device, &row.sign_key) {
        (None, None) => true,
        (Some(key), Some(enrolled)) => key.to_base64() == *enrolled,
        _ => false,
    };
    if row.hub_id != claims.hub_id.as_str() || !same_device {
        return Err(ApiError::Unauthorized("the scanner token is not valid"));
    }
    Ok((claims, row))
}

/// [`scanner`], for a hub scanner only.
///
/// # Errors
/// As [`scanner`], and `wrong_role` for a pickup scanner.
pub async fn hub_scanner(
    state: &AppState,
    token: &str,
) -> Result<(ScannerClaims, ScannerRow), ApiError> {
    let (claims, row) = scanner(state, token).await?;
    if claims.role != ScannerRole::Hub {
        return Err(ApiError::WrongRole("only a hub scanner can do this"));
    }
    Ok((claims, row))
}

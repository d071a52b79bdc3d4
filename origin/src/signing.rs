//! Adapter over the core's request signing for axum: verifies the edge's signed calls and
//! signs the origin's pushes to the edge.

use lasthop_core::keys::RequestKey;
use lasthop_core::signing::{
    sign_request, verify_request, RequestNonce, SignatureError, SignedHeaders, SignedRequest,
};
use lasthop_core::time::Timestamp;
use rand::rngs::OsRng;

/// Verifies a signed request from its header lookup; returns the nonce (hex) for the
/// replay check.
///
/// # Errors
/// The core's [`SignatureError`]; callers answer every case the same way.
pub fn verify<'a>(
    key: &RequestKey,
    request: &SignedRequest<'_>,
    lookup: impl FnMut(&str) -> Option<&'a str>,
    now: Timestamp,
    window_seconds: i64,
) -> Result<String, SignatureError> {
    let headers = SignedHeaders::from_lookup(lookup)?;
    verify_request(key, request, &headers, now, window_seconds).map(|nonce| nonce.to_hex())
}

/// The `(name, value)` headers that sign a request with a fresh nonce.
pub fn sign(
    key: &RequestKey,
    request: &SignedRequest<'_>,
    now: Timestamp,
) -> Vec<(&'static str, String)> {
    let nonce = RequestNonce::generate(&mut OsRng);
    let headers = sign_request(key, request, now, &nonce);
    headers
        .pairs()
        .into_iter()
        .map(|(name, value)| (name, value.to_owned()))
        .collect()
}

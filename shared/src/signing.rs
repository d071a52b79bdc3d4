//! Signed internal requests between edge and origin. The signature is hex HMAC-SHA256 over
//! `METHOD \n path-and-query \n timestamp \n nonce \n hex(sha256(body)) \n authorization`, sent
//! in four headers, where `authorization` is `hex(sha256(Authorization header value))`, or `-`
//! without that header: a relayed buyer, seller or scanner token is bound to the one request
//! the edge signed, so it cannot be moved to another.
//! Receivers accept timestamps within a window (±60 s by design) and must reject a nonce seen
//! before; [`verify_request`] returns the nonce so the caller can record it.

use std::fmt;

use hmac::Mac;
use rand_core::CryptoRngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::keys::RequestKey;
use crate::time::Timestamp;

/// Header naming the signing key, e.g. `edge-request-v1`.
pub const HEADER_KEY_ID: &str = "x-lasthop-key-id";
/// Header with unix seconds.
pub const HEADER_TIMESTAMP: &str = "x-lasthop-timestamp";
/// Header with 32 hex characters of randomness.
pub const HEADER_NONCE: &str = "x-lasthop-nonce";
/// Header with the hex signature.
pub const HEADER_SIGNATURE: &str = "x-lasthop-signature";
/// The window the design fixes, in seconds either way.
pub const DEFAULT_WINDOW_SECS: i64 = 60;

/// 16 random bytes, 32 hex characters on the wire.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct RequestNonce([u8; 16]);

impl RequestNonce {
    /// A fresh nonce.
    pub fn generate(rng: &mut impl CryptoRngCore) -> Self {
        let mut bytes = [0; 16];
        rng.fill_bytes(&mut bytes);
        Self(bytes)
    }

    /// Parses 32 hex characters.
    ///
    /// # Errors
    /// [`SignatureError::Malformed`].
    pub fn parse(input: &str) -> Result<Self, SignatureError> {
        Self::from_hex(input).ok_or(SignatureError::Malformed(HEADER_NONCE))
    }

    /// Parses 32 hex characters; `None` for anything else.
    pub fn from_hex(input: &str) -> Option<Self> {
        let mut bytes = [0; 16];
        hex::decode_to_slice(input, &mut bytes).ok()?;
        Some(Self(bytes))
    }

    /// Lower-case hex.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Display for RequestNonce {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for RequestNonce {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RequestNonce({})", self.to_hex())
    }
}

/// The four header values of a signed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedHeaders {
    /// `x-lasthop-key-id`.
    pub key_id: String,
    /// `x-lasthop-timestamp` (unix seconds).
    pub timestamp: String,
    /// `x-lasthop-nonce`.
    pub nonce: String,
    /// `x-lasthop-signature`.
    pub signature: String,
}

impl SignedHeaders {
    /// `(name, value)` pairs to set on the request.
    pub fn pairs(&self) -> [(&'static str, &str); 4] {
        [
            (HEADER_KEY_ID, &self.key_id),
            (HEADER_TIMESTAMP, &self.timestamp),
            (HEADER_NONCE, &self.nonce),
            (HEADER_SIGNATURE, &self.signature),
        ]
    }

    /// Collects the headers through a lookup (e.g. over the framework's header map).
    ///
    /// # Errors
    /// [`SignatureError::MissingHeader`] naming the first absent header.
    pub fn from_lookup<'a>(
        mut lookup: impl FnMut(&str) -> Option<&'a str>,
    ) -> Result<Self, SignatureError> {
        let mut get = |name: &'static str| {
            lookup(name)
                .map(str::to_owned)
                .ok_or(SignatureError::MissingHeader(name))
        };
        Ok(Self {
            key_id: get(HEADER_KEY_ID)?,
            timestamp: get(HEADER_TIMESTAMP)?,
            nonce: get(HEADER_NONCE)?,
            signature: get(HEADER_SIGNATURE)?,
        })
    }
}

/// Why a signed request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// A header is absent.
    #[error("header {0} is missing")]
    MissingHeader(&'static str),
    /// A header is not in its format.
    #[error("header {0} is malformed")]
    Malformed(&'static str),
    /// Signed with another key.
    #[error("the request is signed with an unknown key")]
    UnknownKey,
    /// Outside the accepted time window.
    #[error("the request timestamp is outside the accepted window")]
    Stale,
    /// The signature does not match.
    #[error("the request signature is not valid")]
    BadSignature,
}

/// What a request signature covers.
#[derive(Debug, Clone, Copy)]
pub struct SignedRequest<'a> {
    /// HTTP method.
    pub method: &'a str,
    /// Path and query.
    pub path_and_query: &'a str,
    /// The exact body.
    pub body: &'a [u8],
    /// The `Authorization` header's value, if the request has one.
    pub authorization: Option<&'a str>,
}

fn signature(
    mut mac: crate::keys::HmacSha256,
    request: &SignedRequest<'_>,
    timestamp: i64,
    nonce: &RequestNonce,
) -> [u8; 32] {
    let SignedRequest {
        method,
        path_and_query,
        body,
        authorization,
    } = *request;
    mac.update(method.to_ascii_uppercase().as_bytes());
    mac.update(b"\n");
    mac.update(path_and_query.as_bytes());
    mac.update(b"\n");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b"\n");
    mac.update(nonce.to_hex().as_bytes());
    mac.update(b"\n");
    mac.update(hex::encode(Sha256::digest(body)).as_bytes());
    mac.update(b"\n");
    match authorization {
        Some(value) => mac.update(hex::encode(Sha256::digest(value.as_bytes())).as_bytes()),
        None => mac.update(b"-"),
    }
    mac.finalize().into_bytes().into()
}

/// Whether `timestamp` (unix seconds, as a client sent it) is within `window_secs` of `now`
/// either way. Total: a timestamp near `i64::MIN` or `i64::MAX` is simply outside.
pub fn within_window(now: Timestamp, timestamp: i64, window_secs: i64) -> bool {
    now.unix_seconds().abs_diff(timestamp) <= window_secs.unsigned_abs()
}

/// Signs a request.
pub fn sign_request(
    key: &RequestKey,
    request: &SignedRequest<'_>,
    timestamp: Timestamp,
    nonce: &RequestNonce,
) -> SignedHeaders {
    let seconds = timestamp.unix_seconds();
    SignedHeaders {
        key_id: key.key_id(),
        timestamp: seconds.to_string(),
        nonce: nonce.to_hex(),
        signature: hex::encode(signature(key.hmac(), request, seconds, nonce)),
    }
}

/// Verifies a request's headers at `now`, accepting timestamps within `window_secs` either way,
/// and a signature by the current or the previous version of `key` (a rotation's rollover).
/// Returns the nonce, which the caller must check against the nonces it has seen.
///
/// # Errors
/// [`SignatureError`]: malformed headers, unknown key, stale timestamp or bad signature.
pub fn verify_request(
    key: &RequestKey,
    request: &SignedRequest<'_>,
    headers: &SignedHeaders,
    now: Timestamp,
    window_secs: i64,
) -> Result<RequestNonce, SignatureError> {
    // Key ids are public (`edge-request-v2`): comparing them needs no constant time.
    let mac = key
        .hmac_for(&headers.key_id)
        .ok_or(SignatureError::UnknownKey)?;
    let timestamp: i64 = headers
        .timestamp
        .parse()
        .map_err(|_| SignatureError::Malformed(HEADER_TIMESTAMP))?;
    let nonce = RequestNonce::parse(&headers.nonce)?;
    let mut given = [0u8; 32];
    hex::decode_to_slice(&headers.signature, &mut given)
        .map_err(|_| SignatureError::Malformed(HEADER_SIGNATURE))?;
    if !within_window(now, timestamp, window_secs) {
        return Err(SignatureError::Stale);
    }
    let expected = signature(mac, request, timestamp, &nonce);
    if bool::from(expected.ct_eq(&given)) {
        Ok(nonce)
    } else {
        Err(SignatureError::BadSignature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{MasterKeyRing, OriginKeys};
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    fn keys() -> OriginKeys {
        OriginKeys::derive(&MasterKeyRing::generate(&mut StdRng::seed_from_u64(8)))
    }

    fn req<'a>(method: &'a str, path: &'a str, body: &'a [u8]) -> SignedRequest<'a> {
        SignedRequest {
            method,
            path_and_query: path,
            body,
            authorization: None,
        }
    }

    #[test]
    fn signed_requests_verify_within_the_window() {
        let keys = keys();
        let nonce = RequestNonce::generate(&mut StdRng::seed_from_u64(1));
        let at = Timestamp::from_unix_seconds(1_000);
        let request = req("post", "/internal/v1/releases?x=1", b"{}");
        let headers = sign_request(&keys.edge_request, &request, at, &nonce);
        assert_eq!(headers.key_id, "edge-request-v1");
        assert_eq!(headers.nonce.len(), 32);
        let ok = verify_request(
            &keys.edge_request,
            &req("POST", "/internal/v1/releases?x=1", b"{}"),
            &headers,
            at.plus_seconds(60),
            DEFAULT_WINDOW_SECS,
        );
        assert_eq!(ok, Ok(nonce));
    }

    #[test]
    fn any_change_or_stale_timestamp_is_refused() {
        let keys = keys();
        let nonce = RequestNonce::generate(&mut StdRng::seed_from_u64(1));
        let at = Timestamp::from_unix_seconds(1_000);
        let headers = sign_request(&keys.edge_request, &req("POST", "/p", b"body"), at, &nonce);
        let verify = |request: SignedRequest<'_>, headers: &SignedHeaders, now| {
            verify_request(
                &keys.edge_request,
                &request,
                headers,
                now,
                DEFAULT_WINDOW_SECS,
            )
        };
        for changed in [
            req("GET", "/p", b"body"),
            req("POST", "/q", b"body"),
            req("POST", "/p", b"bodY"),
        ] {
            assert_eq!(
                verify(changed, &headers, at),
                Err(SignatureError::BadSignature)
            );
        }
        let same = req("POST", "/p", b"body");
        assert_eq!(
            verify(same, &headers, at.plus_seconds(61)),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify(same, &headers, at.plus_seconds(-61)),
            Err(SignatureError::Stale)
        );
        let other_nonce = SignedHeaders {
            nonce: "00".repeat(16),
            ..headers.clone()
        };
        assert_eq!(
            verify(same, &other_nonce, at),
            Err(SignatureError::BadSignature)
        );
        let bad_hex = SignedHeaders {
            signature: "zz".into(),
            ..headers.clone()
        };
        assert_eq!(
            verify(same, &bad_hex, at),
            Err(SignatureError::Malformed(HEADER_SIGNATURE))
        );
        // The origin's push key is a different key.
        let pushed = sign_request(&keys.origin_push, &same, at, &nonce);
        assert_eq!(verify(same, &pushed, at), Err(SignatureError::UnknownKey));
        let forged = SignedHeaders {
            key_id: headers.key_id.clone(),
            ..pushed
        };
        assert_eq!(verify(same, &forged, at), Err(SignatureError::BadSignature));
    }

    #[test]
    fn the_signature_covers_the_authorization_header() {
        let keys = keys();
        let nonce = RequestNonce::generate(&mut StdRng::seed_from_u64(2));
        let at = Timestamp::from_unix_seconds(1_000);
        let with_token = SignedRequest {
            authorization: Some("Bearer lh1.buyer-a"),
            ..req("GET", "/internal/v1/buyers/me", b"")
        };
        let headers = sign_request(&keys.edge_request, &with_token, at, &nonce);
        let verify = |request: SignedRequest<'_>| {
            verify_request(
                &keys.edge_request,
                &request,
                &headers,
                at,
                DEFAULT_WINDOW_SECS,
            )
        };
        assert_eq!(verify(with_token), Ok(nonce));
        // Another buyer's token relayed under the same signature, or none at all: refused.
        let swapped = SignedRequest {
            authorization: Some("Bearer lh1.buyer-b"),
            ..with_token
        };
        assert_eq!(verify(swapped), Err(SignatureError::BadSignature));
        let stripped = SignedRequest {
            authorization: None,
            ..with_token
        };
        assert_eq!(verify(stripped), Err(SignatureError::BadSignature));
        // Absent and empty are different.
        let bare = sign_request(&keys.edge_request, &req("GET", "/p", b""), at, &nonce);
        let empty = SignedRequest {
            authorization: Some(""),
            ..req("GET", "/p", b"")
        };
        assert_eq!(
            verify_request(&keys.edge_request, &empty, &bare, at, DEFAULT_WINDOW_SECS),
            Err(SignatureError::BadSignature)
        );
    }

    #[test]
    fn an_overflowing_timestamp_is_stale_not_a_panic() {
        let keys = keys();
        let nonce = RequestNonce::generate(&mut StdRng::seed_from_u64(1));
        let at = Timestamp::from_unix_seconds(1_000);
        let request = req("POST", "/p", b"");
        let headers = sign_request(&keys.edge_request, &request, at, &nonce);
        for extreme in [i64::MIN, i64::MIN + 1, i64::MAX] {
            let bad = SignedHeaders {
                timestamp: extreme.to_string(),
                ..headers.clone()
            };
            let result =
                verify_request(&keys.edge_request, &request, &bad, at, DEFAULT_WINDOW_SECS);
            assert_eq!(result, Err(SignatureError::Stale), "{extreme}");
        }
        assert!(within_window(at, 1_060, 60));
        assert!(!within_window(at, 1_061, 60));
        assert!(!within_window(
            Timestamp::from_unix_seconds(i64::MIN / 1000),
            i64::MAX,
            60
        ));
    }

    #[test]
    fn headers_collect_from_a_lookup() {
        let keys = keys();
        let nonce = RequestNonce::generate(&mut StdRng::seed_from_u64(1));
        let headers = sign_request(
            &keys.origin_push,
            &req("POST", "/p", b""),
            Timestamp::from_unix_seconds(5),
            &nonce,
        );
        let pairs = headers.pairs();
        let found = SignedHeaders::from_lookup(|name| {
            pairs.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
        });
        assert_eq!(found, Ok(headers.clone()));
        let missing = SignedHeaders::from_lookup(|name| {
            if name == HEADER_NONCE {
                None
            } else {
                Some("x")
            }
        });
        assert_eq!(missing, Err(SignatureError::MissingHeader(HEADER_NONCE)));
    }

    #[test]
    fn a_request_signed_with_the_previous_key_verifies_during_a_rollover_and_not_after() {
        let mut ring = MasterKeyRing::generate(&mut StdRng::seed_from_u64(8));
        let old = OriginKeys::derive(&ring);
        ring.rotate(&mut StdRng::seed_from_u64(9));
        let new = OriginKeys::derive(&ring);
        let nonce = RequestNonce::generate(&mut StdRng::seed_from_u64(1));
        let at = Timestamp::from_unix_seconds(1_000);
        let request = req("POST", "/internal/v1/releases", b"{}");
        for (signer, verifier) in [(&old, &new), (&new, &new)] {
            for (sign, verify) in [
                (&signer.edge_request, &verifier.edge_request),
                (&signer.origin_push, &verifier.origin_push),
            ] {
                let headers = sign_request(sign, &request, at, &nonce);
                assert_eq!(
                    verify_request(verify, &request, &headers, at, 60),
                    Ok(nonce)
                );
            }
        }
        let by_new = sign_request(&new.edge_request, &request, at, &nonce);
        assert_eq!(by_new.key_id, "edge-request-v2");
        // An origin or edge that has only version 1 does not know version 2.
        assert_eq!(
            verify_request(&old.edge_request, &request, &by_new, at, 60),
            Err(SignatureError::UnknownKey)
        );
        // A forged signature under the previous key id is still refused.
        let forged = SignedHeaders {
            key_id: "edge-request-v1".into(),
            ..by_new
        };
        assert_eq!(
            verify_request(&new.edge_request, &request, &forged, at, 60),
            Err(SignatureError::BadSignature)
        );
        ring.rotate(&mut StdRng::seed_from_u64(10));
        let third = OriginKeys::derive(&ring);
        let by_old = sign_request(&old.edge_request, &request, at, &nonce);
        assert_eq!(
            verify_request(&third.edge_request, &request, &by_old, at, 60),
            Err(SignatureError::UnknownKey)
        );
    }
}

//! Scanner devices and their signed scans.
//!
//! A scanner device (the hub's terminal, or a browser terminal) holds an Ed25519 signing key,
//! which signs every courier request, and an X25519 key, which receives recipients sealed with
//! HPKE ([`crate::sealed_box`]). Only the public halves leave the device: ops enrols them with
//! the scanner (`POST /v1/ops/scanners` `device`), and the scanner's credential names the
//! signing key (`dev`) next to its token id (`tid`).
//!
//! Every courier request carries three headers ([`HEADER_TIMESTAMP`], [`HEADER_NONCE`],
//! [`HEADER_SIGNATURE`]): the signature is over the UTF-8 text
//!
//! ```text
//! lasthop-scan/v1\n{METHOD}\n{path}\n{hex sha256(body)}\n{tid}\n{timestamp}\n{nonce}
//! ```
//!
//! The edge and the origin both verify it with [`verify_scan`] (±60 s, [`SCAN_WINDOW_SECS`]);
//! one use per nonce per scanner is the caller's to enforce, so [`verify_scan`] returns the
//! nonce. The edge keeps every verified scan of an order as a [`SignedScan`] — a link of the
//! order's chain of custody — and hands the whole chain to the origin at the final hop, where
//! [`crate::custody`] checks it. A [`SignedScan`] can be checked again by anyone holding the
//! device's public key, and forged by no one without its private key: a compromised edge holds
//! none.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use rand_core::CryptoRngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use zeroize::Zeroizing;

use crate::ids::ScannerId;
use crate::sealed_box::{BoxPublicKey, BoxSecretKey};
use crate::signing::{within_window, RequestNonce};
use crate::time::Timestamp;

/// Header with the scan's unix seconds.
pub const HEADER_TIMESTAMP: &str = "x-lasthop-device-timestamp";
/// Header with 32 hex characters of randomness, used once per scanner.
pub const HEADER_NONCE: &str = "x-lasthop-device-nonce";
/// Header with the base64url Ed25519 signature.
pub const HEADER_SIGNATURE: &str = "x-lasthop-device-signature";
/// The window the design fixes, in seconds either way.
pub const SCAN_WINDOW_SECS: i64 = 60;
/// The first line of every signed scan text: names the scheme and its version.
pub const SCAN_TEXT_PREFIX: &str = "lasthop-scan/v1";

/// Why a device key or a signed scan was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScanError {
    /// A header is absent.
    #[error("header {0} is missing")]
    MissingHeader(&'static str),
    /// A header or key is not in its format.
    #[error("{0} is malformed")]
    Malformed(&'static str),
    /// Outside the accepted time window.
    #[error("the scan timestamp is outside the accepted window")]
    Stale,
    /// The signature does not match.
    #[error("the device signature is not valid")]
    BadSignature,
    /// A device signature was needed and the credential names no device.
    #[error("this scanner has no enrolled device")]
    NoDevice,
}

/// A credential's token id (`tid`): 16 random bytes, 32 hex characters.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenId([u8; 16]);

impl TokenId {
    /// A fresh token id.
    pub fn generate(rng: &mut impl CryptoRngCore) -> Self {
        let mut bytes = [0; 16];
        rng.fill_bytes(&mut bytes);
        Self(bytes)
    }

    /// Parses 32 hex characters.
    ///
    /// # Errors
    /// [`ScanError::Malformed`].
    pub fn parse(input: &str) -> Result<Self, ScanError> {
        let mut bytes = [0; 16];
        hex::decode_to_slice(input, &mut bytes).map_err(|_| ScanError::Malformed("tid"))?;
        Ok(Self(bytes))
    }

    /// Lower-case hex.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Display for TokenId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for TokenId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TokenId({})", self.to_hex())
    }
}

serde_as_string!(TokenId, to_hex);

/// A device's Ed25519 public key: base64url without padding (32 bytes) on the wire.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct DevicePublicKey(VerifyingKey);

impl DevicePublicKey {
    /// Parses base64url without padding of a 32-byte Ed25519 point.
    ///
    /// # Errors
    /// [`ScanError::Malformed`] (also for a weak, small-order key).
    pub fn parse(input: &str) -> Result<Self, ScanError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(input.trim())
            .map_err(|_| ScanError::Malformed("sign_key"))?;
        let array: [u8; 32] = bytes
            .try_into()
            .map_err(|_| ScanError::Malformed("sign_key"))?;
        let key = VerifyingKey::from_bytes(&array).map_err(|_| ScanError::Malformed("sign_key"))?;
        if key.is_weak() {
            return Err(ScanError::Malformed("sign_key"));
        }
        Ok(Self(key))
    }

    /// Base64url without padding.
    pub fn to_base64(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.0.as_bytes())
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        self.0.as_bytes()
    }
}

impl fmt::Debug for DevicePublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DevicePublicKey({})", self.to_base64())
    }
}

serde_as_string!(DevicePublicKey, to_base64);

/// The public keys ops enrols with a scanner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrolledDevice {
    /// Verifies the device's scan signatures.
    pub sign_key: DevicePublicKey,
    /// Receives sealed recipients.
    pub box_key: BoxPublicKey,
}

/// A device's private keys. Both are zeroized on drop; `Debug` prints `[redacted]`.
#[derive(Clone)]
pub struct DeviceKeys {
    signing: SigningKey,
    boxing: BoxSecretKey,
}

impl fmt::Debug for DeviceKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "DeviceKeys({}, [redacted])",
            self.public().sign_key.to_base64()
        )
    }
}

impl DeviceKeys {
    /// Fresh keys.
    pub fn generate(rng: &mut impl CryptoRngCore) -> Self {
        let mut seed = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(seed.as_mut_slice());
        Self {
            signing: SigningKey::from_bytes(&seed),
            boxing: BoxSecretKey::generate(rng),
        }
    }

    /// From stored secrets: the Ed25519 seed and the X25519 private key.
    pub fn from_bytes(sign_seed: &[u8; 32], box_secret: [u8; 32]) -> Self {
        Self {
            signing: SigningKey::from_bytes(sign_seed),
            boxing: BoxSecretKey::from_bytes(box_secret),
        }
    }

    /// The Ed25519 seed and the X25519 private key, for storing on the device only.
    pub fn to_bytes(&self) -> (Zeroizing<[u8; 32]>, Zeroizing<[u8; 32]>) {
        (
            Zeroizing::new(self.signing.to_bytes()),
            self.boxing.to_bytes(),
        )
    }

    /// What ops enrols.
    pub fn public(&self) -> EnrolledDevice {
        EnrolledDevice {
            sign_key: DevicePublicKey(self.signing.verifying_key()),
            box_key: self.boxing.public_key(),
        }
    }

    /// The key that opens recipients sealed to this device.
    pub fn box_key(&self) -> &BoxSecretKey {
        &self.boxing
    }

    /// Signs a courier request: returns the three header values.
    pub fn sign_scan(
        &self,
        request: &ScanRequest<'_>,
        now: Timestamp,
        nonce: &RequestNonce,
    ) -> ScanHeaders {
        let timestamp = now.unix_seconds();
        let text = scan_text(request, timestamp, nonce);
        let signature = self.signing.sign(text.as_bytes());
        ScanHeaders {
            timestamp: timestamp.to_string(),
            nonce: nonce.to_hex(),
            signature: URL_SAFE_NO_PAD.encode(signature.to_bytes()),
        }
    }
}

impl DeviceKeys {
    /// Signs a request and returns it as a chain link at once (what the edge would keep after
    /// verifying the headers [`DeviceKeys::sign_scan`] makes); for tests and tools that speak to
    /// the origin directly.
    ///
    /// # Errors
    /// [`ScanError::Malformed`] for a body that is not UTF-8.
    pub fn signed_scan(
        &self,
        scanner_id: ScannerId,
        request: &ScanRequest<'_>,
        now: Timestamp,
        nonce: &RequestNonce,
    ) -> Result<SignedScan, ScanError> {
        let headers = self.sign_scan(request, now, nonce);
        let verified = verify_scan(
            &self.public().sign_key,
            request,
            &headers,
            now,
            SCAN_WINDOW_SECS,
        )?;
        SignedScan::new(scanner_id, request, &verified)
    }
}

/// What a scan signature covers besides its timestamp and nonce.
#[derive(Debug, Clone, Copy)]
pub struct ScanRequest<'a> {
    /// HTTP method (upper-cased in the text).
    pub method: &'a str,
    /// The request path, e.g. `/v1/scans/hop` (no query: courier endpoints take none).
    pub path: &'a str,
    /// The exact body bytes.
    pub body: &'a [u8],
    /// The `tid` of the credential sent with the request.
    pub token_id: &'a TokenId,
}

/// The signed text: `lasthop-scan/v1\n{METHOD}\n{path}\n{hex sha256(body)}\n{tid}\n{timestamp}\n{nonce}`.
pub fn scan_text(request: &ScanRequest<'_>, timestamp: i64, nonce: &RequestNonce) -> String {
    format!(
        "{SCAN_TEXT_PREFIX}\n{}\n{}\n{}\n{}\n{timestamp}\n{}",
        request.method.to_ascii_uppercase(),
        request.path,
        hex::encode(Sha256::digest(request.body)),
        request.token_id.to_hex(),
        nonce.to_hex(),
    )
}

/// The three header values of a signed scan, as strings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanHeaders {
    /// [`HEADER_TIMESTAMP`].
    pub timestamp: String,
    /// [`HEADER_NONCE`].
    pub nonce: String,
    /// [`HEADER_SIGNATURE`].
    pub signature: String,
}

impl ScanHeaders {
    /// `(name, value)` pairs to set on the request.
    pub fn pairs(&self) -> [(&'static str, &str); 3] {
        [
            (HEADER_TIMESTAMP, &self.timestamp),
            (HEADER_NONCE, &self.nonce),
            (HEADER_SIGNATURE, &self.signature),
        ]
    }

    /// Collects the headers through a lookup (e.g. over the framework's header map).
    ///
    /// # Errors
    /// [`ScanError::MissingHeader`] naming the first absent header.
    pub fn from_lookup<'a>(
        mut lookup: impl FnMut(&str) -> Option<&'a str>,
    ) -> Result<Self, ScanError> {
        let mut get = |name: &'static str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .ok_or(ScanError::MissingHeader(name))
        };
        Ok(Self {
            timestamp: get(HEADER_TIMESTAMP)?,
            nonce: get(HEADER_NONCE)?,
            signature: get(HEADER_SIGNATURE)?,
        })
    }
}

/// A scan whose signature verified: its time and nonce (record the nonce: one use per scanner).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifiedScan {
    /// The signed unix seconds.
    pub timestamp: i64,
    /// The signed nonce.
    pub nonce: RequestNonce,
    signature: [u8; 64],
}

/// Verifies a courier request's device signature at `now`, accepting timestamps within
/// `window_secs` either way. The caller must refuse a nonce it has seen for this scanner.
///
/// # Errors
/// [`ScanError`]: malformed headers, stale timestamp or bad signature.
pub fn verify_scan(
    key: &DevicePublicKey,
    request: &ScanRequest<'_>,
    headers: &ScanHeaders,
    now: Timestamp,
    window_secs: i64,
) -> Result<VerifiedScan, ScanError> {
    let timestamp: i64 = headers
        .timestamp
        .parse()
        .map_err(|_| ScanError::Malformed(HEADER_TIMESTAMP))?;
    let nonce = RequestNonce::from_hex(&headers.nonce).ok_or(ScanError::Malformed(HEADER_NONCE))?;
    let signature = decode_signature(&headers.signature)?;
    if !within_window(now, timestamp, window_secs) {
        return Err(ScanError::Stale);
    }
    check_signature(key, request, timestamp, &nonce, &signature)?;
    Ok(VerifiedScan {
        timestamp,
        nonce,
        signature,
    })
}

fn decode_signature(input: &str) -> Result<[u8; 64], ScanError> {
    URL_SAFE_NO_PAD
        .decode(input)
        .ok()
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or(ScanError::Malformed(HEADER_SIGNATURE))
}

fn check_signature(
    key: &DevicePublicKey,
    request: &ScanRequest<'_>,
    timestamp: i64,
    nonce: &RequestNonce,
    signature: &[u8; 64],
) -> Result<(), ScanError> {
    let text = scan_text(request, timestamp, nonce);
    key.0
        .verify_strict(text.as_bytes(), &Signature::from_bytes(signature))
        .map_err(|_| ScanError::BadSignature)
}

/// One link of an order's chain of custody: a courier request exactly as its device signed it,
/// and the scanner that sent it. The edge keeps these sealed in the order's object and sends
/// the chain to the origin at the final hop. The body of a pickup carries the buyer id, so a
/// chain is personal data at rest: it is only ever stored sealed.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SignedScan {
    /// The scanner whose credential came with the request.
    #[cfg_attr(feature = "openapi", schema(value_type = ScannerId))]
    pub scanner_id: ScannerId,
    /// HTTP method.
    pub method: String,
    /// Request path, e.g. `/v1/scans/hop`.
    pub path: String,
    /// The exact request body (UTF-8 JSON).
    pub body: String,
    /// The credential's `tid`.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::hex_128))]
    pub tid: TokenId,
    /// Signed unix seconds.
    pub timestamp: i64,
    /// Signed nonce, 32 hex characters.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::hex_128))]
    pub nonce: String,
    /// Base64url Ed25519 signature.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::ed25519_signature))]
    pub signature: String,
}

impl fmt::Debug for SignedScan {
    // The body may carry a buyer id: never print it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignedScan")
            .field("scanner_id", &self.scanner_id)
            .field("path", &self.path)
            .field("timestamp", &self.timestamp)
            .field("nonce", &self.nonce)
            .finish_non_exhaustive()
    }
}

impl SignedScan {
    /// The link for a request whose signature [`verify_scan`] accepted.
    ///
    /// # Errors
    /// [`ScanError::Malformed`] for a body that is not UTF-8.
    pub fn new(
        scanner_id: ScannerId,
        request: &ScanRequest<'_>,
        verified: &VerifiedScan,
    ) -> Result<Self, ScanError> {
        let body =
            String::from_utf8(request.body.to_vec()).map_err(|_| ScanError::Malformed("body"))?;
        Ok(Self {
            scanner_id,
            method: request.method.to_ascii_uppercase(),
            path: request.path.to_owned(),
            body,
            tid: *request.token_id,
            timestamp: verified.timestamp,
            nonce: verified.nonce.to_hex(),
            signature: URL_SAFE_NO_PAD.encode(verified.signature),
        })
    }

    /// The request this link signs.
    pub fn request(&self) -> ScanRequest<'_> {
        ScanRequest {
            method: &self.method,
            path: &self.path,
            body: self.body.as_bytes(),
            token_id: &self.tid,
        }
    }

    /// The nonce, parsed.
    ///
    /// # Errors
    /// [`ScanError::Malformed`].
    pub fn parsed_nonce(&self) -> Result<RequestNonce, ScanError> {
        RequestNonce::from_hex(&self.nonce).ok_or(ScanError::Malformed(HEADER_NONCE))
    }

    /// Checks the signature with the device's key (any time: freshness is the chain's rule).
    ///
    /// # Errors
    /// [`ScanError::Malformed`] or [`ScanError::BadSignature`].
    pub fn verify_signature(&self, key: &DevicePublicKey) -> Result<(), ScanError> {
        let nonce = self.parsed_nonce()?;
        let signature = decode_signature(&self.signature)?;
        check_signature(key, &self.request(), self.timestamp, &nonce, &signature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    const BODY: &[u8] = br#"{"platform_id":"demo","order_id":"o_0123456789abcdef"}"#;

    fn fixture() -> (DeviceKeys, TokenId, RequestNonce, Timestamp) {
        let mut rng = StdRng::seed_from_u64(7);
        (
            DeviceKeys::generate(&mut rng),
            TokenId::generate(&mut rng),
            RequestNonce::generate(&mut rng),
            Timestamp::from_unix_seconds(1_700_000_000),
        )
    }

    fn request<'a>(path: &'a str, body: &'a [u8], tid: &'a TokenId) -> ScanRequest<'a> {
        ScanRequest {
            method: "POST",
            path,
            body,
            token_id: tid,
        }
    }

    #[test]
    fn the_signed_text_has_the_shared_layout() {
        let tid = TokenId::parse("00112233445566778899aabbccddeeff").unwrap();
        let nonce = RequestNonce::parse("ffeeddccbbaa99887766554433221100").unwrap();
        let text = scan_text(
            &ScanRequest {
                method: "post",
                path: "/v1/scans/hop",
                body: b"{}",
                token_id: &tid,
            },
            1_700_000_000,
            &nonce,
        );
        assert_eq!(
            text,
            "lasthop-scan/v1\nPOST\n/v1/scans/hop\n\
             44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a\n\
             00112233445566778899aabbccddeeff\n1700000000\nffeeddccbbaa99887766554433221100"
        );
    }

    #[test]
    fn a_signed_scan_verifies_within_the_window_and_returns_its_nonce() {
        let (keys, tid, nonce, now) = fixture();
        let req = request("/v1/scans/hop", BODY, &tid);
        let headers = keys.sign_scan(&req, now, &nonce);
        let key = keys.public().sign_key;
        let verified =
            verify_scan(&key, &req, &headers, now.plus_seconds(60), SCAN_WINDOW_SECS).unwrap();
        assert_eq!(verified.nonce, nonce);
        assert_eq!(verified.timestamp, now.unix_seconds());
        assert_eq!(
            verify_scan(&key, &req, &headers, now.plus_seconds(61), SCAN_WINDOW_SECS),
            Err(ScanError::Stale)
        );
        assert_eq!(
            verify_scan(
                &key,
                &req,
                &headers,
                now.plus_seconds(-61),
                SCAN_WINDOW_SECS
            ),
            Err(ScanError::Stale)
        );
    }

    #[test]
    fn any_changed_part_fails_the_signature() {
        let (keys, tid, nonce, now) = fixture();
        let req = request("/v1/scans/hop", BODY, &tid);
        let headers = keys.sign_scan(&req, now, &nonce);
        let key = keys.public().sign_key;
        let verify = |req: &ScanRequest<'_>, headers: &ScanHeaders| {
            verify_scan(&key, req, headers, now, SCAN_WINDOW_SECS)
        };
        let other_tid = TokenId::generate(&mut StdRng::seed_from_u64(99));
        for changed in [
            ScanRequest {
                method: "PUT",
                ..req
            },
            request("/v1/scans/deliver", BODY, &tid),
            request("/v1/scans/hop", b"{}", &tid),
            request("/v1/scans/hop", BODY, &other_tid),
        ] {
            assert_eq!(verify(&changed, &headers), Err(ScanError::BadSignature));
        }
        let later = ScanHeaders {
            timestamp: (now.unix_seconds() + 1).to_string(),
            ..headers.clone()
        };
        assert_eq!(verify(&req, &later), Err(ScanError::BadSignature));
        let other_nonce = ScanHeaders {
            nonce: "00".repeat(16),
            ..headers.clone()
        };
        assert_eq!(verify(&req, &other_nonce), Err(ScanError::BadSignature));
        // Another device's key.
        let stranger = DeviceKeys::generate(&mut StdRng::seed_from_u64(8));
        assert_eq!(
            verify_scan(
                &stranger.public().sign_key,
                &req,
                &headers,
                now,
                SCAN_WINDOW_SECS
            ),
            Err(ScanError::BadSignature)
        );
    }

    #[test]
    fn malformed_headers_are_refused_without_panicking() {
        let (keys, tid, nonce, now) = fixture();
        let req = request("/v1/scans/hop", BODY, &tid);
        let headers = keys.sign_scan(&req, now, &nonce);
        let key = keys.public().sign_key;
        for (bad, expected) in [
            (
                ScanHeaders {
                    timestamp: "9223372036854775808".into(),
                    ..headers.clone()
                },
                ScanError::Malformed(HEADER_TIMESTAMP),
            ),
            (
                ScanHeaders {
                    timestamp: i64::MIN.to_string(),
                    ..headers.clone()
                },
                ScanError::Stale,
            ),
            (
                ScanHeaders {
                    nonce: "xyz".into(),
                    ..headers.clone()
                },
                ScanError::Malformed(HEADER_NONCE),
            ),
            (
                ScanHeaders {
                    signature: "AAAA".into(),
                    ..headers.clone()
                },
                ScanError::Malformed(HEADER_SIGNATURE),
            ),
        ] {
            assert_eq!(
                verify_scan(&key, &req, &bad, now, SCAN_WINDOW_SECS),
                Err(expected)
            );
        }
        let missing = ScanHeaders::from_lookup(|name| (name != HEADER_NONCE).then_some("1"));
        assert_eq!(missing, Err(ScanError::MissingHeader(HEADER_NONCE)));
    }

    #[test]
    fn a_chain_link_verifies_later_with_the_public_key_only() {
        let (keys, tid, nonce, now) = fixture();
        let req = request("/v1/scans/hop", BODY, &tid);
        let headers = keys.sign_scan(&req, now, &nonce);
        let key = keys.public().sign_key;
        let verified = verify_scan(&key, &req, &headers, now, SCAN_WINDOW_SECS).unwrap();
        let scanner = ScannerId::generate(&mut StdRng::seed_from_u64(3));
        let link = SignedScan::new(scanner, &req, &verified).unwrap();
        let json = serde_json::to_string(&link).unwrap();
        let back: SignedScan = serde_json::from_str(&json).unwrap();
        assert_eq!(back, link);
        // A year later the link still verifies: freshness is checked on the final scan only.
        assert_eq!(back.verify_signature(&key), Ok(()));
        let mut changed = back.clone();
        changed.body = changed.body.replace("demo", "demp");
        assert_eq!(changed.verify_signature(&key), Err(ScanError::BadSignature));
        let stranger = DeviceKeys::generate(&mut StdRng::seed_from_u64(8));
        assert_eq!(
            back.verify_signature(&stranger.public().sign_key),
            Err(ScanError::BadSignature)
        );
        assert!(!format!("{back:?}").contains("o_0123"));
    }

    #[test]
    fn device_keys_round_trip_and_keep_their_secrets_out_of_debug() {
        let (keys, ..) = fixture();
        let (seed, boxing) = keys.to_bytes();
        let again = DeviceKeys::from_bytes(&seed, *boxing);
        assert_eq!(again.public(), keys.public());
        let printed = format!("{keys:?}");
        assert!(printed.contains("[redacted]"));
        assert!(!printed.contains(&hex::encode(*seed)));
        let public = keys.public();
        let json = serde_json::to_value(&public).unwrap();
        assert_eq!(json["sign_key"].as_str().unwrap().len(), 43);
        assert_eq!(
            serde_json::from_value::<EnrolledDevice>(json).unwrap(),
            public
        );
    }

    #[test]
    fn weak_and_malformed_device_keys_are_refused() {
        // The identity point is a small-order (weak) key.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        let text = URL_SAFE_NO_PAD.encode(identity);
        assert_eq!(
            DevicePublicKey::parse(&text),
            Err(ScanError::Malformed("sign_key"))
        );
        assert!(DevicePublicKey::parse("short").is_err());
        assert!(TokenId::parse("zz").is_err());
    }
}

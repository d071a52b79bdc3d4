//! Credentials: `lh1.<base64url(JSON claims)>.<base64url(Ed25519 signature)>`, signed by the
//! origin and verified by the edge with public keys only. The signature covers the ASCII
//! text `lh1.<claims>`. Claims carry `kind` (`scanner` or `session`), `kid` (which key signed,
//! e.g. `scanner-v2`) and `exp` (unix seconds). Scanner and session credentials are signed
//! with different derived keys, so one kind can never pass as the other. Scanner claims also
//! carry `tid` (the token id, which device signatures cover) and, for a scanner enrolled with
//! a device, `dev` (the device's Ed25519 public key): such a credential is only good together
//! with that device's signature on each request.

use std::collections::BTreeMap;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::device::{DevicePublicKey, TokenId};
use crate::ids::{BuyerId, CarrierId, HubId, PlatformId, ScannerId, SellerId};
use crate::keys::{KeyError, KeyVersion};
use crate::region::{Directory, HubLevel, HubRegion, RegionCode};
use crate::time::Timestamp;

/// The version prefix of every credential.
pub const PREFIX: &str = "lh1";

/// What a scanner may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScannerRole {
    /// Collects parcels from sellers.
    Pickup,
    /// A distribution centre's terminal (hop, deliver).
    Hub,
}

impl ScannerRole {
    /// `pickup` or `hub`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pickup => "pickup",
            Self::Hub => "hub",
        }
    }
}

/// What a scanner credential asserts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScannerClaims {
    /// The scanner.
    pub scanner_id: ScannerId,
    /// The hub it belongs to.
    pub hub_id: HubId,
    /// That hub's region and level.
    pub hub: HubRegion,
    /// Pickup or hub.
    pub role: ScannerRole,
    /// When the credential stops being valid (second precision on the wire).
    pub expires_at: Timestamp,
    /// The token id (`tid`), covered by every device signature made with this credential.
    pub token_id: TokenId,
    /// The enrolled device's signing key (`dev`); `None` for a scanner without a device.
    pub device: Option<DevicePublicKey>,
    /// The carrier its hub belongs to (`car`; a credential issued before carriers existed
    /// names none and is read as the default carrier's).
    pub carrier_id: CarrierId,
}

/// Who a session credential belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Subject {
    /// A buyer (`b_…`).
    Buyer(BuyerId),
    /// A seller (`s_…`).
    Seller(SellerId),
}

impl Subject {
    /// The id as a string.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Buyer(id) => id.as_str(),
            Self::Seller(id) => id.as_str(),
        }
    }

    fn parse(input: &str) -> Option<Self> {
        if let Ok(buyer) = BuyerId::parse(input) {
            return Some(Self::Buyer(buyer));
        }
        SellerId::parse(input).ok().map(Self::Seller)
    }
}

/// What a buyer or seller session credential asserts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionClaims {
    /// The buyer or seller.
    pub subject: Subject,
    /// Their platform.
    pub platform_id: PlatformId,
    /// When the credential stops being valid (second precision on the wire).
    pub expires_at: Timestamp,
}

/// Why a credential was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialError {
    /// Not `lh1.<claims>.<signature>` with valid base64url and JSON claims.
    #[error("credential is malformed")]
    Malformed,
    /// The signature does not verify, or the key id is unknown.
    #[error("credential signature is not valid")]
    BadSignature,
    /// Past its expiry.
    #[error("credential has expired")]
    Expired,
    /// A session credential where a scanner credential was needed, or the reverse.
    #[error("credential is of the wrong kind")]
    WrongKind,
}

const KIND_SCANNER: &str = "scanner";
const KIND_SESSION: &str = "session";

#[derive(Serialize, Deserialize)]
struct Header {
    kind: String,
    kid: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScannerWire {
    kind: String,
    kid: String,
    exp: i64,
    scanner_id: ScannerId,
    hub_id: HubId,
    hub_level: HubLevel,
    hub_code: RegionCode,
    role: ScannerRole,
    tid: TokenId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    dev: Option<DevicePublicKey>,
    #[serde(default = "CarrierId::platform_default")]
    car: CarrierId,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SessionWire {
    kind: String,
    kid: String,
    exp: i64,
    subject: String,
    platform_id: PlatformId,
}

/// Signs credentials. Origin only: holds the Ed25519 private keys (current version).
#[derive(Clone)]
pub struct CredentialIssuer {
    version: KeyVersion,
    scanner: SigningKey,
    session: SigningKey,
    verifier: CredentialVerifier,
}

impl std::fmt::Debug for CredentialIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CredentialIssuer({}, [redacted])", self.version)
    }
}

impl CredentialIssuer {
    /// Builds the issuer from per-version seeds (derived by [`crate::keys::OriginKeys`]).
    pub(crate) fn from_seeds(
        current: KeyVersion,
        scanner_seeds: &BTreeMap<KeyVersion, Zeroizing<[u8; 32]>>,
        session_seeds: &BTreeMap<KeyVersion, Zeroizing<[u8; 32]>>,
    ) -> Self {
        let publics = |seeds: &BTreeMap<KeyVersion, Zeroizing<[u8; 32]>>, kind: &str| {
            seeds
                .iter()
                .map(|(v, seed)| (kid(kind, *v), SigningKey::from_bytes(seed).verifying_key()))
                .collect::<BTreeMap<_, _>>()
        };
        let signing = |seeds: &BTreeMap<KeyVersion, Zeroizing<[u8; 32]>>| {
            seeds.get(&current).map_or_else(
                // Seeds always include the current version; an all-zero key would only
                // sign credentials nobody's verifier accepts.
                || SigningKey::from_bytes(&[0; 32]),
                |seed| SigningKey::from_bytes(seed),
            )
        };
        Self {
            version: current,
            scanner: signing(scanner_seeds),
            session: signing(session_seeds),
            verifier: CredentialVerifier {
                scanner: publics(scanner_seeds, KIND_SCANNER),
                session: publics(session_seeds, KIND_SESSION),
            },
        }
    }

    /// The matching verifier (public keys of every version).
    pub fn verifier(&self) -> CredentialVerifier {
        self.verifier.clone()
    }

    /// Signs a scanner credential.
    pub fn issue_scanner(&self, claims: &ScannerClaims) -> String {
        let wire = ScannerWire {
            kind: KIND_SCANNER.to_owned(),
            kid: kid(KIND_SCANNER, self.version),
            exp: claims.expires_at.unix_seconds(),
            scanner_id: claims.scanner_id.clone(),
            hub_id: claims.hub_id.clone(),
            hub_level: claims.hub.level(),
            hub_code: claims.hub.code(),
            role: claims.role,
            tid: claims.token_id,
            dev: claims.device,
            car: claims.carrier_id.clone(),
        };
        sign(&self.scanner, &wire)
    }

    /// Signs a buyer or seller session credential.
    pub fn issue_session(&self, claims: &SessionClaims) -> String {
        let wire = SessionWire {
            kind: KIND_SESSION.to_owned(),
            kid: kid(KIND_SESSION, self.version),
            exp: claims.expires_at.unix_seconds(),
            subject: claims.subject.as_str().to_owned(),
            platform_id: claims.platform_id.clone(),
        };
        sign(&self.session, &wire)
    }
}

fn kid(kind: &str, version: KeyVersion) -> String {
    format!("{kind}-{version}")
}

fn sign(key: &SigningKey, claims: &impl Serialize) -> String {
    // Serialising these plain structs to JSON cannot fail.
    let json = serde_json::to_vec(claims).unwrap_or_default();
    let signed = format!("{PREFIX}.{}", URL_SAFE_NO_PAD.encode(json));
    let signature = key.sign(signed.as_bytes());
    format!("{signed}.{}", URL_SAFE_NO_PAD.encode(signature.to_bytes()))
}

/// Verifies credentials with public keys only (the edge's and the origin's view).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CredentialVerifier {
    scanner: BTreeMap<String, VerifyingKey>,
    session: BTreeMap<String, VerifyingKey>,
}

impl CredentialVerifier {
    /// Verifies a scanner credential at `now`.
    ///
    /// # Errors
    /// [`CredentialError`]: malformed, wrong kind, bad signature or expired.
    pub fn verify_scanner(
        &self,
        token: &str,
        now: Timestamp,
    ) -> Result<ScannerClaims, CredentialError> {
        let json = verify(&self.scanner, KIND_SCANNER, token)?;
        scanner_claims(&json, Some(now))
    }

    /// Verifies a session credential at `now`.
    ///
    /// # Errors
    /// [`CredentialError`]: malformed, wrong kind, bad signature or expired.
    pub fn verify_session(
        &self,
        token: &str,
        now: Timestamp,
    ) -> Result<SessionClaims, CredentialError> {
        let json = verify(&self.session, KIND_SESSION, token)?;
        let wire: SessionWire =
            serde_json::from_slice(&json).map_err(|_| CredentialError::Malformed)?;
        let expires_at = check_expiry(wire.exp, now)?;
        let subject = Subject::parse(&wire.subject).ok_or(CredentialError::Malformed)?;
        Ok(SessionClaims {
            subject,
            platform_id: wire.platform_id,
            expires_at,
        })
    }

    pub(crate) fn public_keys_base64(
        &self,
    ) -> (BTreeMap<String, String>, BTreeMap<String, String>) {
        let encode = |keys: &BTreeMap<String, VerifyingKey>| {
            keys.iter()
                .map(|(kid, key)| (kid.clone(), STANDARD.encode(key.as_bytes())))
                .collect()
        };
        (encode(&self.scanner), encode(&self.session))
    }

    pub(crate) fn from_public_keys_base64(
        scanner: &BTreeMap<String, String>,
        session: &BTreeMap<String, String>,
    ) -> Result<Self, KeyError> {
        let decode = |keys: &BTreeMap<String, String>| {
            keys.iter()
                .map(|(kid, key)| {
                    let bytes = STANDARD
                        .decode(key)
                        .map_err(|_| KeyError::EdgeSecrets("bad public key"))?;
                    let array: [u8; 32] = bytes
                        .try_into()
                        .map_err(|_| KeyError::EdgeSecrets("bad public key"))?;
                    let key = VerifyingKey::from_bytes(&array)
                        .map_err(|_| KeyError::EdgeSecrets("bad public key"))?;
                    Ok((kid.clone(), key))
                })
                .collect::<Result<BTreeMap<_, _>, KeyError>>()
        };
        Ok(Self {
            scanner: decode(scanner)?,
            session: decode(session)?,
        })
    }
}

/// A credential taken apart: the claims JSON, the signed text's length and the signature.
struct Parts {
    json: Vec<u8>,
    header: Header,
    signed_len: usize,
    signature: Signature,
}

/// Checks the format (`lh1.<claims>.<signature>`, base64url, JSON with `kind` and `kid`).
fn split(token: &str) -> Result<Parts, CredentialError> {
    let mut parts = token.trim().split('.');
    let (Some(prefix), Some(claims_b64), Some(signature_b64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(CredentialError::Malformed);
    };
    if prefix != PREFIX {
        return Err(CredentialError::Malformed);
    }
    let json = URL_SAFE_NO_PAD
        .decode(claims_b64)
        .map_err(|_| CredentialError::Malformed)?;
    let header: Header = serde_json::from_slice(&json).map_err(|_| CredentialError::Malformed)?;
    let signature = URL_SAFE_NO_PAD
        .decode(signature_b64)
        .map_err(|_| CredentialError::Malformed)?;
    let signature = Signature::from_slice(&signature).map_err(|_| CredentialError::Malformed)?;
    Ok(Parts {
        json,
        header,
        signed_len: prefix.len() + 1 + claims_b64.len(),
        signature,
    })
}

/// Checks format, kind and signature; returns the claims JSON.
fn verify(
    keys: &BTreeMap<String, VerifyingKey>,
    kind: &str,
    token: &str,
) -> Result<Vec<u8>, CredentialError> {
    let parts = split(token)?;
    if parts.header.kind != kind {
        return Err(CredentialError::WrongKind);
    }
    let key = keys
        .get(&parts.header.kid)
        .ok_or(CredentialError::BadSignature)?;
    key.verify_strict(
        &token.trim().as_bytes()[..parts.signed_len],
        &parts.signature,
    )
    .map_err(|_| CredentialError::BadSignature)?;
    Ok(parts.json)
}

/// A scanner device's own reading of its credential — hub, role, `tid`, `dev` and expiry —
/// so it can sign its scans and show where it works. Nothing is verified (a device holds no
/// verifying key) and nothing here is trusted: the edge and the origin verify the credential
/// on every request.
///
/// # Errors
/// [`CredentialError::Malformed`] or [`CredentialError::WrongKind`].
pub fn read_scanner_claims(token: &str) -> Result<ScannerClaims, CredentialError> {
    let parts = split(token)?;
    if parts.header.kind != KIND_SCANNER {
        return Err(CredentialError::WrongKind);
    }
    scanner_claims(&parts.json, None)
}

/// Scanner claims from their JSON; `now` checks the expiry when given.
fn scanner_claims(json: &[u8], now: Option<Timestamp>) -> Result<ScannerClaims, CredentialError> {
    let wire: ScannerWire = serde_json::from_slice(json).map_err(|_| CredentialError::Malformed)?;
    let expires_at = match now {
        Some(now) => check_expiry(wire.exp, now)?,
        None => Timestamp::from_unix_seconds(wire.exp),
    };
    let hub = Directory::china()
        .hub_region(wire.hub_level, wire.hub_code)
        .map_err(|_| CredentialError::Malformed)?;
    Ok(ScannerClaims {
        scanner_id: wire.scanner_id,
        hub_id: wire.hub_id,
        hub,
        role: wire.role,
        expires_at,
        token_id: wire.tid,
        device: wire.dev,
        carrier_id: wire.car,
    })
}

fn check_expiry(exp: i64, now: Timestamp) -> Result<Timestamp, CredentialError> {
    let expires_at = Timestamp::from_unix_seconds(exp);
    if now >= expires_at {
        Err(CredentialError::Expired)
    } else {
        Ok(expires_at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{MasterKeyRing, OriginKeys};
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    fn issuer(seed: u64) -> CredentialIssuer {
        OriginKeys::derive(&MasterKeyRing::generate(&mut StdRng::seed_from_u64(seed))).credentials
    }

    fn scanner_claims() -> ScannerClaims {
        let mut rng = StdRng::seed_from_u64(9);
        ScannerClaims {
            scanner_id: ScannerId::generate(&mut rng),
            hub_id: HubId::generate(&mut rng),
            hub: Directory::china()
                .hub_region(HubLevel::District, RegionCode::parse("330108").unwrap())
                .unwrap(),
            role: ScannerRole::Hub,
            expires_at: Timestamp::from_unix_seconds(2_000),
            token_id: TokenId::generate(&mut rng),
            device: None,
            carrier_id: CarrierId::generate(&mut rng),
        }
    }

    fn session_claims() -> SessionClaims {
        SessionClaims {
            subject: Subject::Buyer(BuyerId::generate(&mut StdRng::seed_from_u64(3))),
            platform_id: PlatformId::parse("demo").unwrap(),
            expires_at: Timestamp::from_unix_seconds(2_000),
        }
    }

    #[test]
    fn scanner_credentials_verify_with_the_public_key_only() {
        let issuer = issuer(1);
        let token = issuer.issue_scanner(&scanner_claims());
        assert!(token.starts_with("lh1."));
        let verifier = issuer.verifier();
        let claims = verifier
            .verify_scanner(&token, Timestamp::from_unix_seconds(1_000))
            .unwrap();
        assert_eq!(claims, scanner_claims());
    }

    #[test]
    fn device_bound_credentials_carry_tid_and_dev() {
        let issuer = issuer(1);
        let device = crate::device::DeviceKeys::generate(&mut StdRng::seed_from_u64(5));
        let claims = ScannerClaims {
            device: Some(device.public().sign_key),
            ..scanner_claims()
        };
        let token = issuer.issue_scanner(&claims);
        let json = URL_SAFE_NO_PAD
            .decode(token.split('.').nth(1).unwrap())
            .unwrap();
        let wire: serde_json::Value = serde_json::from_slice(&json).unwrap();
        assert_eq!(wire["tid"], claims.token_id.to_hex());
        assert_eq!(wire["dev"], device.public().sign_key.to_base64());
        let verified = issuer
            .verifier()
            .verify_scanner(&token, Timestamp::from_unix_seconds(1_000))
            .unwrap();
        assert_eq!(verified, claims);

        // Without a device the claim is absent, not null.
        let plain = issuer.issue_scanner(&scanner_claims());
        let json = URL_SAFE_NO_PAD
            .decode(plain.split('.').nth(1).unwrap())
            .unwrap();
        assert!(!String::from_utf8(json).unwrap().contains("dev"));
    }

    #[test]
    fn credentials_issued_before_carriers_read_as_the_default_carriers() {
        let issuer = issuer(1);
        let token = issuer.issue_scanner(&scanner_claims());
        let json = URL_SAFE_NO_PAD
            .decode(token.split('.').nth(1).unwrap())
            .unwrap();
        let mut wire: serde_json::Value = serde_json::from_slice(&json).unwrap();
        assert_eq!(wire["car"], scanner_claims().carrier_id.as_str());
        wire.as_object_mut().unwrap().remove("car");
        let old = scanner_claims_from_json(&serde_json::to_vec(&wire).unwrap());
        assert_eq!(old.carrier_id, CarrierId::platform_default());
    }

    fn scanner_claims_from_json(json: &[u8]) -> ScannerClaims {
        super::scanner_claims(json, None).unwrap()
    }

    #[test]
    fn expired_credentials_are_refused() {
        let issuer = issuer(1);
        let token = issuer.issue_scanner(&scanner_claims());
        let at_expiry = Timestamp::from_unix_seconds(2_000);
        assert_eq!(
            issuer.verifier().verify_scanner(&token, at_expiry),
            Err(CredentialError::Expired)
        );
    }

    #[test]
    fn another_origins_or_tampered_credentials_fail_the_signature() {
        let token = issuer(1).issue_scanner(&scanner_claims());
        let now = Timestamp::from_unix_seconds(1_000);
        assert_eq!(
            issuer(2).verifier().verify_scanner(&token, now),
            Err(CredentialError::BadSignature)
        );
        // Swap in claims naming another role, keep the signature.
        let mut claims = scanner_claims();
        claims.role = ScannerRole::Pickup;
        let forged_claims = issuer(2).issue_scanner(&claims);
        let parts: Vec<&str> = token.split('.').collect();
        let forged_parts: Vec<&str> = forged_claims.split('.').collect();
        let forged = format!("lh1.{}.{}", forged_parts[1], parts[2]);
        assert_eq!(
            issuer(1).verifier().verify_scanner(&forged, now),
            Err(CredentialError::BadSignature)
        );
    }

    #[test]
    fn session_and_scanner_credentials_cannot_stand_in_for_each_other() {
        let issuer = issuer(1);
        let now = Timestamp::from_unix_seconds(1_000);
        let session = issuer.issue_session(&session_claims());
        let scanner = issuer.issue_scanner(&scanner_claims());
        assert_eq!(
            issuer.verifier().verify_session(&session, now),
            Ok(session_claims())
        );
        assert_eq!(
            issuer.verifier().verify_scanner(&session, now),
            Err(CredentialError::WrongKind)
        );
        assert_eq!(
            issuer.verifier().verify_session(&scanner, now),
            Err(CredentialError::WrongKind)
        );
    }

    #[test]
    fn malformed_tokens_are_refused_without_panicking() {
        let verifier = issuer(1).verifier();
        let now = Timestamp::from_unix_seconds(0);
        for bad in [
            "",
            "lh1",
            "lh1..",
            "lh2.e30.AA",
            "lh1.!!!.AA",
            "lh1.e30.AA",
            "a.b.c.d",
        ] {
            assert!(verifier.verify_scanner(bad, now).is_err(), "{bad}");
            assert!(verifier.verify_session(bad, now).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_device_reads_its_own_credential_without_verifying_it_and_trusts_nothing_else() {
        let origin = issuer(9);
        let claims = scanner_claims();
        let token = origin.issue_scanner(&claims);
        assert_eq!(read_scanner_claims(&token).unwrap(), claims);
        // Read, not verified: a tampered credential reads too, and the edge refuses it.
        let forged = issuer(10).issue_scanner(&claims);
        assert_eq!(read_scanner_claims(&forged).unwrap(), claims);
        assert!(origin
            .verifier()
            .verify_scanner(&forged, Timestamp::from_unix_seconds(0))
            .is_err());
        let session = origin.issue_session(&session_claims());
        assert_eq!(
            read_scanner_claims(&session),
            Err(CredentialError::WrongKind)
        );
        assert_eq!(
            read_scanner_claims("lh1.x.y"),
            Err(CredentialError::Malformed)
        );
    }
}

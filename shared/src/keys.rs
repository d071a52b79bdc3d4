//! Keys. One master key ring (origin only) of lines `<version>:<base64 of 32 bytes>`; the
//! highest version is current. Every other key is derived with HKDF-SHA256 (salt `lasthop`,
//! info `lasthop/<purpose>/v<version>`), so purposes are cryptographically separated and a
//! leak of one derived key reveals nothing about the others or the master.
//!
//! [`OriginKeys`] holds everything the origin needs; [`EdgeSecrets`] the edge's subset (no
//! master, no vault or blind-index keys, no Ed25519 private keys), shipped as one opaque
//! string. Every secret zeroizes on drop and prints as `[redacted]`.

use std::collections::BTreeMap;
use std::fmt;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use rand_core::CryptoRngCore;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

pub use crate::credential::{CredentialIssuer, CredentialVerifier};
use crate::seal::{self, SealError, SealingKey};
use crate::sealed_box::{self, BoxPublicKey, BoxSecretKey, Purpose, SealedBox, SealedBoxError};

pub(crate) type HmacSha256 = Hmac<Sha256>;

/// The HKDF salt shared by every derivation.
const SALT: &[u8] = b"lasthop";

/// Purposes, as written in the HKDF info string.
pub(crate) mod purpose {
    pub const REGION_TOKEN: &str = "region-token";
    pub const BUYER_BINDING: &str = "buyer-binding";
    pub const ROUTE_SEAL: &str = "route-seal";
    pub const EDGE_REQUEST: &str = "edge-request";
    pub const ORIGIN_PUSH: &str = "origin-push";
    pub const SCANNER_CREDENTIAL: &str = "scanner-credential";
    pub const SESSION_CREDENTIAL: &str = "session-credential";
    pub const VAULT_RECORD: &str = "vault-record";
    pub const BLIND_INDEX: &str = "blind-index";
    pub const VAULT_INTAKE: &str = "vault-intake";
    pub const AUDIT_SIGNING: &str = "audit-signing";
}

/// The version of a master key and of everything derived from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct KeyVersion(pub u32);

impl fmt::Display for KeyVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{}", self.0)
    }
}

/// Why key material was rejected. Never contains key bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The key ring had no keys.
    #[error("the master key ring is empty")]
    Empty,
    /// A line was not `<version>:<base64 of 32 bytes>`.
    #[error("master key line {line} must be `<version>:<base64 of 32 bytes>`")]
    MalformedLine {
        /// 1-based line number.
        line: usize,
    },
    /// The same version twice.
    #[error("master key line {line} repeats a version")]
    DuplicateVersion {
        /// 1-based line number.
        line: usize,
    },
    /// Edge secrets that do not decode.
    #[error("edge secrets are not valid: {0}")]
    EdgeSecrets(&'static str),
    /// A record made with a key version this holder does not have.
    #[error("no key for version {0}")]
    UnknownVersion(KeyVersion),
    /// The current version cannot be retired.
    #[error("{0} is the current version: rotate first, then retire it")]
    RetireCurrent(KeyVersion),
}

/// 32 secret bytes: zeroized on drop, redacted in `Debug`.
#[derive(Clone, Zeroize, ZeroizeOnDrop, PartialEq, Eq)]
pub(crate) struct Secret32([u8; 32]);

impl Secret32 {
    pub(crate) fn bytes(&self) -> &[u8; 32] {
        &self.0
    }

    fn to_base64(&self) -> Zeroizing<String> {
        Zeroizing::new(STANDARD.encode(self.0))
    }

    fn from_base64(text: &str) -> Option<Self> {
        let bytes = Zeroizing::new(STANDARD.decode(text.trim()).ok()?);
        let array: [u8; 32] = bytes.as_slice().try_into().ok()?;
        Some(Self(array))
    }

    /// An HMAC-SHA256 instance keyed with these bytes.
    pub(crate) fn hmac(&self) -> HmacSha256 {
        // HMAC accepts keys of any length, so this cannot fail.
        <HmacSha256 as Mac>::new_from_slice(&self.0).unwrap_or_else(|_| unreachable!())
    }
}

impl fmt::Debug for Secret32 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// The master key ring: the root of every other key. Lives only at the origin.
#[derive(Clone)]
pub struct MasterKeyRing {
    keys: BTreeMap<KeyVersion, Secret32>,
}

impl fmt::Debug for MasterKeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MasterKeyRing(current {}, [redacted])", self.current())
    }
}

impl MasterKeyRing {
    /// Parses lines `<version>:<base64 of 32 bytes>`; blank lines and `#` comments are skipped.
    ///
    /// # Errors
    /// A [`KeyError`] naming the offending line (never its content).
    pub fn parse(text: &str) -> Result<Self, KeyError> {
        let mut keys = BTreeMap::new();
        for (index, raw) in text.lines().enumerate() {
            let line = index + 1;
            let trimmed = raw.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let (version, key) = trimmed
                .split_once(':')
                .ok_or(KeyError::MalformedLine { line })?;
            let version: u32 = version
                .trim()
                .parse()
                .map_err(|_| KeyError::MalformedLine { line })?;
            let secret = Secret32::from_base64(key).ok_or(KeyError::MalformedLine { line })?;
            if keys.insert(KeyVersion(version), secret).is_some() {
                return Err(KeyError::DuplicateVersion { line });
            }
        }
        if keys.is_empty() {
            return Err(KeyError::Empty);
        }
        Ok(Self { keys })
    }

    /// A fresh ring with one random key, version 1.
    pub fn generate(rng: &mut impl CryptoRngCore) -> Self {
        let mut keys = BTreeMap::new();
        keys.insert(KeyVersion(1), random_secret(rng));
        Self { keys }
    }

    /// Adds a random key one version above the current one and makes it current.
    pub fn rotate(&mut self, rng: &mut impl CryptoRngCore) -> KeyVersion {
        let next = KeyVersion(self.current().0 + 1);
        self.keys.insert(next, random_secret(rng));
        next
    }

    /// Removes `version` from the ring: records, tags and credentials made under it no longer
    /// open or verify. The current version is never removed.
    ///
    /// # Errors
    /// [`KeyError::RetireCurrent`] for the current version, [`KeyError::UnknownVersion`] for a
    /// version the ring does not hold.
    pub fn retire(&mut self, version: KeyVersion) -> Result<(), KeyError> {
        if version == self.current() {
            return Err(KeyError::RetireCurrent(version));
        }
        self.keys
            .remove(&version)
            .map(drop)
            .ok_or(KeyError::UnknownVersion(version))
    }

    /// Whether the ring holds `version`.
    pub fn has_version(&self, version: KeyVersion) -> bool {
        self.keys.contains_key(&version)
    }

    /// The highest version.
    pub fn current(&self) -> KeyVersion {
        // A ring is never empty: `parse` rejects that and `generate` inserts one key.
        self.keys
            .keys()
            .next_back()
            .copied()
            .unwrap_or(KeyVersion(0))
    }

    /// Every version, ascending.
    pub fn versions(&self) -> impl Iterator<Item = KeyVersion> + '_ {
        self.keys.keys().copied()
    }

    /// The ring in its file format. The result is secret; it is zeroized when dropped.
    pub fn to_text(&self) -> Zeroizing<String> {
        let mut out = Zeroizing::new(String::new());
        for (version, secret) in &self.keys {
            out.push_str(&version.0.to_string());
            out.push(':');
            out.push_str(&secret.to_base64());
            out.push('\n');
        }
        out
    }

    fn derive(&self, purpose: &str, version: KeyVersion) -> Option<Secret32> {
        let master = self.keys.get(&version)?;
        let hkdf = Hkdf::<Sha256>::new(Some(SALT), master.bytes());
        let info = format!("lasthop/{purpose}/v{}", version.0);
        let mut out = Secret32([0; 32]);
        // 32 bytes is far below HKDF-SHA256's 8160-byte limit, so expansion cannot fail.
        hkdf.expand(info.as_bytes(), &mut out.0).ok()?;
        Some(out)
    }

    fn derive_all(&self, purpose: &str) -> VersionedKeys {
        let keys = self
            .versions()
            .filter_map(|v| self.derive(purpose, v).map(|k| (v, k)))
            .collect();
        VersionedKeys {
            current: self.current(),
            keys,
        }
    }

    fn derive_current(&self, purpose: &str) -> Secret32 {
        // The current version is a key of the ring, so derivation succeeds.
        self.derive(purpose, self.current())
            .unwrap_or(Secret32([0; 32]))
    }
}

fn random_secret(rng: &mut impl CryptoRngCore) -> Secret32 {
    let mut secret = Secret32([0; 32]);
    rng.fill_bytes(&mut secret.0);
    secret
}

/// Keys of one purpose, one per master version; new records use the current one.
#[derive(Clone, Debug)]
struct VersionedKeys {
    current: KeyVersion,
    keys: BTreeMap<KeyVersion, Secret32>,
}

impl VersionedKeys {
    fn get(&self, version: KeyVersion) -> Option<&Secret32> {
        self.keys.get(&version)
    }

    fn to_wire(&self) -> VersionedWire {
        VersionedWire {
            current: self.current.0,
            keys: self
                .keys
                .iter()
                .map(|(v, k)| (v.0.to_string(), k.to_base64()))
                .collect(),
        }
    }

    fn from_wire(wire: &VersionedWire) -> Result<Self, KeyError> {
        let mut keys = BTreeMap::new();
        for (version, key) in &wire.keys {
            let version = version
                .parse()
                .map_err(|_| KeyError::EdgeSecrets("bad key version"))?;
            let key = Secret32::from_base64(key).ok_or(KeyError::EdgeSecrets("bad key"))?;
            keys.insert(KeyVersion(version), key);
        }
        let current = KeyVersion(wire.current);
        if !keys.contains_key(&current) {
            return Err(KeyError::EdgeSecrets("current key missing"));
        }
        Ok(Self { current, keys })
    }
}

macro_rules! versioned_hmac_keys {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug)]
        pub struct $name(VersionedKeys);

        impl $name {
            /// The version new tokens are made with.
            pub fn current(&self) -> KeyVersion {
                self.0.current
            }

            /// Whether this holder has the key of `version`.
            pub fn has_version(&self, version: KeyVersion) -> bool {
                self.0.keys.contains_key(&version)
            }

            /// An HMAC-SHA256 instance for `version`, if that key is held.
            pub(crate) fn hmac(&self, version: KeyVersion) -> Option<HmacSha256> {
                self.0.get(version).map(Secret32::hmac)
            }
        }
    };
}

versioned_hmac_keys!(
    /// HMAC keys for record-bound region tags (`region-token`), one per version.
    RegionKeys
);
versioned_hmac_keys!(
    /// HMAC keys for the buyer-to-order binding tag (`buyer-binding`), one per version.
    BindingKeys
);

/// The edge's keys for sealing an order's logs (`route-seal`), one per version. A sealed log
/// names its version (`v<N>:<base64>`), so the edge opens logs sealed before a rotation and
/// seals new ones under the current version.
#[derive(Clone, Debug)]
pub struct RouteSealKeys(VersionedKeys);

impl RouteSealKeys {
    /// The version new logs are sealed with.
    pub fn current(&self) -> KeyVersion {
        self.0.current
    }

    /// Every version held, ascending.
    pub fn versions(&self) -> impl Iterator<Item = KeyVersion> + '_ {
        self.0.keys.keys().copied()
    }

    /// Seals `plaintext` bound to `aad` under the current version, as text for storage:
    /// `v<version>:` and the base64 of the box.
    pub fn seal_text(&self, aad: &[u8], plaintext: &[u8], rng: &mut impl CryptoRngCore) -> String {
        let version = self.0.current;
        let sealed = match self.0.get(version) {
            Some(key) => seal::seal(&SealingKey::from_bytes(*key.bytes()), aad, plaintext, rng),
            // The current version is always held (checked when decoding, derived otherwise).
            None => Vec::new(),
        };
        format!("v{}:{}", version.0, STANDARD.encode(sealed))
    }

    /// Opens a log sealed by [`RouteSealKeys::seal_text`] under any version held. A log from
    /// before logs named their version (plain base64) is tried under every version held.
    ///
    /// # Errors
    /// [`SealError::Open`] when the text is not a sealed log, its version is not held, or it
    /// does not open with `aad`.
    pub fn open_text(&self, aad: &[u8], text: &str) -> Result<Vec<u8>, SealError> {
        let (version, encoded) = match text.split_once(':') {
            Some((version, encoded)) => (
                Some(
                    version
                        .strip_prefix('v')
                        .and_then(|v| v.parse().ok())
                        .map(KeyVersion)
                        .ok_or(SealError::Open)?,
                ),
                encoded,
            ),
            None => (None, text),
        };
        let sealed = STANDARD.decode(encoded).map_err(|_| SealError::Open)?;
        self.0
            .keys
            .iter()
            .rev()
            .filter(|(held, _)| version.is_none_or(|wanted| **held == wanted))
            .find_map(|(_, key)| {
                seal::open(&SealingKey::from_bytes(*key.bytes()), aad, &sealed).ok()
            })
            .ok_or(SealError::Open)
    }
}

/// Which side signs with a [`RequestKey`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RequestPurpose {
    /// The edge signs its calls to the origin.
    EdgeRequest,
    /// The origin signs its calls to the edge.
    OriginPush,
}

impl RequestPurpose {
    fn as_str(self) -> &'static str {
        match self {
            Self::EdgeRequest => purpose::EDGE_REQUEST,
            Self::OriginPush => purpose::ORIGIN_PUSH,
        }
    }
}

/// An HMAC key for signed internal requests (see [`crate::signing`]): requests are signed
/// with the current version; the previous version, when there is one, is still accepted, so
/// a rotation never breaks calls between an edge and an origin that got their keys at
/// different moments.
#[derive(Clone, Debug)]
pub struct RequestKey {
    purpose: RequestPurpose,
    version: KeyVersion,
    secret: Secret32,
    previous: Option<(KeyVersion, Secret32)>,
}

impl RequestKey {
    /// The key id sent in `x-lasthop-key-id`, e.g. `edge-request-v1`.
    pub fn key_id(&self) -> String {
        format!("{}-{}", self.purpose.as_str(), self.version)
    }

    /// Which side signs with it.
    pub fn purpose(&self) -> RequestPurpose {
        self.purpose
    }

    /// The version requests are signed with.
    pub fn version(&self) -> KeyVersion {
        self.version
    }

    /// The previous version, still accepted, if any.
    pub fn previous_version(&self) -> Option<KeyVersion> {
        self.previous.as_ref().map(|(version, _)| *version)
    }

    /// An HMAC instance for signing (current version).
    pub(crate) fn hmac(&self) -> HmacSha256 {
        self.secret.hmac()
    }

    /// An HMAC instance for the key a request names (`x-lasthop-key-id`): the current or the
    /// previous version; `None` for any other id.
    pub(crate) fn hmac_for(&self, key_id: &str) -> Option<HmacSha256> {
        let version = key_id
            .strip_prefix(self.purpose.as_str())?
            .strip_prefix("-v")?
            .parse()
            .ok()
            .map(KeyVersion)?;
        if version == self.version {
            return Some(self.secret.hmac());
        }
        self.previous
            .as_ref()
            .filter(|(previous, _)| *previous == version)
            .map(|(_, secret)| secret.hmac())
    }
}

/// The origin's AEAD keys for vault records (`vault-record`), one per version.
#[derive(Clone)]
pub struct VaultKeys {
    current: KeyVersion,
    keys: BTreeMap<KeyVersion, SealingKey>,
}

impl fmt::Debug for VaultKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VaultKeys(current {}, [redacted])", self.current)
    }
}

impl VaultKeys {
    /// The version new records are sealed with.
    pub fn current(&self) -> KeyVersion {
        self.current
    }

    /// Seals a record with the current key; the associated data binds the record id and the
    /// version, so a ciphertext cannot be moved to another record.
    pub fn seal_record(
        &self,
        record_id: &str,
        plaintext: &[u8],
        rng: &mut impl CryptoRngCore,
    ) -> (KeyVersion, Vec<u8>) {
        let version = self.current;
        let sealed = match self.keys.get(&version) {
            Some(key) => seal::seal(key, &vault_aad(record_id, version), plaintext, rng),
            // The current version is always present (built from the same ring).
            None => Vec::new(),
        };
        (version, sealed)
    }

    /// Opens a record sealed under `version`.
    ///
    /// # Errors
    /// [`SealError::Open`] for an unknown version, another record's box or tampering.
    pub fn open_record(
        &self,
        version: KeyVersion,
        record_id: &str,
        sealed: &[u8],
    ) -> Result<Vec<u8>, SealError> {
        let key = self.keys.get(&version).ok_or(SealError::Open)?;
        seal::open(key, &vault_aad(record_id, version), sealed)
    }
}

fn vault_aad(record_id: &str, version: KeyVersion) -> Vec<u8> {
    format!("lasthop/vault\0{record_id}\0{}", version.0).into_bytes()
}

/// The origin's keys for the blind index of addresses (`blind-index`), one per version: equal
/// normalised addresses get equal indexes without the index revealing the address. A stored
/// index names its version: plain hex for version 1 (as indexes were before versions), else
/// `v<N>:<hex>`. New records are indexed under the current version; lookups try every version
/// held, so an address indexed before a rotation is still found.
#[derive(Clone, Debug)]
pub struct BlindIndexKeys(VersionedKeys);

impl BlindIndexKeys {
    /// The version new records are indexed with.
    pub fn current(&self) -> KeyVersion {
        self.0.current
    }

    /// The index of a normalised key (see [`crate::contact::PostalAddress::normalised_key`])
    /// under the current version.
    pub fn index(&self, normalised: &str) -> String {
        self.index_under(self.0.current, normalised)
            .unwrap_or_default()
    }

    /// The indexes of a normalised key under every version held, the current one first.
    pub fn indexes(&self, normalised: &str) -> Vec<String> {
        let current = self.0.current;
        std::iter::once(current)
            .chain(self.0.keys.keys().rev().copied().filter(|v| *v != current))
            .filter_map(|version| self.index_under(version, normalised))
            .collect()
    }

    /// The version a stored index was made with.
    pub fn version_of(stored: &str) -> KeyVersion {
        stored
            .strip_prefix('v')
            .and_then(|rest| rest.split_once(':'))
            .and_then(|(version, _)| version.parse().ok())
            .map_or(KeyVersion(1), KeyVersion)
    }

    fn index_under(&self, version: KeyVersion, normalised: &str) -> Option<String> {
        let mut mac = self.0.get(version)?.hmac();
        mac.update(b"lasthop/blind-index\0");
        mac.update(normalised.as_bytes());
        let hex = hex::encode(mac.finalize().into_bytes());
        Some(if version == KeyVersion(1) {
            hex
        } else {
            format!("v{}:{hex}", version.0)
        })
    }
}

/// The vault's X25519 keys for personal data sealed in the buyer's browser (`vault-intake`),
/// one per master version: pages seal to the current public key and say which version they
/// used, so boxes made just before a rotation still open.
#[derive(Clone)]
pub struct IntakeKeys {
    current: KeyVersion,
    keys: BTreeMap<KeyVersion, BoxSecretKey>,
}

impl fmt::Debug for IntakeKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IntakeKeys(current {}, [redacted])", self.current)
    }
}

impl IntakeKeys {
    /// The version pages should seal to, with its public key.
    pub fn current_public(&self) -> (KeyVersion, BoxPublicKey) {
        let public = self
            .keys
            .get(&self.current)
            .map(BoxSecretKey::public_key)
            // The current version is always present (derived from the same ring).
            .unwrap_or_else(|| BoxPublicKey::from_bytes([0; 32]));
        (self.current, public)
    }

    /// Whether `version` is one of the ring's.
    pub fn has_version(&self, version: KeyVersion) -> bool {
        self.keys.contains_key(&version)
    }

    /// Opens a box sealed to the key of `version`.
    ///
    /// # Errors
    /// [`SealedBoxError::Open`] for a version this ring never had, a wrong `aad` or tampering.
    pub fn open(
        &self,
        version: KeyVersion,
        aad: &[u8],
        sealed: &SealedBox,
    ) -> Result<Zeroizing<Vec<u8>>, SealedBoxError> {
        let key = self.keys.get(&version).ok_or(SealedBoxError::Open)?;
        sealed_box::open(key, Purpose::Intake, aad, sealed)
    }
}

/// Everything the origin derives from the master key ring.
#[derive(Clone, Debug)]
pub struct OriginKeys {
    /// Region-tag keys (all versions).
    pub region: RegionKeys,
    /// Binding-tag keys (all versions).
    pub binding: BindingKeys,
    /// Derived only to hand to the edge (all versions).
    pub route_seal: RouteSealKeys,
    /// Verifies the edge's calls.
    pub edge_request: RequestKey,
    /// Signs calls to the edge.
    pub origin_push: RequestKey,
    /// Vault record keys (all versions).
    pub vault: VaultKeys,
    /// Blind index of addresses (all versions).
    pub blind_index: BlindIndexKeys,
    /// Issues scanner and session credentials (private keys).
    pub credentials: CredentialIssuer,
    /// Opens personal data sealed in buyers' browsers.
    pub intake: IntakeKeys,
    /// Signs audit exports for auditors.
    pub audit: AuditSigningKey,
}

impl OriginKeys {
    /// Derives every purpose key from the ring.
    pub fn derive(master: &MasterKeyRing) -> Self {
        let current = master.current();
        let vault = master.derive_all(purpose::VAULT_RECORD);
        let previous = master.versions().filter(|v| *v < current).last();
        let request = |purpose: RequestPurpose| RequestKey {
            purpose,
            version: current,
            secret: master.derive_current(purpose.as_str()),
            previous: previous.and_then(|v| master.derive(purpose.as_str(), v).map(|key| (v, key))),
        };
        let seeds = |purpose: &str| -> BTreeMap<KeyVersion, Zeroizing<[u8; 32]>> {
            master
                .derive_all(purpose)
                .keys
                .iter()
                .map(|(v, k)| (*v, Zeroizing::new(*k.bytes())))
                .collect()
        };
        Self {
            region: RegionKeys(master.derive_all(purpose::REGION_TOKEN)),
            binding: BindingKeys(master.derive_all(purpose::BUYER_BINDING)),
            route_seal: RouteSealKeys(master.derive_all(purpose::ROUTE_SEAL)),
            edge_request: request(RequestPurpose::EdgeRequest),
            origin_push: request(RequestPurpose::OriginPush),
            vault: VaultKeys {
                current: vault.current,
                keys: vault
                    .keys
                    .iter()
                    .map(|(v, k)| (*v, SealingKey::from_bytes(*k.bytes())))
                    .collect(),
            },
            blind_index: BlindIndexKeys(master.derive_all(purpose::BLIND_INDEX)),
            credentials: CredentialIssuer::from_seeds(
                current,
                &seeds(purpose::SCANNER_CREDENTIAL),
                &seeds(purpose::SESSION_CREDENTIAL),
            ),
            // Every 32-byte string is an X25519 private key (clamped when used).
            intake: IntakeKeys {
                current,
                keys: seeds(purpose::VAULT_INTAKE)
                    .into_iter()
                    .map(|(v, seed)| (v, BoxSecretKey::from_bytes(*seed)))
                    .collect(),
            },
            audit: AuditSigningKey {
                version: current,
                // Every 32-byte string is an Ed25519 seed.
                key: ed25519_dalek::SigningKey::from_bytes(
                    master.derive_current(purpose::AUDIT_SIGNING).bytes(),
                ),
            },
        }
    }
}

/// The Ed25519 key that signs audit exports (`audit-signing`, current version). Origin only:
/// the edge never gets it. Auditors check exports with its public key, named by
/// [`AuditSigningKey::key_id`].
#[derive(Clone)]
pub struct AuditSigningKey {
    version: KeyVersion,
    key: ed25519_dalek::SigningKey,
}

impl fmt::Debug for AuditSigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AuditSigningKey({}, [redacted])", self.key_id())
    }
}

impl AuditSigningKey {
    /// `audit-v<version>`.
    pub fn key_id(&self) -> String {
        format!("audit-v{}", self.version.0)
    }

    /// The public key, base64url without padding.
    pub fn public_key_base64(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.key.verifying_key().as_bytes())
    }

    /// Signs `message` (Ed25519, deterministic).
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        use ed25519_dalek::Signer as _;
        self.key.sign(message).to_bytes()
    }
}

/// The edge's subset of keys. Holds no master, no vault or blind-index key and no private
/// signing key.
#[derive(Clone, Debug)]
pub struct EdgeSecrets {
    /// Region-tag keys (all versions, so parcels in flight survive a rotation).
    pub region: RegionKeys,
    /// Binding-tag keys (all versions).
    pub binding: BindingKeys,
    /// Seals hop logs (all versions; new logs under the current one).
    pub route_seal: RouteSealKeys,
    /// Signs calls to the origin.
    pub edge_request: RequestKey,
    /// Verifies the origin's calls.
    pub origin_push: RequestKey,
    /// Verifies scanner and session credentials (public keys only).
    pub credentials: CredentialVerifier,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct VersionedWire {
    current: u32,
    keys: BTreeMap<String, Zeroizing<String>>,
}

/// The format [`EdgeSecrets::encode`] writes and [`EdgeSecrets::decode`] reads. Format 1
/// (before keys were versioned: one route-seal key, one request key per side) is refused:
/// secrets are regenerated with `lasthop-origin edge-secrets` at every rotation anyway.
const EDGE_SECRETS_FORMAT: u32 = 2;

/// Format 2: every purpose as a [`VersionedWire`]; a request key holds its current version and
/// the previous one (still accepted).
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct EdgeSecretsWire {
    format: u32,
    region: VersionedWire,
    binding: VersionedWire,
    route_seal: VersionedWire,
    edge_request: VersionedWire,
    origin_push: VersionedWire,
    scanner_public: BTreeMap<String, String>,
    session_public: BTreeMap<String, String>,
}

impl RequestKey {
    fn to_wire(&self) -> VersionedWire {
        VersionedWire {
            current: self.version.0,
            keys: std::iter::once((self.version, &self.secret))
                .chain(self.previous.as_ref().map(|(v, k)| (*v, k)))
                .map(|(v, k)| (v.0.to_string(), k.to_base64()))
                .collect(),
        }
    }

    fn from_wire(purpose: RequestPurpose, wire: &VersionedWire) -> Result<Self, KeyError> {
        let keys = VersionedKeys::from_wire(wire)?;
        let secret = keys
            .get(keys.current)
            .cloned()
            .ok_or(KeyError::EdgeSecrets("current key missing"))?;
        let previous = keys
            .keys
            .iter()
            .rev()
            .find(|(v, _)| **v < keys.current)
            .map(|(v, k)| (*v, k.clone()));
        Ok(Self {
            purpose,
            version: keys.current,
            secret,
            previous,
        })
    }
}

impl EdgeSecrets {
    /// The edge's subset of the origin's keys.
    pub fn from_origin_keys(keys: &OriginKeys) -> Self {
        Self {
            region: keys.region.clone(),
            binding: keys.binding.clone(),
            route_seal: keys.route_seal.clone(),
            edge_request: keys.edge_request.clone(),
            origin_push: keys.origin_push.clone(),
            credentials: keys.credentials.verifier(),
        }
    }

    /// One line of base64url (JSON inside), for `LASTHOP_EDGE_SECRETS`. Secret; zeroized on drop.
    pub fn encode(&self) -> Zeroizing<String> {
        let (scanner_public, session_public) = self.credentials.public_keys_base64();
        let wire = EdgeSecretsWire {
            format: EDGE_SECRETS_FORMAT,
            region: self.region.0.to_wire(),
            binding: self.binding.0.to_wire(),
            route_seal: self.route_seal.0.to_wire(),
            edge_request: self.edge_request.to_wire(),
            origin_push: self.origin_push.to_wire(),
            scanner_public,
            session_public,
        };
        // Serialising plain maps and strings to JSON cannot fail.
        let json = Zeroizing::new(serde_json::to_vec(&wire).unwrap_or_default());
        Zeroizing::new(URL_SAFE_NO_PAD.encode(json.as_slice()))
    }

    /// Decodes [`EdgeSecrets::encode`]'s output.
    ///
    /// # Errors
    /// [`KeyError::EdgeSecrets`] saying which part is wrong (never echoing it).
    pub fn decode(text: &str) -> Result<Self, KeyError> {
        let json = Zeroizing::new(
            URL_SAFE_NO_PAD
                .decode(text.trim())
                .map_err(|_| KeyError::EdgeSecrets("not base64url"))?,
        );
        let wire: EdgeSecretsWire = serde_json::from_slice(&json).map_err(|_| {
            KeyError::EdgeSecrets(
                "not the expected JSON (format 2; regenerate with lasthop-origin edge-secrets)",
            )
        })?;
        if wire.format != EDGE_SECRETS_FORMAT {
            return Err(KeyError::EdgeSecrets("unknown format"));
        }
        Ok(Self {
            region: RegionKeys(VersionedKeys::from_wire(&wire.region)?),
            binding: BindingKeys(VersionedKeys::from_wire(&wire.binding)?),
            route_seal: RouteSealKeys(VersionedKeys::from_wire(&wire.route_seal)?),
            edge_request: RequestKey::from_wire(RequestPurpose::EdgeRequest, &wire.edge_request)?,
            origin_push: RequestKey::from_wire(RequestPurpose::OriginPush, &wire.origin_push)?,
            credentials: CredentialVerifier::from_public_keys_base64(
                &wire.scanner_public,
                &wire.session_public,
            )?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    fn ring() -> MasterKeyRing {
        MasterKeyRing::generate(&mut StdRng::seed_from_u64(42))
    }

    #[test]
    fn key_ring_text_round_trips_and_highest_version_is_current() {
        let mut ring = ring();
        assert_eq!(ring.current(), KeyVersion(1));
        assert_eq!(ring.rotate(&mut StdRng::seed_from_u64(1)), KeyVersion(2));
        let parsed = MasterKeyRing::parse(&ring.to_text()).unwrap();
        assert_eq!(parsed.current(), KeyVersion(2));
        assert_eq!(parsed.versions().count(), 2);
        assert_eq!(parsed.to_text(), ring.to_text());
    }

    #[test]
    fn retiring_removes_an_old_version_and_never_the_current_one() {
        let mut ring = ring();
        assert_eq!(
            ring.retire(KeyVersion(1)),
            Err(KeyError::RetireCurrent(KeyVersion(1)))
        );
        ring.rotate(&mut StdRng::seed_from_u64(5));
        assert_eq!(
            ring.retire(KeyVersion(7)),
            Err(KeyError::UnknownVersion(KeyVersion(7)))
        );
        assert_eq!(ring.retire(KeyVersion(1)), Ok(()));
        assert!(!ring.has_version(KeyVersion(1)));
        assert_eq!(ring.current(), KeyVersion(2));
        let reparsed = MasterKeyRing::parse(&ring.to_text()).unwrap();
        assert_eq!(reparsed.versions().collect::<Vec<_>>(), vec![KeyVersion(2)]);
        // The next rotation continues above the current version.
        assert_eq!(ring.rotate(&mut StdRng::seed_from_u64(6)), KeyVersion(3));
    }

    #[test]
    fn key_ring_parse_names_the_bad_line_without_echoing_it() {
        let good = ring().to_text();
        let text = format!("# comment\n{}\n7:c2hvcnQ=\n", good.trim());
        let err = MasterKeyRing::parse(&text).unwrap_err();
        assert_eq!(err, KeyError::MalformedLine { line: 3 });
        assert!(!err.to_string().contains("c2hvcnQ"));
        assert_eq!(
            MasterKeyRing::parse("\n# only comments\n").unwrap_err(),
            KeyError::Empty
        );
        let dup = format!("{}{}", good.as_str(), good.as_str());
        assert_eq!(
            MasterKeyRing::parse(&dup).unwrap_err(),
            KeyError::DuplicateVersion { line: 2 }
        );
    }

    #[test]
    fn secrets_print_redacted() {
        let keys = OriginKeys::derive(&ring());
        let debug = format!("{keys:?} {:?}", ring());
        assert!(debug.contains("[redacted]"));
        let master_b64 = ring()
            .to_text()
            .split(':')
            .nth(1)
            .unwrap()
            .trim()
            .to_owned();
        assert!(!debug.contains(&master_b64));
    }

    #[test]
    fn the_audit_signing_key_is_the_current_versions_and_prints_redacted() {
        let mut ring = ring();
        let first = OriginKeys::derive(&ring).audit;
        assert_eq!(first.key_id(), "audit-v1");
        assert_eq!(
            first.public_key_base64(),
            OriginKeys::derive(&ring).audit.public_key_base64()
        );
        let seed = ring
            .derive(purpose::AUDIT_SIGNING, KeyVersion(1))
            .unwrap()
            .to_base64();
        assert!(!format!("{first:?}").contains(seed.as_str()));
        ring.rotate(&mut StdRng::seed_from_u64(3));
        let second = OriginKeys::derive(&ring).audit;
        assert_eq!(second.key_id(), "audit-v2");
        assert_ne!(second.public_key_base64(), first.public_key_base64());
    }

    #[test]
    fn purposes_derive_different_keys_and_derivation_is_deterministic() {
        let ring = ring();
        let a = ring.derive(purpose::REGION_TOKEN, KeyVersion(1)).unwrap();
        let b = ring.derive(purpose::BUYER_BINDING, KeyVersion(1)).unwrap();
        assert_ne!(a, b);
        assert_eq!(
            a,
            ring.derive(purpose::REGION_TOKEN, KeyVersion(1)).unwrap()
        );
        assert!(ring.derive(purpose::REGION_TOKEN, KeyVersion(9)).is_none());
    }

    #[test]
    fn edge_secrets_round_trip_and_hold_no_master_or_vault_key() {
        let ring = ring();
        let origin = OriginKeys::derive(&ring);
        let edge = EdgeSecrets::from_origin_keys(&origin);
        let encoded = edge.encode();
        let decoded = EdgeSecrets::decode(&encoded).unwrap();
        assert_eq!(decoded.encode(), encoded);
        let json = String::from_utf8(URL_SAFE_NO_PAD.decode(encoded.as_str()).unwrap()).unwrap();
        let master = ring.keys.values().next().unwrap().to_base64();
        let vault = STANDARD.encode(origin.vault.keys.values().next().unwrap().as_bytes());
        let blind = origin
            .blind_index
            .0
            .keys
            .values()
            .next()
            .unwrap()
            .to_base64();
        for secret in [master.as_str(), vault.as_str(), blind.as_str()] {
            assert!(!json.contains(secret));
        }
        assert!(EdgeSecrets::decode("not-secrets").is_err());
    }

    #[test]
    fn vault_records_are_bound_to_record_id_and_version() {
        let mut rng = StdRng::seed_from_u64(3);
        let keys = OriginKeys::derive(&ring());
        let (version, sealed) = keys.vault.seal_record("a_1", b"street", &mut rng);
        assert_eq!(
            keys.vault.open_record(version, "a_1", &sealed).unwrap(),
            b"street"
        );
        assert!(keys.vault.open_record(version, "a_2", &sealed).is_err());
        assert!(keys
            .vault
            .open_record(KeyVersion(2), "a_1", &sealed)
            .is_err());
    }

    #[test]
    fn blind_index_is_deterministic_and_keyed() {
        let a = OriginKeys::derive(&ring());
        let b = OriginKeys::derive(&MasterKeyRing::generate(&mut StdRng::seed_from_u64(5)));
        assert_eq!(a.blind_index.index("x"), a.blind_index.index("x"));
        assert_ne!(a.blind_index.index("x"), a.blind_index.index("y"));
        assert_ne!(a.blind_index.index("x"), b.blind_index.index("x"));
    }

    #[test]
    fn intake_boxes_open_with_the_version_they_were_sealed_to_and_survive_a_rotation() {
        let mut rng = StdRng::seed_from_u64(8);
        let mut ring = ring();
        let before = OriginKeys::derive(&ring);
        let (v1, public) = before.intake.current_public();
        assert_eq!(v1, KeyVersion(1));
        let sealed = sealed_box::seal(&public, Purpose::Intake, b"aad", b"name", &mut rng).unwrap();
        ring.rotate(&mut rng);
        let after = OriginKeys::derive(&ring);
        let (v2, public2) = after.intake.current_public();
        assert_eq!(v2, KeyVersion(2));
        assert_ne!(public2, public);
        assert_eq!(
            after.intake.open(v1, b"aad", &sealed).unwrap().as_slice(),
            b"name"
        );
        assert!(after.intake.open(v2, b"aad", &sealed).is_err());
        assert!(after.intake.open(v1, b"other", &sealed).is_err());
        assert!(after.intake.open(KeyVersion(9), b"aad", &sealed).is_err());
    }

    #[test]
    fn the_intake_key_is_its_own_purpose_and_never_reaches_the_edge() {
        let origin = OriginKeys::derive(&ring());
        let (_, public) = origin.intake.current_public();
        let secret = origin.intake.keys.values().next().unwrap().to_bytes();
        for other in [
            purpose::VAULT_RECORD,
            purpose::ROUTE_SEAL,
            purpose::BLIND_INDEX,
        ] {
            assert_ne!(
                ring().derive(other, KeyVersion(1)).unwrap().bytes(),
                &*secret
            );
        }
        let edge = EdgeSecrets::from_origin_keys(&origin).encode();
        let json = String::from_utf8(URL_SAFE_NO_PAD.decode(edge.as_str()).unwrap()).unwrap();
        assert!(!json.contains(&STANDARD.encode(*secret)));
        assert!(!json.contains(&URL_SAFE_NO_PAD.encode(*secret)));
        assert!(format!("{:?}", origin.intake).contains("[redacted]"));
        assert!(!format!("{:?}", origin.intake).contains(&public.to_base64()));
    }

    #[test]
    fn a_route_sealed_before_a_rotation_opens_after_it_and_new_routes_use_the_new_version() {
        let mut rng = StdRng::seed_from_u64(11);
        let mut ring = ring();
        let before = EdgeSecrets::from_origin_keys(&OriginKeys::derive(&ring));
        let old = before.route_seal.seal_text(b"o_1", b"330108", &mut rng);
        assert!(old.starts_with("v1:"));
        ring.rotate(&mut rng);
        let after = EdgeSecrets::decode(
            &EdgeSecrets::from_origin_keys(&OriginKeys::derive(&ring)).encode(),
        )
        .unwrap();
        assert_eq!(after.route_seal.open_text(b"o_1", &old).unwrap(), b"330108");
        assert!(after.route_seal.open_text(b"o_2", &old).is_err());
        let new = after.route_seal.seal_text(b"o_1", b"110105", &mut rng);
        assert!(new.starts_with("v2:"));
        assert_eq!(after.route_seal.open_text(b"o_1", &new).unwrap(), b"110105");
        // The edge that still has only version 1 cannot open it; nor anyone once 1 is retired.
        assert!(before.route_seal.open_text(b"o_1", &new).is_err());
        let retired = OriginKeys::derive(
            &MasterKeyRing::parse(ring.to_text().lines().nth(1).unwrap()).unwrap(),
        );
        assert!(retired.route_seal.open_text(b"o_1", &old).is_err());
        // A log from before logs named their version is tried under every version held.
        let legacy = old.strip_prefix("v1:").unwrap();
        assert_eq!(
            after.route_seal.open_text(b"o_1", legacy).unwrap(),
            b"330108"
        );
        assert!(after.route_seal.open_text(b"o_1", "v9:AAAA").is_err());
        assert!(after.route_seal.open_text(b"o_1", "not base64!").is_err());
    }

    #[test]
    fn request_keys_accept_the_previous_version_and_sign_with_the_current_one() {
        let mut ring = ring();
        let first = OriginKeys::derive(&ring);
        assert_eq!(first.edge_request.previous_version(), None);
        ring.rotate(&mut StdRng::seed_from_u64(2));
        ring.rotate(&mut StdRng::seed_from_u64(3));
        let third = OriginKeys::derive(&ring);
        assert_eq!(third.edge_request.key_id(), "edge-request-v3");
        assert_eq!(third.origin_push.previous_version(), Some(KeyVersion(2)));
        assert!(third.edge_request.hmac_for("edge-request-v3").is_some());
        assert!(third.edge_request.hmac_for("edge-request-v2").is_some());
        assert!(third.edge_request.hmac_for("edge-request-v1").is_none());
        assert!(third.edge_request.hmac_for("origin-push-v2").is_none());
        let edge = EdgeSecrets::decode(&EdgeSecrets::from_origin_keys(&third).encode()).unwrap();
        assert_eq!(edge.origin_push.previous_version(), Some(KeyVersion(2)));
        assert!(edge.origin_push.hmac_for("origin-push-v2").is_some());
    }

    #[test]
    fn blind_index_lookups_find_an_address_indexed_under_an_older_version() {
        let mut ring = ring();
        let before = OriginKeys::derive(&ring).blind_index;
        let stored = before.index("cn|330108|1 road");
        assert_eq!(
            stored.len(),
            64,
            "version 1 keeps the plain hex of before versions"
        );
        assert_eq!(BlindIndexKeys::version_of(&stored), KeyVersion(1));
        ring.rotate(&mut StdRng::seed_from_u64(4));
        let after = OriginKeys::derive(&ring).blind_index;
        let current = after.index("cn|330108|1 road");
        assert!(current.starts_with("v2:"));
        assert_eq!(BlindIndexKeys::version_of(&current), KeyVersion(2));
        let tried = after.indexes("cn|330108|1 road");
        assert_eq!(tried, vec![current, stored]);
        assert!(!after.indexes("cn|330108|2 road").contains(&tried[1]));
    }

    #[test]
    fn edge_secrets_of_another_format_are_refused_by_name() {
        let secrets = EdgeSecrets::from_origin_keys(&OriginKeys::derive(&ring()));
        let json = URL_SAFE_NO_PAD.decode(secrets.encode().as_str()).unwrap();
        let mut wire: serde_json::Value = serde_json::from_slice(&json).unwrap();
        wire["format"] = 3.into();
        let future = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&wire).unwrap());
        assert_eq!(
            EdgeSecrets::decode(&future).unwrap_err(),
            KeyError::EdgeSecrets("unknown format")
        );
        // Format 1 held one route-seal key as a string.
        wire["format"] = 1.into();
        wire["route_seal"] = wire["route_seal"]["keys"]["1"].clone();
        let old = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&wire).unwrap());
        assert!(EdgeSecrets::decode(&old)
            .unwrap_err()
            .to_string()
            .contains("regenerate with lasthop-origin edge-secrets"));
    }
}

//! Sealing to a public key with HPKE (RFC 9180, the `hpke` crate), base mode, suite
//! DHKEM(X25519, HKDF-SHA256) / HKDF-SHA256 / ChaCha20-Poly1305. A [`SealedBox`] is the
//! encapsulated key and the ciphertext, base64url without padding on the wire as
//! `{"enc": "...", "ciphertext": "..."}`.
//!
//! Every use has its own [`Purpose`] (the HPKE `info` string), so a box made for one purpose
//! never opens as another; the associated data binds it further to its context (for the
//! recipient: the release id and the order id, see [`recipient_aad`]).
//!
//! The sender needs only the recipient's [`BoxPublicKey`]; the [`BoxSecretKey`] never leaves
//! the device (terminal or browser) that made it. Builds for wasm32: randomness comes from the
//! caller's `CryptoRngCore`.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hpke::aead::ChaCha20Poly1305;
use hpke::kdf::HkdfSha256;
use hpke::kem::X25519HkdfSha256;
use hpke::{Deserializable, Kem as _, OpModeR, OpModeS, Serializable};
use rand_core::CryptoRngCore;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::ids::{OrderId, ReleaseId};

type Kem = X25519HkdfSha256;

/// Length of an X25519 key and of the encapsulated key.
pub const KEY_LEN: usize = 32;

/// What a box is for; the HPKE `info` string of each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Origin → terminal: the recipient of a release (`lasthop/recipient/v1`).
    Recipient,
    /// Browser → vault: a buyer's intake (`lasthop/intake/v1`).
    Intake,
    /// Vault → browser: a buyer's profile (`lasthop/profile/v1`).
    Profile,
}

impl Purpose {
    /// The HPKE `info` string.
    pub const fn info(self) -> &'static str {
        match self {
            Self::Recipient => "lasthop/recipient/v1",
            Self::Intake => "lasthop/intake/v1",
            Self::Profile => "lasthop/profile/v1",
        }
    }
}

/// Why sealing or opening failed. Says nothing more: a wrong key, wrong associated data and a
/// tampered box look the same.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealedBoxError {
    /// A key or box field is not base64url of the right length.
    #[error("the key or sealed box is malformed")]
    Malformed,
    /// Opening failed.
    #[error("the sealed box could not be opened")]
    Open,
    /// Sealing failed (the public key is not usable).
    #[error("could not seal to this key")]
    Seal,
}

/// A recipient's X25519 public key: base64url without padding (32 bytes) on the wire.
#[derive(Clone, PartialEq, Eq)]
pub struct BoxPublicKey([u8; KEY_LEN]);

impl BoxPublicKey {
    /// Parses base64url without padding of 32 bytes.
    ///
    /// # Errors
    /// [`SealedBoxError::Malformed`].
    pub fn parse(input: &str) -> Result<Self, SealedBoxError> {
        decode_array(input.trim()).map(Self)
    }

    /// From raw bytes.
    pub const fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        Self(bytes)
    }

    /// The raw bytes.
    pub const fn as_bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }

    /// Base64url without padding.
    pub fn to_base64(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.0)
    }

    fn hpke(&self) -> Result<<Kem as hpke::Kem>::PublicKey, SealedBoxError> {
        <Kem as hpke::Kem>::PublicKey::from_bytes(&self.0).map_err(|_| SealedBoxError::Malformed)
    }
}

impl fmt::Debug for BoxPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BoxPublicKey({})", self.to_base64())
    }
}

serde_as_string!(BoxPublicKey, to_base64);

/// A recipient's X25519 private key. Zeroized on drop; `Debug` prints `[redacted]`.
#[derive(Clone)]
pub struct BoxSecretKey(Zeroizing<[u8; KEY_LEN]>);

impl BoxSecretKey {
    /// A fresh key pair's private half.
    pub fn generate(rng: &mut impl CryptoRngCore) -> Self {
        let (private, _) = Kem::gen_keypair(&mut HpkeRng(rng));
        let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
        bytes.copy_from_slice(&private.to_bytes());
        Self(bytes)
    }

    /// From stored bytes.
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// The raw bytes, for storing on the device only.
    pub fn to_bytes(&self) -> Zeroizing<[u8; KEY_LEN]> {
        self.0.clone()
    }

    /// The matching public key.
    pub fn public_key(&self) -> BoxPublicKey {
        let public = <Kem as hpke::Kem>::sk_to_pk(&self.hpke());
        let mut bytes = [0u8; KEY_LEN];
        bytes.copy_from_slice(&public.to_bytes());
        BoxPublicKey(bytes)
    }

    fn hpke(&self) -> <Kem as hpke::Kem>::PrivateKey {
        // Every 32-byte string is a valid X25519 private key (it is clamped when used), so
        // this cannot fail; the fallback is unreachable and would only fail to open.
        <Kem as hpke::Kem>::PrivateKey::from_bytes(self.0.as_slice())
            .unwrap_or_else(|_| Kem::derive_keypair(&[0u8; KEY_LEN]).0)
    }
}

impl fmt::Debug for BoxSecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BoxSecretKey([redacted])")
    }
}

/// An HPKE ciphertext with its encapsulated key.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SealedBox {
    /// The encapsulated key (32 bytes), base64url without padding.
    #[serde(with = "b64")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Byte))]
    pub enc: Vec<u8>,
    /// The ChaCha20-Poly1305 ciphertext and tag, base64url without padding.
    #[serde(with = "b64")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Byte))]
    pub ciphertext: Vec<u8>,
}

impl fmt::Debug for SealedBox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SealedBox({} bytes)", self.ciphertext.len())
    }
}

/// Seals `plaintext` to `recipient` for `purpose`, bound to `aad`.
///
/// # Errors
/// [`SealedBoxError::Seal`] when the public key is unusable (e.g. a low-order point).
pub fn seal(
    recipient: &BoxPublicKey,
    purpose: Purpose,
    aad: &[u8],
    plaintext: &[u8],
    rng: &mut impl CryptoRngCore,
) -> Result<SealedBox, SealedBoxError> {
    let public = recipient.hpke()?;
    let (enc, ciphertext) = hpke::single_shot_seal::<ChaCha20Poly1305, HkdfSha256, Kem, _>(
        &OpModeS::Base,
        &public,
        purpose.info().as_bytes(),
        plaintext,
        aad,
        &mut HpkeRng(rng),
    )
    .map_err(|_| SealedBoxError::Seal)?;
    Ok(SealedBox {
        enc: enc.to_bytes().to_vec(),
        ciphertext,
    })
}

/// Opens a box made by [`seal`] for the same purpose and associated data.
///
/// # Errors
/// [`SealedBoxError::Malformed`] or [`SealedBoxError::Open`].
pub fn open(
    key: &BoxSecretKey,
    purpose: Purpose,
    aad: &[u8],
    sealed: &SealedBox,
) -> Result<Zeroizing<Vec<u8>>, SealedBoxError> {
    let enc = <Kem as hpke::Kem>::EncappedKey::from_bytes(&sealed.enc)
        .map_err(|_| SealedBoxError::Malformed)?;
    hpke::single_shot_open::<ChaCha20Poly1305, HkdfSha256, Kem>(
        &OpModeR::Base,
        &key.hpke(),
        &enc,
        purpose.info().as_bytes(),
        &sealed.ciphertext,
        aad,
    )
    .map(Zeroizing::new)
    .map_err(|_| SealedBoxError::Open)
}

/// The associated data of a sealed recipient: `release id ‖ 0 ‖ order id`, so a box moved to
/// another release or order does not open.
pub fn recipient_aad(release_id: &ReleaseId, order_id: &OrderId) -> Vec<u8> {
    let mut aad = Vec::with_capacity(48);
    aad.extend_from_slice(release_id.as_str().as_bytes());
    aad.push(0);
    aad.extend_from_slice(order_id.as_str().as_bytes());
    aad
}

/// The caller's `rand_core` 0.6 generator (the one the rest of the core and the RustCrypto
/// crates use) lent to `hpke`, which speaks `rand_core` 0.9.
struct HpkeRng<'a, R: CryptoRngCore>(&'a mut R);

impl<R: CryptoRngCore> hpke::rand_core::RngCore for HpkeRng<'_, R> {
    fn next_u32(&mut self) -> u32 {
        self.0.next_u32()
    }

    fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        self.0.fill_bytes(dest);
    }
}

impl<R: CryptoRngCore> hpke::rand_core::CryptoRng for HpkeRng<'_, R> {}

fn decode_array<const N: usize>(input: &str) -> Result<[u8; N], SealedBoxError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(input)
        .map_err(|_| SealedBoxError::Malformed)?;
    bytes.try_into().map_err(|_| SealedBoxError::Malformed)
}

mod b64 {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&URL_SAFE_NO_PAD.encode(bytes))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<u8>, D::Error> {
        let raw = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        URL_SAFE_NO_PAD
            .decode(raw.as_bytes())
            .map_err(|_| serde::de::Error::custom("must be base64url without padding"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    fn ids() -> (ReleaseId, OrderId) {
        let mut rng = StdRng::seed_from_u64(4);
        (ReleaseId::generate(&mut rng), OrderId::generate(&mut rng))
    }

    #[test]
    fn a_box_opens_with_the_recipients_key_purpose_and_aad() {
        let mut rng = StdRng::seed_from_u64(1);
        let secret = BoxSecretKey::generate(&mut rng);
        let (release, order) = ids();
        let aad = recipient_aad(&release, &order);
        let sealed = seal(
            &secret.public_key(),
            Purpose::Recipient,
            &aad,
            b"Wang Fang",
            &mut rng,
        )
        .unwrap();
        assert_eq!(sealed.enc.len(), KEY_LEN);
        assert!(!sealed.ciphertext.windows(4).any(|w| w == b"Wang"));
        let opened = open(&secret, Purpose::Recipient, &aad, &sealed).unwrap();
        assert_eq!(opened.as_slice(), b"Wang Fang");
    }

    #[test]
    fn another_key_purpose_aad_or_a_flipped_bit_does_not_open() {
        let mut rng = StdRng::seed_from_u64(2);
        let secret = BoxSecretKey::generate(&mut rng);
        let (release, order) = ids();
        let aad = recipient_aad(&release, &order);
        let sealed = seal(
            &secret.public_key(),
            Purpose::Recipient,
            &aad,
            b"x",
            &mut rng,
        )
        .unwrap();
        let stranger = BoxSecretKey::generate(&mut rng);
        assert_eq!(
            open(&stranger, Purpose::Recipient, &aad, &sealed),
            Err(SealedBoxError::Open)
        );
        assert_eq!(
            open(&secret, Purpose::Profile, &aad, &sealed),
            Err(SealedBoxError::Open)
        );
        let other_order = recipient_aad(&release, &OrderId::generate(&mut rng));
        assert_eq!(
            open(&secret, Purpose::Recipient, &other_order, &sealed),
            Err(SealedBoxError::Open)
        );
        let mut flipped = sealed.clone();
        flipped.ciphertext[0] ^= 1;
        assert_eq!(
            open(&secret, Purpose::Recipient, &aad, &flipped),
            Err(SealedBoxError::Open)
        );
        let mut short_enc = sealed;
        short_enc.enc.pop();
        assert_eq!(
            open(&secret, Purpose::Recipient, &aad, &short_enc),
            Err(SealedBoxError::Malformed)
        );
    }

    #[test]
    fn boxes_and_keys_are_base64url_without_padding_on_the_wire() {
        let mut rng = StdRng::seed_from_u64(3);
        let secret = BoxSecretKey::generate(&mut rng);
        let public = secret.public_key();
        let text = public.to_base64();
        assert_eq!(text.len(), 43);
        assert_eq!(BoxPublicKey::parse(&text).unwrap(), public);
        assert_eq!(
            BoxPublicKey::parse(&text[..42]),
            Err(SealedBoxError::Malformed)
        );
        assert_eq!(
            BoxPublicKey::parse(&format!("{text}=")),
            Err(SealedBoxError::Malformed)
        );
        let sealed = seal(&public, Purpose::Intake, b"", b"hello", &mut rng).unwrap();
        let json = serde_json::to_value(&sealed).unwrap();
        let enc = json["enc"].as_str().unwrap().to_owned();
        assert!(!enc.contains('=') && !enc.contains('+') && !enc.contains('/'));
        let back: SealedBox = serde_json::from_value(json).unwrap();
        assert_eq!(back, sealed);
        let extra = serde_json::json!({"enc": enc, "ciphertext": "AA", "x": 1});
        assert!(serde_json::from_value::<SealedBox>(extra).is_err());
    }

    #[test]
    fn the_secret_key_round_trips_and_never_prints() {
        let mut rng = StdRng::seed_from_u64(5);
        let secret = BoxSecretKey::generate(&mut rng);
        let again = BoxSecretKey::from_bytes(*secret.to_bytes());
        assert_eq!(again.public_key(), secret.public_key());
        assert_eq!(format!("{secret:?}"), "BoxSecretKey([redacted])");
    }
}

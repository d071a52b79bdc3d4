//! Authenticated encryption with XChaCha20-Poly1305. A sealed box is the random 24-byte nonce
//! followed by the ciphertext and tag. The random nonce is long enough that collisions are
//! not a concern, so keys need no counter state (the edge has none to keep).
//!
//! Used by the origin's vault (associated data: record id and key version) and by the edge
//! to seal the hub codes of an order's hops (associated data: platform and order).

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand_core::CryptoRngCore;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// Length of the random nonce at the start of every sealed box.
pub const NONCE_LEN: usize = 24;
/// Length of the Poly1305 tag.
pub const TAG_LEN: usize = 16;

/// A 256-bit XChaCha20-Poly1305 key. Zeroized on drop; `Debug` prints `[redacted]`.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct SealingKey([u8; 32]);

impl SealingKey {
    /// A key from 32 bytes (normally derived by [`crate::keys`]).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    pub(crate) fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl std::fmt::Debug for SealingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealingKey([redacted])")
    }
}

/// Opening failed. Deliberately says nothing more: wrong key, wrong associated data and a
/// tampered box must look the same.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// Shorter than a nonce plus a tag.
    #[error("sealed data is too short")]
    TooShort,
    /// Authentication failed.
    #[error("sealed data could not be opened")]
    Open,
}

/// Encrypts `plaintext` bound to `aad`, with a fresh random nonce from `rng`.
pub fn seal(
    key: &SealingKey,
    aad: &[u8],
    plaintext: &[u8],
    rng: &mut impl CryptoRngCore,
) -> Vec<u8> {
    let cipher = XChaCha20Poly1305::new(key.as_bytes().into());
    let mut nonce = [0u8; NONCE_LEN];
    rng.fill_bytes(&mut nonce);
    let payload = Payload {
        msg: plaintext,
        aad,
    };
    // Encryption only fails when the plaintext exceeds the cipher's 256 GiB limit, which no
    // caller comes near; an empty box then fails to open rather than panicking here.
    let ciphertext = cipher
        .encrypt(XNonce::from_slice(&nonce), payload)
        .unwrap_or_default();
    let mut out = Vec::with_capacity(NONCE_LEN + ciphertext.len());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&ciphertext);
    out
}

/// Decrypts a box made by [`seal`] with the same key and associated data.
///
/// # Errors
/// [`SealError::TooShort`] or [`SealError::Open`].
pub fn open(key: &SealingKey, aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>, SealError> {
    if sealed.len() < NONCE_LEN + TAG_LEN {
        return Err(SealError::TooShort);
    }
    let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
    let cipher = XChaCha20Poly1305::new(key.as_bytes().into());
    cipher
        .decrypt(
            XNonce::from_slice(nonce),
            Payload {
                msg: ciphertext,
                aad,
            },
        )
        .map_err(|_| SealError::Open)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    #[test]
    fn sealed_data_opens_with_the_same_key_and_aad_only() {
        let mut rng = StdRng::seed_from_u64(7);
        let key = SealingKey::from_bytes([1; 32]);
        let sealed = seal(&key, b"record-1", b"secret address", &mut rng);
        assert_eq!(open(&key, b"record-1", &sealed).unwrap(), b"secret address");
        assert_eq!(open(&key, b"record-2", &sealed), Err(SealError::Open));
        assert_eq!(
            open(&SealingKey::from_bytes([2; 32]), b"record-1", &sealed),
            Err(SealError::Open)
        );
        let mut tampered = sealed.clone();
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        assert_eq!(open(&key, b"record-1", &tampered), Err(SealError::Open));
        assert_eq!(
            open(&key, b"record-1", &sealed[..10]),
            Err(SealError::TooShort)
        );
    }

    #[test]
    fn sealing_twice_uses_different_nonces() {
        let mut rng = StdRng::seed_from_u64(7);
        let key = SealingKey::from_bytes([1; 32]);
        let a = seal(&key, b"", b"x", &mut rng);
        let b = seal(&key, b"", b"x", &mut rng);
        assert_ne!(a, b);
        assert!(!a.windows(1).any(|w| w == b"secret"));
        assert_eq!(format!("{key:?}"), "SealingKey([redacted])");
    }
}

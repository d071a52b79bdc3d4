//! The hub terminal's device: its receiving key, the text of each signed scan, reading its own
//! credential, and opening a recipient sealed to it. The scheme is the core's (`device`,
//! `sealed_box`), the one `lasthop-terminal` uses: the page builds the very text the CLI signs,
//! and only the signing itself happens in WebCrypto (Ed25519, a key the page cannot extract).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use lasthop_core::api::Recipient;
use lasthop_core::credential::read_scanner_claims;
use lasthop_core::device::{scan_text, DevicePublicKey, EnrolledDevice, ScanRequest, TokenId};
use lasthop_core::ids::{OrderId, ReleaseId};
use lasthop_core::sealed_box::{self, BoxPublicKey, BoxSecretKey, Purpose, SealedBox};
use lasthop_core::signing::RequestNonce;
use rand_core::CryptoRngCore;
use serde::Serialize;

use crate::buyer::secret_key;
use crate::PageError;

/// A fresh receiving key: the secret half for the device's storage, the public half for ops.
#[derive(Debug, Serialize)]
pub struct NewBoxKey {
    /// X25519 secret key, base64url (kept on the device only).
    pub secret: String,
    /// X25519 public key, base64url (enrolled by ops as `box_key`).
    pub public_key: String,
}

/// Makes the device's receiving key.
pub fn new_box_key(rng: &mut impl CryptoRngCore) -> NewBoxKey {
    let key = BoxSecretKey::generate(rng);
    NewBoxKey {
        secret: URL_SAFE_NO_PAD.encode(*key.to_bytes()),
        public_key: key.public_key().to_base64(),
    }
}

/// What ops enrols, as the JSON of `POST /v1/ops/scanners`' `device` object: the text the
/// terminal shows as a QR code.
///
/// # Errors
/// [`PageError`] when either key is not a valid public key.
pub fn enrolment_payload(sign_key: &str, box_key: &str) -> Result<String, PageError> {
    let device = EnrolledDevice {
        sign_key: DevicePublicKey::parse(sign_key).map_err(|_| PageError::field("sign_key"))?,
        box_key: BoxPublicKey::parse(box_key).map_err(|_| PageError::field("box_key"))?,
    };
    serde_json::to_string(&device).map_err(|_| PageError::message("cannot write the keys"))
}

/// The text a courier request's device signature covers (the core's [`scan_text`]).
///
/// # Errors
/// [`PageError`] for a malformed token id or nonce.
pub fn signed_text(
    method: &str,
    path: &str,
    body: &[u8],
    token_id: &str,
    timestamp: i64,
    nonce: &str,
) -> Result<String, PageError> {
    let token_id = TokenId::parse(token_id).map_err(|_| PageError::field("tid"))?;
    let nonce = RequestNonce::from_hex(nonce).ok_or_else(|| PageError::field("nonce"))?;
    let request = ScanRequest {
        method,
        path,
        body,
        token_id: &token_id,
    };
    Ok(scan_text(&request, timestamp, &nonce))
}

/// What the terminal shows and signs with, read from its own credential.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CredentialView {
    /// `sc_…`
    pub scanner_id: String,
    /// `h_…`
    pub hub_id: String,
    /// `district` or `city`.
    pub hub_level: String,
    /// The hub's region code.
    pub hub_code: String,
    /// `pickup` or `hub`.
    pub role: String,
    /// The token id every scan signature covers.
    pub tid: String,
    /// When the credential expires (RFC 3339).
    pub expires_at: String,
}

/// Reads a scanner credential and checks it is bound to this device's signing key.
///
/// # Errors
/// [`PageError`] for anything but a scanner credential naming `sign_key` as its device.
pub fn read_credential(token: &str, sign_key: &str) -> Result<CredentialView, PageError> {
    let claims = read_scanner_claims(token).map_err(|_| PageError::field("credential"))?;
    let ours = DevicePublicKey::parse(sign_key).map_err(|_| PageError::field("sign_key"))?;
    if claims.device != Some(ours) {
        return Err(PageError::field("credential"));
    }
    Ok(CredentialView {
        scanner_id: claims.scanner_id.to_string(),
        hub_id: claims.hub_id.to_string(),
        hub_level: claims.hub.level().as_str().to_owned(),
        hub_code: claims.hub.code().to_string(),
        role: claims.role.as_str().to_owned(),
        tid: claims.token_id.to_hex(),
        expires_at: claims.expires_at.to_string(),
    })
}

/// Opens the recipient the origin sealed to this device for `release_id` and `order_id`.
///
/// # Errors
/// [`PageError`] when the box is for another device, release or order, or was tampered with.
pub fn open_recipient(
    box_secret: &str,
    release_id: &str,
    order_id: &str,
    sealed: &SealedBox,
) -> Result<Recipient, PageError> {
    let key = secret_key(box_secret)?;
    let release = ReleaseId::parse(release_id).map_err(|_| PageError::field("release_id"))?;
    let order = OrderId::parse(order_id).map_err(|_| PageError::field("order_id"))?;
    let plain = sealed_box::open(
        &key,
        Purpose::Recipient,
        &sealed_box::recipient_aad(&release, &order),
        sealed,
    )
    .map_err(|_| PageError::message("the recipient does not open on this device"))?;
    serde_json::from_slice(&plain)
        .map_err(|_| PageError::message("the recipient does not open on this device"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use lasthop_core::credential::{ScannerClaims, ScannerRole};
    use lasthop_core::device::{verify_scan, DeviceKeys, ScanHeaders};
    use lasthop_core::ids::{HubId, ScannerId};
    use lasthop_core::keys::{MasterKeyRing, OriginKeys};
    use lasthop_core::region::{Directory, HubLevel, RegionCode};
    use lasthop_core::time::Timestamp;
    use rand_core::OsRng;

    #[test]
    fn the_page_signs_the_same_text_the_core_verifies() {
        let device = DeviceKeys::generate(&mut OsRng);
        let token_id = TokenId::generate(&mut OsRng);
        let nonce = RequestNonce::generate(&mut OsRng);
        let now = Timestamp::from_unix_seconds(1_700_000_000);
        let body = br#"{"platform_id":"demo","order_id":"o_0123456789abcdef"}"#;
        let request = ScanRequest {
            method: "POST",
            path: "/v1/scans/hop",
            body,
            token_id: &token_id,
        };
        let signed = device.sign_scan(&request, now, &nonce);
        let text = signed_text(
            "post",
            "/v1/scans/hop",
            body,
            &token_id.to_hex(),
            now.unix_seconds(),
            &nonce.to_hex(),
        )
        .unwrap();
        assert_eq!(text, scan_text(&request, now.unix_seconds(), &nonce));
        let headers = ScanHeaders {
            timestamp: signed.timestamp,
            nonce: signed.nonce,
            signature: signed.signature,
        };
        assert!(verify_scan(&device.public().sign_key, &request, &headers, now, 60).is_ok());
        assert!(signed_text("POST", "/", b"", "zz", 0, &nonce.to_hex()).is_err());
    }

    #[test]
    fn a_credential_reads_only_on_the_device_it_names() {
        let keys = OriginKeys::derive(&MasterKeyRing::generate(&mut OsRng));
        let device = DeviceKeys::generate(&mut OsRng);
        let claims = ScannerClaims {
            scanner_id: ScannerId::generate(&mut OsRng),
            hub_id: HubId::generate(&mut OsRng),
            hub: Directory::china()
                .hub_region(HubLevel::District, RegionCode::parse("110105").unwrap())
                .unwrap(),
            role: ScannerRole::Hub,
            expires_at: Timestamp::from_unix_seconds(2_000_000_000),
            token_id: TokenId::generate(&mut OsRng),
            device: Some(device.public().sign_key),
            carrier_id: lasthop_core::ids::CarrierId::platform_default(),
        };
        let token = keys.credentials.issue_scanner(&claims);
        let ours = device.public().sign_key.to_base64();
        let view = read_credential(&token, &ours).unwrap();
        assert_eq!(view.hub_code, "110105");
        assert_eq!(view.hub_level, "district");
        assert_eq!(view.role, "hub");
        assert_eq!(view.tid, claims.token_id.to_hex());
        let other = DeviceKeys::generate(&mut OsRng)
            .public()
            .sign_key
            .to_base64();
        assert!(read_credential(&token, &other).is_err());
        let unbound = keys.credentials.issue_scanner(&ScannerClaims {
            device: None,
            ..claims
        });
        assert!(read_credential(&unbound, &ours).is_err());
    }

    #[test]
    fn a_recipient_opens_only_for_its_release_and_order_on_this_device() {
        let key = new_box_key(&mut OsRng);
        let recipient = Recipient {
            name: "李秀英".into(),
            phone: "+8613800138000".into(),
            country: "CN".into(),
            region: "110105".into(),
            line: "酒仙桥路 8 号".into(),
            postal_code: "100015".into(),
        };
        let release = ReleaseId::parse("r_0123456789abcdef").unwrap();
        let order = OrderId::parse("o_0123456789abcdef").unwrap();
        let sealed = sealed_box::seal(
            &BoxPublicKey::parse(&key.public_key).unwrap(),
            Purpose::Recipient,
            &sealed_box::recipient_aad(&release, &order),
            &serde_json::to_vec(&recipient).unwrap(),
            &mut OsRng,
        )
        .unwrap();
        let opened =
            open_recipient(&key.secret, release.as_str(), order.as_str(), &sealed).unwrap();
        assert_eq!(opened, recipient);
        assert!(
            open_recipient(&key.secret, "r_0123456789abcdee", order.as_str(), &sealed).is_err()
        );
        let other = new_box_key(&mut OsRng);
        assert!(open_recipient(&other.secret, release.as_str(), order.as_str(), &sealed).is_err());
    }

    #[test]
    fn the_enrolment_payload_is_the_ops_device_object() {
        let device = DeviceKeys::generate(&mut OsRng).public();
        let payload =
            enrolment_payload(&device.sign_key.to_base64(), &device.box_key.to_base64()).unwrap();
        let parsed: EnrolledDevice = serde_json::from_str(&payload).unwrap();
        assert_eq!(parsed, device);
        assert!(enrolment_payload("x", &device.box_key.to_base64()).is_err());
    }
}

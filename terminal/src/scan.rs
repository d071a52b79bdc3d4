//! The terminal's pure part: courier request bodies, their device signatures, and the opening
//! of a sealed recipient. No I/O and no clock of its own (time and randomness come in), so a
//! browser terminal can reuse it as it is.

use lasthop_core::api::paths::{SCANNER_RENEW, SCAN_DELIVER, SCAN_HOP, SCAN_PICKUP};
use lasthop_core::api::{HopResponse, Recipient};
use lasthop_core::credential::read_scanner_claims;
use lasthop_core::device::{DeviceKeys, ScanRequest};
use lasthop_core::ids::{BuyerId, OrderId, PlatformId, ReleaseId};
use lasthop_core::sealed_box::{open, recipient_aad, Purpose};
use lasthop_core::signing::RequestNonce;
use lasthop_core::time::Timestamp;
use rand::CryptoRng;
use rand::RngCore;
use serde_json::json;
use zeroize::Zeroizing;

/// Why a scan could not be made or its answer not opened.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    /// The stored credential is not a scanner credential with a token id.
    #[error("the stored credential is not a scanner credential; set the one ops issued")]
    Credential,
    /// The verdict was not `deliver` with a sealed recipient.
    #[error("the answer carries no sealed recipient")]
    NoRecipient,
    /// The sealed recipient does not open with this device's key.
    #[error("the recipient does not open with this device's key")]
    Open,
}

/// A courier request ready to send: path, exact body and headers (bearer and signature).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedCall {
    /// The path, e.g. `/v1/scans/hop`.
    pub path: &'static str,
    /// The exact body bytes the signature covers.
    pub body: Vec<u8>,
    /// `(name, value)` headers: `authorization` and the three device headers.
    pub headers: Vec<(&'static str, String)>,
}

/// What the terminal asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call {
    /// `POST /v1/scans/pickup`.
    Pickup {
        /// The order on the label.
        order_id: OrderId,
        /// The buyer id on the label.
        buyer_id: BuyerId,
        /// The carrier's waybill.
        waybill: String,
    },
    /// `POST /v1/scans/hop`.
    Hop {
        /// The order.
        order_id: OrderId,
    },
    /// `POST /v1/scans/deliver`.
    Deliver {
        /// The order.
        order_id: OrderId,
        /// The release being closed.
        release_id: ReleaseId,
        /// Proof of receipt.
        signature: String,
    },
    /// `POST /v1/scanners/renew`.
    Renew,
}

impl Call {
    fn path_and_body(&self, platform: &PlatformId) -> (&'static str, serde_json::Value) {
        match self {
            Self::Pickup {
                order_id,
                buyer_id,
                waybill,
            } => (
                SCAN_PICKUP,
                json!({"platform_id": platform, "order_id": order_id, "buyer_id": buyer_id,
                       "waybill": waybill}),
            ),
            Self::Hop { order_id } => (
                SCAN_HOP,
                json!({"platform_id": platform, "order_id": order_id}),
            ),
            Self::Deliver {
                order_id,
                release_id,
                signature,
            } => (
                SCAN_DELIVER,
                json!({"platform_id": platform, "order_id": order_id, "release_id": release_id,
                       "signature": signature}),
            ),
            Self::Renew => (SCANNER_RENEW, json!({})),
        }
    }
}

/// Builds and signs a courier request with the device's keys and the scanner's credential.
///
/// # Errors
/// [`ScanError::Credential`] when `token` names no token id.
pub fn sign_call(
    keys: &DeviceKeys,
    token: &str,
    platform: &PlatformId,
    call: &Call,
    now: Timestamp,
    rng: &mut (impl RngCore + CryptoRng),
) -> Result<SignedCall, ScanError> {
    let token_id = read_scanner_claims(token)
        .map_err(|_| ScanError::Credential)?
        .token_id;
    let (path, body) = call.path_and_body(platform);
    // Serialising a `serde_json::Value` cannot fail.
    let body = serde_json::to_vec(&body).unwrap_or_default();
    let signed = keys.sign_scan(
        &ScanRequest {
            method: "POST",
            path,
            body: &body,
            token_id: &token_id,
        },
        now,
        &RequestNonce::generate(rng),
    );
    let mut headers = vec![("authorization", format!("Bearer {}", token.trim()))];
    headers.extend(
        signed
            .pairs()
            .into_iter()
            .map(|(name, value)| (name, value.to_owned())),
    );
    Ok(SignedCall {
        path,
        body,
        headers,
    })
}

/// A recipient opened from a `deliver` verdict, with what the terminal must know to erase it.
#[derive(Debug, Clone)]
pub struct OpenedRecipient {
    /// The release.
    pub release_id: ReleaseId,
    /// When it must be gone at the latest.
    pub erase_after: Timestamp,
    /// The recipient (personal data: shown, kept until delivery, then erased).
    pub recipient: Recipient,
}

/// Opens the sealed recipient of a `deliver` verdict for `order_id` with the device's key.
///
/// # Errors
/// [`ScanError::NoRecipient`] for another verdict, [`ScanError::Open`] when the box does not open.
pub fn open_recipient(
    keys: &DeviceKeys,
    order_id: &OrderId,
    verdict: &HopResponse,
) -> Result<OpenedRecipient, ScanError> {
    let HopResponse::Deliver {
        release_id,
        erase_after,
        sealed_recipient: Some(sealed),
        ..
    } = verdict
    else {
        return Err(ScanError::NoRecipient);
    };
    let aad = recipient_aad(release_id, order_id);
    let plain: Zeroizing<Vec<u8>> =
        open(keys.box_key(), Purpose::Recipient, &aad, sealed).map_err(|_| ScanError::Open)?;
    let recipient = serde_json::from_slice(&plain).map_err(|_| ScanError::Open)?;
    Ok(OpenedRecipient {
        release_id: release_id.clone(),
        erase_after: *erase_after,
        recipient,
    })
}

#[cfg(test)]
mod tests {
    use lasthop_core::device::{verify_scan, ScanHeaders, SCAN_WINDOW_SECS};
    use lasthop_core::sealed_box::seal;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    use super::*;

    /// A scanner credential with a known tid, issued by a throwaway origin key ring.
    fn token(tid: &str) -> String {
        use lasthop_core::credential::{ScannerClaims, ScannerRole};
        use lasthop_core::ids::{HubId, ScannerId};
        use lasthop_core::keys::{MasterKeyRing, OriginKeys};
        use lasthop_core::region::{Directory, HubLevel, RegionCode};
        let mut rng = StdRng::seed_from_u64(9);
        let keys = OriginKeys::derive(&MasterKeyRing::generate(&mut rng));
        keys.credentials.issue_scanner(&ScannerClaims {
            scanner_id: ScannerId::generate(&mut rng),
            hub_id: HubId::generate(&mut rng),
            hub: Directory::china()
                .hub_region(HubLevel::District, RegionCode::parse("110105").unwrap())
                .unwrap(),
            role: ScannerRole::Hub,
            expires_at: Timestamp::from_unix_seconds(2_000_000_000),
            token_id: lasthop_core::device::TokenId::parse(tid).unwrap(),
            device: None,
            carrier_id: lasthop_core::ids::CarrierId::platform_default(),
        })
    }

    #[test]
    fn a_signed_call_verifies_with_the_devices_public_key() {
        let mut rng = StdRng::seed_from_u64(1);
        let keys = DeviceKeys::generate(&mut rng);
        let tid = "00112233445566778899aabbccddeeff";
        let now = Timestamp::from_unix_seconds(1_700_000_000);
        let call = Call::Hop {
            order_id: OrderId::parse("o_0123456789abcdef").unwrap(),
        };
        let platform = PlatformId::parse("demo").unwrap();
        let signed = sign_call(&keys, &token(tid), &platform, &call, now, &mut rng).unwrap();
        assert_eq!(signed.path, SCAN_HOP);
        let headers = ScanHeaders::from_lookup(|name| {
            signed
                .headers
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.as_str())
        })
        .unwrap();
        let request = ScanRequest {
            method: "POST",
            path: SCAN_HOP,
            body: &signed.body,
            token_id: &lasthop_core::device::TokenId::parse(tid).unwrap(),
        };
        assert!(verify_scan(
            &keys.public().sign_key,
            &request,
            &headers,
            now,
            SCAN_WINDOW_SECS
        )
        .is_ok());
        assert!(sign_call(&keys, "not a token", &platform, &call, now, &mut rng).is_err());
    }

    #[test]
    fn the_recipient_opens_for_its_order_only() {
        let mut rng = StdRng::seed_from_u64(2);
        let keys = DeviceKeys::generate(&mut rng);
        let order = OrderId::parse("o_0123456789abcdef").unwrap();
        let release = ReleaseId::parse("r_0123456789abcdef").unwrap();
        let recipient = Recipient {
            name: "Wang Fang".into(),
            phone: "+86 139 0000 0000".into(),
            country: "CN".into(),
            region: "110105".into(),
            line: "8 Jianguo Road".into(),
            postal_code: "100020".into(),
        };
        let sealed = seal(
            &keys.public().box_key,
            Purpose::Recipient,
            &recipient_aad(&release, &order),
            &serde_json::to_vec(&recipient).unwrap(),
            &mut rng,
        )
        .unwrap();
        let verdict = HopResponse::Deliver {
            release_id: release,
            erase_after: Timestamp::from_unix_seconds(1),
            recipient: None,
            sealed_recipient: Some(sealed),
        };
        let opened = open_recipient(&keys, &order, &verdict).unwrap();
        assert_eq!(opened.recipient, recipient);
        let other = OrderId::parse("o_1123456789abcdef").unwrap();
        assert!(matches!(
            open_recipient(&keys, &other, &verdict),
            Err(ScanError::Open)
        ));
        assert!(matches!(
            open_recipient(&keys, &order, &HopResponse::ForwardUp),
            Err(ScanError::NoRecipient)
        ));
    }
}

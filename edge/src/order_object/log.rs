//! What an order's object keeps sealed with the route-seal key: the route so far (its last hub
//! codes are the buyer's region) and the chain of custody (its pickup carries the buyer id).
//! Each is JSON sealed with XChaCha20-Poly1305, bound to the order (and to its kind, so one
//! never opens as the other), and stored as text naming the route-seal version
//! (`v<N>:<base64>`), so logs sealed before a key rotation still open after it.

use lasthop_core::api::VerdictWord;
use lasthop_core::ids::{HubId, OrderId};
use lasthop_core::region::HubLevel;
use lasthop_core::time::Timestamp;
use rand_core::OsRng;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::config::EdgeConfig;
use crate::error::EdgeError;

/// One hub scan of the route, as sealed in storage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct RouteEntry {
    pub(super) hub_id: HubId,
    pub(super) level: HubLevel,
    pub(super) code: String,
    pub(super) verdict: VerdictWord,
    /// Level of the hub the verdict sent the parcel to (`route_to` only).
    pub(super) next_level: Option<HubLevel>,
    pub(super) at: Timestamp,
}

/// Which sealed log: part of the associated data.
#[derive(Debug, Clone, Copy)]
pub(super) enum Log {
    /// The route (list of [`RouteEntry`]).
    Route,
    /// The chain of custody (list of `SignedScan`).
    Chain,
}

impl Log {
    fn aad(self, order_id: &OrderId) -> Vec<u8> {
        match self {
            // The route's associated data predates the chain: the order id alone.
            Self::Route => order_id.as_str().as_bytes().to_vec(),
            Self::Chain => [b"chain\0".as_slice(), order_id.as_str().as_bytes()].concat(),
        }
    }
}

/// Opens a sealed log of the order; an absent log is empty.
///
/// # Errors
/// An internal fault when it does not open or parse (another order's, or damaged).
pub(super) fn open_log<T: DeserializeOwned>(
    config: &EdgeConfig,
    log: Log,
    order_id: &OrderId,
    sealed: Option<&str>,
) -> Result<Vec<T>, EdgeError> {
    let Some(sealed) = sealed else {
        return Ok(Vec::new());
    };
    let plain = zeroize::Zeroizing::new(
        config
            .secrets
            .route_seal
            .open_text(&log.aad(order_id), sealed)
            .map_err(|_| EdgeError::internal("a sealed log does not open"))?,
    );
    serde_json::from_slice(&plain).map_err(|_| EdgeError::internal("a sealed log does not parse"))
}

/// Seals a log of the order.
///
/// # Errors
/// An internal fault when it cannot be encoded.
pub(super) fn seal_log<T: Serialize>(
    config: &EdgeConfig,
    log: Log,
    order_id: &OrderId,
    entries: &[T],
) -> Result<String, EdgeError> {
    let plain = zeroize::Zeroizing::new(
        serde_json::to_vec(entries).map_err(|_| EdgeError::internal("encoding a sealed log"))?,
    );
    Ok(config
        .secrets
        .route_seal
        .seal_text(&log.aad(order_id), &plain, &mut OsRng))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::rc::Rc;

    use base64::engine::general_purpose::STANDARD as BASE64;
    use base64::Engine as _;
    use lasthop_core::keys::{EdgeSecrets, MasterKeyRing, OriginKeys};

    use super::*;

    pub(crate) fn config() -> EdgeConfig {
        let master = MasterKeyRing::generate(&mut OsRng);
        EdgeConfig {
            origin_url: "http://127.0.0.1:9".into(),
            secrets: Rc::new(EdgeSecrets::from_origin_keys(&OriginKeys::derive(&master))),
            scanner_rate_per_minute: 120,
            origin_timeout: crate::config::DEFAULT_ORIGIN_TIMEOUT,
        }
    }

    fn entry(code: &str, verdict: VerdictWord) -> RouteEntry {
        RouteEntry {
            hub_id: HubId::parse("h_0000000000000000").unwrap(),
            level: if code.len() == 4 {
                HubLevel::City
            } else {
                HubLevel::District
            },
            code: code.into(),
            verdict,
            next_level: None,
            at: Timestamp::from_unix_seconds(1_700_000_000),
        }
    }

    #[test]
    fn a_sealed_route_opens_for_its_order_and_hides_its_codes() {
        let config = config();
        let order_id = OrderId::parse("o_00000000000000a1").unwrap();
        let route = vec![
            entry("330108", VerdictWord::ForwardUp),
            entry("110105", VerdictWord::Deliver),
        ];
        let sealed = seal_log(&config, Log::Route, &order_id, &route).unwrap();
        assert!(
            !sealed.contains("110105")
                && !String::from_utf8_lossy(
                    &BASE64.decode(sealed.split_once(':').unwrap().1).unwrap()
                )
                .contains("110105")
        );
        let opened: Vec<RouteEntry> =
            open_log(&config, Log::Route, &order_id, Some(&sealed)).unwrap();
        assert_eq!(opened, route);
        // Moved to another order's object, or read as the other log, it does not open.
        let other = OrderId::parse("o_00000000000000b2").unwrap();
        assert!(open_log::<RouteEntry>(&config, Log::Route, &other, Some(&sealed)).is_err());
        assert!(open_log::<RouteEntry>(&config, Log::Chain, &order_id, Some(&sealed)).is_err());
        assert!(open_log::<RouteEntry>(&config, Log::Route, &order_id, None)
            .unwrap()
            .is_empty());
    }
}

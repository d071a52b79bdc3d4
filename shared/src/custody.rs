//! The chain of custody, checked by the origin before it releases a recipient.
//!
//! The edge keeps every device-signed scan of an order ([`SignedScan`]) and sends the whole
//! chain with the final hop's release call. [`verify_chain`] accepts it only when:
//!
//! - every link is signed by the enrolled, unrevoked device of its scanner (the caller's lookup
//!   answers only for those), and no link repeats a nonce;
//! - the first link is a pickup, by a pickup scanner, carrying the order's buyer id;
//! - every later link is a hub scan of this order, by a hub scanner standing where the previous
//!   verdict sent the parcel — the verdicts recomputed from the plaintext delivery region with
//!   the very rules the edge applies to tags ([`route_step`]);
//! - every link is by a scanner of the order's carrier, and the pickup by a hub that serves
//!   the seller's ship-from region ([`crate::carrier::admit_scanner`]);
//! - the last link got `deliver` (so its hub serves the buyer's delivery region) and is fresh.
//!
//! A compromised edge holds bearer tokens, old chains and every edge secret, but no device key:
//! it can replay links (refused: the final link must be fresh and its nonce new at the origin),
//! move them between orders (refused: the signed body names the order), drop, reorder or
//! change them (refused: signatures and routing), but it cannot make a chain that reaches the
//! buyer's district hub without that hub's device scanning the parcel.

use subtle::ConstantTimeEq;

use crate::api::paths::{SCAN_HOP, SCAN_PICKUP};
use crate::api::{parse_json, ErrorCode, HopScanRequest, PickupScanRequest};
use crate::carrier::{admit_scanner, Carriage, ScanRefusal};
use crate::credential::ScannerRole;
use crate::device::{DevicePublicKey, SignedScan, TokenId};
use crate::ids::{BuyerId, CarrierId, HubId, OrderId, PlatformId, ScannerId};
use crate::progress::{route_step, Verdict};
use crate::region::{DeliveryRegion, HubRegion};
use crate::signing::{within_window, RequestNonce};
use crate::time::Timestamp;

/// The longest chain looked at: a pickup and at most four hops make an honest one.
pub const MAX_CHAIN_LINKS: usize = 8;

/// The order as the origin knows it in plaintext.
#[derive(Debug, Clone, Copy)]
pub struct CustodyOrder<'a> {
    /// The shop.
    pub platform_id: &'a PlatformId,
    /// The order.
    pub order_id: &'a OrderId,
    /// Its buyer (the pickup must carry this id from the label).
    pub buyer_id: &'a BuyerId,
    /// Where it is delivered.
    pub delivery: &'a DeliveryRegion,
    /// Its carrier and the seller's ship-from region.
    pub carriage: &'a Carriage,
}

/// An enrolled, unrevoked scanner with a device, as the origin's directory knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainScanner {
    /// Its hub.
    pub hub_id: HubId,
    /// That hub's region.
    pub hub: HubRegion,
    /// Pickup or hub.
    pub role: ScannerRole,
    /// The device's signing key.
    pub sign_key: DevicePublicKey,
    /// Its hub's carrier.
    pub carrier_id: CarrierId,
}

/// The final link of a chain that holds: who scanned, with which credential and nonce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinalScan {
    /// The final hub's scanner.
    pub scanner_id: ScannerId,
    /// The final hub.
    pub hub_id: HubId,
    /// The `tid` its device signed (must be the presented credential's).
    pub token_id: TokenId,
    /// Its nonce (the caller records it: one use per scanner).
    pub nonce: RequestNonce,
}

/// Why a chain does not hold. `link` is the 0-based position of the first bad link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    /// No link at all.
    #[error("the chain of custody is empty")]
    Empty,
    /// More links than any honest route has.
    #[error("the chain of custody is longer than any route")]
    TooLong,
    /// A link whose scanner is unknown, revoked, or enrolled without a device.
    #[error("link {link} is from no enrolled device")]
    UnknownScanner {
        /// Position.
        link: usize,
    },
    /// A link whose signature or fields do not verify.
    #[error("link {link} is not signed by its scanner's device")]
    BadSignature {
        /// Position.
        link: usize,
    },
    /// A nonce used twice.
    #[error("link {link} repeats a nonce")]
    ReplayedLink {
        /// Position.
        link: usize,
    },
    /// A link signed long before the one it follows.
    #[error("link {link} is out of order")]
    Reordered {
        /// Position.
        link: usize,
    },
    /// Not a pickup first and hub scans after.
    #[error("link {link} is not the scan expected there")]
    WrongScan {
        /// Position.
        link: usize,
    },
    /// A scanner of the other role.
    #[error("link {link} is from a scanner of the wrong role")]
    WrongRole {
        /// Position.
        link: usize,
    },
    /// A scan of another order or platform.
    #[error("link {link} is a scan of another order")]
    ForeignLink {
        /// Position.
        link: usize,
    },
    /// The pickup did not carry the order's buyer id.
    #[error("the pickup did not carry the order's buyer id")]
    BuyerMismatch,
    /// A hub the previous verdict did not send the parcel to.
    #[error("link {link} is from a hub off the parcel's route")]
    OffRoute {
        /// Position.
        link: usize,
    },
    /// A link after the `deliver` verdict.
    #[error("link {link} comes after the final hop")]
    AfterDelivery {
        /// Position.
        link: usize,
    },
    /// The last link is not at the buyer's delivery region.
    #[error("the chain does not reach the buyer's delivery region")]
    NotAtFinalHub,
    /// The last link is outside the time window.
    #[error("the final scan is not fresh")]
    Stale,
    /// A scanner of another carrier, or a pickup away from the seller's ship-from region.
    #[error("link {link} is from a scanner that may not scan this order: {refusal}")]
    Carrier {
        /// Position.
        link: usize,
        /// Which carrier rule.
        refusal: ScanRefusal,
    },
}

impl ChainError {
    /// A fixed word for metrics and the refusal audit (never request data).
    pub const fn reason(&self) -> &'static str {
        match self {
            Self::Empty => "chain_empty",
            Self::TooLong => "chain_too_long",
            Self::UnknownScanner { .. } => "unknown_device",
            Self::BadSignature { .. } => "bad_signature",
            Self::ReplayedLink { .. } => "replayed_link",
            Self::Reordered { .. } => "reordered",
            Self::WrongScan { .. } => "wrong_scan",
            Self::WrongRole { .. } => "wrong_role",
            Self::ForeignLink { .. } => "foreign_link",
            Self::BuyerMismatch => "buyer_mismatch",
            Self::OffRoute { .. } => "off_route",
            Self::AfterDelivery { .. } => "after_delivery",
            Self::NotAtFinalHub => "not_at_final_hub",
            Self::Stale => "stale_final_scan",
            Self::Carrier { refusal, .. } => refusal.reason(),
        }
    }

    /// The API error code to answer with.
    pub const fn code(&self) -> ErrorCode {
        match self {
            Self::Stale | Self::UnknownScanner { .. } | Self::BadSignature { .. } => {
                ErrorCode::Unauthorized
            }
            Self::OffRoute { .. } | Self::AfterDelivery { .. } | Self::NotAtFinalHub => {
                ErrorCode::OffRoute
            }
            _ => ErrorCode::Forbidden,
        }
    }
}

/// Checks an order's chain of custody at `now` (see the module docs for the rules). `scanner`
/// answers for enrolled, unrevoked scanners with a device only.
///
/// # Errors
/// The first rule the chain breaks.
pub fn verify_chain(
    order: &CustodyOrder<'_>,
    chain: &[SignedScan],
    scanner: impl Fn(&ScannerId) -> Option<ChainScanner>,
    now: Timestamp,
    window_secs: i64,
) -> Result<FinalScan, ChainError> {
    if chain.is_empty() {
        return Err(ChainError::Empty);
    }
    if chain.len() > MAX_CHAIN_LINKS {
        return Err(ChainError::TooLong);
    }
    let mut nonces: Vec<(&ScannerId, RequestNonce)> = Vec::with_capacity(chain.len());
    let mut expected: Option<HubRegion> = None;
    let mut delivered = false;
    let mut previous: Option<i64> = None;
    let mut last: Option<(ChainScanner, RequestNonce)> = None;
    for (link, scan) in chain.iter().enumerate() {
        let device = scanner(&scan.scanner_id).ok_or(ChainError::UnknownScanner { link })?;
        scan.verify_signature(&device.sign_key)
            .map_err(|_| ChainError::BadSignature { link })?;
        let nonce = scan
            .parsed_nonce()
            .map_err(|_| ChainError::BadSignature { link })?;
        if nonces
            .iter()
            .any(|(id, seen)| **id == scan.scanner_id && *seen == nonce)
        {
            return Err(ChainError::ReplayedLink { link });
        }
        nonces.push((&scan.scanner_id, nonce));
        if previous.is_some_and(|p| scan.timestamp < p.saturating_sub(window_secs)) {
            return Err(ChainError::Reordered { link });
        }
        previous = Some(scan.timestamp);
        if delivered {
            return Err(ChainError::AfterDelivery { link });
        }
        if link == 0 {
            check_pickup(order, scan, &device)?;
            admit(order, &device, link)?;
            expected = Some(device.hub);
        } else {
            check_hop(order, scan, &device, link)?;
            admit(order, &device, link)?;
            if expected != Some(device.hub) {
                return Err(ChainError::OffRoute { link });
            }
            let (verdict, next) = route_step(order.delivery, &device.hub)
                .map_err(|_| ChainError::OffRoute { link })?;
            delivered = verdict == Verdict::Deliver;
            expected = next;
        }
        last = Some((device, nonce));
    }
    let (Some((device, nonce)), Some(final_scan)) = (last, chain.last()) else {
        return Err(ChainError::Empty);
    };
    if !delivered {
        return Err(ChainError::NotAtFinalHub);
    }
    if !within_window(now, final_scan.timestamp, window_secs) {
        return Err(ChainError::Stale);
    }
    Ok(FinalScan {
        scanner_id: final_scan.scanner_id.clone(),
        hub_id: device.hub_id,
        token_id: final_scan.tid,
        nonce,
    })
}

/// The carrier rules the edge applies at each scan, again for this link.
fn admit(order: &CustodyOrder<'_>, device: &ChainScanner, link: usize) -> Result<(), ChainError> {
    admit_scanner(order.carriage, &device.carrier_id, device.role, &device.hub)
        .map_err(|refusal| ChainError::Carrier { link, refusal })
}

fn check_pickup(
    order: &CustodyOrder<'_>,
    scan: &SignedScan,
    device: &ChainScanner,
) -> Result<(), ChainError> {
    let link = 0;
    if !is_post(scan, SCAN_PICKUP) {
        return Err(ChainError::WrongScan { link });
    }
    if device.role != ScannerRole::Pickup {
        return Err(ChainError::WrongRole { link });
    }
    let pickup = parse_json::<PickupScanRequest>(scan.body.as_bytes())
        .ok()
        .and_then(|request| request.parse().ok())
        .ok_or(ChainError::WrongScan { link })?;
    if pickup.platform_id != *order.platform_id || pickup.order_id != *order.order_id {
        return Err(ChainError::ForeignLink { link });
    }
    let same_buyer = pickup
        .buyer_id
        .as_str()
        .as_bytes()
        .ct_eq(order.buyer_id.as_str().as_bytes());
    if bool::from(same_buyer) {
        Ok(())
    } else {
        Err(ChainError::BuyerMismatch)
    }
}

fn check_hop(
    order: &CustodyOrder<'_>,
    scan: &SignedScan,
    device: &ChainScanner,
    link: usize,
) -> Result<(), ChainError> {
    if !is_post(scan, SCAN_HOP) {
        return Err(ChainError::WrongScan { link });
    }
    if device.role != ScannerRole::Hub {
        return Err(ChainError::WrongRole { link });
    }
    let hop = parse_json::<HopScanRequest>(scan.body.as_bytes())
        .ok()
        .and_then(|request| request.parse().ok())
        .ok_or(ChainError::WrongScan { link })?;
    if hop.platform_id != *order.platform_id || hop.order_id != *order.order_id {
        return Err(ChainError::ForeignLink { link });
    }
    Ok(())
}

fn is_post(scan: &SignedScan, path: &str) -> bool {
    scan.method == "POST" && scan.path == path
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use rand::rngs::StdRng;
    use rand::SeedableRng;

    use super::*;
    use crate::carrier::CarrierName;
    use crate::device::{DeviceKeys, ScanRequest};
    use crate::region::{Directory, HubLevel, RegionCode};

    /// A small world: devices per hub region, an order to 110105 picked up in 330108.
    struct World {
        rng: StdRng,
        platform: PlatformId,
        order: OrderId,
        buyer: BuyerId,
        delivery: DeliveryRegion,
        carriage: Carriage,
        devices: HashMap<ScannerId, (DeviceKeys, ChainScanner)>,
        now: Timestamp,
    }

    fn hub(level: HubLevel, code: &str) -> HubRegion {
        Directory::china()
            .hub_region(level, RegionCode::parse(code).unwrap())
            .unwrap()
    }

    impl World {
        fn new() -> Self {
            let mut rng = StdRng::seed_from_u64(80);
            Self {
                platform: PlatformId::parse("demo").unwrap(),
                order: OrderId::generate(&mut rng),
                buyer: BuyerId::generate(&mut rng),
                delivery: Directory::china()
                    .delivery_region(RegionCode::parse("110105").unwrap())
                    .unwrap(),
                carriage: Carriage {
                    carrier_id: CarrierId::generate(&mut rng),
                    carrier_name: CarrierName::parse("Yunda").unwrap(),
                    ship_from: Some(RegionCode::parse("330108").unwrap()),
                },
                devices: HashMap::new(),
                now: Timestamp::from_unix_seconds(1_700_000_000),
                rng,
            }
        }

        fn scanner(&mut self, hub: HubRegion, role: ScannerRole) -> ScannerId {
            let carrier = self.carriage.carrier_id.clone();
            self.scanner_of(carrier, hub, role)
        }

        fn scanner_of(
            &mut self,
            carrier_id: CarrierId,
            hub: HubRegion,
            role: ScannerRole,
        ) -> ScannerId {
            let keys = DeviceKeys::generate(&mut self.rng);
            let id = ScannerId::generate(&mut self.rng);
            let scanner = ChainScanner {
                hub_id: HubId::generate(&mut self.rng),
                hub,
                role,
                sign_key: keys.public().sign_key,
                carrier_id,
            };
            self.devices.insert(id.clone(), (keys, scanner));
            id
        }

        fn link(&mut self, scanner: &ScannerId, path: &str, body: &str) -> SignedScan {
            let (keys, _) = &self.devices[scanner];
            let tid = TokenId::generate(&mut self.rng);
            let nonce = RequestNonce::generate(&mut self.rng);
            keys.signed_scan(
                scanner.clone(),
                &ScanRequest {
                    method: "POST",
                    path,
                    body: body.as_bytes(),
                    token_id: &tid,
                },
                self.now,
                &nonce,
            )
            .unwrap()
        }

        fn pickup_body(&self, buyer: &BuyerId) -> String {
            format!(
                r#"{{"platform_id":"demo","order_id":"{}","buyer_id":"{buyer}","waybill":"SF1"}}"#,
                self.order
            )
        }

        fn hop_body(&self) -> String {
            format!(r#"{{"platform_id":"demo","order_id":"{}"}}"#, self.order)
        }

        /// The Alibaba route: 330108 pickup → 330108 → 3301 → 1101 → 110105.
        fn honest_chain(&mut self) -> Vec<SignedScan> {
            let pickup = self.scanner(hub(HubLevel::District, "330108"), ScannerRole::Pickup);
            let body = self.pickup_body(&self.buyer.clone());
            let mut chain = vec![self.link(&pickup, SCAN_PICKUP, &body)];
            for (level, code) in [
                (HubLevel::District, "330108"),
                (HubLevel::City, "3301"),
                (HubLevel::City, "1101"),
                (HubLevel::District, "110105"),
            ] {
                let scanner = self.scanner(hub(level, code), ScannerRole::Hub);
                let body = self.hop_body();
                chain.push(self.link(&scanner, SCAN_HOP, &body));
            }
            chain
        }

        fn verify(&self, chain: &[SignedScan]) -> Result<FinalScan, ChainError> {
            let order = CustodyOrder {
                platform_id: &self.platform,
                order_id: &self.order,
                buyer_id: &self.buyer,
                delivery: &self.delivery,
                carriage: &self.carriage,
            };
            verify_chain(
                &order,
                chain,
                |id| self.devices.get(id).map(|(_, s)| s.clone()),
                self.now,
                60,
            )
        }
    }

    #[test]
    fn the_alibaba_route_holds_and_names_the_final_hub() {
        let mut w = World::new();
        let chain = w.honest_chain();
        let last = chain.last().unwrap();
        let verified = w.verify(&chain).unwrap();
        assert_eq!(verified.scanner_id, last.scanner_id);
        assert_eq!(verified.hub_id, w.devices[&last.scanner_id].1.hub_id);
        assert_eq!(verified.token_id, last.tid);
    }

    #[test]
    fn a_link_by_another_carriers_scanner_breaks_the_chain() {
        let mut w = World::new();
        let mut chain = w.honest_chain();
        let foreign = CarrierId::generate(&mut w.rng);
        let scanner = w.scanner_of(foreign, hub(HubLevel::City, "3301"), ScannerRole::Hub);
        let body = w.hop_body();
        chain[2] = w.link(&scanner, SCAN_HOP, &body);
        assert_eq!(
            w.verify(&chain),
            Err(ChainError::Carrier {
                link: 2,
                refusal: ScanRefusal::ForeignCarrier
            })
        );
        assert_eq!(
            ChainError::Carrier {
                link: 2,
                refusal: ScanRefusal::ForeignCarrier
            }
            .code(),
            ErrorCode::Forbidden
        );
    }

    #[test]
    fn a_pickup_away_from_the_sellers_ship_from_region_breaks_the_chain() {
        let mut w = World::new();
        let mut chain = w.honest_chain();
        // Ningbo's city hub does not serve Hangzhou's Binjiang district.
        let pickup = w.scanner(hub(HubLevel::City, "3302"), ScannerRole::Pickup);
        let body = w.pickup_body(&w.buyer.clone());
        chain[0] = w.link(&pickup, SCAN_PICKUP, &body);
        assert_eq!(
            w.verify(&chain),
            Err(ChainError::Carrier {
                link: 0,
                refusal: ScanRefusal::NotServingShipFrom
            })
        );
    }

    #[test]
    fn a_chain_that_stops_before_the_buyers_district_does_not_hold() {
        let mut w = World::new();
        let chain = w.honest_chain();
        assert_eq!(w.verify(&chain[..4]), Err(ChainError::NotAtFinalHub));
        assert_eq!(w.verify(&chain[..1]), Err(ChainError::NotAtFinalHub));
        assert_eq!(w.verify(&[]), Err(ChainError::Empty));
    }

    #[test]
    fn skipping_to_the_final_hub_is_off_route() {
        let mut w = World::new();
        let chain = w.honest_chain();
        let skipped = vec![chain[0].clone(), chain[4].clone()];
        assert_eq!(w.verify(&skipped), Err(ChainError::OffRoute { link: 1 }));
    }

    #[test]
    fn a_pickup_with_another_buyer_id_does_not_hold() {
        let mut w = World::new();
        let mut chain = w.honest_chain();
        let pickup = chain[0].scanner_id.clone();
        let stranger = BuyerId::generate(&mut w.rng);
        let body = w.pickup_body(&stranger);
        chain[0] = w.link(&pickup, SCAN_PICKUP, &body);
        assert_eq!(w.verify(&chain), Err(ChainError::BuyerMismatch));
    }

    #[test]
    fn a_stale_final_scan_or_a_changed_body_does_not_hold() {
        let mut w = World::new();
        let chain = w.honest_chain();
        w.now = w.now.plus_seconds(61);
        assert_eq!(w.verify(&chain), Err(ChainError::Stale));
        w.now = w.now.plus_seconds(-61);
        let mut changed = chain.clone();
        changed[2].body = changed[2].body.replace("demo", "dem0");
        assert_eq!(
            w.verify(&changed),
            Err(ChainError::BadSignature { link: 2 })
        );
    }

    #[test]
    fn a_revoked_or_unknown_device_breaks_the_chain() {
        let mut w = World::new();
        let chain = w.honest_chain();
        w.devices.remove(&chain[3].scanner_id);
        assert_eq!(
            w.verify(&chain),
            Err(ChainError::UnknownScanner { link: 3 })
        );
    }

    #[test]
    fn roles_paths_and_repeated_links_are_checked() {
        let mut w = World::new();
        let chain = w.honest_chain();
        // A hub scanner cannot pick up.
        let hub_scanner = chain[1].scanner_id.clone();
        let body = w.pickup_body(&w.buyer.clone());
        let mut wrong = chain.clone();
        wrong[0] = w.link(&hub_scanner, SCAN_PICKUP, &body);
        assert_eq!(w.verify(&wrong), Err(ChainError::WrongRole { link: 0 }));
        // A pickup body where a hop belongs.
        let mut wrong = chain.clone();
        wrong[1].path = SCAN_PICKUP.to_owned();
        assert!(w.verify(&wrong).is_err());
        // The same link twice.
        let mut twice = chain.clone();
        twice.insert(2, chain[1].clone());
        assert_eq!(w.verify(&twice), Err(ChainError::ReplayedLink { link: 2 }));
        // A link after the final hop.
        let mut after = chain.clone();
        let final_scanner = chain[4].scanner_id.clone();
        let body = w.hop_body();
        after.push(w.link(&final_scanner, SCAN_HOP, &body));
        assert_eq!(w.verify(&after), Err(ChainError::AfterDelivery { link: 5 }));
        let long: Vec<SignedScan> = std::iter::repeat_n(chain[1].clone(), 9).collect();
        assert_eq!(w.verify(&long), Err(ChainError::TooLong));
    }

    #[test]
    fn every_refusal_has_a_reason_word_and_a_code() {
        for error in [
            ChainError::Empty,
            ChainError::Stale,
            ChainError::OffRoute { link: 1 },
            ChainError::ForeignLink { link: 1 },
        ] {
            assert!(!error.reason().is_empty());
            assert!(matches!(error.code().status(), 401 | 403));
        }
    }
}

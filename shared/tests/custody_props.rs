//! Property tests of the chain of custody over the real GB/T 2260 directory. The honest chain
//! is made by the edge's logic (the tag-based [`Progress`]), so these also show that the
//! origin's plaintext recomputation agrees with the edge on every route; then any single
//! changed, dropped, reordered, replayed or foreign link must break it.

#![allow(clippy::unwrap_used)] // test code: a panic is a failure report

use std::collections::HashMap;
use std::sync::OnceLock;

use lasthop_core::api::paths::{SCAN_HOP, SCAN_PICKUP};
use lasthop_core::credential::ScannerRole;
use lasthop_core::custody::{verify_chain, ChainScanner, CustodyOrder};
use lasthop_core::device::{DeviceKeys, ScanRequest, SignedScan, TokenId};
use lasthop_core::ids::{BuyerId, HubId, OrderId, PlatformId, ScannerId, SellerId};
use lasthop_core::keys::{MasterKeyRing, OriginKeys};
use lasthop_core::progress::{Progress, Verdict};
use lasthop_core::region::{DeliveryRegion, Directory, HubLevel, HubRegion};
use lasthop_core::signing::RequestNonce;
use lasthop_core::time::Timestamp;
use lasthop_core::tokens::tokenise_order;
use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::SeedableRng;

const NOW: i64 = 1_700_000_000;

fn keys() -> &'static OriginKeys {
    static KEYS: OnceLock<OriginKeys> = OnceLock::new();
    KEYS.get_or_init(|| OriginKeys::derive(&MasterKeyRing::generate(&mut StdRng::seed_from_u64(8))))
}

fn regions() -> &'static [DeliveryRegion] {
    static REGIONS: OnceLock<Vec<DeliveryRegion>> = OnceLock::new();
    REGIONS.get_or_init(|| Directory::china().delivery_regions())
}

/// A delivery region, cities without districts drawn often enough to matter.
fn region() -> impl Strategy<Value = DeliveryRegion> {
    let all = regions();
    let cities: Vec<DeliveryRegion> = all
        .iter()
        .copied()
        .filter(|r| r.district().is_none())
        .collect();
    prop_oneof![
        4 => (0..all.len()).prop_map(move |i| all[i]),
        1 => (0..cities.len()).prop_map(move |i| cities[i]),
    ]
}

/// One world per case: the order, its devices (one per hub on the route) and its chain.
struct Case {
    platform: PlatformId,
    order: OrderId,
    buyer: BuyerId,
    delivery: DeliveryRegion,
    devices: HashMap<ScannerId, (DeviceKeys, ChainScanner)>,
    /// The same hubs' devices, by hub region, to sign another order's scans with.
    by_hub: Vec<ScannerId>,
    chain: Vec<SignedScan>,
    rng: StdRng,
}

impl Case {
    fn new(
        seller: DeliveryRegion,
        buyer_region: DeliveryRegion,
        pickup_at_city: bool,
        seed: u64,
    ) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let platform = PlatformId::parse("demo").unwrap();
        let order = OrderId::generate(&mut rng);
        let buyer = BuyerId::generate(&mut rng);
        let record = tokenise_order(
            &keys().region,
            &keys().binding,
            &platform,
            &order,
            &SellerId::generate(&mut rng),
            &buyer,
            &buyer_region,
        )
        .unwrap();
        let pickup_hub = if pickup_at_city {
            Directory::china()
                .hub_region(HubLevel::City, seller.city())
                .unwrap()
        } else {
            seller.final_hub()
        };
        let mut case = Self {
            platform,
            order,
            buyer,
            delivery: buyer_region,
            devices: HashMap::new(),
            by_hub: Vec::new(),
            chain: Vec::new(),
            rng,
        };
        // The edge's logic drives the route: each hop goes where its verdict says.
        let mut progress = Progress::new();
        progress
            .pickup(
                &keys().region,
                &keys().binding,
                &record,
                &case.buyer,
                &pickup_hub,
            )
            .unwrap();
        let pickup = case.enrol(pickup_hub, ScannerRole::Pickup);
        let body = case.pickup_body(&case.order.clone(), &case.buyer.clone());
        let link = case.sign(&pickup, SCAN_PICKUP, &body);
        case.chain.push(link);
        let mut at = pickup_hub;
        for _ in 0..4 {
            let scanner = case.enrol(at, ScannerRole::Hub);
            let hub_id = case.devices[&scanner].1.hub_id.clone();
            let decision = progress
                .apply_hop(&keys().region, &record, &hub_id, &at)
                .unwrap();
            let body = case.hop_body(&case.order.clone());
            let link = case.sign(&scanner, SCAN_HOP, &body);
            case.chain.push(link);
            at = match decision.verdict {
                Verdict::Deliver => return case,
                Verdict::RouteTo(next) => next,
                Verdict::ForwardUp => Directory::china()
                    .hub_region(HubLevel::City, at.code().truncated_parent().unwrap())
                    .unwrap(),
            };
        }
        panic!("no delivery within four hops");
    }

    fn enrol(&mut self, hub: HubRegion, role: ScannerRole) -> ScannerId {
        let keys = DeviceKeys::generate(&mut self.rng);
        let id = ScannerId::generate(&mut self.rng);
        let scanner = ChainScanner {
            hub_id: HubId::generate(&mut self.rng),
            hub,
            role,
            sign_key: keys.public().sign_key,
            carrier_id: lasthop_core::ids::CarrierId::platform_default(),
        };
        self.devices.insert(id.clone(), (keys, scanner));
        self.by_hub.push(id.clone());
        id
    }

    fn sign(&mut self, scanner: &ScannerId, path: &str, body: &str) -> SignedScan {
        let tid = TokenId::generate(&mut self.rng);
        let nonce = RequestNonce::generate(&mut self.rng);
        self.devices[scanner]
            .0
            .signed_scan(
                scanner.clone(),
                &ScanRequest {
                    method: "POST",
                    path,
                    body: body.as_bytes(),
                    token_id: &tid,
                },
                Timestamp::from_unix_seconds(NOW),
                &nonce,
            )
            .unwrap()
    }

    fn pickup_body(&self, order: &OrderId, buyer: &BuyerId) -> String {
        format!(
            r#"{{"platform_id":"demo","order_id":"{order}","buyer_id":"{buyer}","waybill":"SF1"}}"#
        )
    }

    fn hop_body(&self, order: &OrderId) -> String {
        format!(r#"{{"platform_id":"demo","order_id":"{order}"}}"#)
    }

    /// The link at `index` as the same device would have signed it for another order.
    fn foreign(&mut self, index: usize) -> SignedScan {
        let other = OrderId::generate(&mut self.rng);
        let scanner = self.chain[index].scanner_id.clone();
        let (path, body) = if index == 0 {
            (SCAN_PICKUP, self.pickup_body(&other, &self.buyer.clone()))
        } else {
            (SCAN_HOP, self.hop_body(&other))
        };
        self.sign(&scanner, path, &body)
    }

    fn verify(&self, chain: &[SignedScan]) -> bool {
        let order = CustodyOrder {
            platform_id: &self.platform,
            order_id: &self.order,
            buyer_id: &self.buyer,
            delivery: &self.delivery,
            carriage: &lasthop_core::carrier::Carriage::default(),
        };
        verify_chain(
            &order,
            chain,
            |id| self.devices.get(id).map(|(_, s)| s.clone()),
            Timestamp::from_unix_seconds(NOW + 5),
            60,
        )
        .is_ok()
    }
}

/// One change an attacker might make to an honest chain.
#[derive(Debug, Clone)]
enum Tamper {
    ChangeBody(usize),
    ChangeTimestamp(usize),
    ChangeTokenId(usize),
    Drop(usize),
    Swap(usize, usize),
    Replay(usize, usize),
    Foreign(usize),
    OtherDevice(usize),
}

fn tamper() -> impl Strategy<Value = Tamper> {
    prop_oneof![
        any::<usize>().prop_map(Tamper::ChangeBody),
        any::<usize>().prop_map(Tamper::ChangeTimestamp),
        any::<usize>().prop_map(Tamper::ChangeTokenId),
        any::<usize>().prop_map(Tamper::Drop),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Tamper::Swap(a, b)),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Tamper::Replay(a, b)),
        any::<usize>().prop_map(Tamper::Foreign),
        any::<usize>().prop_map(Tamper::OtherDevice),
    ]
}

fn apply(case: &mut Case, tamper: &Tamper) -> Vec<SignedScan> {
    let len = case.chain.len();
    let mut chain = case.chain.clone();
    match *tamper {
        Tamper::ChangeBody(i) => {
            let link = &mut chain[i % len];
            link.body = link.body.replacen('}', r#","extra":1}"#, 1);
        }
        Tamper::ChangeTimestamp(i) => chain[i % len].timestamp += 1,
        Tamper::ChangeTokenId(i) => chain[i % len].tid = TokenId::generate(&mut case.rng),
        Tamper::Drop(i) => {
            chain.remove(i % len);
        }
        Tamper::Swap(a, b) => {
            let (a, b) = (a % len, b % len);
            let b = if a == b { (b + 1) % len } else { b };
            chain.swap(a, b);
        }
        Tamper::Replay(from, to) => {
            let link = chain[from % len].clone();
            chain.insert(to % (len + 1), link);
        }
        Tamper::Foreign(i) => chain[i % len] = case.foreign(i % len),
        Tamper::OtherDevice(i) => {
            // The link claims another scanner of the chain (whose device did not sign it).
            let i = i % len;
            chain[i].scanner_id = case.by_hub[(i + 1) % case.by_hub.len()].clone();
        }
    }
    chain
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn honest_chains_hold(seller in region(), buyer in region(), at_city: bool, seed: u64) {
        let case = Case::new(seller, buyer, at_city, seed);
        prop_assert!(case.chain.len() >= 2 && case.chain.len() <= 5);
        prop_assert!(case.verify(&case.chain));
    }

    #[test]
    fn any_single_changed_dropped_reordered_replayed_or_foreign_link_breaks_the_chain(
        seller in region(), buyer in region(), at_city: bool, seed: u64, tamper in tamper(),
    ) {
        let mut case = Case::new(seller, buyer, at_city, seed);
        let tampered = apply(&mut case, &tamper);
        prop_assert!(!case.verify(&tampered), "{tamper:?} over {} links held", case.chain.len());
    }
}

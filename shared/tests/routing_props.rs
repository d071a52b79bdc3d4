//! Property tests of the hop decision over the real GB/T 2260 directory: delivery within four
//! hops with verdicts that name no more than the next hop, refusal of every hub the parcel
//! was not sent to, and tags that never carry over from one order to another.

#![allow(clippy::unwrap_used)] // test code: a panic is a failure report

use std::sync::OnceLock;

use lasthop_core::ids::{BuyerId, HubId, OrderId, PlatformId, SellerId};
use lasthop_core::keys::{MasterKeyRing, OriginKeys};
use lasthop_core::progress::{Progress, ProgressError, Verdict};
use lasthop_core::region::{DeliveryRegion, Directory, HubLevel, HubRegion};
use lasthop_core::tokens::{region_tag, tokenise_order, TagLevel, TokenisedOrder};
use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::SeedableRng;

fn keys() -> &'static OriginKeys {
    static KEYS: OnceLock<OriginKeys> = OnceLock::new();
    KEYS.get_or_init(|| {
        OriginKeys::derive(&MasterKeyRing::generate(&mut StdRng::seed_from_u64(2260)))
    })
}

fn regions() -> &'static [DeliveryRegion] {
    static REGIONS: OnceLock<Vec<DeliveryRegion>> = OnceLock::new();
    REGIONS.get_or_init(|| Directory::china().delivery_regions())
}

/// Every hub region that can exist: all districts and all cities.
fn hub_regions() -> &'static [HubRegion] {
    static HUBS: OnceLock<Vec<HubRegion>> = OnceLock::new();
    HUBS.get_or_init(|| {
        let dir = Directory::china();
        let mut hubs = Vec::new();
        for &province in dir.provinces() {
            for &city in dir.children(province) {
                hubs.push(dir.hub_region(HubLevel::City, city).unwrap());
                for &district in dir.children(city) {
                    hubs.push(dir.hub_region(HubLevel::District, district).unwrap());
                }
            }
        }
        hubs
    })
}

/// A delivery region, with cities without districts (Dongguan, Zhongshan, Danzhou) drawn often
/// enough to matter.
fn region() -> impl Strategy<Value = DeliveryRegion> {
    let all = regions();
    let cities: Vec<DeliveryRegion> = all
        .iter()
        .copied()
        .filter(|r| r.district().is_none())
        .collect();
    assert_eq!(cities.len(), 3);
    prop_oneof![
        4 => (0..all.len()).prop_map(move |i| all[i]),
        1 => (0..cities.len()).prop_map(move |i| cities[i]),
    ]
}

fn city_hub(code: lasthop_core::region::RegionCode) -> HubRegion {
    Directory::china().hub_region(HubLevel::City, code).unwrap()
}

/// The pickup hub: the seller's own final hub (district, or city without districts) or the
/// seller's city hub.
fn pickup_hub(seller: &DeliveryRegion, at_city: bool) -> HubRegion {
    if at_city {
        city_hub(seller.city())
    } else {
        seller.final_hub()
    }
}

struct Order {
    record: TokenisedOrder,
    buyer: BuyerId,
    rng: StdRng,
}

fn order(seed: u64, buyer_region: &DeliveryRegion) -> Order {
    let mut rng = StdRng::seed_from_u64(seed);
    let buyer = BuyerId::generate(&mut rng);
    let record = tokenise_order(
        &keys().region,
        &keys().binding,
        &PlatformId::parse("demo").unwrap(),
        &OrderId::generate(&mut rng),
        &SellerId::generate(&mut rng),
        &buyer,
        buyer_region,
    )
    .unwrap();
    Order { record, buyer, rng }
}

/// Where a verdict sends the parcel next.
fn next_hub(current: &HubRegion, verdict: Verdict) -> Option<HubRegion> {
    match verdict {
        Verdict::ForwardUp => Some(city_hub(current.code().truncated_parent().unwrap())),
        Verdict::RouteTo(hub) => Some(hub),
        Verdict::Deliver => None,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn verdicts_from_pickup_reach_deliver_at_the_buyers_hub_within_four_hops(
        seller in region(),
        buyer_region in region(),
        pickup_at_city in any::<bool>(),
        seed in any::<u64>(),
    ) {
        let mut o = order(seed, &buyer_region);
        let mut progress = Progress::new();
        let mut hub = pickup_hub(&seller, pickup_at_city);
        progress.pickup(&keys().region, &keys().binding, &o.record, &o.buyer, &hub).unwrap();
        let mut hops = 0;
        loop {
            hops += 1;
            prop_assert!(hops <= 4, "more than four hops");
            let id = HubId::generate(&mut o.rng);
            let decision = progress.apply_hop(&keys().region, &o.record, &id, &hub).unwrap();
            // No verdict names anything finer than the next hop.
            match decision.verdict {
                Verdict::ForwardUp => {
                    prop_assert_eq!(hub.level(), HubLevel::District);
                    prop_assert!(hub != buyer_region.final_hub());
                }
                Verdict::RouteTo(next) if hub.code() == buyer_region.city() => {
                    // The buyer's city hub names the buyer's district: the next and last hop.
                    prop_assert_eq!(next, buyer_region.final_hub());
                    prop_assert_eq!(next.level(), HubLevel::District);
                }
                Verdict::RouteTo(next) => {
                    // Any other city hub names only the buyer's city.
                    prop_assert_eq!(hub.level(), HubLevel::City);
                    prop_assert_eq!(next, city_hub(buyer_region.city()));
                }
                Verdict::Deliver => {
                    prop_assert_eq!(hub, buyer_region.final_hub());
                    break;
                }
            }
            hub = next_hub(&hub, decision.verdict).unwrap();
        }
        prop_assert_eq!(progress.hops(), hops);
    }

    #[test]
    fn a_hub_that_was_not_sent_the_parcel_is_always_refused(
        seller in region(),
        buyer_region in region(),
        pickup_at_city in any::<bool>(),
        strangers in proptest::collection::vec(0..hub_regions().len(), 5),
        seed in any::<u64>(),
    ) {
        let mut o = order(seed, &buyer_region);
        let mut progress = Progress::new();
        let mut expected = pickup_hub(&seller, pickup_at_city);
        let stranger_id = HubId::generate(&mut o.rng);
        // Before pickup nobody may scan.
        prop_assert_eq!(
            progress.hop(&keys().region, &o.record, &stranger_id, &expected),
            Err(ProgressError::NotPickedUp)
        );
        progress.pickup(&keys().region, &keys().binding, &o.record, &o.buyer, &expected).unwrap();
        for stranger in strangers {
            let stranger = hub_regions()[stranger];
            if stranger != expected {
                prop_assert_eq!(
                    progress.hop(&keys().region, &o.record, &stranger_id, &stranger),
                    Err(ProgressError::OffRoute)
                );
            }
            let id = HubId::generate(&mut o.rng);
            let decision = progress.apply_hop(&keys().region, &o.record, &id, &expected).unwrap();
            let next = next_hub(&expected, decision.verdict);
            // The hub that just scanned is refused from any region but the next one (its
            // region comes from its credential, so this is another hub under the same id).
            if Some(stranger) != next && stranger != expected {
                prop_assert_eq!(
                    progress.hop(&keys().region, &o.record, &id, &stranger),
                    Err(ProgressError::OffRoute)
                );
            }
            match next {
                Some(next) => expected = next,
                None => break,
            }
        }
    }

    #[test]
    fn tokens_of_one_order_never_match_another_orders_tokens_for_the_same_region(
        buyer_region in region(),
        seed_a in any::<u64>(),
        seed_b in any::<u64>(),
    ) {
        prop_assume!(seed_a != seed_b);
        let a = order(seed_a, &buyer_region).record;
        let b = order(seed_b, &buyer_region).record;
        prop_assume!(a.order_id != b.order_id);
        let tags_a = [a.province, a.city, a.delivery, a.binding];
        for tag in [b.province, b.city, b.delivery, b.binding] {
            prop_assert!(!tags_a.contains(&tag));
        }
        // Recomputing order b's tags for the region never yields order a's.
        let tag = |level, code| {
            region_tag(&keys().region, b.key_version, &b.platform_id, &b.order_id, level, code).unwrap()
        };
        prop_assert_eq!(tag(TagLevel::Delivery, buyer_region.code()), b.delivery);
        prop_assert!(tag(TagLevel::Delivery, buyer_region.code()) != a.delivery);
        prop_assert!(tag(TagLevel::City, buyer_region.city()) != a.city);
        prop_assert!(tag(TagLevel::Province, buyer_region.province()) != a.province);
    }
}

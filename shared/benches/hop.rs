//! The native time of one full hop decision in the worst case: a city hub in another
//! province than the buyer's, which searches every province tag before the buyer's, then the
//! cities of the buyer's province. The HMAC count of the case is printed.

#![allow(clippy::unwrap_used)] // test code: a panic is a failure report

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use lasthop_core::ids::{BuyerId, HubId, OrderId, PlatformId, SellerId};
use lasthop_core::keys::{MasterKeyRing, OriginKeys};
use lasthop_core::progress::{Progress, Verdict};
use lasthop_core::region::{Directory, HubLevel, HubRegion, RegionCode};
use lasthop_core::tokens::{tokenise_order, TokenisedOrder};
use rand::rngs::StdRng;
use rand::SeedableRng;

struct Case {
    keys: OriginKeys,
    record: TokenisedOrder,
    progress: Progress,
    hub_id: HubId,
    hub: HubRegion,
    hmacs: u32,
}

/// Builds the order whose decision at `hub` costs the most HMACs: over all delivery regions
/// outside the hub's province, the one found last in the province-then-city search.
fn worst_case() -> Case {
    let mut rng = StdRng::seed_from_u64(1);
    let keys = OriginKeys::derive(&MasterKeyRing::generate(&mut rng));
    let dir = Directory::china();
    let hub = dir
        .hub_region(HubLevel::City, RegionCode::parse("1101").unwrap())
        .unwrap();
    let platform = PlatformId::parse("demo").unwrap();
    let mut worst: Option<Case> = None;
    for region in dir.delivery_regions() {
        if region.province() == hub.code().truncated_parent().unwrap() {
            continue;
        }
        let buyer = BuyerId::generate(&mut rng);
        let record = tokenise_order(
            &keys.region,
            &keys.binding,
            &platform,
            &OrderId::generate(&mut rng),
            &SellerId::generate(&mut rng),
            &buyer,
            &region,
        )
        .unwrap();
        let mut progress = Progress::new();
        progress
            .pickup(&keys.region, &keys.binding, &record, &buyer, &hub)
            .unwrap();
        let hub_id = HubId::generate(&mut rng);
        let decision = progress.hop(&keys.region, &record, &hub_id, &hub).unwrap();
        assert!(matches!(decision.verdict, Verdict::RouteTo(_)));
        if worst.as_ref().is_none_or(|w| decision.hmac_count > w.hmacs) {
            worst = Some(Case {
                keys: keys.clone(),
                record,
                progress,
                hub_id,
                hub,
                hmacs: decision.hmac_count,
            });
        }
    }
    worst.unwrap()
}

fn hop_decision(c: &mut Criterion) {
    let case = worst_case();
    println!(
        "worst-case hop decision: {} HMAC-SHA256 computations",
        case.hmacs
    );
    c.bench_function("hop_decision_worst_case", |b| {
        b.iter(|| {
            let decision = case
                .progress
                .hop(
                    &case.keys.region,
                    black_box(&case.record),
                    &case.hub_id,
                    black_box(&case.hub),
                )
                .unwrap();
            black_box(decision)
        })
    });
}

criterion_group!(benches, hop_decision);
criterion_main!(benches);

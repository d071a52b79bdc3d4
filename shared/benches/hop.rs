//! The native time of one full hop decision in the worst case: a city hub in another
//! province than the buyer's, which searches every province tag before the buyer's, then the
//! cities of the buyer's province ([`lasthop_core::bench::costliest_hop`], the same case the
//! Worker's bench build times inside wasm). The HMAC count of the case is printed.

#![allow(clippy::unwrap_used)] // test code: a panic is a failure report

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use lasthop_core::bench::costliest_hop;
use lasthop_core::keys::{MasterKeyRing, OriginKeys};
use rand::rngs::StdRng;
use rand::SeedableRng;

fn hop_decision(c: &mut Criterion) {
    let mut rng = StdRng::seed_from_u64(1);
    let keys = OriginKeys::derive(&MasterKeyRing::generate(&mut rng));
    let case = costliest_hop(&keys.region, &keys.binding, &mut rng).unwrap();
    println!(
        "worst-case hop decision: {} HMAC-SHA256 computations",
        case.hmacs
    );
    c.bench_function("hop_decision_worst_case", |b| {
        b.iter(|| {
            let decision = case
                .progress
                .hop(
                    &keys.region,
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

//! The native time of what the device scheme adds: signing one courier request on a device,
//! verifying it (edge and origin each do once per request), and the origin's check of a whole
//! chain of custody on the longest route (pickup + four hops, the Alibaba route 330108 →
//! 330108 → 3301 → 1101 → 110105: five Ed25519 verifications and the plaintext routing).

#![allow(clippy::unwrap_used)] // bench code: a panic is a failure report

use std::collections::HashMap;

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use lasthop_core::api::paths::{SCAN_HOP, SCAN_PICKUP};
use lasthop_core::credential::ScannerRole;
use lasthop_core::custody::{verify_chain, ChainScanner, CustodyOrder};
use lasthop_core::device::{verify_scan, DeviceKeys, ScanRequest, TokenId, SCAN_WINDOW_SECS};
use lasthop_core::ids::{BuyerId, HubId, OrderId, PlatformId, ScannerId};
use lasthop_core::region::{Directory, HubLevel, RegionCode};
use lasthop_core::signing::RequestNonce;
use lasthop_core::time::Timestamp;
use rand::rngs::StdRng;
use rand::SeedableRng;

fn custody(c: &mut Criterion) {
    let mut rng = StdRng::seed_from_u64(8);
    let now = Timestamp::from_unix_seconds(1_700_000_000);
    let platform = PlatformId::parse("demo").unwrap();
    let order = OrderId::generate(&mut rng);
    let buyer = BuyerId::generate(&mut rng);
    let delivery = Directory::china()
        .delivery_region(RegionCode::parse("110105").unwrap())
        .unwrap();
    let tid = TokenId::generate(&mut rng);
    let hop_body = format!(r#"{{"platform_id":"demo","order_id":"{order}"}}"#);
    let pickup_body = format!(
        r#"{{"platform_id":"demo","order_id":"{order}","buyer_id":"{buyer}","waybill":"SF1"}}"#
    );
    let mut scanners = HashMap::new();
    let mut chain = Vec::new();
    let route = [
        (
            HubLevel::District,
            "330108",
            ScannerRole::Pickup,
            SCAN_PICKUP,
            &pickup_body,
        ),
        (
            HubLevel::District,
            "330108",
            ScannerRole::Hub,
            SCAN_HOP,
            &hop_body,
        ),
        (
            HubLevel::City,
            "3301",
            ScannerRole::Hub,
            SCAN_HOP,
            &hop_body,
        ),
        (
            HubLevel::City,
            "1101",
            ScannerRole::Hub,
            SCAN_HOP,
            &hop_body,
        ),
        (
            HubLevel::District,
            "110105",
            ScannerRole::Hub,
            SCAN_HOP,
            &hop_body,
        ),
    ];
    for (level, code, role, path, body) in route {
        let keys = DeviceKeys::generate(&mut rng);
        let id = ScannerId::generate(&mut rng);
        let request = ScanRequest {
            method: "POST",
            path,
            body: body.as_bytes(),
            token_id: &tid,
        };
        chain.push(
            keys.signed_scan(id.clone(), &request, now, &RequestNonce::generate(&mut rng))
                .unwrap(),
        );
        scanners.insert(
            id,
            ChainScanner {
                hub_id: HubId::generate(&mut rng),
                hub: Directory::china()
                    .hub_region(level, RegionCode::parse(code).unwrap())
                    .unwrap(),
                role,
                sign_key: keys.public().sign_key,
                carrier_id: lasthop_core::ids::CarrierId::platform_default(),
            },
        );
    }
    let custody_order = CustodyOrder {
        platform_id: &platform,
        order_id: &order,
        buyer_id: &buyer,
        delivery: &delivery,
        carriage: &lasthop_core::carrier::Carriage::default(),
    };
    c.bench_function("chain_of_custody_verify_5_links", |b| {
        b.iter(|| {
            verify_chain(
                black_box(&custody_order),
                black_box(&chain),
                |id| scanners.get(id).cloned(),
                now,
                SCAN_WINDOW_SECS,
            )
            .unwrap()
        })
    });
    let device = DeviceKeys::generate(&mut rng);
    let request = ScanRequest {
        method: "POST",
        path: SCAN_HOP,
        body: hop_body.as_bytes(),
        token_id: &tid,
    };
    let nonce = RequestNonce::generate(&mut rng);
    c.bench_function("device_sign_one_scan", |b| {
        b.iter(|| device.sign_scan(black_box(&request), now, &nonce))
    });
    let headers = device.sign_scan(&request, now, &nonce);
    let key = device.public().sign_key;
    c.bench_function("device_verify_one_scan", |b| {
        b.iter(|| verify_scan(&key, black_box(&request), &headers, now, SCAN_WINDOW_SECS).unwrap())
    });
}

criterion_group!(benches, custody);
criterion_main!(benches);

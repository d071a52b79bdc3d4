//! Revocation against an edge served over HTTPS, as every production edge is: `wrangler dev
//! --local-protocol https` with a self-signed certificate that the origin (for its pushes,
//! `LASTHOP_EDGE_CA_FILE`) and the test's clients trust explicitly. A revoked scanner is
//! refused at the edge within seconds, because the origin's push (reqwest + rustls) reaches it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::{assert_error, assert_verdict, state_dir, Person, World};
use lasthop_e2e::{EdgeTls, Stack, StackOptions};

#[test]
fn a_revoked_scanner_is_refused_at_an_https_edge_within_seconds() {
    let dir = state_dir("revocation-https");
    let mut options = StackOptions::new(&dir);
    options.edge_tls = Some(EdgeTls::self_signed(&dir.join("tls")).unwrap());
    let stack = Stack::spawn(options).unwrap();
    assert!(
        stack.edge.url().starts_with("https://"),
        "{}",
        stack.edge.url()
    );
    let w = World::new(&stack);

    let seller = w.register_seller("HTTPS Revocation");
    let buyer = w.register_buyer(&Person {
        name: "测试买家丙三".into(),
        phone: "13800138003".into(),
        region: "110105".into(),
        line: "朝阳路测试巷303号".into(),
        postal_code: "100020".into(),
    });
    let order = w.create_order(&buyer, &seller);
    let pickup = w.scanner("330108", "pickup");
    let hub = w.scanner("330108", "hub");
    assert_eq!(w.pickup(&pickup, &order, &buyer.id).status, 200);
    assert_verdict(&w.hop(&hub, &order), "forward_up", None);

    let revoked_at = Instant::now();
    w.revoke(&hub);
    let refused = loop {
        let reply = w.hop(&hub, &order);
        if reply.status != 200 {
            break reply;
        }
        assert!(
            revoked_at.elapsed() < Duration::from_secs(10),
            "the revocation did not reach the HTTPS edge in 10 s: {}",
            stack.origin.logs()
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_error(&refused, 401, "unauthorized");
    eprintln!(
        "figure: revocation reached the HTTPS edge after {} ms",
        revoked_at.elapsed().as_millis()
    );
    // Another scanner of the same route still works.
    let other = w.scanner("3301", "hub");
    assert_verdict(&w.hop(&other, &order), "route_to", Some(("city", "1101")));
}

//! Two platforms on one stack (issue 11): the origin serves `demo` and `other`. The same person
//! registers on both with the same address; a seller on each ships with the same carrier (a
//! carrier serves many platforms, so its scanners are not any one platform's). Buyers, sellers
//! and orders of one platform never act on the other's: an order across platforms, another
//! platform's address, tracking, the seller's list and detail are refused or empty, and a scan
//! that names the wrong platform for an order is refused.

use lasthop_core::api::paths;
use serde_json::json;

use crate::common::{self, assert_error, text, Buyer, Seller, World};

fn seller(w: &World, platform: &str, carrier_id: &str) -> Seller {
    let reply = w
        .edge
        .post("/v1/sellers")
        .json(
            &json!({"platform_id": platform, "name": format!("Shop on {platform}"),
                      "ship_from": "330108", "carriers": [carrier_id]}),
        )
        .send()
        .unwrap();
    Seller::registered(&reply)
}

fn buyer(w: &World, platform: &str) -> Buyer {
    let person = crate::person("two-platforms", "110105", "100020");
    let mut body = person.registration();
    body["platform_id"] = json!(platform);
    let reply = w.edge.post("/v1/buyers").json(&body).send().unwrap();
    Buyer::registered(&reply, &person)
}

fn order(w: &World, buyer: &Buyer, seller: &Seller, address_id: &str) -> lasthop_e2e::Reply {
    w.edge
        .post("/v1/orders")
        .bearer(&buyer.token)
        .json(&json!({"seller_id": seller.id, "address_id": address_id}))
        .send()
        .unwrap()
}

pub fn one_platforms_buyers_sellers_and_orders_never_act_on_the_others(w: &World) {
    let carrier_id = crate::carrier(w, "Two Platform Express");
    let (shop_a, shop_b) = (
        seller(w, "demo", &carrier_id),
        seller(w, "other", &carrier_id),
    );
    let (buyer_a, buyer_b) = (buyer(w, "demo"), buyer(w, "other"));
    // The same person and address on both platforms: two unrelated buyer and address ids.
    assert_ne!(buyer_a.id, buyer_b.id);
    assert_ne!(buyer_a.address_id, buyer_b.address_id);

    // Orders only within a platform, with the buyer's own address only.
    let order_a = common::order_created(&order(w, &buyer_a, &shop_a, &buyer_a.address_id));
    let order_b = common::order_created(&order(w, &buyer_b, &shop_b, &buyer_b.address_id));
    assert_error(
        &order(w, &buyer_b, &shop_a, &buyer_b.address_id),
        404,
        "not_found",
    );
    assert_error(
        &order(w, &buyer_a, &shop_b, &buyer_a.address_id),
        404,
        "not_found",
    );
    assert_error(
        &order(w, &buyer_b, &shop_b, &buyer_a.address_id),
        404,
        "not_found",
    );

    // Tracking: each platform's buyer and seller see their order, never the other's.
    for (token, own, foreign) in [
        (&buyer_a.token, &order_a, &order_b),
        (&shop_a.token, &order_a, &order_b),
        (&buyer_b.token, &order_b, &order_a),
        (&shop_b.token, &order_b, &order_a),
    ] {
        assert_eq!(w.tracking(token, own).status, 200);
        let refused = w.tracking(token, foreign);
        assert!(
            matches!(refused.status, 403 | 404),
            "tracking another platform's order: {} {}",
            refused.status,
            refused.body
        );
    }
    // The sellers' lists and labels.
    for (shop, own, foreign) in [(&shop_a, &order_a, &order_b), (&shop_b, &order_b, &order_a)] {
        let listed = w.seller_orders(shop);
        assert_eq!(listed.status, 200, "{}", listed.body);
        let ids: Vec<String> = listed.json().unwrap()["orders"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| text(o, "order_id"))
            .collect();
        assert_eq!(ids, std::slice::from_ref(own));
        let label = w.label(shop, foreign);
        assert!(
            matches!(label.status, 403 | 404),
            "{} {}",
            label.status,
            label.body
        );
    }

    // The carrier's pickup scanner at the seller's district picks up either platform's parcel,
    // but only when the scan names the order's own platform (an order is found under its
    // platform only: 404) and buyer (409).
    let pickup = crate::scanner_of(w, &carrier_id, "330108", "pickup");
    let scan = |platform: &str, order_id: &str, buyer_id: &str| {
        let body = json!({"platform_id": platform, "order_id": order_id, "buyer_id": buyer_id,
                          "waybill": "WB-PLATFORMS"});
        pickup
            .signed(&w.edge, paths::SCAN_PICKUP, &body)
            .send()
            .unwrap()
    };
    assert_error(&scan("other", &order_a, &buyer_a.id), 404, "not_found");
    assert_error(&scan("demo", &order_a, &buyer_b.id), 409, "label_mismatch");
    assert_eq!(scan("demo", &order_a, &buyer_a.id).status, 200);
    assert_error(&scan("demo", &order_b, &buyer_b.id), 404, "not_found");
    assert_eq!(scan("other", &order_b, &buyer_b.id).status, 200);
}

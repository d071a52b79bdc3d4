//! Carriers end to end (issue 11), through `wrangler dev` and a real origin, over real region
//! codes with two carriers: a seller in Hangzhou's Binjiang district (330108) ships with one
//! carrier to a buyer in Beijing's Chaoyang district (110105). The other carrier's scanners —
//! and the order's carrier's pickup scanner far from the seller — get 403 `forbidden` at every
//! step (pickup, hop, deliver), so none can pick the parcel up first and strand it; the real
//! pickup, hops and delivery still succeed. The label prints the carrier; tracking shows the
//! carrier and the waybill to the buyer and the seller, the seller's view the same wherever
//! the buyer lives. Fees: each carrier's table imported through the ops API (one as JSON, one
//! as CSV), the buyer's quote through the edge, orders placed through the edge with a weight
//! store the quoted fee of their zone and the table's version, and a later table reprices new
//! orders only.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod platforms;

use common::{
    assert_error, assert_verdict, enrol_scanner, run_scenarios, text, Person, Scanner, Seller,
    World,
};
use lasthop_core::device::DeviceKeys;
use rand::rngs::OsRng;
use serde_json::{json, Value};

/// Creates a carrier through the ops API; its id.
pub(crate) fn carrier(w: &World, name: &str) -> String {
    let reply = w
        .origin
        .post("/v1/ops/carriers")
        .bearer(w.ops_token())
        .json(&json!({"name": name}))
        .send()
        .unwrap();
    assert_eq!(reply.status, 201, "create carrier: {}", reply.body);
    text(&reply.json().unwrap(), "carrier_id")
}

/// A hub of `carrier_id` at `code` with one scanner of `role`, enrolled with a fresh device.
pub(crate) fn scanner_of(w: &World, carrier_id: &str, code: &str, role: &str) -> Scanner {
    let level = if code.len() == 4 { "city" } else { "district" };
    let reply = w
        .origin
        .post("/v1/ops/hubs")
        .bearer(w.ops_token())
        .json(
            &json!({"code": code, "level": level, "name": format!("Hub {code}"),
                      "carrier_id": carrier_id}),
        )
        .send()
        .unwrap();
    assert_eq!(reply.status, 201, "create hub: {}", reply.body);
    let hub_id = text(&reply.json().unwrap(), "hub_id");
    let device = Some(DeviceKeys::generate(&mut OsRng));
    enrol_scanner(&w.origin, w.ops_token(), &hub_id, code, role, device)
}

/// A seller shipping from Binjiang (330108) with `carriers`, registered through the edge.
fn binjiang_seller(w: &World, name: &str, carriers: &[&str]) -> Seller {
    let reply = w
        .edge
        .post("/v1/sellers")
        .json(&json!({"platform_id": "demo", "name": name,
                      "ship_from": "330108", "carriers": carriers}))
        .send()
        .unwrap();
    Seller::registered(&reply)
}

pub(crate) fn person(tag: &str, region: &str, postal_code: &str) -> Person {
    Person {
        name: format!("Carrier buyer {tag}"),
        phone: "+86 139 8765 4321".to_owned(),
        region: region.to_owned(),
        line: format!("{tag} Carrier Road 8"),
        postal_code: postal_code.to_owned(),
    }
}

#[test]
fn only_the_orders_carrier_scans_it_and_everyone_sees_which_carrier_has_it() {
    // Two platforms served (see `platforms`).
    let mut options = lasthop_e2e::StackOptions::new(common::state_dir("carriers"));
    options.origin_env = vec![("LASTHOP_PLATFORMS".into(), "demo,other".into())];
    let stack = lasthop_e2e::Stack::spawn(options).expect("origin and edge start");
    let w = World::new(&stack);
    run_scenarios(&[
        (
            "another_carriers_scans_and_a_far_pickup_are_refused_and_the_real_journey_succeeds",
            &|| journey(&w),
        ),
        (
            "an_order_names_only_one_of_the_sellers_carriers_and_old_clients_get_the_default",
            &|| choices(&w),
        ),
        (
            "orders_store_their_carriers_fee_for_their_zone_and_weight_and_keep_it_after_an_update",
            &|| fees(&w),
        ),
        (
            "one_platforms_buyers_sellers_and_orders_never_act_on_the_others",
            &|| platforms::one_platforms_buyers_sellers_and_orders_never_act_on_the_others(&w),
        ),
    ]);
}

fn journey(w: &World) {
    let ours = carrier(w, "SF Express");
    let theirs = carrier(w, "YTO Express");
    let seller = binjiang_seller(w, "Binjiang Tea", &[&ours]);
    let buyer = w.register_buyer(&person("chaoyang", "110105", "100020"));
    let order = w.create_order(&buyer, &seller);

    // Before pickup, both see the carrier and no waybill.
    let tracking = w.tracking(&buyer.token, &order);
    assert_eq!(tracking.status, 200, "{}", tracking.body);
    let view = tracking.json().unwrap();
    assert_eq!(
        view["carrier"],
        json!({"carrier_id": ours, "name": "SF Express"})
    );
    assert_eq!(view["waybill"], Value::Null);

    // The other carrier at the seller's own district, and our carrier far from the seller.
    let their_pickup = scanner_of(w, &theirs, "330108", "pickup");
    assert_error(
        &w.pickup(&their_pickup, &order, &buyer.id),
        403,
        "forbidden",
    );
    let far_pickup = scanner_of(w, &ours, "110105", "pickup");
    assert_error(&w.pickup(&far_pickup, &order, &buyer.id), 403, "forbidden");
    // A refused scanner learns nothing: a wrong buyer id gets the same 403, not label_mismatch.
    assert_error(
        &w.pickup(&their_pickup, &order, "b_0000000000000000"),
        403,
        "forbidden",
    );

    // The real pickup still succeeds: the parcel was not stranded.
    let pickup = scanner_of(w, &ours, "330108", "pickup");
    let picked = w.pickup(&pickup, &order, &buyer.id);
    assert_eq!(picked.status, 200, "{}", picked.body);
    assert_eq!(picked.json().unwrap()["status"], "picked_up");

    // Hops: the other carrier's hub where the parcel is expected is refused, ours is routed.
    let route = [
        ("330108", "forward_up", None),
        ("3301", "route_to", Some(("city", "1101"))),
        ("1101", "route_to", Some(("district", "110105"))),
    ];
    for (code, verdict, next) in route {
        let theirs_here = scanner_of(w, &theirs, code, "hub");
        assert_error(&w.hop(&theirs_here, &order), 403, "forbidden");
        let ours_here = scanner_of(w, &ours, code, "hub");
        assert_verdict(&w.hop(&ours_here, &order), verdict, next);
    }
    let their_final = scanner_of(w, &theirs, "110105", "hub");
    assert_error(&w.hop(&their_final, &order), 403, "forbidden");
    let terminal = scanner_of(w, &ours, "110105", "hub");
    let deliver = w.hop(&terminal, &order);
    assert_verdict(&deliver, "deliver", None);
    let verdict = deliver.json().unwrap();
    let recipient = terminal.open_recipient(&verdict, &order);
    assert_eq!(recipient["name"], buyer.person.name);
    let release_id = text(&verdict, "release_id");
    assert_error(
        &w.deliver(&their_final, &order, &release_id),
        403,
        "forbidden",
    );

    // The label prints the carrier; the seller's list names it.
    let label = w.label(&seller, &order);
    assert_eq!(label.status, 200);
    assert!(label.body.contains("carrier: SF Express"), "{}", label.body);
    let listed = w.seller_orders(&seller).json().unwrap();
    assert_eq!(listed["orders"][0]["carrier"]["name"], "SF Express");

    // Buyer and seller see the carrier and the waybill, in transit and after delivery.
    for token in [&buyer.token, &seller.token] {
        let view = w.tracking(token, &order).json().unwrap();
        assert_eq!(view["carrier"]["carrier_id"], ours.as_str(), "{view}");
        assert_eq!(view["waybill"], "WB-0001", "{view}");
    }
    let delivered = w.deliver(&terminal, &order, &release_id);
    assert_eq!(delivered.status, 200, "{}", delivered.body);
    for token in [&buyer.token, &seller.token] {
        let view = w.tracking(token, &order).json().unwrap();
        assert_eq!(view["status"], "delivered", "{view}");
        assert_eq!(view["carrier"]["name"], "SF Express", "{view}");
        assert_eq!(view["waybill"], "WB-0001", "{view}");
    }
}

fn choices(w: &World) {
    let first = carrier(w, "ZTO Express");
    let second = carrier(w, "Yunda Express");
    let seller = binjiang_seller(w, "Two Carrier Shop", &[&first, &second]);
    let order_with = |buyer: &common::Buyer, carrier_id: Option<&str>| {
        let mut body = json!({"seller_id": seller.id, "address_id": buyer.address_id});
        if let Some(id) = carrier_id {
            body["carrier_id"] = json!(id);
        }
        w.edge
            .post("/v1/orders")
            .bearer(&buyer.token)
            .json(&body)
            .send()
            .unwrap()
    };
    let beijing = w.register_buyer(&person("beijing", "110105", "100020"));
    let hangzhou = w.register_buyer(&person("hangzhou", "330106", "310013"));
    // The buyer's choice among the seller's carriers; another carrier is refused.
    let chosen = common::order_created(&order_with(&beijing, Some(&second)));
    let view = w.tracking(&beijing.token, &chosen).json().unwrap();
    assert_eq!(view["carrier"]["carrier_id"], second.as_str());
    assert_error(
        &order_with(&beijing, Some("ca_0000000000000000")),
        400,
        "invalid_input",
    );
    // Without a choice, the seller's first carrier; the seller's views of two orders to
    // buyers in different provinces differ in nothing but the order id.
    let a = common::order_created(&order_with(&beijing, None));
    let b = common::order_created(&order_with(&hangzhou, None));
    let mut views: Vec<Value> = [&a, &b]
        .iter()
        .map(|order| {
            let mut view = w.tracking(&seller.token, order).json().unwrap();
            view["order_id"] = Value::Null;
            view
        })
        .collect();
    assert_eq!(views[0]["carrier"]["carrier_id"], first.as_str());
    let second_view = views.pop().unwrap();
    assert_eq!(views[0], second_view);

    // A seller registered as before ships with the platform's default carrier.
    let plain = w.register_seller("Plain Shop");
    let order = w.create_order(&beijing, &plain);
    let view = w.tracking(&plain.token, &order).json().unwrap();
    assert_eq!(
        view["carrier"],
        json!({"carrier_id": "ca_0000000000000000", "name": "lasthop"})
    );
}

/// A fee table: `base` fen for the first 500 g of the narrowest zone, each wider zone dearer.
fn table(version: u32, base: u64) -> Value {
    let zones = [
        "same_district",
        "same_city",
        "same_province",
        "other_province",
        "remote",
    ];
    json!({"version": version, "step_grams": 500, "prices": zones.iter().zip(0_u64..)
        .map(|(zone, i)| json!({"zone": zone, "first_fen": base + 100 * i,
                                "additional_fen": 50 + 10 * i}))
        .collect::<Vec<_>>()})
}

/// The fee [`table`] asks for `steps` started steps in the zone of index `zone`.
fn fee(base: u64, zone: u64, steps: u64) -> i64 {
    i64::try_from(base + 100 * zone + (steps - 1) * (50 + 10 * zone)).unwrap()
}

fn fees(w: &World) {
    let sf = carrier(w, "SF Fees");
    let yto = carrier(w, "YTO Fees");
    let import = |path: String, content_type: &str, body: Vec<u8>| {
        let reply = w
            .origin
            .post(&path)
            .bearer(w.ops_token())
            .header("content-type", content_type)
            .body(body)
            .send()
            .unwrap();
        assert_eq!(reply.status, 201, "import: {}", reply.body);
    };
    import(
        format!("/v1/ops/carriers/{sf}/fees"),
        "application/json",
        serde_json::to_vec(&table(1, 1000)).unwrap(),
    );
    // YTO's table as CSV, the same shape with base 600.
    let csv: String = table(1, 600)["prices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            format!(
                "{},{},{}\n",
                p["zone"].as_str().unwrap(),
                p["first_fen"],
                p["additional_fen"]
            )
        })
        .collect();
    import(
        format!("/v1/ops/carriers/{yto}/fees/csv?version=1&step_grams=500"),
        "text/csv",
        format!("zone,first_fen,additional_fen\n{csv}").into_bytes(),
    );
    let seller = binjiang_seller(w, "Binjiang Fees", &[&sf, &yto]);
    let beijing = w.register_buyer(&person("fees-beijing", "110105", "100020"));
    let lhasa = w.register_buyer(&person("fees-lhasa", "540102", "850000"));
    let binjiang = w.register_buyer(&person("fees-binjiang", "330108", "310051"));
    let order = |buyer: &common::Buyer, carrier_id: &str, weight: Option<u32>| {
        let mut body = json!({"seller_id": seller.id, "address_id": buyer.address_id,
                              "carrier_id": carrier_id});
        if let Some(grams) = weight {
            body["weight_g"] = json!(grams);
        }
        let reply = w
            .edge
            .post("/v1/orders")
            .bearer(&buyer.token)
            .json(&body)
            .send()
            .unwrap();
        let order_id = common::order_created(&reply);
        // The public answer is unchanged: no fee, weight or zone passes back.
        assert_eq!(
            reply.json().unwrap().as_object().unwrap().len(),
            2,
            "{}",
            reply.body
        );
        order_id
    };
    let stored = |order_id: &str| -> (String, i64, Option<i64>, Option<i64>) {
        let order_id = order_id.to_owned();
        common::with_pool(
            &format!("sqlite://{}", w.stack.origin.directory_db().display()),
            |pool| async move {
                sqlx::query_as(
                    "SELECT carrier_id, weight_g, fee_fen, fee_version FROM order_fees \
                     WHERE order_id = $1",
                )
                .bind(order_id)
                .fetch_one(&pool)
                .await
                .unwrap()
            },
        )
    };
    // The buyer's quote through the edge: each of the seller's carriers, never cached.
    let quote = |buyer: &common::Buyer, query: &str| {
        let reply = w
            .edge
            .get(&format!(
                "/v1/buyers/me/quotes?seller_id={}&address_id={}{query}",
                seller.id, buyer.address_id
            ))
            .bearer(&buyer.token)
            .send()
            .unwrap();
        assert_eq!(reply.status, 200, "quote: {}", reply.body);
        assert_eq!(reply.header("cache-control"), Some("no-store"));
        reply.json().unwrap()
    };
    assert_eq!(
        quote(&beijing, "&weight_g=1200"),
        json!({"weight_g": 1200, "quotes": [
            {"carrier": {"carrier_id": sf, "name": "SF Fees"}, "fee_fen": fee(1000, 3, 3), "fee_version": 1},
            {"carrier": {"carrier_id": yto, "name": "YTO Fees"}, "fee_fen": fee(600, 3, 3), "fee_version": 1},
        ]})
    );
    assert_eq!(quote(&lhasa, "")["quotes"][1]["fee_fen"], fee(600, 4, 2));
    let refused = w
        .edge
        .get(&format!(
            "/v1/buyers/me/quotes?seller_id={}&address_id={}",
            seller.id, lhasa.address_id
        ))
        .bearer(&beijing.token)
        .send()
        .unwrap();
    assert_error(&refused, 404, "not_found");

    // Other province, 1200 g (three steps) with SF; remote with YTO by default weight (1 kg,
    // two steps); same district, 300 g with YTO: each the fee its quote said.
    let far = order(&beijing, &sf, Some(1200));
    assert_eq!(
        stored(&far),
        (sf.clone(), 1200, Some(fee(1000, 3, 3)), Some(1))
    );
    let remote = order(&lhasa, &yto, None);
    assert_eq!(
        stored(&remote),
        (yto.clone(), 1000, Some(fee(600, 4, 2)), Some(1))
    );
    let near = order(&binjiang, &yto, Some(300));
    assert_eq!(
        stored(&near),
        (yto.clone(), 300, Some(fee(600, 0, 1)), Some(1))
    );

    // A new SF table: new orders pay it, the order already placed keeps its fee.
    import(
        format!("/v1/ops/carriers/{sf}/fees"),
        "application/json",
        serde_json::to_vec(&table(2, 3000)).unwrap(),
    );
    assert_eq!(
        stored(&far),
        (sf.clone(), 1200, Some(fee(1000, 3, 3)), Some(1))
    );
    assert_eq!(
        quote(&beijing, "&weight_g=1200")["quotes"][0]["fee_fen"],
        fee(3000, 3, 3)
    );
    let later = order(&beijing, &sf, Some(1200));
    assert_eq!(
        stored(&later),
        (sf.clone(), 1200, Some(fee(3000, 3, 3)), Some(2))
    );

    // A seller's token does not quote (a buyer's act), and neither the edge's storage nor its
    // log keeps a fee, a weight or a zone: the quote and the order's fee only crossed it.
    let by_seller = w
        .edge
        .get(&format!(
            "/v1/buyers/me/quotes?seller_id={}&address_id={}",
            seller.id, beijing.address_id
        ))
        .bearer(&seller.token)
        .send()
        .unwrap();
    assert_error(&by_seller, 403, "forbidden");
    let mut files = common::files_under(&w.stack.edge.persist_dir());
    files.push(w.stack.edge.log_path());
    let mut saw_a_record = false;
    for file in &files {
        let bytes = std::fs::read(file).unwrap();
        saw_a_record |= common::contains_bytes(&bytes, yto.as_bytes());
        for needle in ["fee_fen", "fee_version", "weight_g"] {
            assert!(
                !common::contains_bytes(&bytes, needle.as_bytes()),
                "{} holds `{needle}`",
                file.display()
            );
        }
    }
    assert!(
        saw_a_record,
        "no order record of this scenario under {files:?}"
    );

    // The seller's list names carriers only: nothing that depends on the buyer's zone.
    let listed = w.seller_orders(&seller);
    assert_eq!(listed.status, 200, "{}", listed.body);
    for word in ["fee", "weight", "zone"] {
        assert!(!listed.body.contains(word), "{word} in {}", listed.body);
    }
}

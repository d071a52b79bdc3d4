//! The pages people use (buyer, seller, hub terminal), served by the real Worker under
//! `wrangler dev` next to a real origin, and driven in Debian's Chromium through
//! `playwright-core` (`tests/browser/*.mjs`). One stack serves every scenario.
//!
//! Chromium missing is a failure, not a skip: `cargo xtask setup` installs it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{contains_bytes, files_under, run_scenarios, spawn_stack, state_dir, Person, World};
use lasthop_e2e::pages::{run_seed_journey, JourneyMode, SEED_BUYER};
use lasthop_e2e::BrowserRun;
use serde_json::{json, Value};

/// Every page, as a person opens it.
const PAGES: [&str; 5] = ["/", "/buyer", "/seller", "/label", "/terminal"];

#[test]
fn the_pages_work_in_chromium_and_keep_personal_data_off_the_wire() {
    let stack = spawn_stack("pages", &[("SCANNER_RATE_PER_MINUTE", "100000")]);
    let world = World::new(&stack);
    let w = &world;
    run_scenarios(&[
        (
            "pages_are_served_with_a_strict_policy_and_documents_are_never_stored",
            &|| pages_are_served_with_a_strict_policy(w),
        ),
        (
            "every_page_in_both_languages_at_desktop_and_phone_width_passes_the_audit",
            &|| every_page_passes_the_audit(w),
        ),
        (
            "the_seed_journey_through_the_pages_sends_no_plaintext_and_the_terminal_forgets",
            &|| the_seed_journey_through_the_pages(w),
        ),
    ]);
}

/// The seed's buyer as the shared test helpers know a person.
fn seed_buyer() -> Person {
    Person {
        name: SEED_BUYER.name.into(),
        phone: SEED_BUYER.phone.into(),
        region: SEED_BUYER.region.into(),
        line: SEED_BUYER.changed_line.into(),
        postal_code: SEED_BUYER.postal_code.into(),
    }
}

/// Every way the pages could let a value slip onto the wire or into storage: as UTF-8, as
/// JSON `\u` escapes, percent-encoded, and (for storage that keeps strings as UTF-16) UTF-16LE.
fn encodings(value: &str) -> Vec<Vec<u8>> {
    let escaped: String = value
        .chars()
        .map(|c| {
            if c.is_ascii() {
                c.to_string()
            } else {
                c.encode_utf16(&mut [0; 2])
                    .iter()
                    .map(|u| format!("\\u{u:04x}"))
                    .collect()
            }
        })
        .collect();
    let percent: String = value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let utf16: Vec<u8> = value.encode_utf16().flat_map(u16::to_le_bytes).collect();
    vec![
        value.as_bytes().to_vec(),
        escaped.into_bytes(),
        percent.into_bytes(),
        utf16,
    ]
}

/// What must never be seen in the clear: the buyer's name, phone (as typed and as digits),
/// street line and postal code.
fn needles(person: &Person) -> Vec<(String, Vec<Vec<u8>>)> {
    let digits: String = person.phone.chars().filter(char::is_ascii_digit).collect();
    [
        person.name.clone(),
        person.phone.clone(),
        digits[2..].to_owned(),
        person.line.clone(),
        SEED_BUYER.line.to_owned(),
        person.postal_code.clone(),
    ]
    .into_iter()
    .map(|value| {
        let forms = encodings(&value);
        (value, forms)
    })
    .collect()
}

fn leaks(haystack: &[u8], needles: &[(String, Vec<Vec<u8>>)]) -> Vec<String> {
    needles
        .iter()
        .filter(|(_, forms)| forms.iter().any(|form| contains_bytes(haystack, form)))
        .map(|(value, _)| value.clone())
        .collect()
}

fn the_seed_journey_through_the_pages(w: &World) {
    let person = seed_buyer();
    let result = run_seed_journey(w.stack, JourneyMode::Test, state_dir("pages-journey"), None)
        .expect("the journey runs in Chromium");
    assert!(
        result["failed"].is_null(),
        "the journey stopped: {}\nverdicts so far: {}\nproblems: {}",
        result["failed"],
        result["verdicts"],
        result["problems"]
    );
    let problems = result["problems"].as_array().unwrap();
    assert!(problems.is_empty(), "{problems:#?}");

    // The journey itself, verdict by verdict, in the contract's words.
    let words: Vec<&str> = result["verdicts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["word"].as_str().unwrap())
        .collect();
    assert_eq!(
        words,
        [
            "picked_up",
            "forward_up",
            "route_to city 1101",
            "route_to district 110105",
            "deliver",
            "delivered"
        ]
    );
    let order_id = result["order_id"].as_str().unwrap();
    let buyer_id = result["buyer_id"].as_str().unwrap();
    assert!(
        order_id.starts_with("o_") && buyer_id.starts_with("b_"),
        "{result}"
    );
    assert_eq!(result["listed_buyer"], buyer_id);
    assert_eq!(
        result["printed"],
        json!({"platform": "demo", "order": order_id, "buyer": buyer_id,
               "carrier": "Carrier: lasthop"}),
        "the label names the order's carrier (the platform's default one here)"
    );
    assert_eq!(
        result["print_view"],
        json!({"barHidden": true, "buttonHidden": true, "labelShown": true})
    );

    // The recipient was opened on the final hub's device, and only there.
    assert_eq!(result["recipient_shown"]["name"], person.name.as_str());
    // The buyer changed the line before ordering: the final hub got the new version.
    assert_eq!(result["recipient_shown"]["line"], person.line.as_str());
    assert_eq!(
        result["recipient_shown"]["postal_code"],
        person.postal_code.as_str()
    );
    assert!(result["recipient_shown"]["phone"]
        .as_str()
        .unwrap()
        .contains("13800138000"));

    // The buyer sees the delivery, who saw the address and why: the release's purpose,
    // `delivery`, in the page's language (Chinese here).
    let access = result["access_log"].as_str().unwrap();
    assert!(
        access.contains("110105") && access.contains(order_id) && access.contains("派送"),
        "{access}"
    );
    // After delivery, tracking keeps the status only (issue 8): no hop names the district.
    let tracking = result["tracking"].as_str().unwrap();
    assert!(
        (tracking.contains("已签收") || tracking.contains("Delivered"))
            && !tracking.contains("110105"),
        "{tracking}"
    );

    let needles = needles(&person);

    // The network record: every request and response between the pages and the edge.
    let network = result["network"].as_array().unwrap();
    let mut wire = Vec::new();
    for entry in network {
        wire.extend(serde_json::to_vec(entry).unwrap());
        wire.extend(
            entry["request_body"]
                .as_str()
                .unwrap_or_default()
                .as_bytes(),
        );
        // Bodies were recorded byte for byte as Latin-1 text; back to bytes.
        wire.extend(
            entry["response_body"]
                .as_str()
                .unwrap_or_default()
                .chars()
                .map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?')),
        );
    }
    let leaked = leaks(&wire, &needles);
    assert!(leaked.is_empty(), "in the network record: {leaked:?}");
    // The record is real: it holds the sealed bodies, the ids and the sealed recipient.
    let calls: Vec<String> = network
        .iter()
        .map(|e| {
            format!(
                "{} {}",
                e["method"].as_str().unwrap(),
                e["url"].as_str().unwrap()
            )
        })
        .collect();
    for wanted in [
        "POST /v1/buyers/sealed",
        "GET /v1/buyers/me/sealed",
        "POST /v1/orders",
        "GET /v1/seller/orders",
        "POST /v1/scans/pickup",
        "POST /v1/scans/hop",
        "POST /v1/scans/deliver",
        "GET /pkg/lasthop_browser_bg.wasm",
    ] {
        let (method, path) = wanted.split_once(' ').unwrap();
        assert!(
            calls
                .iter()
                .any(|c| c.starts_with(method)
                    && c.contains(&format!("{}{path}", w.edge.base_url()))),
            "no {wanted} among {calls:#?}"
        );
    }
    assert!(contains_bytes(&wire, order_id.as_bytes()));
    assert!(contains_bytes(&wire, b"\"sealed_recipient\""));
    assert!(contains_bytes(&wire, b"\"ciphertext\""));
    let scans = network
        .iter()
        .filter(|e| e["url"].as_str().unwrap().contains("/v1/scans/"))
        .count();
    assert!(scans >= 6, "{scans} scans recorded");
    assert!(network
        .iter()
        .filter(|e| e["url"].as_str().unwrap().contains("/v1/scans/"))
        .all(|e| e["request_headers"]["x-lasthop-device-signature"].is_string()));

    // The terminal forgets: nothing of the recipient in the page, its storage (IndexedDB,
    // localStorage, sessionStorage, Cache Storage) or anywhere in the browser profile on disk.
    let after = &result["after_delivery"];
    assert_eq!(after["recipientHidden"], true);
    assert_eq!(after["domHasName"], false);
    let storage = serde_json::to_vec(&after["storage"]).unwrap();
    assert!(
        after["storage"]["indexedDB"]["lasthop-terminal"]["device"].is_array(),
        "the device's keys are kept: {}",
        after["storage"]
    );
    let leaked = leaks(&storage, &needles);
    assert!(leaked.is_empty(), "in the terminal's storage: {leaked:?}");
    let profile = std::path::PathBuf::from(result["final_profile_dir"].as_str().unwrap());
    let files = files_under(&profile);
    assert!(!files.is_empty(), "{} is empty", profile.display());
    for file in files {
        let bytes = std::fs::read(&file).unwrap_or_default();
        let leaked = leaks(&bytes, &needles);
        assert!(leaked.is_empty(), "{leaked:?} in {}", file.display());
    }
}

fn pages_are_served_with_a_strict_policy(w: &World) {
    for path in PAGES {
        let reply = w.edge.get(path).send().unwrap();
        assert_eq!(reply.status, 200, "{path}: {}", reply.body);
        let csp = reply.header("content-security-policy").unwrap_or_default();
        assert!(
            csp.contains("script-src 'self' 'wasm-unsafe-eval'")
                && csp.starts_with("default-src 'none'"),
            "{path}: {csp}"
        );
        assert_eq!(reply.header("cache-control"), Some("no-store"), "{path}");
        assert!(
            reply
                .header("content-type")
                .unwrap_or_default()
                .starts_with("text/html"),
            "{path}"
        );
        // No third-party script: every script the page names is a path on this origin.
        for src in reply.body.split("src=\"").skip(1) {
            assert!(src.starts_with('/'), "{path} loads {src}");
        }
        assert!(
            !reply.body.contains("<script>"),
            "{path} has an inline script"
        );
    }
    for asset in [
        "/assets/app.css",
        "/assets/common.js",
        "/pkg/lasthop_browser_bg.wasm",
    ] {
        let reply = w.edge.get(asset).send().unwrap();
        assert_eq!(reply.status, 200, "{asset}");
        assert_eq!(reply.header("cache-control"), Some("no-cache"), "{asset}");
        assert_eq!(reply.header("x-content-type-options"), Some("nosniff"));
    }
    let wasm = w.edge.get("/pkg/lasthop_browser_bg.wasm").send().unwrap();
    assert_eq!(wasm.header("content-type"), Some("application/wasm"));
    // Unknown files and the API's own unknown paths keep the contract's JSON 404.
    for path in ["/no-such-page", "/v1/no-such-endpoint"] {
        let reply = w.edge.get(path).send().unwrap();
        assert_eq!(reply.status, 404, "{path}");
        assert_eq!(reply.error_code().as_deref(), Some("not_found"), "{path}");
    }
    let reply = w.edge.post("/buyer").json(&json!({})).send().unwrap();
    assert_eq!(reply.status, 404, "pages only answer GET and HEAD");
}

fn every_page_passes_the_audit(w: &World) {
    let run = BrowserRun::new("smoke.mjs", state_dir("pages-smoke"));
    let result: Value = run
        .run(json!({"edge_url": w.edge.base_url(), "pages": PAGES}))
        .expect("the smoke script runs");
    let visited = result["visited"].as_array().unwrap();
    assert_eq!(visited.len(), PAGES.len() * 4, "{result}");
    let problems = result["problems"].as_array().unwrap();
    assert!(problems.is_empty(), "{problems:#?}");
}

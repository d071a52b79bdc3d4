//! The pages people use (buyer, seller, hub terminal), served by the real Worker under
//! `wrangler dev` next to a real origin, and driven in Debian's Chromium through
//! `playwright-core` (`tests/browser/*.mjs`). One stack serves every scenario.
//!
//! Chromium missing is a failure, not a skip: `cargo xtask setup` installs it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{run_scenarios, spawn_stack, state_dir, World};
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
    ]);
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

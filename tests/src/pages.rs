//! The seed's journey through the pages, shared by the page test (`tests/tests/pages.rs`),
//! `cargo xtask screenshots` and the terminal latency bench: the hubs of the Hangzhou →
//! Beijing route made through the ops API, then `tests/browser/journey.mjs` in Chromium.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{json, Value};

use crate::{BrowserRun, LaunchError, Stack};

/// The buyer of the seed: Beijing, Chaoyang (110105), ordering from a shop in Hangzhou.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedBuyer {
    /// Name.
    pub name: &'static str,
    /// Phone, as typed.
    pub phone: &'static str,
    /// Delivery district.
    pub region: &'static str,
    /// Street line, as registered.
    pub line: &'static str,
    /// The street line the buyer changes it to before ordering (same district).
    pub changed_line: &'static str,
    /// Postal code.
    pub postal_code: &'static str,
}

/// The seed's buyer.
pub const SEED_BUYER: SeedBuyer = SeedBuyer {
    name: "欧阳秀英",
    phone: "+86 138 0013 8000",
    region: "110105",
    line: "酒仙桥路甲8号院3单元1201",
    changed_line: "酒仙桥北路9号院2单元702",
    postal_code: "100015",
};

/// How the journey script runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JourneyMode {
    /// The journey once, recording the network.
    Test,
    /// The journey once, saving each page at both widths in both languages.
    Screenshots,
    /// The journey, with `n` extra scans at one hub timed from scan to verdict.
    Latency(usize),
}

/// Runs the journey against `stack` (whose Worker should allow many scans a minute), with its
/// scratch files under `dir`; `screenshot_dir` is where [`JourneyMode::Screenshots`] writes.
///
/// # Errors
/// When ops refuses a hub, or the script cannot run (Chromium or Node missing, timeout).
pub fn run_seed_journey(
    stack: &Stack,
    mode: JourneyMode,
    dir: impl Into<PathBuf>,
    screenshot_dir: Option<&std::path::Path>,
) -> Result<Value, LaunchError> {
    let ops_token = stack.origin.ops_token()?;
    let origin = stack.origin.client();
    let hub = |code: &str| -> Result<String, LaunchError> {
        let level = if code.len() == 4 { "city" } else { "district" };
        let reply = origin
            .post("/v1/ops/hubs")
            .bearer(&ops_token)
            .json(&json!({"code": code, "level": level, "name": format!("Hub {code}")}))
            .send()?;
        reply
            .json()
            .ok()
            .and_then(|body| body["hub_id"].as_str().map(str::to_owned))
            .filter(|_| reply.status == 201)
            .ok_or_else(|| LaunchError::Layout(format!("ops refused hub {code}: {}", reply.body)))
    };
    // The pickup scanner works at the seller's district hub, which also scans the parcel on.
    let seller_district = hub("330108")?;
    let hubs = [
        ("pickup-330108", seller_district.clone(), "330108", "pickup"),
        ("hub-330108", seller_district, "330108", "hub"),
        ("hub-3301", hub("3301")?, "3301", "hub"),
        ("hub-1101", hub("1101")?, "1101", "hub"),
        ("hub-110105", hub("110105")?, "110105", "hub"),
    ];
    let (mode_name, scans) = match mode {
        JourneyMode::Test => ("test", 0),
        JourneyMode::Screenshots => ("screenshots", 0),
        JourneyMode::Latency(n) => ("latency", n),
    };
    let person = SEED_BUYER;
    let config = json!({
        "edge_url": stack.edge.url(),
        "origin_url": stack.origin.url(),
        "ops_token": ops_token,
        "person": {"name": person.name, "phone": person.phone, "region": person.region,
                   "line": person.line, "changed_line": person.changed_line,
                   "postal_code": person.postal_code},
        "hubs": hubs.iter().map(|(key, hub_id, code, role)|
            json!({"key": key, "hub_id": hub_id, "code": code, "role": role})).collect::<Vec<_>>(),
        "mode": mode_name,
        "latency_scans": scans,
        "screenshot_dir": screenshot_dir.map(|d| d.display().to_string()),
    });
    let mut run = BrowserRun::new("journey.mjs", dir);
    run.timeout = Duration::from_secs(600);
    run.run(config)
}

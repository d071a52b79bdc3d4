//! `cargo xtask screenshots`: every page at desktop and phone width, in Chinese and English,
//! taken along the seed's journey in Chromium against a fresh local stack, written to
//! `docs/screenshots/` (the page test runs the same journey and never writes there).

use std::path::Path;

use anyhow::{bail, Context};
use lasthop_e2e::pages::{run_seed_journey, JourneyMode};
use lasthop_e2e::{Stack, StackOptions};

use crate::{edge, setup};

/// Where the screenshots go, relative to the repository root.
pub const SCREENSHOT_DIR: &str = "docs/screenshots";

/// Set up, build, start a stack on free ports, run the journey taking screenshots.
pub fn run(root: &Path) -> anyhow::Result<()> {
    let tools = setup::run(root, setup::Needs::Browser)?;
    edge::build(root, &tools)?;
    if let Some(chromium) = &tools.chromium {
        // The journey's launcher reads it (the same variable the tests get).
        std::env::set_var(setup::CHROMIUM_ENV, chromium);
    }
    let state = root.join("target/tmp/xtask-screenshots");
    let _ = std::fs::remove_dir_all(&state);
    let mut options = StackOptions::new(state.join("stack"));
    options.edge_vars = vec![("SCANNER_RATE_PER_MINUTE".into(), "100000".into())];
    let stack = Stack::spawn(options).context("starting origin and edge")?;
    let out = root.join(SCREENSHOT_DIR);
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    let result = run_seed_journey(
        &stack,
        JourneyMode::Screenshots,
        state.join("browser"),
        Some(&out),
    )
    .context("running the journey in Chromium")?;
    if let Some(failed) = result["failed"].as_str() {
        bail!("the journey stopped: {failed}");
    }
    let mut taken: Vec<String> = std::fs::read_dir(&out)?
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|name| name.ends_with(".png"))
        .collect();
    taken.sort();
    println!("screenshots: {} files in {SCREENSHOT_DIR}/", taken.len());
    for name in taken {
        println!("  {name}");
    }
    Ok(())
}

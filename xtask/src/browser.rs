//! The browser wasm (`lasthop-browser`): built for wasm32 with the Worker's size-first profile,
//! bound for `--target web` with our own
//! `wasm-bindgen` CLI and shrunk with our own `wasm-opt` (nothing downloaded), into `pages/pkg/`
//! where the edge serves it with the pages.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context};

use crate::cmd;
use crate::edge::{gzip_len, kib, PROFILE};
use crate::setup::{Tools, WASM_TARGET};

/// The crate's package and the stem of the files it produces.
const PACKAGE: &str = "lasthop-browser";
const STEM: &str = "lasthop_browser";

/// Where the pages load the bound module from (relative to the repository root).
pub const PKG_DIR: &str = "pages/pkg";

/// Build `lasthop-browser` into `pages/pkg/` and print its wasm size, raw and gzip-compressed.
pub fn build(root: &Path, tools: &Tools) -> anyhow::Result<()> {
    // The Worker's size-first profile: the pages download this module on every visit.
    cmd::run(Command::new("cargo").current_dir(root).args([
        "build",
        "--profile",
        PROFILE,
        "--target",
        WASM_TARGET,
        "-p",
        PACKAGE,
    ]))?;
    let built = target_dir(root)
        .join(WASM_TARGET)
        .join(PROFILE)
        .join(format!("{STEM}.wasm"));
    if !built.is_file() {
        bail!("cargo finished but {} is missing", built.display());
    }
    let out = root.join(PKG_DIR);
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    cmd::run(
        Command::new(&tools.wasm_bindgen)
            .current_dir(root)
            .args(["--target", "web", "--no-typescript", "--out-dir"])
            .arg(&out)
            .arg(&built),
    )?;
    let wasm = out.join(format!("{STEM}_bg.wasm"));
    cmd::run(
        Command::new(&tools.wasm_opt)
            .current_dir(root)
            .arg("-Oz")
            .arg(&wasm)
            .arg("-o")
            .arg(&wasm),
    )?;
    let bytes = std::fs::read(&wasm).with_context(|| format!("reading {}", wasm.display()))?;
    println!(
        "browser wasm {}: {} raw, {} gzip-compressed",
        wasm.strip_prefix(root).unwrap_or(&wasm).display(),
        kib(bytes.len()),
        kib(gzip_len(&bytes)?)
    );
    Ok(())
}

/// Cargo's target directory: `CARGO_TARGET_DIR` when set, else `target/` at the root.
fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from)
}

//! The Worker build: `worker-build --release` with our own wasm-bindgen and wasm-opt, then the
//! size of the wasm it produced.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context};
use flate2::write::GzEncoder;
use flate2::Compression;

use crate::cmd;
use crate::setup::Tools;

/// Build the browser wasm the pages load (see [`crate::browser`]), then `edge/` into
/// `edge/build/`, and print both wasm sizes, raw and gzip-compressed.
pub fn build(root: &Path, tools: &Tools) -> anyhow::Result<()> {
    crate::browser::build(root, tools)?;
    // worker-build would download wasm-bindgen and wasm-opt; these point it at ours.
    cmd::run(
        Command::new(&tools.worker_build)
            .current_dir(root.join("edge"))
            .env("WASM_BINDGEN_BIN", &tools.wasm_bindgen)
            .env("WASM_OPT_BIN", &tools.wasm_opt)
            .arg("--release"),
    )?;
    let shim = root.join("edge/build/worker/shim.mjs");
    if !shim.is_file() {
        bail!("worker-build finished but {} is missing", shim.display());
    }
    let mut wasm = Vec::new();
    find_wasm(&root.join("edge/build"), &mut wasm)?;
    if wasm.is_empty() {
        bail!("worker-build finished but edge/build holds no .wasm file");
    }
    for path in wasm {
        let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        let gzipped = gzip_len(&bytes)?;
        println!(
            "edge wasm {}: {} raw, {} gzip-compressed",
            path.strip_prefix(root).unwrap_or(&path).display(),
            kib(bytes.len()),
            kib(gzipped)
        );
    }
    Ok(())
}

fn find_wasm(dir: &Path, found: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            find_wasm(&path, found)?;
        } else if path.extension().is_some_and(|e| e == "wasm") {
            found.push(path);
        }
    }
    found.sort();
    Ok(())
}

/// The gzip-compressed length at the best level (what an upload's compressed size measures).
pub fn gzip_len(bytes: &[u8]) -> anyhow::Result<usize> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
    encoder.write_all(bytes)?;
    Ok(encoder.finish()?.len())
}

pub fn kib(n: usize) -> String {
    // Sizes are far below 2^52 bytes, so the float is exact enough for a report.
    #[allow(clippy::cast_precision_loss)]
    let k = n as f64 / 1024.0;
    format!("{n} bytes ({k:.1} KiB)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gzip_len_shrinks_repetitive_input_and_reports_a_real_gzip_stream() {
        let input = vec![b'a'; 100_000];
        let n = gzip_len(&input).unwrap();
        assert!(n > 18 && n < 1_000, "{n}");
    }

    #[test]
    fn kib_prints_bytes_and_kibibytes() {
        assert_eq!(kib(2048), "2048 bytes (2.0 KiB)");
    }
}

//! The Worker build: `worker-build --profile edge-release` with our own wasm-bindgen and
//! wasm-opt, the name section stripped, then the size of what Workers load, held to a budget.
//!
//! Every size is held to a [`SizeLimit`]: the build to the Worker's own budget
//! ([`WORKER_BUDGET`], issue 13), and the production bundle — `wrangler deploy --dry-run --env
//! production --outdir target/edge-bundle`, everything a deploy does but the upload
//! ([`dry_run_deploy`]) — to the platform's limit ([`PLATFORM_LIMIT`]).
//!
//! Two builds exist. [`Variant::Deploy`] is the Worker that `wrangler.toml` describes, built
//! into `edge/build/`; its gzip-compressed size must stay within [`WORKER_GZIP_BUDGET`] or the
//! build fails. [`Variant::Bench`] adds the cargo feature `bench` (the plaintext baseline and
//! the bench-only endpoints) and goes to `edge/build-bench/`; only `cargo xtask bench` builds
//! and runs it, and no wrangler environment names it.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context};
use flate2::write::GzEncoder;
use flate2::Compression;

use crate::cmd;
use crate::setup::Tools;

/// The cargo profile of the Worker (see the root `Cargo.toml`): size over build time.
pub const PROFILE: &str = "edge-release";

/// The most the deployed Worker may weigh, gzip-compressed (wasm plus its JavaScript glue,
/// each compressed as Workers count an upload). The goal of issue 13 is 300 KiB; the Worker
/// was ~269 KiB when this was set, which leaves ~31 KiB for the device-signed scans (issue 8,
/// which took ~24 KiB: 293 KiB) and batch scans (issue 11). Raise it only with a reason in the
/// commit. Carriers (issue 11) took 9.6 KiB; the OpenAPI document moved to the assets binding
/// (-9.5 KiB) and a last `-Oz` pass (-2 KiB) keep the Worker under the goal.
pub const WORKER_GZIP_BUDGET: usize = 300 * 1024;

/// A ceiling on the gzip-compressed size of what Workers load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SizeLimit {
    /// What the limit is, for messages.
    pub name: &'static str,
    /// The most, in bytes.
    pub max_gzip: usize,
    /// What to do when over it.
    pub advice: &'static str,
}

/// The Worker's own budget: [`WORKER_GZIP_BUDGET`].
pub const WORKER_BUDGET: SizeLimit = SizeLimit {
    name: "budget",
    max_gzip: WORKER_GZIP_BUDGET,
    advice: "find what grew with `twiggy top` on a build that keeps names (`worker-build \
             --profile edge-release` alone), cut it, or raise WORKER_GZIP_BUDGET in \
             xtask/src/edge.rs with a reason",
};

/// The platform's limit every deployable bundle is held to: the Workers Free plan's 3 MB after
/// gzip (the Paid plan allows 10 MB). A Worker over it cannot be deployed on the Free plan.
pub const PLATFORM_LIMIT: SizeLimit = SizeLimit {
    name: "Workers Free plan limit",
    max_gzip: 3_000_000,
    advice: "it cannot be deployed on the Workers Free plan (the Paid plan allows 10 MB)",
};

/// The wasm features workerd runs, passed to wasm-opt exactly as worker-build does, so the
/// strip pass neither emits nor rejects anything the optimiser produced.
const WASM_FEATURES: [&str; 7] = [
    "mutable-globals",
    "sign-ext",
    "nontrapping-float-to-int",
    "bulk-memory",
    "multivalue",
    "reference-types",
    "exception-handling",
];

/// Which Worker to build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// The Worker `wrangler.toml` deploys.
    Deploy,
    /// The same Worker with the `bench` feature: never deployed.
    Bench,
}

impl Variant {
    /// The output directory, relative to `edge/`.
    pub const fn out_dir(self) -> &'static str {
        match self {
            Self::Deploy => "build",
            Self::Bench => "build-bench",
        }
    }
}

/// What the build produced, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkerSize {
    /// The wasm module, as uploaded.
    pub wasm_raw: usize,
    /// The wasm module, gzip-compressed.
    pub wasm_gzip: usize,
    /// The JavaScript modules (glue and shim), gzip-compressed.
    pub js_gzip: usize,
}

impl WorkerSize {
    /// Everything Workers load, gzip-compressed.
    pub const fn total_gzip(&self) -> usize {
        self.wasm_gzip + self.js_gzip
    }
}

/// Build the browser wasm the pages load (see [`crate::browser`]), then the deployed Worker
/// into `edge/build/`; print both sizes, and fail when the Worker is over its budget.
///
/// # Errors
/// When a tool fails, the output is missing, or the Worker is over [`WORKER_GZIP_BUDGET`].
pub fn build(root: &Path, tools: &Tools) -> anyhow::Result<WorkerSize> {
    crate::browser::build(root, tools)?;
    let size = build_variant(root, tools, Variant::Deploy)?;
    check_size(size.total_gzip(), &WORKER_BUDGET)?;
    println!(
        "edge: within the size budget: {} of {} gzip-compressed",
        kib(size.total_gzip()),
        kib(WORKER_GZIP_BUDGET)
    );
    Ok(size)
}

/// Build one variant, strip its name section, and print its size.
///
/// # Errors
/// When a tool fails or the output is missing.
pub fn build_variant(root: &Path, tools: &Tools, variant: Variant) -> anyhow::Result<WorkerSize> {
    let edge = root.join("edge");
    let out = edge.join(variant.out_dir());
    let mut worker_build = Command::new(&tools.worker_build);
    worker_build
        .current_dir(&edge)
        // worker-build would download wasm-bindgen and wasm-opt; these point it at ours.
        .env("WASM_BINDGEN_BIN", &tools.wasm_bindgen)
        .env("WASM_OPT_BIN", &tools.wasm_opt)
        .args(["--profile", PROFILE, "--out-dir", variant.out_dir()]);
    if variant == Variant::Bench {
        worker_build.args(["--features", "bench"]);
    }
    cmd::run(&mut worker_build)?;
    let shim = out.join("worker/shim.mjs");
    if !shim.is_file() {
        bail!("worker-build finished but {} is missing", shim.display());
    }
    let wasm = out.join("index_bg.wasm");
    if !wasm.is_file() {
        bail!("worker-build finished but {} is missing", wasm.display());
    }
    strip_names(tools, &wasm)?;
    let size = measure(&out)?;
    println!(
        "edge wasm {}: {} raw, {} gzip-compressed; with its JavaScript {} gzip-compressed",
        wasm.strip_prefix(root).unwrap_or(&wasm).display(),
        kib(size.wasm_raw),
        kib(size.wasm_gzip),
        kib(size.total_gzip())
    );
    Ok(size)
}

/// worker-build keeps the wasm name section (`wasm-opt --debuginfo`): about a fifth of the
/// module. Function names only make stack traces readable, so the Worker goes without them.
/// The same pass optimises for size once more (`-Oz`), which worker-build's own pass leaves
/// ~2 KiB gzip above.
fn strip_names(tools: &Tools, wasm: &Path) -> anyhow::Result<()> {
    let stripped = wasm.with_extension("stripped.wasm");
    let mut strip = Command::new(&tools.wasm_opt);
    strip
        .arg(wasm)
        .args(["-Oz", "--strip-debug", "--strip-producers"])
        .args(WASM_FEATURES.map(|f| format!("--enable-{f}")))
        .arg("-o")
        .arg(&stripped);
    cmd::run(&mut strip)?;
    std::fs::rename(&stripped, wasm)
        .with_context(|| format!("replacing {} with its stripped copy", wasm.display()))
}

/// The sizes of the modules in a worker-build output directory (its `.tmp` staging left out).
fn measure(out: &Path) -> anyhow::Result<WorkerSize> {
    let mut size = WorkerSize {
        wasm_raw: 0,
        wasm_gzip: 0,
        js_gzip: 0,
    };
    for path in modules(out)? {
        let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        if path.extension().is_some_and(|e| e == "wasm") {
            size.wasm_raw += bytes.len();
            size.wasm_gzip += gzip_len(&bytes)?;
        } else {
            size.js_gzip += gzip_len(&bytes)?;
        }
    }
    if size.wasm_raw == 0 {
        bail!("{} holds no .wasm file", out.display());
    }
    Ok(size)
}

/// The `.wasm`, `.js` and `.mjs` files under `dir`, skipping hidden directories.
fn modules(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in
            std::fs::read_dir(&dir).with_context(|| format!("listing {}", dir.display()))?
        {
            let path = entry?.path();
            let hidden = path
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'));
            if hidden {
                continue;
            }
            if path.is_dir() {
                pending.push(path);
            } else if path
                .extension()
                .is_some_and(|e| e == "wasm" || e == "js" || e == "mjs")
            {
                found.push(path);
            }
        }
    }
    found.sort();
    Ok(found)
}

/// Fails when `gzip` bytes exceed the limit, saying by how much and what to do.
///
/// # Errors
/// Naming the limit, the excess and the advice.
pub fn check_size(gzip: usize, limit: &SizeLimit) -> anyhow::Result<()> {
    if gzip > limit.max_gzip {
        bail!(
            "the Worker is {} gzip-compressed, {} over its {} of {}: {}",
            kib(gzip),
            kib(gzip - limit.max_gzip),
            limit.name,
            kib(limit.max_gzip),
            limit.advice
        );
    }
    Ok(())
}

/// Where [`dry_run_deploy`] writes the bundle.
pub fn bundle_dir(root: &Path) -> PathBuf {
    root.join("target/edge-bundle")
}

/// `wrangler deploy --dry-run --env production --outdir target/edge-bundle` on the built
/// Worker (run [`build`] first): the production configuration is read and the bundle written
/// as a deploy would upload it; its size is then held to `limit`.
///
/// # Errors
/// When wrangler fails (an invalid production configuration), the bundle holds no module,
/// or it is over the limit.
pub fn dry_run_deploy(root: &Path, limit: &SizeLimit) -> anyhow::Result<WorkerSize> {
    let outdir = bundle_dir(root);
    if outdir.exists() {
        std::fs::remove_dir_all(&outdir)
            .with_context(|| format!("clearing {}", outdir.display()))?;
    }
    cmd::run(
        Command::new(root.join("node_modules/.bin/wrangler"))
            .current_dir(root)
            .env("WRANGLER_SEND_METRICS", "false")
            .args(["deploy", "--dry-run", "--env", "production", "--outdir"])
            .arg(&outdir),
    )?;
    let size = measure(&outdir)?;
    check_size(size.total_gzip(), limit)?;
    println!(
        "edge bundle (production): {} gzip-compressed, within the {} of {}",
        kib(size.total_gzip()),
        limit.name,
        kib(limit.max_gzip)
    );
    Ok(size)
}

/// The gzip-compressed length at the best level (what an upload's compressed size measures).
pub fn gzip_len(bytes: &[u8]) -> anyhow::Result<usize> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
    encoder.write_all(bytes)?;
    Ok(encoder.finish()?.len())
}

/// `n` bytes, with KiB for a reader.
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

    #[test]
    fn a_worker_over_its_budget_fails_the_build_and_says_by_how_much() {
        assert!(check_size(WORKER_GZIP_BUDGET, &WORKER_BUDGET).is_ok());
        let err = check_size(WORKER_GZIP_BUDGET + 2048, &WORKER_BUDGET).unwrap_err();
        assert!(
            format!("{err}").contains("2048 bytes (2.0 KiB) over"),
            "{err}"
        );
        let err = check_size(3_000_001, &PLATFORM_LIMIT).unwrap_err();
        assert!(format!("{err}").contains("Workers Free plan"), "{err}");
    }

    #[test]
    fn a_wrangler_bundle_is_measured_by_its_modules_not_its_source_map_or_readme() {
        let dir = std::env::temp_dir().join(format!("xtask-bundle-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("0123-index_bg.wasm"), vec![0u8; 4096]).unwrap();
        std::fs::write(dir.join("shim.js"), "export {};").unwrap();
        std::fs::write(dir.join("shim.js.map"), vec![b'x'; 50_000]).unwrap();
        std::fs::write(dir.join("README.md"), "bundle").unwrap();
        let size = measure(&dir).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(size.wasm_raw, 4096);
        assert!(
            size.js_gzip < 100,
            "the source map was counted: {}",
            size.js_gzip
        );
    }

    #[test]
    fn the_lockfile_keeps_idna_without_its_unicode_back_end() {
        // `idna_adapter` 1.0.x is idna's stub back end: host names must be ASCII (punycode),
        // and the Worker sheds ICU4X's tables, about 45 KiB gzip-compressed. A `cargo update`
        // that moves it back to 1.2.x would put them back; restore the pin with
        // `cargo update -p idna_adapter --precise 1.0.0`.
        let root = crate::repo_root().unwrap();
        let lock = std::fs::read_to_string(root.join("Cargo.lock")).unwrap();
        let versions = crate::setup::locked_versions(&lock, "idna_adapter");
        assert!(
            !versions.is_empty() && versions.iter().all(|v| v.starts_with("1.0.")),
            "idna_adapter {versions:?} in Cargo.lock; expected only 1.0.x"
        );
    }

    #[test]
    fn measure_counts_wasm_and_javascript_and_skips_the_staging_directory() {
        let dir = std::env::temp_dir().join(format!("xtask-measure-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("worker")).unwrap();
        std::fs::create_dir_all(dir.join(".tmp")).unwrap();
        std::fs::write(dir.join("index_bg.wasm"), vec![0u8; 4096]).unwrap();
        std::fs::write(dir.join("index.js"), "export {};").unwrap();
        std::fs::write(dir.join("worker/shim.mjs"), "export * from '../index.js';").unwrap();
        std::fs::write(dir.join(".tmp/index_bg.wasm"), vec![1u8; 100_000]).unwrap();
        std::fs::write(dir.join("package.json"), "{}").unwrap();
        let size = measure(&dir).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(size.wasm_raw, 4096);
        assert!(size.wasm_gzip > 0 && size.wasm_gzip < 4096);
        assert!(size.js_gzip > 2 * 18, "two gzip streams: {}", size.js_gzip);
        assert_eq!(size.total_gzip(), size.wasm_gzip + size.js_gzip);
    }
}

//! The repository on disk: its root, binaries built by cargo, and the npm tools.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

use crate::LaunchError;

/// Which cargo profile a binary is built with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Profile {
    Debug,
    Release,
}

/// A binary already built in this process: package, binary, profile.
type BuildKey = (String, String, Profile);

/// The lasthop repository this crate was built from.
#[derive(Debug, Clone)]
pub struct Workspace {
    root: PathBuf,
}

impl Workspace {
    /// The repository root: the parent of this crate's manifest directory, checked to hold the
    /// workspace `Cargo.toml` and `wrangler.toml`.
    ///
    /// # Errors
    /// When the tree does not look like the lasthop repository.
    pub fn locate() -> Result<Self, LaunchError> {
        let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
        let root = manifest_dir.parent().ok_or_else(|| {
            LaunchError::Layout(format!("{} has no parent", manifest_dir.display()))
        })?;
        let workspace = Self {
            root: root.to_path_buf(),
        };
        for needed in ["Cargo.toml", "wrangler.toml", "package.json"] {
            if !workspace.root.join(needed).is_file() {
                return Err(LaunchError::Layout(format!(
                    "{} has no {needed}; is this the lasthop repository?",
                    workspace.root.display()
                )));
            }
        }
        Ok(workspace)
    }

    /// The repository root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `wrangler.toml` at the root (the template for generated configs).
    pub fn wrangler_toml(&self) -> PathBuf {
        self.root.join("wrangler.toml")
    }

    /// The Worker's JavaScript entry point produced by `worker-build`.
    pub fn worker_shim(&self) -> PathBuf {
        self.root.join("edge/build/worker/shim.mjs")
    }

    /// The pages' static files (`pages/`, the `[assets]` directory of `wrangler.toml`); the
    /// browser wasm is built into its `pkg/` by `cargo xtask build-edge`.
    pub fn pages_dir(&self) -> PathBuf {
        self.root.join("pages")
    }

    /// A tool installed by `npm ci` (`wrangler`, `wasm-opt`, ...).
    pub fn node_bin(&self, name: &str) -> PathBuf {
        self.root.join("node_modules/.bin").join(name)
    }

    /// The `lasthop-origin` binary: `LASTHOP_ORIGIN_BIN` when set, else built with
    /// `cargo build -p lasthop-origin` (a no-op when it is up to date).
    ///
    /// # Errors
    /// When the build fails or produces no such binary.
    pub fn origin_binary(&self) -> Result<PathBuf, LaunchError> {
        if let Some(path) = std::env::var_os("LASTHOP_ORIGIN_BIN") {
            return Ok(PathBuf::from(path));
        }
        self.cargo_binary("lasthop-origin", "lasthop-origin")
    }

    /// Build one binary target of a workspace package in the debug profile and return its path,
    /// as cargo reports it (so `CARGO_TARGET_DIR` and friends are honoured). Each binary is built
    /// at most once per process.
    ///
    /// # Errors
    /// When the build fails or produces no such binary.
    pub fn cargo_binary(&self, package: &str, bin: &str) -> Result<PathBuf, LaunchError> {
        self.build_binary(package, bin, Profile::Debug)
    }

    /// As [`Workspace::cargo_binary`], built with `--release` (for benchmarks).
    ///
    /// # Errors
    /// When the build fails or produces no such binary.
    pub fn release_binary(&self, package: &str, bin: &str) -> Result<PathBuf, LaunchError> {
        self.build_binary(package, bin, Profile::Release)
    }

    fn build_binary(
        &self,
        package: &str,
        bin: &str,
        profile: Profile,
    ) -> Result<PathBuf, LaunchError> {
        static BUILT: OnceLock<Mutex<HashMap<BuildKey, PathBuf>>> = OnceLock::new();
        let built = BUILT.get_or_init(|| Mutex::new(HashMap::new()));
        // Holding the lock through the build serialises parallel tests on one cargo run.
        // A poisoned lock only means another test panicked; the map is still consistent.
        let mut built = built.lock().unwrap_or_else(|p| p.into_inner());
        let key = (package.to_string(), bin.to_string(), profile);
        if let Some(path) = built.get(&key) {
            return Ok(path.clone());
        }
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let release = if profile == Profile::Release {
            " --release"
        } else {
            ""
        };
        let command = format!("cargo build{release} -p {package} --bin {bin}");
        let output = Command::new(&cargo)
            .current_dir(&self.root)
            .args([
                "build",
                "--quiet",
                "--message-format=json-render-diagnostics",
            ])
            .args(["-p", package, "--bin", bin])
            .args((profile == Profile::Release).then_some("--release"))
            .output()
            .map_err(|e| LaunchError::io(format!("running {command}"), e))?;
        if !output.status.success() {
            return Err(LaunchError::Command {
                command,
                detail: format!(
                    "{}\n{}",
                    output.status,
                    String::from_utf8_lossy(&output.stderr)
                ),
            });
        }
        let path = String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
            .filter(|msg| msg["reason"] == "compiler-artifact" && msg["target"]["name"] == bin)
            .find_map(|msg| msg["executable"].as_str().map(PathBuf::from))
            .ok_or_else(|| LaunchError::Command {
                command: command.clone(),
                detail: format!("cargo reported no executable named {bin}"),
            })?;
        built.insert(key, path.clone());
        Ok(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locate_finds_the_repository_root_with_its_wrangler_config() {
        let ws = Workspace::locate().unwrap();
        assert!(ws.root().join("tests/Cargo.toml").is_file());
        assert!(ws.wrangler_toml().is_file());
        assert!(ws.worker_shim().ends_with("edge/build/worker/shim.mjs"));
    }
}

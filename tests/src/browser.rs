//! Driving a real browser: Debian's Chromium through a Node script under `tests/browser/`
//! that uses `playwright-core` (installed by `npm ci`; it never downloads a browser).
//!
//! A test writes what the script needs as JSON ([`BrowserRun::run`] adds `chromium`,
//! `scratch_dir` and `result_path`), the script runs in its own process group with its output
//! in a log file, and its JSON result comes back as a [`serde_json::Value`]. Chromium missing is
//! an error, never a skip.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::group::ProcessGroup;
use crate::{LaunchError, Workspace};

/// Names the Chromium binary to drive, where it is not Debian's `/usr/bin/chromium`.
pub const CHROMIUM_ENV: &str = "LASTHOP_CHROMIUM";

/// Where Debian's `chromium` package installs the browser.
pub const CHROMIUM_DEFAULT: &str = "/usr/bin/chromium";

/// The Chromium binary: `LASTHOP_CHROMIUM`, else Debian's.
///
/// # Errors
/// When neither exists: install it with `cargo xtask setup` (apt) or name one.
pub fn chromium() -> Result<PathBuf, LaunchError> {
    resolve_chromium(std::env::var_os(CHROMIUM_ENV).map(PathBuf::from))
}

fn resolve_chromium(configured: Option<PathBuf>) -> Result<PathBuf, LaunchError> {
    let path = configured.unwrap_or_else(|| PathBuf::from(CHROMIUM_DEFAULT));
    if path.is_file() {
        Ok(path)
    } else {
        Err(LaunchError::Layout(format!(
            "Chromium is missing ({} is not a file): run `cargo xtask setup` (installs Debian's \
             chromium and chromium-driver) or set {CHROMIUM_ENV} to a Chromium binary",
            path.display()
        )))
    }
}

/// One run of a browser script.
#[derive(Debug, Clone)]
pub struct BrowserRun {
    /// The script's file name under `tests/browser/`, e.g. `journey.mjs`.
    pub script: String,
    /// A directory for the config, the result, the log and Chromium's profiles.
    pub dir: PathBuf,
    /// How long the script may run before it is stopped and the run fails.
    pub timeout: Duration,
}

impl BrowserRun {
    /// A run of `script` in `dir` with a 5-minute limit.
    pub fn new(script: impl Into<String>, dir: impl Into<PathBuf>) -> Self {
        Self {
            script: script.into(),
            dir: dir.into(),
            timeout: Duration::from_secs(300),
        }
    }

    /// The script's log (its stdout and stderr).
    pub fn log_path(&self) -> PathBuf {
        self.dir.join(format!("{}.log", self.script))
    }

    /// Runs the script with `config` (an object) and returns its result.
    ///
    /// # Errors
    /// When Chromium or Node is missing, the script fails or times out, or its result is not
    /// JSON; the error carries the log's tail.
    pub fn run(&self, mut config: serde_json::Value) -> Result<serde_json::Value, LaunchError> {
        let workspace = Workspace::locate()?;
        let chromium = chromium()?;
        let script = workspace.root().join("tests/browser").join(&self.script);
        if !script.is_file() {
            return Err(LaunchError::Layout(format!(
                "{} is missing",
                script.display()
            )));
        }
        if !workspace
            .root()
            .join("node_modules/playwright-core/package.json")
            .is_file()
        {
            return Err(LaunchError::Layout(
                "node_modules/playwright-core is missing: run `cargo xtask setup` (npm ci)".into(),
            ));
        }
        std::fs::create_dir_all(&self.dir)
            .map_err(|e| LaunchError::io(format!("creating {}", self.dir.display()), e))?;
        let result_path = self.dir.join(format!("{}.result.json", self.script));
        let _ = std::fs::remove_file(&result_path);
        let object = config.as_object_mut().ok_or_else(|| {
            LaunchError::Layout("a browser script's config must be a JSON object".into())
        })?;
        object.insert("chromium".into(), chromium.display().to_string().into());
        object.insert("scratch_dir".into(), self.dir.display().to_string().into());
        object.insert(
            "result_path".into(),
            result_path.display().to_string().into(),
        );
        let config_path = self.dir.join(format!("{}.config.json", self.script));
        std::fs::write(&config_path, config.to_string())
            .map_err(|e| LaunchError::io(format!("writing {}", config_path.display()), e))?;

        let mut command = Command::new("node");
        command
            .current_dir(workspace.root())
            .arg(&script)
            .arg(&config_path);
        let log = self.log_path();
        let _ = std::fs::remove_file(&log);
        let mut group = ProcessGroup::spawn(&self.script, command, &log)?;
        let started = Instant::now();
        let status = loop {
            if let Some(status) = group.exit_status() {
                break status;
            }
            if started.elapsed() > self.timeout {
                group.stop();
                return Err(LaunchError::NotReady {
                    name: self.script.clone(),
                    detail: format!(
                        "still running after {:?}; last lines of {}:\n{}",
                        self.timeout,
                        log.display(),
                        crate::log_tail(&log, 60)
                    ),
                });
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        // Chromium's helpers may outlive node by a moment; the group goes with it.
        group.stop();
        if !status.success() {
            return Err(group.exited_error(status));
        }
        read_result(&result_path, &log)
    }
}

fn read_result(path: &Path, log: &Path) -> Result<serde_json::Value, LaunchError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        LaunchError::io(
            format!(
                "reading {} (last lines of {}:\n{})",
                path.display(),
                log.display(),
                crate::log_tail(log, 40)
            ),
            e,
        )
    })?;
    serde_json::from_str(&text).map_err(|e| LaunchError::Command {
        command: format!("node {}", path.display()),
        detail: format!("its result is not JSON: {e}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_chromium_is_an_error_that_says_how_to_install_it() {
        let err = resolve_chromium(Some(PathBuf::from("/nonexistent/chromium"))).unwrap_err();
        let message = err.to_string();
        assert!(message.contains("/nonexistent/chromium"), "{message}");
        assert!(message.contains("cargo xtask setup"), "{message}");
        assert!(message.contains(CHROMIUM_ENV), "{message}");
    }

    #[test]
    fn a_configured_chromium_that_exists_is_used() {
        let this = std::env::current_exe().unwrap();
        assert_eq!(resolve_chromium(Some(this.clone())).unwrap(), this);
    }
}

//! lasthop-e2e: start the real lasthop processes — the origin binary on SQLite files and the
//! Worker under `wrangler dev` (real workerd) — on free ports, wait until they answer, and stop
//! them with everything they spawned. `cargo xtask dev` uses the same launchers, and the
//! end-to-end tests in `tests/tests/` are built on them.
//!
//! Run the end-to-end tests with `cargo xtask test` (which builds the Worker first) or, once the
//! Worker is built (`cargo xtask build-edge`), `cargo test -p lasthop-e2e`.
//!
//! ```no_run
//! use lasthop_e2e::{Stack, StackOptions};
//! let dir = std::env::temp_dir().join("lasthop-example");
//! let stack = Stack::spawn(StackOptions::new(&dir))?;      // origin + edge, both healthy
//! let edge = stack.edge.client();                         // blocking HTTP client on the edge
//! let reply = edge.get("/healthz").send()?;
//! assert_eq!(reply.status, 200);
//! // Dropping `stack` stops both process groups (SIGTERM, then SIGKILL after a grace period).
//! # Ok::<(), lasthop_e2e::LaunchError>(())
//! ```
//!
//! For tests that need one side only, or a different wiring, use [`OriginProcess::spawn`] and
//! [`EdgeProcess::spawn`] directly. [`OriginProcess::stop`] and [`OriginProcess::restart`] bring
//! the origin down and back on the same port (for origin-down tests).
//!
//! Every child writes stdout and stderr to a log file in its state directory
//! ([`OriginProcess::log_path`], [`EdgeProcess::log_path`]); tests read them back with
//! [`OriginProcess::logs`] / [`EdgeProcess::logs`] to check that no personal data was logged.
//! [`EdgeProcess::persist_dir`] is where workerd keeps the edge's Durable Object storage.
//!
//! HTTP: [`Client`] is a small blocking JSON client (ureq 2, re-exported as [`ureq`]) whose
//! replies carry any status — a 4xx is a [`Reply`], not an error — so tests can assert on the
//! contract's error bodies directly.
//!
//! Environment overrides: `LASTHOP_ORIGIN_BIN` (use this origin binary instead of building
//! `lasthop-origin`), `LASTHOP_E2E_STARTUP_SECS` (readiness timeout, default 90 s).
//!
//! # Layout
//! - [`workspace`]: where the repository is, building and locating binaries, `node_modules` tools.
//! - `group`: a child in its own process group, stopped as a group; orphan reaping.
//! - `service`: what both launchers share — a named child group with its log file, started
//!   once `/healthz` answers, stopped as a group; state directory and port choice.
//! - [`postgres`]: throwaway PostgreSQL clusters — primary, synchronous streaming standby,
//!   stop/start, `kill -9`, promotion — and the origin's two store roles.
//! - [`procfs`]: reading `/proc` — descendants and process-group members (tests use it to
//!   prove nothing is left behind).
//! - `origin`: [`OriginProcess`] — `lasthop-origin keygen` + `serve` on SQLite files.
//! - `edge`: [`EdgeProcess`] — generated wrangler config and `.dev.vars`, `wrangler dev`.
//! - `stack`: [`Stack`] — origin and edge wired to each other.
//! - `http`: [`Client`], [`Reply`], readiness probes.
//! - [`browser`]: Debian's Chromium driven by a Node script with `playwright-core`
//!   (`tests/browser/`), for the page tests.
//! - [`pages`]: the seed's journey through the pages (hubs made through ops, then
//!   `tests/browser/journey.mjs`), shared by the page test, `cargo xtask screenshots` and the
//!   terminal latency bench.

// Tests may unwrap: a panic there is the failure report.
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod browser;
mod edge;
mod group;
mod http;
mod origin;
pub mod pages;
pub mod postgres;
pub mod procfs;
mod service;
mod stack;
pub mod workspace;

use std::collections::HashSet;
use std::net::TcpListener;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

pub use browser::BrowserRun;
pub use edge::{EdgeOptions, EdgeProcess, EdgeTls};
pub use http::{Client, Reply, Request};
pub use origin::{OriginOptions, OriginProcess, StoreUrls};
pub use stack::{Stack, StackOptions};
pub use ureq;
pub use workspace::Workspace;

/// Names the schemathesis CLI (`st`) the API fuzz test runs, where it is not `st` on PATH;
/// `cargo xtask test` sets it to the one `cargo xtask setup` installed.
pub const SCHEMATHESIS_ENV: &str = "LASTHOP_SCHEMATHESIS";

/// Everything that can go wrong while starting or stopping a process.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    /// A file-system or process operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A helper command (cargo build, keygen, edge-secrets) failed.
    #[error("{command} failed: {detail}")]
    Command {
        /// The command line, for the reader.
        command: String,
        /// Exit status and the tail of its output.
        detail: String,
    },
    /// The child exited before it answered `/healthz`; the detail carries the log's tail.
    #[error("{name} exited before it was ready: {detail}")]
    Exited {
        /// `origin` or `edge`.
        name: String,
        /// Exit status, log file and its last lines.
        detail: String,
    },
    /// The child did not answer `/healthz` with 200 in time; the detail carries the log's tail.
    #[error("{name} was not ready in time: {detail}")]
    NotReady {
        /// `origin` or `edge`.
        name: String,
        /// URL, time waited, last probe result, log file and its last lines.
        detail: String,
    },
    /// Startup was abandoned because the cancel flag was raised (Ctrl-C in `xtask dev`).
    #[error("{0} startup cancelled")]
    Cancelled(String),
    /// The repository is not laid out as expected (missing wrangler.toml, Worker not built, ...).
    #[error("{0}")]
    Layout(String),
    /// An HTTP exchange failed below the HTTP level (connection refused, timeout, bad JSON).
    #[error("HTTP {method} {url}: {detail}")]
    Http {
        /// Request method.
        method: String,
        /// Request URL.
        url: String,
        /// What went wrong.
        detail: String,
    },
}

impl LaunchError {
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            context: context.into(),
            source,
        }
    }
}

/// A TCP port on 127.0.0.1 that was free a moment ago and that this process has not handed
/// out before (so parallel tests in one binary never get the same port twice).
///
/// # Errors
/// When no port can be bound.
pub fn free_port() -> Result<u16, LaunchError> {
    static HANDED_OUT: OnceLock<Mutex<HashSet<u16>>> = OnceLock::new();
    let handed_out = HANDED_OUT.get_or_init(|| Mutex::new(HashSet::new()));
    for _ in 0..64 {
        let listener = TcpListener::bind(("127.0.0.1", 0))
            .map_err(|e| LaunchError::io("binding 127.0.0.1:0 to find a free port", e))?;
        let port = listener
            .local_addr()
            .map_err(|e| LaunchError::io("reading the bound port", e))?
            .port();
        // A poisoned lock only means another test panicked while holding it; the set is fine.
        let mut seen = handed_out.lock().unwrap_or_else(|p| p.into_inner());
        if seen.insert(port) {
            return Ok(port);
        }
    }
    Err(LaunchError::Layout(
        "no fresh free port after 64 tries".into(),
    ))
}

/// How long to wait for a child to answer `/healthz`: `LASTHOP_E2E_STARTUP_SECS` or 90 s
/// (workerd compiles the wasm on a cold start, which is slow on a busy 2-core machine).
pub fn startup_timeout() -> Duration {
    std::env::var("LASTHOP_E2E_STARTUP_SECS")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .map_or(Duration::from_secs(90), Duration::from_secs)
}

/// The last `lines` lines of a log file, or a note when it cannot be read.
pub fn log_tail(path: &std::path::Path, lines: usize) -> String {
    match std::fs::read(path) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            let all: Vec<&str> = text.lines().collect();
            all[all.len().saturating_sub(lines)..].join("\n")
        }
        Err(e) => format!("(cannot read {}: {e})", path.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_port_never_hands_out_the_same_port_twice() {
        let ports: Vec<u16> = (0..20).map(|_| free_port().unwrap()).collect();
        let unique: HashSet<u16> = ports.iter().copied().collect();
        assert_eq!(unique.len(), ports.len());
        assert!(ports.iter().all(|p| *p != 0));
    }

    #[test]
    fn log_tail_returns_only_the_last_lines() {
        let dir = std::env::temp_dir().join(format!("lasthop-e2e-tail-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("x.log");
        std::fs::write(&path, "one\ntwo\nthree\nfour\n").unwrap();
        assert_eq!(log_tail(&path, 2), "three\nfour");
        assert!(log_tail(&dir.join("missing.log"), 2).starts_with("(cannot read"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

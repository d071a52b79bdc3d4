//! The origin: `lasthop-origin keygen` once, then `lasthop-origin serve` on SQLite files in its
//! state directory, or on the store URLs it is given (e.g. PostgreSQL).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use crate::http::Client;
use crate::service::{loopback_url, port_or_free, prepare_state_dir, run_to_completion, Service};
use crate::{LaunchError, Workspace};

/// How to start an origin. Build with [`OriginOptions::new`] and adjust the public fields.
#[derive(Debug, Clone)]
pub struct OriginOptions {
    /// Where the SQLite files, keys (`master.keys`, `ops.token`) and `origin.log` live.
    /// Created when missing; keys are generated only when absent.
    pub state_dir: PathBuf,
    /// Port on 127.0.0.1; `None` picks a free one.
    pub port: Option<u16>,
    /// The edge's base URL, for revocation pushes (`--edge-url`).
    pub edge_url: Option<String>,
    /// `--platforms` (the origin's default is `demo`).
    pub platforms: Option<String>,
    /// The stores (`--directory-url`, `--vault-url`); `None` uses SQLite files in the state
    /// directory.
    pub stores: Option<StoreUrls>,
    /// The `lasthop-origin` binary to run; `None` uses [`Workspace::origin_binary`].
    pub binary: Option<PathBuf>,
    /// Extra environment for `serve` (e.g. `RUST_LOG`).
    pub env: Vec<(String, String)>,
    /// Extra arguments appended to `serve`.
    pub args: Vec<String>,
    /// How long to wait for `/healthz`.
    pub startup_timeout: Duration,
    /// When set and raised (e.g. by a signal handler), waiting for readiness stops early with
    /// [`LaunchError::Cancelled`].
    pub cancel: Option<Arc<AtomicBool>>,
}

impl OriginOptions {
    /// Defaults: a free port, no edge URL, the origin's default platforms.
    pub fn new(state_dir: impl Into<PathBuf>) -> Self {
        Self {
            state_dir: state_dir.into(),
            port: None,
            edge_url: None,
            platforms: None,
            stores: None,
            binary: None,
            env: Vec::new(),
            args: Vec::new(),
            startup_timeout: crate::startup_timeout(),
            cancel: None,
        }
    }
}

/// Where an origin keeps its two stores, as `serve` takes them.
#[derive(Debug, Clone)]
pub struct StoreUrls {
    /// `--directory-url`.
    pub directory: String,
    /// `--vault-url`.
    pub vault: String,
    /// `--vault-standby-url`, when the vault has a standby.
    pub vault_standby: Option<String>,
}

/// A running origin (its process group is stopped on drop).
#[derive(Debug)]
pub struct OriginProcess {
    options: OriginOptions,
    binary: PathBuf,
    port: u16,
    service: Service,
}

impl OriginProcess {
    /// Build (if needed) and start the origin, generating keys on first use, and wait until
    /// `GET /healthz` answers 200.
    ///
    /// # Errors
    /// When the build, key generation or start fails, or the origin does not become healthy.
    pub fn spawn(mut options: OriginOptions) -> Result<Self, LaunchError> {
        options.state_dir = prepare_state_dir(&options.state_dir)?;
        let binary = match &options.binary {
            Some(binary) => binary.clone(),
            None => Workspace::locate()?.origin_binary()?,
        };
        run_to_completion(
            Command::new(&binary)
                .arg("keygen")
                .arg("--dir")
                .arg(&options.state_dir),
            "lasthop-origin keygen",
        )?;
        let port = port_or_free(options.port)?;
        let service = Service::new(
            "origin",
            options.state_dir.join("origin.log"),
            format!("{}/healthz", loopback_url(port)),
        );
        let mut origin = Self {
            options,
            binary,
            port,
            service,
        };
        origin.start()?;
        Ok(origin)
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        loopback_url(self.port)
    }

    /// The port it listens on (kept across [`OriginProcess::restart`]).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A [`Client`] on [`OriginProcess::url`].
    pub fn client(&self) -> Client {
        Client::new(self.url())
    }

    /// The state directory (absolute).
    pub fn state_dir(&self) -> &Path {
        &self.options.state_dir
    }

    /// The master key ring file written by `keygen`.
    pub fn master_keys_file(&self) -> PathBuf {
        self.options.state_dir.join("master.keys")
    }

    /// The ops token file written by `keygen`.
    pub fn ops_token_file(&self) -> PathBuf {
        self.options.state_dir.join("ops.token")
    }

    /// The ops token (for the contract's ops endpoints).
    ///
    /// # Errors
    /// When the token file cannot be read.
    pub fn ops_token(&self) -> Result<String, LaunchError> {
        let path = self.ops_token_file();
        std::fs::read_to_string(&path)
            .map(|s| s.trim().to_string())
            .map_err(|e| LaunchError::io(format!("reading {}", path.display()), e))
    }

    /// The directory store's SQLite file (when no store URLs were given).
    pub fn directory_db(&self) -> PathBuf {
        self.options.state_dir.join("directory.db")
    }

    /// The vault store's SQLite file (when no store URLs were given).
    pub fn vault_db(&self) -> PathBuf {
        self.options.state_dir.join("vault.db")
    }

    /// The log file (stdout and stderr of every run, appended).
    pub fn log_path(&self) -> PathBuf {
        self.service.log_path().to_path_buf()
    }

    /// Everything the origin has logged so far.
    pub fn logs(&self) -> String {
        self.service.logs()
    }

    /// The path of the `lasthop-origin` binary in use.
    pub fn binary(&self) -> &Path {
        &self.binary
    }

    /// The `LASTHOP_EDGE_SECRETS=...` line for the Worker's `.dev.vars`, from
    /// `lasthop-origin edge-secrets`.
    ///
    /// # Errors
    /// When the command fails or prints no such line.
    pub fn edge_secrets_line(&self) -> Result<String, LaunchError> {
        let stdout = run_to_completion(
            Command::new(&self.binary)
                .arg("edge-secrets")
                .arg("--master-keys-file")
                .arg(self.master_keys_file()),
            "lasthop-origin edge-secrets",
        )?;
        stdout
            .lines()
            .map(str::trim)
            .find(|line| line.starts_with("LASTHOP_EDGE_SECRETS="))
            .map(str::to_string)
            .ok_or_else(|| LaunchError::Command {
                command: "lasthop-origin edge-secrets".into(),
                detail: "printed no LASTHOP_EDGE_SECRETS= line".into(),
            })
    }

    /// The leader's process id (also its process group id), while it runs.
    pub fn pid(&self) -> Option<i32> {
        self.service.pid()
    }

    /// Whether the origin process is still running.
    pub fn is_running(&mut self) -> bool {
        self.service.is_running()
    }

    /// Stop the origin's process group (SIGTERM, SIGKILL after a grace period). Idempotent.
    pub fn stop(&mut self) {
        self.service.stop();
    }

    /// `kill -9` of the origin (and anything it started), as a crash would end it. Idempotent.
    pub fn kill(&mut self) {
        self.service.kill();
    }

    /// Stop (if running) and start again on the same port and files; waits for `/healthz`.
    /// After [`OriginProcess::kill`] this is a plain start.
    ///
    /// # Errors
    /// When the origin does not come back healthy.
    pub fn restart(&mut self) -> Result<(), LaunchError> {
        self.stop();
        self.start()
    }

    fn start(&mut self) -> Result<(), LaunchError> {
        let state = &self.options.state_dir;
        let sqlite = |file: &str| format!("sqlite://{}?mode=rwc", state.join(file).display());
        let (directory_url, vault_url, standby_url) = match &self.options.stores {
            Some(stores) => (
                stores.directory.clone(),
                stores.vault.clone(),
                stores.vault_standby.clone(),
            ),
            None => (sqlite("directory.db"), sqlite("vault.db"), None),
        };
        let mut command = Command::new(&self.binary);
        command
            .current_dir(state)
            .arg("serve")
            .arg("--listen")
            .arg(format!("127.0.0.1:{}", self.port))
            .arg("--directory-url")
            .arg(directory_url)
            .arg("--vault-url")
            .arg(vault_url)
            .arg("--master-keys-file")
            .arg(self.master_keys_file())
            .arg("--ops-token-file")
            .arg(self.ops_token_file());
        if let Some(standby_url) = standby_url {
            command.arg("--vault-standby-url").arg(standby_url);
        }
        if let Some(edge_url) = &self.options.edge_url {
            command.arg("--edge-url").arg(edge_url);
        }
        if let Some(platforms) = &self.options.platforms {
            command.arg("--platforms").arg(platforms);
        }
        command.args(&self.options.args);
        command.envs(self.options.env.iter().map(|(k, v)| (k, v)));
        self.service.start(
            command,
            self.options.startup_timeout,
            self.options.cancel.as_deref(),
        )
    }
}

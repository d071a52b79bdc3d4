//! The edge: the built Worker under `wrangler dev` (real workerd), from a generated config.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use crate::http::Client;
use crate::service::{loopback_url, port_or_free, prepare_state_dir, Service};
use crate::{LaunchError, Workspace};

/// How to start the edge. Build with [`EdgeOptions::new`] and adjust the public fields.
#[derive(Debug, Clone)]
pub struct EdgeOptions {
    /// Where the generated `wrangler.toml` and `.dev.vars`, `edge.log` and the persisted
    /// Durable Object storage (`edge-state/`) live. Created when missing.
    pub state_dir: PathBuf,
    /// Port on 127.0.0.1; `None` picks a free one.
    pub port: Option<u16>,
    /// Port for workerd's inspector; `None` picks a free one (so parallel edges never clash).
    pub inspector_port: Option<u16>,
    /// The origin's base URL (`--var ORIGIN_URL:<url>`).
    pub origin_url: String,
    /// The `LASTHOP_EDGE_SECRETS=...` line (from [`crate::OriginProcess::edge_secrets_line`]),
    /// written to `.dev.vars`.
    pub edge_secrets_line: String,
    /// More `--var NAME:VALUE` pairs (e.g. `SCANNER_RATE_PER_MINUTE`).
    pub vars: Vec<(String, String)>,
    /// How long to wait for `/healthz` (workerd compiles the wasm on start).
    pub startup_timeout: Duration,
    /// When set and raised (e.g. by a signal handler), waiting for readiness stops early with
    /// [`LaunchError::Cancelled`].
    pub cancel: Option<Arc<AtomicBool>>,
    /// The Worker's entry module; `None` runs the deployed build,
    /// [`Workspace::worker_shim`]. `cargo xtask bench` points it at the bench build.
    pub worker_shim: Option<PathBuf>,
    /// Serve HTTPS (`--local-protocol https`) with this certificate instead of HTTP.
    pub tls: Option<EdgeTls>,
}

/// The certificate an HTTPS edge is served with ([`EdgeTls::self_signed`] makes one).
#[derive(Debug, Clone)]
pub struct EdgeTls {
    /// PEM certificate for `127.0.0.1` and `localhost`.
    pub cert: PathBuf,
    /// Its PEM private key.
    pub key: PathBuf,
}

impl EdgeTls {
    /// A new self-signed certificate for `127.0.0.1` and `localhost`, written into `dir`.
    ///
    /// # Errors
    /// When it cannot be made or written.
    pub fn self_signed(dir: &Path) -> Result<Self, LaunchError> {
        let made = rcgen::generate_simple_self_signed(vec![
            "127.0.0.1".to_owned(),
            "localhost".to_owned(),
        ])
        .map_err(|e| LaunchError::Layout(format!("a self-signed certificate: {e}")))?;
        std::fs::create_dir_all(dir).map_err(|e| LaunchError::io("creating the TLS dir", e))?;
        let tls = Self {
            cert: dir.join("edge-cert.pem"),
            key: dir.join("edge-key.pem"),
        };
        write(&tls.cert, &made.cert.pem())?;
        write(&tls.key, &made.key_pair.serialize_pem())?;
        Ok(tls)
    }

    /// A client configuration that trusts this certificate and nothing else.
    ///
    /// # Errors
    /// When the certificate cannot be read.
    pub fn client_config(&self) -> Result<Arc<rustls::ClientConfig>, LaunchError> {
        let pem = std::fs::read(&self.cert)
            .map_err(|e| LaunchError::io("reading the edge's certificate", e))?;
        crate::http::trusting(&pem)
    }
}

impl EdgeOptions {
    /// Defaults: free ports, no extra vars.
    pub fn new(
        state_dir: impl Into<PathBuf>,
        origin_url: impl Into<String>,
        edge_secrets_line: impl Into<String>,
    ) -> Self {
        Self {
            state_dir: state_dir.into(),
            port: None,
            inspector_port: None,
            origin_url: origin_url.into(),
            edge_secrets_line: edge_secrets_line.into(),
            vars: Vec::new(),
            startup_timeout: crate::startup_timeout(),
            cancel: None,
            worker_shim: None,
            tls: None,
        }
    }
}

/// A running `wrangler dev` (its process group, workerd included, is stopped on drop).
#[derive(Debug)]
pub struct EdgeProcess {
    options: EdgeOptions,
    port: u16,
    inspector_port: u16,
    service: Service,
    /// Client TLS trusting the edge's certificate, when it serves HTTPS.
    client_tls: Option<Arc<rustls::ClientConfig>>,
}

impl EdgeProcess {
    /// Write the generated config and `.dev.vars`, start `wrangler dev` and wait until
    /// `GET /healthz` answers 200. The Worker must be built (`cargo xtask build-edge`).
    ///
    /// # Errors
    /// When the Worker is not built, wrangler is not installed, or the edge does not become
    /// healthy.
    pub fn spawn(mut options: EdgeOptions) -> Result<Self, LaunchError> {
        let workspace = Workspace::locate()?;
        options.state_dir = prepare_state_dir(&options.state_dir)?;
        let shim = options
            .worker_shim
            .clone()
            .unwrap_or_else(|| workspace.worker_shim());
        if !shim.is_file() {
            return Err(LaunchError::Layout(format!(
                "the Worker is not built ({} is missing): run `cargo xtask build-edge`",
                shim.display()
            )));
        }
        let wrangler = workspace.node_bin("wrangler");
        if !wrangler.is_file() {
            return Err(LaunchError::Layout(format!(
                "{} is missing: run `cargo xtask setup` (npm ci)",
                wrangler.display()
            )));
        }
        let template = std::fs::read_to_string(workspace.wrangler_toml())
            .map_err(|e| LaunchError::io("reading wrangler.toml", e))?;
        let config = generated_config(&template, &shim, &workspace.pages_dir())?;
        write(&options.state_dir.join("wrangler.toml"), &config)?;
        write(
            &options.state_dir.join(".dev.vars"),
            &format!("{}\n", options.edge_secrets_line.trim()),
        )?;
        let port = port_or_free(options.port)?;
        let inspector_port = port_or_free(options.inspector_port)?;
        let client_tls = options
            .tls
            .as_ref()
            .map(EdgeTls::client_config)
            .transpose()?;
        let service = Service::new(
            "edge",
            options.state_dir.join("edge.log"),
            format!("{}/healthz", edge_url(port, options.tls.is_some())),
        )
        .with_tls(client_tls.clone());
        let mut edge = Self {
            options,
            port,
            inspector_port,
            service,
            client_tls,
        };
        edge.start(&wrangler)?;
        Ok(edge)
    }

    /// `http://127.0.0.1:<port>`, or `https://…` when it serves HTTPS.
    pub fn url(&self) -> String {
        edge_url(self.port, self.options.tls.is_some())
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// workerd's inspector port.
    pub fn inspector_port(&self) -> u16 {
        self.inspector_port
    }

    /// A [`Client`] on [`EdgeProcess::url`].
    pub fn client(&self) -> Client {
        Client::with_tls(self.url(), self.client_tls.as_ref())
    }

    /// The state directory (absolute).
    pub fn state_dir(&self) -> &Path {
        &self.options.state_dir
    }

    /// Where workerd persists the edge's local storage (`--persist-to`): scan it to prove what
    /// the Durable Objects store.
    pub fn persist_dir(&self) -> PathBuf {
        self.options.state_dir.join("edge-state")
    }

    /// The log file (wrangler's and workerd's output, including `console` lines).
    pub fn log_path(&self) -> PathBuf {
        self.service.log_path().to_path_buf()
    }

    /// Everything the edge has logged so far.
    pub fn logs(&self) -> String {
        self.service.logs()
    }

    /// The leader's process id (also its process group id), while it runs.
    pub fn pid(&self) -> Option<i32> {
        self.service.pid()
    }

    /// Whether `wrangler dev` is still running.
    pub fn is_running(&mut self) -> bool {
        self.service.is_running()
    }

    /// Stop wrangler and workerd (SIGTERM to the group, SIGKILL after a grace period).
    /// Idempotent.
    pub fn stop(&mut self) {
        self.service.stop();
    }

    /// Stop (if running) and start again on the same ports and storage.
    ///
    /// # Errors
    /// When the edge does not come back healthy.
    pub fn restart(&mut self) -> Result<(), LaunchError> {
        self.stop();
        let wrangler = Workspace::locate()?.node_bin("wrangler");
        self.start(&wrangler)
    }

    fn start(&mut self, wrangler: &Path) -> Result<(), LaunchError> {
        let state = &self.options.state_dir;
        let mut command = Command::new(wrangler);
        command
            .current_dir(state)
            .env("WRANGLER_SEND_METRICS", "false")
            .env("NO_COLOR", "1")
            .arg("dev")
            .arg("--config")
            .arg(state.join("wrangler.toml"))
            .args(["--ip", "127.0.0.1"])
            .arg("--port")
            .arg(self.port.to_string())
            .arg("--inspector-port")
            .arg(self.inspector_port.to_string())
            .arg("--persist-to")
            .arg(self.persist_dir())
            .arg("--show-interactive-dev-session=false")
            .arg("--var")
            .arg(format!("ORIGIN_URL:{}", self.options.origin_url));
        for (name, value) in &self.options.vars {
            command.arg("--var").arg(format!("{name}:{value}"));
        }
        if let Some(tls) = &self.options.tls {
            command
                .args(["--local-protocol", "https"])
                .arg("--https-key-path")
                .arg(&tls.key)
                .arg("--https-cert-path")
                .arg(&tls.cert);
        }
        self.service.start(
            command,
            self.options.startup_timeout,
            self.options.cancel.as_deref(),
        )
    }
}

/// The edge's URL on `port`: `https://` when it serves TLS.
pub fn edge_url(port: u16, tls: bool) -> String {
    if tls {
        format!("https://127.0.0.1:{port}")
    } else {
        loopback_url(port)
    }
}

/// `wrangler.toml` with its top-level `main` pointing at the absolute shim path and its
/// `[assets]` `directory` at the absolute pages directory, so the copy works from any
/// directory. The rest of the file (bindings, migrations, vars) is kept verbatim.
fn generated_config(template: &str, shim: &Path, pages: &Path) -> Result<String, LaunchError> {
    // JSON string escapes are valid TOML basic-string escapes.
    let quoted = |path: &Path| serde_json::Value::String(path.display().to_string()).to_string();
    let mut main_replaced = false;
    let mut assets_replaced = false;
    let mut table: Option<String> = None;
    let lines: Vec<String> = template
        .lines()
        .map(|line| {
            let trimmed = line.trim_start();
            if trimmed.starts_with('[') {
                table = Some(trimmed.trim_end().to_string());
            }
            let key_is = |key: &str| {
                trimmed
                    .strip_prefix(key)
                    .is_some_and(|rest| rest.trim_start().starts_with('='))
            };
            if table.is_none() && !main_replaced && key_is("main") {
                main_replaced = true;
                format!("main = {}", quoted(shim))
            } else if table.as_deref() == Some("[assets]") && key_is("directory") {
                assets_replaced = true;
                format!("directory = {}", quoted(pages))
            } else {
                line.to_string()
            }
        })
        .collect();
    if !main_replaced {
        return Err(LaunchError::Layout(
            "wrangler.toml has no top-level `main = ...` line".into(),
        ));
    }
    if !assets_replaced {
        return Err(LaunchError::Layout(
            "wrangler.toml has no `[assets]` table with a `directory = ...` line".into(),
        ));
    }
    Ok(lines.join("\n") + "\n")
}

fn write(path: &Path, contents: &str) -> Result<(), LaunchError> {
    std::fs::write(path, contents)
        .map_err(|e| LaunchError::io(format!("writing {}", path.display()), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_config_points_main_and_assets_at_absolute_paths_and_keeps_the_rest() {
        let template = "# c\nname = \"x\"\nmain = \"edge/build/worker/shim.mjs\"\n\n[assets]\ndirectory = \"pages\"\nbinding = \"ASSETS\"\n\n[vars]\nmain = \"not me\"\ndirectory = \"nor me\"\n";
        let out = generated_config(
            template,
            Path::new("/abs/edge/build/worker/shim.mjs"),
            Path::new("/abs/pages"),
        )
        .unwrap();
        assert_eq!(
            out,
            "# c\nname = \"x\"\nmain = \"/abs/edge/build/worker/shim.mjs\"\n\n[assets]\ndirectory = \"/abs/pages\"\nbinding = \"ASSETS\"\n\n[vars]\nmain = \"not me\"\ndirectory = \"nor me\"\n"
        );
    }

    #[test]
    fn generated_config_from_the_real_wrangler_toml_keeps_the_bindings() {
        let ws = Workspace::locate().unwrap();
        let template = std::fs::read_to_string(ws.wrangler_toml()).unwrap();
        let out = generated_config(&template, &ws.worker_shim(), &ws.pages_dir()).unwrap();
        let expected_main = format!("main = \"{}\"", ws.worker_shim().display());
        assert!(out.lines().any(|l| l == expected_main), "{out}");
        let expected_assets = format!("directory = \"{}\"", ws.pages_dir().display());
        assert!(out.lines().any(|l| l == expected_assets), "{out}");
        assert!(out.contains("binding = \"ASSETS\""));
        assert!(out.contains("run_worker_first = true"));
        assert!(out.contains("class_name = \"OrderObject\""));
        assert!(out.contains("class_name = \"ScannerGate\""));
    }

    #[test]
    fn a_config_without_assets_is_rejected() {
        let template = "main = \"a.mjs\"\n";
        assert!(generated_config(template, Path::new("/a.mjs"), Path::new("/p")).is_err());
    }

    #[test]
    fn a_config_without_main_is_rejected() {
        let template = "name = \"x\"\n[assets]\ndirectory = \"pages\"\n";
        assert!(generated_config(template, Path::new("/a.mjs"), Path::new("/p")).is_err());
    }
}

//! Origin and edge started together and wired to each other.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use crate::service::port_or_free;
use crate::{EdgeOptions, EdgeProcess, LaunchError, OriginOptions, OriginProcess, StoreUrls};

/// How to start both services. Build with [`StackOptions::new`].
#[derive(Debug, Clone)]
pub struct StackOptions {
    /// One directory for both: origin SQLite files and keys, the generated wrangler config,
    /// `.dev.vars`, `edge-state/`, `origin.log`, `edge.log`.
    pub state_dir: PathBuf,
    /// Origin port; `None` picks a free one.
    pub origin_port: Option<u16>,
    /// Edge port; `None` picks a free one.
    pub edge_port: Option<u16>,
    /// Extra `--var NAME:VALUE` pairs for the Worker.
    pub edge_vars: Vec<(String, String)>,
    /// Extra environment for the origin.
    pub origin_env: Vec<(String, String)>,
    /// The origin's stores; `None` uses SQLite files in the state directory.
    pub origin_stores: Option<StoreUrls>,
    /// The origin binary; `None` builds the debug one.
    pub origin_binary: Option<PathBuf>,
    /// Readiness timeout for each service.
    pub startup_timeout: Duration,
    /// Raised to abandon startup early (see [`crate::OriginOptions::cancel`]).
    pub cancel: Option<Arc<AtomicBool>>,
    /// The Worker to run (see [`crate::EdgeOptions::worker_shim`]).
    pub worker_shim: Option<PathBuf>,
    /// Start the origin without the edge's URL, so no revocation push ever reaches the edge.
    pub block_revocation_pushes: bool,
    /// Serve the edge over HTTPS with this certificate; the origin trusts it explicitly
    /// (`LASTHOP_EDGE_CA_FILE`) for its pushes, and the clients do.
    pub edge_tls: Option<crate::edge::EdgeTls>,
}

impl StackOptions {
    /// Free ports, no extras.
    pub fn new(state_dir: impl Into<PathBuf>) -> Self {
        Self {
            state_dir: state_dir.into(),
            origin_port: None,
            edge_port: None,
            edge_vars: Vec::new(),
            origin_env: Vec::new(),
            origin_stores: None,
            origin_binary: None,
            startup_timeout: crate::startup_timeout(),
            cancel: None,
            worker_shim: None,
            block_revocation_pushes: false,
            edge_tls: None,
        }
    }
}

/// A running origin and edge. Dropping it stops the edge, then the origin.
#[derive(Debug)]
pub struct Stack {
    /// The Worker under `wrangler dev`. Declared first so it is dropped first.
    pub edge: EdgeProcess,
    /// The origin vault.
    pub origin: OriginProcess,
}

impl Stack {
    /// Start the origin (told the edge's URL), then the edge (told the origin's URL and given
    /// the edge secrets derived from the origin's master keys); both healthy on return.
    ///
    /// # Errors
    /// When either service fails to start; whatever did start is stopped again.
    pub fn spawn(options: StackOptions) -> Result<Self, LaunchError> {
        // Both URLs are needed before either starts, so both ports are chosen up front.
        let edge_port = port_or_free(options.edge_port)?;
        let mut origin_options = OriginOptions::new(&options.state_dir);
        origin_options.port = options.origin_port;
        let tls = options.edge_tls.is_some();
        origin_options.edge_url =
            (!options.block_revocation_pushes).then(|| crate::edge::edge_url(edge_port, tls));
        origin_options.env = options.origin_env;
        if let Some(edge_tls) = &options.edge_tls {
            origin_options.env.push((
                "LASTHOP_EDGE_CA_FILE".to_owned(),
                edge_tls.cert.display().to_string(),
            ));
        }
        origin_options.stores = options.origin_stores;
        origin_options.binary = options.origin_binary;
        origin_options.startup_timeout = options.startup_timeout;
        origin_options.cancel.clone_from(&options.cancel);
        let origin = OriginProcess::spawn(origin_options)?;

        let mut edge_options = EdgeOptions::new(
            &options.state_dir,
            origin.url(),
            origin.edge_secrets_line()?,
        );
        edge_options.port = Some(edge_port);
        edge_options.vars = options.edge_vars;
        edge_options.startup_timeout = options.startup_timeout;
        edge_options.cancel = options.cancel;
        edge_options.worker_shim = options.worker_shim;
        edge_options.tls = options.edge_tls;
        let edge = EdgeProcess::spawn(edge_options)?;
        Ok(Self { edge, origin })
    }

    /// Stop the edge, then the origin.
    pub fn stop(&mut self) {
        self.edge.stop();
        self.origin.stop();
    }
}

//! Every binding name and setting of the Worker, read in one place.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use lasthop_core::keys::EdgeSecrets;
use worker::{Env, ObjectNamespace};

use crate::error::EdgeError;

/// Durable Object namespace of [`crate::order_object::OrderObject`], one per order id.
pub const ORDERS: &str = "ORDERS";
/// Durable Object namespace of [`crate::scanner_gate::ScannerGate`], one per scanner id.
pub const SCANNERS: &str = "SCANNERS";
/// The pages' static files (`[assets]` binding, see [`crate::pages`]).
pub const ASSETS: &str = "ASSETS";
/// Base URL of the origin vault (var).
pub const ORIGIN_URL: &str = "ORIGIN_URL";
/// `lasthop-origin edge-secrets` output (secret).
pub const EDGE_SECRETS: &str = "LASTHOP_EDGE_SECRETS";
/// Scans a scanner may make a minute, with the same burst (var).
pub const SCANNER_RATE_PER_MINUTE: &str = "SCANNER_RATE_PER_MINUTE";

/// How long the edge waits for the origin's answer, in milliseconds (var).
pub const ORIGIN_TIMEOUT_MS: &str = "ORIGIN_TIMEOUT_MS";

/// The origin timeout when the var is absent or not a positive number.
pub const DEFAULT_ORIGIN_TIMEOUT: Duration = Duration::from_secs(10);

/// The rate when the var is absent or not a positive number.
pub const DEFAULT_SCANNER_RATE_PER_MINUTE: u32 = 120;

/// The largest request body the edge reads; anything above answers 413.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The Worker's settings for one request.
#[derive(Clone)]
pub struct EdgeConfig {
    /// Origin base URL without a trailing slash.
    pub origin_url: String,
    /// Keys shared with the origin (verification and signing only; never the master).
    pub secrets: Rc<EdgeSecrets>,
    /// Per-scanner token-bucket rate.
    pub scanner_rate_per_minute: u32,
    /// How long a call to the origin may take before the edge answers 503.
    pub origin_timeout: Duration,
}

thread_local! {
    // Decoding the secrets parses JSON and Ed25519 public keys; an isolate serves many requests,
    // so keep the decoded value next to the text it came from and reuse it while that is unchanged.
    static SECRETS: RefCell<Option<(String, Rc<EdgeSecrets>)>> = const { RefCell::new(None) };
}

impl EdgeConfig {
    /// Reads the vars and the secret.
    ///
    /// # Errors
    /// [`EdgeError::Internal`] when a binding is missing or the secret does not decode: a
    /// deployment fault, answered as 503 without details.
    pub fn load(env: &Env) -> Result<Self, EdgeError> {
        let origin_url = env
            .var(ORIGIN_URL)
            .map_err(|_| EdgeError::internal("the ORIGIN_URL var is missing"))?
            .to_string()
            .trim_end_matches('/')
            .to_owned();
        let scanner_rate_per_minute = env
            .var(SCANNER_RATE_PER_MINUTE)
            .ok()
            .and_then(|v| v.to_string().trim().parse::<u32>().ok())
            .filter(|rate| *rate > 0)
            .unwrap_or(DEFAULT_SCANNER_RATE_PER_MINUTE);
        let origin_timeout = env
            .var(ORIGIN_TIMEOUT_MS)
            .ok()
            .and_then(|v| v.to_string().trim().parse::<u64>().ok())
            .filter(|ms| *ms > 0)
            .map_or(DEFAULT_ORIGIN_TIMEOUT, Duration::from_millis);
        Ok(Self {
            origin_url,
            secrets: secrets(env)?,
            scanner_rate_per_minute,
            origin_timeout,
        })
    }
}

fn secrets(env: &Env) -> Result<Rc<EdgeSecrets>, EdgeError> {
    let text = env
        .secret(EDGE_SECRETS)
        .map_err(|_| EdgeError::internal("the LASTHOP_EDGE_SECRETS secret is missing"))?
        .to_string();
    let cached = SECRETS.with(|cell| {
        cell.borrow()
            .as_ref()
            .filter(|(raw, _)| *raw == text)
            .map(|(_, secrets)| Rc::clone(secrets))
    });
    if let Some(secrets) = cached {
        return Ok(secrets);
    }
    let decoded = EdgeSecrets::decode(text.trim())
        .map_err(|_| EdgeError::internal("the LASTHOP_EDGE_SECRETS secret does not decode"))?;
    let decoded = Rc::new(decoded);
    SECRETS.with(|cell| *cell.borrow_mut() = Some((text, Rc::clone(&decoded))));
    Ok(decoded)
}

/// The order objects' namespace.
///
/// # Errors
/// When the binding is missing (deployment fault).
pub fn orders(env: &Env) -> Result<ObjectNamespace, EdgeError> {
    env.durable_object(ORDERS)
        .map_err(|_| EdgeError::internal("the ORDERS binding is missing"))
}

/// The scanner gates' namespace.
///
/// # Errors
/// When the binding is missing (deployment fault).
pub fn scanners(env: &Env) -> Result<ObjectNamespace, EdgeError> {
    env.durable_object(SCANNERS)
        .map_err(|_| EdgeError::internal("the SCANNERS binding is missing"))
}

//! Prometheus metrics, held in the application state (no global recorder, so tests can
//! build many apps side by side). Labels are route templates and outcomes, never ids.

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

/// The method as a metric label: the standard methods by name, anything else `other`, so a
/// client inventing methods cannot create new series (each would stay in memory for good).
pub fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// Labels of one answered request.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// HTTP method ([`method_label`]).
    pub method: String,
    /// The matched route template, e.g. `/v1/ops/scanners/{scanner_id}`.
    pub route: String,
    /// Status code.
    pub status: u16,
}

/// Labels of one release attempt.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReleaseLabels {
    /// `released` or the error code.
    pub outcome: String,
}

/// Labels of one refused release, delivery or renewal.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RefusalLabels {
    /// `release`, `delivery` or `renewal`.
    pub endpoint: String,
    /// A fixed reason word.
    pub reason: String,
}

/// The origin's metrics.
pub struct Metrics {
    registry: Registry,
    /// Requests by route and status.
    pub requests: Family<RequestLabels, Counter>,
    /// Request latency in seconds by route.
    pub latency: Family<RequestLabels, Histogram>,
    /// Release attempts by outcome.
    pub releases: Family<ReleaseLabels, Counter>,
    /// Refused custody calls by endpoint and reason.
    pub custody_refusals: Family<RefusalLabels, Counter>,
    /// The vault and its temporary table.
    pub vault: VaultMetrics,
    /// Number rotation.
    pub numbers: NumberMetrics,
}

/// Number rotation (see [`crate::numbers`]).
#[derive(Default)]
pub struct NumberMetrics {
    /// Shared records given a new number (periodic job and ops call).
    pub rotated: Counter,
    /// Interrupted rotations finished by the job.
    pub resumed: Counter,
}

/// How the vault is doing: where it can be written and read, and what waits for it.
#[derive(Default)]
pub struct VaultMetrics {
    /// Records waiting in the temporary table.
    pub temporary_table_depth: Gauge,
    /// Age in seconds of the oldest record waiting (0 when none waits).
    pub temporary_table_oldest_age_seconds: Gauge<f64, AtomicU64>,
    /// 1 while a vault server takes writes.
    pub writable: Gauge,
    /// 1 while a vault server answers reads (the primary or the standby).
    pub readable: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("lasthop_origin");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<RequestLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.000_1, 2.0, 16))
        });
        let releases = Family::<ReleaseLabels, Counter>::default();
        registry.register("http_requests", "HTTP requests answered", requests.clone());
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency",
            latency.clone(),
        );
        registry.register("releases", "Release attempts by outcome", releases.clone());
        let custody_refusals = Family::<RefusalLabels, Counter>::default();
        registry.register(
            "custody_refusals",
            "Refused releases, deliveries and renewals by reason",
            custody_refusals.clone(),
        );
        let vault = VaultMetrics::default();
        registry.register(
            "temporary_table_depth",
            "Vault records waiting in the temporary table",
            vault.temporary_table_depth.clone(),
        );
        registry.register(
            "temporary_table_oldest_age_seconds",
            "Age of the oldest record waiting in the temporary table",
            vault.temporary_table_oldest_age_seconds.clone(),
        );
        registry.register(
            "vault_writable",
            "1 while a vault server takes writes",
            vault.writable.clone(),
        );
        registry.register(
            "vault_readable",
            "1 while a vault server answers reads",
            vault.readable.clone(),
        );
        let numbers = NumberMetrics::default();
        registry.register(
            "numbers_rotated",
            "Shared vault records given a new number",
            numbers.rotated.clone(),
        );
        registry.register(
            "number_rotations_resumed",
            "Interrupted number rotations finished",
            numbers.resumed.clone(),
        );
        Self {
            registry,
            requests,
            latency,
            releases,
            custody_refusals,
            vault,
            numbers,
        }
    }
}

impl Metrics {
    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail; an encoding error would be a bug in a metric type.
        if encode(&mut out, &self.registry).is_err() {
            tracing::error!("metrics encoding failed");
        }
        out
    }
}

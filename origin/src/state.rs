//! Shared application state: stores, derived keys, settings, clock and metrics.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use lasthop_core::time::Timestamp;

use crate::config::{ExposeSecret as _, SecretString};
use crate::metrics::Metrics;
use crate::store::Stores;
use lasthop_core::credential::CredentialVerifier;
use lasthop_core::keys::OriginKeys;

/// The clock, injectable so tests can make credentials expire. It reads the system time
/// plus an offset that tests may advance.
#[derive(Clone, Default)]
pub struct Clock {
    offset_ms: Arc<AtomicI64>,
}

impl Clock {
    /// The current time.
    pub fn now(&self) -> Timestamp {
        let system = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        Timestamp::from_unix_millis(system.saturating_add(self.offset_ms.load(Ordering::Relaxed)))
    }

    /// Moves this clock (and every clone of it) forward.
    pub fn advance(&self, by: Duration) {
        let ms = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        self.offset_ms.fetch_add(ms, Ordering::Relaxed);
    }
}

/// The chain of custody's settings.
#[derive(Debug, Clone, Copy)]
pub struct CustodySettings {
    /// How long a device-bound scanner credential lives (one shift).
    pub device_scanner_ttl: Duration,
    /// Releases a scanner may ask for a minute (and burst).
    pub release_rate_per_minute: u32,
    /// Plaintext recipients for scanners without a device (legacy, insecure).
    pub legacy_plaintext_recipients: bool,
}

impl Default for CustodySettings {
    fn default() -> Self {
        Self {
            device_scanner_ttl: Duration::from_secs(12 * 3600),
            release_rate_per_minute: 60,
            legacy_plaintext_recipients: false,
        }
    }
}

/// A rate limiter per scanner id (GCRA, in memory: a restarted origin starts with full buckets).
pub type ScannerRateLimiter = governor::DefaultKeyedRateLimiter<String>;

/// Everything a handler needs; cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

struct Inner {
    stores: Stores,
    keys: OriginKeys,
    verifier: CredentialVerifier,
    ops_token: SecretString,
    platforms: Vec<String>,
    release_ttl: Duration,
    scanner_ttl: Duration,
    custody: CustodySettings,
    release_limiter: ScannerRateLimiter,
    clock: Clock,
    metrics: Metrics,
    outbox_wake: tokio::sync::Notify,
}

/// The parts [`AppState::new`] takes.
pub struct StateParts {
    /// Both stores.
    pub stores: Stores,
    /// Keys derived from the master ring.
    pub keys: OriginKeys,
    /// Ops bearer token.
    pub ops_token: SecretString,
    /// Platform slugs served.
    pub platforms: Vec<String>,
    /// How long a terminal may keep a released recipient.
    pub release_ttl: Duration,
    /// How long a scanner credential stays valid.
    pub scanner_ttl: Duration,
    /// The chain of custody's settings.
    pub custody: CustodySettings,
    /// The clock.
    pub clock: Clock,
}

impl AppState {
    /// Assembles the state.
    pub fn new(parts: StateParts) -> Self {
        Self(Arc::new(Inner {
            stores: parts.stores,
            verifier: parts.keys.credentials.verifier(),
            keys: parts.keys,
            ops_token: parts.ops_token,
            platforms: parts.platforms,
            release_ttl: parts.release_ttl,
            scanner_ttl: parts.scanner_ttl,
            release_limiter: governor::RateLimiter::keyed(governor::Quota::per_minute(
                std::num::NonZeroU32::new(parts.custody.release_rate_per_minute)
                    .unwrap_or(std::num::NonZeroU32::MIN),
            )),
            custody: parts.custody,
            clock: parts.clock,
            metrics: Metrics::default(),
            outbox_wake: tokio::sync::Notify::new(),
        }))
    }

    /// Both stores.
    pub fn stores(&self) -> &Stores {
        &self.0.stores
    }

    /// Derived keys.
    pub fn keys(&self) -> &OriginKeys {
        &self.0.keys
    }

    /// Verifies scanner and session credentials.
    pub fn verifier(&self) -> &CredentialVerifier {
        &self.0.verifier
    }

    /// The ops token (compare in constant time).
    pub fn ops_token(&self) -> &str {
        self.0.ops_token.expose_secret()
    }

    /// Whether a platform slug is served here.
    pub fn serves_platform(&self, platform: &str) -> bool {
        self.0.platforms.iter().any(|p| p == platform)
    }

    /// Release time-to-live.
    pub fn release_ttl(&self) -> Duration {
        self.0.release_ttl
    }

    /// Scanner credential lifetime.
    pub fn scanner_ttl(&self) -> Duration {
        self.0.scanner_ttl
    }

    /// The chain of custody's settings.
    pub fn custody(&self) -> &CustodySettings {
        &self.0.custody
    }

    /// The per-scanner release rate limiter.
    pub fn release_limiter(&self) -> &ScannerRateLimiter {
        &self.0.release_limiter
    }

    /// The current time.
    pub fn now(&self) -> Timestamp {
        self.0.clock.now()
    }

    /// Metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.0.metrics
    }

    /// Wakes the revocation outbox so a new revocation is pushed now, not at the next tick.
    pub fn wake_outbox(&self) {
        self.0.outbox_wake.notify_one();
    }

    /// Resolves when [`AppState::wake_outbox`] was called (a call before the wait counts).
    pub async fn outbox_woken(&self) {
        self.0.outbox_wake.notified().await;
    }
}

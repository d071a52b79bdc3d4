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

//! `ScannerGate`: one Durable Object per scanner id. It holds the scanner's revocation flag
//! (pushed by the origin, persisted), the device nonces it admitted within the signature window
//! (persisted: one use per nonce per scanner, even across an eviction), and a token bucket for
//! its scans (in memory: an evicted object has been idle long enough for the bucket to be full
//! again). Every courier request
//! passes through the gate of its scanner before its order is touched, so a stolen scanner can
//! neither keep scanning after revocation nor enumerate orders faster than the rate.

use std::cell::{Cell, RefCell};

use lasthop_core::api::{ErrorBody, ErrorCode};
use serde::{Deserialize, Serialize};
use worker::{durable_object, DurableObject, Env, Method, Request, RequestInit, Response, State};

use crate::error::EdgeError;
use crate::http;

const REVOKED_KEY: &str = "revoked";
const NONCES_KEY: &str = "push_nonces";
const DEVICE_NONCES_KEY: &str = "device_nonces";
/// Push nonces older than this are forgotten; the signature window (±60 s) rejects them anyway.
const NONCE_MEMORY_SECS: i64 = 180;

/// What the Worker asks its scanner's gate.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum GateCommand {
    /// Admit one scan: 204, or 401 when revoked or for a device nonce seen before, or 429
    /// with `Retry-After`.
    Admit {
        /// Scans a minute (and burst).
        rate_per_minute: u32,
        /// The device signature's nonce (device-bound scanners).
        #[serde(default)]
        nonce: Option<String>,
    },
    /// Revoke the scanner (from a verified origin push): 204, or 401 for a replayed nonce.
    Revoke {
        /// The push's nonce, remembered to refuse replays.
        nonce: String,
        /// The push's time (unix seconds).
        at: i64,
    },
}

/// Asks the gate of `scanner_id`.
///
/// # Errors
/// The gate's refusal (401, 429) or an internal fault.
pub async fn ask(env: &Env, scanner_id: &str, command: &GateCommand) -> Result<(), EdgeError> {
    let stub = crate::config::scanners(env)?
        .id_from_name(scanner_id)?
        .get_stub()?;
    let body = serde_json::to_string(command)
        .map_err(|_| EdgeError::internal("encoding a gate command"))?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post).with_body(Some(body.into()));
    let request = Request::new_with_init("https://gate/", &init)?;
    let mut response = stub.fetch_with_request(request).await?;
    match response.status_code() {
        204 => Ok(()),
        429 => {
            let retry_after = response
                .headers()
                .get("retry-after")
                .ok()
                .flatten()
                .and_then(|v| v.parse().ok())
                .unwrap_or(1);
            Err(EdgeError::rate_limited(retry_after))
        }
        401 => match response.json::<ErrorBody>().await {
            Ok(body) if body.error == ErrorCode::Unauthorized => Err(EdgeError::Api(body)),
            _ => Err(EdgeError::internal("the scanner gate answered oddly")),
        },
        _ => {
            let _ = response.text().await;
            Err(EdgeError::internal("the scanner gate failed"))
        }
    }
}

/// A token bucket: `rate` tokens a minute, holding at most `rate`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TokenBucket {
    tokens: f64,
    updated_ms: i64,
}

impl TokenBucket {
    /// A full bucket at `now_ms`.
    pub fn full(rate_per_minute: u32, now_ms: i64) -> Self {
        Self {
            tokens: f64::from(rate_per_minute),
            updated_ms: now_ms,
        }
    }

    /// Takes one token, or says in how many whole seconds one will be there.
    ///
    /// # Errors
    /// The seconds to wait (at least 1).
    pub fn take(&mut self, rate_per_minute: u32, now_ms: i64) -> Result<(), u32> {
        let capacity = f64::from(rate_per_minute.max(1));
        let per_ms = capacity / 60_000.0;
        // A clock that steps back must not drain the bucket.
        let elapsed = (now_ms - self.updated_ms).max(0) as f64;
        self.tokens = (self.tokens + elapsed * per_ms).min(capacity);
        self.updated_ms = now_ms.max(self.updated_ms);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            let wait_ms = (1.0 - self.tokens) / per_ms;
            // Whole seconds, rounded up; bounded by a minute for any rate ≥ 1.
            Err(((wait_ms / 1000.0).ceil() as u32).max(1))
        }
    }
}

/// Records `nonce` seen at `now` (unix seconds) unless it is among `seen`; forgets entries
/// older than [`NONCE_MEMORY_SECS`] (the ±60 s window refuses those signatures anyway).
/// Returns false for a replay.
pub fn remember_nonce(seen: &mut Vec<(String, i64)>, nonce: String, now: i64) -> bool {
    seen.retain(|(_, at)| now.saturating_sub(*at) <= NONCE_MEMORY_SECS);
    if seen.iter().any(|(known, _)| *known == nonce) {
        return false;
    }
    seen.push((nonce, now));
    true
}

/// The gate object.
#[durable_object]
pub struct ScannerGate {
    state: State,
    revoked: Cell<Option<bool>>,
    bucket: RefCell<Option<TokenBucket>>,
}

impl DurableObject for ScannerGate {
    fn new(state: State, _env: Env) -> Self {
        Self {
            state,
            revoked: Cell::new(None),
            bucket: RefCell::new(None),
        }
    }

    async fn fetch(&self, mut req: Request) -> worker::Result<Response> {
        let result = match req.json::<GateCommand>().await {
            Ok(GateCommand::Admit {
                rate_per_minute,
                nonce,
            }) => self.handle_admit(rate_per_minute, nonce).await,
            Ok(GateCommand::Revoke { nonce, at }) => self.handle_revoke(nonce, at).await,
            Err(_) => Err(EdgeError::internal(
                "the gate got a command it does not know",
            )),
        };
        Ok(result.unwrap_or_else(EdgeError::into_response))
    }
}

impl ScannerGate {
    async fn is_revoked(&self) -> Result<bool, EdgeError> {
        if let Some(revoked) = self.revoked.get() {
            return Ok(revoked);
        }
        let revoked = self
            .state
            .storage()
            .get::<bool>(REVOKED_KEY)
            .await?
            .unwrap_or(false);
        self.revoked.set(Some(revoked));
        Ok(revoked)
    }

    async fn handle_admit(
        &self,
        rate_per_minute: u32,
        nonce: Option<String>,
    ) -> Result<Response, EdgeError> {
        if self.is_revoked().await? {
            return Err(EdgeError::with_message(
                ErrorCode::Unauthorized,
                "This scanner has been revoked.",
            ));
        }
        if let Some(nonce) = nonce {
            let storage = self.state.storage();
            let now = http::now().unix_seconds();
            let mut seen: Vec<(String, i64)> =
                storage.get(DEVICE_NONCES_KEY).await?.unwrap_or_default();
            if !remember_nonce(&mut seen, nonce, now) {
                return Err(EdgeError::with_message(
                    ErrorCode::Unauthorized,
                    "This device signature was used before.",
                ));
            }
            storage.put(DEVICE_NONCES_KEY, &seen).await?;
        }
        let now_ms = http::now().unix_millis();
        let mut slot = self.bucket.borrow_mut();
        let bucket = slot.get_or_insert_with(|| TokenBucket::full(rate_per_minute, now_ms));
        match bucket.take(rate_per_minute, now_ms) {
            Ok(()) => Ok(Response::empty()?.with_status(204)),
            Err(retry_after) => Err(EdgeError::rate_limited(retry_after)),
        }
    }

    async fn handle_revoke(&self, nonce: String, at: i64) -> Result<Response, EdgeError> {
        let storage = self.state.storage();
        let now = http::now().unix_seconds();
        let mut nonces: Vec<(String, i64)> = storage.get(NONCES_KEY).await?.unwrap_or_default();
        nonces.retain(|(_, seen)| now - seen <= NONCE_MEMORY_SECS);
        if nonces.iter().any(|(seen, _)| *seen == nonce) {
            return Err(EdgeError::with_message(
                ErrorCode::Unauthorized,
                "This push was seen before.",
            ));
        }
        nonces.push((nonce, at));
        storage.put(NONCES_KEY, &nonces).await?;
        storage.put(REVOKED_KEY, true).await?;
        self.revoked.set(Some(true));
        Ok(Response::empty()?.with_status(204))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_bucket_admits_its_rate_then_refuses_until_refilled() {
        let mut bucket = TokenBucket::full(3, 0);
        for _ in 0..3 {
            assert_eq!(bucket.take(3, 0), Ok(()));
        }
        assert_eq!(bucket.take(3, 0), Err(20));
        // One token comes back every 20 s at 3 a minute.
        assert_eq!(bucket.take(3, 20_000), Ok(()));
        assert!(bucket.take(3, 20_001).is_err());
    }

    #[test]
    fn a_device_nonce_is_admitted_once_within_the_window() {
        let mut seen = Vec::new();
        assert!(remember_nonce(&mut seen, "a".into(), 1_000));
        assert!(!remember_nonce(&mut seen, "a".into(), 1_030));
        assert!(remember_nonce(&mut seen, "b".into(), 1_030));
        // Long past the window the memory is pruned; such a signature is stale anyway.
        assert!(remember_nonce(
            &mut seen,
            "a".into(),
            1_000 + NONCE_MEMORY_SECS + 1
        ));
        assert_eq!(seen.len(), 2);
    }

    #[test]
    fn a_clock_stepping_back_does_not_drain_the_bucket() {
        let mut bucket = TokenBucket::full(2, 10_000);
        assert_eq!(bucket.take(2, 5_000), Ok(()));
        assert_eq!(bucket.take(2, 5_000), Ok(()));
        assert!(bucket.take(2, 5_000).is_err());
    }
}

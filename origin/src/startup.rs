//! Building the router and running the server: [`app`] for in-process tests (tower
//! `oneshot`), [`Application::build`] to bind a socket (port 0 in tests) and
//! [`Application::run_until`] to serve until a shutdown signal, mini-redis style: every
//! background task is tied to one cancellation token and awaited before it returns.

use std::future::IntoFuture as _;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;

use crate::config::{ExposeSecret as _, Settings};
use crate::error::ApiError;
use crate::metrics::RequestLabels;
use crate::state::{AppState, Clock, CustodySettings, StateParts};
use crate::store::Stores;
use crate::{flush, numbers, outbox, routes};
use lasthop_core::api::{ErrorBody, ErrorCode};
use lasthop_core::keys::{MasterKeyRing, OriginKeys};

/// Largest accepted request body.
pub const BODY_LIMIT: usize = 64 * 1024;

/// The whole HTTP surface with its middleware.
pub fn app(state: AppState) -> Router {
    routes::router(state.clone())
        .layer(middleware::from_fn_with_state(state, observe))
        // Outside the body limit, so its early 413 (declared length too large) is rewritten too.
        .layer(RequestBodyLimitLayer::new(BODY_LIMIT))
        .layer(middleware::from_fn(contract_errors))
        .layer(CatchPanicLayer::custom(
            |_panic: Box<dyn std::any::Any + Send>| {
                // The panic payload may hold anything; it is neither logged nor returned.
                tracing::error!("a handler panicked");
                ApiError::Internal.into_response()
            },
        ))
}

/// Logs one line per request (method, route template, status, latency; never bodies or
/// paths with ids) and counts it.
async fn observe(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let method = crate::metrics::method_label(request.method()).to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let started = Instant::now();
    let response = next.run(request).await;
    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    tracing::info!(%method, %route, status, latency_us = elapsed.as_micros() as u64, "request");
    let labels = RequestLabels {
        method,
        route,
        status,
    };
    state.metrics().requests.get_or_create(&labels).inc();
    state
        .metrics()
        .latency
        .get_or_create(&labels)
        .observe(elapsed.as_secs_f64());
    response
}

/// Turns the framework's own plain-text rejections (unknown route, wrong method, body
/// too large before a handler ran) into the contract's JSON errors.
async fn contract_errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if is_json || response.status().is_success() || response.status().is_redirection() {
        return response;
    }
    match response.status() {
        StatusCode::NOT_FOUND => ApiError::NotFound("no such resource").into_response(),
        StatusCode::METHOD_NOT_ALLOWED => {
            let mut r = (
                StatusCode::METHOD_NOT_ALLOWED,
                axum::Json(ErrorBody::from_code(ErrorCode::MethodNotAllowed)),
            )
                .into_response();
            if let Some(allow) = response.headers().get(header::ALLOW) {
                r.headers_mut().insert(header::ALLOW, allow.clone());
            }
            r
        }
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge.into_response(),
        StatusCode::UNSUPPORTED_MEDIA_TYPE
        | StatusCode::BAD_REQUEST
        | StatusCode::UNPROCESSABLE_ENTITY => {
            ApiError::InvalidInput("the request could not be read".to_owned()).into_response()
        }
        _ => response,
    }
}

/// Marks a response as never to be cached (it carries personal data).
pub fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// A bound, ready-to-run origin.
pub struct Application {
    listener: TcpListener,
    router: Router,
    state: AppState,
    port: u16,
    edge: Option<(String, reqwest::Client)>,
    outbox_interval: Duration,
    flush_interval: Duration,
    rotate_numbers_every: Option<Duration>,
    shutdown_grace: Duration,
}

impl Application {
    /// Opens and migrates the stores, derives the keys and binds the listen address. The
    /// background tasks (revocation outbox, nonce pruning) start with [`Application::run_until`].
    ///
    /// # Errors
    /// When the key ring is invalid, a store cannot be opened or the address cannot be bound.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        Self::build_with_clock(settings, Clock::default()).await
    }

    /// [`Application::build`] with an injected clock.
    ///
    /// # Errors
    /// As [`Application::build`].
    pub async fn build_with_clock(settings: Settings, clock: Clock) -> anyhow::Result<Self> {
        use anyhow::Context as _;
        let ring = MasterKeyRing::parse(settings.master_keys.expose_secret())
            .map_err(|e| anyhow::anyhow!("reading the master key ring: {e}"))?;
        let keys = OriginKeys::derive(&ring);
        let stores = Stores::open_serving(
            settings.directory_url.expose_secret(),
            settings.vault_url.expose_secret(),
            settings
                .vault_standby_url
                .as_ref()
                .map(|url| url.expose_secret()),
        )
        .await?;
        stores
            .directory
            .ensure_platforms(&settings.platforms)
            .await
            .context("registering platforms")?;
        // Known from now on: credentials signed under older versions stop being issued here
        // (what `keys retire` relies on).
        stores
            .directory
            .note_current_key_version(ring.current().0, clock.now().unix_millis())
            .await
            .context("recording the current key version")?;
        let state = AppState::new(StateParts {
            stores,
            keys,
            ops_token: settings.ops_token.clone(),
            platforms: settings.platforms.clone(),
            release_ttl: settings.release_ttl,
            scanner_ttl: settings.scanner_ttl,
            custody: CustodySettings {
                device_scanner_ttl: settings.device_scanner_ttl,
                release_rate_per_minute: settings.release_rate_per_minute,
                legacy_plaintext_recipients: settings.legacy_plaintext_recipients,
            },
            clock,
        });
        if settings.legacy_plaintext_recipients {
            tracing::warn!(
                "legacy plaintext recipients are ON: scanners without a device get the \
                 recipient in the clear, without a chain of custody"
            );
        }
        let edge = settings
            .edge_url
            .map(|url| outbox::client(settings.edge_ca_file.as_deref()).map(|client| (url, client)))
            .transpose()?;
        let listener = TcpListener::bind(settings.listen)
            .await
            .context("binding the listen address")?;
        let port = listener.local_addr()?.port();
        Ok(Self {
            listener,
            router: app(state.clone()),
            state,
            port,
            edge,
            outbox_interval: settings.outbox_interval,
            flush_interval: settings.flush_interval,
            rotate_numbers_every: settings.rotate_numbers_every,
            shutdown_grace: settings.shutdown_grace,
        })
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The state (for tests that inspect stores).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Starts the background tasks and serves until `signal` resolves. Then it stops
    /// accepting connections, lets the requests in flight finish (for at most the shutdown
    /// grace), stops every background task at its next wait and returns once all have ended.
    ///
    /// # Errors
    /// When the server fails.
    pub async fn run_until(
        self,
        signal: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let shutdown = CancellationToken::new();
        let tasks = TaskTracker::new();
        outbox::spawn(
            &tasks,
            shutdown.clone(),
            self.state.clone(),
            self.edge.clone(),
            self.outbox_interval,
        );
        tasks.spawn(prune_nonces(self.state.clone(), shutdown.clone()));
        tasks.spawn(
            self.state
                .stores()
                .vault
                .switch()
                .clone()
                .run(shutdown.clone().cancelled_owned()),
        );
        tasks.spawn(flush::run(
            self.state.clone(),
            self.flush_interval,
            shutdown.clone(),
        ));
        tasks.spawn(numbers::run(
            self.state.clone(),
            self.rotate_numbers_every,
            shutdown.clone(),
        ));
        tasks.close();

        tracing::info!(port = self.port, "origin listening");
        let draining = shutdown.clone();
        let server = axum::serve(self.listener, self.router)
            .with_graceful_shutdown(async move {
                signal.await;
                tracing::info!("shutting down: no new connections, finishing requests in flight");
                draining.cancel();
            })
            .into_future();
        let grace = self.shutdown_grace;
        let result = tokio::select! {
            result = server => result,
            () = async { shutdown.cancelled().await; tokio::time::sleep(grace).await } => {
                tracing::warn!(grace_secs = grace.as_secs(), "requests still in flight after the shutdown grace; stopping anyway");
                Ok(())
            }
        };
        // Also when the server failed on its own: no task outlives this call.
        shutdown.cancel();
        tasks.wait().await;
        tracing::info!("origin stopped");
        result
    }
}

/// Forgets edge nonces older than the signature window every minute, until shutdown.
async fn prune_nonces(state: AppState, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = shutdown.cancelled() => return,
        }
        let cutoff = state.now().unix_millis() - 2 * crate::auth::SIGNATURE_WINDOW_SECONDS * 1000;
        if let Err(err) = state.stores().directory.prune_nonces(cutoff).await {
            tracing::warn!(error = %err, "pruning edge nonces failed");
        }
        if let Err(err) = state.stores().directory.prune_device_nonces(cutoff).await {
            tracing::warn!(error = %err, "pruning device nonces failed");
        }
    }
}

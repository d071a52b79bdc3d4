//! The revocation outbox: every revoked scanner is pushed to the edge
//! (`POST <edge>/internal/v1/revocations {scanner_id}`, signed with the origin-push key)
//! as soon as the revocation is committed, then retried every interval until the edge
//! answers 2xx. Without an edge URL the outbox only accumulates, and says so in the log.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::state::AppState;

/// Path of the edge's revocation endpoint.
pub const REVOCATIONS_PATH: &str = "/internal/v1/revocations";

/// Starts the outbox task on `tasks`; it ends at its next wait once `shutdown` is cancelled.
pub fn spawn(
    tasks: &TaskTracker,
    shutdown: CancellationToken,
    state: AppState,
    edge_url: Option<String>,
    interval: Duration,
) {
    tasks.spawn(async move {
        let client: Client<HttpConnector, Full<Bytes>> =
            Client::builder(TokioExecutor::new()).build_http();
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_reported = 0usize;
        loop {
            // A revocation wakes the task at once; the tick is the retry schedule.
            tokio::select! {
                _ = tick.tick() => {}
                () = state.outbox_woken() => {}
                () = shutdown.cancelled() => return,
            }
            let pending = match state.stores().directory.pending_revocations().await {
                Ok(pending) => pending,
                Err(err) => {
                    tracing::warn!(error = %err, "reading the revocation outbox failed");
                    continue;
                }
            };
            let Some(edge) = edge_url.as_deref() else {
                if pending.len() != last_reported {
                    tracing::warn!(
                        pending = pending.len(),
                        "no --edge-url: scanner revocations are queued, not pushed"
                    );
                    last_reported = pending.len();
                }
                continue;
            };
            for scanner_id in pending {
                if shutdown.is_cancelled() {
                    return;
                }
                let delivered = push(&client, &state, edge, &scanner_id).await;
                let now = state.now().unix_millis();
                if let Err(err) = state
                    .stores()
                    .directory
                    .revocation_attempted(&scanner_id, delivered, now)
                    .await
                {
                    tracing::warn!(error = %err, "recording a revocation push failed");
                }
            }
        }
    });
}

/// One signed push; true when the edge acknowledged it.
async fn push(
    client: &Client<HttpConnector, Full<Bytes>>,
    state: &AppState,
    edge: &str,
    scanner_id: &str,
) -> bool {
    let body = serde_json::json!({ "scanner_id": scanner_id })
        .to_string()
        .into_bytes();
    let headers = crate::signing::sign(
        &state.keys().origin_push,
        "POST",
        REVOCATIONS_PATH,
        &body,
        state.now(),
    );
    let uri = format!("{}{REVOCATIONS_PATH}", edge.trim_end_matches('/'));
    let mut request = axum::http::Request::post(uri).header("content-type", "application/json");
    for (name, value) in headers {
        request = request.header(name, value);
    }
    let Ok(request) = request.body(Full::new(Bytes::from(body))) else {
        tracing::warn!("the edge URL is not a valid URI");
        return false;
    };
    match tokio::time::timeout(Duration::from_secs(5), client.request(request)).await {
        Ok(Ok(response)) if response.status().is_success() => {
            tracing::info!(scanner_id, "revocation acknowledged by the edge");
            true
        }
        Ok(Ok(response)) => {
            tracing::warn!(
                scanner_id,
                status = response.status().as_u16(),
                "edge refused a revocation push"
            );
            false
        }
        Ok(Err(err)) => {
            tracing::warn!(scanner_id, error = %err, "revocation push failed");
            false
        }
        Err(_) => {
            tracing::warn!(scanner_id, "revocation push timed out");
            false
        }
    }
}

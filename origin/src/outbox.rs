//! The revocation outbox: every revoked scanner is pushed to the edge
//! (`POST <edge>/internal/v1/revocations`, the core's [`RevocationRequest`], signed with the
//! origin-push key) as soon as the revocation is committed, then retried every interval until
//! the edge answers 2xx. Pushes go through `reqwest` with rustls, so an `https://` edge (every
//! production edge) is reached; a deployment whose edge has a private certificate names its CA
//! (`--edge-ca-file`). Without an edge URL the outbox only accumulates, and says so in the log.

use std::time::Duration;

use lasthop_core::api::paths::INTERNAL_REVOCATIONS;
use lasthop_core::api::RevocationRequest;
use lasthop_core::signing::SignedRequest;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::state::AppState;

/// How long one push may take.
const PUSH_TIMEOUT: Duration = Duration::from_secs(5);

/// The HTTP client for pushes: rustls with the system's web roots, plus `extra_ca` (PEM) when
/// given.
///
/// # Errors
/// When the CA file cannot be read or is not a PEM certificate, or TLS cannot be set up.
pub fn client(extra_ca: Option<&std::path::Path>) -> anyhow::Result<reqwest::Client> {
    use anyhow::Context as _;
    let mut builder = reqwest::Client::builder()
        .timeout(PUSH_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none());
    if let Some(path) = extra_ca {
        let pem = std::fs::read(path)
            .with_context(|| format!("reading the edge CA file {}", path.display()))?;
        let certificate = reqwest::Certificate::from_pem(&pem).with_context(|| {
            format!(
                "the edge CA file {} is not a PEM certificate",
                path.display()
            )
        })?;
        builder = builder.add_root_certificate(certificate);
    }
    builder
        .build()
        .context("building the revocation push client")
}

/// Starts the outbox task on `tasks`; it ends at its next wait once `shutdown` is cancelled.
pub fn spawn(
    tasks: &TaskTracker,
    shutdown: CancellationToken,
    state: AppState,
    edge: Option<(String, reqwest::Client)>,
    interval: Duration,
) {
    tasks.spawn(async move {
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
            let Some((edge_url, client)) = edge.as_ref() else {
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
                let delivered = push(client, &state, edge_url, &scanner_id).await;
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
async fn push(client: &reqwest::Client, state: &AppState, edge: &str, scanner_id: &str) -> bool {
    let body = RevocationRequest {
        scanner_id: scanner_id.to_owned(),
    };
    let Ok(body) = serde_json::to_vec(&body) else {
        return false;
    };
    let headers = crate::signing::sign(
        &state.keys().origin_push,
        &SignedRequest {
            method: "POST",
            path_and_query: INTERNAL_REVOCATIONS,
            body: &body,
            authorization: None,
        },
        state.now(),
    );
    let url = format!("{}{INTERNAL_REVOCATIONS}", edge.trim_end_matches('/'));
    let mut request = client
        .post(url)
        .header("content-type", "application/json")
        .body(body);
    for (name, value) in headers {
        request = request.header(name, value);
    }
    match request.send().await {
        Ok(response) if response.status().is_success() => {
            tracing::info!(scanner_id, "revocation acknowledged by the edge");
            true
        }
        Ok(response) => {
            tracing::warn!(
                scanner_id,
                status = response.status().as_u16(),
                "edge refused a revocation push"
            );
            false
        }
        Err(err) => {
            // reqwest's error names the URL and the TLS or connection fault, never a body.
            tracing::warn!(scanner_id, error = %err, "revocation push failed");
            false
        }
    }
}

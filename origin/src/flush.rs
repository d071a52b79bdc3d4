//! The temporary table's flush: while records wait for the vault, write them into it as soon
//! as a vault server takes writes (each exactly once, then removed), and keep the table's
//! depth and age, and the vault's state, in the metrics.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::state::AppState;

/// Records written per round; the next round follows at once while more wait.
const BATCH: i64 = 200;

/// Flushes every `interval` (and at once again while a round left work it could do), until
/// shutdown.
pub async fn run(state: AppState, interval: Duration, shutdown: CancellationToken) {
    loop {
        let again = flush_once(&state).await;
        if !again {
            tokio::select! {
                () = tokio::time::sleep(interval) => {}
                () = shutdown.cancelled() => return,
            }
        } else if shutdown.is_cancelled() {
            return;
        }
    }
}

/// One round; true when it wrote a full batch and more may be written now.
async fn flush_once(state: &AppState) -> bool {
    let stores = state.stores();
    let route = stores.vault.switch().route();
    let metrics = &state.metrics().vault;
    metrics.writable.set(i64::from(route.writer.is_some()));
    metrics.readable.set(i64::from(route.reader.is_some()));
    match stores.flush_pending(BATCH).await {
        Ok(report) => {
            if report.flushed > 0 {
                tracing::info!(
                    flushed = report.flushed,
                    merged = report.merged,
                    left = report.left.depth,
                    "temporary table flushed into the vault"
                );
            }
            metrics.temporary_table_depth.set(report.left.depth);
            let age_ms = report
                .left
                .oldest_queued_at
                .map_or(0, |at| (state.now().unix_millis() - at).max(0));
            #[allow(clippy::cast_precision_loss)] // milliseconds of an outage fit an f64 exactly
            metrics
                .temporary_table_oldest_age_seconds
                .set(age_ms as f64 / 1000.0);
            route.writer.is_some() && report.flushed >= usize::try_from(BATCH).unwrap_or(usize::MAX)
        }
        Err(err) => {
            tracing::warn!(error = %err, "flushing the temporary table failed");
            false
        }
    }
}

//! The origin's log: one JSON object a line on stderr by default (`--log-format text` for a
//! terminal), filtered by `RUST_LOG` (default `info`).
//!
//! What goes into the log is decided where it is written: request lines carry the method,
//! the route *template*, the status and the latency, never a path with ids, a body or a
//! header; store errors carry the driver's code, never bound values; handlers are
//! `#[tracing::instrument(skip_all)]`. The end-to-end journeys search the whole log of a real
//! journey, byte by byte, for every test buyer's personal data.

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Installs the global subscriber. Call once, first thing in `main`.
///
/// # Errors
/// When a subscriber was installed already.
pub fn init(format: LogFormat) -> anyhow::Result<()> {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let installed = match format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .try_init(),
        LogFormat::Text => builder.try_init(),
    };
    installed.map_err(|e| anyhow::anyhow!("installing the logger: {e}"))
}

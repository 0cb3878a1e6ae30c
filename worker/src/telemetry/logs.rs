//! Log output: structured `tracing` events to stderr, human-readable or JSON.
//!
//! With `HERALD_LOG_FORMAT=json` each event is one JSON object with `timestamp`,
//! `level`, `target`, `filename`, `line_number`, the message and the event's fields.
//! The attempt spans (target `herald::trace`) exist for OpenTelemetry only: the log
//! layer never sees them, so log lines look the same with tracing on or off.

use tracing::Subscriber;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::Layer;
use tracing_subscriber::filter::{FilterExt, filter_fn};
use tracing_subscriber::fmt::format::FmtSpan;
use tracing_subscriber::registry::LookupSpan;

use crate::config::LogFormat;

/// The target of the spans and events meant for OpenTelemetry only.
pub(crate) const TRACE_TARGET: &str = "herald::trace";

/// The log layer for `format`, filtered by `filter` (a `tracing` filter string). Fails
/// if `filter` is not a valid filter.
pub(crate) fn layer<S>(
    format: LogFormat,
    filter: &str,
) -> Result<Box<dyn Layer<S> + Send + Sync>, super::TelemetryError>
where
    S: Subscriber + for<'a> LookupSpan<'a> + Send + Sync,
{
    let env = EnvFilter::try_new(filter).map_err(super::TelemetryError::InvalidFilter)?;
    let not_trace_only = filter_fn(|meta| meta.target() != TRACE_TARGET);
    let base = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_target(true)
        .with_span_events(FmtSpan::NONE);
    let layer: Box<dyn Layer<S> + Send + Sync> = match format {
        LogFormat::Json => base
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_file(true)
            .with_line_number(true)
            .with_filter(env.and(not_trace_only))
            .boxed(),
        LogFormat::Text => base
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .with_filter(env.and(not_trace_only))
            .boxed(),
    };
    Ok(layer)
}

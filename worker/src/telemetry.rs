//! Log output: structured `tracing` events to stderr, human-readable or JSON.
//!
//! | target | what |
//! |---|---|
//! | `herald_worker::…` (module paths) | diagnostics: lifecycle, outages, rescue |
//! | `herald::audit` | one event per finished attempt (see `audit/report.rs`) |
//! | `herald::alert` | CRITICAL events (`severity = "CRITICAL"`), e.g. a long database outage |
//!
//! With `HERALD_LOG_FORMAT=json` each event is one JSON object with `timestamp`,
//! `level`, `target`, `filename`, `line_number`, the message and the event's fields.
//! When `SENTRY_DSN` is set, `herald::alert` events also go to Sentry
//! ([`crate::sentry::alerts`]).

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::FmtSpan;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::config::LogFormat;

/// Installs the global subscriber. Fails if `filter` is not a valid `tracing` filter or
/// a subscriber is already installed.
pub fn init_logging(format: LogFormat, filter: &str) -> Result<(), String> {
    let filter = EnvFilter::try_new(filter).map_err(|e| format!("invalid log filter: {e}"))?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(true)
        .with_span_events(FmtSpan::NONE);
    let result = match format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_file(true)
            .with_line_number(true)
            .finish()
            .with(crate::sentry::alerts::alert_layer())
            .try_init(),
        LogFormat::Text => builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .finish()
            .with(crate::sentry::alerts::alert_layer())
            .try_init(),
    };
    result.map_err(|e| format!("cannot install the log subscriber: {e}"))
}

//! What operators see: logs, traces, metrics and the failure-rate alert.
//!
//! # Layout
//! - `logs.rs`: the log layer (stderr, text or JSON)
//! - `otel.rs`: OTLP trace export and W3C `traceparent` handling
//! - `metrics.rs`: the Prometheus metrics of one worker
//! - `scrape.rs`: the `/metrics` HTTP endpoint and the gauges read at scrape time
//! - `storage.rs`: storage health (table and index sizes, dead rows, vacuum age, the
//!   transaction horizon, audit partitions), sampled every `HERALD_STORAGE_METRICS_INTERVAL`
//!   and read by `herald stats`
//! - `failure_rate.rs`: the sliding-window failure-rate tracker (pure)
//! - `alert.rs`: turning the tracker's trips and resolves into events, gauges and rows
//!
//! # Log targets
//!
//! | target | what |
//! |---|---|
//! | `herald_worker::…` (module paths) | diagnostics: lifecycle, outages, rescue, exporter trouble |
//! | `herald::cli::…`, `herald::demo::…` (module paths) | the `herald` command's own: operator actions |
//! | `herald_testkit::…` (module paths) | the demo's fixtures: the private PostgreSQL, the webhook receiver |
//! | `herald::audit` | one event per finished attempt (see `audit/report.rs`) |
//! | `herald::alert` | alert events: CRITICAL (`severity = "CRITICAL"`) when the failure rate trips or the database is gone too long; INFO when the failure rate resolves |
//! | `herald::trace` | spans and span events for OpenTelemetry only; never logged |
//!
//! # Spans (exported over OTLP when `OTEL_EXPORTER_OTLP_ENDPOINT` is set)
//!
//! | span | kind | when | attributes |
//! |---|---|---|---|
//! | `<queue> process` | consumer | one per attempt, child of the enqueuer's `traceparent` when the job has one | `messaging.system` = `herald`, `messaging.operation` = `process`, `messaging.destination.name` = queue, `messaging.message.id` = job id, `herald.job.type`, `herald.attempt`, `herald.max_attempts`, `herald.worker.id`, `herald.outcome` (`succeeded`, `retrying`, `dead`, `interrupted`), `error.type` = error code; status Error on a failed attempt |
//!
//! | span event | on | fields |
//! |---|---|---|
//! | `retry scheduled` | a retryable failure | `herald.next_run_at` (RFC 3339), `error.type` |
//! | the attempt's WARN/ERROR log event | retries and dead jobs | as in `audit/report.rs` |
//!
//! The audit row's `trace_id` is the attempt span's trace id (the enqueuer's when the
//! job carries a `traceparent`), so an audit row leads to its trace.
//!
//! # Metrics (`herald worker --metrics-addr 127.0.0.1:9464`, path `/metrics`)
//!
//! | metric | type | labels | meaning |
//! |---|---|---|---|
//! | `herald_job_attempts_total` | counter | `job_type`, `outcome` | finished attempts (this process) |
//! | `herald_job_attempt_duration_seconds` | histogram | `job_type` | attempt run time |
//! | `herald_job_retries_scheduled_total` | counter | `job_type` | attempts that ended in a scheduled retry |
//! | `herald_jobs_dead_total` | counter | `job_type` | jobs that died (terminal or exhausted) |
//! | `herald_job_panics_total` | counter | `job_type` | handler panics |
//! | `herald_attempts_rescued_total` | counter | — | attempts of dead workers audited `abandoned` by this process |
//! | `herald_queue_jobs` | gauge | `queue`, `state` | pending, running, retrying and dead jobs, fleet-wide (read at scrape; finished history is not counted) |
//! | `herald_queue_paused_seconds` | gauge | `queue` | how long each paused queue has been paused, fleet-wide (read at scrape; absent when active) |
//! | `herald_flow_held_jobs` | gauge | `key`, `reason` | runnable jobs a flow limit holds back (`rate_limit`: bucket empty; `concurrency_cap`: cap full), fleet-wide (read at scrape; absent when none) |
//! | `herald_workflow_batches_open` / `herald_workflow_open_batch_members` | gauge | — / `state` | batches not yet complete, and their members succeeded, dead, cancelled and unsettled (read at scrape) |
//! | `herald_db_pool_connections` | gauge | `state` (`in_use`, `idle`, `max`) | this worker's pool |
//! | `herald_db_pool_acquire_timeouts_total` | counter | — | queries that waited `HERALD_DB_ACQUIRE_TIMEOUT` for a connection in vain |
//! | `herald_db_pool_acquire_wait_seconds` | gauge | — | how long the last scrape waited for a pool connection |
//! | `herald_worker_heartbeat_age_seconds` | gauge | `worker` | age of each running worker's last heartbeat, fleet-wide (read at scrape) |
//! | `herald_failure_rate` | gauge | `job_type` (`*` = all) | failed share of this process's attempts over the window |
//! | `herald_failure_rate_alert_firing` | gauge | `job_type` (`*` = all) | 1 while the alert is tripped |
//! | `herald_critical_events_total` | counter | `alert` | CRITICAL events emitted |
//! | `herald_maintenance_rows_pruned_total` | counter | `table` (`jobs`, `attempts`, `operator_actions`, `maintenance_runs`), `class` (`succeeded`, `dead`, `cancelled` for jobs; `partition_dropped`, `partition_compacted` for audit rows) | rows this process's maintenance runs deleted (only the leader's move) |
//! | `herald_maintenance_last_success_timestamp_seconds` | gauge | — | when this process last completed a maintenance run (0: never; take `max` over the fleet) |
//! | `herald_maintenance_last_run_rows` | gauge | `table` | rows the newest completed pruning run removed, fleet-wide (`storage.rs`) |
//! | `herald_table_size_bytes`, `herald_index_size_bytes` | gauge | `table` | each herald table's heap + TOAST and index bytes, fleet-wide (`storage.rs`) |
//! | `herald_table_live_tuples`, `herald_table_dead_tuples` | gauge | `table` | estimated live and dead rows (`storage.rs`) |
//! | `herald_table_last_vacuum_age_seconds` | gauge | `table` | seconds since the latest (auto)vacuum; absent when none recorded (`storage.rs`) |
//! | `herald_oldest_xact_age_seconds`, `herald_xmin_horizon_age_xids` | gauge | — | what holds the transaction horizon: oldest transaction's age, oldest xmin's age in xids (`storage.rs`) |
//! | `herald_audit_partitions` | gauge | `state` (`present`, `ahead`) | partitions of `herald.attempts`, and those created ahead of the job ids (`storage.rs`) |
//!
//! Job ids and trace ids go on spans, never on metric labels.

pub(crate) mod alert;
pub(crate) mod failure_rate;
pub(crate) mod logs;
pub mod metrics;
pub(crate) mod otel;
pub(crate) mod scrape;
pub mod storage;

use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::config::LogFormat;
pub use crate::config::OtelConfig;

/// The installed telemetry; call [`Telemetry::shutdown`] before exiting so queued spans
/// are exported.
#[derive(Debug, Default)]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Exports what is queued (bounded by the export timeout) and stops the exporter.
    pub async fn shutdown(self) {
        if let Some(provider) = self.provider {
            let _ = tokio::task::spawn_blocking(move || provider.shutdown()).await;
        }
    }
}

/// Why [`init`] could not install telemetry.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TelemetryError {
    /// The log filter (`HERALD_LOG` / `RUST_LOG`) is not a valid `tracing` filter.
    #[error("invalid log filter: {0}")]
    InvalidFilter(#[source] tracing_subscriber::filter::ParseError),
    /// The OTLP exporter could not be built (for example an endpoint that is not a URL).
    #[error("cannot build the OTLP exporter: {0}")]
    Exporter(#[source] opentelemetry_otlp::ExporterBuildError),
    /// A global subscriber is already installed.
    #[error("cannot install the log subscriber: {0}")]
    Install(#[source] tracing_subscriber::util::TryInitError),
}

/// Installs the global subscriber: the log layer (`format`, `filter`), when `otel`
/// names an endpoint the OTLP trace layer, and when `SENTRY_DSN` is set the layer that
/// sends CRITICAL events to Sentry (`crate::sentry::alerts`). Must run inside a Tokio runtime. Fails if
/// `filter` is invalid, the exporter cannot be built, or a subscriber is installed.
pub fn init(
    format: LogFormat,
    filter: &str,
    otel: &OtelConfig,
) -> Result<Telemetry, TelemetryError> {
    let logs = logs::layer(format, filter)?;
    let (provider, otel_layer) = match otel::layer(otel)? {
        Some((provider, layer)) => (Some(provider), Some(layer)),
        None => (None, None),
    };
    tracing_subscriber::registry()
        .with(logs)
        .with(otel_layer)
        .with(crate::sentry::alerts::alert_layer())
        .try_init()
        .map_err(TelemetryError::Install)?;
    Ok(Telemetry { provider })
}

/// Installs the log layer only (no trace export). Fails like [`init`].
pub fn init_logging(format: LogFormat, filter: &str) -> Result<(), TelemetryError> {
    init(format, filter, &OtelConfig::default()).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_invalid_log_filter_is_a_typed_error_keeping_the_parse_error() {
        let err = init(LogFormat::Text, "herald=notalevel", &OtelConfig::default()).err();
        assert!(
            matches!(&err, Some(TelemetryError::InvalidFilter(_))),
            "{err:?}"
        );
        assert!(err.as_ref().and_then(std::error::Error::source).is_some());
    }
}

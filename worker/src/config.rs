//! Worker configuration: the only place that reads the environment.
//!
//! Every variable, its default, and what it means:
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `DATABASE_URL` | (required; `herald demo` starts a private PostgreSQL when unset) | PostgreSQL to use |
//! | `HERALD_QUEUES` | `default=100` | queues to run and their concurrency, `name=n,name=n`; a name without `=n` gets 100 (see BENCHMARKS.md); names follow the enqueue rules (1 to 64 bytes of `A-Z a-z 0-9 _ . : -`) |
//! | `HERALD_WORKER_ID` | `<hostname>-<pid>-<random>` | this process's id in locks and audit rows; 1 to 128 bytes of `A-Z a-z 0-9 _ . : -` |
//! | `HERALD_LEASE` | `30s` | a running job whose heartbeat is older than this is rescued |
//! | `HERALD_HEARTBEAT_INTERVAL` | lease / 6 | how often running jobs' leases are renewed |
//! | `HERALD_RESCUE_INTERVAL` | lease / 2 | how often expired leases are looked for |
//! | `HERALD_POLL_INTERVAL` | `5s` | safety poll when no NOTIFY arrives |
//! | `HERALD_SHUTDOWN_GRACE` | `30s` | how long in-flight attempts may finish after SIGTERM |
//! | `HERALD_CANCEL_GRACE` | `10s` | how long a running job's handler may take to stop after an operator cancels it (`herald cancel`) before it is aborted |
//! | `HERALD_RETRY_BASE` / `HERALD_RETRY_MAX` / `HERALD_RETRY_JITTER` | `2s` / `1h` / `0.2` | durable backoff |
//! | `HERALD_DB_POOL_SIZE` | `10` | connections in the worker's pool |
//! | `HERALD_DB_ACQUIRE_TIMEOUT` | `5s` | how long a query waits for a connection |
//! | `HERALD_DB_OUTAGE_CRITICAL_AFTER` | `30s` | a database outage this long raises the CRITICAL event |
//! | `HERALD_WEBHOOK_SIGNING_KEYS`, `HERALD_WEBHOOK_UNSIGNED` | (none: a worker running `notify.webhook` refuses to start) | Standard Webhooks signing keys `whsec_<base64>`, comma-separated, see `webhook` |
//! | `HERALD_WEBHOOK_TIMEOUT` | `10s` | per-request timeout of `notify.webhook` |
//! | `HERALD_WEBHOOK_POOL_MAX_IDLE_PER_HOST` | `100` | idle keep-alive connections kept per receiving host for the next webhook (0 to 10000; `0`: a new connection per request) |
//! | `HERALD_WEBHOOK_POOL_IDLE_TIMEOUT` | `60s` | a kept connection unused this long is closed (1s to 1h) |
//! | `HERALD_MAX_PAYLOAD_BYTES` | `262144` (256 KiB) | largest payload (its JSON text) `herald enqueue` accepts; `herald.enqueue()` in SQL reads the database setting `herald.max_payload_bytes` instead |
//! | `HERALD_RETENTION_*`, `HERALD_MAINTENANCE_*` | see `retention` (3d succeeded, 30d dead, cancelled and failed attempts, 365d operator actions and run records; maintenance on) | retention ages, per-queue overrides, and the pruning leader's pace |
//! | `HERALD_CRON_FILE` | (none: no recurring jobs) | a TOML file of cron schedules, see `cron.rs` here |
//! | `SENTRY_DSN`, `SENTRY_ENVIRONMENT`, `SENTRY_RELEASE`, `HERALD_SENTRY_REPORT_RETRY` | (none: Sentry off) | error tracking, see `sentry.rs` here |
//! | `HERALD_LOG_FORMAT` | `text` | `text` or `json` |
//! | `HERALD_LOG` (or `RUST_LOG`) | `info` | `tracing` filter, e.g. `info,herald::audit=debug` |
//! | `USER` (or `LOGNAME`) | `unknown` | the operator recorded by `herald replay/cancel/purge` when `--actor` is not given |
//! | `HERALD_METRICS_ADDR` | (none: no endpoint) | serve Prometheus metrics on `http://<addr>/metrics`; `herald worker --metrics-addr` overrides it |
//! | `HERALD_STORAGE_METRICS_INTERVAL` | `60s` | how often this worker samples the storage metrics (`herald_table_*`, transaction horizon, audit partitions; 100ms to 24h; only while `/metrics` is served) |
//! | `HERALD_FAILURE_RATE_WINDOW` | `5m` | sliding window of the failure-rate alert |
//! | `HERALD_FAILURE_RATE_THRESHOLD` | `0.05` | the alert trips above this failed share of attempts |
//! | `HERALD_FAILURE_RATE_RESOLVE` | 0.8 × threshold | ... and resolves below this one (hysteresis) |
//! | `HERALD_FAILURE_RATE_MIN_SAMPLES` | `20` | fewer attempts in the window never trip it |
//! | `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` or `OTEL_EXPORTER_OTLP_ENDPOINT` | (none: nothing is exported) | OTLP collector, e.g. `http://localhost:4317` |
//! | `OTEL_EXPORTER_OTLP_PROTOCOL` | `grpc` | `grpc` or `http/protobuf` (then `/v1/traces` is appended to the base endpoint) |
//! | `OTEL_SERVICE_NAME` | `herald` | the traces' `service.name` |
//! | `OTEL_RESOURCE_ATTRIBUTES` | (none) | extra resource attributes, `key=value,key=value` |
//! | `OTEL_BSP_SCHEDULE_DELAY` | `5000` | milliseconds between span exports |
//! | `OTEL_EXPORTER_OTLP_TIMEOUT` | `10000` | milliseconds one export may take |
//! | `HERALD_SMTP_*`, `HERALD_EMAIL_*` | (e-mail off) | the `notify.email` channel: see `email` |
//!
//! Durations are written `250ms`, `30s`, `5m`, `2h`, `7d`, or a bare number of seconds.
//! Each duration and number setting has a range (`parse.rs`: `DURATION_RANGES`,
//! `NUMBER_RANGES`; README's configuration table); a value outside it is an error naming
//! the variable and the range.
//! [`WorkerConfig::from_lookup`] validates everything at start-up, so a bad value stops
//! the worker before any job runs.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use herald_jobs::RetryPolicy;
use herald_jobs::notify::HttpPoolSettings;

pub(crate) mod cron;
pub(crate) mod email;
mod parse;
mod retention;
pub(crate) mod sentry;
mod telemetry;
pub(crate) mod webhook;

pub use parse::{DurationError, MAX_DURATION, format_duration, parse_addr, parse_duration_within};
use parse::{duration, invalid, number};
pub use retention::{ClassAge, RetentionClass, RetentionConfig, RetentionPolicy};
pub use telemetry::{
    FailureRateConfig, OtelConfig, log_filter_from_env, log_format_from_env, otel_from_env,
};
pub(crate) use telemetry::{OtlpProtocol, sentry_dsn_set};
use telemetry::{failure_rate, storage_metrics_interval};

/// Concurrency of a queue named in `HERALD_QUEUES` without `=n`, and of the default
/// queue when `HERALD_QUEUES` is unset. 100, as River's default: one process is
/// latency-bound (an attempt holds its slot until its batch commits), so slots are what
/// move jobs; on the slower of the two hosts measured 64 only matched apalis-postgres's
/// best configuration (BENCHMARKS.md).
pub const DEFAULT_CONCURRENCY: usize = 100;

/// A configuration value that could not be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// A required variable is not set.
    #[error("{0} is not set")]
    Missing(&'static str),
    /// A variable is set to something unusable.
    #[error("{name}={value:?} is invalid: {reason}")]
    Invalid {
        /// The variable.
        name: &'static str,
        /// Its value (never a secret: secrets are not validated this way).
        value: String,
        /// What was expected.
        reason: String,
    },
}

/// One queue this worker runs, with its concurrency limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct QueueConfig {
    /// The queue's name.
    pub(crate) name: String,
    /// At most this many of its attempts run at once in this process.
    pub(crate) concurrency: usize,
}

/// Log output settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// Human-readable lines (the default).
    #[default]
    Text,
    /// One JSON object per event.
    Json,
}

/// Everything `herald worker` runs with.
#[derive(Clone)]
pub struct WorkerConfig {
    /// The PostgreSQL URL (may hold a password: never log it whole).
    pub database_url: String,
    /// This process's id.
    pub(crate) worker_id: String,
    /// Queues and their concurrency.
    pub(crate) queues: Vec<QueueConfig>,
    /// Lease length; see the module table.
    pub(crate) lease: Duration,
    /// Heartbeat interval.
    pub(crate) heartbeat_interval: Duration,
    /// Rescue interval.
    pub(crate) rescue_interval: Duration,
    /// Safety poll interval.
    pub(crate) poll_interval: Duration,
    /// Shutdown grace period.
    pub(crate) shutdown_grace: Duration,
    /// How long a cancelled attempt's handler may take to stop before it is aborted.
    pub(crate) cancel_grace: Duration,
    /// Durable retry schedule.
    pub(crate) retry: RetryPolicy,
    /// Pool size.
    pub pool_size: u32,
    /// Pool acquire timeout.
    pub acquire_timeout: Duration,
    /// Outage length that raises the CRITICAL event.
    pub(crate) outage_critical_after: Duration,
    /// `notify.webhook` signing keys, or unsigned delivery chosen explicitly.
    pub(crate) webhook_signing: webhook::WebhookSigning,
    /// `notify.webhook` request timeout.
    pub(crate) webhook_timeout: Duration,
    /// `notify.webhook` connection reuse (`HERALD_WEBHOOK_POOL_*`).
    pub(crate) webhook_pool: HttpPoolSettings,
    /// Largest payload (JSON text, bytes) accepted at enqueue.
    pub max_payload_bytes: usize,
    /// Recurring jobs from `HERALD_CRON_FILE` (empty when unset).
    pub(crate) cron: Vec<cron::CronSchedule>,
    /// Where to serve `/metrics`, if anywhere.
    pub metrics_addr: Option<SocketAddr>,
    /// The failure-rate alert's settings.
    pub failure_rate: FailureRateConfig,
    /// How often the storage metrics are sampled (`HERALD_STORAGE_METRICS_INTERVAL`).
    pub(crate) storage_metrics_interval: Duration,
    /// The `notify.email` channel; `None` when `HERALD_SMTP_HOST` is unset.
    pub(crate) email: Option<email::EmailConfig>,
    /// Sentry reporting (`None`, the default, when `SENTRY_DSN` is unset).
    pub(crate) sentry: Option<sentry::SentryConfig>,
    /// Retention ages and the maintenance leader's settings (`retention`).
    pub retention: RetentionConfig,
}

impl std::fmt::Debug for WorkerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerConfig")
            .field("database_url", &crate::sanitize::redact(&self.database_url))
            .field("worker_id", &self.worker_id)
            .field("queues", &self.queues)
            .field("lease", &self.lease)
            .field("shutdown_grace", &self.shutdown_grace)
            .field("cancel_grace", &self.cancel_grace)
            .field("retry", &self.retry)
            .field("pool_size", &self.pool_size)
            .field("max_payload_bytes", &self.max_payload_bytes)
            .field(
                "cron",
                &self
                    .cron
                    .iter()
                    .map(|c| format!("{} [{}] {}", c.name, c.expression, c.job_type))
                    .collect::<Vec<_>>(),
            )
            .field("metrics_addr", &self.metrics_addr)
            .field("storage_metrics_interval", &self.storage_metrics_interval)
            .field("failure_rate", &self.failure_rate)
            .field("webhook_signing", &self.webhook_signing)
            .field("webhook_pool", &self.webhook_pool)
            .field("email", &self.email)
            .field("retention", &self.retention)
            .finish_non_exhaustive()
    }
}

impl WorkerConfig {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
    }

    /// Reads configuration through `get` (a variable's value, or `None` when unset).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let database_url = get("DATABASE_URL").ok_or(ConfigError::Missing("DATABASE_URL"))?;
        let lease = duration(&get, "HERALD_LEASE", Duration::from_secs(30))?;
        let retry_defaults = RetryPolicy::default();
        let jitter = match get("HERALD_RETRY_JITTER") {
            None => retry_defaults.jitter,
            Some(v) => v
                .parse::<f64>()
                .ok()
                .filter(|j| (0.0..=1.0).contains(j))
                .ok_or_else(|| invalid("HERALD_RETRY_JITTER", &v, "a fraction from 0 to 1"))?,
        };
        let retention = retention::from_lookup(&get)?;
        if retention.enabled && retention.pause >= lease {
            return Err(invalid(
                "HERALD_MAINTENANCE_PAUSE",
                &format_duration(retention.pause),
                &format!(
                    "shorter than HERALD_LEASE ({}): the leader's lease must outlive a pause",
                    format_duration(lease)
                ),
            ));
        }
        Ok(Self {
            database_url,
            worker_id: match get("HERALD_WORKER_ID") {
                Some(id) => worker_id(&id)?,
                None => default_worker_id(),
            },
            queues: queues(get("HERALD_QUEUES").as_deref().unwrap_or("default"))?,
            lease,
            heartbeat_interval: duration(&get, "HERALD_HEARTBEAT_INTERVAL", lease / 6)?,
            rescue_interval: duration(&get, "HERALD_RESCUE_INTERVAL", lease / 2)?,
            poll_interval: duration(&get, "HERALD_POLL_INTERVAL", Duration::from_secs(5))?,
            shutdown_grace: duration(&get, "HERALD_SHUTDOWN_GRACE", Duration::from_secs(30))?,
            cancel_grace: duration(&get, "HERALD_CANCEL_GRACE", Duration::from_secs(10))?,
            retry: RetryPolicy {
                base: duration(&get, "HERALD_RETRY_BASE", retry_defaults.base)?,
                max: duration(&get, "HERALD_RETRY_MAX", retry_defaults.max)?,
                jitter,
            },
            pool_size: number(&get, "HERALD_DB_POOL_SIZE", 10)?,
            acquire_timeout: duration(&get, "HERALD_DB_ACQUIRE_TIMEOUT", Duration::from_secs(5))?,
            outage_critical_after: duration(
                &get,
                "HERALD_DB_OUTAGE_CRITICAL_AFTER",
                Duration::from_secs(30),
            )?,
            webhook_signing: webhook::WebhookSigning::from_lookup(&get)?,
            webhook_timeout: duration(&get, "HERALD_WEBHOOK_TIMEOUT", Duration::from_secs(10))?,
            webhook_pool: webhook_pool(&get)?,
            max_payload_bytes: number(
                &get,
                "HERALD_MAX_PAYLOAD_BYTES",
                herald_jobs::enqueue::DEFAULT_MAX_PAYLOAD_BYTES as u32,
            )? as usize,
            cron: match get("HERALD_CRON_FILE") {
                Some(path) => cron::load(&path)?,
                None => Vec::new(),
            },
            metrics_addr: match get("HERALD_METRICS_ADDR") {
                None => None,
                Some(v) => Some(parse_addr("HERALD_METRICS_ADDR", &v)?),
            },
            failure_rate: failure_rate(&get)?,
            storage_metrics_interval: storage_metrics_interval(&get)?,
            email: email::EmailConfig::from_lookup(&get)?,
            sentry: sentry::SentryConfig::from_lookup(&get)?,
            retention,
        })
    }

    /// The queue names, in configuration order.
    pub(crate) fn queue_names(&self) -> Vec<String> {
        self.queues.iter().map(|q| q.name.clone()).collect()
    }
}

/// The retention settings alone, read through `get` (what `herald retention` shows; a
/// worker reads them as part of [`WorkerConfig::from_lookup`]). Empty values count as unset.
pub fn retention_from_lookup(
    get: &dyn Fn(&str) -> Option<String>,
) -> Result<RetentionConfig, ConfigError> {
    retention::from_lookup(&|name: &str| get(name).filter(|v| !v.is_empty()))
}

/// `HERALD_WEBHOOK_POOL_MAX_IDLE_PER_HOST` and `HERALD_WEBHOOK_POOL_IDLE_TIMEOUT`.
fn webhook_pool(get: &impl Fn(&str) -> Option<String>) -> Result<HttpPoolSettings, ConfigError> {
    let defaults = HttpPoolSettings::default();
    let max_idle = number(
        get,
        "HERALD_WEBHOOK_POOL_MAX_IDLE_PER_HOST",
        defaults.max_idle_per_host as u32,
    )?;
    Ok(HttpPoolSettings {
        idle_timeout: duration(
            get,
            "HERALD_WEBHOOK_POOL_IDLE_TIMEOUT",
            defaults.idle_timeout,
        )?,
        max_idle_per_host: max_idle as usize,
    })
}

fn queues(spec: &str) -> Result<Vec<QueueConfig>, ConfigError> {
    let mut seen = BTreeMap::new();
    let mut out = Vec::new();
    for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, concurrency) = match part.split_once('=') {
            None => (part, DEFAULT_CONCURRENCY),
            Some((name, n)) => (
                name,
                n.trim()
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=10_000).contains(n))
                    .ok_or_else(|| {
                        invalid("HERALD_QUEUES", spec, "name=concurrency pairs, 1 to 10000")
                    })?,
            ),
        };
        let name = name.trim();
        if let Err(rule) = herald_jobs::rules::check_queue(name) {
            return Err(invalid("HERALD_QUEUES", spec, &rule.to_string()));
        }
        if seen.insert(name.to_owned(), ()).is_some() {
            return Err(invalid(
                "HERALD_QUEUES",
                spec,
                "distinct, non-empty queue names",
            ));
        }
        out.push(QueueConfig {
            name: name.to_owned(),
            concurrency,
        });
    }
    if out.is_empty() {
        return Err(invalid("HERALD_QUEUES", spec, "at least one queue"));
    }
    Ok(out)
}

/// A worker id as given: 1 to 128 bytes of `A-Z a-z 0-9 _ . : -` (a hostname fits), so
/// it prints safely in logs, tables and audit rows.
fn worker_id(id: &str) -> Result<String, ConfigError> {
    let fits = (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.:-".contains(&b));
    if fits {
        Ok(id.to_owned())
    } else {
        Err(invalid(
            "HERALD_WORKER_ID",
            id,
            "1 to 128 bytes of A-Z a-z 0-9 _ . : -",
        ))
    }
}

fn default_worker_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "host".to_owned());
    format!(
        "{host}-{}-{:04x}",
        std::process::id(),
        rand::random::<u16>()
    )
}

#[cfg(test)]
mod tests {
    use super::parse::parse_duration;
    use super::telemetry::otel_from_lookup;
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<WorkerConfig, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        WorkerConfig::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_apply_when_only_the_database_is_set() {
        let cfg = config(&[("DATABASE_URL", "postgres://x")]);
        let cfg = cfg.as_ref().ok();
        assert_eq!(cfg.map(|c| c.lease), Some(Duration::from_secs(30)));
        assert_eq!(
            cfg.map(|c| c.heartbeat_interval),
            Some(Duration::from_secs(5))
        );
        assert_eq!(
            cfg.map(|c| c.queues.clone()),
            Some(vec![QueueConfig {
                name: "default".into(),
                concurrency: 100
            }])
        );
    }

    #[test]
    fn missing_database_url_is_reported() {
        assert_eq!(
            config(&[]).err(),
            Some(ConfigError::Missing("DATABASE_URL"))
        );
    }

    #[test]
    fn bad_values_fail_at_start_up_with_the_variable_named() {
        let cases = [
            ("HERALD_LEASE", "soon"),
            ("HERALD_LEASE", "0s"),
            ("HERALD_QUEUES", "a=0"),
            ("HERALD_QUEUES", "a=1,a=2"),
            ("HERALD_QUEUES", "bad name=1"),
            ("HERALD_QUEUES", "\u{1b}[2J"),
            ("HERALD_WORKER_ID", "w\nforged"),
            ("HERALD_WORKER_ID", "w\u{1b}[2J"),
            ("HERALD_DB_POOL_SIZE", "-1"),
            ("HERALD_RETRY_JITTER", "2"),
            ("HERALD_MAX_PAYLOAD_BYTES", "256k"),
            ("HERALD_METRICS_ADDR", "localhost"),
            ("HERALD_FAILURE_RATE_THRESHOLD", "5"),
            ("HERALD_FAILURE_RATE_MIN_SAMPLES", "0"),
            ("HERALD_FAILURE_RATE_WINDOW", "soon"),
        ];
        for (name, value) in cases {
            let err = config(&[("DATABASE_URL", "postgres://x"), (name, value)]).err();
            assert!(
                matches!(err, Some(ConfigError::Invalid { name: n, .. }) if n == name),
                "{name}={value}"
            );
        }
    }

    #[test]
    fn settings_out_of_their_range_fail_at_start_up_naming_the_range() {
        let cases = [
            ("HERALD_RETRY_BASE", "99999999999999999999999", "1ms to 1d"),
            ("HERALD_RETRY_BASE", "2d", "1ms to 1d"),
            ("HERALD_LEASE", "10000000000d", "1s to 1h"),
            ("HERALD_LEASE", "500ms", "1s to 1h"),
            ("HERALD_POLL_INTERVAL", "1e400", "10ms to 1h"),
            ("HERALD_DB_POOL_SIZE", "100000", "1 to 1000"),
            (
                "HERALD_WEBHOOK_POOL_MAX_IDLE_PER_HOST",
                "10001",
                "0 to 10000",
            ),
            ("HERALD_WEBHOOK_POOL_IDLE_TIMEOUT", "0s", "1s to 1h"),
        ];
        for (name, value, range) in cases {
            let err = config(&[("DATABASE_URL", "postgres://x"), (name, value)]).err();
            let text = err.as_ref().map(ToString::to_string).unwrap_or_default();
            assert!(
                matches!(err, Some(ConfigError::Invalid { name: n, .. }) if n == name)
                    && text.contains(range),
                "{name}={value}: {text}"
            );
        }
    }

    #[test]
    fn queues_parse_with_concurrency() {
        assert_eq!(
            queue_limits("mail=4, default=32"),
            vec![("mail".into(), 4), ("default".into(), 32)]
        );
    }

    /// The queues and limits a worker gets from `HERALD_QUEUES = spec`.
    fn queue_limits(spec: &str) -> Vec<(String, usize)> {
        config(&[("DATABASE_URL", "x"), ("HERALD_QUEUES", spec)])
            .map(|c| {
                c.queues
                    .into_iter()
                    .map(|q| (q.name, q.concurrency))
                    .collect()
            })
            .unwrap_or_default()
    }

    #[test]
    fn a_queue_named_without_a_concurrency_gets_the_default_one() {
        assert_eq!(
            queue_limits("mail=4,bulk"),
            vec![("mail".into(), 4), ("bulk".into(), DEFAULT_CONCURRENCY)]
        );
        assert_eq!(DEFAULT_CONCURRENCY, 100);
    }

    #[test]
    fn durations_parse_in_every_unit() {
        assert_eq!(parse_duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_duration("30s"), Some(Duration::from_secs(30)));
        assert_eq!(parse_duration("5m"), Some(Duration::from_secs(300)));
        assert_eq!(parse_duration("2h"), Some(Duration::from_secs(7200)));
        assert_eq!(parse_duration("7d"), Some(Duration::from_secs(604_800)));
        assert_eq!(parse_duration("12"), Some(Duration::from_secs(12)));
        assert_eq!(parse_duration("5 weeks"), None);
        assert_eq!(parse_duration(""), None);
    }

    #[test]
    fn otel_settings_come_from_the_standard_variables() {
        let vars: HashMap<&str, &str> = [
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
            ("OTEL_SERVICE_NAME", "billing-worker"),
            (
                "OTEL_RESOURCE_ATTRIBUTES",
                "deployment.environment=prod, team=core",
            ),
        ]
        .into_iter()
        .collect();
        let cfg = otel_from_lookup(|k| vars.get(k).map(|v| (*v).to_owned()));
        let cfg = cfg.unwrap_or_default();
        assert_eq!(cfg.endpoint.as_deref(), Some("http://collector:4318"));
        assert_eq!(cfg.protocol, OtlpProtocol::HttpProtobuf);
        assert_eq!(cfg.service_name, "billing-worker");
        assert_eq!(cfg.resource_attributes.len(), 2);
        let off = otel_from_lookup(|_| None).unwrap_or_default();
        assert_eq!(off.endpoint, None, "no endpoint, no export");
        assert!(
            otel_from_lookup(|k| (k == "OTEL_EXPORTER_OTLP_PROTOCOL").then(|| "udp".into()))
                .is_err()
        );
    }

    #[test]
    fn a_maintenance_pause_as_long_as_the_lease_is_refused_unless_maintenance_is_off() {
        let pause = [
            ("DATABASE_URL", "postgres://x"),
            ("HERALD_LEASE", "2s"),
            ("HERALD_MAINTENANCE_PAUSE", "2s"),
        ];
        match config(&pause) {
            Err(ConfigError::Invalid { name, reason, .. }) => {
                assert_eq!(name, "HERALD_MAINTENANCE_PAUSE");
                assert!(
                    reason.contains("shorter than HERALD_LEASE (2s)"),
                    "{reason}"
                );
            }
            other => panic!("accepted: {:?}", other.map(|_| ())),
        }
        let mut off = pause.to_vec();
        off.push(("HERALD_MAINTENANCE_ENABLED", "false"));
        assert!(config(&off).is_ok());
    }

    #[test]
    fn the_storage_metrics_interval_defaults_to_a_minute_and_a_bad_value_names_its_range() {
        let base = ("DATABASE_URL", "postgres://x");
        let cfg = config(&[base]).map(|c| c.storage_metrics_interval);
        assert_eq!(cfg, Ok(Duration::from_secs(60)));
        let cfg = config(&[base, ("HERALD_STORAGE_METRICS_INTERVAL", "5m")]);
        assert_eq!(
            cfg.map(|c| c.storage_metrics_interval),
            Ok(Duration::from_secs(300))
        );
        for bad in ["soon", "0s", "50ms", "2d"] {
            match config(&[base, ("HERALD_STORAGE_METRICS_INTERVAL", bad)]) {
                Err(ConfigError::Invalid { name, reason, .. }) => {
                    assert_eq!(name, "HERALD_STORAGE_METRICS_INTERVAL");
                    assert!(reason.contains("from 100ms to 1d"), "{bad}: {reason}");
                }
                other => panic!("{bad} accepted: {:?}", other.map(|_| ())),
            }
        }
    }

    #[test]
    fn debug_output_hides_secrets() {
        let cfg = config(&[
            ("DATABASE_URL", "postgres://u:pw123@db/h"),
            (
                "HERALD_WEBHOOK_SIGNING_KEYS",
                "whsec_dG9wc2VjcmV0a2V5LWxvbmdlbm91Z2g=",
            ),
        ]);
        let text = cfg.map(|c| format!("{c:?}")).unwrap_or_default();
        assert!(
            !text.contains("pw123") && !text.contains("dG9wc2VjcmV0a2V5"),
            "{text}"
        );
    }
}

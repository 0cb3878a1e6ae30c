//! Settings of the telemetry: the failure-rate alert, the storage metrics' interval,
//! OpenTelemetry trace export, the log format and filter, and whether Sentry is on.

use std::time::Duration;

use super::parse::{duration, invalid, number};
use super::{ConfigError, LogFormat};

/// The failure-rate alert's settings (`HERALD_FAILURE_RATE_*`; the tracker is
/// `crate::telemetry::failure_rate`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FailureRateConfig {
    /// How far back attempts count.
    pub window: Duration,
    /// Trips when the rate is above this (0..1).
    pub threshold: f64,
    /// Resolves when the rate is below this (0..threshold).
    pub(crate) resolve_below: f64,
    /// Trips only when the window holds at least this many attempts.
    pub(crate) min_samples: u64,
}

impl Default for FailureRateConfig {
    fn default() -> Self {
        Self {
            window: Duration::from_secs(300),
            threshold: 0.05,
            resolve_below: 0.04,
            min_samples: 20,
        }
    }
}

/// The OTLP transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum OtlpProtocol {
    /// OTLP over gRPC (the default; collector port 4317).
    #[default]
    Grpc,
    /// OTLP over HTTP with protobuf bodies (collector port 4318, path `/v1/traces`).
    HttpProtobuf,
}

/// Trace export settings (the `OTEL_*` variables of `config.rs`; the exporter is
/// `crate::telemetry::otel`).
#[derive(Debug, Clone, PartialEq)]
pub struct OtelConfig {
    /// Where to send spans; `None` turns export off.
    pub(crate) endpoint: Option<String>,
    /// gRPC or HTTP/protobuf.
    pub(crate) protocol: OtlpProtocol,
    /// `service.name` (default `herald`).
    pub(crate) service_name: String,
    /// Extra resource attributes from `OTEL_RESOURCE_ATTRIBUTES`.
    pub(crate) resource_attributes: Vec<(String, String)>,
    /// How often queued spans are exported (default 5 s).
    pub(crate) schedule_delay: Duration,
    /// How long one export may take before it counts as failed (default 10 s).
    pub(crate) export_timeout: Duration,
}

impl Default for OtelConfig {
    fn default() -> Self {
        Self {
            endpoint: None,
            protocol: OtlpProtocol::Grpc,
            service_name: "herald".to_owned(),
            resource_attributes: Vec::new(),
            schedule_delay: Duration::from_secs(5),
            export_timeout: Duration::from_secs(10),
        }
    }
}

/// The failure-rate alert's settings (`HERALD_FAILURE_RATE_*`) through `get`.
pub(super) fn failure_rate(
    get: &impl Fn(&str) -> Option<String>,
) -> Result<FailureRateConfig, ConfigError> {
    let fraction = |name: &'static str, default: f64| match get(name) {
        None => Ok(default),
        Some(v) => v
            .parse::<f64>()
            .ok()
            .filter(|f| *f > 0.0 && *f < 1.0)
            .ok_or_else(|| invalid(name, &v, "a fraction between 0 and 1, such as 0.05")),
    };
    let threshold = fraction("HERALD_FAILURE_RATE_THRESHOLD", 0.05)?;
    let resolve_below = fraction("HERALD_FAILURE_RATE_RESOLVE", threshold * 0.8)?;
    if resolve_below > threshold {
        return Err(invalid(
            "HERALD_FAILURE_RATE_RESOLVE",
            &resolve_below.to_string(),
            "at most HERALD_FAILURE_RATE_THRESHOLD",
        ));
    }
    Ok(FailureRateConfig {
        window: duration(get, "HERALD_FAILURE_RATE_WINDOW", Duration::from_secs(300))?,
        threshold,
        resolve_below,
        min_samples: u64::from(number(get, "HERALD_FAILURE_RATE_MIN_SAMPLES", 20)?),
    })
}

/// How often every worker samples the storage metrics (`HERALD_STORAGE_METRICS_INTERVAL`,
/// 100ms to 24h; the sampler is `crate::telemetry::storage`).
const DEFAULT_STORAGE_METRICS_INTERVAL: Duration = Duration::from_secs(60);

/// `HERALD_STORAGE_METRICS_INTERVAL` through `get`.
pub(super) fn storage_metrics_interval(
    get: &impl Fn(&str) -> Option<String>,
) -> Result<Duration, ConfigError> {
    duration(
        get,
        "HERALD_STORAGE_METRICS_INTERVAL",
        DEFAULT_STORAGE_METRICS_INTERVAL,
    )
}

/// Trace export settings from the standard `OTEL_*` variables (see the module table).
pub fn otel_from_env() -> Result<OtelConfig, ConfigError> {
    otel_from_lookup(|name| std::env::var(name).ok().filter(|v| !v.trim().is_empty()))
}

/// [`otel_from_env`] through `get`.
pub(crate) fn otel_from_lookup(
    get: impl Fn(&str) -> Option<String>,
) -> Result<OtelConfig, ConfigError> {
    let defaults = OtelConfig::default();
    let protocol = match get("OTEL_EXPORTER_OTLP_PROTOCOL").as_deref().map(str::trim) {
        None | Some("grpc") => OtlpProtocol::Grpc,
        Some("http/protobuf") => OtlpProtocol::HttpProtobuf,
        Some(other) => {
            return Err(invalid(
                "OTEL_EXPORTER_OTLP_PROTOCOL",
                other,
                "`grpc` or `http/protobuf`",
            ));
        }
    };
    let millis = |name: &'static str, default: Duration| match get(name) {
        None => Ok(default),
        Some(v) => v
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|n| *n > 0)
            .map(Duration::from_millis)
            .ok_or_else(|| invalid(name, &v, "a positive number of milliseconds")),
    };
    let resource_attributes = get("OTEL_RESOURCE_ATTRIBUTES")
        .map(|v| {
            v.split(',')
                .filter_map(|pair| pair.split_once('='))
                .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
                .filter(|(k, _)| !k.is_empty())
                .collect()
        })
        .unwrap_or_default();
    Ok(OtelConfig {
        endpoint: get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
            .or_else(|| get("OTEL_EXPORTER_OTLP_ENDPOINT")),
        protocol,
        service_name: get("OTEL_SERVICE_NAME").unwrap_or(defaults.service_name),
        resource_attributes,
        schedule_delay: millis("OTEL_BSP_SCHEDULE_DELAY", defaults.schedule_delay)?,
        export_timeout: millis("OTEL_EXPORTER_OTLP_TIMEOUT", defaults.export_timeout)?,
    })
}

/// Whether `SENTRY_DSN` is set (non-empty): the log subscriber adds the Sentry alert
/// layer only then. The DSN itself is validated by
/// [`super::WorkerConfig::from_lookup`].
pub(crate) fn sentry_dsn_set() -> bool {
    std::env::var_os("SENTRY_DSN").is_some_and(|v| !v.is_empty())
}

/// The log format from `HERALD_LOG_FORMAT` (`text` when unset or unknown is an error).
pub fn log_format_from_env() -> Result<LogFormat, ConfigError> {
    match std::env::var("HERALD_LOG_FORMAT").ok().as_deref() {
        None | Some("") | Some("text") => Ok(LogFormat::Text),
        Some("json") => Ok(LogFormat::Json),
        Some(other) => Err(invalid("HERALD_LOG_FORMAT", other, "`text` or `json`")),
    }
}

/// The `tracing` filter from `HERALD_LOG`, then `RUST_LOG`, else `default` (the
/// worker's is `info`; `herald demo` uses `warn`).
pub fn log_filter_from_env(default: &str) -> String {
    std::env::var("HERALD_LOG")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| default.to_owned())
}

//! Parsing of configuration values: durations, numbers, addresses, and the error that
//! names the variable and its (sanitised) value.

use std::net::SocketAddr;
use std::ops::RangeInclusive;
use std::time::Duration;

use super::ConfigError;

/// Parses a listen address such as `127.0.0.1:9464`; `name` names it in the error.
pub fn parse_addr(name: &'static str, value: &str) -> Result<SocketAddr, ConfigError> {
    value
        .trim()
        .parse()
        .map_err(|_| invalid(name, value, "an address such as 127.0.0.1:9464"))
}

/// The longest duration Herald reads anywhere (a flag or a setting): 100 years, `36500d`.
/// Every accepted duration converts to a `chrono` interval and can be added to now.
pub const MAX_DURATION: Duration = Duration::from_secs(36_500 * 86_400);

/// Parses `250ms`, `30s`, `5m`, `2h`, `7d` or a bare number of seconds, up to
/// [`MAX_DURATION`]; `None` for anything else (never panics, whatever the number).
#[cfg(test)]
pub(crate) fn parse_duration(text: &str) -> Option<Duration> {
    parse_duration_within(text, Duration::ZERO..=MAX_DURATION).ok()
}

/// Why a text is not an acceptable duration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DurationError {
    /// The text is not a duration at all.
    #[error("not a duration (e.g. 250ms, 30s, 5m, 2h, 7d, or a number of seconds)")]
    NotADuration,
    /// A duration outside the accepted range (shown as the range).
    #[error("out of range: from {0} to {1}")]
    OutOfRange(String, String),
}

/// `parse_duration` restricted to `range`, with the error a person reads: not a
/// duration, or out of range (naming the range).
pub fn parse_duration_within(
    text: &str,
    range: RangeInclusive<Duration>,
) -> Result<Duration, DurationError> {
    let seconds = seconds_of(text).ok_or(DurationError::NotADuration)?;
    let out_of_range = || {
        DurationError::OutOfRange(
            format_duration(*range.start()),
            format_duration(*range.end()),
        )
    };
    let duration = Duration::try_from_secs_f64(seconds).map_err(|_| out_of_range())?;
    range
        .contains(&duration)
        .then_some(duration)
        .ok_or_else(out_of_range)
}

/// The number of seconds `text` says, if it is a duration (any size).
fn seconds_of(text: &str) -> Option<f64> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number.parse().ok()?;
    let seconds = match unit.trim() {
        "" | "s" => value,
        "ms" => value / 1000.0,
        "m" => value * 60.0,
        "h" => value * 3600.0,
        "d" => value * 86_400.0,
        _ => return None,
    };
    (seconds.is_finite() && seconds >= 0.0).then_some(seconds)
}

/// A duration the way `parse_duration` reads it back: `7d`, `2h`, `5m`, `30s`, `250ms`.
pub fn format_duration(d: Duration) -> String {
    let (secs, ms) = (d.as_secs(), d.subsec_millis());
    match (secs, ms) {
        (0, 0) => "0s".to_owned(),
        (s, 0) if s % 86_400 == 0 => format!("{}d", s / 86_400),
        (s, 0) if s % 3600 == 0 => format!("{}h", s / 3600),
        (s, 0) if s % 60 == 0 => format!("{}m", s / 60),
        (s, 0) => format!("{s}s"),
        _ => format!("{}ms", d.as_millis()),
    }
}

/// The range each duration setting accepts (documented in the configuration table);
/// a setting not listed accepts 1 ms to [`MAX_DURATION`].
const DURATION_RANGES: [(&str, Duration, Duration); 24] = [
    ("HERALD_LEASE", secs(1), hours(1)),
    ("HERALD_HEARTBEAT_INTERVAL", millis(10), hours(1)),
    ("HERALD_RESCUE_INTERVAL", millis(10), hours(1)),
    ("HERALD_POLL_INTERVAL", millis(10), hours(1)),
    ("HERALD_SHUTDOWN_GRACE", millis(1), hours(1)),
    ("HERALD_CANCEL_GRACE", millis(1), hours(1)),
    ("HERALD_RETRY_BASE", millis(1), hours(24)),
    ("HERALD_RETRY_MAX", millis(1), hours(30 * 24)),
    ("HERALD_DB_ACQUIRE_TIMEOUT", millis(1), secs(600)),
    ("HERALD_DB_OUTAGE_CRITICAL_AFTER", millis(1), hours(24)),
    ("HERALD_WEBHOOK_TIMEOUT", millis(1), secs(600)),
    ("HERALD_SMTP_TIMEOUT", millis(1), secs(600)),
    ("HERALD_WEBHOOK_POOL_IDLE_TIMEOUT", secs(1), hours(1)),
    ("HERALD_SMTP_POOL_IDLE_TIMEOUT", secs(1), hours(1)),
    ("HERALD_FAILURE_RATE_WINDOW", millis(100), hours(7 * 24)),
    ("HERALD_RETENTION_SUCCEEDED", secs(1), MAX_DURATION),
    ("HERALD_RETENTION_DEAD", secs(1), MAX_DURATION),
    ("HERALD_RETENTION_CANCELLED", secs(1), MAX_DURATION),
    ("HERALD_RETENTION_FAILED_ATTEMPTS", secs(1), MAX_DURATION),
    ("HERALD_RETENTION_OPERATOR_ACTIONS", secs(1), MAX_DURATION),
    ("HERALD_RETENTION_MAINTENANCE_RUNS", secs(1), MAX_DURATION),
    ("HERALD_MAINTENANCE_INTERVAL", millis(10), hours(7 * 24)),
    ("HERALD_MAINTENANCE_PAUSE", millis(0), secs(60)),
    ("HERALD_STORAGE_METRICS_INTERVAL", millis(100), hours(24)),
];

/// The range each number setting accepts; a setting not listed accepts 1 to 2^32 - 1.
const NUMBER_RANGES: [(&str, u32, u32); 8] = [
    ("HERALD_DB_POOL_SIZE", 1, 1000),
    ("HERALD_MAX_PAYLOAD_BYTES", 1, 64 * 1024 * 1024),
    ("HERALD_FAILURE_RATE_MIN_SAMPLES", 1, 1_000_000),
    ("HERALD_MAINTENANCE_BATCH", 1, 10_000),
    ("HERALD_AUDIT_PARTITION_JOBS", 10, 1_000_000_000),
    ("HERALD_AUDIT_PARTITIONS_AHEAD", 0, 100),
    ("HERALD_WEBHOOK_POOL_MAX_IDLE_PER_HOST", 0, 10_000),
    ("HERALD_SMTP_POOL_MAX_IDLE", 0, 10_000),
];

const fn millis(n: u64) -> Duration {
    Duration::from_millis(n)
}
const fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}
const fn hours(n: u64) -> Duration {
    Duration::from_secs(n * 3600)
}

fn duration_range(name: &str) -> RangeInclusive<Duration> {
    DURATION_RANGES
        .iter()
        .find(|(n, ..)| *n == name)
        .map_or(millis(1)..=MAX_DURATION, |(_, lo, hi)| *lo..=*hi)
}

fn number_range(name: &str) -> RangeInclusive<u32> {
    NUMBER_RANGES
        .iter()
        .find(|(n, ..)| *n == name)
        .map_or(1..=u32::MAX, |(_, lo, hi)| *lo..=*hi)
}

/// Duration setting `name` within its range (`DURATION_RANGES`); `default` when unset.
pub(super) fn duration(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: Duration,
) -> Result<Duration, ConfigError> {
    let range = duration_range(name);
    let expected = format!(
        "a duration from {} to {} (e.g. 30s, 5m, 250ms)",
        format_duration(*range.start()),
        format_duration(*range.end())
    );
    setting(get, name, default, &expected, |v| {
        parse_duration_within(v, range.clone()).ok()
    })
}

/// Whole-number setting `name` within its range (`NUMBER_RANGES`); `default` when unset.
pub(super) fn number(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: u32,
) -> Result<u32, ConfigError> {
    let range = number_range(name);
    let expected = format!("a whole number from {} to {}", range.start(), range.end());
    setting(get, name, default, &expected, |v| {
        v.trim().parse::<u32>().ok().filter(|n| range.contains(n))
    })
}

/// Setting `name`: `default` when unset, else `parse` of its value, or an error saying
/// the value is not `expected`.
fn setting<T>(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: T,
    expected: &str,
    parse: impl Fn(&str) -> Option<T>,
) -> Result<T, ConfigError> {
    match get(name) {
        None => Ok(default),
        Some(v) => parse(&v).ok_or_else(|| invalid(name, &v, expected)),
    }
}

/// The error for variable `name` holding `value`, which is not `reason`.
pub(super) fn invalid(name: &'static str, value: &str, reason: &str) -> ConfigError {
    ConfigError::Invalid {
        name,
        value: crate::sanitize::sanitize(value),
        reason: reason.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn huge_durations_are_out_of_range_not_a_panic() {
        for text in ["99999999999999999999999", "10000000000d", "36501d"] {
            assert_eq!(parse_duration(text), None, "{text}");
            let err = parse_duration_within(text, Duration::ZERO..=MAX_DURATION);
            let shown = err.map_err(|e| e.to_string());
            assert_eq!(
                shown,
                Err("out of range: from 0s to 36500d".to_owned()),
                "{text}"
            );
        }
        assert_eq!(parse_duration("36500d"), Some(MAX_DURATION));
    }

    #[test]
    fn durations_read_back_as_they_are_shown() {
        for text in ["0s", "250ms", "30s", "5m", "2h", "7d", "36500d"] {
            let d = parse_duration(text);
            assert_eq!(d.map(format_duration).as_deref(), Some(text));
        }
    }
}

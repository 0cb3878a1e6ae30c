//! Parsing of configuration values: durations, numbers, addresses, and the error that
//! names the variable and its (sanitised) value.

use std::net::SocketAddr;
use std::time::Duration;

use super::ConfigError;

/// Parses a listen address such as `127.0.0.1:9464`; `name` names it in the error.
pub fn parse_addr(name: &'static str, value: &str) -> Result<SocketAddr, ConfigError> {
    value
        .trim()
        .parse()
        .map_err(|_| invalid(name, value, "an address such as 127.0.0.1:9464"))
}

/// Parses `250ms`, `30s`, `5m`, `2h`, `7d` or a bare number of seconds.
pub fn parse_duration(text: &str) -> Option<Duration> {
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
    (seconds.is_finite() && seconds >= 0.0).then(|| Duration::from_secs_f64(seconds))
}

pub(super) fn duration(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: Duration,
) -> Result<Duration, ConfigError> {
    setting(
        get,
        name,
        default,
        "a positive duration such as 30s, 5m or 250ms",
        |v| parse_duration(v).filter(|d| !d.is_zero()),
    )
}

pub(super) fn number(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: u32,
) -> Result<u32, ConfigError> {
    setting(get, name, default, "a positive whole number", |v| {
        v.parse::<u32>().ok().filter(|n| *n > 0)
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

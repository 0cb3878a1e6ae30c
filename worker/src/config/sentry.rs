//! Sentry settings, read through the same lookup as [`crate::config::WorkerConfig`].
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `SENTRY_DSN` | (none: Sentry is off, and costs nothing) | where events go |
//! | `SENTRY_ENVIRONMENT` | (none) | the events' `environment` |
//! | `SENTRY_RELEASE` | (none) | the events' `release` |
//! | `HERALD_SENTRY_REPORT_RETRY` | (none: retries are never events) | also report a job's *n*th consecutive retryable failure (attempt *n*), as a warning |

use std::str::FromStr;

use super::ConfigError;

/// Where and how to report to Sentry.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct SentryConfig {
    /// The DSN (`https://public@host/project`).
    pub(crate) dsn: sentry::types::Dsn,
    /// `SENTRY_ENVIRONMENT`.
    pub(crate) environment: Option<String>,
    /// `SENTRY_RELEASE`.
    pub(crate) release: Option<String>,
    /// Report the failure of attempt `n` when it is retried (default: never).
    pub(crate) report_retry_at: Option<u32>,
}

impl std::fmt::Debug for SentryConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SentryConfig")
            .field("host", &self.dsn.host())
            .field("project", &self.dsn.project_id().to_string())
            .field("environment", &self.environment)
            .field("release", &self.release)
            .field("report_retry_at", &self.report_retry_at)
            .finish_non_exhaustive()
    }
}

impl SentryConfig {
    /// The settings from `get`; `None` when `SENTRY_DSN` is unset. Fails on a DSN that
    /// does not parse or a retry number that is not a positive integer.
    pub(crate) fn from_lookup(
        get: &impl Fn(&str) -> Option<String>,
    ) -> Result<Option<Self>, ConfigError> {
        let Some(dsn) = get("SENTRY_DSN") else {
            return Ok(None);
        };
        let dsn = sentry::types::Dsn::from_str(dsn.trim()).map_err(|e| ConfigError::Invalid {
            name: "SENTRY_DSN",
            // The DSN's public key is not a secret, but keep it out of messages anyway.
            value: "[REDACTED]".to_owned(),
            reason: e.to_string(),
        })?;
        let report_retry_at = match get("HERALD_SENTRY_REPORT_RETRY") {
            None => None,
            Some(v) => Some(
                v.trim()
                    .parse::<u32>()
                    .ok()
                    .filter(|n| *n >= 1)
                    .ok_or_else(|| ConfigError::Invalid {
                        name: "HERALD_SENTRY_REPORT_RETRY",
                        value: v.clone(),
                        reason: "a positive attempt number".to_owned(),
                    })?,
            ),
        };
        Ok(Some(Self {
            dsn,
            environment: get("SENTRY_ENVIRONMENT"),
            release: get("SENTRY_RELEASE"),
            report_retry_at,
        }))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn read(pairs: &[(&str, &str)]) -> Result<Option<SentryConfig>, ConfigError> {
        let env: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        SentryConfig::from_lookup(&|k: &str| env.get(k).cloned())
    }

    #[test]
    fn sentry_is_off_without_a_dsn() {
        assert_eq!(read(&[("SENTRY_RELEASE", "1.0")]), Ok(None));
    }

    #[test]
    fn a_dsn_turns_sentry_on_with_environment_release_and_retry_report() {
        let cfg = read(&[
            ("SENTRY_DSN", "http://public@127.0.0.1:9/1"),
            ("SENTRY_ENVIRONMENT", "staging"),
            ("SENTRY_RELEASE", "herald@1.2.3"),
            ("HERALD_SENTRY_REPORT_RETRY", "3"),
        ])
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("sentry config expected"));
        assert_eq!(cfg.dsn.host(), "127.0.0.1");
        assert_eq!(cfg.environment.as_deref(), Some("staging"));
        assert_eq!(cfg.release.as_deref(), Some("herald@1.2.3"));
        assert_eq!(cfg.report_retry_at, Some(3));
    }

    #[test]
    fn a_bad_dsn_or_retry_number_stops_start_up() {
        assert!(read(&[("SENTRY_DSN", "not a dsn")]).is_err());
        for bad in ["0", "x", "-1"] {
            assert!(
                read(&[
                    ("SENTRY_DSN", "http://public@127.0.0.1:9/1"),
                    ("HERALD_SENTRY_REPORT_RETRY", bad)
                ])
                .is_err(),
                "{bad}"
            );
        }
    }
}

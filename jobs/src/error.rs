//! The error taxonomy every job failure is expressed in.
//!
//! A handler returns a [`JobError`]. Each variant has a stable machine [`ErrorCode`]
//! (what operators filter and alert on) and a [`FailureClass`] (whether another attempt
//! can help). The class of each code is decided in exactly one place,
//! [`ErrorCode::class`], and unit-tested as a table.
//!
//! | code | class | typical cause |
//! |---|---|---|
//! | `NOT_FOUND` | terminal | the thing the job acts on does not exist |
//! | `VALIDATION_ERROR` | terminal | malformed or undecodable payload, bad input |
//! | `PERMISSION_DENIED` | terminal | credentials rejected, forbidden |
//! | `CONFLICT` | terminal | the change conflicts with current state |
//! | `TIMEOUT` | retryable | the attempt or an upstream call took too long |
//! | `UPSTREAM_UNAVAILABLE` | retryable | connection refused/reset, 5xx, DNS |
//! | `RATE_LIMITED` | retryable | the upstream asked us to slow down (may carry a delay) |
//! | `WORKER_LOST` | retryable | the worker running the attempt died (set by rescue) |
//! | `INTERNAL_ERROR` | retryable | a bug: an unexpected error or a panic in the handler |

use std::fmt;
use std::time::Duration;

/// Whether another attempt of a failed job can succeed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FailureClass {
    /// Another attempt may succeed: the job is retried with backoff until its budget ends.
    Retryable,
    /// No attempt can succeed: the job is dead at once.
    Terminal,
}

impl FailureClass {
    /// The stable lowercase name stored in audit rows (`retryable`, `terminal`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Retryable => "retryable",
            Self::Terminal => "terminal",
        }
    }
}

impl fmt::Display for FailureClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stable machine code for a failure, stored in audit rows and used in filters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// `NOT_FOUND`
    NotFound,
    /// `VALIDATION_ERROR`
    Validation,
    /// `PERMISSION_DENIED`
    PermissionDenied,
    /// `CONFLICT`
    Conflict,
    /// `TIMEOUT`
    Timeout,
    /// `UPSTREAM_UNAVAILABLE`
    UpstreamUnavailable,
    /// `RATE_LIMITED`
    RateLimited,
    /// `WORKER_LOST`
    WorkerLost,
    /// `INTERNAL_ERROR`
    Internal,
}

impl ErrorCode {
    /// Every code, in documentation order.
    pub const ALL: [ErrorCode; 9] = [
        Self::NotFound,
        Self::Validation,
        Self::PermissionDenied,
        Self::Conflict,
        Self::Timeout,
        Self::UpstreamUnavailable,
        Self::RateLimited,
        Self::WorkerLost,
        Self::Internal,
    ];

    /// The stable string form (`NOT_FOUND`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotFound => "NOT_FOUND",
            Self::Validation => "VALIDATION_ERROR",
            Self::PermissionDenied => "PERMISSION_DENIED",
            Self::Conflict => "CONFLICT",
            Self::Timeout => "TIMEOUT",
            Self::UpstreamUnavailable => "UPSTREAM_UNAVAILABLE",
            Self::RateLimited => "RATE_LIMITED",
            Self::WorkerLost => "WORKER_LOST",
            Self::Internal => "INTERNAL_ERROR",
        }
    }

    /// Parses the stable string form; `None` for an unknown code.
    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == code)
    }

    /// The one place that decides whether a code is retryable or terminal.
    pub fn class(self) -> FailureClass {
        match self {
            Self::NotFound | Self::Validation | Self::PermissionDenied | Self::Conflict => {
                FailureClass::Terminal
            }
            Self::Timeout
            | Self::UpstreamUnavailable
            | Self::RateLimited
            | Self::WorkerLost
            | Self::Internal => FailureClass::Retryable,
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The boxed cause a [`JobError`] may carry.
pub type Cause = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A job failure. Handlers build these with the constructors below; the worker turns
/// them into an audited outcome. The source error, when given, is kept for the log's
/// cause chain; the operator sees the code and the one-line message.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JobError {
    /// The thing the job acts on does not exist.
    #[error("not found: {what}")]
    NotFound {
        /// What was missing (no secrets).
        what: String,
    },
    /// The input is invalid; `field` names the offending field.
    #[error("invalid {field}: {message}")]
    Validation {
        /// The offending field or `payload`.
        field: String,
        /// Why it is invalid.
        message: String,
    },
    /// Credentials were rejected or the action is forbidden.
    #[error("permission denied: {message}")]
    PermissionDenied {
        /// What was refused.
        message: String,
    },
    /// The change conflicts with the current state.
    #[error("conflict: {message}")]
    Conflict {
        /// What conflicted.
        message: String,
    },
    /// The attempt or an upstream call took too long.
    #[error("timed out: {message}")]
    Timeout {
        /// What timed out.
        message: String,
    },
    /// An upstream could not be reached or failed temporarily.
    #[error("upstream unavailable: {message}")]
    UpstreamUnavailable {
        /// What failed.
        message: String,
        /// The underlying error, for the log.
        #[source]
        source: Option<Cause>,
    },
    /// The upstream asked to slow down; `retry_after` is its requested delay.
    #[error("rate limited: {message}")]
    RateLimited {
        /// What refused.
        message: String,
        /// The delay the upstream asked for (e.g. HTTP `Retry-After`).
        retry_after: Option<Duration>,
    },
    /// An unexpected error: a bug or an unclassified failure.
    #[error("internal error: {message}")]
    Internal {
        /// A one-line description.
        message: String,
        /// The underlying error, for the log.
        #[source]
        source: Option<Cause>,
    },
}

impl JobError {
    /// A `NOT_FOUND` failure.
    pub fn not_found(what: impl Into<String>) -> Self {
        Self::NotFound { what: what.into() }
    }
    /// A `VALIDATION_ERROR` for `field`.
    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Validation {
            field: field.into(),
            message: message.into(),
        }
    }
    /// A `PERMISSION_DENIED` failure.
    pub fn permission_denied(message: impl Into<String>) -> Self {
        Self::PermissionDenied {
            message: message.into(),
        }
    }
    /// A `CONFLICT` failure.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::Conflict {
            message: message.into(),
        }
    }
    /// A `TIMEOUT` failure.
    pub fn timeout(message: impl Into<String>) -> Self {
        Self::Timeout {
            message: message.into(),
        }
    }
    /// An `UPSTREAM_UNAVAILABLE` failure, keeping its cause.
    pub fn upstream(message: impl Into<String>, source: impl Into<Option<Cause>>) -> Self {
        Self::UpstreamUnavailable {
            message: message.into(),
            source: source.into(),
        }
    }
    /// A `RATE_LIMITED` failure, with the delay the upstream asked for.
    pub fn rate_limited(message: impl Into<String>, retry_after: Option<Duration>) -> Self {
        Self::RateLimited {
            message: message.into(),
            retry_after,
        }
    }
    /// An `INTERNAL_ERROR`, keeping its cause.
    pub fn internal(message: impl Into<String>, source: impl Into<Option<Cause>>) -> Self {
        Self::Internal {
            message: message.into(),
            source: source.into(),
        }
    }

    /// This failure's stable code.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::NotFound { .. } => ErrorCode::NotFound,
            Self::Validation { .. } => ErrorCode::Validation,
            Self::PermissionDenied { .. } => ErrorCode::PermissionDenied,
            Self::Conflict { .. } => ErrorCode::Conflict,
            Self::Timeout { .. } => ErrorCode::Timeout,
            Self::UpstreamUnavailable { .. } => ErrorCode::UpstreamUnavailable,
            Self::RateLimited { .. } => ErrorCode::RateLimited,
            Self::Internal { .. } => ErrorCode::Internal,
        }
    }

    /// Retryable or terminal; decided by the code alone.
    pub fn class(&self) -> FailureClass {
        self.code().class()
    }

    /// The delay the upstream asked for, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::RateLimited { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// The message followed by every source in the chain, joined with `: `.
    pub fn chain(&self) -> String {
        let mut out = self.to_string();
        let mut next = std::error::Error::source(self);
        while let Some(cause) = next {
            out.push_str(": ");
            out.push_str(&cause.to_string());
            next = cause.source();
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_the_documented_class() {
        let table = [
            ("NOT_FOUND", FailureClass::Terminal),
            ("VALIDATION_ERROR", FailureClass::Terminal),
            ("PERMISSION_DENIED", FailureClass::Terminal),
            ("CONFLICT", FailureClass::Terminal),
            ("TIMEOUT", FailureClass::Retryable),
            ("UPSTREAM_UNAVAILABLE", FailureClass::Retryable),
            ("RATE_LIMITED", FailureClass::Retryable),
            ("WORKER_LOST", FailureClass::Retryable),
            ("INTERNAL_ERROR", FailureClass::Retryable),
        ];
        assert_eq!(table.len(), ErrorCode::ALL.len());
        for (code, class) in table {
            let parsed = ErrorCode::parse(code);
            assert_eq!(parsed.map(ErrorCode::class), Some(class), "{code}");
            assert_eq!(parsed.map(ErrorCode::as_str), Some(code));
        }
    }

    #[test]
    fn constructors_map_to_their_codes() {
        let cases = [
            (JobError::not_found("x"), "NOT_FOUND"),
            (JobError::validation("f", "bad"), "VALIDATION_ERROR"),
            (JobError::permission_denied("no"), "PERMISSION_DENIED"),
            (JobError::conflict("c"), "CONFLICT"),
            (JobError::timeout("t"), "TIMEOUT"),
            (JobError::upstream("down", None), "UPSTREAM_UNAVAILABLE"),
            (JobError::rate_limited("slow", None), "RATE_LIMITED"),
            (JobError::internal("bug", None), "INTERNAL_ERROR"),
        ];
        for (error, code) in cases {
            assert_eq!(error.code().as_str(), code);
        }
    }

    #[test]
    fn unknown_code_does_not_parse() {
        assert_eq!(ErrorCode::parse("OOPS"), None);
    }

    #[test]
    fn chain_includes_every_source() {
        let io = std::io::Error::other("connection reset");
        let error = JobError::upstream("POST failed", Some(Box::new(io) as Cause));
        assert_eq!(
            error.chain(),
            "upstream unavailable: POST failed: connection reset"
        );
    }

    #[test]
    fn only_rate_limited_carries_a_delay() {
        let delay = Duration::from_secs(7);
        assert_eq!(
            JobError::rate_limited("429", Some(delay)).retry_after(),
            Some(delay)
        );
        assert_eq!(JobError::timeout("t").retry_after(), None);
    }
}

//! Building Herald's Sentry events and breadcrumbs from a finished attempt (pure), and
//! [`scrub`], the `before_send` pass that sanitises every text field again.
//!
//! | event field | value |
//! |---|---|
//! | `fingerprint` | `[<herald fingerprint>]` (`crate::fingerprint`, as `herald failures` shows) |
//! | `level` | `error` (dead job, handler panic); `warning` (the *n*th retry, when configured) |
//! | `exception` | type = the error code, value = the sanitised message |
//! | `transaction` | the job type |
//! | `tags` | `job.type`, `job.queue`, `job.attempt`, `error.code`, `error.class`, `outcome`, `herald.fingerprint`, `herald.report` (`dead`, `panic`, `retry`), `trace_id` (when the job has one) |
//! | `contexts.trace` | the job's trace id, so Sentry links to the trace |
//! | `extra` | `job.id`, `job.max_attempts`, `error.chain`, `error.backtrace` (panics), `next_run_at` |
//! | `breadcrumbs` | the job's earlier retryable failures seen by this process |

use std::str::FromStr;
use std::time::SystemTime;

use sentry::protocol::{Breadcrumb, Context, Event, Exception, Level, TraceContext, TraceId};
use serde_json::Value;

use crate::audit::report::AttemptRef;
use crate::audit::{Failure, Transition};
use crate::sanitize::{sanitize, sanitize_json};

/// Why an attempt is reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reason {
    /// The job is dead (terminal, or out of attempts).
    Dead,
    /// The handler panicked (the job may still be retried).
    Panic,
    /// The configured *n*th consecutive retryable failure.
    Retry,
}

impl Reason {
    fn as_str(self) -> &'static str {
        match self {
            Self::Dead => "dead",
            Self::Panic => "panic",
            Self::Retry => "retry",
        }
    }
}

/// The breadcrumb recording one retryable failure of a job.
pub(crate) fn breadcrumb(job: &AttemptRef<'_>, t: &Transition, failure: &Failure) -> Breadcrumb {
    let mut data = sentry::protocol::Map::new();
    data.insert("job.attempt".into(), Value::from(job.attempt));
    data.insert("error.code".into(), Value::from(failure.code.as_str()));
    data.insert("error.class".into(), Value::from(failure.class.as_str()));
    data.insert("outcome".into(), Value::from(t.outcome.as_str()));
    if let Some(next) = t.next_run_at {
        data.insert("next_run_at".into(), Value::from(next.to_rfc3339()));
    }
    Breadcrumb {
        timestamp: SystemTime::now(),
        ty: "error".into(),
        category: Some("herald.attempt".into()),
        level: Level::Warning,
        message: Some(sanitize(&failure.message)),
        data,
    }
}

/// The event for `job`'s attempt that ended with `t` (its `failure`), reported for
/// `reason`, carrying `crumbs`.
pub(crate) fn build(
    job: &AttemptRef<'_>,
    t: &Transition,
    failure: &Failure,
    reason: Reason,
    crumbs: Vec<Breadcrumb>,
) -> Event<'static> {
    let fingerprint =
        crate::fingerprint::fingerprint(job.job_type, failure.code.as_str(), &failure.message);
    let mut event = Event {
        level: match reason {
            Reason::Retry => Level::Warning,
            Reason::Dead | Reason::Panic => Level::Error,
        },
        fingerprint: vec![fingerprint.clone().into()].into(),
        transaction: Some(sanitize(job.job_type)),
        logger: Some("herald::audit".into()),
        exception: vec![Exception {
            ty: failure.code.as_str().to_owned(),
            value: Some(sanitize(&failure.message)),
            ..Exception::default()
        }]
        .into(),
        breadcrumbs: crumbs.into(),
        ..Event::default()
    };
    let tags = [
        ("job.type", sanitize(job.job_type)),
        ("job.queue", sanitize(job.queue)),
        ("job.attempt", job.attempt.to_string()),
        ("error.code", failure.code.as_str().to_owned()),
        ("error.class", failure.class.as_str().to_owned()),
        ("outcome", t.outcome.as_str().to_owned()),
        ("herald.fingerprint", fingerprint),
        ("herald.report", reason.as_str().to_owned()),
    ];
    event.tags = tags.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
    if let Some(trace_id) = job.trace_id {
        event.tags.insert("trace_id".into(), sanitize(trace_id));
        if let Ok(id) = TraceId::from_str(trace_id) {
            let trace = TraceContext {
                trace_id: id,
                ..TraceContext::default()
            };
            event
                .contexts
                .insert("trace".into(), Context::Trace(Box::new(trace)));
        }
    }
    let extra = [
        ("job.id", Some(Value::from(job.job_id))),
        ("job.max_attempts", Some(Value::from(job.max_attempts))),
        ("error.chain", Some(Value::from(sanitize(&failure.chain)))),
        (
            "error.backtrace",
            failure
                .backtrace
                .as_deref()
                .map(|b| Value::from(sanitize(b))),
        ),
        (
            "next_run_at",
            t.next_run_at.map(|n| Value::from(n.to_rfc3339())),
        ),
    ];
    event.extra = extra
        .into_iter()
        .filter_map(|(k, v)| Some((k.to_owned(), v?)))
        .collect();
    event
}

/// Sanitises every text an event carries (messages, exceptions, breadcrumbs, tags,
/// extra data): defence in depth, applied by `before_send` to every event the client
/// sends, including ones Herald did not build.
pub(crate) fn scrub(mut event: Event<'static>) -> Event<'static> {
    let clean = |s: &mut Option<String>| {
        if let Some(text) = s.as_mut() {
            *text = sanitize(text);
        }
    };
    clean(&mut event.message);
    clean(&mut event.culprit);
    clean(&mut event.transaction);
    if let Some(entry) = event.logentry.as_mut() {
        entry.message = sanitize(&entry.message);
        entry.params = entry.params.iter().map(sanitize_json).collect();
    }
    for exception in &mut event.exception.values {
        exception.ty = sanitize(&exception.ty);
        clean(&mut exception.value);
    }
    for crumb in &mut event.breadcrumbs.values {
        clean(&mut crumb.message);
        crumb.data = crumb
            .data
            .iter()
            .map(|(k, v)| (k.clone(), sanitize_json(v)))
            .collect();
    }
    for value in event.tags.values_mut() {
        *value = sanitize(value);
    }
    for context in event.contexts.values_mut() {
        if let Context::Other(map) = context {
            for value in map.values_mut() {
                *value = sanitize_json(value);
            }
        }
    }
    event.extra = event
        .extra
        .iter()
        .map(|(k, v)| (k.clone(), sanitize_json(v)))
        .collect();
    event.request = None;
    event.user = None;
    event
}

#[cfg(test)]
mod tests {
    use herald_jobs::{ErrorCode, FailureClass};

    use super::*;
    use crate::audit::{AttemptOutcome, JobState};

    fn job(trace_id: Option<&str>) -> AttemptRef<'_> {
        AttemptRef {
            job_id: 42,
            job_type: "notify.webhook",
            queue: "default",
            attempt: 3,
            max_attempts: 3,
            duration: std::time::Duration::from_millis(5),
            trace_id,
        }
    }

    fn dead(message: &str) -> (Transition, Failure) {
        let failure = Failure {
            code: ErrorCode::UpstreamUnavailable,
            class: FailureClass::Retryable,
            message: message.to_owned(),
            chain: message.to_owned(),
            backtrace: None,
            panicked: false,
        };
        let t = Transition {
            outcome: AttemptOutcome::Dead,
            job_state: JobState::Dead,
            next_run_at: None,
            failure: Some(failure.clone()),
            dead_reason: Some(crate::audit::outcome::DeadReason::AttemptsExhausted),
            note: None,
        };
        (t, failure)
    }

    #[test]
    fn a_dead_job_event_is_grouped_by_heralds_fingerprint_and_tagged() {
        let trace = "4bf92f3577b34da6a3ce929d0e0e4736";
        let (t, failure) = dead("smtp down for order 17");
        let event = build(&job(Some(trace)), &t, &failure, Reason::Dead, Vec::new());
        let expected = crate::fingerprint::fingerprint(
            "notify.webhook",
            "UPSTREAM_UNAVAILABLE",
            "smtp down for order 17",
        );
        assert_eq!(event.fingerprint.as_ref(), std::slice::from_ref(&expected));
        assert_eq!(event.level, Level::Error);
        assert_eq!(event.tags.get("herald.fingerprint"), Some(&expected));
        assert_eq!(
            event.tags.get("job.type").map(String::as_str),
            Some("notify.webhook")
        );
        assert_eq!(event.tags.get("job.attempt").map(String::as_str), Some("3"));
        assert_eq!(
            event.tags.get("error.class").map(String::as_str),
            Some("retryable")
        );
        assert_eq!(event.tags.get("trace_id").map(String::as_str), Some(trace));
        match event.contexts.get("trace") {
            Some(Context::Trace(ctx)) => assert_eq!(ctx.trace_id.to_string(), trace),
            other => panic!("trace context expected, got {other:?}"),
        }
    }

    #[test]
    fn scrub_redacts_secrets_anywhere_in_an_event() {
        let (t, failure) = dead("fine");
        let mut event = build(&job(None), &t, &failure, Reason::Dead, Vec::new());
        event.message = Some("password=hunter2".into());
        event.tags.insert("x".into(), "token=abc123".into());
        event
            .extra
            .insert("y".into(), serde_json::json!({"api_key": "sk_live_9"}));
        let text = serde_json::to_string(&scrub(event)).unwrap_or_default();
        for secret in ["hunter2", "abc123", "sk_live_9"] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
    }
}

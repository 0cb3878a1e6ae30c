//! Sentry error tracking: the failures that need a human, not every retry.
//!
//! On when `SENTRY_DSN` is set (see `crate::config::sentry`), off and costless otherwise:
//! [`init`] then returns no observer. When on, [`SentryGuard::observer`] is registered
//! by `runtime` as an observer of the attempt pipeline (`audit::recorded`), which every
//! recorded attempt passes through, dispatch and rescue alike:
//!
//! | attempt | Sentry |
//! |---|---|
//! | succeeded | nothing; the job's breadcrumbs are dropped |
//! | failed, will be retried | a breadcrumb kept for the job (never an event), unless it is the configured *n*th failure (`HERALD_SENTRY_REPORT_RETRY`): then also a `warning` event |
//! | the handler panicked | one `error` event per panic, retried or not |
//! | dead (terminal, or retries exhausted; also abandoned on the last attempt) | one `error` event carrying the job's earlier failures as breadcrumbs |
//! | interrupted by shutdown | nothing |
//!
//! Events are grouped by Herald's failure fingerprint and tagged (see [`event`]); all
//! text is sanitised when built and again by `before_send`. Sending is done by
//! [`transport`]: a bounded queue and one background thread, so an unreachable Sentry
//! never slows a job; events are then dropped with one WARN.
//!
//! CRITICAL events (target `herald::alert`) also become events, through the `sentry`
//! crate's `tracing` integration ([`alerts`]).
//!
//! # Layout
//! - `alerts.rs`: the `tracing` layer sending CRITICAL events
//! - `crumbs.rs`: the bounded per-job breadcrumb map
//! - `event.rs`: the event and breadcrumb builders, and the `before_send` scrub
//! - `transport.rs`: the bounded, non-blocking sender

pub(crate) mod alerts;
pub(crate) mod crumbs;
pub(crate) mod event;
pub(crate) mod transport;

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures::future::BoxFuture;
use tracing::{info, warn};

use self::crumbs::Crumbs;
use self::event::Reason;
use crate::audit::{AttemptObserver, AttemptOutcome, AttemptRecorded, JobState};
use crate::config::sentry::SentryConfig;

/// How long closing the client waits for queued events.
pub(crate) const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

/// Reports recorded attempts to Sentry (see the module table); one per running worker.
struct Reporter {
    report_retry_at: Option<u32>,
    crumbs: Mutex<Crumbs>,
}

/// Keeps the Sentry client open; [`SentryGuard::close`] flushes queued events (for at
/// most [`CLOSE_TIMEOUT`]).
#[must_use = "dropping the guard closes the Sentry client"]
pub(crate) struct SentryGuard(Option<Arc<sentry::Client>>, Option<Arc<Reporter>>);

impl SentryGuard {
    /// The attempt observer reporting to Sentry, when Sentry is on.
    pub(crate) fn observer(&self) -> Option<Arc<dyn AttemptObserver>> {
        self.1
            .as_ref()
            .map(|r| Arc::clone(r) as Arc<dyn AttemptObserver>)
    }

    /// Flushes queued events (bounded by [`CLOSE_TIMEOUT`]) without blocking the async
    /// runtime, and closes the client.
    pub(crate) async fn close(mut self) {
        if let Some(client) = self.0.take() {
            let _ = tokio::task::spawn_blocking(move || client.close(Some(CLOSE_TIMEOUT))).await;
        }
    }
}

impl Drop for SentryGuard {
    fn drop(&mut self) {
        if let Some(client) = self.0.take() {
            client.close(Some(CLOSE_TIMEOUT));
        }
    }
}

/// Starts reporting to Sentry when `cfg` is set; a no-op guard otherwise. A transport
/// that cannot start is logged at WARN and leaves Sentry off (jobs still run).
pub(crate) fn init(cfg: Option<&SentryConfig>) -> SentryGuard {
    let Some(cfg) = cfg else {
        return SentryGuard(None, None);
    };
    let mut options = sentry::ClientOptions::default();
    options.dsn = Some(cfg.dsn.clone());
    options.release = cfg.release.clone().map(Into::into);
    options.environment = cfg.environment.clone().map(Into::into);
    options.send_default_pii = false;
    options.default_integrations = false;
    options.before_send = Some(Arc::new(|e| Some(event::scrub(e))));
    options.shutdown_timeout = CLOSE_TIMEOUT;
    let transport = match transport::QueueTransport::start(&cfg.dsn, &options.user_agent) {
        Ok(t) => t,
        Err(e) => {
            warn!(error.message = %crate::sanitize::sanitize(&e), "cannot start the Sentry transport: Sentry stays off");
            return SentryGuard(None, None);
        }
    };
    options.transport = Some(Arc::new(Arc::new(transport)));
    let client = Arc::new(sentry::Client::from(options));
    sentry::Hub::main().bind_client(Some(Arc::clone(&client)));
    let reporter = Arc::new(Reporter {
        report_retry_at: cfg.report_retry_at,
        crumbs: Mutex::new(Crumbs::new(crumbs::MAX_JOBS, crumbs::MAX_PER_JOB)),
    });
    info!(
        sentry.host = %cfg.dsn.host(),
        sentry.environment = cfg.environment.as_deref(),
        sentry.release = cfg.release.as_deref(),
        "reporting dead jobs and handler panics to Sentry"
    );
    SentryGuard(Some(client), Some(reporter))
}

impl AttemptObserver for Reporter {
    fn attempt_recorded<'a>(&'a self, attempt: &'a AttemptRecorded<'a>) -> BoxFuture<'a, ()> {
        self.report(attempt);
        Box::pin(std::future::ready(()))
    }
}

impl Reporter {
    /// Reports a recorded attempt (see the module table).
    fn report(&self, attempt: &AttemptRecorded<'_>) {
        let (job, t) = (&attempt.job, attempt.transition);
        let mut crumbs = self.crumbs.lock().unwrap_or_else(PoisonError::into_inner);
        let failure = match (t.outcome, t.failure.as_ref()) {
            (AttemptOutcome::Succeeded, _) => {
                crumbs.take(job.job_id);
                return;
            }
            (AttemptOutcome::Interrupted, _) | (_, None) => return,
            (_, Some(failure)) => failure,
        };
        let event = if t.job_state == JobState::Dead {
            let reason = if failure.panicked {
                Reason::Panic
            } else {
                Reason::Dead
            };
            let earlier = crumbs.take(job.job_id);
            drop(crumbs);
            event::build(job, t, failure, reason, earlier)
        } else {
            let earlier = crumbs.peek(job.job_id);
            crumbs.push(job.job_id, event::breadcrumb(job, t, failure));
            drop(crumbs);
            let reason = if failure.panicked {
                Reason::Panic
            } else if self.report_retry_at == Some(job.attempt) {
                Reason::Retry
            } else {
                return;
            };
            event::build(job, t, failure, reason, earlier)
        };
        sentry::Hub::main().capture_event(event);
    }
}

//! Sentry error tracking: the failures that need a human, not every retry.
//!
//! On when `SENTRY_DSN` is set (see [`config`]), off and costless otherwise: one
//! atomic load per finished attempt. [`report_attempt`] is called from the one place
//! every finished attempt passes through (`audit::report::log_attempt`, dispatch and
//! rescue alike):
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
//! - `config.rs`: `SENTRY_DSN`, `SENTRY_ENVIRONMENT`, `SENTRY_RELEASE`, `HERALD_SENTRY_REPORT_RETRY`
//! - `crumbs.rs`: the bounded per-job breadcrumb map
//! - `event.rs`: the event and breadcrumb builders, and the `before_send` scrub
//! - `transport.rs`: the bounded, non-blocking sender

pub(crate) mod alerts;
pub(crate) mod config;
pub(crate) mod crumbs;
pub(crate) mod event;
pub(crate) mod transport;

use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use tracing::{info, warn};

pub(crate) use self::config::SentryConfig;
use self::crumbs::Crumbs;
use self::event::Reason;
use crate::audit::report::AttemptRef;
use crate::audit::{AttemptOutcome, JobState, Transition};

/// How long closing the client waits for queued events.
pub(crate) const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

static REPORTER: OnceLock<Reporter> = OnceLock::new();

struct Reporter {
    report_retry_at: Option<u32>,
    crumbs: Mutex<Crumbs>,
}

/// Keeps the Sentry client open; [`SentryGuard::close`] flushes queued events (for at
/// most [`CLOSE_TIMEOUT`]).
#[must_use = "dropping the guard closes the Sentry client"]
pub(crate) struct SentryGuard(Option<Arc<sentry::Client>>);

impl SentryGuard {
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
        return SentryGuard(None);
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
            return SentryGuard(None);
        }
    };
    options.transport = Some(Arc::new(Arc::new(transport)));
    let client = Arc::new(sentry::Client::from(options));
    sentry::Hub::main().bind_client(Some(Arc::clone(&client)));
    let _ = REPORTER.set(Reporter {
        report_retry_at: cfg.report_retry_at,
        crumbs: Mutex::new(Crumbs::new(crumbs::MAX_JOBS, crumbs::MAX_PER_JOB)),
    });
    info!(
        sentry.host = %cfg.dsn.host(),
        sentry.environment = cfg.environment.as_deref(),
        sentry.release = cfg.release.as_deref(),
        "reporting dead jobs and handler panics to Sentry"
    );
    SentryGuard(Some(client))
}

/// Reports a finished attempt (see the module table). Does nothing unless [`init`]
/// turned Sentry on.
pub(crate) fn report_attempt(job: &AttemptRef<'_>, t: &Transition) {
    if let Some(reporter) = REPORTER.get() {
        reporter.report(job, t);
    }
}

impl Reporter {
    fn report(&self, job: &AttemptRef<'_>, t: &Transition) {
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

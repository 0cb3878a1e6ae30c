//! The failure-rate alert: feeds finished attempts to the tracker and acts on its
//! transitions, each exactly once:
//!
//! | transition | event (target `herald::alert`) | gauge | audit row |
//! |---|---|---|---|
//! | trip | ERROR, `severity = "CRITICAL"`, `alert = "job_failure_rate"` | `herald_failure_rate_alert_firing{job_type}` = 1 | `herald.alert_events`, `tripped` |
//! | resolve | INFO, `severity = "INFO"` | 0 | `herald.alert_events`, `resolved` |
//!
//! Event fields: `alert`, `alert.scope` (`*` or a job type), `alert.transition`,
//! `failure_rate`, `attempts`, `failures`, `threshold`, `window_secs`, `worker.id`.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sqlx::PgPool;
use tokio::sync::watch;
use tracing::warn;

use super::failure_rate::{AlertChange, FailureRateConfig, FailureRateTracker};
use super::metrics::Metrics;
use futures::future::BoxFuture;

use crate::audit::{AttemptObserver, AttemptOutcome, AttemptRecorded};

/// The alert's stable name.
pub(crate) const ALERT_NAME: &str = "job_failure_rate";

/// The failure-rate alert of one worker.
#[derive(Debug)]
pub(crate) struct FailureRateAlert {
    cfg: FailureRateConfig,
    tracker: Mutex<FailureRateTracker>,
    metrics: Arc<Metrics>,
    pool: PgPool,
    worker_id: String,
}

impl FailureRateAlert {
    /// An alert with `cfg`, reporting to `metrics` and recording rows through `pool`.
    pub(crate) fn new(
        cfg: FailureRateConfig,
        metrics: Arc<Metrics>,
        pool: PgPool,
        worker_id: String,
    ) -> Self {
        Self {
            cfg,
            tracker: Mutex::new(FailureRateTracker::new(cfg, Instant::now())),
            metrics,
            pool,
            worker_id,
        }
    }

    /// Counts one finished attempt (interrupted and cancelled ones are not counted) and acts on any
    /// transition it causes.
    pub(crate) async fn attempt_finished(&self, job_type: &str, outcome: AttemptOutcome) {
        let failed = match outcome {
            AttemptOutcome::Succeeded => false,
            AttemptOutcome::Retrying | AttemptOutcome::Dead | AttemptOutcome::Abandoned => true,
            AttemptOutcome::Interrupted | AttemptOutcome::Cancelled => return,
        };
        if let Ok(mut tracker) = self.tracker.lock() {
            tracker.record(job_type, failed, Instant::now());
        }
        self.evaluate().await;
    }

    /// Re-evaluates the window (old attempts age out), acting on any transition.
    pub(crate) async fn evaluate(&self) {
        let (states, changes) = match self.tracker.lock() {
            Ok(mut tracker) => tracker.evaluate(Instant::now()),
            Err(_) => return,
        };
        // Transitions are recorded first, so a gauge showing the alert firing (or
        // resolved) is never ahead of its row in herald.alert_events.
        for change in changes {
            self.report(&change).await;
        }
        for (scope, sample, firing) in &states {
            self.metrics.failure_rate(scope, sample.rate(), *firing);
        }
    }

    /// Re-evaluates every 1/60 of the window (at least every 5 s) until `stop` turns
    /// true, so an alert resolves when failures age out even without new attempts.
    pub(crate) async fn run(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        let every =
            (self.cfg.window / 60).clamp(Duration::from_millis(100), Duration::from_secs(5));
        loop {
            tokio::select! {
                _ = stop.changed() => return,
                _ = tokio::time::sleep(every) => self.evaluate().await,
            }
        }
    }

    async fn report(&self, change: &AlertChange) {
        let rate = change.sample.rate();
        let window_secs = self.cfg.window.as_secs_f64();
        let (transition, severity) = if change.firing {
            ("tripped", "CRITICAL")
        } else {
            ("resolved", "INFO")
        };
        // One event per transition with the same fields; only the level and the message
        // must be constants at a `tracing` call site.
        macro_rules! alert_event {
            ($level:ident, $message:literal) => {
                tracing::$level!(
                    target: "herald::alert",
                    {
                        severity,
                        alert = ALERT_NAME,
                        alert.scope = %change.scope,
                        alert.transition = transition,
                        failure_rate = rate,
                        attempts = change.sample.attempts,
                        failures = change.sample.failures,
                        threshold = self.cfg.threshold,
                        window_secs,
                        worker.id = %self.worker_id,
                    },
                    $message
                )
            };
        }
        if change.firing {
            self.metrics.critical_event(ALERT_NAME);
            alert_event!(error, "job failure rate is above the alert threshold");
        } else {
            alert_event!(info, "job failure rate is back below the alert threshold");
        }
        let inserted = sqlx::query_file!(
            "queries/telemetry/insert_alert_event.sql",
            ALERT_NAME,
            &change.scope,
            transition,
            severity,
            rate,
            i64::try_from(change.sample.attempts).unwrap_or(i64::MAX),
            i64::try_from(change.sample.failures).unwrap_or(i64::MAX),
            self.cfg.threshold,
            window_secs,
            &self.worker_id
        )
        .execute(&self.pool)
        .await;
        if let Err(e) = inserted {
            warn!(
                alert = ALERT_NAME,
                alert.transition = transition,
                error.message = %crate::sanitize::sanitize(&e.to_string()),
                "could not record the alert transition in herald.alert_events"
            );
        }
    }
}

/// The alert counts every recorded attempt (`attempt_finished`).
impl AttemptObserver for FailureRateAlert {
    fn attempt_recorded<'a>(&'a self, a: &'a AttemptRecorded<'a>) -> BoxFuture<'a, ()> {
        Box::pin(self.attempt_finished(a.job.job_type, a.transition.outcome))
    }
}

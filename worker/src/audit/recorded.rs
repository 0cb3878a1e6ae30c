//! After an attempt's record commits: the one "attempt recorded" event and the observers
//! that receive it.
//!
//! Dispatch (an attempt that ran) and rescue (an attempt whose worker was lost) both end
//! in [`AttemptObservers::recorded`], called only once the attempt's audit row and state
//! change have committed, and only when the row applied (an attempt that finished after
//! its lease was rescued is not recorded twice). It builds the [`AttemptRecorded`] event
//! once and hands it to each observer in the order `runtime` registered them:
//!
//! | observer | registered when | what it does |
//! |---|---|---|
//! | Sentry (`crate::sentry`) | `SENTRY_DSN` is set | breadcrumbs, events for dead jobs, panics and the *n*th retry |
//! | [`AttemptLog`] | always | the attempt's one log event (`report.rs`) |
//! | metrics (`crate::telemetry::metrics`) | always | `herald_job_*` counters and the duration histogram |
//! | failure-rate alert (`crate::telemetry::alert`) | always | the sliding window; trips and resolves |

use std::sync::Arc;

use futures::future::BoxFuture;

use super::finisher::AttemptKey;
use super::outcome::Transition;
use super::report::{AttemptRef, log_attempt};

/// One attempt whose record has committed: what every observer gets.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AttemptRecorded<'a> {
    /// Which job and attempt, how long it ran, its trace.
    pub(crate) job: AttemptRef<'a>,
    /// What was decided and written.
    pub(crate) transition: &'a Transition,
    /// Whether the handler panicked.
    pub(crate) panicked: bool,
}

/// The job an attempt belonged to, as the caller knows it (the rest comes from the
/// attempt's [`AttemptKey`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct RecordedJob<'a> {
    /// Job type.
    pub(crate) job_type: &'a str,
    /// Queue.
    pub(crate) queue: &'a str,
    /// Attempt budget.
    pub(crate) max_attempts: u32,
}

impl<'a> AttemptRecorded<'a> {
    /// The one builder of the event: attempt `key` of `job`, decided as `transition`.
    pub(crate) fn new(
        job: RecordedJob<'a>,
        key: &'a AttemptKey,
        transition: &'a Transition,
        panicked: bool,
    ) -> Self {
        Self {
            job: AttemptRef {
                job_id: key.job_id,
                job_type: job.job_type,
                queue: job.queue,
                attempt: u32::try_from(key.attempt).unwrap_or(0),
                max_attempts: job.max_attempts,
                duration: (key.finished_at - key.started_at)
                    .to_std()
                    .unwrap_or_default(),
                trace_id: key.trace_id.as_deref(),
            },
            transition,
            panicked,
        }
    }
}

/// Something told about every recorded attempt (see the module table).
pub(crate) trait AttemptObserver: Send + Sync {
    /// Called once per recorded attempt, after its commit. Must not fail the attempt:
    /// an observer handles its own trouble.
    fn attempt_recorded<'a>(&'a self, attempt: &'a AttemptRecorded<'a>) -> BoxFuture<'a, ()>;
}

/// The observers of one worker, in registration order. Cheap to clone.
#[derive(Clone, Default)]
pub(crate) struct AttemptObservers(Arc<[Arc<dyn AttemptObserver>]>);

impl std::fmt::Debug for AttemptObservers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AttemptObservers")
            .field("count", &self.0.len())
            .finish()
    }
}

impl AttemptObservers {
    /// Observers called in the order given.
    pub(crate) fn new(observers: Vec<Arc<dyn AttemptObserver>>) -> Self {
        Self(observers.into())
    }

    /// Builds the event of committed attempt `key` of `job` once and tells every
    /// observer, in order. Call only after the attempt's record committed and applied.
    pub(crate) async fn recorded(
        &self,
        job: RecordedJob<'_>,
        key: &AttemptKey,
        transition: &Transition,
        panicked: bool,
    ) {
        let event = AttemptRecorded::new(job, key, transition, panicked);
        for observer in self.0.iter() {
            observer.attempt_recorded(&event).await;
        }
    }
}

/// The observer that writes the attempt's one log event (`report.rs`).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct AttemptLog;

impl AttemptObserver for AttemptLog {
    fn attempt_recorded<'a>(&'a self, attempt: &'a AttemptRecorded<'a>) -> BoxFuture<'a, ()> {
        log_attempt(attempt.job, attempt.transition);
        Box::pin(std::future::ready(()))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::time::Duration;

    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::audit::{AttemptOutcome, JobState};

    /// Observer name, job id, attempt, budget, duration, trace id.
    type Sighting = (&'static str, i64, u32, u32, Duration, Option<String>);

    #[derive(Default)]
    struct Seen(Mutex<Vec<Sighting>>);

    struct Named(&'static str, Arc<Seen>);

    impl AttemptObserver for Named {
        fn attempt_recorded<'a>(&'a self, a: &'a AttemptRecorded<'a>) -> BoxFuture<'a, ()> {
            if let Ok(mut seen) = self.1.0.lock() {
                seen.push((
                    self.0,
                    a.job.job_id,
                    a.job.attempt,
                    a.job.max_attempts,
                    a.job.duration,
                    a.job.trace_id.map(str::to_owned),
                ));
            }
            Box::pin(std::future::ready(()))
        }
    }

    #[tokio::test]
    async fn one_event_built_from_the_key_reaches_every_observer_in_order() {
        let seen = Arc::new(Seen::default());
        let observers = AttemptObservers::new(vec![
            Arc::new(Named("first", Arc::clone(&seen))),
            Arc::new(Named("second", Arc::clone(&seen))),
        ]);
        let started_at = Utc.timestamp_opt(1_000, 0).single().unwrap_or_default();
        let key = AttemptKey {
            job_id: 7,
            attempt: 2,
            worker_id: "w".into(),
            started_at,
            finished_at: started_at + chrono::Duration::milliseconds(1_500),
            trace_id: Some("4bf92f3577b34da6a3ce929d0e0e4736".into()),
        };
        let t = Transition {
            outcome: AttemptOutcome::Succeeded,
            job_state: JobState::Succeeded,
            next_run_at: None,
            failure: None,
            dead_reason: None,
            note: None,
        };
        let job = RecordedJob {
            job_type: "t",
            queue: "q",
            max_attempts: 5,
        };
        observers.recorded(job, &key, &t, false).await;
        let expected = |name| {
            (
                name,
                7,
                2,
                5,
                Duration::from_millis(1_500),
                Some("4bf92f3577b34da6a3ce929d0e0e4736".to_owned()),
            )
        };
        let seen = seen.0.lock().map(|s| s.clone()).unwrap_or_default();
        assert_eq!(seen, vec![expected("first"), expected("second")]);
    }
}

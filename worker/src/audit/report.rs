//! The one log event per finished attempt, at the level its outcome calls for:
//!
//! | outcome | level | target |
//! |---|---|---|
//! | succeeded | DEBUG (the audit row is its record) | `herald::audit` |
//! | retrying | WARN | `herald::audit` |
//! | dead: terminal error | ERROR `job is dead: terminal error CODE on attempt n of m, not retried` | `herald::audit` |
//! | dead: budget spent | ERROR `job is dead: attempts exhausted (n of n), last error CODE` | `herald::audit` |
//! | abandoned, job retried | WARN | `herald::audit` |
//! | abandoned, job dead | ERROR `job is dead: its worker was lost during the last attempt (n of n)` | `herald::audit` |
//! | interrupted by shutdown | INFO | `herald::audit` |
//! | cancelled by an operator | INFO `attempt cancelled by an operator; the job will not run again` (`cancel.message`: who and why) | `herald::audit` |
//!
//! Fields: `job.id`, `job.type`, `job.queue`, `job.attempt`, `job.max_attempts`,
//! `outcome`, `job.state`, `duration_ms`, and on failure `error.code`, `error.class`,
//! `error.message`, `error.chain` and `dead.reason` (dead only: `terminal_error`,
//! `attempts_exhausted`, `worker_lost`, decided by [`super::outcome::decide`]), `error.backtrace` (panics, when captured),
//! `next_run_at` (retries). All text is sanitised before it gets here.

use std::time::Duration;

use super::outcome::{AttemptOutcome, DeadReason, Transition};

/// Which job an attempt belonged to, for the log.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AttemptRef<'a> {
    /// Job id.
    pub(crate) job_id: i64,
    /// Job type.
    pub(crate) job_type: &'a str,
    /// Queue.
    pub(crate) queue: &'a str,
    /// Attempt number.
    pub(crate) attempt: u32,
    /// Attempt budget.
    pub(crate) max_attempts: u32,
    /// How long the attempt ran.
    pub(crate) duration: Duration,
    /// The trace the attempt belongs to (32 hex digits), if the job carries one.
    pub(crate) trace_id: Option<&'a str>,
}

impl AttemptRef<'_> {
    /// How long the attempt ran, in whole milliseconds (the log's `duration_ms`).
    pub(crate) fn duration_ms(&self) -> u64 {
        u64::try_from(self.duration.as_millis()).unwrap_or(u64::MAX)
    }
}

macro_rules! attempt_event {
    ($level:ident, $job:expr, $t:expr, $message:literal) => {{
        let failure = $t.failure.as_ref();
        tracing::$level!(
            target: "herald::audit",
            {
            job.id = $job.job_id,
            job.r#type = $job.job_type,
            job.queue = $job.queue,
            job.attempt = $job.attempt,
            job.max_attempts = $job.max_attempts,
            outcome = $t.outcome.as_str(),
            job.state = $t.job_state.as_str(),
            duration_ms = $job.duration_ms(),
            error.code = failure.map(|f| f.code.as_str()),
            error.class = failure.map(|f| f.class.as_str()),
            error.message = failure.map(|f| f.message.as_str()),
            next_run_at = $t.next_run_at.map(|t| t.to_rfc3339()),
            cancel.message = $t.note.as_deref(),
            error.backtrace = failure.and_then(|f| f.backtrace.as_deref()),
            },
            $message
        );
    }};
}

/// Emits the attempt's one event (the [`super::recorded::AttemptLog`] observer).
pub(crate) fn log_attempt(job: AttemptRef<'_>, t: &Transition) {
    match (t.outcome, t.job_state) {
        (AttemptOutcome::Succeeded, _) => attempt_event!(debug, job, t, "attempt succeeded"),
        (AttemptOutcome::Interrupted, _) => {
            attempt_event!(
                info,
                job,
                t,
                "attempt interrupted by shutdown; job put back to run again"
            )
        }
        (AttemptOutcome::Cancelled, _) => {
            attempt_event!(
                info,
                job,
                t,
                "attempt cancelled by an operator; the job will not run again"
            )
        }
        (AttemptOutcome::Retrying, _) => {
            attempt_event!(warn, job, t, "attempt failed; retry scheduled")
        }
        (AttemptOutcome::Abandoned, super::JobState::Retrying) => {
            attempt_event!(
                warn,
                job,
                t,
                "attempt abandoned by a dead worker; retry scheduled"
            )
        }
        (AttemptOutcome::Abandoned, _) | (AttemptOutcome::Dead, _) => dead_event(job, t),
    }
}

/// The one ERROR event of a dead job; its message says why it is dead (the reason
/// [`super::outcome::decide`] chose), and `dead.reason` carries the same as a field.
fn dead_event(job: AttemptRef<'_>, t: &Transition) {
    let failure = t.failure.as_ref();
    let reason = t.dead_reason.unwrap_or(DeadReason::AttemptsExhausted);
    let code = failure.map_or("", |f| f.code.as_str());
    macro_rules! dead {
        ($($message:tt)+) => {
            tracing::error!(
                target: "herald::audit",
                {
                job.id = job.job_id,
                job.r#type = job.job_type,
                job.queue = job.queue,
                job.attempt = job.attempt,
                job.max_attempts = job.max_attempts,
                outcome = t.outcome.as_str(),
                job.state = t.job_state.as_str(),
                dead.reason = reason.as_str(),
                duration_ms = job.duration_ms(),
                error.code = failure.map(|f| f.code.as_str()),
                error.class = failure.map(|f| f.class.as_str()),
                error.message = failure.map(|f| f.message.as_str()),
                error.chain = failure.map(|f| f.chain.as_str()),
                error.backtrace = failure.and_then(|f| f.backtrace.as_deref()),
                },
                $($message)+
            )
        };
    }
    let (attempt, max) = (job.attempt, job.max_attempts);
    match reason {
        DeadReason::TerminalError => {
            dead!("job is dead: terminal error {code} on attempt {attempt} of {max}, not retried")
        }
        DeadReason::AttemptsExhausted => {
            dead!("job is dead: attempts exhausted ({attempt} of {max}), last error {code}")
        }
        DeadReason::WorkerLost => {
            dead!("job is dead: its worker was lost during the last attempt ({attempt} of {max})")
        }
    }
}

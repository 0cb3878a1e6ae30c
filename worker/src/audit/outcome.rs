//! The one function that maps an attempt's result to the job's next state and the
//! attempt's audit outcome ([`decide`]). Pure: no I/O, time and randomness are inputs.
//!
//! | result | class | attempts left | job becomes | audit outcome |
//! |---|---|---|---|---|
//! | success | – | – | `succeeded` | `succeeded` |
//! | error | retryable | yes | `retrying`, `run_at = now + backoff` (or the upstream's `Retry-After`) | `retrying` |
//! | error | retryable | no | `dead` | `dead` |
//! | error | terminal | – | `dead` | `dead` |
//! | panic | retryable (`INTERNAL_ERROR`) | yes / no | `retrying` / `dead` | `retrying` / `dead` |
//! | worker died (rescue) | retryable (`WORKER_LOST`) | yes / no | `retrying` / `dead` | `abandoned` |
//! | shutdown grace ran out | – | – | `pending`, `run_at = now` | `interrupted` |
//! | cancelled by an operator (stopped, aborted after the grace, or its worker gone) | – | – | `cancelled` (never run again) | `cancelled`, the message naming the operator and reason |
//!
//! A dead job's [`DeadReason`] is decided here too, once: `terminal_error` (a terminal
//! code, on any attempt), `attempts_exhausted` (a retryable failure on attempt n of n),
//! `worker_lost` (abandoned by a dead worker on its last attempt).
//!
//! Panics retry (like River and Oban): a panic is a bug that a deploy may fix, and the
//! attempt budget bounds it.

use std::time::Duration;

use chrono::{DateTime, Utc};
use herald_jobs::{ErrorCode, FailureClass, JobError, RetryPolicy};

use crate::sanitize::sanitize;

/// The longest `Retry-After` honoured; longer requests are capped to this.
pub(crate) const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 3600);

/// A job's state, as stored in `herald.jobs.state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JobState {
    /// Waiting to run.
    Pending,
    /// Claimed by a worker.
    #[expect(
        dead_code,
        reason = "a stored state the claim query sets; no decision yields it"
    )]
    Running,
    /// Failed retryably, waiting for `run_at`.
    Retrying,
    /// Finished.
    Succeeded,
    /// Terminal, or out of attempts.
    Dead,
    /// Cancelled by an operator.
    Cancelled,
}

impl JobState {
    /// The stored name.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Running => "running",
            Self::Retrying => "retrying",
            Self::Succeeded => "succeeded",
            Self::Dead => "dead",
            Self::Cancelled => "cancelled",
        }
    }
}

/// What happened to one attempt, as stored in `herald.attempts.outcome`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AttemptOutcome {
    /// The handler succeeded.
    Succeeded,
    /// It failed and the job will be retried.
    Retrying,
    /// It failed and the job is dead.
    Dead,
    /// Its worker died; found by rescue.
    Abandoned,
    /// Shutdown's grace period ran out; the job was put back.
    Interrupted,
    /// An operator cancelled the running job; it will not run again.
    Cancelled,
}

impl AttemptOutcome {
    /// The stored name.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Succeeded => "succeeded",
            Self::Retrying => "retrying",
            Self::Dead => "dead",
            Self::Abandoned => "abandoned",
            Self::Interrupted => "interrupted",
            Self::Cancelled => "cancelled",
        }
    }
}

/// Why a job is dead: the `dead.reason` log field and the ERROR line's wording.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DeadReason {
    /// A terminal error code: no attempt can succeed, so none was left to try.
    TerminalError,
    /// A retryable failure on the last attempt of the budget.
    AttemptsExhausted,
    /// Its worker died during the last attempt of the budget.
    WorkerLost,
}

impl DeadReason {
    /// The stable name (`terminal_error`, `attempts_exhausted`, `worker_lost`).
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::TerminalError => "terminal_error",
            Self::AttemptsExhausted => "attempts_exhausted",
            Self::WorkerLost => "worker_lost",
        }
    }
}

/// A panic caught in a handler.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PanicReport {
    /// The panic message.
    pub(crate) message: String,
    /// `file:line` where it panicked, if known.
    pub(crate) location: Option<String>,
    /// The backtrace, when `RUST_BACKTRACE` enables capture.
    pub(crate) backtrace: Option<String>,
}

/// How an attempt ended, before classification.
#[derive(Debug)]
pub(crate) enum AttemptResult {
    /// The handler returned `Ok`.
    Succeeded,
    /// The handler returned an error (or timed out, or its payload did not decode).
    Failed(JobError),
    /// The handler panicked.
    Panicked(PanicReport),
    /// The worker running it died (decided by rescue).
    Abandoned,
    /// Shutdown's grace period ran out before it finished.
    Interrupted,
    /// An operator cancelled the job while this attempt ran.
    Cancelled(CancelledBy),
}

/// Who cancelled a running attempt, why, and how it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CancelledBy {
    /// The operator (`herald cancel --actor`, default the OS user; a console user).
    pub(crate) actor: String,
    /// Their reason, when given.
    pub(crate) reason: Option<String>,
    /// How the attempt ended.
    pub(crate) ending: CancelEnding,
}

/// How a cancelled attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CancelEnding {
    /// The handler stopped on the signal within the grace period.
    Stopped,
    /// The handler was still running when the grace period ended, and was aborted.
    Aborted(Duration),
    /// Its worker was gone; the rescue of its lease ended it.
    WorkerGone,
}

impl CancelledBy {
    /// The audit message: `cancelled by oncall: wrong tenant; the handler stopped`.
    fn message(&self) -> String {
        let ending = match self.ending {
            CancelEnding::Stopped => "the handler stopped".to_owned(),
            CancelEnding::Aborted(grace) => format!(
                "the handler did not stop within the {} ms grace period and was aborted",
                grace.as_millis()
            ),
            CancelEnding::WorkerGone => {
                "its worker was gone; ended by the rescue of its lease".to_owned()
            }
        };
        match self.reason.as_deref().filter(|r| !r.is_empty()) {
            Some(reason) => format!("cancelled by {}: {reason}; {ending}", self.actor),
            None => format!("cancelled by {}; {ending}", self.actor),
        }
    }
}

/// A classified failure, with text already sanitised for logs and audit rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failure {
    /// The stable code.
    pub(crate) code: ErrorCode,
    /// Retryable or terminal.
    pub(crate) class: FailureClass,
    /// The one-line message (sanitised).
    pub(crate) message: String,
    /// The full cause chain for the log (sanitised).
    pub(crate) chain: String,
    /// A panic's backtrace, for the log only.
    pub(crate) backtrace: Option<String>,
    /// Whether the handler panicked (rather than returning an error).
    pub(crate) panicked: bool,
}

/// The decision for one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Transition {
    /// The attempt's audit outcome.
    pub(crate) outcome: AttemptOutcome,
    /// The job's next state.
    pub(crate) job_state: JobState,
    /// When it runs next, for `retrying` and `pending`.
    pub(crate) next_run_at: Option<DateTime<Utc>>,
    /// The failure, if the attempt failed.
    pub(crate) failure: Option<Failure>,
    /// Why the job is dead, when it is.
    pub(crate) dead_reason: Option<DeadReason>,
    /// The audit message of an attempt that did not fail (a cancellation's operator and
    /// reason, sanitised); `None` otherwise.
    pub(crate) note: Option<String>,
}

/// Maps attempt `attempt` of `max_attempts` that ended with `result` at `now` to the
/// job's next state; `random` in `[0, 1)` feeds the backoff jitter.
pub(crate) fn decide(
    attempt: u32,
    max_attempts: u32,
    result: AttemptResult,
    policy: &RetryPolicy,
    now: DateTime<Utc>,
    random: f64,
) -> Transition {
    let (failure, retry_after, outcome_if_retried) = match result {
        AttemptResult::Succeeded => {
            return Transition {
                outcome: AttemptOutcome::Succeeded,
                job_state: JobState::Succeeded,
                next_run_at: None,
                failure: None,
                dead_reason: None,
                note: None,
            };
        }
        AttemptResult::Interrupted => {
            return Transition {
                outcome: AttemptOutcome::Interrupted,
                job_state: JobState::Pending,
                next_run_at: Some(now),
                failure: None,
                dead_reason: None,
                note: None,
            };
        }
        AttemptResult::Cancelled(by) => {
            return Transition {
                outcome: AttemptOutcome::Cancelled,
                job_state: JobState::Cancelled,
                next_run_at: None,
                failure: None,
                dead_reason: None,
                note: Some(sanitize(&by.message())),
            };
        }
        AttemptResult::Failed(error) => {
            let retry_after = error.retry_after();
            (failure_of(&error), retry_after, AttemptOutcome::Retrying)
        }
        AttemptResult::Panicked(panic) => (panic_failure(panic), None, AttemptOutcome::Retrying),
        AttemptResult::Abandoned => (
            Failure {
                code: ErrorCode::WorkerLost,
                class: ErrorCode::WorkerLost.class(),
                message: "the worker running this attempt stopped heartbeating".to_owned(),
                chain: "the worker running this attempt stopped heartbeating".to_owned(),
                backtrace: None,
                panicked: false,
            },
            None,
            AttemptOutcome::Abandoned,
        ),
    };
    let retry = failure.class == FailureClass::Retryable && attempt < max_attempts;
    let outcome = match (retry, outcome_if_retried) {
        (_, AttemptOutcome::Abandoned) => AttemptOutcome::Abandoned,
        (true, o) => o,
        (false, _) => AttemptOutcome::Dead,
    };
    let next_run_at = retry.then(|| {
        let delay = retry_after
            .map(|d| d.min(MAX_RETRY_AFTER))
            .unwrap_or_else(|| policy.delay(attempt, random));
        // Saturates: a delay past chrono's range schedules at the latest time it has.
        chrono::Duration::from_std(delay)
            .ok()
            .and_then(|d| now.checked_add_signed(d))
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
    });
    let dead_reason = (!retry).then_some(match (failure.class, outcome) {
        (FailureClass::Terminal, _) => DeadReason::TerminalError,
        (_, AttemptOutcome::Abandoned) => DeadReason::WorkerLost,
        _ => DeadReason::AttemptsExhausted,
    });
    Transition {
        outcome,
        job_state: if retry {
            JobState::Retrying
        } else {
            JobState::Dead
        },
        next_run_at,
        failure: Some(failure),
        dead_reason,
        note: None,
    }
}

fn failure_of(error: &JobError) -> Failure {
    Failure {
        code: error.code(),
        class: error.class(),
        message: sanitize(&error.to_string()),
        chain: sanitize(&error.chain()),
        backtrace: None,
        panicked: false,
    }
}

fn panic_failure(panic: PanicReport) -> Failure {
    let message = match &panic.location {
        Some(at) => format!("handler panicked at {at}: {}", panic.message),
        None => format!("handler panicked: {}", panic.message),
    };
    let message = sanitize(&message);
    Failure {
        code: ErrorCode::Internal,
        class: ErrorCode::Internal.class(),
        chain: message.clone(),
        message,
        backtrace: panic.backtrace.map(|b| sanitize(&b)),
        panicked: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            base: Duration::from_secs(10),
            max: Duration::from_secs(3600),
            jitter: 0.0,
        }
    }

    fn now() -> DateTime<Utc> {
        DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap_or_default()
    }

    fn run(attempt: u32, max: u32, result: AttemptResult) -> Transition {
        decide(attempt, max, result, &policy(), now(), 0.5)
    }

    #[test]
    fn success_finishes_the_job() {
        let t = run(1, 3, AttemptResult::Succeeded);
        assert_eq!(
            (t.outcome, t.job_state, t.failure),
            (AttemptOutcome::Succeeded, JobState::Succeeded, None)
        );
    }

    #[test]
    fn retryable_failure_schedules_the_backoff() {
        let t = run(2, 3, AttemptResult::Failed(JobError::upstream("503", None)));
        assert_eq!(t.outcome, AttemptOutcome::Retrying);
        assert_eq!(t.job_state, JobState::Retrying);
        assert_eq!(t.next_run_at, Some(now() + chrono::Duration::seconds(20)));
        assert_eq!(
            t.failure.map(|f| f.code),
            Some(ErrorCode::UpstreamUnavailable)
        );
    }

    #[test]
    fn a_retry_with_a_huge_backoff_saturates_instead_of_panicking() {
        let huge = RetryPolicy {
            base: Duration::MAX,
            max: Duration::MAX,
            jitter: 1.0,
        };
        let failed = AttemptResult::Failed(JobError::upstream("503", None));
        let t = decide(u32::MAX - 1, u32::MAX, failed, &huge, now(), 0.99);
        assert_eq!(t.next_run_at, Some(DateTime::<Utc>::MAX_UTC));
    }

    #[test]
    fn retryable_failure_on_the_last_attempt_is_dead() {
        let t = run(3, 3, AttemptResult::Failed(JobError::timeout("slow")));
        assert_eq!(
            (t.outcome, t.job_state, t.next_run_at),
            (AttemptOutcome::Dead, JobState::Dead, None)
        );
        assert_eq!(t.failure.map(|f| f.class), Some(FailureClass::Retryable));
    }

    #[test]
    fn terminal_failure_is_dead_at_once() {
        let t = run(
            1,
            5,
            AttemptResult::Failed(JobError::validation("url", "bad")),
        );
        assert_eq!(
            (t.outcome, t.job_state),
            (AttemptOutcome::Dead, JobState::Dead)
        );
        assert_eq!(t.failure.map(|f| f.class), Some(FailureClass::Terminal));
    }

    #[test]
    fn retry_after_replaces_the_backoff_and_is_capped() {
        let asked = run(
            1,
            5,
            AttemptResult::Failed(JobError::rate_limited("429", Some(Duration::from_secs(7)))),
        );
        assert_eq!(
            asked.next_run_at,
            Some(now() + chrono::Duration::seconds(7))
        );
        let huge = run(
            1,
            5,
            AttemptResult::Failed(JobError::rate_limited(
                "429",
                Some(Duration::from_secs(10_000_000)),
            )),
        );
        assert_eq!(huge.next_run_at, Some(now() + chrono::Duration::hours(24)));
    }

    #[test]
    fn retry_after_does_not_extend_the_budget() {
        let t = run(
            5,
            5,
            AttemptResult::Failed(JobError::rate_limited("429", Some(Duration::from_secs(1)))),
        );
        assert_eq!(t.job_state, JobState::Dead);
    }

    #[test]
    fn panic_is_a_retryable_internal_error_with_its_location() {
        let panic = PanicReport {
            message: "boom".into(),
            location: Some("src/x.rs:3".into()),
            backtrace: None,
        };
        let t = run(1, 2, AttemptResult::Panicked(panic));
        assert_eq!(t.job_state, JobState::Retrying);
        let f = t.failure;
        assert_eq!(f.as_ref().map(|f| f.code), Some(ErrorCode::Internal));
        assert_eq!(
            f.map(|f| f.message),
            Some("handler panicked at src/x.rs:3: boom".into())
        );
    }

    #[test]
    fn abandoned_attempt_is_charged_and_capped() {
        let again = run(1, 2, AttemptResult::Abandoned);
        assert_eq!(
            (again.outcome, again.job_state),
            (AttemptOutcome::Abandoned, JobState::Retrying)
        );
        let last = run(2, 2, AttemptResult::Abandoned);
        assert_eq!(
            (last.outcome, last.job_state),
            (AttemptOutcome::Abandoned, JobState::Dead)
        );
    }

    #[test]
    fn a_dead_job_says_why_it_is_dead() {
        use DeadReason::*;
        let table = [
            (
                1,
                5,
                AttemptResult::Failed(JobError::not_found("x")),
                Some(TerminalError),
            ),
            (
                5,
                5,
                AttemptResult::Failed(JobError::conflict("c")),
                Some(TerminalError),
            ),
            (
                5,
                5,
                AttemptResult::Failed(JobError::timeout("t")),
                Some(AttemptsExhausted),
            ),
            (2, 2, AttemptResult::Abandoned, Some(WorkerLost)),
            (1, 2, AttemptResult::Abandoned, None),
            (1, 5, AttemptResult::Failed(JobError::timeout("t")), None),
            (1, 1, AttemptResult::Succeeded, None),
        ];
        for (attempt, max, result, expected) in table {
            let label = format!("{attempt}/{max} {result:?}");
            assert_eq!(run(attempt, max, result).dead_reason, expected, "{label}");
        }
    }

    #[test]
    fn interrupted_attempt_goes_back_to_pending_now() {
        let t = run(3, 3, AttemptResult::Interrupted);
        assert_eq!(
            (t.outcome, t.job_state, t.next_run_at),
            (AttemptOutcome::Interrupted, JobState::Pending, Some(now()))
        );
    }

    #[test]
    fn a_cancelled_attempt_ends_the_job_on_any_attempt_naming_operator_and_reason() {
        let by = |reason: Option<&str>, ending| CancelledBy {
            actor: "oncall".into(),
            reason: reason.map(str::to_owned),
            ending,
        };
        let table = [
            (
                1,
                5,
                by(Some("wrong tenant"), CancelEnding::Stopped),
                "cancelled by oncall: wrong tenant; the handler stopped",
            ),
            (
                5,
                5,
                by(None, CancelEnding::Aborted(Duration::from_secs(10))),
                "cancelled by oncall; the handler did not stop within the 10000 ms grace period and was aborted",
            ),
            (
                2,
                3,
                by(Some("token=abc\nFAKE"), CancelEnding::WorkerGone),
                "cancelled by oncall: token=[REDACTED]\\nFAKE; its worker was gone; ended by the rescue of its lease",
            ),
        ];
        for (attempt, max, cancelled, message) in table {
            let t = run(attempt, max, AttemptResult::Cancelled(cancelled));
            assert_eq!(
                (
                    t.outcome,
                    t.job_state,
                    t.next_run_at,
                    t.failure,
                    t.dead_reason
                ),
                (
                    AttemptOutcome::Cancelled,
                    JobState::Cancelled,
                    None,
                    None,
                    None
                )
            );
            assert_eq!(t.note.as_deref(), Some(message));
        }
    }

    #[test]
    fn failure_messages_are_sanitised() {
        let t = run(
            1,
            1,
            AttemptResult::Failed(JobError::validation("body", "password=hunter2\nFAKE LINE")),
        );
        let message = t.failure.map(|f| f.message).unwrap_or_default();
        assert_eq!(message, "invalid body: password=[REDACTED]\\nFAKE LINE");
    }
}

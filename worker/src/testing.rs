//! The runner's door for in-process tests (cargo feature `testing`): what
//! `herald-testkit` builds `perform` and `drain` on. Nothing here is a second pipeline:
//!
//! | function | runs | through |
//! |---|---|---|
//! | [`perform`] | one handler, inline: no queue, no database | the dispatcher's own run (decode, validate, timeout, panic guard), then [`decide`](crate::audit) |
//! | [`AttemptRunner::run_due`] | due jobs of one queue, one after another | the claim query, the dispatcher, the group-commit finisher (state change and audit row in one statement), the attempt's log event |
//!
//! What differs from `herald worker`, and why:
//! - no heartbeats, rescue, LISTEN, cron or metrics endpoint: a test drives the runner
//!   itself, and every attempt ends before [`AttemptRunner::run_due`] returns;
//! - the failure-rate alert never trips (a test's failures are the point, not an
//!   incident);
//! - [`AttemptRunner::run_due`] claims the job types it is given, registered or not: a
//!   job of a type with no handler dies at once with `VALIDATION_ERROR` ("no handler is
//!   registered for this job type"), where a worker would leave it to one that runs it.

use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::time::Duration;

use apalis_core::task::builder::TaskBuilder;
use apalis_core::task::task_id::TaskId;
use chrono::Utc;
use herald_jobs::{ErrorCode, FailureClass, RetryPolicy};
use sqlx::PgPool;
use tokio::sync::watch;
use tower::Service;

use crate::audit::outcome::DeadReason as Reason;
use crate::audit::recorded::AttemptLog;
use crate::audit::{
    AttemptObservers, AttemptResult, CancelledBy, Finisher, JobState, Transition, decide,
};
use crate::db::DbHealth;
use crate::dispatch::{DispatchShared, Dispatcher, Ran};
use crate::queue::{ClaimedJob, Holdings, claim};
use crate::registry::Registry;

/// The worker id of inline attempts (`AttemptInfo::worker_id`).
pub const INLINE_WORKER_ID: &str = "herald-testing-inline";

/// One attempt to run inline with [`perform`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct InlineAttempt {
    /// The job type, looked up in the registry like a claimed job's.
    pub job_type: String,
    /// The payload, as the queue would store it.
    pub payload: serde_json::Value,
    /// The job id the handler sees. Default 1.
    pub job_id: i64,
    /// The attempt number. Default 1.
    pub attempt: u32,
    /// The attempt budget. Default: the registered type's.
    pub max_attempts: Option<u32>,
    /// The retry schedule a retry's delay comes from. Default: [`RetryPolicy::default`],
    /// the worker's default (`HERALD_RETRY_*`).
    pub retry: RetryPolicy,
}

impl InlineAttempt {
    /// Attempt 1 of job type `job_type` with `payload`.
    pub fn new(job_type: impl Into<String>, payload: serde_json::Value) -> Self {
        Self {
            job_type: job_type.into(),
            payload,
            job_id: 1,
            attempt: 1,
            max_attempts: None,
            retry: RetryPolicy::default(),
        }
    }
}

/// Why a job is dead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeadReason {
    /// A terminal error code, on any attempt.
    TerminalError,
    /// A retryable failure on the last attempt of the budget.
    AttemptsExhausted,
    /// Its worker died during the last attempt of the budget.
    WorkerLost,
}

/// How the worker classified one attempt: what it would record.
///
/// | variant | job becomes | audit outcome |
/// |---|---|---|
/// | `Succeeded` | `succeeded` | `succeeded` |
/// | `Retry` | `retrying`, run again after `delay` | `retrying` |
/// | `Dead` | `dead` | `dead` |
/// | `Interrupted` | `pending` (shutdown's grace ran out; never from [`perform`]) | `interrupted` |
/// | `Cancelled` | `cancelled` (an operator cancelled the running job; never from [`perform`]) | `cancelled` |
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Performed {
    /// The handler returned `Ok`.
    Succeeded,
    /// A retryable failure with attempts left.
    Retry {
        /// The error code (a panic is `INTERNAL_ERROR`, an overrun `TIMEOUT`).
        code: ErrorCode,
        /// The one-line message, sanitised as in the audit row.
        message: String,
        /// How long until the retry: the backoff, or the upstream's `Retry-After`.
        delay: Duration,
        /// Whether the handler panicked.
        panicked: bool,
    },
    /// A terminal failure, or a retryable one on the last attempt.
    Dead {
        /// The error code.
        code: ErrorCode,
        /// Its class.
        class: FailureClass,
        /// Why the job is dead.
        reason: DeadReason,
        /// The one-line message, sanitised as in the audit row.
        message: String,
        /// Whether the handler panicked.
        panicked: bool,
    },
    /// Shutdown's grace period ran out before the handler finished.
    Interrupted,
    /// An operator cancelled the running job.
    Cancelled,
}

impl Performed {
    /// The audit outcome's stored name: `succeeded`, `retrying`, `dead`, `interrupted` or
    /// `cancelled`.
    pub fn outcome(&self) -> &'static str {
        match self {
            Self::Succeeded => "succeeded",
            Self::Retry { .. } => "retrying",
            Self::Dead { .. } => "dead",
            Self::Interrupted => "interrupted",
            Self::Cancelled => "cancelled",
        }
    }

    /// The error code of a failed attempt.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            Self::Retry { code, .. } | Self::Dead { code, .. } => Some(*code),
            Self::Succeeded | Self::Interrupted | Self::Cancelled => None,
        }
    }

    fn from_transition(t: &Transition, finished_at: chrono::DateTime<Utc>) -> Self {
        let Some(failure) = t.failure.as_ref() else {
            return match t.job_state {
                JobState::Pending => Self::Interrupted,
                JobState::Cancelled => Self::Cancelled,
                _ => Self::Succeeded,
            };
        };
        match (t.job_state, t.next_run_at) {
            (JobState::Retrying, Some(next)) => Self::Retry {
                code: failure.code,
                message: failure.message.clone(),
                delay: (next - finished_at).to_std().unwrap_or_default(),
                panicked: failure.panicked,
            },
            _ => Self::Dead {
                code: failure.code,
                class: failure.class,
                reason: match t.dead_reason {
                    Some(Reason::AttemptsExhausted) => DeadReason::AttemptsExhausted,
                    Some(Reason::WorkerLost) => DeadReason::WorkerLost,
                    Some(Reason::TerminalError) | None => DeadReason::TerminalError,
                },
                message: failure.message.clone(),
                panicked: failure.panicked,
            },
        }
    }
}

/// Runs one attempt of `attempt.job_type` from `registry` inline, as the dispatcher runs
/// a claimed job (payload decoded from its JSON text, the job's `validate`, its
/// timeout, the panic guard), and classifies the result with the runner's `decide`.
/// Nothing is read or written: no queue, no database. An unregistered type is dead
/// with `VALIDATION_ERROR`, as in the worker.
pub async fn perform(registry: &Registry, attempt: InlineAttempt) -> Performed {
    crate::panic_guard::install_hook();
    let max_attempts = attempt
        .max_attempts
        .or_else(|| registry.defaults(&attempt.job_type).map(|(_, max)| max))
        .unwrap_or(1);
    let job = ClaimedJob {
        id: attempt.job_id,
        job_type: attempt.job_type,
        queue: "inline".to_owned(),
        payload: attempt.payload.to_string(),
        priority: 0,
        attempt: i32::try_from(attempt.attempt).unwrap_or(i32::MAX),
        max_attempts: i32::try_from(max_attempts).unwrap_or(i32::MAX),
        run_at: Utc::now().into(),
        trace_context: None,
    };
    // No shutdown inline: the sender is dropped, so the hard stop never fires.
    let (_, never) = watch::channel(false);
    // Nobody cancels an inline attempt: its signal never fires.
    let signal = herald_jobs::Cancellation::new();
    let ran = DispatchShared::execute(
        registry,
        INLINE_WORKER_ID,
        &job,
        never,
        (&signal, Duration::ZERO),
    )
    .await;
    let result = match ran {
        Ran::Ended(result) => result,
        Ran::Cancelled(ending) => AttemptResult::Cancelled(CancelledBy {
            actor: INLINE_WORKER_ID.to_owned(),
            reason: None,
            ending,
        }),
    };
    classify(&job, result, &attempt.retry)
}

fn classify(job: &ClaimedJob, result: AttemptResult, retry: &RetryPolicy) -> Performed {
    let finished_at = Utc::now();
    let t = decide(
        job.attempt_number(),
        job.max_attempts_number(),
        result,
        retry,
        finished_at,
        rand::random(),
    );
    Performed::from_transition(&t, finished_at)
}

/// Claims and runs due jobs in-process through the worker's attempt pipeline: the
/// claim query, the dispatcher, and the group-commit finisher that writes each job's
/// state change with its audit row in one statement. Attempts run one at a time, so a
/// test sees them in claim order (priority, run time, id).
pub struct AttemptRunner {
    pool: PgPool,
    worker_id: String,
    dispatcher: Dispatcher,
}

impl std::fmt::Debug for AttemptRunner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AttemptRunner")
            .field("worker_id", &self.worker_id)
            .finish_non_exhaustive()
    }
}

impl AttemptRunner {
    /// A runner on `pool` with `registry`, recording its attempts as worker `worker_id`
    /// and scheduling retries with `retry`. Starts the finisher task (call it inside a
    /// Tokio runtime), which ends when the runner is dropped.
    pub fn new(
        pool: PgPool,
        registry: Registry,
        worker_id: impl Into<String>,
        retry: RetryPolicy,
    ) -> Self {
        crate::panic_guard::install_hook();
        let worker_id = worker_id.into();
        let health = Arc::new(DbHealth::new(Duration::from_secs(60)));
        let (_, give_up) = watch::channel(false);
        let (finisher, _task) = Finisher::spawn(pool.clone(), health, give_up);
        let (_, hard_stop) = watch::channel(false);
        let shared = Arc::new(DispatchShared {
            registry,
            worker_id: worker_id.clone(),
            retry,
            finisher,
            hard_stop,
            observers: AttemptObservers::new(vec![Arc::new(AttemptLog)]),
            holdings: Holdings::new(),
            cancels: crate::queue::Cancels::new(),
            cancel_grace: Duration::from_secs(10),
            pool: pool.clone(),
        });
        let dispatcher = Dispatcher::new(shared, Arc::new(AtomicUsize::new(0)));
        Self {
            pool,
            worker_id,
            dispatcher,
        }
    }

    /// This runner's worker id (the audit rows' `worker_id`).
    pub fn worker_id(&self) -> &str {
        &self.worker_id
    }

    /// Claims up to `limit` due jobs of `queue` whose type is in `job_types` and runs
    /// each to its recorded end. Returns the ids run, in order. Fails on a database
    /// error of the claim, or of an attempt's record (that job then stays `running`).
    pub async fn run_due(
        &self,
        queue: &str,
        job_types: &[String],
        limit: usize,
    ) -> Result<Vec<i64>, RunDueError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let jobs = claim::claim(&self.pool, &self.worker_id, queue, job_types, limit)
            .await
            .map_err(RunDueError::Claim)?;
        let mut ran = Vec::with_capacity(jobs.len());
        for job in jobs {
            let id = job.id;
            let task = TaskBuilder::new(job)
                .task_id(TaskId::from_int(u64::try_from(id).unwrap_or_default()))
                .build();
            self.dispatcher.clone().call(task).await?;
            ran.push(id);
        }
        Ok(ran)
    }
}

/// Why [`AttemptRunner::run_due`] stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunDueError {
    /// The claim failed.
    #[error("cannot claim jobs: {0}")]
    Claim(#[source] sqlx::Error),
    /// An attempt could not be recorded.
    #[error(transparent)]
    Finish(#[from] crate::audit::FinishError),
}

#[cfg(test)]
mod tests {
    use herald_jobs::{AttemptInfo, Job, JobError};
    use serde::{Deserialize, Serialize};

    use super::*;

    #[derive(Serialize, Deserialize)]
    struct Flaky {
        code: Option<String>,
    }

    impl Job for Flaky {
        const KIND: &'static str = "test.flaky";
        const MAX_ATTEMPTS: u32 = 2;
        const TIMEOUT: Duration = Duration::from_millis(50);
        type Context = ();

        async fn perform(self, (): (), _: AttemptInfo) -> Result<(), JobError> {
            match self.code.as_deref() {
                None => Ok(()),
                Some("panic") => panic!("flaky panicked"),
                Some("hang") => std::future::pending().await,
                Some("NOT_FOUND") => Err(JobError::not_found("thing")),
                Some(_) => Err(JobError::upstream("down", None)),
            }
        }
    }

    async fn run(code: Option<&str>, attempt: u32) -> Performed {
        let registry = Registry::new().register::<Flaky>(());
        let mut inline = InlineAttempt::new("test.flaky", serde_json::json!({ "code": code }));
        inline.attempt = attempt;
        perform(&registry, inline).await
    }

    #[tokio::test]
    async fn inline_attempts_are_classified_like_the_workers() {
        assert_eq!(run(None, 1).await, Performed::Succeeded);
        assert!(matches!(
            run(Some("UPSTREAM"), 1).await,
            Performed::Retry {
                code: ErrorCode::UpstreamUnavailable,
                panicked: false,
                ..
            }
        ));
        assert!(matches!(
            run(Some("UPSTREAM"), 2).await,
            Performed::Dead {
                reason: DeadReason::AttemptsExhausted,
                ..
            }
        ));
        assert!(matches!(
            run(Some("NOT_FOUND"), 1).await,
            Performed::Dead {
                code: ErrorCode::NotFound,
                class: FailureClass::Terminal,
                reason: DeadReason::TerminalError,
                ..
            }
        ));
        assert!(matches!(
            run(Some("panic"), 1).await,
            Performed::Retry {
                code: ErrorCode::Internal,
                panicked: true,
                ..
            }
        ));
        assert!(matches!(
            run(Some("hang"), 1).await,
            Performed::Retry {
                code: ErrorCode::Timeout,
                ..
            }
        ));
    }
}

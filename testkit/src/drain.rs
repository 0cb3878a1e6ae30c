//! [`drain`]: run due jobs in-process until none is due, and report every attempt.
//!
//! Each round looks up which queues have due jobs (and of which types), then claims
//! and runs them through the worker's attempt pipeline
//! ([`herald_worker::testing::AttemptRunner`]: the claim query, the dispatcher, the
//! finisher that writes each state change with its audit row in one statement), one
//! attempt at a time. Jobs a handler enqueues are run in a later round. Drain stops
//! when a round finds nothing due, or fails after [`DrainOptions::max_rounds`] rounds
//! so a test never hangs.
//!
//! | option | default | effect |
//! |---|---|---|
//! | [`DrainOptions::queue`] | every queue | drain only these queues |
//! | [`DrainOptions::with_scheduled`] | off | each round, make scheduled jobs and waiting retries due now (their audit rows keep the scheduled `next_run_at`) |
//! | [`DrainOptions::max_rounds`] | 100 | rounds before [`DrainError::StillDue`] |
//! | [`DrainOptions::retry`] | `RetryPolicy::default()` | the retry schedule |
//!
//! Attempts are audited as worker `herald-testkit-drain-<16 hex digits>`, one id per
//! call, which is how [`drain`] finds the attempts it ran.
//!
//! A due job whose type has no handler in the registry is claimed and dies with
//! `VALIDATION_ERROR` ("no handler is registered for this job type"): in a test that
//! is a typo or a missing `register`, and saying so beats leaving it `pending`. (A
//! production worker leaves such jobs to a worker that registers the type.)

use chrono::{DateTime, Utc};
use herald_jobs::{ErrorCode, FailureClass, RetryPolicy};
use herald_worker::Registry;
use herald_worker::testing::{AttemptRunner, RunDueError};
use sqlx::PgPool;

use crate::enqueued::AttemptOutcome;

/// Most jobs one round claims from one queue.
const CLAIM_PER_ROUND: usize = 1000;

/// What [`drain`] runs.
#[derive(Debug, Clone, PartialEq)]
pub struct DrainOptions {
    queues: Option<Vec<String>>,
    with_scheduled: bool,
    max_rounds: u32,
    retry: RetryPolicy,
}

impl Default for DrainOptions {
    /// Every queue, due jobs only, 100 rounds, the worker's default retry schedule.
    fn default() -> Self {
        Self {
            queues: None,
            with_scheduled: false,
            max_rounds: 100,
            retry: RetryPolicy::default(),
        }
    }
}

impl DrainOptions {
    /// Drains every queue (the default).
    pub fn all_queues() -> Self {
        Self::default()
    }

    /// Drains `queue` (call again to add more queues).
    pub fn queue(mut self, queue: impl Into<String>) -> Self {
        self.queues.get_or_insert_with(Vec::new).push(queue.into());
        self
    }

    /// Also runs jobs scheduled for later and retries waiting out their backoff, now
    /// (like Oban's `with_scheduled`): a job that fails and then succeeds is drained
    /// to its end. Off by default.
    pub fn with_scheduled(mut self, with_scheduled: bool) -> Self {
        self.with_scheduled = with_scheduled;
        self
    }

    /// Fails with [`DrainError::StillDue`] when jobs are still due after `rounds`
    /// rounds (default 100; each round claims up to 1000 jobs per queue).
    pub fn max_rounds(mut self, rounds: u32) -> Self {
        self.max_rounds = rounds;
        self
    }

    /// The retry schedule for failed attempts (default [`RetryPolicy::default`]).
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }
}

/// One attempt [`drain`] ran, as its audit row records it.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct DrainedAttempt {
    /// The job.
    pub job_id: i64,
    /// Its type.
    pub job_type: String,
    /// Its queue.
    pub queue: String,
    /// The attempt number.
    pub attempt: u32,
    /// The attempt's outcome.
    pub outcome: AttemptOutcome,
    /// The error code of a failed attempt (`None` for a code this version does not know).
    pub error_code: Option<ErrorCode>,
    /// The error class of a failed attempt.
    pub error_class: Option<FailureClass>,
    /// The sanitised one-line message of a failed attempt.
    pub message: Option<String>,
    /// When a retried job was scheduled to run again.
    pub next_run_at: Option<DateTime<Utc>>,
}

/// Every attempt of one [`drain`], in the order they ran.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Drained {
    /// The attempts.
    pub attempts: Vec<DrainedAttempt>,
    /// Rounds that ran attempts (drain stops at the first that finds nothing due).
    pub rounds: u32,
}

impl Drained {
    /// How many attempts ended with `outcome`.
    pub fn count(&self, outcome: AttemptOutcome) -> usize {
        self.attempts
            .iter()
            .filter(|a| a.outcome == outcome)
            .count()
    }

    /// The attempts of job `job_id`, in order.
    pub fn of_job(&self, job_id: i64) -> Vec<&DrainedAttempt> {
        self.attempts
            .iter()
            .filter(|a| a.job_id == job_id)
            .collect()
    }
}

/// Why [`drain`] stopped before nothing was due.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DrainError {
    /// Jobs were still due after the last allowed round (a job that keeps enqueueing
    /// jobs, or more jobs than the rounds can claim).
    #[error(
        "{due} jobs still due after {rounds} rounds ({attempts} attempts run); raise DrainOptions::max_rounds or look for a job that keeps enqueueing"
    )]
    StillDue {
        /// The rounds run.
        rounds: u32,
        /// The attempts run.
        attempts: usize,
        /// Jobs still due.
        due: i64,
    },
    /// A query failed.
    #[error("drain: {0}")]
    Database(#[from] sqlx::Error),
    /// A claim failed or an attempt could not be recorded.
    #[error("drain: {0}")]
    Run(#[from] RunDueError),
}

struct DueQueue {
    queue: String,
    job_types: Vec<String>,
    due: i64,
}

struct AuditRow {
    job_id: i64,
    job_type: String,
    queue: String,
    attempt: i32,
    outcome: String,
    error_code: Option<String>,
    error_class: Option<String>,
    message: Option<String>,
    next_run_at: Option<DateTime<Utc>>,
}

/// Runs the due jobs of `options`' queues on `pool` with `registry`'s handlers until
/// none is due (see the module docs); returns every attempt as audited. Fails on a
/// database error, or with [`DrainError::StillDue`] after too many rounds.
pub async fn drain(
    pool: &PgPool,
    registry: &Registry,
    options: DrainOptions,
) -> Result<Drained, DrainError> {
    let worker_id = format!("herald-testkit-drain-{:016x}", rand::random::<u64>());
    let runner = AttemptRunner::new(pool.clone(), registry.clone(), worker_id, options.retry);
    let mut rounds = 0;
    loop {
        if options.with_scheduled {
            sqlx::query_file!("queries/make_scheduled_due.sql", options.queues.as_deref())
                .execute(pool)
                .await?;
        }
        let due = due_queues(pool, options.queues.as_deref()).await?;
        if due.is_empty() {
            break;
        }
        if rounds == options.max_rounds {
            return Err(DrainError::StillDue {
                rounds,
                attempts: attempts_of(pool, runner.worker_id()).await?.len(),
                due: due.iter().map(|q| q.due).sum(),
            });
        }
        rounds += 1;
        for queue in due {
            runner
                .run_due(&queue.queue, &queue.job_types, CLAIM_PER_ROUND)
                .await?;
        }
    }
    Ok(Drained {
        attempts: attempts_of(pool, runner.worker_id()).await?,
        rounds,
    })
}

async fn due_queues(
    pool: &PgPool,
    queues: Option<&[String]>,
) -> Result<Vec<DueQueue>, sqlx::Error> {
    sqlx::query_file_as!(DueQueue, "queries/due_by_queue.sql", queues)
        .fetch_all(pool)
        .await
}

async fn attempts_of(pool: &PgPool, worker_id: &str) -> Result<Vec<DrainedAttempt>, sqlx::Error> {
    let rows = sqlx::query_file_as!(AuditRow, "queries/attempts_by_worker.sql", worker_id)
        .fetch_all(pool)
        .await?;
    Ok(rows.into_iter().map(DrainedAttempt::from).collect())
}

impl From<AuditRow> for DrainedAttempt {
    fn from(row: AuditRow) -> Self {
        Self {
            job_id: row.job_id,
            job_type: row.job_type,
            queue: row.queue,
            attempt: u32::try_from(row.attempt).unwrap_or(0),
            outcome: AttemptOutcome::parse(&row.outcome),
            error_code: row.error_code.as_deref().and_then(ErrorCode::parse),
            error_class: row.error_class.as_deref().and_then(|c| match c {
                "retryable" => Some(FailureClass::Retryable),
                "terminal" => Some(FailureClass::Terminal),
                _ => None,
            }),
            message: row.message,
            next_run_at: row.next_run_at,
        }
    }
}

//! [`perform`]: run one job's handler inline and get the worker's verdict on it.
//!
//! The job goes the way it would in production, without the queue: checked and
//! serialised as [`NewJob::new`] does at enqueue, decoded from JSON and validated again
//! as the worker does before every attempt, run under the type's timeout and the
//! worker's panic guard, and classified by the worker's own `decide`. No database is
//! needed. A handler that overruns `Job::TIMEOUT` is a `TIMEOUT` retry: under
//! `#[tokio::test(start_paused = true)]` that takes no real time.

use herald_jobs::{EnqueueError, Job, NewJob, RetryPolicy};
use herald_worker::Registry;
use herald_worker::testing::InlineAttempt;
pub use herald_worker::testing::{DeadReason, INLINE_WORKER_ID, Performed};

/// Which attempt [`perform_with`] runs, and with which retry schedule.
#[derive(Debug, Clone, PartialEq)]
pub struct PerformOptions {
    attempt: u32,
    max_attempts: Option<u32>,
    job_id: i64,
    retry: RetryPolicy,
}

impl Default for PerformOptions {
    /// Attempt 1 of the type's budget, job id 1, the worker's default retry schedule.
    fn default() -> Self {
        Self {
            attempt: 1,
            max_attempts: None,
            job_id: 1,
            retry: RetryPolicy::default(),
        }
    }
}

impl PerformOptions {
    /// Runs attempt `attempt` (1-based; default 1): on the last one of the budget a
    /// retryable failure is `Dead` with `AttemptsExhausted`.
    pub fn attempt(mut self, attempt: u32) -> Self {
        self.attempt = attempt;
        self
    }

    /// The attempt budget (default `Job::MAX_ATTEMPTS`).
    pub fn max_attempts(mut self, max_attempts: u32) -> Self {
        self.max_attempts = Some(max_attempts);
        self
    }

    /// The job id the handler sees in `AttemptInfo` (default 1).
    pub fn job_id(mut self, job_id: i64) -> Self {
        self.job_id = job_id;
        self
    }

    /// The retry schedule a `Retry`'s delay comes from (default
    /// [`RetryPolicy::default`]; `jitter: 0.0` makes the delay exact).
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }
}

/// Runs attempt 1 of `job` inline with `context` (see the module docs). Fails only when
/// `job` could not be enqueued at all: its `validate` or an enqueue rule rejects it.
pub async fn perform<J: Job>(job: &J, context: J::Context) -> Result<Performed, EnqueueError> {
    perform_with(job, context, PerformOptions::default()).await
}

/// [`perform`] with `options`: another attempt number, budget, job id or retry schedule.
pub async fn perform_with<J: Job>(
    job: &J,
    context: J::Context,
    options: PerformOptions,
) -> Result<Performed, EnqueueError> {
    NewJob::new(job)?;
    let payload = serde_json::to_value(job).map_err(EnqueueError::Serialize)?;
    let registry = Registry::new().register::<J>(context);
    Ok(perform_registered(&registry, J::KIND, payload, options).await)
}

/// Runs a job of type `job_type` with a raw JSON `payload` inline, with the handler
/// `registry` holds for it: for payloads written by other producers (SQL, another
/// language). An unregistered type, or a payload that does not decode, is `Dead` with
/// `VALIDATION_ERROR`, as in the worker.
pub async fn perform_registered(
    registry: &Registry,
    job_type: &str,
    payload: serde_json::Value,
    options: PerformOptions,
) -> Performed {
    let mut attempt = InlineAttempt::new(job_type, payload);
    attempt.attempt = options.attempt;
    attempt.max_attempts = options.max_attempts;
    attempt.job_id = options.job_id;
    attempt.retry = options.retry;
    herald_worker::testing::perform(registry, attempt).await
}

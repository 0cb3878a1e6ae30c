//! `test.scripted`: a test-only job whose attempts follow a script and record their side
//! effects in `public.test_effects` (a `start` row, then a `done` row when the attempt's
//! work completed). `test.blocking`: records `start`, then never ends on its own and
//! ignores its cancellation signal (a handler the worker must abort).

use std::time::Duration;

use herald_jobs::{AttemptInfo, Job, JobError};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;

/// What one attempt does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "do", rename_all = "snake_case")]
pub enum Step {
    /// Succeed.
    Succeed,
    /// Fail with this code and message.
    Fail {
        /// An error code, e.g. `UPSTREAM_UNAVAILABLE`.
        code: String,
        /// The message.
        message: String,
    },
    /// Fail with `RATE_LIMITED`, asking to wait `secs`.
    RateLimited {
        /// Retry-After in seconds.
        secs: u64,
    },
    /// Panic with this message.
    Panic {
        /// The panic message.
        message: String,
    },
    /// Sleep `ms`, then succeed.
    Sleep {
        /// Milliseconds.
        ms: u64,
    },
}

/// A scripted job: attempt `n` runs `steps[n-1]` (the last step repeats).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScriptedJob {
    /// A key tests use to find the job's effects.
    pub key: String,
    /// The script.
    pub steps: Vec<Step>,
}

impl ScriptedJob {
    /// A job with `key` following `steps`.
    pub fn new(key: impl Into<String>, steps: Vec<Step>) -> Self {
        Self {
            key: key.into(),
            steps,
        }
    }
}

/// `Step::Fail` with `code`.
pub fn fail(code: &str) -> Step {
    Step::Fail {
        code: code.to_owned(),
        message: format!("scripted {code}"),
    }
}

impl Job for ScriptedJob {
    const KIND: &'static str = "test.scripted";
    const MAX_ATTEMPTS: u32 = 3;
    const TIMEOUT: Duration = Duration::from_secs(3);
    type Context = PgPool;

    /// A job needs a key to be found by; an empty one is rejected (at enqueue, and again
    /// by the worker for jobs enqueued from SQL).
    fn validate(&self) -> Result<(), JobError> {
        if self.key.is_empty() {
            return Err(JobError::validation("key", "must not be empty"));
        }
        Ok(())
    }

    async fn perform(self, pool: PgPool, info: AttemptInfo) -> Result<(), JobError> {
        record(&pool, &self.key, &info, "start").await?;
        let index = (info.attempt as usize)
            .saturating_sub(1)
            .min(self.steps.len().saturating_sub(1));
        match self.steps.get(index).cloned().unwrap_or(Step::Succeed) {
            Step::Succeed => {}
            Step::Fail { code, message } => return Err(error_for(&code, message)),
            Step::RateLimited { secs } => {
                return Err(JobError::rate_limited(
                    "scripted 429",
                    Some(Duration::from_secs(secs)),
                ));
            }
            Step::Panic { message } => panic!("{message}"),
            Step::Sleep { ms } => tokio::time::sleep(Duration::from_millis(ms)).await,
        }
        record(&pool, &self.key, &info, "done").await
    }
}

fn error_for(code: &str, message: String) -> JobError {
    match code {
        "NOT_FOUND" => JobError::not_found(message),
        "VALIDATION_ERROR" => JobError::validation("scripted", message),
        "PERMISSION_DENIED" => JobError::permission_denied(message),
        "CONFLICT" => JobError::conflict(message),
        "TIMEOUT" => JobError::timeout(message),
        "UPSTREAM_UNAVAILABLE" => JobError::upstream(message, None),
        _ => JobError::internal(message, None),
    }
}

async fn record(pool: &PgPool, key: &str, info: &AttemptInfo, event: &str) -> Result<(), JobError> {
    sqlx::query("INSERT INTO public.test_effects (job_id, job_key, attempt, worker_id, event) VALUES ($1, $2, $3, $4, $5)")
        .bind(info.job_id)
        .bind(key)
        .bind(info.attempt as i32)
        .bind(&info.worker_id)
        .bind(event)
        .execute(pool)
        .await
        .map(|_| ())
        .map_err(|e| JobError::upstream("cannot record effect", Some(Box::new(e) as _)))
}

/// A job that records `start` and then blocks until it is aborted, ignoring its
/// cancellation signal (its timeout is 10 minutes).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BlockingJob {
    /// A key tests use to find the job's effects.
    pub key: String,
}

impl Job for BlockingJob {
    const KIND: &'static str = "test.blocking";
    const MAX_ATTEMPTS: u32 = 3;
    const TIMEOUT: Duration = Duration::from_secs(600);
    type Context = PgPool;

    async fn perform(self, pool: PgPool, info: AttemptInfo) -> Result<(), JobError> {
        record(&pool, &self.key, &info, "start").await?;
        std::future::pending::<()>().await;
        record(&pool, &self.key, &info, "done").await
    }
}

/// The registry test workers run: `test.scripted` and `test.blocking` (effects go to
/// `pool`).
pub fn registry(pool: PgPool) -> herald_worker::Registry {
    register(herald_worker::Registry::new(), pool)
}

/// `registry` with `test.scripted` and `test.blocking` added (effects go to `pool`).
pub fn register(registry: herald_worker::Registry, pool: PgPool) -> herald_worker::Registry {
    registry
        .register::<ScriptedJob>(pool.clone())
        .register::<BlockingJob>(pool)
}

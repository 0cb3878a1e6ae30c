//! What is in the queue: [`enqueued_jobs`], [`assert_enqueued`], [`refute_enqueued`].
//!
//! A [`JobFilter`] matches jobs by type, queue, state and payload (JSON containment:
//! the job's payload holds every key and value of the filter's, as PostgreSQL's `@>`).
//! By default it matches jobs waiting to run (`pending` or `retrying`, due or
//! scheduled), as "enqueued" means in Oban's and River's helpers.
//!
//! ```no_run
//! # async fn example(pool: &sqlx::PgPool) {
//! use herald_testkit::{JobFilter, assert_enqueued, refute_enqueued};
//! use serde_json::json;
//!
//! assert_enqueued(pool, &JobFilter::job_type("shop.receipt").payload(json!({ "order_id": 42 }))).await;
//! refute_enqueued(pool, &JobFilter::job_type("shop.refund")).await;
//! # }
//! ```

use std::fmt;

use chrono::{DateTime, Utc};
use herald_jobs::Job;
use sqlx::PgPool;

/// Most jobs a failed assertion lists.
const LISTED: i64 = 20;

/// Most jobs [`enqueued_jobs`] returns.
const MAX_JOBS: i64 = 10_000;

/// A job's state, as stored in `herald.jobs.state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum JobState {
    /// Waiting to run (now or at its run time).
    Pending,
    /// Claimed by a worker.
    Running,
    /// Failed retryably, waiting for its retry.
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
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Running => "running",
            Self::Retrying => "retrying",
            Self::Succeeded => "succeeded",
            Self::Dead => "dead",
            Self::Cancelled => "cancelled",
        }
    }

    /// The state stored as `name`, if it is one.
    pub fn parse(name: &str) -> Option<Self> {
        [
            Self::Pending,
            Self::Running,
            Self::Retrying,
            Self::Succeeded,
            Self::Dead,
            Self::Cancelled,
        ]
        .into_iter()
        .find(|s| s.as_str() == name)
    }
}

impl fmt::Display for JobState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An attempt's outcome, as stored in `herald.attempts.outcome`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AttemptOutcome {
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
    /// A name this version does not know.
    Other(String),
}

impl AttemptOutcome {
    /// The outcome stored as `name`.
    pub fn parse(name: &str) -> Self {
        match name {
            "succeeded" => Self::Succeeded,
            "retrying" => Self::Retrying,
            "dead" => Self::Dead,
            "abandoned" => Self::Abandoned,
            "interrupted" => Self::Interrupted,
            other => Self::Other(other.to_owned()),
        }
    }
}

/// Which jobs to look for. Every criterion left unset matches everything, except the
/// state, which defaults to `pending` or `retrying`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct JobFilter {
    job_type: Option<String>,
    queue: Option<String>,
    states: Option<Vec<JobState>>,
    any_state: bool,
    payload: Option<serde_json::Value>,
}

impl JobFilter {
    /// Every waiting job.
    pub fn new() -> Self {
        Self::default()
    }

    /// Waiting jobs of type `job_type`.
    pub fn job_type(job_type: impl Into<String>) -> Self {
        Self {
            job_type: Some(job_type.into()),
            ..Self::default()
        }
    }

    /// Waiting jobs of `J`'s type (`J::KIND`).
    pub fn of<J: Job>() -> Self {
        Self::job_type(J::KIND)
    }

    /// Only jobs in `queue`.
    pub fn queue(mut self, queue: impl Into<String>) -> Self {
        self.queue = Some(queue.into());
        self
    }

    /// Only jobs in `state` (call again to allow more states), instead of the default
    /// `pending` or `retrying`.
    pub fn state(mut self, state: JobState) -> Self {
        self.states.get_or_insert_with(Vec::new).push(state);
        self.any_state = false;
        self
    }

    /// Jobs in any state, finished ones included.
    pub fn any_state(mut self) -> Self {
        self.states = None;
        self.any_state = true;
        self
    }

    /// Only jobs whose payload contains `payload` (every key and value of it, nested
    /// objects compared the same way, PostgreSQL's `@>`).
    pub fn payload(mut self, payload: serde_json::Value) -> Self {
        self.payload = Some(payload);
        self
    }

    fn state_names(&self) -> Option<Vec<&'static str>> {
        match (&self.states, self.any_state) {
            (_, true) => None,
            (Some(states), false) => Some(states.iter().map(|s| s.as_str()).collect()),
            (None, false) => Some(vec!["pending", "retrying"]),
        }
    }
}

impl fmt::Display for JobFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if let Some(t) = &self.job_type {
            parts.push(format!("type {t}"));
        }
        if let Some(q) = &self.queue {
            parts.push(format!("queue {q}"));
        }
        match self.state_names() {
            Some(states) => parts.push(format!("state {}", states.join(" or "))),
            None => parts.push("any state".to_owned()),
        }
        if let Some(p) = &self.payload {
            parts.push(format!("payload containing {p}"));
        }
        f.write_str(&parts.join(", "))
    }
}

/// A job as stored in `herald.jobs`.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
#[non_exhaustive]
pub struct EnqueuedJob {
    /// The job id.
    pub id: i64,
    /// Its type.
    pub job_type: String,
    /// Its queue.
    pub queue: String,
    /// Its state's stored name.
    pub state: String,
    /// Its payload.
    pub payload: serde_json::Value,
    /// Its priority.
    pub priority: i16,
    /// Attempts made so far.
    pub attempt: i32,
    /// Its attempt budget.
    pub max_attempts: i32,
    /// When it runs (next); `None` when stored out of range (`'infinity'`).
    pub run_at: Option<DateTime<Utc>>,
    /// Its idempotency key.
    pub idempotency_key: Option<String>,
    /// The error code of its last failed attempt.
    pub last_error_code: Option<String>,
}

impl EnqueuedJob {
    /// The stored state, parsed.
    pub fn job_state(&self) -> Option<JobState> {
        JobState::parse(&self.state)
    }
}

impl fmt::Display for EnqueuedJob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "#{} {} queue={} state={} attempt={}/{} payload={}",
            self.id,
            self.job_type,
            self.queue,
            self.state,
            self.attempt,
            self.max_attempts,
            self.payload
        )
    }
}

/// The jobs on `pool` matching `filter`, oldest first (at most 10,000). Fails on a
/// database error.
pub async fn enqueued_jobs(
    pool: &PgPool,
    filter: &JobFilter,
) -> Result<Vec<EnqueuedJob>, sqlx::Error> {
    find(pool, filter, MAX_JOBS).await
}

async fn find(
    pool: &PgPool,
    filter: &JobFilter,
    limit: i64,
) -> Result<Vec<EnqueuedJob>, sqlx::Error> {
    sqlx::query_file_as!(
        EnqueuedJob,
        "queries/find_jobs.sql",
        filter.job_type.as_deref(),
        filter.queue.as_deref(),
        filter.state_names() as _,
        filter.payload.as_ref(),
        limit
    )
    .fetch_all(pool)
    .await
}

/// Asserts that at least one job on `pool` matches `filter`, and returns the matches.
///
/// # Panics
/// When none matches, with a message naming the filter and listing the jobs that are
/// in the queue (up to 20, any state); or when the database cannot be read.
pub async fn assert_enqueued(pool: &PgPool, filter: &JobFilter) -> Vec<EnqueuedJob> {
    let found = read(pool, filter, MAX_JOBS).await;
    if found.is_empty() {
        let present = read(pool, &JobFilter::new().any_state(), LISTED).await;
        panic!(
            "expected a job matching {filter}, found none; {}",
            listing("jobs in the queue", &present)
        );
    }
    found
}

/// Asserts that no job on `pool` matches `filter`.
///
/// # Panics
/// When one does, with a message naming the filter and listing the matches (up to 20);
/// or when the database cannot be read.
pub async fn refute_enqueued(pool: &PgPool, filter: &JobFilter) {
    let found = read(pool, filter, LISTED).await;
    if !found.is_empty() {
        panic!(
            "expected no job matching {filter}; {}",
            listing("found", &found)
        );
    }
}

async fn read(pool: &PgPool, filter: &JobFilter, limit: i64) -> Vec<EnqueuedJob> {
    match find(pool, filter, limit).await {
        Ok(jobs) => jobs,
        Err(e) => panic!("cannot read herald.jobs to check for a job matching {filter}: {e}"),
    }
}

fn listing(heading: &str, jobs: &[EnqueuedJob]) -> String {
    if jobs.is_empty() {
        return "there are no jobs in the queue at all".to_owned();
    }
    let lines: Vec<String> = jobs.iter().map(|j| format!("  {j}")).collect();
    let more = if jobs.len() as i64 == LISTED {
        " (first 20)"
    } else {
        ""
    };
    format!("{heading}{more}:\n{}", lines.join("\n"))
}

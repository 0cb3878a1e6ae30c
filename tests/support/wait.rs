//! Waiting without sleeping blindly: poll a condition until it holds or a deadline.

use std::future::Future;
use std::time::{Duration, Instant};

use sqlx::PgPool;

/// Polls `check` every 50 ms until it returns `Some`, or panics after `timeout` with
/// `what`.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until none of `ids` is pending, running or retrying. On timeout it panics
/// with what was still open (counts by state, and the first open jobs with their
/// attempt, holder and lease age), so a failure in CI explains itself.
pub async fn settled(pool: &PgPool, ids: &[i64], timeout: Duration) {
    let deadline = Instant::now() + timeout;
    let mut last_error = None;
    loop {
        match open_jobs(pool, ids).await {
            Ok(0) => return,
            Ok(_) => {}
            Err(e) => last_error = Some(e.to_string()),
        }
        if Instant::now() >= deadline {
            let open = describe_open(pool, ids)
                .await
                .unwrap_or_else(|e| format!("(could not read them: {e})"));
            panic!(
                "timed out after {timeout:?} waiting for jobs to settle; last query error: {last_error:?}; still open: {open}"
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn open_jobs(pool: &PgPool, ids: &[i64]) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT count(*) FROM herald.jobs WHERE id = ANY($1) AND state IN ('pending', 'running', 'retrying')",
    )
    .bind(ids)
    .fetch_one(pool)
    .await
}

async fn describe_open(pool: &PgPool, ids: &[i64]) -> Result<String, sqlx::Error> {
    let by_state: Vec<(String, i64)> = sqlx::query_as(
        "SELECT state, count(*) FROM herald.jobs WHERE id = ANY($1) GROUP BY state ORDER BY state",
    )
    .bind(ids)
    .fetch_all(pool)
    .await?;
    let first: Vec<String> = sqlx::query_scalar(
        "SELECT format('job %s %s attempt %s held by %s, lease age %s s, runnable in %s s',
                       id, state, attempt, coalesce(locked_by, '-'),
                       coalesce(round(extract(epoch FROM now() - heartbeat_at), 1)::text, '-'),
                       round(extract(epoch FROM run_at - now()), 1))
         FROM herald.jobs
         WHERE id = ANY($1) AND state IN ('pending', 'running', 'retrying')
         ORDER BY id LIMIT 10",
    )
    .bind(ids)
    .fetch_all(pool)
    .await?;
    Ok(format!("by state {by_state:?}; first open: {first:?}"))
}

/// A job's state.
pub async fn state(pool: &PgPool, id: i64) -> String {
    sqlx::query_scalar("SELECT state FROM herald.jobs WHERE id = $1")
        .bind(id)
        .fetch_one(pool)
        .await
        .unwrap_or_else(|e| panic!("state of job {id}: {e}"))
}

/// One audit row, as tests read it.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct AuditRow {
    /// Attempt number.
    pub attempt: i32,
    /// Outcome.
    pub outcome: String,
    /// Job state after it.
    pub job_state: String,
    /// Error code.
    pub error_code: Option<String>,
    /// Error class.
    pub error_class: Option<String>,
    /// Message.
    pub message: Option<String>,
    /// Worker.
    pub worker_id: String,
    /// Started.
    pub started_at: chrono::DateTime<chrono::Utc>,
    /// Finished.
    pub finished_at: chrono::DateTime<chrono::Utc>,
    /// Next run time.
    pub next_run_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// Job `id`'s audit trail, oldest first.
pub async fn trail(pool: &PgPool, id: i64) -> Vec<AuditRow> {
    sqlx::query_as(
        "SELECT attempt, outcome, job_state, error_code, error_class, message, worker_id, started_at, finished_at, next_run_at
         FROM herald.attempts WHERE job_id = $1 ORDER BY attempt",
    )
    .bind(id)
    .fetch_all(pool)
    .await
    .unwrap_or_else(|e| panic!("trail of job {id}: {e}"))
}

/// Outcomes of job `id`'s attempts, oldest first.
pub async fn outcomes(pool: &PgPool, id: i64) -> Vec<String> {
    trail(pool, id)
        .await
        .into_iter()
        .map(|r| r.outcome)
        .collect()
}

/// How many jobs the database holds.
pub async fn job_count(pool: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM herald.jobs")
        .fetch_one(pool)
        .await
        .unwrap_or_else(|e| panic!("job count: {e}"))
}

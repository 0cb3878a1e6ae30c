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

/// Waits until none of `ids` is pending, running or retrying.
pub async fn settled(pool: &PgPool, ids: &[i64], timeout: Duration) {
    eventually("jobs to settle", timeout, || async {
        let open: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM herald.jobs WHERE id = ANY($1) AND state IN ('pending', 'running', 'retrying')",
        )
        .bind(ids)
        .fetch_one(pool)
        .await
        .ok()?;
        (open == 0).then_some(())
    })
    .await
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

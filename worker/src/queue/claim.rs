//! Claiming and releasing jobs.

use sqlx::PgPool;

use crate::stored_time::StoredTime;

/// A job claimed by this worker: its row, as the claim returned it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ClaimedJob {
    /// Job id.
    pub(crate) id: i64,
    /// Job type.
    pub(crate) job_type: String,
    /// Queue.
    pub(crate) queue: String,
    /// The payload's JSON text (decoded by the job's handler, so a payload that does
    /// not decode fails its own job and never the claim).
    pub(crate) payload: String,
    /// Priority (higher first).
    pub(crate) priority: i16,
    /// This attempt's number (already incremented by the claim).
    pub(crate) attempt: i32,
    /// Attempt budget.
    pub(crate) max_attempts: i32,
    /// When it became runnable, as stored: a value out of chrono's range (`'-infinity'`)
    /// still claims, and the dispatcher fails that job with `VALIDATION_ERROR`.
    pub(crate) run_at: StoredTime,
    /// The enqueuer's W3C traceparent, if any.
    pub(crate) trace_context: Option<String>,
}

impl ClaimedJob {
    /// The attempt number as unsigned.
    pub(crate) fn attempt_number(&self) -> u32 {
        u32::try_from(self.attempt).unwrap_or(0)
    }
    /// The budget as unsigned.
    pub(crate) fn max_attempts_number(&self) -> u32 {
        u32::try_from(self.max_attempts).unwrap_or(1)
    }
    /// The trace id carried by the traceparent (`00-<trace id>-<span id>-<flags>`).
    pub(crate) fn trace_id(&self) -> Option<String> {
        herald_jobs::traceparent::trace_id(self.trace_context.as_deref()?)
    }
}

/// Claims up to `limit` runnable jobs of `queue` whose type is in `types`, in priority
/// order, for `worker_id`.
pub(crate) async fn claim(
    pool: &PgPool,
    worker_id: &str,
    queue: &str,
    types: &[String],
    limit: i64,
) -> Result<Vec<ClaimedJob>, sqlx::Error> {
    let mut jobs: Vec<ClaimedJob> = sqlx::query_file_as!(
        ClaimedJob,
        "queries/queue/claim.sql",
        worker_id,
        queue,
        types,
        limit
    )
    .fetch_all(pool)
    .await?;
    // RETURNING has no order: restore the claim order.
    jobs.sort_by(|a, b| {
        b.priority
            .cmp(&a.priority)
            .then(a.run_at.cmp(&b.run_at))
            .then(a.id.cmp(&b.id))
    });
    Ok(jobs)
}

/// When the next job of `queue` with a type in `types` becomes runnable (as stored: it
/// may be `'infinity'`).
pub(crate) async fn next_due(
    pool: &PgPool,
    queue: &str,
    types: &[String],
) -> Result<Option<StoredTime>, sqlx::Error> {
    sqlx::query_file_scalar!("queries/queue/next_due.sql", queue, types)
        .fetch_one(pool)
        .await
}

/// Puts back jobs `worker_id` claimed but never started, without charging an attempt.
/// Returns how many were released.
///
/// One statement for the batch. If the table refuses it (a CHECK violation: a row stored
/// before the enqueue rules whose first attempt would go back to `pending` breaking
/// them), each job is released alone, so that row stays `running` for rescue and never
/// holds its neighbours back.
pub async fn release(pool: &PgPool, worker_id: &str, ids: &[i64]) -> Result<u64, sqlx::Error> {
    match release_ids(pool, worker_id, ids).await {
        Err(e) if ids.len() > 1 && is_check_violation(&e) => {
            let mut released = 0;
            for id in ids {
                // A row refused alone is left to rescue (its lease runs out).
                if let Ok(n) = release_ids(pool, worker_id, std::slice::from_ref(id)).await {
                    released += n;
                }
            }
            Ok(released)
        }
        other => other,
    }
}

async fn release_ids(pool: &PgPool, worker_id: &str, ids: &[i64]) -> Result<u64, sqlx::Error> {
    let released = sqlx::query_file_scalar!("queries/queue/release.sql", ids, worker_id)
        .fetch_one(pool)
        .await?;
    Ok(u64::try_from(released).unwrap_or(0))
}

/// SQLSTATE 23514: a row broke a CHECK constraint.
fn is_check_violation(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .and_then(|d| d.code())
        .is_some_and(|code| code == "23514")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(trace: Option<&str>) -> ClaimedJob {
        ClaimedJob {
            id: 1,
            job_type: "t".into(),
            queue: "default".into(),
            payload: "{}".to_owned(),
            priority: 0,
            attempt: 1,
            max_attempts: 3,
            run_at: chrono::Utc::now().into(),
            trace_context: trace.map(str::to_owned),
        }
    }

    #[test]
    fn trace_id_comes_from_a_valid_traceparent_only() {
        let ok = job(Some(
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        ));
        assert_eq!(
            ok.trace_id().as_deref(),
            Some("4bf92f3577b34da6a3ce929d0e0e4736")
        );
        assert_eq!(job(Some("garbage")).trace_id(), None);
        assert_eq!(job(None).trace_id(), None);
    }
}

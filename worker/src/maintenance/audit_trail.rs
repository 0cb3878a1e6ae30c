//! Removing the audit rows that go with pruned jobs: ONE replaceable function.
//!
//! Today it is a `DELETE` on `herald.attempts` by job id (the `(job_id, attempt)` unique
//! index), in the transaction that deleted the jobs, so no job is ever left half-pruned.
//! A later increment partitions `herald.attempts` by job-id range: old audit rows then go
//! by dropping or compacting whole partitions instead of row deletes (no bloat), and this
//! function, and `prune_orphan_attempts.sql`, are what change; the callers do not.
//!
//! Which rows go: every succeeded attempt of the jobs, and every failed attempt (any
//! other outcome) already past the failed-attempt age of its queue. Younger failed
//! attempts stay and go later by their own age.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{Postgres, Transaction};

/// Deletes the audit rows of `job_ids` (just deleted in `tx`) that go with them under
/// `policy` as of `as_of`; returns how many.
pub(crate) async fn remove_for_jobs(
    tx: &mut Transaction<'static, Postgres>,
    job_ids: &[i64],
    policy: &Value,
    as_of: DateTime<Utc>,
) -> Result<i64, sqlx::Error> {
    if job_ids.is_empty() {
        return Ok(0);
    }
    sqlx::query_file_scalar!(
        "queries/maintenance/remove_job_attempts.sql",
        job_ids,
        policy,
        as_of
    )
    .fetch_one(&mut **tx)
    .await
}

//! Removing old audit rows: whole CLOSED partitions of `herald.attempts`, dropped or
//! compacted, never row deletes (no bloat, no vacuum debt).
//!
//! A partition is closed when its whole job-id range is below
//! `herald.audit_closed_below()`: every id in it was handed out and none is a pending,
//! running or retrying job, so no attempt is being written there. For each closed
//! partition, lowest first, in its own fenced transaction (`herald.prune_attempt_partition`):
//!
//! | rows nothing keeps | action |
//! |---|---|
//! | all | DROP the partition |
//! | at least [`COMPACT_SHARE`] | copy the kept rows to a new table (SHARE lock on the old one: no insert slips in), then swap it in with the same bounds |
//! | fewer | leave it; a later run looks again |
//! | none can be: its oldest row is younger than the policy's shortest audit age | leave it after one probe of its `finished_at` index, without reading its rows |
//!
//! A row is KEPT while its job exists in `herald.jobs` (whatever its state), or while it
//! is younger than its own age (a succeeded attempt: its queue's `succeeded` age; any
//! other: `failed_attempts`). So a pruned job's audit rows go when its partition closes
//! and is dropped or compacted, not with the job; the partition still receiving ids
//! keeps them until then. Every drop and compaction is committed with its counts in the
//! run record and logged at INFO; a lock not obtained within 1 s is WARN and tried again
//! at the next run.
//!
//! Late writers: a job whose enqueue transaction took its id but had not committed when
//! its partition was judged closed is not seen as live. Its attempts are still recorded:
//! in its (compacted) partition, or, if that was dropped, in the DEFAULT partition, which
//! accepts any job id. Rows left in the DEFAULT partition below the partitions' range are
//! never removed by maintenance (`herald purge --include-audit` removes them with their
//! job). Nothing is ever rejected or lost; at worst a few rows outlive their age.

use serde_json::Value;
use sqlx::PgPool;
use tokio::sync::watch;
use tracing::{info, warn};

use super::leader::{self, Lease};
use super::runs::{BatchCounts, StartedRun};
use crate::sanitize::sanitize;
use crate::telemetry::metrics::Metrics;

/// Compact a closed partition when at least this share of its rows can go.
pub(crate) const COMPACT_SHARE: f64 = 0.5;

/// How a pass over the closed partitions ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pass {
    /// Every closed partition was looked at.
    Done,
    /// Shutdown was requested between two partitions.
    Interrupted,
    /// The lease is someone else's.
    LostLeadership,
}

/// What a pass needs.
pub(crate) struct AuditTrail<'a> {
    pub(crate) pool: &'a PgPool,
    pub(crate) lease: &'a Lease,
    pub(crate) policy: &'a Value,
    pub(crate) metrics: &'a Metrics,
}

impl AuditTrail<'_> {
    /// Drops or compacts every closed partition that has rows to remove, for `run`,
    /// adding what it commits to `totals`.
    pub(crate) async fn prune_closed(
        &self,
        run: &StartedRun,
        totals: &mut BatchCounts,
        stop: &watch::Receiver<bool>,
    ) -> Result<Pass, sqlx::Error> {
        let closed = sqlx::query_file!("queries/maintenance/closed_partitions.sql")
            .fetch_all(self.pool)
            .await?;
        for part in closed {
            if *stop.borrow() {
                return Ok(Pass::Interrupted);
            }
            let Some(mut tx) = leader::begin_fenced(self.pool, self.lease).await? else {
                return Ok(Pass::LostLeadership);
            };
            let done = sqlx::query_file!(
                "queries/maintenance/prune_partition.sql",
                part.name,
                self.policy,
                run.as_of,
                COMPACT_SHARE
            )
            .fetch_one(&mut *tx)
            .await;
            let done = match done {
                Ok(done) => done,
                Err(e) if leader::is_lock_timeout(&e) => {
                    warn!(
                        audit.partition = %part.name,
                        error.message = %sanitize(&e.to_string()),
                        "audit partition busy; dropping or compacting it is tried again at the next run"
                    );
                    continue;
                }
                Err(e) => return Err(e),
            };
            let (dropped, compacted) = match done.action.as_str() {
                "dropped" => (1, 0),
                "compacted" => (0, 1),
                _ => {
                    tx.rollback().await?;
                    continue;
                }
            };
            sqlx::query_file!(
                "queries/maintenance/record_partition.sql",
                run.id,
                dropped,
                compacted,
                done.removed
            )
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            let class = if dropped == 1 {
                "partition_dropped"
            } else {
                "partition_compacted"
            };
            self.metrics.rows_pruned("attempts", class, done.removed);
            totals.add(&BatchCounts {
                attempts: done.removed,
                partitions_dropped: dropped.into(),
                partitions_compacted: compacted.into(),
                ..BatchCounts::default()
            });
            info!(
                maintenance.run_id = run.id,
                audit.partition = %part.name,
                job_ids.from = part.lower_bound,
                job_ids.to = part.upper_bound,
                action = %done.action,
                rows_removed = done.removed,
                rows_kept = done.kept,
                "audit partition {}", done.action
            );
        }
        Ok(Pass::Done)
    }
}

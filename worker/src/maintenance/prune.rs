//! One pruning run: first the audit partitions ahead (`partitions::ensure`), then every
//! class in turn, in bounded batches, each batch ONE short transaction that first proves
//! this worker still leads (`leader::begin_fenced`), deletes at most
//! `HERALD_MAINTENANCE_BATCH` rows, adds its counts to the run's record, and commits;
//! then a pause. The steps, in order ([`STEPS`]): the job classes by batches; then the
//! batches none of whose jobs is left (with their workflow records); then the audit trail, whose rows go later, with their closed partition (`audit_trail`, by the
//! ages of the job classes and `failed_attempts`); then the fleet-wide logs by batches
//! (operator actions, run records, the console's authentication audit).
//!
//! Why it never blocks claiming or starves the queue: it reads finished rows only
//! (`jobs_finished_idx`; claims read `jobs_runnable_idx`), locks them with `SKIP
//! LOCKED`, waits for no lock longer than `leader::LOCK_TIMEOUT`, and pauses
//! `HERALD_MAINTENANCE_PAUSE` between batches so its I/O comes in short bursts.
//! A SIGKILL mid-batch rolls that batch back whole: the record counts exactly what was
//! committed.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{PgPool, Postgres, Transaction};
use tokio::sync::watch;
use tracing::warn;

use super::audit_trail::{AuditTrail, Pass};
use super::leader::{self, Lease};
use super::runs::{self, BatchCounts, StartedRun, WorkflowCounts};
use super::{partitions, sleep_for};
use crate::config::{RetentionClass, RetentionConfig};
use crate::sanitize::sanitize;
use crate::telemetry::metrics::Metrics;

/// How a run's batches ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stopped {
    /// Nothing older than the policy is left.
    Done,
    /// Shutdown was requested between batches.
    Interrupted,
    /// The lease is someone else's.
    LostLeadership,
}

/// What a run needs.
pub(crate) struct Pruner<'a> {
    pub(crate) pool: &'a PgPool,
    pub(crate) lease: &'a Lease,
    pub(crate) config: &'a RetentionConfig,
    pub(crate) policy: &'a Value,
    pub(crate) metrics: &'a Metrics,
    pub(crate) stop: watch::Receiver<bool>,
}

/// One step of a pruning run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// Rows of one class, in bounded batches (`prune_class`).
    Rows(RetentionClass),
    /// The audit trail's closed partitions, dropped or compacted whole (`audit_trail`);
    /// the `failed_attempts` class's age applies here, no row is deleted one by one.
    AuditPartitions,
    /// Workflow rows: batches none of whose jobs is left, their waiters and records
    /// (`prune_workflows`); no age of their own, they follow their jobs'.
    Workflows,
}

/// A pruning run's steps, in order: jobs first, so their audit rows are no longer a
/// live job's when the audit pass reads them, and their batches have no job left when
/// the workflow step reads them.
const STEPS: [Step; 8] = [
    Step::Rows(RetentionClass::Succeeded),
    Step::Rows(RetentionClass::Dead),
    Step::Rows(RetentionClass::Cancelled),
    Step::Workflows,
    Step::AuditPartitions,
    Step::Rows(RetentionClass::OperatorActions),
    Step::Rows(RetentionClass::MaintenanceRuns),
    Step::Rows(RetentionClass::ConsoleEvents),
];

/// A position in (finished_at, id) order: the last row a batch read.
type Position = (DateTime<Utc>, i64);

/// What one batch did, and where the next one starts (`None`: the class is done).
struct Batch {
    counts: BatchCounts,
    next: Option<Position>,
}

/// The result row of `prune_jobs.sql`.
struct JobsBatchRow {
    /// The last job read (`None`: none was).
    scanned_at: Option<DateTime<Utc>>,
    scanned_id: Option<i64>,
    /// How many jobs it read.
    scanned: i64,
    /// The deleted jobs, oldest first, and their finish times.
    ids: Vec<i64>,
    finished: Vec<DateTime<Utc>>,
}

impl Pruner<'_> {
    /// Prunes every class for `run`, adding what it commits to `totals`.
    pub(crate) async fn prune_all(
        &mut self,
        run: &StartedRun,
        totals: &mut BatchCounts,
    ) -> Result<Stopped, sqlx::Error> {
        // Creating ahead failing (a lock not obtained within 1 s) never stops pruning:
        // attempts meanwhile land in the DEFAULT partition, moved out at a later run.
        if let Err(e) = partitions::ensure(self.pool, self.lease, self.config).await {
            warn!(
                error.message = %sanitize(&e.to_string()),
                "could not create audit partitions ahead; tried again at the next run"
            );
        }
        for step in STEPS {
            let stopped = match step {
                Step::Rows(class) => self.prune_class(class, run, totals).await?,
                Step::AuditPartitions => self.prune_audit(run, totals).await?,
                Step::Workflows => self.prune_workflows(run, totals).await?,
            };
            if stopped != Stopped::Done {
                return Ok(stopped);
            }
        }
        Ok(Stopped::Done)
    }

    /// The audit trail's turn: its closed partitions, dropped or compacted.
    async fn prune_audit(
        &mut self,
        run: &StartedRun,
        totals: &mut BatchCounts,
    ) -> Result<Stopped, sqlx::Error> {
        let trail = AuditTrail {
            pool: self.pool,
            lease: self.lease,
            policy: self.policy,
            metrics: self.metrics,
        };
        Ok(match trail.prune_closed(run, totals, &self.stop).await? {
            Pass::Done => Stopped::Done,
            Pass::Interrupted => Stopped::Interrupted,
            Pass::LostLeadership => Stopped::LostLeadership,
        })
    }

    /// The workflow step: batches of (workflow) batches until none is left to read,
    /// pausing between them, each fenced and recorded like the job classes'.
    async fn prune_workflows(
        &mut self,
        run: &StartedRun,
        totals: &mut BatchCounts,
    ) -> Result<Stopped, sqlx::Error> {
        let limit = i64::from(self.config.batch_size);
        let mut after: i64 = 0;
        loop {
            if *self.stop.borrow() {
                return Ok(Stopped::Interrupted);
            }
            let Some(mut tx) = leader::begin_fenced(self.pool, self.lease).await? else {
                return Ok(Stopped::LostLeadership);
            };
            let row = sqlx::query_file!("queries/maintenance/prune_workflows.sql", limit, after)
                .fetch_one(&mut *tx)
                .await?;
            let counts = BatchCounts {
                workflows: WorkflowCounts {
                    batches: row.batches,
                    events: row.events,
                },
                ..BatchCounts::default()
            };
            runs::record_batch(&mut tx, run.id, &counts).await?;
            tx.commit().await?;
            self.count(&counts);
            totals.add(&counts);
            match row.scanned_id.filter(|_| row.scanned >= limit) {
                None => return Ok(Stopped::Done),
                Some(id) => after = id,
            }
            if !sleep_for(self.config.pause, &mut self.stop).await {
                return Ok(Stopped::Interrupted);
            }
        }
    }

    /// Batches of `class` until none is left, pausing between batches.
    async fn prune_class(
        &mut self,
        class: RetentionClass,
        run: &StartedRun,
        totals: &mut BatchCounts,
    ) -> Result<Stopped, sqlx::Error> {
        let mut position: Position = (scan_start(), 0);
        loop {
            if *self.stop.borrow() {
                return Ok(Stopped::Interrupted);
            }
            let Some(mut tx) = leader::begin_fenced(self.pool, self.lease).await? else {
                return Ok(Stopped::LostLeadership);
            };
            let batch = self.batch(&mut tx, class, run, position).await?;
            runs::record_batch(&mut tx, run.id, &batch.counts).await?;
            tx.commit().await?;
            self.count(&batch.counts);
            totals.add(&batch.counts);
            match batch.next {
                None => return Ok(Stopped::Done),
                Some(p) => position = p,
            }
            if !sleep_for(self.config.pause, &mut self.stop).await {
                return Ok(Stopped::Interrupted);
            }
        }
    }

    /// One batch of `class` in `tx`, from `position`.
    async fn batch(
        &self,
        tx: &mut Transaction<'static, Postgres>,
        class: RetentionClass,
        run: &StartedRun,
        position: Position,
    ) -> Result<Batch, sqlx::Error> {
        let limit = i64::from(self.config.batch_size);
        let policy = &self.config.policy;
        match class {
            RetentionClass::Succeeded | RetentionClass::Dead | RetentionClass::Cancelled => {
                let row = sqlx::query_file_as!(
                    JobsBatchRow,
                    "queries/maintenance/prune_jobs.sql",
                    class.as_str(),
                    self.policy,
                    run.as_of,
                    limit,
                    position.0,
                    position.1,
                    policy.min_age(class).as_secs_f64()
                )
                .fetch_one(&mut **tx)
                .await?;
                let ids = &row.ids;
                let mut counts = BatchCounts {
                    oldest: ids.first().copied().zip(row.finished.first().copied()),
                    newest: ids.last().copied().zip(row.finished.last().copied()),
                    ..BatchCounts::default()
                };
                let slot = match class {
                    RetentionClass::Succeeded => 0,
                    RetentionClass::Dead => 1,
                    _ => 2,
                };
                counts.jobs[slot] = ids.len() as i64;
                Ok(Batch {
                    counts,
                    next: next_position(row.scanned_at, row.scanned_id, row.scanned, limit),
                })
            }
            _ => {
                let age = policy.class_age(class).age.as_secs_f64();
                let removed = if class == RetentionClass::OperatorActions {
                    sqlx::query_file_scalar!(
                        "queries/maintenance/prune_operator_actions.sql",
                        run.as_of,
                        age,
                        limit
                    )
                    .fetch_one(&mut **tx)
                    .await?
                } else if class == RetentionClass::ConsoleEvents {
                    sqlx::query_file_scalar!(
                        "queries/maintenance/prune_console_events.sql",
                        run.as_of,
                        age,
                        limit
                    )
                    .fetch_one(&mut **tx)
                    .await?
                } else {
                    sqlx::query_file_scalar!(
                        "queries/maintenance/prune_runs.sql",
                        run.as_of,
                        age,
                        limit
                    )
                    .fetch_one(&mut **tx)
                    .await?
                };
                let mut counts = BatchCounts::default();
                match class {
                    RetentionClass::OperatorActions => counts.operator_actions = removed,
                    RetentionClass::ConsoleEvents => counts.console_events = removed,
                    _ => counts.runs = removed,
                }
                // These delete from the oldest on, so a short batch means none is left.
                Ok(Batch {
                    counts,
                    next: (removed >= limit).then_some(position),
                })
            }
        }
    }

    /// Adds a committed batch to the pruned-rows counters.
    fn count(&self, c: &BatchCounts) {
        let m = self.metrics;
        for (state, n) in ["succeeded", "dead", "cancelled"].into_iter().zip(c.jobs) {
            m.rows_pruned("jobs", state, n);
        }
        m.rows_pruned("operator_actions", "operator_actions", c.operator_actions);
        m.rows_pruned("maintenance_runs", "maintenance_runs", c.runs);
        m.rows_pruned("batches", "workflows", c.workflows.batches);
        m.rows_pruned("workflow_events", "workflows", c.workflows.events);
        m.rows_pruned("console_events", "console_events", c.console_events);
    }
}

/// Before any finish time PostgreSQL can store that a row could hold (year 4000 BC; its
/// range starts at 4713 BC, chrono's minimum is out of it).
fn scan_start() -> DateTime<Utc> {
    chrono::NaiveDate::from_ymd_opt(-4000, 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map_or(DateTime::<Utc>::UNIX_EPOCH, |t| t.and_utc())
}

/// Where the next batch starts: after the last row read, unless the batch read fewer
/// rows than its limit (nothing further is old enough).
fn next_position(
    at: Option<DateTime<Utc>>,
    id: Option<i64>,
    scanned: i64,
    limit: i64,
) -> Option<Position> {
    if scanned < limit {
        return None;
    }
    at.zip(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_batch_ends_the_class_and_a_full_one_continues_after_its_last_row() {
        let at = Utc::now();
        assert_eq!(next_position(Some(at), Some(7), 3, 10), None);
        assert_eq!(next_position(None, None, 0, 10), None);
        assert_eq!(next_position(Some(at), Some(7), 10, 10), Some((at, 7)));
    }

    #[test]
    fn a_run_handles_every_class_once_with_failed_attempts_by_partition() {
        let mut covered: Vec<RetentionClass> = STEPS
            .iter()
            .filter_map(|step| match step {
                Step::Rows(class) => Some(*class),
                Step::AuditPartitions => Some(RetentionClass::FailedAttempts),
                Step::Workflows => None,
            })
            .collect();
        assert!(
            !STEPS.contains(&Step::Rows(RetentionClass::FailedAttempts)),
            "the audit trail is never pruned row by row"
        );
        covered.sort();
        assert_eq!(covered, RetentionClass::ALL.to_vec());
        let audit = STEPS.iter().position(|s| *s == Step::AuditPartitions);
        let jobs_done = STEPS
            .iter()
            .position(|s| *s == Step::Rows(RetentionClass::Cancelled));
        assert!(audit > jobs_done, "jobs are pruned before their audit rows");
        let workflows = STEPS.iter().position(|s| *s == Step::Workflows);
        assert!(
            workflows > jobs_done,
            "jobs are pruned before their batches"
        );
    }
}

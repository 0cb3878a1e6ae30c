//! The record of pruning runs (`herald.maintenance_runs`): started, counted batch by
//! batch in each batch's own transaction, closed with an outcome. A deletion is never
//! silent: what a batch removed is committed together with its count.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{PgPool, Postgres, Transaction};

/// How a run ended (`herald.maintenance_runs.outcome`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RunOutcome {
    /// Every class was pruned down to its age.
    Completed,
    /// The worker was shutting down; it stopped between two batches.
    Interrupted,
    /// Another worker took the lease over.
    LostLeadership,
    /// A database error ended it.
    Failed,
}

impl RunOutcome {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Completed => "completed",
            Self::Interrupted => "interrupted",
            Self::LostLeadership => "lost_leadership",
            Self::Failed => "failed",
        }
    }
}

/// Workflow rows one batch removed.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct WorkflowCounts {
    /// Batch rows (`herald.batches`).
    pub(crate) batches: i64,
    /// Workflow records (`herald.workflow_events`).
    pub(crate) events: i64,
}

/// What one batch removed.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct BatchCounts {
    /// Jobs by state: succeeded, dead, cancelled.
    pub(crate) jobs: [i64; 3],
    /// Audit rows.
    pub(crate) attempts: i64,
    /// Audit partitions dropped.
    pub(crate) partitions_dropped: i64,
    /// Audit partitions compacted.
    pub(crate) partitions_compacted: i64,
    /// Operator-action rows.
    pub(crate) operator_actions: i64,
    /// Run records.
    pub(crate) runs: i64,
    /// Workflow rows: batches (with their waiter rows) and workflow records.
    pub(crate) workflows: WorkflowCounts,
    /// Console authentication-audit rows.
    pub(crate) console_events: i64,
    /// The oldest removed job (id, finished_at).
    pub(crate) oldest: Option<(i64, DateTime<Utc>)>,
    /// The newest removed job.
    pub(crate) newest: Option<(i64, DateTime<Utc>)>,
}

impl BatchCounts {
    /// Adds `other` to these totals.
    pub(crate) fn add(&mut self, other: &Self) {
        for (total, n) in self.jobs.iter_mut().zip(other.jobs) {
            *total += n;
        }
        self.attempts += other.attempts;
        self.partitions_dropped += other.partitions_dropped;
        self.partitions_compacted += other.partitions_compacted;
        self.operator_actions += other.operator_actions;
        self.runs += other.runs;
        self.workflows.batches += other.workflows.batches;
        self.workflows.events += other.workflows.events;
        self.console_events += other.console_events;
        if other
            .oldest
            .is_some_and(|(_, at)| self.oldest.is_none_or(|(_, o)| at < o))
        {
            self.oldest = other.oldest;
        }
        if other
            .newest
            .is_some_and(|(_, at)| self.newest.is_none_or(|(_, n)| at > n))
        {
            self.newest = other.newest;
        }
    }
}

/// A started run.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StartedRun {
    /// Its id.
    pub(crate) id: i64,
    /// Its start: every age in the run is measured back from it.
    pub(crate) as_of: DateTime<Utc>,
    /// Runs of dead leaders it closed as abandoned.
    pub(crate) abandoned: i64,
}

/// Whether a run is due: none yet, the newest did not finish its work (a leader died,
/// shut down or lost the lease mid-run), or it started `interval` ago or more.
pub(crate) async fn due(pool: &PgPool, interval: std::time::Duration) -> Result<bool, sqlx::Error> {
    let newest = sqlx::query_file!("queries/maintenance/newest_run.sql")
        .fetch_optional(pool)
        .await?;
    Ok(match newest {
        None => true,
        Some(run)
            if matches!(
                run.outcome.as_str(),
                "running" | "interrupted" | "abandoned" | "lost_leadership"
            ) =>
        {
            true
        }
        Some(run) => run.age_secs >= interval.as_secs_f64(),
    })
}

/// Starts a run of `worker_id` under `policy` in fenced transaction `tx`.
pub(crate) async fn start(
    tx: &mut Transaction<'static, Postgres>,
    worker_id: &str,
    policy: &Value,
) -> Result<StartedRun, sqlx::Error> {
    sqlx::query_file_as!(
        StartedRun,
        "queries/maintenance/start_run.sql",
        worker_id,
        policy
    )
    .fetch_one(&mut **tx)
    .await
}

/// Adds batch `counts` to run `run_id`, inside the batch's transaction.
pub(crate) async fn record_batch(
    tx: &mut Transaction<'static, Postgres>,
    run_id: i64,
    counts: &BatchCounts,
) -> Result<(), sqlx::Error> {
    sqlx::query_file!(
        "queries/maintenance/record_batch.sql",
        run_id,
        counts.jobs[0],
        counts.jobs[1],
        counts.jobs[2],
        counts.attempts,
        counts.operator_actions,
        counts.runs,
        counts.oldest.map(|(id, _)| id),
        counts.oldest.map(|(_, at)| at),
        counts.newest.map(|(id, _)| id),
        counts.newest.map(|(_, at)| at),
        counts.workflows.batches,
        counts.workflows.events,
        counts.console_events
    )
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

/// Closes run `run_id` with `outcome`; `leading`: the executor is a fenced transaction
/// (finish time now), else the run ends at its last committed batch.
pub(crate) async fn finish<'e>(
    executor: impl sqlx::PgExecutor<'e>,
    run_id: i64,
    outcome: RunOutcome,
    error: Option<&str>,
    leading: bool,
) -> Result<(), sqlx::Error> {
    sqlx::query_file!(
        "queries/maintenance/finish_run.sql",
        run_id,
        outcome.as_str(),
        error,
        leading
    )
    .execute(executor)
    .await
    .map(|_| ())
}

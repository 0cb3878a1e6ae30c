//! Storage that maintains itself: exactly one worker of the fleet at a time prunes the
//! history older than the retention policy (`crate::config::RetentionConfig`), in
//! bounded batches, and records every run.
//!
//! # Layout
//! - `mod.rs`: [`run`], the per-process loop: lead, and when leading and a run is due, prune
//! - `leader.rs`: the lease row (`herald.maintenance_leader`), the fenced transaction
//! - `policy.rs`: [`policy_json`], the policy as the SQL and the run record read it
//! - `prune.rs`: one run: each class in batches, each batch one fenced transaction
//! - `partitions.rs`: creating `herald.attempts` partitions ahead of the jobs id sequence
//! - `audit_trail.rs`: removing old audit rows by dropping or compacting whole closed
//!   partitions of `herald.attempts`
//! - `runs.rs`: the run record (`herald.maintenance_runs`): start, per-batch counts, finish
//!
//! SQL: `worker/queries/maintenance/*.sql`. Depends on `config`, `db`, `stored_time` and
//! `telemetry` only; the runtime starts [`run`] like heartbeats and rescue.
//!
//! # Contract
//!
//! | what | guarantee |
//! |---|---|
//! | leadership | one lease row; taken when free or expired (`HERALD_LEASE` after its holder's last renewal), renewed every `lease / 3` and by every batch; deleted at clean shutdown (immediate handover) |
//! | mutual exclusion | every batch's first statement renews the lease *of this holder* and keeps the row locked until commit; a takeover waits for that lock, then sees the renewed lease: no two workers ever delete at once, even one that stalled past its lease (its next batch finds the lease gone and stops) |
//! | due | the newest run started `HERALD_MAINTENANCE_INTERVAL` ago, or did not complete its work (a dead, stopped or deposed leader's run is continued at once) |
//! | batches | at most `HERALD_MAINTENANCE_BATCH` rows read per class per transaction, `SKIP LOCKED`, `lock_timeout` 1 s, statement timeout = the lease, `HERALD_MAINTENANCE_PAUSE` between batches |
//! | never touched | pending, running and retrying jobs (only `succeeded`, `dead`, `cancelled` rows are read, re-checked under the row lock); the audit rows of any job that still exists; any partition of `herald.attempts` that is not closed |
//! | audit partitions | `herald.attempts` is partitioned by job-id range, `HERALD_AUDIT_PARTITION_JOBS` ids each; each run first creates them from the one holding the jobs id sequence's next value through `HERALD_AUDIT_PARTITIONS_AHEAD` more; an attempt with no partition yet lands in `herald.attempts_default` (never rejected) and is moved into its partition when that is created |
//! | audit rows | go with their whole partition once it is CLOSED (its ids all handed out, none of them a pending, running or retrying job): dropped when no row is kept, compacted (kept rows copied, swapped in) when at least half can go; a row is kept while its job exists or it is younger than its own age (succeeded: `succeeded`, else `HERALD_RETENTION_FAILED_ATTEMPTS`); the partition still receiving ids keeps the rows of pruned jobs until it closes |
//! | record | one `herald.maintenance_runs` row per run; each batch's counts, and each dropped or compacted partition (`attempt_partitions_dropped`, `attempt_partitions_compacted`, `attempts_removed`), are committed with the deletion; outcome `completed`, `interrupted`, `lost_leadership`, `failed`, or `abandoned` (closed by the next leader at the dead one's last batch); runs never overlap |
//! | log | one INFO `maintenance run finished` per run with its counts (`failed`: WARN with the error) |
//! | metrics | `herald_maintenance_rows_pruned_total{table,class}` (audit rows: `table="attempts"`, `class="partition_dropped"` or `"partition_compacted"`), `herald_maintenance_last_success_timestamp_seconds` |
//!
//! # Why a lease row and not an advisory lock
//! A session advisory lock held on a dedicated connection would also hand over when its
//! holder dies (the server drops the lock with the connection), but: behind a
//! transaction-mode pooler (PgBouncer) a session lock is not tied to this worker's
//! session at all; a half-open TCP connection keeps the lock until keepalives notice,
//! far longer than a lease; it costs every worker a connection outside its pool; and an
//! operator cannot see who holds it without decoding `pg_locks`. The row names its holder
//! and expiry (`herald retention`), needs no session state, and its row lock is what
//! fences each batch. River's leader election is the same shape.

use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;
use tokio::sync::watch;
use tracing::{debug, info, warn};

use crate::config::RetentionConfig;
use crate::sanitize::sanitize;
use crate::telemetry::metrics::Metrics;

mod audit_trail;
mod leader;
mod partitions;
mod policy;
mod prune;
mod runs;

pub use policy::policy_json;

use leader::Lease;
use prune::{Pruner, Stopped};
use runs::{BatchCounts, RunOutcome};

/// What the maintenance loop runs with.
#[derive(Debug, Clone)]
pub(crate) struct MaintenanceSettings {
    /// This worker's id (the lease's holder, the runs' `worker_id`).
    pub(crate) worker_id: String,
    /// The lease's length (`HERALD_LEASE`).
    pub(crate) lease: Duration,
    /// Retention ages and pace.
    pub(crate) retention: RetentionConfig,
}

/// Leads maintenance when this worker can, and prunes when a run is due, until `stop`
/// turns true; then gives the lease up. A database error is tried again at the next
/// tick (see `unavailable`): maintenance never stops the worker and never reports the
/// database's health, which the queue's tasks do.
pub(crate) async fn run(
    pool: PgPool,
    settings: MaintenanceSettings,
    metrics: Arc<Metrics>,
    mut stop: watch::Receiver<bool>,
) {
    let lease = Lease {
        worker_id: settings.worker_id.clone(),
        length: settings.lease,
    };
    let policy = policy_json(&settings.retention.policy);
    let tick = settings.lease / 3;
    let mut leading = false;
    loop {
        let leads = match leader::lead(&pool, &lease).await {
            Ok(leads) => leads,
            Err(e) => {
                unavailable("maintenance leadership", &e);
                false
            }
        };
        if leads != leading {
            info!(worker.id = %lease.worker_id, leading = leads, "maintenance leadership changed");
            leading = leads;
        }
        if leading {
            match runs::due(&pool, settings.retention.interval).await {
                Ok(true) => {
                    let mut pruner = Pruner {
                        pool: &pool,
                        lease: &lease,
                        config: &settings.retention,
                        policy: &policy,
                        metrics: &metrics,
                        stop: stop.clone(),
                    };
                    run_once(&mut pruner).await;
                }
                Ok(false) => {}
                Err(e) => unavailable("maintenance schedule", &e),
            }
        }
        if !sleep_for(tick, &mut stop).await {
            break;
        }
    }
    if leading && let Err(e) = leader::resign(&pool, &lease).await {
        warn!(error.message = %sanitize(&e.to_string()), "could not give up maintenance leadership; another worker takes over when the lease expires");
    }
}

/// One run: start its record, prune, close it; logs once.
async fn run_once(pruner: &mut Pruner<'_>) {
    let started = std::time::Instant::now();
    let run = match leader::begin_fenced(pruner.pool, pruner.lease).await {
        Ok(Some(mut tx)) => {
            match runs::start(&mut tx, &pruner.lease.worker_id, pruner.policy).await {
                Ok(run) => match tx.commit().await {
                    Ok(()) => run,
                    Err(e) => return start_failed(&e),
                },
                Err(e) => return start_failed(&e),
            }
        }
        Ok(None) => return,
        Err(e) => return start_failed(&e),
    };
    let mut totals = BatchCounts::default();
    let ended = pruner.prune_all(&run, &mut totals).await;
    let (outcome, error) = match &ended {
        Ok(Stopped::Done) => (RunOutcome::Completed, None),
        Ok(Stopped::Interrupted) => (RunOutcome::Interrupted, None),
        Ok(Stopped::LostLeadership) => (RunOutcome::LostLeadership, None),
        Err(e) => (RunOutcome::Failed, Some(sanitize(&e.to_string()))),
    };
    if let Err(e) = close(pruner, run.id, outcome, error.as_deref()).await {
        warn!(
            maintenance.run_id = run.id,
            error.message = %sanitize(&e.to_string()),
            "could not record the end of a maintenance run; the next leader closes it as abandoned"
        );
    }
    if outcome == RunOutcome::Completed {
        pruner.metrics.maintenance_succeeded(chrono::Utc::now());
    }
    let oldest = totals
        .oldest
        .map(|(id, at)| format!("job {id} finished {at}"));
    let newest = totals
        .newest
        .map(|(id, at)| format!("job {id} finished {at}"));
    macro_rules! report {
        ($level:ident, $message:literal) => {
            $level!(
                maintenance.run_id = run.id,
                maintenance.outcome = outcome.as_str(),
                jobs.succeeded = totals.jobs[0],
                jobs.dead = totals.jobs[1],
                jobs.cancelled = totals.jobs[2],
                attempts = totals.attempts,
                attempt_partitions_dropped = totals.partitions_dropped,
                attempt_partitions_compacted = totals.partitions_compacted,
                operator_actions = totals.operator_actions,
                maintenance_runs = totals.runs,
                abandoned_runs_closed = run.abandoned,
                oldest = oldest.as_deref().unwrap_or("-"),
                newest = newest.as_deref().unwrap_or("-"),
                duration_ms = started.elapsed().as_millis() as u64,
                error.message = error.as_deref().unwrap_or(""),
                $message
            )
        };
    }
    match outcome {
        RunOutcome::Failed | RunOutcome::LostLeadership => {
            report!(warn, "maintenance run finished")
        }
        _ => report!(info, "maintenance run finished"),
    }
}

/// Closes run `run_id`: in a fenced transaction (finish time now) while this worker
/// still leads, else at its last committed batch.
async fn close(
    pruner: &Pruner<'_>,
    run_id: i64,
    outcome: RunOutcome,
    error: Option<&str>,
) -> Result<(), sqlx::Error> {
    match leader::begin_fenced(pruner.pool, pruner.lease).await {
        Ok(Some(mut tx)) => {
            runs::finish(&mut *tx, run_id, outcome, error, true).await?;
            tx.commit().await
        }
        Ok(None) => {
            let outcome = if outcome == RunOutcome::Failed {
                outcome
            } else {
                RunOutcome::LostLeadership
            };
            runs::finish(pruner.pool, run_id, outcome, error, false).await
        }
        Err(_) => runs::finish(pruner.pool, run_id, outcome, error, false).await,
    }
}

/// A database error outside a run. A refused statement is WARN (maintenance cannot
/// work until someone looks); an unreachable database is DEBUG only: the queue's own
/// tasks report the outage once, and maintenance tries again at the next tick without
/// declaring outages or recoveries of its own.
fn unavailable(what: &'static str, e: &sqlx::Error) {
    if matches!(e, sqlx::Error::Database(_)) {
        warn!(db.operation = what, error.message = %sanitize(&e.to_string()), "maintenance cannot run; trying again at the next tick");
    } else {
        debug!(db.operation = what, error.message = %sanitize(&e.to_string()), "database unavailable to maintenance; trying again at the next tick");
    }
}

fn start_failed(e: &sqlx::Error) {
    warn!(error.message = %sanitize(&e.to_string()), "could not start a maintenance run; trying again at the next tick");
}

/// Sleeps `d`, or less if `stop` turns true; `false` when stopping.
pub(crate) async fn sleep_for(d: Duration, stop: &mut watch::Receiver<bool>) -> bool {
    if *stop.borrow() {
        return false;
    }
    let stopped = tokio::select! {
        _ = tokio::time::sleep(d) => false,
        _ = stop.wait_for(|s| *s) => true,
    };
    !stopped && !*stop.borrow()
}

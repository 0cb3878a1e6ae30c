//! Every SQL statement the worker runs, named, kept in `worker/queries/<area>/*.sql`.

/// Claims a batch of runnable jobs (`queue/claim.sql`).
pub(crate) const CLAIM: &str = include_str!("../queries/queue/claim.sql");
/// When the next job becomes runnable (`queue/next_due.sql`).
pub(crate) const NEXT_DUE: &str = include_str!("../queries/queue/next_due.sql");
/// Releases claimed, unstarted jobs without charge (`queue/release.sql`).
pub(crate) const RELEASE: &str = include_str!("../queries/queue/release.sql");
/// Renews the leases of the jobs this process holds (`queue/heartbeat.sql`).
pub(crate) const HEARTBEAT_JOBS: &str = include_str!("../queries/queue/heartbeat.sql");
/// Locks jobs whose lease expired (`queue/stale.sql`).
pub(crate) const LOCK_STALE: &str = include_str!("../queries/queue/stale.sql");
/// Locks jobs left running by a previous process with this worker id (`queue/left_by.sql`).
pub(crate) const LOCK_LEFT_BY: &str = include_str!("../queries/queue/left_by.sql");
/// Finishes a batch of attempts with their audit rows (`audit/finish_attempts.sql`).
pub(crate) const FINISH_ATTEMPTS: &str = include_str!("../queries/audit/finish_attempts.sql");
/// Records a worker process (`workers/register.sql`).
pub(crate) const REGISTER_WORKER: &str = include_str!("../queries/workers/register.sql");
/// Marks a worker alive (`workers/heartbeat.sql`).
pub(crate) const HEARTBEAT_WORKER: &str = include_str!("../queries/workers/heartbeat.sql");
/// Marks a worker stopped (`workers/stopped.sql`).
pub(crate) const WORKER_STOPPED: &str = include_str!("../queries/workers/stopped.sql");
/// Records a registered job type (`workers/register_job_type.sql`).
pub(crate) const REGISTER_JOB_TYPE: &str = include_str!("../queries/workers/register_job_type.sql");
/// Enqueues one cron tick's job unless already enqueued (`cron/enqueue_tick.sql`).
pub(crate) const CRON_ENQUEUE_TICK: &str = include_str!("../queries/cron/enqueue_tick.sql");
/// Forgets a schedule's old ticks (`cron/prune_ticks.sql`).
pub(crate) const CRON_PRUNE_TICKS: &str = include_str!("../queries/cron/prune_ticks.sql");
/// Records an alert transition (`telemetry/insert_alert_event.sql`).
pub(crate) const INSERT_ALERT_EVENT: &str =
    include_str!("../queries/telemetry/insert_alert_event.sql");
/// Jobs by queue and state (`telemetry/queue_depth.sql`).
pub(crate) const QUEUE_DEPTH: &str = include_str!("../queries/telemetry/queue_depth.sql");
/// Running workers' heartbeat ages (`telemetry/heartbeat_ages.sql`).
pub(crate) const HEARTBEAT_AGES: &str = include_str!("../queries/telemetry/heartbeat_ages.sql");
/// Bounds a maintenance transaction's lock waits and statements (`maintenance/limit_locks.sql`).
pub(crate) const MAINTENANCE_LIMIT_LOCKS: &str =
    include_str!("../queries/maintenance/limit_locks.sql");
/// Becomes or stays the maintenance leader (`maintenance/lead.sql`).
pub(crate) const MAINTENANCE_LEAD: &str = include_str!("../queries/maintenance/lead.sql");
/// Renews the leader's lease inside a pruning transaction (`maintenance/fence.sql`).
pub(crate) const MAINTENANCE_FENCE: &str = include_str!("../queries/maintenance/fence.sql");
/// Gives up leadership at shutdown (`maintenance/resign.sql`).
pub(crate) const MAINTENANCE_RESIGN: &str = include_str!("../queries/maintenance/resign.sql");
/// The newest pruning run's outcome and age (`maintenance/newest_run.sql`).
pub(crate) const MAINTENANCE_NEWEST_RUN: &str =
    include_str!("../queries/maintenance/newest_run.sql");
/// Starts a pruning run, closing abandoned ones (`maintenance/start_run.sql`).
pub(crate) const MAINTENANCE_START_RUN: &str = include_str!("../queries/maintenance/start_run.sql");
/// Adds a committed batch to a run's counts (`maintenance/record_batch.sql`).
pub(crate) const MAINTENANCE_RECORD_BATCH: &str =
    include_str!("../queries/maintenance/record_batch.sql");
/// Closes a pruning run (`maintenance/finish_run.sql`).
pub(crate) const MAINTENANCE_FINISH_RUN: &str =
    include_str!("../queries/maintenance/finish_run.sql");
/// One batch of finished jobs of one state past their age (`maintenance/prune_jobs.sql`).
pub(crate) const MAINTENANCE_PRUNE_JOBS: &str =
    include_str!("../queries/maintenance/prune_jobs.sql");
/// The audit rows that go with pruned jobs (`maintenance/remove_job_attempts.sql`).
pub(crate) const MAINTENANCE_REMOVE_JOB_ATTEMPTS: &str =
    include_str!("../queries/maintenance/remove_job_attempts.sql");
/// One batch of audit rows of gone jobs past their own age
/// (`maintenance/prune_orphan_attempts.sql`).
pub(crate) const MAINTENANCE_PRUNE_ORPHAN_ATTEMPTS: &str =
    include_str!("../queries/maintenance/prune_orphan_attempts.sql");
/// One batch of old operator actions (`maintenance/prune_operator_actions.sql`).
pub(crate) const MAINTENANCE_PRUNE_OPERATOR_ACTIONS: &str =
    include_str!("../queries/maintenance/prune_operator_actions.sql");
/// One batch of old pruning-run records (`maintenance/prune_runs.sql`).
pub(crate) const MAINTENANCE_PRUNE_RUNS: &str =
    include_str!("../queries/maintenance/prune_runs.sql");

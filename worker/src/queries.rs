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
/// The demo run's jobs by state (`demo/jobs_by_state.sql`).
pub(crate) const DEMO_JOBS_BY_STATE: &str = include_str!("../queries/demo/jobs_by_state.sql");
/// The demo run's jobs by type and state (`demo/jobs_by_type.sql`).
pub(crate) const DEMO_JOBS_BY_TYPE: &str = include_str!("../queries/demo/jobs_by_type.sql");
/// The demo run's audit rows by outcome (`demo/attempts_by_outcome.sql`).
pub(crate) const DEMO_ATTEMPTS_BY_OUTCOME: &str =
    include_str!("../queries/demo/attempts_by_outcome.sql");
/// The demo run's dead jobs by cause (`demo/dead_by_cause.sql`).
pub(crate) const DEMO_DEAD_BY_CAUSE: &str = include_str!("../queries/demo/dead_by_cause.sql");
/// How many demo jobs were retried (`demo/retried_jobs.sql`).
pub(crate) const DEMO_RETRIED_JOBS: &str = include_str!("../queries/demo/retried_jobs.sql");
/// How many demo jobs are not settled (`demo/unsettled.sql`).
pub(crate) const DEMO_UNSETTLED: &str = include_str!("../queries/demo/unsettled.sql");
/// One job's audit trail (`demo/trail.sql`).
pub(crate) const DEMO_TRAIL: &str = include_str!("../queries/demo/trail.sql");
/// Drops the private demo database (`demo/drop_database.sql`).
pub(crate) const DEMO_DROP_DATABASE: &str = include_str!("../queries/demo/drop_database.sql");
/// Creates the private demo database (`demo/create_database.sql`).
pub(crate) const DEMO_CREATE_DATABASE: &str = include_str!("../queries/demo/create_database.sql");
/// Jobs matching an operator filter (`operator/select_jobs.sql`).
pub(crate) const OP_SELECT_JOBS: &str = include_str!("../queries/operator/select_jobs.sql");
/// How many jobs match an operator filter (`operator/count_jobs.sql`).
pub(crate) const OP_COUNT_JOBS: &str = include_str!("../queries/operator/count_jobs.sql");
/// One job with its payload (`operator/job.sql`).
pub(crate) const OP_JOB: &str = include_str!("../queries/operator/job.sql");
/// One job's audit trail (`operator/job_attempts.sql`).
pub(crate) const OP_JOB_ATTEMPTS: &str = include_str!("../queries/operator/job_attempts.sql");
/// The operator actions on one job (`operator/job_actions.sql`).
pub(crate) const OP_JOB_ACTIONS: &str = include_str!("../queries/operator/job_actions.sql");
/// Failed attempts grouped by exact cause (`operator/failures.sql`).
pub(crate) const OP_FAILURES: &str = include_str!("../queries/operator/failures.sql");
/// The operator-action log (`operator/actions.sql`).
pub(crate) const OP_ACTIONS: &str = include_str!("../queries/operator/actions.sql");
/// Replays a batch of jobs with its action row (`operator/replay.sql`).
pub(crate) const OP_REPLAY: &str = include_str!("../queries/operator/replay.sql");
/// Cancels a batch of jobs with its action row (`operator/cancel.sql`).
pub(crate) const OP_CANCEL: &str = include_str!("../queries/operator/cancel.sql");
/// Purges a batch of jobs with its action row (`operator/purge.sql`).
pub(crate) const OP_PURGE: &str = include_str!("../queries/operator/purge.sql");
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
/// Fleet-wide attempts and failures per job type (`stats/failure_rate.sql`).
pub(crate) const STATS_FAILURE_RATE: &str = include_str!("../queries/stats/failure_rate.sql");
/// Recent alert transitions (`stats/recent_alerts.sql`).
pub(crate) const STATS_RECENT_ALERTS: &str = include_str!("../queries/stats/recent_alerts.sql");
/// The demo run's failure-rate alert transitions (`demo/alert_events.sql`).
pub(crate) const DEMO_ALERT_EVENTS: &str = include_str!("../queries/demo/alert_events.sql");
/// BENCHMARK ONLY: finishes attempts without audit rows
/// (`audit/finish_attempts_unaudited.sql`).
pub(crate) const FINISH_ATTEMPTS_UNAUDITED: &str =
    include_str!("../queries/audit/finish_attempts_unaudited.sql");
/// Worker processes with their in-flight counts (`operator/workers.sql`).
pub(crate) const OP_WORKERS: &str = include_str!("../queries/operator/workers.sql");
/// Jobs by queue and state, one row per queue (`operator/queues.sql`).
pub(crate) const OP_QUEUES: &str = include_str!("../queries/operator/queues.sql");

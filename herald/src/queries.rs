//! Every SQL statement the `herald` command runs (operator commands, stats, the demo),
//! named, kept in `herald/queries/<area>/*.sql`. The worker's own are in
//! `worker/src/queries.rs`.

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
/// Fleet-wide attempts and failures per job type (`stats/failure_rate.sql`).
pub(crate) const STATS_FAILURE_RATE: &str = include_str!("../queries/stats/failure_rate.sql");
/// Recent alert transitions (`stats/recent_alerts.sql`).
pub(crate) const STATS_RECENT_ALERTS: &str = include_str!("../queries/stats/recent_alerts.sql");
/// The demo run's failure-rate alert transitions (`demo/alert_events.sql`).
pub(crate) const DEMO_ALERT_EVENTS: &str = include_str!("../queries/demo/alert_events.sql");
/// Worker processes with their in-flight counts (`operator/workers.sql`).
pub(crate) const OP_WORKERS: &str = include_str!("../queries/operator/workers.sql");
/// Jobs by queue and state, one row per queue (`operator/queues.sql`).
pub(crate) const OP_QUEUES: &str = include_str!("../queries/operator/queues.sql");
/// What the next pruning run would remove, per class (`retention/preview.sql`).
pub(crate) const RETENTION_PREVIEW: &str = include_str!("../queries/retention/preview.sql");
/// The newest pruning runs (`retention/runs.sql`).
pub(crate) const RETENTION_RUNS: &str = include_str!("../queries/retention/runs.sql");
/// The maintenance leader's lease (`retention/leader.sql`).
pub(crate) const RETENTION_LEADER: &str = include_str!("../queries/retention/leader.sql");

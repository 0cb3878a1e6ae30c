//! Every SQL statement the worker runs, named, kept in `worker/queries/<area>/*.sql`.

/// Claims a batch of runnable jobs (`queue/claim.sql`).
pub(crate) const CLAIM: &str = include_str!("../queries/queue/claim.sql");
/// When the next job becomes runnable (`queue/next_due.sql`).
pub(crate) const NEXT_DUE: &str = include_str!("../queries/queue/next_due.sql");
/// Releases claimed, unstarted jobs without charge (`queue/release.sql`).
pub(crate) const RELEASE: &str = include_str!("../queries/queue/release.sql");
/// Renews this worker's leases (`queue/heartbeat.sql`).
pub(crate) const HEARTBEAT_JOBS: &str = include_str!("../queries/queue/heartbeat.sql");
/// Locks jobs whose lease expired (`queue/stale.sql`).
pub(crate) const LOCK_STALE: &str = include_str!("../queries/queue/stale.sql");
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

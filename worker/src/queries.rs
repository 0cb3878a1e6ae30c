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
/// BENCHMARK ONLY: finishes attempts without audit rows
/// (`audit/finish_attempts_unaudited.sql`).
pub(crate) const FINISH_ATTEMPTS_UNAUDITED: &str =
    include_str!("../queries/audit/finish_attempts_unaudited.sql");

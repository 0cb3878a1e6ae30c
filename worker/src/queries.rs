//! Every SQL statement the runner runs, one named file each in `worker/queries/<area>/`,
//! checked at compile time: each call site runs its file through `sqlx::query_file!`,
//! `query_file_as!` or `query_file_scalar!`, so a statement that no longer matches the
//! schema (a column, a type, a parameter) fails the build, not a job.
//!
//! | File | Run by | Result |
//! |---|---|---|
//! | `queue/claim.sql` | `queue::claim::claim` (hot path) | `ClaimedJob` rows |
//! | `queue/next_due.sql` | `queue::claim::next_due` | `Option<StoredTime>` |
//! | `queue/release.sql` | `queue::claim::release` | rows affected |
//! | `queue/heartbeat.sql` | `queue::lease` heartbeat (hot path) | — |
//! | `queue/stale.sql` | `queue::lease::rescue_once`, expired leases (rescue) | `StaleJob` rows |
//! | `queue/left_by.sql` | `queue::lease::rescue_once`, a dead predecessor's jobs | `StaleJob` rows |
//! | `audit/finish_attempts.sql` | `audit::finisher::write_batch` (hot path) | applied job ids |
//! | `workers/register.sql` | `runtime` at start-up | — |
//! | `workers/register_job_type.sql` | `runtime` at start-up | — |
//! | `workers/heartbeat.sql` | `queue::lease` heartbeat | — |
//! | `workers/stopped.sql` | `runtime` at shutdown | — |
//! | `cron/enqueue_tick.sql` | `cron::scheduler` | the job id, when this worker won the tick |
//! | `cron/prune_ticks.sql` | `cron::scheduler` | — |
//! | `telemetry/insert_alert_event.sql` | `telemetry::alert` | — |
//! | `telemetry/queue_depth.sql` | `telemetry::scrape` | (queue, state, jobs) |
//! | `telemetry/heartbeat_ages.sql` | `telemetry::scrape` | (worker id, age) |
//!
//! Conventions the macros need, and nothing else (the hot-path statements keep their text
//! and so their plans):
//! - A stored time is decoded by [`StoredTime`](crate::stored_time::StoredTime), total over
//!   `'±infinity'`: the statement names the column `AS "run_at: StoredTime"`.
//! - A column the macros would make `Option` but cannot be NULL is named `AS "col!"`
//!   (a cast such as `payload::text`, `count(*)`, a `CASE` with a value in every branch).
//! - A parameter whose type PostgreSQL cannot infer from the statement is cast in it
//!   (`$2::timestamptz`).
//! - `finish_attempts.sql` binds borrowed arrays (`&str`, `Option`) with `as _`; the
//!   statement casts every array parameter to its type (`$3::text[]`).
//!
//! Nothing in this crate runs unchecked SQL. The offline data the build uses is
//! `worker/.sqlx/` (see the README, "Changing a query"; `scripts/sqlx-prepare`).

// Not yet compile-checked: the maintenance statements still run through `sqlx::query`.

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

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
//! | `telemetry/batch_progress.sql` | `telemetry::scrape` | (open batches, their members, succeeded, dead, cancelled) |
//! | `telemetry/heartbeat_ages.sql` | `telemetry::scrape` | (worker id, age) |
//! | `telemetry/paused_queues.sql` | `telemetry::scrape` | (queue, seconds paused) |
//! | `telemetry/flow_held.sql` | `telemetry::scrape` | (limit key, reason, held jobs) |
//! | `storage/tables.sql` | `telemetry::storage::sample` (metrics sampler, `herald stats`) | `TableStorage` rows |
//! | `storage/horizon.sql` | `telemetry::storage::sample` | (oldest transaction age, oldest xmin age in xids) |
//! | `storage/audit_partitions.sql` | `telemetry::storage::sample` | (partitions present, ahead) |
//! | `storage/last_pruning.sql` | `telemetry::storage::sample` | the newest completed run, if any |
//! | `maintenance/limit_locks.sql` | `maintenance::leader`, first in every maintenance transaction | — |
//! | `maintenance/lead.sql` | `maintenance::leader::lead` | the election time, when this worker leads |
//! | `maintenance/fence.sql` | `maintenance::leader::begin_fenced`, first in every pruning batch | the holder, when this worker still leads |
//! | `maintenance/resign.sql` | `maintenance::leader::resign` at shutdown | — |
//! | `maintenance/newest_run.sql` | `maintenance::runs::due` | (outcome, age in seconds) |
//! | `maintenance/start_run.sql` | `maintenance::runs::start` | `StartedRun` |
//! | `maintenance/record_batch.sql` | `maintenance::runs::record_batch`, in each batch | — |
//! | `maintenance/finish_run.sql` | `maintenance::runs::finish` | — |
//! | `maintenance/prune_jobs.sql` | `maintenance::prune`, one batch of one job state | `JobsBatchRow` |
//! | `maintenance/partition_plan.sql` | `maintenance::partitions::ensure`, before each partition it creates | (next job id, top bound, partitions ahead) |
//! | `maintenance/create_partition.sql` | `maintenance::partitions::ensure` | rows moved from the DEFAULT partition |
//! | `maintenance/closed_partitions.sql` | `maintenance::audit_trail`, once per run | (name, lower, upper) |
//! | `maintenance/prune_partition.sql` | `maintenance::audit_trail`, one closed partition | (action, removed, kept) |
//! | `maintenance/record_partition.sql` | `maintenance::audit_trail`, with each drop or compaction | — |
//! | `maintenance/prune_operator_actions.sql`, `prune_runs.sql` | `maintenance::prune` | rows deleted |
//!
//! Conventions the macros need, and nothing else (the hot-path statements keep their text
//! and so their plans):
//! - A stored time is decoded by [`StoredTime`](crate::stored_time::StoredTime), total over
//!   `'±infinity'`: the statement names the column `AS "run_at: StoredTime"`. Pruning
//!   binds the times it reads back as parameters (a run's `as_of`, a batch's scan
//!   position), so those stay `DateTime<Utc>` as they were before the statements were
//!   checked.
//! - A column the macros would make `Option` but cannot be NULL is named `AS "col!"`
//!   (a cast such as `payload::text`, `count(*)`, a `CASE` with a value in every branch).
//! - A parameter whose type PostgreSQL cannot infer from the statement is cast in it
//!   (`$2::timestamptz`).
//! - `finish_attempts.sql` binds borrowed arrays (`&str`, `Option`) with `as _`; the
//!   statement casts every array parameter to its type (`$3::text[]`).
//!
//! Nothing in this crate runs unchecked SQL. The offline data the build uses is
//! `worker/.sqlx/` (see the README, "Changing a query"; `scripts/sqlx-prepare`).

//! Every SQL statement the `herald` command runs (operator commands, stats, the demo), one
//! named file each in `herald/queries/<area>/`, checked at compile time: each call site
//! runs its file through `sqlx::query_file!`, `query_file_as!` or `query_file_scalar!`.
//! The runner's own statements are listed in `worker/src/queries.rs`.
//!
//! | File | Run by |
//! |---|---|
//! | `operator/select_jobs.sql`, `operator/count_jobs.sql` | `operator::filter` (every filtered command, the console) |
//! | `operator/replay.sql`, `cancel.sql`, `purge.sql` | `operator::apply`, one statement per batch (the CLI and the console) |
//! | `operator/job.sql`, `job_attempts.sql`, `job_actions.sql`, `job_workflow_events.sql` | `operator::job` (`herald jobs show`, the console) |
//! | `workflows/batch.sql`, `workflows/batch_jobs.sql` | `herald workflows show` |
//! | `operator/failures.sql` | `herald failures` |
//! | `operator/actions.sql` | `herald audit` |
//! | `operator/workers.sql` | `herald workers` |
//! | `operator/queues.sql` | `herald queues` |
//! | `limits/list.sql`, `limits/set.sql`, `limits/remove.sql` | `herald limits` |
//! | `stats/failure_rate.sql`, `stats/recent_alerts.sql` | `herald stats` |
//! | `cli/job_type.sql` | `herald enqueue`, for a type this binary does not know |
//! | `demo/*.sql` | the demo: its fresh database, its summary, its trail and alert |
//! | `console/*.sql` | `herald console`: users, sessions, the authentication audit and its throttle |
//! | `retention/preview.sql`, `retention/leader.sql`, `retention/runs.sql` | `herald retention` |
//!
//! The filters are static statements with optional parameters
//! (`($3::text IS NULL OR j.job_type = $3)`), so one checked statement serves every
//! combination of flags.
//!
//! Conventions the macros need (see `worker/src/queries.rs`): a stored time is named
//! `AS "col: StoredTime"` (total over `'±infinity'`), a column that cannot be NULL but is
//! an expression is named `AS "col!"`, and an array of borrowed `&str` is bound `as _`.
//! `job.sql`'s payload is read as text into `ShownPayload`.
//!
//! Nothing in this crate runs unchecked SQL. The offline data the build uses is
//! `herald/.sqlx/` (see the README, "Changing a query"; `scripts/sqlx-prepare`).

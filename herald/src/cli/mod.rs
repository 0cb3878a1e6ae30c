//! The `herald` command line: one file per command, each writing its output to an
//! injected writer so tests can read it.
//!
//! | command | what it does |
//! |---|---|
//! | `herald worker [--metrics-addr ADDR]` | runs the worker until SIGINT/SIGTERM (configuration: `config.rs`), serving `/metrics` on ADDR |
//! | `herald stats [--window 5m] [--json]` | the fleet-wide failure rate from the audit table |
//! | `herald migrate` | applies Herald's migrations (idempotent) |
//! | `herald enqueue <type> --payload <json\|@file\|->` | enqueues one job, printing its id |
//! | `herald demo` | the end-to-end demo (see `demo/`) |
//! | `herald jobs list [--after ID] [--count]` / `herald jobs show <ID>` | jobs by filter, a page at a time; one job and its timeline |
//! | `herald failures` | failed attempts grouped by fingerprint |
//! | `herald replay <ID>… \| <filter>` | dead/cancelled jobs run again with a fresh budget |
//! | `herald cancel <ID>… \| <filter>` | waiting jobs cancelled |
//! | `herald purge --older-than D` | finished jobs deleted (retention) |
//! | `herald retention [--runs N] [--json]` | the retention policy in force, the maintenance leader, what the next pruning run would remove, the last runs |
//! | `herald audit [--action alert]` | the operator-action log, with alert trips and resolves |
//! | `herald workers [--all]` | worker processes: host, pid, heartbeat age, queues, jobs in flight |
//! | `herald queues` | jobs by queue and state (pending, scheduled, running, retrying, dead) |
//!
//! Shared pieces: `filter.rs` (the job filter and its parsers), `action.rs` (what the
//! job-changing commands share), `batch.rs` (confirmation, batches, throttle, progress),
//! `table.rs` (text tables, JSON lines).
//!
//! Exit codes: 0 success, 1 the operation failed, 2 usage error (bad arguments, a
//! missing or malformed `DATABASE_URL`). Errors are one line on stderr, without
//! backtraces, SQL or passwords (`connect.rs` lists the database ones). Output closed by
//! its reader (`herald jobs list | head -1`) is not an error: exit 0, no message.

use std::io::Write;

use clap::{Parser, Subcommand};

pub(crate) use connect::{connect, connect_from_env, one_line};

use herald_worker::config::ConfigError;
use herald_worker::runtime::RunError;

pub(crate) mod action;
pub mod audit;
pub(crate) mod batch;
pub mod cancel;
mod connect;
pub mod enqueue;
pub mod failures;
pub mod filter;
pub mod jobs;
pub mod migrate;
pub mod purge;
pub mod queues;
pub mod replay;
pub mod retention;
pub mod stats;
pub(crate) mod table;
pub mod worker;
pub mod workers;

/// Herald: background jobs on PostgreSQL, with every failure classified and audited.
#[derive(Debug, Parser)]
#[command(name = "herald", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the worker until SIGINT or SIGTERM (configured by environment variables).
    Worker(worker::WorkerArgs),
    /// Apply Herald's database migrations (safe to run again).
    #[command(after_help = "Examples:
  DATABASE_URL=postgres://herald@db:5432/herald herald migrate")]
    Migrate,
    /// Enqueue one job and print its id.
    Enqueue(enqueue::EnqueueArgs),
    /// Show the fleet-wide failure rate over a window, from the audit table.
    Stats(stats::StatsArgs),
    /// Run the end-to-end demo: enqueue notification jobs, run them, show the audit.
    #[command(after_help = "Examples:
  herald demo
  herald demo --jobs 1000 --metrics-addr 127.0.0.1:9464")]
    Demo(crate::demo::DemoArgs),
    /// List jobs, or show one job with its full audit timeline.
    Jobs(jobs::JobsArgs),
    /// Failed attempts grouped by cause (fingerprint), most frequent first.
    Failures(failures::FailuresArgs),
    /// Run dead or cancelled jobs again with a fresh attempt budget (audited).
    Replay(replay::ReplayArgs),
    /// Cancel pending, scheduled or retrying jobs (audited).
    Cancel(cancel::CancelArgs),
    /// Delete finished jobs older than a retention period (audited).
    Purge(purge::PurgeArgs),
    /// The retention policy in force, the maintenance leader, what the next pruning run
    /// would remove, and the last runs.
    Retention(retention::RetentionArgs),
    /// The audit log: operator actions (who did what, when, why, to which jobs) and
    /// failure-rate alert trips and resolves, newest first.
    Audit(audit::AuditArgs),
    /// Live worker processes: host, pid, heartbeat age, queues, jobs in flight.
    Workers(workers::WorkersArgs),
    /// Jobs by queue and state (pending, scheduled, running, retrying, dead).
    Queues(queues::QueuesArgs),
}

impl Command {
    /// The log filter used when neither `HERALD_LOG` nor `RUST_LOG` is set.
    pub fn default_log_filter(&self) -> &'static str {
        match self {
            Self::Demo(_) => "warn",
            _ => "info",
        }
    }
}

/// A command failed; the message is one line for the user.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CliError {
    /// The arguments or configuration are unusable (exit code 2).
    #[error("{0}")]
    Usage(String),
    /// The operation failed (exit code 1).
    #[error("{0}")]
    Failed(String),
    /// Standard output was closed by its reader (`herald jobs list | head -1`): not a
    /// failure; the process ends quietly with exit code 0.
    #[error("output closed by its reader")]
    OutputClosed,
}

impl CliError {
    /// The process exit code: 2 for usage errors, 0 for closed output, 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Usage(_) => 2,
            Self::Failed(_) => 1,
            Self::OutputClosed => 0,
        }
    }
}

impl From<ConfigError> for CliError {
    fn from(e: ConfigError) -> Self {
        Self::Usage(e.to_string())
    }
}

impl From<RunError> for CliError {
    fn from(e: RunError) -> Self {
        Self::Failed(herald_worker::sanitize::sanitize(&e.to_string()))
    }
}

impl From<std::io::Error> for CliError {
    fn from(e: std::io::Error) -> Self {
        match e.kind() {
            std::io::ErrorKind::BrokenPipe => Self::OutputClosed,
            _ => Self::Failed(format!("cannot write output: {e}")),
        }
    }
}

/// Runs `cli`, writing user-facing output to `out`.
pub async fn run(cli: Cli, out: &mut (impl Write + Send)) -> Result<(), CliError> {
    match cli.command {
        Command::Worker(args) => worker::run(args).await,
        Command::Stats(args) => stats::run(args, out).await,
        Command::Migrate => migrate::run(out).await,
        Command::Enqueue(args) => enqueue::run(args, out).await,
        Command::Demo(args) => crate::demo::run(args, out).await,
        Command::Jobs(args) => jobs::run(args, out).await,
        Command::Failures(args) => failures::run(args, out).await,
        Command::Replay(args) => replay::run(args, out).await,
        Command::Cancel(args) => cancel::run(args, out).await,
        Command::Purge(args) => purge::run(args, out).await,
        Command::Retention(args) => retention::run(args, out).await,
        Command::Audit(args) => audit::run(args, out).await,
        Command::Workers(args) => workers::run(args, out).await,
        Command::Queues(args) => queues::run(args, out).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn usage_errors_exit_with_2_and_failures_with_1() {
        assert_eq!(CliError::Usage("x".into()).exit_code(), 2);
        assert_eq!(CliError::Failed("x".into()).exit_code(), 1);
    }

    #[test]
    fn output_closed_by_its_reader_is_a_quiet_success() {
        let closed = CliError::from(std::io::Error::from(std::io::ErrorKind::BrokenPipe));
        assert!(matches!(closed, CliError::OutputClosed));
        assert_eq!(closed.exit_code(), 0);
        let full = CliError::from(std::io::Error::from(std::io::ErrorKind::StorageFull));
        assert_eq!(full.exit_code(), 1);
    }
}

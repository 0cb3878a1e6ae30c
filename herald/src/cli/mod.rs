//! The `herald` command line: one file per command, each given a [`Context`] (the
//! environment it reads its configuration from, the database, its output streams), so
//! the operator tests run the commands in-process ([`main`]) and read their output.
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
//! | `herald queues` | queues: state (active/paused), jobs by state (pending, scheduled, running, retrying, dead), workers |
//! | `herald queues pause NAME --reason R` / `herald queues resume NAME` | stop / restart claiming from a queue fleet-wide (audited) |
//! | `herald console [--addr ADDR]` / `herald console add-user NAME --role R` | the web console and its JSON API (`console.rs`, serving `crate::console`) |
//! | `herald workflows show <ID> [--json]` | a batch or chain as a tree: members, callbacks, states, attempts, last errors |
//!
//! Shared pieces: `filter.rs` (the job filter and its parsers), `action.rs` (what the
//! job-changing commands share), `batch.rs` (confirmation, batches, throttle, progress),
//! `table.rs` (text tables, JSON lines).
//!
//! `context.rs` is what every command is given; `main.rs` builds it from the process.
//!
//! Exit codes: 0 success, 1 the operation failed, 2 usage error (bad arguments, a
//! missing or malformed `DATABASE_URL`). Errors are one line on stderr, without
//! backtraces, SQL or passwords (`connect.rs` lists the database ones). Output closed by
//! its reader (`herald jobs list | head -1`) is not an error: exit 0, no message. One
//! place turns a command's result into the exit code and that line: [`exit_code`].

use std::ffi::OsString;
use std::io::Write;

use clap::{Parser, Subcommand};

pub(crate) use connect::{connect, one_line};
pub use context::Context;

use herald_worker::config::ConfigError;
use herald_worker::runtime::RunError;

pub(crate) mod action;
pub mod audit;
pub(crate) mod batch;
pub mod cancel;
mod connect;
pub mod console;
mod context;
pub mod enqueue;
pub mod failures;
/// The job filter (`crate::operator::filter`, shared with the console).
pub use crate::operator::filter;
pub mod jobs;
pub mod limits;
pub mod migrate;
pub mod pause;
pub mod purge;
pub mod queues;
pub mod replay;
pub mod retention;
pub mod stats;
pub(crate) mod table;
pub mod worker;
pub mod workers;
pub mod workflows;

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
    /// Cancel jobs not started yet, or stop running ones (audited).
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
    /// Queues: state (active or paused), jobs by state, workers; `pause` and `resume`.
    Queues(queues::QueuesArgs),
    /// Fleet-wide flow limits per key (rate limits, concurrency caps): list, `set`,
    /// `remove` (audited).
    Limits(limits::LimitsArgs),
    /// Serve the web console and its JSON API, or add a console user.
    Console(console::ConsoleArgs),
    /// Workflows (batches with callbacks, chains) as trees: members, callbacks, states.
    Workflows(workflows::WorkflowsArgs),
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

impl From<crate::demo::DemoError> for CliError {
    fn from(e: crate::demo::DemoError) -> Self {
        let text = match &e {
            crate::demo::DemoError::Database(db) => one_line(db),
            other => other.to_string(),
        };
        Self::Failed(format!(
            "demo failed: {}",
            herald_worker::sanitize::sanitize(&text)
        ))
    }
}

impl From<RunError> for CliError {
    fn from(e: RunError) -> Self {
        Self::Failed(herald_worker::sanitize::sanitize(&e.to_string()))
    }
}

impl From<crate::operator::OperatorError> for CliError {
    fn from(e: crate::operator::OperatorError) -> Self {
        match e {
            crate::operator::OperatorError::Database(doing, db) => {
                Self::Failed(format!("cannot {doing}: {}", one_line(&db)))
            }
        }
    }
}

impl From<clap::Error> for CliError {
    /// A usage error as one line: clap's first paragraph (usage and tip dropped).
    fn from(e: clap::Error) -> Self {
        let text = e.render().to_string();
        let line: Vec<&str> = text
            .lines()
            .map(str::trim)
            .skip_while(|l| l.is_empty())
            .take_while(|l| !l.is_empty())
            .collect();
        Self::Usage(line.join(" ").trim_start_matches("error: ").to_owned())
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

/// Whether clap's "error" is help or a version to print rather than a usage error.
pub fn shows_help(e: &clap::Error) -> bool {
    use clap::error::ErrorKind;
    matches!(
        e.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    )
}

/// Runs the command `cli` with `ctx`, then closes the database connections it opened.
pub async fn run(cli: Cli, ctx: &mut Context<'_>) -> Result<(), CliError> {
    let result = match cli.command {
        Command::Worker(args) => worker::run(args, ctx).await,
        Command::Stats(args) => stats::run(args, ctx).await,
        Command::Migrate => migrate::run(ctx).await,
        Command::Enqueue(args) => enqueue::run(args, ctx).await,
        Command::Demo(args) => {
            let database_url = ctx.var("DATABASE_URL");
            Ok(crate::demo::run(args, database_url, &mut ctx.out).await?)
        }
        Command::Jobs(args) => jobs::run(args, ctx).await,
        Command::Failures(args) => failures::run(args, ctx).await,
        Command::Replay(args) => replay::run(args, ctx).await,
        Command::Cancel(args) => cancel::run(args, ctx).await,
        Command::Purge(args) => purge::run(args, ctx).await,
        Command::Retention(args) => retention::run(args, ctx).await,
        Command::Audit(args) => audit::run(args, ctx).await,
        Command::Workers(args) => workers::run(args, ctx).await,
        Command::Queues(args) => queues::run(args, ctx).await,
        Command::Limits(args) => limits::run(args, ctx).await,
        Command::Console(args) => console::run(args, ctx).await,
        Command::Workflows(args) => workflows::run(args, ctx).await,
    };
    ctx.close().await;
    result
}

/// The exit code of a command's `result`, writing a failure's one line
/// (`herald: MESSAGE`) to `ctx.err`. Output closed by its reader is a quiet success.
pub fn exit_code(result: Result<(), CliError>, ctx: &mut Context<'_>) -> u8 {
    match result {
        Ok(()) | Err(CliError::OutputClosed) => 0,
        Err(e) => {
            // Nothing is left to tell if stderr itself is gone; the exit code still says it.
            let _ = writeln!(ctx.err, "herald: {e}");
            e.exit_code()
        }
    }
}

/// `herald ARGS…` in this process (`args` start with the program name): parses them,
/// runs the command with `ctx` and returns the exit code, as the `herald` binary does
/// without its telemetry. Help and version are printed unstyled.
pub async fn main<I, T>(args: I, ctx: &mut Context<'_>) -> u8
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let result = match Cli::try_parse_from(args) {
        Ok(cli) => run(cli, ctx).await,
        Err(e) if shows_help(&e) => {
            let stream = if e.use_stderr() {
                &mut ctx.err
            } else {
                &mut ctx.out
            };
            return match write!(stream, "{}", e.render()) {
                Ok(()) => u8::try_from(e.exit_code()).unwrap_or(2),
                Err(io) => exit_code(Err(io.into()), ctx),
            };
        }
        Err(e) => Err(e.into()),
    };
    exit_code(result, ctx)
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

    /// Runs `args` in-process without a database; returns (exit code, stdout, stderr).
    async fn main_of(args: &[&str]) -> (u8, String, String) {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let mut ctx = Context::new(|_: &str| None, &mut out, &mut err);
        let code = main(args.iter().copied(), &mut ctx).await;
        drop(ctx);
        let text = |b: Vec<u8>| String::from_utf8_lossy(&b).into_owned();
        (code, text(out), text(err))
    }

    #[tokio::test]
    async fn in_process_main_prints_help_and_errors_where_the_binary_does() {
        let (code, out, err) = main_of(&["herald", "--version"]).await;
        assert_eq!((code, err.as_str()), (0, ""));
        assert!(out.starts_with("herald "), "{out}");
        let (code, out, err) = main_of(&["herald"]).await;
        assert_eq!((code, out.as_str()), (2, ""));
        assert!(err.contains("Usage: herald"), "{err}");
        let (code, out, err) = main_of(&["herald", "frobnicate"]).await;
        assert_eq!((code, out.as_str()), (2, ""));
        assert_eq!(err, "herald: unrecognized subcommand 'frobnicate'\n");
        let (code, out, err) = main_of(&["herald", "jobs", "list"]).await;
        assert_eq!((code, out.as_str()), (2, ""));
        assert_eq!(err, "herald: DATABASE_URL is not set\n");
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

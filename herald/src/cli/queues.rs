//! `herald queues [--json]`: each queue's state (`active`, or `paused` with since when, by
//! whom and why), how many jobs it holds in the states that need work or attention
//! (pending, scheduled, running, retrying, dead, and waiting: workflow callbacks and
//! chain steps not yet released), and how many live workers serve it.
//! Finished history is not counted, so the query stays cheap however long the history is
//! (`queries/operator/queues.sql`). `herald queues pause|resume` are in `pause.rs`.
//!
//! One [`QueueRow`] per queue; a later column (limits) is a field there, a column
//! in [`COLUMNS`] and a cell in [`QueueRow::cells`].

use clap::{Args, Subcommand};
use serde::Serialize;

use super::pause::{PauseArgs, ResumeArgs};
use super::table::{json_line, maybe_time, write_table};
use super::{CliError, Context, one_line};
use herald_worker::stored_time::StoredTime;

/// Arguments of `herald queues`.
#[derive(Debug, Args)]
#[command(
    args_conflicts_with_subcommands = true,
    after_help = r#"Examples:
  herald queues
  herald queues --json | jq 'select(.dead > 0)'
  herald queues pause partners --reason "partner API down"
  herald queues resume partners"#
)]
pub struct QueuesArgs {
    /// Pause or resume a queue (without one: list the queues).
    #[command(subcommand)]
    pub action: Option<QueuesAction>,
    /// One JSON object per line instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// `herald queues` subcommands.
#[derive(Debug, Subcommand)]
pub enum QueuesAction {
    /// Stop every worker claiming from a queue (running jobs finish; audited).
    Pause(PauseArgs),
    /// Let workers claim from a paused queue again (audited).
    Resume(ResumeArgs),
}

/// One queue in `queues --json` (field names are a stable contract; fields may be added).
#[derive(Debug, Serialize)]
pub struct QueueRow {
    queue: String,
    /// `active` or `paused`.
    state: String,
    pending: i64,
    scheduled: i64,
    running: i64,
    retrying: i64,
    dead: i64,
    /// Workflow callbacks and chain steps not yet released by their batch.
    waiting: i64,
    workers: i64,
    /// When the pause began (`null` when active).
    paused_at: Option<StoredTime>,
    /// Who paused it.
    paused_by: Option<String>,
    /// Why.
    pause_reason: Option<String>,
}

/// The table's headers, in the order of [`QueueRow::cells`].
const COLUMNS: [&str; 11] = [
    "QUEUE",
    "STATE",
    "PENDING",
    "SCHEDULED",
    "RUNNING",
    "RETRYING",
    "DEAD",
    "WAITING",
    "WORKERS",
    "PAUSED SINCE",
    "PAUSED BY (REASON)",
];

impl QueueRow {
    fn cells(&self) -> Vec<String> {
        let counts = [
            self.pending,
            self.scheduled,
            self.running,
            self.retrying,
            self.dead,
            self.waiting,
            self.workers,
        ];
        let mut cells = vec![self.queue.clone(), self.state.clone()];
        cells.extend(counts.iter().map(i64::to_string));
        cells.push(maybe_time(self.paused_at));
        cells.push(match (&self.paused_by, &self.pause_reason) {
            (Some(by), Some(why)) => format!("{by} ({why})"),
            _ => "-".to_owned(),
        });
        cells
    }
}

/// Prints the queues.
pub async fn run(args: QueuesArgs, ctx: &mut Context<'_>) -> Result<(), CliError> {
    match args.action {
        Some(QueuesAction::Pause(pause)) => return super::pause::pause(pause, ctx).await,
        Some(QueuesAction::Resume(resume)) => return super::pause::resume(resume, ctx).await,
        None => {}
    }
    let pool = ctx.pool().await?;
    let out = &mut ctx.out;
    let rows: Vec<QueueRow> = sqlx::query_file_as!(QueueRow, "queries/operator/queues.sql")
        .fetch_all(&pool)
        .await
        .map_err(|e| CliError::Failed(format!("cannot read queues: {}", one_line(&e))))?;
    if args.json {
        for row in &rows {
            json_line(out, row)?;
        }
        return Ok(());
    }
    let cells: Vec<Vec<String>> = rows.iter().map(QueueRow::cells).collect();
    write_table(out, &COLUMNS, &cells)?;
    Ok(())
}

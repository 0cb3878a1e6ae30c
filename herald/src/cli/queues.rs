//! `herald queues [--json]`: how many jobs each queue holds in the states that need work
//! or attention (pending, scheduled, running, retrying, dead), and how many live workers
//! serve it. Finished history is not counted, so the query stays cheap however long the
//! history is (`queries/operator/queues.sql`).
//!
//! One [`QueueRow`] per queue; a later column (pause, limits) is a field there, a column
//! in [`COLUMNS`] and a cell in [`QueueRow::cells`].

use clap::Args;
use serde::Serialize;

use super::table::{json_line, write_table};
use super::{CliError, Context, one_line};

/// Arguments of `herald queues`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  herald queues
  herald queues --json | jq 'select(.dead > 0)'")]
pub struct QueuesArgs {
    /// One JSON object per line instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// One queue in `queues --json` (field names are a stable contract; fields may be added).
#[derive(Debug, Serialize)]
pub struct QueueRow {
    queue: String,
    pending: i64,
    scheduled: i64,
    running: i64,
    retrying: i64,
    dead: i64,
    workers: i64,
}

/// The table's headers, in the order of [`QueueRow::cells`].
const COLUMNS: [&str; 7] = [
    "QUEUE",
    "PENDING",
    "SCHEDULED",
    "RUNNING",
    "RETRYING",
    "DEAD",
    "WORKERS",
];

impl QueueRow {
    fn cells(&self) -> Vec<String> {
        let counts = [
            self.pending,
            self.scheduled,
            self.running,
            self.retrying,
            self.dead,
            self.workers,
        ];
        let mut cells = vec![self.queue.clone()];
        cells.extend(counts.iter().map(i64::to_string));
        cells
    }
}

/// Prints the queues.
pub async fn run(args: QueuesArgs, ctx: &mut Context<'_>) -> Result<(), CliError> {
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

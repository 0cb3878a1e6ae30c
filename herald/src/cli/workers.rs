//! `herald workers [--all] [--json]`: the worker processes (`herald.workers`): id,
//! host and pid, when they started, how old their last heartbeat is, the queues they
//! run and how many jobs each holds running now. Live ones only unless `--all`.
//! A live worker whose heartbeat is older than the lease has probably died without
//! saying so; its jobs are rescued once their leases expire.

use clap::Args;
use serde::Serialize;

use super::table::{json_line, maybe_time, time, write_table};
use super::{CliError, Context, one_line};
use herald_worker::stored_time::StoredTime;

/// Arguments of `herald workers`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  herald workers
  herald workers --all --json")]
pub struct WorkersArgs {
    /// Also list stopped workers.
    #[arg(long)]
    pub all: bool,
    /// One JSON object per line instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// One worker in `workers --json` (field names are a stable contract).
#[derive(Debug, Serialize)]
pub struct WorkerRow {
    id: String,
    hostname: String,
    pid: i32,
    queues: Vec<String>,
    started_at: StoredTime,
    heartbeat_at: StoredTime,
    stopped_at: Option<StoredTime>,
    heartbeat_age_secs: f64,
    in_flight: i64,
}

/// Prints the workers.
pub async fn run(args: WorkersArgs, ctx: &mut Context<'_>) -> Result<(), CliError> {
    let pool = ctx.pool().await?;
    let out = &mut ctx.out;
    let rows: Vec<WorkerRow> =
        sqlx::query_file_as!(WorkerRow, "queries/operator/workers.sql", args.all)
            .fetch_all(&pool)
            .await
            .map_err(|e| CliError::Failed(format!("cannot read workers: {}", one_line(&e))))?;
    if args.json {
        for row in &rows {
            json_line(out, row)?;
        }
        return Ok(());
    }
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|w| {
            let mut cells = vec![
                w.id.clone(),
                w.hostname.clone(),
                w.pid.to_string(),
                w.started_at.shown(time),
                format!("{:.0}s", w.heartbeat_age_secs.max(0.0)),
                w.queues.join(","),
                w.in_flight.to_string(),
            ];
            if args.all {
                cells.push(maybe_time(w.stopped_at));
            }
            cells
        })
        .collect();
    let mut headers = vec![
        "ID",
        "HOST",
        "PID",
        "STARTED",
        "HEARTBEAT AGE",
        "QUEUES",
        "IN FLIGHT",
    ];
    if args.all {
        headers.push("STOPPED");
    }
    write_table(out, &headers, &cells)?;
    Ok(())
}

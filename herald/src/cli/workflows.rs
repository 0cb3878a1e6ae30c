//! `herald workflows show <ID>`: a batch (or a chain, from its first step's batch) as a
//! tree: its counters and events, each member's state, attempts and last error, each
//! callback's state (a held one with the record naming the dead upstream job, one a
//! cancel ended with the record naming the cancelled upstream job), and the
//! batch a callback is itself a member of (a chain's next step), nested below it.

use std::io::Write;

use clap::{Args, Subcommand};
use serde::Serialize;
use sqlx::PgPool;

use super::table::{json_line, maybe_time, text};
use super::{CliError, Context, one_line};
use herald_worker::stored_time::StoredTime;

/// How deep a chain is followed (each step is one level).
const MAX_DEPTH: usize = 1000;

/// Arguments of `herald workflows`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  herald workflows show 12
  herald workflows show 12 --json")]
pub struct WorkflowsArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: WorkflowsCommand,
}

/// The `herald workflows` subcommands.
#[derive(Debug, Subcommand)]
pub enum WorkflowsCommand {
    /// Show a batch (or a chain, by its first batch) as a tree: members, callbacks, states,
    /// attempts and last errors.
    Show {
        /// The batch id (what `enqueue_batch` / `herald.enqueue_batch()` returned).
        id: i64,
        /// One JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// A batch in the tree (`--json` field names are a stable contract).
#[derive(Debug, Serialize)]
pub struct BatchNode {
    id: i64,
    description: Option<String>,
    total: i32,
    succeeded: i32,
    dead: i32,
    /// Members cancelled by an operator (settled, never succeeded).
    cancelled: i32,
    created_at: StoredTime,
    completed_at: Option<StoredTime>,
    succeeded_at: Option<StoredTime>,
    died_at: Option<StoredTime>,
    members: Vec<JobNode>,
    callbacks: Vec<JobNode>,
}

/// A member or callback in the tree.
#[derive(Debug, Serialize)]
pub struct JobNode {
    id: i64,
    #[serde(rename = "type")]
    job_type: String,
    state: String,
    attempt: i32,
    max_attempts: i32,
    last_error_code: Option<String>,
    last_error: Option<String>,
    held: Option<String>,
    /// For a callback: the event it waits for.
    #[serde(rename = "on", skip_serializing_if = "Option::is_none")]
    role: Option<String>,
    /// For a callback that is itself a member of a batch (a chain's next step): that batch.
    #[serde(skip_serializing_if = "Option::is_none")]
    batch: Option<Box<BatchNode>>,
    #[serde(skip)]
    next_batch: Option<i64>,
}

struct BatchRow {
    id: i64,
    total: i32,
    succeeded: i32,
    dead: i32,
    cancelled: i32,
    description: Option<String>,
    created_at: StoredTime,
    completed_at: Option<StoredTime>,
    succeeded_at: Option<StoredTime>,
    died_at: Option<StoredTime>,
}

/// Runs `herald workflows …`.
pub async fn run(args: WorkflowsArgs, ctx: &mut Context<'_>) -> Result<(), CliError> {
    let pool = ctx.pool().await?;
    match args.command {
        WorkflowsCommand::Show { id, json } => {
            let Some(tree) = load(&pool, id, 0).await? else {
                return Err(CliError::Failed(format!("batch {id} not found")));
            };
            if json {
                json_line(&mut ctx.out, &tree)?;
            } else {
                write_batch(&mut ctx.out, &tree, 0)?;
            }
            Ok(())
        }
    }
}

async fn load(pool: &PgPool, id: i64, depth: usize) -> Result<Option<BatchNode>, CliError> {
    let read =
        |e: sqlx::Error| CliError::Failed(format!("cannot read batch {id}: {}", one_line(&e)));
    let Some(b) = sqlx::query_file_as!(BatchRow, "queries/workflows/batch.sql", id)
        .fetch_optional(pool)
        .await
        .map_err(read)?
    else {
        return Ok(None);
    };
    let jobs: Vec<JobNode> = sqlx::query_file!("queries/workflows/batch_jobs.sql", id)
        .fetch_all(pool)
        .await
        .map_err(read)?
        .into_iter()
        .map(|r| JobNode {
            id: r.id,
            job_type: r.job_type,
            state: r.state,
            attempt: r.attempt,
            max_attempts: r.max_attempts,
            last_error_code: r.last_error_code,
            last_error: r.last_error,
            held: r.held,
            role: r.role,
            batch: None,
            next_batch: r.next_batch,
        })
        .collect();
    let (mut callbacks, members): (Vec<JobNode>, Vec<JobNode>) =
        jobs.into_iter().partition(|j| j.role.is_some());
    if depth < MAX_DEPTH {
        for callback in &mut callbacks {
            if let Some(next) = callback.next_batch {
                callback.batch = Box::pin(load(pool, next, depth + 1)).await?.map(Box::new);
            }
        }
    }
    Ok(Some(BatchNode {
        id: b.id,
        description: b.description,
        total: b.total,
        succeeded: b.succeeded,
        dead: b.dead,
        cancelled: b.cancelled,
        created_at: b.created_at,
        completed_at: b.completed_at,
        succeeded_at: b.succeeded_at,
        died_at: b.died_at,
        members,
        callbacks,
    }))
}

fn write_batch(out: &mut impl Write, b: &BatchNode, depth: usize) -> std::io::Result<()> {
    let pad = "  ".repeat(depth);
    let label = b
        .description
        .as_deref()
        .map(|d| format!("  {:?}", text(d)))
        .unwrap_or_default();
    writeln!(
        out,
        "{pad}batch {}{label}  {} members: {} succeeded, {} dead, {} cancelled",
        b.id, b.total, b.succeeded, b.dead, b.cancelled
    )?;
    writeln!(
        out,
        "{pad}  complete {}  success {}  death {}",
        maybe_time(b.completed_at),
        maybe_time(b.succeeded_at),
        maybe_time(b.died_at)
    )?;
    for m in &b.members {
        write_job(out, &pad, "member", m)?;
    }
    for c in &b.callbacks {
        let role = format!("on {}", c.role.as_deref().unwrap_or("?"));
        write_job(out, &pad, &role, c)?;
        if let Some(next) = &c.batch {
            write_batch(out, next, depth + 2)?;
        }
    }
    Ok(())
}

fn write_job(out: &mut impl Write, pad: &str, role: &str, j: &JobNode) -> std::io::Result<()> {
    let error = match (&j.last_error_code, &j.last_error) {
        (Some(code), Some(message)) => format!("  {} {:?}", text(code), text(message)),
        (Some(code), None) => format!("  {}", text(code)),
        _ => String::new(),
    };
    let held = j
        .held
        .as_deref()
        .filter(|_| j.state == "waiting" || j.state == "cancelled")
        .map(|h| format!("  {}", text(h)))
        .unwrap_or_default();
    writeln!(
        out,
        "{pad}  {role:<12} job {}  {}  {}  attempts {}/{}{error}{held}",
        j.id,
        text(&j.job_type),
        text(&j.state),
        j.attempt,
        j.max_attempts
    )
}

//! `herald workflows show <ID>`: a batch (or a chain, from its first step's batch) as a
//! tree: its counters and events, each member's state, attempts and last error, each
//! callback's state (a held one with the record naming the dead upstream job, one a
//! cancel ended with the record naming the cancelled upstream job), and the
//! batch a callback is itself a member of (a chain's next step), nested below it.

use std::io::Write;

use clap::{Args, Subcommand};

use super::table::{json_line, maybe_time, text};
use super::{CliError, Context};
use crate::operator::workflow::{BatchNode, JobNode, load};

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

/// Runs `herald workflows …`.
pub async fn run(args: WorkflowsArgs, ctx: &mut Context<'_>) -> Result<(), CliError> {
    let pool = ctx.pool().await?;
    match args.command {
        WorkflowsCommand::Show { id, json } => {
            let Some(tree) = load(&pool, id).await? else {
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

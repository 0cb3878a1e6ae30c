//! `herald queues pause NAME --reason "…"` and `herald queues resume NAME`: stop and
//! restart claiming from a queue across the whole fleet.
//!
//! A pause is a row of `herald.queue_pauses`; every worker's claim statement probes it,
//! so a worker that missed the notification or started later cannot claim from a paused
//! queue. The row's trigger notifies the workers at commit: on a pause they give back
//! the jobs they claimed but have not started (without charge), on a resume idle workers
//! claim at once. Running jobs finish. Each command is ONE statement that changes the
//! state and records the operator action (`pause` / `resume`, actor, reason, the queue in
//! `filter`; `queries/queues/pause.sql`, `resume.sql`). Pausing a paused queue, or
//! resuming an active one, changes nothing, records nothing, and says so (exit 0).
//!
//! | command | needs | records |
//! |---|---|---|
//! | `pause NAME --reason R [--actor A]` | a valid queue name (it need not hold jobs yet), a non-empty reason | `pause`, reason R, `{"queue": NAME}` |
//! | `resume NAME [--reason R] [--actor A]` | a valid queue name | `resume`, `{"queue", "paused_at", "paused_by", "pause_reason"}` |

use std::io::Write;

use clap::Args;
use serde::Serialize;

use super::table::{json_line, text, time};
use super::{CliError, Context, one_line};
use herald_worker::sanitize::sanitize;
use herald_worker::stored_time::StoredTime;

/// Arguments of `herald queues pause`.
#[derive(Debug, Args)]
#[command(after_help = r#"Examples:
  herald queues pause partners --reason "partner API down, incident 4521"
  herald queues pause partners --reason "maintenance" --actor alice --json"#)]
pub struct PauseArgs {
    /// The queue to pause (it need not hold jobs yet).
    pub queue: String,
    /// Why (recorded in the audit log and shown by `herald queues`).
    #[arg(long)]
    pub reason: String,
    /// Who is acting (recorded in the audit log; default: the OS user).
    #[arg(long)]
    pub actor: Option<String>,
    /// One JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `herald queues resume`.
#[derive(Debug, Args)]
#[command(after_help = r#"Examples:
  herald queues resume partners
  herald queues resume partners --reason "partner API back" --json"#)]
pub struct ResumeArgs {
    /// The queue to resume.
    pub queue: String,
    /// Why (recorded in the audit log).
    #[arg(long)]
    pub reason: Option<String>,
    /// Who is acting (recorded in the audit log; default: the OS user).
    #[arg(long)]
    pub actor: Option<String>,
    /// One JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// The result of `pause`/`resume --json` (field names are a stable contract).
#[derive(Debug, Serialize)]
pub struct PauseReport {
    /// `pause` or `resume`.
    action: &'static str,
    queue: String,
    /// Whether the queue's state changed.
    changed: bool,
    /// The operator action recorded (`null` when nothing changed).
    action_id: Option<i64>,
    /// When the pause began (the one made, ended, or found in place); `null` for a
    /// resume of a queue that was not paused.
    paused_at: Option<StoredTime>,
    /// Who paused it (as for `paused_at`).
    paused_by: Option<String>,
}

/// The actor and the queue, checked; a usage error otherwise.
fn actor_and_queue(
    actor: Option<&str>,
    queue: &str,
    ctx: &Context<'_>,
) -> Result<String, CliError> {
    herald_jobs::rules::check_queue(queue).map_err(|e| CliError::Usage(e.to_string()))?;
    let actor = sanitize(actor.map_or_else(|| ctx.operator(), str::to_owned).trim());
    if actor.is_empty() {
        return Err(CliError::Usage("--actor must not be empty".to_owned()));
    }
    Ok(actor)
}

/// Pauses a queue fleet-wide.
pub async fn pause(args: PauseArgs, ctx: &mut Context<'_>) -> Result<(), CliError> {
    let actor = actor_and_queue(args.actor.as_deref(), &args.queue, ctx)?;
    let reason = sanitize(args.reason.trim());
    if reason.is_empty() {
        return Err(CliError::Usage(
            "pause needs a non-empty --reason \"...\"; nothing changed".to_owned(),
        ));
    }
    let pool = ctx.pool().await?;
    let failed = |e: sqlx::Error| CliError::Failed(format!("cannot pause: {}", one_line(&e)));
    let done = sqlx::query_file!("queries/queues/pause.sql", &args.queue, &actor, &reason)
        .fetch_optional(&pool)
        .await
        .map_err(failed)?;
    let report = match done {
        Some(row) => {
            tracing::info!(
                { action.id = row.action_id, action.kind = "pause", action.actor = %actor, queue = %args.queue },
                "operator action recorded"
            );
            PauseReport {
                action: "pause",
                queue: args.queue,
                changed: true,
                action_id: Some(row.action_id),
                paused_at: Some(row.paused_at),
                paused_by: Some(actor),
            }
        }
        None => {
            let current = sqlx::query_file!("queries/queues/pause_state.sql", &args.queue)
                .fetch_optional(&pool)
                .await
                .map_err(failed)?;
            PauseReport {
                action: "pause",
                queue: args.queue,
                changed: false,
                action_id: None,
                paused_at: current.as_ref().map(|c| c.paused_at),
                paused_by: current.map(|c| c.paused_by),
            }
        }
    };
    print(report, args.json, ctx)
}

/// Resumes a paused queue fleet-wide.
pub async fn resume(args: ResumeArgs, ctx: &mut Context<'_>) -> Result<(), CliError> {
    let actor = actor_and_queue(args.actor.as_deref(), &args.queue, ctx)?;
    let reason = args
        .reason
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(sanitize);
    let pool = ctx.pool().await?;
    let done = sqlx::query_file!("queries/queues/resume.sql", &args.queue, &actor, reason)
        .fetch_optional(&pool)
        .await
        .map_err(|e| CliError::Failed(format!("cannot resume: {}", one_line(&e))))?;
    if let Some(row) = &done {
        tracing::info!(
            { action.id = row.action_id, action.kind = "resume", action.actor = %actor, queue = %args.queue },
            "operator action recorded"
        );
    }
    let report = PauseReport {
        action: "resume",
        queue: args.queue,
        changed: done.is_some(),
        action_id: done.as_ref().map(|r| r.action_id),
        paused_at: done.as_ref().map(|r| r.paused_at),
        paused_by: done.map(|r| r.paused_by),
    };
    print(report, args.json, ctx)
}

fn print(report: PauseReport, json: bool, ctx: &mut Context<'_>) -> Result<(), CliError> {
    let out = &mut ctx.out;
    if json {
        return Ok(json_line(out, &report)?);
    }
    let queue = text(&report.queue);
    let since = report.paused_at.map_or_else(String::new, |t| t.shown(time));
    let by = report.paused_by.as_deref().map(text).unwrap_or_default();
    let line = match (report.action, report.action_id) {
        ("pause", Some(id)) => format!("paused queue {queue} (action {id})"),
        ("pause", None) => {
            format!("queue {queue} is already paused since {since} by {by}: left alone")
        }
        (_, Some(id)) => {
            format!("resumed queue {queue}, paused since {since} by {by} (action {id})")
        }
        (_, None) => format!("queue {queue} is not paused: left alone"),
    };
    writeln!(out, "{line}")?;
    Ok(())
}

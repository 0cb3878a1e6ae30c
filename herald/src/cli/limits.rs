//! `herald limits [--json]`, `herald limits set KEY ...`, `herald limits remove KEY`:
//! fleet-wide rate limits and concurrency caps per key, enforced by every worker's claim
//! statement (`herald.flow_limits`; see `migrations/20261214000200_create_flow_limits.sql`).
//!
//! A limit's key matches a job whose type is the key (`notify.email`) or whose flow key is
//! (`hooks.example.com`: a webhook's destination; a tenant, set by `Job::flow_key`). A job
//! over its limit is not claimed: it waits in the queue, is never failed for it, and
//! `herald jobs show` says why it waits.
//!
//! | command | needs | records |
//! |---|---|---|
//! | `set KEY [--rate R [--burst B]] [--max-running N] --reason W [--actor A]` | a rate (> 0 jobs a second; burst default: the rate rounded up) or a cap (≥ 1), or both | `limit_set`, `{key, rate, burst, max_running, previous}` |
//! | `remove KEY --reason W [--actor A]` | a key with a limit | `limit_remove`, the removed settings |
//!
//! Each command is ONE statement that changes the limit and records the operator action
//! (`queries/limits/set.sql`, `remove.sql`); the table's trigger wakes every worker.

use clap::{Args, Subcommand};
use serde::Serialize;

use super::table::{json_line, maybe_time, text, write_table};
use super::{CliError, Context, one_line};
use herald_worker::sanitize::sanitize;
use herald_worker::stored_time::StoredTime;

/// Arguments of `herald limits`.
#[derive(Debug, Args)]
#[command(
    args_conflicts_with_subcommands = true,
    after_help = r#"Examples:
  herald limits
  herald limits set hooks.example.com --rate 10 --reason "partner allows 10/s"
  herald limits set notify.email --rate 10 --burst 20 --reason "relay quota"
  herald limits set tenant-42 --max-running 5 --reason "fair share"
  herald limits remove hooks.example.com --reason "limit lifted""#
)]
pub struct LimitsArgs {
    /// Set or remove a limit (without one: list the limits).
    #[command(subcommand)]
    pub action: Option<LimitsAction>,
    /// One JSON object per line instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// `herald limits` subcommands.
#[derive(Debug, Subcommand)]
pub enum LimitsAction {
    /// Set (or replace) the limit of a key, fleet-wide (audited).
    Set(SetArgs),
    /// Remove the limit of a key (audited).
    Remove(RemoveArgs),
}

/// Arguments of `herald limits set`.
#[derive(Debug, Args)]
pub struct SetArgs {
    /// A job type or a flow key (e.g. a webhook's `host[:port]`).
    pub key: String,
    /// Jobs per second started across the fleet.
    #[arg(long)]
    pub rate: Option<f64>,
    /// Jobs that may start at once after a quiet spell (default: the rate rounded up).
    #[arg(long, requires = "rate")]
    pub burst: Option<u32>,
    /// Jobs running at once across the fleet.
    #[arg(long)]
    pub max_running: Option<u32>,
    /// Why (recorded in the audit log and shown by `herald limits`).
    #[arg(long)]
    pub reason: String,
    /// Who is acting (default: the OS user).
    #[arg(long)]
    pub actor: Option<String>,
}

/// Arguments of `herald limits remove`.
#[derive(Debug, Args)]
pub struct RemoveArgs {
    /// The key whose limit goes.
    pub key: String,
    /// Why (recorded in the audit log).
    #[arg(long)]
    pub reason: String,
    /// Who is acting (default: the OS user).
    #[arg(long)]
    pub actor: Option<String>,
}

/// One limit in `limits --json` (field names are a stable contract; fields may be added).
#[derive(Debug, Serialize)]
pub struct LimitRow {
    key: String,
    /// Jobs per second (`null`: no rate limit).
    rate: Option<f64>,
    /// Bucket size.
    burst: Option<i32>,
    /// Cap on running jobs (`null`: none).
    max_running: Option<i32>,
    /// Running jobs counted under the cap.
    running: i32,
    /// Tokens in the bucket now.
    tokens: Option<f64>,
    /// `rate` or `cap` while it holds jobs back, else `null`.
    holding: Option<String>,
    /// Runnable jobs it applies to.
    waiting: i64,
    set_at: StoredTime,
    set_by: String,
    reason: String,
}

const COLUMNS: [&str; 8] = [
    "KEY",
    "RATE",
    "CAP",
    "RUNNING",
    "HOLDING",
    "WAITING",
    "SET",
    "BY (REASON)",
];

impl LimitRow {
    fn cells(&self) -> Vec<String> {
        let dash = || "-".to_owned();
        vec![
            text(&self.key),
            match (self.rate, self.burst) {
                (Some(r), Some(b)) => format!("{r}/s (burst {b})"),
                _ => dash(),
            },
            self.max_running.map_or_else(dash, |n| n.to_string()),
            self.running.to_string(),
            self.holding.clone().unwrap_or_else(dash),
            self.waiting.to_string(),
            maybe_time(Some(self.set_at)),
            format!("{} ({})", text(&self.set_by), text(&self.reason)),
        ]
    }
}

/// Runs `herald limits`.
pub async fn run(args: LimitsArgs, ctx: &mut Context<'_>) -> Result<(), CliError> {
    match args.action {
        Some(LimitsAction::Set(set_args)) => set(set_args, ctx).await,
        Some(LimitsAction::Remove(remove_args)) => remove(remove_args, ctx).await,
        None => list(args.json, ctx).await,
    }
}

async fn list(json: bool, ctx: &mut Context<'_>) -> Result<(), CliError> {
    let pool = ctx.pool().await?;
    let rows: Vec<LimitRow> = sqlx::query_file_as!(LimitRow, "queries/limits/list.sql")
        .fetch_all(&pool)
        .await
        .map_err(|e| CliError::Failed(format!("cannot read limits: {}", one_line(&e))))?;
    let out = &mut ctx.out;
    if json {
        for row in &rows {
            json_line(out, row)?;
        }
        return Ok(());
    }
    let cells: Vec<Vec<String>> = rows.iter().map(LimitRow::cells).collect();
    write_table(out, &COLUMNS, &cells)?;
    Ok(())
}

/// The key, actor and reason, checked; a usage error otherwise.
fn checked(
    key: &str,
    actor: Option<&str>,
    reason: &str,
    ctx: &Context<'_>,
) -> Result<(String, String), CliError> {
    herald_jobs::rules::check_flow_key(key).map_err(|e| CliError::Usage(e.to_string()))?;
    let actor = sanitize(actor.map_or_else(|| ctx.operator(), str::to_owned).trim());
    if actor.is_empty() {
        return Err(CliError::Usage("--actor must not be empty".to_owned()));
    }
    let reason = sanitize(reason.trim());
    if reason.is_empty() {
        return Err(CliError::Usage(
            "--reason must not be empty; nothing changed".to_owned(),
        ));
    }
    Ok((actor, reason))
}

/// A limit's stored settings, checked.
struct Settings {
    rate: Option<f64>,
    burst: Option<i32>,
    cap: Option<i32>,
}

/// The settings `args` ask for, each checked; a usage error otherwise.
fn settings(args: &SetArgs) -> Result<Settings, CliError> {
    let usage = |m: &str| Err(CliError::Usage(format!("{m}; nothing changed")));
    if args.rate.is_none() && args.max_running.is_none() {
        return usage("a limit needs --rate or --max-running (or both)");
    }
    let rate = match args.rate {
        Some(r) if !(r.is_finite() && r > 0.0 && r < 1e9) => {
            return usage("--rate must be a number of jobs per second above 0");
        }
        r => r,
    };
    let burst = match (rate, args.burst) {
        (None, _) => None,
        (Some(_), Some(0)) => return usage("--burst must be at least 1"),
        (Some(_), Some(b)) => Some(b),
        // One second's worth, at least one job.
        (Some(r), None) => Some(r.ceil().max(1.0) as u32),
    };
    let burst = burst.map(|b| i32::try_from(b).unwrap_or(i32::MAX));
    let cap = match args.max_running {
        Some(0) => return usage("--max-running must be at least 1"),
        n => n.map(|n| i32::try_from(n).unwrap_or(i32::MAX)),
    };
    Ok(Settings { rate, burst, cap })
}

async fn set(args: SetArgs, ctx: &mut Context<'_>) -> Result<(), CliError> {
    let (actor, reason) = checked(&args.key, args.actor.as_deref(), &args.reason, ctx)?;
    let Settings { rate, burst, cap } = settings(&args)?;
    let pool = ctx.pool().await?;
    let action_id = sqlx::query_file_scalar!(
        "queries/limits/set.sql",
        &args.key,
        rate,
        burst,
        cap,
        &actor,
        &reason
    )
    .fetch_one(&pool)
    .await
    .map_err(|e| CliError::Failed(format!("cannot set the limit: {}", one_line(&e))))?;
    tracing::info!(
        { action.id = action_id, action.kind = "limit_set", action.actor = %actor, limit.key = %args.key },
        "operator action recorded"
    );
    let rate_text = match (rate, burst) {
        (Some(r), Some(b)) => format!(" rate {r}/s (burst {b})"),
        _ => String::new(),
    };
    let cap_text = cap.map_or_else(String::new, |n| format!(" cap {n} running"));
    writeln!(
        ctx.out,
        "limit {}:{rate_text}{cap_text} (action {action_id})",
        text(&args.key)
    )?;
    Ok(())
}

async fn remove(args: RemoveArgs, ctx: &mut Context<'_>) -> Result<(), CliError> {
    let (actor, reason) = checked(&args.key, args.actor.as_deref(), &args.reason, ctx)?;
    let pool = ctx.pool().await?;
    let action_id =
        sqlx::query_file_scalar!("queries/limits/remove.sql", &args.key, &actor, &reason)
            .fetch_optional(&pool)
            .await
            .map_err(|e| CliError::Failed(format!("cannot remove the limit: {}", one_line(&e))))?;
    let key = text(&args.key);
    match action_id {
        Some(id) => {
            tracing::info!(
                { action.id = id, action.kind = "limit_remove", action.actor = %actor, limit.key = %args.key },
                "operator action recorded"
            );
            writeln!(ctx.out, "removed the limit of {key} (action {id})")?;
        }
        None => writeln!(ctx.out, "{key} has no limit: left alone")?,
    }
    Ok(())
}

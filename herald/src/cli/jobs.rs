//! `herald jobs list` (a filtered table, or JSON lines) and `herald jobs show <ID>` (the
//! job, its payload redacted, and its timeline: every attempt and every operator action
//! on it, oldest first).

use std::io::Write;

use clap::{Args, Subcommand};
use sqlx::PgPool;

use super::filter::{self, JobFilter};
use super::table::{json_line, maybe_time, page_footer, text, time, write_table};
use super::{CliError, Context};
pub use crate::operator::job::JobJson;
use crate::operator::job::{self, Entry, JobDetail, Shown};

/// Arguments of `herald jobs`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  herald jobs list --state dead --since 2h
  herald jobs list --after 1200 --limit 50
  herald jobs show 4182")]
pub struct JobsArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: JobsCommand,
}

/// The `herald jobs` subcommands.
#[derive(Debug, Subcommand)]
pub enum JobsCommand {
    /// List jobs, newest first (all states unless --state; at most 100 unless --limit).
    ///
    /// A page ends with the cursor for the next one (`--after ID`, fast on any table);
    /// `--count` adds how many jobs match in all, which reads every one of them.
    List {
        /// Which jobs.
        #[command(flatten)]
        filter: JobFilter,
        /// Continue after this job: only ids below it (the last id of the previous page).
        #[arg(long, value_name = "ID")]
        after: Option<i64>,
        /// Also say how many jobs match in all (reads every match: slow on huge tables).
        #[arg(long, conflicts_with = "json")]
        count: bool,
        /// One JSON object per line instead of a table (page with --after the last id).
        #[arg(long)]
        json: bool,
    },
    /// Show one job, its payload (secrets redacted) and its full audit timeline.
    Show {
        /// The job id.
        id: i64,
        /// One JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// How many jobs `jobs list` shows without `--limit`.
const DEFAULT_LIST_LIMIT: u32 = 100;

/// Runs `herald jobs …`.
pub async fn run(args: JobsArgs, ctx: &mut Context<'_>) -> Result<(), CliError> {
    let pool = ctx.pool().await?;
    let out = &mut ctx.out;
    match args.command {
        JobsCommand::List {
            filter,
            after,
            count,
            json,
        } => {
            let page = Page { after, count, json };
            list(&pool, &filter, page, out).await
        }
        JobsCommand::Show { id, json } => show(&pool, id, json, out).await,
    }
}

/// How `jobs list` pages and reports.
struct Page {
    after: Option<i64>,
    count: bool,
    json: bool,
}

async fn list(
    pool: &PgPool,
    filter: &JobFilter,
    page: Page,
    out: &mut impl Write,
) -> Result<(), CliError> {
    let limit = filter.limit.unwrap_or(DEFAULT_LIST_LIMIT);
    // One more than shown says whether another page follows.
    let mut fetch = filter.clone();
    fetch.limit = Some(limit.saturating_add(1));
    let mut rows = filter::select_page(pool, None, &fetch, &filter.state, page.after).await?;
    let more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    if page.json {
        for row in &rows {
            json_line(out, &JobJson::from(row))?;
        }
        return Ok(());
    }
    let total = match page.count {
        true => Some(filter::count(pool, filter, &filter.state).await?),
        false => None,
    };
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                r.id.to_string(),
                r.job_type.clone(),
                r.queue.clone(),
                r.state.clone(),
                format!("{}/{}", r.attempt, r.max_attempts),
                r.run_at.shown(time),
                r.last_error_code.clone().unwrap_or_else(|| "-".into()),
                r.fingerprint().unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    write_table(
        out,
        &[
            "ID",
            "TYPE",
            "QUEUE",
            "STATE",
            "ATTEMPTS",
            "RUN AT",
            "LAST ERROR",
            "FINGERPRINT",
        ],
        &cells,
    )?;
    if let Some(line) = page_footer(
        rows.len(),
        rows.last().map(|r| r.id).filter(|_| more),
        total,
    ) {
        writeln!(out, "{line}")?;
    }
    Ok(())
}

async fn show(pool: &PgPool, id: i64, json: bool, out: &mut impl Write) -> Result<(), CliError> {
    let Some(Shown { job, timeline, .. }) = job::load(pool, id).await? else {
        return Err(CliError::Failed(format!("job {id} not found")));
    };
    if json {
        let doc = serde_json::json!({ "id": id, "job": job, "timeline": timeline });
        json_line(out, &doc)?;
        return Ok(());
    }
    write_job(out, id, job.as_ref())?;
    writeln!(out, "timeline:")?;
    for entry in &timeline {
        write_entry(out, entry)?;
    }
    Ok(())
}

fn write_job(out: &mut impl Write, id: i64, job: Option<&JobDetail>) -> std::io::Result<()> {
    let Some(j) = job else {
        return writeln!(
            out,
            "job {id} no longer exists (purged); its audit trail remains"
        );
    };
    writeln!(
        out,
        "job {}  {}  queue {}  {}",
        j.id,
        text(&j.job_type),
        text(&j.queue),
        text(&j.state)
    )?;
    writeln!(
        out,
        "attempts {}/{}  priority {}  run at {}  created {}  finished {}",
        j.attempt,
        j.max_attempts,
        j.priority,
        j.run_at.shown(time),
        j.created_at.shown(time),
        maybe_time(j.finished_at)
    )?;
    if let Some(worker) = &j.locked_by {
        writeln!(out, "running on {}", text(worker))?;
    }
    if let Some(held) = &j.held {
        writeln!(out, "held: {}", text(held))?;
    }
    if let Some(key) = &j.idempotency_key {
        writeln!(
            out,
            "idempotency key {}",
            herald_worker::sanitize::sanitize(key)
        )?;
    }
    writeln!(out, "payload {}", text(&j.payload.0.to_string()))
}

fn write_entry(out: &mut impl Write, entry: &Entry) -> std::io::Result<()> {
    match entry {
        Entry::Attempt(a) => {
            let error = match (&a.error_code, &a.error_class) {
                (Some(code), Some(class)) => format!("  {} ({})", text(code), text(class)),
                (Some(code), None) => format!("  {}", text(code)),
                _ => String::new(),
            };
            let message = a
                .message
                .as_deref()
                .map(|m| format!("  {m:?}"))
                .unwrap_or_default();
            let trace = a
                .trace_id
                .as_deref()
                .map(|t| format!("  trace {}", text(t)))
                .unwrap_or_default();
            writeln!(
                out,
                "  {}  attempt {}  {}  worker {}  {} ms{error}{message}{trace}",
                a.started_at.shown(time),
                a.attempt,
                text(&a.outcome),
                text(&a.worker_id),
                a.duration_ms
            )?;
            // The full cause chain, when it says more than the message.
            match a.error_chain.as_deref() {
                Some(chain) if Some(chain) != a.message.as_deref() => {
                    writeln!(out, "      cause: {}", text(chain))
                }
                _ => Ok(()),
            }
        }
        Entry::Action(a) => {
            let reason = a
                .reason
                .as_deref()
                .map(|r| format!("  reason {r:?}"))
                .unwrap_or_default();
            writeln!(
                out,
                "  {}  {} by {} (action {}){reason}",
                a.at.shown(time),
                text(&a.action),
                text(&a.actor),
                a.id
            )
        }
        Entry::Workflow(w) => writeln!(
            out,
            "  {}  {} (batch {}, upstream job {} {})  {}",
            w.at.shown(time),
            text(&w.event),
            w.batch_id,
            w.upstream_job_id,
            text(w.upstream_error_code.as_deref().unwrap_or("-")),
            text(&w.message)
        ),
    }
}

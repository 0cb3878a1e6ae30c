//! `herald jobs list` (a filtered table, or JSON lines) and `herald jobs show <ID>` (the
//! job, its payload redacted, and its timeline: every attempt and every operator action
//! on it, oldest first).

use std::io::Write;

use clap::{Args, Subcommand};
use serde::Serialize;
use sqlx::PgPool;

use super::filter::{self, JobFilter, JobRow};
use super::table::{json_line, maybe_time, page_footer, text, time, write_table};
use super::{CliError, Context, one_line};
use herald_worker::sanitize::sanitize_json;
use herald_worker::stored_time::StoredTime;

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

/// A job in `jobs list --json` (field names are a stable contract).
#[derive(Debug, Serialize)]
pub struct JobJson {
    id: i64,
    #[serde(rename = "type")]
    job_type: String,
    queue: String,
    state: String,
    attempt: i32,
    max_attempts: i32,
    priority: i16,
    run_at: StoredTime,
    created_at: StoredTime,
    finished_at: Option<StoredTime>,
    last_error_code: Option<String>,
    fingerprint: Option<String>,
}

impl From<&JobRow> for JobJson {
    fn from(r: &JobRow) -> Self {
        Self {
            id: r.id,
            job_type: r.job_type.clone(),
            queue: r.queue.clone(),
            state: r.state.clone(),
            attempt: r.attempt,
            max_attempts: r.max_attempts,
            priority: r.priority,
            run_at: r.run_at,
            created_at: r.created_at,
            finished_at: r.finished_at,
            last_error_code: r.last_error_code.clone(),
            fingerprint: r.fingerprint(),
        }
    }
}

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

#[derive(Debug, Serialize)]
struct JobDetail {
    id: i64,
    #[serde(rename = "type")]
    job_type: String,
    queue: String,
    state: String,
    attempt: i32,
    max_attempts: i32,
    priority: i16,
    run_at: StoredTime,
    created_at: StoredTime,
    finished_at: Option<StoredTime>,
    last_error_code: Option<String>,
    locked_by: Option<String>,
    idempotency_key: Option<String>,
    payload: ShownPayload,
}

/// A payload as `jobs show` prints it: redacted JSON, or, for text that cannot be read
/// back as a JSON value (nested deeper than serde_json's 128 levels: the worker runs
/// such jobs from their text, but they cannot be redacted structurally), a note saying
/// so instead of failing the whole command.
#[derive(Debug, Serialize)]
#[serde(transparent)]
struct ShownPayload(serde_json::Value);

/// Read from the payload's text (`job.sql` selects `payload::text`).
impl sqlx::Type<sqlx::Postgres> for ShownPayload {
    fn type_info() -> sqlx::postgres::PgTypeInfo {
        <String as sqlx::Type<sqlx::Postgres>>::type_info()
    }
}

impl<'r> sqlx::Decode<'r, sqlx::Postgres> for ShownPayload {
    fn decode(value: sqlx::postgres::PgValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
        <String as sqlx::Decode<sqlx::Postgres>>::decode(value).map(Self::from)
    }
}

impl From<String> for ShownPayload {
    fn from(text: String) -> Self {
        match serde_json::from_str::<serde_json::Value>(&text) {
            Ok(value) => Self(sanitize_json(&value)),
            Err(e) => Self(serde_json::Value::String(format!(
                "[payload not shown: {} bytes that cannot be read as a JSON value to redact ({})]",
                text.len(),
                herald_worker::sanitize::sanitize(&e.to_string())
            ))),
        }
    }
}

#[derive(Debug, Serialize)]
struct AttemptEntry {
    attempt: i32,
    worker_id: String,
    started_at: StoredTime,
    finished_at: StoredTime,
    duration_ms: i32,
    outcome: String,
    job_state: String,
    error_code: Option<String>,
    error_class: Option<String>,
    message: Option<String>,
    next_run_at: Option<StoredTime>,
    trace_id: Option<String>,
    error_chain: Option<String>,
}

#[derive(Debug, Serialize)]
struct ActionEntry {
    #[serde(rename = "action_id")]
    id: i64,
    at: StoredTime,
    actor: String,
    action: String,
    reason: Option<String>,
}

/// One entry of a job's timeline in `jobs show --json`, tagged by `kind`.
#[derive(Debug, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Entry {
    Attempt(AttemptEntry),
    Action(ActionEntry),
    Workflow(WorkflowEntry),
}

/// A workflow record (`herald.workflow_events`): what happened to the job because of
/// another job, e.g. `held` by a dead batch member or chain step.
#[derive(Debug, Serialize)]
struct WorkflowEntry {
    at: StoredTime,
    event: String,
    batch_id: i64,
    upstream_job_id: i64,
    upstream_error_code: Option<String>,
    message: String,
}

impl Entry {
    fn at(&self) -> StoredTime {
        match self {
            Self::Attempt(a) => a.started_at,
            Self::Action(a) => a.at,
            Self::Workflow(w) => w.at,
        }
    }
}

async fn show(pool: &PgPool, id: i64, json: bool, out: &mut impl Write) -> Result<(), CliError> {
    let read = |e: sqlx::Error| CliError::Failed(format!("cannot read job {id}: {}", one_line(&e)));
    let job: Option<JobDetail> = sqlx::query_file_as!(JobDetail, "queries/operator/job.sql", id)
        .fetch_optional(pool)
        .await
        .map_err(read)?;
    let attempts: Vec<AttemptEntry> =
        sqlx::query_file_as!(AttemptEntry, "queries/operator/job_attempts.sql", id)
            .fetch_all(pool)
            .await
            .map_err(read)?;
    let actions: Vec<ActionEntry> =
        sqlx::query_file_as!(ActionEntry, "queries/operator/job_actions.sql", id)
            .fetch_all(pool)
            .await
            .map_err(read)?;
    let workflow: Vec<WorkflowEntry> = sqlx::query_file_as!(
        WorkflowEntry,
        "queries/operator/job_workflow_events.sql",
        id
    )
    .fetch_all(pool)
    .await
    .map_err(read)?;
    if job.is_none() && attempts.is_empty() && actions.is_empty() && workflow.is_empty() {
        return Err(CliError::Failed(format!("job {id} not found")));
    }
    let mut timeline: Vec<Entry> = attempts.into_iter().map(Entry::Attempt).collect();
    timeline.extend(actions.into_iter().map(Entry::Action));
    timeline.extend(workflow.into_iter().map(Entry::Workflow));
    // Stable: equal times keep attempts before actions.
    timeline.sort_by_key(Entry::at);
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

//! `herald enqueue <type> --payload <json>`: enqueues one job and prints its id.
//!
//! The type must be registered with this `herald` binary (its payload is then decoded
//! and validated exactly as the worker will) or recorded in `herald.job_types` by some
//! worker (then only "is a JSON object" is checked). Payloads over
//! `HERALD_MAX_PAYLOAD_BYTES` are rejected. A rejected payload is reported and nothing
//! is enqueued.
//!
//! `--payload` takes the JSON itself, `@FILE` (read from a file) or `-` (read from
//! stdin): a payload near the 256 KiB limit does not fit the shell's argument limit.

use std::io::Write;
use std::time::Duration;

use chrono::{DateTime, Utc};
use clap::Args;
use herald_jobs::enqueue::{EnqueueError, NewJob, enqueue};

use super::{CliError, connect, one_line};
use crate::config::{WorkerConfig, parse_duration};

/// Arguments of `herald enqueue`.
#[derive(Debug, Args)]
#[command(after_help = r#"Examples:
  herald enqueue notify.webhook --payload '{"url":"https://hooks.example.com/orders","body":{"id":1}}'
  herald enqueue notify.webhook --payload @order.json --delay 5m --idempotency-key order-1
  jq -c . order.json | herald enqueue notify.webhook --payload -"#)]
pub struct EnqueueArgs {
    /// The job type, e.g. `notify.webhook`.
    pub job_type: String,
    /// The payload: a JSON object, `@FILE` to read it from a file, or `-` for stdin.
    #[arg(long, value_name = "JSON|@FILE|-")]
    pub payload: String,
    /// Run no earlier than this RFC 3339 time (e.g. 2026-12-01T09:00:00Z).
    #[arg(long, value_parser = parse_time, conflicts_with = "delay")]
    pub run_at: Option<DateTime<Utc>>,
    /// Run after this delay (e.g. 30s, 5m).
    #[arg(long, value_parser = parse_delay)]
    pub delay: Option<Duration>,
    /// Attempt budget (default: the job type's).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub max_attempts: Option<u32>,
    /// Queue (default: the job type's).
    #[arg(long)]
    pub queue: Option<String>,
    /// Priority; higher runs first within a queue.
    #[arg(long, default_value_t = 0, allow_negative_numbers = true)]
    pub priority: i16,
    /// Idempotency key: while a job with this key is alive, its id is returned instead.
    #[arg(long)]
    pub idempotency_key: Option<String>,
}

fn parse_time(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("not an RFC 3339 time: {e}"))
}

fn parse_delay(text: &str) -> Result<Duration, String> {
    parse_duration(text).ok_or_else(|| "not a duration (e.g. 30s, 5m, 2h)".to_owned())
}

/// Validates and enqueues the job; prints `enqueued job <id>`.
pub async fn run(args: EnqueueArgs, out: &mut impl Write) -> Result<(), CliError> {
    let cfg = WorkerConfig::from_env()?;
    let text = payload_text(&args.payload, cfg.max_payload_bytes)?;
    let payload: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| CliError::Usage(format!("--payload is not valid JSON: {e}")))?;
    let registry = crate::runtime::default_registry(&cfg)?;
    let pool = connect(&cfg).await?;
    let (queue, max_attempts) = match registry.validate(&args.job_type, &payload) {
        Some(Err(e)) => {
            return Err(CliError::Failed(format!(
                "payload rejected: {}",
                crate::sanitize::sanitize(&e.to_string())
            )));
        }
        Some(Ok(())) => registry
            .defaults(&args.job_type)
            .map(|(q, m)| (q.to_owned(), m))
            .unwrap_or(("default".to_owned(), 5)),
        None => known_elsewhere(&pool, &args.job_type)
            .await?
            .ok_or_else(|| {
                CliError::Failed(format!(
                    "unknown job type {:?}: no worker has registered it (known here: {})",
                    crate::sanitize::sanitize(&args.job_type),
                    registry.kinds().join(", ")
                ))
            })?,
    };
    let mut job = NewJob::from_json_with_limit(
        &args.job_type,
        args.queue.as_deref().unwrap_or(&queue),
        args.max_attempts.unwrap_or(max_attempts),
        payload,
        cfg.max_payload_bytes,
    )
    .map_err(|e| CliError::Failed(format!("payload rejected: {e}")))?
    .priority(args.priority);
    let run_at = args.run_at.or_else(|| {
        args.delay
            .and_then(|d| chrono::Duration::from_std(d).ok())
            .map(|d| Utc::now() + d)
    });
    if let Some(at) = run_at {
        job = job.run_at(at);
    }
    if let Some(key) = args.idempotency_key {
        job = job.idempotency_key(key);
    }
    let enqueued = enqueue(&pool, job).await.map_err(|e| match e {
        EnqueueError::Database(db) => {
            CliError::Failed(format!("cannot enqueue: {}", one_line(&db)))
        }
        other => CliError::Failed(format!("cannot enqueue: {other}")),
    })?;
    if enqueued.created {
        writeln!(out, "enqueued job {}", enqueued.id)?;
    } else {
        writeln!(
            out,
            "job {} is already enqueued with this idempotency key",
            enqueued.id
        )?;
    }
    Ok(())
}

/// The payload text `--payload` names: the argument itself, the file after `@`, or
/// stdin for `-`. Reading stops past 8 × `limit` bytes (room for pretty-printed JSON
/// whose compact form fits the limit) with an error, so a wrong file is not slurped.
fn payload_text(arg: &str, limit: usize) -> Result<String, CliError> {
    use std::io::Read;
    let cap = limit.saturating_mul(8).max(1024);
    let (source, reader): (String, Box<dyn Read>) = if arg == "-" {
        ("stdin".to_owned(), Box::new(std::io::stdin()))
    } else if let Some(path) = arg.strip_prefix('@') {
        let file = std::fs::File::open(path).map_err(|e| {
            CliError::Usage(format!(
                "cannot read --payload file {}: {e}",
                crate::sanitize::escape_controls(path)
            ))
        })?;
        (
            format!("file {}", crate::sanitize::escape_controls(path)),
            Box::new(file),
        )
    } else {
        return Ok(arg.to_owned());
    };
    let mut text = String::new();
    reader
        .take(cap as u64 + 1)
        .read_to_string(&mut text)
        .map_err(|e| CliError::Usage(format!("cannot read the --payload {source}: {e}")))?;
    if text.len() > cap {
        return Err(CliError::Failed(format!(
            "payload rejected: the --payload {source} is over {cap} bytes"
        )));
    }
    Ok(text)
}

async fn known_elsewhere(
    pool: &sqlx::PgPool,
    kind: &str,
) -> Result<Option<(String, u32)>, CliError> {
    let row: Option<(String, i32)> =
        sqlx::query_as("SELECT queue, max_attempts FROM herald.job_types WHERE job_type = $1")
            .bind(kind)
            .fetch_optional(pool)
            .await
            .map_err(|e| CliError::Failed(format!("cannot look up job types: {}", one_line(&e))))?;
    Ok(row.map(|(q, m)| (q, u32::try_from(m).unwrap_or(5))))
}

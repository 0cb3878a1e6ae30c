//! `herald enqueue <type> --payload <json>`: enqueues one job and prints its id.
//!
//! The type must be registered with this `herald` binary (its payload is then decoded
//! and validated exactly as the worker will) or recorded in `herald.job_types` by some
//! worker (then only "is a JSON object" is checked). Payloads over
//! `HERALD_MAX_PAYLOAD_BYTES` are rejected. A rejected payload is reported and nothing
//! is enqueued. Every option follows the enqueue rules (`herald_jobs::rules`); one that
//! breaks a rule is a usage error (exit 2) naming the option, found before connecting.
//!
//! `--payload` takes the JSON itself, `@FILE` (read from a file) or `-` (read from
//! stdin): a payload near the 256 KiB limit does not fit the shell's argument limit.

use std::time::Duration;

use chrono::{DateTime, Utc};
use clap::Args;
use herald_jobs::enqueue::{EnqueueError, NewJob, enqueue};
use herald_jobs::rules::{self, RuleViolation};

use super::{CliError, Context, one_line};
use herald_worker::config::{format_duration, parse_duration_within};

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
    /// Run no earlier than this RFC 3339 time (e.g. 2026-12-01T09:00:00Z), between
    /// 1970-01-01T00:00:00Z and 9999-12-31T23:59:59Z.
    #[arg(long, value_parser = parse_time, conflicts_with = "delay")]
    pub run_at: Option<DateTime<Utc>>,
    /// Run after this delay (e.g. 30s, 5m; at most 3650d).
    #[arg(long, value_parser = parse_delay)]
    pub delay: Option<Duration>,
    /// Attempt budget, 1 to 1000 (default: the job type's).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=i64::from(rules::MAX_ATTEMPTS_CAP)))]
    pub max_attempts: Option<u32>,
    /// Queue, 1 to 64 of A-Z a-z 0-9 _ . : - (default: the job type's).
    #[arg(long)]
    pub queue: Option<String>,
    /// Priority; higher runs first within a queue.
    #[arg(long, default_value_t = 0, allow_negative_numbers = true)]
    pub priority: i16,
    /// Idempotency key (1 to 255 bytes, no control characters): while a job with this
    /// key is alive, its id is returned instead.
    #[arg(long)]
    pub idempotency_key: Option<String>,
}

fn parse_time(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("not an RFC 3339 time: {e}"))
}

/// The longest `--delay`: ten years.
const MAX_DELAY: Duration = Duration::from_secs(3650 * 86_400);

fn parse_delay(text: &str) -> Result<Duration, String> {
    parse_duration_within(text, Duration::ZERO..=MAX_DELAY).map_err(|e| e.to_string())
}

/// Now plus `delay` (within `MAX_DELAY`, so it always converts; never silently now).
fn after(delay: Duration) -> Result<DateTime<Utc>, CliError> {
    chrono::Duration::from_std(delay)
        .ok()
        .and_then(|d| Utc::now().checked_add_signed(d))
        .ok_or_else(|| {
            CliError::Usage(format!(
                "--delay {} is out of range (at most {})",
                format_duration(delay),
                format_duration(MAX_DELAY)
            ))
        })
}

/// Applies the enqueue rules to the options given, before any connection.
fn check_args(args: &EnqueueArgs) -> Result<(), RuleViolation> {
    rules::check_job_type(&args.job_type)?;
    if let Some(queue) = &args.queue {
        rules::check_queue(queue)?;
    }
    if let Some(at) = args.run_at {
        rules::check_run_at(at)?;
    }
    if let Some(key) = &args.idempotency_key {
        rules::check_idempotency_key(key)?;
    }
    Ok(())
}

/// A rule violation as the usage error naming the option, e.g. `--queue`.
fn usage(v: &RuleViolation) -> CliError {
    let option = match v.field {
        "job_type" => "the job type".to_owned(),
        "payload" => "--payload".to_owned(),
        field => format!("--{}", field.replace('_', "-")),
    };
    CliError::Usage(format!(
        "{option} is invalid: {}",
        herald_worker::sanitize::sanitize(&v.message)
    ))
}

/// Validates and enqueues the job; prints `enqueued job <id>`.
pub async fn run(args: EnqueueArgs, ctx: &mut Context<'_>) -> Result<(), CliError> {
    check_args(&args).map_err(|v| usage(&v))?;
    let cfg = ctx.config()?;
    let text = payload_text(&args.payload, cfg.max_payload_bytes, ctx)?;
    let payload: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| CliError::Usage(format!("--payload is not valid JSON: {e}")))?;
    rules::check_payload_strings(&payload).map_err(|v| usage(&v))?;
    let registry = herald_worker::runtime::default_registry(&cfg)?;
    let pool = ctx.pool().await?;
    let (queue, max_attempts) = match registry.validate(&args.job_type, &payload) {
        Some(Err(e)) => {
            return Err(CliError::Failed(format!(
                "payload rejected: {}",
                herald_worker::sanitize::sanitize(&e.to_string())
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
                    herald_worker::sanitize::sanitize(&args.job_type),
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
    .map_err(rejected)?
    .priority(args.priority);
    let run_at = match (args.run_at, args.delay) {
        (Some(at), _) => Some(at),
        (None, Some(delay)) => Some(after(delay)?),
        (None, None) => None,
    };
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
        EnqueueError::Contended => CliError::Failed(format!("cannot enqueue: {e}")),
        other => rejected(other),
    })?;
    if enqueued.created {
        writeln!(ctx.out, "enqueued job {}", enqueued.id)?;
    } else {
        writeln!(
            ctx.out,
            "job {} is already enqueued with this idempotency key",
            enqueued.id
        )?;
    }
    Ok(())
}

/// A job the client refused: a rule violation (e.g. the type's default budget over the
/// cap, or a `--delay` past the latest run time) is a usage error, a payload the job
/// type rejects a failure.
fn rejected(e: EnqueueError) -> CliError {
    match e {
        EnqueueError::InvalidOption { option, message } => usage(&RuleViolation {
            field: option,
            message,
        }),
        other => CliError::Failed(format!(
            "payload rejected: {}",
            herald_worker::sanitize::sanitize(&other.to_string())
        )),
    }
}

/// The payload text `--payload` names: the argument itself, the file after `@`, or
/// stdin (the context's) for `-`. Reading stops past 8 × `limit` bytes (room for
/// pretty-printed JSON whose compact form fits the limit) with an error, so a wrong
/// file is not slurped.
fn payload_text(arg: &str, limit: usize, ctx: &mut Context<'_>) -> Result<String, CliError> {
    use std::io::Read;
    let cap = limit.saturating_mul(8).max(1024);
    let (source, reader): (String, Box<dyn Read + '_>) = if arg == "-" {
        ("stdin".to_owned(), ctx.stdin())
    } else if let Some(path) = arg.strip_prefix('@') {
        let file = std::fs::File::open(path).map_err(|e| {
            CliError::Usage(format!(
                "cannot read --payload file {}: {e}",
                herald_worker::sanitize::escape_controls(path)
            ))
        })?;
        (
            format!("file {}", herald_worker::sanitize::escape_controls(path)),
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
    let row = sqlx::query_file!("queries/cli/job_type.sql", kind)
        .fetch_optional(pool)
        .await
        .map_err(|e| CliError::Failed(format!("cannot look up job types: {}", one_line(&e))))?;
    Ok(row.map(|r| (r.queue, u32::try_from(r.max_attempts).unwrap_or(5))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn args(extra: &[&str]) -> EnqueueArgs {
        #[derive(Parser)]
        struct Wrapper {
            #[command(flatten)]
            args: EnqueueArgs,
        }
        let argv = ["enqueue", "notify.webhook", "--payload", "{}"]
            .iter()
            .chain(extra)
            .copied();
        Wrapper::try_parse_from(argv)
            .map(|w| w.args)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn a_rule_violation_is_a_usage_error_naming_the_option() {
        let cases: [(&[&str], &str); 3] = [
            (
                &["--queue", ""],
                "--queue is invalid: must be 1 to 64 bytes, got 0",
            ),
            (
                &["--idempotency-key", ""],
                "--idempotency-key is invalid: must be 1 to 255 bytes, got 0",
            ),
            (
                &["--run-at", "1969-12-31T23:59:59Z"],
                "--run-at is invalid: must be between 1970-01-01T00:00:00Z and 9999-12-31T23:59:59Z",
            ),
        ];
        for (extra, expected) in cases {
            let err = check_args(&args(extra)).map_err(|v| usage(&v)).err();
            assert_eq!(err.as_ref().map(CliError::exit_code), Some(2), "{extra:?}");
            assert_eq!(err.map(|e| e.to_string()).as_deref(), Some(expected));
        }
        assert!(check_args(&args(&["--queue", "mail:high"])).is_ok());
    }
}

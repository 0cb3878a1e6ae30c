//! `herald stats [--window 5m] [--json]`: the fleet-wide failure rate over a window,
//! overall and per job type, computed from the audit table (so every worker counts),
//! and the failure-rate alert's recent transitions.
//!
//! A failure is an attempt that ended `retrying`, `dead` or `abandoned`; `interrupted`
//! attempts (shutdown) are not counted. Output: a text table, or with `--json` one
//! object `{window_secs, threshold, attempts, failures, failure_rate, job_types:[...],
//! alerts:[...]}`.

use std::io::Write;
use std::time::Duration;

use clap::Args;
use serde::Serialize;

use super::{CliError, Context, one_line};
use herald_worker::config::parse_duration_within;
use herald_worker::sanitize::sanitize;
use herald_worker::stored_time::StoredTime;

/// Arguments of `herald stats`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  herald stats
  herald stats --window 1h --json")]
pub struct StatsArgs {
    /// How far back to look (e.g. 5m, 1h; 1s to 365d).
    #[arg(long, default_value = "5m", value_parser = parse_window)]
    pub window: Duration,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// `--window` accepts 1 s to 365 days.
fn parse_window(text: &str) -> Result<Duration, String> {
    parse_duration_within(
        text,
        Duration::from_secs(1)..=Duration::from_secs(365 * 86_400),
    )
    .map_err(|e| e.to_string())
}

/// One scope's numbers.
#[derive(Debug, Serialize, PartialEq)]
pub struct Rate {
    /// A job type, or `*` for all.
    pub job_type: String,
    /// Attempts finished in the window.
    pub attempts: i64,
    /// Of which failed.
    pub failures: i64,
    /// `failures / attempts` (0 when there were none).
    pub failure_rate: f64,
}

#[derive(Debug, Serialize)]
struct AlertRow {
    occurred_at: StoredTime,
    scope: String,
    transition: String,
    failure_rate: f64,
    worker_id: String,
}

#[derive(Debug, Serialize)]
struct Report {
    window_secs: f64,
    threshold: f64,
    #[serde(flatten)]
    overall: Rate,
    job_types: Vec<Rate>,
    alerts: Vec<AlertRow>,
}

fn rate(job_type: String, attempts: i64, failures: i64) -> Rate {
    let failure_rate = if attempts == 0 {
        0.0
    } else {
        failures as f64 / attempts as f64
    };
    Rate {
        job_type,
        attempts,
        failures,
        failure_rate,
    }
}

/// Prints the fleet-wide failure rate over `--window`.
pub async fn run(args: StatsArgs, ctx: &mut Context<'_>) -> Result<(), CliError> {
    let cfg = ctx.config()?;
    let pool = ctx.pool().await?;
    let out = &mut ctx.out;
    let secs = args.window.as_secs_f64();
    let failed =
        |e: sqlx::Error| CliError::Failed(format!("cannot read the audit table: {}", one_line(&e)));
    let rows: Vec<(String, i64, i64)> = sqlx::query_file!("queries/stats/failure_rate.sql", secs)
        .fetch_all(&pool)
        .await
        .map_err(failed)?
        .into_iter()
        .map(|r| (r.job_type, r.attempts, r.failures))
        .collect();
    let alerts: Vec<(StoredTime, String, String, f64, String)> =
        sqlx::query_file!("queries/stats/recent_alerts.sql", secs)
            .fetch_all(&pool)
            .await
            .map_err(failed)?
            .into_iter()
            .map(|r| {
                (
                    r.occurred_at,
                    r.scope,
                    r.transition,
                    r.failure_rate,
                    r.worker_id,
                )
            })
            .collect();
    let (attempts, failures) = rows
        .iter()
        .fold((0, 0), |(a, f), (_, ra, rf)| (a + ra, f + rf));
    let report = Report {
        window_secs: secs,
        threshold: cfg.failure_rate.threshold,
        overall: rate("*".to_owned(), attempts, failures),
        job_types: rows
            .into_iter()
            .map(|(t, a, f)| rate(sanitize(&t), a, f))
            .collect(),
        alerts: alerts
            .into_iter()
            .map(
                |(occurred_at, scope, transition, failure_rate, worker_id)| AlertRow {
                    occurred_at,
                    scope: sanitize(&scope),
                    transition,
                    failure_rate,
                    worker_id: sanitize(&worker_id),
                },
            )
            .collect(),
    };
    if args.json {
        let text = serde_json::to_string(&report)
            .map_err(|e| CliError::Failed(format!("cannot encode JSON: {e}")))?;
        writeln!(out, "{text}")?;
    } else {
        write_table(&report, out)?;
    }
    Ok(())
}

fn write_table(r: &Report, out: &mut impl Write) -> std::io::Result<()> {
    let state = if r.overall.failure_rate > r.threshold {
        "ABOVE"
    } else {
        "below"
    };
    writeln!(
        out,
        "failure rate over the last {}s, all workers: {:.2}% ({} of {} attempts failed), {state} the {:.2}% threshold",
        r.window_secs,
        r.overall.failure_rate * 100.0,
        r.overall.failures,
        r.overall.attempts,
        r.threshold * 100.0
    )?;
    writeln!(
        out,
        "{:<32} {:>10} {:>10} {:>9}",
        "job type", "attempts", "failures", "rate"
    )?;
    for t in &r.job_types {
        writeln!(
            out,
            "{:<32} {:>10} {:>10} {:>8.2}%",
            t.job_type,
            t.attempts,
            t.failures,
            t.failure_rate * 100.0
        )?;
    }
    if !r.alerts.is_empty() {
        writeln!(out, "alert transitions in the window (newest first):")?;
        for a in &r.alerts {
            writeln!(
                out,
                "  {} {} {} at {:.2}% by {}",
                a.occurred_at.shown(super::table::time),
                a.scope,
                a.transition,
                a.failure_rate * 100.0,
                a.worker_id
            )?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_window_has_a_zero_rate() {
        assert_eq!(rate("*".into(), 0, 0).failure_rate, 0.0);
        assert_eq!(rate("*".into(), 8, 2).failure_rate, 0.25);
    }
}

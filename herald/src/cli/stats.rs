//! `herald stats [--window 5m] [--json]`: the fleet-wide failure rate over a window,
//! overall and per job type, computed from the audit table (so every worker counts),
//! the failure-rate alert's recent transitions, and the storage's health.
//!
//! A failure is an attempt that ended `retrying`, `dead` or `abandoned`; `interrupted`
//! attempts (shutdown) are not counted. Output: a text table, or with `--json` one
//! object `{window_secs, threshold, attempts, failures, failure_rate, job_types:[...],
//! alerts:[...], storage:{tables:[...], horizon, audit_partitions, last_pruning}}`.
//!
//! The Storage section is the sample the workers export as metrics
//! (`herald_worker::telemetry::storage::sample`, the same SQL): per table its size,
//! index size, live and dead rows and last vacuum age; the transaction horizon; the
//! audit partitions present and ahead; the newest completed pruning run. When it cannot
//! be read (e.g. a role without access to the statistics), the rest is printed and the
//! section says why (`storage: null`, `storage_error` in JSON).

use std::io::Write;
use std::time::Duration;

use clap::Args;
use serde::Serialize;

use super::{CliError, Context, one_line};
use herald_worker::config::parse_duration_within;
use herald_worker::sanitize::sanitize;
use herald_worker::stored_time::StoredTime;
use herald_worker::telemetry::storage::{StorageSample, sample};

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
    storage: Option<StorageSample>,
    #[serde(skip_serializing_if = "Option::is_none")]
    storage_error: Option<String>,
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
    let (storage, storage_error) = match sample(&pool).await {
        Ok(s) => (Some(s), None),
        Err(e) => (None, Some(one_line(&e))),
    };
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
        storage,
        storage_error,
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
    match (&r.storage, &r.storage_error) {
        (Some(s), _) => write_storage(s, out),
        (None, reason) => writeln!(
            out,
            "Storage: unavailable ({})",
            reason.as_deref().unwrap_or("unknown")
        ),
    }
}

/// The Storage section: one line per table, then the horizon, partitions and pruning.
fn write_storage(s: &StorageSample, out: &mut impl Write) -> std::io::Result<()> {
    writeln!(out, "\nStorage")?;
    writeln!(
        out,
        "{:<20} {:>10} {:>10} {:>12} {:>12} {:>12}",
        "table", "size", "indexes", "live rows", "dead rows", "vacuumed"
    )?;
    for t in &s.tables {
        let name = if t.partitioned {
            format!("{} ({}p)", t.table, t.partitions)
        } else {
            t.table.clone()
        };
        writeln!(
            out,
            "{:<20} {:>10} {:>10} {:>12} {:>12} {:>12}",
            name,
            bytes(t.size_bytes),
            bytes(t.index_size_bytes),
            t.live_tuples,
            t.dead_tuples,
            t.last_vacuum_age_secs
                .map_or_else(|| "never".to_owned(), |a| format!("{} ago", age(a)))
        )?;
    }
    writeln!(
        out,
        "transaction horizon: oldest transaction {} old, oldest xmin {} transactions old",
        age(s.horizon.oldest_xact_age_secs),
        s.horizon.xmin_age_xids
    )?;
    writeln!(
        out,
        "audit partitions: {} present, {} ahead of the job ids{}",
        s.audit_partitions.present,
        s.audit_partitions.ahead,
        if s.audit_partitions.present == 0 {
            " (herald.attempts is not partitioned)"
        } else {
            ""
        }
    )?;
    match &s.last_pruning {
        Some(p) => writeln!(
            out,
            "last pruning run: finished {} ({} ago), removed {} jobs, {} audit rows, {} operator actions, {} run records",
            p.finished_at.shown(super::table::time),
            p.age_secs.map_or_else(|| "?".to_owned(), age),
            p.jobs,
            p.attempts,
            p.operator_actions,
            p.maintenance_runs
        ),
        None => writeln!(out, "last pruning run: none completed yet"),
    }
}

/// `1.5 MiB`, `8.0 KiB`, `512 B`.
fn bytes(n: i64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// `42s`, `7m`, `3h`, `2d` (whole units, rounded down).
fn age(secs: f64) -> String {
    let s = secs.max(0.0) as u64;
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..86_400 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_window_has_a_zero_rate() {
        assert_eq!(rate("*".into(), 0, 0).failure_rate, 0.0);
        assert_eq!(rate("*".into(), 8, 2).failure_rate, 0.25);
    }

    #[test]
    fn sizes_and_ages_read_at_a_glance() {
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(8192), "8.0 KiB");
        assert_eq!(bytes(3 * 1024 * 1024 / 2), "1.5 MiB");
        assert_eq!(age(42.9), "42s");
        assert_eq!(age(7.0 * 60.0), "7m");
        assert_eq!(age(2.0 * 86_400.0 + 5.0), "2d");
    }
}

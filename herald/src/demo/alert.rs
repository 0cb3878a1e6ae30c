//! The demo's failure-rate alert: its fixed mix fails far more than 5 % of attempts, so
//! the alert trips while the jobs run; once they have settled no attempt fails, the
//! failures age out of the demo's short window (`WINDOW`), and it resolves. This waits
//! for the resolve and prints both transitions from `herald.alert_events`.

use std::io::Write;
use std::time::{Duration, Instant};

use sqlx::PgPool;

use super::DemoError;
use herald_worker::stored_time::StoredTime;

/// The demo's failure-rate window (the worker's default is 5 minutes).
pub(crate) const WINDOW: &str = "10s";
/// How long to wait for the resolve beyond the window.
const RESOLVE_SLACK: Duration = Duration::from_secs(20);

type Row = (StoredTime, String, f64, i64, i64);

async fn transitions(pool: &PgPool) -> Result<Vec<Row>, DemoError> {
    Ok(sqlx::query_file!("queries/demo/alert_events.sql")
        .fetch_all(pool)
        .await?
        .into_iter()
        .map(|r| {
            (
                r.occurred_at,
                r.transition,
                r.failure_rate,
                r.attempts,
                r.failures,
            )
        })
        .collect())
}

/// Waits until the alert (all job types) has resolved after tripping, or gives up
/// after the window plus some slack; returns whether it resolved.
pub(crate) async fn wait_for_resolve(pool: &PgPool, window: Duration) -> Result<bool, DemoError> {
    let deadline = Instant::now() + window + RESOLVE_SLACK;
    loop {
        let rows = transitions(pool).await?;
        match rows.last() {
            None => return Ok(false),
            Some((_, t, ..)) if t == "resolved" => return Ok(true),
            Some(_) if Instant::now() >= deadline => return Ok(false),
            Some(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

/// Prints the alert's transitions.
pub(crate) async fn print(pool: &PgPool, out: &mut impl Write) -> Result<(), DemoError> {
    let rows = transitions(pool).await?;
    writeln!(
        out,
        "\nFailure-rate alert (over {WINDOW}, trips above 5 %, resolves below 4 %; `herald stats` shows the fleet-wide rate)"
    )?;
    if rows.is_empty() {
        writeln!(out, "  never tripped")?;
    }
    for (at, transition, rate, attempts, failures) in rows {
        let what = if transition == "tripped" {
            "alert tripped (CRITICAL event on herald::alert)"
        } else {
            "alert resolved"
        };
        writeln!(
            out,
            "  {} {what}: {:.1} % ({failures} of {attempts} attempts in the window failed)",
            at.shown(|t| t.format("%H:%M:%S%.3f").to_string()),
            rate * 100.0
        )?;
    }
    Ok(())
}

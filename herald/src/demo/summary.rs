//! The demo's summary, read back from the database (jobs and audit rows), never from
//! counters kept in memory: what it prints is what the tables hold.

use std::io::Write;

use herald_worker::stored_time::StoredTime;
use sqlx::PgPool;

/// Counts for one demo run, from the tables.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Jobs by state.
    pub jobs_by_state: Vec<(String, i64)>,
    /// Audit rows by outcome.
    pub attempts_by_outcome: Vec<(String, i64)>,
    /// Dead jobs by (code, class).
    pub dead_by_cause: Vec<(Option<String>, Option<String>, i64)>,
    /// Jobs that needed more than one attempt.
    pub retried_jobs: i64,
}

impl Summary {
    /// Reads the summary of the jobs `ids`.
    pub async fn load(pool: &PgPool, ids: &[i64]) -> Result<Self, sqlx::Error> {
        Ok(Self {
            jobs_by_state: sqlx::query_file!("queries/demo/jobs_by_state.sql", ids)
                .fetch_all(pool)
                .await?
                .into_iter()
                .map(|r| (r.state, r.count))
                .collect(),
            attempts_by_outcome: sqlx::query_file!("queries/demo/attempts_by_outcome.sql", ids)
                .fetch_all(pool)
                .await?
                .into_iter()
                .map(|r| (r.outcome, r.count))
                .collect(),
            dead_by_cause: sqlx::query_file!("queries/demo/dead_by_cause.sql", ids)
                .fetch_all(pool)
                .await?
                .into_iter()
                .map(|r| (r.error_code, r.error_class, r.count))
                .collect(),
            retried_jobs: sqlx::query_file_scalar!("queries/demo/retried_jobs.sql", ids)
                .fetch_one(pool)
                .await?,
        })
    }

    /// Audit rows with `outcome`.
    pub fn attempts_with(&self, outcome: &str) -> i64 {
        self.attempts_by_outcome
            .iter()
            .find(|(o, _)| o == outcome)
            .map_or(0, |(_, n)| *n)
    }

    /// All audit rows.
    pub fn audit_rows(&self) -> i64 {
        self.attempts_by_outcome.iter().map(|(_, n)| n).sum()
    }

    /// Failed attempts over finished attempts.
    pub fn failure_rate(&self) -> f64 {
        let total = self.audit_rows();
        let failed = self.attempts_with("retrying")
            + self.attempts_with("dead")
            + self.attempts_with("abandoned");
        if total == 0 {
            0.0
        } else {
            failed as f64 / total as f64
        }
    }

    /// Writes the summary for a person.
    pub fn print(&self, out: &mut impl Write) -> std::io::Result<()> {
        writeln!(out, "\nJobs")?;
        for (state, n) in &self.jobs_by_state {
            writeln!(out, "  {state:<10} {n:>6}")?;
        }
        writeln!(
            out,
            "  retried    {:>6}  (jobs that needed more than one attempt)",
            self.retried_jobs
        )?;
        writeln!(out, "\nAudit rows: {} (one per attempt)", self.audit_rows())?;
        for (outcome, n) in &self.attempts_by_outcome {
            writeln!(out, "  {outcome:<11} {n:>6}")?;
        }
        writeln!(out, "\nDead jobs by cause")?;
        for (code, class, n) in &self.dead_by_cause {
            let code = code.as_deref().unwrap_or("-");
            let class = class.as_deref().unwrap_or("-");
            writeln!(out, "  {code:<22} {class:<10} {n:>6}")?;
        }
        writeln!(
            out,
            "\nFailure rate: {:.1}% of finished attempts failed (Herald's alert threshold: 5%)",
            self.failure_rate() * 100.0
        )?;
        Ok(())
    }
}

struct TrailRow {
    attempt: i32,
    outcome: String,
    error_code: Option<String>,
    error_class: Option<String>,
    message: Option<String>,
    duration_ms: i32,
    retry_in_ms: Option<i64>,
}

/// Writes job `id`'s audit trail.
pub async fn print_trail(
    pool: &PgPool,
    id: i64,
    title: &str,
    out: &mut impl Write,
) -> Result<(), super::DemoError> {
    let rows: Vec<TrailRow> = sqlx::query_file_as!(TrailRow, "queries/demo/trail.sql", id)
        .fetch_all(pool)
        .await?;
    writeln!(out, "\nAudit trail of job {id} ({title})")?;
    for r in rows {
        let retry = r
            .retry_in_ms
            .map(|ms| format!("  next attempt in {ms} ms"))
            .unwrap_or_default();
        writeln!(
            out,
            "  attempt {}  {:<10} {:<21} {:<9} {:>5} ms  {}{retry}",
            r.attempt,
            r.outcome,
            r.error_code.as_deref().unwrap_or("-"),
            r.error_class.as_deref().unwrap_or("-"),
            r.duration_ms,
            r.message.as_deref().unwrap_or(""),
        )?;
    }
    Ok(())
}

/// Writes the campaign batch `id`: its counters and its summary callback.
pub async fn print_campaign(
    pool: &PgPool,
    id: i64,
    out: &mut impl Write,
) -> Result<(), super::DemoError> {
    let Some(c) = sqlx::query_file!("queries/demo/campaign.sql", id)
        .fetch_optional(pool)
        .await?
    else {
        return Ok(());
    };
    let time = |t: Option<StoredTime>| {
        t.map_or_else(
            || "-".to_owned(),
            |t| t.shown(|t| t.format("%H:%M:%S%.3fZ").to_string()),
        )
    };
    writeln!(
        out,
        "\nCampaign batch {id} ({} members: {} succeeded, {} dead), complete at {}",
        c.total,
        c.succeeded,
        c.dead,
        time(c.completed_at)
    )?;
    writeln!(
        out,
        "  summary webhook (job {}): {}, started {} (released once, when the last member settled)",
        c.callback_id.unwrap_or_default(),
        c.callback_state.as_deref().unwrap_or("-"),
        time(c.callback_started_at)
    )?;
    writeln!(out, "  the tree: herald workflows show {id}")?;
    Ok(())
}

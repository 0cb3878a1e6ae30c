//! `herald retention [--runs N] [--json]`: the retention policy in force (each class's
//! age, Herald's default or configured, and the per-queue overrides, read from this
//! environment exactly as a worker reads it), the maintenance leader, what the next
//! pruning run would remove (rows and the oldest, per class), and the last runs with
//! their counts. Read-only.
//!
//! The policy shown is this environment's; each run records the policy its worker
//! applied, and the output says when the newest run's differs. `--json` prints one
//! object `{policy, queue_overrides, maintenance, policy_matches_last_run, leader,
//! next_run, runs}`.

use std::io::Write;

use clap::Args;
use serde::Serialize;
use serde_json::Value;

use super::{CliError, Context, one_line};
use herald_worker::config::{
    RetentionClass, RetentionConfig, format_duration, retention_from_lookup,
};
use herald_worker::maintenance::policy_json;
use herald_worker::sanitize::sanitize;
use herald_worker::stored_time::StoredTime;

/// Arguments of `herald retention`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  herald retention
  herald retention --runs 50 --json")]
pub struct RetentionArgs {
    /// How many of the newest pruning runs to show (1 to 1000).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(i64).range(1..=1000))]
    pub runs: i64,
    /// Print one JSON object instead of tables.
    #[arg(long)]
    pub json: bool,
}

/// One class's age.
#[derive(Debug, Serialize)]
struct PolicyRow {
    class: &'static str,
    age: String,
    age_secs: f64,
    /// `default` or `configured` (with the variable).
    source: String,
}

/// One per-queue override.
#[derive(Debug, Serialize)]
struct OverrideRow {
    queue: String,
    class: &'static str,
    age: String,
    age_secs: f64,
}

#[derive(Debug, Serialize)]
struct Maintenance {
    enabled: bool,
    interval: String,
    batch_size: u32,
    pause: String,
}

#[derive(Debug, Serialize)]
struct Leader {
    holder: String,
    elected_at: StoredTime,
    renewed_at: StoredTime,
    expires_at: StoredTime,
    valid: bool,
}

#[derive(Debug, Serialize)]
struct PreviewRow {
    class: String,
    rows: i64,
    oldest: Option<StoredTime>,
}

#[derive(Debug, Serialize)]
struct RunRow {
    id: i64,
    worker_id: String,
    started_at: StoredTime,
    finished_at: Option<StoredTime>,
    outcome: String,
    error: Option<String>,
    policy: Value,
    batches: i32,
    jobs_succeeded: i64,
    jobs_dead: i64,
    jobs_cancelled: i64,
    attempts_removed: i64,
    attempt_partitions_dropped: i32,
    attempt_partitions_compacted: i32,
    operator_actions_removed: i64,
    runs_removed: i64,
    oldest_job_id: Option<i64>,
    oldest_finished_at: Option<StoredTime>,
    newest_job_id: Option<i64>,
    newest_finished_at: Option<StoredTime>,
}

#[derive(Debug, Serialize)]
struct Report {
    policy: Vec<PolicyRow>,
    queue_overrides: Vec<OverrideRow>,
    maintenance: Maintenance,
    /// `None` when no run is recorded yet.
    policy_matches_last_run: Option<bool>,
    leader: Option<Leader>,
    next_run: Vec<PreviewRow>,
    runs: Vec<RunRow>,
}

/// Prints the policy, the leader, the next run's preview and the last runs.
pub async fn run(args: RetentionArgs, ctx: &mut Context<'_>) -> Result<(), CliError> {
    let retention = retention_from_lookup(&|name: &str| ctx.var(name))?;
    let pool = ctx.pool().await?;
    let out = &mut ctx.out;
    let failed = |e: sqlx::Error| {
        CliError::Failed(format!(
            "cannot read the maintenance tables: {}",
            one_line(&e)
        ))
    };
    let policy = policy_json(&retention.policy);
    let preview = sqlx::query_file_as!(PreviewRow, "queries/retention/preview.sql", policy)
        .fetch_all(&pool)
        .await
        .map_err(failed)?;
    let leader = sqlx::query_file_as!(Leader, "queries/retention/leader.sql")
        .fetch_optional(&pool)
        .await
        .map_err(failed)?;
    let mut runs = sqlx::query_file_as!(RunRow, "queries/retention/runs.sql", args.runs)
        .fetch_all(&pool)
        .await
        .map_err(failed)?;
    for r in &mut runs {
        r.worker_id = sanitize(&r.worker_id);
        r.error = r.error.as_deref().map(sanitize);
    }
    let report = Report {
        policy: policy_rows(&retention),
        queue_overrides: override_rows(&retention),
        maintenance: Maintenance {
            enabled: retention.enabled,
            interval: format_duration(retention.interval),
            batch_size: retention.batch_size,
            pause: format_duration(retention.pause),
        },
        policy_matches_last_run: runs.first().map(|r| r.policy == policy),
        leader: leader.map(|l| Leader {
            holder: sanitize(&l.holder),
            ..l
        }),
        next_run: preview,
        runs,
    };
    if args.json {
        let text = serde_json::to_string(&report)
            .map_err(|e| CliError::Failed(format!("cannot encode JSON: {e}")))?;
        writeln!(out, "{text}")?;
    } else {
        write_text(&report, out)?;
    }
    Ok(())
}

fn policy_rows(retention: &RetentionConfig) -> Vec<PolicyRow> {
    RetentionClass::ALL
        .into_iter()
        .map(|class| {
            let age = retention.policy.class_age(class);
            PolicyRow {
                class: class.as_str(),
                age: format_duration(age.age),
                age_secs: age.age.as_secs_f64(),
                source: if age.configured {
                    format!("configured ({})", class.variable())
                } else {
                    "default".to_owned()
                },
            }
        })
        .collect()
}

fn override_rows(retention: &RetentionConfig) -> Vec<OverrideRow> {
    retention
        .policy
        .queue_overrides()
        .iter()
        .flat_map(|(queue, ages)| {
            ages.iter().map(move |(class, age)| OverrideRow {
                queue: queue.clone(),
                class: class.as_str(),
                age: format_duration(*age),
                age_secs: age.as_secs_f64(),
            })
        })
        .collect()
}

fn time(t: Option<StoredTime>) -> String {
    super::table::maybe_time(t)
}

fn write_text(r: &Report, out: &mut impl Write) -> std::io::Result<()> {
    writeln!(out, "retention policy (this environment):")?;
    writeln!(out, "  {:<18} {:>8}  source", "class", "age")?;
    for p in &r.policy {
        writeln!(out, "  {:<18} {:>8}  {}", p.class, p.age, p.source)?;
    }
    for o in &r.queue_overrides {
        writeln!(out, "  queue {}: {} {}", o.queue, o.class, o.age)?;
    }
    let m = &r.maintenance;
    writeln!(
        out,
        "maintenance on this worker: {}, a run every {}, batches of {}, {} between batches",
        if m.enabled { "on" } else { "OFF" },
        m.interval,
        m.batch_size,
        m.pause
    )?;
    if r.policy_matches_last_run == Some(false) {
        writeln!(
            out,
            "note: the newest run applied a different policy (see its record, --json)"
        )?;
    }
    match &r.leader {
        Some(l) => writeln!(
            out,
            "leader: {} since {}, lease {} {}",
            l.holder,
            time(Some(l.elected_at)),
            if l.valid { "valid until" } else { "EXPIRED at" },
            time(Some(l.expires_at))
        )?,
        None => writeln!(out, "leader: none")?,
    }
    writeln!(out, "the next run would remove:")?;
    writeln!(out, "  {:<18} {:>10}  oldest", "class", "rows")?;
    for p in &r.next_run {
        writeln!(out, "  {:<18} {:>10}  {}", p.class, p.rows, time(p.oldest))?;
    }
    if r.runs.is_empty() {
        return writeln!(out, "no pruning run recorded yet");
    }
    writeln!(out, "last runs (newest first):")?;
    writeln!(
        out,
        "  {:>6} {:<20} {:<20} {:<16} {:>9} {:>7} {:>9} {:>9} {:>7} {:>5}  oldest/newest removed",
        "id",
        "worker",
        "started",
        "outcome",
        "succeeded",
        "dead",
        "cancelled",
        "audit",
        "actions",
        "runs"
    )?;
    for run in &r.runs {
        writeln!(
            out,
            "  {:>6} {:<20} {:<20} {:<16} {:>9} {:>7} {:>9} {:>9} {:>7} {:>5}  {} / {}",
            run.id,
            run.worker_id,
            time(Some(run.started_at)),
            run.outcome,
            run.jobs_succeeded,
            run.jobs_dead,
            run.jobs_cancelled,
            run.attempts_removed,
            run.operator_actions_removed,
            run.runs_removed,
            removed(run.oldest_job_id, run.oldest_finished_at),
            removed(run.newest_job_id, run.newest_finished_at),
        )?;
        if run.attempt_partitions_dropped + run.attempt_partitions_compacted > 0 {
            writeln!(
                out,
                "         audit partitions: {} dropped, {} compacted",
                run.attempt_partitions_dropped, run.attempt_partitions_compacted
            )?;
        }
        if let Some(e) = &run.error {
            writeln!(out, "         error: {e}")?;
        }
    }
    Ok(())
}

fn removed(id: Option<i64>, at: Option<StoredTime>) -> String {
    match id {
        Some(id) => format!("job {id} ({})", time(at)),
        None => "-".to_owned(),
    }
}

//! What `replay`, `cancel` and `purge` share: the operator flags (`--reason`, `--yes`,
//! `--actor`, `--dry-run`, `--json`, batching), resolving ids or a filter to jobs,
//! the safety checks, running the batches (each ONE statement that changes the jobs and
//! records them in the operator-action row) and reporting the result.
//!
//! **The bulk-action rule** (the one place it is decided, [`Action::execute`]): an action
//! that would change more than one job needs `--reason` and a confirmation on the
//! terminal (or `--yes`), whether the jobs were chosen by a filter or by ids. One job
//! needs neither. `--dry-run` needs neither.

use std::io::Write;

use clap::Args;
use serde::Serialize;
use sqlx::PgPool;

use super::batch::{BatchArgs, confirm, run_batches};
use super::filter::{self, JobFilter, JobRow, State, describe_ids};
use super::table::{json_line, time, write_table};
use super::{CliError, Context, one_line};
pub(crate) use crate::operator::apply::{PurgeScope, Statement, apply};
use herald_worker::sanitize::sanitize;

/// The flags every job-changing command takes.
#[derive(Debug, Clone, Args)]
pub struct OperatorArgs {
    /// Why (recorded in the audit log; required when more than one job would change).
    #[arg(long)]
    pub reason: Option<String>,
    /// Do not ask for confirmation (required for more than one job without a terminal).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Who is acting (recorded in the audit log; default: the OS user).
    #[arg(long)]
    pub actor: Option<String>,
    /// List what would change, and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// One JSON object instead of text.
    #[arg(long)]
    pub json: bool,
    /// Batching and throttling.
    #[command(flatten)]
    pub batch: BatchArgs,
}

/// One command's action: the SQL that applies a batch and what it records.
pub(crate) struct Action<'a> {
    pub pool: &'a PgPool,
    /// `replay`, `cancel` or `purge`.
    pub name: &'static str,
    /// Past tense for output: `replayed`.
    pub done: &'static str,
    pub statement: Statement,
}

/// The outcome of an action, as printed (`--json` field names are a stable contract).
#[derive(Debug, Serialize)]
pub(crate) struct Report {
    action: &'static str,
    dry_run: bool,
    action_id: Option<i64>,
    changed: Vec<i64>,
    /// `cancel` only: the changed jobs that were running, so got a cancel request
    /// (their worker stops them) rather than being cancelled on the spot.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    cancel_requested: Vec<i64>,
    unchanged: Vec<Unchanged>,
}

/// A selected job the action left alone, and why (its state).
#[derive(Debug, Serialize)]
pub(crate) struct Unchanged {
    pub id: i64,
    /// Its state when selected.
    pub state: String,
    /// Selected as applicable, yet not changed by the statement.
    #[serde(skip)]
    pub raced: bool,
}

/// The jobs `ids` name (an unknown id is an error and nothing changes), or the jobs
/// `filter` selects in `states`. Returns the jobs and whether a filter selected them.
pub(crate) async fn resolve(
    pool: &PgPool,
    ids: &[i64],
    filter: &JobFilter,
    states: &[State],
) -> Result<Vec<JobRow>, CliError> {
    if ids.is_empty() {
        return Ok(filter::select(pool, None, filter, states).await?);
    }
    let rows = filter::select(pool, Some(ids), &JobFilter::default(), &[]).await?;
    if let Some(missing) = ids.iter().find(|id| !rows.iter().any(|r| r.id == **id)) {
        return Err(CliError::Failed(format!(
            "job {missing} not found; nothing changed"
        )));
    }
    Ok(rows)
}

/// The states an action selects: `requested`, or `default` when none were given. Each
/// must be one of `allowed`; otherwise a usage error `"{rule}, not {state}"`.
pub(crate) fn states_within(
    requested: &[State],
    default: &[State],
    allowed: &[State],
    rule: &str,
) -> Result<Vec<State>, CliError> {
    let states = if requested.is_empty() {
        default.to_vec()
    } else {
        requested.to_vec()
    };
    match states.iter().find(|s| !allowed.contains(s)) {
        Some(bad) => Err(CliError::Usage(format!("{rule}, not {}", bad.as_str()))),
        None => Ok(states),
    }
}

/// Rejects ids combined with filter flags.
pub(crate) fn ids_or_filter(ids: &[i64], filter: &JobFilter) -> Result<(), CliError> {
    let filtered = !filter.state.is_empty()
        || filter.job_type.is_some()
        || filter.queue.is_some()
        || filter.error_code.is_some()
        || filter.fingerprint.is_some()
        || filter.since.is_some()
        || filter.until.is_some()
        || filter.limit.is_some();
    if !ids.is_empty() && filtered {
        return Err(CliError::Usage(
            "give job ids or filter flags, not both".to_owned(),
        ));
    }
    Ok(())
}

impl Action<'_> {
    /// Selects the jobs `ids` (or else `filter` in `states`) name, applies the action to
    /// those in one of the `applies_to` states, and reports the others as left alone.
    pub(crate) async fn run_on_selection(
        &self,
        args: &OperatorArgs,
        ids: &[i64],
        filter: &JobFilter,
        states: &[State],
        applies_to: &[State],
        ctx: &mut Context<'_>,
    ) -> Result<(), CliError> {
        let rows = resolve(self.pool, ids, filter, states).await?;
        let (targets, others): (Vec<_>, Vec<_>) = rows
            .into_iter()
            .partition(|r| applies_to.iter().any(|s| s.as_str() == r.state));
        let skipped = others
            .into_iter()
            .map(|r| Unchanged {
                id: r.id,
                state: r.state,
                raced: false,
            })
            .collect();
        let filter_json = if ids.is_empty() {
            filter.describe(states)
        } else {
            serde_json::json!({ "ids": describe_ids(ids) })
        };
        self.execute(args, filter_json, &targets, skipped, ctx)
            .await
    }

    /// Checks, confirms and applies the action to `targets` (already narrowed to the
    /// jobs it applies to); `skipped` are selected jobs it does not apply to. More than
    /// one target needs a reason and a confirmation (the bulk-action rule above).
    pub(crate) async fn execute(
        &self,
        args: &OperatorArgs,
        filter_json: serde_json::Value,
        targets: &[JobRow],
        skipped: Vec<Unchanged>,
        ctx: &mut Context<'_>,
    ) -> Result<(), CliError> {
        let mut ids: Vec<i64> = targets.iter().map(|r| r.id).collect();
        // Oldest first, so batches (and the recorded ids) follow job order.
        ids.sort_unstable();
        if args.dry_run {
            return self.report(
                args,
                targets,
                Report::new(self.name, true, ids, skipped),
                &mut ctx.out,
            );
        }
        let reason = args
            .reason
            .as_deref()
            .map(str::trim)
            .filter(|r| !r.is_empty());
        if ids.len() > 1 {
            let Some(_) = reason else {
                return Err(CliError::Usage(format!(
                    "{} of {} needs --reason \"...\"; nothing changed",
                    self.name,
                    jobs(ids.len())
                )));
            };
            if !args.yes {
                confirm(ctx, &format!("{} {}", self.name, jobs(ids.len())))?;
            }
        }
        let actor = sanitize(args.actor.clone().unwrap_or_else(|| ctx.operator()).trim());
        if actor.is_empty() {
            return Err(CliError::Usage("--actor must not be empty".to_owned()));
        }
        let reason = reason.map(sanitize);
        let mut action_id: Option<i64> = None;
        let mut changed: Vec<i64> = Vec::new();
        let progress = ctx.progress();
        run_batches(
            &ids,
            &args.batch,
            self.done,
            progress,
            async |chunk: &[i64]| {
                let (id, done) = self
                    .apply(chunk, &actor, reason.as_deref(), &filter_json, action_id)
                    .await
                    .map_err(|e| match action_id {
                        Some(id) if !changed.is_empty() => CliError::Failed(format!(
                            "{e} ({} jobs were already {} by action {id})",
                            changed.len(),
                            self.done
                        )),
                        _ => e,
                    })?;
                action_id = id;
                let n = done.len() as u64;
                changed.extend(done);
                Ok(n)
            },
        )
        .await?;
        if let Some(id) = action_id {
            tracing::info!(
                { action.id = id, action.kind = self.name, action.actor = %actor, job.count = changed.len() },
                "operator action recorded"
            );
        }
        let mut unchanged = skipped;
        unchanged.extend(
            targets
                .iter()
                .filter(|r| !changed.contains(&r.id))
                .map(|r| Unchanged {
                    id: r.id,
                    state: r.state.clone(),
                    raced: true,
                }),
        );
        unchanged.sort_by_key(|u| u.id);
        let cancel_requested = match self.statement {
            Statement::Cancel => targets
                .iter()
                .filter(|r| r.state == "running" && changed.contains(&r.id))
                .map(|r| r.id)
                .collect(),
            _ => Vec::new(),
        };
        let mut report = Report::new(self.name, false, changed, unchanged);
        report.action_id = action_id;
        report.cancel_requested = cancel_requested;
        self.report(args, &[], report, &mut ctx.out)
    }

    async fn apply(
        &self,
        chunk: &[i64],
        actor: &str,
        reason: Option<&str>,
        filter_json: &serde_json::Value,
        action_id: Option<i64>,
    ) -> Result<(Option<i64>, Vec<i64>), CliError> {
        apply(
            self.pool,
            &self.statement,
            chunk,
            actor,
            reason,
            filter_json,
            action_id,
        )
        .await
        .map_err(|e| CliError::Failed(format!("cannot {} jobs: {}", self.name, one_line(&e))))
    }

    fn report(
        &self,
        args: &OperatorArgs,
        targets: &[JobRow],
        report: Report,
        out: &mut impl Write,
    ) -> Result<(), CliError> {
        if args.json {
            json_line(out, &report)?;
            return Ok(());
        }
        if report.dry_run {
            writeln!(
                out,
                "dry run: would {} {}; nothing changed",
                self.name,
                jobs(report.changed.len())
            )?;
            let cells: Vec<Vec<String>> = targets
                .iter()
                .map(|r| {
                    vec![
                        r.id.to_string(),
                        r.job_type.clone(),
                        r.state.clone(),
                        format!("{}/{}", r.attempt, r.max_attempts),
                        r.finished_at.map_or_else(|| "-".into(), |t| t.shown(time)),
                        r.last_error_code.clone().unwrap_or_else(|| "-".into()),
                    ]
                })
                .collect();
            if !cells.is_empty() {
                write_table(
                    out,
                    &["ID", "TYPE", "STATE", "ATTEMPTS", "FINISHED", "LAST ERROR"],
                    &cells,
                )?;
            }
        } else {
            match report.action_id {
                Some(id) => writeln!(
                    out,
                    "{} {} (action {id})",
                    self.done,
                    jobs(report.changed.len())
                )?,
                None => writeln!(out, "{} no jobs; nothing changed", self.done)?,
            }
            for id in &report.cancel_requested {
                writeln!(
                    out,
                    "job {id} was running: its worker stops it and records the attempt cancelled"
                )?;
            }
        }
        for u in &report.unchanged {
            if u.raced {
                writeln!(
                    out,
                    "job {} was {}: left alone (it changed meanwhile, or a live job holds its idempotency key)",
                    u.id, u.state
                )?;
            } else {
                writeln!(out, "job {} is {}: left alone", u.id, u.state)?;
            }
        }
        Ok(())
    }
}

/// `1 job`, `3 jobs`.
fn jobs(n: usize) -> String {
    if n == 1 {
        "1 job".to_owned()
    } else {
        format!("{n} jobs")
    }
}

impl Report {
    fn new(
        action: &'static str,
        dry_run: bool,
        changed: Vec<i64>,
        unchanged: Vec<Unchanged>,
    ) -> Self {
        Self {
            action,
            dry_run,
            action_id: None,
            changed,
            cancel_requested: Vec::new(),
            unchanged,
        }
    }
}

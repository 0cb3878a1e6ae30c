//! `herald purge --older-than 30d`: retention. Deletes finished jobs (succeeded, dead,
//! cancelled; or only `--state …`) that finished longer ago than `--older-than`. Their
//! audit rows are kept unless `--include-audit`; the operator-action log is always kept.
//! Purging more than one job needs `--reason` and a confirmation (or `--yes`). Each
//! batch is ONE statement that deletes the jobs and records them in the operator-action
//! row (`queries/operator/purge.sql`).

use std::time::Duration;

use chrono::Utc;
use clap::Args;

use super::action::{Action, OperatorArgs, PurgeScope, Statement, states_within};
use super::filter::{JobFilter, State};
use super::{CliError, Context};
use herald_worker::config::{MAX_DURATION, parse_duration_within};

/// Arguments of `herald purge`.
#[derive(Debug, Args)]
#[command(after_help = r#"Examples:
  herald purge --older-than 30d --dry-run
  herald purge --older-than 30d --reason "retention" --yes
  herald purge --older-than 90d --state dead --include-audit --reason "retention" --yes"#)]
pub struct PurgeArgs {
    /// Purge jobs that finished longer ago than this (e.g. 30d; at most 36500d).
    #[arg(long, value_parser = parse_age)]
    pub older_than: Duration,
    /// Only jobs in this state (repeat or comma-separate; default: all finished states).
    #[arg(long, value_enum, value_delimiter = ',')]
    pub state: Vec<State>,
    /// Also delete the purged jobs' audit rows (kept by default).
    #[arg(long)]
    pub include_audit: bool,
    /// Reason, actor, confirmation, dry run, output, batching.
    #[command(flatten)]
    pub op: OperatorArgs,
}

const FINISHED: [State; 3] = [State::Succeeded, State::Dead, State::Cancelled];

/// `--older-than` accepts 0 s to 36500d.
fn parse_age(text: &str) -> Result<Duration, String> {
    parse_duration_within(text, Duration::ZERO..=MAX_DURATION).map_err(|e| e.to_string())
}

/// Purges the selected jobs.
pub async fn run(args: PurgeArgs, ctx: &mut Context<'_>) -> Result<(), CliError> {
    let states = states_within(
        &args.state,
        &FINISHED,
        &FINISHED,
        "only succeeded, dead or cancelled jobs can be purged",
    )?;
    let before = chrono::Duration::from_std(args.older_than)
        .ok()
        .and_then(|d| Utc::now().checked_sub_signed(d))
        .ok_or_else(|| CliError::Usage("--older-than is too long".to_owned()))?;
    let filter = JobFilter {
        state: states.clone(),
        until: Some(before),
        ..JobFilter::default()
    };
    let pool = ctx.pool().await?;
    let targets = super::filter::select(&pool, None, &filter, &states).await?;
    let mut filter_json = filter.describe(&states);
    if let Some(map) = filter_json.as_object_mut() {
        map.insert("older_than".into(), humantime(args.older_than).into());
        map.insert("include_audit".into(), args.include_audit.into());
    }
    let action = Action {
        pool: &pool,
        name: "purge",
        done: "purged",
        statement: Statement::Purge(PurgeScope {
            states: states.iter().map(|s| s.as_str()).collect(),
            before,
            include_audit: args.include_audit,
        }),
    };
    action
        .execute(&args.op, filter_json, &targets, Vec::new(), ctx)
        .await
}

fn humantime(d: Duration) -> String {
    format!("{}s", d.as_secs())
}

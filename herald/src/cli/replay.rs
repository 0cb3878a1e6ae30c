//! `herald replay`: gives dead (or cancelled) jobs a fresh attempt budget and runs them
//! now, keeping their history: attempt numbers, and so the audit trail, continue.
//!
//! Jobs are named by id, or selected by a filter (`--state dead` by default). More than
//! one job, by ids or by filter, needs `--reason` and a confirmation (or `--yes`): the
//! bulk-action rule in `action.rs`.
//! Replaying a pending, running or retrying job changes nothing and says so; running
//! jobs are never touched. Each batch is ONE statement that changes the jobs and records
//! them in the operator-action row (`queries/operator/replay.sql`).

use clap::Args;

use super::action::{Action, OperatorArgs, Statement, ids_or_filter, states_within};
use super::filter::{JobFilter, State};
use super::{CliError, Context};

/// Arguments of `herald replay`.
#[derive(Debug, Args)]
#[command(after_help = r#"Examples:
  herald replay 4182
  herald replay --fingerprint 68bc02e7be01 --dry-run
  herald replay --fingerprint 68bc02e7be01 --reason "smtp relay fixed" --rate 100/s
  herald replay 4182 4190 4201 --reason "order service redeployed" --yes

More than one job (by ids or by filter) needs --reason and a confirmation, or --yes."#)]
pub struct ReplayArgs {
    /// Job ids to replay (instead of a filter).
    pub ids: Vec<i64>,
    /// Which jobs (default `--state dead`; only dead and cancelled jobs can be replayed).
    #[command(flatten)]
    pub filter: JobFilter,
    /// Reason, actor, confirmation, dry run, output, batching.
    #[command(flatten)]
    pub op: OperatorArgs,
}

const REPLAYABLE: [State; 2] = [State::Dead, State::Cancelled];

/// Replays the selected jobs.
pub async fn run(args: ReplayArgs, ctx: &mut Context<'_>) -> Result<(), CliError> {
    ids_or_filter(&args.ids, &args.filter)?;
    if args.ids.is_empty() && args.filter == JobFilter::default() {
        // Bare `herald replay` would replay every dead job: make that explicit.
        return Err(CliError::Usage(
            "give job ids or at least one filter flag (e.g. --state dead, --fingerprint F)"
                .to_owned(),
        ));
    }
    let states = states_within(
        &args.filter.state,
        &[State::Dead],
        &REPLAYABLE,
        "only dead or cancelled jobs can be replayed",
    )?;
    let pool = ctx.pool().await?;
    let action = Action {
        pool: &pool,
        name: "replay",
        done: "replayed",
        statement: Statement::Replay,
    };
    action
        .run_on_selection(&args.op, &args.ids, &args.filter, &states, &REPLAYABLE, ctx)
        .await
}

//! `herald cancel`: cancels pending, scheduled, retrying or waiting jobs, and stops
//! running ones. Jobs are named by id, or selected by a filter (default: every state
//! not yet started; running jobs only with `--state running`). A running job gets a
//! durable cancel request: the worker holding it signals its handler (at once by NOTIFY,
//! or at its next lease heartbeat), aborts it after `HERALD_CANCEL_GRACE`, and records
//! the attempt `cancelled` with the actor and reason; if that worker is gone, the rescue
//! of its lease ends the job `cancelled`. It never runs again. A cancelled workflow
//! member settles in its batch and ends the jobs waiting for the batch's success, each
//! with a record saying why (`cancel.sql`). More than one job, by ids or by filter,
//! needs `--reason` and a confirmation
//! (or `--yes`): the bulk-action rule in `action.rs`. Each batch is ONE statement that changes the jobs and records them in
//! the operator-action row (`queries/operator/cancel.sql`). A cancelled job can be
//! brought back with `herald replay`.

use clap::Args;

use super::action::{Action, OperatorArgs, Statement, ids_or_filter, states_within};
use super::filter::JobFilter;
use super::{CliError, Context};
use crate::operator::filter::{CANCEL_BY_DEFAULT, CANCELLABLE, CANCELLABLE_RULE};

/// Arguments of `herald cancel`.
#[derive(Debug, Args)]
#[command(after_help = r#"Examples:
  herald cancel 4182
  herald cancel 4183 --reason "sent to the wrong tenant"      # a running job: stopped
  herald cancel --type notify.webhook --queue partners --dry-run
  herald cancel --type notify.webhook --queue partners --reason "partner API retired" --yes

More than one job (by ids or by filter) needs --reason and a confirmation, or --yes."#)]
pub struct CancelArgs {
    /// Job ids to cancel (instead of a filter).
    pub ids: Vec<i64>,
    /// Which jobs (default: pending, scheduled, retrying and waiting; `--state running`
    /// stops running ones).
    #[command(flatten)]
    pub filter: JobFilter,
    /// Reason, actor, confirmation, dry run, output, batching.
    #[command(flatten)]
    pub op: OperatorArgs,
}

/// Cancels the selected jobs.
pub async fn run(args: CancelArgs, ctx: &mut Context<'_>) -> Result<(), CliError> {
    ids_or_filter(&args.ids, &args.filter)?;
    if args.ids.is_empty() && args.filter == JobFilter::default() {
        return Err(CliError::Usage(
            "give job ids or at least one filter flag (e.g. --type T, --queue Q)".to_owned(),
        ));
    }
    let states = states_within(
        &args.filter.state,
        &CANCEL_BY_DEFAULT,
        &CANCELLABLE,
        CANCELLABLE_RULE,
    )?;
    let pool = ctx.pool().await?;
    let action = Action {
        pool: &pool,
        name: "cancel",
        done: "cancelled",
        statement: Statement::Cancel,
    };
    action
        .run_on_selection(
            &args.op,
            &args.ids,
            &args.filter,
            &states,
            &CANCELLABLE,
            ctx,
        )
        .await
}

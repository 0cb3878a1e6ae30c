//! `herald audit`: the audit log, newest first — who did what, when, why, with which
//! filter, to how many jobs and which (`herald.operator_actions`), merged with the
//! failure-rate alert's trips and resolves (`herald.alert_events`, shown as action
//! `alert`, actor = the worker that saw it, the numbers in `filter`).

use chrono::{DateTime, Utc};
use clap::{Args, ValueEnum};
use serde::Serialize;

use super::filter::parse_time_ago;
use super::table::{json_line, time, write_table};
use super::{CliError, Context, one_line};
use herald_worker::stored_time::StoredTime;

/// An operator action kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ActionKind {
    /// `herald replay`.
    Replay,
    /// `herald cancel`.
    Cancel,
    /// `herald purge`.
    Purge,
    /// A failure-rate alert tripping or resolving.
    Alert,
    /// `herald queues pause`.
    Pause,
    /// `herald queues resume`.
    Resume,
    /// `herald limits set`.
    LimitSet,
    /// `herald limits remove`.
    LimitRemove,
}

impl ActionKind {
    fn as_str(self) -> &'static str {
        match self {
            Self::Replay => "replay",
            Self::Cancel => "cancel",
            Self::Purge => "purge",
            Self::Alert => "alert",
            Self::Pause => "pause",
            Self::Resume => "resume",
            Self::LimitSet => "limit_set",
            Self::LimitRemove => "limit_remove",
        }
    }
}

/// Arguments of `herald audit`.
#[derive(Debug, Args)]
#[command(after_help = r#"Examples:
  herald audit --since 24h
  herald audit --action alert
  herald audit --action replay --actor alice --json"#)]
pub struct AuditArgs {
    /// Only this kind of action.
    #[arg(long, value_enum)]
    pub action: Option<ActionKind>,
    /// Only this actor.
    #[arg(long)]
    pub actor: Option<String>,
    /// Actions at or after: a duration ago (`24h`, `7d`) or an RFC 3339 time.
    #[arg(long, value_parser = parse_time_ago)]
    pub since: Option<DateTime<Utc>>,
    /// At most this many actions.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..))]
    pub limit: u32,
    /// One JSON object per line instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// One entry of `audit --json` (field names are a stable contract): an operator action
/// (`kind` `operator_action`) or an alert transition (`kind` `alert_event`; `id` is then
/// the alert event's id).
#[derive(Debug, Serialize)]
pub struct ActionRow {
    kind: String,
    id: i64,
    at: StoredTime,
    actor: String,
    action: String,
    reason: Option<String>,
    filter: serde_json::Value,
    job_count: i64,
    job_ids: Vec<i64>,
}

/// Prints the operator-action log.
pub async fn run(args: AuditArgs, ctx: &mut Context<'_>) -> Result<(), CliError> {
    let pool = ctx.pool().await?;
    let out = &mut ctx.out;
    let rows: Vec<ActionRow> = sqlx::query_file_as!(
        ActionRow,
        "queries/operator/actions.sql",
        args.action.map(ActionKind::as_str),
        args.actor.as_deref(),
        args.since,
        i64::from(args.limit)
    )
    .fetch_all(&pool)
    .await
    .map_err(|e| CliError::Failed(format!("cannot read the audit log: {}", one_line(&e))))?;
    if args.json {
        for row in &rows {
            json_line(out, row)?;
        }
        return Ok(());
    }
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                // Alert events are numbered apart from operator actions.
                match r.kind.as_str() {
                    "operator_action" => r.id.to_string(),
                    _ => "-".to_owned(),
                },
                r.at.shown(time),
                r.action.clone(),
                r.actor.clone(),
                r.job_count.to_string(),
                ids_preview(&r.job_ids),
                r.reason.clone().unwrap_or_else(|| "-".into()),
                r.filter.to_string(),
            ]
        })
        .collect();
    write_table(
        out,
        &[
            "ID", "AT", "ACTION", "ACTOR", "JOBS", "IDS", "REASON", "FILTER",
        ],
        &cells,
    )?;
    Ok(())
}

/// The first few ids, then how many more.
fn ids_preview(ids: &[i64]) -> String {
    const SHOWN: usize = 5;
    let head: Vec<String> = ids.iter().take(SHOWN).map(i64::to_string).collect();
    match ids.len().saturating_sub(SHOWN) {
        0 => head.join(","),
        more => format!("{},… (+{more})", head.join(",")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_id_lists_are_shortened() {
        assert_eq!(ids_preview(&[1, 2]), "1,2");
        assert_eq!(ids_preview(&[1, 2, 3, 4, 5, 6, 7]), "1,2,3,4,5,… (+2)");
    }
}

//! The one statement per batch that applies an operator action (replay, cancel, purge)
//! to jobs and records them in the operator-action row, shared by `herald replay`,
//! `cancel`, `purge` (`cli::action`) and the console's job actions. The first batch
//! creates the action row (`action_id` `None`); later batches extend it.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

/// Only for `purge`: which jobs the statement may delete, re-checked per batch.
#[derive(Debug, Clone)]
pub struct PurgeScope {
    /// The states purge may delete.
    pub states: Vec<&'static str>,
    /// Finished before this.
    pub before: DateTime<Utc>,
    /// Whether their audit rows go too.
    pub include_audit: bool,
}

/// Which statement applies a batch (`queries/operator/<name>.sql`).
pub enum Statement {
    /// `replay.sql`.
    Replay,
    /// `cancel.sql`.
    Cancel,
    /// `purge.sql`, within its scope.
    Purge(PurgeScope),
}

/// What a batch's statement returns: the action's id (`None` when nothing changed) and
/// the changed job ids.
struct Applied {
    action_id: Option<i64>,
    ids: Vec<i64>,
}

/// Applies `statement` to the jobs `chunk` as `actor` for `reason`, recording `filter`
/// in the action row `action_id` (created when `None`). Returns the action's id (`None`
/// when nothing changed) and the ids it changed.
pub async fn apply(
    pool: &PgPool,
    statement: &Statement,
    chunk: &[i64],
    actor: &str,
    reason: Option<&str>,
    filter: &serde_json::Value,
    action_id: Option<i64>,
) -> Result<(Option<i64>, Vec<i64>), sqlx::Error> {
    let (p, a, r, f) = (chunk, actor, reason, filter);
    let applied = match statement {
        Statement::Replay => {
            sqlx::query_file_as!(
                Applied,
                "queries/operator/replay.sql",
                p,
                a,
                r,
                f,
                action_id
            )
            .fetch_one(pool)
            .await
        }
        Statement::Cancel => {
            sqlx::query_file_as!(
                Applied,
                "queries/operator/cancel.sql",
                p,
                a,
                r,
                f,
                action_id
            )
            .fetch_one(pool)
            .await
        }
        Statement::Purge(scope) => {
            sqlx::query_file_as!(
                Applied,
                "queries/operator/purge.sql",
                p,
                a,
                r,
                f,
                action_id,
                &scope.states as _,
                scope.before,
                scope.include_audit
            )
            .fetch_one(pool)
            .await
        }
    };
    applied.map(|row| (row.action_id, row.ids))
}

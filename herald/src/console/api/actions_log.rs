//! `GET /api/v1/actions?action=replay&actor=alice&since=24h&limit=100`: the audit log,
//! newest first, as `herald audit` shows it (`queries/operator/actions.sql`): operator
//! actions (who, when, why, with which filter, to how many jobs and which) merged with
//! the failure-rate alert's transitions (action `alert`).
//!
//! | query parameter | meaning |
//! |---|---|
//! | `action` | `replay`, `cancel`, `purge`, `pause`, `resume` or `alert` |
//! | `actor` | one actor (a user, or for `alert` the worker that saw it) |
//! | `since` | a duration ago (`24h`) or an RFC 3339 time |
//! | `limit` | 1-500 (default 100) |

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use serde::{Deserialize, Serialize};

use super::failures::bad_query;
use crate::console::ConsoleState;
use crate::console::errors::ApiError;
use crate::console::sessions::Session;
use crate::operator::filter::parse_time_ago;
use herald_worker::stored_time::StoredTime;

/// The actions the log holds.
const ACTIONS: [&str; 6] = ["replay", "cancel", "purge", "pause", "resume", "alert"];
/// The largest page.
const MAX_LIMIT: u32 = 500;

/// The query string.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ActionsQuery {
    action: Option<String>,
    actor: Option<String>,
    since: Option<String>,
    limit: Option<u32>,
}

/// One entry (the fields of `herald audit --json`).
#[derive(Debug, Serialize)]
pub(crate) struct ActionEntry {
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

/// The log.
#[derive(Debug, Serialize)]
pub(crate) struct ActionsLog {
    actions: Vec<ActionEntry>,
}

/// Answers the audit log.
pub(crate) async fn list(
    State(state): State<Arc<ConsoleState>>,
    _session: Session,
    query: Result<Query<ActionsQuery>, QueryRejection>,
) -> Result<Json<ActionsLog>, ApiError> {
    let Query(q) = query.map_err(|e| bad_query(&e))?;
    let action = q.action.as_deref().filter(|a| !a.is_empty());
    if let Some(a) = action
        && !ACTIONS.contains(&a)
    {
        return Err(ApiError::Validation(format!(
            "action: one of {}",
            ACTIONS.join(", ")
        )));
    }
    let limit = q.limit.unwrap_or(100);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::Validation(format!("limit: 1 to {MAX_LIMIT}")));
    }
    let since = q
        .since
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(|s| parse_time_ago(s).map_err(|why| ApiError::Validation(format!("since: {why}"))))
        .transpose()?;
    let actor = q.actor.as_deref().filter(|a| !a.is_empty());
    let actions = sqlx::query_file_as!(
        ActionEntry,
        "queries/operator/actions.sql",
        action,
        actor,
        since,
        i64::from(limit)
    )
    .fetch_all(&state.pool)
    .await?;
    Ok(Json(ActionsLog { actions }))
}

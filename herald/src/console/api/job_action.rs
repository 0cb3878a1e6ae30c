//! `POST /api/v1/jobs/{id}/actions` (operator role): replay or cancel ONE job, with a
//! required `reason`, by the same statements as `herald replay` / `herald cancel`
//! (`operator::apply`), the logged-in user as the actor.
//!
//! | outcome | answer |
//! |---|---|
//! | the job changed | 200 `{"action", "job_id", "action_id"}` |
//! | no such job | 404 `NOT_FOUND` |
//! | its state does not allow the action (a running job replayed, a dead one cancelled, a replay whose idempotency key a live job holds) | 409 `CONFLICT`, naming its state; nothing changes |
//! | no reason, an unknown action, an id that is not an integer | 400 `VALIDATION_ERROR` |
//!
//! The statement itself checks the state under a row lock, so a job that changes
//! between the request and the statement is a `CONFLICT`, never a wrong change.

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};

use crate::console::ConsoleState;
use crate::console::errors::ApiError;
use crate::console::extract::ApiJson;
use crate::console::sessions::Operator;
use crate::operator::apply::{Statement, apply};
use crate::operator::job;

/// The body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct JobActionBody {
    action: String,
    #[serde(default)]
    reason: Option<String>,
}

/// The answer.
#[derive(Debug, Serialize)]
pub(crate) struct JobActionAnswer {
    action: &'static str,
    job_id: i64,
    /// The operator action recorded.
    action_id: Option<i64>,
}

/// Replays or cancels the job.
pub(crate) async fn run(
    State(state): State<Arc<ConsoleState>>,
    Operator(session): Operator,
    id: Result<Path<i64>, PathRejection>,
    ApiJson(body): ApiJson<JobActionBody>,
) -> Result<Json<JobActionAnswer>, ApiError> {
    let Path(id) = id.map_err(|_| ApiError::Validation("id: a job id (an integer)".to_owned()))?;
    let (name, statement, rule) = match body.action.as_str() {
        "replay" => (
            "replay",
            Statement::Replay,
            "only a dead or cancelled job can be replayed (and not while a live job holds its idempotency key)",
        ),
        "cancel" => (
            "cancel",
            Statement::Cancel,
            crate::operator::filter::CANCELLABLE_RULE,
        ),
        _ => return Err(ApiError::Validation("action: replay or cancel".to_owned())),
    };
    let reason = body
        .reason
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(herald_worker::sanitize::sanitize)
        .ok_or_else(|| {
            ApiError::Validation("reason: required (why, recorded in the audit log)".to_owned())
        })?;
    let filter = serde_json::json!({ "id": id });
    let (action_id, changed) = apply(
        &state.pool,
        &statement,
        &[id],
        &session.username,
        Some(&reason),
        &filter,
        None,
    )
    .await?;
    if changed.is_empty() {
        let current = job::load(&state.pool, id)
            .await?
            .and_then(|shown| shown.job)
            .map(|job| job.state);
        return Err(match current {
            None => ApiError::NotFound(format!("job {id} not found")),
            Some(s) => ApiError::Conflict(format!("job {id} is {s}: {rule}")),
        });
    }
    tracing::info!(
        { action.id = action_id, action.kind = name, action.actor = %session.username, job.id = id, console.source = %session.source },
        "operator action recorded"
    );
    Ok(Json(JobActionAnswer {
        action: name,
        job_id: id,
        action_id,
    }))
}

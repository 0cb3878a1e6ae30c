//! `POST /api/v1/jobs/actions` (operator role): replay or cancel ALL jobs matching a
//! filter. `"dry_run": true` answers how many jobs would change and changes nothing;
//! otherwise a non-empty `reason` is required. The jobs are selected and changed by the
//! same code as `herald replay` / `herald cancel` (`operator::filter`,
//! `operator::apply`: one statement per batch that changes the jobs and records them in
//! the operator-action row), with the logged-in user as the actor.
//!
//! | `action` | selects (default / allowed states) | changes |
//! |---|---|---|
//! | `replay` | `dead` / `dead`, `cancelled` | to pending with a fresh attempt budget |
//! | `cancel` | `pending`, `scheduled`, `retrying` / the same and `running` | waiting jobs to cancelled; running ones get a cancel request (their worker stops them, see `herald cancel`) |
//!
//! A filter must name at least one field (no "every job" by omission). Filter values are
//! bound as query parameters: SQL-looking text is only data.

use std::sync::Arc;

use axum::Json;
use axum::extract::State as AxumState;
use serde::{Deserialize, Serialize};

use super::filter::FilterBody;
use crate::console::ConsoleState;
use crate::console::errors::ApiError;
use crate::console::extract::ApiJson;
use crate::console::sessions::Operator;
use crate::operator::OperatorError;
use crate::operator::apply::{Statement, apply};
use crate::operator::filter::{self, JobFilter, State};

/// Jobs changed per statement.
const BATCH: usize = 500;

const REPLAYABLE: [State; 2] = [State::Dead, State::Cancelled];

/// The body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ActionBody {
    action: String,
    #[serde(default)]
    filter: FilterBody,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    dry_run: bool,
}

/// The answer.
#[derive(Debug, Serialize)]
pub(crate) struct ActionAnswer {
    action: &'static str,
    dry_run: bool,
    /// Jobs that would change (dry run) or changed.
    count: usize,
    /// The operator action recorded (`null` for a dry run or when nothing changed).
    action_id: Option<i64>,
}

/// The body's filter with `default` states when none are named; each must be one
/// of `allowed` (else `"{rule}, not {state}"`), and at least one field is required.
fn job_filter(
    body: &FilterBody,
    default: &[State],
    allowed: &[State],
    rule: &str,
) -> Result<(JobFilter, Vec<State>), ApiError> {
    if body.is_empty() {
        return Err(ApiError::Validation(
            "filter: name at least one field (state, type, queue, error_code, fingerprint, since, until, text)".to_owned(),
        ));
    }
    let mut filter = body.to_job_filter()?;
    if filter.state.is_empty() {
        filter.state = default.to_vec();
    }
    if let Some(bad) = filter.state.iter().find(|s| !allowed.contains(s)) {
        return Err(ApiError::Validation(format!(
            "filter.state: {rule}, not {}",
            bad.as_str()
        )));
    }
    let states = filter.state.clone();
    Ok((filter, states))
}

impl From<OperatorError> for ApiError {
    fn from(e: OperatorError) -> Self {
        Self::Internal(e.to_string())
    }
}

/// Runs the action (or counts it).
pub(crate) async fn run(
    AxumState(state): AxumState<Arc<ConsoleState>>,
    Operator(session): Operator,
    ApiJson(body): ApiJson<ActionBody>,
) -> Result<Json<ActionAnswer>, ApiError> {
    let (name, statement, default, allowed, rule): (
        &'static str,
        Statement,
        &[State],
        &[State],
        &str,
    ) = match body.action.as_str() {
        "replay" => (
            "replay",
            Statement::Replay,
            &[State::Dead],
            &REPLAYABLE,
            "only dead or cancelled jobs can be replayed",
        ),
        "cancel" => (
            "cancel",
            Statement::Cancel,
            &filter::CANCEL_BY_DEFAULT,
            &filter::CANCELLABLE,
            filter::CANCELLABLE_RULE,
        ),
        _ => return Err(ApiError::Validation("action: replay or cancel".to_owned())),
    };
    let (job_filter, states) = job_filter(&body.filter, default, allowed, rule)?;
    let mut ids: Vec<i64> = filter::select(&state.pool, None, &job_filter, &states)
        .await?
        .into_iter()
        .filter(|r| allowed.iter().any(|s| s.as_str() == r.state))
        .map(|r| r.id)
        .collect();
    ids.sort_unstable();
    if body.dry_run {
        return Ok(Json(ActionAnswer {
            action: name,
            dry_run: true,
            count: ids.len(),
            action_id: None,
        }));
    }
    let reason = body
        .reason
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(herald_worker::sanitize::sanitize)
        .ok_or_else(|| {
            ApiError::Validation("reason: required (why, recorded in the audit log)".to_owned())
        })?;
    let filter_json = job_filter.describe(&states);
    let mut action_id = None;
    let mut changed = 0;
    for chunk in ids.chunks(BATCH) {
        let (id, done) = apply(
            &state.pool,
            &statement,
            chunk,
            &session.username,
            Some(&reason),
            &filter_json,
            action_id,
        )
        .await?;
        action_id = id.or(action_id);
        changed += done.len();
    }
    if let Some(id) = action_id {
        tracing::info!(
            { action.id = id, action.kind = name, action.actor = %session.username, job.count = changed, console.source = %session.source },
            "operator action recorded"
        );
    }
    Ok(Json(ActionAnswer {
        action: name,
        dry_run: false,
        count: changed,
        action_id,
    }))
}

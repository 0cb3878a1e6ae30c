//! `GET /api/v1/failures?since=24h&type=T`: failed attempts grouped by fingerprint, most
//! attempts first, as `herald failures` shows them (`operator::failures`): count, jobs,
//! first and last seen, type, code, a sample sanitised message, an example job.

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use serde::{Deserialize, Serialize};

use crate::console::ConsoleState;
use crate::console::errors::ApiError;
use crate::console::sessions::Session;
use crate::operator::failures::{Group, load};
use crate::operator::filter::parse_time_ago;

/// The query string.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FailuresQuery {
    /// A duration ago or an RFC 3339 time (default `24h`).
    since: Option<String>,
    /// One job type.
    #[serde(rename = "type")]
    job_type: Option<String>,
}

/// The groups.
#[derive(Debug, Serialize)]
pub(crate) struct Failures {
    groups: Vec<Group>,
}

/// A query string that does not parse, as a `VALIDATION_ERROR`.
pub(crate) fn bad_query(e: &QueryRejection) -> ApiError {
    let why = std::error::Error::source(e).map_or_else(String::new, |s| s.to_string());
    ApiError::Validation(format!(
        "the query string does not match: {}",
        herald_worker::sanitize::sanitize(&why)
    ))
}

/// Answers the failure groups.
pub(crate) async fn list(
    State(state): State<Arc<ConsoleState>>,
    _session: Session,
    query: Result<Query<FailuresQuery>, QueryRejection>,
) -> Result<Json<Failures>, ApiError> {
    let Query(query) = query.map_err(|e| bad_query(&e))?;
    let since = parse_time_ago(query.since.as_deref().unwrap_or("24h"))
        .map_err(|why| ApiError::Validation(format!("since: {why}")))?;
    let job_type = query.job_type.as_deref().filter(|t| !t.is_empty());
    let groups = load(&state.pool, since, job_type).await?;
    Ok(Json(Failures { groups }))
}

//! `GET /api/v1/jobs`: jobs matching a filter, newest first, a page at a time; and
//! `GET /api/v1/jobs/{id}`: one job, its payload through the sanitiser, its audit trail
//! attempt by attempt and the operator actions on it, with trace links.
//!
//! | query parameter | meaning |
//! |---|---|
//! | `state` | comma-separated states (`dead,retrying`) |
//! | `type`, `queue`, `error_code`, `fingerprint` | as the CLI's flags |
//! | `since`, `until` | a duration ago (`2h`) or an RFC 3339 time |
//! | `text` | text in the job's id (exactly) or its idempotency key (a substring, plain text) |
//! | `after` | the keyset cursor: only ids below it (the previous page's `next_after`), served by the primary key however many jobs there are |
//! | `limit` | page size, 1-500 (default 100) |
//!
//! Trace links: `--trace-url` is a template whose `{trace_id}` is replaced by an
//! attempt's trace id (Jaeger: `http://jaeger:16686/trace/{trace_id}`; Tempo/Grafana:
//! an Explore URL holding `{trace_id}`).

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use serde::{Deserialize, Serialize};

use super::failures::bad_query;
use super::filter::FilterBody;
use crate::console::ConsoleState;
use crate::console::errors::ApiError;
use crate::console::sessions::Session;
use crate::operator::filter;
use crate::operator::job::{self, Entry, JobJson, Shown};

/// The default page size.
const DEFAULT_LIMIT: u32 = 100;
/// The largest page.
const MAX_LIMIT: u32 = 500;

/// The query string of the list.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct JobsQuery {
    state: Option<String>,
    #[serde(rename = "type")]
    job_type: Option<String>,
    queue: Option<String>,
    error_code: Option<String>,
    fingerprint: Option<String>,
    since: Option<String>,
    until: Option<String>,
    text: Option<String>,
    after: Option<i64>,
    limit: Option<u32>,
}

/// A page of jobs.
#[derive(Debug, Serialize)]
pub(crate) struct JobsPage {
    jobs: Vec<JobJson>,
    /// Pass as `after` for the next page; `null` on the last one.
    next_after: Option<i64>,
}

/// Answers a page of jobs.
pub(crate) async fn list(
    State(state): State<Arc<ConsoleState>>,
    _session: Session,
    query: Result<Query<JobsQuery>, QueryRejection>,
) -> Result<Json<JobsPage>, ApiError> {
    let Query(q) = query.map_err(|e| bad_query(&e))?;
    let limit = q.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::Validation(format!("limit: 1 to {MAX_LIMIT}")));
    }
    let body = FilterBody {
        state: q
            .state
            .as_deref()
            .map(|s| {
                s.split(',')
                    .filter(|s| !s.trim().is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default(),
        job_type: q.job_type,
        queue: q.queue,
        error_code: q.error_code,
        fingerprint: q.fingerprint,
        since: q.since,
        until: q.until,
        text: q.text,
    };
    let mut fetch = body.to_job_filter()?;
    // One more than shown says whether another page follows.
    fetch.limit = Some(limit + 1);
    let states = fetch.state.clone();
    let mut rows = filter::select_page(&state.pool, None, &fetch, &states, q.after).await?;
    let more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let next_after = rows.last().map(|r| r.id).filter(|_| more);
    Ok(Json(JobsPage {
        jobs: rows.iter().map(JobJson::from).collect(),
        next_after,
    }))
}

/// One job with its timeline and trace links.
#[derive(Debug, Serialize)]
pub(crate) struct JobShown {
    #[serde(flatten)]
    shown: Shown,
    /// Each attempt's trace link, by attempt (when `--trace-url` is set and the attempt
    /// has a trace id).
    trace_links: Vec<TraceLink>,
}

/// An attempt's trace link.
#[derive(Debug, Serialize)]
pub(crate) struct TraceLink {
    attempt: i32,
    trace_id: String,
    url: String,
}

/// Answers one job.
pub(crate) async fn show(
    State(state): State<Arc<ConsoleState>>,
    _session: Session,
    id: Result<Path<i64>, PathRejection>,
) -> Result<Json<JobShown>, ApiError> {
    let Path(id) = id.map_err(|_| ApiError::Validation("id: a job id (an integer)".to_owned()))?;
    let shown = job::load(&state.pool, id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("job {id} not found")))?;
    let trace_links = match &state.trace_url {
        None => Vec::new(),
        Some(template) => shown
            .timeline
            .iter()
            .filter_map(|e| match e {
                Entry::Attempt(a) => a.trace_id.as_ref().map(|t| TraceLink {
                    attempt: a.attempt,
                    trace_id: t.clone(),
                    url: template.replace("{trace_id}", t),
                }),
                Entry::Action(_) | Entry::Workflow(_) => None,
            })
            .collect(),
    };
    Ok(Json(JobShown { shown, trace_links }))
}

//! `GET /api/v1/queues`: each queue's state (active, or paused with when, by whom and
//! why), jobs by state (pending, scheduled, running, retrying, dead, waiting) and the live
//! workers serving it, as `herald queues` shows them (`queries/operator/queues.sql`).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use herald_worker::stored_time::StoredTime;
use serde::Serialize;

use crate::console::ConsoleState;
use crate::console::errors::ApiError;
use crate::console::sessions::Session;

/// One queue's depth.
#[derive(Debug, Serialize)]
pub(crate) struct QueueDepth {
    pub(crate) queue: String,
    /// `active` or `paused` (`herald queues pause`).
    pub(crate) state: String,
    pub(crate) pending: i64,
    pub(crate) scheduled: i64,
    pub(crate) running: i64,
    pub(crate) retrying: i64,
    pub(crate) dead: i64,
    /// Workflow callbacks and chain steps not yet released by their batch.
    pub(crate) waiting: i64,
    pub(crate) workers: i64,
    /// While paused: since when, by whom, why.
    pub(crate) paused_at: Option<StoredTime>,
    pub(crate) paused_by: Option<String>,
    pub(crate) pause_reason: Option<String>,
}

/// The queues, by name.
#[derive(Debug, Serialize)]
pub(crate) struct Queues {
    queues: Vec<QueueDepth>,
}

/// Answers the queues' depths.
pub(crate) async fn list(
    State(state): State<Arc<ConsoleState>>,
    _session: Session,
) -> Result<Json<Queues>, ApiError> {
    let queues = sqlx::query_file_as!(QueueDepth, "queries/operator/queues.sql")
        .fetch_all(&state.pool)
        .await?;
    Ok(Json(Queues { queues }))
}

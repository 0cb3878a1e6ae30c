//! `GET /api/v1/queues`: jobs by queue and state (pending, scheduled, running,
//! retrying, dead) and the live workers serving each queue, as `herald queues` shows
//! them (`queries/operator/queues.sql`).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde::Serialize;

use crate::console::ConsoleState;
use crate::console::errors::ApiError;
use crate::console::sessions::Session;

/// One queue's depth.
#[derive(Debug, Serialize)]
pub(crate) struct QueueDepth {
    pub(crate) queue: String,
    pub(crate) pending: i64,
    pub(crate) scheduled: i64,
    pub(crate) running: i64,
    pub(crate) retrying: i64,
    pub(crate) dead: i64,
    pub(crate) workers: i64,
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

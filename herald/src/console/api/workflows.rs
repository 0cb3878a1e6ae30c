//! `GET /api/v1/workflows/{batch_id}` (viewer): a batch (or a chain, from its first
//! batch) as a tree, the same JSON as `herald workflows show ID --json`, built by the
//! same code (`operator::workflow`).

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};

use crate::console::ConsoleState;
use crate::console::errors::ApiError;
use crate::console::sessions::Session;
use crate::operator::workflow::{self, BatchNode};

/// Answers the batch's tree, or `NOT_FOUND`.
pub(crate) async fn show(
    State(state): State<Arc<ConsoleState>>,
    _session: Session,
    id: Result<Path<i64>, PathRejection>,
) -> Result<Json<BatchNode>, ApiError> {
    let Path(id) =
        id.map_err(|_| ApiError::Validation("batch_id: a batch id (an integer)".to_owned()))?;
    workflow::load(&state.pool, id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::NotFound(format!("batch {id} not found")))
}

//! One workflow as a tree, shared by `herald workflows show` (text and `--json`) and the
//! console's `GET /api/v1/workflows/{batch_id}`: a batch's counters and events, each
//! member's state, attempts and last error, each callback's state (a held one with the
//! record naming the dead upstream job), and the batch a callback is itself a member of
//! (a chain's next step), nested below it. The JSON field names are a stable contract.

use serde::Serialize;
use sqlx::PgPool;

use super::OperatorError;
use herald_worker::stored_time::StoredTime;

/// How deep a chain is followed (each step is one level).
const MAX_DEPTH: usize = 1000;

/// A batch in the tree (`--json` field names are a stable contract).
#[derive(Debug, Serialize)]
pub struct BatchNode {
    pub(crate) id: i64,
    pub(crate) description: Option<String>,
    pub(crate) total: i32,
    pub(crate) succeeded: i32,
    pub(crate) dead: i32,
    /// Members cancelled by an operator (settled, never succeeded).
    pub(crate) cancelled: i32,
    pub(crate) created_at: StoredTime,
    pub(crate) completed_at: Option<StoredTime>,
    pub(crate) succeeded_at: Option<StoredTime>,
    pub(crate) died_at: Option<StoredTime>,
    pub(crate) members: Vec<JobNode>,
    pub(crate) callbacks: Vec<JobNode>,
}

/// A member or callback in the tree.
#[derive(Debug, Serialize)]
pub struct JobNode {
    pub(crate) id: i64,
    #[serde(rename = "type")]
    pub(crate) job_type: String,
    pub(crate) state: String,
    pub(crate) attempt: i32,
    pub(crate) max_attempts: i32,
    pub(crate) last_error_code: Option<String>,
    pub(crate) last_error: Option<String>,
    pub(crate) held: Option<String>,
    /// For a callback: the event it waits for.
    #[serde(rename = "on", skip_serializing_if = "Option::is_none")]
    pub(crate) role: Option<String>,
    /// For a callback that is itself a member of a batch (a chain's next step): that batch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) batch: Option<Box<BatchNode>>,
    #[serde(skip)]
    pub(crate) next_batch: Option<i64>,
}

struct BatchRow {
    id: i64,
    total: i32,
    succeeded: i32,
    dead: i32,
    cancelled: i32,
    description: Option<String>,
    created_at: StoredTime,
    completed_at: Option<StoredTime>,
    succeeded_at: Option<StoredTime>,
    died_at: Option<StoredTime>,
}

/// Batch `id` as a tree (`None`: no such batch).
pub async fn load(pool: &PgPool, id: i64) -> Result<Option<BatchNode>, OperatorError> {
    load_at(pool, id, 0).await
}

async fn load_at(pool: &PgPool, id: i64, depth: usize) -> Result<Option<BatchNode>, OperatorError> {
    let read = |e: sqlx::Error| OperatorError::Database("read the batch", e);
    let Some(b) = sqlx::query_file_as!(BatchRow, "queries/workflows/batch.sql", id)
        .fetch_optional(pool)
        .await
        .map_err(read)?
    else {
        return Ok(None);
    };
    let jobs: Vec<JobNode> = sqlx::query_file!("queries/workflows/batch_jobs.sql", id)
        .fetch_all(pool)
        .await
        .map_err(read)?
        .into_iter()
        .map(|r| JobNode {
            id: r.id,
            job_type: r.job_type,
            state: r.state,
            attempt: r.attempt,
            max_attempts: r.max_attempts,
            last_error_code: r.last_error_code,
            last_error: r.last_error,
            held: r.held,
            role: r.role,
            batch: None,
            next_batch: r.next_batch,
        })
        .collect();
    let (mut callbacks, members): (Vec<JobNode>, Vec<JobNode>) =
        jobs.into_iter().partition(|j| j.role.is_some());
    if depth < MAX_DEPTH {
        for callback in &mut callbacks {
            if let Some(next) = callback.next_batch {
                callback.batch = Box::pin(load_at(pool, next, depth + 1))
                    .await?
                    .map(Box::new);
            }
        }
    }
    Ok(Some(BatchNode {
        id: b.id,
        description: b.description,
        total: b.total,
        succeeded: b.succeeded,
        dead: b.dead,
        cancelled: b.cancelled,
        created_at: b.created_at,
        completed_at: b.completed_at,
        succeeded_at: b.succeeded_at,
        died_at: b.died_at,
        members,
        callbacks,
    }))
}

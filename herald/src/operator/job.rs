//! One job as operators see it: the list row (`JobJson`), and the detail with its
//! payload through the sanitiser and its timeline (every attempt and every operator
//! action on it), shared by `herald jobs list|show` and the console.

use serde::Serialize;
use sqlx::PgPool;

use super::OperatorError;
use super::filter::JobRow;
use herald_worker::sanitize::{sanitize, sanitize_json};
use herald_worker::stored_time::StoredTime;

/// A job in `jobs list --json` and the console's jobs list (field names are a stable
/// contract).
#[derive(Debug, Serialize)]
pub struct JobJson {
    pub(crate) id: i64,
    #[serde(rename = "type")]
    pub(crate) job_type: String,
    pub(crate) queue: String,
    pub(crate) state: String,
    pub(crate) attempt: i32,
    pub(crate) max_attempts: i32,
    pub(crate) priority: i16,
    pub(crate) run_at: StoredTime,
    pub(crate) created_at: StoredTime,
    pub(crate) finished_at: Option<StoredTime>,
    pub(crate) last_error_code: Option<String>,
    pub(crate) fingerprint: Option<String>,
}

impl From<&JobRow> for JobJson {
    fn from(r: &JobRow) -> Self {
        Self {
            id: r.id,
            job_type: r.job_type.clone(),
            queue: r.queue.clone(),
            state: r.state.clone(),
            attempt: r.attempt,
            max_attempts: r.max_attempts,
            priority: r.priority,
            run_at: r.run_at,
            created_at: r.created_at,
            finished_at: r.finished_at,
            last_error_code: r.last_error_code.clone(),
            fingerprint: r.fingerprint(),
        }
    }
}

/// One job as shown (its payload redacted).
#[derive(Debug, Serialize)]
pub struct JobDetail {
    pub(crate) id: i64,
    #[serde(rename = "type")]
    pub(crate) job_type: String,
    pub(crate) queue: String,
    pub(crate) state: String,
    pub(crate) attempt: i32,
    pub(crate) max_attempts: i32,
    pub(crate) priority: i16,
    pub(crate) run_at: StoredTime,
    pub(crate) created_at: StoredTime,
    pub(crate) finished_at: Option<StoredTime>,
    pub(crate) last_error_code: Option<String>,
    pub(crate) locked_by: Option<String>,
    pub(crate) idempotency_key: Option<String>,
    pub(crate) payload: ShownPayload,
    /// Why a waiting job is not being claimed now (its queue is paused), if anything
    /// holds it.
    pub(crate) held: Option<String>,
}

/// A payload as `jobs show` prints it: redacted JSON, or, for text that cannot be read
/// back as a JSON value (nested deeper than serde_json's 128 levels: the worker runs
/// such jobs from their text, but they cannot be redacted structurally), a note saying
/// so instead of failing the whole command.
#[derive(Debug, Serialize)]
#[serde(transparent)]
pub struct ShownPayload(pub serde_json::Value);

/// Read from the payload's text (`job.sql` selects `payload::text`).
impl sqlx::Type<sqlx::Postgres> for ShownPayload {
    fn type_info() -> sqlx::postgres::PgTypeInfo {
        <String as sqlx::Type<sqlx::Postgres>>::type_info()
    }
}

impl<'r> sqlx::Decode<'r, sqlx::Postgres> for ShownPayload {
    fn decode(value: sqlx::postgres::PgValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
        <String as sqlx::Decode<sqlx::Postgres>>::decode(value).map(Self::from)
    }
}

impl From<String> for ShownPayload {
    fn from(text: String) -> Self {
        match serde_json::from_str::<serde_json::Value>(&text) {
            Ok(value) => Self(sanitize_json(&value)),
            Err(e) => Self(serde_json::Value::String(format!(
                "[payload not shown: {} bytes that cannot be read as a JSON value to redact ({})]",
                text.len(),
                herald_worker::sanitize::sanitize(&e.to_string())
            ))),
        }
    }
}

/// One attempt of a job's audit trail.
#[derive(Debug, Serialize)]
pub struct AttemptEntry {
    pub(crate) attempt: i32,
    pub(crate) worker_id: String,
    pub(crate) started_at: StoredTime,
    pub(crate) finished_at: StoredTime,
    pub(crate) duration_ms: i32,
    pub(crate) outcome: String,
    pub(crate) job_state: String,
    pub(crate) error_code: Option<String>,
    pub(crate) error_class: Option<String>,
    pub(crate) message: Option<String>,
    pub(crate) next_run_at: Option<StoredTime>,
    pub(crate) trace_id: Option<String>,
    pub(crate) error_chain: Option<String>,
}

/// One operator action on a job.
#[derive(Debug, Serialize)]
pub struct ActionEntry {
    #[serde(rename = "action_id")]
    pub(crate) id: i64,
    pub(crate) at: StoredTime,
    pub(crate) actor: String,
    pub(crate) action: String,
    pub(crate) reason: Option<String>,
}

/// One entry of a job's timeline in `jobs show --json`, tagged by `kind`.
#[derive(Debug, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Entry {
    /// An attempt.
    Attempt(AttemptEntry),
    /// An operator action.
    Action(ActionEntry),
    /// A workflow record.
    Workflow(WorkflowEntry),
}

/// A workflow record (`herald.workflow_events`): what happened to the job because of
/// another job, e.g. `held` by a dead batch member or chain step.
#[derive(Debug, Serialize)]
pub struct WorkflowEntry {
    pub(crate) at: StoredTime,
    pub(crate) event: String,
    pub(crate) batch_id: i64,
    pub(crate) upstream_job_id: i64,
    pub(crate) upstream_error_code: Option<String>,
    pub(crate) message: String,
}

impl Entry {
    pub(crate) fn at(&self) -> StoredTime {
        match self {
            Self::Attempt(a) => a.started_at,
            Self::Action(a) => a.at,
            Self::Workflow(w) => w.at,
        }
    }
}

/// A job and its timeline: `job` is `None` when it was purged but its trail remains.
#[derive(Debug, Serialize)]
pub struct Shown {
    /// The job id.
    pub id: i64,
    /// The job, if it still exists.
    pub job: Option<JobDetail>,
    /// Its attempts, the operator actions on it and its workflow records, oldest first.
    pub timeline: Vec<Entry>,
}

/// Job `id` with its timeline; `None` when neither the job nor any trail of it exists.
pub async fn load(pool: &PgPool, id: i64) -> Result<Option<Shown>, OperatorError> {
    let read = |e: sqlx::Error| OperatorError::Database("read the job", e);
    let job: Option<JobDetail> = sqlx::query_file_as!(JobDetail, "queries/operator/job.sql", id)
        .fetch_optional(pool)
        .await
        .map_err(read)?;
    let mut attempts: Vec<AttemptEntry> =
        sqlx::query_file_as!(AttemptEntry, "queries/operator/job_attempts.sql", id)
            .fetch_all(pool)
            .await
            .map_err(read)?;
    // Written sanitised; sanitised again on the way out (idempotent), so a row written
    // around Herald (raw SQL, an older version) cannot show a secret either.
    for a in &mut attempts {
        a.message = a.message.as_deref().map(sanitize);
        a.error_chain = a.error_chain.as_deref().map(sanitize);
    }
    let actions: Vec<ActionEntry> =
        sqlx::query_file_as!(ActionEntry, "queries/operator/job_actions.sql", id)
            .fetch_all(pool)
            .await
            .map_err(read)?;
    let workflow: Vec<WorkflowEntry> = sqlx::query_file_as!(
        WorkflowEntry,
        "queries/operator/job_workflow_events.sql",
        id
    )
    .fetch_all(pool)
    .await
    .map_err(read)?;
    if job.is_none() && attempts.is_empty() && actions.is_empty() && workflow.is_empty() {
        return Ok(None);
    }
    let mut timeline: Vec<Entry> = attempts.into_iter().map(Entry::Attempt).collect();
    timeline.extend(actions.into_iter().map(Entry::Action));
    timeline.extend(workflow.into_iter().map(Entry::Workflow));
    // Stable: equal times keep attempts before actions.
    timeline.sort_by_key(Entry::at);
    Ok(Some(Shown { id, job, timeline }))
}

//! The typed enqueue client.
//!
//! [`NewJob::new`] validates and serialises a [`Job`]; [`enqueue`] inserts it through a
//! pool, [`enqueue_in`] inside the caller's own transaction (the job exists only if that
//! transaction commits). Both return the job's id. Insertion fires Herald's NOTIFY
//! trigger, so an idle worker starts the job at once.
//!
//! **Idempotency keys.** A job enqueued with a key is *alive* while it is `pending`,
//! `running` or `retrying`. Enqueueing the same type with the same key while a job is
//! alive returns that job's id and inserts nothing; once it has ended (`succeeded`,
//! `dead`, `cancelled`) the key is free again.
//!
//! Errors are typed ([`EnqueueError`]); a rejected payload never reaches the queue.
//! Every field follows the enqueue rules ([`crate::rules`]): checked when the job is
//! built and again, after the options are applied, at enqueue ([`NewJob::check`]).
//! Payloads are limited to [`DEFAULT_MAX_PAYLOAD_BYTES`] of JSON unless built with
//! [`NewJob::new_with_limit`] / [`NewJob::from_json_with_limit`]. Batches:
//! [`crate::batch`].

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgExecutor, PgPool};

use crate::error::JobError;
use crate::job::Job;
use crate::rules::{self, RuleViolation};

/// Default limit on a serialised payload: 256 KiB.
pub const DEFAULT_MAX_PAYLOAD_BYTES: usize = 256 * 1024;

/// Why a job could not be enqueued.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EnqueueError {
    /// The job's own validation rejected the payload.
    #[error("payload rejected: {0}")]
    Invalid(#[source] JobError),
    /// The payload is not a JSON object.
    #[error("payload is not a JSON object: {0}")]
    NotAnObject(String),
    /// The job could not be serialised to JSON (its `Serialize` impl failed, e.g. a map
    /// with non-string keys).
    #[error("payload cannot be serialised: {0}")]
    Serialize(#[source] serde_json::Error),
    /// A concurrent enqueue with the same idempotency key kept committing between the
    /// insert's conflict check and the lookup; nothing was enqueued. Try again (SQL's
    /// `herald.enqueue` reports the same case as SQLSTATE 40001).
    #[error("idempotency key is contended; try again")]
    Contended,
    /// The serialised payload exceeds the size limit.
    #[error("payload is {size} bytes, over the limit of {limit} bytes")]
    TooLarge {
        /// Serialised size in bytes.
        size: usize,
        /// The limit in force.
        limit: usize,
    },
    /// A field breaks an enqueue rule ([`crate::rules`]), for example `max_attempts = 0`,
    /// an empty queue or a run time in the year 10000.
    #[error("invalid option {option}: {message}")]
    InvalidOption {
        /// The option's name.
        option: &'static str,
        /// Why.
        message: String,
    },
    /// The database refused or could not be reached.
    #[error("database error while enqueueing: {0}")]
    Database(#[from] sqlx::Error),
}

impl From<RuleViolation> for EnqueueError {
    fn from(v: RuleViolation) -> Self {
        Self::InvalidOption {
            option: v.field,
            message: v.message,
        }
    }
}

/// A validated job, ready to insert, with its enqueue options.
#[derive(Debug, Clone, PartialEq)]
pub struct NewJob {
    pub(crate) job_type: String,
    pub(crate) queue: String,
    pub(crate) payload: serde_json::Value,
    pub(crate) priority: i16,
    pub(crate) run_at: Option<DateTime<Utc>>,
    pub(crate) max_attempts: u32,
    pub(crate) idempotency_key: Option<String>,
    pub(crate) trace_context: Option<String>,
    pub(crate) flow_key: Option<String>,
}

impl NewJob {
    /// Validates `job` and serialises it with its type's default queue and budget.
    /// Fails with [`EnqueueError::Invalid`], [`EnqueueError::Serialize`],
    /// [`EnqueueError::NotAnObject`],
    /// [`EnqueueError::TooLarge`] (over [`DEFAULT_MAX_PAYLOAD_BYTES`]) or
    /// [`EnqueueError::InvalidOption`] (a type, queue, budget or payload string that
    /// breaks an enqueue rule).
    pub fn new<J: Job>(job: &J) -> Result<Self, EnqueueError> {
        Self::new_with_limit(job, DEFAULT_MAX_PAYLOAD_BYTES)
    }

    /// [`NewJob::new`] with a payload limit of `max_payload_bytes` (the serialised JSON's
    /// length) instead of the default, e.g. a service's configured limit.
    pub fn new_with_limit<J: Job>(job: &J, max_payload_bytes: usize) -> Result<Self, EnqueueError> {
        job.validate().map_err(EnqueueError::Invalid)?;
        let payload = serde_json::to_value(job).map_err(EnqueueError::Serialize)?;
        let mut new = Self::from_json_with_limit(
            J::KIND,
            J::QUEUE,
            J::MAX_ATTEMPTS,
            payload,
            max_payload_bytes,
        )?;
        if let Some(key) = job.flow_key() {
            new = new.flow_key(key);
            new.check()?;
        }
        Ok(new)
    }

    /// Builds a job from a raw JSON payload (the CLI's path). The payload must be an
    /// object within [`DEFAULT_MAX_PAYLOAD_BYTES`]; the type, queue and budget must
    /// follow the enqueue rules ([`EnqueueError::InvalidOption`]); whether the type is
    /// registered is not checked here.
    pub fn from_json(
        job_type: &str,
        queue: &str,
        max_attempts: u32,
        payload: serde_json::Value,
    ) -> Result<Self, EnqueueError> {
        Self::from_json_with_limit(
            job_type,
            queue,
            max_attempts,
            payload,
            DEFAULT_MAX_PAYLOAD_BYTES,
        )
    }

    /// [`NewJob::from_json`] with a payload limit of `max_payload_bytes`.
    pub fn from_json_with_limit(
        job_type: &str,
        queue: &str,
        max_attempts: u32,
        payload: serde_json::Value,
        max_payload_bytes: usize,
    ) -> Result<Self, EnqueueError> {
        if !payload.is_object() {
            return Err(EnqueueError::NotAnObject(format!(
                "got {}",
                json_kind(&payload)
            )));
        }
        let job = Self {
            job_type: job_type.to_owned(),
            queue: queue.to_owned(),
            payload,
            priority: 0,
            run_at: None,
            max_attempts,
            idempotency_key: None,
            trace_context: None,
            flow_key: None,
        };
        job.check_size(max_payload_bytes)?;
        job.check()?;
        Ok(job)
    }

    /// Checks the serialised payload against `limit` bytes.
    pub fn check_size(&self, limit: usize) -> Result<(), EnqueueError> {
        let size = self.payload.to_string().len();
        if size > limit {
            return Err(EnqueueError::TooLarge { size, limit });
        }
        Ok(())
    }

    /// Sends the job to `queue` instead of its type's default (a name following
    /// [`rules::check_queue`], checked at enqueue).
    pub fn queue(mut self, queue: impl Into<String>) -> Self {
        self.queue = queue.into();
        self
    }
    /// Higher runs first within a queue. Default 0.
    pub fn priority(mut self, priority: i16) -> Self {
        self.priority = priority;
        self
    }
    /// Runs the job no earlier than `at` (within [`rules::RUN_AT_MIN`] ..=
    /// [`rules::RUN_AT_MAX`], checked at enqueue). Default: now.
    pub fn run_at(mut self, at: DateTime<Utc>) -> Self {
        self.run_at = Some(at);
        self
    }
    /// Overrides the attempt budget (1 ..= [`rules::MAX_ATTEMPTS_CAP`], checked at enqueue).
    pub fn max_attempts(mut self, max_attempts: u32) -> Self {
        self.max_attempts = max_attempts;
        self
    }
    /// Deduplicates against a live job of the same type with the same key (1 to
    /// [`rules::IDEMPOTENCY_KEY_MAX_BYTES`] bytes, no control characters; checked at
    /// enqueue).
    pub fn idempotency_key(mut self, key: impl Into<String>) -> Self {
        self.idempotency_key = Some(key.into());
        self
    }
    /// Sets the flow key fleet-wide flow limits bind to (see [`Job::flow_key`], which
    /// [`NewJob::new`] applies; this overrides it). 1 to [`rules::FLOW_KEY_MAX_BYTES`]
    /// bytes, no control characters; checked at enqueue.
    pub fn flow_key(mut self, key: impl Into<String>) -> Self {
        self.flow_key = Some(key.into());
        self
    }
    /// Stores the caller's W3C `traceparent`, so every attempt joins the caller's trace.
    pub fn trace_context(mut self, traceparent: impl Into<String>) -> Self {
        self.trace_context = Some(traceparent.into());
        self
    }
    /// Stores the current `tracing` span's OpenTelemetry context (see
    /// [`current_traceparent`]), so every attempt joins the caller's trace. Leaves the
    /// job unchanged when there is none (no OpenTelemetry layer, or no sampled span).
    pub fn with_current_trace(self) -> Self {
        match current_traceparent() {
            Some(traceparent) => self.trace_context(traceparent),
            None => self,
        }
    }
    /// The job's type name.
    pub fn job_type(&self) -> &str {
        &self.job_type
    }

    /// Checks every field against the enqueue rules ([`crate::rules`]); the first
    /// violation is returned as [`EnqueueError::InvalidOption`] naming the field.
    /// [`enqueue`] and [`crate::enqueue_many`] call it before touching the database.
    pub fn check(&self) -> Result<(), EnqueueError> {
        rules::check_job_type(&self.job_type)?;
        rules::check_queue(&self.queue)?;
        rules::check_max_attempts(self.max_attempts)?;
        if let Some(at) = self.run_at {
            rules::check_run_at(at)?;
        }
        if let Some(key) = &self.idempotency_key {
            rules::check_idempotency_key(key)?;
        }
        if let Some(key) = &self.flow_key {
            rules::check_flow_key(key)?;
        }
        rules::check_payload_strings(&self.payload)?;
        Ok(())
    }

    /// The attempt budget as stored, once [`NewJob::check`] passed.
    pub(crate) fn attempt_budget(&self) -> Result<i32, EnqueueError> {
        self.check()?;
        i32::try_from(self.max_attempts).map_err(|_| EnqueueError::InvalidOption {
            option: "max_attempts",
            message: format!("must be between 1 and {}", rules::MAX_ATTEMPTS_CAP),
        })
    }
}

/// The id of an enqueued job, and whether this call created it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Enqueued {
    /// The job's id.
    pub id: i64,
    /// `false` when an idempotency key matched a live job.
    pub created: bool,
}

/// Enqueues `job` through `pool`; returns its id (or the live duplicate's).
pub async fn enqueue(pool: &PgPool, job: NewJob) -> Result<Enqueued, EnqueueError> {
    let mut conn = pool.acquire().await?;
    enqueue_in(&mut conn, job).await
}

/// Enqueues `job` on `conn`, typically the caller's open transaction
/// (`enqueue_in(&mut tx, job)`): the job exists only if that transaction commits.
/// Fails with [`EnqueueError::Contended`] when concurrent enqueues with the same
/// idempotency key keep racing this one.
pub async fn enqueue_in(conn: &mut PgConnection, job: NewJob) -> Result<Enqueued, EnqueueError> {
    let max_attempts = job.attempt_budget()?;
    // A concurrent enqueue with the same key may commit between the insert's conflict
    // check and the lookup's snapshot; a second try sees it.
    for _ in 0..3 {
        if let Some(found) = insert_once(&mut *conn, &job, max_attempts).await? {
            return Ok(found);
        }
    }
    Err(EnqueueError::Contended)
}

async fn insert_once<'c>(
    executor: impl PgExecutor<'c>,
    job: &NewJob,
    max_attempts: i32,
) -> Result<Option<Enqueued>, sqlx::Error> {
    sqlx::query_file_as!(
        Enqueued,
        "queries/enqueue.sql",
        &job.job_type,
        &job.queue,
        &job.payload,
        job.priority,
        job.run_at,
        max_attempts,
        job.idempotency_key.as_deref(),
        job.trace_context.as_deref(),
        job.flow_key.as_deref()
    )
    .fetch_optional(executor)
    .await
}

/// The current `tracing` span's OpenTelemetry context as a W3C `traceparent`
/// (`00-<trace id>-<span id>-<flags>`), or `None` when there is no valid one (no
/// `tracing-opentelemetry` layer installed, or outside any span).
pub fn current_traceparent() -> Option<String> {
    use opentelemetry::trace::TraceContextExt;
    use tracing_opentelemetry::OpenTelemetrySpanExt;
    let cx = tracing::Span::current().context();
    crate::Traceparent::from_span_context(cx.span().span_context()).map(|t| t.to_string())
}

fn json_kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn non_object_payload_is_rejected() {
        let err = NewJob::from_json("t", "default", 3, json!([1, 2]));
        assert!(matches!(err, Err(EnqueueError::NotAnObject(m)) if m == "got an array"));
    }

    /// A job whose map keys are not strings: JSON cannot represent it.
    #[derive(serde::Serialize, serde::Deserialize)]
    struct TupleKeys {
        by_pair: std::collections::BTreeMap<(u8, u8), u8>,
    }

    impl Job for TupleKeys {
        const KIND: &'static str = "test.tuple_keys";
        type Context = ();
        async fn perform(self, _: (), _: crate::job::AttemptInfo) -> Result<(), JobError> {
            Ok(())
        }
    }

    #[test]
    fn a_job_that_cannot_be_serialised_is_reported_as_a_serialisation_failure() {
        let job = TupleKeys {
            by_pair: [((1, 2), 3)].into_iter().collect(),
        };
        let err = NewJob::new(&job);
        assert!(
            matches!(&err, Err(EnqueueError::Serialize(e)) if e.to_string().contains("key must be a string")),
            "{err:?}"
        );
    }

    #[test]
    fn oversized_payload_is_rejected_with_its_size() {
        let big = "x".repeat(DEFAULT_MAX_PAYLOAD_BYTES);
        let err = NewJob::from_json("t", "default", 3, json!({ "body": big }));
        assert!(
            matches!(err, Err(EnqueueError::TooLarge { limit, .. }) if limit == DEFAULT_MAX_PAYLOAD_BYTES)
        );
    }

    #[test]
    fn the_payload_limit_can_be_raised_or_lowered() {
        let body = "x".repeat(DEFAULT_MAX_PAYLOAD_BYTES);
        let raised = NewJob::from_json_with_limit("t", "q", 3, json!({ "b": body }), 1 << 20);
        assert!(raised.is_ok());
        let lowered = NewJob::from_json_with_limit("t", "q", 3, json!({ "b": "12345" }), 10);
        assert!(
            matches!(
                lowered,
                Err(EnqueueError::TooLarge {
                    size: 13,
                    limit: 10
                })
            ),
            "{lowered:?}"
        );
    }

    #[test]
    fn outside_any_trace_no_traceparent_is_stored() {
        assert_eq!(current_traceparent(), None);
        let job = NewJob::from_json("t", "default", 3, json!({})).map(NewJob::with_current_trace);
        assert_eq!(job.ok().and_then(|j| j.trace_context), None);
    }

    #[test]
    fn options_are_applied() {
        let job = NewJob::from_json("t", "default", 3, json!({}))
            .map(|j| j.queue("mail").priority(5).max_attempts(9))
            .ok();
        let job = job.as_ref();
        assert_eq!(job.map(|j| j.queue.as_str()), Some("mail"));
        assert_eq!(job.map(|j| j.priority), Some(5));
        assert_eq!(job.map(|j| j.max_attempts), Some(9));
    }
}

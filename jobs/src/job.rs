//! The [`Job`] trait: what a job type declares and how it runs.
//!
//! A job type is a serde payload struct plus a handler. Its [`Job::KIND`] is the stable
//! type name stored with every queued job: never derive it from the Rust type name, so a
//! rename cannot orphan queued jobs. Handlers must be idempotent: Herald runs every job
//! at least once, and a job whose worker died mid-attempt runs again.

use std::future::Future;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::cancel::Cancellation;
use crate::error::JobError;

/// Facts about the attempt being run, handed to [`Job::perform`].
#[derive(Debug, Clone)]
pub struct AttemptInfo {
    /// The job's id.
    pub job_id: i64,
    /// This attempt's number, starting at 1.
    pub attempt: u32,
    /// The job's attempt budget.
    pub max_attempts: u32,
    /// The id of the worker process running the attempt.
    pub worker_id: String,
    /// Fired when an operator cancels the job while this attempt runs (`herald cancel`):
    /// stop soon, e.g. with [`Cancellation::guard`]. The contract table is in
    /// [`crate::cancel`]; a handler that ignores it is aborted after the grace period.
    pub cancel: Cancellation,
}

/// A job type Herald can enqueue and run.
pub trait Job: Serialize + DeserializeOwned + Send + Sized + 'static {
    /// The stable type name, e.g. `notify.webhook`. Stored with every job.
    const KIND: &'static str;
    /// The queue jobs of this type go to unless the enqueuer says otherwise.
    const QUEUE: &'static str = "default";
    /// The attempt budget unless the enqueuer overrides it. Default 5.
    const MAX_ATTEMPTS: u32 = 5;
    /// How long one attempt may run before it fails with `TIMEOUT`. Default 60 s.
    const TIMEOUT: Duration = Duration::from_secs(60);

    /// Shared resources the handler needs (an HTTP client, a signing key, ...),
    /// registered once with the worker and cloned into every attempt.
    type Context: Clone + Send + Sync + 'static;

    /// Checks the payload before it is enqueued; the default accepts everything.
    /// A rejected payload is the caller's error and never reaches the queue.
    fn validate(&self) -> Result<(), JobError> {
        Ok(())
    }

    /// The flow key fleet-wide flow limits bind to (`herald limits set KEY ...`): the
    /// destination or tenant this job loads, e.g. a webhook's host. Stored with the job
    /// at enqueue (`herald.jobs.flow_key`); a limit applies to a job whose flow key or
    /// type is its key. Default: none (only limits on the job type apply). Must follow
    /// [`crate::rules::check_flow_key`], checked at enqueue. `notify.webhook` leaves it
    /// to the database, which derives the URL's `host[:port]` for every insert path
    /// (SQL's `herald.enqueue()` included).
    fn flow_key(&self) -> Option<String> {
        None
    }

    /// Runs one attempt. Return a classified [`JobError`] on failure; panics are caught
    /// by the worker and recorded as `INTERNAL_ERROR`. Watch `attempt.cancel` to stop
    /// when an operator cancels the running job.
    fn perform(
        self,
        ctx: Self::Context,
        attempt: AttemptInfo,
    ) -> impl Future<Output = Result<(), JobError>> + Send;
}

//! The job registry: which job types this worker runs, and how to run each.
//!
//! [`Registry::register`] takes a [`Job`] type and the context its handler needs. At run
//! time the registry decodes a claimed payload into the job's type (a payload that does
//! not decode, or fails the job's own [`Job::validate`], is that job's terminal error,
//! `VALIDATION_ERROR` for a bad shape, nothing more) and calls its handler. Validation
//! runs again here because jobs enqueued from SQL or other languages never met it.

use std::collections::BTreeMap;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use herald_jobs::{AttemptInfo, Job, JobError};

/// A registered job type, with its type erased.
pub(crate) trait Handler: Send + Sync {
    fn queue(&self) -> &'static str;
    fn max_attempts(&self) -> u32;
    fn timeout(&self) -> Duration;
    fn validate(&self, payload: &serde_json::Value) -> Result<(), JobError>;
    fn run(&self, payload: String, info: AttemptInfo) -> BoxFuture<'static, Result<(), JobError>>;
}

fn decode<J: Job>(payload: serde_json::Value) -> Result<J, JobError> {
    serde_json::from_value(payload).map_err(|e| undecodable::<J>(&e))
}

/// Decodes a claimed payload straight from its JSON text. serde_json's nesting limit
/// (128 levels) applies here, so a hostile payload fails its own job, never the claim.
fn decode_text<J: Job>(payload: &str) -> Result<J, JobError> {
    serde_json::from_str(payload).map_err(|e| undecodable::<J>(&e))
}

fn undecodable<J: Job>(e: &serde_json::Error) -> JobError {
    JobError::validation("payload", format!("does not decode as {}: {e}", J::KIND))
}

struct Registered<J: Job> {
    context: J::Context,
    _job: PhantomData<fn() -> J>,
}

impl<J: Job> Handler for Registered<J> {
    fn queue(&self) -> &'static str {
        J::QUEUE
    }
    fn max_attempts(&self) -> u32 {
        J::MAX_ATTEMPTS
    }
    fn timeout(&self) -> Duration {
        J::TIMEOUT
    }
    fn validate(&self, payload: &serde_json::Value) -> Result<(), JobError> {
        decode::<J>(payload.clone())?.validate()
    }
    fn run(&self, payload: String, info: AttemptInfo) -> BoxFuture<'static, Result<(), JobError>> {
        let context = self.context.clone();
        Box::pin(async move {
            let job = decode_text::<J>(&payload)?;
            // Jobs enqueued from SQL or other languages skipped the enqueue-side check.
            job.validate()?;
            job.perform(context, info).await
        })
    }
}

/// The job types a worker runs. Build it once at start-up.
#[derive(Clone, Default)]
pub struct Registry {
    handlers: BTreeMap<&'static str, Arc<dyn Handler>>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.handlers.keys()).finish()
    }
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers job type `J` with the context its handler receives. Registering the
    /// same [`Job::KIND`] again replaces the earlier registration.
    pub fn register<J: Job>(mut self, context: J::Context) -> Self {
        let handler = Registered::<J> {
            context,
            _job: PhantomData,
        };
        self.handlers.insert(J::KIND, Arc::new(handler));
        self
    }

    /// The registered job types.
    pub fn kinds(&self) -> Vec<&'static str> {
        self.handlers.keys().copied().collect()
    }

    /// `(kind, default queue, max attempts)` of every registered type.
    pub(crate) fn describe(&self) -> Vec<(&'static str, &'static str, u32)> {
        self.handlers
            .iter()
            .map(|(kind, h)| (*kind, h.queue(), h.max_attempts()))
            .collect()
    }

    /// Checks `payload` against registered type `kind`: `None` when `kind` is not
    /// registered, else whether it decodes and passes the job's own validation.
    pub fn validate(
        &self,
        kind: &str,
        payload: &serde_json::Value,
    ) -> Option<Result<(), JobError>> {
        self.handlers.get(kind).map(|h| h.validate(payload))
    }

    /// The default queue and attempt budget of registered type `kind`.
    pub fn defaults(&self, kind: &str) -> Option<(&'static str, u32)> {
        self.handlers
            .get(kind)
            .map(|h| (h.queue(), h.max_attempts()))
    }

    pub(crate) fn handler(&self, kind: &str) -> Option<&Arc<dyn Handler>> {
        self.handlers.get(kind)
    }
}

//! [`Cancellation`]: the signal a handler sees when an operator cancels its running job.
//!
//! `herald cancel ID` on a running job reaches the worker that holds it (NOTIFY, or its
//! next lease heartbeat); the worker fires the attempt's [`Cancellation`] (in
//! [`AttemptInfo::cancel`](crate::AttemptInfo::cancel)). The contract:
//!
//! | the handler, once the signal fired | the attempt is recorded | the job |
//! |---|---|---|
//! | returns `Err(..)` within the grace period (any error: [`Cancellation::guard`]'s is the usual one) | `cancelled`, naming the operator and reason | `cancelled`, never run again |
//! | returns `Ok(())` within the grace period (the work was done before it could stop) | `succeeded` | `succeeded` |
//! | is still running when the grace period (`HERALD_CANCEL_GRACE`, default 10 s) ends | `cancelled`; the handler's future is dropped (aborted) at its next `.await` | `cancelled`, never run again |
//!
//! A handler that never looks at the signal is therefore aborted after the grace
//! period; one that honours it (`notify.webhook` and `notify.email` stop their in-flight
//! request) ends at once. Stopping must leave nothing half-done that a later replay
//! cannot repeat: handlers are idempotent anyway.

use std::future::Future;

use tokio_util::sync::CancellationToken;

use crate::error::JobError;

/// A cancellation signal shared by the worker (which fires it) and the handler (which
/// watches it). Cheap to clone; a default one is never fired unless
/// [`Cancellation::cancel`] is called.
#[derive(Debug, Clone, Default)]
pub struct Cancellation {
    token: CancellationToken,
}

impl Cancellation {
    /// A signal not fired yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Fires the signal (the worker does this when an operator cancels the job; tests
    /// call it to act as one). Idempotent.
    pub fn cancel(&self) {
        self.token.cancel();
    }

    /// Whether the signal has fired.
    pub fn is_cancelled(&self) -> bool {
        self.token.is_cancelled()
    }

    /// Resolves once the signal has fired (at once if it already has).
    pub async fn cancelled(&self) {
        self.token.cancelled().await;
    }

    /// Runs `work` until it ends or the signal fires, whichever is first. When the
    /// signal fires first, `work` is dropped (stopping an in-flight request) and the
    /// result is an error saying so, `what` naming the work (`"the POST to
    /// hooks.example.com"`): return it, and the attempt is recorded `cancelled`.
    pub async fn guard<F: Future>(&self, what: &str, work: F) -> Result<F::Output, JobError> {
        tokio_util::future::FutureExt::with_cancellation_token(work, &self.token)
            .await
            .ok_or_else(|| JobError::internal(format!("cancelled: {what} was stopped"), None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_fired_signal_stops_the_guarded_work_and_says_so() {
        let signal = Cancellation::new();
        let clone = signal.clone();
        assert!(!signal.is_cancelled());
        clone.cancel();
        assert!(signal.is_cancelled(), "clones share one signal");
        signal.cancelled().await;
        let stopped = signal
            .guard("the test work", std::future::pending::<()>())
            .await;
        let error = stopped.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(error.contains("the test work was stopped"), "{error}");
    }

    #[tokio::test]
    async fn an_unfired_signal_lets_the_work_finish() {
        let signal = Cancellation::new();
        let done = signal.guard("quick work", async { 7 }).await;
        assert_eq!(done.ok(), Some(7));
    }
}

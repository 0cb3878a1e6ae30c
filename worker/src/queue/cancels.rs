//! [`Cancels`]: the cancellation signals of the attempts this process is running.
//!
//! The dispatcher registers each attempt's [`Cancellation`] for as long as its handler
//! runs. An operator's cancel request (`herald.cancel_requests`) reaches it two ways,
//! both calling [`Cancels::cancel`]: the `cancel:<job id>:<attempt>` notification on
//! `herald_control` (at once), and the lease heartbeat, which returns the requests
//! pending for the jobs it renews (a missed notification costs one heartbeat interval).
//! A request for an attempt this process does not run is ignored here: the process
//! that runs it acts, or the rescue of its lease ends the job.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use herald_jobs::Cancellation;

/// The signals of the running attempts, by (job id, attempt). Cheap to clone (shared).
#[derive(Debug, Clone, Default)]
pub(crate) struct Cancels {
    running: Arc<Mutex<HashMap<(i64, i32), Cancellation>>>,
}

impl Cancels {
    /// An empty set.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Registers attempt `attempt` of job `job_id` with a fresh signal, until the
    /// returned guard is dropped.
    pub(crate) fn register(&self, job_id: i64, attempt: i32) -> Registered {
        let signal = Cancellation::new();
        self.with(|running| running.insert((job_id, attempt), signal.clone()));
        Registered {
            cancels: self.clone(),
            key: (job_id, attempt),
            signal,
        }
    }

    /// Fires the signal of attempt `attempt` of job `job_id` if this process runs it;
    /// returns whether it does.
    pub(crate) fn cancel(&self, job_id: i64, attempt: i32) -> bool {
        self.with(|running| running.get(&(job_id, attempt)).map(Cancellation::cancel))
            .is_some()
    }

    /// Handles a `cancel:<job id>:<attempt>` control payload (the part after
    /// `cancel:`); a malformed one is ignored.
    pub(crate) fn deliver(&self, target: &str) {
        let parsed = target
            .split_once(':')
            .and_then(|(id, attempt)| Some((id.parse().ok()?, attempt.parse().ok()?)));
        if let Some((job_id, attempt)) = parsed {
            self.cancel(job_id, attempt);
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut HashMap<(i64, i32), Cancellation>) -> T) -> T {
        // A panic while the lock was held leaves at worst one stale entry.
        let mut running = self.running.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut running)
    }
}

/// One running attempt's registration (see [`Cancels::register`]); unregisters on drop.
#[derive(Debug)]
pub(crate) struct Registered {
    cancels: Cancels,
    key: (i64, i32),
    signal: Cancellation,
}

impl Registered {
    /// The attempt's signal, handed to its handler.
    pub(crate) fn signal(&self) -> &Cancellation {
        &self.signal
    }
}

impl Drop for Registered {
    fn drop(&mut self) {
        self.cancels.with(|running| running.remove(&self.key));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cancel_reaches_only_its_own_running_attempt() {
        let cancels = Cancels::new();
        let first = cancels.register(7, 1);
        let other = cancels.register(8, 1);
        cancels.deliver("7:2");
        cancels.deliver("7");
        cancels.deliver("x:1");
        assert!(!first.signal().is_cancelled(), "another attempt's request");
        cancels.deliver("7:1");
        assert!(first.signal().is_cancelled());
        assert!(!other.signal().is_cancelled());
        drop(first);
        assert!(
            !cancels.cancel(7, 1),
            "an ended attempt is no longer running"
        );
        assert!(cancels.cancel(8, 1));
    }
}

//! [`Holdings`]: the jobs this process holds right now.
//!
//! A job is held from the moment its claim returns to this process until its attempt
//! is recorded (or it is released unstarted). Leases are renewed for held jobs only,
//! and this process's rescuer skips held jobs only: a row that merely carries this
//! worker's id (a predecessor with the same id died mid-claim, or a claim committed
//! but its answer never arrived) is not run by anyone, so its lease must expire and
//! rescue must take it, even while a process with that id is alive. Renewing by worker
//! id instead kept such a row alive forever.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};

/// The set of job ids this process holds. Cheap to clone (shared).
#[derive(Debug, Clone, Default)]
pub struct Holdings {
    ids: Arc<Mutex<HashSet<i64>>>,
}

impl Holdings {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records that this process now holds `ids` (a claim returned them).
    pub fn hold(&self, ids: impl IntoIterator<Item = i64>) {
        self.with(|held| held.extend(ids));
    }

    /// Records that this process no longer holds `ids` (recorded or released).
    pub fn let_go(&self, ids: impl IntoIterator<Item = i64>) {
        self.with(|held| {
            for id in ids {
                held.remove(&id);
            }
        });
    }

    /// A guard that lets go of `id` when dropped: however the attempt ends (recorded,
    /// failed to record, cancelled), the job is no longer held by this process.
    pub fn guard(&self, id: i64) -> Held {
        Held {
            holdings: self.clone(),
            id,
        }
    }

    /// The ids held now.
    pub fn snapshot(&self) -> Vec<i64> {
        self.with(|held| held.iter().copied().collect())
    }

    fn with<T>(&self, f: impl FnOnce(&mut HashSet<i64>) -> T) -> T {
        // A panic while the lock was held cannot leave a set of ids half-updated in a
        // way that matters: at worst one id is renewed once more or once less.
        let mut held = self.ids.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut held)
    }
}

/// Lets go of one held job when dropped (see [`Holdings::guard`]).
#[derive(Debug)]
pub struct Held {
    holdings: Holdings,
    id: i64,
}

impl Drop for Held {
    fn drop(&mut self) {
        self.holdings.let_go([self.id]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sorted(h: &Holdings) -> Vec<i64> {
        let mut ids = h.snapshot();
        ids.sort_unstable();
        ids
    }

    #[test]
    fn held_ids_are_let_go_explicitly_or_by_guard() {
        let h = Holdings::new();
        h.hold([1, 2, 3]);
        assert_eq!(sorted(&h), [1, 2, 3]);
        h.let_go([2]);
        assert_eq!(sorted(&h), [1, 3]);
        {
            let _guard = h.guard(3);
            assert_eq!(sorted(&h), [1, 3]);
        }
        assert_eq!(sorted(&h), [1]);
        h.clone().let_go([1]);
        assert!(h.snapshot().is_empty(), "clones share one set");
    }
}

//! [`Holdings`]: the jobs this process holds right now.
//!
//! A job is held from the moment its claim returns to this process until its attempt
//! is recorded (or it is released unstarted). Leases are renewed for held jobs only,
//! and this process's rescuer skips held jobs only: a row that merely carries this
//! worker's id (a predecessor with the same id died mid-claim, or a claim committed
//! but its answer never arrived) is not run by anyone, so its lease must expire and
//! rescue must take it, even while a process with that id is alive. Renewing by worker
//! id instead kept such a row alive forever.
//!
//! Holds are counted, not a set: a job retried at once can be claimed again by this
//! process before the attempt that recorded its retry has let go of it, and that late
//! let-go must not drop the new claim's hold.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

/// The job ids this process holds, each with how many holds it has. Cheap to clone
/// (shared).
#[derive(Debug, Clone, Default)]
pub(crate) struct Holdings {
    ids: Arc<Mutex<HashMap<i64, u32>>>,
}

impl Holdings {
    /// An empty set.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Records that this process now holds `ids` (a claim returned them): one hold each.
    pub(crate) fn hold(&self, ids: impl IntoIterator<Item = i64>) {
        self.with(|held| {
            for id in ids {
                *held.entry(id).or_insert(0) += 1;
            }
        });
    }

    /// Ends one hold on each of `ids` (recorded or released); a job is no longer held
    /// once its last hold ends.
    pub(crate) fn let_go(&self, ids: impl IntoIterator<Item = i64>) {
        self.with(|held| {
            for id in ids {
                if let Some(count) = held.get_mut(&id) {
                    *count -= 1;
                    if *count == 0 {
                        held.remove(&id);
                    }
                }
            }
        });
    }

    /// A guard that ends one hold on `id` when dropped: however the attempt ends
    /// (recorded, failed to record, cancelled), its hold ends with it.
    pub(crate) fn guard(&self, id: i64) -> Held {
        Held {
            holdings: self.clone(),
            id,
        }
    }

    /// The ids held now.
    pub(crate) fn snapshot(&self) -> Vec<i64> {
        self.with(|held| held.keys().copied().collect())
    }

    fn with<T>(&self, f: impl FnOnce(&mut HashMap<i64, u32>) -> T) -> T {
        // A panic while the lock was held cannot leave a set of ids half-updated in a
        // way that matters: at worst one id is renewed once more or once less.
        let mut held = self.ids.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut held)
    }
}

/// Ends one hold on a job when dropped (see [`Holdings::guard`]).
#[derive(Debug)]
pub(crate) struct Held {
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
        h.let_go([7]);
        assert!(
            h.snapshot().is_empty(),
            "letting go of what is not held is a no-op"
        );
    }

    #[test]
    fn a_job_claimed_again_before_its_last_attempt_let_go_stays_held() {
        let h = Holdings::new();
        h.hold([5]);
        let first_attempt = h.guard(5);
        h.hold([5]); // retried at once and claimed again by this process
        drop(first_attempt);
        assert_eq!(
            sorted(&h),
            [5],
            "the new claim's hold survives the late let-go"
        );
        h.let_go([5]);
        assert!(h.snapshot().is_empty());
    }
}

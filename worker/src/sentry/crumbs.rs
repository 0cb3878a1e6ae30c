//! Breadcrumbs per job: a job's retryable failures, kept until the job succeeds (they
//! are dropped) or dies (they go on its event).
//!
//! Memory is bounded: at most [`MAX_JOBS`] jobs and [`MAX_PER_JOB`] breadcrumbs each
//! (the newest kept). When the map is full the job that started collecting first is
//! evicted. Only the attempts this process ran are known; the audit trail
//! (`herald jobs show`) has every attempt.

use std::collections::{HashMap, VecDeque};

use sentry::protocol::Breadcrumb;

/// Most jobs with breadcrumbs held at once.
pub(crate) const MAX_JOBS: usize = 10_000;
/// Most breadcrumbs held per job (the newest are kept).
pub(crate) const MAX_PER_JOB: usize = 20;

/// A bounded map from job id to its breadcrumbs.
#[derive(Debug)]
pub(crate) struct Crumbs {
    by_job: HashMap<i64, VecDeque<Breadcrumb>>,
    /// Job ids in the order they started collecting; may hold ids already removed.
    order: VecDeque<i64>,
    max_jobs: usize,
    max_per_job: usize,
}

impl Crumbs {
    /// An empty store holding at most `max_jobs` jobs and `max_per_job` crumbs each.
    pub(crate) fn new(max_jobs: usize, max_per_job: usize) -> Self {
        Self {
            by_job: HashMap::new(),
            order: VecDeque::new(),
            max_jobs: max_jobs.max(1),
            max_per_job: max_per_job.max(1),
        }
    }

    /// Adds `crumb` to job `id`, evicting the oldest job when the store is full.
    pub(crate) fn push(&mut self, id: i64, crumb: Breadcrumb) {
        if !self.by_job.contains_key(&id) {
            while self.by_job.len() >= self.max_jobs {
                match self.order.pop_front() {
                    Some(old) => {
                        self.by_job.remove(&old);
                    }
                    None => break,
                }
            }
            self.order.push_back(id);
            if self.order.len() > 2 * self.max_jobs {
                let live = &self.by_job;
                self.order.retain(|j| *j == id || live.contains_key(j));
            }
        }
        let list = self.by_job.entry(id).or_default();
        if list.len() >= self.max_per_job {
            list.pop_front();
        }
        list.push_back(crumb);
    }

    /// Removes and returns job `id`'s breadcrumbs, oldest first.
    pub(crate) fn take(&mut self, id: i64) -> Vec<Breadcrumb> {
        self.by_job.remove(&id).map(Vec::from).unwrap_or_default()
    }

    /// A copy of job `id`'s breadcrumbs, oldest first.
    pub(crate) fn peek(&self, id: i64) -> Vec<Breadcrumb> {
        self.by_job
            .get(&id)
            .map(|l| l.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// How many jobs hold breadcrumbs.
    #[cfg(test)]
    fn jobs(&self) -> usize {
        self.by_job.len()
    }

    /// Index entries, including stale ones (bounded by twice the job cap).
    #[cfg(test)]
    fn index_len(&self) -> usize {
        self.order.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crumb(text: &str) -> Breadcrumb {
        Breadcrumb {
            message: Some(text.to_owned()),
            ..Breadcrumb::default()
        }
    }

    fn messages(list: &[Breadcrumb]) -> Vec<String> {
        list.iter().filter_map(|c| c.message.clone()).collect()
    }

    #[test]
    fn a_jobs_crumbs_come_back_in_order_once() {
        let mut store = Crumbs::new(10, 10);
        store.push(1, crumb("a"));
        store.push(2, crumb("x"));
        store.push(1, crumb("b"));
        assert_eq!(messages(&store.peek(1)), ["a", "b"]);
        assert_eq!(messages(&store.take(1)), ["a", "b"]);
        assert!(store.take(1).is_empty());
        assert_eq!(store.jobs(), 1);
    }

    #[test]
    fn each_job_keeps_only_its_newest_crumbs() {
        let mut store = Crumbs::new(10, 2);
        for m in ["a", "b", "c"] {
            store.push(7, crumb(m));
        }
        assert_eq!(messages(&store.take(7)), ["b", "c"]);
    }

    #[test]
    fn the_oldest_job_is_evicted_when_the_store_is_full() {
        let mut store = Crumbs::new(2, 5);
        store.push(1, crumb("a"));
        store.push(2, crumb("b"));
        store.push(3, crumb("c"));
        assert_eq!(store.jobs(), 2);
        assert!(store.peek(1).is_empty());
        assert_eq!(messages(&store.peek(3)), ["c"]);
    }

    #[test]
    fn memory_stays_bounded_when_jobs_keep_succeeding() {
        let mut store = Crumbs::new(3, 5);
        for id in 0..10_000 {
            store.push(id, crumb("retry"));
            let _ = store.take(id);
        }
        assert_eq!(store.jobs(), 0);
        assert!(store.index_len() <= 7, "{}", store.index_len());
    }
}

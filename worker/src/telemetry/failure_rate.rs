//! The failure-rate tracker: over a sliding window, the share of finished attempts that
//! failed (retryable or terminal; `abandoned` counts, `interrupted` does not), for all
//! job types together (scope `*`) and for each job type.
//!
//! | rule | default | variable |
//! |---|---|---|
//! | window | 5 minutes, in 60 buckets | `HERALD_FAILURE_RATE_WINDOW` |
//! | trips when the rate is above | 5 % | `HERALD_FAILURE_RATE_THRESHOLD` |
//! | ... and the window holds at least | 20 attempts | `HERALD_FAILURE_RATE_MIN_SAMPLES` |
//! | resolves when the rate falls below (hysteresis) | 80 % of the threshold | `HERALD_FAILURE_RATE_RESOLVE` |
//!
//! A scope trips once and then only resolves, and resolves once and then only trips,
//! so a rate hovering around the threshold produces no storm of events. A window that
//! empties (no traffic) resolves a tripped scope: its rate is 0.
//!
//! Pure: time is passed in, and transitions are returned for `alert.rs` to act on.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

pub(crate) use crate::config::FailureRateConfig;

/// Buckets per window.
const BUCKETS: u32 = 60;

/// The scope name for all job types together.
pub(crate) const ALL: &str = "*";

/// A change of one scope's alert state.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct AlertChange {
    /// `*` or a job type.
    pub(crate) scope: String,
    /// `true` when it tripped, `false` when it resolved.
    pub(crate) firing: bool,
    /// The window's state when it changed.
    pub(crate) sample: Sample,
}

/// The attempts in one scope's window.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub(crate) struct Sample {
    /// Finished attempts.
    pub(crate) attempts: u64,
    /// Of which failed.
    pub(crate) failures: u64,
}

impl Sample {
    /// `failures / attempts`, 0 when empty.
    pub(crate) fn rate(&self) -> f64 {
        if self.attempts == 0 {
            0.0
        } else {
            self.failures as f64 / self.attempts as f64
        }
    }
}

#[derive(Debug, Default)]
struct Scope {
    /// (bucket index, counts), oldest first.
    buckets: std::collections::VecDeque<(u64, Sample)>,
    firing: bool,
}

impl Scope {
    fn add(&mut self, bucket: u64, failed: bool) {
        if self.buckets.back().map(|(b, _)| *b) != Some(bucket) {
            self.buckets.push_back((bucket, Sample::default()));
        }
        if let Some((_, s)) = self.buckets.back_mut() {
            s.attempts += 1;
            s.failures += u64::from(failed);
        }
    }

    fn sample(&mut self, now_bucket: u64) -> Sample {
        let oldest = now_bucket.saturating_sub(u64::from(BUCKETS) - 1);
        while self.buckets.front().is_some_and(|(b, _)| *b < oldest) {
            self.buckets.pop_front();
        }
        self.buckets
            .iter()
            .fold(Sample::default(), |acc, (_, s)| Sample {
                attempts: acc.attempts + s.attempts,
                failures: acc.failures + s.failures,
            })
    }
}

/// The tracker.
#[derive(Debug)]
pub(crate) struct FailureRateTracker {
    cfg: FailureRateConfig,
    origin: Instant,
    scopes: BTreeMap<String, Scope>,
}

impl FailureRateTracker {
    /// An empty tracker whose clock starts at `origin`.
    pub(crate) fn new(cfg: FailureRateConfig, origin: Instant) -> Self {
        Self {
            cfg,
            origin,
            scopes: BTreeMap::new(),
        }
    }

    fn bucket(&self, now: Instant) -> u64 {
        let width = (self.cfg.window / BUCKETS).max(Duration::from_millis(1));
        let elapsed = now.saturating_duration_since(self.origin);
        u64::try_from(elapsed.as_nanos() / width.as_nanos()).unwrap_or(u64::MAX)
    }

    /// Records one finished attempt of `job_type` at `now`.
    pub(crate) fn record(&mut self, job_type: &str, failed: bool, now: Instant) {
        let bucket = self.bucket(now);
        self.scopes
            .entry(ALL.to_owned())
            .or_default()
            .add(bucket, failed);
        self.scopes
            .entry(job_type.to_owned())
            .or_default()
            .add(bucket, failed);
    }

    /// Evaluates every scope at `now`: its current sample and firing state, and the
    /// scopes whose alert state changed.
    pub(crate) fn evaluate(
        &mut self,
        now: Instant,
    ) -> (Vec<(String, Sample, bool)>, Vec<AlertChange>) {
        let bucket = self.bucket(now);
        let cfg = self.cfg;
        let mut states = Vec::new();
        let mut changes = Vec::new();
        for (name, scope) in &mut self.scopes {
            let sample = scope.sample(bucket);
            let rate = sample.rate();
            let change =
                if !scope.firing && sample.attempts >= cfg.min_samples && rate > cfg.threshold {
                    Some(true)
                } else if scope.firing && rate < cfg.resolve_below {
                    Some(false)
                } else {
                    None
                };
            if let Some(firing) = change {
                scope.firing = firing;
                changes.push(AlertChange {
                    scope: name.clone(),
                    firing,
                    sample,
                });
            }
            states.push((name.clone(), sample, scope.firing));
        }
        (states, changes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> FailureRateConfig {
        FailureRateConfig {
            window: Duration::from_secs(60),
            threshold: 0.05,
            resolve_below: 0.04,
            min_samples: 20,
        }
    }

    fn feed(t: &mut FailureRateTracker, ok: u32, failed: u32, now: Instant) {
        for _ in 0..ok {
            t.record("mail", false, now);
        }
        for _ in 0..failed {
            t.record("mail", true, now);
        }
    }

    #[test]
    fn too_few_attempts_never_trip() {
        let start = Instant::now();
        let mut t = FailureRateTracker::new(cfg(), start);
        feed(&mut t, 2, 1, start);
        assert!(t.evaluate(start).1.is_empty());
    }

    #[test]
    fn crossing_the_threshold_trips_once_per_scope_and_resolves_once() {
        let start = Instant::now();
        let mut t = FailureRateTracker::new(cfg(), start);
        feed(&mut t, 90, 10, start);
        let (_, changes) = t.evaluate(start);
        let scopes: Vec<(&str, bool)> = changes
            .iter()
            .map(|c| (c.scope.as_str(), c.firing))
            .collect();
        assert_eq!(scopes, vec![("*", true), ("mail", true)]);
        feed(&mut t, 10, 1, start);
        assert!(t.evaluate(start).1.is_empty(), "no second trip");
        // 11 of 230 failed: 4.8 %, under the 5 % threshold but above the 4 % line.
        feed(&mut t, 120, 0, start);
        assert!(t.evaluate(start).1.is_empty(), "hysteresis holds");
        // 11 of 330: 3.3 %.
        feed(&mut t, 100, 0, start);
        let (_, changes) = t.evaluate(start);
        assert_eq!(changes.len(), 2);
        assert!(changes.iter().all(|c| !c.firing));
    }

    #[test]
    fn failures_age_out_of_the_window() {
        let start = Instant::now();
        let mut t = FailureRateTracker::new(cfg(), start);
        feed(&mut t, 50, 50, start);
        assert_eq!(t.evaluate(start).1.len(), 2);
        let later = start + Duration::from_secs(61);
        let (states, changes) = t.evaluate(later);
        assert_eq!(changes.len(), 2, "an empty window resolves");
        assert!(
            states
                .iter()
                .all(|(_, s, firing)| s.attempts == 0 && !firing)
        );
    }
}

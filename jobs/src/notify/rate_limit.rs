//! A per-channel rate limit: at most `n` sends per second through one channel (one SMTP
//! relay, say), spaced evenly.
//!
//! [`RateLimiter::acquire`] never fails: a caller over the limit waits for its slot, so
//! a burst or a replay is slowed down, not failed. The limit holds per process (per
//! [`RateLimiter`] value) and the waiting job holds a worker slot, so it is off by
//! default (`HERALD_EMAIL_RATE_LIMIT`). A relay's quota is a fleet-wide flow limit on the
//! job type instead (`herald limits set notify.email --rate r`): enforced when jobs are
//! claimed, across every worker, with nothing parked in a worker.

use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

/// Spaces acquisitions `1 / rate` seconds apart.
#[derive(Debug)]
pub struct RateLimiter {
    interval: Duration,
    next: Mutex<Option<Instant>>,
}

impl RateLimiter {
    /// A limiter allowing `rate` acquisitions per second; `None` unless `rate` is a
    /// positive, finite number.
    pub fn per_second(rate: f64) -> Option<Self> {
        (rate.is_finite() && rate > 0.0).then(|| Self {
            interval: Duration::from_secs_f64(1.0 / rate),
            next: Mutex::new(None),
        })
    }

    /// The spacing between two acquisitions.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Waits until this caller may send. Callers are served in arrival order; the first
    /// one (or one after a quiet spell) goes at once.
    pub async fn acquire(&self) {
        let slot = {
            let mut next = self.next.lock().await;
            let now = Instant::now();
            let slot = next.map_or(now, |at| at.max(now));
            *next = Some(slot + self.interval);
            slot
        };
        tokio::time::sleep_until(slot).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_positive_finite_rates_make_a_limiter() {
        assert!(RateLimiter::per_second(0.0).is_none());
        assert!(RateLimiter::per_second(-1.0).is_none());
        assert!(RateLimiter::per_second(f64::INFINITY).is_none());
        let limiter = RateLimiter::per_second(4.0).map(|l| l.interval());
        assert_eq!(limiter, Some(Duration::from_millis(250)));
    }

    #[tokio::test(start_paused = true)]
    async fn excess_callers_wait_for_their_slot_instead_of_failing() {
        let Some(limiter) = RateLimiter::per_second(10.0) else {
            panic!("a limiter")
        };
        let limiter = std::sync::Arc::new(limiter);
        let start = Instant::now();
        let tasks: Vec<_> = (0..25)
            .map(|_| {
                let limiter = std::sync::Arc::clone(&limiter);
                tokio::spawn(async move {
                    limiter.acquire().await;
                    Instant::now()
                })
            })
            .collect();
        let mut done = Vec::new();
        for task in tasks {
            done.push(task.await.unwrap_or_else(|e| panic!("{e}")) - start);
        }
        done.sort();
        assert_eq!(done.len(), 25);
        assert_eq!(done[0], Duration::ZERO);
        assert_eq!(done[24], Duration::from_millis(2_400));
        for pair in done.windows(2) {
            assert!(pair[1] - pair[0] >= Duration::from_millis(100), "{pair:?}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_quiet_spell_does_not_bank_a_burst() {
        let Some(limiter) = RateLimiter::per_second(2.0) else {
            panic!("a limiter")
        };
        limiter.acquire().await;
        tokio::time::sleep(Duration::from_secs(10)).await;
        let start = Instant::now();
        limiter.acquire().await;
        limiter.acquire().await;
        assert_eq!(Instant::now() - start, Duration::from_millis(500));
    }
}

//! The durable retry schedule: exponential backoff, capped, with jitter.
//!
//! The delay before attempt `n + 1` after a retryable failure of attempt `n` is
//! `base * 2^(n-1)`, capped at `max`, then spread by ± `jitter` (a fraction) so that
//! jobs which failed together do not retry together. The worker stores
//! `now + delay` as the job's `run_at` in the same write that records the failure, so a
//! retry survives any restart.
//!
//! [`RetryPolicy::delay`] is pure (the random draw is an argument) and unit-tested;
//! [`RetryPolicy::next_delay`] draws the randomness.

use std::time::Duration;

/// How long to wait before retrying a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Delay after the first failure. Default 2 s.
    pub base: Duration,
    /// Upper bound of the un-jittered delay. Default 1 h.
    pub max: Duration,
    /// Jitter as a fraction of the delay, 0.0 to 1.0. Default 0.2 (± 20 %).
    pub jitter: f64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            base: Duration::from_secs(2),
            max: Duration::from_secs(3600),
            jitter: 0.2,
        }
    }
}

impl RetryPolicy {
    /// The delay after failed attempt `attempt` (1-based), given a uniform draw
    /// `random` in `[0, 1)`. Pure: the same inputs give the same delay. Total: for any
    /// attempt, base, max, jitter or draw (NaN included) it saturates at
    /// `Duration::MAX` and never panics; a jitter or draw that is not a number counts
    /// as none (0) and the middle of the range (0.5).
    pub fn delay(&self, attempt: u32, random: f64) -> Duration {
        let exponent = attempt.saturating_sub(1).min(62);
        let factor = 2f64.powi(exponent as i32);
        let raw = (self.base.as_secs_f64() * factor).min(self.max.as_secs_f64());
        let jitter = finite_or(self.jitter, 0.0).clamp(0.0, 1.0);
        let random = finite_or(random, 0.5).clamp(0.0, 1.0);
        let spread = 1.0 - jitter + 2.0 * jitter * random;
        Duration::try_from_secs_f64((raw * spread).max(0.0)).unwrap_or(Duration::MAX)
    }

    /// The delay after failed attempt `attempt`, with a fresh random draw.
    pub fn next_delay(&self, attempt: u32) -> Duration {
        self.delay(attempt, rand::random::<f64>())
    }
}

fn finite_or(value: f64, fallback: f64) -> f64 {
    if value.is_finite() { value } else { fallback }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            base: Duration::from_secs(1),
            max: Duration::from_secs(60),
            jitter: 0.0,
        }
    }

    #[test]
    fn delay_doubles_with_each_attempt() {
        let p = policy();
        let delays: Vec<u64> = (1..=6).map(|a| p.delay(a, 0.5).as_secs()).collect();
        assert_eq!(delays, vec![1, 2, 4, 8, 16, 32]);
    }

    #[test]
    fn delay_is_capped_at_max() {
        let p = policy();
        assert_eq!(p.delay(7, 0.5), Duration::from_secs(60));
        assert_eq!(p.delay(1_000, 0.5), Duration::from_secs(60));
    }

    #[test]
    fn jitter_spreads_within_its_fraction() {
        let p = RetryPolicy {
            jitter: 0.2,
            ..policy()
        };
        assert_eq!(p.delay(4, 0.0), Duration::from_secs_f64(8.0 * 0.8));
        assert_eq!(p.delay(4, 0.5), Duration::from_secs(8));
        let high = p.delay(4, 0.999_999).as_secs_f64();
        assert!(high > 9.5 && high <= 9.6, "{high}");
    }

    #[test]
    fn delay_saturates_for_any_attempt_and_base_without_panicking() {
        let huge = RetryPolicy {
            base: Duration::MAX,
            max: Duration::MAX,
            jitter: 1.0,
        };
        assert_eq!(huge.delay(u32::MAX, 0.999), Duration::MAX);
        assert_eq!(huge.delay(1, 1.0), Duration::MAX);
        let nan = RetryPolicy {
            jitter: f64::NAN,
            ..policy()
        };
        assert_eq!(nan.delay(u32::MAX, f64::NAN), Duration::from_secs(60));
        assert_eq!(policy().delay(0, 0.5), Duration::from_secs(1));
    }

    #[test]
    fn random_draws_stay_within_bounds() {
        let p = RetryPolicy::default();
        for _ in 0..1_000 {
            let d = p.next_delay(3).as_secs_f64();
            assert!((6.4..=9.6).contains(&d), "{d}");
        }
    }
}

//! When to try a failed delivery again, and when to give up.

use std::time::Duration;

use super::time::Millis;

/// What one delivery attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    Delivered,
    /// Worth trying again later (a timeout, a busy or failing server).
    Retry(String),
    /// Will never work (the user did not subscribe, a bad template): stop now.
    Refused(String),
}

/// Exponential backoff: `base`, doubling per attempt, capped, for at most `max_attempts`; with
/// `jitter` of j, each delay is drawn uniformly from [(1 − j) × delay, delay], so that receivers
/// that failed together (one outage, many deliveries) are not all tried again at the same instant.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub base: Duration,
    pub cap: Duration,
    pub max_attempts: u32,
    /// The share of each delay that is random, 0 (none) to 1 (anything from nothing to the delay).
    pub jitter: f64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy { base: Duration::from_secs(5), cap: Duration::from_secs(3600), max_attempts: 12, jitter: 0.0 }
    }
}

impl RetryPolicy {
    /// When to try again after `attempts` failures, or `None` to give up.
    pub fn next_attempt(&self, attempts: u32, now: Millis) -> Option<Millis> {
        self.next_attempt_with(attempts, now, &mut rand::rng())
    }

    /// `next_attempt`, the jitter drawn from `rng`.
    pub fn next_attempt_with(&self, attempts: u32, now: Millis, rng: &mut impl rand::Rng) -> Option<Millis> {
        if attempts >= self.max_attempts {
            return None;
        }
        let factor = 2u32.saturating_pow(attempts.saturating_sub(1));
        let delay = self.base.saturating_mul(factor).min(self.cap).as_millis() as i64;
        let jitter = self.jitter.clamp(0.0, 1.0);
        let cut = if jitter > 0.0 { (delay as f64 * jitter * rng.random::<f64>()) as i64 } else { 0 };
        Some(Millis(now.0 + delay - cut))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_then_gives_up() {
        let p = RetryPolicy::default();
        let now = Millis(0);
        assert_eq!(p.next_attempt(1, now), Some(Millis(5_000)));
        assert_eq!(p.next_attempt(2, now), Some(Millis(10_000)));
        assert_eq!(p.next_attempt(3, now), Some(Millis(20_000)));
        assert_eq!(p.next_attempt(11, now), Some(Millis(3_600_000)));
        assert_eq!(p.next_attempt(12, now), None);
    }

    #[test]
    fn jitter_spreads_each_delay_below_its_backoff_and_never_past_the_cap() {
        use rand::SeedableRng;
        let p = RetryPolicy { base: Duration::from_millis(1000), jitter: 0.5, max_attempts: 8, ..Default::default() };
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let now = Millis(1_000_000);
        for attempts in 1..8u32 {
            let full = (1000i64 << (attempts - 1)).min(3_600_000);
            let delays: Vec<i64> =
                (0..200).map(|_| p.next_attempt_with(attempts, now, &mut rng).unwrap().0 - now.0).collect();
            assert!(delays.iter().all(|d| (full / 2..=full).contains(d)), "attempt {attempts}: {delays:?}");
            let (min, max) = (delays.iter().min().unwrap(), delays.iter().max().unwrap());
            assert!(max - min > full / 4, "attempt {attempts} is spread: {min}..{max}");
        }
        assert_eq!(p.next_attempt_with(8, now, &mut rng), None);
        let capped = RetryPolicy { cap: Duration::from_secs(2), ..p };
        assert!(capped.next_attempt_with(7, now, &mut rng).unwrap().0 - now.0 <= 2000);
        let none = RetryPolicy { jitter: 0.0, ..p };
        assert_eq!(none.next_attempt_with(3, now, &mut rng), Some(Millis(now.0 + 4000)));
    }
}

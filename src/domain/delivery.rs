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

/// Exponential backoff: `base`, doubling per attempt, capped, for at most `max_attempts`.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub base: Duration,
    pub cap: Duration,
    pub max_attempts: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy { base: Duration::from_secs(5), cap: Duration::from_secs(3600), max_attempts: 12 }
    }
}

impl RetryPolicy {
    /// When to try again after `attempts` failures, or `None` to give up.
    pub fn next_attempt(&self, attempts: u32, now: Millis) -> Option<Millis> {
        if attempts >= self.max_attempts {
            return None;
        }
        let factor = 2u32.saturating_pow(attempts.saturating_sub(1));
        let delay = self.base.saturating_mul(factor).min(self.cap);
        Some(Millis(now.0 + delay.as_millis() as i64))
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
}

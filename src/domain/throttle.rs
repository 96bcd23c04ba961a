//! Throttling password guessing: too many failed logins for one username within a window and
//! the next attempt waits, whoever makes it.

use super::DomainError;
use super::time::Millis;

#[derive(Debug, Clone, Copy)]
pub struct LoginThrottle {
    pub max_failures: usize,
    pub window_secs: i64,
}

impl Default for LoginThrottle {
    fn default() -> Self {
        LoginThrottle { max_failures: 10, window_secs: 15 * 60 }
    }
}

impl LoginThrottle {
    /// Where the window of failures that count begins.
    pub fn window_start(&self, now: Millis) -> Millis {
        now.plus_secs(-self.window_secs)
    }

    /// Refuses an attempt when the window already holds `max_failures`; the caller may retry
    /// when the oldest of them leaves the window. `failures` are the times within the window.
    pub fn check(&self, failures: &[Millis], now: Millis) -> Result<(), DomainError> {
        if failures.len() < self.max_failures {
            return Ok(());
        }
        let oldest = failures.iter().min().copied().unwrap_or(now);
        let frees_at = oldest.plus_secs(self.window_secs);
        let retry_after_secs = ((frees_at.0 - now.0).max(0) as u64).div_ceil(1000).max(1);
        Err(DomainError::RateLimited { retry_after_secs })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_eleventh_guess_waits_until_the_first_leaves_the_window() {
        let throttle = LoginThrottle::default();
        let now = Millis(1_000_000_000);
        let nine: Vec<Millis> = (0..9).map(|i| now.plus_secs(-60 * i)).collect();
        assert!(throttle.check(&nine, now).is_ok());
        let mut ten = nine.clone();
        ten.push(now.plus_secs(-600));
        match throttle.check(&ten, now) {
            Err(DomainError::RateLimited { retry_after_secs }) => assert_eq!(retry_after_secs, 300),
            other => panic!("{other:?}"),
        }
    }
}

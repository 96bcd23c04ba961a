//! Throttles: how many times something may happen within a sliding window before the next try
//! must wait. Password guessing is throttled per username, whoever guesses; filing reports is
//! limited per rider.

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
        check_window(failures, self.max_failures, self.window_secs, now)
    }
}

/// A rider's submissions (new reports and "me too"s, from the API, Open311 or a follow): at most
/// `per_hour` in any hour.
#[derive(Debug, Clone, Copy)]
pub struct SubmissionLimit {
    pub per_hour: u32,
}

impl SubmissionLimit {
    const WINDOW_SECS: i64 = 3600;

    /// Where the window of submissions that count begins.
    pub fn window_start(&self, now: Millis) -> Millis {
        now.plus_secs(-Self::WINDOW_SECS)
    }

    /// Refuses a submission when the last hour already holds `per_hour`, with the seconds until
    /// enough of them leave the window. `recent` are the rider's submission times.
    pub fn check(&self, recent: &[Millis], now: Millis) -> Result<(), DomainError> {
        check_window(recent, self.per_hour as usize, Self::WINDOW_SECS, now)
    }
}

/// Allows one more event when fewer than `max` of `times` fall within the `window_secs` before
/// `now`; otherwise refuses it until enough of them have left the window for one more to fit.
fn check_window(times: &[Millis], max: usize, window_secs: i64, now: Millis) -> Result<(), DomainError> {
    let window_start = now.plus_secs(-window_secs);
    let mut inside: Vec<Millis> = times.iter().copied().filter(|t| *t > window_start).collect();
    if inside.len() < max {
        return Ok(());
    }
    inside.sort_unstable();
    // With room for none at all, only the passing of a whole window helps.
    let frees_at = inside.len().checked_sub(max).and_then(|i| inside.get(i)).unwrap_or(&now).plus_secs(window_secs);
    let retry_after_secs = ((frees_at.0 - now.0).max(0) as u64).div_ceil(1000).max(1);
    Err(DomainError::RateLimited { retry_after_secs })
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

    #[test]
    fn the_submission_limit_counts_the_last_hour_and_says_when_to_retry() {
        let now = Millis(10_000_000);
        let recent: Vec<Millis> = (0..3).map(|i| now.plus_secs(-3000 + i * 60)).collect();
        assert!(SubmissionLimit { per_hour: 4 }.check(&recent, now).is_ok());
        match (SubmissionLimit { per_hour: 3 }).check(&recent, now) {
            Err(DomainError::RateLimited { retry_after_secs }) => assert_eq!(retry_after_secs, 600),
            other => panic!("{other:?}"),
        }
        let old = vec![now.plus_secs(-3601); 5];
        assert!(SubmissionLimit { per_hour: 1 }.check(&old, now).is_ok());
    }

    #[test]
    fn a_window_over_full_waits_until_enough_have_left() {
        let now = Millis(10_000_000);
        // Three in the window with room for two: the second oldest must leave, not the oldest.
        let recent = [now.plus_secs(-3000), now.plus_secs(-2000), now.plus_secs(-1000)];
        match (SubmissionLimit { per_hour: 2 }).check(&recent, now) {
            Err(DomainError::RateLimited { retry_after_secs }) => assert_eq!(retry_after_secs, 1600),
            other => panic!("{other:?}"),
        }
        // A limit of none refuses even the first, for a whole window.
        match (SubmissionLimit { per_hour: 0 }).check(&[], now) {
            Err(DomainError::RateLimited { retry_after_secs }) => assert_eq!(retry_after_secs, 3600),
            other => panic!("{other:?}"),
        }
    }
}

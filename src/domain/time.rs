//! Instants as the store keeps them (unix milliseconds, UTC) and as the API shows them (RFC 3339).

use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Tz;

/// Milliseconds since the unix epoch, UTC: the one way times are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Millis(pub i64);

impl Millis {
    pub fn now() -> Self {
        Millis(Utc::now().timestamp_millis())
    }

    pub fn plus_secs(self, secs: i64) -> Self {
        Millis(self.0 + secs * 1000)
    }

    pub fn to_utc(self) -> DateTime<Utc> {
        Utc.timestamp_millis_opt(self.0).single().unwrap_or_default()
    }

    pub fn in_zone(self, tz: Tz) -> DateTime<Tz> {
        self.to_utc().with_timezone(&tz)
    }

    pub fn from_datetime<T: TimeZone>(dt: &DateTime<T>) -> Self {
        Millis(dt.timestamp_millis())
    }
}

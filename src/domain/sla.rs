//! Respond on receipt (接诉即办): deadlines set at routing, overdue flags, the three rates
//! (三率) by which units are judged. "Now" is always a parameter.

use super::report::{CategorySettings, ReportFacts, ReportStatus};
use super::time::Millis;

/// `next_deadline` of a report no unit has to act on any more (sorts after every real one).
pub const NO_DEADLINE: Millis = Millis(i64::MAX);

/// The two deadlines a report gets when it is routed (again) to a unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadlines {
    pub respond_by: Millis,
    pub resolve_by: Millis,
}

impl Deadlines {
    pub fn from_routing(routed_at: Millis, settings: &CategorySettings) -> Self {
        Deadlines {
            respond_by: routed_at.plus_secs(settings.response_secs),
            resolve_by: routed_at.plus_secs(settings.resolution_secs),
        }
    }

    /// The deadline that falls first among those still to be met: the response deadline until
    /// the unit has responded, then the resolution deadline; none once the report is not open.
    pub fn next(self, status: ReportStatus, responded_at: Option<Millis>) -> Millis {
        match (status.is_open(), responded_at) {
            (false, _) => NO_DEADLINE,
            (true, None) => self.respond_by,
            (true, Some(_)) => self.resolve_by,
        }
    }
}

/// Overdue: a deadline still to be met has passed.
pub fn is_overdue(next_deadline: Millis, now: Millis) -> bool {
    next_deadline != NO_DEADLINE && next_deadline < now
}

/// What the rates need to know about one report.
#[derive(Debug, Clone, Copy)]
pub struct SlaFacts {
    pub status: ReportStatus,
    pub routed_at: Millis,
    pub respond_by: Millis,
    pub responded_at: Option<Millis>,
    pub resolved_at: Option<Millis>,
    pub rating: Option<u8>,
}

impl From<&ReportFacts> for SlaFacts {
    fn from(f: &ReportFacts) -> Self {
        SlaFacts {
            status: f.status,
            routed_at: f.routed_at,
            respond_by: f.deadlines.respond_by,
            responded_at: f.responded_at,
            resolved_at: f.resolved_at,
            rating: f.rating,
        }
    }
}

impl SlaFacts {
    /// Seconds from routing to the unit's first response, once there is one.
    pub fn response_secs(&self) -> Option<i64> {
        self.responded_at.map(|r| (r.0 - self.routed_at.0) / 1000)
    }

    /// Seconds from routing to resolution, for a report that is resolved (or closed) now.
    pub fn resolution_secs(&self) -> Option<i64> {
        self.resolved_at.filter(|_| self.status.is_resolved()).map(|r| (r.0 - self.routed_at.0) / 1000)
    }

    pub fn responded_in_time(&self) -> bool {
        self.responded_at.is_some_and(|r| r <= self.respond_by)
    }
}

/// The three rates (三率) and the two median times of a set of reports: those routed to a unit
/// (or to any unit of the city) and filed within a date range.
///
/// Exactly:
/// - **response rate** (响应率) = reports whose first response came no later than their response
///   deadline ÷ all reports in the set. A response is the unit's first status change (accept,
///   reject, mark duplicate, transfer, start, resolve) or its first public reply, whichever comes
///   first. A report not yet responded to counts as not responded in time.
/// - **resolution rate** (解决率) = reports that are resolved or closed now ÷ all reports in the
///   set (a reopened report no longer counts until it is resolved again).
/// - **satisfaction rate** (满意率) = reports rated 4 or 5 ÷ reports rated at all; none when no
///   report was rated.
/// - **median time to respond** = the median of (first response − routing) over responded
///   reports; **median time to resolve** = the median of (resolution − routing) over resolved
///   reports; in whole seconds, the mean of the two middle values (rounded down) for an even
///   count, none for an empty set. "Routing" is when the report reached its current unit (its
///   filing, or its last transfer).
///
/// Every rate is `None` when its denominator is zero.
#[derive(Debug, Clone, PartialEq)]
pub struct Rates {
    pub reports: u64,
    pub responded_in_time: u64,
    pub resolved: u64,
    pub rated: u64,
    pub satisfied: u64,
    pub response_rate: Option<f64>,
    pub resolution_rate: Option<f64>,
    pub satisfaction_rate: Option<f64>,
    pub median_response_secs: Option<i64>,
    pub median_resolution_secs: Option<i64>,
}

impl Rates {
    pub fn of(reports: &[SlaFacts]) -> Rates {
        let count = |pred: &dyn Fn(&SlaFacts) -> bool| reports.iter().filter(|r| pred(r)).count() as u64;
        let total = reports.len() as u64;
        let responded_in_time = count(&|r| r.responded_in_time());
        let resolved = count(&|r| r.status.is_resolved());
        let rated = count(&|r| r.rating.is_some());
        let satisfied = count(&|r| r.rating.is_some_and(|s| s >= 4));
        let ratio = |n: u64, d: u64| (d > 0).then(|| n as f64 / d as f64);
        Rates {
            reports: total,
            responded_in_time,
            resolved,
            rated,
            satisfied,
            response_rate: ratio(responded_in_time, total),
            resolution_rate: ratio(resolved, total),
            satisfaction_rate: ratio(satisfied, rated),
            median_response_secs: median(reports.iter().filter_map(SlaFacts::response_secs).collect()),
            median_resolution_secs: median(reports.iter().filter_map(SlaFacts::resolution_secs).collect()),
        }
    }
}

fn median(mut values: Vec<i64>) -> Option<i64> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    let mid = values.len() / 2;
    Some(if values.len() % 2 == 1 { values[mid] } else { (values[mid - 1] + values[mid]).div_euclid(2) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::report::Category;

    #[test]
    fn deadlines_come_from_the_category_and_the_first_open_one_is_next() {
        let fire = Category::FireSafety.defaults();
        let d = Deadlines::from_routing(Millis(0), &fire);
        assert_eq!(d.respond_by, Millis(15 * 60 * 1000));
        assert_eq!(d.resolve_by, Millis(24 * 3600 * 1000));
        assert_eq!(d.next(ReportStatus::Submitted, None), d.respond_by);
        assert_eq!(d.next(ReportStatus::Accepted, Some(Millis(5))), d.resolve_by);
        assert_eq!(d.next(ReportStatus::Resolved, Some(Millis(5))), NO_DEADLINE);
        assert!(is_overdue(d.respond_by, d.respond_by.plus_secs(1)));
        assert!(!is_overdue(d.respond_by, d.respond_by));
        assert!(!is_overdue(NO_DEADLINE, Millis(i64::MAX - 1)));
    }

    /// Five reports, computed by hand:
    /// - A responded after 10 min (deadline 15), resolved after 1 h, rated 5
    /// - B responded after 20 min (late), resolved after 3 h, rated 2
    /// - C responded after 5 min, in progress
    /// - D never responded
    /// - E responded after 15 min exactly (in time), closed after 2 h, rated 4
    ///
    /// response 3/5, resolution 3/5 (A, B, E), satisfaction 2/3; response times 5, 10, 15, 20
    /// min → median 12.5 min = 750 s; resolution times 1, 2, 3 h → median 2 h.
    #[test]
    fn the_three_rates_on_a_hand_computed_fixture() {
        let min = |m: i64| Some(Millis(m * 60_000));
        let f = |status, responded_at, resolved_at, rating| SlaFacts {
            status,
            routed_at: Millis(0),
            respond_by: Millis(15 * 60_000),
            responded_at,
            resolved_at,
            rating,
        };
        use ReportStatus as S;
        let set = [
            f(S::Resolved, min(10), min(60), Some(5)),
            f(S::Closed, min(20), min(180), Some(2)),
            f(S::InProgress, min(5), None, None),
            f(S::Submitted, None, None, None),
            f(S::Closed, min(15), min(120), Some(4)),
        ];
        let r = Rates::of(&set);
        assert_eq!((r.reports, r.responded_in_time, r.resolved, r.rated, r.satisfied), (5, 3, 3, 3, 2));
        assert_eq!(r.response_rate, Some(0.6));
        assert_eq!(r.resolution_rate, Some(0.6));
        assert_eq!(r.satisfaction_rate, Some(2.0 / 3.0));
        assert_eq!(r.median_response_secs, Some(750));
        assert_eq!(r.median_resolution_secs, Some(7200));
        let empty = Rates::of(&[]);
        assert_eq!((empty.response_rate, empty.satisfaction_rate, empty.median_response_secs), (None, None, None));
    }
}

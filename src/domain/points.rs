//! Governance points (积分): the rules a city pays by, the daily limits, the words each ledger
//! entry is told in, the periods rankings are kept for, masked names, and pickup codes. Pure:
//! "now" and randomness come in as parameters.

use chrono::Datelike;
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::DomainError;
use super::named_enum::named_enum;
use super::time::Millis;

named_enum!(
    /// Why points moved: each rule pays at most once per rider and object.
    PointRule, "rule" {
        /// The rider's report was accepted by its unit.
        ReportAccepted = "report_accepted",
        /// The rider's report was resolved.
        ReportResolved = "report_resolved",
        /// The rider was the first "me too" on someone else's report, which the unit accepted.
        FirstMeToo = "first_me_too",
        /// The rider rated the outcome of their report.
        Rating = "rating",
        /// A successful check-in at a place.
        Checkin = "checkin",
        /// A clerk or admin's award for volunteer work.
        ManualAward = "manual_award",
        /// Takes back what an earlier entry paid (a report rejected as false, or a duplicate).
        Reversal = "reversal",
        /// Spent at the points supermarket.
        Redemption = "redemption",
        /// A redemption cancelled or expired: its points come back.
        RedemptionRefund = "redemption_refund",
    }
);

impl PointRule {
    /// Earned for help given: counted against the daily cap and in rankings. Spending, refunds
    /// and reversals are not earnings.
    pub fn is_earning(self) -> bool {
        matches!(
            self,
            PointRule::ReportAccepted
                | PointRule::ReportResolved
                | PointRule::FirstMeToo
                | PointRule::Rating
                | PointRule::Checkin
                | PointRule::ManualAward
        )
    }

    /// What a rider reads beside the entry.
    pub fn words(self) -> (&'static str, &'static str) {
        match self {
            PointRule::ReportAccepted => ("上报被受理", "your report was accepted"),
            PointRule::ReportResolved => ("上报的问题已解决", "the problem you reported was resolved"),
            PointRule::FirstMeToo => ("您率先附议的上报被受理", "a report you were first to confirm was accepted"),
            PointRule::Rating => ("评价处理结果", "you rated an outcome"),
            PointRule::Checkin => ("驿站打卡成功", "you checked in at a place"),
            PointRule::ManualAward => ("志愿服务奖励", "an award for volunteer work"),
            PointRule::Reversal => ("积分撤回", "points taken back"),
            PointRule::Redemption => ("积分超市兑换", "redeemed at the points supermarket"),
            PointRule::RedemptionRefund => ("兑换取消或过期，积分退回", "redemption cancelled or expired: refunded"),
        }
    }
}

named_enum!(
    /// What an entry is for.
    PointObject, "object_kind" {
        Report = "report",
        Checkin = "checkin",
        Award = "award",
        Redemption = "redemption",
    }
);

named_enum!(
    /// Why an entry paid what it did: in full, or less because a limit was reached (the entry is
    /// still written, with what it paid, so the trail stays complete).
    PaidReason, "reason" {
        /// Paid what the rule pays (or spent, refunded, reversed).
        Full = "full",
        /// Cut by the daily cap on earned points.
        DailyCap = "daily_cap",
        /// Cut by the limit on paid check-ins a day.
        CheckinLimit = "checkin_limit",
        /// Cut by the limit on awarded points per rider a day.
        AwardLimit = "award_limit",
        /// The report this entry paid for was rejected as false.
        ReportRejected = "report_rejected",
        /// The report this entry paid for was marked a duplicate.
        ReportDuplicate = "report_duplicate",
    }
);

impl PaidReason {
    /// Added to the rule's words when a limit cut the entry or a reversal explains itself.
    pub fn words(self) -> Option<(&'static str, &'static str)> {
        match self {
            PaidReason::Full => None,
            PaidReason::DailyCap => Some(("今日获得积分已达上限", "today's cap on earned points was reached")),
            PaidReason::CheckinLimit => Some(("今日打卡积分次数已达上限", "today's paid check-ins were used up")),
            PaidReason::AwardLimit => Some(("今日奖励积分已达上限", "today's cap on awards was reached")),
            PaidReason::ReportRejected => Some(("上报被认定为不实", "the report was rejected as false")),
            PaidReason::ReportDuplicate => Some(("上报被认定为重复", "the report was marked a duplicate")),
        }
    }
}

/// The most any single rule may pay, and the most any limit may be.
pub const MAX_RULE_POINTS: i64 = 1_000;
pub const MAX_LIMIT: i64 = 100_000;

/// A city's point rules. Everyone may read them; city admins change them (audited).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PointRules {
    /// A report accepted by its unit.
    pub report_accepted: i64,
    /// The same report resolved.
    pub report_resolved: i64,
    /// The first "me too" on someone else's report, once the unit accepts it.
    pub first_me_too: i64,
    /// Rating an outcome.
    pub rating: i64,
    /// A successful check-in at a place…
    pub checkin: i64,
    /// …paid at most this many times a day.
    pub checkins_per_day: i64,
    /// The most one manual award may give.
    pub award_max: i64,
    /// The most manual awards may give one rider in a day.
    pub awards_per_rider_per_day: i64,
    /// The most a rider earns in a day by the automatic rules (manual awards have their own cap).
    pub daily_cap: i64,
}

impl Default for PointRules {
    fn default() -> Self {
        PointRules {
            report_accepted: 10,
            report_resolved: 5,
            first_me_too: 2,
            rating: 1,
            checkin: 1,
            checkins_per_day: 5,
            award_max: 20,
            awards_per_rider_per_day: 50,
            daily_cap: 50,
        }
    }
}

impl PointRules {
    /// Refuses amounts out of range, naming the field.
    pub fn checked(self) -> Result<PointRules, DomainError> {
        let amounts = [
            ("report_accepted", self.report_accepted),
            ("report_resolved", self.report_resolved),
            ("first_me_too", self.first_me_too),
            ("rating", self.rating),
            ("checkin", self.checkin),
            ("award_max", self.award_max),
        ];
        for (field, value) in amounts {
            if !(0..=MAX_RULE_POINTS).contains(&value) {
                return Err(DomainError::invalid(field, format!("0 to {MAX_RULE_POINTS}")));
            }
        }
        let limits = [
            ("checkins_per_day", self.checkins_per_day),
            ("awards_per_rider_per_day", self.awards_per_rider_per_day),
            ("daily_cap", self.daily_cap),
        ];
        for (field, value) in limits {
            if !(0..=MAX_LIMIT).contains(&value) {
                return Err(DomainError::invalid(field, format!("0 to {MAX_LIMIT}")));
            }
        }
        Ok(self)
    }

    /// What an automatic rule pays (spending, refunds, reversals and awards have their own amounts).
    pub fn amount(&self, rule: PointRule) -> i64 {
        match rule {
            PointRule::ReportAccepted => self.report_accepted,
            PointRule::ReportResolved => self.report_resolved,
            PointRule::FirstMeToo => self.first_me_too,
            PointRule::Rating => self.rating,
            PointRule::Checkin => self.checkin,
            PointRule::ManualAward => self.award_max,
            PointRule::Reversal | PointRule::Redemption | PointRule::RedemptionRefund => 0,
        }
    }
}

/// What a rider has earned so far in a local day.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DayTally {
    /// Earned by the automatic rules (what the daily cap counts).
    pub earned: i64,
    /// Successful check-ins considered for points.
    pub checkins: i64,
    /// Given by manual awards.
    pub awarded: i64,
}

/// What an earning entry pays, and why, given what the rider already earned that day: the
/// rule's amount, cut to what the day's limits leave (never below zero).
pub fn earning(rules: &PointRules, rule: PointRule, asked: i64, day: DayTally) -> (i64, PaidReason) {
    let cut = |asked: i64, room: i64, reason: PaidReason| {
        let room = room.max(0);
        if asked > room { (room, reason) } else { (asked, PaidReason::Full) }
    };
    match rule {
        PointRule::ManualAward => cut(asked, rules.awards_per_rider_per_day - day.awarded, PaidReason::AwardLimit),
        PointRule::Checkin if day.checkins >= rules.checkins_per_day => (0, PaidReason::CheckinLimit),
        _ => cut(asked, rules.daily_cap - day.earned, PaidReason::DailyCap),
    }
}

impl DayTally {
    /// The day after an earning entry of `rule` that paid `amount`.
    pub fn after(self, rule: PointRule, amount: i64) -> DayTally {
        match rule {
            PointRule::ManualAward => DayTally { awarded: self.awarded + amount, ..self },
            PointRule::Checkin => DayTally { earned: self.earned + amount, checkins: self.checkins + 1, ..self },
            _ => DayTally { earned: self.earned + amount, ..self },
        }
    }
}

/// A day in the city's own calendar: daily caps reset at the city's midnight, not UTC's.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct LocalDay(String);

impl LocalDay {
    pub fn of(at: Millis, tz: Tz) -> LocalDay {
        LocalDay(at.in_zone(tz).format("%Y-%m-%d").to_string())
    }

    /// A stored day, as written by `of`.
    pub fn stored(text: String) -> LocalDay {
        LocalDay(text)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The month (`m2026-11`) and the year (`y2026`) the day belongs to: the ranking periods.
    pub fn periods(&self) -> [Period; 2] {
        let (year, month) = (&self.0[..4.min(self.0.len())], &self.0[..7.min(self.0.len())]);
        [Period(format!("m{month}")), Period(format!("y{year}"))]
    }
}

/// A ranking period: a month or a year of the city's calendar.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Period(String);

impl Period {
    pub fn month(year: i32, month: u32) -> Result<Period, DomainError> {
        if !(2000..=2999).contains(&year) || !(1..=12).contains(&month) {
            return Err(DomainError::invalid("month", "a month as YYYY-MM"));
        }
        Ok(Period(format!("m{year:04}-{month:02}")))
    }

    pub fn year(year: i32) -> Result<Period, DomainError> {
        if !(2000..=2999).contains(&year) {
            return Err(DomainError::invalid("year", "a year as YYYY"));
        }
        Ok(Period(format!("y{year:04}")))
    }

    /// `2026-11` is a month, `2026` a year.
    pub fn parse(text: &str) -> Result<Period, DomainError> {
        let bad = || DomainError::invalid("period", "a month (YYYY-MM) or a year (YYYY)");
        match text.trim().split_once('-') {
            Some((y, m)) if y.len() == 4 && m.len() == 2 => {
                Period::month(y.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?)
            }
            None if text.trim().len() == 4 => Period::year(text.trim().parse().map_err(|_| bad())?),
            _ => Err(bad()),
        }
    }

    /// The month that holds `at` in the city's calendar.
    pub fn month_of(at: Millis, tz: Tz) -> Period {
        let local = at.in_zone(tz);
        Period(format!("m{:04}-{:02}", local.year(), local.month()))
    }

    pub fn key(&self) -> &str {
        &self.0
    }

    /// As people write it: `2026-11` or `2026`.
    pub fn label(&self) -> &str {
        &self.0[1..]
    }

    /// The local days the period spans, first and last (`YYYY-MM-DD`, compared as text).
    pub fn days(&self) -> (String, String) {
        let label = self.label();
        if label.len() == 7 {
            (format!("{label}-01"), format!("{label}-31"))
        } else {
            (format!("{label}-01-01"), format!("{label}-12-31"))
        }
    }
}

/// The ranking scope of the whole city (a unit's scope is its id).
pub const CITY_SCOPE: &str = "city";

/// How a rider who opted in appears in a ranking: the first character of their name, then two
/// stars (王**), so that neighbours and colleagues cannot be told apart by length.
pub fn masked_name(display_name: &str) -> String {
    let first = display_name.trim().chars().next().unwrap_or('骑');
    format!("{first}**")
}

/// Competition ranks ("1224") of a page of scores, highest first, given the number of riders
/// holding each score at least as high as the page's lowest (`counts`, any order): a rider's
/// rank is one more than the riders above them.
pub fn ranks(page: &[i64], counts: &[(i64, i64)]) -> Vec<i64> {
    page.iter().map(|&points| 1 + counts.iter().filter(|(p, _)| *p > points).map(|(_, n)| n).sum::<i64>()).collect()
}

/// Digits in a pickup code: about 33 bits, short enough to read aloud; a manager can confirm only
/// codes of their own place, and each only once.
pub const PICKUP_CODE_DIGITS: usize = 10;

/// A new pickup code from a cryptographic random source.
pub fn new_pickup_code(rng: &mut impl rand::Rng) -> String {
    (0..PICKUP_CODE_DIGITS).map(|_| char::from(b'0' + rng.random_range(0..10u8))).collect()
}

/// A code as a manager types or scans it: spaces and dashes are ignored; anything else that is
/// not ten digits is refused.
pub fn parse_pickup_code(input: &str) -> Result<String, DomainError> {
    let digits: String = input.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    if digits.len() != PICKUP_CODE_DIGITS || !digits.chars().all(|c| c.is_ascii_digit()) {
        return Err(DomainError::invalid("code", format!("{PICKUP_CODE_DIGITS} digits")));
    }
    Ok(digits)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    const SHANGHAI: Tz = chrono_tz::Asia::Shanghai;

    fn day(earned: i64, checkins: i64, awarded: i64) -> DayTally {
        DayTally { earned, checkins, awarded }
    }

    #[test]
    fn a_rule_pays_in_full_until_the_daily_cap_then_what_is_left_then_nothing() {
        let rules = PointRules::default();
        assert_eq!(earning(&rules, PointRule::ReportAccepted, 10, day(30, 0, 0)), (10, PaidReason::Full));
        assert_eq!(earning(&rules, PointRule::ReportAccepted, 10, day(45, 0, 0)), (5, PaidReason::DailyCap));
        assert_eq!(earning(&rules, PointRule::ReportAccepted, 10, day(50, 0, 0)), (0, PaidReason::DailyCap));
    }

    #[test]
    fn the_sixth_check_in_of_a_day_pays_nothing() {
        let rules = PointRules::default();
        let mut tally = DayTally::default();
        let mut paid = Vec::new();
        for _ in 0..6 {
            let (amount, _) = earning(&rules, PointRule::Checkin, rules.checkin, tally);
            tally = tally.after(PointRule::Checkin, amount);
            paid.push(amount);
        }
        assert_eq!(paid, [1, 1, 1, 1, 1, 0]);
        assert_eq!(earning(&rules, PointRule::Checkin, 1, tally).1, PaidReason::CheckinLimit);
    }

    #[test]
    fn awards_have_their_own_cap_and_do_not_fill_the_daily_cap() {
        let rules = PointRules::default();
        assert_eq!(earning(&rules, PointRule::ManualAward, 20, day(50, 0, 40)), (10, PaidReason::AwardLimit));
        assert_eq!(day(0, 0, 0).after(PointRule::ManualAward, 20), day(0, 0, 20));
    }

    #[test]
    fn the_day_turns_at_the_citys_midnight() {
        let before = Millis::from_datetime(&SHANGHAI.with_ymd_and_hms(2026, 11, 26, 23, 59, 59).unwrap());
        let after = Millis::from_datetime(&SHANGHAI.with_ymd_and_hms(2026, 11, 27, 0, 0, 0).unwrap());
        assert_eq!(LocalDay::of(before, SHANGHAI).as_str(), "2026-11-26");
        assert_eq!(LocalDay::of(after, SHANGHAI).as_str(), "2026-11-27");
        // 16:00 UTC is already tomorrow in Shanghai.
        let [month, year] = LocalDay::of(after, SHANGHAI).periods();
        assert_eq!((month.key(), year.key()), ("m2026-11", "y2026"));
    }

    #[test]
    fn periods_parse_as_people_write_them() {
        assert_eq!(Period::parse("2026-11").unwrap().key(), "m2026-11");
        assert_eq!(Period::parse("2026").unwrap().key(), "y2026");
        for bad in ["2026-13", "26-11", "2026-1", "", "abcd", "2026-11-01"] {
            assert!(Period::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(Period::parse("2026-02").unwrap().days(), ("2026-02-01".into(), "2026-02-31".into()));
    }

    #[test]
    fn names_are_masked_to_their_first_character() {
        assert_eq!(masked_name("王小明"), "王**");
        assert_eq!(masked_name("Li"), "L**");
        assert_eq!(masked_name(" "), "骑**");
    }

    #[test]
    fn ties_share_a_rank_and_the_next_score_skips() {
        let counts = [(30, 1), (20, 2), (10, 5)];
        assert_eq!(ranks(&[30, 20, 20, 10], &counts), [1, 2, 2, 4]);
    }

    #[test]
    fn pickup_codes_are_ten_digits_and_typing_slips_are_forgiven() {
        let code = new_pickup_code(&mut rand::rng());
        assert_eq!(code.len(), 10);
        assert_eq!(parse_pickup_code("1234 5678-90").unwrap(), "1234567890");
        assert!(parse_pickup_code("123456789").is_err());
        assert!(parse_pickup_code("12345678901").is_err());
        assert!(parse_pickup_code("12345678a0").is_err());
    }

    #[test]
    fn rules_out_of_range_name_their_field() {
        let rules = PointRules { daily_cap: -1, ..PointRules::default() };
        match rules.checked() {
            Err(DomainError::Invalid { field, .. }) => assert_eq!(field, "daily_cap"),
            other => panic!("{other:?}"),
        }
    }
}

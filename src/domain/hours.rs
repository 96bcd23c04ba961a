//! Opening hours: a weekly schedule with overnight spans and per-date exceptions, evaluated in
//! the city's local time.
//!
//! The grammar (stored as text, used in the API, in CSV and in GeoJSON):
//!
//! ```text
//! 24/7
//! mon-fri 08:00-20:00; sat,sun 10:00-16:00
//! mon-sun 22:00-06:00                      overnight: opens 22:00, closes 06:00 the next morning
//! mon-sun 24h; 2026-10-01 closed; 2026-10-02 10:00-14:00
//! ```
//!
//! Clauses are separated by `;`. A clause names days (`mon`…`sun`, ranges `mon-fri`, lists
//! `sat,sun`) or one date (`YYYY-MM-DD`), then spans (`HH:MM-HH:MM`, comma-separated), `24h` or
//! `closed`. A day not named is closed. A date's clause replaces that weekday's spans on that date.
//! A span whose end is not after its start runs past midnight; it belongs to the day it starts on,
//! so on a date whose exception says `closed`, the previous evening's overnight span still runs
//! into its morning. `24:00` ends a span at midnight.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, NaiveDate, Timelike};
use chrono_tz::Tz;

use super::DomainError;
use super::time::Millis;

const DAY_NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const MINUTES_PER_DAY: u16 = 24 * 60;
pub const MAX_SPANS_PER_DAY: usize = 4;
pub const MAX_EXCEPTIONS: usize = 100;
/// The longest text of opening hours.
pub const MAX_CHARS: usize = 2000;

/// An opening span in minutes after local midnight: `start` in 0..1440, `end` in 1..=1440.
/// `end <= start` means the span ends the next day at `end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Span {
    start: u16,
    end: u16,
}

impl Span {
    pub const ALL_DAY: Span = Span { start: 0, end: MINUTES_PER_DAY };

    pub fn new(start: u16, end: u16) -> Result<Span, DomainError> {
        if start >= MINUTES_PER_DAY || end == 0 || end > MINUTES_PER_DAY || start == end {
            return Err(DomainError::invalid("hours", "a span runs from HH:MM to a different HH:MM (24:00 at most)"));
        }
        Ok(Span { start, end })
    }

    fn overnight(self) -> bool {
        self.end <= self.start
    }

    /// Open at `minute` of the day the span starts on.
    fn covers_same_day(self, minute: u16) -> bool {
        minute >= self.start && (self.overnight() || minute < self.end)
    }

    /// Open at `minute` of the day after the span starts.
    fn covers_next_morning(self, minute: u16) -> bool {
        self.overnight() && minute < self.end
    }
}

fn hhmm(m: u16) -> String {
    format!("{:02}:{:02}", m / 60, m % 60)
}

fn parse_hhmm(s: &str) -> Result<u16, DomainError> {
    let bad = || DomainError::invalid("hours", format!("`{s}` is not a time HH:MM"));
    let (h, m) = s.split_once(':').ok_or_else(bad)?;
    let (h, m): (u16, u16) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if m >= 60 || h > 24 || (h == 24 && m != 0) || s.len() != 5 {
        return Err(bad());
    }
    Ok(h * 60 + m)
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", hhmm(self.start), hhmm(self.end))
    }
}

impl FromStr for Span {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (a, b) = s
            .trim()
            .split_once('-')
            .ok_or_else(|| DomainError::invalid("hours", format!("`{s}` is not a span HH:MM-HH:MM")))?;
        Span::new(parse_hhmm(a.trim())?, parse_hhmm(b.trim())?)
    }
}

/// A moment in the city's local time, computed once per query and reused for every place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalMoment {
    pub date: NaiveDate,
    /// 0 = Monday.
    pub weekday: u8,
    pub minute: u16,
}

impl LocalMoment {
    pub fn new(at: Millis, tz: Tz) -> LocalMoment {
        let local = at.in_zone(tz);
        LocalMoment {
            date: local.date_naive(),
            weekday: local.weekday().num_days_from_monday() as u8,
            minute: (local.hour() * 60 + local.minute()) as u16,
        }
    }
}

/// A week of opening spans plus per-date exceptions.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct OpeningHours {
    weekly: [Vec<Span>; 7],
    exceptions: BTreeMap<NaiveDate, Vec<Span>>,
}

impl OpeningHours {
    /// Open around the clock, every day.
    pub fn always() -> OpeningHours {
        OpeningHours { weekly: std::array::from_fn(|_| vec![Span::ALL_DAY]), exceptions: BTreeMap::new() }
    }

    /// The same spans every day of the week.
    pub fn daily(spans: &[Span]) -> OpeningHours {
        OpeningHours { weekly: std::array::from_fn(|_| spans.to_vec()), exceptions: BTreeMap::new() }
    }

    /// Replaces the spans of one date (empty = closed that day).
    pub fn with_exception(mut self, date: NaiveDate, spans: &[Span]) -> OpeningHours {
        self.exceptions.insert(date, spans.to_vec());
        self
    }

    fn spans_on(&self, date: NaiveDate, weekday: u8) -> &[Span] {
        self.exceptions.get(&date).unwrap_or(&self.weekly[weekday as usize % 7])
    }

    /// Open at this local moment: a span of today covers it, or an overnight span of yesterday
    /// still runs.
    pub fn is_open(&self, at: &LocalMoment) -> bool {
        if self.spans_on(at.date, at.weekday).iter().any(|s| s.covers_same_day(at.minute)) {
            return true;
        }
        let yesterday = at.date.pred_opt().unwrap_or(at.date);
        self.spans_on(yesterday, (at.weekday + 6) % 7).iter().any(|s| s.covers_next_morning(at.minute))
    }

    pub fn is_open_at(&self, at: Millis, tz: Tz) -> bool {
        self.is_open(&LocalMoment::new(at, tz))
    }

    fn is_always(&self) -> bool {
        self.exceptions.is_empty() && self.weekly.iter().all(|d| d.as_slice() == [Span::ALL_DAY])
    }
}

fn write_spans(f: &mut fmt::Formatter<'_>, spans: &[Span]) -> fmt::Result {
    if spans.is_empty() {
        return f.write_str("closed");
    }
    if spans == [Span::ALL_DAY] {
        return f.write_str("24h");
    }
    for (i, s) in spans.iter().enumerate() {
        if i > 0 {
            f.write_str(",")?;
        }
        write!(f, "{s}")?;
    }
    Ok(())
}

/// The canonical text: runs of consecutive days with equal spans are written as ranges.
impl fmt::Display for OpeningHours {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_always() {
            return f.write_str("24/7");
        }
        let mut first = true;
        let mut sep = |f: &mut fmt::Formatter<'_>| -> fmt::Result {
            if !std::mem::take(&mut first) {
                f.write_str("; ")?;
            }
            Ok(())
        };
        let mut day = 0;
        while day < 7 {
            let mut last = day;
            while last + 1 < 7 && self.weekly[last + 1] == self.weekly[day] {
                last += 1;
            }
            if !self.weekly[day].is_empty() {
                sep(f)?;
                if last == day {
                    write!(f, "{} ", DAY_NAMES[day])?;
                } else {
                    write!(f, "{}-{} ", DAY_NAMES[day], DAY_NAMES[last])?;
                }
                write_spans(f, &self.weekly[day])?;
            }
            day = last + 1;
        }
        for (date, spans) in &self.exceptions {
            sep(f)?;
            write!(f, "{} ", date.format("%Y-%m-%d"))?;
            write_spans(f, spans)?;
        }
        if first {
            f.write_str("closed")?;
        }
        Ok(())
    }
}

fn parse_day(s: &str) -> Result<usize, DomainError> {
    DAY_NAMES
        .iter()
        .position(|d| d.eq_ignore_ascii_case(s.trim()))
        .ok_or_else(|| DomainError::invalid("hours", format!("`{s}` is not a day (mon … sun)")))
}

fn parse_days(s: &str) -> Result<Vec<usize>, DomainError> {
    let mut days = Vec::new();
    for part in s.split(',') {
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (parse_day(a)?, parse_day(b)?);
                let mut d = a;
                loop {
                    days.push(d);
                    if d == b {
                        break;
                    }
                    d = (d + 1) % 7;
                }
            }
            None => days.push(parse_day(part)?),
        }
    }
    Ok(days)
}

fn parse_spans(s: &str) -> Result<Vec<Span>, DomainError> {
    let s = s.trim();
    let mut spans = match s.to_ascii_lowercase().as_str() {
        "closed" | "off" => Vec::new(),
        "24h" | "00:00-24:00" => vec![Span::ALL_DAY],
        _ => s.split(',').map(str::parse).collect::<Result<Vec<Span>, _>>()?,
    };
    if spans.len() > MAX_SPANS_PER_DAY {
        return Err(DomainError::invalid("hours", format!("at most {MAX_SPANS_PER_DAY} spans a day")));
    }
    spans.sort();
    Ok(spans)
}

impl FromStr for OpeningHours {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.chars().count() > MAX_CHARS {
            return Err(DomainError::invalid("hours", format!("at most {MAX_CHARS} characters")));
        }
        if s == "24/7" {
            return Ok(OpeningHours::always());
        }
        let mut hours = OpeningHours::default();
        for clause in s.split(';').map(str::trim).filter(|c| !c.is_empty()) {
            if clause.eq_ignore_ascii_case("closed") {
                continue;
            }
            let (head, spans) = clause.split_once(char::is_whitespace).ok_or_else(|| {
                DomainError::invalid("hours", format!("`{clause}`: expected days or a date, then hours"))
            })?;
            let spans = parse_spans(spans)?;
            if head.len() == 10 && head.as_bytes()[4] == b'-' {
                let date = NaiveDate::parse_from_str(head, "%Y-%m-%d")
                    .map_err(|_| DomainError::invalid("hours", format!("`{head}` is not a date YYYY-MM-DD")))?;
                hours.exceptions.insert(date, spans);
            } else {
                for day in parse_days(head)? {
                    hours.weekly[day] = spans.clone();
                }
            }
        }
        if hours.exceptions.len() > MAX_EXCEPTIONS {
            return Err(DomainError::invalid("hours", format!("at most {MAX_EXCEPTIONS} exception dates")));
        }
        Ok(hours)
    }
}

/// What `char::is_whitespace` (and so `str::trim`) takes for space, as a regular expression class.
const SPACE: &str = r"[\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]";

/// The grammar as a regular expression (ECMA 262, as OpenAPI patterns are): the texts it matches
/// are those `OpeningHours::from_str` reads, but for more than `MAX_EXCEPTIONS` dates, 29
/// February (never matched), and a `+` before an hour (never matched). With `distinct_ends` a
/// span's end must differ from its start, by a back-reference in a negative lookahead, which
/// ECMA 262, Python and fancy-regex read but Rust's `regex` does not; without it, the same
/// expression with spans that may end where they start.
pub fn grammar_pattern(distinct_ends: bool) -> String {
    let any_case = |word: &str| -> String {
        word.chars()
            .map(|c| match c {
                'a'..='z' => format!("[{c}{}]", c.to_ascii_uppercase()),
                c => c.to_string(),
            })
            .collect()
    };
    let day = format!("(?:{})", DAY_NAMES.map(any_case).join("|"));
    let days = format!("{day}(?:-{day})?(?:,{day}(?:-{day})?)*");
    let date = "[0-9]{4}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)\
                |02-(?:0[1-9]|1[0-9]|2[0-8]))";
    let start = "(?:[01][0-9]|2[0-3]):[0-5][0-9]";
    let end = "(?:00:(?:0[1-9]|[1-5][0-9])|(?:0[1-9]|1[0-9]|2[0-3]):[0-5][0-9]|24:00)";
    let mut group = 0;
    let mut span = || {
        if distinct_ends {
            group += 1;
            format!("({start}){SPACE}*-{SPACE}*(?!\\{group}){end}")
        } else {
            format!("{start}{SPACE}*-{SPACE}*{end}")
        }
    };
    let closed = any_case("closed");
    let mut clause = || {
        let spans = format!(
            "(?:{closed}|{off}|24[hH]|{first}(?:{SPACE}*,{SPACE}*{more}){{0,{n}}})",
            off = any_case("off"),
            first = span(),
            more = span(),
            n = MAX_SPANS_PER_DAY - 1
        );
        format!("(?:{closed}|(?:{days}|{date}){SPACE}+{spans})")
    };
    let (first, more) = (clause(), clause());
    format!("^{SPACE}*(?:24/7|(?:{first})?(?:{SPACE}*;{SPACE}*(?:{more})?)*){SPACE}*$")
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn at(date: &str, time: &str) -> LocalMoment {
        let date = NaiveDate::parse_from_str(date, "%Y-%m-%d").unwrap();
        LocalMoment { date, weekday: date.weekday().num_days_from_monday() as u8, minute: parse_hhmm(time).unwrap() }
    }

    fn hours(s: &str) -> OpeningHours {
        s.parse().unwrap()
    }

    // 2026-11-23 is a Monday.

    #[test]
    fn weekday_spans_open_and_close_on_the_minute() {
        let h = hours("mon-fri 08:00-20:00; sat 10:00-16:00");
        assert!(!h.is_open(&at("2026-11-23", "07:59")));
        assert!(h.is_open(&at("2026-11-23", "08:00")));
        assert!(h.is_open(&at("2026-11-23", "19:59")));
        assert!(!h.is_open(&at("2026-11-23", "20:00")));
        assert!(h.is_open(&at("2026-11-28", "12:00")));
        assert!(!h.is_open(&at("2026-11-29", "12:00")), "sunday is not named, so closed");
    }

    #[test]
    fn an_overnight_span_runs_past_midnight_into_the_next_day() {
        let h = hours("fri 22:00-06:00");
        assert!(!h.is_open(&at("2026-11-27", "21:59")));
        assert!(h.is_open(&at("2026-11-27", "22:00")));
        assert!(h.is_open(&at("2026-11-27", "23:59")));
        assert!(h.is_open(&at("2026-11-28", "00:00")), "saturday morning belongs to friday's span");
        assert!(h.is_open(&at("2026-11-28", "05:59")));
        assert!(!h.is_open(&at("2026-11-28", "06:00")));
        assert!(!h.is_open(&at("2026-11-28", "22:30")), "saturday has no span of its own");
        // Sunday night into Monday morning wraps around the week.
        let h = hours("sun 22:00-06:00");
        assert!(h.is_open(&at("2026-11-23", "03:00")));
    }

    #[test]
    fn twenty_four_hours_is_always_open() {
        let h = hours("24/7");
        for t in ["00:00", "12:00", "23:59"] {
            assert!(h.is_open(&at("2026-11-25", t)));
        }
        assert_eq!(hours("mon-sun 00:00-24:00"), h);
        assert_eq!(h.to_string(), "24/7");
    }

    #[test]
    fn an_exception_date_replaces_the_weekly_spans() {
        let h = hours("mon-sun 08:00-20:00; 2026-10-01 closed; 2026-10-02 10:00-14:00");
        assert!(!h.is_open(&at("2026-10-01", "12:00")));
        assert!(h.is_open(&at("2026-09-30", "12:00")));
        assert!(h.is_open(&at("2026-10-02", "10:30")));
        assert!(!h.is_open(&at("2026-10-02", "15:00")));
        assert!(h.is_open(&at("2026-10-03", "15:00")));
    }

    #[test]
    fn yesterdays_overnight_span_runs_into_a_closed_exception_day() {
        let h = hours("mon-sun 22:00-06:00; 2026-10-01 closed");
        assert!(h.is_open(&at("2026-10-01", "05:00")), "the night of 30 September runs on");
        assert!(!h.is_open(&at("2026-10-01", "23:00")), "no night starts on the holiday");
        assert!(!h.is_open(&at("2026-10-02", "05:00")));
        // An overnight exception runs into the next morning too.
        let h = hours("2026-12-31 20:00-02:00");
        assert!(h.is_open(&at("2027-01-01", "01:30")));
    }

    #[test]
    fn the_city_time_zone_decides_what_now_is() {
        // 2026-11-25 23:30 in Shanghai is 15:30 UTC.
        let utc = chrono::Utc.with_ymd_and_hms(2026, 11, 25, 15, 30, 0).unwrap();
        let now = Millis::from_datetime(&utc);
        let h = hours("mon-sun 22:00-06:00");
        assert!(h.is_open_at(now, chrono_tz::Asia::Shanghai));
        assert!(!h.is_open_at(now, chrono_tz::UTC));
        assert_eq!(LocalMoment::new(now, chrono_tz::Asia::Shanghai).weekday, 2);
    }

    #[test]
    fn text_round_trips_through_the_canonical_form() {
        for s in [
            "mon-fri 08:00-20:00; sat,sun 10:00-16:00",
            "mon 08:00-12:00,14:00-18:00; 2026-10-01 closed",
            "sat-mon 22:00-06:00",
            "closed",
            "mon-sun 24h; 2026-10-02 10:00-14:00",
        ] {
            let h = hours(s);
            let again = hours(&h.to_string());
            assert_eq!(h, again, "{s} → {h}");
        }
        assert_eq!(
            hours("mon-fri 08:00-20:00; sat,sun 10:00-16:00").to_string(),
            "mon-fri 08:00-20:00; sat-sun 10:00-16:00"
        );
    }

    /// Spans whose two ends are the same time: the one thing only the lookahead refuses.
    fn has_a_span_ending_where_it_starts(span: &regex::Regex, text: &str) -> bool {
        span.captures_iter(text).any(|c| c[1] == c[2])
    }

    #[test]
    fn the_grammar_pattern_matches_exactly_what_parses() {
        use rand::{Rng, SeedableRng};
        let pattern = regex::Regex::new(&grammar_pattern(false)).unwrap();
        let span = regex::Regex::new(r"([0-9]{2}:[0-9]{2})\s*-\s*([0-9]{2}:[0-9]{2})").unwrap();
        let tokens = [
            "mon",
            "Tue",
            "SUN",
            "fri",
            "mon-fri",
            "sat,sun",
            "sun-tue",
            "2026-10-01",
            "2026-04-31",
            "2026-13-01",
            " ",
            "  ",
            "\t",
            "\u{3000}",
            ";",
            "08:00",
            "24:00",
            "00:00",
            "23:59",
            "12:30",
            "-",
            ",",
            "closed",
            "Closed",
            "off",
            "24h",
            "24/7",
            "x",
            "8:00",
            "mon ",
            " 10:00-12:00",
            "07:00-07:01",
        ];
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let mut agreed = [0, 0];
        for _ in 0..20_000 {
            let n = rng.random_range(0..9);
            let text: String = (0..n).map(|_| tokens[rng.random_range(0..tokens.len())]).collect();
            if has_a_span_ending_where_it_starts(&span, &text) {
                continue;
            }
            let parses = text.parse::<OpeningHours>().is_ok();
            assert_eq!(pattern.is_match(&text), parses, "{text:?}");
            agreed[usize::from(parses)] += 1;
        }
        assert!(agreed[1] > 100, "too few valid texts drawn: {agreed:?}");
        for text in ["24/7", " mon-fri 08:00-20:00; sat,sun 10:00 - 16:00 ;", "mon 22:00-06:00,07:00-08:00", ""] {
            assert!(pattern.is_match(text) && text.parse::<OpeningHours>().is_ok(), "{text}");
        }
        let too_many = "mon 01:00-02:00,03:00-04:00,05:00-06:00,07:00-08:00,09:00-10:00";
        assert!(!pattern.is_match(too_many) && too_many.parse::<OpeningHours>().is_err());
        let with_lookahead = grammar_pattern(true);
        assert_eq!(with_lookahead.matches("(?!\\").count(), 4, "{with_lookahead}");
    }

    #[test]
    fn malformed_hours_are_refused() {
        for bad in [
            "mon",
            "xyz 08:00-10:00",
            "mon 8-10",
            "mon 08:00-08:00",
            "mon 25:00-26:00",
            "2026-13-01 closed",
            "mon 08:60-09:00",
        ] {
            assert!(bad.parse::<OpeningHours>().is_err(), "{bad}");
        }
    }
}

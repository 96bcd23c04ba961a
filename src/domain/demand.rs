//! Unmet demand: where riders search for a place and find none open. Counted per map cell
//! (geohash level 6, about 1.2 km × 0.6 km) and hour, never per rider or point.

use chrono::{Datelike, NaiveDate, TimeZone};
use chrono_tz::Tz;

use super::geo::Gcj02;
use super::places::{Amenity, AmenitySet, KindSet, PlaceKind};
use super::time::Millis;

/// The geohash length of a cell: about 1.2 km × 0.6 km.
pub const CELL_PRECISION: usize = 6;
pub const HOUR_MS: i64 = 3_600_000;

/// A map cell: a level-6 geohash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Cell([u8; CELL_PRECISION]);

const BASE32: &[u8; 32] = b"0123456789bcdefghjkmnpqrstuvwxyz";

impl Cell {
    /// The cell holding a point (the geohash of GCJ-02 coordinates, as places are stored).
    pub fn of(p: Gcj02) -> Cell {
        let (mut lat, mut lng) = ((-90.0f64, 90.0f64), (-180.0f64, 180.0f64));
        let mut out = [0u8; CELL_PRECISION];
        let mut even = true;
        for slot in &mut out {
            let mut index = 0usize;
            for _ in 0..5 {
                let (range, value) = if even { (&mut lng, p.lng()) } else { (&mut lat, p.lat()) };
                let mid = (range.0 + range.1) / 2.0;
                index <<= 1;
                if value >= mid {
                    index |= 1;
                    range.0 = mid;
                } else {
                    range.1 = mid;
                }
                even = !even;
            }
            *slot = BASE32[index];
        }
        Cell(out)
    }

    pub fn parse(text: &str) -> Option<Cell> {
        let bytes: [u8; CELL_PRECISION] = text.as_bytes().try_into().ok()?;
        bytes.iter().all(|b| BASE32.contains(b)).then_some(Cell(bytes))
    }

    pub fn as_str(&self) -> &str {
        // Only BASE32 bytes are ever stored.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// The cell's box in GCJ-02: `[min_lng, min_lat, max_lng, max_lat]`.
    pub fn bounds(&self) -> [f64; 4] {
        match geohash::decode_bbox(self.as_str()) {
            Ok(r) => [r.min().x, r.min().y, r.max().x, r.max().y],
            Err(_) => [0.0; 4],
        }
    }

    pub fn center(&self) -> Option<Gcj02> {
        let [w, s, e, n] = self.bounds();
        Gcj02::new((s + n) / 2.0, (w + e) / 2.0).ok()
    }
}

/// What a search asked for, as counted: every search (`All`), or searches for one kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Asked {
    All,
    Kind(PlaceKind),
}

impl Asked {
    pub fn as_str(self) -> &'static str {
        match self {
            Asked::All => "all",
            Asked::Kind(k) => k.as_str(),
        }
    }

    pub fn parse(text: &str) -> Option<Asked> {
        match text {
            "all" => Some(Asked::All),
            other => other.parse().ok().map(Asked::Kind),
        }
    }

    pub fn kind(self) -> Option<PlaceKind> {
        match self {
            Asked::All => None,
            Asked::Kind(k) => Some(k),
        }
    }
}

/// One counter: a cell, an hour (its first millisecond), what was asked, and the amenity asked
/// for (`None`: the search as a whole).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DemandKey {
    pub cell: Cell,
    pub hour: i64,
    pub asked: Asked,
    pub amenity: Option<Amenity>,
}

/// Searches, and of them those that found nothing open.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub searches: i64,
    pub unmet: i64,
}

impl Tally {
    pub fn add(&mut self, other: Tally) {
        self.searches += other.searches;
        self.unmet += other.unmet;
    }

    /// The share of searches that found nothing, 0 to 1.
    pub fn unmet_share(&self) -> f64 {
        if self.searches == 0 { 0.0 } else { self.unmet as f64 / self.searches as f64 }
    }
}

/// What one search asked and found, reduced to what the map counts: which of the asked kinds it
/// found an open place of. Every place found has every amenity asked for (the search filters on
/// them), so an amenity asked for went unmet exactly when the search found nothing open.
#[derive(Debug, Clone, Copy)]
pub struct SearchSeen {
    kinds: [bool; 3],
    any_open: bool,
}

impl SearchSeen {
    pub fn new() -> SearchSeen {
        SearchSeen { kinds: [false; 3], any_open: false }
    }

    /// A place the search found.
    pub fn saw(&mut self, kind: PlaceKind, open_now: bool) {
        if open_now {
            self.kinds[kind as usize] = true;
            self.any_open = true;
        }
    }

    /// The counters one search adds to: every search, and each kind it asked for (a search
    /// without kinds asked for every kind), each as a whole and per amenity asked for.
    pub fn keys(
        &self,
        cell: Cell,
        hour: i64,
        kinds: KindSet,
        amenities: AmenitySet,
        mut add: impl FnMut(DemandKey, Tally),
    ) {
        let mut count = |asked: Asked, met: bool| {
            let tally = Tally { searches: 1, unmet: i64::from(!met) };
            add(DemandKey { cell, hour, asked, amenity: None }, tally);
            for amenity in amenities.iter() {
                add(DemandKey { cell, hour, asked, amenity: Some(amenity) }, tally);
            }
        };
        count(Asked::All, self.any_open);
        for kind in kinds.named() {
            count(Asked::Kind(kind), self.kinds[kind as usize]);
        }
    }
}

impl Default for SearchSeen {
    fn default() -> Self {
        Self::new()
    }
}

/// How long a row of counters covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grain {
    Hour,
    Day,
    Month,
}

impl Grain {
    pub fn as_str(self) -> &'static str {
        match self {
            Grain::Hour => "hour",
            Grain::Day => "day",
            Grain::Month => "month",
        }
    }

    /// The first millisecond of the period of this grain holding `at`, in the city's calendar,
    /// and the first of the next one.
    pub fn period(self, at: Millis, tz: Tz) -> (Millis, Millis) {
        match self {
            Grain::Hour => {
                let start = at.0.div_euclid(HOUR_MS) * HOUR_MS;
                (Millis(start), Millis(start + HOUR_MS))
            }
            Grain::Day => {
                let day = at.in_zone(tz).date_naive();
                (midnight(day, tz), midnight(day.succ_opt().unwrap_or(day), tz))
            }
            Grain::Month => {
                let local = at.in_zone(tz).date_naive();
                let first = NaiveDate::from_ymd_opt(local.year(), local.month(), 1).unwrap_or(local);
                let next = if first.month() == 12 {
                    NaiveDate::from_ymd_opt(first.year() + 1, 1, 1)
                } else {
                    NaiveDate::from_ymd_opt(first.year(), first.month() + 1, 1)
                };
                (midnight(first, tz), midnight(next.unwrap_or(first), tz))
            }
        }
    }
}

fn midnight(day: NaiveDate, tz: Tz) -> Millis {
    let naive = day.and_hms_opt(0, 0, 0).unwrap_or_default();
    let at = tz.from_local_datetime(&naive).earliest().map(|t| t.timestamp_millis());
    Millis(at.unwrap_or_else(|| naive.and_utc().timestamp_millis()))
}

/// Leaves out cells with fewer than `k` searches in the period: a handful of searches could be
/// one rider's daily routine.
pub fn publishable(tally: &Tally, k: i64) -> bool {
    tally.searches >= k
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cell_is_the_level_six_geohash_of_the_point() {
        let p = Gcj02::new(30.2741, 120.1551).unwrap();
        let cell = Cell::of(p);
        assert_eq!(cell.as_str(), p.geohash(6));
        let [w, s, e, n] = cell.bounds();
        assert!(s <= p.lat() && p.lat() <= n && w <= p.lng() && p.lng() <= e);
        assert_eq!(Cell::parse(cell.as_str()), Some(cell));
        assert_eq!(Cell::parse("wtmk7a"), None, "`a` is not a geohash digit");
    }

    #[test]
    fn a_search_counts_for_every_search_each_kind_asked_and_each_amenity_asked() {
        let cell = Cell::of(Gcj02::new(30.0, 120.0).unwrap());
        let mut seen = SearchSeen::new();
        seen.saw(PlaceKind::ParkingZone, true);
        seen.saw(PlaceKind::Station, false);
        let mut amenities = AmenitySet::default();
        amenities.insert(Amenity::HotWater);
        let mut added = Vec::new();
        let kinds: KindSet = [PlaceKind::Station, PlaceKind::ParkingZone].into_iter().collect();
        seen.keys(cell, 0, kinds, amenities, |k, t| added.push((k.asked, k.amenity, t.unmet)));
        assert_eq!(
            added,
            [
                (Asked::All, None, 0),
                (Asked::All, Some(Amenity::HotWater), 0),
                (Asked::Kind(PlaceKind::Station), None, 1),
                (Asked::Kind(PlaceKind::Station), Some(Amenity::HotWater), 1),
                (Asked::Kind(PlaceKind::ParkingZone), None, 0),
                (Asked::Kind(PlaceKind::ParkingZone), Some(Amenity::HotWater), 0),
            ]
        );
    }

    #[test]
    fn periods_follow_the_citys_calendar() {
        let tz = chrono_tz::Asia::Shanghai;
        let at = Millis(tz.with_ymd_and_hms(2026, 12, 31, 23, 30, 0).unwrap().timestamp_millis());
        let (start, end) = Grain::Day.period(at, tz);
        assert_eq!(start.0, tz.with_ymd_and_hms(2026, 12, 31, 0, 0, 0).unwrap().timestamp_millis());
        assert_eq!(end.0 - start.0, 24 * HOUR_MS);
        let (start, end) = Grain::Month.period(at, tz);
        assert_eq!(start.0, tz.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap().timestamp_millis());
        assert_eq!(end.0, tz.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap().timestamp_millis());
        let (start, end) = Grain::Hour.period(at, tz);
        assert_eq!((start.0 % HOUR_MS, end.0 - start.0), (0, HOUR_MS));
    }
}

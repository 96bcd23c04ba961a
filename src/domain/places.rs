//! Places riders look for: stations, parking zones and friendly sites; what they offer, when they
//! are open, what their manager declares, and what riders say when they get there.

use super::DomainError;
use super::error::ErrorCode;
use super::geo::Gcj02;
use super::hours::OpeningHours;
use super::named_enum::named_enum;
use super::time::Millis;

named_enum!(
    /// The three kinds of place.
    PlaceKind, "kind" {
        Station = "station",
        ParkingZone = "parking_zone",
        FriendlySite = "friendly_site",
    }
);

named_enum!(
    /// The fixed vocabulary of amenities. The order is the bit order stored in
    /// `places.amenity_bits`: append new ones at the end, never reorder.
    Amenity, "amenity" {
        DrinkingWater = "drinking_water",
        HotWater = "hot_water",
        Microwave = "microwave",
        PhoneCharging = "phone_charging",
        EbikeCharging = "ebike_charging",
        BatterySwap = "battery_swap",
        Toilet = "toilet",
        RestSeating = "rest_seating",
        AirConditioning = "air_conditioning",
        Heating = "heating",
        RainShelter = "rain_shelter",
        Wifi = "wifi",
        FirstAid = "first_aid",
        RepairKit = "repair_kit",
        UmbrellaLending = "umbrella_lending",
        Lockers = "lockers",
        UnionService = "union_service",
        LegalAid = "legal_aid",
    }
);

named_enum!(
    /// What a manager declares, without its details.
    StatusKind, "status" {
        Open = "open",
        TemporarilyClosed = "temporarily_closed",
        Full = "full",
        Removed = "removed",
    }
);

named_enum!(
    /// What a rider found. Successes confirm the place; failures go to its manager.
    /// `used_amenity`, `amenity_broken` and `amenity_missing` name an amenity
    /// ("got water" = used_amenity + drinking_water; "microwave broken" = amenity_broken + microwave).
    CheckinOutcome, "outcome" {
        AllGood = "all_good",
        UsedAmenity = "used_amenity",
        Parked = "parked",
        GotIn = "got_in",
        AmenityBroken = "amenity_broken",
        AmenityMissing = "amenity_missing",
        Closed = "closed",
        ZoneFull = "zone_full",
        EntryRefused = "entry_refused",
        NotFound = "not_found",
    }
);

impl CheckinOutcome {
    pub fn is_success(self) -> bool {
        matches!(
            self,
            CheckinOutcome::AllGood | CheckinOutcome::UsedAmenity | CheckinOutcome::Parked | CheckinOutcome::GotIn
        )
    }

    pub fn needs_amenity(self) -> bool {
        matches!(self, CheckinOutcome::UsedAmenity | CheckinOutcome::AmenityBroken | CheckinOutcome::AmenityMissing)
    }
}

impl Amenity {
    fn bit(self) -> u32 {
        1 << (self as u8)
    }
}

/// A set of amenities, as a bitset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct AmenitySet(u32);

impl AmenitySet {
    /// Bits beyond the vocabulary are dropped.
    pub fn from_bits(bits: i64) -> AmenitySet {
        let known = (1u32 << Amenity::ALL.len()) - 1;
        AmenitySet((bits as u32) & known)
    }

    pub fn bits(self) -> i64 {
        i64::from(self.0)
    }

    pub fn contains_all(self, required: AmenitySet) -> bool {
        self.0 & required.0 == required.0
    }

    pub fn contains(self, a: Amenity) -> bool {
        self.0 & a.bit() != 0
    }

    pub fn insert(&mut self, a: Amenity) {
        self.0 |= a.bit();
    }

    pub fn iter(self) -> impl Iterator<Item = Amenity> {
        Amenity::ALL.iter().copied().filter(move |a| self.contains(*a))
    }

    /// `drinking_water|toilet`, as CSV holds it.
    pub fn to_list(self) -> String {
        self.iter().map(Amenity::as_str).collect::<Vec<_>>().join("|")
    }

    /// Names separated by `|`, `,` or spaces.
    pub fn parse_list(s: &str) -> Result<AmenitySet, DomainError> {
        s.split(['|', ',', ' ']).filter(|p| !p.trim().is_empty()).map(str::parse).collect()
    }
}

impl FromIterator<Amenity> for AmenitySet {
    fn from_iter<I: IntoIterator<Item = Amenity>>(iter: I) -> Self {
        let mut set = AmenitySet::default();
        for a in iter {
            set.insert(a);
        }
        set
    }
}

/// A set of kinds; empty means every kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct KindSet(u8);

impl KindSet {
    pub fn allows(self, k: PlaceKind) -> bool {
        self.0 == 0 || self.0 & (1 << k as u8) != 0
    }

    /// The kinds named (none when the set means every kind).
    pub fn named(self) -> impl Iterator<Item = PlaceKind> {
        PlaceKind::ALL.iter().copied().filter(move |k| self.0 & (1 << *k as u8) != 0)
    }
}

impl FromIterator<PlaceKind> for KindSet {
    fn from_iter<I: IntoIterator<Item = PlaceKind>>(iter: I) -> Self {
        KindSet(iter.into_iter().fold(0, |acc, k| acc | (1 << k as u8)))
    }
}

/// The status a manager declares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlaceStatus {
    Open,
    /// Closed for a reason until a time (or until further notice).
    TemporarilyClosed {
        reason: String,
        until: Option<Millis>,
    },
    /// A parking zone with no free bay.
    Full,
    Removed,
}

impl PlaceStatus {
    pub fn kind(&self) -> StatusKind {
        match self {
            PlaceStatus::Open => StatusKind::Open,
            PlaceStatus::TemporarilyClosed { .. } => StatusKind::TemporarilyClosed,
            PlaceStatus::Full => StatusKind::Full,
            PlaceStatus::Removed => StatusKind::Removed,
        }
    }

    /// Reads a status from its parts, checking that it suits the place.
    pub fn parse(
        kind: StatusKind,
        reason: Option<String>,
        until: Option<Millis>,
        place: PlaceKind,
    ) -> Result<PlaceStatus, DomainError> {
        match kind {
            StatusKind::Open => Ok(PlaceStatus::Open),
            StatusKind::Removed => Ok(PlaceStatus::Removed),
            StatusKind::Full if place == PlaceKind::ParkingZone => Ok(PlaceStatus::Full),
            StatusKind::Full => Err(DomainError::invalid("status", "only a parking zone can be full")),
            StatusKind::TemporarilyClosed => {
                let reason = reason.map(|r| r.trim().to_string()).filter(|r| !r.is_empty());
                let reason = reason.ok_or_else(|| DomainError::invalid("status_reason", "say why it is closed"))?;
                if reason.chars().count() > 200 {
                    return Err(DomainError::invalid("status_reason", "at most 200 characters"));
                }
                Ok(PlaceStatus::TemporarilyClosed { reason, until })
            }
        }
    }

    pub fn reason(&self) -> Option<&str> {
        match self {
            PlaceStatus::TemporarilyClosed { reason, .. } => Some(reason),
            _ => None,
        }
    }

    pub fn until(&self) -> Option<Millis> {
        match self {
            PlaceStatus::TemporarilyClosed { until, .. } => *until,
            _ => None,
        }
    }
}

/// The status riders see at `now`: a temporary closure whose time has passed is open again.
pub fn effective_status(kind: StatusKind, until: Option<Millis>, now: Millis) -> StatusKind {
    match (kind, until) {
        (StatusKind::TemporarilyClosed, Some(until)) if until <= now => StatusKind::Open,
        (k, _) => k,
    }
}

/// Open for riders at `now`: not closed or removed, and within its hours.
pub fn is_open_now(status: StatusKind, hours_open: bool) -> bool {
    matches!(status, StatusKind::Open | StatusKind::Full) && hours_open
}

pub const MAX_PHOTOS: usize = 9;

/// Everything that describes a place, checked; what creating and importing store.
#[derive(Debug, Clone, PartialEq)]
pub struct PlaceDraft {
    pub kind: PlaceKind,
    pub name: String,
    pub address: String,
    pub location: Gcj02,
    pub host_org: Option<String>,
    pub contact_phone: Option<String>,
    pub photos: Vec<String>,
    pub amenities: AmenitySet,
    pub hours: OpeningHours,
    pub capacity: Option<i32>,
    pub max_stay_minutes: Option<i32>,
    pub entry_instructions: Option<String>,
}

fn text(field: &'static str, value: &str, max: usize) -> Result<String, DomainError> {
    let v = value.trim();
    if v.is_empty() || v.chars().count() > max {
        return Err(DomainError::invalid(field, format!("1 to {max} characters")));
    }
    Ok(v.to_string())
}

fn optional_text(field: &'static str, value: Option<&str>, max: usize) -> Result<Option<String>, DomainError> {
    value.map(str::trim).filter(|v| !v.is_empty()).map(|v| text(field, v, max)).transpose()
}

impl PlaceKind {
    /// Whether a change fits a place of this kind: capacity, maximum stay and `full` belong to
    /// parking zones, entry instructions to friendly sites. A change that does not fit conflicts
    /// with the place as it is (the client cannot know its kind from the change alone).
    pub fn check_change(self, parking_only: bool, friendly_site_only: bool) -> Result<(), DomainError> {
        let fits = (!parking_only || self == PlaceKind::ParkingZone)
            && (!friendly_site_only || self == PlaceKind::FriendlySite);
        if fits {
            Ok(())
        } else {
            Err(DomainError::conflict(ErrorCode::WrongPlaceKind, format!("a {self} has no such field or status")))
        }
    }
}

impl PlaceDraft {
    /// Trims and checks every field, and the rules that tie them to the kind: capacity and
    /// maximum stay belong to parking zones, entry instructions to friendly sites.
    pub fn checked(mut self) -> Result<PlaceDraft, DomainError> {
        self.name = text("name", &self.name, 100)?;
        self.address = text("address", &self.address, 200)?;
        self.host_org = optional_text("host_org", self.host_org.as_deref(), 100)?;
        self.contact_phone = optional_text("contact_phone", self.contact_phone.as_deref(), 32)?;
        if let Some(phone) = &self.contact_phone
            && !phone.chars().all(|c| c.is_ascii_digit() || "+- ()".contains(c))
        {
            return Err(DomainError::invalid("contact_phone", "digits, spaces and + - ( ) only"));
        }
        self.entry_instructions = optional_text("entry_instructions", self.entry_instructions.as_deref(), 500)?;
        if self.photos.len() > MAX_PHOTOS {
            return Err(DomainError::invalid("photos", format!("at most {MAX_PHOTOS}")));
        }
        for p in &mut self.photos {
            *p = text("photos", p, 512)?;
        }
        let parking = self.kind == PlaceKind::ParkingZone;
        if !parking && (self.capacity.is_some() || self.max_stay_minutes.is_some()) {
            return Err(DomainError::invalid("capacity", "capacity and max_stay_minutes are for parking zones"));
        }
        if self.capacity.is_some_and(|c| !(1..=100_000).contains(&c)) {
            return Err(DomainError::invalid("capacity", "1 to 100000"));
        }
        if self.max_stay_minutes.is_some_and(|m| !(1..=1440).contains(&m)) {
            return Err(DomainError::invalid("max_stay_minutes", "1 to 1440"));
        }
        if self.kind != PlaceKind::FriendlySite && self.entry_instructions.is_some() {
            return Err(DomainError::invalid("entry_instructions", "entry instructions are for friendly sites"));
        }
        Ok(self)
    }
}

/// What the in-memory index keeps of a place: enough to filter and to answer a nearby search.
#[derive(Debug, Clone, PartialEq)]
pub struct PlacePin {
    pub id: String,
    pub kind: PlaceKind,
    pub name: String,
    pub location: Gcj02,
    pub amenities: AmenitySet,
    pub hours_text: String,
    pub status: StatusKind,
    pub status_until: Option<Millis>,
    pub last_confirmed_at: Option<Millis>,
    /// The change counter's value when this state was written: a newer one always wins.
    pub version: i64,
}

/// Geohash precision stored with each place (about 5 m).
pub const GEOHASH_PRECISION: usize = 9;

/// A place as the service keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct PlaceRecord {
    pub id: String,
    pub city_id: String,
    pub draft: PlaceDraft,
    pub geohash: String,
    pub status: PlaceStatus,
    pub last_confirmed_at: Option<Millis>,
    /// The change counter's value when this state was written.
    pub version: i64,
    pub created_at: Millis,
    pub updated_at: Millis,
}

/// A place's status as riders see it at one moment.
#[derive(Debug, Clone, PartialEq)]
pub struct SeenStatus {
    /// An expired temporary closure reads as open.
    pub status: StatusKind,
    /// Within its hours and neither closed nor removed.
    pub open_now: bool,
    /// The closure's reason and end, while the closure holds.
    pub reason: Option<String>,
    pub until: Option<Millis>,
}

impl PlaceRecord {
    /// A new, open place.
    pub fn new(id: String, city_id: &str, draft: PlaceDraft, version: i64, now: Millis) -> PlaceRecord {
        PlaceRecord {
            id,
            city_id: city_id.to_string(),
            geohash: draft.location.geohash(GEOHASH_PRECISION),
            draft,
            status: PlaceStatus::Open,
            last_confirmed_at: None,
            version,
            created_at: now,
            updated_at: now,
        }
    }

    pub fn pin(&self) -> PlacePin {
        PlacePin {
            id: self.id.clone(),
            kind: self.draft.kind,
            name: self.draft.name.clone(),
            location: self.draft.location,
            amenities: self.draft.amenities,
            hours_text: self.draft.hours.to_string(),
            status: self.status.kind(),
            status_until: self.status.until(),
            last_confirmed_at: self.last_confirmed_at,
            version: self.version,
        }
    }

    /// The status riders see at `now` in the city's time zone.
    pub fn seen_at(&self, now: Millis, tz: chrono_tz::Tz) -> SeenStatus {
        let declared = self.status.kind();
        let status = effective_status(declared, self.status.until(), now);
        let holds = status == declared;
        SeenStatus {
            status,
            open_now: is_open_now(status, self.draft.hours.is_open_at(now, tz)),
            reason: self.status.reason().filter(|_| holds).map(str::to_string),
            until: self.status.until().filter(|_| holds),
        }
    }
}

/// What a rider said at a place. Its rider is for the once-an-hour rule and the rider's own
/// view; staff and other riders see what was found, never who found it.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckinRecord {
    pub id: String,
    pub place_id: String,
    pub rider_id: String,
    pub outcome: CheckinOutcome,
    pub amenity: Option<Amenity>,
    pub note: Option<String>,
    pub created_at: Millis,
}

named_enum!(
    /// What a change in a place's history did (the audit trail's action).
    PlaceAction, "action" {
        Create = "place.create",
        Import = "place.import",
        Update = "place.update",
        Remove = "place.remove",
        Managers = "place.managers",
        /// Places generated for load tests (`xinhuoban demo places`), recorded once per batch.
        Generate = "place.generate",
    }
);

/// One change in a place's history: which staff account did what, and the place before and after.
#[derive(Debug, Clone, PartialEq)]
pub struct PlaceChangeRecord {
    pub id: String,
    pub actor_id: Option<String>,
    pub action: PlaceAction,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    pub at: Millis,
}

/// What a nearby search asks.
#[derive(Debug, Clone)]
pub struct NearbyQuery {
    pub center: Gcj02,
    pub radius_m: f64,
    pub kinds: KindSet,
    /// Every one of these is required.
    pub amenities: AmenitySet,
    pub open_now: bool,
    pub limit: usize,
}

/// One place found, nearest first: `Hit` owns its name, `HitRef` borrows it from the index
/// while the walk holds the read lock.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit<N = String> {
    /// The place's UUID as a number (`id_string` for its text).
    pub id: u128,
    pub kind: PlaceKind,
    pub name: N,
    pub location: Gcj02,
    pub distance_m: f64,
    pub open_now: bool,
    /// The status riders see now (an expired temporary closure reads as open).
    pub status: StatusKind,
    pub amenities: AmenitySet,
    pub last_confirmed_at: Option<Millis>,
}

pub type HitRef<'a> = Hit<&'a str>;

impl<N> Hit<N> {
    pub fn id_string(&self) -> String {
        uuid::Uuid::from_u128(self.id).to_string()
    }
}

impl HitRef<'_> {
    pub fn to_hit(&self) -> Hit {
        let Hit { id, kind, name, location, distance_m, open_now, status, amenities, last_confirmed_at } = *self;
        Hit { id, kind, name: name.to_string(), location, distance_m, open_now, status, amenities, last_confirmed_at }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_ones_are_refused() {
        for a in Amenity::ALL {
            assert_eq!(a.as_str().parse::<Amenity>().unwrap(), *a);
        }
        assert!(Amenity::ALL.len() >= 18);
        assert!("sauna".parse::<Amenity>().is_err());
        assert!("hotel".parse::<PlaceKind>().is_err());
    }

    #[test]
    fn amenity_sets_check_all_required() {
        let have: AmenitySet = [Amenity::DrinkingWater, Amenity::Toilet, Amenity::LegalAid].into_iter().collect();
        assert!(have.contains_all([Amenity::DrinkingWater, Amenity::LegalAid].into_iter().collect()));
        assert!(!have.contains_all([Amenity::DrinkingWater, Amenity::Wifi].into_iter().collect()));
        assert!(have.contains_all(AmenitySet::default()));
        assert_eq!(AmenitySet::from_bits(have.bits()), have);
        assert_eq!(AmenitySet::parse_list(&have.to_list()).unwrap(), have);
    }

    #[test]
    fn full_is_for_parking_and_closure_needs_a_reason() {
        assert!(PlaceStatus::parse(StatusKind::Full, None, None, PlaceKind::Station).is_err());
        assert!(PlaceStatus::parse(StatusKind::Full, None, None, PlaceKind::ParkingZone).is_ok());
        assert!(PlaceStatus::parse(StatusKind::TemporarilyClosed, None, None, PlaceKind::Station).is_err());
        let closed = PlaceStatus::parse(
            StatusKind::TemporarilyClosed,
            Some("装修".into()),
            Some(Millis(10)),
            PlaceKind::Station,
        )
        .unwrap();
        assert_eq!(effective_status(closed.kind(), closed.until(), Millis(9)), StatusKind::TemporarilyClosed);
        assert_eq!(effective_status(closed.kind(), closed.until(), Millis(10)), StatusKind::Open);
    }

    #[test]
    fn riders_see_an_expired_closure_as_open_without_its_reason() {
        let draft = PlaceDraft {
            kind: PlaceKind::Station,
            name: "驿站".into(),
            address: "路1号".into(),
            location: Gcj02::new(30.27, 120.16).unwrap(),
            host_org: None,
            contact_phone: None,
            photos: Vec::new(),
            amenities: AmenitySet::default(),
            hours: OpeningHours::always(),
            capacity: None,
            max_stay_minutes: None,
            entry_instructions: None,
        };
        let mut place = PlaceRecord::new("p".into(), "c", draft, 1, Millis(0));
        place.status = PlaceStatus::TemporarilyClosed { reason: "装修".into(), until: Some(Millis(10)) };
        let tz = chrono_tz::Asia::Shanghai;
        let closed = place.seen_at(Millis(9), tz);
        assert_eq!((closed.status, closed.open_now), (StatusKind::TemporarilyClosed, false));
        assert_eq!((closed.reason.as_deref(), closed.until), (Some("装修"), Some(Millis(10))));
        let reopened = place.seen_at(Millis(10), tz);
        assert_eq!(reopened, SeenStatus { status: StatusKind::Open, open_now: true, reason: None, until: None });
    }

    #[test]
    fn outcomes_know_success_and_amenity() {
        assert!(CheckinOutcome::UsedAmenity.is_success() && CheckinOutcome::UsedAmenity.needs_amenity());
        assert!(!CheckinOutcome::ZoneFull.is_success());
        assert!(!CheckinOutcome::NotFound.needs_amenity());
    }
}

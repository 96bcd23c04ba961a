//! Places for riders: nearby search, the map, one place, and check-ins.
//!
//! Reading places needs no token: stations and parking zones are public services the departments
//! announce anyway, the mini-program may show the map before login, and a search that carries no
//! identity does not tie a rider's location to who they are. Checking in needs a rider token.

use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::param::{Header, Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi, Union};

use super::ApiTags;
use super::dto::mirror_enum;
pub use super::dto::{CoordDto, coord_of};
use super::dto::{Tagged, TaggedBody, not_null};
use super::error::codes::*;
use super::error::{ApiResult, Body, Paged, SignedAs};
use super::fast_json::{self as fj, Prewritten};
use super::media::PhotoUrl;
use super::paging::{Cursor, Page, PageRequest};
use super::place_admin::{PlaceChange, checkin_page};
use super::security::{RiderAuth, StaffAuth};
use super::text::Text;
use crate::domain::geo::{CoordSystem, Gcj02, MapBox};
use crate::domain::places::{
    Amenity, AmenitySet, CheckinOutcome, CheckinRecord, Hit, HitRef, KindSet, NearbyQuery, PlaceKind, PlaceRecord,
    StatusKind,
};
use crate::domain::time::Millis;
use crate::service::places::{self as service, CheckinScope, CheckinSpec, PlaceDetail, PlacePhotos};
use crate::state::AppState;

mirror_enum!(
    /// station (新伙伴驿站), parking_zone (停车区/临时驻留点) or friendly_site (友好场景).
    PlaceKindDto = PlaceKind { Station, ParkingZone, FriendlySite }
);
mirror_enum!(
    /// An amenity from the fixed vocabulary.
    AmenityDto = Amenity {
        DrinkingWater, HotWater, Microwave, PhoneCharging, EbikeCharging, BatterySwap, Toilet, RestSeating,
        AirConditioning, Heating, RainShelter, Wifi, FirstAid, RepairKit, UmbrellaLending, Lockers, UnionService,
        LegalAid,
    }
);
mirror_enum!(
    /// What the manager declares: open, temporarily_closed (with a reason and maybe an until-time),
    /// full (parking zones) or removed.
    PlaceStatusDto = StatusKind { Open, TemporarilyClosed, Full, Removed }
);
mirror_enum!(
    /// What a rider found. Successes: all_good, used_amenity (names the amenity: "got water"),
    /// parked, got_in. Failures, shown to the place's manager: amenity_broken ("microwave broken"),
    /// amenity_missing, closed, zone_full, entry_refused, not_found.
    CheckinOutcomeDto = CheckinOutcome {
        AllGood, UsedAmenity, Parked, GotIn, AmenityBroken, AmenityMissing, Closed, ZoneFull, EntryRefused, NotFound,
    }
);

pub fn amenities_dto(set: AmenitySet) -> Vec<AmenityDto> {
    set.iter().map(AmenityDto::from).collect()
}

pub fn amenity_set(list: &[AmenityDto]) -> AmenitySet {
    list.iter().map(|a| Amenity::from(*a)).collect()
}

fn utc(m: Option<Millis>) -> Option<DateTime<Utc>> {
    m.map(Millis::to_utc)
}

/// The limits `places_nearby` declares on its parameters (in its `#[oai(validator)]`s, which
/// cannot name constants); the plain path (`api::nearby_fast`) keeps to them, and
/// `tests/api/nearby_paths.rs` asks both paths each limit and one past it, so a mismatch shows.
pub struct NearbyLimits {
    pub max_lat: f64,
    pub max_lng: f64,
    pub radius_m: std::ops::RangeInclusive<u32>,
    pub max_kinds: usize,
    pub max_amenities: usize,
    pub limit: std::ops::RangeInclusive<u32>,
}

pub const NEARBY_LIMITS: NearbyLimits = NearbyLimits {
    max_lat: 90.0,
    max_lng: 180.0,
    radius_m: 1..=20000,
    max_kinds: 3,
    max_amenities: 18,
    limit: 1..=100,
};

/// A nearby search as both ways in read it: the typed handler and the plain path.
#[derive(Debug, Clone, PartialEq)]
pub struct NearbyParams {
    pub lat: f64,
    pub lng: f64,
    pub coord: Option<CoordDto>,
    pub radius_m: Option<u32>,
    pub kinds: Vec<PlaceKindDto>,
    pub amenities: Vec<AmenityDto>,
    pub open_now: Option<bool>,
    pub limit: Option<u32>,
}

impl NearbyParams {
    /// The page, written straight from the index (and counted for the demand map).
    pub fn answer(&self, state: &AppState) -> Result<Prewritten<Page<NearbyPlace>>, crate::domain::DomainError> {
        let coord: CoordSystem = coord_of(self.coord);
        let query = NearbyQuery {
            center: Gcj02::from_system(self.lat, self.lng, coord)?,
            radius_m: f64::from(self.radius_m.unwrap_or(3000)),
            kinds: self.kinds.iter().map(|k| PlaceKind::from(*k)).collect::<KindSet>(),
            amenities: amenity_set(&self.amenities),
            open_now: self.open_now.unwrap_or(false),
            limit: self.limit.unwrap_or(20) as usize,
        };
        let mut page = NearbyWriter::new(coord, query.limit);
        service::nearby(&state.places, &state.demand, &query, |h| page.push(h));
        Ok(page.finish())
    }
}

/// One place found by a nearby search.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none, example)]
pub struct NearbyPlace {
    pub id: String,
    pub kind: PlaceKindDto,
    pub name: String,
    /// In the system the request named, to 7 decimals (about 1 cm).
    pub lat: f64,
    pub lng: f64,
    pub coord: CoordDto,
    /// Great-circle metres from the point asked about.
    pub distance_m: u32,
    /// Within its hours now (in the city's time zone) and not closed or removed.
    pub open_now: bool,
    /// As riders see it now: an expired temporary closure reads as open.
    pub status: PlaceStatusDto,
    pub amenities: Vec<AmenityDto>,
    /// The last time a rider's check-in confirmed the place.
    pub last_confirmed_at: Option<DateTime<Utc>>,
}

/// Seven decimals of a degree: about a centimetre, and shorter answers on a weak network.
fn round7(v: f64) -> f64 {
    (v * 1e7).round() / 1e7
}

/// Writes a nearby page straight from the index's hits, byte for byte as poem-openapi would write
/// `Page<NearbyPlace>` (nearest first; never a `next_cursor`).
pub struct NearbyWriter {
    body: Vec<u8>,
    coord: CoordSystem,
    count: usize,
}

impl NearbyWriter {
    pub fn new(coord: CoordSystem, limit: usize) -> Self {
        let mut body = Vec::with_capacity(64 + 400 * limit.min(100));
        body.extend_from_slice(b"{\"items\":[");
        NearbyWriter { body, coord, count: 0 }
    }

    /// Writes one place, its keys in the order poem-openapi writes them (sorted), an absent
    /// `last_confirmed_at` left out.
    pub fn push(&mut self, h: &HitRef<'_>) {
        let out = &mut self.body;
        if self.count > 0 {
            out.push(b',');
        }
        self.count += 1;
        let (lat, lng) = h.location.in_system(self.coord);
        out.extend_from_slice(b"{\"amenities\":[");
        for (j, a) in h.amenities.iter().enumerate() {
            if j > 0 {
                out.push(b',');
            }
            fj::plain(out, a.as_str());
        }
        out.extend_from_slice(b"],\"coord\":");
        fj::plain(out, self.coord.as_str());
        out.extend_from_slice(b",\"distance_m\":");
        fj::unsigned(out, h.distance_m.round() as u32);
        out.extend_from_slice(b",\"id\":");
        fj::plain(out, uuid::Uuid::from_u128(h.id).hyphenated().encode_lower(&mut uuid::Uuid::encode_buffer()));
        out.extend_from_slice(b",\"kind\":");
        fj::plain(out, h.kind.as_str());
        if let Some(at) = h.last_confirmed_at {
            out.extend_from_slice(b",\"last_confirmed_at\":");
            fj::time(out, &at.to_utc());
        }
        out.extend_from_slice(b",\"lat\":");
        fj::decimal7(out, lat);
        out.extend_from_slice(b",\"lng\":");
        fj::decimal7(out, lng);
        out.extend_from_slice(b",\"name\":");
        fj::text(out, h.name);
        out.extend_from_slice(b",\"open_now\":");
        fj::boolean(out, h.open_now);
        out.extend_from_slice(b",\"status\":");
        fj::plain(out, h.status.as_str());
        out.push(b'}');
    }

    /// Closes the page: one page only, so no `next_cursor`.
    pub fn finish(mut self) -> Prewritten<Page<NearbyPlace>> {
        self.body.extend_from_slice(b"]}");
        Prewritten::new(self.body)
    }
}

/// One hit as `NearbyPlace` (what `NearbyWriter` writes, in poem-openapi's types).
pub fn nearby_item(h: Hit, coord: CoordSystem) -> NearbyPlace {
    let (lat, lng) = h.location.in_system(coord);
    let (lat, lng) = (round7(lat), round7(lng));
    NearbyPlace {
        id: h.id_string(),
        kind: h.kind.into(),
        name: h.name,
        lat,
        lng,
        coord: coord.into(),
        distance_m: h.distance_m.round() as u32,
        open_now: h.open_now,
        status: h.status.into(),
        amenities: amenities_dto(h.amenities),
        last_confirmed_at: utc(h.last_confirmed_at),
    }
}

/// A recent check-in as every rider sees it: what was found, never who found it.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none, example)]
pub struct PublicCheckin {
    pub outcome: CheckinOutcomeDto,
    pub amenity: Option<AmenityDto>,
    pub success: bool,
    pub created_at: DateTime<Utc>,
}

impl From<&CheckinRecord> for PublicCheckin {
    fn from(c: &CheckinRecord) -> Self {
        PublicCheckin {
            outcome: c.outcome.into(),
            amenity: c.amenity.map(Into::into),
            success: c.outcome.is_success(),
            created_at: c.created_at.to_utc(),
        }
    }
}

/// A place with everything riders and staff see.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none, example)]
pub struct Place {
    pub id: String,
    pub kind: PlaceKindDto,
    pub name: String,
    pub address: String,
    /// In the system the request named (GCJ-02 unless `coord=wgs84`).
    pub lat: f64,
    pub lng: f64,
    pub coord: CoordDto,
    /// Geohash of the GCJ-02 location (9 characters).
    pub geohash: String,
    pub host_org: Option<String>,
    pub contact_phone: Option<String>,
    /// Photo URLs or media ids.
    pub photos: Vec<String>,
    /// Signed URLs, needing no token, of the place photos among `photos` (media ids of photos
    /// staff uploaded), in the same order; outside URLs and other ids have none.
    pub photo_urls: Vec<PhotoUrl>,
    pub amenities: Vec<AmenityDto>,
    /// Opening hours, e.g. `mon-fri 08:00-20:00; sat-sun 10:00-16:00; 2026-10-01 closed`, `24/7`,
    /// or overnight `mon-sun 22:00-06:00`.
    pub hours: String,
    pub open_now: bool,
    /// As riders see it now (an expired temporary closure reads as open).
    pub status: PlaceStatusDto,
    pub status_reason: Option<String>,
    pub status_until: Option<DateTime<Utc>>,
    /// Parking zones: bays.
    pub capacity: Option<i32>,
    /// Parking zones: longest stay in minutes.
    pub max_stay_minutes: Option<i32>,
    /// Friendly sites: how riders get in.
    pub entry_instructions: Option<String>,
    pub last_confirmed_at: Option<DateTime<Utc>>,
    /// The latest check-ins, newest first (at most 10).
    pub recent_checkins: Vec<PublicCheckin>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The view of a place at `now` (in the city's time zone `tz`), in `coord`.
pub fn place_view(
    p: PlaceRecord,
    coord: CoordSystem,
    now: Millis,
    tz: chrono_tz::Tz,
    recent: &[CheckinRecord],
    photos: &PlacePhotos,
) -> Place {
    let seen = p.seen_at(now, tz);
    let photo_urls = photos.of(&p).into_iter().map(PhotoUrl::from).collect();
    let d = p.draft;
    let (lat, lng) = d.location.in_system(coord);
    Place {
        id: p.id,
        kind: d.kind.into(),
        name: d.name,
        address: d.address,
        lat,
        lng,
        coord: coord.into(),
        geohash: p.geohash,
        host_org: d.host_org,
        contact_phone: d.contact_phone,
        photos: d.photos,
        photo_urls,
        amenities: amenities_dto(d.amenities),
        hours: d.hours.to_string(),
        open_now: seen.open_now,
        status: seen.status.into(),
        status_reason: seen.reason,
        status_until: utc(seen.until),
        capacity: d.capacity,
        max_stay_minutes: d.max_stay_minutes,
        entry_instructions: d.entry_instructions,
        last_confirmed_at: utc(p.last_confirmed_at),
        recent_checkins: recent.iter().map(PublicCheckin::from).collect(),
        created_at: p.created_at.to_utc(),
        updated_at: p.updated_at.to_utc(),
    }
}

/// A place with its latest check-ins, as its page shows it.
pub fn detail_view(d: PlaceDetail, coord: CoordSystem, tz: chrono_tz::Tz) -> Place {
    place_view(d.place, coord, Millis::now(), tz, &d.recent, &d.photos)
}

/// Declares the body of one check-in outcome: a note, and the amenity when the outcome names one.
macro_rules! checkin_body {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Object)]
        #[oai(skip_serializing_if_is_none)]
        pub struct $name {
            /// A short remark for the place's manager.
            #[oai(deserialize_with = "not_null", validator(max_length = 200))]
            pub note: Option<Text>,
        }
    };
    ($(#[$meta:meta])* $name:ident with amenity) => {
        $(#[$meta])*
        #[derive(Debug, Object)]
        #[oai(skip_serializing_if_is_none)]
        pub struct $name {
            /// The amenity.
            pub amenity: AmenityDto,
            /// A short remark for the place's manager.
            #[oai(deserialize_with = "not_null", validator(max_length = 200))]
            pub note: Option<Text>,
        }
    };
}

checkin_body!(
    /// Everything as the place says.
    AllGoodCheckin
);
checkin_body!(
    /// Used an amenity ("got water").
    UsedAmenityCheckin with amenity
);
checkin_body!(
    /// Parked in the zone.
    ParkedCheckin
);
checkin_body!(
    /// Got into the friendly site.
    GotInCheckin
);
checkin_body!(
    /// An amenity is broken ("microwave broken"); the place's manager hears of it.
    AmenityBrokenCheckin with amenity
);
checkin_body!(
    /// An amenity the place lists is missing.
    AmenityMissingCheckin with amenity
);
checkin_body!(
    /// Closed when it should be open.
    ClosedCheckin
);
checkin_body!(
    /// The parking zone was full.
    ZoneFullCheckin
);
checkin_body!(
    /// The rider was not let in.
    EntryRefusedCheckin
);
checkin_body!(
    /// The place is not where the map shows it.
    NotFoundCheckin
);

/// What a rider found, by `outcome`: `used_amenity`, `amenity_broken` and `amenity_missing` name
/// the amenity, the others do not.
#[derive(Debug, Union)]
#[oai(discriminator_name = "outcome", one_of)]
pub enum CheckinRequest {
    #[oai(mapping = "all_good")]
    AllGood(AllGoodCheckin),
    #[oai(mapping = "used_amenity")]
    UsedAmenity(UsedAmenityCheckin),
    #[oai(mapping = "parked")]
    Parked(ParkedCheckin),
    #[oai(mapping = "got_in")]
    GotIn(GotInCheckin),
    #[oai(mapping = "amenity_broken")]
    AmenityBroken(AmenityBrokenCheckin),
    #[oai(mapping = "amenity_missing")]
    AmenityMissing(AmenityMissingCheckin),
    #[oai(mapping = "closed")]
    Closed(ClosedCheckin),
    #[oai(mapping = "zone_full")]
    ZoneFull(ZoneFullCheckin),
    #[oai(mapping = "entry_refused")]
    EntryRefused(EntryRefusedCheckin),
    #[oai(mapping = "not_found")]
    NotFound(NotFoundCheckin),
}

impl TaggedBody for CheckinRequest {
    const TAG: &'static str = "outcome";
    const REQUIRED: &'static [(&'static str, &'static [&'static str])] = &[
        ("all_good", &[]),
        ("used_amenity", &["amenity"]),
        ("parked", &[]),
        ("got_in", &[]),
        ("amenity_broken", &["amenity"]),
        ("amenity_missing", &["amenity"]),
        ("closed", &[]),
        ("zone_full", &[]),
        ("entry_refused", &[]),
        ("not_found", &[]),
    ];
}

impl CheckinRequest {
    /// The outcome, the amenity it names, and the note.
    fn into_parts(self) -> (CheckinOutcome, Option<Amenity>, Option<String>) {
        use CheckinOutcome as O;
        use CheckinRequest as R;
        match self {
            R::AllGood(c) => (O::AllGood, None, c.note.map(String::from)),
            R::UsedAmenity(c) => (O::UsedAmenity, Some(c.amenity.into()), c.note.map(String::from)),
            R::Parked(c) => (O::Parked, None, c.note.map(String::from)),
            R::GotIn(c) => (O::GotIn, None, c.note.map(String::from)),
            R::AmenityBroken(c) => (O::AmenityBroken, Some(c.amenity.into()), c.note.map(String::from)),
            R::AmenityMissing(c) => (O::AmenityMissing, Some(c.amenity.into()), c.note.map(String::from)),
            R::Closed(c) => (O::Closed, None, c.note.map(String::from)),
            R::ZoneFull(c) => (O::ZoneFull, None, c.note.map(String::from)),
            R::EntryRefused(c) => (O::EntryRefused, None, c.note.map(String::from)),
            R::NotFound(c) => (O::NotFound, None, c.note.map(String::from)),
        }
    }
}

/// A check-in as its rider and the place's staff see it.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none, example)]
pub struct Checkin {
    pub id: String,
    pub place_id: String,
    pub outcome: CheckinOutcomeDto,
    pub amenity: Option<AmenityDto>,
    pub note: Option<String>,
    pub success: bool,
    pub created_at: DateTime<Utc>,
}

impl From<CheckinRecord> for Checkin {
    fn from(c: CheckinRecord) -> Self {
        Checkin {
            amenity: c.amenity.map(Into::into),
            success: c.outcome.is_success(),
            outcome: c.outcome.into(),
            id: c.id,
            place_id: c.place_id,
            note: c.note,
            created_at: c.created_at.to_utc(),
        }
    }
}

#[derive(ApiResponse)]
pub enum CheckinResponse {
    /// Recorded.
    #[oai(status = 201)]
    Created(Json<Checkin>),
    /// The rider already checked in here within the hour (or sent this Idempotency-Key before):
    /// the first check-in, unchanged.
    #[oai(status = 200)]
    Existing(Json<Checkin>),
}

#[derive(Default)]
pub struct PlacesApi;

/// Riders' operations are tagged Places; the staff operations on the same paths (one API object
/// per path, so the spec lists each path once) are tagged PlaceManagement.
#[OpenApi]
impl PlacesApi {
    /// Nearest places around a point
    ///
    /// Nearest first, within `radius_m`, with every filter applied during the walk. No token needed.
    /// One page: there is never a `next_cursor`; ask with a larger `limit` or `radius_m`.
    #[oai(path = "/places/nearby", method = "get", tag = "ApiTags::Places", operation_id = "places_nearby")]
    #[allow(clippy::too_many_arguments)]
    async fn nearby(
        &self,
        state: Data<&AppState>,
        /// Latitude, in `coord`.
        #[oai(validator(minimum(value = "-90"), maximum(value = "90")))]
        lat: Query<f64>,
        /// Longitude, in `coord`.
        #[oai(validator(minimum(value = "-180"), maximum(value = "180")))]
        lng: Query<f64>,
        /// gcj02 (default) or wgs84; results come back in the same system.
        coord: Query<Option<CoordDto>>,
        /// Search radius in metres, 1 to 20000 (default 3000).
        #[oai(validator(minimum(value = "1"), maximum(value = "20000")))]
        radius_m: Query<Option<u32>>,
        /// Only these kinds (repeatable; default every kind).
        #[oai(validator(max_items = 3))]
        kind: Query<Option<Vec<PlaceKindDto>>>,
        /// Only places with every one of these amenities (repeatable).
        #[oai(validator(max_items = 18))]
        amenity: Query<Option<Vec<AmenityDto>>>,
        /// Only places open now.
        open_now: Query<Option<bool>>,
        /// 1 to 100 (default 20).
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<u32>>,
    ) -> ApiResult<Prewritten<Page<NearbyPlace>>, (InvalidParameter, InvalidInput)> {
        let params = NearbyParams {
            lat: lat.0,
            lng: lng.0,
            coord: coord.0,
            radius_m: radius_m.0,
            kinds: kind.0.unwrap_or_default(),
            amenities: amenity.0.unwrap_or_default(),
            open_now: open_now.0,
            limit: limit.0,
        };
        Ok(params.answer(&state)?)
    }

    /// Places inside a map box
    ///
    /// For the map view: places inside `bbox`, in id order, one page at a time. No token needed.
    #[oai(path = "/places", method = "get", tag = "ApiTags::Places", operation_id = "places_in_bbox")]
    async fn in_bbox(
        &self,
        state: Data<&AppState>,
        /// The box: `minLng,minLat,maxLng,maxLat` in `coord`, four decimal numbers (longitudes
        /// -180 to 180, latitudes -90 to 90) without spaces, e.g. `120.10,30.25,120.20,30.30`.
        /// Any two opposite corners in either order name the same box; any size.
        #[oai(validator(
            max_length = 200,
            pattern = r"^-?(180(\.0+)?|(1[0-7][0-9]|[1-9]?[0-9])(\.[0-9]+)?),-?(90(\.0+)?|[1-8]?[0-9](\.[0-9]+)?),-?(180(\.0+)?|(1[0-7][0-9]|[1-9]?[0-9])(\.[0-9]+)?),-?(90(\.0+)?|[1-8]?[0-9](\.[0-9]+)?)$"
        ))]
        bbox: Query<String>,
        /// gcj02 (default) or wgs84, for the box and the results.
        coord: Query<Option<CoordDto>>,
        /// How many items a page holds: 1 to 100 (default 20).
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<u32>>,
        /// Where the page starts: the previous page's `next_cursor`; leave out for the first page.
        cursor: Query<Option<Cursor>>,
    ) -> ApiResult<Json<Page<Place>>, (Paged, DatabaseUnavailable)> {
        let coord: CoordSystem = coord_of(coord.0);
        let map = MapBox::parse(&bbox.0, coord)?;
        let page = PageRequest::parse(limit.0, cursor.0)?;
        let rows = service::in_box(&state.places(), &map, page.after.clone(), page.fetch_limit()).await?;
        let (rows, next_cursor) = page.finish(rows, |r| r.id.clone());
        let photos = service::photo_urls(&state.places(), &rows).await?;
        let now = Millis::now();
        let items = rows.into_iter().map(|r| place_view(r, coord, now, state.city.tz, &[], &photos)).collect();
        Ok(Json(Page::new(items, next_cursor)))
    }

    /// One place, with its recent check-ins
    ///
    /// Everything riders and staff see of a place: its kind's details, hours, whether it is open
    /// now (in the city's time zone), the status its manager declared, and the latest 10
    /// check-ins (what riders found, never who they are). No token needed.
    #[oai(path = "/places/:id", method = "get", tag = "ApiTags::Places", operation_id = "place_get")]
    async fn get(
        &self,
        state: Data<&AppState>,
        /// The place's id (`Place.id` or `NearbyPlace.id`, from the map or a search).
        #[oai(validator(max_length = 64))]
        id: Path<String>,
        /// The system of the answer's `lat`/`lng`: gcj02 (default) or wgs84.
        coord: Query<Option<CoordDto>>,
    ) -> ApiResult<Json<Place>, (InvalidParameter, NotFound, DatabaseUnavailable)> {
        let place = service::get(&state.places(), &id.0).await?;
        Ok(Json(detail_view(place, coord_of(coord.0), state.city.tz)))
    }

    /// Check in at a place and say what worked or failed (riders)
    ///
    /// At most one check-in per rider, place and hour: a repeat within the hour answers 200 with
    /// the first check-in, unchanged, so a retried POST is harmless; so does a repeated
    /// `Idempotency-Key`. A new check-in answers 201. A success sets the place's last-confirmed
    /// time; a failure goes to the place's managers.
    #[oai(path = "/places/:id/checkins", method = "post", tag = "ApiTags::Places", operation_id = "place_checkin")]
    async fn check_in(
        &self,
        state: Data<&AppState>,
        RiderAuth(rider): RiderAuth,
        /// The place's id (`Place.id` or `NearbyPlace.id`, from the map or a search).
        #[oai(validator(max_length = 64))]
        id: Path<String>,
        /// The same key from the same rider returns the first result.
        #[oai(name = "Idempotency-Key", validator(max_length = 128))]
        idempotency_key: Header<Option<String>>,
        body: Json<Tagged<CheckinRequest>>,
    ) -> ApiResult<CheckinResponse, (SignedAs, InvalidParameter, Body, InvalidInput, NotFound, CheckinConflict)> {
        let (outcome, amenity, note) = body.0.0.into_parts();
        let spec = CheckinSpec { outcome, amenity, note, idempotency_key: idempotency_key.0.filter(|k| !k.is_empty()) };
        let (checkin, created) = service::check_in(&state.places(), &rider, &id.0, spec).await?;
        Ok(if created {
            CheckinResponse::Created(Json(checkin.into()))
        } else {
            CheckinResponse::Existing(Json(checkin.into()))
        })
    }

    /// Change a place (city admins: any field; station managers: amenities, hours and status of their own places)
    ///
    /// Only the fields sent change. A station manager sending any other field, or changing a
    /// place they do not manage, gets 403; only city admins remove places (status `removed`).
    /// Capacity, maximum stay and `full` belong to parking zones, entry instructions to friendly
    /// sites: sending them for another kind of place is 409 `wrong_place_kind`. Answers the place
    /// as its page shows it (`coord` of the body names the system of the answer too). Every change
    /// lands in the place's history.
    #[oai(path = "/places/:id", method = "patch", tag = "ApiTags::PlaceManagement", operation_id = "place_update")]
    async fn update(
        &self,
        state: Data<&AppState>,
        StaffAuth(staff): StaffAuth,
        /// The place's id (`Place.id` or `NearbyPlace.id`, from the map or a search).
        #[oai(validator(max_length = 64))]
        id: Path<String>,
        body: Json<PlaceChange>,
    ) -> ApiResult<Json<Place>, (SignedAs, InvalidParameter, Body, InvalidInput, NotFound, WrongPlaceKind)> {
        let coord: CoordSystem = body.0.coord.map(Into::into).unwrap_or_default();
        let patch = body.0.into_patch()?;
        let place = service::update(&state.places(), &staff, &id.0, patch).await?;
        Ok(Json(detail_view(place, coord, state.city.tz)))
    }

    /// Riders' check-ins at one place (its managers and city admins), newest first
    ///
    /// What riders found, never who they are.
    #[oai(
        path = "/places/:id/checkins",
        method = "get",
        tag = "ApiTags::PlaceManagement",
        operation_id = "place_checkins"
    )]
    async fn place_checkins(
        &self,
        state: Data<&AppState>,
        StaffAuth(staff): StaffAuth,
        /// The place's id (`Place.id` or `NearbyPlace.id`, from the map or a search).
        #[oai(validator(max_length = 64))]
        id: Path<String>,
        /// Only failures (broken, missing, closed, full, refused, not found).
        failures_only: Query<Option<bool>>,
        /// How many items a page holds: 1 to 100 (default 20).
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<u32>>,
        /// Where the page starts: the previous page's `next_cursor`; leave out for the first page.
        cursor: Query<Option<Cursor>>,
    ) -> ApiResult<Json<Page<Checkin>>, (SignedAs, Paged, NotFound)> {
        checkin_page(&state, &staff, CheckinScope::Place(&id.0), failures_only.0, limit.0, cursor.0).await
    }
}

#[cfg(test)]
mod tests {
    use poem_openapi::types::ToJSON;

    use super::*;

    #[test]
    fn nearby_json_is_byte_for_byte_what_poem_openapi_would_write() {
        let hit = |name: &'static str, confirmed: Option<Millis>| HitRef {
            id: 0x01a2_1135_da3c_771f_a32f_1125_151a_3e94,
            kind: PlaceKind::ParkingZone,
            name,
            location: Gcj02::new(30.274_927_360_667_1, 120.160_364_229_685).unwrap(),
            distance_m: 35.6,
            open_now: false,
            status: StatusKind::TemporarilyClosed,
            amenities: [Amenity::DrinkingWater, Amenity::LegalAid].into_iter().collect(),
            last_confirmed_at: confirmed,
        };
        let hits = [hit("西湖\"驿站\\ 1号\n", Some(Millis(1_764_052_000_123))), hit("停车点", None)];
        for coord in [CoordSystem::Gcj02, CoordSystem::Wgs84] {
            for n in [0, 2] {
                let mut page = NearbyWriter::new(coord, 20);
                hits[..n].iter().for_each(|h| page.push(h));
                let written = String::from_utf8(page.finish().into_body_bytes()).unwrap();
                let items = hits[..n].iter().map(|h| nearby_item(h.to_hit(), coord)).collect();
                let typed = serde_json::to_string(&Page::<NearbyPlace>::new(items, None).to_json()).unwrap();
                assert_eq!(written, typed);
            }
        }
    }
}

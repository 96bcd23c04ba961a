//! Keeping places true: city admins create, change, remove, import and export places and name
//! their managers; station managers change amenities, hours and status of their own places and
//! read what riders reported there. Every change lands in the audit trail.

use chrono::{DateTime, Utc};
use poem::web::Data;
use poem::{IntoResponse, Response};
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::{Json, PlainText};
use poem_openapi::registry::{MetaMediaType, MetaResponse, MetaResponses, Registry};
use poem_openapi::types::Type;
use poem_openapi::{ApiRequest, ApiResponse, Enum, Object, OpenApi, Union};
use serde_json::Value;

use super::ApiTags;
use super::dto::{HoursText, Tagged, TaggedBody, not_null};
use super::error::codes::*;
use super::error::{ApiResult, Body, ErrorSet, Paged, SignedAs};
use super::geojson::{PlaceExportGeoJson, PlaceImportGeoJson, Shaped};
use super::paging::{Cursor, Page, PageRequest};
use super::places::{AmenityDto, Checkin, CoordDto, Place, PlaceStatusDto, amenity_set, place_view};
use super::security::{AdminAuth, StaffAuth};
use super::text::{Text, strings};
use crate::domain::geo::{CoordSystem, Gcj02};
use crate::domain::hours::OpeningHours;
use crate::domain::identity::Staff;
use crate::domain::place_files::{self, FilePlace};
use crate::domain::places::{PlaceAction, PlaceChangeRecord, PlaceDraft, PlaceKind, PlaceRecord};
use crate::domain::time::Millis;
use crate::domain::{DomainError, DomainResult};
use crate::service::places::{self as service, CheckinScope, PlacePatch};
use crate::state::AppState;

/// What every new place has, whatever its kind.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct PlaceBasics {
    /// What riders see on the map, e.g. `西湖驿站`; not blank (spaces around it are dropped).
    #[oai(validator(
        max_length = 100,
        pattern = r"[^\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
    ))]
    pub name: Text,
    /// Street address; not blank.
    #[oai(validator(
        max_length = 200,
        pattern = r"[^\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
    ))]
    pub address: Text,
    /// Latitude in `coord`.
    #[oai(validator(minimum(value = "-90"), maximum(value = "90")))]
    pub lat: f64,
    /// Longitude in `coord`.
    #[oai(validator(minimum(value = "-180"), maximum(value = "180")))]
    pub lng: f64,
    /// The system of `lat`/`lng`: gcj02 (default) or wgs84. Places are kept and shown to staff in
    /// GCJ-02.
    #[oai(deserialize_with = "not_null")]
    pub coord: Option<CoordDto>,
    /// The organisation that hosts the place (a union branch, a company); blank counts as none.
    #[oai(deserialize_with = "not_null", validator(max_length = 100))]
    pub host_org: Option<Text>,
    /// Digits, spaces and `+ - ( )`; blank counts as none.
    #[oai(
        deserialize_with = "not_null",
        validator(
            max_length = 32,
            pattern = r"^[\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[0-9+() -]*[\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
        )
    )]
    pub contact_phone: Option<Text>,
    /// Photo URLs or media ids (`POST /media`), at most 9, none blank.
    #[oai(
        deserialize_with = "not_null",
        validator(
            max_items = 9,
            max_length = 512,
            pattern = r"[^\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
        )
    )]
    pub photos: Option<Vec<Text>>,
    /// What riders find there (none when left out).
    #[oai(deserialize_with = "not_null", validator(max_items = 18))]
    pub amenities: Option<Vec<AmenityDto>>,
    /// Opening hours; `24/7` when left out.
    #[oai(deserialize_with = "not_null")]
    pub hours: Option<HoursText>,
}

/// A new 新伙伴驿站 (station).
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none, example)]
pub struct NewStation {
    #[oai(flatten)]
    pub basics: PlaceBasics,
}

/// A new parking zone (停车区/临时驻留点), with its bays and longest stay if known.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none, example)]
pub struct NewParkingZone {
    #[oai(flatten)]
    pub basics: PlaceBasics,
    /// Bays.
    #[oai(deserialize_with = "not_null", validator(minimum(value = "1"), maximum(value = "100000")))]
    pub capacity: Option<i32>,
    /// Longest stay in minutes.
    #[oai(deserialize_with = "not_null", validator(minimum(value = "1"), maximum(value = "1440")))]
    pub max_stay_minutes: Option<i32>,
}

/// A new friendly site (友好场景): a mall, a residential compound or an office park that lets
/// riders in, with how they get in.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct NewFriendlySite {
    #[oai(flatten)]
    pub basics: PlaceBasics,
    /// How riders get in, e.g. `出示骑手证，走东门`; blank counts as none.
    #[oai(deserialize_with = "not_null", validator(max_length = 500))]
    pub entry_instructions: Option<Text>,
}

/// A new place, by `kind`: only parking zones have `capacity` and `max_stay_minutes`, only
/// friendly sites `entry_instructions`.
#[derive(Debug, Union)]
#[oai(discriminator_name = "kind", one_of)]
pub enum NewPlace {
    #[oai(mapping = "station")]
    Station(NewStation),
    #[oai(mapping = "parking_zone")]
    ParkingZone(NewParkingZone),
    #[oai(mapping = "friendly_site")]
    FriendlySite(NewFriendlySite),
}

impl TaggedBody for NewPlace {
    const TAG: &'static str = "kind";
    const REQUIRED: &'static [(&'static str, &'static [&'static str])] =
        &[("station", BASICS), ("parking_zone", BASICS), ("friendly_site", BASICS)];
}

const BASICS: &[&str] = &["name", "address", "lat", "lng"];

fn parse_hours(text: Option<&HoursText>) -> DomainResult<Option<OpeningHours>> {
    text.map(HoursText::parse).transpose()
}

impl NewPlace {
    fn into_draft(self) -> DomainResult<PlaceDraft> {
        let (kind, basics, capacity, max_stay_minutes, entry_instructions) = match self {
            NewPlace::Station(p) => (PlaceKind::Station, p.basics, None, None, None),
            NewPlace::ParkingZone(p) => (PlaceKind::ParkingZone, p.basics, p.capacity, p.max_stay_minutes, None),
            NewPlace::FriendlySite(p) => (PlaceKind::FriendlySite, p.basics, None, None, p.entry_instructions),
        };
        let coord: CoordSystem = basics.coord.map(Into::into).unwrap_or_default();
        PlaceDraft {
            kind,
            name: basics.name.into(),
            address: basics.address.into(),
            location: Gcj02::from_system(basics.lat, basics.lng, coord)?,
            host_org: basics.host_org.map(String::from),
            contact_phone: basics.contact_phone.map(String::from),
            photos: basics.photos.map(strings).unwrap_or_default(),
            amenities: amenity_set(&basics.amenities.unwrap_or_default()),
            hours: parse_hours(basics.hours.as_ref())?.unwrap_or_else(OpeningHours::always),
            capacity,
            max_stay_minutes,
            entry_instructions: entry_instructions.map(String::from),
        }
        .checked()
    }
}

/// A change to a place: only the fields given change. Station managers may send `amenities`,
/// `hours` and `status` (with `status_reason`, `status_until`) only.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none, example)]
pub struct PlaceChange {
    /// The new name; not blank.
    #[oai(
        deserialize_with = "not_null",
        validator(
            max_length = 100,
            pattern = r"[^\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
        )
    )]
    pub name: Option<Text>,
    /// The new address; not blank.
    #[oai(
        deserialize_with = "not_null",
        validator(
            max_length = 200,
            pattern = r"[^\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
        )
    )]
    pub address: Option<Text>,
    /// A new location: `lat` and `lng` together, in `coord` (default gcj02).
    #[oai(deserialize_with = "not_null", validator(minimum(value = "-90"), maximum(value = "90")))]
    pub lat: Option<f64>,
    /// With `lat`.
    #[oai(deserialize_with = "not_null", validator(minimum(value = "-180"), maximum(value = "180")))]
    pub lng: Option<f64>,
    /// The system of `lat`/`lng` and of the answer: gcj02 (default) or wgs84.
    #[oai(deserialize_with = "not_null")]
    pub coord: Option<CoordDto>,
    /// The hosting organisation; blank removes it.
    #[oai(deserialize_with = "not_null", validator(max_length = 100))]
    pub host_org: Option<Text>,
    /// Digits, spaces and `+ - ( )`; blank removes it.
    #[oai(
        deserialize_with = "not_null",
        validator(
            max_length = 32,
            pattern = r"^[\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[0-9+() -]*[\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
        )
    )]
    pub contact_phone: Option<Text>,
    /// The full new list of photo URLs or media ids, at most 9, none blank.
    #[oai(
        deserialize_with = "not_null",
        validator(
            max_items = 9,
            max_length = 512,
            pattern = r"[^\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
        )
    )]
    pub photos: Option<Vec<Text>>,
    /// Parking zones: bays.
    #[oai(deserialize_with = "not_null", validator(minimum(value = "1"), maximum(value = "100000")))]
    pub capacity: Option<i32>,
    /// Parking zones: longest stay in minutes.
    #[oai(deserialize_with = "not_null", validator(minimum(value = "1"), maximum(value = "1440")))]
    pub max_stay_minutes: Option<i32>,
    /// Friendly sites: how riders get in; blank removes it.
    #[oai(deserialize_with = "not_null", validator(max_length = 500))]
    pub entry_instructions: Option<Text>,
    /// The full new set of amenities.
    #[oai(deserialize_with = "not_null", validator(max_items = 18))]
    pub amenities: Option<Vec<AmenityDto>>,
    /// The new opening hours.
    #[oai(deserialize_with = "not_null")]
    pub hours: Option<HoursText>,
    /// The status riders see; `removed` by city admins only (see `DELETE /admin/places/{id}`).
    #[oai(deserialize_with = "not_null")]
    pub status: Option<PlaceStatusDto>,
    /// Required with temporarily_closed.
    #[oai(deserialize_with = "not_null", validator(max_length = 200))]
    pub status_reason: Option<Text>,
    /// With temporarily_closed: when it opens again (none = until further notice).
    #[oai(deserialize_with = "not_null")]
    pub status_until: Option<DateTime<Utc>>,
}

impl PlaceChange {
    pub(super) fn into_patch(self) -> DomainResult<PlacePatch> {
        let coord: CoordSystem = self.coord.map(Into::into).unwrap_or_default();
        let location = match (self.lat, self.lng) {
            (Some(lat), Some(lng)) => Some(Gcj02::from_system(lat, lng, coord)?),
            (None, None) => None,
            _ => return Err(DomainError::invalid("lat", "send lat and lng together")),
        };
        Ok(PlacePatch {
            name: self.name.map(String::from),
            address: self.address.map(String::from),
            location,
            host_org: self.host_org.map(String::from),
            contact_phone: self.contact_phone.map(String::from),
            photos: self.photos.map(strings),
            capacity: self.capacity,
            max_stay_minutes: self.max_stay_minutes,
            entry_instructions: self.entry_instructions.map(String::from),
            amenities: self.amenities.as_deref().map(amenity_set),
            hours: parse_hours(self.hours.as_ref())?,
            status: self.status.map(Into::into),
            status_reason: self.status_reason.map(String::from),
            status_until: self.status_until.map(|t| Millis::from_datetime(&t)),
        })
    }
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct ManagersBody {
    /// Station manager account ids; replaces the current managers.
    #[oai(validator(max_items = 20))]
    pub account_ids: Vec<Text>,
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct Managers {
    pub place_id: String,
    pub account_ids: Vec<String>,
}

/// What a change did: `place.create` (one place), `place.import` (a file), `place.update`,
/// `place.remove` or `place.managers` (its managers named); `place.generate` for load tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename = "PlaceAction")]
pub enum PlaceActionDto {
    #[oai(rename = "place.create")]
    Create,
    #[oai(rename = "place.import")]
    Import,
    #[oai(rename = "place.update")]
    Update,
    #[oai(rename = "place.remove")]
    Remove,
    #[oai(rename = "place.managers")]
    Managers,
    #[oai(rename = "place.generate")]
    Generate,
}

impl From<PlaceAction> for PlaceActionDto {
    fn from(a: PlaceAction) -> Self {
        match a {
            PlaceAction::Create => PlaceActionDto::Create,
            PlaceAction::Import => PlaceActionDto::Import,
            PlaceAction::Update => PlaceActionDto::Update,
            PlaceAction::Remove => PlaceActionDto::Remove,
            PlaceAction::Managers => PlaceActionDto::Managers,
            PlaceAction::Generate => PlaceActionDto::Generate,
        }
    }
}

/// One recorded change.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct HistoryEntry {
    pub id: String,
    pub action: PlaceActionDto,
    /// The staff account that made the change.
    pub actor_id: Option<String>,
    pub at: DateTime<Utc>,
    /// The place before the change (GCJ-02); absent when there was none (a new place).
    pub before: Option<Value>,
    /// The place after the change (GCJ-02); absent when the entry kept none.
    pub after: Option<Value>,
}

impl From<PlaceChangeRecord> for HistoryEntry {
    fn from(h: PlaceChangeRecord) -> Self {
        HistoryEntry {
            id: h.id,
            action: h.action.into(),
            actor_id: h.actor_id,
            at: h.at.to_utc(),
            before: h.before,
            after: h.after,
        }
    }
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct ImportResult {
    /// How many places were created.
    pub created: u32,
    /// Their ids, in file order.
    pub ids: Vec<String>,
}

#[derive(ApiRequest)]
pub enum ImportBody {
    /// CSV with a header row (columns in `domain::place_files`; GCJ-02 unless a row's `coord` says wgs84).
    #[oai(content_type = "text/csv")]
    Csv(PlainText<String>),
    /// A GeoJSON FeatureCollection of points (WGS-84, as RFC 7946 says, unless a feature's
    /// `coord` property says gcj02).
    #[oai(content_type = "application/geo+json")]
    GeoJson(Json<Shaped<PlaceImportGeoJson>>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum FileFormat {
    Csv,
    Geojson,
}

/// The export: CSV (GCJ-02) or a GeoJSON FeatureCollection (WGS-84), as `format` asks. One `200`
/// with two media types (the derive would write the `200` key twice, which strict parsers refuse).
pub enum ExportResponse {
    Csv(String),
    GeoJson(Value),
}

const CSV_TYPE: &str = "text/csv; charset=utf-8";
const GEOJSON_TYPE: &str = "application/geo+json";

impl ApiResponse for ExportResponse {
    fn meta() -> MetaResponses {
        MetaResponses {
            responses: vec![MetaResponse {
                description: "Every place: CSV (GCJ-02) with `format=csv`, GeoJSON (WGS-84) with `format=geojson`",
                status: Some(200),
                status_range: None,
                content: vec![
                    MetaMediaType { content_type: CSV_TYPE, schema: String::schema_ref() },
                    MetaMediaType { content_type: GEOJSON_TYPE, schema: Shaped::<PlaceExportGeoJson>::schema_ref() },
                ],
                headers: vec![],
            }],
        }
    }

    fn register(registry: &mut Registry) {
        String::register(registry);
        Shaped::<PlaceExportGeoJson>::register(registry);
    }
}

impl IntoResponse for ExportResponse {
    fn into_response(self) -> Response {
        match self {
            ExportResponse::Csv(text) => text.with_content_type(CSV_TYPE).into_response(),
            ExportResponse::GeoJson(doc) => doc.to_string().with_content_type(GEOJSON_TYPE).into_response(),
        }
    }
}

#[derive(Default)]
pub struct PlaceAdminApi;

/// The view of places staff read: GCJ-02, without check-ins.
async fn staff_view(state: &AppState, rows: Vec<PlaceRecord>) -> crate::domain::DomainResult<Vec<Place>> {
    let photos = service::photo_urls(&state.places(), &rows).await?;
    let now = Millis::now();
    Ok(rows.into_iter().map(|r| place_view(r, CoordSystem::Gcj02, now, state.city.tz, &[], &photos)).collect())
}

pub(super) async fn checkin_page<E: ErrorSet>(
    state: &AppState,
    staff: &Staff,
    scope: CheckinScope<'_>,
    failures_only: Option<bool>,
    limit: Option<u32>,
    cursor: Option<Cursor>,
) -> ApiResult<Json<Page<Checkin>>, E> {
    let page = PageRequest::parse(limit, cursor)?;
    let failures_only = failures_only.unwrap_or(false);
    let rows =
        service::checkins(&state.places(), staff, scope, failures_only, page.after.as_deref(), page.fetch_limit())
            .await?;
    let (rows, next_cursor) = page.finish(rows, |c| c.id.clone());
    Ok(Json(Page::new(rows.into_iter().map(Checkin::from).collect(), next_cursor)))
}

#[OpenApi(tag = "ApiTags::PlaceManagement")]
impl PlaceAdminApi {
    /// Create a place (city admins)
    ///
    /// A station, a parking zone or a friendly site, by `kind`; it is open and in search at once.
    /// Answers the place in GCJ-02 (whatever system `coord` named for the new location).
    #[oai(path = "/admin/places", method = "post", operation_id = "admin_create_place")]
    async fn create(
        &self,
        state: Data<&AppState>,
        AdminAuth(admin): AdminAuth,
        body: Json<Tagged<NewPlace>>,
    ) -> ApiResult<Json<Place>, (SignedAs, Body, InvalidInput)> {
        let draft = body.0.0.into_draft()?;
        let row = service::create(&state.places(), &admin, draft).await?;
        let photos = service::photo_urls(&state.places(), std::slice::from_ref(&row)).await?;
        Ok(Json(place_view(row, CoordSystem::Gcj02, Millis::now(), state.city.tz, &[], &photos)))
    }

    /// Remove a place (city admins); it leaves search at once and stays in the history
    ///
    /// The place's status becomes `removed`: riders no longer find it, its page answers 404 to
    /// them, and its history keeps the change.
    #[oai(path = "/admin/places/:id", method = "delete", operation_id = "admin_remove_place")]
    async fn remove(
        &self,
        state: Data<&AppState>,
        AdminAuth(admin): AdminAuth,
        /// The place's id (`Place.id`, from the map, a search or `GET /manager/places`).
        #[oai(validator(max_length = 64))]
        id: Path<String>,
    ) -> ApiResult<super::auth::NoContent, (SignedAs, InvalidParameter, NotFound)> {
        service::remove(&state.places(), &admin, &id.0).await?;
        Ok(super::auth::NoContent::Done)
    }

    /// Name the managers of a place (city admins)
    ///
    /// Replaces the place's managers with these station manager accounts of the city (an empty
    /// list leaves it without managers). Managers keep its amenities, hours and status true and
    /// read its check-ins.
    #[oai(path = "/admin/places/:id/managers", method = "put", operation_id = "admin_set_place_managers")]
    async fn set_managers(
        &self,
        state: Data<&AppState>,
        AdminAuth(admin): AdminAuth,
        /// The place's id (`Place.id`, from the map, a search or `GET /manager/places`).
        #[oai(validator(max_length = 64))]
        id: Path<String>,
        body: Json<ManagersBody>,
    ) -> ApiResult<Json<Managers>, (SignedAs, InvalidParameter, Body, InvalidInput, NotFound)> {
        let ids = service::set_managers(&state.places(), &admin, &id.0, strings(body.0.account_ids)).await?;
        Ok(Json(Managers { place_id: id.0, account_ids: ids }))
    }

    /// The managers of a place (city admins)
    ///
    /// The station manager accounts that keep this place (`Staff.id`), before changing them with
    /// `PUT /admin/places/{id}/managers`. A removed place still lists its managers.
    #[oai(path = "/admin/places/:id/managers", method = "get", operation_id = "admin_place_managers")]
    async fn managers(
        &self,
        state: Data<&AppState>,
        AdminAuth(admin): AdminAuth,
        /// The place's id (`Place.id`, from the map, a search or `GET /manager/places`).
        #[oai(validator(max_length = 64))]
        id: Path<String>,
    ) -> ApiResult<Json<Managers>, (SignedAs, InvalidParameter, NotFound)> {
        let ids = service::managers(&state.places(), &admin, &id.0).await?;
        Ok(Json(Managers { place_id: id.0, account_ids: ids }))
    }

    /// The change history of a place (city admins), oldest first
    ///
    /// Every recorded change with who made it and the place before and after (GCJ-02), one page
    /// at a time.
    #[oai(path = "/admin/places/:id/history", method = "get", operation_id = "admin_place_history")]
    async fn history(
        &self,
        state: Data<&AppState>,
        AdminAuth(admin): AdminAuth,
        /// The place's id (`Place.id`, from the map, a search or `GET /manager/places`).
        #[oai(validator(max_length = 64))]
        id: Path<String>,
        /// How many items a page holds: 1 to 100 (default 20).
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<u32>>,
        /// Where the page starts: the previous page's `next_cursor`; leave out for the first page.
        cursor: Query<Option<Cursor>>,
    ) -> ApiResult<Json<Page<HistoryEntry>>, (SignedAs, Paged, NotFound)> {
        let page = PageRequest::parse(limit.0, cursor.0)?;
        let rows = service::history(&state.places(), &admin, &id.0, page.after.as_deref(), page.fetch_limit()).await?;
        let (rows, next_cursor) = page.finish(rows, |r| r.id.clone());
        Ok(Json(Page::new(rows.into_iter().map(HistoryEntry::from).collect(), next_cursor)))
    }

    /// Import places from CSV or GeoJSON (city admins), all or nothing
    ///
    /// Every row is checked first; if any is bad, nothing is imported and the answer is 422 with
    /// `details.errors`: `[{"line" | "feature", "field", "reason"}]` (CSV lines count the header as
    /// line 1; GeoJSON features count from 0).
    #[oai(path = "/admin/places/import", method = "post", operation_id = "admin_import_places")]
    async fn import(
        &self,
        state: Data<&AppState>,
        AdminAuth(admin): AdminAuth,
        body: ImportBody,
    ) -> ApiResult<Json<ImportResult>, (SignedAs, Body, InvalidInput, InvalidRows)> {
        let drafts = match body {
            ImportBody::Csv(text) => place_files::read_csv(&text.0)?,
            ImportBody::GeoJson(doc) => place_files::read_geojson(&doc.0.value)?,
        };
        let rows = service::import(&state.places(), &admin, drafts).await?;
        Ok(Json(ImportResult { created: rows.len() as u32, ids: rows.into_iter().map(|r| r.id).collect() }))
    }

    /// Export every place (city admins) as CSV (GCJ-02) or GeoJSON (WGS-84), in the import's format
    ///
    /// Every place that is not removed, with its id and status (which the import ignores), so an
    /// export imports again as new places.
    #[oai(path = "/admin/places/export", method = "get", operation_id = "admin_export_places")]
    async fn export(
        &self,
        state: Data<&AppState>,
        AdminAuth(admin): AdminAuth,
        /// `csv` (GCJ-02, every column) or `geojson` (a FeatureCollection in WGS-84).
        format: Query<FileFormat>,
    ) -> ApiResult<ExportResponse, (SignedAs, InvalidParameter)> {
        let rows = service::export(&state.places(), &admin).await?;
        let files = rows.iter().map(|r| FilePlace { id: &r.id, draft: &r.draft, status: r.status.kind() });
        Ok(match format.0 {
            FileFormat::Csv => ExportResponse::Csv(place_files::write_csv(files)?),
            FileFormat::Geojson => ExportResponse::GeoJson(place_files::write_geojson(files)),
        })
    }

    /// The places I manage (station managers)
    ///
    /// The places a city admin named the caller a manager of, in GCJ-02, one page at a time;
    /// other roles get 403.
    #[oai(path = "/manager/places", method = "get", operation_id = "manager_places")]
    async fn my_places(
        &self,
        state: Data<&AppState>,
        StaffAuth(staff): StaffAuth,
        /// How many items a page holds: 1 to 100 (default 20).
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<u32>>,
        /// Where the page starts: the previous page's `next_cursor`; leave out for the first page.
        cursor: Query<Option<Cursor>>,
    ) -> ApiResult<Json<Page<Place>>, (SignedAs, Paged)> {
        let page = PageRequest::parse(limit.0, cursor.0)?;
        let rows = service::managed_places(&state.places(), &staff, page.after.as_deref(), page.fetch_limit()).await?;
        let (rows, next_cursor) = page.finish(rows, |r| r.id.clone());
        Ok(Json(Page::new(staff_view(&state, rows).await?, next_cursor)))
    }

    /// Riders' check-ins at the places I manage (station managers), newest first
    ///
    /// What riders found, never who they are.
    #[oai(path = "/manager/checkins", method = "get", operation_id = "manager_checkins")]
    async fn my_checkins(
        &self,
        state: Data<&AppState>,
        StaffAuth(staff): StaffAuth,
        /// Only failures (broken, missing, closed, full, refused, not found).
        failures_only: Query<Option<bool>>,
        /// How many items a page holds: 1 to 100 (default 20).
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<u32>>,
        /// Where the page starts: the previous page's `next_cursor`; leave out for the first page.
        cursor: Query<Option<Cursor>>,
    ) -> ApiResult<Json<Page<Checkin>>, (SignedAs, Paged)> {
        checkin_page(&state, &staff, CheckinScope::MyPlaces, failures_only.0, limit.0, cursor.0).await
    }
}

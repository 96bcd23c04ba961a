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
use poem_openapi::{ApiRequest, ApiResponse, Enum, Object, OpenApi};
use serde_json::Value;

use super::ApiTags;
use super::error::codes::*;
use super::error::{ApiResult, Body, ErrorSet, Paged, SignedAs};
use super::paging::{Page, PageRequest};
use super::places::{AmenityDto, Checkin, CoordDto, Place, PlaceKindDto, PlaceStatusDto, amenity_set, place_view};
use super::security::{AdminAuth, StaffAuth};
use crate::domain::geo::{CoordSystem, Gcj02};
use crate::domain::hours::OpeningHours;
use crate::domain::identity::Staff;
use crate::domain::place_files::{self, FilePlace};
use crate::domain::places::{PlaceChangeRecord, PlaceDraft, PlaceRecord};
use crate::domain::time::Millis;
use crate::domain::{DomainError, DomainResult};
use crate::service::places::{self as service, CheckinScope, PlacePatch};
use crate::state::AppState;

#[derive(Debug, Object)]
pub struct NewPlace {
    pub kind: PlaceKindDto,
    #[oai(validator(min_length = 1, max_length = 100))]
    pub name: String,
    #[oai(validator(min_length = 1, max_length = 200))]
    pub address: String,
    #[oai(validator(minimum(value = "-90"), maximum(value = "90")))]
    pub lat: f64,
    #[oai(validator(minimum(value = "-180"), maximum(value = "180")))]
    pub lng: f64,
    /// The system of `lat`/`lng`: gcj02 (default) or wgs84.
    pub coord: Option<CoordDto>,
    #[oai(validator(max_length = 100))]
    pub host_org: Option<String>,
    #[oai(validator(max_length = 32))]
    pub contact_phone: Option<String>,
    /// Photo URLs or media ids, at most 9.
    #[oai(default, validator(max_items = 9))]
    pub photos: Vec<String>,
    #[oai(default, validator(max_items = 18))]
    pub amenities: Vec<AmenityDto>,
    /// Opening hours (see `Place.hours`); default `24/7`.
    #[oai(validator(max_length = 2000))]
    pub hours: Option<String>,
    /// Parking zones only.
    #[oai(validator(minimum(value = "1"), maximum(value = "100000")))]
    pub capacity: Option<i32>,
    /// Parking zones only.
    #[oai(validator(minimum(value = "1"), maximum(value = "1440")))]
    pub max_stay_minutes: Option<i32>,
    /// Friendly sites only.
    #[oai(validator(max_length = 500))]
    pub entry_instructions: Option<String>,
}

fn parse_hours(text: Option<&str>) -> DomainResult<Option<OpeningHours>> {
    text.map(str::parse).transpose()
}

impl NewPlace {
    fn into_draft(self) -> DomainResult<PlaceDraft> {
        let coord: CoordSystem = self.coord.map(Into::into).unwrap_or_default();
        PlaceDraft {
            kind: self.kind.into(),
            name: self.name,
            address: self.address,
            location: Gcj02::from_system(self.lat, self.lng, coord)?,
            host_org: self.host_org,
            contact_phone: self.contact_phone,
            photos: self.photos,
            amenities: amenity_set(&self.amenities),
            hours: parse_hours(self.hours.as_deref())?.unwrap_or_else(OpeningHours::always),
            capacity: self.capacity,
            max_stay_minutes: self.max_stay_minutes,
            entry_instructions: self.entry_instructions,
        }
        .checked()
    }
}

/// A change to a place: only the fields given change. Station managers may send `amenities`,
/// `hours` and `status` (with `status_reason`, `status_until`) only.
#[derive(Debug, Object)]
pub struct PlaceChange {
    #[oai(validator(min_length = 1, max_length = 100))]
    pub name: Option<String>,
    #[oai(validator(min_length = 1, max_length = 200))]
    pub address: Option<String>,
    /// A new location: `lat` and `lng` together, in `coord` (default gcj02).
    #[oai(validator(minimum(value = "-90"), maximum(value = "90")))]
    pub lat: Option<f64>,
    #[oai(validator(minimum(value = "-180"), maximum(value = "180")))]
    pub lng: Option<f64>,
    pub coord: Option<CoordDto>,
    #[oai(validator(max_length = 100))]
    pub host_org: Option<String>,
    #[oai(validator(max_length = 32))]
    pub contact_phone: Option<String>,
    #[oai(validator(max_items = 9))]
    pub photos: Option<Vec<String>>,
    #[oai(validator(minimum(value = "1"), maximum(value = "100000")))]
    pub capacity: Option<i32>,
    #[oai(validator(minimum(value = "1"), maximum(value = "1440")))]
    pub max_stay_minutes: Option<i32>,
    #[oai(validator(max_length = 500))]
    pub entry_instructions: Option<String>,
    /// The full new set of amenities.
    #[oai(validator(max_items = 18))]
    pub amenities: Option<Vec<AmenityDto>>,
    /// The new opening hours (see `Place.hours`).
    #[oai(validator(max_length = 2000))]
    pub hours: Option<String>,
    pub status: Option<PlaceStatusDto>,
    /// Required with temporarily_closed.
    #[oai(validator(max_length = 200))]
    pub status_reason: Option<String>,
    /// With temporarily_closed: when it opens again (none = until further notice).
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
            name: self.name,
            address: self.address,
            location,
            host_org: self.host_org,
            contact_phone: self.contact_phone,
            photos: self.photos,
            capacity: self.capacity,
            max_stay_minutes: self.max_stay_minutes,
            entry_instructions: self.entry_instructions,
            amenities: self.amenities.as_deref().map(amenity_set),
            hours: parse_hours(self.hours.as_deref())?,
            status: self.status.map(Into::into),
            status_reason: self.status_reason,
            status_until: self.status_until.map(|t| Millis::from_datetime(&t)),
        })
    }
}

#[derive(Debug, Object)]
pub struct ManagersBody {
    /// Station manager account ids; replaces the current managers.
    #[oai(validator(max_items = 20))]
    pub account_ids: Vec<String>,
}

#[derive(Debug, Object)]
pub struct Managers {
    pub place_id: String,
    pub account_ids: Vec<String>,
}

/// One recorded change.
#[derive(Debug, Object)]
pub struct HistoryEntry {
    pub id: String,
    /// place.create, place.import, place.update, place.remove or place.managers.
    pub action: String,
    /// The staff account that made the change.
    pub actor_id: Option<String>,
    pub at: DateTime<Utc>,
    /// The place before the change (GCJ-02), or null.
    pub before: Option<Value>,
    /// The place after the change (GCJ-02), or null.
    pub after: Option<Value>,
}

impl From<PlaceChangeRecord> for HistoryEntry {
    fn from(h: PlaceChangeRecord) -> Self {
        HistoryEntry {
            id: h.id,
            action: h.action,
            actor_id: h.actor_id,
            at: h.at.to_utc(),
            before: h.before,
            after: h.after,
        }
    }
}

#[derive(Debug, Object)]
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
    /// A GeoJSON FeatureCollection of points (WGS-84, as RFC 7946 says).
    #[oai(content_type = "application/geo+json")]
    GeoJson(Json<Value>),
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
                    MetaMediaType { content_type: GEOJSON_TYPE, schema: Value::schema_ref() },
                ],
                headers: vec![],
            }],
        }
    }

    fn register(registry: &mut Registry) {
        String::register(registry);
        Value::register(registry);
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
    cursor: Option<String>,
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
    #[oai(path = "/admin/places", method = "post", operation_id = "admin_create_place")]
    async fn create(
        &self,
        state: Data<&AppState>,
        AdminAuth(admin): AdminAuth,
        body: Json<NewPlace>,
    ) -> ApiResult<Json<Place>, (SignedAs, Body, InvalidInput)> {
        let draft = body.0.into_draft()?;
        let row = service::create(&state.places(), &admin, draft).await?;
        let photos = service::photo_urls(&state.places(), std::slice::from_ref(&row)).await?;
        Ok(Json(place_view(row, CoordSystem::Gcj02, Millis::now(), state.city.tz, &[], &photos)))
    }

    /// Remove a place (city admins); it leaves search at once and stays in the history
    #[oai(path = "/admin/places/:id", method = "delete", operation_id = "admin_remove_place")]
    async fn remove(
        &self,
        state: Data<&AppState>,
        AdminAuth(admin): AdminAuth,
        #[oai(validator(max_length = 64))] id: Path<String>,
    ) -> ApiResult<super::auth::NoContent, (SignedAs, InvalidParameter, NotFound)> {
        service::remove(&state.places(), &admin, &id.0).await?;
        Ok(super::auth::NoContent::Done)
    }

    /// Name the managers of a place (city admins)
    #[oai(path = "/admin/places/:id/managers", method = "put", operation_id = "admin_set_place_managers")]
    async fn set_managers(
        &self,
        state: Data<&AppState>,
        AdminAuth(admin): AdminAuth,
        #[oai(validator(max_length = 64))] id: Path<String>,
        body: Json<ManagersBody>,
    ) -> ApiResult<Json<Managers>, (SignedAs, InvalidParameter, Body, InvalidInput, NotFound)> {
        let ids = service::set_managers(&state.places(), &admin, &id.0, body.0.account_ids).await?;
        Ok(Json(Managers { place_id: id.0, account_ids: ids }))
    }

    /// The change history of a place (city admins), oldest first
    #[oai(path = "/admin/places/:id/history", method = "get", operation_id = "admin_place_history")]
    async fn history(
        &self,
        state: Data<&AppState>,
        AdminAuth(admin): AdminAuth,
        #[oai(validator(max_length = 64))] id: Path<String>,
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))] limit: Query<Option<u32>>,
        #[oai(validator(max_length = 200))] cursor: Query<Option<String>>,
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
            ImportBody::GeoJson(doc) => place_files::read_geojson(&doc.0)?,
        };
        let rows = service::import(&state.places(), &admin, drafts).await?;
        Ok(Json(ImportResult { created: rows.len() as u32, ids: rows.into_iter().map(|r| r.id).collect() }))
    }

    /// Export every place (city admins) as CSV (GCJ-02) or GeoJSON (WGS-84), in the import's format
    #[oai(path = "/admin/places/export", method = "get", operation_id = "admin_export_places")]
    async fn export(
        &self,
        state: Data<&AppState>,
        AdminAuth(admin): AdminAuth,
        /// csv or geojson.
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
    #[oai(path = "/manager/places", method = "get", operation_id = "manager_places")]
    async fn my_places(
        &self,
        state: Data<&AppState>,
        StaffAuth(staff): StaffAuth,
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))] limit: Query<Option<u32>>,
        #[oai(validator(max_length = 200))] cursor: Query<Option<String>>,
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
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))] limit: Query<Option<u32>>,
        #[oai(validator(max_length = 200))] cursor: Query<Option<String>>,
    ) -> ApiResult<Json<Page<Checkin>>, (SignedAs, Paged)> {
        checkin_page(&state, &staff, CheckinScope::MyPlaces, failures_only.0, limit.0, cursor.0).await
    }
}

//! Tap to report (随手拍), the rider's side: categories, a preview of where a report would go,
//! submitting, following, the rider's own reports with their public timeline, reopening, rating,
//! and open reports near a point for the public map (never with a reporter's identity).

use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::param::{Header, Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};

use super::ApiTags;
pub use super::dto::{CoordDto, coord_of};
use super::dto::{mirror_enum, not_null};
use super::error::codes::*;
use super::error::{ApiResult, Body, Paged, Signed, SignedAs};
use super::media::PhotoUrl;
use super::paging::{Cursor, Page, PageRequest};
use super::security::{BearerAuth, RiderAuth};
use super::text::{Text, strings};
use crate::domain::geo::{CoordSystem, Gcj02};
use crate::domain::report::{
    Action, Actor, Category, CategorySettings, EventKind, Note, ReportStatus, Urgency, parse_description,
    parse_media_ids, parse_rating,
};
use crate::domain::routing::{RouteReason, UnitKind};
use crate::domain::time::Millis;
use crate::service::reports::{
    self as service, Entry, Nearby, Outcome, PublicView, ReportView, RiderReport, Submission,
};
use crate::state::AppState;

mirror_enum!(
    /// What a report is about.
    CategoryDto = Category {
        TrafficSafety, RoadDamage, FireSafety, FoodSafety, PublicSecurity, FacilityDamage, AccessBlocked,
        ParkingShortage, Environment, Other,
    }
);
mirror_enum!(
    /// Where a report is in its life.
    ReportStatusDto = ReportStatus {
        Submitted, Accepted, InProgress, Resolved, Closed, Rejected, Duplicate, Transferred, Reopened,
    }
);
mirror_enum!(
    /// How fast a category needs attention.
    UrgencyDto = Urgency { Urgent, Normal, Low }
);
mirror_enum!(
    /// Why a report went to its unit: the category's department, the street office whose
    /// jurisdiction holds the spot, the city's fallback queue, or a clerk's transfer.
    RouteReasonDto = RouteReason { CategoryDepartment, StreetOffice, Fallback, Transfer }
);
mirror_enum!(
    /// A unit: street office, department, or the city's fallback queue.
    UnitKindDto = UnitKind { StreetOffice, Department, Fallback }
);
mirror_enum!(
    /// A timeline entry: a status the report reached (submitted … reopened), or `me_too`,
    /// `assigned`, `reply`, `note`, `rated`.
    EventKindDto = EventKind {
        Submitted, MeToo, Accepted, InProgress, Resolved, Closed, Rejected, Duplicate, Transferred, Reopened,
        Assigned, Reply, Note, Rated,
    }
);
mirror_enum!(
    /// Who acted, as a role: `staff`, the `reporter`, another `rider` (a "me too"), or the `system`.
    ActorDto = Actor { Staff, Reporter, Rider, System }
);

/// A point in the system the client asked for.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct Location {
    pub lat: f64,
    pub lng: f64,
    pub coord: CoordDto,
}

impl Location {
    pub fn of(p: Gcj02, system: CoordSystem) -> Self {
        let (lat, lng) = p.in_system(system);
        Location { lat, lng, coord: system.into() }
    }
}

/// A category as riders pick it and admins configure it.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct CategoryView {
    pub code: CategoryDto,
    pub name: String,
    pub hint: String,
    pub urgency: UrgencyDto,
    /// Seconds a unit has to respond.
    pub response_secs: i64,
    /// Seconds a unit has to resolve.
    pub resolution_secs: i64,
}

impl From<CategorySettings> for CategoryView {
    fn from(c: CategorySettings) -> Self {
        CategoryView {
            code: c.category.into(),
            name: c.name,
            hint: c.hint,
            urgency: c.urgency.into(),
            response_secs: c.response_secs,
            resolution_secs: c.resolution_secs,
        }
    }
}

/// The unit a report is with.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct UnitRef {
    pub id: String,
    pub name: String,
    pub kind: UnitKindDto,
}

impl From<service::UnitRef> for UnitRef {
    fn from(u: service::UnitRef) -> Self {
        UnitRef { id: u.id, name: u.name, kind: u.kind.into() }
    }
}

/// A report as a rider who filed or follows it, or its unit, sees it: never the reporter's
/// identity. A rider who follows a report without having filed it (`mine: false`) sees its public
/// projection here: the location rounded, no rating, and `description` and `rating_comment` only
/// once WeChat's content check passed them (`description` empty and no comment before).
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct ReportSummary {
    pub id: String,
    pub category: CategoryDto,
    /// What the reporter wrote; for a rider who only follows the report, empty until WeChat's
    /// content check passed it.
    pub description: String,
    /// Exact for the reporter and staff; rounded to 0.001° (the public projection) for a rider
    /// who only follows the report.
    pub location: Location,
    pub status: ReportStatusDto,
    pub unit: UnitRef,
    /// 1 plus the riders who said "me too"; higher is more urgent.
    pub priority: i32,
    pub anonymous: bool,
    /// Ids of the attached photos (`GET /media/{id}`): all of them for staff of the report's
    /// unit; for a rider their own and those WeChat's content check passed.
    pub media_ids: Vec<String>,
    /// The same photos, in the same order, with signed URLs that need no token.
    pub photo_urls: Vec<PhotoUrl>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub respond_by: DateTime<Utc>,
    pub resolve_by: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub rating: Option<u8>,
    pub rating_comment: Option<String>,
}

impl ReportSummary {
    pub fn of(v: ReportView, system: CoordSystem) -> Self {
        let r = v.report;
        let f = r.facts;
        ReportSummary {
            id: r.id,
            category: r.category.into(),
            description: r.description,
            location: Location::of(r.location, system),
            status: f.status.into(),
            unit: v.unit.into(),
            priority: f.priority,
            anonymous: r.anonymous,
            media_ids: v.photos.iter().map(|p| p.id.clone()).collect(),
            photo_urls: v.photos.into_iter().map(PhotoUrl::from).collect(),
            created_at: r.created_at.to_utc(),
            updated_at: r.updated_at.to_utc(),
            respond_by: f.deadlines.respond_by.to_utc(),
            resolve_by: f.deadlines.resolve_by.to_utc(),
            resolved_at: f.resolved_at.map(Millis::to_utc),
            closed_at: f.closed_at.map(Millis::to_utc),
            rating: f.rating,
            rating_comment: f.rating_comment,
        }
    }
}

/// One public entry of a report's timeline. Riders see public notes only, and who acted only as
/// a role: `reporter`, `rider` (a "me too"), `staff` or `system`. A rider who follows a report
/// without having filed it reads staff's notes only, not the reporter's.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none, example)]
pub struct PublicEntry {
    pub at: DateTime<Utc>,
    /// Never `assigned` or `note`: those are for staff.
    pub kind: EventKindDto,
    /// The report's status after this entry.
    pub status: ReportStatusDto,
    pub actor: ActorDto,
    pub unit: Option<UnitRef>,
    pub public_note: Option<String>,
}

impl From<Entry> for PublicEntry {
    fn from(Entry { event: e, unit }: Entry) -> Self {
        PublicEntry {
            at: e.at.to_utc(),
            kind: e.kind.into(),
            status: e.status.into(),
            actor: e.actor_role.into(),
            unit: unit.map(UnitRef::from),
            public_note: e.public_note,
        }
    }
}

/// A rider's view of a report they filed or follow.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none, example)]
pub struct ReportDetail {
    #[oai(flatten)]
    pub report: ReportSummary,
    /// The rider filed this report (rather than following it).
    pub mine: bool,
    pub timeline: Vec<PublicEntry>,
}

impl ReportDetail {
    fn of(d: RiderReport, system: CoordSystem) -> Self {
        ReportDetail {
            report: ReportSummary::of(d.report, system),
            mine: d.mine,
            timeline: d.timeline.into_iter().map(PublicEntry::from).collect(),
        }
    }
}

/// A report's public projection: all that anyone may see of it (the public map, the preview,
/// and Open311 show exactly this). What it is about, where it stands, which unit holds it,
/// roughly where it is and when; never who filed or follows it, and no notes. The reporter's
/// description, their rating comment and the riders' photos appear only once WeChat's content
/// check cleared each of them (absent, or empty for photos, before; and always while the
/// service runs without content checks). The location is the exact spot rounded to 0.001° in
/// GCJ-02 (within about 75 m of it), then given in the system the request asked for.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct PublicReportView {
    pub id: String,
    pub category: CategoryDto,
    pub status: ReportStatusDto,
    pub unit: UnitRef,
    /// Rounded to 0.001° in GCJ-02 (about 100 m).
    pub location: Location,
    /// 1 plus the riders who said "me too".
    pub priority: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// While the report is open: when its unit must have resolved it.
    pub resolve_by: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    /// What the reporter wrote, once WeChat's content check passed it; absent otherwise.
    pub description: Option<String>,
    /// The reporter's rating comment, once WeChat's content check passed it; absent otherwise.
    pub rating_comment: Option<String>,
    /// The photos WeChat's content check passed, with signed URLs that need no token.
    pub photo_urls: Vec<PhotoUrl>,
}

impl PublicReportView {
    pub fn of(v: PublicView, system: CoordSystem) -> Self {
        let r = v.report;
        PublicReportView {
            id: r.id,
            category: r.category.into(),
            status: r.status.into(),
            unit: v.unit.into(),
            location: Location::of(r.location, system),
            priority: r.priority,
            created_at: r.created_at.to_utc(),
            updated_at: r.updated_at.to_utc(),
            resolve_by: r.resolve_by.map(Millis::to_utc),
            resolved_at: r.resolved_at.map(Millis::to_utc),
            closed_at: r.closed_at.map(Millis::to_utc),
            description: r.description,
            rating_comment: r.rating_comment,
            photo_urls: v.photos.into_iter().map(PhotoUrl::from).collect(),
        }
    }
}

/// An open report near a point: its public projection, and how far its (rounded) point is.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct NearbyReport {
    #[oai(flatten)]
    pub report: PublicReportView,
    /// From the point asked about to the report's rounded point.
    pub distance_m: i64,
}

fn nearby_view(list: Vec<Nearby>, system: CoordSystem) -> Vec<NearbyReport> {
    list.into_iter()
        .map(|Nearby { report, distance_m }| NearbyReport {
            report: PublicReportView::of(report, system),
            distance_m: distance_m.round() as i64,
        })
        .collect()
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct PreviewResponse {
    /// The unit that would receive the report.
    pub unit: UnitRef,
    pub route_reason: RouteReasonDto,
    /// Up to 5 open reports of the same category within 250 m, nearest first: follow one
    /// instead of filing again.
    pub nearby: Vec<NearbyReport>,
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none, example)]
pub struct SubmitReportRequest {
    pub category: CategoryDto,
    /// What is wrong, at most 500 characters (none when left out: a photo may say it all).
    #[oai(deserialize_with = "not_null", validator(max_length = 500))]
    pub description: Option<Text>,
    #[oai(validator(minimum(value = "-90"), maximum(value = "90")))]
    pub lat: f64,
    #[oai(validator(minimum(value = "-180"), maximum(value = "180")))]
    pub lng: f64,
    /// The system of `lat`/`lng`; gcj02 when left out.
    #[oai(deserialize_with = "not_null")]
    pub coord: Option<CoordDto>,
    /// Up to 9 photos uploaded by this rider through `POST /media`.
    #[oai(deserialize_with = "not_null", validator(max_items = 9, unique_items, max_length = 64))]
    pub media_ids: Option<Vec<Text>>,
    /// Hide the reporter's name from the unit too (false when left out).
    #[oai(deserialize_with = "not_null")]
    pub anonymous: Option<bool>,
}

mirror_enum!(
    /// `created`: a new report; `joined`: an open report of the same category within 50 m
    /// from the last 24 hours, which the rider now follows as a "me too".
    OutcomeDto = Outcome { Created, Joined }
);

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none, example)]
pub struct SubmitReportResponse {
    pub outcome: OutcomeDto,
    pub report: ReportDetail,
}

#[derive(ApiResponse)]
pub enum SubmitReply {
    /// A new report was filed and committed
    #[oai(status = 201)]
    Created(Json<SubmitReportResponse>),
    /// The rider joined an open report nearby as a "me too"
    #[oai(status = 200)]
    Joined(Json<SubmitReportResponse>),
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct ReasonRequest {
    /// Why the report is not resolved, for its unit; not blank.
    #[oai(validator(
        max_length = 500,
        pattern = r"[^\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
    ))]
    pub reason: Text,
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct RatingRequest {
    /// 1 (bad) to 5 (good).
    #[oai(validator(minimum(value = "1"), maximum(value = "5")))]
    pub score: i64,
    #[oai(deserialize_with = "not_null", validator(max_length = 500))]
    pub comment: Option<Text>,
}

#[derive(Default)]
pub struct ReportsApi;

#[OpenApi(tag = "ApiTags::Reports")]
impl ReportsApi {
    /// Report categories with their names, hints and deadlines
    ///
    /// The categories a rider picks from when filing (`POST /reports`), in the city's order, each
    /// with its hint and the time its unit has to respond and to resolve. Any signed-in caller.
    #[oai(path = "/reports/categories", method = "get", operation_id = "reports_categories")]
    async fn categories(
        &self,
        state: Data<&AppState>,
        _auth: BearerAuth,
    ) -> ApiResult<Json<Vec<CategoryView>>, Signed> {
        let all = service::categories(&state.reports()).await?;
        Ok(Json(all.into_iter().map(CategoryView::from).collect()))
    }

    /// Where a report here would go, and open reports of the category nearby
    ///
    /// Before filing, the mini-program shows which unit would receive the report and why, and up
    /// to 5 open reports of the same category within 250 m (their public projection), so the
    /// rider can follow one ("me too") instead of filing again. Nothing is stored.
    #[oai(path = "/reports/preview", method = "get", operation_id = "reports_preview")]
    async fn preview(
        &self,
        state: Data<&AppState>,
        _auth: RiderAuth,
        /// Latitude of the spot, in `coord`.
        #[oai(validator(minimum(value = "-90"), maximum(value = "90")))]
        lat: Query<f64>,
        /// Longitude of the spot, in `coord`.
        #[oai(validator(minimum(value = "-180"), maximum(value = "180")))]
        lng: Query<f64>,
        /// The system of `lat`/`lng` and of the answer's locations: gcj02 (default) or wgs84.
        coord: Query<Option<CoordDto>>,
        /// The category the rider is about to file.
        category: Query<CategoryDto>,
    ) -> ApiResult<Json<PreviewResponse>, (SignedAs, InvalidParameter, InvalidInput, NoUnit)> {
        let system = coord_of(coord.0);
        let point = Gcj02::from_system(lat.0, lng.0, system)?;
        let preview = service::preview(&state.reports(), point, category.0.into()).await?;
        Ok(Json(PreviewResponse {
            unit: preview.unit.into(),
            route_reason: preview.route_reason.into(),
            nearby: nearby_view(preview.nearby, system),
        }))
    }

    /// File a report (riders)
    ///
    /// Routed at once to the unit that must act. The same category within 50 m of an open report
    /// from the last 24 hours joins that report as a "me too" instead (200, `outcome: joined`).
    /// Send an `Idempotency-Key` so a retry returns the first answer instead of filing twice. At
    /// most `REPORTS_PER_RIDER_PER_HOUR` submissions an hour (429 with Retry-After).
    #[oai(path = "/reports", method = "post", operation_id = "reports_submit")]
    async fn submit(
        &self,
        state: Data<&AppState>,
        RiderAuth(rider): RiderAuth,
        /// Any unique text per submission (a UUID): a retry with the same key returns the first
        /// answer instead of filing twice; the same key with a different report is a 409.
        #[oai(name = "Idempotency-Key", validator(min_length = 1, max_length = 128))]
        idempotency_key: Header<Option<String>>,
        body: Json<SubmitReportRequest>,
    ) -> ApiResult<
        SubmitReply,
        (SignedAs, InvalidParameter, Body, InvalidInput, RateLimited, IdempotencyKeyReused, NoUnit, ConcurrentUpdate),
    > {
        let body = body.0;
        let system = coord_of(body.coord);
        let submission = Submission {
            category: body.category.into(),
            description: parse_description(body.description.as_deref().unwrap_or_default())?,
            location: Gcj02::from_system(body.lat, body.lng, system)?,
            media_ids: parse_media_ids(&strings(body.media_ids.unwrap_or_default()))?,
            anonymous: body.anonymous.unwrap_or(false),
        };
        let (outcome, report) =
            service::submit_and_view(&state.reports(), &rider, submission, idempotency_key.0.as_deref(), Millis::now())
                .await?;
        let reply = SubmitReportResponse { outcome: outcome.into(), report: ReportDetail::of(report, system) };
        Ok(match outcome {
            Outcome::Created => SubmitReply::Created(Json(reply)),
            Outcome::Joined => SubmitReply::Joined(Json(reply)),
        })
    }

    /// The reports I filed or follow, newest first
    ///
    /// One page at a time. Reports the rider only follows show their public projection (location
    /// rounded, no rating; the description, rating comment and others' photos only once WeChat's
    /// content check passed them).
    #[oai(path = "/reports/mine", method = "get", operation_id = "reports_mine")]
    async fn mine(
        &self,
        state: Data<&AppState>,
        RiderAuth(rider): RiderAuth,
        /// The system of the reports' locations: gcj02 (default) or wgs84.
        coord: Query<Option<CoordDto>>,
        /// How many items a page holds: 1 to 100 (default 20).
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<u32>>,
        /// Where the page starts: the previous page's `next_cursor`; leave out for the first page.
        cursor: Query<Option<Cursor>>,
    ) -> ApiResult<Json<Page<ReportSummary>>, (SignedAs, Paged)> {
        let page = PageRequest::parse(limit.0, cursor.0)?;
        let views = service::mine(&state.reports(), &rider, page.after.as_deref(), page.fetch_limit()).await?;
        let (views, next_cursor) = page.finish(views, |v| v.report.id.clone());
        let system = coord_of(coord.0);
        Ok(Json(Page::new(views.into_iter().map(|v| ReportSummary::of(v, system)).collect(), next_cursor)))
    }

    /// Open reports near a point, for the public map
    ///
    /// Each report is its public projection (`PublicReportView`, the same Open311's
    /// `requests.json` shows): never who filed it, no notes, the description, rating comment and
    /// photos only once WeChat's content check passed them, and its location rounded to 0.001°
    /// (about 100 m); the radius and `distance_m` are measured to that rounded point. The nearest `limit` reports are one page: there is never a `next_cursor`.
    #[oai(path = "/reports/nearby", method = "get", operation_id = "reports_nearby")]
    #[allow(clippy::too_many_arguments)]
    async fn nearby(
        &self,
        state: Data<&AppState>,
        _auth: BearerAuth,
        /// Latitude of the centre, in `coord`.
        #[oai(validator(minimum(value = "-90"), maximum(value = "90")))]
        lat: Query<f64>,
        /// Longitude of the centre, in `coord`.
        #[oai(validator(minimum(value = "-180"), maximum(value = "180")))]
        lng: Query<f64>,
        /// The system of `lat`/`lng` and of the answer's locations: gcj02 (default) or wgs84.
        coord: Query<Option<CoordDto>>,
        /// Metres, 1 to 5000 (default 1000).
        #[oai(validator(minimum(value = "1"), maximum(value = "5000")))]
        radius_m: Query<Option<u32>>,
        /// Only reports of this category (default every category).
        category: Query<Option<CategoryDto>>,
        /// How many items a page holds: 1 to 100 (default 20).
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<u32>>,
    ) -> ApiResult<Json<Page<NearbyReport>>, (Signed, InvalidParameter, InvalidInput)> {
        let system = coord_of(coord.0);
        let center = Gcj02::from_system(lat.0, lng.0, system)?;
        let radius = f64::from(radius_m.0.unwrap_or(1000));
        let limit = limit.0.unwrap_or(super::paging::DEFAULT_LIMIT) as usize;
        let near = service::nearby(&state.reports(), center, radius, category.0.map(Category::from), limit).await?;
        Ok(Json(Page::new(nearby_view(near, system), None)))
    }

    /// One of my reports (filed or followed) with its public timeline
    ///
    /// A report I filed shows whole, with the photos I attached. A report I only follow shows
    /// its public projection: location rounded, no rating; the description, rating comment and
    /// others' photos only once WeChat's content check passed them (besides my own photos); and
    /// of the timeline's notes only staff's.
    #[oai(path = "/reports/:id", method = "get", operation_id = "reports_get")]
    async fn get(
        &self,
        state: Data<&AppState>,
        RiderAuth(rider): RiderAuth,
        /// The report's id (`ReportSummary.id`, from `POST /reports` or `GET /reports/mine`).
        #[oai(validator(max_length = 64))]
        id: Path<String>,
        /// The system of the report's location: gcj02 (default) or wgs84.
        coord: Query<Option<CoordDto>>,
    ) -> ApiResult<Json<ReportDetail>, (SignedAs, InvalidParameter, NotFound)> {
        let report = service::rider_view(&state.reports(), &rider, &id.0).await?;
        Ok(Json(ReportDetail::of(report, coord_of(coord.0))))
    }

    /// Follow an open report ("me too") instead of filing again
    ///
    /// Following widens nothing: a follower sees the report's public projection and staff's
    /// notes; the reporter's description, rating comment and photos only once WeChat's content
    /// check passed them, as anyone may.
    #[oai(path = "/reports/:id/follow", method = "post", operation_id = "reports_follow")]
    async fn follow(
        &self,
        state: Data<&AppState>,
        RiderAuth(rider): RiderAuth,
        /// The report's id (`ReportSummary.id`, from `POST /reports` or `GET /reports/mine`).
        #[oai(validator(max_length = 64))]
        id: Path<String>,
    ) -> ApiResult<
        Json<ReportDetail>,
        (SignedAs, InvalidParameter, NotFound, RateLimited, ReportNotOpen, ConcurrentUpdate),
    > {
        let report = service::follow(&state.reports(), &rider, &id.0, Millis::now()).await?;
        Ok(Json(ReportDetail::of(report, CoordSystem::Gcj02)))
    }

    /// Reopen my resolved report within 7 days, with a reason
    ///
    /// Only the reporter, only a resolved report, and only within 7 days of its resolution (409
    /// `reopen_window_passed` after, `illegal_transition` in another status). The report goes back
    /// to its unit with new deadlines; the reason is for the unit, not for followers.
    #[oai(path = "/reports/:id/reopen", method = "post", operation_id = "reports_reopen")]
    async fn reopen(
        &self,
        state: Data<&AppState>,
        RiderAuth(rider): RiderAuth,
        /// The report's id (`ReportSummary.id`, from `POST /reports` or `GET /reports/mine`).
        #[oai(validator(max_length = 64))]
        id: Path<String>,
        body: Json<ReasonRequest>,
    ) -> ApiResult<
        Json<ReportDetail>,
        (
            SignedAs,
            InvalidParameter,
            Body,
            InvalidInput,
            NotFound,
            ReopenWindowPassed,
            IllegalTransition,
            ConcurrentUpdate,
        ),
    > {
        let action = Action::Reopen { reason: Note::required("reason", Some(&body.reason))? };
        let report = service::reporter_action(&state.reports(), &rider, &id.0, action, Millis::now()).await?;
        Ok(Json(ReportDetail::of(report, CoordSystem::Gcj02)))
    }

    /// Confirm my resolved report closed
    ///
    /// Only the reporter, only a resolved report (409 otherwise). A resolved report the reporter
    /// neither closes nor reopens closes by itself after 7 days.
    #[oai(path = "/reports/:id/close", method = "post", operation_id = "reports_close")]
    async fn close(
        &self,
        state: Data<&AppState>,
        RiderAuth(rider): RiderAuth,
        /// The report's id (`ReportSummary.id`, from `POST /reports` or `GET /reports/mine`).
        #[oai(validator(max_length = 64))]
        id: Path<String>,
    ) -> ApiResult<Json<ReportDetail>, (SignedAs, InvalidParameter, NotFound, IllegalTransition, ConcurrentUpdate)>
    {
        let report = service::reporter_action(&state.reports(), &rider, &id.0, Action::Close, Millis::now()).await?;
        Ok(Json(ReportDetail::of(report, CoordSystem::Gcj02)))
    }

    /// Rate the outcome of my report once, 1 to 5
    ///
    /// Only the reporter, once a report is resolved or closed (409 `not_resolved` before,
    /// `already_rated` the second time). Ratings of 4 and 5 count as satisfied in the unit's
    /// satisfaction rate.
    #[oai(path = "/reports/:id/rating", method = "post", operation_id = "reports_rate")]
    async fn rate(
        &self,
        state: Data<&AppState>,
        RiderAuth(rider): RiderAuth,
        /// The report's id (`ReportSummary.id`, from `POST /reports` or `GET /reports/mine`).
        #[oai(validator(max_length = 64))]
        id: Path<String>,
        body: Json<RatingRequest>,
    ) -> ApiResult<
        Json<ReportDetail>,
        (SignedAs, InvalidParameter, Body, InvalidInput, NotFound, NotResolved, AlreadyRated, ConcurrentUpdate),
    > {
        let score = parse_rating(body.score)?;
        let comment = Note::optional("comment", body.comment.as_deref())?;
        let report = service::rate(&state.reports(), &rider, &id.0, score, comment, Millis::now()).await?;
        Ok(Json(ReportDetail::of(report, CoordSystem::Gcj02)))
    }
}

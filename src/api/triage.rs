//! Triage, the unit's side of tap to report: a clerk's queue (only their own unit's reports;
//! another unit's report is a 404), the lifecycle actions, assignment, public replies and internal
//! notes, and the three rates with a CSV export. City admins reach every unit.

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::{Json, PlainText};
use poem_openapi::registry::{MetaSchema, MetaSchemaRef, Registry};
use poem_openapi::types::{IsObjectType, ParseError, ParseFromJSON, ParseResult, ToJSON, Type};
use poem_openapi::{ApiResponse, Object, OpenApi, Union};
use serde_json::Value;

use super::ApiTags;
use super::dto::{NOT_BLANK, Tagged, TaggedBody, mirror_enum, not_null};
use super::error::codes::*;
use super::error::{ApiResult, Body, Paged, SignedAs};
use super::geojson::{AreaGeometry, Shaped};
use super::paging::{Cursor, Page, PageRequest, key_text};
use super::reports::UnitKindDto;
use super::reports::{ActorDto, CategoryDto, EventKindDto, ReportStatusDto, ReportSummary, RouteReasonDto, UnitRef};
use super::security::StaffAuth;
use super::text::Text;
use crate::domain::DomainError;
use crate::domain::content::{Checked, Verdict};
use crate::domain::geo::CoordSystem;
use crate::domain::report::{Action, Note, Notes, TransferTarget, parse_media_ids};
use crate::domain::sla::NO_DEADLINE;
use crate::domain::time::Millis;
use crate::service::content::CheckRow;
use crate::service::reports::Entry;
use crate::service::triage::{self as service, FiledRange, QueueFilter, StaffReport, TriageView};
use crate::state::AppState;

/// A report in a unit's queue.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none, example)]
pub struct TriageSummary {
    #[oai(flatten)]
    pub report: ReportSummary,
    pub route_reason: RouteReasonDto,
    /// The deadline that falls first among those still to meet; absent once none is left.
    pub next_deadline: Option<DateTime<Utc>>,
    pub overdue: bool,
    pub responded_at: Option<DateTime<Utc>>,
    pub assignee_id: Option<String>,
    pub duplicate_of: Option<String>,
    /// The reporter's display name; absent when they filed anonymously.
    pub reporter_name: Option<String>,
}

impl TriageSummary {
    fn of(v: TriageView) -> Self {
        let f = &v.report.report.facts;
        TriageSummary {
            route_reason: v.report.report.route_reason.into(),
            next_deadline: (f.next_deadline != NO_DEADLINE).then(|| f.next_deadline.to_utc()),
            overdue: v.overdue,
            responded_at: f.responded_at.map(Millis::to_utc),
            assignee_id: f.assignee_id.clone(),
            duplicate_of: f.duplicate_of.clone(),
            reporter_name: v.reporter_name,
            report: ReportSummary::of(v.report, CoordSystem::Gcj02),
        }
    }
}

/// A timeline entry as staff see it: who acted, and internal notes too.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none, example)]
pub struct StaffEntry {
    pub at: DateTime<Utc>,
    pub kind: EventKindDto,
    pub status: ReportStatusDto,
    pub actor_role: ActorDto,
    /// The acting staff account. Absent when a rider acted (the reporter or a "me too"): riders
    /// appear by role only, so an anonymous report cannot be tied to its reporter. Absent for the
    /// service itself.
    pub actor_id: Option<String>,
    pub unit: Option<UnitRef>,
    pub public_note: Option<String>,
    /// Never shown to riders.
    pub internal_note: Option<String>,
}

impl From<Entry> for StaffEntry {
    fn from(Entry { event: e, unit }: Entry) -> Self {
        StaffEntry {
            at: e.at.to_utc(),
            kind: e.kind.into(),
            status: e.status.into(),
            actor_role: e.actor_role.into(),
            actor_id: e.actor_id,
            unit: unit.map(UnitRef::from),
            public_note: e.public_note,
            internal_note: e.internal_note,
        }
    }
}

mirror_enum!(
    /// What a content check is about: the report's `description`, its `rating_comment`, or a
    /// `photo`.
    CheckedDto = Checked { Description, RatingComment, Photo }
);
mirror_enum!(
    /// Where WeChat's content check stands: `pending` (not decided yet), `pass` (public),
    /// `risky` (flagged: private for good), `review` (WeChat suggests a person look: private).
    VerdictDto = Verdict { Pending, Pass, Risky, Review }
);

/// Where WeChat's content check of one piece of the report's content stands: what the unit reads
/// to know what the public sees.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct ContentCheckView {
    pub kind: CheckedDto,
    /// The report's id for its texts, the media id for a photo.
    pub object_id: String,
    pub verdict: VerdictDto,
    /// WeChat's label (100 normal, 10001 ads, 20001 politics, 20002 porn, 20003 abuse, 20006
    /// crime, 20008 fraud, 20012 vulgar, 20013 copyright, 21000 other).
    pub label: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
}

impl From<CheckRow> for ContentCheckView {
    fn from(c: CheckRow) -> Self {
        ContentCheckView {
            kind: c.kind.into(),
            object_id: c.object_id,
            verdict: c.verdict.into(),
            label: c.label,
            decided_at: c.decided_at.map(Millis::to_utc),
        }
    }
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none, example)]
pub struct TriageDetail {
    #[oai(flatten)]
    pub report: TriageSummary,
    pub timeline: Vec<StaffEntry>,
    /// WeChat's content checks of the description, rating comment and photos: only what passed
    /// is public (and nothing while the service runs without checks). Empty when nothing was
    /// checked.
    pub content_checks: Vec<ContentCheckView>,
}

impl TriageDetail {
    fn of(d: StaffReport) -> Json<Self> {
        Json(TriageDetail {
            report: TriageSummary::of(d.report),
            timeline: d.timeline.into_iter().map(StaffEntry::from).collect(),
            content_checks: d.content_checks.into_iter().map(ContentCheckView::from).collect(),
        })
    }
}

/// Notes any lifecycle action may carry.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct ActionNotes {
    /// Shown to riders following the report (and sent to them as the unit's word).
    #[oai(deserialize_with = "not_null", validator(max_length = 500))]
    pub public_note: Option<Text>,
    /// Staff only.
    #[oai(deserialize_with = "not_null", validator(max_length = 500))]
    pub internal_note: Option<Text>,
}

/// Accept a report: the unit takes it on (the first response, if none came before).
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none, example)]
pub struct AcceptAction {
    #[oai(flatten)]
    pub notes: ActionNotes,
}

/// Start work on an accepted report.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct StartAction {
    #[oai(flatten)]
    pub notes: ActionNotes,
}

/// Resolve a report: the reporter may confirm it closed, or reopen it within 7 days.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct ResolveAction {
    /// Up to 9 photos of the work done, uploaded by the acting staff member through
    /// `POST /media`; attached to the report beside the reporter's.
    #[oai(deserialize_with = "not_null", validator(max_items = 9, unique_items, max_length = 64))]
    pub media_ids: Option<Vec<Text>>,
    #[oai(flatten)]
    pub notes: ActionNotes,
}

/// Reject a report, saying why.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none, example)]
pub struct RejectAction {
    /// Why, shown to the reporter and followers; not blank.
    #[oai(validator(
        max_length = 500,
        pattern = r"[^\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
    ))]
    pub reason: Text,
    #[oai(flatten)]
    pub notes: ActionNotes,
}

/// Mark a report a duplicate of another report of the same unit; its followers move there.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none, example)]
pub struct MarkDuplicateAction {
    /// The report this one repeats (an id from the queue).
    #[oai(validator(min_length = 1, max_length = 64))]
    pub duplicate_of: Text,
    #[oai(flatten)]
    pub notes: ActionNotes,
}

/// Transfer a report away from this unit, saying why.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none, example)]
pub struct TransferAction {
    /// Why, shown to the reporter and followers; not blank.
    #[oai(validator(
        max_length = 500,
        pattern = r"[^\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
    ))]
    pub reason: Text,
    /// The unit to send it to (`GET /admin/units`); left out or empty, routing picks the next
    /// unit that covers the spot, other than this one.
    #[oai(deserialize_with = "not_null", validator(max_length = 64))]
    pub to_office_id: Option<Text>,
    #[oai(flatten)]
    pub notes: ActionNotes,
}

/// A lifecycle action, named by `action`, with the fields that action needs.
#[derive(Debug, Union)]
#[oai(discriminator_name = "action", one_of)]
pub enum ActionBody {
    #[oai(mapping = "accept")]
    Accept(AcceptAction),
    #[oai(mapping = "start")]
    Start(StartAction),
    #[oai(mapping = "resolve")]
    Resolve(ResolveAction),
    #[oai(mapping = "reject")]
    Reject(RejectAction),
    #[oai(mapping = "mark_duplicate")]
    MarkDuplicate(MarkDuplicateAction),
    #[oai(mapping = "transfer")]
    Transfer(TransferAction),
}

impl TaggedBody for ActionBody {
    const TAG: &'static str = "action";
    const REQUIRED: &'static [(&'static str, &'static [&'static str])] = &[
        ("accept", &[]),
        ("start", &[]),
        ("resolve", &[]),
        ("reject", &["reason"]),
        ("mark_duplicate", &["duplicate_of"]),
        ("transfer", &["reason"]),
    ];
}

impl ActionBody {
    /// The photos a resolve carries (none for the other actions).
    fn photos(&self) -> Result<Vec<String>, DomainError> {
        match self {
            ActionBody::Resolve(ResolveAction { media_ids: Some(ids), .. }) => {
                parse_media_ids(&ids.iter().map(|t| t.to_string()).collect::<Vec<_>>())
            }
            _ => Ok(Vec::new()),
        }
    }

    fn parse(&self) -> Result<(Action, Notes), DomainError> {
        let (action, notes) = match self {
            ActionBody::Accept(a) => (Action::Accept, &a.notes),
            ActionBody::Start(a) => (Action::Start, &a.notes),
            ActionBody::Resolve(a) => (Action::Resolve, &a.notes),
            ActionBody::Reject(a) => (Action::Reject { reason: Note::required("reason", Some(&*a.reason))? }, &a.notes),
            ActionBody::MarkDuplicate(a) => (Action::MarkDuplicate { target: a.duplicate_of.to_string() }, &a.notes),
            ActionBody::Transfer(a) => {
                let to = a
                    .to_office_id
                    .as_deref()
                    .filter(|t| !t.is_empty())
                    .map_or(TransferTarget::Reroute, |t| TransferTarget::Unit(t.to_string()));
                (Action::Transfer { to, reason: Note::required("reason", Some(&*a.reason))? }, &a.notes)
            }
        };
        Ok((action, Notes::parse(notes.public_note.as_deref(), notes.internal_note.as_deref())?))
    }
}

/// A public reply, an internal note, or both.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct NoteFields {
    /// A public reply: riders following the report see it, and it counts as the unit's response.
    #[oai(deserialize_with = "not_null", validator(max_length = 500))]
    pub public_note: Option<Text>,
    /// An internal note, staff only.
    #[oai(deserialize_with = "not_null", validator(max_length = 500))]
    pub internal_note: Option<Text>,
}

/// `NoteFields` with at least one of the two not blank: what `triage_note` takes.
#[derive(Debug)]
pub struct NoteRequest(pub NoteFields);

impl Type for NoteRequest {
    const IS_REQUIRED: bool = true;
    type RawValueType = Self;
    type RawElementValueType = Self;

    fn name() -> Cow<'static, str> {
        "NoteRequest".into()
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Reference(Self::name().into_owned())
    }

    fn register(registry: &mut Registry) {
        NoteFields::register(registry);
        let not_blank = |field: &'static str| {
            MetaSchemaRef::Inline(Box::new(MetaSchema {
                required: vec![field],
                properties: vec![(
                    field,
                    MetaSchemaRef::Inline(Box::new(MetaSchema {
                        pattern: Some(NOT_BLANK.to_string()),
                        ..MetaSchema::new("string")
                    })),
                )],
                ..MetaSchema::new("object")
            }))
        };
        registry.create_schema::<Self, _>(Self::name().into_owned(), |_| MetaSchema {
            description: Some("A public reply, an internal note, or both: at least one of them not blank."),
            all_of: vec![
                NoteFields::schema_ref(),
                MetaSchemaRef::Inline(Box::new(MetaSchema {
                    any_of: vec![not_blank("public_note"), not_blank("internal_note")],
                    ..MetaSchema::ANY
                })),
            ],
            ..MetaSchema::ANY
        });
    }

    fn as_raw_value(&self) -> Option<&Self> {
        Some(self)
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a Self> + 'a> {
        Box::new(self.as_raw_value().into_iter())
    }
}

impl IsObjectType for NoteRequest {}

impl ParseFromJSON for NoteRequest {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        NoteFields::parse_from_json(value).map(NoteRequest).map_err(ParseError::propagate)
    }
}

impl ToJSON for NoteRequest {
    fn to_json(&self) -> Option<Value> {
        self.0.to_json()
    }
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct AssignRequest {
    /// A clerk of the report's unit.
    #[oai(validator(min_length = 1, max_length = 64))]
    pub assignee_id: Text,
}

/// The three rates and median times of a unit (or the city) over reports filed in a range.
/// Definitions: see `domain::sla::Rates` — response rate = responded no later than the response
/// deadline ÷ all; resolution rate = resolved or closed ÷ all; satisfaction rate = rated 4 or 5 ÷
/// rated; medians from routing to first response and to resolution. Left out when undefined.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct MetricsView {
    /// The unit; absent for the whole city.
    pub office_id: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
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

/// The caller's own unit with its jurisdiction, for drawing a report's place on a small map.
/// `jurisdiction` is a GeoJSON MultiPolygon, positions `[lng, lat]` in GCJ-02 (the system of the
/// triage views' locations); absent when the unit has none (departments, the fallback queue, a
/// street office not yet given one).
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct OwnUnitView {
    pub id: String,
    pub name: String,
    pub kind: UnitKindDto,
    // No doc comment: a described `$ref` becomes `allOf`, which typed clients read as the union
    // without its `type` tag.
    pub jurisdiction: Option<Shaped<AreaGeometry>>,
}

/// The city's units.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct UnitList {
    pub items: Vec<UnitRef>,
}

/// A clerk a report may be assigned to.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct Colleague {
    pub id: String,
    pub display_name: String,
}

/// The active clerks of a unit.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct Colleagues {
    pub items: Vec<Colleague>,
}

#[derive(ApiResponse)]
pub enum CsvReply {
    /// Reports with their deadlines and times, one row each
    #[oai(status = 200, content_type = "text/csv; charset=utf-8")]
    Csv(PlainText<String>, #[oai(header = "Content-Disposition")] String),
}

/// Filed at or after `from`, before `to`.
fn filed(from: Option<DateTime<Utc>>, to: Option<DateTime<Utc>>) -> FiledRange {
    let millis = |d: Option<DateTime<Utc>>| d.map(|d| Millis::from_datetime(&d));
    FiledRange { from: millis(from), to: millis(to) }
}

/// The queue's cursor key: the next deadline (8 bytes, big-endian) then the id.
fn queue_key(v: &TriageView) -> Vec<u8> {
    let r = &v.report.report;
    let mut key = r.facts.next_deadline.0.to_be_bytes().to_vec();
    key.extend_from_slice(r.id.as_bytes());
    key
}

/// Reads any bytes as a queue position: missing deadline bytes count as zeros.
fn queue_position(key: &[u8]) -> (Millis, String) {
    let mut deadline = [0u8; 8];
    let n = key.len().min(8);
    deadline[..n].copy_from_slice(&key[..n]);
    (Millis(i64::from_be_bytes(deadline)), key_text(&key[n..]))
}

#[derive(Default)]
pub struct TriageApi;

#[OpenApi(tag = "ApiTags::Triage")]
impl TriageApi {
    /// My unit's queue, the deadline that falls first first (clerks; admins any unit)
    ///
    /// Reports of the clerk's unit (a city admin's: of the unit `office_id` names, or of the whole
    /// city), ordered by the deadline that falls first, one page at a time. A clerk naming another
    /// unit gets 404. An empty or reversed `from`/`to` range is an empty queue.
    #[oai(path = "/triage/reports", method = "get", operation_id = "triage_queue")]
    #[allow(clippy::too_many_arguments)]
    async fn queue(
        &self,
        state: Data<&AppState>,
        StaffAuth(staff): StaffAuth,
        /// Only reports in this status.
        status: Query<Option<ReportStatusDto>>,
        /// Only reports of this category.
        category: Query<Option<CategoryDto>>,
        /// Only reports whose next deadline has passed.
        overdue: Query<Option<bool>>,
        /// Filed at or after (RFC 3339).
        from: Query<Option<DateTime<Utc>>>,
        /// Filed before (RFC 3339).
        to: Query<Option<DateTime<Utc>>>,
        /// City admins: one unit (`Unit.id`); clerks always see their own (another unit is a 404).
        #[oai(validator(max_length = 64))]
        office_id: Query<Option<String>>,
        /// How many items a page holds: 1 to 100 (default 20).
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<u32>>,
        /// Where the page starts: the previous page's `next_cursor`; leave out for the first page.
        cursor: Query<Option<Cursor>>,
    ) -> ApiResult<Json<Page<TriageSummary>>, (SignedAs, Paged, NotFound)> {
        let filter = QueueFilter {
            office_id: office_id.0,
            status: status.0.map(Into::into),
            category: category.0.map(Into::into),
            overdue: overdue.0.unwrap_or(false),
            filed: filed(from.0, to.0),
        };
        let page = PageRequest::parse_with(limit.0, cursor.0, queue_position)?;
        let views =
            service::queue(&state.reports(), &staff, filter, page.after.clone(), page.fetch_limit(), Millis::now())
                .await?;
        let (views, next_cursor) = page.finish(views, queue_key);
        Ok(Json(Page::new(views.into_iter().map(TriageSummary::of).collect(), next_cursor)))
    }

    /// One report of my unit with its full timeline, internal notes included
    ///
    /// Shows the reporter's name unless they filed anonymously, so each look is written to the
    /// audit trail (personal information).
    #[oai(path = "/triage/reports/:id", method = "get", operation_id = "triage_get")]
    async fn get(
        &self,
        state: Data<&AppState>,
        StaffAuth(staff): StaffAuth,
        /// The report's id (`TriageSummary.id`, from the queue `GET /triage/reports`).
        #[oai(validator(max_length = 64))]
        id: Path<String>,
    ) -> ApiResult<Json<TriageDetail>, (SignedAs, InvalidParameter, NotFound)> {
        Ok(TriageDetail::of(service::staff_view(&state.reports(), &staff, &id.0, Millis::now()).await?))
    }

    /// Accept, start, resolve, reject, mark duplicate or transfer a report (illegal → 409)
    ///
    /// One lifecycle step, named by `action`, with the fields that action needs (`reason` to
    /// reject or transfer, `duplicate_of` to mark a duplicate). A step the report's status does not
    /// allow is 409 `illegal_transition`; a change someone made meanwhile is 409
    /// `concurrent_update`. Answers the report with its new timeline; followers hear of it.
    #[oai(path = "/triage/reports/:id/actions", method = "post", operation_id = "triage_act")]
    async fn act(
        &self,
        state: Data<&AppState>,
        StaffAuth(staff): StaffAuth,
        /// The report's id (`TriageSummary.id`, from the queue `GET /triage/reports`).
        #[oai(validator(max_length = 64))]
        id: Path<String>,
        body: Json<Tagged<ActionBody>>,
    ) -> ApiResult<
        Json<TriageDetail>,
        (SignedAs, InvalidParameter, Body, InvalidInput, NotFound, IllegalTransition, ConcurrentUpdate, NoUnit),
    > {
        let (action, notes) = body.0.0.parse()?;
        let photos = body.0.0.photos()?;
        let report = service::act(&state.reports(), &staff, &id.0, action, notes, &photos, Millis::now()).await?;
        Ok(TriageDetail::of(report))
    }

    /// Reply publicly and/or add an internal note
    ///
    /// A public reply reaches the report's followers and counts as the unit's first response; an
    /// internal note is for staff only. At least one of the two.
    #[oai(path = "/triage/reports/:id/notes", method = "post", operation_id = "triage_note")]
    async fn note(
        &self,
        state: Data<&AppState>,
        StaffAuth(staff): StaffAuth,
        /// The report's id (`TriageSummary.id`, from the queue `GET /triage/reports`).
        #[oai(validator(max_length = 64))]
        id: Path<String>,
        body: Json<NoteRequest>,
    ) -> ApiResult<Json<TriageDetail>, (SignedAs, InvalidParameter, Body, InvalidInput, NotFound, ConcurrentUpdate)>
    {
        let notes = Notes::parse(body.0.0.public_note.as_deref(), body.0.0.internal_note.as_deref())?;
        Ok(TriageDetail::of(service::annotate(&state.reports(), &staff, &id.0, notes, Millis::now()).await?))
    }

    /// Assign a report to a clerk of its unit
    ///
    /// The clerk must be an active clerk of the report's unit. Answers the report with its
    /// timeline (an `assigned` entry, staff only).
    #[oai(path = "/triage/reports/:id/assign", method = "post", operation_id = "triage_assign")]
    async fn assign(
        &self,
        state: Data<&AppState>,
        StaffAuth(staff): StaffAuth,
        /// The report's id (`TriageSummary.id`, from the queue `GET /triage/reports`).
        #[oai(validator(max_length = 64))]
        id: Path<String>,
        body: Json<AssignRequest>,
    ) -> ApiResult<Json<TriageDetail>, (SignedAs, InvalidParameter, Body, InvalidInput, NotFound, ConcurrentUpdate)>
    {
        let report = service::assign(&state.reports(), &staff, &id.0, &body.assignee_id, Millis::now()).await?;
        Ok(TriageDetail::of(report))
    }

    /// My unit with its jurisdiction outline (clerks; admins name a unit)
    ///
    /// The caller's own unit, with its jurisdiction as GeoJSON in GCJ-02, to draw a report's place
    /// without online map tiles. A clerk naming another unit gets 404; a city admin names the
    /// unit (`office_id`), and gets 404 without one.
    #[oai(path = "/triage/unit", method = "get", operation_id = "triage_unit")]
    async fn unit(
        &self,
        state: Data<&AppState>,
        StaffAuth(staff): StaffAuth,
        /// City admins: the unit (`Unit.id`); clerks always get their own (another unit is a 404).
        #[oai(validator(max_length = 64))]
        office_id: Query<Option<String>>,
    ) -> ApiResult<Json<OwnUnitView>, (SignedAs, InvalidParameter, NotFound)> {
        let own = service::own_unit(&state.reports(), &staff, office_id.0).await?;
        Ok(Json(OwnUnitView {
            id: own.unit.id,
            name: own.unit.name,
            kind: own.unit.kind.into(),
            jurisdiction: own.jurisdiction.map(Shaped::new),
        }))
    }

    /// Every unit, to transfer a report to (clerks, city admins)
    ///
    /// The city's units (street offices, departments, the fallback queue) by id, names and kinds
    /// only: where `transfer` may send a report (`to_office_id`). At most 1,000.
    #[oai(path = "/triage/units", method = "get", operation_id = "triage_units")]
    async fn units(&self, state: Data<&AppState>, StaffAuth(staff): StaffAuth) -> ApiResult<Json<UnitList>, SignedAs> {
        let units = service::units_to_transfer_to(&state.reports(), &staff).await?;
        let items = units.into_iter().map(|u| UnitRef { id: u.id, name: u.name, kind: u.kind.into() }).collect();
        Ok(Json(UnitList { items }))
    }

    /// The clerks of my unit, to assign a report to (clerks; admins name a unit)
    ///
    /// Active clerks of the caller's unit by name (a city admin names the unit, `office_id`, and
    /// gets 404 without one). Disabled accounts are left out: a report cannot go to them.
    #[oai(path = "/triage/colleagues", method = "get", operation_id = "triage_colleagues")]
    async fn colleagues(
        &self,
        state: Data<&AppState>,
        StaffAuth(staff): StaffAuth,
        /// City admins: the unit (`Unit.id`); clerks always get their own (another unit is a 404).
        #[oai(validator(max_length = 64))]
        office_id: Query<Option<String>>,
    ) -> ApiResult<Json<Colleagues>, (SignedAs, InvalidParameter, NotFound)> {
        let clerks = service::colleagues(&state.reports(), &staff, office_id.0).await?;
        let items = clerks.into_iter().map(|a| Colleague { id: a.id, display_name: a.display_name }).collect();
        Ok(Json(Colleagues { items }))
    }

    /// The three rates and median times of my unit (admins: any unit or the city)
    ///
    /// Response, resolution and satisfaction rates and median times over the reports filed in
    /// the range (all time when left out; an empty or reversed range counts nothing). A rate or
    /// median with nothing to count is left out.
    #[oai(path = "/triage/metrics", method = "get", operation_id = "triage_metrics")]
    async fn metrics(
        &self,
        state: Data<&AppState>,
        StaffAuth(staff): StaffAuth,
        /// City admins: one unit (`Unit.id`), or the whole city when left out; clerks always get
        /// their own (another unit is a 404).
        #[oai(validator(max_length = 64))]
        office_id: Query<Option<String>>,
        /// Filed at or after (RFC 3339).
        from: Query<Option<DateTime<Utc>>>,
        /// Filed before (RFC 3339).
        to: Query<Option<DateTime<Utc>>>,
    ) -> ApiResult<Json<MetricsView>, (SignedAs, InvalidParameter, InvalidInput, NotFound)> {
        let range = filed(from.0, to.0);
        let (office_id, r) = service::metrics(&state.reports(), &staff, office_id.0, range).await?;
        Ok(Json(MetricsView {
            office_id,
            from: from.0,
            to: to.0,
            reports: r.reports,
            responded_in_time: r.responded_in_time,
            resolved: r.resolved,
            rated: r.rated,
            satisfied: r.satisfied,
            response_rate: r.response_rate,
            resolution_rate: r.resolution_rate,
            satisfaction_rate: r.satisfaction_rate,
            median_response_secs: r.median_response_secs,
            median_resolution_secs: r.median_resolution_secs,
        }))
    }

    /// Export my unit's reports with their deadlines and times as CSV (admins: any unit or the city)
    ///
    /// One row per report filed in the range, oldest first, times in the city's time zone; for
    /// spreadsheets and the monthly review. An empty or reversed range is a header alone.
    #[oai(path = "/triage/reports.csv", method = "get", operation_id = "triage_export_csv")]
    async fn export(
        &self,
        state: Data<&AppState>,
        StaffAuth(staff): StaffAuth,
        /// City admins: one unit (`Unit.id`), or the whole city when left out; clerks always get
        /// their own (another unit is a 404).
        #[oai(validator(max_length = 64))]
        office_id: Query<Option<String>>,
        /// Filed at or after (RFC 3339).
        from: Query<Option<DateTime<Utc>>>,
        /// Filed before (RFC 3339).
        to: Query<Option<DateTime<Utc>>>,
    ) -> ApiResult<CsvReply, (SignedAs, InvalidParameter, InvalidInput, NotFound)> {
        let csv = service::export_csv(&state.reports(), &staff, office_id.0, filed(from.0, to.0)).await?;
        Ok(CsvReply::Csv(PlainText(csv), "attachment; filename=\"reports.csv\"".to_string()))
    }
}

//! Triage, the unit's side of tap to report: a clerk's queue (only their own unit's reports;
//! another unit's report is a 404), the lifecycle actions, assignment, public replies and internal
//! notes, and the three rates with a CSV export. City admins reach every unit.

use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::{Json, PlainText};
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};

use super::ApiTags;
use super::error::codes::*;
use super::error::{ApiResult, Body, Paged, SignedAs};
use super::paging::{Page, PageRequest, encode_cursor};
use super::reports::{ActorDto, CategoryDto, EventKindDto, ReportStatusDto, ReportSummary, RouteReasonDto, UnitRef};
use super::security::StaffAuth;
use crate::domain::DomainError;
use crate::domain::geo::CoordSystem;
use crate::domain::report::{Action, Note, Notes, TransferTarget};
use crate::domain::sla::NO_DEADLINE;
use crate::domain::time::Millis;
use crate::service::reports::Entry;
use crate::service::triage::{self as service, FiledRange, QueueFilter, StaffReport, TriageView};
use crate::state::AppState;

/// A report in a unit's queue.
#[derive(Debug, Object)]
pub struct TriageSummary {
    #[oai(flatten)]
    pub report: ReportSummary,
    pub route_reason: RouteReasonDto,
    /// The deadline that falls first among those still to meet; null once none is left.
    pub next_deadline: Option<DateTime<Utc>>,
    pub overdue: bool,
    pub responded_at: Option<DateTime<Utc>>,
    pub assignee_id: Option<String>,
    pub duplicate_of: Option<String>,
    /// The reporter's display name; null when they filed anonymously.
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
pub struct StaffEntry {
    pub at: DateTime<Utc>,
    pub kind: EventKindDto,
    pub status: ReportStatusDto,
    pub actor_role: ActorDto,
    /// The acting staff account. Null when a rider acted (the reporter or a "me too"): riders
    /// appear by role only, so an anonymous report cannot be tied to its reporter. Null for the
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

#[derive(Debug, Object)]
pub struct TriageDetail {
    #[oai(flatten)]
    pub report: TriageSummary,
    pub timeline: Vec<StaffEntry>,
}

impl TriageDetail {
    fn of(d: StaffReport) -> Json<Self> {
        Json(TriageDetail {
            report: TriageSummary::of(d.report),
            timeline: d.timeline.into_iter().map(StaffEntry::from).collect(),
        })
    }
}

/// A lifecycle action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum ActionKind {
    Accept,
    Start,
    Resolve,
    /// Needs `reason` (shown to the reporter).
    Reject,
    /// Needs `duplicate_of`, a report of the same unit; followers move to it.
    MarkDuplicate,
    /// Needs `reason`; goes to `to_office_id`, or wherever routing sends it next without this unit.
    Transfer,
}

#[derive(Debug, Object)]
pub struct ActionRequest {
    pub action: ActionKind,
    #[oai(validator(max_length = 500))]
    pub reason: Option<String>,
    #[oai(validator(max_length = 64))]
    pub duplicate_of: Option<String>,
    #[oai(validator(max_length = 64))]
    pub to_office_id: Option<String>,
    /// Shown to riders following the report.
    #[oai(validator(max_length = 500))]
    pub public_note: Option<String>,
    /// Staff only.
    #[oai(validator(max_length = 500))]
    pub internal_note: Option<String>,
}

impl ActionRequest {
    fn parse(&self) -> Result<(Action, Notes), DomainError> {
        let reason = || Note::required("reason", self.reason.as_deref());
        let action = match self.action {
            ActionKind::Accept => Action::Accept,
            ActionKind::Start => Action::Start,
            ActionKind::Resolve => Action::Resolve,
            ActionKind::Reject => Action::Reject { reason: reason()? },
            ActionKind::MarkDuplicate => Action::MarkDuplicate {
                target: self
                    .duplicate_of
                    .clone()
                    .filter(|t| !t.is_empty())
                    .ok_or_else(|| DomainError::invalid("duplicate_of", "required"))?,
            },
            ActionKind::Transfer => Action::Transfer {
                to: self
                    .to_office_id
                    .clone()
                    .filter(|t| !t.is_empty())
                    .map_or(TransferTarget::Reroute, TransferTarget::Unit),
                reason: reason()?,
            },
        };
        Ok((action, Notes::parse(self.public_note.as_deref(), self.internal_note.as_deref())?))
    }
}

#[derive(Debug, Object)]
pub struct NoteRequest {
    /// A public reply: riders following the report see it, and it counts as the unit's response.
    #[oai(validator(max_length = 500))]
    pub public_note: Option<String>,
    /// An internal note, staff only.
    #[oai(validator(max_length = 500))]
    pub internal_note: Option<String>,
}

#[derive(Debug, Object)]
pub struct AssignRequest {
    /// A clerk of the report's unit.
    #[oai(validator(min_length = 1, max_length = 64))]
    pub assignee_id: String,
}

/// The three rates and median times of a unit (or the city) over reports filed in a range.
/// Definitions: see `domain::sla::Rates` — response rate = responded no later than the response
/// deadline ÷ all; resolution rate = resolved or closed ÷ all; satisfaction rate = rated 4 or 5 ÷
/// rated; medians from routing to first response and to resolution. Null when undefined.
#[derive(Debug, Object)]
pub struct MetricsView {
    /// The unit, or null for the whole city.
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

fn parse_queue_cursor(after: Option<String>) -> Result<Option<(Millis, String)>, DomainError> {
    after
        .map(|c| {
            let (deadline, id) =
                c.split_once('|').ok_or_else(|| DomainError::invalid("cursor", "not a cursor this API gave out"))?;
            let deadline = deadline
                .parse::<i64>()
                .map_err(|_| DomainError::invalid("cursor", "not a cursor this API gave out"))?;
            Ok((Millis(deadline), id.to_string()))
        })
        .transpose()
}

#[derive(Default)]
pub struct TriageApi;

#[OpenApi(tag = "ApiTags::Triage")]
impl TriageApi {
    /// My unit's queue, the deadline that falls first first (clerks; admins any unit)
    #[oai(path = "/triage/reports", method = "get", operation_id = "triage_queue")]
    #[allow(clippy::too_many_arguments)]
    async fn queue(
        &self,
        state: Data<&AppState>,
        StaffAuth(staff): StaffAuth,
        status: Query<Option<ReportStatusDto>>,
        category: Query<Option<CategoryDto>>,
        /// Only reports whose next deadline has passed.
        overdue: Query<Option<bool>>,
        /// Filed at or after (RFC 3339).
        from: Query<Option<DateTime<Utc>>>,
        /// Filed before (RFC 3339).
        to: Query<Option<DateTime<Utc>>>,
        /// City admins: one unit (clerks always see their own).
        #[oai(validator(max_length = 64))]
        office_id: Query<Option<String>>,
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))] limit: Query<Option<u32>>,
        #[oai(validator(max_length = 200))] cursor: Query<Option<String>>,
    ) -> ApiResult<Json<Page<TriageSummary>>, (SignedAs, Paged, NotFound)> {
        let filter = QueueFilter {
            office_id: office_id.0,
            status: status.0.map(Into::into),
            category: category.0.map(Into::into),
            overdue: overdue.0.unwrap_or(false),
            filed: filed(from.0, to.0),
        };
        let page = PageRequest::parse(limit.0, cursor.0)?;
        let after = parse_queue_cursor(page.after.clone())?;
        let views = service::queue(&state.reports(), &staff, filter, after, page.fetch_limit(), Millis::now()).await?;
        let more = views.len() > page.limit as usize;
        let (views, _) = page.finish(views, |v| v.report.report.id.clone());
        let next_cursor = views.last().filter(|_| more).map(|v| {
            let r = &v.report.report;
            encode_cursor(&format!("{}|{}", r.facts.next_deadline.0, r.id))
        });
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
        #[oai(validator(max_length = 64))] id: Path<String>,
    ) -> ApiResult<Json<TriageDetail>, (SignedAs, InvalidParameter, NotFound)> {
        Ok(TriageDetail::of(service::staff_view(&state.reports(), &staff, &id.0, Millis::now()).await?))
    }

    /// Accept, start, resolve, reject, mark duplicate or transfer a report (illegal → 409)
    #[oai(path = "/triage/reports/:id/actions", method = "post", operation_id = "triage_act")]
    async fn act(
        &self,
        state: Data<&AppState>,
        StaffAuth(staff): StaffAuth,
        #[oai(validator(max_length = 64))] id: Path<String>,
        body: Json<ActionRequest>,
    ) -> ApiResult<
        Json<TriageDetail>,
        (SignedAs, InvalidParameter, Body, InvalidInput, NotFound, IllegalTransition, ConcurrentUpdate, NoUnit),
    > {
        let (action, notes) = body.parse()?;
        Ok(TriageDetail::of(service::act(&state.reports(), &staff, &id.0, action, notes, Millis::now()).await?))
    }

    /// Reply publicly and/or add an internal note
    #[oai(path = "/triage/reports/:id/notes", method = "post", operation_id = "triage_note")]
    async fn note(
        &self,
        state: Data<&AppState>,
        StaffAuth(staff): StaffAuth,
        #[oai(validator(max_length = 64))] id: Path<String>,
        body: Json<NoteRequest>,
    ) -> ApiResult<Json<TriageDetail>, (SignedAs, InvalidParameter, Body, InvalidInput, NotFound, ConcurrentUpdate)>
    {
        let notes = Notes::parse(body.public_note.as_deref(), body.internal_note.as_deref())?;
        Ok(TriageDetail::of(service::annotate(&state.reports(), &staff, &id.0, notes, Millis::now()).await?))
    }

    /// Assign a report to a clerk of its unit
    #[oai(path = "/triage/reports/:id/assign", method = "post", operation_id = "triage_assign")]
    async fn assign(
        &self,
        state: Data<&AppState>,
        StaffAuth(staff): StaffAuth,
        #[oai(validator(max_length = 64))] id: Path<String>,
        body: Json<AssignRequest>,
    ) -> ApiResult<Json<TriageDetail>, (SignedAs, InvalidParameter, Body, InvalidInput, NotFound, ConcurrentUpdate)>
    {
        let report = service::assign(&state.reports(), &staff, &id.0, &body.assignee_id, Millis::now()).await?;
        Ok(TriageDetail::of(report))
    }

    /// The three rates and median times of my unit (admins: any unit or the city)
    #[oai(path = "/triage/metrics", method = "get", operation_id = "triage_metrics")]
    async fn metrics(
        &self,
        state: Data<&AppState>,
        StaffAuth(staff): StaffAuth,
        #[oai(validator(max_length = 64))] office_id: Query<Option<String>>,
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
    #[oai(path = "/triage/reports.csv", method = "get", operation_id = "triage_export_csv")]
    async fn export(
        &self,
        state: Data<&AppState>,
        StaffAuth(staff): StaffAuth,
        #[oai(validator(max_length = 64))] office_id: Query<Option<String>>,
        /// Filed at or after (RFC 3339).
        from: Query<Option<DateTime<Utc>>>,
        /// Filed before (RFC 3339).
        to: Query<Option<DateTime<Utc>>>,
    ) -> ApiResult<CsvReply, (SignedAs, InvalidParameter, InvalidInput, NotFound)> {
        let csv = service::export_csv(&state.reports(), &staff, office_id.0, filed(from.0, to.0)).await?;
        Ok(CsvReply::Csv(PlainText(csv), "attachment; filename=\"reports.csv\"".to_string()))
    }
}

//! Triage, the unit's side of tap to report: a clerk's queue (only their own unit's reports;
//! another unit's report is a 404), the lifecycle actions, assignment, public replies and internal
//! notes, and the three rates with a CSV export. City admins reach every unit.

use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::{Json, PlainText};
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};

use super::ApiTags;
use super::error::ApiResult;
use super::paging::{PageRequest, encode_cursor};
use super::reports::{CategoryDto, ReportStatusDto, ReportSummary, RouteReasonDto, UnitNames, UnitRef, summary};
use super::security::BearerAuth;
use crate::domain::geo::CoordSystem;
use crate::domain::identity::Caller;
use crate::domain::report::{Action, Note, TransferTarget};
use crate::domain::sla::{NO_DEADLINE, Rates, SlaFacts, is_overdue};
use crate::domain::time::Millis;
use crate::domain::{DomainError, DomainResult};
use crate::service::reports::{self as service, Notes};
use crate::state::AppState;
use crate::store::audit::AuditEntry;
use crate::store::reports::{ReportFilter, ReportRow};
use crate::store::{self};

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

/// A timeline entry as staff see it: who acted, and internal notes too.
#[derive(Debug, Object)]
pub struct StaffEntry {
    pub at: DateTime<Utc>,
    pub kind: String,
    pub status: ReportStatusDto,
    pub actor_role: String,
    /// The acting account; null for the service itself.
    pub actor_id: Option<String>,
    pub unit: Option<UnitRef>,
    pub public_note: Option<String>,
    /// Never shown to riders.
    pub internal_note: Option<String>,
}

#[derive(Debug, Object)]
pub struct TriageDetail {
    #[oai(flatten)]
    pub report: TriageSummary,
    pub timeline: Vec<StaffEntry>,
}

#[derive(Debug, Object)]
pub struct TriagePage {
    pub items: Vec<TriageSummary>,
    pub next_cursor: Option<String>,
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

fn facts(r: &ReportRow) -> SlaFacts {
    SlaFacts {
        status: r.status,
        routed_at: r.routed_at,
        respond_by: r.deadlines.respond_by,
        responded_at: r.responded_at,
        resolved_at: r.resolved_at,
        rating: r.rating,
    }
}

async fn triage_summary(
    state: &AppState,
    r: &ReportRow,
    units: &UnitNames,
    now: Millis,
) -> DomainResult<TriageSummary> {
    let reporter_name =
        if r.anonymous { None } else { store::accounts::get(&state.db, &r.reporter_id).await?.map(|a| a.display_name) };
    Ok(TriageSummary {
        report: summary(state, r, units, CoordSystem::Gcj02).await?,
        route_reason: r.route_reason.into(),
        next_deadline: (r.next_deadline != NO_DEADLINE).then(|| r.next_deadline.to_utc()),
        overdue: is_overdue(r.next_deadline, now),
        responded_at: r.responded_at.map(Millis::to_utc),
        assignee_id: r.assignee_id.clone(),
        duplicate_of: r.duplicate_of.clone(),
        reporter_name,
    })
}

async fn triage_detail(state: &AppState, r: &ReportRow) -> DomainResult<TriageDetail> {
    let events = store::reports::events(&state.db, &r.id).await?;
    let ids = events.iter().filter_map(|e| e.office_id.clone()).chain([r.office_id.clone()]).collect();
    let units = UnitNames::load(&state.db, &state.city.id, ids).await?;
    let timeline = events
        .into_iter()
        .map(|e| StaffEntry {
            at: e.at.to_utc(),
            kind: e.kind.as_str().to_string(),
            status: e.status.into(),
            actor_role: e.actor_role,
            actor_id: e.actor_id,
            unit: e.office_id.as_deref().map(|id| units.get(id)),
            public_note: e.public_note,
            internal_note: e.internal_note,
        })
        .collect();
    Ok(TriageDetail { report: triage_summary(state, r, &units, Millis::now()).await?, timeline })
}

/// The unit a request reaches: a clerk's own (naming another is a 404), or for a city admin the
/// one named (or the whole city).
fn scope_for(caller: &Caller, requested: Option<String>) -> DomainResult<Option<String>> {
    match (service::staff_scope(caller)?, requested) {
        (Some(own), Some(asked)) if own != asked => Err(DomainError::NotFound("unit")),
        (Some(own), _) => Ok(Some(own)),
        (None, asked) => Ok(asked),
    }
}

/// The reports of the caller's scope (see `scope_for`) filed within `[from, to)`.
fn range_filter(
    state: &AppState,
    caller: &Caller,
    office_id: Option<String>,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) -> DomainResult<ReportFilter> {
    let office_id = scope_for(caller, office_id)?;
    let (from, to) = range(from, to)?;
    Ok(ReportFilter { city_id: state.city.id.clone(), office_id, from, to, ..Default::default() })
}

fn range(from: Option<DateTime<Utc>>, to: Option<DateTime<Utc>>) -> DomainResult<(Option<Millis>, Option<Millis>)> {
    let (from, to) = (from.map(|d| Millis::from_datetime(&d)), to.map(|d| Millis::from_datetime(&d)));
    if let (Some(f), Some(t)) = (from, to)
        && f >= t
    {
        return Err(DomainError::invalid("to", "must be after from"));
    }
    Ok((from, to))
}

fn parse_queue_cursor(after: Option<String>) -> DomainResult<Option<(Millis, String)>> {
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
        auth: BearerAuth,
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
    ) -> ApiResult<Json<TriagePage>> {
        let caller = auth.caller();
        let office_id = scope_for(caller, office_id.0)?;
        let page = PageRequest::parse(limit.0, cursor.0)?;
        let (from, to) = range(from.0, to.0)?;
        let now = Millis::now();
        let filter = ReportFilter {
            city_id: state.city.id.clone(),
            office_id,
            status: status.0.map(Into::into),
            category: category.0.map(Into::into),
            deadline_before: overdue.0.unwrap_or(false).then_some(now),
            from,
            to,
        };
        let rows =
            store::reports::queue(&state.db, &filter, parse_queue_cursor(page.after.clone())?, page.fetch_limit())
                .await?;
        let more = rows.len() > page.limit as usize;
        let (rows, _) = page.finish(rows, |r| r.id.clone());
        let next_cursor =
            rows.last().filter(|_| more).map(|r| encode_cursor(&format!("{}|{}", r.next_deadline.0, r.id)));
        let units =
            UnitNames::load(&state.db, &state.city.id, rows.iter().map(|r| r.office_id.clone()).collect()).await?;
        let mut items = Vec::with_capacity(rows.len());
        for r in &rows {
            items.push(triage_summary(&state, r, &units, now).await?);
        }
        Ok(Json(TriagePage { items, next_cursor }))
    }

    /// One report of my unit with its full timeline, internal notes included
    ///
    /// Shows the reporter's name unless they filed anonymously, so each look is written to the
    /// audit trail (personal information).
    #[oai(path = "/triage/reports/:id", method = "get", operation_id = "triage_get")]
    async fn get(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        #[oai(validator(max_length = 64))] id: Path<String>,
    ) -> ApiResult<Json<TriageDetail>> {
        let mut conn = state.db.pool.acquire().await.map_err(DomainError::from)?;
        let caller = auth.caller();
        let report = service::for_staff(&mut conn, &state.reports(), caller, &id.0).await?;
        drop(conn);
        if !report.anonymous {
            let entry = AuditEntry {
                city_id: &caller.city_id,
                actor_id: Some(&caller.account_id),
                action: "report.view",
                object_kind: "report",
                object_id: &report.id,
                before: None,
                after: None,
            };
            store::audit::record_now(&state.db, entry).await?;
        }
        Ok(Json(triage_detail(&state, &report).await?))
    }

    /// Accept, start, resolve, reject, mark duplicate or transfer a report (illegal → 409)
    #[oai(path = "/triage/reports/:id/actions", method = "post", operation_id = "triage_act")]
    async fn act(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        #[oai(validator(max_length = 64))] id: Path<String>,
        body: Json<ActionRequest>,
    ) -> ApiResult<Json<TriageDetail>> {
        let (action, notes) = body.parse()?;
        let report = service::act(&state.reports(), auth.caller(), &id.0, action, notes, Millis::now()).await?;
        Ok(Json(triage_detail(&state, &report).await?))
    }

    /// Reply publicly and/or add an internal note
    #[oai(path = "/triage/reports/:id/notes", method = "post", operation_id = "triage_note")]
    async fn note(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        #[oai(validator(max_length = 64))] id: Path<String>,
        body: Json<NoteRequest>,
    ) -> ApiResult<Json<TriageDetail>> {
        let notes = Notes::parse(body.public_note.as_deref(), body.internal_note.as_deref())?;
        let report = service::annotate(&state.reports(), auth.caller(), &id.0, notes, Millis::now()).await?;
        Ok(Json(triage_detail(&state, &report).await?))
    }

    /// Assign a report to a clerk of its unit
    #[oai(path = "/triage/reports/:id/assign", method = "post", operation_id = "triage_assign")]
    async fn assign(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        #[oai(validator(max_length = 64))] id: Path<String>,
        body: Json<AssignRequest>,
    ) -> ApiResult<Json<TriageDetail>> {
        let report = service::assign(&state.reports(), auth.caller(), &id.0, &body.assignee_id, Millis::now()).await?;
        Ok(Json(triage_detail(&state, &report).await?))
    }

    /// The three rates and median times of my unit (admins: any unit or the city)
    #[oai(path = "/triage/metrics", method = "get", operation_id = "triage_metrics")]
    async fn metrics(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        #[oai(validator(max_length = 64))] office_id: Query<Option<String>>,
        /// Filed at or after (RFC 3339).
        from: Query<Option<DateTime<Utc>>>,
        /// Filed before (RFC 3339).
        to: Query<Option<DateTime<Utc>>>,
    ) -> ApiResult<Json<MetricsView>> {
        let filter = range_filter(&state, auth.caller(), office_id.0, from.0, to.0)?;
        let rows = store::reports::in_range(&state.db, &filter).await?;
        let r = Rates::of(&rows.iter().map(facts).collect::<Vec<_>>());
        Ok(Json(MetricsView {
            office_id: filter.office_id,
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
        auth: BearerAuth,
        #[oai(validator(max_length = 64))] office_id: Query<Option<String>>,
        /// Filed at or after (RFC 3339).
        from: Query<Option<DateTime<Utc>>>,
        /// Filed before (RFC 3339).
        to: Query<Option<DateTime<Utc>>>,
    ) -> ApiResult<CsvReply> {
        let filter = range_filter(&state, auth.caller(), office_id.0, from.0, to.0)?;
        let rows = store::reports::in_range(&state.db, &filter).await?;
        let units =
            UnitNames::load(&state.db, &state.city.id, rows.iter().map(|r| r.office_id.clone()).collect()).await?;
        let csv = export_csv(&rows, &units, state.city.tz).map_err(DomainError::internal)?;
        Ok(CsvReply::Csv(PlainText(csv), "attachment; filename=\"reports.csv\"".to_string()))
    }
}

/// One row per report: times in the city's zone, durations in seconds from routing.
fn export_csv(rows: &[ReportRow], units: &UnitNames, tz: chrono_tz::Tz) -> Result<String, csv::Error> {
    let time = |m: Option<Millis>| m.map(|m| m.in_zone(tz).to_rfc3339()).unwrap_or_default();
    let num = |n: Option<i64>| n.map(|n| n.to_string()).unwrap_or_default();
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "id",
        "created_at",
        "category",
        "status",
        "unit",
        "route_reason",
        "routed_at",
        "respond_by",
        "responded_at",
        "response_secs",
        "responded_in_time",
        "resolve_by",
        "resolved_at",
        "resolution_secs",
        "rating",
    ])?;
    for r in rows {
        let f = facts(r);
        w.write_record([
            r.id.clone(),
            time(Some(r.created_at)),
            r.category.as_str().to_string(),
            r.status.as_str().to_string(),
            units.get(&r.office_id).name,
            r.route_reason.as_str().to_string(),
            time(Some(r.routed_at)),
            time(Some(r.deadlines.respond_by)),
            time(r.responded_at),
            num(f.response_secs()),
            f.responded_in_time().to_string(),
            time(Some(r.deadlines.resolve_by)),
            time(r.resolved_at),
            num(f.resolution_secs()),
            r.rating.map(|s| s.to_string()).unwrap_or_default(),
        ])?;
    }
    let bytes = w.into_inner().map_err(|e| e.into_error())?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

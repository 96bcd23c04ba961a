//! Triage, the unit's side of tap to report: a clerk's queue (only their own unit's reports;
//! another unit's report is a 404), the detail with its full timeline, the lifecycle actions,
//! assignment, public replies and internal notes, and the three rates with a CSV export. City
//! admins reach every unit; station managers none.

use chrono_tz::Tz;

use super::reports::{
    Entry, ReportView, ReportsContext, Units, commit_alone, commit_step, tell_followers, views, with_timeline,
};
use crate::domain::identity::{Account, Role, Staff};
use crate::domain::points::{PaidReason, PointObject};
use crate::domain::report::{Action, Actor, Category, Notes, ReportStatus, Step, TransferTarget, transition};
use crate::domain::routing::{RouteDecision, RouteReason, Unit};
use crate::domain::sla::{Rates, SlaFacts, is_overdue};
use crate::domain::time::Millis;
use crate::domain::{DomainError, DomainResult};
use crate::service::units;
use crate::service::webhooks::{self, ReportEvent};
use crate::store::audit::AuditEntry;
use crate::store::content::CheckRow;
use crate::store::reports::{ReportFilter, ReportRow};
use crate::store::{self};

/// The unit whose reports a staff member works: a clerk's own (`None` for a city admin, who
/// reaches every unit). Other roles may not triage.
pub fn staff_scope(staff: &Staff) -> DomainResult<Option<String>> {
    match staff.role {
        Role::Clerk => staff.office_id.clone().map(Some).ok_or(DomainError::Forbidden("clerk without an office")),
        Role::CityAdmin => Ok(None),
        _ => Err(DomainError::Forbidden("role")),
    }
}

/// The unit a request reaches: a clerk's own (naming another is a 404), or for a city admin the
/// one named (or the whole city).
fn scope_for(staff: &Staff, requested: Option<String>) -> DomainResult<Option<String>> {
    match (staff_scope(staff)?, requested) {
        (Some(own), Some(asked)) if own != asked => Err(DomainError::NotFound("unit")),
        (Some(own), _) => Ok(Some(own)),
        (None, asked) => Ok(asked),
    }
}

/// A report as staff may reach it: a clerk only their own unit's; another unit's is a 404.
async fn for_staff(ctx: &ReportsContext, staff: &Staff, id: &str) -> DomainResult<ReportRow> {
    let scope = staff_scope(staff)?;
    let mut conn = ctx.db.pool.acquire().await?;
    let report = store::reports::get(&mut conn, &ctx.city.id, id).await?.ok_or(DomainError::NotFound("report"))?;
    match scope {
        Some(office) if office != report.office_id => Err(DomainError::NotFound("report")),
        _ => Ok(report),
    }
}

/// Filed at or after `from`, before `to`; empty when `to` is not after `from`.
#[derive(Debug, Clone, Copy, Default)]
pub struct FiledRange {
    pub from: Option<Millis>,
    pub to: Option<Millis>,
}

/// A report as its unit sees it in the queue.
#[derive(Debug, Clone)]
pub struct TriageView {
    pub report: ReportView,
    /// A deadline still to be met has passed.
    pub overdue: bool,
    /// The reporter's display name; none when they filed anonymously.
    pub reporter_name: Option<String>,
}

/// A report with its full timeline, internal notes included, and where WeChat's content checks
/// of its description, rating comment and photos stand.
#[derive(Debug, Clone)]
pub struct StaffReport {
    pub report: TriageView,
    pub timeline: Vec<Entry>,
    pub content_checks: Vec<CheckRow>,
}

/// What the queue shows.
#[derive(Debug, Clone, Default)]
pub struct QueueFilter {
    /// City admins: one unit (clerks always see their own).
    pub office_id: Option<String>,
    pub status: Option<ReportStatus>,
    pub category: Option<Category>,
    /// Only reports whose next deadline has passed.
    pub overdue: bool,
    pub filed: FiledRange,
}

/// A page of the caller's queue, the deadline that falls first first: at most `limit` reports
/// after `after` (a next deadline and an id). Four statements whatever the limit: the reports,
/// their photos, their units, their reporters' names.
pub async fn queue(
    ctx: &ReportsContext,
    staff: &Staff,
    filter: QueueFilter,
    after: Option<(Millis, String)>,
    limit: u32,
    now: Millis,
) -> DomainResult<Vec<TriageView>> {
    let office_id = scope_for(staff, filter.office_id)?;
    let filed = filter.filed;
    let filter = ReportFilter {
        city_id: ctx.city.id.clone(),
        office_id,
        status: filter.status,
        category: filter.category,
        deadline_before: filter.overdue.then_some(now),
        from: filed.from,
        to: filed.to,
    };
    let rows = store::reports::queue(&ctx.db, &filter, after, limit).await?;
    let units = Units::load(&ctx.db, &ctx.city.id, rows.iter().map(|r| r.office_id.as_str())).await?;
    let mut named: Vec<String> = rows.iter().filter(|r| !r.anonymous).map(|r| r.reporter_id.clone()).collect();
    named.sort();
    named.dedup();
    let names = store::accounts::display_names(&ctx.db, &named).await?;
    let views = views(ctx, rows, &units).await?;
    Ok(views
        .into_iter()
        .map(|view| {
            let reporter_name = if view.report.anonymous { None } else { names.get(&view.report.reporter_id).cloned() };
            TriageView { overdue: is_overdue(view.report.facts.next_deadline, now), reporter_name, report: view }
        })
        .collect())
}

async fn staff_report(ctx: &ReportsContext, report: ReportRow, now: Millis) -> DomainResult<StaffReport> {
    // Riders appear on the timeline by role only: their account ids would tie an anonymous
    // report to the same rider's named ones.
    let events = store::reports::events(&ctx.db, &report.id)
        .await?
        .into_iter()
        .map(|mut e| {
            if !e.actor_role.account_shown_to_staff() {
                e.actor_id = None;
            }
            e
        })
        .collect();
    let reporter_name = if report.anonymous {
        None
    } else {
        let ids = [report.reporter_id.clone()];
        store::accounts::display_names(&ctx.db, &ids).await?.remove(&report.reporter_id)
    };
    let (view, timeline) = with_timeline(ctx, report, events).await?;
    let media_ids: Vec<String> = view.photos.iter().map(|p| p.id.clone()).collect();
    let content_checks = crate::service::content::checks_of(&ctx.db, &view.report.id, &media_ids).await?;
    let overdue = is_overdue(view.report.facts.next_deadline, now);
    Ok(StaffReport { report: TriageView { report: view, overdue, reporter_name }, timeline, content_checks })
}

/// One report of the caller's unit with its full timeline. It names the reporter unless they
/// filed anonymously, so each such look is written to the audit trail (personal information).
pub async fn staff_view(ctx: &ReportsContext, staff: &Staff, id: &str, now: Millis) -> DomainResult<StaffReport> {
    let report = for_staff(ctx, staff, id).await?;
    if !report.anonymous {
        let entry = AuditEntry {
            city_id: &staff.city_id,
            actor_id: Some(&staff.account_id),
            action: "report.view",
            object_kind: "report",
            object_id: &report.id,
            before: None,
            after: None,
        };
        store::audit::record_now(&ctx.db, entry).await?;
    }
    staff_report(ctx, report, now).await
}

/// A staff action on a report's status: accept, start, resolve, reject, mark duplicate, transfer.
/// Followers are told in the same transaction.
/// `photos` (only with a resolve: the acting staff member's own uploads, `POST /media`) are
/// attached to the report in the step's transaction: the work done, shown beside the reporter's.
pub async fn act(
    ctx: &ReportsContext,
    staff: &Staff,
    id: &str,
    action: Action,
    notes: Notes,
    photos: &[String],
    now: Millis,
) -> DomainResult<StaffReport> {
    // Everything is read and checked first; the write transaction then saves only if the report
    // has not changed since (its version), so it holds the write lock briefly.
    let mut report = for_staff(ctx, staff, id).await?;
    let category = units::category_settings(&ctx.db, &ctx.city.id, report.category).await?;
    let step = Step::Act { action: &action, notes: &notes, category: &category };
    let t = transition(&report.facts, step, Actor::Staff, now)?;
    if !photos.is_empty() {
        if !matches!(action, Action::Resolve) {
            return Err(DomainError::invalid("media_ids", "photos go with a resolve only"));
        }
        let owned = store::media::find_owned(&ctx.db, &staff.account_id, photos).await?;
        if let Some(missing) = photos.iter().find(|id| !owned.iter().any(|m| &m.id == *id)) {
            return Err(DomainError::invalid("media_ids", format!("`{missing}` is not a photo you uploaded")));
        }
    }
    let routed_from = report.office_id.clone();
    match &action {
        Action::MarkDuplicate { target } => {
            let original = for_staff(ctx, staff, target)
                .await
                .map_err(|_| DomainError::invalid("duplicate_of", "no such report in your unit"))?;
            if original.id == report.id {
                return Err(DomainError::invalid("duplicate_of", "a report cannot duplicate itself"));
            }
        }
        Action::Transfer { to, .. } => {
            let route = destination(ctx, &report, to).await?;
            report.office_id = route.office_id;
            report.route_reason = route.reason;
        }
        _ => {}
    }
    let note_for_riders = t.public_note.as_ref().map(|n| n.as_str().to_string()).unwrap_or_default();
    let mut tx = ctx.db.begin_write().await?;
    if let (Some(original), ReportStatus::Duplicate) = (&t.facts.duplicate_of, t.facts.status) {
        // Whoever followed the copy follows the original now.
        store::reports::copy_followers(&mut tx, &report.id, original, now).await?;
    }
    commit_step(&mut tx, &mut report, t, Actor::Staff, Some(&staff.account_id), now).await?;
    store::reports::attach_media(&mut tx, &report.id, photos, &staff.account_id, now).await?;
    pay_for(&mut tx, ctx, &report, &action, &staff.account_id, now).await?;
    tell_followers(&mut tx, ctx, &report, &category, &note_for_riders, None, now).await?;
    if let Action::Transfer { reason, .. } = &action {
        let event = ReportEvent::TransferredIn { from_office_id: &routed_from, reason: reason.as_str() };
        webhooks::queue_report_event(&mut tx, &report, event, now).await?;
    }
    tx.commit().await?;
    staff_report(ctx, report, now).await
}

/// What a step pays in points, or takes back, in the step's transaction: an accepted report pays
/// its reporter and its first "me too", a resolved one its reporter; a report rejected or marked
/// a duplicate gives back what it paid.
async fn pay_for(
    conn: &mut sqlx::AnyConnection,
    ctx: &ReportsContext,
    report: &ReportRow,
    action: &Action,
    clerk_id: &str,
    now: Millis,
) -> DomainResult<()> {
    let why = match action {
        Action::Accept => return ctx.ledger.report_accepted(conn, report, clerk_id, now).await.map(drop),
        Action::Resolve => return ctx.ledger.report_resolved(conn, report, clerk_id, now).await.map(drop),
        Action::Reject { .. } => PaidReason::ReportRejected,
        Action::MarkDuplicate { .. } => PaidReason::ReportDuplicate,
        _ => return Ok(()),
    };
    let clerk = (Some(clerk_id), "staff");
    ctx.ledger.reverse(conn, PointObject::Report, &report.id, why, clerk, now).await.map(drop)
}

/// The unit a transfer sends the report to: the one named (which must exist and not be the
/// report's own), or wherever routing sends it without its current unit.
async fn destination(ctx: &ReportsContext, report: &ReportRow, to: &TransferTarget) -> DomainResult<RouteDecision> {
    match to {
        TransferTarget::Unit(office_id) => {
            units::unit(&ctx.db, &ctx.city.id, office_id)
                .await
                .map_err(|_| DomainError::invalid("to_office_id", "no such unit"))?;
            if *office_id == report.office_id {
                return Err(DomainError::invalid("to_office_id", "the report is already with this unit"));
            }
            Ok(RouteDecision { office_id: office_id.clone(), reason: RouteReason::Transfer })
        }
        TransferTarget::Reroute => {
            ctx.routing.current().route(report.location, report.category, &[report.office_id.as_str()])
        }
    }
}

/// A public reply from the unit (counts as its response) and/or an internal note (staff only).
pub async fn annotate(
    ctx: &ReportsContext,
    staff: &Staff,
    id: &str,
    notes: Notes,
    now: Millis,
) -> DomainResult<StaffReport> {
    let mut report = for_staff(ctx, staff, id).await?;
    let t = transition(&report.facts, Step::Annotate(&notes), Actor::Staff, now)?;
    commit_alone(&ctx.db, &mut report, t, Actor::Staff, Some(&staff.account_id), now).await?;
    staff_report(ctx, report, now).await
}

/// Assigns a report to an active clerk of its unit.
pub async fn assign(
    ctx: &ReportsContext,
    staff: &Staff,
    id: &str,
    assignee_id: &str,
    now: Millis,
) -> DomainResult<StaffReport> {
    let mut report = for_staff(ctx, staff, id).await?;
    if !store::reports::is_clerk_of(&ctx.db, assignee_id, &report.office_id).await? {
        return Err(DomainError::invalid("assignee_id", "not an active clerk of this report's unit"));
    }
    let t = transition(&report.facts, Step::Assign { assignee_id }, Actor::Staff, now)?;
    commit_alone(&ctx.db, &mut report, t, Actor::Staff, Some(&staff.account_id), now).await?;
    staff_report(ctx, report, now).await
}

/// A unit as its own staff see it: its name and kind, and its jurisdiction (GCJ-02 GeoJSON) if it
/// has one.
#[derive(Debug, Clone)]
pub struct OwnUnit {
    pub unit: Unit,
    pub jurisdiction: Option<serde_json::Value>,
}

/// The caller's own unit with its outline, for the small map of a report (a clerk: their own,
/// naming another is a 404; a city admin: the one named, which they must name).
pub async fn own_unit(ctx: &ReportsContext, staff: &Staff, office_id: Option<String>) -> DomainResult<OwnUnit> {
    let office_id = scope_for(staff, office_id)?.ok_or(DomainError::NotFound("unit"))?;
    let unit = units::unit(&ctx.db, &ctx.city.id, &office_id).await?;
    let jurisdiction = match store::jurisdictions::get(&ctx.db, &ctx.city.id, &office_id).await? {
        Some(text) => Some(serde_json::from_str(&text).map_err(DomainError::internal)?),
        None => None,
    };
    Ok(OwnUnit { unit, jurisdiction })
}

/// Every unit of the city, by id (a city has a few dozen): where a report may be transferred.
pub async fn units_to_transfer_to(ctx: &ReportsContext, staff: &Staff) -> DomainResult<Vec<Unit>> {
    staff_scope(staff)?;
    store::units::list(&ctx.db, &ctx.city.id, None, MAX_UNITS).await
}

/// The most units `units_to_transfer_to` lists.
pub const MAX_UNITS: u32 = 1000;

/// The active clerks of the caller's unit (a city admin: of the unit named), whom a report may be
/// assigned to.
pub async fn colleagues(ctx: &ReportsContext, staff: &Staff, office_id: Option<String>) -> DomainResult<Vec<Account>> {
    let office_id = scope_for(staff, office_id)?.ok_or(DomainError::NotFound("unit"))?;
    units::unit(&ctx.db, &ctx.city.id, &office_id).await?;
    store::accounts::clerks_of(&ctx.db, &ctx.city.id, &office_id).await
}

/// The reports of the caller's scope filed in a range: a unit (a clerk's own, or the one an
/// admin names) or, for an admin naming none, the whole city.
async fn in_scope(
    ctx: &ReportsContext,
    staff: &Staff,
    office_id: Option<String>,
    filed: FiledRange,
) -> DomainResult<(Option<String>, Vec<ReportRow>)> {
    let office_id = scope_for(staff, office_id)?;
    let filter = ReportFilter {
        city_id: ctx.city.id.clone(),
        office_id: office_id.clone(),
        from: filed.from,
        to: filed.to,
        ..Default::default()
    };
    Ok((office_id, store::reports::in_range(&ctx.db, &filter).await?))
}

/// The three rates and median times of the caller's scope over reports filed in a range, with
/// the unit they cover (none for the whole city).
pub async fn metrics(
    ctx: &ReportsContext,
    staff: &Staff,
    office_id: Option<String>,
    filed: FiledRange,
) -> DomainResult<(Option<String>, Rates)> {
    let (office_id, rows) = in_scope(ctx, staff, office_id, filed).await?;
    let facts: Vec<SlaFacts> = rows.iter().map(|r| SlaFacts::from(&r.facts)).collect();
    Ok((office_id, Rates::of(&facts)))
}

/// The caller's scope's reports filed in a range as CSV, one row each: times in the city's zone,
/// durations in seconds from routing.
pub async fn export_csv(
    ctx: &ReportsContext,
    staff: &Staff,
    office_id: Option<String>,
    filed: FiledRange,
) -> DomainResult<String> {
    let (_, rows) = in_scope(ctx, staff, office_id, filed).await?;
    let units = Units::load(&ctx.db, &ctx.city.id, rows.iter().map(|r| r.office_id.as_str())).await?;
    write_csv(&rows, &units, ctx.city.tz).map_err(DomainError::internal)
}

fn write_csv(rows: &[ReportRow], units: &Units, tz: Tz) -> Result<String, csv::Error> {
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
        let f = &r.facts;
        let sla = SlaFacts::from(f);
        w.write_record([
            r.id.clone(),
            time(Some(r.created_at)),
            r.category.as_str().to_string(),
            f.status.as_str().to_string(),
            units.get(&r.office_id).name,
            r.route_reason.as_str().to_string(),
            time(Some(f.routed_at)),
            time(Some(f.deadlines.respond_by)),
            time(f.responded_at),
            num(sla.response_secs()),
            sla.responded_in_time().to_string(),
            time(Some(f.deadlines.resolve_by)),
            time(f.resolved_at),
            num(sla.resolution_secs()),
            f.rating.map(|s| s.to_string()).unwrap_or_default(),
        ])?;
    }
    let bytes = w.into_inner().map_err(|e| e.into_error())?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

//! Tap to report: submitting (with idempotency, "me too" merging and the rate limit), working a
//! report through its lifecycle, and what riders and clerks may see. Every write that matters (the
//! report, its timeline entry, the idempotency record) commits in one transaction before the
//! caller hears back.

use std::sync::Arc;

use sha2::{Digest, Sha256};
use sqlx::AnyConnection;

use crate::domain::city::City;
use crate::domain::geo::Gcj02;
use crate::domain::identity::{Caller, Role};
use crate::domain::notify::{ReportProgress, status_phrase};
use crate::domain::report::{
    Action, Actor, Category, EventKind, LifecycleFacts, Note, ReportStatus, TransferTarget, auto_close_due, next_status,
};
use crate::domain::routing::{Bbox, RouteDecision, RouteReason};
use crate::domain::sla::Deadlines;
use crate::domain::throttle::SubmissionLimit;
use crate::domain::time::Millis;
use crate::domain::{DomainError, DomainResult};
use crate::service::units::{self, RoutingCache};
use crate::store::idempotency::{self, Claim, IdempotencyKey, Recorded};
use crate::store::reports::{EventRow, ReportRow};
use crate::store::{self, Db, new_id};

/// A "me too" joins an open report of the same category within this distance…
pub const ME_TOO_RADIUS_M: f64 = 50.0;
/// …filed within this many seconds.
pub const ME_TOO_WINDOW_SECS: i64 = 24 * 3600;
/// The preview lists open reports of the category within this distance…
pub const PREVIEW_RADIUS_M: f64 = 250.0;
/// …at most this many.
pub const PREVIEW_MAX: usize = 5;
const SUBMIT_SCOPE: &str = "report.submit";

/// What tap to report needs: the database, the city, the routing index and the limits.
#[derive(Clone)]
pub struct ReportsContext {
    pub db: Db,
    pub city: Arc<City>,
    pub routing: Arc<RoutingCache>,
    pub limits: ReportLimits,
    /// The report-progress subscribe message; followers hear nothing without one.
    pub notify_template_id: Option<String>,
}

#[derive(Debug, Clone, Copy)]
pub struct ReportLimits {
    /// New reports and follows a rider may make in an hour.
    pub per_rider_per_hour: u32,
}

/// What a rider files, parsed.
#[derive(Debug, Clone)]
pub struct Submission {
    pub category: Category,
    pub description: String,
    pub location: Gcj02,
    pub media_ids: Vec<String>,
    pub anonymous: bool,
}

impl Submission {
    fn digest(&self) -> String {
        let text = format!(
            "{}|{:.7}|{:.7}|{}|{}|{}",
            self.category,
            self.location.lat(),
            self.location.lng(),
            self.description,
            self.media_ids.join(","),
            self.anonymous
        );
        hex::encode(Sha256::digest(text.as_bytes()))
    }
}

/// Whether a submission made a new report or joined an open one as a "me too".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Created,
    Joined,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Outcome::Created => "created",
            Outcome::Joined => "joined",
        }
    }
}

/// Files a report, or joins the open one it repeats. With an idempotency key, a retry returns the
/// first answer (and the same key with a different request is a 409).
pub async fn submit(
    state: &ReportsContext,
    rider: &Caller,
    sub: Submission,
    idempotency_key: Option<&str>,
    now: Millis,
) -> DomainResult<(Outcome, ReportRow)> {
    let db = &state.db;
    let city_id = &state.city.id;
    let hash = sub.digest();
    let key = idempotency_key.map(|key| IdempotencyKey {
        scope: SUBMIT_SCOPE,
        caller_id: &rider.account_id,
        key,
        request_hash: &hash,
    });
    if let Some(key) = &key {
        let mut conn = db.pool.acquire().await?;
        if let Some(recorded) = idempotency::find(&mut conn, key).await? {
            return replay(&mut conn, city_id, &hash, recorded).await;
        }
    }
    let limit = SubmissionLimit { per_hour: state.limits.per_rider_per_hour };
    let recent = store::reports::submissions_since(db, &rider.account_id, limit.window_start(now)).await?;
    limit.check(&recent, now)?;
    let owned = store::media::find_owned(db, &rider.account_id, &sub.media_ids).await?;
    if let Some(missing) = sub.media_ids.iter().find(|id| !owned.iter().any(|m| &m.id == *id)) {
        return Err(DomainError::invalid("media_ids", format!("`{missing}` is not a photo you uploaded")));
    }
    let settings = units::category_settings(db, city_id, sub.category).await?;
    let route = state.routing.current().route(sub.location, sub.category, &[])?;

    let mut tx = db.begin_write().await?;
    if let Some(key) = &key
        && let Claim::Replay(recorded) = idempotency::claim(&mut tx, key, now).await?
    {
        tx.rollback().await?;
        let mut conn = db.pool.acquire().await?;
        return replay(&mut conn, city_id, &hash, recorded).await;
    }
    let (outcome, report) = match me_too_target(&mut tx, city_id, &sub, now).await? {
        Some(mut target) => {
            if store::reports::add_follower(&mut tx, &target.id, &rider.account_id, now).await? {
                target.priority += 1;
            }
            target.updated_at = now;
            save(&mut tx, &mut target).await?;
            let mut event = EventRow::new(&target, EventKind::MeToo, Some(&rider.account_id), "rider", now);
            event.internal_note = Some(sub.description.clone()).filter(|d| !d.is_empty());
            store::reports::insert_event(&mut tx, city_id, &event).await?;
            store::reports::attach_media(&mut tx, &target.id, &sub.media_ids, &rider.account_id, now).await?;
            (Outcome::Joined, target)
        }
        None => {
            let deadlines = Deadlines::from_routing(now, &settings);
            let report = ReportRow {
                id: new_id(),
                city_id: city_id.clone(),
                reporter_id: rider.account_id.clone(),
                category: sub.category,
                description: sub.description.clone(),
                location: sub.location,
                anonymous: sub.anonymous,
                status: ReportStatus::Submitted,
                office_id: route.office_id,
                route_reason: route.reason,
                assignee_id: None,
                duplicate_of: None,
                priority: 1,
                routed_at: now,
                deadlines,
                next_deadline: deadlines.next(ReportStatus::Submitted, None),
                responded_at: None,
                resolved_at: None,
                closed_at: None,
                rating: None,
                rating_comment: None,
                rated_at: None,
                version: 0,
                created_at: now,
                updated_at: now,
            };
            store::reports::insert(&mut tx, &report).await?;
            let event = EventRow::new(&report, EventKind::Submitted, Some(&rider.account_id), "reporter", now);
            store::reports::insert_event(&mut tx, city_id, &event).await?;
            store::reports::add_follower(&mut tx, &report.id, &rider.account_id, now).await?;
            store::reports::attach_media(&mut tx, &report.id, &sub.media_ids, &rider.account_id, now).await?;
            (Outcome::Created, report)
        }
    };
    if let Some(key) = &key {
        idempotency::complete(&mut tx, key, &report.id, outcome.as_str()).await?;
    }
    tx.commit().await?;
    Ok((outcome, report))
}

async fn replay(
    conn: &mut AnyConnection,
    city_id: &str,
    hash: &str,
    recorded: Recorded,
) -> DomainResult<(Outcome, ReportRow)> {
    if recorded.request_hash != hash {
        return Err(DomainError::conflict(
            "idempotency_key_reused",
            "this Idempotency-Key was used for a different report",
        ));
    }
    let outcome = if recorded.outcome == Outcome::Joined.as_str() { Outcome::Joined } else { Outcome::Created };
    let report =
        store::reports::get(conn, city_id, &recorded.resource_id).await?.ok_or(DomainError::NotFound("report"))?;
    Ok((outcome, report))
}

/// The nearest open report of the same category within 50 m filed in the last 24 hours.
async fn me_too_target(
    conn: &mut AnyConnection,
    city_id: &str,
    sub: &Submission,
    now: Millis,
) -> DomainResult<Option<ReportRow>> {
    let since = now.plus_secs(-ME_TOO_WINDOW_SECS);
    let near = within(conn, city_id, Some(sub.category), sub.location, ME_TOO_RADIUS_M, since).await?;
    Ok(near.into_iter().next().map(|(r, _)| r))
}

/// Open reports within `radius_m` of `center`, nearest first, with their distances.
async fn within(
    conn: &mut AnyConnection,
    city_id: &str,
    category: Option<Category>,
    center: Gcj02,
    radius_m: f64,
    since: Millis,
) -> DomainResult<Vec<(ReportRow, f64)>> {
    let rows = store::reports::open_in_box(conn, city_id, category, Bbox::around(center, radius_m), since).await?;
    let mut near: Vec<(ReportRow, f64)> = rows
        .into_iter()
        .map(|r| {
            let d = r.location.distance_m(center);
            (r, d)
        })
        .filter(|(_, d)| *d <= radius_m)
        .collect();
    near.sort_by(|a, b| a.1.total_cmp(&b.1).then_with(|| a.0.id.cmp(&b.0.id)));
    Ok(near)
}

/// Open reports near a point for the public map, nearest first.
pub async fn nearby(
    state: &ReportsContext,
    center: Gcj02,
    radius_m: f64,
    category: Option<Category>,
    limit: usize,
) -> DomainResult<Vec<(ReportRow, f64)>> {
    let mut conn = state.db.pool.acquire().await?;
    let mut near = within(&mut conn, &state.city.id, category, center, radius_m, Millis(0)).await?;
    near.truncate(limit);
    Ok(near)
}

/// Before submitting: the unit that would receive the report, and open reports of the same
/// category within 250 m the rider could follow instead.
pub async fn preview(
    state: &ReportsContext,
    point: Gcj02,
    category: Category,
) -> DomainResult<(RouteDecision, Vec<(ReportRow, f64)>)> {
    let route = state.routing.current().route(point, category, &[])?;
    let near = nearby(state, point, PREVIEW_RADIUS_M, Some(category), PREVIEW_MAX).await?;
    Ok((route, near))
}

/// A rider follows an open report instead of filing again (a "me too" without a new photo).
pub async fn follow(state: &ReportsContext, rider: &Caller, id: &str, now: Millis) -> DomainResult<ReportRow> {
    let db = &state.db;
    let limit = SubmissionLimit { per_hour: state.limits.per_rider_per_hour };
    let recent = store::reports::submissions_since(db, &rider.account_id, limit.window_start(now)).await?;
    limit.check(&recent, now)?;
    let mut tx = db.begin_write().await?;
    let mut report = store::reports::get(&mut tx, &state.city.id, id).await?.ok_or(DomainError::NotFound("report"))?;
    if !report.status.is_open() {
        return Err(DomainError::conflict("report_not_open", "only an open report can be followed"));
    }
    if store::reports::add_follower(&mut tx, &report.id, &rider.account_id, now).await? {
        report.priority += 1;
        report.updated_at = now;
        save(&mut tx, &mut report).await?;
        let event = EventRow::new(&report, EventKind::MeToo, Some(&rider.account_id), "rider", now);
        store::reports::insert_event(&mut tx, &state.city.id, &event).await?;
    }
    tx.commit().await?;
    Ok(report)
}

async fn save(conn: &mut AnyConnection, report: &mut ReportRow) -> DomainResult<()> {
    if !store::reports::save(conn, report).await? {
        return Err(DomainError::conflict("concurrent_update", "the report changed meanwhile; reload and retry"));
    }
    report.version += 1;
    Ok(())
}

/// A report as a rider may reach it: their own, or one they follow. Anything else is a 404.
pub async fn for_rider(state: &ReportsContext, rider: &Caller, id: &str) -> DomainResult<ReportRow> {
    let mut conn = state.db.pool.acquire().await?;
    let report = store::reports::get(&mut conn, &state.city.id, id).await?.ok_or(DomainError::NotFound("report"))?;
    if report.reporter_id == rider.account_id || store::reports::is_follower(&state.db, id, &rider.account_id).await? {
        Ok(report)
    } else {
        Err(DomainError::NotFound("report"))
    }
}

/// The office whose reports a staff member works: a clerk's own (`None` for a city admin, who
/// reaches every unit). Other roles may not triage.
pub fn staff_scope(caller: &Caller) -> DomainResult<Option<String>> {
    match caller.role {
        Role::Clerk => caller.office_id.clone().map(Some).ok_or(DomainError::Forbidden("clerk without an office")),
        Role::CityAdmin => Ok(None),
        _ => Err(DomainError::Forbidden("role")),
    }
}

/// A report as a clerk may reach it: only their own unit's; another unit's is a 404.
pub async fn for_staff(
    conn: &mut AnyConnection,
    state: &ReportsContext,
    staff: &Caller,
    id: &str,
) -> DomainResult<ReportRow> {
    let scope = staff_scope(staff)?;
    let report = store::reports::get(conn, &state.city.id, id).await?.ok_or(DomainError::NotFound("report"))?;
    match scope {
        Some(office) if office != report.office_id => Err(DomainError::NotFound("report")),
        _ => Ok(report),
    }
}

/// Notes a staff member adds to an action or a reply.
#[derive(Debug, Clone, Default)]
pub struct Notes {
    pub public: Option<Note>,
    pub internal: Option<Note>,
}

impl Notes {
    pub fn parse(public: Option<&str>, internal: Option<&str>) -> DomainResult<Notes> {
        Ok(Notes {
            public: Note::optional("public_note", public)?,
            internal: Note::optional("internal_note", internal)?,
        })
    }
}

/// A staff action on a report's status: accept, start, resolve, reject, mark duplicate, transfer.
pub async fn act(
    state: &ReportsContext,
    staff: &Caller,
    id: &str,
    action: Action,
    notes: Notes,
    now: Millis,
) -> DomainResult<ReportRow> {
    let db = &state.db;
    // Read and check everything first; the write transaction then saves only if the report has
    // not changed since (its version), so it holds the write lock briefly.
    let mut conn = db.pool.acquire().await?;
    let mut report = for_staff(&mut conn, state, staff, id).await?;
    let facts = LifecycleFacts { status: report.status, resolved_at: report.resolved_at };
    let to = next_status(facts, &action, Actor::Staff, now)?;
    let mut public_note = notes.public.map(|n| n.as_str().to_string());
    match &action {
        Action::MarkDuplicate { target } => {
            let original = for_staff(&mut conn, state, staff, target)
                .await
                .map_err(|_| DomainError::invalid("duplicate_of", "no such report in your unit"))?;
            if original.id == report.id {
                return Err(DomainError::invalid("duplicate_of", "a report cannot duplicate itself"));
            }
            report.duplicate_of = Some(original.id.clone());
        }
        Action::Transfer { to: target, reason } => {
            let route = match target {
                TransferTarget::Unit(office_id) => {
                    units::unit(db, &state.city.id, office_id)
                        .await
                        .map_err(|_| DomainError::invalid("to_office_id", "no such unit"))?;
                    if *office_id == report.office_id {
                        return Err(DomainError::invalid("to_office_id", "the report is already with this unit"));
                    }
                    RouteDecision { office_id: office_id.clone(), reason: RouteReason::Transfer }
                }
                TransferTarget::Reroute => {
                    state.routing.current().route(report.location, report.category, &[report.office_id.as_str()])?
                }
            };
            let settings = units::category_settings(db, &state.city.id, report.category).await?;
            report.office_id = route.office_id;
            report.route_reason = route.reason;
            report.routed_at = now;
            report.deadlines = Deadlines::from_routing(now, &settings);
            report.assignee_id = None;
            public_note = Some(reason.as_str().to_string());
        }
        Action::Reject { reason } => public_note = Some(reason.as_str().to_string()),
        _ => {}
    }
    report.status = to;
    if to == ReportStatus::Transferred {
        // The new unit owes its own response.
        report.responded_at = None;
    } else {
        report.responded_at.get_or_insert(now);
    }
    if to == ReportStatus::Resolved {
        report.resolved_at = Some(now);
    }
    drop(conn);
    let mut tx = db.begin_write().await?;
    if let Some(original) = &report.duplicate_of
        && to == ReportStatus::Duplicate
    {
        // Whoever followed the copy follows the original now.
        store::reports::copy_followers(&mut tx, &report.id, original, now).await?;
    }
    let note_for_riders = public_note.clone().unwrap_or_default();
    finish(&mut tx, state, &mut report, EventKind::for_status(to), staff, (public_note, notes.internal), now).await?;
    tell_followers(&mut tx, state, &report, &note_for_riders, now).await?;
    tx.commit().await?;
    Ok(report)
}

/// Queues a subscribe message to everyone following the report, in the transaction that moved it.
async fn tell_followers(
    conn: &mut AnyConnection,
    state: &ReportsContext,
    report: &ReportRow,
    public_note: &str,
    now: Millis,
) -> DomainResult<()> {
    let Some(template_id) = state.notify_template_id.as_deref() else {
        return Ok(());
    };
    let followers = store::reports::followers(conn, &report.id).await?;
    let category = units::category_settings(&state.db, &state.city.id, report.category).await?;
    let progress = ReportProgress {
        report_id: &report.id,
        category: &category.name,
        status: status_phrase(report.status),
        note: public_note,
        at: now.in_zone(state.city.tz),
    };
    crate::service::notify::queue_report_progress(conn, Some(template_id), &state.city.id, &followers, &progress)
        .await?;
    Ok(())
}

/// Saves the report with its next deadline and appends the timeline entry.
async fn finish(
    conn: &mut AnyConnection,
    state: &ReportsContext,
    report: &mut ReportRow,
    kind: EventKind,
    actor: &Caller,
    (public_note, internal_note): (Option<String>, Option<Note>),
    now: Millis,
) -> DomainResult<()> {
    report.next_deadline = report.deadlines.next(report.status, report.responded_at);
    report.updated_at = now;
    save(conn, report).await?;
    let role = if actor.role == Role::Rider { "reporter" } else { "staff" };
    let mut event = EventRow::new(report, kind, Some(&actor.account_id), role, now);
    event.public_note = public_note;
    event.internal_note = internal_note.map(|n| n.as_str().to_string());
    store::reports::insert_event(conn, &state.city.id, &event).await
}

/// A public reply from the unit (counts as its response) or an internal note (staff only).
pub async fn annotate(
    state: &ReportsContext,
    staff: &Caller,
    id: &str,
    notes: Notes,
    now: Millis,
) -> DomainResult<ReportRow> {
    let mut report = for_staff(&mut *state.db.pool.acquire().await?, state, staff, id).await?;
    let kind = match (&notes.public, &notes.internal) {
        (Some(_), _) => {
            report.responded_at.get_or_insert(now);
            EventKind::Reply
        }
        (None, Some(_)) => EventKind::Note,
        (None, None) => return Err(DomainError::invalid("public_note", "a reply or a note is required")),
    };
    let public = notes.public.map(|n| n.as_str().to_string());
    let mut tx = state.db.begin_write().await?;
    finish(&mut tx, state, &mut report, kind, staff, (public, notes.internal), now).await?;
    tx.commit().await?;
    Ok(report)
}

/// Assigns a report to a clerk of its unit.
pub async fn assign(
    state: &ReportsContext,
    staff: &Caller,
    id: &str,
    assignee_id: &str,
    now: Millis,
) -> DomainResult<ReportRow> {
    let mut report = for_staff(&mut *state.db.pool.acquire().await?, state, staff, id).await?;
    if !store::reports::is_clerk_of(&state.db, assignee_id, &report.office_id).await? {
        return Err(DomainError::invalid("assignee_id", "not an active clerk of this report's unit"));
    }
    report.assignee_id = Some(assignee_id.to_string());
    let note = Note::optional("assignee_id", Some(assignee_id))?;
    let mut tx = state.db.begin_write().await?;
    finish(&mut tx, state, &mut report, EventKind::Assigned, staff, (None, note), now).await?;
    tx.commit().await?;
    Ok(report)
}

/// The reporter reopens a resolved report (within 7 days) or confirms it closed.
pub async fn reporter_action(
    state: &ReportsContext,
    rider: &Caller,
    id: &str,
    action: Action,
    now: Millis,
) -> DomainResult<ReportRow> {
    let mut report = for_rider(state, rider, id).await?;
    if report.reporter_id != rider.account_id {
        return Err(DomainError::Forbidden("only the reporter may do this"));
    }
    let facts = LifecycleFacts { status: report.status, resolved_at: report.resolved_at };
    let to = next_status(facts, &action, Actor::Reporter, now)?;
    let public_note = match &action {
        Action::Reopen { reason } => Some(reason.as_str().to_string()),
        _ => None,
    };
    report.status = to;
    if to == ReportStatus::Closed {
        report.closed_at = Some(now);
    }
    let mut tx = state.db.begin_write().await?;
    finish(&mut tx, state, &mut report, EventKind::for_status(to), rider, (public_note, None), now).await?;
    tx.commit().await?;
    Ok(report)
}

/// The reporter rates the outcome once, 1 to 5, when the report is resolved or closed.
pub async fn rate(
    state: &ReportsContext,
    rider: &Caller,
    id: &str,
    score: u8,
    comment: Option<Note>,
    now: Millis,
) -> DomainResult<ReportRow> {
    let mut report = for_rider(state, rider, id).await?;
    if report.reporter_id != rider.account_id {
        return Err(DomainError::Forbidden("only the reporter may rate"));
    }
    if !report.status.is_resolved() {
        return Err(DomainError::conflict("not_resolved", "a report can be rated once it is resolved"));
    }
    if report.rating.is_some() {
        return Err(DomainError::conflict("already_rated", "a report is rated only once"));
    }
    report.rating = Some(score);
    report.rating_comment = comment.as_ref().map(|c| c.as_str().to_string());
    report.rated_at = Some(now);
    let mut tx = state.db.begin_write().await?;
    let public = comment.map(|c| c.as_str().to_string());
    finish(&mut tx, state, &mut report, EventKind::Rated, rider, (public, None), now).await?;
    tx.commit().await?;
    Ok(report)
}

/// Closes every report resolved 7 days ago or more and not reopened; returns how many.
pub async fn close_due(db: &Db, now: Millis) -> DomainResult<usize> {
    let mut closed = 0;
    let cutoff = now.plus_secs(-crate::domain::report::RESOLVED_GRACE_SECS);
    for mut report in store::reports::resolved_before(db, cutoff, 500).await? {
        let facts = LifecycleFacts { status: report.status, resolved_at: report.resolved_at };
        if !auto_close_due(facts, now) {
            continue;
        }
        let to = next_status(facts, &Action::Close, Actor::System, now)?;
        report.status = to;
        report.closed_at = Some(now);
        report.next_deadline = report.deadlines.next(to, report.responded_at);
        report.updated_at = now;
        let mut tx = db.begin_write().await?;
        if !store::reports::save(&mut tx, &report).await? {
            continue;
        }
        let event = EventRow::new(&report, EventKind::Closed, None, "system", now);
        store::reports::insert_event(&mut tx, &report.city_id, &event).await?;
        tx.commit().await?;
        closed += 1;
    }
    Ok(closed)
}

/// The background task, every minute: closes due reports, and rebuilds the routing index if
/// another node changed what it is built from.
pub fn spawn_background(state: ReportsContext) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let period = std::time::Duration::from_secs(60);
        // The first run is a period after start: `AppState::prepare` has just built the index.
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        loop {
            tick.tick().await;
            if let Err(e) = close_due(&state.db, Millis::now()).await {
                tracing::warn!(error = %e, "auto-close failed");
            }
            if let Err(e) = state.routing.refresh(&state.db, &state.city.id).await {
                tracing::warn!(error = %e, "routing reload failed");
            }
        }
    })
}

//! Tap to report, the rider's side and what every side shares: submitting (idempotency, "me too"
//! merging, the submission limit), following, reopening, closing and rating, the automatic close,
//! and the views of reports.
//!
//! Every change goes the same way: load the report, ask `domain::report::transition` what the
//! step does, save that with its timeline entry (`commit_step`). Everything a step writes (the
//! report, its timeline entry, followers, the idempotency record) commits in one transaction
//! before the caller hears back. A view reads one statement per table whatever the number of
//! reports in it: the rows, then all their photos, all their units, all their reporters' names.

use std::collections::HashMap;
use std::collections::hash_map::Entry as Slot;
use std::sync::Arc;

use sha2::{Digest, Sha256};
use sqlx::AnyConnection;

use crate::domain::city::City;
use crate::domain::content::{Checked, Cleared, ContentMode};
use crate::domain::error::ErrorCode;
use crate::domain::geo::{Bbox, Gcj02};
use crate::domain::identity::Rider;
use crate::domain::notify::{ReportProgress, Template, status_phrase};
use crate::domain::photo_url::{SignedPhoto, UrlSigner};
use crate::domain::report::{
    Action, Actor, Category, CategorySettings, EventKind, Note, Notes, PUBLIC_LOCATION_SLACK_M, PublicReport,
    ReportFacts, ReportParts, Step, Transition, public_location, transition,
};
use crate::domain::routing::{RouteReason, UnitKind};
use crate::domain::sla::Deadlines;
use crate::domain::throttle::SubmissionLimit;
use crate::domain::time::Millis;
use crate::domain::{DomainError, DomainResult};
use crate::service::content::{self, ContentPolicy};
use crate::service::points::Ledger;
use crate::service::units::{self, RoutingCache};
use crate::service::webhooks::{self, ReportEvent};
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
    pub notify_template: Option<Template>,
    /// Signs the URLs of the photos a view shows.
    pub photo_urls: UrlSigner,
    /// Pays points for accepted, resolved and rated reports, in the step's transaction.
    pub ledger: Ledger,
    /// Whether what riders write and photograph is checked by WeChat before it is public.
    pub content: ContentPolicy,
}

#[derive(Debug, Clone, Copy)]
pub struct ReportLimits {
    /// New reports and follows a rider may make in an hour.
    pub per_rider_per_hour: u32,
}

impl ReportsContext {
    fn submission_limit(&self) -> SubmissionLimit {
        SubmissionLimit { per_hour: self.limits.per_rider_per_hour }
    }

    /// Turns away a rider whose last hour is already full before any transaction begins, even
    /// from a report they already follow. It settles nothing under a race: `count_submission`
    /// does, in the transaction that follows.
    async fn check_submission_limit(&self, rider: &Rider, now: Millis) -> DomainResult<()> {
        let limit = self.submission_limit();
        let mut conn = self.db.pool.acquire().await?;
        let recent = store::reports::submissions_since(&mut conn, &rider.account_id, limit.window_start(now)).await?;
        limit.check(&recent, now)
    }

    /// Holds the rider's submissions until `tx` ends: parallel submissions by one rider count
    /// one after another (`store::reports::hold_submitter`).
    async fn hold_submissions(&self, tx: &mut AnyConnection, rider: &Rider) -> DomainResult<()> {
        store::reports::hold_submitter(tx, self.db.backend, &rider.account_id).await
    }

    /// Counts a submission (a report, a "me too" or a follow) in the transaction that makes it,
    /// or refuses it when the rider's last hour is full: checked and counted while the rider is
    /// held, so of many parallel submissions exactly the limit pass.
    async fn count_submission(&self, tx: &mut AnyConnection, rider: &Rider, now: Millis) -> DomainResult<()> {
        self.hold_submissions(tx, rider).await?;
        let limit = self.submission_limit();
        let recent = store::reports::submissions_since(tx, &rider.account_id, limit.window_start(now)).await?;
        limit.check(&recent, now)?;
        store::reports::record_submission(tx, &rider.account_id, now).await
    }

    async fn category(&self, category: Category) -> DomainResult<CategorySettings> {
        units::category_settings(&self.db, &self.city.id, category).await
    }
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

/// A unit as views name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitRef {
    pub id: String,
    pub name: String,
    pub kind: UnitKind,
}

/// The units a view names, read in one statement.
pub(crate) struct Units(HashMap<String, UnitRef>);

impl Units {
    pub(crate) async fn load<'a>(
        db: &Db,
        city_id: &str,
        ids: impl IntoIterator<Item = &'a str>,
    ) -> DomainResult<Units> {
        let mut ids: Vec<String> = ids.into_iter().map(str::to_string).collect();
        ids.sort();
        ids.dedup();
        let mut units = HashMap::new();
        for unit in store::units::get_many(db, city_id, &ids).await? {
            units.insert(unit.id.clone(), UnitRef { id: unit.id, name: unit.name, kind: unit.kind });
        }
        Ok(Units(units))
    }

    /// The unit by id; one that is gone shows as a nameless fallback.
    pub(crate) fn get(&self, id: &str) -> UnitRef {
        self.0.get(id).cloned().unwrap_or_else(|| UnitRef {
            id: id.to_string(),
            name: String::new(),
            kind: UnitKind::Fallback,
        })
    }
}

/// A report with what every view of it shows besides its own fields: its unit and its photos.
#[derive(Debug, Clone)]
pub struct ReportView {
    pub report: ReportRow,
    pub unit: UnitRef,
    /// The attached photos, in the order they were added, each with its signed URL. A view
    /// keeps only those its reader may see (`for_rider_eyes`): every URL here is theirs to have.
    pub photos: Vec<SignedPhoto>,
}

impl ReportView {
    fn of(report: ReportRow, units: &Units, media: &mut HashMap<String, Vec<String>>, urls: &UrlSigner) -> ReportView {
        let now = Millis::now();
        let ids = media.remove(&report.id).unwrap_or_default();
        ReportView {
            unit: units.get(&report.office_id),
            photos: ids.iter().map(|id| urls.sign(id, now)).collect(),
            report,
        }
    }
}

/// Views of many reports: all their photos in one statement (`units` must hold their units).
pub(crate) async fn views(ctx: &ReportsContext, rows: Vec<ReportRow>, units: &Units) -> DomainResult<Vec<ReportView>> {
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let mut media = store::reports::media_ids(&ctx.db, &ids).await?;
    Ok(rows.into_iter().map(|r| ReportView::of(r, units, &mut media, &ctx.photo_urls)).collect())
}

/// A timeline entry, its unit named.
#[derive(Debug, Clone)]
pub struct Entry {
    pub event: EventRow,
    pub unit: Option<UnitRef>,
}

/// One report's view and the given entries of its timeline, the units of both read at once.
pub(crate) async fn with_timeline(
    ctx: &ReportsContext,
    report: ReportRow,
    events: Vec<EventRow>,
) -> DomainResult<(ReportView, Vec<Entry>)> {
    let unit_ids = events.iter().filter_map(|e| e.office_id.as_deref()).chain([report.office_id.as_str()]);
    let units = Units::load(&ctx.db, &ctx.city.id, unit_ids).await?;
    let mut media = store::reports::media_ids(&ctx.db, std::slice::from_ref(&report.id)).await?;
    let timeline = events
        .into_iter()
        .map(|event| Entry { unit: event.office_id.as_deref().map(|id| units.get(id)), event })
        .collect();
    Ok((ReportView::of(report, &units, &mut media, &ctx.photo_urls), timeline))
}

/// A rider's view of a report they filed or follow: public timeline entries only.
#[derive(Debug, Clone)]
pub struct RiderReport {
    pub report: ReportView,
    /// The rider filed this report (rather than following it).
    pub mine: bool,
    pub timeline: Vec<Entry>,
}

async fn rider_report(ctx: &ReportsContext, rider: &Rider, report: ReportRow) -> DomainResult<RiderReport> {
    let mine = report.reporter_id == rider.account_id;
    let events = store::reports::events(&ctx.db, &report.id)
        .await?
        .into_iter()
        .filter(|e| e.public)
        .map(|mut e| {
            if !mine && !e.actor_role.note_read_by_followers() {
                e.public_note = None;
            }
            e
        })
        .collect();
    let (report, timeline) = with_timeline(ctx, report, events).await?;
    let mut views = for_rider_eyes(ctx, rider, vec![report]).await?;
    let report = views.pop().ok_or(DomainError::NotFound("report"))?;
    Ok(RiderReport { report, mine, timeline })
}

/// Views of reports as a rider may see them. A report they filed shows whole; one they only
/// follow shows its public projection (`domain::report::PublicReport`): the location rounded, no
/// rating, and the description and rating comment only once WeChat cleared them (empty and
/// absent before, and always with checks off). The photos listed are the ones this rider
/// attached and those WeChat cleared (a "me too" rider's on the reporter's report, say): the
/// ones `GET /media/{id}` serves them. One statement for their own photos, one for the verdicts.
async fn for_rider_eyes(ctx: &ReportsContext, rider: &Rider, views: Vec<ReportView>) -> DomainResult<Vec<ReportView>> {
    let all: Vec<String> = views.iter().flat_map(|v| v.photos.iter().map(|p| p.id.clone())).collect();
    let own: std::collections::HashSet<String> =
        store::media::find_owned(&ctx.db, &rider.account_id, &all).await?.into_iter().map(|m| m.id).collect();
    let ids: Vec<String> = views.iter().map(|v| v.report.id.clone()).collect();
    let photos: HashMap<String, Vec<String>> =
        views.iter().map(|v| (v.report.id.clone(), v.photos.iter().map(|p| p.id.clone()).collect())).collect();
    let mut cleared = content::clearances(&ctx.db, ctx.content.mode, &ids, &photos).await?;
    Ok(views
        .into_iter()
        .map(|mut v| {
            let clear = cleared.remove(&v.report.id).unwrap_or_else(Cleared::nothing);
            v.photos.retain(|p| own.contains(&p.id) || clear.photos.contains(&p.id));
            if v.report.reporter_id == rider.account_id {
                return v;
            }
            let r = &mut v.report;
            r.location = public_location(r.location);
            if !clear.description {
                r.description.clear();
            }
            r.facts.rating = None;
            r.facts.rating_comment = r.facts.rating_comment.take().filter(|_| clear.rating_comment);
            v
        })
        .collect())
}

/// The report categories of the city with their names, hints and deadlines.
pub async fn categories(ctx: &ReportsContext) -> DomainResult<Vec<CategorySettings>> {
    store::categories::all(&ctx.db, &ctx.city.id).await
}

/// Files a report, or joins the open one it repeats. With an idempotency key, a retry returns the
/// first answer (and the same key with a different request is a 409).
pub async fn submit(
    ctx: &ReportsContext,
    rider: &Rider,
    sub: Submission,
    idempotency_key: Option<&str>,
    now: Millis,
) -> DomainResult<(Outcome, ReportRow)> {
    let db = &ctx.db;
    let city_id = &ctx.city.id;
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
    // The limit is counted after the key is claimed, in the transaction that files: a retry that
    // raced its first attempt replays instead of being refused by the hour that attempt filled.
    let owned = store::media::find_owned(db, &rider.account_id, &sub.media_ids).await?;
    if let Some(missing) = sub.media_ids.iter().find(|id| !owned.iter().any(|m| &m.id == *id)) {
        return Err(DomainError::invalid("media_ids", format!("`{missing}` is not a photo you uploaded")));
    }
    let settings = ctx.category(sub.category).await?;
    let route = ctx.routing.current().route(sub.location, sub.category, &[])?;

    let mut tx = db.begin_write().await?;
    if let Some(key) = &key
        && let Claim::Replay(recorded) = idempotency::claim(&mut tx, key, now).await?
    {
        tx.rollback().await?;
        let mut conn = db.pool.acquire().await?;
        return replay(&mut conn, city_id, &hash, recorded).await;
    }
    ctx.count_submission(&mut tx, rider, now).await?;
    let (outcome, report) = match me_too_target(&mut tx, city_id, &sub, now).await? {
        Some(mut target) => {
            let new_follower = store::reports::add_follower(&mut tx, &target.id, &rider.account_id, now).await?;
            let description = Note::optional("description", Some(&sub.description))?;
            let step = Step::MeToo { new_follower, description: description.as_ref() };
            let t = transition(&target.facts, step, Actor::Rider, now)?;
            commit_step(&mut tx, &mut target, t, Actor::Rider, Some(&rider.account_id), now).await?;
            store::reports::attach_media(&mut tx, &target.id, &sub.media_ids, &rider.account_id, now).await?;
            content::queue_photos(&mut tx, ctx.content, city_id, &rider.account_id, &target.id, &sub.media_ids, now)
                .await?;
            (Outcome::Joined, target)
        }
        None => {
            let report = ReportRow {
                id: new_id(),
                city_id: city_id.clone(),
                reporter_id: rider.account_id.clone(),
                category: sub.category,
                description: sub.description.clone(),
                location: sub.location,
                anonymous: sub.anonymous,
                office_id: route.office_id,
                route_reason: route.reason,
                facts: ReportFacts::submitted(now, Deadlines::from_routing(now, &settings)),
                version: 0,
                created_at: now,
                updated_at: now,
            };
            store::reports::insert(&mut tx, &report).await?;
            let event = EventRow::new(&report, EventKind::Submitted, Actor::Reporter, Some(&rider.account_id), now);
            store::reports::insert_event(&mut tx, city_id, &event).await?;
            store::reports::add_follower(&mut tx, &report.id, &rider.account_id, now).await?;
            store::reports::attach_media(&mut tx, &report.id, &sub.media_ids, &rider.account_id, now).await?;
            let (policy, author) = (ctx.content, rider.account_id.as_str());
            let description = report.description.as_str();
            content::queue_text(&mut tx, policy, city_id, author, Checked::Description, &report.id, description, now)
                .await?;
            content::queue_photos(&mut tx, policy, city_id, author, &report.id, &sub.media_ids, now).await?;
            (Outcome::Created, report)
        }
    };
    if outcome == Outcome::Created {
        webhooks::queue_report_event(&mut tx, &report, ReportEvent::Routed, now).await?;
    }
    if let Some(key) = &key {
        idempotency::complete(&mut tx, key, &report.id, outcome.as_str()).await?;
    }
    tx.commit().await?;
    Ok((outcome, report))
}

/// `submit`, answered with the rider's view of the report filed or joined.
pub async fn submit_and_view(
    ctx: &ReportsContext,
    rider: &Rider,
    sub: Submission,
    idempotency_key: Option<&str>,
    now: Millis,
) -> DomainResult<(Outcome, RiderReport)> {
    let (outcome, report) = submit(ctx, rider, sub, idempotency_key, now).await?;
    Ok((outcome, rider_report(ctx, rider, report).await?))
}

async fn replay(
    conn: &mut AnyConnection,
    city_id: &str,
    hash: &str,
    recorded: Recorded,
) -> DomainResult<(Outcome, ReportRow)> {
    if recorded.request_hash != hash {
        return Err(DomainError::conflict(
            ErrorCode::IdempotencyKeyReused,
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
    let rows = store::reports::open_in_box(
        conn,
        city_id,
        Some(sub.category),
        Bbox::around(sub.location, ME_TOO_RADIUS_M),
        since,
    )
    .await?;
    let nearest = rows
        .into_iter()
        .map(|r| (r.location.distance_m(sub.location), r))
        .filter(|(d, _)| *d <= ME_TOO_RADIUS_M)
        .min_by(|(da, a), (db, b)| da.total_cmp(db).then_with(|| a.id.cmp(&b.id)));
    Ok(nearest.map(|(_, r)| r))
}

/// A report's public projection, taken from the stored row, its photos and what of its content
/// WeChat cleared.
pub(crate) fn public(r: &ReportRow, photo_ids: &[String], cleared: &Cleared) -> PublicReport {
    PublicReport::project(ReportParts {
        id: &r.id,
        category: r.category,
        office_id: &r.office_id,
        location: r.location,
        facts: &r.facts,
        created_at: r.created_at,
        updated_at: r.updated_at,
        description: &r.description,
        photo_ids,
        cleared,
    })
}

/// A report's public projection with its unit named and its cleared photos' signed URLs: what
/// the public map and Open311 show.
#[derive(Debug, Clone)]
pub struct PublicView {
    pub report: PublicReport,
    pub unit: UnitRef,
    /// `report.photo_ids`, signed.
    pub photos: Vec<SignedPhoto>,
}

/// The public projections of these reports: their units in one statement, and while content is
/// checked their photos and the verdicts one statement each (none while checks are off, when
/// nothing a rider wrote or photographed is public).
pub(crate) async fn public_views(ctx: &ReportsContext, rows: &[ReportRow]) -> DomainResult<Vec<PublicView>> {
    let units = Units::load(&ctx.db, &ctx.city.id, rows.iter().map(|r| r.office_id.as_str())).await?;
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let mode = ctx.content.mode;
    let photos = match mode {
        ContentMode::Wechat => store::reports::media_ids(&ctx.db, &ids).await?,
        ContentMode::Off => HashMap::new(),
    };
    let cleared = content::clearances(&ctx.db, mode, &ids, &photos).await?;
    let now = Millis::now();
    let nothing = Cleared::nothing();
    Ok(rows
        .iter()
        .map(|r| {
            let photo_ids = photos.get(&r.id).map(Vec::as_slice).unwrap_or_default();
            let report = public(r, photo_ids, cleared.get(&r.id).unwrap_or(&nothing));
            let photos = report.photo_ids.iter().map(|id| ctx.photo_urls.sign(id, now)).collect();
            PublicView { report, unit: units.get(&r.office_id), photos }
        })
        .collect())
}

/// An open report near a point, as the public sees it, and how far its public point is.
#[derive(Debug, Clone)]
pub struct Nearby {
    pub report: PublicView,
    pub distance_m: f64,
}

/// Open reports near a point for the public map, nearest first: their public projections,
/// within `radius_m` of `center` as measured to their public (rounded) points, so neither the
/// distances nor which reports a radius lets in tell more than the rounded points do.
pub async fn nearby(
    ctx: &ReportsContext,
    center: Gcj02,
    radius_m: f64,
    category: Option<Category>,
    limit: usize,
) -> DomainResult<Vec<Nearby>> {
    let mut conn = ctx.db.pool.acquire().await?;
    let search = Bbox::around(center, radius_m + PUBLIC_LOCATION_SLACK_M);
    let rows = store::reports::open_in_box(&mut conn, &ctx.city.id, category, search, Millis(0)).await?;
    drop(conn);
    let mut near: Vec<(f64, ReportRow)> = rows
        .into_iter()
        .map(|r| (public_location(r.location).distance_m(center), r))
        .filter(|(d, _)| *d <= radius_m)
        .collect();
    near.sort_by(|(da, a), (db, b)| da.total_cmp(db).then_with(|| a.id.cmp(&b.id)));
    near.truncate(limit);
    let (distances, rows): (Vec<f64>, Vec<ReportRow>) = near.into_iter().unzip();
    let views = public_views(ctx, &rows).await?;
    Ok(views.into_iter().zip(distances).map(|(report, distance_m)| Nearby { report, distance_m }).collect())
}

/// Where a report would go, and what is already open nearby.
#[derive(Debug, Clone)]
pub struct Preview {
    pub unit: UnitRef,
    pub route_reason: RouteReason,
    /// Open reports of the same category within 250 m, nearest first: follow one instead.
    pub nearby: Vec<Nearby>,
}

/// Before submitting: the unit that would receive the report, and open reports of the same
/// category within 250 m the rider could follow instead.
pub async fn preview(ctx: &ReportsContext, point: Gcj02, category: Category) -> DomainResult<Preview> {
    let route = ctx.routing.current().route(point, category, &[])?;
    let nearby = nearby(ctx, point, PREVIEW_RADIUS_M, Some(category), PREVIEW_MAX).await?;
    let units = Units::load(&ctx.db, &ctx.city.id, [route.office_id.as_str()]).await?;
    Ok(Preview { unit: units.get(&route.office_id), route_reason: route.reason, nearby })
}

/// The reports a rider filed or follows, newest first: at most `limit` after the id `after`, as
/// the rider may see them (`for_rider_eyes`).
pub async fn mine(
    ctx: &ReportsContext,
    rider: &Rider,
    after: Option<&str>,
    limit: u32,
) -> DomainResult<Vec<ReportView>> {
    let rows = store::reports::followed_by(&ctx.db, &rider.account_id, after, limit).await?;
    let units = Units::load(&ctx.db, &ctx.city.id, rows.iter().map(|r| r.office_id.as_str())).await?;
    let views = views(ctx, rows, &units).await?;
    for_rider_eyes(ctx, rider, views).await
}

/// A report as a rider may reach it, with the part they play in it: its reporter, or a rider
/// following it. Anything else is a 404.
async fn for_rider(ctx: &ReportsContext, rider: &Rider, id: &str) -> DomainResult<(ReportRow, Actor)> {
    let mut conn = ctx.db.pool.acquire().await?;
    let report = store::reports::get(&mut conn, &ctx.city.id, id).await?.ok_or(DomainError::NotFound("report"))?;
    if report.reporter_id == rider.account_id {
        Ok((report, Actor::Reporter))
    } else if store::reports::is_follower(&ctx.db, id, &rider.account_id).await? {
        Ok((report, Actor::Rider))
    } else {
        Err(DomainError::NotFound("report"))
    }
}

/// One report the rider filed or follows, with its public timeline. A follower who did not file
/// it sees its public projection, and of the timeline's notes only staff's.
pub async fn rider_view(ctx: &ReportsContext, rider: &Rider, id: &str) -> DomainResult<RiderReport> {
    let (report, _) = for_rider(ctx, rider, id).await?;
    rider_report(ctx, rider, report).await
}

/// A rider follows an open report instead of filing again (a "me too" without a new photo).
pub async fn follow(ctx: &ReportsContext, rider: &Rider, id: &str, now: Millis) -> DomainResult<RiderReport> {
    ctx.check_submission_limit(rider, now).await?;
    let mut tx = ctx.db.begin_write().await?;
    // Held before the follower row is written, as `submit` holds them before a "me too"'s: one
    // order, so a rider's follow and "me too" of one report never wait for each other in a cycle.
    ctx.hold_submissions(&mut tx, rider).await?;
    let mut report = store::reports::get(&mut tx, &ctx.city.id, id).await?.ok_or(DomainError::NotFound("report"))?;
    let new_follower = store::reports::add_follower(&mut tx, &report.id, &rider.account_id, now).await?;
    let t = transition(&report.facts, Step::MeToo { new_follower, description: None }, Actor::Rider, now)?;
    if new_follower {
        ctx.count_submission(&mut tx, rider, now).await?;
        commit_step(&mut tx, &mut report, t, Actor::Rider, Some(&rider.account_id), now).await?;
    }
    tx.commit().await?;
    rider_report(ctx, rider, report).await
}

/// The reporter reopens a resolved report (within 7 days) or confirms it closed.
pub async fn reporter_action(
    ctx: &ReportsContext,
    rider: &Rider,
    id: &str,
    action: Action,
    now: Millis,
) -> DomainResult<RiderReport> {
    let (mut report, actor) = for_rider(ctx, rider, id).await?;
    let category = ctx.category(report.category).await?;
    let step = Step::Act { action: &action, notes: &Notes::default(), category: &category };
    let t = transition(&report.facts, step, actor, now)?;
    let mut tx = ctx.db.begin_write().await?;
    commit_step(&mut tx, &mut report, t, actor, Some(&rider.account_id), now).await?;
    if let Action::Reopen { reason } = &action {
        // The others following it hear that it is open again; the reporter knows. Not why: the
        // reason is the reporter's own words, for the unit only (never checked for publication).
        tell_followers(&mut tx, ctx, &report, &category, "", Some(&rider.account_id), now).await?;
        webhooks::queue_report_event(&mut tx, &report, ReportEvent::Reopened { reason: reason.as_str() }, now).await?;
    }
    tx.commit().await?;
    rider_report(ctx, rider, report).await
}

/// The reporter rates the outcome once, 1 to 5, when the report is resolved or closed.
pub async fn rate(
    ctx: &ReportsContext,
    rider: &Rider,
    id: &str,
    score: u8,
    comment: Option<Note>,
    now: Millis,
) -> DomainResult<RiderReport> {
    let (mut report, actor) = for_rider(ctx, rider, id).await?;
    let t = transition(&report.facts, Step::Rate { score, comment: comment.as_ref() }, actor, now)?;
    let mut tx = ctx.db.begin_write().await?;
    commit_step(&mut tx, &mut report, t, actor, Some(&rider.account_id), now).await?;
    ctx.ledger.report_rated(&mut tx, &report, now).await?;
    if let Some(comment) = &comment {
        let (city_id, author) = (&ctx.city.id, rider.account_id.as_str());
        let kind = Checked::RatingComment;
        content::queue_text(&mut tx, ctx.content, city_id, author, kind, &report.id, comment.as_str(), now).await?;
    }
    webhooks::queue_report_event(&mut tx, &report, ReportEvent::Rated, now).await?;
    tx.commit().await?;
    rider_report(ctx, rider, report).await
}

const CHANGED_MEANWHILE: ErrorCode = ErrorCode::ConcurrentUpdate;

/// Saves what a step decided, if nobody changed the report since it was read, and appends the
/// step's timeline entry, in the caller's transaction.
pub(crate) async fn commit_step(
    conn: &mut AnyConnection,
    report: &mut ReportRow,
    t: Transition,
    actor: Actor,
    actor_id: Option<&str>,
    now: Millis,
) -> DomainResult<()> {
    report.facts = t.facts;
    report.updated_at = now;
    if !store::reports::save(conn, report).await? {
        return Err(DomainError::conflict(CHANGED_MEANWHILE, "the report changed meanwhile; reload and retry"));
    }
    report.version += 1;
    let mut event = EventRow::new(report, t.event, actor, actor_id, now);
    event.public_note = t.public_note.map(|n| n.as_str().to_string());
    event.internal_note = t.internal_note.map(|n| n.as_str().to_string());
    store::reports::insert_event(conn, &report.city_id, &event).await
}

/// `commit_step` for a step that writes nothing else, in a transaction of its own.
pub(crate) async fn commit_alone(
    db: &Db,
    report: &mut ReportRow,
    t: Transition,
    actor: Actor,
    actor_id: Option<&str>,
    now: Millis,
) -> DomainResult<()> {
    let mut tx = db.begin_write().await?;
    commit_step(&mut tx, report, t, actor, actor_id, now).await?;
    tx.commit().await?;
    Ok(())
}

/// Closes every report resolved 7 days ago or more and not reopened, telling its followers;
/// returns how many.
pub async fn close_due(ctx: &ReportsContext, now: Millis) -> DomainResult<usize> {
    let db = &ctx.db;
    let mut closed = 0;
    let cutoff = now.plus_secs(-crate::domain::report::RESOLVED_GRACE_SECS);
    let mut categories: HashMap<(String, Category), CategorySettings> = HashMap::new();
    for mut report in store::reports::resolved_before(db, cutoff, 500).await? {
        if !report.facts.auto_close_due(now) {
            continue;
        }
        let category = match categories.entry((report.city_id.clone(), report.category)) {
            Slot::Occupied(known) => known.into_mut(),
            Slot::Vacant(slot) => slot.insert(units::category_settings(db, &report.city_id, report.category).await?),
        };
        let step = Step::Act { action: &Action::Close, notes: &Notes::default(), category };
        let t = transition(&report.facts, step, Actor::System, now)?;
        let mut tx = db.begin_write().await?;
        match commit_step(&mut tx, &mut report, t, Actor::System, None, now).await {
            Ok(()) => {
                tell_followers(&mut tx, ctx, &report, category, "", None, now).await?;
                tx.commit().await?;
                closed += 1;
            }
            // Someone acted on it meanwhile: it is no longer this run's to close.
            Err(DomainError::Conflict { code: CHANGED_MEANWHILE, .. }) => tx.rollback().await?,
            Err(e) => return Err(e),
        }
    }
    Ok(closed)
}

/// Queues a subscribe message to everyone following the report (but `except`, who made the
/// change), in the transaction that moved it.
pub(crate) async fn tell_followers(
    conn: &mut AnyConnection,
    ctx: &ReportsContext,
    report: &ReportRow,
    category: &CategorySettings,
    public_note: &str,
    except: Option<&str>,
    now: Millis,
) -> DomainResult<()> {
    let Some(template) = ctx.notify_template.as_ref() else {
        return Ok(());
    };
    let mut followers = store::reports::followers(conn, &report.id).await?;
    followers.retain(|f| Some(f.as_str()) != except);
    let progress = ReportProgress {
        report_id: &report.id,
        category: &category.name,
        status: status_phrase(report.facts.status),
        note: public_note,
        at: now.in_zone(ctx.city.tz),
    };
    crate::service::notify::queue_report_progress(conn, Some(template), &ctx.city.id, &followers, &progress).await?;
    Ok(())
}

/// The background task, every minute: closes due reports, and rebuilds the routing index if
/// another node changed what it is built from.
pub fn spawn_background(ctx: ReportsContext) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let period = std::time::Duration::from_secs(60);
        // The first run is a period after start: `AppState::prepare` has just built the index.
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        loop {
            tick.tick().await;
            if let Err(e) = close_due(&ctx, Millis::now()).await {
                tracing::warn!(error = %e, "auto-close failed");
            }
            let counted_since = ctx.submission_limit().window_start(Millis::now());
            if let Err(e) = store::reports::forget_submissions_before(&ctx.db, counted_since).await {
                tracing::warn!(error = %e, "forgetting old submissions failed");
            }
            if let Err(e) = ctx.routing.refresh(&ctx.db, &ctx.city.id).await {
                tracing::warn!(error = %e, "routing reload failed");
            }
        }
    })
}

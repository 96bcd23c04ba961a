//! Reports, their photos, followers and append-only timeline.

use std::collections::HashMap;

use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::Query;
use sqlx::{Any, AnyConnection, Row};

use super::{Backend, Db, bool_to_int, fetch_in, new_id};
use crate::domain::geo::{Bbox, Gcj02};
use crate::domain::report::{Actor, Category, EventKind, ReportFacts, ReportStatus};
use crate::domain::routing::RouteReason;
use crate::domain::sla::Deadlines;
use crate::domain::time::Millis;
use crate::domain::{DomainError, DomainResult};

/// A report as stored (location in GCJ-02).
#[derive(Debug, Clone)]
pub struct ReportRow {
    pub id: String,
    pub city_id: String,
    pub reporter_id: String,
    pub category: Category,
    pub description: String,
    pub location: Gcj02,
    pub anonymous: bool,
    pub office_id: String,
    pub route_reason: RouteReason,
    /// Its place in the lifecycle: what `domain::report::transition` reads and changes.
    pub facts: ReportFacts,
    /// Bumped by every `save`; a save with a stale version changes nothing.
    pub version: i32,
    pub created_at: Millis,
    pub updated_at: Millis,
}

macro_rules! select_reports {
    ($rest:literal) => {
        concat!(
            "SELECT r.id, r.city_id, r.reporter_id, r.category, r.description, r.lat, r.lng, r.anonymous, r.status, \
             r.office_id, r.route_reason, r.assignee_id, r.duplicate_of, r.priority, r.routed_at, r.respond_by, \
             r.resolve_by, r.next_deadline, r.responded_at, r.resolved_at, r.closed_at, r.rating, r.rating_comment, \
             r.rated_at, r.version, r.created_at, r.updated_at FROM reports r ",
            $rest
        )
    };
}

fn millis(r: &AnyRow, col: &str) -> DomainResult<Option<Millis>> {
    Ok(r.try_get::<Option<i64>, _>(col)?.map(Millis))
}

fn from_row(r: &AnyRow) -> DomainResult<ReportRow> {
    let rating: Option<i32> = r.try_get("rating")?;
    Ok(ReportRow {
        id: r.try_get("id")?,
        city_id: r.try_get("city_id")?,
        reporter_id: r.try_get("reporter_id")?,
        category: r.try_get::<String, _>("category")?.parse()?,
        description: r.try_get("description")?,
        location: Gcj02::new(r.try_get("lat")?, r.try_get("lng")?)?,
        anonymous: r.try_get::<i32, _>("anonymous")? != 0,
        office_id: r.try_get("office_id")?,
        route_reason: r.try_get::<String, _>("route_reason")?.parse()?,
        facts: ReportFacts {
            status: r.try_get::<String, _>("status")?.parse()?,
            routed_at: Millis(r.try_get("routed_at")?),
            deadlines: Deadlines {
                respond_by: Millis(r.try_get("respond_by")?),
                resolve_by: Millis(r.try_get("resolve_by")?),
            },
            next_deadline: Millis(r.try_get("next_deadline")?),
            responded_at: millis(r, "responded_at")?,
            resolved_at: millis(r, "resolved_at")?,
            closed_at: millis(r, "closed_at")?,
            assignee_id: r.try_get("assignee_id")?,
            duplicate_of: r.try_get("duplicate_of")?,
            priority: r.try_get("priority")?,
            rating: rating.and_then(|v| u8::try_from(v).ok()),
            rating_comment: r.try_get("rating_comment")?,
            rated_at: millis(r, "rated_at")?,
        },
        version: r.try_get("version")?,
        created_at: Millis(r.try_get("created_at")?),
        updated_at: Millis(r.try_get("updated_at")?),
    })
}

/// Binds the columns a report's lifecycle and routing change, in the order `insert` and `save`
/// both list them.
fn bind_changing<'q>(query: Query<'q, Any, AnyArguments>, r: &ReportRow) -> Query<'q, Any, AnyArguments> {
    let f = &r.facts;
    query
        .bind(f.status.as_str())
        .bind(&r.office_id)
        .bind(r.route_reason.as_str())
        .bind(&f.assignee_id)
        .bind(&f.duplicate_of)
        .bind(f.priority)
        .bind(f.routed_at.0)
        .bind(f.deadlines.respond_by.0)
        .bind(f.deadlines.resolve_by.0)
        .bind(f.next_deadline.0)
        .bind(f.responded_at.map(|m| m.0))
        .bind(f.resolved_at.map(|m| m.0))
        .bind(f.closed_at.map(|m| m.0))
        .bind(f.rating.map(i32::from))
        .bind(&f.rating_comment)
        .bind(f.rated_at.map(|m| m.0))
}

pub async fn insert(conn: &mut AnyConnection, r: &ReportRow) -> DomainResult<()> {
    let query = sqlx::query(
        "INSERT INTO reports (id, city_id, reporter_id, category, description, lat, lng, anonymous, status, office_id, \
         route_reason, assignee_id, duplicate_of, priority, routed_at, respond_by, resolve_by, next_deadline, \
         responded_at, resolved_at, closed_at, rating, rating_comment, rated_at, version, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, \
         $23, $24, $25, $26, $27)",
    )
    .bind(&r.id)
    .bind(&r.city_id)
    .bind(&r.reporter_id)
    .bind(r.category.as_str())
    .bind(&r.description)
    .bind(r.location.lat())
    .bind(r.location.lng())
    .bind(bool_to_int(r.anonymous));
    bind_changing(query, r).bind(r.version).bind(r.created_at.0).bind(r.updated_at.0).execute(&mut *conn).await?;
    Ok(())
}

/// Writes every changing column of `r` if the stored version is still `r.version`, and bumps it.
/// False when someone else changed the report in between.
pub async fn save(conn: &mut AnyConnection, r: &ReportRow) -> DomainResult<bool> {
    let query = sqlx::query(
        "UPDATE reports SET status = $1, office_id = $2, route_reason = $3, assignee_id = $4, duplicate_of = $5, \
         priority = $6, routed_at = $7, respond_by = $8, resolve_by = $9, next_deadline = $10, responded_at = $11, \
         resolved_at = $12, closed_at = $13, rating = $14, rating_comment = $15, rated_at = $16, updated_at = $17, \
         version = version + 1 WHERE id = $18 AND version = $19",
    );
    let done = bind_changing(query, r).bind(r.updated_at.0).bind(&r.id).bind(r.version).execute(&mut *conn).await?;
    Ok(done.rows_affected() == 1)
}

pub async fn get(conn: &mut AnyConnection, city_id: &str, id: &str) -> DomainResult<Option<ReportRow>> {
    let row = sqlx::query(select_reports!("WHERE r.id = $1 AND r.city_id = $2"))
        .bind(id)
        .bind(city_id)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// The reports of the city among `ids`, in no particular order; one statement for them all.
pub async fn get_many(db: &Db, city_id: &str, ids: &[String]) -> DomainResult<Vec<ReportRow>> {
    let rows = fetch_in(db, select_reports!("WHERE r.city_id = $1 AND r.id IN ({ids})"), &[city_id], ids).await?;
    rows.iter().map(from_row).collect()
}

/// Open reports of the city inside a box, filed since `since`, of one category or all.
pub async fn open_in_box(
    conn: &mut AnyConnection,
    city_id: &str,
    category: Option<Category>,
    bbox: Bbox,
    since: Millis,
) -> DomainResult<Vec<ReportRow>> {
    let rows = sqlx::query(select_reports!(
        "WHERE r.city_id = $1 AND r.status IN ('submitted', 'accepted', 'in_progress', 'transferred', 'reopened') \
         AND r.lat BETWEEN $2 AND $3 AND r.lng BETWEEN $4 AND $5 AND r.created_at >= $6 \
         AND ($7 IS NULL OR r.category = $7) ORDER BY r.id LIMIT 500"
    ))
    .bind(city_id)
    .bind(bbox.min_lat)
    .bind(bbox.max_lat)
    .bind(bbox.min_lng)
    .bind(bbox.max_lng)
    .bind(since.0)
    .bind(category.map(|c| c.as_str()))
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(from_row).collect()
}

/// One entry of the timeline.
#[derive(Debug, Clone)]
pub struct EventRow {
    pub id: String,
    pub report_id: String,
    pub kind: EventKind,
    /// The acting account; none for the service itself.
    pub actor_id: Option<String>,
    pub actor_role: Actor,
    /// The report's status after this entry.
    pub status: ReportStatus,
    /// The unit the report is with after this entry.
    pub office_id: Option<String>,
    pub public_note: Option<String>,
    pub internal_note: Option<String>,
    pub public: bool,
    pub at: Millis,
}

impl EventRow {
    pub fn new(report: &ReportRow, kind: EventKind, actor_role: Actor, actor_id: Option<&str>, at: Millis) -> Self {
        EventRow {
            id: new_id(),
            report_id: report.id.clone(),
            kind,
            actor_id: actor_id.map(str::to_string),
            actor_role,
            status: report.facts.status,
            office_id: Some(report.office_id.clone()),
            public_note: None,
            internal_note: None,
            public: kind.is_public(),
            at,
        }
    }
}

pub async fn insert_event(conn: &mut AnyConnection, city_id: &str, e: &EventRow) -> DomainResult<()> {
    sqlx::query(
        "INSERT INTO report_events (id, report_id, city_id, kind, actor_id, actor_role, status, office_id, public_note, \
         internal_note, public, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(&e.id)
    .bind(&e.report_id)
    .bind(city_id)
    .bind(e.kind.as_str())
    .bind(&e.actor_id)
    .bind(e.actor_role.as_str())
    .bind(e.status.as_str())
    .bind(&e.office_id)
    .bind(&e.public_note)
    .bind(&e.internal_note)
    .bind(bool_to_int(e.public))
    .bind(e.at.0)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

macro_rules! select_events {
    ($rest:literal) => {
        concat!(
            "SELECT id, report_id, kind, actor_id, actor_role, status, office_id, public_note, internal_note, public, \
             at FROM report_events ",
            $rest
        )
    };
}

fn event_from_row(r: &AnyRow) -> DomainResult<EventRow> {
    Ok(EventRow {
        id: r.try_get("id")?,
        report_id: r.try_get("report_id")?,
        kind: r.try_get::<String, _>("kind")?.parse()?,
        actor_id: r.try_get("actor_id")?,
        actor_role: r.try_get::<String, _>("actor_role")?.parse()?,
        status: r.try_get::<String, _>("status")?.parse()?,
        office_id: r.try_get("office_id")?,
        public_note: r.try_get("public_note")?,
        internal_note: r.try_get("internal_note")?,
        public: r.try_get::<i32, _>("public")? != 0,
        at: Millis(r.try_get("at")?),
    })
}

/// The whole timeline, oldest first.
pub async fn events(db: &Db, report_id: &str) -> DomainResult<Vec<EventRow>> {
    let rows =
        sqlx::query(select_events!("WHERE report_id = $1 ORDER BY at, id")).bind(report_id).fetch_all(&db.pool).await?;
    rows.iter().map(event_from_row).collect()
}

/// Holds the rider's submissions until the transaction on `conn` ends: another transaction
/// holding them waits here, and then reads what this one added (each statement of a PostgreSQL
/// READ COMMITTED transaction sees what committed before it began). PostgreSQL locks the rider's
/// account row (`NO KEY UPDATE`, which rows referring to the account do not wait for); a SQLite
/// write transaction (`Db::begin_write`) already holds the whole database.
pub async fn hold_submitter(conn: &mut AnyConnection, backend: Backend, rider_id: &str) -> DomainResult<()> {
    if backend == Backend::Postgres {
        sqlx::query("SELECT id FROM accounts WHERE id = $1 FOR NO KEY UPDATE")
            .bind(rider_id)
            .fetch_optional(conn)
            .await?;
    }
    Ok(())
}

/// When the rider submitted reports, "me too"s or follows since `since`.
pub async fn submissions_since(conn: &mut AnyConnection, rider_id: &str, since: Millis) -> DomainResult<Vec<Millis>> {
    let rows = sqlx::query("SELECT at FROM rider_submissions WHERE rider_id = $1 AND at > $2")
        .bind(rider_id)
        .bind(since.0)
        .fetch_all(conn)
        .await?;
    rows.iter().map(|r| Ok(Millis(r.try_get("at")?))).collect()
}

/// Counts a submission against the rider's limit.
pub async fn record_submission(conn: &mut AnyConnection, rider_id: &str, at: Millis) -> DomainResult<()> {
    sqlx::query("INSERT INTO rider_submissions (id, rider_id, at) VALUES ($1, $2, $3)")
        .bind(new_id())
        .bind(rider_id)
        .bind(at.0)
        .execute(conn)
        .await?;
    Ok(())
}

/// Forgets submissions made before `before`, which no limit counts any more; returns how many.
pub async fn forget_submissions_before(db: &Db, before: Millis) -> DomainResult<u64> {
    let done = sqlx::query("DELETE FROM rider_submissions WHERE at <= $1").bind(before.0).execute(&db.pool).await?;
    Ok(done.rows_affected())
}

pub async fn attach_media(
    conn: &mut AnyConnection,
    report_id: &str,
    media_ids: &[String],
    added_by: &str,
    at: Millis,
) -> DomainResult<()> {
    for media_id in media_ids {
        sqlx::query(
            "INSERT INTO report_media (report_id, media_id, added_by, added_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (report_id, media_id) DO NOTHING",
        )
        .bind(report_id)
        .bind(media_id)
        .bind(added_by)
        .bind(at.0)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// The photos of each of these reports, in the order they were added, by report id; one statement
/// for them all.
pub async fn media_ids(db: &Db, report_ids: &[String]) -> DomainResult<HashMap<String, Vec<String>>> {
    let sql = "SELECT report_id, media_id FROM report_media WHERE report_id IN ({ids}) \
               ORDER BY report_id, added_at, media_id";
    let mut by_report: HashMap<String, Vec<String>> = HashMap::new();
    for r in &fetch_in(db, sql, &[], report_ids).await? {
        by_report.entry(r.try_get("report_id")?).or_default().push(r.try_get("media_id")?);
    }
    Ok(by_report)
}

/// Makes `account_id` follow the report; false when they already did.
pub async fn add_follower(
    conn: &mut AnyConnection,
    report_id: &str,
    account_id: &str,
    at: Millis,
) -> DomainResult<bool> {
    let done = sqlx::query(
        "INSERT INTO report_followers (report_id, account_id, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (report_id, account_id) DO NOTHING",
    )
    .bind(report_id)
    .bind(account_id)
    .bind(at.0)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Everyone following `from` follows `to` as well (a report marked duplicate of another).
pub async fn copy_followers(conn: &mut AnyConnection, from: &str, to: &str, at: Millis) -> DomainResult<()> {
    sqlx::query(
        "INSERT INTO report_followers (report_id, account_id, created_at) \
         SELECT $1, account_id, $2 FROM report_followers WHERE report_id = $3 \
         ON CONFLICT (report_id, account_id) DO NOTHING",
    )
    .bind(to)
    .bind(at.0)
    .bind(from)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The accounts following a report, to tell them it moved on.
pub async fn followers(conn: &mut AnyConnection, report_id: &str) -> DomainResult<Vec<String>> {
    let rows = sqlx::query("SELECT account_id FROM report_followers WHERE report_id = $1 ORDER BY account_id")
        .bind(report_id)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(|r| Ok(r.try_get("account_id")?)).collect()
}

pub async fn is_follower(db: &Db, report_id: &str, account_id: &str) -> DomainResult<bool> {
    let row = sqlx::query("SELECT report_id FROM report_followers WHERE report_id = $1 AND account_id = $2")
        .bind(report_id)
        .bind(account_id)
        .fetch_optional(&db.pool)
        .await?;
    Ok(row.is_some())
}

/// The reports a rider follows (their own and their "me too"s), newest first, before `before`.
pub async fn followed_by(db: &Db, account_id: &str, before: Option<&str>, limit: u32) -> DomainResult<Vec<ReportRow>> {
    let rows = sqlx::query(select_reports!(
        "JOIN report_followers f ON f.report_id = r.id WHERE f.account_id = $1 AND ($2 IS NULL OR r.id < $2) \
         ORDER BY r.id DESC LIMIT $3"
    ))
    .bind(account_id)
    .bind(before)
    .bind(i64::from(limit))
    .fetch_all(&db.pool)
    .await?;
    rows.iter().map(from_row).collect()
}

/// What a queue or an export selects.
#[derive(Debug, Clone, Default)]
pub struct ReportFilter {
    pub city_id: String,
    /// One unit, or every unit of the city.
    pub office_id: Option<String>,
    pub status: Option<ReportStatus>,
    pub category: Option<Category>,
    /// Only reports whose next deadline is before this instant (overdue at that instant).
    pub deadline_before: Option<Millis>,
    /// Filed at or after.
    pub from: Option<Millis>,
    /// Filed before.
    pub to: Option<Millis>,
}

/// A page of the queue: the deadline that falls first comes first, then id, after `after`.
pub async fn queue(
    db: &Db,
    f: &ReportFilter,
    after: Option<(Millis, String)>,
    limit: u32,
) -> DomainResult<Vec<ReportRow>> {
    let (after_deadline, after_id) = after.map(|(d, id)| (Some(d.0), Some(id))).unwrap_or((None, None));
    let rows = sqlx::query(select_reports!(
        "WHERE r.city_id = $1 AND ($2 IS NULL OR r.office_id = $2) AND ($3 IS NULL OR r.status = $3) \
         AND ($4 IS NULL OR r.category = $4) AND ($5 IS NULL OR r.next_deadline < $5) \
         AND r.created_at >= $6 AND r.created_at < $7 \
         AND ($8 IS NULL OR r.next_deadline > $8 OR (r.next_deadline = $8 AND r.id > $9)) \
         ORDER BY r.next_deadline, r.id LIMIT $10"
    ))
    .bind(&f.city_id)
    .bind(&f.office_id)
    .bind(f.status.map(|s| s.as_str()))
    .bind(f.category.map(|c| c.as_str()))
    .bind(f.deadline_before.map(|m| m.0))
    .bind(f.from.map_or(i64::MIN, |m| m.0))
    .bind(f.to.map_or(i64::MAX, |m| m.0))
    .bind(after_deadline)
    .bind(after_id.unwrap_or_default())
    .bind(i64::from(limit))
    .fetch_all(&db.pool)
    .await?;
    rows.iter().map(from_row).collect()
}

/// The most reports one export or metrics computation reads.
pub const MAX_RANGE_ROWS: i64 = 100_000;

/// Every report the filter selects (for metrics and exports), oldest first.
pub async fn in_range(db: &Db, f: &ReportFilter) -> DomainResult<Vec<ReportRow>> {
    let rows = sqlx::query(select_reports!(
        "WHERE r.city_id = $1 AND ($2 IS NULL OR r.office_id = $2) AND ($3 IS NULL OR r.status = $3) \
         AND ($4 IS NULL OR r.category = $4) AND r.created_at >= $5 AND r.created_at < $6 \
         ORDER BY r.created_at, r.id LIMIT $7"
    ))
    .bind(&f.city_id)
    .bind(&f.office_id)
    .bind(f.status.map(|s| s.as_str()))
    .bind(f.category.map(|c| c.as_str()))
    .bind(f.from.map_or(i64::MIN, |m| m.0))
    .bind(f.to.map_or(i64::MAX, |m| m.0))
    .bind(MAX_RANGE_ROWS + 1)
    .fetch_all(&db.pool)
    .await?;
    if rows.len() as i64 > MAX_RANGE_ROWS {
        return Err(DomainError::invalid("from", format!("more than {MAX_RANGE_ROWS} reports; narrow the range")));
    }
    rows.iter().map(from_row).collect()
}

/// Resolved reports (of any city) resolved at or before `cutoff`: due to close by themselves.
pub async fn resolved_before(db: &Db, cutoff: Millis, limit: u32) -> DomainResult<Vec<ReportRow>> {
    let rows = sqlx::query(select_reports!(
        "WHERE r.status = 'resolved' AND r.resolved_at <= $1 ORDER BY r.resolved_at LIMIT $2"
    ))
    .bind(cutoff.0)
    .bind(i64::from(limit))
    .fetch_all(&db.pool)
    .await?;
    rows.iter().map(from_row).collect()
}

/// A clerk of this office, by account id (to assign a report to).
pub async fn is_clerk_of(db: &Db, account_id: &str, office_id: &str) -> DomainResult<bool> {
    let row =
        sqlx::query("SELECT id FROM accounts WHERE id = $1 AND office_id = $2 AND role = 'clerk' AND disabled = 0")
            .bind(account_id)
            .bind(office_id)
            .fetch_optional(&db.pool)
            .await?;
    Ok(row.is_some())
}

/// The newest reports the filter selects, newest first; `open` keeps only open (true) or only
/// finished (false) reports. For the Open311 facade.
pub async fn latest(db: &Db, f: &ReportFilter, open: Option<bool>, limit: u32) -> DomainResult<Vec<ReportRow>> {
    let rows = sqlx::query(select_reports!(
        "WHERE r.city_id = $1 AND ($2 IS NULL OR r.category = $2) AND r.created_at >= $3 AND r.created_at < $4 \
         AND ($5 = 0 OR r.status IN ('submitted', 'accepted', 'in_progress', 'transferred', 'reopened')) \
         AND ($6 = 0 OR r.status NOT IN ('submitted', 'accepted', 'in_progress', 'transferred', 'reopened')) \
         ORDER BY r.created_at DESC, r.id DESC LIMIT $7"
    ))
    .bind(&f.city_id)
    .bind(f.category.map(|c| c.as_str()))
    .bind(f.from.map_or(i64::MIN, |m| m.0))
    .bind(f.to.map_or(i64::MAX, |m| m.0))
    .bind(i32::from(open == Some(true)))
    .bind(i32::from(open == Some(false)))
    .bind(i64::from(limit))
    .fetch_all(&db.pool)
    .await?;
    rows.iter().map(from_row).collect()
}

/// The reports `reporter_id` filed, newest first, at most `limit` (a rider's copy of their data).
pub async fn filed_by(db: &Db, reporter_id: &str, limit: u32) -> DomainResult<Vec<ReportRow>> {
    let rows = sqlx::query(select_reports!("WHERE r.reporter_id = $1 ORDER BY r.created_at DESC, r.id DESC LIMIT $2"))
        .bind(reporter_id)
        .bind(i64::from(limit))
        .fetch_all(&db.pool)
        .await?;
    rows.iter().map(from_row).collect()
}

/// The timeline entries `actor_id` made on any report, newest first, at most `limit`.
pub async fn events_by(db: &Db, actor_id: &str, limit: u32) -> DomainResult<Vec<EventRow>> {
    let rows = sqlx::query(select_events!("WHERE actor_id = $1 ORDER BY at DESC, id DESC LIMIT $2"))
        .bind(actor_id)
        .bind(i64::from(limit))
        .fetch_all(&db.pool)
        .await?;
    rows.iter().map(event_from_row).collect()
}

/// Which of the reports the overdue detector reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OverdueScan {
    /// Those whose next deadline fell in the window, in deadline order (the index
    /// `reports_next_deadline`; only open reports have a deadline below `NO_DEADLINE`).
    DeadlinePassed,
    /// Those changed in the window whose next deadline had passed by its end (a late response,
    /// a reopening), in change order (the index `reports_updated`).
    ChangedPastDeadline,
}

/// A page of the reports (of any city) a scan of the window (`since`, `until`] reads, after
/// `from` (the scan's time, a deadline or a change, and an id).
pub async fn overdue_scan(
    db: &Db,
    scan: OverdueScan,
    since: Millis,
    until: Millis,
    from: Option<(Millis, String)>,
    limit: u32,
) -> DomainResult<Vec<ReportRow>> {
    let sql = match scan {
        OverdueScan::DeadlinePassed => select_reports!(
            "WHERE r.next_deadline > $1 AND r.next_deadline <= $2 \
             AND (r.next_deadline > $3 OR (r.next_deadline = $3 AND r.id > $4)) \
             ORDER BY r.next_deadline, r.id LIMIT $5"
        ),
        OverdueScan::ChangedPastDeadline => select_reports!(
            "WHERE r.updated_at > $1 AND r.updated_at <= $2 AND r.next_deadline <= $2 \
             AND (r.updated_at > $3 OR (r.updated_at = $3 AND r.id > $4)) \
             ORDER BY r.updated_at, r.id LIMIT $5"
        ),
    };
    let (from_at, from_id) = from.unwrap_or((since, String::new()));
    let rows = sqlx::query(sql)
        .bind(since.0)
        .bind(until.0)
        .bind(from_at.0)
        .bind(from_id)
        .bind(i64::from(limit))
        .fetch_all(&db.pool)
        .await?;
    rows.iter().map(from_row).collect()
}

//! Governance points: the rules row, balances, the append-only ledger, riders' days, the ranking
//! totals and their score counts. Each function runs in the caller's transaction; the service
//! holds the rider (`hold_rider`) before it reads what it decides on.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::{Backend, Db};
use crate::domain::DomainResult;
use crate::domain::points::{DayTally, LocalDay, PaidReason, PointObject, PointRule};
use crate::domain::time::Millis;

/// One ledger entry as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct EntryRow {
    pub id: String,
    pub city_id: String,
    pub rider_id: String,
    pub amount: i64,
    pub rule_amount: i64,
    pub rule: PointRule,
    pub object_kind: PointObject,
    pub object_id: String,
    pub office_id: Option<String>,
    pub actor_id: Option<String>,
    pub actor_role: String,
    pub reason: PaidReason,
    pub note: Option<String>,
    /// The entry a reversal takes back.
    pub reverses: Option<String>,
    pub local_day: LocalDay,
    pub at: Millis,
}

/// An entry as its rider sees it: what moved, why, and for what.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub id: String,
    pub amount: i64,
    pub rule: PointRule,
    pub reason: PaidReason,
    pub object_kind: PointObject,
    pub object_id: String,
    pub note: Option<String>,
    pub reverses: Option<String>,
    pub at: Millis,
}

impl From<EntryRow> for Line {
    fn from(e: EntryRow) -> Self {
        Line {
            id: e.id,
            amount: e.amount,
            rule: e.rule,
            reason: e.reason,
            object_kind: e.object_kind,
            object_id: e.object_id,
            note: e.note,
            reverses: e.reverses,
            at: e.at,
        }
    }
}

const LINE_COLUMNS: &str = "id, amount, rule, reason, object_kind, object_id, note, reverses, at";

fn line(r: &AnyRow) -> DomainResult<Line> {
    let reverses: String = r.try_get("reverses")?;
    Ok(Line {
        id: r.try_get("id")?,
        amount: r.try_get("amount")?,
        rule: r.try_get::<String, _>("rule")?.parse()?,
        reason: r.try_get::<String, _>("reason")?.parse()?,
        object_kind: r.try_get::<String, _>("object_kind")?.parse()?,
        object_id: r.try_get("object_id")?,
        note: r.try_get("note")?,
        reverses: (!reverses.is_empty()).then_some(reverses),
        at: Millis(r.try_get("at")?),
    })
}

const ENTRY_COLUMNS: &str = "id, city_id, rider_id, amount, rule_amount, rule, object_kind, object_id, office_id, \
     actor_id, actor_role, reason, note, reverses, local_day, at";

fn entry(r: &AnyRow) -> DomainResult<EntryRow> {
    let reverses: String = r.try_get("reverses")?;
    Ok(EntryRow {
        id: r.try_get("id")?,
        city_id: r.try_get("city_id")?,
        rider_id: r.try_get("rider_id")?,
        amount: r.try_get("amount")?,
        rule_amount: r.try_get("rule_amount")?,
        rule: r.try_get::<String, _>("rule")?.parse()?,
        object_kind: r.try_get::<String, _>("object_kind")?.parse()?,
        object_id: r.try_get("object_id")?,
        office_id: r.try_get("office_id")?,
        actor_id: r.try_get("actor_id")?,
        actor_role: r.try_get("actor_role")?,
        reason: r.try_get::<String, _>("reason")?.parse()?,
        note: r.try_get("note")?,
        reverses: (!reverses.is_empty()).then_some(reverses),
        local_day: LocalDay::stored(r.try_get("local_day")?),
        at: Millis(r.try_get("at")?),
    })
}

/// The city's rules as stored JSON; none when the city keeps the defaults.
pub async fn rules_json(conn: &mut AnyConnection, city_id: &str) -> DomainResult<Option<String>> {
    let row =
        sqlx::query("SELECT rules_json FROM point_rules WHERE city_id = $1").bind(city_id).fetch_optional(conn).await?;
    Ok(row.map(|r| r.try_get("rules_json")).transpose()?)
}

pub async fn save_rules(conn: &mut AnyConnection, city_id: &str, json: &str, now: Millis) -> DomainResult<()> {
    sqlx::query(
        "INSERT INTO point_rules (city_id, rules_json, updated_at) VALUES ($1, $2, $3) \
         ON CONFLICT (city_id) DO UPDATE SET rules_json = excluded.rules_json, updated_at = excluded.updated_at",
    )
    .bind(city_id)
    .bind(json)
    .bind(now.0)
    .execute(conn)
    .await?;
    Ok(())
}

/// Opens the rider's balance if they have none, and holds it until the transaction ends (a row
/// lock on PostgreSQL; SQLite's write transactions are one at a time already). Returns the
/// balance as it stands now.
pub async fn hold_rider(conn: &mut AnyConnection, city_id: &str, rider_id: &str, now: Millis) -> DomainResult<i64> {
    sqlx::query(
        "INSERT INTO point_accounts (rider_id, city_id, balance, updated_at) VALUES ($1, $2, 0, $3) \
         ON CONFLICT (rider_id) DO NOTHING",
    )
    .bind(rider_id)
    .bind(city_id)
    .bind(now.0)
    .execute(&mut *conn)
    .await?;
    let row = sqlx::query("UPDATE point_accounts SET updated_at = $2 WHERE rider_id = $1 RETURNING balance")
        .bind(rider_id)
        .bind(now.0)
        .fetch_one(conn)
        .await?;
    Ok(row.try_get("balance")?)
}

/// Adds `delta` to the balance unless that would take it below zero; false when it would.
pub async fn change_balance(conn: &mut AnyConnection, rider_id: &str, delta: i64, now: Millis) -> DomainResult<bool> {
    let done = sqlx::query(
        "UPDATE point_accounts SET balance = balance + $2, updated_at = $3 WHERE rider_id = $1 AND balance + $2 >= 0",
    )
    .bind(rider_id)
    .bind(delta)
    .bind(now.0)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn balance(db: &Db, rider_id: &str) -> DomainResult<i64> {
    let row = sqlx::query("SELECT balance FROM point_accounts WHERE rider_id = $1")
        .bind(rider_id)
        .fetch_optional(&db.pool)
        .await?;
    Ok(row.map(|r| r.try_get("balance")).transpose()?.unwrap_or(0))
}

pub async fn day_tally(conn: &mut AnyConnection, rider_id: &str, day: &LocalDay) -> DomainResult<DayTally> {
    let row = sqlx::query("SELECT earned, checkins, awarded FROM point_days WHERE rider_id = $1 AND local_day = $2")
        .bind(rider_id)
        .bind(day.as_str())
        .fetch_optional(conn)
        .await?;
    let Some(r) = row else { return Ok(DayTally::default()) };
    Ok(DayTally { earned: r.try_get("earned")?, checkins: r.try_get("checkins")?, awarded: r.try_get("awarded")? })
}

pub async fn save_day(conn: &mut AnyConnection, rider_id: &str, day: &LocalDay, tally: DayTally) -> DomainResult<()> {
    sqlx::query(
        "INSERT INTO point_days (rider_id, local_day, earned, checkins, awarded) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (rider_id, local_day) DO UPDATE SET earned = excluded.earned, checkins = excluded.checkins, \
         awarded = excluded.awarded",
    )
    .bind(rider_id)
    .bind(day.as_str())
    .bind(tally.earned)
    .bind(tally.checkins)
    .bind(tally.awarded)
    .execute(conn)
    .await?;
    Ok(())
}

/// Appends an entry unless one of its rule for the same rider and object (and reversed entry) is
/// there already; false then, and nothing is written.
pub async fn insert_entry(conn: &mut AnyConnection, e: &EntryRow) -> DomainResult<bool> {
    let done = sqlx::query(
        "INSERT INTO point_entries (id, city_id, rider_id, amount, rule_amount, rule, object_kind, object_id, \
         office_id, actor_id, actor_role, reason, note, reverses, local_day, at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) \
         ON CONFLICT (rider_id, rule, object_kind, object_id, reverses) DO NOTHING",
    )
    .bind(&e.id)
    .bind(&e.city_id)
    .bind(&e.rider_id)
    .bind(e.amount)
    .bind(e.rule_amount)
    .bind(e.rule.as_str())
    .bind(e.object_kind.as_str())
    .bind(&e.object_id)
    .bind(e.office_id.as_deref())
    .bind(e.actor_id.as_deref())
    .bind(&e.actor_role)
    .bind(e.reason.as_str())
    .bind(e.note.as_deref())
    .bind(e.reverses.as_deref().unwrap_or(""))
    .bind(e.local_day.as_str())
    .bind(e.at.0)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The entries written for an object, oldest first.
pub async fn entries_for(
    conn: &mut AnyConnection,
    object_kind: PointObject,
    object_id: &str,
) -> DomainResult<Vec<EntryRow>> {
    let sql =
        format!("SELECT {ENTRY_COLUMNS} FROM point_entries WHERE object_kind = $1 AND object_id = $2 ORDER BY id");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(object_kind.as_str()).bind(object_id).fetch_all(conn).await?;
    rows.iter().map(entry).collect()
}

/// One entry by id.
pub async fn entry_by_id(db: &Db, id: &str) -> DomainResult<Option<EntryRow>> {
    let sql = format!("SELECT {ENTRY_COLUMNS} FROM point_entries WHERE id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(&db.pool).await?;
    row.as_ref().map(entry).transpose()
}

/// A rider's entries, newest first: at most `limit` before the entry `before`.
pub async fn history(db: &Db, rider_id: &str, before: Option<&str>, limit: u32) -> DomainResult<Vec<Line>> {
    let sql = format!(
        "SELECT {LINE_COLUMNS} FROM point_entries WHERE rider_id = $1 AND ($2 = '' OR id < $2) ORDER BY id DESC LIMIT $3"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(rider_id)
        .bind(before.unwrap_or(""))
        .bind(i64::from(limit))
        .fetch_all(&db.pool)
        .await?;
    rows.iter().map(line).collect()
}

/// A page of a rider's ledger (newest first, at most `limit` before `before`) with their balance
/// and points in a period and scope, in one statement that answers one row: the page comes as a
/// JSON array built by the database, so a page costs one row to fetch whatever its length.
pub async fn page_with_summary(
    db: &Db,
    rider_id: &str,
    (period, scope): (&str, &str),
    before: Option<&str>,
    limit: u32,
) -> DomainResult<(i64, i64, Vec<Line>)> {
    let sql = match db.backend {
        Backend::Sqlite => concat!(
            "SELECT COALESCE((SELECT balance FROM point_accounts WHERE rider_id = $1), 0) AS balance, ",
            "COALESCE((SELECT points FROM point_totals WHERE period = $3 AND scope = $4 AND rider_id = $1), 0) AS points, ",
            "(SELECT json_group_array(json_object('id', id, 'amount', amount, 'rule', rule, 'reason', reason, ",
            "'object_kind', object_kind, 'object_id', object_id, 'note', note, 'reverses', reverses, 'at', at)) ",
            "FROM (SELECT * FROM point_entries WHERE rider_id = $1 AND id < $2 ",
            "ORDER BY id DESC LIMIT {limit})) AS lines"
        ),
        Backend::Postgres => concat!(
            "SELECT COALESCE((SELECT balance FROM point_accounts WHERE rider_id = $1), 0) AS balance, ",
            "COALESCE((SELECT points FROM point_totals WHERE period = $3 AND scope = $4 AND rider_id = $1), 0) AS points, ",
            "(SELECT COALESCE(json_agg(json_build_object('id', id, 'amount', amount, 'rule', rule, 'reason', reason, ",
            "'object_kind', object_kind, 'object_id', object_id, 'note', note, 'reverses', reverses, 'at', at) ",
            "ORDER BY id DESC), '[]'::json)::text ",
            "FROM (SELECT * FROM point_entries WHERE rider_id = $1 AND id < $2 ",
            "ORDER BY id DESC LIMIT {limit}) e) AS lines"
        ),
    };
    let row = sqlx::query(sqlx::AssertSqlSafe(with_limit(sql, limit)))
        .bind(rider_id)
        // Above every id (ids are lowercase hexadecimal and dashes): the first page.
        .bind(before.unwrap_or("~"))
        .bind(period)
        .bind(scope)
        .fetch_one(&db.pool)
        .await?;
    let lines: String = row.try_get("lines")?;
    let lines: Vec<JsonLine> =
        serde_json::from_str(&lines).map_err(|e| crate::domain::DomainError::internal_in("a ledger page's JSON", e))?;
    let lines = lines.into_iter().map(Line::try_from).collect::<DomainResult<_>>()?;
    Ok((row.try_get("balance")?, row.try_get("points")?, lines))
}

/// `sql` with its `{limit}` written in as a number. SQLite's planner reads a bound `LIMIT` while
/// preparing, so a new value for it expires the prepared statement and every execution parses
/// and plans it again (about half the cost of a points page, measured with perf); a limit written
/// in is planned once per value. The limit is one of ours (a `u32`), never the caller's text.
fn with_limit(sql: &'static str, limit: u32) -> String {
    sql.replace("{limit}", &limit.to_string())
}

/// A ledger line as `page_with_summary`'s JSON carries it.
#[derive(serde::Deserialize)]
struct JsonLine {
    id: String,
    amount: i64,
    rule: String,
    reason: String,
    object_kind: String,
    object_id: String,
    note: Option<String>,
    reverses: String,
    at: i64,
}

impl TryFrom<JsonLine> for Line {
    type Error = crate::domain::DomainError;

    fn try_from(j: JsonLine) -> DomainResult<Line> {
        Ok(Line {
            id: j.id,
            amount: j.amount,
            rule: j.rule.parse()?,
            reason: j.reason.parse()?,
            object_kind: j.object_kind.parse()?,
            object_id: j.object_id,
            note: j.note,
            reverses: (!j.reverses.is_empty()).then_some(j.reverses),
            at: Millis(j.at),
        })
    }
}

/// A city's entries of the local days `from` to `to` (both included), in the order written: at
/// most `limit` after the entry `after`.
pub async fn entries_between(
    db: &Db,
    city_id: &str,
    (from, to): (&str, &str),
    after: &str,
    limit: u32,
) -> DomainResult<Vec<EntryRow>> {
    let sql = format!(
        "SELECT {ENTRY_COLUMNS} FROM point_entries WHERE city_id = $1 AND local_day >= $2 AND local_day <= $3 \
         AND id > $4 ORDER BY id LIMIT $5"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(city_id)
        .bind(from)
        .bind(to)
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&db.pool)
        .await?;
    rows.iter().map(entry).collect()
}

/// Adds `delta` to a rider's points for a period and scope; returns the points before and after.
pub async fn add_to_total(
    conn: &mut AnyConnection,
    city_id: &str,
    period: &str,
    scope: &str,
    rider_id: &str,
    delta: i64,
) -> DomainResult<(i64, i64)> {
    let row = sqlx::query(
        "INSERT INTO point_totals (city_id, period, scope, rider_id, points) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (period, scope, rider_id) DO UPDATE SET points = point_totals.points + excluded.points \
         RETURNING points",
    )
    .bind(city_id)
    .bind(period)
    .bind(scope)
    .bind(rider_id)
    .bind(delta)
    .fetch_one(conn)
    .await?;
    let after: i64 = row.try_get("points")?;
    Ok((after - delta, after))
}

/// Adds `delta` riders to those holding `points` in a period and scope.
pub async fn count_score(
    conn: &mut AnyConnection,
    city_id: &str,
    period: &str,
    scope: &str,
    points: i64,
    delta: i64,
) -> DomainResult<()> {
    sqlx::query(
        "INSERT INTO point_score_counts (city_id, period, scope, points, riders) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (period, scope, points) DO UPDATE SET riders = point_score_counts.riders + excluded.riders",
    )
    .bind(city_id)
    .bind(period)
    .bind(scope)
    .bind(points)
    .bind(delta)
    .execute(conn)
    .await?;
    Ok(())
}

/// How many riders hold each score at or above `floor` in a period and scope, and the reader's
/// own points (0 when none; none without a reader), read in one statement. The floor is lowered
/// to the reader's points, so that their rank can be counted from the same rows.
pub async fn score_counts(
    db: &Db,
    period: &str,
    scope: &str,
    floor: i64,
    reader: Option<&str>,
) -> DomainResult<(Vec<(i64, i64)>, Option<i64>)> {
    let rows = sqlx::query(
        "WITH me AS (SELECT COALESCE((SELECT points FROM point_totals \
           WHERE period = $1 AND scope = $2 AND rider_id = $3), 0) AS p) \
         SELECT me.p AS mine, c.points, c.riders FROM me LEFT JOIN point_score_counts c \
           ON c.period = $1 AND c.scope = $2 AND c.riders > 0 \
           AND c.points >= CASE WHEN $3 <> '' AND me.p < $4 THEN me.p ELSE $4 END",
    )
    .bind(period)
    .bind(scope)
    .bind(reader.unwrap_or(""))
    .bind(floor)
    .fetch_all(&db.pool)
    .await?;
    let mine = match (reader, rows.first()) {
        (Some(_), Some(r)) => Some(r.try_get("mine")?),
        (Some(_), None) => Some(0),
        (None, _) => None,
    };
    let mut counts = Vec::with_capacity(rows.len());
    for r in &rows {
        if let (Some(points), Some(riders)) =
            (r.try_get::<Option<i64>, _>("points")?, r.try_get::<Option<i64>, _>("riders")?)
        {
            counts.push((points, riders));
        }
    }
    Ok((counts, mine))
}

/// One rider's place in a ranking page.
#[derive(Debug, Clone)]
pub struct Ranked {
    pub rider_id: String,
    pub points: i64,
    pub display_name: String,
    pub name_shown: bool,
}

/// A page of a ranking, most points first (ties by rider id, descending, so the index serves the
/// order both ways): at most `limit` after `(points, rider_id)`. Riders with no points left are
/// not ranked.
pub async fn ranking(
    db: &Db,
    period: &str,
    scope: &str,
    after: Option<(i64, &str)>,
    limit: u32,
) -> DomainResult<Vec<Ranked>> {
    let (points, rider) = after.unwrap_or((i64::MAX, ""));
    let rows = sqlx::query(
        "SELECT t.rider_id, t.points, a.display_name, a.ranking_name_shown FROM point_totals t \
         JOIN accounts a ON a.id = t.rider_id \
         WHERE t.period = $1 AND t.scope = $2 AND t.points > 0 \
         AND (t.points < $3 OR (t.points = $3 AND ($4 = '' OR t.rider_id < $4))) \
         ORDER BY t.points DESC, t.rider_id DESC LIMIT $5",
    )
    .bind(period)
    .bind(scope)
    .bind(points)
    .bind(rider)
    .bind(i64::from(limit))
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Ranked {
                rider_id: r.try_get("rider_id")?,
                points: r.try_get("points")?,
                display_name: r.try_get("display_name")?,
                name_shown: r.try_get::<i32, _>("ranking_name_shown")? == 1,
            })
        })
        .collect()
}

/// A rider's points in a period and scope (0 when none).
pub async fn reader_points(db: &Db, period: &str, scope: &str, rider_id: &str) -> DomainResult<i64> {
    let row = sqlx::query("SELECT points FROM point_totals WHERE period = $1 AND scope = $2 AND rider_id = $3")
        .bind(period)
        .bind(scope)
        .bind(rider_id)
        .fetch_optional(&db.pool)
        .await?;
    Ok(row.map(|r| r.try_get("points")).transpose()?.unwrap_or(0))
}

/// Whether the rider appears in rankings by their masked name.
pub async fn set_ranking_name_shown(db: &Db, rider_id: &str, shown: bool) -> DomainResult<()> {
    sqlx::query("UPDATE accounts SET ranking_name_shown = $2, updated_at = $3 WHERE id = $1")
        .bind(rider_id)
        .bind(super::bool_to_int(shown))
        .bind(Millis::now().0)
        .execute(&db.pool)
        .await?;
    Ok(())
}

pub async fn ranking_name_shown(db: &Db, rider_id: &str) -> DomainResult<bool> {
    let row = sqlx::query("SELECT ranking_name_shown FROM accounts WHERE id = $1")
        .bind(rider_id)
        .fetch_optional(&db.pool)
        .await?;
    Ok(row.map(|r| r.try_get::<i32, _>("ranking_name_shown")).transpose()?.unwrap_or(0) == 1)
}

/// The first rider other than the reporter to say "me too" on a report (or follow it), if any.
pub async fn first_me_too(
    conn: &mut AnyConnection,
    report_id: &str,
    reporter_id: &str,
) -> DomainResult<Option<String>> {
    let row = sqlx::query(
        "SELECT actor_id FROM report_events WHERE report_id = $1 AND kind = 'me_too' AND actor_id IS NOT NULL \
         AND actor_id <> $2 ORDER BY at, id LIMIT 1",
    )
    .bind(report_id)
    .bind(reporter_id)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| r.try_get("actor_id")).transpose()?)
}

/// Whether the account is a rider of the city (and not disabled).
pub async fn is_rider(conn: &mut AnyConnection, city_id: &str, account_id: &str) -> DomainResult<bool> {
    let row =
        sqlx::query("SELECT 1 AS x FROM accounts WHERE id = $1 AND city_id = $2 AND role = 'rider' AND disabled = 0")
            .bind(account_id)
            .bind(city_id)
            .fetch_optional(conn)
            .await?;
    Ok(row.is_some())
}

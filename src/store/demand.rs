//! The demand map's counters: per cell, period, what was asked and amenity; and how often each
//! place was shown. Rows are only ever added to (two nodes flushing the same counter add up) or
//! moved whole into a coarser period by a roll-up.

use sqlx::{AnyConnection, Row};

use super::Db;
use crate::domain::DomainResult;
use crate::domain::demand::{Grain, Tally};
use crate::domain::time::Millis;

/// A counter row without its grain: period start, cell, asked, amenity ('' for none), counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CountRow {
    pub period_start: i64,
    pub cell: String,
    pub asked: String,
    pub amenity: String,
    pub tally: Tally,
}

/// Rows per statement: a flush may hold a row for every place shown, and one statement per row
/// would cost more than the searches it counts. Not many more: SQLite looks each `$n` up in a
/// list, so binding a statement costs the square of its placeholders (perf showed 500 rows of 7,
/// every 5 s, as 3 % of a nearby load test's CPU in `sqlite3_bind_parameter_name`).
const ROWS_PER_STATEMENT: usize = 50;

/// `($1, $2, …), ($n+1, …)`: `rows` tuples of `width` numbered placeholders. Only placeholders
/// are spliced into a statement, never a value.
fn value_tuples(rows: usize, width: usize) -> String {
    (0..rows)
        .map(|r| {
            let fields: Vec<String> = (1..=width).map(|c| format!("${}", r * width + c)).collect();
            format!("({})", fields.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Adds counts to their rows (creating them), many rows a statement.
pub async fn add_counts(conn: &mut AnyConnection, grain: Grain, rows: &[CountRow]) -> DomainResult<()> {
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "INSERT INTO demand_counts (grain, period_start, cell, asked, amenity, searches, unmet) VALUES {} \
             ON CONFLICT (grain, period_start, cell, asked, amenity) \
             DO UPDATE SET searches = demand_counts.searches + excluded.searches, \
             unmet = demand_counts.unmet + excluded.unmet",
            value_tuples(chunk.len(), 7)
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for r in chunk {
            query = query
                .bind(grain.as_str())
                .bind(r.period_start)
                .bind(r.cell.clone())
                .bind(r.asked.clone())
                .bind(r.amenity.clone())
                .bind(r.tally.searches)
                .bind(r.tally.unmet);
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Adds to how often places were shown in a period, many rows a statement.
pub async fn add_shown(conn: &mut AnyConnection, grain: Grain, rows: &[(i64, String, i64)]) -> DomainResult<()> {
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "INSERT INTO place_shown (grain, period_start, place_id, shown) VALUES {} \
             ON CONFLICT (grain, period_start, place_id) DO UPDATE SET shown = place_shown.shown + excluded.shown",
            value_tuples(chunk.len(), 4)
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (period_start, place_id, shown) in chunk {
            query = query.bind(grain.as_str()).bind(*period_start).bind(place_id.clone()).bind(*shown);
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Which table a roll-up moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rolled {
    Counts,
    Shown,
}

/// The start of the oldest period of `grain` before `before`, if any.
pub async fn oldest(db: &Db, table: Rolled, grain: Grain, before: Millis) -> DomainResult<Option<i64>> {
    let sql = match table {
        Rolled::Counts => "SELECT MIN(period_start) FROM demand_counts WHERE grain = $1 AND period_start < $2",
        Rolled::Shown => "SELECT MIN(period_start) FROM place_shown WHERE grain = $1 AND period_start < $2",
    };
    let row = sqlx::query(sql).bind(grain.as_str()).bind(before.0).fetch_one(&db.pool).await?;
    Ok(row.try_get::<Option<i64>, _>(0)?)
}

/// Deletes the counter rows of `grain` in `[from, to)` and returns them. Rows another node is
/// taking at the same moment wait for it and are then gone, so no row is rolled up twice.
pub async fn take_counts(
    conn: &mut AnyConnection,
    grain: Grain,
    from: Millis,
    to: Millis,
) -> DomainResult<Vec<CountRow>> {
    let rows = sqlx::query(
        "DELETE FROM demand_counts WHERE grain = $1 AND period_start >= $2 AND period_start < $3 \
         RETURNING period_start, cell, asked, amenity, searches, unmet",
    )
    .bind(grain.as_str())
    .bind(from.0)
    .bind(to.0)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(CountRow {
                period_start: r.try_get("period_start")?,
                cell: r.try_get("cell")?,
                asked: r.try_get("asked")?,
                amenity: r.try_get("amenity")?,
                tally: Tally { searches: r.try_get("searches")?, unmet: r.try_get("unmet")? },
            })
        })
        .collect()
}

/// Deletes the shown rows of `grain` in `[from, to)` and returns (place, shown).
pub async fn take_shown(
    conn: &mut AnyConnection,
    grain: Grain,
    from: Millis,
    to: Millis,
) -> DomainResult<Vec<(String, i64)>> {
    let rows = sqlx::query(
        "DELETE FROM place_shown WHERE grain = $1 AND period_start >= $2 AND period_start < $3 \
         RETURNING place_id, shown",
    )
    .bind(grain.as_str())
    .bind(from.0)
    .bind(to.0)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(|r| Ok((r.try_get("place_id")?, r.try_get("shown")?))).collect()
}

/// Each cell's counts over periods starting in `[from, to)`, for what was asked and an amenity
/// ('' for the searches as a whole).
pub async fn by_cell(
    db: &Db,
    asked: &str,
    amenity: &str,
    from: Millis,
    to: Millis,
) -> DomainResult<Vec<(String, Tally)>> {
    let rows = sqlx::query(
        "SELECT cell, CAST(SUM(searches) AS BIGINT) AS searches, CAST(SUM(unmet) AS BIGINT) AS unmet FROM demand_counts \
         WHERE asked = $1 AND amenity = $2 AND period_start >= $3 AND period_start < $4 GROUP BY cell",
    )
    .bind(asked)
    .bind(amenity)
    .bind(from.0)
    .bind(to.0)
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("cell")?, Tally { searches: r.try_get("searches")?, unmet: r.try_get("unmet")? })))
        .collect()
}

/// A place nobody checked in at and few were shown in a period.
#[derive(Debug, Clone, PartialEq)]
pub struct IdlePlace {
    pub id: String,
    pub kind: String,
    pub name: String,
    pub lat: f64,
    pub lng: f64,
    pub shown: i64,
    pub created_at: Millis,
}

/// Places (not removed) without a check-in in `[from, to)` and shown at most `max_shown` times
/// in periods starting then, least shown first.
pub async fn idle_places(
    db: &Db,
    city_id: &str,
    from: Millis,
    to: Millis,
    kind: Option<&str>,
    max_shown: i64,
    limit: i64,
) -> DomainResult<Vec<IdlePlace>> {
    let sql = format!(
        "SELECT p.id, p.kind, p.name, p.lat, p.lng, p.created_at, COALESCE(s.shown, 0) AS shown FROM places p \
         LEFT JOIN (SELECT place_id, CAST(SUM(shown) AS BIGINT) AS shown FROM place_shown \
         WHERE period_start >= $2 AND period_start < $3 GROUP BY place_id) s ON s.place_id = p.id \
         WHERE p.city_id = $1 AND p.status <> 'removed' AND ($4 = '' OR p.kind = $4) \
         AND COALESCE(s.shown, 0) <= $5 \
         AND NOT EXISTS (SELECT 1 FROM place_checkins c WHERE c.place_id = p.id \
         AND c.created_at >= $2 AND c.created_at < $3) \
         ORDER BY shown, p.id LIMIT {}",
        limit.max(0)
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(city_id)
        .bind(from.0)
        .bind(to.0)
        .bind(kind.unwrap_or(""))
        .bind(max_shown)
        .fetch_all(&db.pool)
        .await?;
    rows.iter()
        .map(|r| {
            Ok(IdlePlace {
                id: r.try_get("id")?,
                kind: r.try_get("kind")?,
                name: r.try_get("name")?,
                lat: r.try_get("lat")?,
                lng: r.try_get("lng")?,
                shown: r.try_get("shown")?,
                created_at: Millis(r.try_get("created_at")?),
            })
        })
        .collect()
}

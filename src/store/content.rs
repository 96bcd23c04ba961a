//! Content checks: one verdict per piece of rider content (a description, a rating comment, a
//! photo), and the photo verdicts WeChat pushed, by trace id.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::{Db, fetch_in};
use crate::domain::DomainResult;
use crate::domain::content::{Checked, Verdict};
use crate::domain::time::Millis;

/// One piece of content and where its check stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckRow {
    pub kind: Checked,
    pub object_id: String,
    pub city_id: String,
    pub report_id: String,
    pub verdict: Verdict,
    pub label: Option<String>,
    pub trace_id: Option<String>,
    pub decided_at: Option<Millis>,
}

/// The columns `from_row` reads.
macro_rules! columns {
    () => {
        "kind, object_id, city_id, report_id, verdict, label, trace_id, decided_at"
    };
}

fn from_row(r: &AnyRow) -> DomainResult<CheckRow> {
    Ok(CheckRow {
        kind: r.try_get::<String, _>("kind")?.parse()?,
        object_id: r.try_get("object_id")?,
        city_id: r.try_get("city_id")?,
        report_id: r.try_get("report_id")?,
        verdict: r.try_get::<String, _>("verdict")?.parse()?,
        label: r.try_get("label")?,
        trace_id: r.try_get("trace_id")?,
        decided_at: r.try_get::<Option<i64>, _>("decided_at")?.map(Millis),
    })
}

/// Records that a piece of content waits for its check, in the caller's transaction; false when
/// it was already recorded (a photo attached again), which then needs no second check.
pub async fn queue(
    conn: &mut AnyConnection,
    city_id: &str,
    kind: Checked,
    object_id: &str,
    report_id: &str,
    now: Millis,
) -> DomainResult<bool> {
    let done = sqlx::query(
        "INSERT INTO content_checks (kind, object_id, city_id, report_id, verdict, created_at) \
         VALUES ($1, $2, $3, $4, 'pending', $5) ON CONFLICT (kind, object_id) DO NOTHING",
    )
    .bind(kind.as_str())
    .bind(object_id)
    .bind(city_id)
    .bind(report_id)
    .bind(now.0)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Decides a pending check; the row as decided, or none when it was not pending (decided
/// already, or never queued).
pub async fn decide(
    conn: &mut AnyConnection,
    kind: Checked,
    object_id: &str,
    verdict: Verdict,
    label: Option<&str>,
    trace_id: Option<&str>,
    now: Millis,
) -> DomainResult<Option<CheckRow>> {
    const SQL: &str = concat!(
        "UPDATE content_checks SET verdict = $1, label = $2, trace_id = COALESCE($3, trace_id), ",
        "requested_at = COALESCE(requested_at, $4), decided_at = $4 ",
        "WHERE kind = $5 AND object_id = $6 AND verdict = 'pending' RETURNING ",
        columns!()
    );
    let row = sqlx::query(SQL)
        .bind(verdict.as_str())
        .bind(label)
        .bind(trace_id)
        .bind(now.0)
        .bind(kind.as_str())
        .bind(object_id)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Records the trace id WeChat gave a photo's check (its verdict comes by push, under that id).
pub async fn requested(db: &Db, kind: Checked, object_id: &str, trace_id: &str, now: Millis) -> DomainResult<()> {
    sqlx::query(
        "UPDATE content_checks SET trace_id = $1, requested_at = $2 \
         WHERE kind = $3 AND object_id = $4 AND verdict = 'pending'",
    )
    .bind(trace_id)
    .bind(now.0)
    .bind(kind.as_str())
    .bind(object_id)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// Keeps a pushed verdict by its trace id (a repeated push changes nothing), committed on its
/// own before any check is decided from it.
pub async fn record_push(
    db: &Db,
    trace_id: &str,
    verdict: Verdict,
    label: Option<&str>,
    now: Millis,
) -> DomainResult<()> {
    sqlx::query(
        "INSERT INTO content_push_verdicts (trace_id, verdict, label, received_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (trace_id) DO NOTHING",
    )
    .bind(trace_id)
    .bind(verdict.as_str())
    .bind(label)
    .bind(now.0)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// Decides the pending checks with this trace id from the verdict pushed for it, if one came;
/// the rows decided. Whichever runs second of the push and the recording of the trace id finds
/// both, as each commits its own write before running this.
pub async fn decide_from_push(conn: &mut AnyConnection, trace_id: &str, now: Millis) -> DomainResult<Vec<CheckRow>> {
    const SQL: &str = concat!(
        "UPDATE content_checks SET ",
        "verdict = (SELECT p.verdict FROM content_push_verdicts p WHERE p.trace_id = $1), ",
        "label = (SELECT p.label FROM content_push_verdicts p WHERE p.trace_id = $1), decided_at = $2 ",
        "WHERE trace_id = $1 AND verdict = 'pending' ",
        "AND EXISTS (SELECT 1 FROM content_push_verdicts p WHERE p.trace_id = $1) RETURNING ",
        columns!()
    );
    let rows = sqlx::query(SQL).bind(trace_id).bind(now.0).fetch_all(&mut *conn).await?;
    rows.iter().map(from_row).collect()
}

/// The checks of these objects (report ids for their texts, media ids for photos); one statement.
pub async fn of_objects(db: &Db, object_ids: &[String]) -> DomainResult<Vec<CheckRow>> {
    const SQL: &str = concat!("SELECT ", columns!(), " FROM content_checks WHERE object_id IN ({ids})");
    let rows = fetch_in(db, SQL, &[], object_ids).await?;
    rows.iter().map(from_row).collect()
}

/// One check.
pub async fn get(db: &Db, kind: Checked, object_id: &str) -> DomainResult<Option<CheckRow>> {
    const SQL: &str = concat!("SELECT ", columns!(), " FROM content_checks WHERE kind = $1 AND object_id = $2");
    let row = sqlx::query(SQL).bind(kind.as_str()).bind(object_id).fetch_optional(&db.pool).await?;
    row.as_ref().map(from_row).transpose()
}

//! Webhook endpoints of units, and how far the overdue detectors have scanned. Their deliveries
//! are outbox rows (`store::outbox`).

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::{Backend, Db, bool_to_int, fetch_in};
use crate::domain::DomainResult;
use crate::domain::time::Millis;
use crate::domain::webhooks::{EventSet, EventType, WebhookUrl};

/// An endpoint as stored.
#[derive(Debug, Clone)]
pub struct EndpointRow {
    pub id: String,
    pub city_id: String,
    pub office_id: String,
    pub url: String,
    pub secret: String,
    pub events: EventSet,
    pub active: bool,
    pub description: String,
    pub created_at: Millis,
    pub updated_at: Millis,
}

impl EndpointRow {
    /// The URL, as it was checked when stored (checked again here for rows from elsewhere).
    pub fn checked_url(&self, allow_private: bool) -> DomainResult<WebhookUrl> {
        WebhookUrl::parse(&self.url, allow_private)
    }
}

macro_rules! select_endpoints {
    ($rest:literal) => {
        concat!(
            "SELECT id, city_id, office_id, url, secret, events, active, description, created_at, updated_at \
             FROM webhook_endpoints ",
            $rest
        )
    };
}

fn from_row(r: &AnyRow) -> DomainResult<EndpointRow> {
    Ok(EndpointRow {
        id: r.try_get("id")?,
        city_id: r.try_get("city_id")?,
        office_id: r.try_get("office_id")?,
        url: r.try_get("url")?,
        secret: r.try_get("secret")?,
        events: EventSet::from_stored(&r.try_get::<String, _>("events")?),
        active: r.try_get::<i32, _>("active")? != 0,
        description: r.try_get("description")?,
        created_at: Millis(r.try_get("created_at")?),
        updated_at: Millis(r.try_get("updated_at")?),
    })
}

pub async fn insert(conn: &mut AnyConnection, e: &EndpointRow) -> DomainResult<()> {
    sqlx::query(
        "INSERT INTO webhook_endpoints (id, city_id, office_id, url, secret, events, active, description, created_at, \
         updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(&e.id)
    .bind(&e.city_id)
    .bind(&e.office_id)
    .bind(&e.url)
    .bind(&e.secret)
    .bind(e.events.to_stored())
    .bind(bool_to_int(e.active))
    .bind(&e.description)
    .bind(e.created_at.0)
    .bind(e.updated_at.0)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Writes the endpoint's URL, events, active flag, description and secret.
pub async fn update(conn: &mut AnyConnection, e: &EndpointRow) -> DomainResult<()> {
    sqlx::query(
        "UPDATE webhook_endpoints SET url = $1, secret = $2, events = $3, active = $4, description = $5, \
         updated_at = $6 WHERE id = $7",
    )
    .bind(&e.url)
    .bind(&e.secret)
    .bind(e.events.to_stored())
    .bind(bool_to_int(e.active))
    .bind(&e.description)
    .bind(e.updated_at.0)
    .bind(&e.id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn delete(conn: &mut AnyConnection, id: &str) -> DomainResult<bool> {
    let done = sqlx::query("DELETE FROM webhook_endpoints WHERE id = $1").bind(id).execute(&mut *conn).await?;
    Ok(done.rows_affected() == 1)
}

/// An endpoint of the city.
pub async fn get<'e, E>(executor: E, city_id: &str, id: &str) -> DomainResult<Option<EndpointRow>>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let row = sqlx::query(select_endpoints!("WHERE id = $1 AND city_id = $2"))
        .bind(id)
        .bind(city_id)
        .fetch_optional(executor)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// An endpoint by id alone, for delivering to it.
pub async fn get_any(db: &Db, id: &str) -> DomainResult<Option<EndpointRow>> {
    let row = sqlx::query(select_endpoints!("WHERE id = $1")).bind(id).fetch_optional(&db.pool).await?;
    row.as_ref().map(from_row).transpose()
}

/// Endpoints of the city (of one unit, or all) in id order after `after`.
pub async fn list(
    db: &Db,
    city_id: &str,
    office_id: Option<&str>,
    after: Option<&str>,
    limit: u32,
) -> DomainResult<Vec<EndpointRow>> {
    let rows = sqlx::query(select_endpoints!(
        "WHERE city_id = $1 AND ($2 IS NULL OR office_id = $2) AND id > $3 ORDER BY id LIMIT $4"
    ))
    .bind(city_id)
    .bind(office_id)
    .bind(after.unwrap_or(""))
    .bind(i64::from(limit))
    .fetch_all(&db.pool)
    .await?;
    rows.iter().map(from_row).collect()
}

/// Holds the unit's endpoints until the transaction on `conn` ends, so that parallel
/// registrations count one after another: PostgreSQL locks the unit's row (`NO KEY UPDATE`,
/// which rows referring to it do not wait for); a SQLite write transaction holds the database.
pub async fn hold_office(conn: &mut AnyConnection, backend: Backend, office_id: &str) -> DomainResult<()> {
    if backend == Backend::Postgres {
        sqlx::query("SELECT id FROM offices WHERE id = $1 FOR NO KEY UPDATE")
            .bind(office_id)
            .fetch_optional(conn)
            .await?;
    }
    Ok(())
}

/// How many endpoints a unit has.
pub async fn count_of_office(conn: &mut AnyConnection, office_id: &str) -> DomainResult<i64> {
    let row = sqlx::query("SELECT COUNT(*) AS n FROM webhook_endpoints WHERE office_id = $1")
        .bind(office_id)
        .fetch_one(&mut *conn)
        .await?;
    Ok(row.try_get("n")?)
}

/// The active endpoints of a unit that want `event`, in the caller's transaction.
pub async fn subscribed(conn: &mut AnyConnection, office_id: &str, event: EventType) -> DomainResult<Vec<String>> {
    let rows = sqlx::query("SELECT id, events FROM webhook_endpoints WHERE office_id = $1 AND active = 1 ORDER BY id")
        .bind(office_id)
        .fetch_all(&mut *conn)
        .await?;
    let mut ids = Vec::new();
    for r in &rows {
        if EventSet::from_stored(&r.try_get::<String, _>("events")?).contains(event) {
            ids.push(r.try_get("id")?);
        }
    }
    Ok(ids)
}

/// The active endpoints of these units, with what each wants: (endpoint, unit, events); one
/// statement whatever the number of units.
pub async fn active_of_offices(db: &Db, office_ids: &[String]) -> DomainResult<Vec<(String, String, EventSet)>> {
    let rows = fetch_in(
        db,
        "SELECT id, office_id, events FROM webhook_endpoints WHERE active = 1 AND office_id IN ({ids}) ORDER BY id",
        &[],
        office_ids,
    )
    .await?;
    rows.iter()
        .map(|r| {
            let events = EventSet::from_stored(&r.try_get::<String, _>("events")?);
            Ok((r.try_get("id")?, r.try_get("office_id")?, events))
        })
        .collect()
}

/// True when some active endpoint anywhere wants an overdue event (else the detector has
/// nothing to raise and only moves its mark on).
pub async fn any_wants_overdue(db: &Db) -> DomainResult<bool> {
    let row = sqlx::query(
        "SELECT id FROM webhook_endpoints WHERE active = 1 AND (events LIKE '%report.overdue_response%' \
         OR events LIKE '%report.overdue_resolution%') LIMIT 1",
    )
    .fetch_optional(&db.pool)
    .await?;
    Ok(row.is_some())
}

/// How far the scan `name` has got, if it ever ran.
pub async fn scanned_to(db: &Db, name: &str) -> DomainResult<Option<Millis>> {
    let row =
        sqlx::query("SELECT scanned_to FROM webhook_scans WHERE name = $1").bind(name).fetch_optional(&db.pool).await?;
    Ok(row.map(|r| r.try_get("scanned_to")).transpose()?.map(Millis))
}

/// Moves the scan's mark forward to `to` (never back: another node may be ahead).
pub async fn advance_scan(db: &Db, name: &str, to: Millis) -> DomainResult<()> {
    sqlx::query(
        "INSERT INTO webhook_scans (name, scanned_to) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE \
         SET scanned_to = excluded.scanned_to WHERE webhook_scans.scanned_to < excluded.scanned_to",
    )
    .bind(name)
    .bind(to.0)
    .execute(&db.pool)
    .await?;
    Ok(())
}

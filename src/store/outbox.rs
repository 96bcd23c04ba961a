//! The outbox: durable messages waiting for delivery.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Backend, Db, new_id};
use crate::domain::DomainResult;
use crate::domain::time::Millis;

#[derive(Debug, Clone)]
pub struct OutboxMessage {
    pub id: String,
    pub city_id: String,
    pub kind: String,
    pub payload: serde_json::Value,
    pub attempts: i32,
}

fn from_row(r: &AnyRow) -> DomainResult<OutboxMessage> {
    let payload: String = r.try_get("payload_json")?;
    Ok(OutboxMessage {
        id: r.try_get("id")?,
        city_id: r.try_get("city_id")?,
        kind: r.try_get("kind")?,
        payload: serde_json::from_str(&payload).unwrap_or(serde_json::Value::Null),
        attempts: r.try_get("attempts")?,
    })
}

/// Adds a message; pass the transaction of the change that caused it.
pub async fn enqueue<'e, E>(executor: E, city_id: &str, kind: &str, payload: &serde_json::Value) -> DomainResult<String>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let id = new_id();
    let now = Millis::now().0;
    sqlx::query(
        "INSERT INTO outbox (id, city_id, kind, payload_json, status, attempts, next_attempt_at, created_at) \
         VALUES ($1, $2, $3, $4, 'pending', 0, $5, $5)",
    )
    .bind(&id)
    .bind(city_id)
    .bind(kind)
    .bind(payload.to_string())
    .bind(now)
    .execute(executor)
    .await?;
    Ok(id)
}

/// Which messages a delivery loop takes: office webhooks go their own way, so that a slow
/// receiver never holds up riders' notifications (nor they it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lane {
    /// Everything but webhooks (WeChat subscribe messages).
    Notifications,
    /// Office webhooks (`kind = 'webhook'`).
    Webhooks,
}

/// The kind of every webhook delivery.
pub const KIND_WEBHOOK: &str = "webhook";

macro_rules! claim_sql {
    ($kind_test:literal, $lock:literal) => {
        concat!(
            "UPDATE outbox SET locked_until = $1 WHERE id IN (SELECT id FROM outbox ",
            "WHERE status = 'pending' AND next_attempt_at <= $2 AND (locked_until IS NULL OR locked_until < $2) ",
            "AND kind ",
            $kind_test,
            " $4 ORDER BY next_attempt_at LIMIT $3",
            $lock,
            ") RETURNING id, city_id, kind, payload_json, attempts"
        )
    };
}

/// Leases up to `limit` due messages of a lane to this node until `now + lease_ms`. On
/// PostgreSQL, `FOR UPDATE SKIP LOCKED` keeps nodes from claiming the same rows; SQLite has one
/// writer.
pub async fn claim_due(
    db: &Db,
    now: Millis,
    lease_ms: i64,
    limit: i64,
    lane: Lane,
) -> DomainResult<Vec<OutboxMessage>> {
    let sql = match (db.backend, lane) {
        (Backend::Postgres, Lane::Notifications) => claim_sql!("<>", " FOR UPDATE SKIP LOCKED"),
        (Backend::Postgres, Lane::Webhooks) => claim_sql!("=", " FOR UPDATE SKIP LOCKED"),
        (Backend::Sqlite, Lane::Notifications) => claim_sql!("<>", ""),
        (Backend::Sqlite, Lane::Webhooks) => claim_sql!("=", ""),
    };
    let rows =
        sqlx::query(sql).bind(now.0 + lease_ms).bind(now.0).bind(limit).bind(KIND_WEBHOOK).fetch_all(&db.pool).await?;
    rows.iter().map(from_row).collect()
}

pub async fn mark_sent(db: &Db, id: &str, now: Millis) -> DomainResult<()> {
    sqlx::query("UPDATE outbox SET status = 'sent', attempts = attempts + 1, sent_at = $1, locked_until = NULL, last_error = NULL WHERE id = $2")
        .bind(now.0)
        .bind(id)
        .execute(&db.pool)
        .await?;
    Ok(())
}

pub async fn mark_retry(db: &Db, id: &str, next_attempt_at: Millis, error: &str) -> DomainResult<()> {
    sqlx::query("UPDATE outbox SET attempts = attempts + 1, next_attempt_at = $1, locked_until = NULL, last_error = $2 WHERE id = $3")
        .bind(next_attempt_at.0)
        .bind(error)
        .bind(id)
        .execute(&db.pool)
        .await?;
    Ok(())
}

pub async fn mark_dead(db: &Db, id: &str, error: &str) -> DomainResult<()> {
    sqlx::query("UPDATE outbox SET status = 'dead', attempts = attempts + 1, locked_until = NULL, last_error = $1 WHERE id = $2")
        .bind(error)
        .bind(id)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// (status, attempts, last_error) of a message, for operators and tests.
pub async fn state_of(db: &Db, id: &str) -> DomainResult<Option<(String, i32, Option<String>)>> {
    let row = sqlx::query("SELECT status, attempts, last_error FROM outbox WHERE id = $1")
        .bind(id)
        .fetch_optional(&db.pool)
        .await?;
    row.map(|r| Ok((r.try_get("status")?, r.try_get("attempts")?, r.try_get("last_error")?))).transpose()
}

/// Queues a message once: nothing happens when a message with the same `dedupe_key` exists
/// (an event raised twice). The new message's id when this call queued it. Pass the change's
/// transaction.
pub async fn enqueue_once(
    conn: &mut sqlx::AnyConnection,
    city_id: &str,
    kind: &str,
    payload: &serde_json::Value,
    dedupe_key: &str,
    endpoint_id: &str,
    due: Millis,
) -> DomainResult<Option<String>> {
    let id = new_id();
    let done = sqlx::query(
        "INSERT INTO outbox (id, city_id, kind, payload_json, status, attempts, next_attempt_at, created_at, \
         dedupe_key, endpoint_id) VALUES ($1, $2, $3, $4, 'pending', 0, $5, $5, $6, $7) \
         ON CONFLICT (dedupe_key) DO NOTHING",
    )
    .bind(&id)
    .bind(city_id)
    .bind(kind)
    .bind(payload.to_string())
    .bind(due.0)
    .bind(dedupe_key)
    .bind(endpoint_id)
    .execute(&mut *conn)
    .await?;
    Ok((done.rows_affected() == 1).then_some(id))
}

/// What one delivery attempt came to, as recorded.
#[derive(Debug, Clone)]
pub struct AttemptRecord<'a> {
    pub at: Millis,
    /// `sent`, `dead`, or `pending` again (with `next_attempt_at`).
    pub status: &'a str,
    pub next_attempt_at: Option<Millis>,
    pub error: Option<&'a str>,
    pub http_status: Option<u16>,
}

/// Records an attempt on a message still pending (one recorded sent or dead meanwhile, by a node
/// whose lease outlived ours, stays as it is); releases the lease.
pub async fn record_attempt(db: &Db, id: &str, a: &AttemptRecord<'_>) -> DomainResult<()> {
    sqlx::query(
        "UPDATE outbox SET status = $1, attempts = attempts + 1, last_attempt_at = $2, last_error = $3, \
         last_http_status = $4, sent_at = CASE WHEN $1 = 'sent' THEN $2 ELSE sent_at END, \
         next_attempt_at = COALESCE($5, next_attempt_at), locked_until = NULL WHERE id = $6 AND status = 'pending'",
    )
    .bind(a.status)
    .bind(a.at.0)
    .bind(a.error)
    .bind(a.http_status.map(i32::from))
    .bind(a.next_attempt_at.map(|m| m.0))
    .bind(id)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// A webhook delivery as its endpoint's owners see it.
#[derive(Debug, Clone)]
pub struct DeliveryRow {
    pub id: String,
    pub endpoint_id: String,
    pub payload: serde_json::Value,
    pub status: String,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub last_http_status: Option<i32>,
    pub created_at: Millis,
    pub last_attempt_at: Option<Millis>,
    pub next_attempt_at: Millis,
    pub sent_at: Option<Millis>,
}

macro_rules! select_deliveries {
    ($rest:literal) => {
        concat!(
            "SELECT id, endpoint_id, payload_json, status, attempts, last_error, last_http_status, created_at, \
             last_attempt_at, next_attempt_at, sent_at FROM outbox ",
            $rest
        )
    };
}

fn delivery_from_row(r: &AnyRow) -> DomainResult<DeliveryRow> {
    let payload: String = r.try_get("payload_json")?;
    Ok(DeliveryRow {
        id: r.try_get("id")?,
        endpoint_id: r.try_get("endpoint_id")?,
        payload: serde_json::from_str(&payload).unwrap_or(serde_json::Value::Null),
        status: r.try_get("status")?,
        attempts: r.try_get("attempts")?,
        last_error: r.try_get("last_error")?,
        last_http_status: r.try_get("last_http_status")?,
        created_at: Millis(r.try_get("created_at")?),
        last_attempt_at: r.try_get::<Option<i64>, _>("last_attempt_at")?.map(Millis),
        next_attempt_at: Millis(r.try_get("next_attempt_at")?),
        sent_at: r.try_get::<Option<i64>, _>("sent_at")?.map(Millis),
    })
}

/// An endpoint's deliveries, newest first (ids are time-ordered), of one status or all, after
/// the id `before`.
pub async fn deliveries(
    db: &Db,
    endpoint_id: &str,
    status: Option<&str>,
    before: Option<&str>,
    limit: u32,
) -> DomainResult<Vec<DeliveryRow>> {
    let rows = sqlx::query(select_deliveries!(
        "WHERE endpoint_id = $1 AND ($2 IS NULL OR status = $2) AND ($3 IS NULL OR id < $3) ORDER BY id DESC LIMIT $4"
    ))
    .bind(endpoint_id)
    .bind(status)
    .bind(before)
    .bind(i64::from(limit))
    .fetch_all(&db.pool)
    .await?;
    rows.iter().map(delivery_from_row).collect()
}

/// One delivery of an endpoint.
pub async fn delivery<'e, E>(executor: E, endpoint_id: &str, id: &str) -> DomainResult<Option<DeliveryRow>>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let row = sqlx::query(select_deliveries!("WHERE endpoint_id = $1 AND id = $2"))
        .bind(endpoint_id)
        .bind(id)
        .fetch_optional(executor)
        .await?;
    row.as_ref().map(delivery_from_row).transpose()
}

/// Gives a dead letter a fresh round of attempts, due at `now`. False when it is not dead (sent,
/// still pending, or revived by someone else a moment ago).
pub async fn revive(conn: &mut sqlx::AnyConnection, endpoint_id: &str, id: &str, now: Millis) -> DomainResult<bool> {
    let done = sqlx::query(
        "UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_at = $1, locked_until = NULL \
         WHERE endpoint_id = $2 AND id = $3 AND status = 'dead'",
    )
    .bind(now.0)
    .bind(endpoint_id)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Gives up every pending delivery of an endpoint that is going away.
pub async fn bury_pending(conn: &mut sqlx::AnyConnection, endpoint_id: &str, reason: &str) -> DomainResult<u64> {
    let done = sqlx::query(
        "UPDATE outbox SET status = 'dead', last_error = $1, locked_until = NULL \
         WHERE endpoint_id = $2 AND status = 'pending'",
    )
    .bind(reason)
    .bind(endpoint_id)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected())
}

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

/// Leases up to `limit` due messages to this node until `now + lease_ms`. On PostgreSQL,
/// `FOR UPDATE SKIP LOCKED` keeps nodes from claiming the same rows; SQLite has one writer.
pub async fn claim_due(db: &Db, now: Millis, lease_ms: i64, limit: i64) -> DomainResult<Vec<OutboxMessage>> {
    let sql = match db.backend {
        Backend::Postgres => concat!(
            "UPDATE outbox SET locked_until = $1 WHERE id IN (SELECT id FROM outbox ",
            "WHERE status = 'pending' AND next_attempt_at <= $2 AND (locked_until IS NULL OR locked_until < $2) ",
            "ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED) ",
            "RETURNING id, city_id, kind, payload_json, attempts"
        ),
        Backend::Sqlite => concat!(
            "UPDATE outbox SET locked_until = $1 WHERE id IN (SELECT id FROM outbox ",
            "WHERE status = 'pending' AND next_attempt_at <= $2 AND (locked_until IS NULL OR locked_until < $2) ",
            "ORDER BY next_attempt_at LIMIT $3) ",
            "RETURNING id, city_id, kind, payload_json, attempts"
        ),
    };
    let rows = sqlx::query(sql).bind(now.0 + lease_ms).bind(now.0).bind(limit).fetch_all(&db.pool).await?;
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

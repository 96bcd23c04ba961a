//! Failed staff logins by username, and attempts being checked.

use sqlx::Row;

use super::{Db, new_id};
use crate::domain::DomainResult;
use crate::domain::time::Millis;

/// Reserves a row for an attempt at `username` before its password is checked, and forgets rows
/// too old to count for anyone. The row is committed before this returns, so every attempt that
/// counts after it sees it; it stays as the failure if the password is wrong. Returns its id.
pub async fn reserve(db: &Db, username: &str, now: Millis, forget_before: Millis) -> DomainResult<String> {
    let id = new_id();
    sqlx::query("INSERT INTO login_failures (id, username, at) VALUES ($1, $2, $3)")
        .bind(&id)
        .bind(username)
        .bind(now.0)
        .execute(&db.pool)
        .await?;
    sqlx::query("DELETE FROM login_failures WHERE at < $1").bind(forget_before.0).execute(&db.pool).await?;
    Ok(id)
}

/// The failures and attempts for `username` since `since`, but for the attempt `except`.
pub async fn since_except(db: &Db, username: &str, since: Millis, except: &str) -> DomainResult<Vec<Millis>> {
    let rows = sqlx::query("SELECT at FROM login_failures WHERE username = $1 AND at >= $2 AND id <> $3")
        .bind(username)
        .bind(since.0)
        .bind(except)
        .fetch_all(&db.pool)
        .await?;
    rows.iter().map(|r| Ok(Millis(r.try_get("at")?))).collect()
}

/// Forgets one attempt (one that was refused before its password was checked).
pub async fn forget(db: &Db, id: &str) -> DomainResult<()> {
    sqlx::query("DELETE FROM login_failures WHERE id = $1").bind(id).execute(&db.pool).await?;
    Ok(())
}

pub async fn clear(db: &Db, username: &str) -> DomainResult<()> {
    sqlx::query("DELETE FROM login_failures WHERE username = $1").bind(username).execute(&db.pool).await?;
    Ok(())
}

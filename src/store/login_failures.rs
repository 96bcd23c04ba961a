//! Failed staff logins by username.

use sqlx::Row;

use super::{Db, new_id};
use crate::domain::DomainResult;
use crate::domain::time::Millis;

/// The failures for `username` since `since`.
pub async fn since(db: &Db, username: &str, since: Millis) -> DomainResult<Vec<Millis>> {
    let rows = sqlx::query("SELECT at FROM login_failures WHERE username = $1 AND at >= $2")
        .bind(username)
        .bind(since.0)
        .fetch_all(&db.pool)
        .await?;
    rows.iter().map(|r| Ok(Millis(r.try_get("at")?))).collect()
}

/// Records a failure, and forgets failures too old to count for anyone.
pub async fn record(db: &Db, username: &str, now: Millis, forget_before: Millis) -> DomainResult<()> {
    sqlx::query("INSERT INTO login_failures (id, username, at) VALUES ($1, $2, $3)")
        .bind(new_id())
        .bind(username)
        .bind(now.0)
        .execute(&db.pool)
        .await?;
    sqlx::query("DELETE FROM login_failures WHERE at < $1").bind(forget_before.0).execute(&db.pool).await?;
    Ok(())
}

pub async fn clear(db: &Db, username: &str) -> DomainResult<()> {
    sqlx::query("DELETE FROM login_failures WHERE username = $1").bind(username).execute(&db.pool).await?;
    Ok(())
}

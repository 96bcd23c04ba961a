//! Riders' unused subscribe-message consents, counted per template.

use sqlx::{AnyConnection, Row};

use super::Db;
use crate::domain::DomainResult;
use crate::domain::time::Millis;

/// Adds `n` consents to the rider's count for a template, keeping at most `cap` unused.
pub async fn grant(
    conn: &mut AnyConnection,
    account_id: &str,
    template_id: &str,
    n: i64,
    cap: i64,
    now: Millis,
) -> DomainResult<()> {
    sqlx::query(
        "INSERT INTO subscription_consents (account_id, template_id, unused, updated_at) VALUES ($1, $2, $3, $5) \
         ON CONFLICT (account_id, template_id) DO UPDATE SET updated_at = $5, unused = CASE \
         WHEN subscription_consents.unused + $3 > $4 THEN $4 ELSE subscription_consents.unused + $3 END",
    )
    .bind(account_id)
    .bind(template_id)
    .bind(n.min(cap))
    .bind(cap)
    .bind(now.0)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Drops the rider's unused consents for a template (they turned its messages off).
pub async fn revoke(conn: &mut AnyConnection, account_id: &str, template_id: &str, now: Millis) -> DomainResult<()> {
    sqlx::query(
        "UPDATE subscription_consents SET unused = 0, updated_at = $3 WHERE account_id = $1 AND template_id = $2",
    )
    .bind(account_id)
    .bind(template_id)
    .bind(now.0)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Takes one unused consent, in the transaction that queues the message; false when there is
/// none. One conditional statement, so concurrent messages never share a consent.
pub async fn take(conn: &mut AnyConnection, account_id: &str, template_id: &str, now: Millis) -> DomainResult<bool> {
    let taken = sqlx::query(
        "UPDATE subscription_consents SET unused = unused - 1, updated_at = $3 \
         WHERE account_id = $1 AND template_id = $2 AND unused > 0",
    )
    .bind(account_id)
    .bind(template_id)
    .bind(now.0)
    .execute(&mut *conn)
    .await?;
    Ok(taken.rows_affected() == 1)
}

/// The rider's unused consents per template.
pub async fn unused(db: &Db, account_id: &str) -> DomainResult<Vec<(String, i64)>> {
    let mut conn = db.pool.acquire().await?;
    unused_in(&mut conn, account_id).await
}

pub async fn unused_in(conn: &mut AnyConnection, account_id: &str) -> DomainResult<Vec<(String, i64)>> {
    let rows = sqlx::query(
        "SELECT template_id, unused FROM subscription_consents WHERE account_id = $1 AND unused > 0 ORDER BY template_id",
    )
    .bind(account_id)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(|r| Ok((r.try_get("template_id")?, r.try_get::<i64, _>("unused")?))).collect()
}

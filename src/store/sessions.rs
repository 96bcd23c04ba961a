//! Session tokens, stored only as keyed hashes.

use sqlx::{AnyConnection, Row};

use super::Db;
use crate::domain::DomainResult;
use crate::domain::identity::Caller;
use crate::domain::time::Millis;

pub async fn insert(
    db: &Db,
    token_hash: &str,
    account_id: &str,
    city_id: &str,
    expires_at: Millis,
) -> DomainResult<()> {
    sqlx::query(
        "INSERT INTO sessions (token_hash, account_id, city_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(token_hash)
    .bind(account_id)
    .bind(city_id)
    .bind(Millis::now().0)
    .bind(expires_at.0)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// What a token's hash finds: the caller, and the session's state for the checks.
pub struct SessionLookup {
    pub caller: Caller,
    pub expires_at: Millis,
    pub revoked: bool,
    pub account_disabled: bool,
}

pub async fn lookup(db: &Db, token_hash: &str) -> DomainResult<Option<SessionLookup>> {
    let row = sqlx::query(
        "SELECT a.id, a.city_id, a.role, a.office_id, a.display_name, a.disabled, s.expires_at, s.revoked_at \
         FROM sessions s JOIN accounts a ON a.id = s.account_id WHERE s.token_hash = $1",
    )
    .bind(token_hash)
    .fetch_optional(&db.pool)
    .await?;
    let Some(r) = row else { return Ok(None) };
    Ok(Some(SessionLookup {
        caller: Caller {
            account_id: r.try_get("id")?,
            city_id: r.try_get("city_id")?,
            role: r.try_get::<String, _>("role")?.parse()?,
            office_id: r.try_get("office_id")?,
            display_name: r.try_get("display_name")?,
        },
        expires_at: Millis(r.try_get("expires_at")?),
        revoked: r.try_get::<Option<i64>, _>("revoked_at")?.is_some(),
        account_disabled: r.try_get::<i32, _>("disabled")? != 0,
    }))
}

pub async fn revoke(db: &Db, token_hash: &str) -> DomainResult<()> {
    sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE token_hash = $2 AND revoked_at IS NULL")
        .bind(Millis::now().0)
        .bind(token_hash)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// Ends every live session of an account.
pub async fn revoke_all_for_account(conn: &mut AnyConnection, account_id: &str) -> DomainResult<()> {
    sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE account_id = $2 AND revoked_at IS NULL")
        .bind(Millis::now().0)
        .bind(account_id)
        .execute(conn)
        .await?;
    Ok(())
}

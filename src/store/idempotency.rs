//! Idempotency keys: a caller's retried POST (a report, a check-in, a redemption) finds the result
//! of the first one instead of doing it twice. The key is claimed inside the same transaction as
//! the write it guards, as that transaction's first statement, so two concurrent retries wait for
//! each other and the second sees the first one's result.

use sqlx::{AnyConnection, Row};

use crate::domain::DomainResult;
use crate::domain::time::Millis;

/// One caller's key for one kind of request.
#[derive(Debug, Clone)]
pub struct IdempotencyKey<'a> {
    /// What the key guards, such as `report.submit`.
    pub scope: &'static str,
    pub caller_id: &'a str,
    pub key: &'a str,
    /// A digest of the request, so the same key with a different request can be refused.
    pub request_hash: &'a str,
}

/// What claiming a key found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The key is new and now held by this transaction: do the work, then `complete`.
    Fresh,
    /// The key was used before: the first request's result.
    Replay(Recorded),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    pub resource_id: String,
    pub outcome: String,
    pub request_hash: String,
}

/// Claims the key; on a replay the caller should roll back and answer with the recorded result.
pub async fn claim(conn: &mut AnyConnection, key: &IdempotencyKey<'_>, now: Millis) -> DomainResult<Claim> {
    let inserted = sqlx::query(
        "INSERT INTO idempotency_keys (scope, caller_id, idem_key, request_hash, resource_id, outcome, created_at) \
         VALUES ($1, $2, $3, $4, '', '', $5) ON CONFLICT (scope, caller_id, idem_key) DO NOTHING",
    )
    .bind(key.scope)
    .bind(key.caller_id)
    .bind(key.key)
    .bind(key.request_hash)
    .bind(now.0)
    .execute(&mut *conn)
    .await?;
    if inserted.rows_affected() == 1 {
        return Ok(Claim::Fresh);
    }
    let found = find(conn, key).await?;
    Ok(found.map(Claim::Replay).unwrap_or(Claim::Fresh))
}

/// Records the result of the work a fresh claim guarded.
pub async fn complete(
    conn: &mut AnyConnection,
    key: &IdempotencyKey<'_>,
    resource_id: &str,
    outcome: &str,
) -> DomainResult<()> {
    sqlx::query(
        "UPDATE idempotency_keys SET resource_id = $1, outcome = $2 WHERE scope = $3 AND caller_id = $4 AND idem_key = $5",
    )
    .bind(resource_id)
    .bind(outcome)
    .bind(key.scope)
    .bind(key.caller_id)
    .bind(key.key)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The recorded result of a completed key, if any.
pub async fn find(conn: &mut AnyConnection, key: &IdempotencyKey<'_>) -> DomainResult<Option<Recorded>> {
    let row = sqlx::query(
        "SELECT resource_id, outcome, request_hash FROM idempotency_keys \
         WHERE scope = $1 AND caller_id = $2 AND idem_key = $3 AND resource_id <> ''",
    )
    .bind(key.scope)
    .bind(key.caller_id)
    .bind(key.key)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|r| {
        Ok(Recorded {
            resource_id: r.try_get("resource_id")?,
            outcome: r.try_get("outcome")?,
            request_hash: r.try_get("request_hash")?,
        })
    })
    .transpose()
}

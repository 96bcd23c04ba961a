//! The audit trail: who changed what, with the state before and after.

use super::{Db, new_id};
use crate::domain::DomainResult;
use crate::domain::time::Millis;

pub struct AuditEntry<'a> {
    pub city_id: &'a str,
    pub actor_id: Option<&'a str>,
    pub action: &'a str,
    pub object_kind: &'a str,
    pub object_id: &'a str,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

pub async fn record<'e, E>(executor: E, entry: AuditEntry<'_>) -> DomainResult<()>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query(
        "INSERT INTO audit_log (id, city_id, actor_id, action, object_kind, object_id, before_json, after_json, at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(new_id())
    .bind(entry.city_id)
    .bind(entry.actor_id)
    .bind(entry.action)
    .bind(entry.object_kind)
    .bind(entry.object_id)
    .bind(entry.before.map(|v| v.to_string()))
    .bind(entry.after.map(|v| v.to_string()))
    .bind(Millis::now().0)
    .execute(executor)
    .await?;
    Ok(())
}

pub async fn record_now(db: &Db, entry: AuditEntry<'_>) -> DomainResult<()> {
    record(&db.pool, entry).await
}

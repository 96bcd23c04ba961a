//! The audit trail: who changed what, with the state before and after.

use super::{Db, new_id};
use crate::domain::DomainResult;
use crate::domain::identity::Caller;
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

impl<'a> AuditEntry<'a> {
    /// An entry for what `actor` did to an object, without before or after yet.
    pub fn by(actor: &'a Caller, action: &'a str, object_kind: &'a str, object_id: &'a str) -> Self {
        AuditEntry {
            city_id: &actor.city_id,
            actor_id: Some(&actor.account_id),
            action,
            object_kind,
            object_id,
            before: None,
            after: None,
        }
    }

    pub fn with_before(self, before: serde_json::Value) -> Self {
        AuditEntry { before: Some(before), ..self }
    }

    pub fn with_after(self, after: serde_json::Value) -> Self {
        AuditEntry { after: Some(after), ..self }
    }
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

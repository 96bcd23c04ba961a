//! The city a deployment serves. Every row carries its `city_id` so a larger deployment can shard.

use sqlx::Row;

use super::{Db, new_id};
use crate::domain::DomainResult;
use crate::domain::time::Millis;

#[derive(Debug, Clone)]
pub struct CityRow {
    pub id: String,
    pub name: String,
    pub time_zone: String,
}

/// The deployment's city: the first one created, made now from the configuration if there is none.
pub async fn ensure_default(db: &Db, name: &str, time_zone: &str) -> DomainResult<CityRow> {
    if let Some(city) = first(db).await? {
        return Ok(city);
    }
    sqlx::query("INSERT INTO cities (id, name, time_zone, created_at) VALUES ($1, $2, $3, $4)")
        .bind(new_id())
        .bind(name)
        .bind(time_zone)
        .bind(Millis::now().0)
        .execute(&db.pool)
        .await?;
    first(db).await?.ok_or_else(|| crate::domain::DomainError::internal("city vanished after insert"))
}

async fn first(db: &Db) -> DomainResult<Option<CityRow>> {
    let row = sqlx::query("SELECT id, name, time_zone FROM cities ORDER BY created_at, id LIMIT 1")
        .fetch_optional(&db.pool)
        .await?;
    Ok(row.map(|r| CityRow { id: r.get("id"), name: r.get("name"), time_zone: r.get("time_zone") }))
}

//! Street offices and competent departments.

use sqlx::Row;

use super::{Db, new_id};
use crate::domain::DomainResult;
use crate::domain::time::Millis;

#[derive(Debug, Clone)]
pub struct OfficeRow {
    pub id: String,
    pub city_id: String,
    pub kind: String,
    pub name: String,
}

pub async fn create(db: &Db, city_id: &str, kind: &str, name: &str) -> DomainResult<OfficeRow> {
    let id = new_id();
    let now = Millis::now().0;
    sqlx::query(
        "INSERT INTO offices (id, city_id, kind, name, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)",
    )
    .bind(&id)
    .bind(city_id)
    .bind(kind)
    .bind(name)
    .bind(now)
    .execute(&db.pool)
    .await?;
    Ok(OfficeRow { id, city_id: city_id.to_string(), kind: kind.to_string(), name: name.to_string() })
}

pub async fn exists(db: &Db, city_id: &str, id: &str) -> DomainResult<bool> {
    let row = sqlx::query("SELECT id FROM offices WHERE id = $1 AND city_id = $2")
        .bind(id)
        .bind(city_id)
        .fetch_optional(&db.pool)
        .await?;
    Ok(row.is_some())
}

pub async fn count(db: &Db, city_id: &str) -> DomainResult<i64> {
    let row =
        sqlx::query("SELECT COUNT(*) AS n FROM offices WHERE city_id = $1").bind(city_id).fetch_one(&db.pool).await?;
    Ok(row.try_get("n")?)
}

//! Street offices and competent departments.

use sqlx::Row;

use super::{Db, fetch_in, new_id};
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

macro_rules! select_offices {
    ($rest:literal) => {
        concat!("SELECT id, city_id, kind, name FROM offices ", $rest)
    };
}

fn from_row(r: &sqlx::any::AnyRow) -> DomainResult<OfficeRow> {
    Ok(OfficeRow {
        id: r.try_get("id")?,
        city_id: r.try_get("city_id")?,
        kind: r.try_get("kind")?,
        name: r.try_get("name")?,
    })
}

pub async fn get(db: &Db, city_id: &str, id: &str) -> DomainResult<Option<OfficeRow>> {
    let row = sqlx::query(select_offices!("WHERE id = $1 AND city_id = $2"))
        .bind(id)
        .bind(city_id)
        .fetch_optional(&db.pool)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// The offices of a city among `ids`, in no particular order; one statement for them all.
pub async fn get_many(db: &Db, city_id: &str, ids: &[String]) -> DomainResult<Vec<OfficeRow>> {
    let rows = fetch_in(db, select_offices!("WHERE city_id = $1 AND id IN ({ids})"), &[city_id], ids).await?;
    rows.iter().map(from_row).collect()
}

/// Offices of a city in id order, starting after `after`.
pub async fn list(db: &Db, city_id: &str, after: Option<&str>, limit: u32) -> DomainResult<Vec<OfficeRow>> {
    let rows = sqlx::query(select_offices!("WHERE city_id = $1 AND id > $2 ORDER BY id LIMIT $3"))
        .bind(city_id)
        .bind(after.unwrap_or(""))
        .bind(i64::from(limit))
        .fetch_all(&db.pool)
        .await?;
    rows.iter().map(from_row).collect()
}

/// The first-created office of a kind (the city's fallback unit, for one).
pub async fn first_of_kind(db: &Db, city_id: &str, kind: &str) -> DomainResult<Option<OfficeRow>> {
    let row = sqlx::query(select_offices!("WHERE city_id = $1 AND kind = $2 ORDER BY id LIMIT 1"))
        .bind(city_id)
        .bind(kind)
        .fetch_optional(&db.pool)
        .await?;
    row.as_ref().map(from_row).transpose()
}

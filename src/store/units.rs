//! Units: the street offices, departments and fallback queue that act on reports. Stored in the
//! table `offices` (its name predates departments and the fallback).

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::{Db, fetch_in, new_id};
use crate::domain::DomainResult;
use crate::domain::routing::{Unit, UnitKind};
use crate::domain::time::Millis;

pub async fn create(conn: &mut AnyConnection, city_id: &str, kind: UnitKind, name: &str) -> DomainResult<Unit> {
    let id = new_id();
    let now = Millis::now().0;
    sqlx::query(
        "INSERT INTO offices (id, city_id, kind, name, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)",
    )
    .bind(&id)
    .bind(city_id)
    .bind(kind.as_str())
    .bind(name)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(Unit { id, city_id: city_id.to_string(), kind, name: name.to_string() })
}

pub async fn count(db: &Db, city_id: &str) -> DomainResult<i64> {
    let row =
        sqlx::query("SELECT COUNT(*) AS n FROM offices WHERE city_id = $1").bind(city_id).fetch_one(&db.pool).await?;
    Ok(row.try_get("n")?)
}

macro_rules! select_units {
    ($rest:literal) => {
        concat!("SELECT id, city_id, kind, name FROM offices ", $rest)
    };
}

fn from_row(r: &AnyRow) -> DomainResult<Unit> {
    Ok(Unit {
        id: r.try_get("id")?,
        city_id: r.try_get("city_id")?,
        kind: r.try_get::<String, _>("kind")?.parse()?,
        name: r.try_get("name")?,
    })
}

pub async fn get(db: &Db, city_id: &str, id: &str) -> DomainResult<Option<Unit>> {
    let row = sqlx::query(select_units!("WHERE id = $1 AND city_id = $2"))
        .bind(id)
        .bind(city_id)
        .fetch_optional(&db.pool)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// The units of this city among `ids`, in one statement; ids of no such unit are left out.
pub async fn get_many(db: &Db, city_id: &str, ids: &[String]) -> DomainResult<Vec<Unit>> {
    let rows = fetch_in(db, select_units!("WHERE city_id = $1 AND id IN ({ids})"), &[city_id], ids).await?;
    rows.iter().map(from_row).collect()
}

/// Units of a city in id order, starting after `after`.
pub async fn list(db: &Db, city_id: &str, after: Option<&str>, limit: u32) -> DomainResult<Vec<Unit>> {
    let rows = sqlx::query(select_units!("WHERE city_id = $1 AND id > $2 ORDER BY id LIMIT $3"))
        .bind(city_id)
        .bind(after.unwrap_or(""))
        .bind(i64::from(limit))
        .fetch_all(&db.pool)
        .await?;
    rows.iter().map(from_row).collect()
}

/// The first-created unit of a kind (the city's fallback unit, for one).
pub async fn first_of_kind<'e, E>(executor: E, city_id: &str, kind: UnitKind) -> DomainResult<Option<Unit>>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let row = sqlx::query(select_units!("WHERE city_id = $1 AND kind = $2 ORDER BY id LIMIT 1"))
        .bind(city_id)
        .bind(kind.as_str())
        .fetch_optional(executor)
        .await?;
    row.as_ref().map(from_row).transpose()
}

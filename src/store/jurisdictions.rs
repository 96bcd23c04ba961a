//! What routing reads: units' jurisdictions, category → department assignments, and the stamp
//! that tells a node another one changed them.

use sqlx::{AnyConnection, Row};

use super::Db;
use crate::domain::DomainResult;
use crate::domain::report::Category;
use crate::domain::routing::{Area, UnitKind};
use crate::domain::time::Millis;

/// A stored jurisdiction, with the kind of its unit.
pub struct JurisdictionRow {
    pub office_id: String,
    pub kind: UnitKind,
    pub geojson: String,
}

/// Sets (or replaces) a unit's jurisdiction.
pub async fn put(conn: &mut AnyConnection, city_id: &str, office_id: &str, area: &Area) -> DomainResult<()> {
    let b = area.bbox();
    sqlx::query(
        "INSERT INTO jurisdictions (office_id, city_id, geojson, min_lat, min_lng, max_lat, max_lng, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (office_id) DO UPDATE SET geojson = excluded.geojson, \
         min_lat = excluded.min_lat, min_lng = excluded.min_lng, max_lat = excluded.max_lat, \
         max_lng = excluded.max_lng, updated_at = excluded.updated_at",
    )
    .bind(office_id)
    .bind(city_id)
    .bind(area.to_geojson().to_string())
    .bind(b.min_lat)
    .bind(b.min_lng)
    .bind(b.max_lat)
    .bind(b.max_lng)
    .bind(Millis::now().0)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn all(db: &Db, city_id: &str) -> DomainResult<Vec<JurisdictionRow>> {
    let rows = sqlx::query(
        "SELECT j.office_id, o.kind, j.geojson FROM jurisdictions j JOIN offices o ON o.id = j.office_id \
         WHERE j.city_id = $1",
    )
    .bind(city_id)
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(JurisdictionRow {
                office_id: r.try_get("office_id")?,
                kind: r.try_get::<String, _>("kind")?.parse()?,
                geojson: r.try_get("geojson")?,
            })
        })
        .collect()
}

/// One unit's stored jurisdiction (a GCJ-02 MultiPolygon as GeoJSON text), if it has one.
pub async fn get(db: &Db, city_id: &str, office_id: &str) -> DomainResult<Option<String>> {
    let row = sqlx::query("SELECT geojson FROM jurisdictions WHERE city_id = $1 AND office_id = $2")
        .bind(city_id)
        .bind(office_id)
        .fetch_optional(&db.pool)
        .await?;
    Ok(row.map(|r| r.try_get("geojson")).transpose()?)
}

/// Replaces the departments a category is assigned to.
pub async fn set_category_departments(
    conn: &mut AnyConnection,
    city_id: &str,
    category: Category,
    office_ids: &[String],
) -> DomainResult<()> {
    sqlx::query("DELETE FROM category_departments WHERE city_id = $1 AND category = $2")
        .bind(city_id)
        .bind(category.as_str())
        .execute(&mut *conn)
        .await?;
    let now = Millis::now().0;
    for office_id in office_ids {
        sqlx::query(
            "INSERT INTO category_departments (city_id, category, office_id, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(city_id)
        .bind(category.as_str())
        .bind(office_id)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Every (category, department) assignment of the city.
pub async fn category_departments(db: &Db, city_id: &str) -> DomainResult<Vec<(Category, String)>> {
    let rows =
        sqlx::query("SELECT category, office_id FROM category_departments WHERE city_id = $1 ORDER BY office_id")
            .bind(city_id)
            .fetch_all(&db.pool)
            .await?;
    rows.iter().map(|r| Ok((r.try_get::<String, _>("category")?.parse()?, r.try_get("office_id")?))).collect()
}

/// A cheap fingerprint of everything routing reads for a city; it changes whenever a
/// jurisdiction, an assignment or a unit is written, so other nodes know to rebuild.
pub async fn routing_stamp(db: &Db, city_id: &str) -> DomainResult<String> {
    let row = sqlx::query(
        "SELECT (SELECT COUNT(*) FROM jurisdictions WHERE city_id = $1) AS j, \
         (SELECT COALESCE(MAX(updated_at), 0) FROM jurisdictions WHERE city_id = $1) AS ju, \
         (SELECT COUNT(*) FROM category_departments WHERE city_id = $1) AS d, \
         (SELECT COALESCE(MAX(created_at), 0) FROM category_departments WHERE city_id = $1) AS du, \
         (SELECT COUNT(*) FROM offices WHERE city_id = $1) AS o",
    )
    .bind(city_id)
    .fetch_one(&db.pool)
    .await?;
    let n = |col: &str| -> DomainResult<i64> { Ok(row.try_get(col)?) };
    Ok(format!("{}:{}:{}:{}:{}", n("j")?, n("ju")?, n("d")?, n("du")?, n("o")?))
}

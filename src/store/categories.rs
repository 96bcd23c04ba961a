//! A city's report categories: names, hints, urgency and deadlines.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::Db;
use crate::domain::DomainResult;
use crate::domain::report::{Category, CategorySettings};
use crate::domain::time::Millis;

fn from_row(r: &AnyRow) -> DomainResult<CategorySettings> {
    Ok(CategorySettings {
        category: r.try_get::<String, _>("code")?.parse()?,
        name: r.try_get("name")?,
        hint: r.try_get("hint")?,
        urgency: r.try_get::<String, _>("urgency")?.parse()?,
        response_secs: r.try_get("response_secs")?,
        resolution_secs: r.try_get("resolution_secs")?,
    })
}

/// Writes a category's settings: `replace` overwrites what the city has, otherwise a category the
/// city already has is left as it is.
pub async fn put(conn: &mut AnyConnection, city_id: &str, c: &CategorySettings, replace: bool) -> DomainResult<()> {
    let sql = if replace {
        "INSERT INTO report_categories (city_id, code, name, hint, urgency, response_secs, resolution_secs, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (city_id, code) DO UPDATE SET name = excluded.name, \
         hint = excluded.hint, urgency = excluded.urgency, response_secs = excluded.response_secs, \
         resolution_secs = excluded.resolution_secs, updated_at = excluded.updated_at"
    } else {
        "INSERT INTO report_categories (city_id, code, name, hint, urgency, response_secs, resolution_secs, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (city_id, code) DO NOTHING"
    };
    sqlx::query(sql)
        .bind(city_id)
        .bind(c.category.as_str())
        .bind(&c.name)
        .bind(&c.hint)
        .bind(c.urgency.as_str())
        .bind(c.response_secs)
        .bind(c.resolution_secs)
        .bind(Millis::now().0)
        .execute(conn)
        .await?;
    Ok(())
}

/// The city's stored categories, in the order `Category::ALL` lists them.
pub async fn all(db: &Db, city_id: &str) -> DomainResult<Vec<CategorySettings>> {
    let rows = sqlx::query(
        "SELECT code, name, hint, urgency, response_secs, resolution_secs FROM report_categories WHERE city_id = $1",
    )
    .bind(city_id)
    .fetch_all(&db.pool)
    .await?;
    let mut all = rows.iter().map(from_row).collect::<DomainResult<Vec<_>>>()?;
    all.sort_by_key(|c| c.category);
    Ok(all)
}

pub async fn get(db: &Db, city_id: &str, category: Category) -> DomainResult<Option<CategorySettings>> {
    let row = sqlx::query(
        "SELECT code, name, hint, urgency, response_secs, resolution_secs FROM report_categories \
         WHERE city_id = $1 AND code = $2",
    )
    .bind(city_id)
    .bind(category.as_str())
    .fetch_optional(&db.pool)
    .await?;
    row.as_ref().map(from_row).transpose()
}

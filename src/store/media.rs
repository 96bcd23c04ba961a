//! Uploaded photos: the row that names a stored file.

use sqlx::Row;
use sqlx::any::AnyRow;

use std::collections::HashMap;

use super::{Db, fetch_in};
use crate::domain::DomainResult;
use crate::domain::photo::StoredPhoto;
use crate::domain::time::Millis;

fn from_row(r: &AnyRow) -> DomainResult<StoredPhoto> {
    Ok(StoredPhoto {
        id: r.try_get("id")?,
        city_id: r.try_get("city_id")?,
        owner_id: r.try_get("owner_id")?,
        content_type: r.try_get("content_type")?,
        width: r.try_get("width")?,
        height: r.try_get("height")?,
        bytes: r.try_get("bytes")?,
        storage_key: r.try_get("storage_key")?,
        created_at: Millis(r.try_get("created_at")?),
    })
}

pub async fn insert(db: &Db, m: &StoredPhoto) -> DomainResult<()> {
    sqlx::query(
        "INSERT INTO media (id, city_id, owner_id, content_type, width, height, bytes, storage_key, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&m.id)
    .bind(&m.city_id)
    .bind(&m.owner_id)
    .bind(&m.content_type)
    .bind(m.width)
    .bind(m.height)
    .bind(m.bytes)
    .bind(&m.storage_key)
    .bind(m.created_at.0)
    .execute(&db.pool)
    .await?;
    Ok(())
}

pub async fn get(db: &Db, id: &str) -> DomainResult<Option<StoredPhoto>> {
    let row = sqlx::query("SELECT * FROM media WHERE id = $1").bind(id).fetch_optional(&db.pool).await?;
    row.as_ref().map(from_row).transpose()
}

/// The media among `ids` that `owner_id` uploaded, in no particular order (one statement). A
/// caller attaching photos compares the count with `ids.len()` to refuse anyone else's.
pub async fn find_owned(db: &Db, owner_id: &str, ids: &[String]) -> DomainResult<Vec<StoredPhoto>> {
    let rows = fetch_in(db, "SELECT * FROM media WHERE owner_id = $1 AND id IN ({ids})", &[owner_id], ids).await?;
    rows.iter().map(from_row).collect()
}

/// A photo with what deciding who may see it needs: whether a rider uploaded it, and the units
/// holding the reports it is attached to. Two statements.
pub async fn with_holders(db: &Db, id: &str) -> DomainResult<Option<(StoredPhoto, bool, Vec<String>)>> {
    let row = sqlx::query(
        "SELECT m.id, m.city_id, m.owner_id, m.content_type, m.width, m.height, m.bytes, m.storage_key, \
         m.created_at, a.role AS owner_role FROM media m LEFT JOIN accounts a ON a.id = m.owner_id WHERE m.id = $1",
    )
    .bind(id)
    .fetch_optional(&db.pool)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let photo = from_row(&row)?;
    let by_rider = row.try_get::<Option<String>, _>("owner_role")?.is_none_or(|role| role == "rider");
    let units = sqlx::query(
        "SELECT DISTINCT r.office_id FROM report_media rm JOIN reports r ON r.id = rm.report_id \
         WHERE rm.media_id = $1 ORDER BY r.office_id",
    )
    .bind(id)
    .fetch_all(&db.pool)
    .await?;
    let units = units.iter().map(|r| r.try_get("office_id")).collect::<Result<Vec<String>, _>>()?;
    Ok(Some((photo, by_rider, units)))
}

/// The photos `owner_id` uploaded, newest first, at most `limit`.
pub async fn owned_by(db: &Db, owner_id: &str, limit: u32) -> DomainResult<Vec<StoredPhoto>> {
    let rows = sqlx::query("SELECT * FROM media WHERE owner_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2")
        .bind(owner_id)
        .bind(i64::from(limit))
        .fetch_all(&db.pool)
        .await?;
    rows.iter().map(from_row).collect()
}

/// Who uploaded a photo and where it is attached: what `domain::report::may_see_photo` needs.
#[derive(Debug, Clone)]
pub struct Holders {
    pub id: String,
    pub owner_id: String,
    /// A rider uploaded it (or an account since erased), not staff.
    pub uploaded_by_rider: bool,
    /// The units holding the reports it is attached to; empty when it is on none.
    pub report_units: Vec<String>,
}

/// `Holders` of the photos of `city_id` among `ids` (others are left out): two statements,
/// however many ids.
pub async fn holders_among(db: &Db, city_id: &str, ids: &[String]) -> DomainResult<Vec<Holders>> {
    let rows = fetch_in(
        db,
        "SELECT m.id, m.owner_id, a.role AS owner_role FROM media m LEFT JOIN accounts a ON a.id = m.owner_id \
         WHERE m.city_id = $1 AND m.id IN ({ids})",
        &[city_id],
        ids,
    )
    .await?;
    let units = fetch_in(
        db,
        "SELECT DISTINCT rm.media_id, r.office_id FROM report_media rm JOIN reports r ON r.id = rm.report_id \
         WHERE rm.media_id IN ({ids}) ORDER BY r.office_id",
        &[],
        ids,
    )
    .await?;
    let mut units_of: HashMap<String, Vec<String>> = HashMap::new();
    for r in &units {
        units_of.entry(r.try_get("media_id")?).or_default().push(r.try_get("office_id")?);
    }
    rows.iter()
        .map(|r| {
            let id: String = r.try_get("id")?;
            Ok(Holders {
                owner_id: r.try_get("owner_id")?,
                uploaded_by_rider: r.try_get::<Option<String>, _>("owner_role")?.is_none_or(|role| role == "rider"),
                report_units: units_of.remove(&id).unwrap_or_default(),
                id,
            })
        })
        .collect()
}

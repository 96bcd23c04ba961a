//! Uploaded photos: the row that names a stored file.

use sqlx::Row;
use sqlx::any::AnyRow;

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

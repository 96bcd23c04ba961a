//! Photos: storing an upload (clean it, write the file under a name the server makes, then record
//! it) and reading one back for a caller of the same city.

use std::path::{Path, PathBuf};

use crate::domain::identity::Caller;
use crate::domain::photo::{self, CleanPhoto, StoredPhoto};
use crate::domain::time::Millis;
use crate::domain::{DomainError, DomainResult};
use crate::store::{self, Db};

/// What photo uploads and downloads need: the database and the directory the files live in.
#[derive(Clone)]
pub struct MediaContext {
    pub db: Db,
    pub dir: PathBuf,
}

/// Cleans and stores an uploaded photo for `caller`.
pub async fn upload(ctx: &MediaContext, caller: &Caller, bytes: Vec<u8>) -> DomainResult<StoredPhoto> {
    let cleaned: CleanPhoto =
        tokio::task::spawn_blocking(move || photo::clean(&bytes)).await.map_err(DomainError::internal)??;
    let id = store::new_id();
    let now = Millis::now();
    let day = now.to_utc().format("%Y/%m/%d").to_string();
    let storage_key = format!("{day}/{id}.{}", cleaned.extension);
    write_atomically(&ctx.dir.join(&storage_key), &cleaned.bytes).await?;
    let row = StoredPhoto {
        id,
        city_id: caller.city_id.clone(),
        owner_id: caller.account_id.clone(),
        content_type: cleaned.content_type.to_string(),
        width: cleaned.width as i32,
        height: cleaned.height as i32,
        bytes: cleaned.bytes.len() as i64,
        storage_key,
        created_at: now,
    };
    if let Err(e) = store::media::insert(&ctx.db, &row).await {
        let _ = tokio::fs::remove_file(ctx.dir.join(&row.storage_key)).await;
        return Err(e);
    }
    Ok(row)
}

/// A photo and its bytes. Any signed-in caller of the photo's city may read it (ids are
/// unguessable); to anyone else it does not exist.
pub async fn download(ctx: &MediaContext, caller: &Caller, id: &str) -> DomainResult<(StoredPhoto, Vec<u8>)> {
    let row = store::media::get(&ctx.db, id)
        .await?
        .filter(|m| m.city_id == caller.city_id)
        .ok_or(DomainError::NotFound("media"))?;
    let bytes = tokio::fs::read(ctx.dir.join(&row.storage_key))
        .await
        .map_err(|e| DomainError::internal_in(format!("reading media file {}", row.id), e))?;
    Ok((row, bytes))
}

/// Writes to a temporary name, syncs, then renames: a crash leaves no half-written photo.
async fn write_atomically(path: &Path, bytes: &[u8]) -> DomainResult<()> {
    use tokio::io::AsyncWriteExt;
    let io = |e: std::io::Error| DomainError::internal_in(format!("writing {}", path.display()), e);
    if let Some(dir) = path.parent() {
        tokio::fs::create_dir_all(dir).await.map_err(io)?;
    }
    let tmp = path.with_extension("part");
    let mut file = tokio::fs::File::create(&tmp).await.map_err(io)?;
    file.write_all(bytes).await.map_err(io)?;
    file.sync_all().await.map_err(io)?;
    drop(file);
    tokio::fs::rename(&tmp, path).await.map_err(io)
}

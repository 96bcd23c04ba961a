//! Photos: storing an upload (clean it, write the file under a name the server makes, then record
//! it) and reading one back for a caller allowed to see it.

use std::path::{Path, PathBuf};

use crate::domain::identity::Caller;
use crate::domain::photo::{self, CleanPhoto, StoredPhoto};
use crate::domain::report::{PhotoHolders, may_see_photo};
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

/// A photo and its bytes, for a caller of its city whom `domain::report::may_see_photo` lets
/// see it (its uploader, city admins, staff of a unit holding a report it is on, anyone for a
/// place's photo); to anyone else it does not exist (404).
pub async fn download(ctx: &MediaContext, caller: &Caller, id: &str) -> DomainResult<(StoredPhoto, Vec<u8>)> {
    let (row, uploaded_by_rider, report_units) = store::media::with_holders(&ctx.db, id)
        .await?
        .filter(|(m, _, _)| m.city_id == caller.city_id)
        .ok_or(DomainError::NotFound("media"))?;
    let holders = PhotoHolders { owner_id: &row.owner_id, uploaded_by_rider, report_units: &report_units };
    if !may_see_photo(caller, holders) {
        return Err(DomainError::NotFound("media"));
    }
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

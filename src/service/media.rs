//! Photos: storing an upload (clean it, write the file under a name the server makes, then record
//! it) and reading one back for a caller allowed to see it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::domain::content::{Checked, ContentMode, published};
use crate::domain::identity::Caller;
use crate::domain::photo::{self, CleanPhoto, StoredPhoto};
use crate::domain::photo_url::{SignedPhoto, UrlSigner};
use crate::domain::report::{PhotoHolders, may_see_photo};
use crate::domain::time::Millis;
use crate::domain::{DomainError, DomainResult};
use crate::store::{self, Db};

/// What photo uploads and downloads need: the database, the directory the files live in, the
/// gate that bounds decoding, and the signer of photo URLs (which also checks them).
#[derive(Clone)]
pub struct MediaContext {
    pub db: Db,
    pub dir: PathBuf,
    pub decoding: DecodeGate,
    pub urls: UrlSigner,
    /// Whether a report photo WeChat cleared is public.
    pub content_mode: ContentMode,
}

/// A photo as its uploader sees it: the stored photo and a signed URL to load it by.
#[derive(Debug, Clone)]
pub struct OwnPhoto {
    pub photo: StoredPhoto,
    pub url: SignedPhoto,
}

const MIB: u64 = 1024 * 1024;

/// Bounds the photo decoding done at once, by count and by memory, so that many uploads at
/// once, honest or hostile, cannot multiply the peak: a slot per core (decoding is CPU work,
/// and an upload holds its bytes in memory only while it has a slot; the others wait in their
/// temporary files), and a memory budget that the estimated peaks (`PhotoHeader::peak_bytes`)
/// of the decodes in progress share. A photo whose estimate alone passes the budget is refused.
#[derive(Clone)]
pub struct DecodeGate {
    slots: Arc<Semaphore>,
    memory: Arc<Semaphore>,
    budget_mib: u32,
}

impl DecodeGate {
    pub fn new(slots: usize, budget_bytes: u64) -> DecodeGate {
        let budget_mib = u32::try_from((budget_bytes / MIB).max(1)).unwrap_or(u32::MAX);
        DecodeGate {
            slots: Arc::new(Semaphore::new(slots.max(1))),
            memory: Arc::new(Semaphore::new(budget_mib as usize)),
            budget_mib,
        }
    }

    /// One slot per core this process may use.
    pub fn per_core(budget_bytes: u64) -> DecodeGate {
        DecodeGate::new(std::thread::available_parallelism().map_or(1, |n| n.get()), budget_bytes)
    }

    async fn slot(&self) -> DomainResult<OwnedSemaphorePermit> {
        self.slots.clone().acquire_owned().await.map_err(DomainError::internal)
    }

    /// Waits until `bytes` fit in the budget beside the decodes in progress.
    async fn memory(&self, bytes: u64) -> DomainResult<OwnedSemaphorePermit> {
        let mib = bytes.div_ceil(MIB).max(1);
        if mib > u64::from(self.budget_mib) {
            return Err(DomainError::ImageTooLarge(format!(
                "decoding it takes about {mib} MiB; this server decodes at most {} MiB at once",
                self.budget_mib
            )));
        }
        self.memory.clone().acquire_many_owned(mib as u32).await.map_err(DomainError::internal)
    }
}

/// Cleans and stores an uploaded photo for `caller`, read from `upload` (at most
/// `MAX_UPLOAD_BYTES`), and answers it with a signed URL.
pub async fn upload(
    ctx: &MediaContext,
    caller: &Caller,
    upload: impl AsyncRead + Unpin + Send,
) -> DomainResult<OwnPhoto> {
    let slot = ctx.decoding.slot().await?;
    let mut bytes = Vec::new();
    upload
        .take(photo::MAX_UPLOAD_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .await
        .map_err(|e| DomainError::invalid("file", e.to_string()))?;
    // The header first: a bomb is refused here, before anything is allocated for its pixels.
    // The permits go with the work: a client that hangs up does not free them while it runs.
    let (slot, bytes, header) = blocking(move || photo::inspect(&bytes).map(|header| (slot, bytes, header))).await?;
    let memory = ctx.decoding.memory(header.peak_bytes()).await?;
    let cleaned: CleanPhoto = blocking(move || {
        let _held = (slot, memory);
        photo::clean(&bytes)
    })
    .await?;
    let id = store::new_id();
    let now = Millis::now();
    let storage_key = photo::storage_key(&id, cleaned.extension)
        .ok_or_else(|| DomainError::internal(format!("media id {id} is not a UUIDv7")))?;
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
    Ok(OwnPhoto { url: ctx.urls.sign(&row.id, now), photo: row })
}

/// Runs CPU work off the async threads.
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> DomainResult<T> + Send + 'static) -> DomainResult<T> {
    tokio::task::spawn_blocking(work).await.map_err(DomainError::internal)?
}

/// A photo and its bytes, for a caller of its city whom `domain::report::may_see_photo` lets
/// see it (its uploader, city admins, staff of a unit holding a report it is on, anyone for a
/// place's photo or a report photo WeChat cleared); to anyone else it does not exist (404).
pub async fn download(ctx: &MediaContext, caller: &Caller, id: &str) -> DomainResult<(StoredPhoto, Vec<u8>)> {
    let (row, uploaded_by_rider, report_units) = store::media::with_holders(&ctx.db, id)
        .await?
        .filter(|(m, _, _)| m.city_id == caller.city_id)
        .ok_or(DomainError::NotFound("media"))?;
    let published = match ctx.content_mode {
        ContentMode::Wechat if !report_units.is_empty() => {
            let check = store::content::get(&ctx.db, Checked::Photo, id).await?;
            published(ctx.content_mode, check.map(|c| c.verdict))
        }
        _ => false,
    };
    let holders = PhotoHolders { owner_id: &row.owner_id, uploaded_by_rider, report_units: &report_units, published };
    if !may_see_photo(caller, holders) {
        return Err(DomainError::NotFound("media"));
    }
    let bytes = tokio::fs::read(ctx.dir.join(&row.storage_key))
        .await
        .map_err(|e| DomainError::internal_in(format!("reading media file {}", row.id), e))?;
    Ok((row, bytes))
}

/// A photo's content type and bytes by its signed URL. The signature is the authorization, so
/// nothing but the file is read, never the database: 403 for a URL altered or expired, 404 when
/// the file is gone (the photo of a rider who erased their account).
pub async fn by_url(
    ctx: &MediaContext,
    id: &str,
    expires: i64,
    signature: &str,
    now: Millis,
) -> DomainResult<(&'static str, Vec<u8>)> {
    ctx.urls.verify(id, expires, signature, now)?;
    for (key, content_type) in photo::storage_candidates(id) {
        match tokio::fs::read(ctx.dir.join(&key)).await {
            Ok(bytes) => return Ok((content_type, bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(DomainError::internal_in(format!("reading media file {key}"), e)),
        }
    }
    Err(DomainError::NotFound("media"))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_gate_shares_its_budget_and_refuses_what_alone_would_pass_it() {
        let gate = DecodeGate::new(4, 16 * MIB);
        assert!(matches!(gate.memory(17 * MIB).await, Err(DomainError::ImageTooLarge(_))));
        let first = gate.memory(10 * MIB).await.unwrap();
        let second = gate.memory(10 * MIB);
        tokio::pin!(second);
        let waited = tokio::time::timeout(std::time::Duration::from_millis(50), &mut second).await;
        assert!(waited.is_err(), "two 10 MiB decodes ran at once within 16 MiB");
        drop(first);
        assert!(second.await.is_ok());
    }

    #[tokio::test]
    async fn a_decode_waits_for_a_free_slot() {
        let gate = DecodeGate::new(1, 64 * MIB);
        let held = gate.slot().await.unwrap();
        assert!(tokio::time::timeout(std::time::Duration::from_millis(50), gate.slot()).await.is_err());
        drop(held);
        assert!(gate.slot().await.is_ok());
    }
}

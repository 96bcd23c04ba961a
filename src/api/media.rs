//! Photo uploads, as `wx.uploadFile` sends them, and reading them back.

use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::payload::{Binary, Json};
use poem_openapi::types::multipart::Upload;
use poem_openapi::{ApiResponse, Enum, Multipart, Object, OpenApi};

use super::ApiTags;
use super::error::ApiResult;
use super::security::BearerAuth;
use crate::domain::DomainError;
use crate::domain::photo::{MAX_UPLOAD_BYTES, StoredPhoto};
use crate::service::media as service;
use crate::state::AppState;

/// `multipart/form-data` with the photo in the field `file`; other form fields are ignored.
#[derive(Debug, Multipart)]
pub struct UploadForm {
    /// A JPEG, PNG or WebP photo of at most 10 MB.
    pub file: Upload,
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none, example)]
pub struct Media {
    pub id: String,
    /// What the server stored after re-encoding: PNG stays PNG, JPEG and WebP become JPEG.
    pub content_type: StoredImageType,
    pub width: i32,
    pub height: i32,
    pub bytes: i64,
    pub created_at: DateTime<Utc>,
}

/// The type of a stored photo.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum StoredImageType {
    #[oai(rename = "image/jpeg")]
    Jpeg,
    #[oai(rename = "image/png")]
    Png,
}

impl StoredImageType {
    /// The store holds only what `domain::photo::clean` writes: PNG, or else JPEG.
    fn of(content_type: &str) -> Self {
        if content_type == "image/png" { StoredImageType::Png } else { StoredImageType::Jpeg }
    }
}

impl From<StoredPhoto> for Media {
    fn from(m: StoredPhoto) -> Self {
        Media {
            id: m.id,
            content_type: StoredImageType::of(&m.content_type),
            width: m.width,
            height: m.height,
            bytes: m.bytes,
            created_at: m.created_at.to_utc(),
        }
    }
}

#[derive(ApiResponse)]
pub enum Created {
    /// Stored, without any metadata
    #[oai(status = 201)]
    Created(Json<Media>),
}

#[derive(ApiResponse)]
pub enum Photo {
    /// The stored photo
    #[oai(status = 200)]
    Jpeg(Binary<Vec<u8>>, #[oai(header = "content-type")] String, #[oai(header = "cache-control")] String),
}

#[derive(Default)]
pub struct MediaApi;

#[OpenApi(tag = "ApiTags::Media")]
impl MediaApi {
    /// Upload a photo
    ///
    /// JPEG, PNG or WebP, recognised by content; at most 10 MB (413 above) and at most 40 million
    /// pixels (422 `image_too_large` above, judged from the header before anything is decoded).
    /// EXIF position and camera data are removed: the photo is decoded, turned upright and
    /// re-encoded before it is stored.
    #[oai(path = "/media", method = "post", operation_id = "media_upload")]
    async fn upload(&self, state: Data<&AppState>, auth: BearerAuth, form: UploadForm) -> ApiResult<Created> {
        if form.file.size() > MAX_UPLOAD_BYTES {
            return Err(DomainError::TooLarge { limit_bytes: MAX_UPLOAD_BYTES as u64 }.into());
        }
        let row = service::upload(&state.media(), auth.caller(), form.file.into_async_read()).await?;
        Ok(Created::Created(Json(row.into())))
    }

    /// Download a photo
    ///
    /// Served to its uploader and city admins; a photo on a report also to staff of the unit
    /// holding the report, and to nobody else (following a report does not open its photos); a
    /// place's photo (one staff uploaded, on no report) to anyone signed in; a rider's photo on no
    /// report to nobody else. To anyone else it does not exist (404). Photos carry no metadata.
    #[oai(path = "/media/:id", method = "get", operation_id = "media_get")]
    async fn get(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        /// The photo's id (`Media.id` from `POST /media`, a report's `media_ids`, or a place's `photos`).
        #[oai(validator(max_length = 64))]
        id: Path<String>,
    ) -> ApiResult<Photo> {
        let (row, bytes) = service::download(&state.media(), auth.caller(), &id.0).await?;
        Ok(Photo::Jpeg(Binary(bytes), row.content_type, "private, max-age=86400, immutable".into()))
    }
}

//! Photo uploads, as `wx.uploadFile` sends them, and reading them back.

use chrono::{DateTime, Utc};
use poem::web::Data;
use poem::{IntoResponse, Response};
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::{Binary, Json, Payload};
use poem_openapi::registry::{MetaHeader, MetaMediaType, MetaResponse, MetaResponses, Registry};
use poem_openapi::types::Type;
use poem_openapi::types::multipart::Upload;
use poem_openapi::{ApiResponse, Enum, Multipart, Object, OpenApi};

use super::ApiTags;
use super::error::codes::*;
use super::error::{ApiResult, Form, Signed};
use super::security::BearerAuth;
use crate::domain::DomainError;
use crate::domain::photo::MAX_UPLOAD_BYTES;
use crate::domain::photo_url::SignedPhoto;
use crate::domain::time::Millis;
use crate::service::media::{self as service, OwnPhoto};
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
    /// A signed URL of the photo that needs no token (see `PhotoUrl`).
    pub url: String,
    /// When `url` stops working.
    pub url_expires_at: DateTime<Utc>,
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

impl From<OwnPhoto> for Media {
    fn from(OwnPhoto { photo: m, url }: OwnPhoto) -> Self {
        Media {
            url: signed_path(&url),
            url_expires_at: url.expires_at().to_utc(),
            id: m.id,
            content_type: StoredImageType::of(&m.content_type),
            width: m.width,
            height: m.height,
            bytes: m.bytes,
            created_at: m.created_at.to_utc(),
        }
    }
}

/// A photo that `<image src>` and `wx.previewImage` load without a token: its signed URL, given
/// only to a caller who may see the photo, and working for anyone who holds it until
/// `expires_at`. Load it again from a fresh view after that.
#[derive(Debug, Clone, Object)]
pub struct PhotoUrl {
    /// The media id.
    pub id: String,
    /// `/api/v1/media/{id}/signed?exp=…&sig=…`, an absolute path: prefix the server's origin
    /// (`https://host`, without `/api/v1`). The same photo keeps the same URL for a while, so
    /// caches hit.
    pub url: String,
    pub expires_at: DateTime<Utc>,
}

impl From<SignedPhoto> for PhotoUrl {
    fn from(p: SignedPhoto) -> Self {
        PhotoUrl { url: signed_path(&p), expires_at: p.expires_at().to_utc(), id: p.id }
    }
}

/// The path of `media_signed` for this signature.
pub(crate) fn signed_path(p: &SignedPhoto) -> String {
    format!("{}{}", super::API_PREFIX, p.path())
}

#[derive(ApiResponse)]
pub enum Created {
    /// Stored, without any metadata
    #[oai(status = 201)]
    Created(Json<Media>),
}

/// The stored photo, in the type it was stored as: `image/jpeg` or `image/png`. One `200` with
/// both media types (the derive would write the `200` key once per type).
pub struct Photo {
    bytes: Vec<u8>,
    content_type: String,
    cache_control: String,
}

const PHOTO_TYPES: [&str; 2] = ["image/jpeg", "image/png"];
const PHOTO_CACHE: &str = "private, max-age=86400, immutable";
const PHOTO_CACHE_DOC: &str = "private, max-age=<seconds>, immutable: a day for a download with a token, until \
     the URL expires for a signed URL";

impl ApiResponse for Photo {
    fn meta() -> MetaResponses {
        let schema = || <Binary<Vec<u8>> as Payload>::schema_ref();
        MetaResponses {
            responses: vec![MetaResponse {
                description: "The stored photo",
                status: Some(200),
                status_range: None,
                content: PHOTO_TYPES
                    .into_iter()
                    .map(|content_type| MetaMediaType { content_type, schema: schema() })
                    .collect(),
                headers: vec![MetaHeader {
                    name: "Cache-Control".to_string(),
                    description: Some(PHOTO_CACHE_DOC.to_string()),
                    required: true,
                    deprecated: false,
                    schema: String::schema_ref(),
                }],
            }],
        }
    }

    fn register(_registry: &mut Registry) {}
}

impl IntoResponse for Photo {
    fn into_response(self) -> Response {
        Response::builder()
            .content_type(self.content_type)
            .header(poem::http::header::CACHE_CONTROL, self.cache_control)
            .body(self.bytes)
    }
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
    async fn upload(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        form: UploadForm,
    ) -> ApiResult<Created, (Signed, Form, InvalidInput, UnsupportedMedia, ImageTooLarge)> {
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
    ) -> ApiResult<Photo, (Signed, InvalidParameter, NotFound)> {
        let (row, bytes) = service::download(&state.media(), auth.caller(), &id.0).await?;
        Ok(Photo { bytes, content_type: row.content_type, cache_control: PHOTO_CACHE.to_string() })
    }

    /// Load a photo by its signed URL (no token)
    ///
    /// What `<image src>` and `wx.previewImage` load: the `url` of a `PhotoUrl` (in reports,
    /// triage views and places) or of an upload's answer. The signature (HMAC-SHA256 over the id
    /// and the expiry, under a server key) is the authorization: no token, and no other check.
    /// 403 `forbidden` for an expired or altered URL (get a fresh one from a new view), 404 when
    /// the photo is gone. Cached privately until the URL expires.
    #[oai(path = "/media/:id/signed", method = "get", operation_id = "media_signed")]
    async fn signed(
        &self,
        state: Data<&AppState>,
        /// The media id.
        #[oai(validator(max_length = 64))]
        id: Path<String>,
        /// When the URL expires, in unix seconds.
        exp: Query<i64>,
        /// The signature of the id and `exp`, base64url without padding.
        #[oai(validator(max_length = 64))]
        sig: Query<String>,
    ) -> ApiResult<Photo, (InvalidParameter, Forbidden, NotFound)> {
        let now = Millis::now();
        let (content_type, bytes) = service::by_url(&state.media(), &id.0, exp.0, &sig.0, now).await?;
        let max_age = exp.0.saturating_mul(1000).saturating_sub(now.0).max(0) / 1000;
        Ok(Photo {
            bytes,
            content_type: content_type.into(),
            cache_control: format!("private, max-age={max_age}, immutable"),
        })
    }
}

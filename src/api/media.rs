//! Photo uploads, as `wx.uploadFile` sends them, and reading them back.

use chrono::{DateTime, Utc};
use poem::web::Data;
use poem::{IntoResponse, Response};
use poem_openapi::param::Path;
use poem_openapi::payload::{Binary, Json, Payload};
use poem_openapi::registry::{MetaHeader, MetaMediaType, MetaResponse, MetaResponses, Registry};
use poem_openapi::types::Type;
use poem_openapi::types::multipart::Upload;
use poem_openapi::{ApiResponse, Multipart, Object, OpenApi};

use super::ApiTags;
use super::error::codes::*;
use super::error::{ApiResult, Form, Signed};
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
pub struct Media {
    pub id: String,
    /// `image/jpeg` or `image/png`: what the server stored after re-encoding.
    pub content_type: String,
    pub width: i32,
    pub height: i32,
    pub bytes: i64,
    pub created_at: DateTime<Utc>,
}

impl From<StoredPhoto> for Media {
    fn from(m: StoredPhoto) -> Self {
        Media {
            id: m.id,
            content_type: m.content_type,
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

/// The stored photo, in the type it was stored as: `image/jpeg` or `image/png`. One `200` with
/// both media types (the derive would write the `200` key once per type).
pub struct Photo {
    bytes: Vec<u8>,
    content_type: String,
}

const PHOTO_TYPES: [&str; 2] = ["image/jpeg", "image/png"];
const PHOTO_CACHE: &str = "private, max-age=86400, immutable";

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
                    description: Some(PHOTO_CACHE.to_string()),
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
            .header(poem::http::header::CACHE_CONTROL, PHOTO_CACHE)
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
        #[oai(validator(max_length = 64))] id: Path<String>,
    ) -> ApiResult<Photo, (Signed, InvalidParameter, NotFound)> {
        let (row, bytes) = service::download(&state.media(), auth.caller(), &id.0).await?;
        Ok(Photo { bytes, content_type: row.content_type })
    }
}

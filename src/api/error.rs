//! The one error shape, `{"code", "message", "details"}`, and the one mapping from domain errors
//! and from poem's own errors (routing, parsing, auth) to it.

use std::fmt;

use poem::error::ResponseError;
use poem::http::{HeaderMap, StatusCode, header};
use poem::{IntoResponse, Response};
use poem_openapi::registry::{MetaMediaType, MetaResponse, MetaResponses, Registry};
use poem_openapi::types::Type;
use poem_openapi::{ApiResponse, Object};
use serde_json::{Value, json};

use crate::domain::DomainError;

/// The error body every endpoint answers with.
#[derive(Debug, Clone, Object)]
pub struct ErrorBody {
    /// Stable, machine-readable reason in snake_case; never changes meaning.
    pub code: String,
    /// For people: Chinese by default, English when `Accept-Language` prefers `en`.
    pub message: String,
    /// Structured detail (the field at fault, the rows of an import), or null.
    pub details: Option<Value>,
}

/// The language of error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Zh,
    En,
}

impl Lang {
    /// The preferred of Chinese and English in `Accept-Language` (Chinese when neither or tied).
    pub fn from_headers(headers: &HeaderMap) -> Lang {
        let Some(value) = headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()) else {
            return Lang::Zh;
        };
        let mut best = (Lang::Zh, 0.0f32);
        for part in value.split(',') {
            let mut pieces = part.trim().split(';');
            let tag = pieces.next().unwrap_or_default().trim().to_ascii_lowercase();
            let q = pieces.find_map(|p| p.trim().strip_prefix("q=")).and_then(|q| q.parse::<f32>().ok()).unwrap_or(1.0);
            let lang = if tag.starts_with("en") {
                Lang::En
            } else if tag.starts_with("zh") || tag == "*" {
                Lang::Zh
            } else {
                continue;
            };
            if q > best.1 || (q == best.1 && lang == Lang::Zh) {
                best = (lang, q);
            }
        }
        best.0
    }
}

/// An error on its way to the client.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: String,
    pub zh: String,
    pub en: String,
    pub details: Option<Value>,
    pub retry_after_secs: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: impl Into<String>, zh: impl Into<String>, en: impl Into<String>) -> Self {
        ApiError { status, code: code.into(), zh: zh.into(), en: en.into(), details: None, retry_after_secs: None }
    }

    pub fn with_details(mut self, details: Value) -> Self {
        self.details = Some(details);
        self
    }

    pub fn bad_request(code: &str, en: impl Into<String>) -> Self {
        let en = en.into();
        ApiError::new(StatusCode::BAD_REQUEST, code, format!("请求无效：{en}"), en)
    }

    pub fn body(&self, lang: Lang) -> ErrorBody {
        let message = match lang {
            Lang::Zh => self.zh.clone(),
            Lang::En => self.en.clone(),
        };
        ErrorBody { code: self.code.clone(), message, details: self.details.clone() }
    }

    pub fn to_response(&self, lang: Lang) -> Response {
        let body = self.body(lang);
        let json = json!({ "code": body.code, "message": body.message, "details": body.details });
        let mut resp = poem::web::Json(json).with_status(self.status).into_response();
        if let Some(secs) = self.retry_after_secs {
            resp.headers_mut().insert(header::RETRY_AFTER, secs.into());
        }
        resp
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.status.as_u16(), self.code, self.en)
    }
}

impl std::error::Error for ApiError {}

impl ResponseError for ApiError {
    fn status(&self) -> StatusCode {
        self.status
    }

    fn as_response(&self) -> Response {
        self.to_response(Lang::Zh)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.to_response(Lang::Zh)
    }
}

/// The error statuses every operation documents.
const DOCUMENTED: [(u16, &str); 9] = [
    (400, "Malformed or invalid input"),
    (401, "Missing, invalid, expired or revoked token, or bad credentials"),
    (403, "The caller may not do this"),
    (404, "No such object within the caller's scope"),
    (409, "Conflicts with the current state"),
    (413, "Payload too large"),
    (422, "Well-formed but refused by a rule"),
    (429, "Too many requests; see Retry-After"),
    (503, "A dependency (database, WeChat) is unavailable"),
];

impl ApiResponse for ApiError {
    fn meta() -> MetaResponses {
        MetaResponses {
            responses: DOCUMENTED
                .iter()
                .map(|(status, description)| MetaResponse {
                    description,
                    status: Some(*status),
                    status_range: None,
                    content: vec![MetaMediaType {
                        content_type: "application/json; charset=utf-8",
                        schema: ErrorBody::schema_ref(),
                    }],
                    headers: vec![],
                })
                .collect(),
        }
    }

    fn register(registry: &mut Registry) {
        ErrorBody::register(registry);
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

impl From<DomainError> for ApiError {
    fn from(err: DomainError) -> Self {
        use DomainError as D;
        match err {
            D::Invalid { field, reason } => ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_input",
                format!("参数 {field} 无效：{reason}"),
                format!("invalid {field}: {reason}"),
            )
            .with_details(json!({ "field": field, "reason": reason })),
            D::InvalidMany { summary, problems } => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_rows", format!("数据有误：{summary}"), summary)
                    .with_details(problems)
            }
            D::Unauthenticated(failure) => {
                let (zh, en) = match failure {
                    crate::domain::error::AuthFailure::MissingToken => ("请先登录", "sign in first"),
                    crate::domain::error::AuthFailure::InvalidToken => {
                        ("登录凭证无效，请重新登录", "the token is invalid; sign in again")
                    }
                    crate::domain::error::AuthFailure::ExpiredToken => {
                        ("登录已过期，请重新登录", "the token has expired; sign in again")
                    }
                    crate::domain::error::AuthFailure::RevokedToken => {
                        ("已退出登录，请重新登录", "the token was revoked; sign in again")
                    }
                    crate::domain::error::AuthFailure::BadCredentials => {
                        ("用户名或密码错误", "wrong username or password")
                    }
                    crate::domain::error::AuthFailure::AccountDisabled => ("账号已停用", "the account is disabled"),
                    crate::domain::error::AuthFailure::InvalidWechatCode => {
                        ("微信登录凭证无效或已过期，请重试", "the WeChat login code is invalid or expired; try again")
                    }
                };
                ApiError::new(StatusCode::UNAUTHORIZED, failure.code(), zh, en)
            }
            D::Forbidden(what) => {
                ApiError::new(StatusCode::FORBIDDEN, "forbidden", "无权进行此操作", "you may not do this")
                    .with_details(json!({ "reason": what }))
            }
            D::NotFound(what) => ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                format!("未找到（{what}）"),
                format!("{what} not found"),
            ),
            D::Conflict { code, message } => {
                ApiError::new(StatusCode::CONFLICT, code, format!("与当前状态冲突：{message}"), message)
            }
            D::RateLimited { retry_after_secs } => {
                let mut e = ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "rate_limited",
                    format!("操作太频繁，请 {retry_after_secs} 秒后再试"),
                    format!("too many requests; retry in {retry_after_secs} s"),
                );
                e.retry_after_secs = Some(retry_after_secs);
                e
            }
            D::TooLarge { limit_bytes } => ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("内容过大，上限 {limit_bytes} 字节"),
                format!("payload too large; the limit is {limit_bytes} bytes"),
            )
            .with_details(json!({ "limit_bytes": limit_bytes })),
            D::UnsupportedMedia(what) => ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media",
                format!("不支持的文件类型：{what}"),
                format!("unsupported media: {what}"),
            ),
            D::Unavailable { service, reason } => {
                tracing::warn!(service, %reason, "dependency unavailable");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    format!("{service}_unavailable"),
                    "服务暂时不可用，请稍后重试",
                    format!("{service} is unavailable; try again shortly"),
                )
            }
            D::Internal(detail) => {
                tracing::error!(%detail, "internal error");
                ApiError::internal()
            }
        }
    }
}

impl ApiError {
    pub fn internal() -> Self {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "服务器内部错误", "internal server error")
    }

    /// Turns any error poem or poem-openapi raised (routing, parsing, auth) into the one shape.
    pub fn from_poem(err: &poem::Error) -> ApiError {
        use poem_openapi::error as oai;
        if let Some(api) = err.downcast_ref::<ApiError>() {
            return api.clone();
        }
        if let Some(e) = err.downcast_ref::<oai::ParseParamError>() {
            return ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_parameter",
                format!("参数 {} 无效：{}", e.name, e.reason),
                format!("invalid parameter `{}`: {}", e.name, e.reason),
            )
            .with_details(json!({ "field": e.name, "reason": e.reason }));
        }
        if let Some(e) = err.downcast_ref::<oai::ParseRequestPayloadError>() {
            return ApiError::new(
                StatusCode::BAD_REQUEST,
                "malformed_body",
                format!("请求体格式错误：{}", e.reason),
                format!("malformed request body: {}", e.reason),
            )
            .with_details(json!({ "reason": e.reason }));
        }
        if let Some(e) = err.downcast_ref::<oai::ParseMultipartError>() {
            return ApiError::new(
                StatusCode::BAD_REQUEST,
                "malformed_multipart",
                format!("上传内容格式错误：{}", e.reason),
                format!("malformed multipart body: {}", e.reason),
            );
        }
        if err.is::<oai::ContentTypeError>() {
            return ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_content_type",
                "不支持的 Content-Type",
                err.to_string(),
            );
        }
        if err.is::<oai::AuthorizationError>() {
            return DomainError::Unauthenticated(crate::domain::error::AuthFailure::MissingToken).into();
        }
        let status = err.status();
        match status {
            StatusCode::NOT_FOUND => ApiError::new(status, "not_found", "接口不存在", "no such endpoint"),
            StatusCode::METHOD_NOT_ALLOWED => {
                ApiError::new(status, "method_not_allowed", "不支持该请求方法", "method not allowed")
            }
            StatusCode::PAYLOAD_TOO_LARGE => {
                ApiError::new(status, "payload_too_large", "内容过大", "payload too large")
            }
            s if s.is_server_error() => {
                tracing::error!(error = %err, "unhandled server error");
                ApiError::internal()
            }
            s => ApiError::new(
                s,
                s.canonical_reason().unwrap_or("error").to_ascii_lowercase().replace([' ', '-'], "_"),
                "请求无效",
                err.to_string(),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT_LANGUAGE, value.parse().unwrap());
        h
    }

    #[test]
    fn chinese_unless_english_is_preferred() {
        assert_eq!(Lang::from_headers(&HeaderMap::new()), Lang::Zh);
        assert_eq!(Lang::from_headers(&headers("en-US,en;q=0.9")), Lang::En);
        assert_eq!(Lang::from_headers(&headers("zh-CN,zh;q=0.9,en;q=0.8")), Lang::Zh);
        assert_eq!(Lang::from_headers(&headers("fr, en;q=0.5")), Lang::En);
        assert_eq!(Lang::from_headers(&headers("en;q=0.5, zh;q=0.5")), Lang::Zh);
    }
}

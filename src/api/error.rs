//! The one error shape, `{"code", "message", "details"}`, and the one mapping from domain errors
//! and from poem's own errors (routing, parsing, auth) to it.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use poem::error::ResponseError;
use poem::http::{HeaderMap, StatusCode, header};
use poem::{IntoResponse, Response};
use poem_openapi::registry::{MetaResponses, MetaSchema, MetaSchemaRef, Registry};
use poem_openapi::types::{ParseError, ParseFromJSON, ParseResult, ToJSON, Type};
use poem_openapi::{ApiResponse, Object};
use serde_json::{Value, json};

use super::error_codes;
use crate::domain::DomainError;
pub use crate::domain::error::codes;
use crate::domain::error::codes::*;
use crate::domain::error::{AuthFailure, ErrorChain, ErrorCode, IsCode};

/// The error body every endpoint answers with.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct ErrorBody {
    pub code: ErrorCode,
    /// For people: Chinese by default, English when `Accept-Language` prefers `en`.
    pub message: String,
    /// Structured detail (the field at fault, the rows of an import); absent when there is none.
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

/// In the spec `code` is a string enum listing every value.
impl Type for ErrorCode {
    const IS_REQUIRED: bool = true;
    type RawValueType = Self;
    type RawElementValueType = Self;

    fn name() -> Cow<'static, str> {
        "ErrorCode".into()
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Reference(Self::name().into_owned())
    }

    fn register(registry: &mut Registry) {
        registry.create_schema::<Self, _>(Self::name().into_owned(), |_| MetaSchema {
            description: Some("Stable, machine-readable reason in snake_case; never changes meaning."),
            enum_items: ErrorCode::ALL.iter().filter_map(ToJSON::to_json).collect(),
            ..MetaSchema::new("string")
        });
    }

    fn as_raw_value(&self) -> Option<&Self> {
        Some(self)
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a Self> + 'a> {
        Box::new(self.as_raw_value().into_iter())
    }
}

impl ToJSON for ErrorCode {
    fn to_json(&self) -> Option<Value> {
        Some(Value::String(self.as_str().to_string()))
    }
}

impl ParseFromJSON for ErrorCode {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        let value = value.unwrap_or_default();
        let known = value.as_str().and_then(|s| ErrorCode::ALL.iter().find(|c| c.as_str() == s)).copied();
        known.ok_or_else(|| ParseError::expected_type(value))
    }
}

/// An error on its way to the client.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: ErrorCode,
    pub zh: String,
    pub en: String,
    pub details: Option<Value>,
    pub retry_after_secs: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: ErrorCode, zh: impl Into<String>, en: impl Into<String>) -> Self {
        ApiError { status, code, zh: zh.into(), en: en.into(), details: None, retry_after_secs: None }
    }

    pub fn with_details(mut self, details: Value) -> Self {
        self.details = Some(details);
        self
    }

    pub fn body(&self, lang: Lang) -> ErrorBody {
        let message = match lang {
            Lang::Zh => self.zh.clone(),
            Lang::En => self.en.clone(),
        };
        ErrorBody { code: self.code, message, details: self.details.clone() }
    }

    /// The body as JSON: what every error answer carries, including those written below poem.
    /// `details` is left out when there are none, like every absent field.
    pub fn json(&self, lang: Lang) -> Value {
        let body = self.body(lang);
        let mut json = json!({ "code": body.code.as_str(), "message": body.message });
        if let Some(details) = body.details {
            json["details"] = details;
        }
        json
    }

    pub fn to_response(&self, lang: Lang) -> Response {
        let mut resp = poem::web::Json(self.json(lang)).with_status(self.status).into_response();
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

/// A set of error codes an operation may answer with: one code (`codes::NotFound`), or a tuple
/// of sets, so that groups (`Signed`, `Body`, …) compose.
pub trait ErrorSet: 'static {
    /// Appends the codes of the set, in declaration order (repeats allowed).
    fn add_codes(out: &mut Vec<ErrorCode>);

    fn codes() -> Vec<ErrorCode> {
        let mut out = Vec::new();
        Self::add_codes(&mut out);
        out
    }
}

impl<C: IsCode + 'static> ErrorSet for C {
    fn add_codes(out: &mut Vec<ErrorCode>) {
        out.push(C::CODE);
    }
}

macro_rules! tuple_error_sets {
    ($($set:ident),+) => {
        impl<$($set: ErrorSet),+> ErrorSet for ($($set,)+) {
            fn add_codes(out: &mut Vec<ErrorCode>) {
                $($set::add_codes(out);)+
            }
        }
    };
}

tuple_error_sets!(A);
tuple_error_sets!(A, B);
tuple_error_sets!(A, B, C);
tuple_error_sets!(A, B, C, D);
tuple_error_sets!(A, B, C, D, E);
tuple_error_sets!(A, B, C, D, E, F);
tuple_error_sets!(A, B, C, D, E, F, G);
tuple_error_sets!(A, B, C, D, E, F, G, H);
tuple_error_sets!(A, B, C, D, E, F, G, H, I);
tuple_error_sets!(A, B, C, D, E, F, G, H, I, J);
tuple_error_sets!(A, B, C, D, E, F, G, H, I, J, K);
tuple_error_sets!(A, B, C, D, E, F, G, H, I, J, K, L);

/// Any Bearer token (`BearerAuth`), checked against the sessions in the database.
pub type Signed = (MissingToken, InvalidToken, TokenExpired, TokenRevoked, AccountDisabled, DatabaseUnavailable);
/// A token of one role (`RiderAuth`, `StaffAuth`, `AdminAuth`): another role is 403, as is what
/// the service refuses that role or account.
pub type SignedAs = (Signed, Forbidden);
/// A request body: of another `Content-Type` (or none), not of the documented shape, over the
/// size limit, or stalled on the way.
pub type Body = (MalformedBody, UnsupportedContentType, PayloadTooLarge, RequestTimeout);
/// A `multipart/form-data` upload.
pub type Form = (MalformedMultipart, UnsupportedContentType, PayloadTooLarge, RequestTimeout);
/// A page of a list: `limit` out of range or a `cursor` this API did not give.
pub type Paged = (InvalidParameter, InvalidInput);

/// An error of an operation that may answer with the codes of `E`, and the spec says exactly
/// those, one response per status (`error_codes::responses`). Converts from `ApiError` and
/// `DomainError`, so `?` works as with `ApiError`; a code the operation does not declare is logged
/// as an error.
pub struct Fails<E> {
    error: ApiError,
    codes: PhantomData<fn() -> E>,
}

impl<E> fmt::Debug for Fails<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.error.fmt(f)
    }
}

impl<E: ErrorSet> From<ApiError> for Fails<E> {
    fn from(error: ApiError) -> Self {
        // The answer still goes out as it is (a client is better served by the true reason);
        // the log, the spec-conformance tests and Schemathesis's schema check make it a bug.
        if error.code != ErrorCode::Internal && !E::codes().contains(&error.code) {
            tracing::error!(code = %error.code, declared = ?E::codes(), "an operation answered an error code its spec does not declare");
        }
        Fails { error, codes: PhantomData }
    }
}

impl<E: ErrorSet> From<DomainError> for Fails<E> {
    fn from(err: DomainError) -> Self {
        ApiError::from(err).into()
    }
}

impl<E> From<Fails<E>> for poem::Error {
    fn from(fails: Fails<E>) -> Self {
        fails.error.into()
    }
}

impl<E: ErrorSet> ApiResponse for Fails<E> {
    fn meta() -> MetaResponses {
        MetaResponses { responses: error_codes::responses(&E::codes()) }
    }

    fn register(registry: &mut Registry) {
        ErrorBody::register(registry);
    }
}

/// What a handler returns: `T`, or an error with one of the codes of `E`.
pub type ApiResult<T, E> = Result<T, Fails<E>>;

impl From<DomainError> for ApiError {
    fn from(err: DomainError) -> Self {
        use DomainError as D;
        match err {
            D::Invalid { field, reason } => ApiError::new(
                StatusCode::BAD_REQUEST,
                ErrorCode::InvalidInput,
                invalid_zh(&field, &reason),
                format!("invalid {field}: {reason}"),
            )
            .with_details(json!({ "field": field, "reason": reason })),
            D::InvalidMany { summary, problems } => {
                let zh = match problems["errors"].as_array() {
                    Some(rows) => format!("数据有误，共 {} 处；未做任何更改", rows.len()),
                    None => "数据有误；未做任何更改".to_string(),
                };
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, ErrorCode::InvalidRows, zh, summary)
                    .with_details(problems)
            }
            D::Unauthenticated(failure) => {
                let (zh, en) = match failure {
                    AuthFailure::MissingToken => ("请先登录", "sign in first"),
                    AuthFailure::InvalidToken => ("登录凭证无效，请重新登录", "the token is invalid; sign in again"),
                    AuthFailure::ExpiredToken => ("登录已过期，请重新登录", "the token has expired; sign in again"),
                    AuthFailure::RevokedToken => ("已退出登录，请重新登录", "the token was revoked; sign in again"),
                    AuthFailure::BadCredentials => ("用户名或密码错误", "wrong username or password"),
                    AuthFailure::AccountDisabled => ("账号已停用", "the account is disabled"),
                    AuthFailure::InvalidWechatCode => {
                        ("微信登录凭证无效或已过期，请重试", "the WeChat login code is invalid or expired; try again")
                    }
                    AuthFailure::WechatUserBlocked => (
                        "微信判定该账号存在风险，暂时无法登录",
                        "WeChat has blocked this user as high-risk; trying again will not help",
                    ),
                };
                ApiError::new(failure.code().status(), failure.code(), zh, en)
            }
            D::Forbidden(what) => {
                ApiError::new(StatusCode::FORBIDDEN, ErrorCode::Forbidden, "无权进行此操作", "you may not do this")
                    .with_details(json!({ "reason": what }))
            }
            D::NotFound(what) => {
                let zh = match noun_zh(what) {
                    Some(noun) => format!("未找到该{noun}"),
                    None => "未找到".to_string(),
                };
                ApiError::new(StatusCode::NOT_FOUND, ErrorCode::NotFound, zh, format!("{what} not found"))
            }
            D::Conflict { code, message } => ApiError::new(StatusCode::CONFLICT, code, conflict_zh(code), message),
            D::RateLimited { retry_after_secs } => {
                let mut e = ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    ErrorCode::RateLimited,
                    format!("操作太频繁，请 {retry_after_secs} 秒后再试"),
                    format!("too many requests; retry in {retry_after_secs} s"),
                );
                e.retry_after_secs = Some(retry_after_secs);
                e
            }
            D::TooLarge { limit_bytes } => ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                ErrorCode::PayloadTooLarge,
                format!("内容过大，上限 {limit_bytes} 字节"),
                format!("payload too large; the limit is {limit_bytes} bytes"),
            )
            .with_details(json!({ "limit_bytes": limit_bytes })),
            D::UnsupportedMedia(what) => ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                ErrorCode::UnsupportedMedia,
                "文件无法识别，请上传 JPEG、PNG 或 WebP 图片",
                format!("unsupported media: {what}"),
            )
            .with_details(json!({ "reason": what })),
            D::ImageTooLarge(reason) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                ErrorCode::ImageTooLarge,
                format!("图片像素过多，请上传不超过 {} 万像素的照片", crate::domain::photo::MAX_PIXELS / 10_000),
                format!("image too large: {reason}"),
            )
            .with_details(json!({
                "reason": reason,
                "max_pixels": crate::domain::photo::MAX_PIXELS,
                "max_decoded_bytes": crate::domain::photo::MAX_DECODED_BYTES,
            })),
            D::Unavailable { dependency, source } => {
                tracing::warn!(dependency = dependency.name(), error = %ErrorChain(source.as_ref()), "dependency unavailable");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    dependency.code(),
                    "服务暂时不可用，请稍后重试",
                    format!("{} is unavailable; try again shortly", dependency.name()),
                )
            }
            D::Internal(source) => {
                log_internal(source.as_ref());
                ApiError::internal()
            }
        }
    }
}

/// The one log line of an internal error, with its whole chain; the client sees none of it.
pub fn log_internal(source: &(dyn std::error::Error + 'static)) {
    tracing::error!(error = %ErrorChain(source), "internal error");
}

/// "参数 X 无效", with what is wrong in Chinese when the domain's reason has a known shape.
fn invalid_zh(field: &str, reason: &str) -> String {
    match reason_zh(reason) {
        Some(what) => format!("参数 {field} 无效：{what}"),
        None => format!("参数 {field} 无效"),
    }
}

/// The Chinese for the few shapes the English reasons take (the domain's, and poem-openapi's
/// validators'); none for the rest, whose English stays in `details` and the English message.
fn reason_zh(reason: &str) -> Option<String> {
    let number = |s: &str| s.trim().parse::<u64>().ok();
    match reason {
        "required" => return Some("必填".into()),
        "not a cursor this API gave out" => return Some("不是本接口给出的翻页游标".into()),
        r if r.starts_with("unknown ") => return Some("不是可识别的取值".into()),
        r if r.ends_with(" is not a number") => return Some("须为数字".into()),
        r if r.starts_with("failed to parse ") => return Some("格式不正确".into()),
        _ => {}
    }
    if let Some(rule) = reason.strip_prefix("verification failed. ") {
        let (name, args) = rule.strip_suffix(')')?.split_once('(')?;
        let (n, exclusive) = match args.split_once(", exclusive: ") {
            Some((n, exclusive)) => (n, exclusive == "true"),
            None => (args, false),
        };
        return Some(match (name, exclusive) {
            ("minimum", false) => format!("不能小于 {n}"),
            ("minimum", true) => format!("须大于 {n}"),
            ("maximum", false) => format!("不能大于 {n}"),
            ("maximum", true) => format!("须小于 {n}"),
            ("minLength", _) => format!("至少 {n} 个字符"),
            ("maxLength", _) => format!("最多 {n} 个字符"),
            ("minItems", _) => format!("至少 {n} 项"),
            ("maxItems", _) => format!("最多 {n} 项"),
            _ => return None,
        });
    }
    if let Some(rest) = reason.strip_prefix("at most ") {
        return match rest.strip_suffix(" characters") {
            Some(n) => number(n).map(|n| format!("最多 {n} 个字符")),
            None => number(rest).map(|n| format!("最多 {n} 个")),
        };
    }
    let (low, high) = reason.split_once(" to ")?;
    let low = number(low)?;
    match high.strip_suffix(" characters") {
        Some(high) => number(high).map(|high| format!("长度须为 {low} 到 {high} 个字符")),
        None => number(high).map(|high| format!("须在 {low} 到 {high} 之间")),
    }
}

/// The Chinese name of what `DomainError::NotFound` names.
fn noun_zh(what: &str) -> Option<&'static str> {
    Some(match what {
        "place" => "地点",
        "report" => "上报",
        "unit" => "单位",
        "media" => "照片",
        "account" => "账号",
        "staff account" => "员工账号",
        "reward" => "奖品",
        "redemption" => "兑换记录",
        "webhook" => "推送地址",
        "delivery" => "推送记录",
        _ => return None,
    })
}

/// The Chinese message of a conflict, by its code.
fn conflict_zh(code: ErrorCode) -> &'static str {
    match code {
        ErrorCode::CannotDisableSelf => "不能停用自己的账号",
        ErrorCode::UsernameTaken => "用户名已被占用",
        ErrorCode::IdempotencyKeyReused => "该 Idempotency-Key 已用于另一个不同的请求",
        ErrorCode::ConcurrentUpdate => "上报刚被他人修改，请刷新后重试",
        ErrorCode::IllegalTransition => "上报当前的状态不允许此操作",
        ErrorCode::ReopenWindowPassed => "上报办结超过 7 天，不能再重新打开",
        ErrorCode::NotDue => "已办结的上报满 7 天后自动关闭",
        ErrorCode::ReportNotOpen => "只能关注尚未办结的上报",
        ErrorCode::NotResolved => "上报办结后才能评价",
        ErrorCode::AlreadyRated => "每条上报只能评价一次",
        ErrorCode::NoUnit => "没有可以受理此上报的单位",
        ErrorCode::CheckinConflict => "打卡冲突，请重试",
        ErrorCode::WrongPlaceKind => "该地点的类型不支持此项修改",
        ErrorCode::OutOfStock => "该奖品已兑完",
        ErrorCode::InsufficientPoints => "积分不足，无法兑换",
        ErrorCode::RewardClosed => "该奖品当前不可兑换",
        ErrorCode::AlreadyPickedUp => "该兑换码已领取过",
        ErrorCode::RedemptionClosed => "该兑换已取消或已过期",
        ErrorCode::TooManyEndpoints => "每个单位最多登记 10 个推送地址",
        ErrorCode::NotDeadLetter => "只有已放弃的推送才能重试",
        _ => "与当前状态冲突",
    }
}

impl ApiError {
    pub fn internal() -> Self {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, ErrorCode::Internal, "服务器内部错误", "internal server error")
    }

    fn malformed_body(reason: &str) -> ApiError {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::MalformedBody,
            "请求体格式错误",
            format!("malformed request body: {reason}"),
        )
        .with_details(json!({ "reason": reason }))
    }

    fn malformed_multipart(reason: &str) -> ApiError {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::MalformedMultipart,
            "上传内容格式错误",
            format!("malformed multipart body: {reason}"),
        )
        .with_details(json!({ "reason": reason }))
    }

    fn invalid_parameter(name: &str, reason: &str) -> ApiError {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidParameter,
            invalid_zh(name, reason),
            format!("invalid parameter `{name}`: {reason}"),
        )
        .with_details(json!({ "field": name, "reason": reason }))
    }

    /// Turns any error poem or poem-openapi raised (routing, parsing, auth) into the one shape.
    pub fn from_poem(err: &poem::Error) -> ApiError {
        use poem_openapi::error as oai;
        if let Some(api) = err.downcast_ref::<ApiError>() {
            return api.clone();
        }
        if let Some(e) = err.downcast_ref::<oai::ParseParamError>() {
            return ApiError::invalid_parameter(e.name, &e.reason);
        }
        if let Some(e) = err.downcast_ref::<oai::ParsePathError>() {
            return ApiError::invalid_parameter(e.name, &e.reason);
        }
        if let Some(e) = err.downcast_ref::<oai::ParseRequestPayloadError>() {
            return ApiError::malformed_body(&e.reason);
        }
        if let Some(e) = err.downcast_ref::<oai::ParseMultipartError>() {
            return ApiError::malformed_multipart(&e.reason);
        }
        if let Some(e) = err.downcast_ref::<poem::error::ParseMultipartError>() {
            use poem::error::ParseMultipartError as M;
            if !matches!(e, M::InvalidContentType(_) | M::ContentTypeRequired) {
                return ApiError::malformed_multipart(&e.to_string());
            }
        }
        if let Some(e) = err.downcast_ref::<poem::error::ReadBodyError>() {
            use poem::error::ReadBodyError as R;
            if matches!(e, R::Utf8(_) | R::Io(_)) {
                return ApiError::malformed_body(&e.to_string());
            }
        }
        if err.is::<oai::ContentTypeError>() {
            return ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                ErrorCode::UnsupportedContentType,
                "不支持的 Content-Type",
                err.to_string(),
            );
        }
        if err.is::<oai::AuthorizationError>() {
            return DomainError::Unauthenticated(AuthFailure::MissingToken).into();
        }
        let status = err.status();
        if status.is_server_error() {
            tracing::error!(error = %err, "unhandled server error");
            return ApiError::internal();
        }
        let (code, zh, en) = match status {
            StatusCode::NOT_FOUND => (ErrorCode::NotFound, "接口不存在", "no such endpoint".to_string()),
            StatusCode::METHOD_NOT_ALLOWED => {
                (ErrorCode::MethodNotAllowed, "不支持该请求方法", "method not allowed".to_string())
            }
            StatusCode::PAYLOAD_TOO_LARGE => (ErrorCode::PayloadTooLarge, "内容过大", "payload too large".to_string()),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => {
                (ErrorCode::UnsupportedContentType, "不支持的 Content-Type", err.to_string())
            }
            // CORS refusals.
            StatusCode::FORBIDDEN => (ErrorCode::Forbidden, "无权进行此操作", err.to_string()),
            _ => (ErrorCode::BadRequest, "请求无效", err.to_string()),
        };
        ApiError::new(status, code, zh, en)
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
    fn known_reasons_are_said_in_chinese_and_others_get_a_general_sentence() {
        let cases = [
            ("name", "required", "参数 name 无效：必填"),
            ("note", "at most 200 characters", "参数 note 无效：最多 200 个字符"),
            ("display_name", "1 to 64 characters", "参数 display_name 无效：长度须为 1 到 64 个字符"),
            ("limit", "1 to 100", "参数 limit 无效：须在 1 到 100 之间"),
            ("limit", "verification failed. minimum(1, exclusive: false)", "参数 limit 无效：不能小于 1"),
            ("limit", "failed to parse \"integer(uint32)\": invalid digit", "参数 limit 无效：格式不正确"),
            ("kind", "unknown unit kind `x`", "参数 kind 无效：不是可识别的取值"),
            ("bbox", "min before max", "参数 bbox 无效"),
            ("score", "1 to many", "参数 score 无效"),
            ("x", "verification failed. pattern(\"^a$\")", "参数 x 无效"),
        ];
        for (field, reason, zh) in cases {
            assert_eq!(invalid_zh(field, reason), zh);
        }
    }

    #[test]
    fn every_code_is_a_value_of_the_spec_enum() {
        for code in ErrorCode::ALL {
            let json = code.to_json();
            assert_eq!(json, Some(Value::String(code.as_str().to_string())));
            assert_eq!(ErrorCode::parse_from_json(json).ok(), Some(*code));
        }
        assert!(ErrorCode::parse_from_json(Some(json!("no_such_code"))).is_err());
    }

    #[test]
    fn every_answer_has_the_one_status_of_its_code() {
        use crate::domain::error::Dependency;
        use poem_openapi::error as oai;
        let auth = [
            AuthFailure::MissingToken,
            AuthFailure::InvalidToken,
            AuthFailure::ExpiredToken,
            AuthFailure::RevokedToken,
            AuthFailure::BadCredentials,
            AuthFailure::AccountDisabled,
            AuthFailure::InvalidWechatCode,
        ];
        let conflicts = ErrorCode::ALL.iter().filter(|c| c.status() == StatusCode::CONFLICT);
        let unavailable = [Dependency::Wechat, Dependency::Database];
        let domain = [
            DomainError::invalid("limit", "1 to 100"),
            DomainError::InvalidMany { summary: "1 bad row".into(), problems: json!({ "errors": [] }) },
            DomainError::Forbidden("role"),
            DomainError::NotFound("place"),
            DomainError::RateLimited { retry_after_secs: 5 },
            DomainError::TooLarge { limit_bytes: 10 },
            DomainError::UnsupportedMedia("text".into()),
            DomainError::ImageTooLarge("huge".into()),
            DomainError::internal("bug"),
        ]
        .into_iter()
        .chain(auth.map(DomainError::Unauthenticated))
        .chain(conflicts.map(|c| DomainError::conflict(*c, "no")))
        .chain(unavailable.map(|d| DomainError::Unavailable { dependency: d, source: "down".into() }));
        let poem_errors: Vec<poem::Error> = vec![
            oai::ParseParamError { name: "limit", reason: "bad".into() }.into(),
            oai::ParsePathError { name: "id", reason: "bad".into() }.into(),
            oai::ParseRequestPayloadError { reason: "bad".into() }.into(),
            oai::ParseMultipartError { reason: "bad".into() }.into(),
            oai::ContentTypeError::ExpectContentType.into(),
            oai::AuthorizationError.into(),
            poem::error::ParseMultipartError::ContentTypeRequired.into(),
            poem::error::ParseMultipartError::Io(std::io::Error::other("cut")).into(),
            poem::error::ReadBodyError::Io(std::io::Error::other("cut")).into(),
            poem::error::ReadBodyError::PayloadTooLarge.into(),
            poem::error::NotFoundError.into(),
            poem::error::MethodNotAllowedError.into(),
            poem::Error::from_status(StatusCode::PAYLOAD_TOO_LARGE),
            poem::Error::from_status(StatusCode::UNSUPPORTED_MEDIA_TYPE),
            poem::Error::from_status(StatusCode::BAD_REQUEST),
        ];
        let answers = domain.map(ApiError::from).chain(poem_errors.iter().map(ApiError::from_poem));
        for e in answers {
            assert_eq!(e.status, e.code.status(), "{e}");
            assert_eq!(e.retry_after_secs.is_some(), e.status == StatusCode::TOO_MANY_REQUESTS, "{e}");
        }
        let path = ApiError::from_poem(&oai::ParsePathError { name: "code", reason: "bad".into() }.into());
        assert_eq!(path.code, ErrorCode::InvalidParameter);
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

//! What each error `code` is on the wire: its one status, what it means and what a client should
//! do, a Chinese example, and the shape of its `details`; and, from these, the spec's error
//! responses of an operation given the codes it declares (`api::error::Fails`).

use std::collections::{BTreeMap, HashSet};
use std::sync::{LazyLock, Mutex};

use poem::http::StatusCode;
use poem_openapi::registry::{MetaHeader, MetaMediaType, MetaResponse, MetaSchema, MetaSchemaRef};
use serde_json::{Value, json};

use crate::domain::error::ErrorCode;

/// The content type of every error answer.
pub const ERROR_CONTENT_TYPE: &str = "application/json; charset=utf-8";

/// The shape of a code's `details`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Details {
    /// Always null.
    Null,
    /// `{field, reason}`: the input at fault and what is wrong with it.
    FieldReason,
    /// `{reason}`.
    Reason,
    /// `{limit_bytes}`.
    Limit,
    /// `{reason, max_pixels, max_decoded_bytes}`.
    ImageLimits,
    /// `{errors: [{line | feature, field, reason}]}`: the bad rows of an import.
    Rows,
}

/// One code as the spec describes it.
struct CodeDoc {
    status: StatusCode,
    /// What it means, and what a client should do about it.
    meaning: &'static str,
    /// A message as the server writes it (Chinese, the default).
    zh: &'static str,
    details: Details,
    /// `details` of the example (null when `details` is `Null`).
    example: Value,
}

fn doc(status: StatusCode, meaning: &'static str, zh: &'static str, details: Details, example: Value) -> CodeDoc {
    CodeDoc { status, meaning, zh, details, example }
}

impl ErrorCode {
    /// The one status every answer with this code has.
    pub fn status(self) -> StatusCode {
        self.doc().status
    }

    fn doc(self) -> CodeDoc {
        use Details as D;
        use ErrorCode as C;
        use StatusCode as S;
        let none = || doc(S::BAD_REQUEST, "", "", D::Null, Value::Null);
        let null = Value::Null;
        match self {
            C::InvalidInput => doc(
                S::BAD_REQUEST,
                "a value breaks a rule the schema cannot say; `details.field` names it, `details.reason` says why",
                "参数 limit 无效：须在 1 到 100 之间",
                D::FieldReason,
                json!({ "field": "limit", "reason": "1 to 100" }),
            ),
            C::InvalidRows => doc(
                S::UNPROCESSABLE_ENTITY,
                "rows of the file are wrong and nothing was imported; `details.errors` names each: its `line` \
                 (CSV, the header is line 1) or `feature` (GeoJSON, from 0), the `field` (null when the row \
                 as a whole is wrong) and the `reason`",
                "数据有误，共 1 处；未做任何更改",
                D::Rows,
                json!({ "errors": [{ "line": 3, "field": "lat", "reason": "required" }] }),
            ),
            C::InvalidParameter => doc(
                S::BAD_REQUEST,
                "a path, query or header parameter is missing, does not parse or is out of range; \
                 `details.field` names it",
                "参数 lat 无效：不能大于 90",
                D::FieldReason,
                json!({ "field": "lat", "reason": "verification failed. maximum(90, exclusive: false)" }),
            ),
            C::MalformedBody => doc(
                S::BAD_REQUEST,
                "the body is not of the documented shape (not JSON, a field missing or of the wrong type, a \
                 value the schema refuses); `details.reason` says what",
                "请求体格式错误",
                D::Reason,
                json!({ "reason": "failed to parse \"object\": missing field `code`" }),
            ),
            C::MalformedMultipart => doc(
                S::BAD_REQUEST,
                "the multipart form cannot be read, or has no `file` field",
                "上传内容格式错误",
                D::Reason,
                json!({ "reason": "field `file` is required" }),
            ),
            C::UnsupportedContentType => doc(
                S::UNSUPPORTED_MEDIA_TYPE,
                "the request's `Content-Type` is missing or not one this operation takes",
                "不支持的 Content-Type",
                D::Null,
                null,
            ),
            C::UnsupportedMedia => doc(
                S::UNSUPPORTED_MEDIA_TYPE,
                "the file is not a JPEG, PNG or WebP image, or cannot be read as one",
                "文件无法识别，请上传 JPEG、PNG 或 WebP 图片",
                D::Reason,
                json!({ "reason": "not a JPEG, PNG or WebP image" }),
            ),
            C::PayloadTooLarge => doc(
                S::PAYLOAD_TOO_LARGE,
                "the body is over the size limit (16 MB a request, 10 MB a photo); `details.limit_bytes` is it",
                "内容过大，上限 16777216 字节",
                D::Limit,
                json!({ "limit_bytes": 16_777_216 }),
            ),
            C::ImageTooLarge => doc(
                S::UNPROCESSABLE_ENTITY,
                "the photo has too many pixels to decode safely; send a smaller photo",
                "图片像素过多，请上传不超过 4000 万像素的照片",
                D::ImageLimits,
                json!({
                    "reason": "100000 × 100000 pixels",
                    "max_pixels": crate::domain::photo::MAX_PIXELS,
                    "max_decoded_bytes": crate::domain::photo::MAX_DECODED_BYTES,
                }),
            ),
            C::RequestTimeout => doc(
                S::REQUEST_TIMEOUT,
                "the body stopped coming before it was whole; send the request again",
                "请求体传输中断，请重试",
                D::Null,
                null,
            ),
            C::MissingToken => doc(
                S::UNAUTHORIZED,
                "no `Authorization: Bearer` token: log in first (riders: `wx.login()`, then \
                 `POST /auth/wechat-login`)",
                "请先登录",
                D::Null,
                null,
            ),
            C::InvalidToken => doc(
                S::UNAUTHORIZED,
                "the token is not one this service issued: log in again",
                "登录凭证无效，请重新登录",
                D::Null,
                null,
            ),
            C::TokenExpired => doc(
                S::UNAUTHORIZED,
                "the session has expired: log in again (a rider silently, with a fresh `wx.login()` code)",
                "登录已过期，请重新登录",
                D::Null,
                null,
            ),
            C::TokenRevoked => doc(
                S::UNAUTHORIZED,
                "the session was ended (logout, or the account was disabled or erased): log in again",
                "已退出登录，请重新登录",
                D::Null,
                null,
            ),
            C::BadCredentials => doc(S::UNAUTHORIZED, "wrong username or password", "用户名或密码错误", D::Null, null),
            C::AccountDisabled => doc(
                S::UNAUTHORIZED,
                "the account is disabled; logging in again does not help",
                "账号已停用",
                D::Null,
                null,
            ),
            C::InvalidWechatCode => doc(
                S::UNAUTHORIZED,
                "WeChat refused the `wx.login()` code (used, expired or made up): get a fresh one and retry",
                "微信登录凭证无效或已过期，请重试",
                D::Null,
                null,
            ),
            C::WechatUserBlocked => doc(
                S::FORBIDDEN,
                "WeChat blocked this user as high-risk (errcode 40226): logging in again does not help; \
                 the user must clear it with WeChat",
                "微信判定该账号存在风险，暂时无法登录",
                D::Null,
                null,
            ),
            C::Forbidden => doc(
                S::FORBIDDEN,
                "signed in, but this role or account may not do this; `details.reason` says why",
                "无权进行此操作",
                D::Reason,
                json!({ "reason": "role" }),
            ),
            C::NotFound => {
                doc(S::NOT_FOUND, "no such object, or none the caller may see", "未找到该地点", D::Null, null)
            }
            C::RateLimited => doc(
                S::TOO_MANY_REQUESTS,
                "too many attempts: wait the seconds `Retry-After` says, then try again",
                "操作太频繁，请 3600 秒后再试",
                D::Null,
                null,
            ),
            C::CannotDisableSelf => {
                doc(S::CONFLICT, "an admin cannot disable their own account", "不能停用自己的账号", D::Null, null)
            }
            C::UsernameTaken => doc(S::CONFLICT, "another account has this username", "用户名已被占用", D::Null, null),
            C::IdempotencyKeyReused => doc(
                S::CONFLICT,
                "this `Idempotency-Key` came before with a different request: a new request needs a new key",
                "该 Idempotency-Key 已用于另一个不同的请求",
                D::Null,
                null,
            ),
            C::ConcurrentUpdate => doc(
                S::CONFLICT,
                "the report changed meanwhile: reload it and try again",
                "上报刚被他人修改，请刷新后重试",
                D::Null,
                null,
            ),
            C::IllegalTransition => doc(
                S::CONFLICT,
                "the report's status does not allow this action now (for example resolving a closed report)",
                "上报当前的状态不允许此操作",
                D::Null,
                null,
            ),
            C::ReopenWindowPassed => doc(
                S::CONFLICT,
                "a report can be reopened only within 7 days of being resolved",
                "上报办结超过 7 天，不能再重新打开",
                D::Null,
                null,
            ),
            C::NotDue => doc(
                S::CONFLICT,
                "a resolved report closes by itself only after 7 days",
                "已办结的上报满 7 天后自动关闭",
                D::Null,
                null,
            ),
            C::ReportNotOpen => {
                doc(S::CONFLICT, "only an open report can be followed", "只能关注尚未办结的上报", D::Null, null)
            }
            C::NotResolved => {
                doc(S::CONFLICT, "a report can be rated once it is resolved", "上报办结后才能评价", D::Null, null)
            }
            C::AlreadyRated => doc(S::CONFLICT, "a report is rated only once", "每条上报只能评价一次", D::Null, null),
            C::NoUnit => doc(
                S::CONFLICT,
                "no unit can receive the report: no jurisdiction covers the spot and the city has no fallback \
                 queue (or the report is already with it)",
                "没有可以受理此上报的单位",
                D::Null,
                null,
            ),
            C::CheckinConflict => {
                doc(S::CONFLICT, "the check-in crossed another: try again", "打卡冲突，请重试", D::Null, null)
            }
            C::WrongPlaceKind => doc(
                S::CONFLICT,
                "the change does not suit the place's kind: capacity, maximum stay and `full` belong to parking \
                 zones, entry instructions to friendly sites",
                "该地点的类型不支持此项修改",
                D::Null,
                null,
            ),
            C::OutOfStock => doc(
                S::CONFLICT,
                "the reward's stock is used up; nothing was spent. Show it as 已兑完, or try again later",
                "该奖品已兑完",
                D::Null,
                null,
            ),
            C::InsufficientPoints => doc(
                S::CONFLICT,
                "the rider's balance does not cover the reward's cost; nothing was spent",
                "积分不足，无法兑换",
                D::Null,
                null,
            ),
            C::RewardClosed => doc(
                S::CONFLICT,
                "the reward is not offered now: withdrawn, before or after its validity window, or its pickup \
                 place was removed; nothing was spent",
                "该奖品当前不可兑换",
                D::Null,
                null,
            ),
            C::AlreadyPickedUp => doc(
                S::CONFLICT,
                "the redemption was picked up already: a pickup code is confirmed once, and a picked-up \
                 redemption cannot be cancelled",
                "该兑换码已领取过",
                D::Null,
                null,
            ),
            C::RedemptionClosed => doc(
                S::CONFLICT,
                "the redemption was cancelled or has expired (its points and stock went back): it can no \
                 longer be picked up or cancelled",
                "该兑换已取消或已过期",
                D::Null,
                null,
            ),
            C::TooManyEndpoints => doc(
                S::CONFLICT,
                "the unit already has 10 webhook endpoints: delete one (or change its events and URL) first",
                "每个单位最多登记 10 个推送地址",
                D::Null,
                null,
            ),
            C::NotDeadLetter => doc(
                S::CONFLICT,
                "only a dead letter can be retried: this delivery is still pending (it is retried by itself) \
                 or was sent",
                "只有已放弃的推送才能重试",
                D::Null,
                null,
            ),
            C::WechatUnavailable => doc(
                S::SERVICE_UNAVAILABLE,
                "WeChat did not answer in time or refused us: try again shortly",
                "服务暂时不可用，请稍后重试",
                D::Null,
                null,
            ),
            C::DatabaseUnavailable => doc(
                S::SERVICE_UNAVAILABLE,
                "the database cannot be reached: try again shortly",
                "服务暂时不可用，请稍后重试",
                D::Null,
                null,
            ),
            // Answered outside any operation's contract: below the API, by routing, or a bug.
            C::MalformedRequest | C::BadRequest => none(),
            C::HeadersTooLarge => CodeDoc { status: S::REQUEST_HEADER_FIELDS_TOO_LARGE, ..none() },
            C::MethodNotAllowed => CodeDoc { status: S::METHOD_NOT_ALLOWED, ..none() },
            C::Internal => CodeDoc { status: S::INTERNAL_SERVER_ERROR, ..none() },
        }
    }
}

/// What an error status is, before its codes are listed.
fn status_summary(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "The request is malformed or a value is invalid",
        401 => "Not signed in, or the session is over",
        403 => "Signed in, but not allowed",
        404 => "Not found",
        408 => "The request body stopped coming",
        409 => "Conflicts with the current state",
        413 => "The body is too large",
        415 => "Unsupported content type",
        422 => "Well-formed, but refused",
        429 => "Too many requests; wait `Retry-After` seconds",
        503 => "A dependency is unavailable; try again shortly",
        _ => "An error",
    }
}

/// The error responses of an operation that answers with `codes`: one per status, listing that
/// status's codes with what each means, its schema's `code` an enum of exactly those. 500 is
/// never declared: it is a bug, not a contract.
pub fn responses(codes: &[ErrorCode]) -> Vec<MetaResponse> {
    let mut by_status: BTreeMap<u16, Vec<ErrorCode>> = BTreeMap::new();
    for &code in codes {
        let group = by_status.entry(code.status().as_u16()).or_default();
        if code != ErrorCode::Internal && !group.contains(&code) {
            group.push(code);
        }
    }
    by_status
        .into_iter()
        .filter(|(_, group)| !group.is_empty())
        .map(|(status, group)| MetaResponse {
            description: intern(description(status, &group)),
            status: Some(status),
            status_range: None,
            content: vec![MetaMediaType {
                content_type: ERROR_CONTENT_TYPE,
                schema: MetaSchemaRef::Inline(Box::new(error_schema(&group))),
            }],
            headers: if status == 429 { vec![retry_after()] } else { vec![] },
        })
        .collect()
}

fn description(status: u16, group: &[ErrorCode]) -> String {
    let summary = StatusCode::from_u16(status).map(status_summary).unwrap_or("An error");
    let mut text = format!("{summary}. `code`:\n");
    for code in group {
        text.push_str(&format!("\n- `{}`: {}", code.as_str(), code.doc().meaning));
    }
    text
}

/// The `Retry-After` every 429 carries.
fn retry_after() -> MetaHeader {
    MetaHeader {
        name: "Retry-After".to_string(),
        description: Some("Seconds to wait before trying again.".to_string()),
        required: true,
        deprecated: false,
        schema: inline(MetaSchema { minimum: Some(1.0), ..MetaSchema::new_with_format("integer", "int64") }),
    }
}

/// `{code, message, details}` with `code` one of `group` (all of one status).
fn error_schema(group: &[ErrorCode]) -> MetaSchema {
    let first = group[0].doc();
    let mut properties = vec![
        (
            "code",
            inline(MetaSchema {
                description: Some("Stable, machine-readable reason; never changes meaning."),
                enum_items: group.iter().map(|c| Value::String(c.as_str().to_string())).collect(),
                ..MetaSchema::new("string")
            }),
        ),
        (
            "message",
            inline(MetaSchema {
                description: Some("For people: Chinese by default, English when `Accept-Language` prefers `en`."),
                ..MetaSchema::new("string")
            }),
        ),
    ];
    if let Some(details) = details_schema(group) {
        properties.push(("details", inline(details)));
    }
    MetaSchema {
        required: vec!["code", "message"],
        properties,
        example: Some(example(group[0].as_str(), first.zh, first.example)),
        ..MetaSchema::new("object")
    }
}

/// An error body as the server writes it: `details` left out when there are none.
fn example(code: &str, message: &str, details: Value) -> Value {
    let mut body = json!({ "code": code, "message": message });
    if !details.is_null() {
        body["details"] = details;
    }
    body
}

/// A field of `details`.
#[derive(Clone, Copy)]
enum Field {
    Text,
    /// A string, or null.
    MaybeText,
    Integer,
    /// The rows of an import that are wrong.
    Rows,
}

fn details_fields(details: Details) -> &'static [(&'static str, Field)] {
    match details {
        Details::Null => &[],
        Details::FieldReason => &[("field", Field::Text), ("reason", Field::Text)],
        Details::Reason => &[("reason", Field::Text)],
        Details::Limit => &[("limit_bytes", Field::Integer)],
        Details::ImageLimits => {
            &[("reason", Field::Text), ("max_pixels", Field::Integer), ("max_decoded_bytes", Field::Integer)]
        }
        Details::Rows => &[("errors", Field::Rows)],
    }
}

fn field_schema(field: Field) -> MetaSchema {
    match field {
        Field::Text => MetaSchema::new("string"),
        Field::MaybeText => MetaSchema { nullable: true, ..MetaSchema::new("string") },
        Field::Integer => MetaSchema::new_with_format("integer", "int64"),
        Field::Rows => MetaSchema {
            items: Some(Box::new(inline(MetaSchema {
                description: Some("One wrong row: `line` (CSV) or `feature` (GeoJSON), the field, and why."),
                required: vec!["field", "reason"],
                properties: vec![
                    ("line", inline(field_schema(Field::Integer))),
                    ("feature", inline(field_schema(Field::Integer))),
                    ("field", inline(field_schema(Field::MaybeText))),
                    ("reason", inline(field_schema(Field::Text))),
                ],
                ..MetaSchema::new("object")
            }))),
            ..MetaSchema::new("array")
        },
    }
}

/// `details` for the codes of one status: an object with the fields of every code that has some,
/// required where every such code has them; none when no code has any (then `details` is never
/// sent, not even null).
fn details_schema(group: &[ErrorCode]) -> Option<MetaSchema> {
    let shapes: Vec<&'static [(&'static str, Field)]> =
        group.iter().map(|c| details_fields(c.doc().details)).filter(|f| !f.is_empty()).collect();
    let mut properties: Vec<(&'static str, MetaSchemaRef)> = Vec::new();
    let mut required = Vec::new();
    for (name, field) in shapes.iter().flat_map(|s| s.iter()) {
        if properties.iter().any(|(known, _)| known == name) {
            continue;
        }
        properties.push((name, inline(field_schema(*field))));
        if shapes.iter().all(|s| s.iter().any(|(n, _)| n == name)) {
            required.push(*name);
        }
    }
    if properties.is_empty() {
        return None;
    }
    Some(MetaSchema {
        description: Some("Structured detail; absent for the codes that have none."),
        required,
        properties,
        ..MetaSchema::new("object")
    })
}

fn inline(schema: MetaSchema) -> MetaSchemaRef {
    MetaSchemaRef::Inline(Box::new(schema))
}

/// The spec's descriptions are `&'static str`: each distinct text is kept once for the process,
/// however often the spec is built.
fn intern(text: String) -> &'static str {
    static SEEN: LazyLock<Mutex<HashSet<&'static str>>> = LazyLock::new(Default::default);
    let mut seen = SEEN.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(known) = seen.get(text.as_str()) {
        return known;
    }
    let kept: &'static str = Box::leak(text.into_boxed_str());
    seen.insert(kept);
    kept
}

#[cfg(test)]
mod tests {
    use super::*;
    use ErrorCode as C;

    fn codes_of(r: &MetaResponse) -> Vec<String> {
        let MetaSchemaRef::Inline(schema) = &r.content[0].schema else { panic!("a reference") };
        let (_, code) = schema.properties.iter().find(|(name, _)| *name == "code").expect("code");
        let MetaSchemaRef::Inline(code) = code else { panic!("a reference") };
        code.enum_items.iter().map(|v| v.as_str().unwrap().to_string()).collect()
    }

    #[test]
    fn one_response_per_status_in_order_listing_its_codes_once() {
        let declared = [
            C::TokenExpired,
            C::NotFound,
            C::MissingToken,
            C::RateLimited,
            C::InvalidInput,
            C::TokenExpired,
            C::Internal,
            C::InvalidParameter,
        ];
        let responses = responses(&declared);
        let statuses: Vec<u16> = responses.iter().map(|r| r.status.unwrap()).collect();
        assert_eq!(statuses, [400, 401, 404, 429], "no 500, one of each, ascending");
        assert_eq!(codes_of(&responses[0]), ["invalid_input", "invalid_parameter"]);
        assert_eq!(codes_of(&responses[1]), ["token_expired", "missing_token"]);
        assert!(responses[1].description.contains("- `token_expired`: the session has expired"));
        assert!(responses.iter().all(|r| r.content[0].content_type == ERROR_CONTENT_TYPE));
        let with_header: Vec<u16> =
            responses.iter().filter(|r| !r.headers.is_empty()).map(|r| r.status.unwrap()).collect();
        assert_eq!(with_header, [429]);
        assert_eq!(responses[3].headers[0].name, "Retry-After");
        assert!(responses[3].headers[0].required);
    }

    #[test]
    fn details_are_merged_across_the_codes_of_a_status() {
        let schema = details_schema(&[C::InvalidParameter, C::MalformedBody]).expect("details");
        let names: Vec<&str> = schema.properties.iter().map(|(n, _)| *n).collect();
        assert_eq!(names, ["field", "reason"]);
        assert_eq!(schema.required, ["reason"], "every code with details has a reason; not every one a field");
        let rows = details_schema(&[C::InvalidRows]).expect("details");
        assert_eq!(rows.required, ["errors"]);
        assert!(details_schema(&[C::NotFound]).is_none(), "no details, not even null");
    }

    #[test]
    fn the_example_is_the_first_code_said_in_chinese() {
        let responses = responses(&[C::MissingToken, C::TokenExpired]);
        let MetaSchemaRef::Inline(schema) = &responses[0].content[0].schema else { panic!("a reference") };
        assert_eq!(schema.example, Some(json!({ "code": "missing_token", "message": "请先登录" })));
    }

    #[test]
    fn every_code_the_contract_uses_is_described_with_an_example_of_its_shape() {
        for &code in ErrorCode::ALL {
            let d = code.doc();
            if matches!(
                code,
                C::MalformedRequest | C::BadRequest | C::HeadersTooLarge | C::MethodNotAllowed | C::Internal
            ) {
                continue;
            }
            assert!(!d.meaning.is_empty() && !d.zh.is_empty(), "{code}");
            assert!(d.status.is_client_error() || d.status == StatusCode::SERVICE_UNAVAILABLE, "{code}");
            let fields = details_fields(d.details);
            match &d.example {
                Value::Null => assert!(fields.is_empty(), "{code}: an example of its details"),
                Value::Object(example) => {
                    let names: Vec<&str> = fields.iter().map(|(n, _)| *n).collect();
                    let mut keys: Vec<&str> = example.keys().map(String::as_str).collect();
                    keys.sort_unstable();
                    let mut sorted = names.clone();
                    sorted.sort_unstable();
                    assert_eq!(keys, sorted, "{code}");
                }
                other => panic!("{code}: {other}"),
            }
        }
    }

    #[test]
    fn a_text_is_kept_once() {
        let a = intern("the same words".to_string());
        let b = intern("the same words".to_string());
        assert!(std::ptr::eq(a, b));
    }
}

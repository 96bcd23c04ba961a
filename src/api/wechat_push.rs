//! The message push WeChat calls (消息推送): its server verification, and the pushes themselves,
//! of which the service reads one, `wxa_media_check` (a photo's content check verdict). Set its
//! URL, the token (`WECHAT_PUSH_TOKEN`), the EncodingAESKey (`WECHAT_PUSH_AES_KEY`) and the JSON
//! data format in the mini-program console under 开发管理 → 消息推送.

use poem::web::Data;
use poem::{Request, RequestBody};
use poem_openapi::param::Query;
use poem_openapi::payload::{ParsePayload, Payload, PlainText};
use poem_openapi::registry::{MetaSchemaRef, Registry};
use poem_openapi::types::Type;
use poem_openapi::{ApiResponse, Object, OpenApi, impl_apirequest_for_payload};
use serde_json::Value;

use super::ApiTags;
use super::error::ApiResult;
use super::error::Body as BodyErrors;
use super::error::codes::*;
use crate::domain::time::Millis;
use crate::service::content::{self as service, Push};
use crate::state::AppState;

/// A check's overall result, as WeChat's content security 2.0 gives it.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct PushCheckResult {
    /// `pass`, `risky` or `review`: the verdict.
    #[oai(validator(max_length = 16))]
    pub suggest: Option<String>,
    /// What WeChat found (100 normal, 10001 ads, 20001 politics, 20002 porn, 20003 abuse, 20006
    /// crime, 20008 fraud, 20012 vulgar, 20013 copyright, 21000 other); a number or a string.
    pub label: Option<Value>,
}

/// A push in WeChat's JSON data format. Plaintext (明文模式): the event's fields, verified by
/// `signature` in the query. Encrypted (安全模式): `ToUserName` and `Encrypt`, verified by
/// `msg_signature`; the decrypted message is the event in the same format. Compatible (兼容模式):
/// both, and the encrypted one is read. Fields other than these are accepted and ignored.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none, rename = "WechatPush", example)]
pub struct PushEnvelope {
    /// The mini-program's original id (`gh_…`).
    #[oai(rename = "ToUserName", validator(max_length = 64))]
    pub to_user_name: Option<String>,
    #[oai(rename = "FromUserName", validator(max_length = 128))]
    pub from_user_name: Option<String>,
    #[oai(rename = "CreateTime")]
    pub create_time: Option<i64>,
    /// `event`.
    #[oai(rename = "MsgType", validator(max_length = 32))]
    pub msg_type: Option<String>,
    /// `wxa_media_check` for a photo's verdict; other events are acknowledged and ignored.
    #[oai(rename = "Event", validator(max_length = 64))]
    pub event: Option<String>,
    /// Encrypted and compatible modes: the message, AES-256-CBC under the EncodingAESKey, base64.
    #[oai(rename = "Encrypt", validator(max_length = 1048576))]
    pub encrypt: Option<String>,
    #[oai(validator(max_length = 64))]
    pub appid: Option<String>,
    /// `mediaCheckAsync`'s trace id: which photo the verdict is for.
    #[oai(validator(max_length = 128))]
    pub trace_id: Option<String>,
    pub version: Option<i64>,
    pub result: Option<PushCheckResult>,
    /// Each strategy's result; kept as WeChat sends it.
    #[oai(validator(max_items = 64))]
    pub detail: Option<Vec<Value>>,
}

/// The push's body: any JSON, read leniently (a field of an unexpected type must not lose a
/// verdict), whatever `Content-Type` WeChat labels it with; described as `WechatPush`.
pub struct PushBody(pub Value);

impl Payload for PushBody {
    const CONTENT_TYPE: &'static str = "application/json";

    fn check_content_type(_content_type: &str) -> bool {
        true
    }

    fn schema_ref() -> MetaSchemaRef {
        PushEnvelope::schema_ref()
    }

    fn register(registry: &mut Registry) {
        PushEnvelope::register(registry);
    }
}

impl ParsePayload for PushBody {
    const IS_REQUIRED: bool = true;

    async fn from_request(request: &Request, body: &mut RequestBody) -> poem::Result<Self> {
        let bytes = <Vec<u8> as poem::FromRequest>::from_request(request, body).await?;
        serde_json::from_slice(&bytes).map(PushBody).map_err(|e| {
            poem_openapi::error::ParseRequestPayloadError { reason: format!("the push is not JSON: {e}") }.into()
        })
    }
}

impl_apirequest_for_payload!(PushBody);

#[derive(ApiResponse)]
pub enum Acknowledged {
    /// `success`: WeChat need not push it again
    #[oai(status = 200)]
    Success(PlainText<String>),
}

#[derive(Default)]
pub struct WechatPushApi;

#[OpenApi(tag = "ApiTags::Wechat")]
impl WechatPushApi {
    /// WeChat's server verification (called by WeChat)
    ///
    /// When the push URL is saved in the mini-program console, WeChat calls it with `signature`
    /// = SHA-1 of the sorted, concatenated [token, `timestamp`, `nonce`] and expects `echostr`
    /// back as it came. 403 `forbidden` when the signature does not match or no push token is
    /// configured.
    #[oai(path = "/wechat/push", method = "get", operation_id = "wechat_push_verify")]
    async fn verify(
        &self,
        state: Data<&AppState>,
        /// SHA-1 (hex) of the sorted, concatenated token, timestamp and nonce.
        #[oai(validator(max_length = 64))]
        signature: Query<Option<String>>,
        /// The push's time, in unix seconds, as WeChat signed it.
        #[oai(validator(max_length = 32))]
        timestamp: Query<Option<String>>,
        /// A random number WeChat signed with it.
        #[oai(validator(max_length = 64))]
        nonce: Query<Option<String>>,
        /// Echoed back when the signature matches.
        #[oai(validator(max_length = 256))]
        echostr: Query<Option<String>>,
    ) -> ApiResult<Acknowledged, (InvalidParameter, Forbidden)> {
        service::verify_server(&state.push(), text(&signature), text(&timestamp), text(&nonce))?;
        Ok(Acknowledged::Success(PlainText(echostr.0.unwrap_or_default())))
    }

    /// A message push from WeChat (called by WeChat)
    ///
    /// WeChat posts events here in the JSON data format. The service reads `wxa_media_check`,
    /// the verdict of `mediaCheckAsync` on a photo (by its `trace_id`; `result.suggest` is
    /// `pass`, `risky` or `review`): a pass makes the photo public, anything else keeps it
    /// private and a risky one is noted on its report's timeline for the unit. Other events, and
    /// a trace id the service does not know, are acknowledged and change nothing.
    ///
    /// Plaintext mode: `signature` = SHA-1 of the sorted, concatenated [token, `timestamp`,
    /// `nonce`]. Encrypted mode (`encrypt_type=aes`, an `Encrypt` field): `msg_signature` =
    /// SHA-1 of the sorted, concatenated [token, `timestamp`, `nonce`, `Encrypt`], and the
    /// message must decrypt under the EncodingAESKey and name this app's id. When an
    /// EncodingAESKey is configured only encrypted pushes are taken (the plaintext signature
    /// does not cover the body). A push that does not verify is 403 `forbidden` and changes
    /// nothing; an encrypted message that is not JSON is 400 `invalid_input` (set the data
    /// format to JSON).
    #[oai(path = "/wechat/push", method = "post", operation_id = "wechat_push")]
    #[allow(clippy::too_many_arguments)]
    async fn push(
        &self,
        state: Data<&AppState>,
        /// SHA-1 (hex) of the sorted, concatenated token, timestamp and nonce.
        #[oai(validator(max_length = 64))]
        signature: Query<Option<String>>,
        /// The push's time, in unix seconds, as WeChat signed it.
        #[oai(validator(max_length = 32))]
        timestamp: Query<Option<String>>,
        /// A random number WeChat signed with it.
        #[oai(validator(max_length = 64))]
        nonce: Query<Option<String>>,
        /// Encrypted mode: SHA-1 (hex) of the sorted, concatenated token, timestamp, nonce and
        /// `Encrypt`.
        #[oai(validator(max_length = 64))]
        msg_signature: Query<Option<String>>,
        /// `aes` in encrypted mode.
        #[oai(validator(max_length = 16))]
        encrypt_type: Query<Option<String>>,
        /// The openid of the user the event concerns, when there is one.
        #[oai(validator(max_length = 128))]
        openid: Query<Option<String>>,
        body: PushBody,
    ) -> ApiResult<Acknowledged, (InvalidParameter, BodyErrors, InvalidInput, Forbidden, DatabaseUnavailable)> {
        let _ = (&encrypt_type, &openid);
        let push = Push {
            signature: text(&signature),
            timestamp: text(&timestamp),
            nonce: text(&nonce),
            msg_signature: msg_signature.0.as_deref(),
            body: &body.0,
        };
        service::receive_push(&state.push(), push, Millis::now()).await?;
        Ok(Acknowledged::Success(PlainText("success".into())))
    }
}

fn text(q: &Query<Option<String>>) -> &str {
    q.0.as_deref().unwrap_or_default()
}

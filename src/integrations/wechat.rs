//! WeChat mini-program server APIs: `jscode2session` for login, `stable_token` and
//! `subscribeMessage.send` for notifications, `msgSecCheck` and `mediaCheckAsync` for content
//! security.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Deserialize;
use tokio::sync::Mutex;

use crate::config::WechatConfig;
use crate::domain::DomainError;
use crate::domain::content::Verdict;
use crate::domain::delivery::Attempt;
use crate::domain::error::{AuthFailure, Dependency, ErrorChain};
use crate::domain::notify::{clean_data, keywords_in_content};
use crate::domain::wechat_push::label_text;

#[derive(Debug, thiserror::Error)]
pub enum WechatError {
    #[error("the login code is invalid, used or expired (errcode {0})")]
    InvalidCode(i64),
    #[error("WeChat blocked this user as high-risk (errcode 40226)")]
    UserBlocked,
    #[error("WeChat rate limit (errcode {0})")]
    RateLimited(i64),
    #[error("WeChat did not answer in time")]
    Timeout,
    #[error("WeChat failed: {0}")]
    Failed(String),
    /// The request did not get through; the error carries no URL (its query holds the secret).
    #[error("WeChat request failed")]
    Transport(#[source] reqwest::Error),
    #[error("WeChat login is not configured")]
    NotConfigured,
}

impl From<WechatError> for DomainError {
    fn from(err: WechatError) -> Self {
        match err {
            WechatError::InvalidCode(_) => DomainError::Unauthenticated(AuthFailure::InvalidWechatCode),
            WechatError::UserBlocked => DomainError::Unauthenticated(AuthFailure::WechatUserBlocked),
            other => DomainError::Unavailable { dependency: Dependency::Wechat, source: Box::new(other) },
        }
    }
}

/// The part of a WeChat session the service keeps. `session_key` never leaves this module.
#[derive(Debug, Clone)]
pub struct WechatIdentity {
    pub openid: String,
}

#[derive(Deserialize)]
struct Code2SessionReply {
    #[serde(default)]
    openid: Option<String>,
    #[serde(default)]
    errcode: i64,
    #[serde(default)]
    errmsg: String,
}

#[derive(Clone)]
pub struct WechatClient {
    http: reqwest::Client,
    base: String,
    credentials: Option<WechatConfig>,
    access_token: Arc<Mutex<TokenState>>,
    forced_budget: Arc<dyn ForcedRefreshBudget>,
}

/// WeChat's allowance of forced token refreshes: 20 a day, at least 30 s apart, per app
/// (`stable_token` docs), so shared by every node. The service keeps it in its database.
pub trait ForcedRefreshBudget: Send + Sync {
    /// Takes one forced refresh if the app has one left now; false otherwise.
    fn take(&self) -> std::pin::Pin<Box<dyn std::future::Future<Output = bool> + Send + '_>>;
}

#[derive(Clone)]
struct CachedToken {
    token: String,
    refresh_at: Instant,
}

/// The cached token.
#[derive(Default)]
struct TokenState {
    cached: Option<CachedToken>,
}

/// A token is refreshed this long before WeChat says it expires.
const TOKEN_MARGIN: Duration = Duration::from_secs(300);

#[derive(Deserialize)]
struct StableTokenReply {
    #[serde(default)]
    access_token: Option<String>,
    #[serde(default)]
    expires_in: u64,
    #[serde(default)]
    errcode: i64,
    #[serde(default)]
    errmsg: String,
}

#[derive(Deserialize)]
struct ErrReply {
    #[serde(default)]
    errcode: i64,
    #[serde(default)]
    errmsg: String,
}

/// A subscribe message, as `subscribeMessage.send` takes it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct SubscribeMessage {
    pub template_id: String,
    /// The mini-program page the message opens, with its query.
    pub page: String,
    /// `{"thing1": {"value": "…"}, …}`, keyed as the template defines.
    pub data: serde_json::Value,
}

impl WechatClient {
    pub fn new(
        base: &str,
        credentials: Option<WechatConfig>,
        timeout: Duration,
        forced_budget: Arc<dyn ForcedRefreshBudget>,
    ) -> Result<Self, reqwest::Error> {
        let http = super::http_client(timeout)?;
        Ok(WechatClient {
            http,
            base: base.trim_end_matches('/').to_string(),
            credentials,
            access_token: Arc::new(Mutex::new(TokenState::default())),
            forced_budget,
        })
    }

    /// The app id, which names the app's allowances at WeChat.
    pub fn app_id(&self) -> Option<&str> {
        self.credentials.as_ref().map(|c| c.app_id.as_str())
    }

    pub fn is_configured(&self) -> bool {
        self.credentials.is_some()
    }

    /// The server's access token from `stable_token`, cached until shortly before it expires, and
    /// fetched once for all concurrent senders (they wait on the cache's lock). `rejected` is a
    /// token WeChat just refused (40001/42001): only that token is dropped, so a sender holding
    /// an older refusal does not throw away the fresh one another sender fetched. A new one is
    /// fetched in normal mode first (another node may already have refreshed it); only when
    /// normal mode hands back the very token WeChat refused is a refresh forced, which
    /// invalidates every other node's token, within WeChat's daily allowance.
    async fn access_token(&self, rejected: Option<&str>) -> Result<String, WechatError> {
        let mut state = self.access_token.lock().await;
        if let Some(t) = state.cached.as_ref().filter(|t| Instant::now() < t.refresh_at)
            && rejected != Some(t.token.as_str())
        {
            return Ok(t.token.clone());
        }
        let token = self.fetch_token(&mut state, false).await?;
        if rejected != Some(token.as_str()) {
            return Ok(token);
        }
        if !self.forced_budget.take().await {
            return Err(WechatError::Failed("the access token was refused and a forced refresh must wait".into()));
        }
        self.fetch_token(&mut state, true).await
    }

    async fn fetch_token(&self, state: &mut TokenState, force_refresh: bool) -> Result<String, WechatError> {
        let creds = self.credentials.as_ref().ok_or(WechatError::NotConfigured)?;
        let body = serde_json::json!({
            "grant_type": "client_credential",
            "appid": creds.app_id,
            "secret": creds.app_secret,
            "force_refresh": force_refresh,
        });
        let response = self
            .http
            .post(format!("{}/cgi-bin/stable_token", self.base))
            .json(&body)
            .send()
            .await
            .map_err(classify_transport_error)?;
        if !response.status().is_success() {
            return Err(WechatError::Failed(format!("stable_token HTTP {}", response.status())));
        }
        let reply: StableTokenReply = response.json().await.map_err(classify_transport_error)?;
        match reply.access_token {
            Some(token) if reply.errcode == 0 && !token.is_empty() => {
                let lifetime = Duration::from_secs(reply.expires_in).saturating_sub(TOKEN_MARGIN);
                state.cached = Some(CachedToken { token: token.clone(), refresh_at: Instant::now() + lifetime });
                Ok(token)
            }
            _ => Err(WechatError::Failed(format!("stable_token errcode {}: {}", reply.errcode, reply.errmsg))),
        }
    }

    /// Sends a subscribe message to the rider with this openid.
    pub async fn send_subscribe_message(&self, openid: &str, message: &SubscribeMessage, state: &str) -> Attempt {
        let mut rejected: Option<String> = None;
        // One more try with a fresh token when WeChat says ours is stale.
        for _ in 0..2 {
            let token = match self.access_token(rejected.as_deref()).await {
                Ok(t) => t,
                Err(e) => return Attempt::Retry(ErrorChain(&e).to_string()),
            };
            let body = serde_json::json!({
                "touser": openid,
                "template_id": message.template_id,
                "page": message.page,
                "data": clean_data(&message.data),
                "miniprogram_state": state,
                "lang": "zh_CN",
            });
            let sent = self
                .http
                .post(format!("{}/cgi-bin/message/subscribe/send", self.base))
                .query(&[("access_token", token.as_str())])
                .json(&body)
                .send()
                .await;
            let response = match sent {
                Ok(r) if r.status().is_success() => r,
                Ok(r) => return Attempt::Retry(format!("subscribe/send HTTP {}", r.status())),
                Err(e) => return Attempt::Retry(ErrorChain(&classify_transport_error(e)).to_string()),
            };
            let reply: ErrReply = match response.json().await {
                Ok(r) => r,
                Err(e) => return Attempt::Retry(ErrorChain(&classify_transport_error(e)).to_string()),
            };
            match reply.errcode {
                0 => return Attempt::Delivered,
                // Access token invalid or expired.
                40001 | 40014 | 42001 => rejected = Some(token),
                // Not subscribed, bad openid, bad template, malformed data, capability banned; a page
                // not in the released app (41030), a keyword WeChat blocks (45168), no permission
                // for the API (48001): none of these changes by trying again.
                43101 | 40003 | 40037 | 47003 | 43107 | 41030 | 45168 | 48001 => {
                    return Attempt::Refused(format!("errcode {}: {}", reply.errcode, reply.errmsg));
                }
                code => return Attempt::Retry(format!("errcode {code}: {}", reply.errmsg)),
            }
        }
        Attempt::Retry("access token refused twice".into())
    }

    /// The keywords of every template the mini-program holds (`newtmpl/gettemplate`, "my
    /// templates"), by template id, read from each template's `content`.
    pub async fn template_keywords(&self) -> Result<Vec<(String, Vec<String>)>, WechatError> {
        #[derive(Deserialize)]
        struct TemplateList {
            #[serde(default)]
            errcode: i64,
            #[serde(default)]
            errmsg: String,
            #[serde(default)]
            data: Vec<TemplateEntry>,
        }
        #[derive(Deserialize)]
        struct TemplateEntry {
            #[serde(rename = "priTmplId")]
            id: String,
            #[serde(default)]
            content: String,
        }
        let mut rejected: Option<String> = None;
        for _ in 0..2 {
            let token = self.access_token(rejected.as_deref()).await?;
            let response = self
                .http
                .get(format!("{}/wxaapi/newtmpl/gettemplate", self.base))
                .query(&[("access_token", token.as_str())])
                .send()
                .await
                .map_err(classify_transport_error)?;
            if !response.status().is_success() {
                return Err(WechatError::Failed(format!("gettemplate HTTP {}", response.status())));
            }
            let list: TemplateList = response.json().await.map_err(classify_transport_error)?;
            match list.errcode {
                0 => return Ok(list.data.into_iter().map(|t| (t.id, keywords_in_content(&t.content))).collect()),
                40001 | 40014 | 42001 => rejected = Some(token),
                code => return Err(WechatError::Failed(format!("gettemplate errcode {code}: {}", list.errmsg))),
            }
        }
        Err(WechatError::Failed("gettemplate: the access token was refused twice".into()))
    }

    /// Exchanges a `wx.login()` code for the rider's openid.
    pub async fn code_to_session(&self, code: &str) -> Result<WechatIdentity, WechatError> {
        let creds = self.credentials.as_ref().ok_or(WechatError::NotConfigured)?;
        let response = self
            .http
            .get(format!("{}/sns/jscode2session", self.base))
            .query(&[
                ("appid", creds.app_id.as_str()),
                ("secret", creds.app_secret.as_str()),
                ("js_code", code),
                ("grant_type", "authorization_code"),
            ])
            .send()
            .await
            .map_err(classify_transport_error)?;
        if !response.status().is_success() {
            return Err(WechatError::Failed(format!("HTTP {}", response.status())));
        }
        let reply: Code2SessionReply = response.json().await.map_err(classify_transport_error)?;
        match (reply.errcode, reply.openid) {
            (0, Some(openid)) if !openid.is_empty() => Ok(WechatIdentity { openid }),
            (0, _) => Err(WechatError::Failed("reply without openid".into())),
            // 40029 invalid code, 40163 code already used.
            (code @ (40029 | 40163), _) => Err(WechatError::InvalidCode(code)),
            // The user is blocked as high-risk: a fresh code will not help.
            (40226, _) => Err(WechatError::UserBlocked),
            // 45011 per-user frequency limit; -1 system busy.
            (code @ (45011 | -1), _) => Err(WechatError::RateLimited(code)),
            (code, _) => Err(WechatError::Failed(format!("errcode {code}: {}", reply.errmsg))),
        }
    }
}

fn classify_transport_error(err: reqwest::Error) -> WechatError {
    if err.is_timeout() {
        WechatError::Timeout
    } else {
        // Without the URL: it carries the app secret in its query.
        WechatError::Transport(err.without_url())
    }
}

/// `msgSecCheck`'s answer: WeChat's `result` (the verdict is `suggest`, never `errcode`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextCheck {
    pub verdict: Verdict,
    pub label: Option<String>,
    pub trace_id: Option<String>,
}

/// How a content check's errcode is taken: retried, or given up with its reason.
fn check_refusal(errcode: i64, errmsg: &str) -> Attempt {
    let why = format!("errcode {errcode}: {errmsg}");
    match errcode {
        // Bad openid, openid of another app, bad scene, empty or malformed request, no permission:
        // no retry changes these.
        40003 | 43104 | 40129 | 44002 | 47001 | 48001 => Attempt::Refused(why),
        // -1 busy, 45009 the daily quota, 61010 the rider has not used the app lately (they may
        // come back within the retries), anything else: later.
        _ => Attempt::Retry(why),
    }
}

/// WeChat's content security checks (内容安全 2.0), for content the rider with `openid` wrote
/// within the last two hours (WeChat's condition on the openid).
impl WechatClient {
    /// `msgSecCheck` v2: the verdict on a text, at once.
    pub async fn msg_sec_check(&self, openid: &str, content: &str, scene: u8) -> Result<TextCheck, Attempt> {
        let body = serde_json::json!({ "content": content, "version": 2, "scene": scene, "openid": openid });
        let reply = self.post_with_token("/wxa/msg_sec_check", &body).await?;
        let suggest = reply["result"]["suggest"].as_str().unwrap_or_default();
        match Verdict::from_suggest(suggest) {
            Some(verdict) => Ok(TextCheck {
                verdict,
                label: label_text(&reply["result"]["label"]),
                trace_id: reply["trace_id"].as_str().map(str::to_string),
            }),
            None => Err(Attempt::Retry(format!("msg_sec_check answered without a known result.suggest: `{suggest}`"))),
        }
    }

    /// `mediaCheckAsync` v2 for a photo WeChat downloads from `media_url`: its trace id, under
    /// which the verdict arrives at the message push (within 30 minutes, WeChat says).
    pub async fn media_check_async(&self, openid: &str, media_url: &str, scene: u8) -> Result<String, Attempt> {
        let body = serde_json::json!({
            "media_url": media_url, "media_type": 2, "version": 2, "scene": scene, "openid": openid,
        });
        let reply = self.post_with_token("/wxa/media_check_async", &body).await?;
        match reply["trace_id"].as_str().filter(|t| !t.is_empty()) {
            Some(trace_id) => Ok(trace_id.to_string()),
            None => Err(Attempt::Retry("media_check_async answered without a trace_id".into())),
        }
    }

    /// POSTs `body` to a WeChat API under the access token, once more with a fresh token when
    /// WeChat refuses ours (40001, 40014, 42001); the reply when its errcode is 0, else how the
    /// failure is taken (`check_refusal`).
    async fn post_with_token(&self, path: &str, body: &serde_json::Value) -> Result<serde_json::Value, Attempt> {
        if !self.is_configured() {
            return Err(Attempt::Refused("WeChat is not configured".into()));
        }
        let mut rejected: Option<String> = None;
        for _ in 0..2 {
            let token =
                self.access_token(rejected.as_deref()).await.map_err(|e| Attempt::Retry(ErrorChain(&e).to_string()))?;
            let response = self
                .http
                .post(format!("{}{path}", self.base))
                .query(&[("access_token", token.as_str())])
                .json(body)
                .send()
                .await
                .map_err(|e| Attempt::Retry(ErrorChain(&classify_transport_error(e)).to_string()))?;
            if !response.status().is_success() {
                return Err(Attempt::Retry(format!("{path} HTTP {}", response.status())));
            }
            let reply: serde_json::Value = response
                .json()
                .await
                .map_err(|e| Attempt::Retry(ErrorChain(&classify_transport_error(e)).to_string()))?;
            match reply["errcode"].as_i64().unwrap_or(0) {
                0 => return Ok(reply),
                40001 | 40014 | 42001 => rejected = Some(token),
                code => return Err(check_refusal(code, reply["errmsg"].as_str().unwrap_or_default())),
            }
        }
        Err(Attempt::Retry("access token refused twice".into()))
    }
}

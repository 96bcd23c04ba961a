//! WeChat mini-program server APIs: `jscode2session` for login, `stable_token` and
//! `subscribeMessage.send` for notifications.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Deserialize;
use tokio::sync::Mutex;

use crate::config::WechatConfig;
use crate::domain::DomainError;
use crate::domain::delivery::Attempt;
use crate::domain::error::{AuthFailure, Dependency, ErrorChain};

#[derive(Debug, thiserror::Error)]
pub enum WechatError {
    #[error("the login code is invalid, used or expired (errcode {0})")]
    InvalidCode(i64),
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
    access_token: Arc<Mutex<Option<CachedToken>>>,
}

#[derive(Clone)]
struct CachedToken {
    token: String,
    refresh_at: Instant,
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
    pub fn new(base: &str, credentials: Option<WechatConfig>, timeout: Duration) -> Result<Self, reqwest::Error> {
        let http = super::http_client(timeout)?;
        Ok(WechatClient {
            http,
            base: base.trim_end_matches('/').to_string(),
            credentials,
            access_token: Arc::new(Mutex::new(None)),
        })
    }

    pub fn is_configured(&self) -> bool {
        self.credentials.is_some()
    }

    /// The server's access token from `stable_token`, cached until shortly before it expires.
    /// `stable_token` lets several nodes share one token without invalidating each other's.
    async fn access_token(&self, force_refresh: bool) -> Result<String, WechatError> {
        let creds = self.credentials.as_ref().ok_or(WechatError::NotConfigured)?;
        let mut cached = self.access_token.lock().await;
        if let Some(t) = cached.as_ref().filter(|t| !force_refresh && Instant::now() < t.refresh_at) {
            return Ok(t.token.clone());
        }
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
                *cached = Some(CachedToken { token: token.clone(), refresh_at: Instant::now() + lifetime });
                Ok(token)
            }
            _ => Err(WechatError::Failed(format!("stable_token errcode {}: {}", reply.errcode, reply.errmsg))),
        }
    }

    /// Sends a subscribe message to the rider with this openid.
    pub async fn send_subscribe_message(&self, openid: &str, message: &SubscribeMessage, state: &str) -> Attempt {
        let mut force_refresh = false;
        // One more try with a fresh token when WeChat says ours is stale.
        for _ in 0..2 {
            let token = match self.access_token(force_refresh).await {
                Ok(t) => t,
                Err(e) => return Attempt::Retry(ErrorChain(&e).to_string()),
            };
            let body = serde_json::json!({
                "touser": openid,
                "template_id": message.template_id,
                "page": message.page,
                "data": message.data,
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
                40001 | 40014 | 42001 => force_refresh = true,
                // Not subscribed, bad openid, bad template, malformed data, capability banned.
                43101 | 40003 | 40037 | 47003 | 43107 => {
                    return Attempt::Refused(format!("errcode {}: {}", reply.errcode, reply.errmsg));
                }
                code => return Attempt::Retry(format!("errcode {code}: {}", reply.errmsg)),
            }
        }
        Attempt::Retry("access token refused twice".into())
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
            // 40029 invalid code, 40163 code already used, 40226 user blocked as high-risk.
            (code @ (40029 | 40163 | 40226), _) => Err(WechatError::InvalidCode(code)),
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

//! WeChat mini-program server APIs: `jscode2session` for login.

use std::time::Duration;

use serde::Deserialize;

use crate::config::WechatConfig;
use crate::domain::DomainError;
use crate::domain::error::AuthFailure;

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
    #[error("WeChat login is not configured")]
    NotConfigured,
}

impl From<WechatError> for DomainError {
    fn from(err: WechatError) -> Self {
        match err {
            WechatError::InvalidCode(_) => DomainError::Unauthenticated(AuthFailure::InvalidWechatCode),
            other => DomainError::Unavailable { service: "wechat", reason: other.to_string() },
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
}

impl WechatClient {
    pub fn new(base: &str, credentials: Option<WechatConfig>, timeout: Duration) -> Result<Self, reqwest::Error> {
        let http = super::http_client(timeout)?;
        Ok(WechatClient { http, base: base.trim_end_matches('/').to_string(), credentials })
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
        WechatError::Failed(err.without_url().to_string())
    }
}

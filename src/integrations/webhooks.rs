//! POSTing office webhooks: one attempt, bounded in time and in what is read back, never to a
//! private address unless the operator allows it, never following a redirect.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::domain::webhooks::{WebhookUrl, clean_error, is_public};

/// At most this much of a receiver's answer is read (for the error it explains).
pub const MAX_RESPONSE_BYTES: usize = 4096;

/// What one POST came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PostOutcome {
    /// The receiver answered 2xx.
    Delivered { status: u16 },
    /// It answered otherwise, or did not answer in time, or could not be reached: worth another
    /// attempt later.
    Failed { status: Option<u16>, error: String },
    /// It can never work as configured (the address is private): give up now.
    Refused(String),
}

/// One signed delivery.
pub struct Delivery<'a> {
    pub url: &'a WebhookUrl,
    pub event_id: &'a str,
    pub event_type: &'a str,
    pub signature: &'a str,
    pub body: Vec<u8>,
}

/// The HTTP client of webhook deliveries.
#[derive(Clone)]
pub struct WebhookClient {
    http: reqwest::Client,
    allow_private: bool,
}

/// Refused by our resolver: the name resolves only to addresses deliveries may not go to.
#[derive(Debug, thiserror::Error)]
#[error("`{0}` resolves only to private or local addresses; deliveries go to public addresses only")]
struct PrivateTarget(String);

/// Resolves names as the system does, then keeps only public addresses (unless private targets
/// are allowed). The check is on the very addresses the connection then uses, so a name that
/// resolves differently a moment later (DNS rebinding) cannot slip a private one in.
struct GuardedResolver {
    allow_private: bool,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_string();
        let allow_private = self.allow_private;
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let usable: Vec<SocketAddr> =
                found.into_iter().filter(|addr| allow_private || is_public(addr.ip())).collect();
            if usable.is_empty() {
                return Err(Box::new(PrivateTarget(host)) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(usable.into_iter()) as Addrs)
        })
    }
}

impl WebhookClient {
    /// A client whose every attempt (connecting, sending, the answer) ends within `timeout`.
    pub fn new(timeout: Duration, allow_private: bool) -> Result<Self, reqwest::Error> {
        // Err only means a provider is installed already, which is what we want.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .user_agent(concat!("xinhuoban-webhooks/", env!("CARGO_PKG_VERSION")))
            .dns_resolver(Arc::new(GuardedResolver { allow_private }))
            .build()?;
        Ok(WebhookClient { http, allow_private })
    }

    pub fn allows_private(&self) -> bool {
        self.allow_private
    }

    /// POSTs one delivery and reads at most `MAX_RESPONSE_BYTES` of the answer.
    pub async fn post(&self, d: Delivery<'_>) -> PostOutcome {
        // A URL naming an address is not resolved, so it is checked here.
        if let Some(ip) = d.url.ip_literal()
            && !self.allow_private
            && !is_public(ip)
        {
            return PostOutcome::Refused(format!("{ip} is a private or local address"));
        }
        let sent = self
            .http
            .post(d.url.as_str())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("X-Xhb-Event-Id", d.event_id)
            .header("X-Xhb-Event", d.event_type)
            .header("X-Xhb-Signature", d.signature)
            .body(d.body)
            .send()
            .await;
        let mut resp = match sent {
            Ok(resp) => resp,
            Err(e) => return failure(&e),
        };
        let status = resp.status();
        if status.is_success() {
            return PostOutcome::Delivered { status: status.as_u16() };
        }
        let mut text = Vec::new();
        while text.len() < MAX_RESPONSE_BYTES {
            match resp.chunk().await {
                Ok(Some(chunk)) => text.extend_from_slice(&chunk[..chunk.len().min(MAX_RESPONSE_BYTES - text.len())]),
                Ok(None) | Err(_) => break,
            }
        }
        let said = clean_error(&String::from_utf8_lossy(&text));
        let error = if status.is_redirection() {
            format!("HTTP {status} (redirects are not followed)")
        } else if said.is_empty() {
            format!("HTTP {status}")
        } else {
            clean_error(&format!("HTTP {status}: {said}"))
        };
        PostOutcome::Failed { status: Some(status.as_u16()), error }
    }
}

/// A request that got no answer: refused for good when our resolver refused the name, else
/// worth another try. The error names no URL (a URL may carry a token in its path or query).
fn failure(e: &reqwest::Error) -> PostOutcome {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        if let Some(private) = err.downcast_ref::<PrivateTarget>() {
            return PostOutcome::Refused(private.to_string());
        }
        source = err.source();
    }
    let what = if e.is_timeout() {
        "no answer in time".to_string()
    } else if e.is_connect() {
        "could not connect".to_string()
    } else {
        "the request failed".to_string()
    };
    let mut detail = String::new();
    let mut source = std::error::Error::source(e);
    while let Some(err) = source {
        detail = err.to_string();
        source = err.source();
    }
    let error = if detail.is_empty() { what } else { format!("{what}: {detail}") };
    PostOutcome::Failed { status: None, error: clean_error(&error) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_name_that_resolves_to_this_machine_is_refused_unless_allowed() {
        let strict = WebhookClient::new(Duration::from_millis(500), false).unwrap();
        let url = WebhookUrl::parse("http://localhost:9/hook", true).unwrap();
        let post = |client: WebhookClient| {
            let url = url.clone();
            async move {
                let d = Delivery {
                    url: &url,
                    event_id: "evt_1",
                    event_type: "webhook.test",
                    signature: "t=1,v1=00",
                    body: b"{}".to_vec(),
                };
                client.post(d).await
            }
        };
        match post(strict).await {
            PostOutcome::Refused(why) => assert!(why.contains("private"), "{why}"),
            other => panic!("not refused: {other:?}"),
        }
        let lax = WebhookClient::new(Duration::from_millis(500), true).unwrap();
        assert!(matches!(post(lax).await, PostOutcome::Failed { status: None, .. }), "allowed, then nothing listens");
        let literal = WebhookUrl::parse("http://127.0.0.1:9/hook", true).unwrap();
        let strict = WebhookClient::new(Duration::from_millis(500), false).unwrap();
        let d = Delivery { url: &literal, event_id: "e", event_type: "t", signature: "s", body: Vec::new() };
        assert!(matches!(strict.post(d).await, PostOutcome::Refused(_)));
    }
}

//! Durable, retried delivery of what the outbox holds. Messages are written in the same
//! transaction as the change that caused them; this task leases due ones, delivers them, and
//! records the outcome. Delivery is at least once: a node that dies mid-send leaves a lease that
//! runs out, and another attempt follows.

use serde::{Deserialize, Serialize};
use tokio::task::JoinHandle;

use crate::domain::DomainResult;
use crate::domain::delivery::{Attempt, RetryPolicy};
use crate::domain::time::Millis;
use crate::integrations::wechat::{SubscribeMessage, WechatClient};
use crate::store::{self, Db, outbox::OutboxMessage};

pub const KIND_WECHAT_SUBSCRIBE: &str = "wechat_subscribe";
/// How long a claimed message is this node's before another may try it.
const LEASE_MS: i64 = 60_000;
const BATCH: i64 = 20;

/// A subscribe message for one account; the openid is looked up only when sending.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SubscribePayload {
    pub account_id: String,
    pub message: SubscribeMessage,
}

/// Queues a subscribe message inside the caller's transaction.
pub async fn enqueue_subscribe(
    conn: &mut sqlx::AnyConnection,
    city_id: &str,
    account_id: &str,
    message: SubscribeMessage,
) -> DomainResult<String> {
    let payload = SubscribePayload { account_id: account_id.to_string(), message };
    let json = serde_json::to_value(&payload).map_err(crate::domain::DomainError::internal)?;
    store::outbox::enqueue(conn, city_id, KIND_WECHAT_SUBSCRIBE, &json).await
}

/// What delivery needs: the outbox's table, WeChat, and the timing settings.
#[derive(Clone)]
pub struct OutboxContext {
    pub db: Db,
    pub wechat: WechatClient,
    pub poll: std::time::Duration,
    pub retry_base: std::time::Duration,
    /// `formal`, `trial` or `developer`: which build a message opens.
    pub miniprogram_state: String,
}

/// Runs the delivery loop until the task is aborted.
pub fn spawn(state: OutboxContext) -> JoinHandle<()> {
    tokio::spawn(async move {
        let poll = state.poll;
        loop {
            match deliver_due(&state).await {
                Ok(n) if n > 0 => continue,
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %crate::domain::error::ErrorChain(&e), "outbox: cannot read due messages")
                }
            }
            tokio::time::sleep(poll).await;
        }
    })
}

/// Delivers one batch of due messages; returns how many were claimed.
pub async fn deliver_due(state: &OutboxContext) -> DomainResult<usize> {
    let claimed = store::outbox::claim_due(&state.db, Millis::now(), LEASE_MS, BATCH).await?;
    let policy = RetryPolicy { base: state.retry_base, ..RetryPolicy::default() };
    for message in &claimed {
        let attempt = deliver(state, message).await;
        let now = Millis::now();
        let recorded = match &attempt {
            Attempt::Delivered => store::outbox::mark_sent(&state.db, &message.id, now).await,
            Attempt::Refused(why) => {
                tracing::warn!(id = %message.id, kind = %message.kind, reason = %why, "outbox: refused, giving up");
                store::outbox::mark_dead(&state.db, &message.id, why).await
            }
            Attempt::Retry(why) => match policy.next_attempt(message.attempts as u32 + 1, now) {
                Some(at) => store::outbox::mark_retry(&state.db, &message.id, at, why).await,
                None => {
                    tracing::warn!(id = %message.id, reason = %why, "outbox: too many attempts, giving up");
                    store::outbox::mark_dead(&state.db, &message.id, why).await
                }
            },
        };
        if let Err(e) = recorded {
            tracing::warn!(id = %message.id, error = %crate::domain::error::ErrorChain(&e), "outbox: cannot record the outcome; the lease will expire");
        }
    }
    Ok(claimed.len())
}

async fn deliver(state: &OutboxContext, message: &OutboxMessage) -> Attempt {
    match message.kind.as_str() {
        KIND_WECHAT_SUBSCRIBE => deliver_subscribe(state, message).await,
        other => Attempt::Refused(format!("unknown outbox kind `{other}`")),
    }
}

async fn deliver_subscribe(state: &OutboxContext, message: &OutboxMessage) -> Attempt {
    if !state.wechat.is_configured() {
        return Attempt::Refused("WeChat is not configured".into());
    }
    let payload: SubscribePayload = match serde_json::from_value(message.payload.clone()) {
        Ok(p) => p,
        Err(e) => return Attempt::Refused(format!("malformed payload: {e}")),
    };
    match store::accounts::wechat_openid(&state.db, &payload.account_id).await {
        Ok(Some(openid)) => {
            state.wechat.send_subscribe_message(&openid, &payload.message, &state.miniprogram_state).await
        }
        Ok(None) => Attempt::Refused("the account has no WeChat openid".into()),
        Err(e) => Attempt::Retry(e.to_string()),
    }
}

//! Durable, retried delivery of what the outbox holds. Messages are written in the same
//! transaction as the change that caused them; two loops on every node lease due ones, deliver
//! them, and record the outcome. Delivery is at least once: a node that dies mid-send leaves a
//! lease that runs out, and another attempt follows.
//!
//! Riders' WeChat messages and office webhooks go in separate lanes, so a slow office receiver
//! never holds up a rider's notification. Webhooks are delivered concurrently (at most
//! `concurrency` at once on a node), each attempt bounded by its timeout, so one receiver that
//! hangs holds one slot, never the loop. On shutdown the webhook lane takes nothing new and lets
//! the attempts in flight finish and be recorded within the grace period; one still running then
//! is cut off and left to its lease (it was not recorded as sent, so it is attempted again).

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::{Semaphore, watch};
use tokio::task::{JoinHandle, JoinSet};

use crate::domain::DomainResult;
use crate::domain::delivery::{Attempt, RetryPolicy};
use crate::domain::time::Millis;
use crate::integrations::wechat::{SubscribeMessage, WechatClient};
use crate::service::content::{self, CheckDelivery};
use crate::service::webhooks::DeliveryContext;
use crate::store::outbox::Lane;
use crate::store::{self, Db, outbox::OutboxMessage};

pub const KIND_WECHAT_SUBSCRIBE: &str = "wechat_subscribe";
/// A text's content check (`msgSecCheck`): `ContentCheckPayload`.
pub const KIND_TEXT_CHECK: &str = "wechat_msg_sec_check";
/// A photo's content check (`mediaCheckAsync`): `ContentCheckPayload`.
pub const KIND_PHOTO_CHECK: &str = "wechat_media_check";
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

/// A content check to ask WeChat for: what is checked (`domain::content::Checked`, read again from
/// the database when sending) and the account that wrote or photographed it, whose openid WeChat
/// needs. Naming the account lets an erasure delete the message with the account's others.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ContentCheckPayload {
    pub account_id: String,
    pub kind: String,
    pub object_id: String,
    pub report_id: String,
}

/// Queues a content check inside the caller's transaction.
pub async fn enqueue_content_check(
    conn: &mut sqlx::AnyConnection,
    city_id: &str,
    payload: &ContentCheckPayload,
) -> DomainResult<String> {
    let kind = if payload.kind == crate::domain::content::Checked::Photo.as_str() {
        KIND_PHOTO_CHECK
    } else {
        KIND_TEXT_CHECK
    };
    let json = serde_json::to_value(payload).map_err(crate::domain::DomainError::internal)?;
    store::outbox::enqueue(conn, city_id, kind, &json).await
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
    /// What sending content checks needs besides WeChat.
    pub content: CheckDelivery,
    pub webhooks: WebhookLane,
}

/// How office webhooks are delivered.
#[derive(Clone)]
pub struct WebhookLane {
    pub delivery: DeliveryContext,
    /// Attempts in flight at once on this node.
    pub concurrency: usize,
    /// How long a claimed delivery is this node's: longer than any attempt may take.
    pub lease: Duration,
}

impl WebhookLane {
    /// The lease for attempts bounded by `timeout`: twice it and five seconds more, so an
    /// attempt and its recording end well inside it and no other node takes it meanwhile.
    pub fn lease_for(timeout: Duration) -> Duration {
        timeout * 2 + Duration::from_secs(5)
    }
}

/// A node's delivery loops.
pub struct Outbox {
    notifications: JoinHandle<()>,
    webhooks: JoinHandle<()>,
    stop: watch::Sender<bool>,
}

impl Outbox {
    /// Stops taking new messages; attempts in flight go on.
    pub fn begin_stop(&self) {
        let _ = self.stop.send(true);
    }

    /// Stops, letting webhook attempts in flight finish and be recorded within `grace`; anything
    /// still running after that is cut off and left to its lease.
    pub async fn stop(self, grace: Duration) {
        self.begin_stop();
        // A WeChat message cut off here stays leased and is retried after the lease.
        self.notifications.abort();
        let mut webhooks = self.webhooks;
        if tokio::time::timeout(grace + Duration::from_secs(1), &mut webhooks).await.is_err() {
            webhooks.abort();
        }
    }
}

/// Runs the delivery loops until `Outbox::stop`.
pub fn spawn(state: OutboxContext, grace: Duration) -> Outbox {
    let (stop, stopping) = watch::channel(false);
    let lane = state.webhooks.clone();
    let db = state.db.clone();
    let poll = state.poll;
    let notifications = tokio::spawn(async move {
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
    });
    let webhooks = tokio::spawn(run_webhooks(db, lane, poll, grace, stopping));
    Outbox { notifications, webhooks, stop }
}

/// The webhook lane: claims as many due deliveries as it has free slots, runs each in its own
/// task, and on stop waits (within `grace`) for those in flight.
async fn run_webhooks(db: Db, lane: WebhookLane, poll: Duration, grace: Duration, mut stopping: watch::Receiver<bool>) {
    let slots = Arc::new(Semaphore::new(lane.concurrency));
    let mut in_flight = JoinSet::new();
    let lease_ms = lane.lease.as_millis() as i64;
    loop {
        while in_flight.try_join_next().is_some() {}
        // Stopped, or the `Outbox` is gone (nobody can stop it any more).
        if *stopping.borrow() || stopping.has_changed().is_err() {
            break;
        }
        let free = slots.available_permits();
        let mut claimed = 0;
        if free > 0 {
            match store::outbox::claim_due(&db, Millis::now(), lease_ms, free as i64, Lane::Webhooks).await {
                Ok(messages) => {
                    claimed = messages.len();
                    for message in messages {
                        let Ok(slot) = slots.clone().acquire_owned().await else { break };
                        let delivery = lane.delivery.clone();
                        in_flight.spawn(async move {
                            crate::service::webhooks::deliver(&delivery, &message).await;
                            drop(slot);
                        });
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %crate::domain::error::ErrorChain(&e), "webhooks: cannot read due deliveries")
                }
            }
        }
        if claimed > 0 && claimed == free {
            // Every slot was filled: more may be due. Wait for a slot (or the stop).
            tokio::select! {
                _ = in_flight.join_next() => {}
                _ = stopping.changed() => {}
            }
            continue;
        }
        tokio::select! {
            _ = tokio::time::sleep(poll) => {}
            _ = stopping.changed() => {}
        }
    }
    let drained = tokio::time::timeout(grace, async { while in_flight.join_next().await.is_some() {} }).await;
    if drained.is_err() {
        tracing::warn!(
            left = in_flight.len(),
            "webhooks: deliveries still running at shutdown are left to their leases"
        );
        in_flight.shutdown().await;
    }
}

/// Delivers one batch of due messages; returns how many were claimed.
pub async fn deliver_due(state: &OutboxContext) -> DomainResult<usize> {
    let claimed = store::outbox::claim_due(&state.db, Millis::now(), LEASE_MS, BATCH, Lane::Notifications).await?;
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
        KIND_TEXT_CHECK | KIND_PHOTO_CHECK => match serde_json::from_value(message.payload.clone()) {
            Ok(payload) => content::deliver_check(&state.content, &state.wechat, &message.city_id, &payload).await,
            Err(e) => Attempt::Refused(format!("malformed payload: {e}")),
        },
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

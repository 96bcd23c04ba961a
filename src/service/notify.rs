//! Riders' consents to subscribe messages, and queuing messages against them in the
//! transaction of the change that causes them.
//!
//! WeChat's one-time subscriptions: every "accept" in `wx.requestSubscribeMessage` allows one
//! message of that template. A message is queued only after taking one unused consent (in the
//! same transaction); a rider without one is skipped, and nothing is retried for them.

use crate::domain::error::ErrorCode;
use crate::domain::identity::Rider;
use crate::domain::notify::{
    ConsentResult, Field, MessageKind, PointsArrived, RedemptionNews, ReportProgress, Template, points_arrived_fields,
    redemption_fields, report_progress_fields,
};
use crate::domain::time::Millis;
use crate::domain::{DomainError, DomainResult};
use crate::integrations::wechat::SubscribeMessage;
use crate::outbox;
use crate::store::idempotency::{self, Claim, IdempotencyKey};
use crate::store::{self, Db};

/// How many unused consents a rider keeps per template: enough for months of reports, and a
/// bound on what a looping client can pile up.
pub const MAX_UNUSED_CONSENTS: i64 = 100;
const CONSENT_SCOPE: &str = "subscriptions.record";

/// What consents need: the database and the templates configured.
#[derive(Clone)]
pub struct NotifyContext {
    pub db: Db,
    pub templates: Vec<Template>,
}

/// A template riders can subscribe to, and how many messages of it a rider may still get.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    pub message: MessageKind,
    pub template_id: String,
    pub unused: i64,
}

/// What recording a rider's answers did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    pub subscriptions: Vec<Subscription>,
    /// Template ids the service does not send (an old mini-program build, a typo): not kept.
    pub ignored: Vec<String>,
}

/// The configured templates with the rider's unused consents.
pub async fn subscriptions(ctx: &NotifyContext, rider: &Rider) -> DomainResult<Vec<Subscription>> {
    let unused = store::subscriptions::unused(&ctx.db, &rider.account_id).await?;
    Ok(with_counts(&ctx.templates, &unused))
}

fn with_counts(templates: &[Template], unused: &[(String, i64)]) -> Vec<Subscription> {
    templates
        .iter()
        .map(|t| Subscription {
            message: t.kind,
            template_id: t.id.clone(),
            unused: unused.iter().find(|(id, _)| *id == t.id).map_or(0, |(_, n)| *n),
        })
        .collect()
}

/// Records what the rider answered in `wx.requestSubscribeMessage`: each `accept` adds one
/// consent to that template, `ban` (messages switched off) drops the unused ones, `reject` and
/// `filter` change nothing. With an idempotency key, a retried request adds nothing again.
pub async fn record(
    ctx: &NotifyContext,
    rider: &Rider,
    answers: &[(String, ConsentResult)],
    idempotency_key: Option<&str>,
    now: Millis,
) -> DomainResult<Recorded> {
    let digest = answers.iter().map(|(id, r)| format!("{id}={}", r.as_str())).collect::<Vec<_>>().join("&");
    let key = idempotency_key.map(|key| IdempotencyKey {
        scope: CONSENT_SCOPE,
        caller_id: &rider.account_id,
        key,
        request_hash: &digest,
    });
    let (known, ignored): (Vec<_>, Vec<_>) =
        answers.iter().partition(|(id, _)| ctx.templates.iter().any(|t| t.id == *id));
    let mut tx = ctx.db.begin_write().await?;
    let replay = match &key {
        Some(key) => match idempotency::claim(&mut tx, key, now).await? {
            Claim::Replay(recorded) if recorded.request_hash != digest => {
                return Err(DomainError::conflict(
                    ErrorCode::IdempotencyKeyReused,
                    "this Idempotency-Key was used to record other answers",
                ));
            }
            Claim::Replay(_) => true,
            Claim::Fresh => false,
        },
        None => false,
    };
    if !replay {
        for (template_id, result) in &known {
            match result {
                ConsentResult::Accept => {
                    store::subscriptions::grant(&mut tx, &rider.account_id, template_id, 1, MAX_UNUSED_CONSENTS, now)
                        .await?
                }
                ConsentResult::Ban => {
                    store::subscriptions::revoke(&mut tx, &rider.account_id, template_id, now).await?
                }
                ConsentResult::Reject | ConsentResult::Filter => {}
            }
        }
        if let Some(key) = &key {
            idempotency::complete(&mut tx, key, &rider.account_id, "recorded").await?;
        }
    }
    let unused = store::subscriptions::unused_in(&mut tx, &rider.account_id).await?;
    tx.commit().await?;
    Ok(Recorded {
        subscriptions: with_counts(&ctx.templates, &unused),
        ignored: ignored.into_iter().map(|(id, _)| id.clone()).collect(),
    })
}

/// Queues one message to a rider if they hold an unused consent for its template, taking it.
/// Returns whether it was queued.
async fn queue_one(
    conn: &mut sqlx::AnyConnection,
    template: &Template,
    city_id: &str,
    account_id: &str,
    page: &str,
    fields: &[(Field, String)],
    now: Millis,
) -> DomainResult<bool> {
    if !store::subscriptions::take(conn, account_id, &template.id, now).await? {
        return Ok(false);
    }
    let message =
        SubscribeMessage { template_id: template.id.clone(), page: page.to_string(), data: template.render(fields) };
    outbox::enqueue_subscribe(conn, city_id, account_id, message).await?;
    Ok(true)
}

/// Tells every follower of a report who consented that it moved on; returns how many were told.
pub async fn queue_report_progress(
    conn: &mut sqlx::AnyConnection,
    template: Option<&Template>,
    city_id: &str,
    followers: &[String],
    progress: &ReportProgress<'_>,
) -> DomainResult<usize> {
    let Some(template) = template else { return Ok(0) };
    let (page, fields) = report_progress_fields(progress);
    let now = Millis::now();
    let mut told = 0;
    for account_id in followers {
        told += usize::from(queue_one(conn, template, city_id, account_id, &page, &fields, now).await?);
    }
    Ok(told)
}

/// Tells a rider that points arrived for a report, if they consented.
pub async fn queue_points_arrived(
    conn: &mut sqlx::AnyConnection,
    template: &Template,
    city_id: &str,
    rider_id: &str,
    arrived: &PointsArrived<'_>,
) -> DomainResult<bool> {
    let (page, fields) = points_arrived_fields(arrived);
    queue_one(conn, template, city_id, rider_id, &page, &fields, Millis::now()).await
}

/// Tells a rider their redemption was picked up or expired, if they consented.
pub async fn queue_redemption_news(
    conn: &mut sqlx::AnyConnection,
    template: &Template,
    city_id: &str,
    rider_id: &str,
    news: &RedemptionNews<'_>,
) -> DomainResult<bool> {
    let (page, fields) = redemption_fields(news);
    queue_one(conn, template, city_id, rider_id, &page, &fields, Millis::now()).await
}

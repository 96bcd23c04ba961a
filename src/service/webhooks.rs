//! Office webhooks: a unit's endpoints (kept by its clerks and city admins; another unit's are a
//! 404), the events queued for them in the transaction of the change that raised them, the
//! overdue detector every node runs, and one delivery attempt as the outbox makes it.
//!
//! An event is queued as one outbox row per endpoint that wants it, under the unique key
//! `webhook:<event id>:<endpoint id>`: the same event raised twice (two nodes detecting the same
//! overdue report) is queued once, and an endpoint receives each event once however often it is
//! attempted (a receiver drops repeats by the `X-Xhb-Event-Id` it has seen).

use std::sync::Arc;

use chrono::SecondsFormat;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::AnyConnection;

use crate::domain::city::City;
use crate::domain::delivery::RetryPolicy;
use crate::domain::error::ErrorCode;
use crate::domain::identity::Staff;
use crate::domain::time::Millis;
use crate::domain::webhooks::{
    DeliveryStatus, EventSet, EventType, MAX_ENDPOINTS_PER_UNIT, WebhookUrl, dedupe_key, new_event_id, new_secret,
    overdue, overdue_event_id, signature_header,
};
use crate::domain::{DomainError, DomainResult};
use crate::integrations::webhooks::{Delivery as Post, PostOutcome, WebhookClient};
use crate::service::{triage, units};
use crate::store::audit::{self, AuditEntry};
use crate::store::outbox::{AttemptRecord, DeliveryRow, KIND_WEBHOOK, OutboxMessage};
use crate::store::reports::{OverdueScan, ReportRow};
use crate::store::webhooks::EndpointRow;
use crate::store::{self, Db, new_id};

/// What managing endpoints needs: the database, the city, and whether private addresses are
/// allowed as targets.
#[derive(Clone)]
pub struct WebhooksContext {
    pub db: Db,
    pub city: Arc<City>,
    pub allow_private: bool,
}

/// What an outbox row of kind `webhook` holds: which endpoint, which event, and the exact body
/// every attempt sends (so a retry is byte for byte the first attempt).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WebhookPayload {
    pub endpoint_id: String,
    pub event_id: String,
    #[serde(rename = "type")]
    pub event_type: String,
    pub body: String,
}

fn rfc3339(m: Millis) -> String {
    m.to_utc().to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A report as an event shows it to the unit it concerns (never who reported it).
fn report_json(r: &ReportRow) -> Value {
    let f = &r.facts;
    let mut report = json!({
        "id": r.id,
        "category": r.category.as_str(),
        "status": f.status.as_str(),
        "description": r.description,
        "lat": r.location.lat(),
        "lng": r.location.lng(),
        "coord": "gcj02",
        "priority": f.priority,
        "route_reason": r.route_reason.as_str(),
        "created_at": rfc3339(r.created_at),
        "routed_at": rfc3339(f.routed_at),
        "respond_by": rfc3339(f.deadlines.respond_by),
        "resolve_by": rfc3339(f.deadlines.resolve_by),
    });
    for (key, at) in [("responded_at", f.responded_at), ("resolved_at", f.resolved_at)] {
        if let Some(at) = at {
            report[key] = json!(rfc3339(at));
        }
    }
    report
}

/// What happened to a report, for the unit that has it now.
#[derive(Debug, Clone, Copy)]
pub enum ReportEvent<'a> {
    /// A new report was routed to its unit.
    Routed,
    /// The report came to its unit from another.
    TransferredIn { from_office_id: &'a str, reason: &'a str },
    /// A deadline of its unit passed.
    Overdue { kind: EventType, deadline: Millis },
    /// Its reporter reopened it.
    Reopened { reason: &'a str },
    /// Its reporter rated it.
    Rated,
}

impl ReportEvent<'_> {
    fn event_type(&self) -> EventType {
        match self {
            ReportEvent::Routed => EventType::ReportRouted,
            ReportEvent::TransferredIn { .. } => EventType::ReportTransferredIn,
            ReportEvent::Overdue { kind, .. } => *kind,
            ReportEvent::Reopened { .. } => EventType::ReportReopened,
            ReportEvent::Rated => EventType::ReportRated,
        }
    }
}

/// Queues `event` about `report` for every active endpoint of the report's unit that wants it,
/// in the caller's transaction; returns how many deliveries were queued.
pub async fn queue_report_event(
    conn: &mut AnyConnection,
    report: &ReportRow,
    event: ReportEvent<'_>,
    now: Millis,
) -> DomainResult<usize> {
    let event_type = event.event_type();
    let endpoints = store::webhooks::subscribed(conn, &report.office_id, event_type).await?;
    if endpoints.is_empty() {
        return Ok(0);
    }
    let mut data = json!({ "report": report_json(report) });
    let (event_id, at) = match event {
        ReportEvent::Overdue { kind, deadline } => {
            data["deadline"] = json!(rfc3339(deadline));
            (overdue_event_id(&report.id, kind, deadline), deadline)
        }
        ReportEvent::TransferredIn { from_office_id, reason } => {
            data["from_unit_id"] = json!(from_office_id);
            data["reason"] = json!(reason);
            (new_event_id(), now)
        }
        ReportEvent::Reopened { reason } => {
            data["reason"] = json!(reason);
            (new_event_id(), now)
        }
        ReportEvent::Rated => {
            data["rating"] = json!(report.facts.rating);
            if let Some(comment) = &report.facts.rating_comment {
                data["comment"] = json!(comment);
            }
            (new_event_id(), now)
        }
        ReportEvent::Routed => (new_event_id(), now),
    };
    let body = event_body(&event_id, event_type, at, &report.office_id, data);
    let mut queued = 0;
    for endpoint_id in &endpoints {
        if enqueue(conn, &report.city_id, endpoint_id, &event_id, event_type, &body, now).await?.is_some() {
            queued += 1;
        }
    }
    Ok(queued)
}

fn event_body(event_id: &str, event_type: EventType, at: Millis, office_id: &str, data: Value) -> String {
    json!({
        "id": event_id,
        "type": event_type.as_str(),
        "created_at": rfc3339(at),
        "unit_id": office_id,
        "data": data,
    })
    .to_string()
}

async fn enqueue(
    conn: &mut AnyConnection,
    city_id: &str,
    endpoint_id: &str,
    event_id: &str,
    event_type: EventType,
    body: &str,
    now: Millis,
) -> DomainResult<Option<String>> {
    let payload = WebhookPayload {
        endpoint_id: endpoint_id.to_string(),
        event_id: event_id.to_string(),
        event_type: event_type.as_str().to_string(),
        body: body.to_string(),
    };
    let payload = serde_json::to_value(&payload).map_err(DomainError::internal)?;
    let key = dedupe_key(event_id, endpoint_id);
    store::outbox::enqueue_once(conn, city_id, KIND_WEBHOOK, &payload, &key, endpoint_id, now).await
}

// --- Endpoints, as clerks and admins manage them ----------------------------------------------

/// A new endpoint, parsed.
#[derive(Debug, Clone)]
pub struct NewEndpoint {
    /// The unit: a clerk's own when left out; a city admin must name one.
    pub office_id: Option<String>,
    pub url: String,
    pub events: Vec<EventType>,
    pub active: bool,
    pub description: String,
}

/// What an update changes; what is left out stays.
#[derive(Debug, Clone, Default)]
pub struct EndpointChange {
    pub url: Option<String>,
    pub events: Option<Vec<EventType>>,
    pub active: Option<bool>,
    pub description: Option<String>,
}

/// An endpoint as audited: never its secret.
fn audited(e: &EndpointRow) -> Value {
    json!({ "office_id": e.office_id, "url": e.url, "events": e.events.to_stored(), "active": e.active })
}

/// An endpoint staff may reach: a clerk only their own unit's; another unit's is a 404.
async fn endpoint_for(ctx: &WebhooksContext, staff: &Staff, id: &str) -> DomainResult<EndpointRow> {
    let scope = triage::staff_scope(staff)?;
    let endpoint =
        store::webhooks::get(&ctx.db.pool, &ctx.city.id, id).await?.ok_or(DomainError::NotFound("webhook"))?;
    match scope {
        Some(own) if own != endpoint.office_id => Err(DomainError::NotFound("webhook")),
        _ => Ok(endpoint),
    }
}

/// Registers an endpoint for a unit, with a new secret (shown this once).
pub async fn create(ctx: &WebhooksContext, staff: &Staff, new: NewEndpoint) -> DomainResult<EndpointRow> {
    let office_id = match (triage::staff_scope(staff)?, new.office_id) {
        (Some(own), Some(asked)) if own != asked => return Err(DomainError::NotFound("unit")),
        (Some(own), _) => own,
        (None, Some(asked)) => asked,
        (None, None) => return Err(DomainError::invalid("office_id", "required: the unit the endpoint is for")),
    };
    let url = WebhookUrl::parse(&new.url, ctx.allow_private)?;
    let events = EventSet::parse(&new.events)?;
    units::unit(&ctx.db, &ctx.city.id, &office_id).await?;
    let now = Millis::now();
    let endpoint = EndpointRow {
        id: new_id(),
        city_id: ctx.city.id.clone(),
        office_id,
        url: url.as_str().to_string(),
        secret: new_secret(),
        events,
        active: new.active,
        description: new.description.trim().to_string(),
        created_at: now,
        updated_at: now,
    };
    let mut tx = ctx.db.begin_write().await?;
    // Parallel registrations for one unit count one after another.
    store::webhooks::hold_office(&mut tx, ctx.db.backend, &endpoint.office_id).await?;
    if store::webhooks::count_of_office(&mut tx, &endpoint.office_id).await? >= MAX_ENDPOINTS_PER_UNIT {
        return Err(DomainError::conflict(
            ErrorCode::TooManyEndpoints,
            format!("a unit has at most {MAX_ENDPOINTS_PER_UNIT} webhook endpoints"),
        ));
    }
    store::webhooks::insert(&mut tx, &endpoint).await?;
    let entry = AuditEntry::by(staff, "webhook.create", "webhook", &endpoint.id).with_after(audited(&endpoint));
    audit::record(&mut *tx, entry).await?;
    tx.commit().await?;
    Ok(endpoint)
}

/// Endpoints in id order after `after`: a clerk's unit's (naming another is a 404), or for a
/// city admin those of the unit named, or of the whole city.
pub async fn list(
    ctx: &WebhooksContext,
    staff: &Staff,
    office_id: Option<String>,
    after: Option<&str>,
    limit: u32,
) -> DomainResult<Vec<EndpointRow>> {
    let office_id = match (triage::staff_scope(staff)?, office_id) {
        (Some(own), Some(asked)) if own != asked => return Err(DomainError::NotFound("unit")),
        (Some(own), _) => Some(own),
        (None, asked) => asked,
    };
    store::webhooks::list(&ctx.db, &ctx.city.id, office_id.as_deref(), after, limit).await
}

pub async fn get(ctx: &WebhooksContext, staff: &Staff, id: &str) -> DomainResult<EndpointRow> {
    endpoint_for(ctx, staff, id).await
}

/// Changes an endpoint's URL, events, active flag or description. Deliveries already queued go
/// to the URL the endpoint has when they are attempted.
pub async fn update(
    ctx: &WebhooksContext,
    staff: &Staff,
    id: &str,
    change: EndpointChange,
) -> DomainResult<EndpointRow> {
    let before = endpoint_for(ctx, staff, id).await?;
    let mut after = before.clone();
    if let Some(url) = &change.url {
        after.url = WebhookUrl::parse(url, ctx.allow_private)?.as_str().to_string();
    }
    if let Some(events) = &change.events {
        after.events = EventSet::parse(events)?;
    }
    if let Some(active) = change.active {
        after.active = active;
    }
    if let Some(description) = &change.description {
        after.description = description.trim().to_string();
    }
    after.updated_at = Millis::now();
    let mut tx = ctx.db.begin_write().await?;
    store::webhooks::update(&mut tx, &after).await?;
    let entry = AuditEntry::by(staff, "webhook.update", "webhook", id);
    audit::record(&mut *tx, entry.with_before(audited(&before)).with_after(audited(&after))).await?;
    tx.commit().await?;
    Ok(after)
}

/// Gives an endpoint a new secret (shown this once); every delivery from now on is signed with it.
pub async fn rotate_secret(ctx: &WebhooksContext, staff: &Staff, id: &str) -> DomainResult<EndpointRow> {
    let mut endpoint = endpoint_for(ctx, staff, id).await?;
    endpoint.secret = new_secret();
    endpoint.updated_at = Millis::now();
    let mut tx = ctx.db.begin_write().await?;
    store::webhooks::update(&mut tx, &endpoint).await?;
    audit::record(&mut *tx, AuditEntry::by(staff, "webhook.rotate_secret", "webhook", id)).await?;
    tx.commit().await?;
    Ok(endpoint)
}

/// Deletes an endpoint; its deliveries still pending are given up.
pub async fn delete(ctx: &WebhooksContext, staff: &Staff, id: &str) -> DomainResult<()> {
    let endpoint = endpoint_for(ctx, staff, id).await?;
    let mut tx = ctx.db.begin_write().await?;
    if !store::webhooks::delete(&mut tx, id).await? {
        return Err(DomainError::NotFound("webhook"));
    }
    store::outbox::bury_pending(&mut tx, id, "the endpoint was deleted").await?;
    let entry = AuditEntry::by(staff, "webhook.delete", "webhook", id).with_before(audited(&endpoint));
    audit::record(&mut *tx, entry).await?;
    tx.commit().await?;
    Ok(())
}

// --- Deliveries ---------------------------------------------------------------------------------

/// One delivery of an event to an endpoint, as its owners see it.
#[derive(Debug, Clone)]
pub struct DeliveryView {
    pub id: String,
    pub event_id: String,
    pub event_type: Option<EventType>,
    pub status: DeliveryStatus,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub last_http_status: Option<u16>,
    pub created_at: Millis,
    pub last_attempt_at: Option<Millis>,
    /// When it is tried next; only while pending.
    pub next_attempt_at: Option<Millis>,
    pub sent_at: Option<Millis>,
}

impl DeliveryView {
    fn of(row: DeliveryRow) -> Self {
        let payload: Option<WebhookPayload> = serde_json::from_value(row.payload).ok();
        let status = row.status.parse().unwrap_or(DeliveryStatus::Dead);
        DeliveryView {
            event_id: payload.as_ref().map(|p| p.event_id.clone()).unwrap_or_default(),
            event_type: payload.and_then(|p| p.event_type.parse().ok()),
            next_attempt_at: (status == DeliveryStatus::Pending).then_some(row.next_attempt_at),
            status,
            id: row.id,
            attempts: row.attempts,
            last_error: row.last_error,
            last_http_status: row.last_http_status.and_then(|s| u16::try_from(s).ok()),
            created_at: row.created_at,
            last_attempt_at: row.last_attempt_at,
            sent_at: row.sent_at,
        }
    }
}

/// An endpoint's deliveries, newest first, of one status or all: at most `limit` after `before`.
pub async fn deliveries(
    ctx: &WebhooksContext,
    staff: &Staff,
    id: &str,
    status: Option<DeliveryStatus>,
    before: Option<&str>,
    limit: u32,
) -> DomainResult<Vec<DeliveryView>> {
    let endpoint = endpoint_for(ctx, staff, id).await?;
    let status = status.map(|s| s.as_str());
    let rows = store::outbox::deliveries(&ctx.db, &endpoint.id, status, before, limit).await?;
    Ok(rows.into_iter().map(DeliveryView::of).collect())
}

/// Queues a `webhook.test` event for the endpoint (whatever it subscribes to); answers its
/// delivery, which the outbox attempts as soon as it can.
pub async fn send_test(ctx: &WebhooksContext, staff: &Staff, id: &str) -> DomainResult<DeliveryView> {
    let endpoint = endpoint_for(ctx, staff, id).await?;
    let now = Millis::now();
    let event_id = new_event_id();
    let data = json!({
        "endpoint_id": endpoint.id,
        "message": "这是一条测试推送 / a test delivery",
        "requested_by": staff.account_id,
    });
    let body = event_body(&event_id, EventType::Test, now, &endpoint.office_id, data);
    let mut tx = ctx.db.begin_write().await?;
    let delivery_id = enqueue(&mut tx, &ctx.city.id, &endpoint.id, &event_id, EventType::Test, &body, now)
        .await?
        .ok_or_else(|| DomainError::internal("a new event id was queued before"))?;
    let row = store::outbox::delivery(&mut *tx, &endpoint.id, &delivery_id).await?;
    tx.commit().await?;
    row.map(DeliveryView::of).ok_or_else(|| DomainError::internal("a queued test delivery went missing"))
}

/// Gives a dead letter of the endpoint a fresh round of attempts. One that is not dead is a 409
/// `not_dead_letter` (of many parallel retries, one revives it).
pub async fn retry(ctx: &WebhooksContext, staff: &Staff, id: &str, delivery_id: &str) -> DomainResult<DeliveryView> {
    let endpoint = endpoint_for(ctx, staff, id).await?;
    let mut tx = ctx.db.begin_write().await?;
    if !store::outbox::revive(&mut tx, &endpoint.id, delivery_id, Millis::now()).await? {
        return match store::outbox::delivery(&mut *tx, &endpoint.id, delivery_id).await? {
            None => Err(DomainError::NotFound("delivery")),
            Some(_) => Err(DomainError::conflict(
                ErrorCode::NotDeadLetter,
                "only a dead letter can be retried; this delivery is pending or sent",
            )),
        };
    }
    audit::record(&mut *tx, AuditEntry::by(staff, "webhook.retry", "webhook_delivery", delivery_id)).await?;
    let row = store::outbox::delivery(&mut *tx, &endpoint.id, delivery_id).await?;
    tx.commit().await?;
    row.map(DeliveryView::of).ok_or(DomainError::NotFound("delivery"))
}

// --- One attempt, as the outbox makes it ----------------------------------------------------------

/// What delivering needs: the database, the HTTP client and when to try again.
#[derive(Clone)]
pub struct DeliveryContext {
    pub db: Db,
    pub client: WebhookClient,
    pub policy: RetryPolicy,
}

/// Attempts one delivery and records what came of it: sent, pending again with its next time
/// (exponential backoff with jitter), or dead (refused for good, or the last attempt failed).
pub async fn deliver(ctx: &DeliveryContext, message: &OutboxMessage) {
    let outcome = attempt(ctx, message).await;
    let now = Millis::now();
    let record = match &outcome {
        PostOutcome::Delivered { status } => AttemptRecord {
            at: now,
            status: DeliveryStatus::Sent.as_str(),
            next_attempt_at: None,
            error: None,
            http_status: Some(*status),
        },
        PostOutcome::Failed { status, error } => {
            let next = ctx.policy.next_attempt(message.attempts as u32 + 1, now);
            if next.is_none() {
                tracing::warn!(id = %message.id, error = %error, "webhook: too many attempts, a dead letter now");
            }
            AttemptRecord {
                at: now,
                status: if next.is_some() { DeliveryStatus::Pending.as_str() } else { DeliveryStatus::Dead.as_str() },
                next_attempt_at: next,
                error: Some(error),
                http_status: *status,
            }
        }
        PostOutcome::Refused(why) => {
            tracing::warn!(id = %message.id, reason = %why, "webhook: refused, a dead letter now");
            AttemptRecord {
                at: now,
                status: DeliveryStatus::Dead.as_str(),
                next_attempt_at: None,
                error: Some(why),
                http_status: None,
            }
        }
    };
    if let Err(e) = store::outbox::record_attempt(&ctx.db, &message.id, &record).await {
        tracing::warn!(id = %message.id, error = %crate::domain::error::ErrorChain(&e), "webhook: cannot record the outcome; the lease will expire");
    }
}

async fn attempt(ctx: &DeliveryContext, message: &OutboxMessage) -> PostOutcome {
    let payload: WebhookPayload = match serde_json::from_value(message.payload.clone()) {
        Ok(p) => p,
        Err(e) => return PostOutcome::Refused(format!("malformed payload: {e}")),
    };
    let endpoint = match store::webhooks::get_any(&ctx.db, &payload.endpoint_id).await {
        Ok(Some(endpoint)) => endpoint,
        Ok(None) => return PostOutcome::Refused("the endpoint was deleted".into()),
        Err(e) => return PostOutcome::Failed { status: None, error: format!("reading the endpoint: {e}") },
    };
    if !endpoint.active {
        return PostOutcome::Refused("the endpoint is disabled".into());
    }
    let url = match endpoint.checked_url(ctx.client.allows_private()) {
        Ok(url) => url,
        Err(e) => return PostOutcome::Refused(e.to_string()),
    };
    let body = payload.body.into_bytes();
    let signature = signature_header(&endpoint.secret, chrono::Utc::now().timestamp(), &body);
    let post =
        Post { url: &url, event_id: &payload.event_id, event_type: &payload.event_type, signature: &signature, body };
    ctx.client.post(post).await
}

// --- Overdue, detected on every node -------------------------------------------------------------

/// The scan mark's name in `webhook_scans`.
const OVERDUE_SCAN: &str = "overdue";
/// Each scan reaches this far back before the mark: changes whose time was taken just before
/// another node moved the mark (clocks a little apart, a slow commit) are still seen. What is
/// seen twice is queued once.
const SCAN_OVERLAP_MS: i64 = 60_000;
const SCAN_PAGE: u32 = 200;

/// Raises `report.overdue_response` and `report.overdue_resolution` for reports whose deadline
/// passed since the last scan (by any node), and for reports changed since then whose deadline
/// had already passed (a late response moves the next deadline to one already gone; a reopened
/// report's resolution deadline may be long past). Each event's id comes from the report, the
/// kind and the deadline, and each delivery has a unique key, so detectors running on every node
/// at once raise each event once. Returns how many deliveries this call queued.
pub async fn raise_overdue(db: &Db, now: Millis) -> DomainResult<usize> {
    let since = match store::webhooks::scanned_to(db, OVERDUE_SCAN).await? {
        Some(mark) => Millis(mark.0 - SCAN_OVERLAP_MS),
        None => Millis(0),
    };
    let mut queued = 0;
    if since < now && store::webhooks::any_wants_overdue(db).await? {
        for scan in [OverdueScan::DeadlinePassed, OverdueScan::ChangedPastDeadline] {
            let mut from = None;
            loop {
                let page = store::reports::overdue_scan(db, scan, since, now, from, SCAN_PAGE).await?;
                queued += raise_for(db, &page, now).await?;
                from = page.last().map(|r| match scan {
                    OverdueScan::DeadlinePassed => (r.facts.next_deadline, r.id.clone()),
                    OverdueScan::ChangedPastDeadline => (r.updated_at, r.id.clone()),
                });
                if page.len() < SCAN_PAGE as usize {
                    break;
                }
            }
        }
    }
    store::webhooks::advance_scan(db, OVERDUE_SCAN, now).await?;
    Ok(queued)
}

/// Queues the overdue events of a page of reports for the endpoints of their units that want
/// them: one statement for the endpoints, one short transaction per report that has any.
async fn raise_for(db: &Db, reports: &[ReportRow], now: Millis) -> DomainResult<usize> {
    let due: Vec<(&ReportRow, EventType, Millis)> =
        reports.iter().filter_map(|r| overdue(&r.facts, now).map(|(kind, deadline)| (r, kind, deadline))).collect();
    if due.is_empty() {
        return Ok(0);
    }
    let mut offices: Vec<String> = due.iter().map(|(r, _, _)| r.office_id.clone()).collect();
    offices.sort();
    offices.dedup();
    let endpoints = store::webhooks::active_of_offices(db, &offices).await?;
    let mut queued = 0;
    for (report, kind, deadline) in due {
        if !endpoints.iter().any(|(_, office, events)| *office == report.office_id && events.contains(kind)) {
            continue;
        }
        let mut tx = db.begin_write().await?;
        queued += queue_report_event(&mut tx, report, ReportEvent::Overdue { kind, deadline }, now).await?;
        tx.commit().await?;
    }
    Ok(queued)
}

/// The overdue detector: every `poll`, on every node.
pub fn spawn_overdue_detector(db: Db, poll: std::time::Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(poll);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = raise_overdue(&db, Millis::now()).await {
                tracing::warn!(error = %crate::domain::error::ErrorChain(&e), "overdue detection failed");
            }
        }
    })
}

//! Office webhooks: a unit's endpoints (URL, signing secret, the events it wants), their
//! deliveries with how each went, a test delivery and the retry of a dead letter. A unit's clerks
//! manage their own unit's endpoints (another unit's are a 404); city admins every unit's.

use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::types::Example;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};

use super::ApiTags;
use super::auth::NoContent;
use super::dto::not_null;
use super::error::codes::*;
use super::error::{ApiResult, Body, Paged, SignedAs};
use super::paging::{Cursor, Page, PageRequest};
use super::security::StaffAuth;
use super::text::Text;
use crate::domain::time::Millis;
use crate::domain::webhooks::{DeliveryStatus, EventType};
use crate::service::webhooks::{self as service, DeliveryView, EndpointChange, NewEndpoint};
use crate::state::AppState;
use crate::store::webhooks::EndpointRow;

/// An event an endpoint can subscribe to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Enum)]
pub enum WebhookEventDto {
    /// A new report was routed to the unit.
    #[oai(rename = "report.routed")]
    ReportRouted,
    /// A report was transferred to the unit.
    #[oai(rename = "report.transferred_in")]
    ReportTransferredIn,
    /// The unit's response deadline for a report passed without a response.
    #[oai(rename = "report.overdue_response")]
    ReportOverdueResponse,
    /// The unit's resolution deadline for a report passed with the report still open.
    #[oai(rename = "report.overdue_resolution")]
    ReportOverdueResolution,
    /// The reporter reopened a report the unit resolved.
    #[oai(rename = "report.reopened")]
    ReportReopened,
    /// The reporter rated a report.
    #[oai(rename = "report.rated")]
    ReportRated,
}

impl From<WebhookEventDto> for EventType {
    fn from(e: WebhookEventDto) -> Self {
        match e {
            WebhookEventDto::ReportRouted => EventType::ReportRouted,
            WebhookEventDto::ReportTransferredIn => EventType::ReportTransferredIn,
            WebhookEventDto::ReportOverdueResponse => EventType::ReportOverdueResponse,
            WebhookEventDto::ReportOverdueResolution => EventType::ReportOverdueResolution,
            WebhookEventDto::ReportReopened => EventType::ReportReopened,
            WebhookEventDto::ReportRated => EventType::ReportRated,
        }
    }
}

impl WebhookEventDto {
    fn of(e: EventType) -> Option<Self> {
        Some(match e {
            EventType::ReportRouted => WebhookEventDto::ReportRouted,
            EventType::ReportTransferredIn => WebhookEventDto::ReportTransferredIn,
            EventType::ReportOverdueResponse => WebhookEventDto::ReportOverdueResponse,
            EventType::ReportOverdueResolution => WebhookEventDto::ReportOverdueResolution,
            EventType::ReportReopened => WebhookEventDto::ReportReopened,
            EventType::ReportRated => WebhookEventDto::ReportRated,
            EventType::Test => return None,
        })
    }
}

/// The event a delivery carries: one an endpoint subscribes to, or the test event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum DeliveryEventDto {
    #[oai(rename = "report.routed")]
    ReportRouted,
    #[oai(rename = "report.transferred_in")]
    ReportTransferredIn,
    #[oai(rename = "report.overdue_response")]
    ReportOverdueResponse,
    #[oai(rename = "report.overdue_resolution")]
    ReportOverdueResolution,
    #[oai(rename = "report.reopened")]
    ReportReopened,
    #[oai(rename = "report.rated")]
    ReportRated,
    /// A test delivery (`POST /webhooks/{id}/test`).
    #[oai(rename = "webhook.test")]
    WebhookTest,
}

impl From<EventType> for DeliveryEventDto {
    fn from(e: EventType) -> Self {
        match e {
            EventType::ReportRouted => DeliveryEventDto::ReportRouted,
            EventType::ReportTransferredIn => DeliveryEventDto::ReportTransferredIn,
            EventType::ReportOverdueResponse => DeliveryEventDto::ReportOverdueResponse,
            EventType::ReportOverdueResolution => DeliveryEventDto::ReportOverdueResolution,
            EventType::ReportReopened => DeliveryEventDto::ReportReopened,
            EventType::ReportRated => DeliveryEventDto::ReportRated,
            EventType::Test => DeliveryEventDto::WebhookTest,
        }
    }
}

/// Where a delivery is: `pending` (waiting for its next attempt), `sent` (the receiver answered
/// 2xx) or `dead` (given up: a dead letter, which may be retried).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum DeliveryStatusDto {
    Pending,
    Sent,
    Dead,
}

impl From<DeliveryStatus> for DeliveryStatusDto {
    fn from(s: DeliveryStatus) -> Self {
        match s {
            DeliveryStatus::Pending => DeliveryStatusDto::Pending,
            DeliveryStatus::Sent => DeliveryStatusDto::Sent,
            DeliveryStatus::Dead => DeliveryStatusDto::Dead,
        }
    }
}

impl From<DeliveryStatusDto> for DeliveryStatus {
    fn from(s: DeliveryStatusDto) -> Self {
        match s {
            DeliveryStatusDto::Pending => DeliveryStatus::Pending,
            DeliveryStatusDto::Sent => DeliveryStatus::Sent,
            DeliveryStatusDto::Dead => DeliveryStatus::Dead,
        }
    }
}

/// A webhook endpoint of a unit. Its secret is shown only when it is made or rotated.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none, example)]
pub struct Webhook {
    pub id: String,
    /// The unit whose events it receives.
    pub office_id: String,
    pub url: String,
    pub events: Vec<WebhookEventDto>,
    /// Inactive endpoints get no new deliveries; those already queued are given up when due.
    pub active: bool,
    pub description: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<&EndpointRow> for Webhook {
    fn from(e: &EndpointRow) -> Self {
        Webhook {
            id: e.id.clone(),
            office_id: e.office_id.clone(),
            url: e.url.clone(),
            events: e.events.iter().filter_map(WebhookEventDto::of).collect(),
            active: e.active,
            description: e.description.clone(),
            created_at: e.created_at.to_utc(),
            updated_at: e.updated_at.to_utc(),
        }
    }
}

/// An endpoint with its signing secret: shown this once. Keep it where the receiver can read it.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none, example)]
pub struct WebhookWithSecret {
    #[oai(flatten)]
    pub webhook: Webhook,
    /// The HMAC-SHA256 key of `X-Xhb-Signature`, used as the UTF-8 bytes of this whole string
    /// (`whsec_` and 43 base64url characters). Never shown again; rotate it to get a new one.
    pub secret: String,
}

impl From<EndpointRow> for WebhookWithSecret {
    fn from(e: EndpointRow) -> Self {
        WebhookWithSecret { webhook: Webhook::from(&e), secret: e.secret }
    }
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none, example)]
pub struct NewWebhookRequest {
    /// The unit (`Unit.id`): city admins must name one; a clerk's is their own (another unit is
    /// a 404).
    #[oai(deserialize_with = "not_null", validator(max_length = 64))]
    pub office_id: Option<Text>,
    /// Where deliveries are POSTed: an absolute `http://` or `https://` URL, at most 2048
    /// characters, without a user name or password, and (unless the operator allows private
    /// targets) not at a loopback, private or link-local address; every address its host
    /// resolves to is checked again at each delivery. Redirects are not followed.
    #[oai(validator(max_length = 2048, pattern = "^[Hh][Tt][Tt][Pp][Ss]?://"))]
    pub url: Text,
    /// The events it wants: one to six, each once.
    #[oai(validator(min_items = 1, max_items = 6, unique_items))]
    pub events: Vec<WebhookEventDto>,
    /// Active unless `false`.
    #[oai(deserialize_with = "not_null")]
    pub active: Option<bool>,
    /// A note for people (`12345 工单系统`).
    #[oai(deserialize_with = "not_null", validator(max_length = 200))]
    pub description: Option<Text>,
}

/// What to change; what is left out stays.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct WebhookChange {
    /// As for a new endpoint. Deliveries already queued go to the URL the endpoint has when they
    /// are attempted.
    #[oai(deserialize_with = "not_null", validator(max_length = 2048, pattern = "^[Hh][Tt][Tt][Pp][Ss]?://"))]
    pub url: Option<Text>,
    #[oai(deserialize_with = "not_null", validator(min_items = 1, max_items = 6, unique_items))]
    pub events: Option<Vec<WebhookEventDto>>,
    #[oai(deserialize_with = "not_null")]
    pub active: Option<bool>,
    #[oai(deserialize_with = "not_null", validator(max_length = 200))]
    pub description: Option<Text>,
}

/// One event's delivery to one endpoint, and how it went.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none, example)]
pub struct WebhookDelivery {
    pub id: String,
    /// The event's id (`X-Xhb-Event-Id`, and `id` in the body): the same at every attempt, so a
    /// receiver drops what it has seen.
    pub event_id: String,
    pub event: Option<DeliveryEventDto>,
    pub status: DeliveryStatusDto,
    /// Attempts made (a retried dead letter starts again from 0).
    pub attempts: i32,
    /// What went wrong the last time (the receiver's status and the start of its answer, a
    /// timeout, a refused address); absent once sent.
    pub last_error: Option<String>,
    /// The HTTP status of the last answer; absent when none came.
    pub last_http_status: Option<u16>,
    pub created_at: DateTime<Utc>,
    pub last_attempt_at: Option<DateTime<Utc>>,
    /// When the next attempt is due; only while `pending`.
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub sent_at: Option<DateTime<Utc>>,
}

impl From<DeliveryView> for WebhookDelivery {
    fn from(d: DeliveryView) -> Self {
        WebhookDelivery {
            id: d.id,
            event_id: d.event_id,
            event: d.event_type.map(DeliveryEventDto::from),
            status: d.status.into(),
            attempts: d.attempts,
            last_error: d.last_error,
            last_http_status: d.last_http_status,
            created_at: d.created_at.to_utc(),
            last_attempt_at: d.last_attempt_at.map(Millis::to_utc),
            next_attempt_at: d.next_attempt_at.map(Millis::to_utc),
            sent_at: d.sent_at.map(Millis::to_utc),
        }
    }
}

#[derive(ApiResponse)]
pub enum WebhookCreated {
    /// Registered; the secret is in this answer only
    #[oai(status = 201)]
    Created(Json<WebhookWithSecret>),
}

#[derive(ApiResponse)]
pub enum DeliveryQueued {
    /// Queued: the outbox attempts it shortly (follow it in the endpoint's deliveries)
    #[oai(status = 202)]
    Queued(Json<WebhookDelivery>),
}

const ENDPOINT_ID: &str = "01a21c01-8d2e-7f30-9a41-b5c6d7e8f901";
const OFFICE_ID: &str = "01a21801-7b2c-7a11-8e0f-5a9d4c3b2a19";

fn at(rfc3339: &str) -> DateTime<Utc> {
    rfc3339.parse().unwrap_or_default()
}

impl Example for Webhook {
    fn example() -> Self {
        Webhook {
            id: ENDPOINT_ID.into(),
            office_id: OFFICE_ID.into(),
            url: "https://12345.example.gov.cn/hooks/xinhuoban".into(),
            events: vec![WebhookEventDto::ReportRouted, WebhookEventDto::ReportOverdueResponse],
            active: true,
            description: "12345 工单系统".into(),
            created_at: at("2026-11-25T08:00:00Z"),
            updated_at: at("2026-11-25T08:00:00Z"),
        }
    }
}

impl Example for WebhookWithSecret {
    fn example() -> Self {
        WebhookWithSecret {
            webhook: Webhook::example(),
            secret: "whsec_Q2x1c3RlcnMgb2YgZmlyZWZsaWVzIGF0IGR1c2sgb3ZlcjE".into(),
        }
    }
}

impl Example for NewWebhookRequest {
    fn example() -> Self {
        NewWebhookRequest {
            office_id: Some(OFFICE_ID.into()),
            url: "https://12345.example.gov.cn/hooks/xinhuoban".into(),
            events: vec![WebhookEventDto::ReportRouted, WebhookEventDto::ReportOverdueResponse],
            active: None,
            description: Some("12345 工单系统".into()),
        }
    }
}

impl Example for WebhookDelivery {
    fn example() -> Self {
        WebhookDelivery {
            id: "01a21c10-1a2b-7c3d-8e4f-5a6b7c8d9e0f".into(),
            event_id: "evt_01a21c101a2b7c3d8e4f5a6b7c8d9e0f".into(),
            event: Some(DeliveryEventDto::ReportRouted),
            status: DeliveryStatusDto::Pending,
            attempts: 2,
            last_error: Some("HTTP 503 Service Unavailable: upstream busy".into()),
            last_http_status: Some(503),
            created_at: at("2026-11-25T08:30:00Z"),
            last_attempt_at: Some(at("2026-11-25T08:30:12Z")),
            next_attempt_at: Some(at("2026-11-25T08:30:31Z")),
            sent_at: None,
        }
    }
}

#[derive(Default)]
pub struct WebhooksApi;

#[OpenApi(tag = "ApiTags::Webhooks")]
impl WebhooksApi {
    /// List webhook endpoints (a unit's clerks; city admins any unit)
    ///
    /// A clerk's unit's endpoints (naming another unit is a 404); a city admin's of the unit
    /// `office_id` names, or of the whole city. In id order, one page at a time. Secrets are
    /// never listed.
    #[oai(path = "/webhooks", method = "get", operation_id = "webhooks_list")]
    async fn list(
        &self,
        state: Data<&AppState>,
        StaffAuth(staff): StaffAuth,
        /// City admins: one unit (`Unit.id`); clerks always see their own (another unit is a 404).
        #[oai(validator(max_length = 64))]
        office_id: Query<Option<String>>,
        /// How many items a page holds: 1 to 100 (default 20).
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<u32>>,
        /// Where the page starts: the previous page's `next_cursor`; leave out for the first page.
        cursor: Query<Option<Cursor>>,
    ) -> ApiResult<Json<Page<Webhook>>, (SignedAs, Paged, NotFound)> {
        let page = PageRequest::parse(limit.0, cursor.0)?;
        let rows =
            service::list(&state.webhooks(), &staff, office_id.0, page.after.as_deref(), page.fetch_limit()).await?;
        let (rows, next_cursor) = page.finish(rows, |e| e.id.clone());
        Ok(Json(Page::new(rows.iter().map(Webhook::from).collect(), next_cursor)))
    }

    /// Register a webhook endpoint for a unit (its clerks; city admins)
    ///
    /// The events the unit wants are POSTed to `url` as JSON, signed with the secret this answer
    /// holds (shown once): `X-Xhb-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of
    /// "<t>.<body>">`, with `X-Xhb-Event-Id` (the same at every attempt of one event) and
    /// `X-Xhb-Event`. Each attempt has a timeout; failures are retried with exponential backoff and
    /// jitter up to a maximum number of attempts, then kept as a dead letter. The README gives a
    /// receiver's verification recipe. A unit has at most 10 endpoints. Audited.
    #[oai(path = "/webhooks", method = "post", operation_id = "webhooks_create")]
    async fn create(
        &self,
        state: Data<&AppState>,
        StaffAuth(staff): StaffAuth,
        body: Json<NewWebhookRequest>,
    ) -> ApiResult<WebhookCreated, (SignedAs, Body, InvalidInput, NotFound, TooManyEndpoints)> {
        let b = body.0;
        let new = NewEndpoint {
            office_id: b.office_id.map(String::from),
            url: b.url.into_string(),
            events: b.events.into_iter().map(EventType::from).collect(),
            active: b.active.unwrap_or(true),
            description: b.description.map(String::from).unwrap_or_default(),
        };
        let created = service::create(&state.webhooks(), &staff, new).await?;
        Ok(WebhookCreated::Created(Json(created.into())))
    }

    /// One webhook endpoint (its unit's clerks; city admins)
    ///
    /// Its URL, events, whether it is active, and its description; never its secret. Another
    /// unit's endpoint is a 404 to a clerk.
    #[oai(path = "/webhooks/:id", method = "get", operation_id = "webhooks_get")]
    async fn get(
        &self,
        state: Data<&AppState>,
        StaffAuth(staff): StaffAuth,
        /// The endpoint's id (`Webhook.id`).
        #[oai(validator(max_length = 64))]
        id: Path<String>,
    ) -> ApiResult<Json<Webhook>, (SignedAs, InvalidParameter, NotFound)> {
        Ok(Json(Webhook::from(&service::get(&state.webhooks(), &staff, &id.0).await?)))
    }

    /// Change a webhook endpoint's URL, events, description, or turn it off and on
    ///
    /// Only the fields sent change. An inactive endpoint gets no new deliveries, and those
    /// already queued are given up (dead letters) when they come due. Audited, before and after.
    #[oai(path = "/webhooks/:id", method = "patch", operation_id = "webhooks_update")]
    async fn update(
        &self,
        state: Data<&AppState>,
        StaffAuth(staff): StaffAuth,
        /// The endpoint's id (`Webhook.id`).
        #[oai(validator(max_length = 64))]
        id: Path<String>,
        body: Json<WebhookChange>,
    ) -> ApiResult<Json<Webhook>, (SignedAs, InvalidParameter, Body, InvalidInput, NotFound)> {
        let b = body.0;
        let change = EndpointChange {
            url: b.url.map(String::from),
            events: b.events.map(|events| events.into_iter().map(EventType::from).collect()),
            active: b.active,
            description: b.description.map(String::from),
        };
        let changed = service::update(&state.webhooks(), &staff, &id.0, change).await?;
        Ok(Json(Webhook::from(&changed)))
    }

    /// Delete a webhook endpoint
    ///
    /// Its deliveries still pending are given up. Audited.
    #[oai(path = "/webhooks/:id", method = "delete", operation_id = "webhooks_delete")]
    async fn delete(
        &self,
        state: Data<&AppState>,
        StaffAuth(staff): StaffAuth,
        /// The endpoint's id (`Webhook.id`).
        #[oai(validator(max_length = 64))]
        id: Path<String>,
    ) -> ApiResult<NoContent, (SignedAs, InvalidParameter, NotFound)> {
        service::delete(&state.webhooks(), &staff, &id.0).await?;
        Ok(NoContent::Done)
    }

    /// Rotate a webhook endpoint's signing secret
    ///
    /// A new secret, shown in this answer only; every attempt from now on (retries of events
    /// queued earlier too) is signed with it. Audited.
    #[oai(path = "/webhooks/:id/secret", method = "post", operation_id = "webhooks_rotate_secret")]
    async fn rotate_secret(
        &self,
        state: Data<&AppState>,
        StaffAuth(staff): StaffAuth,
        /// The endpoint's id (`Webhook.id`).
        #[oai(validator(max_length = 64))]
        id: Path<String>,
    ) -> ApiResult<Json<WebhookWithSecret>, (SignedAs, InvalidParameter, NotFound)> {
        Ok(Json(service::rotate_secret(&state.webhooks(), &staff, &id.0).await?.into()))
    }

    /// Send a test delivery (`webhook.test`) to a webhook endpoint
    ///
    /// Queues a `webhook.test` event for this endpoint, whatever it subscribes to, signed and
    /// retried like any other; its delivery shows how it went.
    #[oai(path = "/webhooks/:id/test", method = "post", operation_id = "webhooks_test")]
    async fn test(
        &self,
        state: Data<&AppState>,
        StaffAuth(staff): StaffAuth,
        /// The endpoint's id (`Webhook.id`).
        #[oai(validator(max_length = 64))]
        id: Path<String>,
    ) -> ApiResult<DeliveryQueued, (SignedAs, InvalidParameter, NotFound)> {
        let delivery = service::send_test(&state.webhooks(), &staff, &id.0).await?;
        Ok(DeliveryQueued::Queued(Json(delivery.into())))
    }

    /// A webhook endpoint's recent deliveries, newest first, with how each went
    ///
    /// Status, attempts, the last error and HTTP status, and the times of each delivery; of one
    /// status (`dead` lists the dead letters) or all.
    #[oai(path = "/webhooks/:id/deliveries", method = "get", operation_id = "webhooks_deliveries")]
    async fn deliveries(
        &self,
        state: Data<&AppState>,
        StaffAuth(staff): StaffAuth,
        /// The endpoint's id (`Webhook.id`).
        #[oai(validator(max_length = 64))]
        id: Path<String>,
        /// Only deliveries in this status.
        status: Query<Option<DeliveryStatusDto>>,
        /// How many items a page holds: 1 to 100 (default 20).
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<u32>>,
        /// Where the page starts: the previous page's `next_cursor`; leave out for the first page.
        cursor: Query<Option<Cursor>>,
    ) -> ApiResult<Json<Page<WebhookDelivery>>, (SignedAs, InvalidParameter, Paged, NotFound)> {
        let page = PageRequest::parse(limit.0, cursor.0)?;
        let status = status.0.map(DeliveryStatus::from);
        let rows =
            service::deliveries(&state.webhooks(), &staff, &id.0, status, page.after.as_deref(), page.fetch_limit())
                .await?;
        let (rows, next_cursor) = page.finish(rows, |d| d.id.clone());
        Ok(Json(Page::new(rows.into_iter().map(WebhookDelivery::from).collect(), next_cursor)))
    }

    /// Retry a dead letter
    ///
    /// Gives a delivery that was given up a fresh round of attempts, starting now. A delivery
    /// that is pending or sent is 409 `not_dead_letter`. Audited.
    #[oai(
        path = "/webhooks/:id/deliveries/:delivery_id/retry",
        method = "post",
        operation_id = "webhooks_retry_delivery"
    )]
    async fn retry(
        &self,
        state: Data<&AppState>,
        StaffAuth(staff): StaffAuth,
        /// The endpoint's id (`Webhook.id`).
        #[oai(validator(max_length = 64))]
        id: Path<String>,
        /// The delivery's id (`WebhookDelivery.id`).
        #[oai(validator(max_length = 64))]
        delivery_id: Path<String>,
    ) -> ApiResult<DeliveryQueued, (SignedAs, InvalidParameter, NotFound, NotDeadLetter)> {
        let delivery = service::retry(&state.webhooks(), &staff, &id.0, &delivery_id.0).await?;
        Ok(DeliveryQueued::Queued(Json(delivery.into())))
    }
}

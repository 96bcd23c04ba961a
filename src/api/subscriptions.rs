//! Subscribe messages: which ones the service sends, and a rider's consents to them
//! (`wx.requestSubscribeMessage`), each good for one message.

use std::collections::BTreeMap;

use poem::web::Data;
use poem_openapi::param::Header;
use poem_openapi::payload::Json;
use poem_openapi::types::Example;
use poem_openapi::{Object, OpenApi};

use super::ApiTags;
use super::dto::mirror_enum;
use super::error::codes::*;
use super::error::{ApiResult, Body, SignedAs};
use super::security::RiderAuth;
use crate::domain::DomainError;
use crate::domain::notify::{ConsentResult, MessageKind};
use crate::domain::time::Millis;
use crate::service::notify::{self as service, Subscription};
use crate::state::AppState;

mirror_enum!(
    /// What a message tells: `report_progress` (a report you follow moved on, was closed or
    /// reopened), `points_arrived` (points paid for your report) or `redemption_news` (your
    /// redemption was picked up or expired).
    MessageKindDto = MessageKind { ReportProgress, PointsArrived, RedemptionNews }
);
mirror_enum!(
    /// What `wx.requestSubscribeMessage` answered for the template: `accept` (one message
    /// allowed), `reject`, `ban` (switched off: unused consents are dropped) or `filter`.
    ConsentResultDto = ConsentResult { Accept, Reject, Ban, Filter }
);

/// A message the service sends, its template, and how many more you have allowed.
#[derive(Debug, Object)]
pub struct SubscriptionDto {
    pub message: MessageKindDto,
    /// Pass it to `wx.requestSubscribeMessage({ tmplIds })`.
    pub template_id: String,
    /// Messages of this template you may still be sent: each `accept` allows one.
    pub unused: i64,
}

impl From<Subscription> for SubscriptionDto {
    fn from(s: Subscription) -> Self {
        SubscriptionDto { message: s.message.into(), template_id: s.template_id, unused: s.unused }
    }
}

/// The subscribe messages the service sends, with your unused consents.
#[derive(Debug, Object)]
pub struct Subscriptions {
    pub subscriptions: Vec<SubscriptionDto>,
    /// Template ids you answered that the service does not send (not recorded).
    pub ignored: Vec<String>,
}

/// What `wx.requestSubscribeMessage` answered, template by template.
#[derive(Debug, Object)]
#[oai(example)]
pub struct ConsentRequest {
    /// The result's entries for template ids (leave out its `errMsg`): template id → answer.
    #[oai(validator(min_properties = 1, max_properties = 10))]
    pub results: BTreeMap<String, ConsentResultDto>,
}

impl Example for ConsentRequest {
    fn example() -> Self {
        ConsentRequest { results: BTreeMap::from([("tmpl-progress".to_string(), ConsentResultDto::Accept)]) }
    }
}

/// The longest template id WeChat issues is 43 characters.
const MAX_TEMPLATE_ID_CHARS: usize = 64;

#[derive(Default)]
pub struct SubscriptionsApi;

#[OpenApi(tag = "ApiTags::Notifications")]
impl SubscriptionsApi {
    /// The subscribe messages the service sends, and my consents (riders)
    ///
    /// The template ids to ask for with `wx.requestSubscribeMessage`, and how many messages of
    /// each you may still be sent. Empty when the city sends none.
    #[oai(path = "/me/subscriptions", method = "get", operation_id = "subscriptions_mine")]
    async fn mine(
        &self,
        state: Data<&AppState>,
        RiderAuth(rider): RiderAuth,
    ) -> ApiResult<Json<Subscriptions>, (SignedAs,)> {
        let list = service::subscriptions(&state.notify(), &rider).await?;
        Ok(Json(Subscriptions { subscriptions: list.into_iter().map(Into::into).collect(), ignored: Vec::new() }))
    }

    /// Record what I answered to a subscribe request (riders)
    ///
    /// Send what `wx.requestSubscribeMessage` returned. Each `accept` allows the service one
    /// message of that template (WeChat's one-time subscription): the next change you follow
    /// uses it, and without one you are not sent that message. `ban` drops the unused ones.
    /// Send an `Idempotency-Key` so a retry on a weak network does not count twice.
    #[oai(path = "/me/subscriptions", method = "post", operation_id = "subscriptions_record")]
    async fn record(
        &self,
        state: Data<&AppState>,
        RiderAuth(rider): RiderAuth,
        /// Any unique text per request (a UUID): a retry with the same key records nothing again.
        #[oai(name = "Idempotency-Key", validator(min_length = 1, max_length = 128))]
        idempotency_key: Header<Option<String>>,
        body: Json<ConsentRequest>,
    ) -> ApiResult<Json<Subscriptions>, (SignedAs, InvalidParameter, Body, InvalidInput, IdempotencyKeyReused)> {
        let mut answers = Vec::with_capacity(body.0.results.len());
        for (template_id, result) in body.0.results {
            if template_id.is_empty() || template_id.chars().count() > MAX_TEMPLATE_ID_CHARS {
                return Err(DomainError::Invalid {
                    field: "results".into(),
                    reason: format!("a template id has 1 to {MAX_TEMPLATE_ID_CHARS} characters"),
                }
                .into());
            }
            answers.push((template_id, result.into()));
        }
        let recorded =
            service::record(&state.notify(), &rider, &answers, idempotency_key.0.as_deref(), Millis::now()).await?;
        Ok(Json(Subscriptions {
            subscriptions: recorded.subscriptions.into_iter().map(Into::into).collect(),
            ignored: recorded.ignored,
        }))
    }
}

//! The points supermarket (积分超市): rewards near a rider, redeeming one for points, the rider's
//! redemptions and cancelling one; stations and city admins offering and changing rewards, and
//! confirming pickup codes at the pickup place.

use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::param::{Header, Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};

use super::ApiTags;
use super::dto::{CoordDto, coord_of, mirror_enum, not_null};
use super::error::codes::*;
use super::error::{ApiResult, Body, Paged, SignedAs};
use super::media::PhotoUrl;
use super::paging::{Cursor, Page, PageRequest, key_text};
use super::security::{RiderAuth, StaffAuth};
use super::text::Text;
use crate::domain::geo::{CoordSystem, Gcj02};
use crate::domain::points::parse_pickup_code;
use crate::domain::rewards::RedemptionNamed;
use crate::domain::rewards::{OfferedBy, RedemptionStatus, RewardTerms};
use crate::domain::time::Millis;
use crate::service::rewards::{self as service, NearbyReward, NewReward, RewardPatch, RewardView};
use crate::state::AppState;

mirror_enum!(
    /// Who offers a reward: `station` (the pickup place's manager) or the `city`.
    OfferedByDto = OfferedBy { Station, City }
);
mirror_enum!(
    /// `pending` (waiting for pickup), `picked_up`, `cancelled` by the rider, or `expired`
    /// unclaimed; cancelled and expired redemptions were refunded.
    RedemptionStatusDto = RedemptionStatus { Pending, PickedUp, Cancelled, Expired }
);

/// Where a reward is picked up.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct RewardPlace {
    /// The place's id (`GET /places/{id}`).
    pub id: String,
    pub name: String,
    pub address: String,
    /// In the system the request named (GCJ-02 unless `coord=wgs84`).
    pub lat: f64,
    pub lng: f64,
    pub coord: CoordDto,
}

/// A reward of the points supermarket.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none, example)]
pub struct Reward {
    pub id: String,
    pub offered_by: OfferedByDto,
    pub name: String,
    /// Empty when there is none.
    pub description: String,
    /// The reward's photo, by a signed URL that needs no token.
    pub photo: Option<PhotoUrl>,
    /// Points one redemption costs.
    pub cost: i64,
    /// How many more may be redeemed now (0: 已兑完).
    pub stock: i64,
    pub valid_from: DateTime<Utc>,
    /// Redeemable until just before this instant.
    pub valid_until: DateTime<Utc>,
    /// How long a redemption waits for pickup before it expires and is refunded, in seconds.
    pub pickup_secs: i64,
    /// Withdrawn by its station or the city.
    pub withdrawn: bool,
    /// Offered now: not withdrawn, inside its validity window, at a place still there (whatever
    /// its stock).
    pub open: bool,
    pub place: RewardPlace,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Reward {
    pub fn of(v: RewardView, coord: CoordSystem, now: Millis) -> Self {
        let open = v.reward.availability().is_open(now);
        let (r, p) = (v.reward.reward, v.reward.place);
        let (lat, lng) = p.location.in_system(coord);
        let t = r.terms;
        Reward {
            id: r.id,
            offered_by: r.offered_by.into(),
            name: t.name,
            description: t.description,
            photo: v.photo.map(PhotoUrl::from),
            cost: t.cost,
            stock: t.stock,
            valid_from: t.valid_from.to_utc(),
            valid_until: t.valid_until.to_utc(),
            pickup_secs: t.pickup_secs,
            withdrawn: r.withdrawn,
            open,
            place: RewardPlace { id: p.id, name: p.name, address: p.address, lat, lng, coord: coord.into() },
            created_at: r.created_at.to_utc(),
            updated_at: r.updated_at.to_utc(),
        }
    }
}

/// A reward offered now, and how far its pickup place is.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none, example)]
pub struct RewardNearby {
    #[oai(flatten)]
    pub reward: Reward,
    /// Great-circle metres from the point asked about to the pickup place.
    pub distance_m: u32,
}

/// A new reward, picked up at one place.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none, example)]
pub struct NewRewardRequest {
    /// The pickup place: an active place of the city; a station manager's own.
    #[oai(validator(max_length = 64))]
    pub place_id: Text,
    /// What riders get, e.g. `矿泉水一箱`; not blank.
    #[oai(validator(
        max_length = 50,
        pattern = r"[^\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
    ))]
    pub name: Text,
    /// More about it (empty when left out).
    #[oai(deserialize_with = "not_null", validator(max_length = 1000))]
    pub description: Option<Text>,
    /// A photo the caller uploaded (`POST /media`); it becomes public with the reward.
    #[oai(deserialize_with = "not_null", validator(max_length = 64))]
    pub photo_media_id: Option<Text>,
    /// Points one redemption costs.
    #[oai(validator(minimum(value = "1"), maximum(value = "100000")))]
    pub cost: i64,
    /// How many may be redeemed.
    #[oai(validator(minimum(value = "0"), maximum(value = "100000")))]
    pub stock: i64,
    /// From when it may be redeemed (now when left out).
    #[oai(deserialize_with = "not_null")]
    pub valid_from: Option<DateTime<Utc>>,
    /// Until when (excluded); after `valid_from`.
    pub valid_until: DateTime<Utc>,
    /// How long a redemption waits for pickup before it expires and is refunded: an hour
    /// (3600) to 30 days (2592000), in seconds.
    #[oai(validator(minimum(value = "3600"), maximum(value = "2592000")))]
    pub pickup_secs: i64,
}

/// A change to a reward: only the fields sent change. The pickup place stays.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none, example)]
pub struct RewardChange {
    /// The new name; not blank.
    #[oai(
        deserialize_with = "not_null",
        validator(
            max_length = 50,
            pattern = r"[^\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
        )
    )]
    pub name: Option<Text>,
    /// The new description; blank removes it.
    #[oai(deserialize_with = "not_null", validator(max_length = 1000))]
    pub description: Option<Text>,
    /// A photo the caller uploaded; blank removes the photo.
    #[oai(deserialize_with = "not_null", validator(max_length = 64))]
    pub photo_media_id: Option<Text>,
    /// The cost of redemptions from now on (those made keep theirs).
    #[oai(deserialize_with = "not_null", validator(minimum(value = "1"), maximum(value = "100000")))]
    pub cost: Option<i64>,
    /// How many more may be redeemed from now on (redemptions waiting for pickup are not counted
    /// in it; one cancelled or expired puts one back).
    #[oai(deserialize_with = "not_null", validator(minimum(value = "0"), maximum(value = "100000")))]
    pub stock: Option<i64>,
    #[oai(deserialize_with = "not_null")]
    pub valid_from: Option<DateTime<Utc>>,
    /// After `valid_from`.
    #[oai(deserialize_with = "not_null")]
    pub valid_until: Option<DateTime<Utc>>,
    /// For redemptions from now on, in seconds: 3600 to 2592000.
    #[oai(deserialize_with = "not_null", validator(minimum(value = "3600"), maximum(value = "2592000")))]
    pub pickup_secs: Option<i64>,
    /// True takes the reward off the shelf (redemptions waiting for pickup stay valid); false puts
    /// it back.
    #[oai(deserialize_with = "not_null")]
    pub withdrawn: Option<bool>,
}

impl From<RewardChange> for RewardPatch {
    fn from(c: RewardChange) -> Self {
        let at = |t: Option<DateTime<Utc>>| t.map(|t| Millis::from_datetime(&t));
        RewardPatch {
            name: c.name.map(String::from),
            description: c.description.map(String::from),
            photo_media_id: c.photo_media_id.map(String::from),
            cost: c.cost,
            stock: c.stock,
            valid_from: at(c.valid_from),
            valid_until: at(c.valid_until),
            pickup_secs: c.pickup_secs,
            withdrawn: c.withdrawn,
        }
    }
}

/// A redemption as the pickup place's staff see it: what to hand out, never who redeemed it nor
/// its code.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none, example)]
pub struct PlaceRedemption {
    pub id: String,
    pub status: RedemptionStatusDto,
    pub reward_id: String,
    pub reward_name: String,
    /// The points it cost (given back when cancelled or expired).
    pub cost: i64,
    pub created_at: DateTime<Utc>,
    /// While pending: picked up by then, or it expires and is refunded.
    pub expires_at: DateTime<Utc>,
    pub picked_up_at: Option<DateTime<Utc>>,
    /// When it was picked up, cancelled or expired.
    pub ended_at: Option<DateTime<Utc>>,
}

impl From<RedemptionNamed> for PlaceRedemption {
    fn from(n: RedemptionNamed) -> Self {
        let d = n.redemption;
        PlaceRedemption {
            id: d.id,
            status: d.status.into(),
            reward_id: d.reward_id,
            reward_name: n.reward_name,
            cost: d.cost,
            created_at: d.created_at.to_utc(),
            expires_at: d.expires_at.to_utc(),
            picked_up_at: d.picked_up_at.map(Millis::to_utc),
            ended_at: d.ended_at.map(Millis::to_utc),
        }
    }
}

/// A redemption as its rider sees it: the pickup code to show (read aloud or as a QR code) at
/// the pickup place while it waits, and where that is.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none, example)]
pub struct Redemption {
    #[oai(flatten)]
    pub redemption: PlaceRedemption,
    /// The one-time pickup code: 10 digits.
    pub code: String,
    pub place_id: String,
    pub place_name: String,
    pub place_address: String,
}

impl From<RedemptionNamed> for Redemption {
    fn from(n: RedemptionNamed) -> Self {
        Redemption {
            code: n.redemption.code.clone(),
            place_id: n.redemption.place_id.clone(),
            place_name: n.place_name.clone(),
            place_address: n.place_address.clone(),
            redemption: n.into(),
        }
    }
}

/// A pickup code as the rider shows it.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none, example)]
pub struct PickupRequest {
    /// The 10 digits, as typed or scanned; spaces and dashes between them are ignored.
    #[oai(validator(max_length = 40, pattern = r"^[ -]*([0-9][ -]*){10}$"))]
    pub code: Text,
}

#[derive(ApiResponse)]
pub enum RewardCreated {
    /// Offered, and on the shelf from `valid_from`
    #[oai(status = 201)]
    Created(Json<Reward>),
}

#[derive(ApiResponse)]
pub enum Redeemed {
    /// Redeemed: the points are spent and the code waits for pickup (a retry with the same
    /// `Idempotency-Key` answers the same redemption, as it stands now)
    #[oai(status = 201)]
    Created(Json<Redemption>),
}

/// The nearest-first list's position: whole metres, then the reward id. Any bytes are a position.
fn nearby_key(bytes: &[u8]) -> (u32, String) {
    let text = key_text(bytes);
    match text.split_once(':') {
        Some((metres, id)) => (metres.parse().unwrap_or(0), id.to_string()),
        None => (0, text),
    }
}

#[derive(Default)]
pub struct RewardsApi;

#[OpenApi(tag = "ApiTags::Rewards")]
impl RewardsApi {
    /// Rewards offered now, nearest pickup place first
    ///
    /// Every reward not withdrawn and inside its validity window, at a place still there, with
    /// its stock (0: 已兑完), cost and pickup place, nearest first by great-circle distance from
    /// the point (ties in id order). No token needed.
    #[oai(path = "/rewards", method = "get", operation_id = "rewards_nearby")]
    async fn nearby(
        &self,
        state: Data<&AppState>,
        /// Latitude, in `coord`.
        #[oai(validator(minimum(value = "-90"), maximum(value = "90")))]
        lat: Query<f64>,
        /// Longitude, in `coord`.
        #[oai(validator(minimum(value = "-180"), maximum(value = "180")))]
        lng: Query<f64>,
        /// gcj02 (default) or wgs84; the places come back in the same system.
        coord: Query<Option<CoordDto>>,
        /// How many items a page holds: 1 to 100 (default 20).
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<u32>>,
        /// Where the page starts: the previous page's `next_cursor`; leave out for the first page.
        cursor: Query<Option<Cursor>>,
    ) -> ApiResult<Json<Page<RewardNearby>>, (Paged, DatabaseUnavailable)> {
        let system = coord_of(coord.0);
        let center = Gcj02::from_system(lat.0, lng.0, system)?;
        let page = PageRequest::parse_with(limit.0, cursor.0, nearby_key)?;
        let now = Millis::now();
        let found = service::nearby(&state.rewards(), center, page.after.clone(), page.fetch_limit(), now).await?;
        let (found, next_cursor) =
            page.finish(found, |n: &NearbyReward| format!("{}:{}", n.distance_m, n.view.reward.reward.id));
        let items = found
            .into_iter()
            .map(|n| RewardNearby { reward: Reward::of(n.view, system, now), distance_m: n.distance_m })
            .collect();
        Ok(Json(Page::new(items, next_cursor)))
    }

    /// One reward
    ///
    /// Whatever its state (`open` says whether it is offered now), so a rider holding a
    /// redemption of it can still look. No token needed.
    #[oai(path = "/rewards/:id", method = "get", operation_id = "rewards_get")]
    async fn get(
        &self,
        state: Data<&AppState>,
        /// The reward's id (`Reward.id`, from `GET /rewards`).
        #[oai(validator(max_length = 64))]
        id: Path<String>,
        /// The system of the pickup place's `lat`/`lng`: gcj02 (default) or wgs84.
        coord: Query<Option<CoordDto>>,
    ) -> ApiResult<Json<Reward>, (InvalidParameter, NotFound, DatabaseUnavailable)> {
        let reward = service::get(&state.rewards(), &id.0).await?;
        Ok(Json(Reward::of(reward, coord_of(coord.0), Millis::now())))
    }

    /// Offer a reward (station managers at their places, city admins at any)
    ///
    /// A station manager's reward is offered by the station (`offered_by: station`) and picked
    /// up at a place they manage (403 at another); a city admin's by the city, at any active
    /// place. `place_id` must name an active place of the city and `photo_media_id` a photo the
    /// caller uploaded (400 `invalid_input` otherwise). Audited.
    #[oai(path = "/rewards", method = "post", operation_id = "rewards_create")]
    async fn create(
        &self,
        state: Data<&AppState>,
        StaffAuth(staff): StaffAuth,
        body: Json<NewRewardRequest>,
    ) -> ApiResult<RewardCreated, (SignedAs, Body, InvalidInput)> {
        let b = body.0;
        let new = NewReward {
            place_id: b.place_id.into_string(),
            terms: RewardTerms {
                name: b.name.into_string(),
                description: b.description.map(String::from).unwrap_or_default(),
                photo_media_id: b.photo_media_id.map(String::from),
                cost: b.cost,
                stock: b.stock,
                valid_from: b.valid_from.map(|t| Millis::from_datetime(&t)).unwrap_or_else(Millis::now),
                valid_until: Millis::from_datetime(&b.valid_until),
                pickup_secs: b.pickup_secs,
            },
        };
        let created = service::create(&state.rewards(), &staff, new).await?;
        Ok(RewardCreated::Created(Json(Reward::of(created, CoordSystem::Gcj02, Millis::now()))))
    }

    /// Change a reward: terms, stock, withdraw (its station's managers, city admins)
    ///
    /// Only the fields sent change; the pickup place stays. A station manager changes rewards
    /// picked up at places they manage (403 otherwise). Redemptions already made keep their cost
    /// and expiry, and stay valid when the reward is withdrawn. Audited, before and after.
    #[oai(path = "/rewards/:id", method = "patch", operation_id = "rewards_update")]
    async fn update(
        &self,
        state: Data<&AppState>,
        StaffAuth(staff): StaffAuth,
        /// The reward's id.
        #[oai(validator(max_length = 64))]
        id: Path<String>,
        body: Json<RewardChange>,
    ) -> ApiResult<Json<Reward>, (SignedAs, InvalidParameter, Body, InvalidInput, NotFound)> {
        let changed = service::update(&state.rewards(), &staff, &id.0, body.0.into()).await?;
        Ok(Json(Reward::of(changed, CoordSystem::Gcj02, Millis::now())))
    }

    /// Redeem a reward for points (riders)
    ///
    /// In one step: one of the stock is taken if any is left, the cost is spent from the
    /// balance if it covers it (an entry in `GET /me/points`), and a redemption with a one-time
    /// 10-digit pickup code waits at the pickup place for `pickup_secs`; unclaimed by then, it
    /// expires and the points and the stock go back. Otherwise nothing changes: 409
    /// `reward_closed`, `out_of_stock` or `insufficient_points`. Send an `Idempotency-Key` so a
    /// retry answers the first redemption instead of redeeming twice.
    #[oai(path = "/rewards/:id/redeem", method = "post", operation_id = "rewards_redeem")]
    async fn redeem(
        &self,
        state: Data<&AppState>,
        RiderAuth(rider): RiderAuth,
        /// The reward's id.
        #[oai(validator(max_length = 64))]
        id: Path<String>,
        /// Any unique text per redemption (a UUID): a retry with the same key answers the first
        /// redemption instead of redeeming twice; the same key for another reward is a 409.
        #[oai(name = "Idempotency-Key", validator(min_length = 1, max_length = 128))]
        idempotency_key: Header<Option<String>>,
    ) -> ApiResult<
        Redeemed,
        (SignedAs, InvalidParameter, NotFound, OutOfStock, InsufficientPoints, RewardClosed, IdempotencyKeyReused),
    > {
        let redemption =
            service::redeem(&state.rewards(), &rider, &id.0, idempotency_key.0.as_deref(), Millis::now()).await?;
        Ok(Redeemed::Created(Json(redemption.into())))
    }

    /// My redemptions, newest first (riders)
    ///
    /// Every redemption I made, whatever became of it: waiting for pickup (with its code),
    /// picked up, cancelled or expired (both refunded). One page at a time.
    #[oai(path = "/me/redemptions", method = "get", operation_id = "redemptions_mine")]
    async fn mine(
        &self,
        state: Data<&AppState>,
        RiderAuth(rider): RiderAuth,
        /// How many items a page holds: 1 to 100 (default 20).
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<u32>>,
        /// Where the page starts: the previous page's `next_cursor`; leave out for the first page.
        cursor: Query<Option<Cursor>>,
    ) -> ApiResult<Json<Page<Redemption>>, (SignedAs, Paged)> {
        let page = PageRequest::parse(limit.0, cursor.0)?;
        let rows = service::mine(&state.rewards(), &rider, page.after.as_deref(), page.fetch_limit()).await?;
        let (rows, next_cursor) = page.finish(rows, |r| r.redemption.id.clone());
        Ok(Json(Page::new(rows.into_iter().map(Redemption::from).collect(), next_cursor)))
    }

    /// One of my redemptions, with its pickup code (riders)
    ///
    /// The code to show at the pickup place while it waits, the place, and what became of it.
    /// Another rider's redemption is 404.
    #[oai(path = "/me/redemptions/:id", method = "get", operation_id = "redemptions_get")]
    async fn mine_one(
        &self,
        state: Data<&AppState>,
        RiderAuth(rider): RiderAuth,
        /// The redemption's id (`Redemption.id`).
        #[oai(validator(max_length = 64))]
        id: Path<String>,
    ) -> ApiResult<Json<Redemption>, (SignedAs, InvalidParameter, NotFound)> {
        Ok(Json(service::mine_one(&state.rewards(), &rider, &id.0).await?.into()))
    }

    /// Cancel my redemption before pickup (riders)
    ///
    /// Only while it waits for pickup: its points come back (an entry in `GET /me/points`) and
    /// the reward's stock goes up by one. 409 `already_picked_up` after pickup,
    /// `redemption_closed` once cancelled or expired (it was refunded then, once).
    #[oai(path = "/me/redemptions/:id/cancel", method = "post", operation_id = "redemptions_cancel")]
    async fn cancel(
        &self,
        state: Data<&AppState>,
        RiderAuth(rider): RiderAuth,
        /// The redemption's id (`Redemption.id`).
        #[oai(validator(max_length = 64))]
        id: Path<String>,
    ) -> ApiResult<Json<Redemption>, (SignedAs, InvalidParameter, NotFound, AlreadyPickedUp, RedemptionClosed)> {
        Ok(Json(service::cancel(&state.rewards(), &rider, &id.0, Millis::now()).await?.into()))
    }

    /// Confirm a pickup code at the pickup place (its managers, city admins)
    ///
    /// The rider shows the code; the redemption it names is picked up, once, and the rider hears
    /// of it (subscribe message). A code that is not one of this place's redemptions is 404;
    /// one picked up before 409 `already_picked_up`; one cancelled or past its pickup window
    /// 409 `redemption_closed`. Another place's manager, or a clerk, gets 403. Answers what to
    /// hand out. Audited.
    #[oai(path = "/places/:id/pickups", method = "post", operation_id = "place_pickup")]
    async fn pickup(
        &self,
        state: Data<&AppState>,
        StaffAuth(staff): StaffAuth,
        /// The pickup place's id.
        #[oai(validator(max_length = 64))]
        id: Path<String>,
        body: Json<PickupRequest>,
    ) -> ApiResult<
        Json<PlaceRedemption>,
        (SignedAs, InvalidParameter, Body, InvalidInput, NotFound, AlreadyPickedUp, RedemptionClosed),
    > {
        let code = parse_pickup_code(&body.0.code)?;
        let picked = service::confirm_pickup(&state.rewards(), &staff, &id.0, &code, Millis::now()).await?;
        Ok(Json(picked.into()))
    }

    /// Redemptions to be picked up at a place, newest first (its managers, city admins)
    ///
    /// What to expect at the counter; never who redeemed, nor the codes.
    #[oai(path = "/places/:id/redemptions", method = "get", operation_id = "place_redemptions")]
    async fn at_place(
        &self,
        state: Data<&AppState>,
        StaffAuth(staff): StaffAuth,
        /// The place's id.
        #[oai(validator(max_length = 64))]
        id: Path<String>,
        /// Only redemptions in this status (default all).
        status: Query<Option<RedemptionStatusDto>>,
        /// How many items a page holds: 1 to 100 (default 20).
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<u32>>,
        /// Where the page starts: the previous page's `next_cursor`; leave out for the first page.
        cursor: Query<Option<Cursor>>,
    ) -> ApiResult<Json<Page<PlaceRedemption>>, (SignedAs, Paged, NotFound)> {
        let page = PageRequest::parse(limit.0, cursor.0)?;
        let status = status.0.map(RedemptionStatus::from);
        let rows =
            service::at_place(&state.rewards(), &staff, &id.0, status, page.after.as_deref(), page.fetch_limit())
                .await?;
        let (rows, next_cursor) = page.finish(rows, |r| r.redemption.id.clone());
        Ok(Json(Page::new(rows.into_iter().map(PlaceRedemption::from).collect(), next_cursor)))
    }
}

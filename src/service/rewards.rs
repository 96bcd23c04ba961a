//! The points supermarket (积分超市): stations and the city offer rewards, riders redeem them for
//! points and pick them up with a one-time code, cancel before pickup, or let them expire.
//!
//! Every redemption, cancellation, expiry and pickup is one write transaction that takes the
//! reward or the redemption first (conditional statements checked by rows affected) and posts to
//! the ledger after (which holds the rider): one lock order, so concurrent ones never deadlock on
//! PostgreSQL, and the stock, the balance and the ledger always move together.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use crate::domain::city::City;
use crate::domain::error::ErrorCode;
use crate::domain::geo::Gcj02;
use crate::domain::identity::{Rider, Role, Staff};
use crate::domain::notify::{RedemptionNews, Template};
use crate::domain::photo_url::{SignedPhoto, UrlSigner};
use crate::domain::points::new_pickup_code;
use crate::domain::rewards::{
    OfferedBy, RedemptionNamed, RedemptionRow, RedemptionStatus, RewardAt, RewardRow, RewardTerms, cancel_refusal,
    insufficient_points, pickup_refusal,
};
use crate::domain::time::Millis;
use crate::domain::{DomainError, DomainResult};
use crate::service::points::Ledger;
use crate::store::audit::{self, AuditEntry};
use crate::store::idempotency::{self, Claim, IdempotencyKey};
use crate::store::rewards::{self as store, Ending, Whose};
use crate::store::{Db, new_id};

/// What the points supermarket needs: the database, the city, the ledger, the signer of reward
/// photo URLs (public, like place photos) and the redemption subscribe message (none: riders are
/// not told).
#[derive(Clone)]
pub struct RewardsContext {
    pub db: Db,
    pub city: Arc<City>,
    pub ledger: Ledger,
    pub photo_urls: UrlSigner,
    pub notify_template: Option<Template>,
}

/// What an `Idempotency-Key` on a redemption guards.
const REDEEM_SCOPE: &str = "reward.redeem";
/// The most open rewards the nearest-first list orders (a city offers far fewer).
pub const MAX_OPEN_REWARDS: u32 = 10_000;
/// How often each node looks for redemptions whose pickup window has passed.
pub const EXPIRY_EVERY: Duration = Duration::from_secs(30);
/// The most redemptions one expiry run ends.
pub const EXPIRY_BATCH: u32 = 500;

/// A reward as everyone sees it: its terms, its pickup place, and its photo's URL.
#[derive(Debug, Clone)]
pub struct RewardView {
    pub reward: RewardAt,
    pub photo: Option<SignedPhoto>,
}

/// A reward offered now, and how far its pickup place is from the point asked about.
#[derive(Debug, Clone)]
pub struct NearbyReward {
    pub view: RewardView,
    /// Whole metres, great-circle.
    pub distance_m: u32,
}

async fn views(ctx: &RewardsContext, rewards: Vec<RewardAt>) -> DomainResult<Vec<RewardView>> {
    let ids = rewards.iter().filter_map(|r| r.reward.terms.photo_media_id.clone()).collect();
    let urls: HashMap<String, SignedPhoto> =
        crate::service::places::public_photo_urls(&ctx.db, &ctx.city.id, &ctx.photo_urls, ids).await?;
    Ok(rewards
        .into_iter()
        .map(|reward| {
            let photo = reward.reward.terms.photo_media_id.as_ref().and_then(|id| urls.get(id).cloned());
            RewardView { reward, photo }
        })
        .collect())
}

async fn view(ctx: &RewardsContext, reward: RewardAt) -> DomainResult<RewardView> {
    views(ctx, vec![reward]).await?.pop().ok_or_else(|| DomainError::internal("a reward's view vanished"))
}

// ---- riders' reads ----

/// One reward of the city, whatever its state (a rider holding a redemption of it may look).
pub async fn get(ctx: &RewardsContext, id: &str) -> DomainResult<RewardView> {
    let reward = store::get(&ctx.db, &ctx.city.id, id).await?.ok_or(DomainError::NotFound("reward"))?;
    view(ctx, reward).await
}

/// Rewards offered now, nearest pickup place first (ties in id order): at most `limit` after the
/// position `after` (whole metres, id).
pub async fn nearby(
    ctx: &RewardsContext,
    center: Gcj02,
    after: Option<(u32, String)>,
    limit: u32,
    now: Millis,
) -> DomainResult<Vec<NearbyReward>> {
    let open = store::open(&ctx.db, &ctx.city.id, now, MAX_OPEN_REWARDS).await?;
    let mut near: Vec<(u32, RewardAt)> =
        open.into_iter().map(|r| (center.distance_m(r.place.location).round() as u32, r)).collect();
    near.sort_by(|(a, x), (b, y)| a.cmp(b).then_with(|| x.reward.id.cmp(&y.reward.id)));
    let page: Vec<(u32, RewardAt)> = near
        .into_iter()
        .filter(|(d, r)| after.as_ref().is_none_or(|(ad, aid)| (*d, &r.reward.id) > (*ad, aid)))
        .take(limit as usize)
        .collect();
    let distances: Vec<u32> = page.iter().map(|(d, _)| *d).collect();
    let found = views(ctx, page.into_iter().map(|(_, r)| r).collect()).await?;
    Ok(found.into_iter().zip(distances).map(|(view, distance_m)| NearbyReward { view, distance_m }).collect())
}

// ---- offering rewards ----

/// A new reward: its terms and where it is picked up.
#[derive(Debug, Clone)]
pub struct NewReward {
    pub place_id: String,
    pub terms: RewardTerms,
}

/// Who may offer or change rewards picked up at a place: a city admin at any place, a station
/// manager at the places they keep (403 otherwise); clerks at none.
async fn authorize(db: &Db, staff: &Staff, place_id: &str) -> DomainResult<()> {
    match staff.role {
        Role::CityAdmin => Ok(()),
        Role::StationManager if crate::store::places::is_manager(db, place_id, &staff.account_id).await? => Ok(()),
        Role::StationManager => Err(DomainError::Forbidden("not a manager of this place")),
        Role::Clerk | Role::Rider => Err(DomainError::Forbidden("role")),
    }
}

/// The photo must be one the caller uploaded.
async fn check_photo(db: &Db, staff: &Staff, terms: &RewardTerms) -> DomainResult<()> {
    let Some(id) = &terms.photo_media_id else { return Ok(()) };
    let owned = crate::store::media::find_owned(db, &staff.account_id, std::slice::from_ref(id)).await?;
    if owned.is_empty() {
        return Err(DomainError::invalid("photo_media_id", format!("`{id}` is not a photo you uploaded")));
    }
    Ok(())
}

/// A reward as the audit trail records it.
fn audit_json(r: &RewardRow) -> Value {
    let t = &r.terms;
    json!({
        "offered_by": r.offered_by.as_str(),
        "place_id": r.place_id,
        "name": t.name,
        "description": t.description,
        "photo_media_id": t.photo_media_id,
        "cost": t.cost,
        "stock": t.stock,
        "valid_from": t.valid_from.0,
        "valid_until": t.valid_until.0,
        "pickup_secs": t.pickup_secs,
        "withdrawn": r.withdrawn,
    })
}

/// A station manager offers a reward picked up at their place, or a city admin one at any active
/// place of the city (audited).
pub async fn create(ctx: &RewardsContext, staff: &Staff, new: NewReward) -> DomainResult<RewardView> {
    staff.require_role(&[Role::StationManager, Role::CityAdmin])?;
    let terms = new.terms.checked()?;
    let place = crate::store::places::get(&ctx.db, &ctx.city.id, &new.place_id).await?;
    if place.is_none_or(|p| p.status == crate::domain::places::PlaceStatus::Removed) {
        return Err(DomainError::invalid("place_id", "no active place of the city has this id"));
    }
    authorize(&ctx.db, staff, &new.place_id).await?;
    check_photo(&ctx.db, staff, &terms).await?;
    let now = Millis::now();
    let row = RewardRow {
        id: new_id(),
        city_id: ctx.city.id.clone(),
        offered_by: if staff.role == Role::CityAdmin { OfferedBy::City } else { OfferedBy::Station },
        place_id: new.place_id,
        terms,
        withdrawn: false,
        created_by: staff.account_id.clone(),
        created_at: now,
        updated_at: now,
    };
    let mut tx = ctx.db.begin_write().await?;
    store::insert(&mut tx, &row).await?;
    let entry = AuditEntry::by(staff, "reward.create", "reward", &row.id).with_after(audit_json(&row));
    audit::record(&mut *tx, entry).await?;
    let created = store::get_in(&mut tx, &ctx.city.id, &row.id).await?;
    tx.commit().await?;
    view(ctx, created.ok_or_else(|| DomainError::internal("a new reward vanished"))?).await
}

/// A change to a reward; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct RewardPatch {
    pub name: Option<String>,
    pub description: Option<String>,
    /// A photo the caller uploaded; blank removes the photo.
    pub photo_media_id: Option<String>,
    pub cost: Option<i64>,
    /// How many more may be redeemed.
    pub stock: Option<i64>,
    pub valid_from: Option<Millis>,
    pub valid_until: Option<Millis>,
    pub pickup_secs: Option<i64>,
    /// True withdraws the reward from the shelf; false puts it back.
    pub withdrawn: Option<bool>,
}

impl RewardPatch {
    fn apply(self, t: &RewardTerms) -> RewardTerms {
        let t = t.clone();
        RewardTerms {
            name: self.name.unwrap_or(t.name),
            description: self.description.unwrap_or(t.description),
            photo_media_id: self.photo_media_id.or(t.photo_media_id),
            cost: self.cost.unwrap_or(t.cost),
            stock: self.stock.unwrap_or(t.stock),
            valid_from: self.valid_from.unwrap_or(t.valid_from),
            valid_until: self.valid_until.unwrap_or(t.valid_until),
            pickup_secs: self.pickup_secs.unwrap_or(t.pickup_secs),
        }
    }
}

/// Changes a reward (audited): a city admin any reward, a station manager those picked up at
/// their places. Redemptions already made keep what they cost and when they expire.
pub async fn update(ctx: &RewardsContext, staff: &Staff, id: &str, patch: RewardPatch) -> DomainResult<RewardView> {
    staff.require_role(&[Role::StationManager, Role::CityAdmin])?;
    let known = store::get(&ctx.db, &ctx.city.id, id).await?.ok_or(DomainError::NotFound("reward"))?;
    authorize(&ctx.db, staff, &known.reward.place_id).await?;
    let new_photo = patch.photo_media_id.as_deref().map(str::trim).filter(|p| !p.is_empty()).map(str::to_string);
    if let Some(photo) = &new_photo {
        let probe = RewardTerms { photo_media_id: Some(photo.clone()), ..known.reward.terms.clone() };
        check_photo(&ctx.db, staff, &probe).await?;
    }
    let withdrawn = patch.withdrawn;
    let removes_photo = patch.photo_media_id.as_deref().is_some_and(|p| p.trim().is_empty());
    let mut tx = ctx.db.begin_write().await?;
    // Held: no redemption moves the stock between this read and the write.
    let before = store::hold(&mut tx, &ctx.city.id, id).await?.ok_or(DomainError::NotFound("reward"))?.reward;
    let mut terms = RewardPatch { photo_media_id: new_photo, ..patch }.apply(&before.terms);
    if removes_photo {
        terms.photo_media_id = None;
    }
    let after = RewardRow {
        terms: terms.checked()?,
        withdrawn: withdrawn.unwrap_or(before.withdrawn),
        updated_at: Millis::now(),
        ..before.clone()
    };
    store::update(&mut tx, &after).await?;
    let entry = AuditEntry::by(staff, "reward.update", "reward", id)
        .with_before(audit_json(&before))
        .with_after(audit_json(&after));
    audit::record(&mut *tx, entry).await?;
    let changed = store::get_in(&mut tx, &ctx.city.id, id).await?;
    tx.commit().await?;
    view(ctx, changed.ok_or_else(|| DomainError::internal("a changed reward vanished"))?).await
}

// ---- redeeming ----

/// Redeems a reward: in one transaction the stock goes down by one if any is left, the rider's
/// balance by the cost if it covers it (a ledger entry), and a redemption with a fresh pickup
/// code waits for pickup. Otherwise nothing changes and the answer says why (`reward_closed`,
/// `out_of_stock`, `insufficient_points`). With an idempotency key, a retry returns the first
/// redemption (and the same key for another reward is a 409).
pub async fn redeem(
    ctx: &RewardsContext,
    rider: &Rider,
    reward_id: &str,
    idempotency_key: Option<&str>,
    now: Millis,
) -> DomainResult<RedemptionNamed> {
    let key = idempotency_key.map(|key| IdempotencyKey {
        scope: REDEEM_SCOPE,
        caller_id: &rider.account_id,
        key,
        request_hash: reward_id,
    });
    if let Some(key) = &key {
        let mut conn = ctx.db.pool.acquire().await?;
        if let Some(recorded) = idempotency::find(&mut conn, key).await? {
            return replay(&mut conn, rider, reward_id, recorded).await;
        }
    }
    let mut tx = ctx.db.begin_write().await?;
    if let Some(key) = &key
        && let Claim::Replay(recorded) = idempotency::claim(&mut tx, key, now).await?
    {
        tx.rollback().await?;
        let mut conn = ctx.db.pool.acquire().await?;
        return replay(&mut conn, rider, reward_id, recorded).await;
    }
    let Some(taken) = store::take_one(&mut tx, &ctx.city.id, reward_id, now).await? else {
        let why = store::get_in(&mut tx, &ctx.city.id, reward_id).await?;
        tx.rollback().await?;
        return Err(match why {
            None => DomainError::NotFound("reward"),
            Some(reward) => reward
                .availability()
                .refusal(now)
                .unwrap_or_else(|| DomainError::conflict(ErrorCode::OutOfStock, "the last one was taken meanwhile")),
        });
    };
    let id = new_id();
    if ctx.ledger.spend(&mut tx, &rider.account_id, taken.cost, &id, now).await?.is_none() {
        tx.rollback().await?;
        return Err(insufficient_points(taken.cost));
    }
    let mut redemption = RedemptionRow {
        id: id.clone(),
        city_id: ctx.city.id.clone(),
        reward_id: reward_id.to_string(),
        rider_id: rider.account_id.clone(),
        place_id: taken.place_id,
        cost: taken.cost,
        code: String::new(),
        status: RedemptionStatus::Pending,
        expires_at: now.plus_secs(taken.pickup_secs),
        created_at: now,
        picked_up_at: None,
        confirmed_by: None,
        ended_at: None,
    };
    // A code already given out (one in ten billion) is drawn again; the statement that found it
    // taken did not fail, so the transaction goes on.
    let mut tries = 0;
    loop {
        redemption.code = new_pickup_code(&mut rand::rng());
        if store::insert_redemption(&mut tx, &redemption).await? {
            break;
        }
        tries += 1;
        if tries >= 8 {
            return Err(DomainError::internal("no free pickup code in 8 draws"));
        }
    }
    if let Some(key) = &key {
        idempotency::complete(&mut tx, key, &id, "created").await?;
    }
    tx.commit().await?;
    mine_one(ctx, rider, &id).await
}

async fn replay(
    conn: &mut sqlx::AnyConnection,
    rider: &Rider,
    reward_id: &str,
    recorded: idempotency::Recorded,
) -> DomainResult<RedemptionNamed> {
    if recorded.request_hash != reward_id {
        return Err(DomainError::conflict(
            ErrorCode::IdempotencyKeyReused,
            "this Idempotency-Key was used to redeem another reward",
        ));
    }
    store::rider_redemption(conn, &rider.account_id, &recorded.resource_id)
        .await?
        .ok_or(DomainError::NotFound("redemption"))
}

/// One of the rider's redemptions; another rider's is not found.
pub async fn mine_one(ctx: &RewardsContext, rider: &Rider, id: &str) -> DomainResult<RedemptionNamed> {
    let mut conn = ctx.db.pool.acquire().await?;
    store::rider_redemption(&mut conn, &rider.account_id, id).await?.ok_or(DomainError::NotFound("redemption"))
}

/// The rider's redemptions, newest first: at most `limit` before `before`.
pub async fn mine(
    ctx: &RewardsContext,
    rider: &Rider,
    before: Option<&str>,
    limit: u32,
) -> DomainResult<Vec<RedemptionNamed>> {
    store::newest_first(&ctx.db, Whose::Rider(&rider.account_id), before, limit).await
}

/// The rider cancels a redemption still waiting for pickup: in one transaction it ends, one goes
/// back on the reward's shelf, and its points come back (a ledger entry, once). 409 when it was
/// picked up, cancelled or expired before.
pub async fn cancel(ctx: &RewardsContext, rider: &Rider, id: &str, now: Millis) -> DomainResult<RedemptionNamed> {
    let mut tx = ctx.db.begin_write().await?;
    let ending = Ending::Cancelled { rider_id: &rider.account_id };
    let Some(ended) = store::end_pending(&mut tx, &ctx.city.id, id, ending, now).await? else {
        let found = store::rider_redemption(&mut tx, &rider.account_id, id).await?;
        tx.rollback().await?;
        return Err(match found {
            None => DomainError::NotFound("redemption"),
            Some(d) => cancel_refusal(d.redemption.status),
        });
    };
    give_back(ctx, &mut tx, &ended, (Some(&rider.account_id), "rider"), now).await?;
    tx.commit().await?;
    mine_one(ctx, rider, id).await
}

/// What ending a redemption unclaimed gives back, in its transaction: one to the shelf, then the
/// points to the rider (the reward before the rider: the one lock order).
async fn give_back(
    ctx: &RewardsContext,
    tx: &mut sqlx::AnyConnection,
    ended: &RedemptionRow,
    actor: (Option<&str>, &'static str),
    now: Millis,
) -> DomainResult<()> {
    store::put_back(tx, &ended.reward_id).await?;
    ctx.ledger.refund(tx, &ended.rider_id, ended.cost, &ended.id, actor, now).await?;
    Ok(())
}

/// Queues the rider's subscribe message about their redemption: picked up, or expired.
async fn tell_rider(
    ctx: &RewardsContext,
    tx: &mut sqlx::AnyConnection,
    d: &RedemptionRow,
    now: Millis,
) -> DomainResult<()> {
    let (Some(template), Some(status)) = (ctx.notify_template.as_ref(), d.status.news_phrase()) else {
        return Ok(());
    };
    let (reward, place) = store::names(tx, &d.reward_id).await?;
    let news =
        RedemptionNews { redemption_id: &d.id, reward: &reward, status, place: &place, at: now.in_zone(ctx.city.tz) };
    crate::service::notify::queue_redemption_news(tx, template, &ctx.city.id, &d.rider_id, &news).await?;
    Ok(())
}

// ---- at the pickup place ----

/// Who may act on a place's redemptions: a city admin, or a manager of the place (403 for
/// another manager and for clerks); 404 when the city has no such place.
async fn authorize_place(ctx: &RewardsContext, staff: &Staff, place_id: &str) -> DomainResult<()> {
    if crate::store::places::get(&ctx.db, &ctx.city.id, place_id).await?.is_none() {
        return Err(DomainError::NotFound("place"));
    }
    authorize(&ctx.db, staff, place_id).await
}

/// The place's manager (or a city admin) confirms a pickup code: the redemption it names, at this
/// place, waiting and in time, is picked up, once. The rider hears of it in the same transaction.
/// A code unknown here (or of another place) is 404; one picked up before 409 `already_picked_up`;
/// one cancelled or expired 409 `redemption_closed`.
pub async fn confirm_pickup(
    ctx: &RewardsContext,
    staff: &Staff,
    place_id: &str,
    code: &str,
    now: Millis,
) -> DomainResult<RedemptionNamed> {
    authorize_place(ctx, staff, place_id).await?;
    let mut tx = ctx.db.begin_write().await?;
    let Some(picked) = store::confirm(&mut tx, place_id, code, &staff.account_id, now).await? else {
        let found = store::by_code(&mut tx, place_id, code).await?;
        tx.rollback().await?;
        return Err(match found {
            None => DomainError::NotFound("redemption"),
            Some((status, expires_at)) => pickup_refusal(status, expires_at, now),
        });
    };
    tell_rider(ctx, &mut tx, &picked, now).await?;
    let entry = AuditEntry::by(staff, "redemption.pickup", "redemption", &picked.id)
        .with_after(json!({ "reward_id": picked.reward_id, "place_id": picked.place_id }));
    audit::record(&mut *tx, entry).await?;
    let named = store::rider_redemption(&mut tx, &picked.rider_id, &picked.id).await?;
    tx.commit().await?;
    named.ok_or_else(|| DomainError::internal("a picked-up redemption vanished"))
}

/// A place's redemptions (of one status, or all) for its manager or a city admin, newest first.
pub async fn at_place(
    ctx: &RewardsContext,
    staff: &Staff,
    place_id: &str,
    status: Option<RedemptionStatus>,
    before: Option<&str>,
    limit: u32,
) -> DomainResult<Vec<RedemptionNamed>> {
    authorize_place(ctx, staff, place_id).await?;
    store::newest_first(&ctx.db, Whose::Place { place_id, status }, before, limit).await
}

// ---- expiry ----

/// Ends every pending redemption of the city whose pickup window passed by `now` (at most
/// `EXPIRY_BATCH` a run): each in its own transaction, it expires, one goes back on the shelf,
/// the points go back to the rider, and the rider hears of it. Safe on several nodes at once:
/// each redemption ends once, by a conditional statement. Returns how many this run ended.
pub async fn expire_due(ctx: &RewardsContext, now: Millis) -> DomainResult<usize> {
    let mut expired = 0;
    for id in store::due(&ctx.db, &ctx.city.id, now, EXPIRY_BATCH).await? {
        let mut tx = ctx.db.begin_write().await?;
        let Some(ended) = store::end_pending(&mut tx, &ctx.city.id, &id, Ending::Expired, now).await? else {
            // Cancelled, picked up or expired by another node meanwhile.
            tx.rollback().await?;
            continue;
        };
        give_back(ctx, &mut tx, &ended, (None, "system"), now).await?;
        tell_rider(ctx, &mut tx, &ended, now).await?;
        tx.commit().await?;
        expired += 1;
    }
    Ok(expired)
}

/// The background task: every `EXPIRY_EVERY`, expires what is due.
pub fn spawn_background(ctx: RewardsContext) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + EXPIRY_EVERY, EXPIRY_EVERY);
        loop {
            tick.tick().await;
            match expire_due(&ctx, Millis::now()).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(expired = n, "redemptions expired and refunded"),
                Err(e) => tracing::warn!(error = %crate::domain::error::ErrorChain(&e), "redemption expiry failed"),
            }
        }
    })
}

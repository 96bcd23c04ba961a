//! The points supermarket (积分超市): rewards a station or the city offers for points, and the
//! redemptions riders make of them. What a reward's terms may be, when a reward can be redeemed,
//! and why a redemption cannot be picked up or cancelled. Pure: "now" comes in as a parameter.

use super::error::ErrorCode;
use super::geo::Gcj02;
use super::named_enum::named_enum;
use super::time::Millis;
use super::{DomainError, DomainResult};

named_enum!(
    /// Who offers a reward: the station where it is picked up (its manager), or the city.
    OfferedBy, "offered_by" {
        Station = "station",
        City = "city",
    }
);

named_enum!(
    /// Where a redemption is in its life: it waits for pickup, then is picked up, cancelled by
    /// its rider, or expires unclaimed. Cancelled and expired redemptions were refunded.
    RedemptionStatus, "status" {
        Pending = "pending",
        PickedUp = "picked_up",
        Cancelled = "cancelled",
        Expired = "expired",
    }
);

impl RedemptionStatus {
    /// The status as the rider's subscribe message says it (WeChat's `phrase`, 5 characters at
    /// most); none for what the rider did themselves.
    pub fn news_phrase(self) -> Option<&'static str> {
        match self {
            RedemptionStatus::PickedUp => Some("已领取"),
            RedemptionStatus::Expired => Some("已过期"),
            RedemptionStatus::Pending | RedemptionStatus::Cancelled => None,
        }
    }
}

/// The most a reward may cost, and the most it may have in stock.
pub const MAX_COST: i64 = 100_000;
pub const MAX_STOCK: i64 = 100_000;
/// How long a redemption may wait for pickup: an hour to 30 days.
pub const MIN_PICKUP_SECS: i64 = 3_600;
pub const MAX_PICKUP_SECS: i64 = 30 * 86_400;
/// Characters in a reward's name and description.
pub const NAME_MAX_CHARS: usize = 50;
pub const DESCRIPTION_MAX_CHARS: usize = 1_000;

/// What a reward offers and on which terms: everything about it but where it is picked up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RewardTerms {
    pub name: String,
    pub description: String,
    /// A photo the offering staff uploaded (a media id).
    pub photo_media_id: Option<String>,
    pub cost: i64,
    pub stock: i64,
    pub valid_from: Millis,
    pub valid_until: Millis,
    /// How long a redemption waits for pickup before it expires and is refunded.
    pub pickup_secs: i64,
}

impl RewardTerms {
    /// The terms with their texts trimmed, or the first rule they break, naming the field.
    pub fn checked(self) -> DomainResult<RewardTerms> {
        let name = self.name.trim().to_string();
        if name.is_empty() || name.chars().count() > NAME_MAX_CHARS {
            return Err(DomainError::invalid("name", format!("1 to {NAME_MAX_CHARS} characters")));
        }
        let description = self.description.trim().to_string();
        if description.chars().count() > DESCRIPTION_MAX_CHARS {
            return Err(DomainError::invalid("description", format!("at most {DESCRIPTION_MAX_CHARS} characters")));
        }
        if !(1..=MAX_COST).contains(&self.cost) {
            return Err(DomainError::invalid("cost", format!("1 to {MAX_COST}")));
        }
        if !(0..=MAX_STOCK).contains(&self.stock) {
            return Err(DomainError::invalid("stock", format!("0 to {MAX_STOCK}")));
        }
        if !(MIN_PICKUP_SECS..=MAX_PICKUP_SECS).contains(&self.pickup_secs) {
            return Err(DomainError::invalid("pickup_secs", format!("{MIN_PICKUP_SECS} to {MAX_PICKUP_SECS}")));
        }
        if self.valid_until <= self.valid_from {
            return Err(DomainError::invalid("valid_until", "after valid_from"));
        }
        let photo_media_id = self.photo_media_id.map(|p| p.trim().to_string()).filter(|p| !p.is_empty());
        Ok(RewardTerms { name, description, photo_media_id, ..self })
    }
}

/// What decides whether a reward can be redeemed now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Availability {
    pub withdrawn: bool,
    pub valid_from: Millis,
    pub valid_until: Millis,
    /// The pickup place is still there (not removed).
    pub place_active: bool,
    pub stock: i64,
}

impl Availability {
    /// Offered now: not withdrawn, inside its validity window, at a place that is still there
    /// (whatever its stock).
    pub fn is_open(&self, now: Millis) -> bool {
        !self.withdrawn && self.place_active && self.valid_from <= now && now < self.valid_until
    }

    /// Why a redemption now is refused: 409 `reward_closed` or `out_of_stock`; none when it is not.
    pub fn refusal(&self, now: Millis) -> Option<DomainError> {
        if !self.is_open(now) {
            return Some(DomainError::conflict(ErrorCode::RewardClosed, "the reward is not offered now"));
        }
        (self.stock <= 0).then(|| DomainError::conflict(ErrorCode::OutOfStock, "the reward is out of stock"))
    }
}

/// The refusal of a redemption the rider's balance does not cover.
pub fn insufficient_points(cost: i64) -> DomainError {
    DomainError::conflict(ErrorCode::InsufficientPoints, format!("the reward costs {cost} points, more than you have"))
}

/// Why a redemption in `status` (waiting until `expires_at`) cannot be picked up at `now`.
pub fn pickup_refusal(status: RedemptionStatus, expires_at: Millis, now: Millis) -> DomainError {
    match status {
        RedemptionStatus::PickedUp => {
            DomainError::conflict(ErrorCode::AlreadyPickedUp, "this code was picked up already")
        }
        RedemptionStatus::Pending if now < expires_at => {
            DomainError::internal("a pending redemption in time was refused for pickup")
        }
        _ => DomainError::conflict(ErrorCode::RedemptionClosed, "the redemption was cancelled or has expired"),
    }
}

/// Why a redemption in `status` cannot be cancelled (only pending ones can).
pub fn cancel_refusal(status: RedemptionStatus) -> DomainError {
    match status {
        RedemptionStatus::PickedUp => {
            DomainError::conflict(ErrorCode::AlreadyPickedUp, "the reward was picked up already")
        }
        RedemptionStatus::Pending => DomainError::internal("a pending redemption was refused for cancelling"),
        _ => DomainError::conflict(ErrorCode::RedemptionClosed, "the redemption was cancelled or has expired"),
    }
}

// ---- records ----

/// A reward as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct RewardRow {
    pub id: String,
    pub city_id: String,
    pub offered_by: OfferedBy,
    pub place_id: String,
    pub terms: RewardTerms,
    pub withdrawn: bool,
    pub created_by: String,
    pub created_at: Millis,
    pub updated_at: Millis,
}

/// Where a reward is picked up.
#[derive(Debug, Clone, PartialEq)]
pub struct PickupPlace {
    pub id: String,
    pub name: String,
    pub address: String,
    pub location: Gcj02,
    /// Not removed.
    pub active: bool,
}

/// A reward with its pickup place.
#[derive(Debug, Clone, PartialEq)]
pub struct RewardAt {
    pub reward: RewardRow,
    pub place: PickupPlace,
}

impl RewardAt {
    pub fn availability(&self) -> Availability {
        let t = &self.reward.terms;
        Availability {
            withdrawn: self.reward.withdrawn,
            valid_from: t.valid_from,
            valid_until: t.valid_until,
            place_active: self.place.active,
            stock: t.stock,
        }
    }
}

/// A redemption as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedemptionRow {
    pub id: String,
    pub city_id: String,
    pub reward_id: String,
    pub rider_id: String,
    pub place_id: String,
    pub cost: i64,
    pub code: String,
    pub status: RedemptionStatus,
    pub expires_at: Millis,
    pub created_at: Millis,
    pub picked_up_at: Option<Millis>,
    pub confirmed_by: Option<String>,
    pub ended_at: Option<Millis>,
}

/// A redemption with the names its views show: the reward's, and the pickup place's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedemptionNamed {
    pub redemption: RedemptionRow,
    pub reward_name: String,
    pub place_name: String,
    pub place_address: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3_600;

    fn terms() -> RewardTerms {
        RewardTerms {
            name: " 矿泉水一箱 ".into(),
            description: "".into(),
            photo_media_id: Some(" ".into()),
            cost: 30,
            stock: 10,
            valid_from: Millis(0),
            valid_until: Millis(0).plus_secs(30 * 86_400),
            pickup_secs: 3 * 86_400,
        }
    }

    fn field_of(err: DomainError) -> String {
        match err {
            DomainError::Invalid { field, .. } => field,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn terms_are_trimmed_and_a_blank_photo_is_none() {
        let t = terms().checked().unwrap();
        assert_eq!((t.name.as_str(), t.photo_media_id), ("矿泉水一箱", None));
    }

    #[test]
    fn terms_out_of_range_name_their_field() {
        let cases = [
            (RewardTerms { name: "  ".into(), ..terms() }, "name"),
            (RewardTerms { name: "奖".repeat(51), ..terms() }, "name"),
            (RewardTerms { cost: 0, ..terms() }, "cost"),
            (RewardTerms { stock: -1, ..terms() }, "stock"),
            (RewardTerms { pickup_secs: HOUR - 1, ..terms() }, "pickup_secs"),
            (RewardTerms { valid_until: Millis(0), ..terms() }, "valid_until"),
        ];
        for (t, field) in cases {
            assert_eq!(field_of(t.checked().unwrap_err()), field);
        }
    }

    fn code_of(err: Option<DomainError>) -> Option<ErrorCode> {
        err.map(|e| match e {
            DomainError::Conflict { code, .. } => code,
            other => panic!("{other:?}"),
        })
    }

    #[test]
    fn a_reward_is_closed_outside_its_window_withdrawn_or_without_its_place_and_else_may_be_out_of_stock() {
        let open = Availability {
            withdrawn: false,
            valid_from: Millis(1_000),
            valid_until: Millis(2_000),
            place_active: true,
            stock: 1,
        };
        assert_eq!(code_of(open.refusal(Millis(1_000))), None);
        assert_eq!(code_of(open.refusal(Millis(999))), Some(ErrorCode::RewardClosed));
        assert_eq!(code_of(open.refusal(Millis(2_000))), Some(ErrorCode::RewardClosed));
        assert_eq!(
            code_of(Availability { withdrawn: true, ..open }.refusal(Millis(1_500))),
            Some(ErrorCode::RewardClosed)
        );
        assert_eq!(
            code_of(Availability { place_active: false, ..open }.refusal(Millis(1_500))),
            Some(ErrorCode::RewardClosed)
        );
        assert_eq!(code_of(Availability { stock: 0, ..open }.refusal(Millis(1_500))), Some(ErrorCode::OutOfStock));
        assert_eq!(
            code_of(Availability { stock: 0, withdrawn: true, ..open }.refusal(Millis(1_500))),
            Some(ErrorCode::RewardClosed),
            "closed says more than out of stock"
        );
    }

    #[test]
    fn a_code_is_picked_up_once_and_never_after_it_closed() {
        let expires = Millis(10_000);
        let code = |e: DomainError| code_of(Some(e)).unwrap();
        assert_eq!(code(pickup_refusal(RedemptionStatus::PickedUp, expires, Millis(0))), ErrorCode::AlreadyPickedUp);
        assert_eq!(code(pickup_refusal(RedemptionStatus::Cancelled, expires, Millis(0))), ErrorCode::RedemptionClosed);
        assert_eq!(code(pickup_refusal(RedemptionStatus::Expired, expires, Millis(0))), ErrorCode::RedemptionClosed);
        assert_eq!(code(pickup_refusal(RedemptionStatus::Pending, expires, expires)), ErrorCode::RedemptionClosed);
        assert_eq!(code(cancel_refusal(RedemptionStatus::PickedUp)), ErrorCode::AlreadyPickedUp);
        assert_eq!(code(cancel_refusal(RedemptionStatus::Cancelled)), ErrorCode::RedemptionClosed);
    }
}

//! The points supermarket: rewards and their redemptions. Stock and a redemption's status change
//! only by conditional statements checked by rows affected, in the caller's transaction; the
//! service takes the reward (or the redemption) before it posts to the ledger, which holds the
//! rider: one lock order everywhere.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::Db;
use crate::domain::DomainResult;
use crate::domain::geo::Gcj02;
use crate::domain::rewards::{
    PickupPlace, RedemptionNamed, RedemptionRow, RedemptionStatus, RewardAt, RewardRow, RewardTerms,
};
use crate::domain::time::Millis;

const REWARD_COLUMNS: &str = "r.id, r.city_id, r.offered_by, r.place_id, r.name, r.description, r.photo_media_id, \
     r.cost, r.stock, r.valid_from, r.valid_until, r.pickup_secs, r.withdrawn, r.created_by, r.created_at, \
     r.updated_at, p.name AS place_name, p.address AS place_address, p.lat AS place_lat, p.lng AS place_lng, \
     p.status AS place_status";

fn reward_at(r: &AnyRow) -> DomainResult<RewardAt> {
    let reward = RewardRow {
        id: r.try_get("id")?,
        city_id: r.try_get("city_id")?,
        offered_by: r.try_get::<String, _>("offered_by")?.parse()?,
        place_id: r.try_get("place_id")?,
        terms: RewardTerms {
            name: r.try_get("name")?,
            description: r.try_get("description")?,
            photo_media_id: r.try_get("photo_media_id")?,
            cost: r.try_get("cost")?,
            stock: r.try_get("stock")?,
            valid_from: Millis(r.try_get("valid_from")?),
            valid_until: Millis(r.try_get("valid_until")?),
            pickup_secs: r.try_get("pickup_secs")?,
        },
        withdrawn: r.try_get::<i32, _>("withdrawn")? == 1,
        created_by: r.try_get("created_by")?,
        created_at: Millis(r.try_get("created_at")?),
        updated_at: Millis(r.try_get("updated_at")?),
    };
    let place = PickupPlace {
        id: reward.place_id.clone(),
        name: r.try_get("place_name")?,
        address: r.try_get("place_address")?,
        location: Gcj02::new(r.try_get("place_lat")?, r.try_get("place_lng")?)?,
        active: r.try_get::<String, _>("place_status")? != "removed",
    };
    Ok(RewardAt { reward, place })
}

pub async fn insert(conn: &mut AnyConnection, r: &RewardRow) -> DomainResult<()> {
    let t = &r.terms;
    sqlx::query(
        "INSERT INTO rewards (id, city_id, offered_by, place_id, name, description, photo_media_id, cost, stock, \
         valid_from, valid_until, pickup_secs, withdrawn, created_by, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
    )
    .bind(&r.id)
    .bind(&r.city_id)
    .bind(r.offered_by.as_str())
    .bind(&r.place_id)
    .bind(&t.name)
    .bind(&t.description)
    .bind(t.photo_media_id.as_deref())
    .bind(t.cost)
    .bind(t.stock)
    .bind(t.valid_from.0)
    .bind(t.valid_until.0)
    .bind(t.pickup_secs)
    .bind(super::bool_to_int(r.withdrawn))
    .bind(&r.created_by)
    .bind(r.created_at.0)
    .bind(r.updated_at.0)
    .execute(conn)
    .await?;
    Ok(())
}

/// Writes a reward's terms and whether it is withdrawn. The caller holds the reward (`hold`), so
/// no redemption moved its stock since it was read.
pub async fn update(conn: &mut AnyConnection, r: &RewardRow) -> DomainResult<()> {
    let t = &r.terms;
    sqlx::query(
        "UPDATE rewards SET name = $2, description = $3, photo_media_id = $4, cost = $5, stock = $6, \
         valid_from = $7, valid_until = $8, pickup_secs = $9, withdrawn = $10, updated_at = $11 WHERE id = $1",
    )
    .bind(&r.id)
    .bind(&t.name)
    .bind(&t.description)
    .bind(t.photo_media_id.as_deref())
    .bind(t.cost)
    .bind(t.stock)
    .bind(t.valid_from.0)
    .bind(t.valid_until.0)
    .bind(t.pickup_secs)
    .bind(super::bool_to_int(r.withdrawn))
    .bind(r.updated_at.0)
    .execute(conn)
    .await?;
    Ok(())
}

/// Holds a reward of the city until the transaction ends (a row lock on PostgreSQL; SQLite's
/// write transactions are one at a time already) and reads it; none when there is no such reward.
pub async fn hold(conn: &mut AnyConnection, city_id: &str, id: &str) -> DomainResult<Option<RewardAt>> {
    let held = sqlx::query("UPDATE rewards SET stock = stock WHERE id = $1 AND city_id = $2")
        .bind(id)
        .bind(city_id)
        .execute(&mut *conn)
        .await?;
    if held.rows_affected() == 0 {
        return Ok(None);
    }
    get_in(conn, city_id, id).await
}

/// A reward of the city with its pickup place.
pub async fn get_in(conn: &mut AnyConnection, city_id: &str, id: &str) -> DomainResult<Option<RewardAt>> {
    let sql = format!(
        "SELECT {REWARD_COLUMNS} FROM rewards r JOIN places p ON p.id = r.place_id WHERE r.id = $1 AND r.city_id = $2"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).bind(city_id).fetch_optional(conn).await?;
    row.as_ref().map(reward_at).transpose()
}

pub async fn get(db: &Db, city_id: &str, id: &str) -> DomainResult<Option<RewardAt>> {
    let mut conn = db.pool.acquire().await?;
    get_in(&mut conn, city_id, id).await
}

/// The city's rewards offered at `now` (not withdrawn, inside their window, at a place still
/// there), in id order, at most `limit`.
pub async fn open(db: &Db, city_id: &str, now: Millis, limit: u32) -> DomainResult<Vec<RewardAt>> {
    let sql = format!(
        "SELECT {REWARD_COLUMNS} FROM rewards r JOIN places p ON p.id = r.place_id \
         WHERE r.city_id = $1 AND r.withdrawn = 0 AND r.valid_from <= $2 AND r.valid_until > $2 \
         AND p.status <> 'removed' ORDER BY r.id LIMIT $3"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(city_id)
        .bind(now.0)
        .bind(i64::from(limit))
        .fetch_all(&db.pool)
        .await?;
    rows.iter().map(reward_at).collect()
}

/// What a redemption takes from its reward when one is taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Taken {
    pub place_id: String,
    pub cost: i64,
    pub pickup_secs: i64,
}

/// Takes one of a reward's stock if it is offered at `now` and has any left: one conditional
/// statement. None when it is not (the caller reads why).
pub async fn take_one(conn: &mut AnyConnection, city_id: &str, id: &str, now: Millis) -> DomainResult<Option<Taken>> {
    let row = sqlx::query(
        "UPDATE rewards SET stock = stock - 1 WHERE id = $1 AND city_id = $2 AND stock > 0 AND withdrawn = 0 \
         AND valid_from <= $3 AND valid_until > $3 \
         AND EXISTS (SELECT 1 FROM places p WHERE p.id = rewards.place_id AND p.status <> 'removed') \
         RETURNING place_id, cost, pickup_secs",
    )
    .bind(id)
    .bind(city_id)
    .bind(now.0)
    .fetch_optional(conn)
    .await?;
    row.map(|r| {
        Ok(Taken { place_id: r.try_get("place_id")?, cost: r.try_get("cost")?, pickup_secs: r.try_get("pickup_secs")? })
    })
    .transpose()
}

/// Puts one back on a reward's shelf (a redemption cancelled or expired).
pub async fn put_back(conn: &mut AnyConnection, id: &str) -> DomainResult<()> {
    sqlx::query("UPDATE rewards SET stock = stock + 1 WHERE id = $1").bind(id).execute(conn).await?;
    Ok(())
}

// ---- redemptions ----

const REDEMPTION_COLUMNS: &str = "id, city_id, reward_id, rider_id, place_id, cost, code, status, expires_at, created_at, picked_up_at, \
     confirmed_by, ended_at";

fn redemption(r: &AnyRow) -> DomainResult<RedemptionRow> {
    Ok(RedemptionRow {
        id: r.try_get("id")?,
        city_id: r.try_get("city_id")?,
        reward_id: r.try_get("reward_id")?,
        rider_id: r.try_get("rider_id")?,
        place_id: r.try_get("place_id")?,
        cost: r.try_get("cost")?,
        code: r.try_get("code")?,
        status: r.try_get::<String, _>("status")?.parse()?,
        expires_at: Millis(r.try_get("expires_at")?),
        created_at: Millis(r.try_get("created_at")?),
        picked_up_at: r.try_get::<Option<i64>, _>("picked_up_at")?.map(Millis),
        confirmed_by: r.try_get("confirmed_by")?,
        ended_at: r.try_get::<Option<i64>, _>("ended_at")?.map(Millis),
    })
}

const NAMED_SELECT: &str = "SELECT d.id, d.city_id, d.reward_id, d.rider_id, d.place_id, d.cost, d.code, d.status, \
     d.expires_at, d.created_at, d.picked_up_at, d.confirmed_by, d.ended_at, r.name AS reward_name, \
     p.name AS place_name, p.address AS place_address \
     FROM redemptions d JOIN rewards r ON r.id = d.reward_id JOIN places p ON p.id = d.place_id";

fn named(r: &AnyRow) -> DomainResult<RedemptionNamed> {
    Ok(RedemptionNamed {
        redemption: redemption(r)?,
        reward_name: r.try_get("reward_name")?,
        place_name: r.try_get("place_name")?,
        place_address: r.try_get("place_address")?,
    })
}

/// Inserts a redemption unless its pickup code is taken; false then, and nothing is written
/// (a transaction on PostgreSQL goes on: no statement failed).
pub async fn insert_redemption(conn: &mut AnyConnection, d: &RedemptionRow) -> DomainResult<bool> {
    let done = sqlx::query(
        "INSERT INTO redemptions (id, city_id, reward_id, rider_id, place_id, cost, code, status, expires_at, \
         created_at, picked_up_at, confirmed_by, ended_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) ON CONFLICT (code) DO NOTHING",
    )
    .bind(&d.id)
    .bind(&d.city_id)
    .bind(&d.reward_id)
    .bind(&d.rider_id)
    .bind(&d.place_id)
    .bind(d.cost)
    .bind(&d.code)
    .bind(d.status.as_str())
    .bind(d.expires_at.0)
    .bind(d.created_at.0)
    .bind(d.picked_up_at.map(|m| m.0))
    .bind(d.confirmed_by.as_deref())
    .bind(d.ended_at.map(|m| m.0))
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// How a pending redemption ends without being picked up.
#[derive(Debug, Clone, Copy)]
pub enum Ending<'a> {
    /// Its rider cancels it.
    Cancelled { rider_id: &'a str },
    /// Its pickup window has passed.
    Expired,
}

/// Ends a pending redemption of the city, one conditional statement: cancelled by its rider, or
/// expired once its window has passed. None when it is not pending (or not theirs, or not due).
pub async fn end_pending(
    conn: &mut AnyConnection,
    city_id: &str,
    id: &str,
    ending: Ending<'_>,
    now: Millis,
) -> DomainResult<Option<RedemptionRow>> {
    let (status, rider_id, due_by) = match ending {
        Ending::Cancelled { rider_id } => (RedemptionStatus::Cancelled, rider_id, i64::MAX),
        Ending::Expired => (RedemptionStatus::Expired, "", now.0),
    };
    let sql = format!(
        "UPDATE redemptions SET status = $3, ended_at = $4 WHERE id = $1 AND city_id = $2 AND status = 'pending' \
         AND ($5 = '' OR rider_id = $5) AND expires_at <= $6 RETURNING {REDEMPTION_COLUMNS}"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(city_id)
        .bind(status.as_str())
        .bind(now.0)
        .bind(rider_id)
        .bind(due_by)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(redemption).transpose()
}

/// Confirms the pending, unexpired redemption with this code at this place as picked up by
/// `staff_id`: one conditional statement. None when there is none such.
pub async fn confirm(
    conn: &mut AnyConnection,
    place_id: &str,
    code: &str,
    staff_id: &str,
    now: Millis,
) -> DomainResult<Option<RedemptionRow>> {
    let sql = format!(
        "UPDATE redemptions SET status = 'picked_up', picked_up_at = $4, ended_at = $4, confirmed_by = $3 \
         WHERE code = $1 AND place_id = $2 AND status = 'pending' AND expires_at > $4 RETURNING {REDEMPTION_COLUMNS}"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(code)
        .bind(place_id)
        .bind(staff_id)
        .bind(now.0)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(redemption).transpose()
}

/// The status and expiry of the redemption with this code at this place, if any.
pub async fn by_code(
    conn: &mut AnyConnection,
    place_id: &str,
    code: &str,
) -> DomainResult<Option<(RedemptionStatus, Millis)>> {
    let row = sqlx::query("SELECT status, expires_at FROM redemptions WHERE code = $1 AND place_id = $2")
        .bind(code)
        .bind(place_id)
        .fetch_optional(conn)
        .await?;
    row.map(|r| Ok((r.try_get::<String, _>("status")?.parse()?, Millis(r.try_get("expires_at")?)))).transpose()
}

/// One of a rider's redemptions, with its names.
pub async fn rider_redemption(
    conn: &mut AnyConnection,
    rider_id: &str,
    id: &str,
) -> DomainResult<Option<RedemptionNamed>> {
    let sql = format!("{NAMED_SELECT} WHERE d.id = $1 AND d.rider_id = $2");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).bind(rider_id).fetch_optional(conn).await?;
    row.as_ref().map(named).transpose()
}

/// Whose redemptions a list holds.
#[derive(Debug, Clone, Copy)]
pub enum Whose<'a> {
    /// A rider's.
    Rider(&'a str),
    /// Those picked up at a place: of one status, or all.
    Place { place_id: &'a str, status: Option<RedemptionStatus> },
}

/// Redemptions, newest first: at most `limit` before the redemption `before`.
pub async fn newest_first(
    db: &Db,
    whose: Whose<'_>,
    before: Option<&str>,
    limit: u32,
) -> DomainResult<Vec<RedemptionNamed>> {
    let (column, owner, status) = match whose {
        Whose::Rider(rider_id) => ("rider_id", rider_id, None),
        Whose::Place { place_id, status } => ("place_id", place_id, status),
    };
    let sql = format!(
        "{NAMED_SELECT} WHERE d.{column} = $1 AND ($2 = '' OR d.status = $2) AND ($3 = '' OR d.id < $3) \
         ORDER BY d.id DESC LIMIT $4"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(owner)
        .bind(status.map(RedemptionStatus::as_str).unwrap_or(""))
        .bind(before.unwrap_or(""))
        .bind(i64::from(limit))
        .fetch_all(&db.pool)
        .await?;
    rows.iter().map(named).collect()
}

/// Pending redemptions of the city whose window passed by `now`, earliest first, at most `limit`.
pub async fn due(db: &Db, city_id: &str, now: Millis, limit: u32) -> DomainResult<Vec<String>> {
    let rows = sqlx::query(
        "SELECT id FROM redemptions WHERE status = 'pending' AND expires_at <= $2 AND city_id = $1 \
         ORDER BY expires_at, id LIMIT $3",
    )
    .bind(city_id)
    .bind(now.0)
    .bind(i64::from(limit))
    .fetch_all(&db.pool)
    .await?;
    rows.iter().map(|r| Ok(r.try_get("id")?)).collect()
}

/// The names a redemption's message says: the reward's and the pickup place's.
pub async fn names(conn: &mut AnyConnection, reward_id: &str) -> DomainResult<(String, String)> {
    let row = sqlx::query(
        "SELECT r.name AS reward_name, p.name AS place_name FROM rewards r JOIN places p ON p.id = r.place_id \
         WHERE r.id = $1",
    )
    .bind(reward_id)
    .fetch_one(conn)
    .await?;
    Ok((row.try_get("reward_name")?, row.try_get("place_name")?))
}

//! Places, their managers and riders' check-ins.

use futures_util::TryStreamExt;
use sqlx::any::AnyRow;
use sqlx::{Any, AssertSqlSafe, Row, Transaction};

use super::{Db, bool_to_int, fetch_in, is_unique_violation, new_id};
use crate::domain::geo::{Bbox, Gcj02};
use crate::domain::hours::OpeningHours;
use crate::domain::identity::Role;
use crate::domain::places::{
    AmenitySet, CheckinRecord, PlaceChangeRecord, PlaceDraft, PlaceKind, PlacePin, PlaceRecord, PlaceStatus, StatusKind,
};
use crate::domain::time::Millis;
use crate::domain::{DomainError, DomainResult};

macro_rules! select_places {
    ($rest:literal) => {
        concat!(
            "SELECT id, city_id, kind, name, address, lat, lng, geohash, host_org, contact_phone, photos_json, \
             amenity_bits, hours, status, status_reason, status_until, capacity, max_stay_minutes, \
             entry_instructions, last_confirmed_at, version, created_at, updated_at FROM places ",
            $rest
        )
    };
}

/// `SELECT id, name, <packed> FROM places <rest>`: what the index needs, with the small fields
/// joined into one text by the database (`kind,amenity_bits,status,status_until,last_confirmed_at,
/// version,lat,lng,hours`). One column instead of nine makes a cold load of 1M places about 40%
/// faster through the `Any` driver; `pin_from_row` splits it again.
macro_rules! select_pins {
    ($rest:literal) => {
        concat!(
            "SELECT id, name, kind || ',' || amenity_bits || ',' || status || ',' || \
             COALESCE(CAST(status_until AS TEXT), '') || ',' || COALESCE(CAST(last_confirmed_at AS TEXT), '') || ',' || \
             version || ',' || lat || ',' || lng || ',' || hours AS packed FROM places ",
            $rest
        )
    };
}

fn corrupt(what: &str) -> DomainError {
    DomainError::internal(format!("stored place has a bad {what}"))
}

fn from_row(r: &AnyRow) -> DomainResult<PlaceRecord> {
    let kind: PlaceKind = r.try_get::<String, _>("kind")?.parse()?;
    let hours: OpeningHours = r.try_get::<String, _>("hours")?.parse().map_err(|_| corrupt("hours"))?;
    let photos: Vec<String> =
        serde_json::from_str(&r.try_get::<String, _>("photos_json")?).map_err(|_| corrupt("photo list"))?;
    let status_kind: StatusKind = r.try_get::<String, _>("status")?.parse()?;
    let status = match status_kind {
        StatusKind::Open => PlaceStatus::Open,
        StatusKind::Full => PlaceStatus::Full,
        StatusKind::Removed => PlaceStatus::Removed,
        StatusKind::TemporarilyClosed => PlaceStatus::TemporarilyClosed {
            reason: r.try_get::<Option<String>, _>("status_reason")?.unwrap_or_default(),
            until: r.try_get::<Option<i64>, _>("status_until")?.map(Millis),
        },
    };
    Ok(PlaceRecord {
        id: r.try_get("id")?,
        city_id: r.try_get("city_id")?,
        draft: PlaceDraft {
            kind,
            name: r.try_get("name")?,
            address: r.try_get("address")?,
            location: Gcj02::new(r.try_get("lat")?, r.try_get("lng")?).map_err(|_| corrupt("location"))?,
            host_org: r.try_get("host_org")?,
            contact_phone: r.try_get("contact_phone")?,
            photos,
            amenities: AmenitySet::from_bits(r.try_get("amenity_bits")?),
            hours,
            capacity: r.try_get("capacity")?,
            max_stay_minutes: r.try_get("max_stay_minutes")?,
            entry_instructions: r.try_get("entry_instructions")?,
        },
        geohash: r.try_get("geohash")?,
        status,
        last_confirmed_at: r.try_get::<Option<i64>, _>("last_confirmed_at")?.map(Millis),
        version: r.try_get("version")?,
        created_at: Millis(r.try_get("created_at")?),
        updated_at: Millis(r.try_get("updated_at")?),
    })
}

fn pin_from_row(r: &AnyRow) -> DomainResult<PlacePin> {
    let packed: String = r.try_get("packed")?;
    let mut parts = packed.splitn(9, ',');
    let mut next = |what: &str| parts.next().ok_or_else(|| corrupt(what));
    let (kind, bits, status, until, confirmed, version, lat, lng, hours) = (
        next("kind")?,
        next("amenities")?,
        next("status")?,
        next("status_until")?,
        next("last_confirmed_at")?,
        next("version")?,
        next("lat")?,
        next("lng")?,
        next("hours")?,
    );
    let int = |v: &str, what: &str| v.parse::<i64>().map_err(|_| corrupt(what));
    let millis = |v: &str, what: &str| if v.is_empty() { Ok(None) } else { int(v, what).map(|m| Some(Millis(m))) };
    let float = |v: &str, what: &str| v.parse::<f64>().map_err(|_| corrupt(what));
    Ok(PlacePin {
        id: r.try_get("id")?,
        kind: kind.parse()?,
        name: r.try_get("name")?,
        location: Gcj02::new(float(lat, "lat")?, float(lng, "lng")?).map_err(|_| corrupt("location"))?,
        amenities: AmenitySet::from_bits(int(bits, "amenities")?),
        hours_text: hours.to_string(),
        status: status.parse()?,
        status_until: millis(until, "status_until")?,
        last_confirmed_at: millis(confirmed, "last_confirmed_at")?,
        version: int(version, "version")?,
    })
}

/// Bumps the change counter and returns the new version. Call it first in a writing
/// transaction: on PostgreSQL the row lock orders concurrent writers, so versions become visible
/// in order and a reader of `version > known` misses none.
pub async fn next_version(tx: &mut Transaction<'static, Any>) -> DomainResult<i64> {
    let row = sqlx::query("UPDATE place_version SET v = v + 1 WHERE id = 1 RETURNING v").fetch_one(&mut **tx).await?;
    Ok(row.try_get("v")?)
}

pub async fn current_version(db: &Db) -> DomainResult<i64> {
    let row = sqlx::query("SELECT v FROM place_version WHERE id = 1").fetch_one(&db.pool).await?;
    Ok(row.try_get("v")?)
}

/// Writes a place (insert or full update) stamped with `version`.
pub async fn save(tx: &mut Transaction<'static, Any>, p: &PlaceRecord, insert: bool) -> DomainResult<()> {
    let d = &p.draft;
    let photos = serde_json::to_string(&d.photos).map_err(DomainError::internal)?;
    let sql = if insert {
        "INSERT INTO places (id, city_id, kind, name, address, lat, lng, geohash, host_org, contact_phone, photos_json, \
         amenity_bits, hours, status, status_reason, status_until, capacity, max_stay_minutes, entry_instructions, \
         last_confirmed_at, version, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23)"
    } else {
        "UPDATE places SET kind = $3, name = $4, address = $5, lat = $6, lng = $7, geohash = $8, host_org = $9, \
         contact_phone = $10, photos_json = $11, amenity_bits = $12, hours = $13, status = $14, status_reason = $15, \
         status_until = $16, capacity = $17, max_stay_minutes = $18, entry_instructions = $19, last_confirmed_at = $20, \
         version = $21, created_at = $22, updated_at = $23 WHERE id = $1 AND city_id = $2"
    };
    sqlx::query(sql)
        .bind(&p.id)
        .bind(&p.city_id)
        .bind(d.kind.as_str())
        .bind(&d.name)
        .bind(&d.address)
        .bind(d.location.lat())
        .bind(d.location.lng())
        .bind(&p.geohash)
        .bind(&d.host_org)
        .bind(&d.contact_phone)
        .bind(photos)
        .bind(d.amenities.bits())
        .bind(d.hours.to_string())
        .bind(p.status.kind().as_str())
        .bind(p.status.reason())
        .bind(p.status.until().map(|m| m.0))
        .bind(d.capacity)
        .bind(d.max_stay_minutes)
        .bind(&d.entry_instructions)
        .bind(p.last_confirmed_at.map(|m| m.0))
        .bind(p.version)
        .bind(p.created_at.0)
        .bind(p.updated_at.0)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

pub async fn get(db: &Db, city_id: &str, id: &str) -> DomainResult<Option<PlaceRecord>> {
    let row = sqlx::query(select_places!("WHERE id = $1 AND city_id = $2"))
        .bind(id)
        .bind(city_id)
        .fetch_optional(&db.pool)
        .await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn get_in(tx: &mut Transaction<'static, Any>, city_id: &str, id: &str) -> DomainResult<Option<PlaceRecord>> {
    let row = sqlx::query(select_places!("WHERE id = $1 AND city_id = $2"))
        .bind(id)
        .bind(city_id)
        .fetch_optional(&mut **tx)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Places (not removed) inside the box, in id order after `after`.
pub async fn list_in_bbox(
    db: &Db,
    city_id: &str,
    b: Bbox,
    after: Option<&str>,
    limit: u32,
) -> DomainResult<Vec<PlaceRecord>> {
    let rows = sqlx::query(select_places!(
        "WHERE city_id = $1 AND lat >= $2 AND lat <= $3 AND lng >= $4 AND lng <= $5 AND status <> 'removed' \
         AND id > $6 ORDER BY id LIMIT $7"
    ))
    .bind(city_id)
    .bind(b.min_lat)
    .bind(b.max_lat)
    .bind(b.min_lng)
    .bind(b.max_lng)
    .bind(after.unwrap_or(""))
    .bind(i64::from(limit))
    .fetch_all(&db.pool)
    .await?;
    rows.iter().map(from_row).collect()
}

/// Every place of the city that is not removed, in id order after `after` (for export).
pub async fn list_all(db: &Db, city_id: &str, after: Option<&str>, limit: u32) -> DomainResult<Vec<PlaceRecord>> {
    let rows =
        sqlx::query(select_places!("WHERE city_id = $1 AND status <> 'removed' AND id > $2 ORDER BY id LIMIT $3"))
            .bind(city_id)
            .bind(after.unwrap_or(""))
            .bind(i64::from(limit))
            .fetch_all(&db.pool)
            .await?;
    rows.iter().map(from_row).collect()
}

/// Streams every place that is not removed into `sink`, for the index's cold load. Returns the
/// version the load is complete up to (read first: a write racing the load is re-read later).
pub async fn load_pins(db: &Db, mut sink: impl FnMut(PlacePin)) -> DomainResult<i64> {
    let version = current_version(db).await?;
    let mut rows = sqlx::query(select_pins!("WHERE status <> 'removed'")).fetch(&db.pool);
    while let Some(row) = rows.try_next().await? {
        sink(pin_from_row(&row)?);
    }
    Ok(version)
}

/// Places changed after `version` (removed ones included, so the index drops them).
pub async fn pins_changed_since(db: &Db, version: i64) -> DomainResult<Vec<PlacePin>> {
    let rows =
        sqlx::query(select_pins!("WHERE version > $1 ORDER BY version")).bind(version).fetch_all(&db.pool).await?;
    rows.iter().map(pin_from_row).collect()
}

// ---- managers ----

/// Replaces the managers of a place.
pub async fn set_managers(
    tx: &mut Transaction<'static, Any>,
    city_id: &str,
    place_id: &str,
    account_ids: &[String],
) -> DomainResult<()> {
    sqlx::query("DELETE FROM place_managers WHERE place_id = $1").bind(place_id).execute(&mut **tx).await?;
    if account_ids.is_empty() {
        return Ok(());
    }
    let rows: Vec<String> = (0..account_ids.len()).map(|i| format!("($1, ${}, $2, $3)", i + 4)).collect();
    let sql =
        format!("INSERT INTO place_managers (place_id, account_id, city_id, created_at) VALUES {}", rows.join(", "));
    let mut insert = sqlx::query(AssertSqlSafe(sql)).bind(place_id).bind(city_id).bind(Millis::now().0);
    for account_id in account_ids {
        insert = insert.bind(account_id);
    }
    insert.execute(&mut **tx).await?;
    Ok(())
}

/// The managers of a place, read in the transaction that changes them.
pub async fn managers_of(tx: &mut Transaction<'static, Any>, place_id: &str) -> DomainResult<Vec<String>> {
    let rows = sqlx::query("SELECT account_id FROM place_managers WHERE place_id = $1 ORDER BY account_id")
        .bind(place_id)
        .fetch_all(&mut **tx)
        .await?;
    rows.iter().map(|r| Ok(r.try_get("account_id")?)).collect()
}

/// The managers of a place, by account id.
pub async fn managers(db: &Db, place_id: &str) -> DomainResult<Vec<String>> {
    let rows = sqlx::query("SELECT account_id FROM place_managers WHERE place_id = $1 ORDER BY account_id")
        .bind(place_id)
        .fetch_all(&db.pool)
        .await?;
    rows.iter().map(|r| Ok(r.try_get("account_id")?)).collect()
}

/// Which of `ids` are station manager accounts of the city (one statement for all of them).
pub async fn station_managers_among(db: &Db, city_id: &str, ids: &[String]) -> DomainResult<Vec<String>> {
    let sql = "SELECT id FROM accounts WHERE city_id = $1 AND role = $2 AND id IN ({ids})";
    let rows = fetch_in(db, sql, &[city_id, Role::StationManager.as_str()], ids).await?;
    rows.iter().map(|r| Ok(r.try_get("id")?)).collect()
}

pub async fn is_manager(db: &Db, place_id: &str, account_id: &str) -> DomainResult<bool> {
    let row = sqlx::query("SELECT place_id FROM place_managers WHERE place_id = $1 AND account_id = $2")
        .bind(place_id)
        .bind(account_id)
        .fetch_optional(&db.pool)
        .await?;
    Ok(row.is_some())
}

/// The places a manager keeps, in id order after `after`.
pub async fn managed_by(db: &Db, account_id: &str, after: Option<&str>, limit: u32) -> DomainResult<Vec<PlaceRecord>> {
    let rows = sqlx::query(select_places!(
        "WHERE id IN (SELECT place_id FROM place_managers WHERE account_id = $1) AND id > $2 ORDER BY id LIMIT $3"
    ))
    .bind(account_id)
    .bind(after.unwrap_or(""))
    .bind(i64::from(limit))
    .fetch_all(&db.pool)
    .await?;
    rows.iter().map(from_row).collect()
}

/// The ids of the places a manager keeps.
pub async fn managed_ids(db: &Db, account_id: &str) -> DomainResult<Vec<String>> {
    let rows = sqlx::query("SELECT place_id FROM place_managers WHERE account_id = $1 ORDER BY place_id LIMIT 1000")
        .bind(account_id)
        .fetch_all(&db.pool)
        .await?;
    rows.iter().map(|r| Ok(r.try_get("place_id")?)).collect()
}

// ---- check-ins ----

macro_rules! select_checkins {
    ($rest:literal) => {
        concat!("SELECT id, place_id, rider_id, outcome, amenity, note, created_at FROM place_checkins ", $rest)
    };
}

fn checkin_from_row(r: &AnyRow) -> DomainResult<CheckinRecord> {
    Ok(CheckinRecord {
        id: r.try_get("id")?,
        place_id: r.try_get("place_id")?,
        rider_id: r.try_get("rider_id")?,
        outcome: r.try_get::<String, _>("outcome")?.parse()?,
        amenity: r.try_get::<Option<String>, _>("amenity")?.map(|a| a.parse()).transpose()?,
        note: r.try_get("note")?,
        created_at: Millis(r.try_get("created_at")?),
    })
}

pub const HOUR_MS: i64 = 3_600_000;

/// Inserts a check-in; `Ok(false)` when the rider already has one this clock hour (a race the
/// caller lost) or the idempotency key was used.
pub async fn insert_checkin(
    tx: &mut Transaction<'static, Any>,
    city_id: &str,
    c: &CheckinRecord,
    idempotency_key: Option<&str>,
) -> DomainResult<bool> {
    let result = sqlx::query(
        "INSERT INTO place_checkins (id, city_id, place_id, rider_id, outcome, success, amenity, note, hour_bucket, \
         idempotency_key, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(&c.id)
    .bind(city_id)
    .bind(&c.place_id)
    .bind(&c.rider_id)
    .bind(c.outcome.as_str())
    .bind(bool_to_int(c.outcome.is_success()))
    .bind(c.amenity.map(|a| a.as_str()))
    .bind(&c.note)
    .bind(c.created_at.0 / HOUR_MS)
    .bind(idempotency_key)
    .bind(c.created_at.0)
    .execute(&mut **tx)
    .await;
    match result {
        Err(e) if is_unique_violation(&e) => Ok(false),
        other => other.map(|_| true).map_err(Into::into),
    }
}

pub fn new_checkin_id() -> String {
    new_id()
}

/// The rider's latest check-in at the place since `since`.
pub async fn latest_checkin(
    db: &Db,
    place_id: &str,
    rider_id: &str,
    since: Millis,
) -> DomainResult<Option<CheckinRecord>> {
    let row = sqlx::query(select_checkins!(
        "WHERE place_id = $1 AND rider_id = $2 AND created_at >= $3 ORDER BY created_at DESC LIMIT 1"
    ))
    .bind(place_id)
    .bind(rider_id)
    .bind(since.0)
    .fetch_optional(&db.pool)
    .await?;
    row.as_ref().map(checkin_from_row).transpose()
}

pub async fn checkin_by_key(db: &Db, rider_id: &str, key: &str) -> DomainResult<Option<CheckinRecord>> {
    let row = sqlx::query(select_checkins!("WHERE rider_id = $1 AND idempotency_key = $2"))
        .bind(rider_id)
        .bind(key)
        .fetch_optional(&db.pool)
        .await?;
    row.as_ref().map(checkin_from_row).transpose()
}

/// The latest check-ins at a place.
pub async fn recent_checkins(db: &Db, place_id: &str, limit: u32) -> DomainResult<Vec<CheckinRecord>> {
    let rows = sqlx::query(select_checkins!("WHERE place_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2"))
        .bind(place_id)
        .bind(i64::from(limit))
        .fetch_all(&db.pool)
        .await?;
    rows.iter().map(checkin_from_row).collect()
}

/// Which check-ins a staff list shows.
#[derive(Debug, Clone, Copy)]
pub struct CheckinFilter<'a> {
    /// One place, or every place this manager keeps.
    pub place_id: Option<&'a str>,
    pub manager_id: Option<&'a str>,
    pub failures_only: bool,
}

/// Check-ins newest first (ids are time-ordered), before the cursor id `before`.
pub async fn list_checkins(
    db: &Db,
    city_id: &str,
    f: CheckinFilter<'_>,
    before: Option<&str>,
    limit: u32,
) -> DomainResult<Vec<CheckinRecord>> {
    let rows = sqlx::query(select_checkins!(
        "WHERE city_id = $1 AND ($2 = '' OR place_id = $2) \
         AND ($3 = '' OR place_id IN (SELECT place_id FROM place_managers WHERE account_id = $3)) \
         AND ($4 = 0 OR success = 0) AND ($5 = '' OR id < $5) ORDER BY id DESC LIMIT $6"
    ))
    .bind(city_id)
    .bind(f.place_id.unwrap_or(""))
    .bind(f.manager_id.unwrap_or(""))
    .bind(bool_to_int(f.failures_only))
    .bind(before.unwrap_or(""))
    .bind(i64::from(limit))
    .fetch_all(&db.pool)
    .await?;
    rows.iter().map(checkin_from_row).collect()
}

// ---- history ----

/// The audit trail of one place, oldest first, after the entry id `after`.
pub async fn history(
    db: &Db,
    city_id: &str,
    place_id: &str,
    after: Option<&str>,
    limit: u32,
) -> DomainResult<Vec<PlaceChangeRecord>> {
    let rows = sqlx::query(
        "SELECT id, actor_id, action, before_json, after_json, at FROM audit_log \
         WHERE city_id = $1 AND object_kind = 'place' AND object_id = $2 AND id > $3 ORDER BY id LIMIT $4",
    )
    .bind(city_id)
    .bind(place_id)
    .bind(after.unwrap_or(""))
    .bind(i64::from(limit))
    .fetch_all(&db.pool)
    .await?;
    let json = |v: Option<String>| v.and_then(|s| serde_json::from_str(&s).ok());
    rows.iter()
        .map(|r| {
            Ok(PlaceChangeRecord {
                id: r.try_get("id")?,
                actor_id: r.try_get("actor_id")?,
                action: r.try_get::<String, _>("action")?.parse().map_err(DomainError::internal)?,
                before: json(r.try_get("before_json")?),
                after: json(r.try_get("after_json")?),
                at: Millis(r.try_get("at")?),
            })
        })
        .collect()
}

/// The check-ins `rider_id` made, newest first, at most `limit` (a rider's copy of their data).
pub async fn checkins_by(db: &Db, rider_id: &str, limit: u32) -> DomainResult<Vec<CheckinRecord>> {
    let rows = sqlx::query(select_checkins!("WHERE rider_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2"))
        .bind(rider_id)
        .bind(i64::from(limit))
        .fetch_all(&db.pool)
        .await?;
    rows.iter().map(checkin_from_row).collect()
}

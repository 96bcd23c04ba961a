//! Places: every use case of places, managers and check-ins. Writes keep the database, the audit
//! trail and the in-memory index together (the change and its audit entry in one transaction);
//! reads check who may see what; nearby search walks the index; and the index's load and refresh.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use crate::domain::city::City;
use crate::domain::error::ErrorCode;
use crate::domain::geo::{Gcj02, MapBox};
use crate::domain::hours::OpeningHours;
use crate::domain::identity::{Caller, CityAdmin, Rider, Role, Staff};
use crate::domain::photo_url::{SignedPhoto, UrlSigner};
use crate::domain::places::{
    Amenity, AmenitySet, CheckinOutcome, CheckinRecord, GEOHASH_PRECISION, HitRef, NearbyQuery, PlaceAction,
    PlaceChangeRecord, PlaceDraft, PlaceRecord, PlaceStatus, StatusKind,
};
use crate::domain::report::{PhotoHolders, photo_is_public};
use crate::domain::time::Millis;
use crate::domain::{DomainError, DomainResult};
use crate::index::PlaceIndex;
use crate::service::points::Ledger;
use crate::service::units::RoutingCache;
use crate::store::audit::{self, AuditEntry};
use crate::store::places::{self as store, CheckinFilter};
use crate::store::{Db, new_id};

/// What places need: the database, the city, the in-memory index writes keep fresh, and the
/// signer of place photo URLs.
#[derive(Clone)]
pub struct PlacesContext {
    pub db: Db,
    pub city: Arc<City>,
    pub index: PlaceIndex,
    pub photo_urls: UrlSigner,
    /// Pays points for successful check-ins, in the check-in's transaction.
    pub ledger: Ledger,
    /// Finds the street office whose area a check-in's points count towards.
    pub routing: Arc<RoutingCache>,
}

/// How often each node asks the database for places changed through other nodes.
pub const REFRESH_EVERY: Duration = Duration::from_millis(500);

/// Loads every place into a new index.
pub async fn load_index(db: &Db, tz: chrono_tz::Tz) -> DomainResult<PlaceIndex> {
    let started = std::time::Instant::now();
    let mut builder = PlaceIndex::builder();
    let version = store::load_pins(db, |pin| builder.push(&pin)).await?;
    let read_ms = started.elapsed().as_millis() as u64;
    let index = builder.finish(tz, version);
    let ms = started.elapsed().as_millis() as u64;
    tracing::info!(places = index.len(), ms, read_ms, "place index loaded");
    Ok(index)
}

/// Applies what changed in the database since the index last looked; returns how many places.
pub async fn refresh_index(db: &Db, index: &PlaceIndex) -> DomainResult<usize> {
    let known = index.version();
    let current = store::current_version(db).await?;
    if current <= known {
        return Ok(0);
    }
    let pins = store::pins_changed_since(db, known).await?;
    index.apply(&pins, current);
    Ok(pins.len())
}

/// Keeps `index` fresh until the process ends or the index is dropped.
pub fn spawn_refresher(db: Db, index: &PlaceIndex) {
    let weak = index.downgrade();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(REFRESH_EVERY).await;
            let Some(index) = weak.upgrade() else { break };
            if let Err(e) = refresh_index(&db, &index).await {
                tracing::warn!(error = %crate::domain::error::ErrorChain(&e), "place index refresh failed");
            }
        }
    });
}

/// The state of a place as the audit trail records it.
pub fn audit_json(p: &PlaceRecord) -> Value {
    let d = &p.draft;
    json!({
        "kind": d.kind.as_str(),
        "name": d.name,
        "address": d.address,
        "lat": d.location.lat(),
        "lng": d.location.lng(),
        "coord": "gcj02",
        "host_org": d.host_org,
        "contact_phone": d.contact_phone,
        "photos": d.photos,
        "amenities": d.amenities.iter().map(|a| a.as_str()).collect::<Vec<_>>(),
        "hours": d.hours.to_string(),
        "capacity": d.capacity,
        "max_stay_minutes": d.max_stay_minutes,
        "entry_instructions": d.entry_instructions,
        "status": p.status.kind().as_str(),
        "status_reason": p.status.reason(),
        "status_until": p.status.until().map(|m| m.0),
    })
}

async fn audit_place(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    caller: &Caller,
    action: PlaceAction,
    id: &str,
    before: Option<&PlaceRecord>,
    after: Option<&PlaceRecord>,
) -> DomainResult<()> {
    audit::record(
        &mut **tx,
        AuditEntry {
            city_id: &caller.city_id,
            actor_id: Some(&caller.account_id),
            action: action.as_str(),
            object_kind: "place",
            object_id: id,
            before: before.map(audit_json),
            after: after.map(audit_json),
        },
    )
    .await
}

// ---- riders' reads ----

/// Walks the index nearest first and hands `visit` each place that passes the filters, as it is
/// found and borrowed from the index: no copy and no allocation per place. The index's read lock
/// is held meanwhile, so `visit` should only write the place out.
#[inline]
pub fn nearby(
    index: &PlaceIndex,
    demand: &crate::service::demand::DemandCounter,
    query: &NearbyQuery,
    mut visit: impl FnMut(&HitRef<'_>),
) {
    let now = Millis::now();
    let mut tally = demand.search(query, now);
    index.nearby_each(query, now, |hit| {
        tally.saw(hit);
        visit(hit);
    });
    tally.finish();
}

/// The places (not removed) a map box shows, in id order after `after`, at most `limit`.
pub async fn in_box(
    ctx: &PlacesContext,
    map: &MapBox,
    after: Option<String>,
    limit: u32,
) -> DomainResult<Vec<PlaceRecord>> {
    let mut after = after;
    let mut kept = Vec::new();
    // With a padded WGS-84 box a few rows may fall outside: read on until the page is full.
    loop {
        let rows = store::list_in_bbox(&ctx.db, &ctx.city.id, map.gcj02_cover(), after.as_deref(), limit).await?;
        let done = rows.len() < limit as usize;
        after = rows.last().map(|r| r.id.clone());
        kept.extend(rows.into_iter().filter(|r| map.contains(r.draft.location)));
        if done || kept.len() >= limit as usize {
            break;
        }
    }
    kept.truncate(limit as usize);
    Ok(kept)
}

/// How many of a place's latest check-ins its page shows.
pub const RECENT_CHECKINS: u32 = 10;

/// A place with its latest check-ins, newest first, and its photos' URLs.
#[derive(Debug, Clone)]
pub struct PlaceDetail {
    pub place: PlaceRecord,
    pub recent: Vec<CheckinRecord>,
    pub photos: PlacePhotos,
}

async fn detail(ctx: &PlacesContext, place: PlaceRecord) -> DomainResult<PlaceDetail> {
    let recent = store::recent_checkins(&ctx.db, &place.id, RECENT_CHECKINS).await?;
    let photos = photo_urls(ctx, std::slice::from_ref(&place)).await?;
    Ok(PlaceDetail { place, recent, photos })
}

/// Signed URLs of the photos some places show that anyone may see: place photos
/// (`domain::report::photo_is_public`: staff uploaded them, on no report), as the places are
/// public. A place's `photos` may also hold outside URLs, or ids of photos that are not place
/// photos (a city admin may type any id): those get none.
#[derive(Debug, Clone, Default)]
pub struct PlacePhotos(HashMap<String, SignedPhoto>);

impl PlacePhotos {
    /// The URLs of a place's photos that have one, in the place's order.
    pub fn of(&self, place: &PlaceRecord) -> Vec<SignedPhoto> {
        place.draft.photos.iter().filter_map(|id| self.0.get(id).cloned()).collect()
    }
}

/// The `PlacePhotos` of these places: two statements for them all, none when they show no photos.
pub async fn photo_urls(ctx: &PlacesContext, places: &[PlaceRecord]) -> DomainResult<PlacePhotos> {
    let ids = places.iter().flat_map(|p| p.draft.photos.iter().cloned()).collect();
    Ok(PlacePhotos(public_photo_urls(&ctx.db, &ctx.city.id, &ctx.photo_urls, ids).await?))
}

/// Signed URLs of those of `ids` that anyone may see (`domain::report::photo_is_public`: photos
/// staff uploaded, on no report), by id; none for the rest. One statement for them all.
pub async fn public_photo_urls(
    db: &Db,
    city_id: &str,
    signer: &UrlSigner,
    mut ids: Vec<String>,
) -> DomainResult<HashMap<String, SignedPhoto>> {
    ids.sort_unstable();
    ids.dedup();
    let holders = crate::store::media::holders_among(db, city_id, &ids).await?;
    let now = Millis::now();
    Ok(holders
        .iter()
        .filter(|h| {
            let photo = PhotoHolders {
                owner_id: &h.owner_id,
                uploaded_by_rider: h.uploaded_by_rider,
                report_units: &h.report_units,
                published: false,
            };
            photo_is_public(photo)
        })
        .map(|h| (h.id.clone(), signer.sign(&h.id, now)))
        .collect())
}

/// One place riders may see (not removed), with its latest check-ins.
pub async fn get(ctx: &PlacesContext, id: &str) -> DomainResult<PlaceDetail> {
    let place = store::get(&ctx.db, &ctx.city.id, id).await?;
    let place = place.filter(|p| p.status != PlaceStatus::Removed).ok_or(DomainError::NotFound("place"))?;
    detail(ctx, place).await
}

// ---- writes ----

/// Creates one place.
pub async fn create(ctx: &PlacesContext, admin: &CityAdmin, draft: PlaceDraft) -> DomainResult<PlaceRecord> {
    let mut rows = create_many(ctx, admin, vec![draft], PlaceAction::Create).await?;
    rows.pop().ok_or_else(|| DomainError::internal("no place created"))
}

/// Imports places read from a file: all of them or, on any failure, none.
pub async fn import(ctx: &PlacesContext, admin: &CityAdmin, drafts: Vec<PlaceDraft>) -> DomainResult<Vec<PlaceRecord>> {
    create_many(ctx, admin, drafts, PlaceAction::Import).await
}

/// Creates places in one transaction, each with its audit entry `action`.
pub async fn create_many(
    ctx: &PlacesContext,
    admin: &CityAdmin,
    drafts: Vec<PlaceDraft>,
    action: PlaceAction,
) -> DomainResult<Vec<PlaceRecord>> {
    let mut tx = ctx.db.begin_write().await?;
    let version = store::next_version(&mut tx).await?;
    let now = Millis::now();
    let mut rows = Vec::with_capacity(drafts.len());
    for draft in drafts {
        let row = PlaceRecord::new(new_id(), &admin.city_id, draft, version, now);
        store::save(&mut tx, &row, true).await?;
        audit_place(&mut tx, admin, action, &row.id, None, Some(&row)).await?;
        rows.push(row);
    }
    tx.commit().await?;
    for row in &rows {
        ctx.index.upsert(&row.pin());
    }
    Ok(rows)
}

/// A change to a place; `None` leaves a field as it is.
#[derive(Debug, Default, Clone)]
pub struct PlacePatch {
    pub name: Option<String>,
    pub address: Option<String>,
    pub location: Option<Gcj02>,
    pub host_org: Option<String>,
    pub contact_phone: Option<String>,
    pub photos: Option<Vec<String>>,
    pub capacity: Option<i32>,
    pub max_stay_minutes: Option<i32>,
    pub entry_instructions: Option<String>,
    // What a station manager may change:
    pub amenities: Option<AmenitySet>,
    pub hours: Option<OpeningHours>,
    pub status: Option<StatusKind>,
    pub status_reason: Option<String>,
    pub status_until: Option<Millis>,
}

impl PlacePatch {
    /// Touches only amenities, hours and status: what a station manager keeps true.
    pub fn is_upkeep_only(&self) -> bool {
        self.name.is_none()
            && self.address.is_none()
            && self.location.is_none()
            && self.host_org.is_none()
            && self.contact_phone.is_none()
            && self.photos.is_none()
            && self.capacity.is_none()
            && self.max_stay_minutes.is_none()
            && self.entry_instructions.is_none()
    }

    fn apply(self, row: &PlaceRecord) -> DomainResult<(PlaceDraft, PlaceStatus)> {
        let parking_only =
            self.capacity.is_some() || self.max_stay_minutes.is_some() || self.status == Some(StatusKind::Full);
        let friendly_site_only = self.entry_instructions.as_deref().is_some_and(|e| !e.trim().is_empty());
        row.draft.kind.check_change(parking_only, friendly_site_only)?;
        let mut d = row.draft.clone();
        d.name = self.name.unwrap_or(d.name);
        d.address = self.address.unwrap_or(d.address);
        d.location = self.location.unwrap_or(d.location);
        d.host_org = self.host_org.or(d.host_org);
        d.contact_phone = self.contact_phone.or(d.contact_phone);
        d.photos = self.photos.unwrap_or(d.photos);
        d.capacity = self.capacity.or(d.capacity);
        d.max_stay_minutes = self.max_stay_minutes.or(d.max_stay_minutes);
        d.entry_instructions = self.entry_instructions.or(d.entry_instructions);
        d.amenities = self.amenities.unwrap_or(d.amenities);
        d.hours = self.hours.unwrap_or(d.hours);
        let status = match self.status {
            Some(kind) => PlaceStatus::parse(kind, self.status_reason, self.status_until, d.kind)?,
            None => row.status.clone(),
        };
        Ok((d.checked()?, status))
    }
}

/// Who may change a place: a city admin any field of any place; a station manager amenities,
/// hours and status of a place they keep (403 otherwise), but never to remove it or to touch
/// one removed (`write_change` checks that in its transaction); clerks none.
async fn authorize_change(db: &Db, staff: &Staff, place: &PlaceRecord, patch: &PlacePatch) -> DomainResult<()> {
    match staff.role {
        Role::CityAdmin => Ok(()),
        Role::StationManager => {
            if !store::is_manager(db, &place.id, &staff.account_id).await? {
                return Err(DomainError::Forbidden("not a manager of this place"));
            }
            if !patch.is_upkeep_only() {
                return Err(DomainError::Forbidden("managers change amenities, hours and status only"));
            }
            Ok(())
        }
        _ => Err(DomainError::Forbidden("role")),
    }
}

/// Changes a place (404 when there is none, then 403 unless `authorize_change` allows it), and
/// answers it as its page shows it.
pub async fn update(ctx: &PlacesContext, staff: &Staff, id: &str, patch: PlacePatch) -> DomainResult<PlaceDetail> {
    let current = store::get(&ctx.db, &staff.city_id, id).await?.ok_or(DomainError::NotFound("place"))?;
    authorize_change(&ctx.db, staff, &current, &patch).await?;
    let place = write_change(ctx, staff, id, patch).await?;
    detail(ctx, place).await
}

/// Removes a place: it leaves search at once and stays in the history.
pub async fn remove(ctx: &PlacesContext, admin: &CityAdmin, id: &str) -> DomainResult<()> {
    let patch = PlacePatch { status: Some(StatusKind::Removed), ..PlacePatch::default() };
    write_change(ctx, admin, id, patch).await.map(drop)
}

/// Applies an allowed change in one transaction with its audit entry (before and after).
async fn write_change(ctx: &PlacesContext, caller: &Caller, id: &str, patch: PlacePatch) -> DomainResult<PlaceRecord> {
    let removing = patch.status == Some(StatusKind::Removed);
    let mut tx = ctx.db.begin_write().await?;
    let version = store::next_version(&mut tx).await?;
    let before = store::get_in(&mut tx, &caller.city_id, id).await?.ok_or(DomainError::NotFound("place"))?;
    // Checked against the place as this transaction sees it, so a removal committed meanwhile
    // cannot be undone by a manager's upkeep.
    if caller.role != Role::CityAdmin && (removing || before.status.kind() == StatusKind::Removed) {
        return Err(DomainError::Forbidden("only city admins remove or restore places"));
    }
    let (draft, status) = patch.apply(&before)?;
    let after = PlaceRecord {
        geohash: draft.location.geohash(GEOHASH_PRECISION),
        draft,
        status,
        version,
        updated_at: Millis::now(),
        ..before.clone()
    };
    store::save(&mut tx, &after, false).await?;
    let action = if removing { PlaceAction::Remove } else { PlaceAction::Update };
    audit_place(&mut tx, caller, action, id, Some(&before), Some(&after)).await?;
    tx.commit().await?;
    ctx.index.upsert(&after.pin());
    Ok(after)
}

/// Names the managers of a place (station manager accounts of the city); the change, and the
/// audit entry with the managers before and after, in one transaction.
pub async fn set_managers(
    ctx: &PlacesContext,
    admin: &CityAdmin,
    id: &str,
    account_ids: Vec<String>,
) -> DomainResult<Vec<String>> {
    live_place(ctx, &admin.city_id, id).await?;
    let mut ids = account_ids;
    ids.sort();
    ids.dedup();
    let managers = store::station_managers_among(&ctx.db, &admin.city_id, &ids).await?;
    if let Some(account_id) = ids.iter().find(|id| !managers.contains(id)) {
        return Err(DomainError::invalid(
            "account_ids",
            format!("`{account_id}` is not a station manager of this city"),
        ));
    }
    let mut tx = ctx.db.begin_write().await?;
    let before = store::managers_of(&mut tx, id).await?;
    store::set_managers(&mut tx, &admin.city_id, id, &ids).await?;
    audit::record(
        &mut *tx,
        AuditEntry {
            city_id: &admin.city_id,
            actor_id: Some(&admin.account_id),
            action: PlaceAction::Managers.as_str(),
            object_kind: "place",
            object_id: id,
            before: Some(json!({ "managers": before })),
            after: Some(json!({ "managers": ids })),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(ids)
}

// ---- staff reads ----

/// The managers of a place of the city (account ids).
pub async fn managers(ctx: &PlacesContext, admin: &CityAdmin, id: &str) -> DomainResult<Vec<String>> {
    live_place(ctx, &admin.city_id, id).await?;
    store::managers(&ctx.db, id).await
}

/// A place of the city that has not been removed; a removed one is gone (404).
async fn live_place(ctx: &PlacesContext, city_id: &str, id: &str) -> DomainResult<PlaceRecord> {
    let place = store::get(&ctx.db, city_id, id).await?;
    place.filter(|p| p.status != PlaceStatus::Removed).ok_or(DomainError::NotFound("place"))
}

/// A place's recorded changes, oldest first, after the entry id `after`, at most `limit`.
pub async fn history(
    ctx: &PlacesContext,
    admin: &CityAdmin,
    id: &str,
    after: Option<&str>,
    limit: u32,
) -> DomainResult<Vec<PlaceChangeRecord>> {
    store::get(&ctx.db, &admin.city_id, id).await?.ok_or(DomainError::NotFound("place"))?;
    store::history(&ctx.db, &admin.city_id, id, after, limit).await
}

/// Every place of the city that is not removed, in id order, up to what a file may hold.
pub async fn export(ctx: &PlacesContext, admin: &CityAdmin) -> DomainResult<Vec<PlaceRecord>> {
    const BATCH: u32 = 1000;
    let mut rows: Vec<PlaceRecord> = Vec::new();
    loop {
        let after = rows.last().map(|r| r.id.clone());
        let page = store::list_all(&ctx.db, &admin.city_id, after.as_deref(), BATCH).await?;
        let done = page.len() < BATCH as usize;
        rows.extend(page);
        if done || rows.len() >= crate::domain::place_files::MAX_ROWS {
            return Ok(rows);
        }
    }
}

fn require_manager(staff: &Staff) -> DomainResult<()> {
    staff.require_role(&[Role::StationManager])
}

/// The places a station manager keeps, in id order after `after`, at most `limit`.
pub async fn managed_places(
    ctx: &PlacesContext,
    staff: &Staff,
    after: Option<&str>,
    limit: u32,
) -> DomainResult<Vec<PlaceRecord>> {
    require_manager(staff)?;
    store::managed_by(&ctx.db, &staff.account_id, after, limit).await
}

/// Which check-ins a staff list shows.
#[derive(Debug, Clone, Copy)]
pub enum CheckinScope<'a> {
    /// Every place the calling station manager keeps.
    MyPlaces,
    /// One place: for city admins and the place's own managers.
    Place(&'a str),
}

/// Riders' check-ins newest first, before the cursor id `before`, at most `limit`: what was found,
/// never who found it (the view leaves riders out). Other staff get 403; a missing place 404.
pub async fn checkins(
    ctx: &PlacesContext,
    staff: &Staff,
    scope: CheckinScope<'_>,
    failures_only: bool,
    before: Option<&str>,
    limit: u32,
) -> DomainResult<Vec<CheckinRecord>> {
    let filter = match scope {
        CheckinScope::MyPlaces => {
            require_manager(staff)?;
            CheckinFilter { place_id: None, manager_id: Some(&staff.account_id), failures_only }
        }
        CheckinScope::Place(place_id) => {
            staff.require_role(&[Role::CityAdmin, Role::StationManager])?;
            store::get(&ctx.db, &staff.city_id, place_id).await?.ok_or(DomainError::NotFound("place"))?;
            if staff.role == Role::StationManager && !store::is_manager(&ctx.db, place_id, &staff.account_id).await? {
                return Err(DomainError::Forbidden("not a manager of this place"));
            }
            CheckinFilter { place_id: Some(place_id), manager_id: None, failures_only }
        }
    };
    store::list_checkins(&ctx.db, &staff.city_id, filter, before, limit).await
}

// ---- check-ins ----

/// What a rider says at a place.
pub struct CheckinSpec {
    pub outcome: CheckinOutcome,
    pub amenity: Option<Amenity>,
    pub note: Option<String>,
    pub idempotency_key: Option<String>,
}

/// A rider's check-in: at most one per rider, place and hour. A repeat within the hour (or a
/// repeat of the same `Idempotency-Key`) returns the first one with `false`; a success sets the
/// place's last-confirmed time.
pub async fn check_in(
    ctx: &PlacesContext,
    rider: &Rider,
    place_id: &str,
    spec: CheckinSpec,
) -> DomainResult<(CheckinRecord, bool)> {
    match (spec.outcome.needs_amenity(), spec.amenity) {
        (true, None) => return Err(DomainError::invalid("amenity", format!("`{}` names an amenity", spec.outcome))),
        (false, Some(_)) => {
            return Err(DomainError::invalid("amenity", format!("`{}` takes no amenity", spec.outcome)));
        }
        _ => {}
    }
    let note = spec.note.map(|n| n.trim().to_string()).filter(|n| !n.is_empty());
    if note.as_ref().is_some_and(|n| n.chars().count() > 200) {
        return Err(DomainError::invalid("note", "at most 200 characters"));
    }
    let db = &ctx.db;
    let key = spec.idempotency_key.as_deref();
    if let Some(key) = key
        && let Some(first) = store::checkin_by_key(db, &rider.account_id, key).await?
    {
        return Ok((first, false));
    }
    let place = store::get(db, &rider.city_id, place_id).await?;
    let place = place.filter(|p| p.status != PlaceStatus::Removed).ok_or(DomainError::NotFound("place"))?;
    let now = Millis::now();
    let hour_ago = Millis(now.0 - store::HOUR_MS + 1);
    if let Some(first) = store::latest_checkin(db, place_id, &rider.account_id, hour_ago).await? {
        return Ok((first, false));
    }
    let row = CheckinRecord {
        id: store::new_checkin_id(),
        place_id: place_id.to_string(),
        rider_id: rider.account_id.clone(),
        outcome: spec.outcome,
        amenity: spec.amenity,
        note,
        created_at: now,
    };
    let mut tx = db.begin_write().await?;
    let version = if spec.outcome.is_success() { Some(store::next_version(&mut tx).await?) } else { None };
    if !store::insert_checkin(&mut tx, &rider.city_id, &row, key).await? {
        tx.rollback().await?;
        let first = match key {
            Some(key) => store::checkin_by_key(db, &rider.account_id, key).await?,
            None => None,
        };
        let first = match first {
            Some(f) => Some(f),
            None => store::latest_checkin(db, place_id, &rider.account_id, hour_ago).await?,
        };
        return first.map(|f| (f, false)).ok_or_else(|| DomainError::conflict(ErrorCode::CheckinConflict, "try again"));
    }
    if spec.outcome.is_success() {
        let office_id = ctx.routing.current().street_office_at(place.draft.location);
        ctx.ledger.checked_in(&mut tx, &rider.account_id, &row.id, office_id, now).await?;
    }
    let mut confirmed = None;
    if let Some(version) = version {
        // Re-read inside the transaction: a staff change may have landed since the check above.
        let current = store::get_in(&mut tx, &rider.city_id, place_id).await?.unwrap_or(place);
        let after = PlaceRecord { last_confirmed_at: Some(now), version, ..current };
        store::save(&mut tx, &after, false).await?;
        confirmed = Some(after);
    }
    tx.commit().await?;
    if let Some(after) = confirmed {
        ctx.index.upsert(&after.pin());
    }
    Ok((row, true))
}

/// The centre of the demo city (GCJ-02).
pub const DEMO_CENTRE: (f64, f64) = (30.275, 120.16);

/// Fills the city with `count` generated places spread over `side_km` × `side_km` around the demo
/// centre, in batches (for benchmarks and load tests; one audit entry per batch).
pub async fn generate(state: &PlacesContext, count: usize, side_km: f64, seed: u64) -> DomainResult<usize> {
    use rand::{Rng, SeedableRng};
    const BATCH: usize = 10_000;
    const HOURS: [&str; 4] = ["24/7", "mon-sun 08:00-22:00", "mon-sun 22:00-06:00", "mon-fri 09:00-18:00"];
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let hours: Vec<OpeningHours> = HOURS.iter().map(|h| h.parse()).collect::<Result<_, _>>()?;
    let half_lat = side_km / 2.0 / 111.195;
    let half_lng = half_lat / DEMO_CENTRE.0.to_radians().cos();
    let kinds = crate::domain::places::PlaceKind::ALL;
    let mut done = 0;
    while done < count {
        let n = BATCH.min(count - done);
        let mut tx = state.db.begin_write().await?;
        let version = store::next_version(&mut tx).await?;
        let now = Millis::now();
        for i in done..done + n {
            let kind = kinds[rng.random_range(0..kinds.len())];
            let parking = kind == crate::domain::places::PlaceKind::ParkingZone;
            let draft = PlaceDraft {
                kind,
                name: format!("{}{i}", if parking { "停车点" } else { "驿站" }),
                address: format!("示范路{i}号"),
                location: crate::domain::geo::Gcj02::new(
                    DEMO_CENTRE.0 + rng.random_range(-half_lat..half_lat),
                    DEMO_CENTRE.1 + rng.random_range(-half_lng..half_lng),
                )?,
                host_org: None,
                contact_phone: None,
                photos: Vec::new(),
                amenities: Amenity::ALL.iter().copied().filter(|_| rng.random_bool(0.3)).collect(),
                hours: hours[[0, 0, 1, 2, 3][rng.random_range(0..5usize)]].clone(),
                capacity: parking.then_some(10),
                max_stay_minutes: None,
                entry_instructions: None,
            };
            store::save(&mut tx, &PlaceRecord::new(new_id(), &state.city.id, draft, version, now), true).await?;
        }
        audit::record(
            &mut *tx,
            AuditEntry {
                city_id: &state.city.id,
                actor_id: None,
                action: PlaceAction::Generate.as_str(),
                object_kind: "place",
                object_id: "generated",
                before: None,
                after: Some(json!({ "count": n })),
            },
        )
        .await?;
        tx.commit().await?;
        done += n;
        tracing::info!(done, count, "generated places");
    }
    Ok(done)
}

//! The demand map: every nearby search adds to in-memory counters per cell and hour (no rider,
//! no point), flushed to the database every few seconds; admins read where searches find
//! nothing open, and which places nobody is shown or uses. Old counters roll up to days, then
//! months.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono_tz::Tz;

use crate::domain::demand::{Asked, Cell, DemandKey, Grain, HOUR_MS, SearchSeen, Tally, publishable};
use crate::domain::geo::{Gcj02, MapBox};
use crate::domain::identity::Role;
use crate::domain::identity::Staff;
use crate::domain::places::{Amenity, AmenitySet, HitRef, KindSet, NearbyQuery, PlaceKind};
use crate::domain::routing::UnitKind;
use crate::domain::time::Millis;
use crate::domain::{DomainError, DomainResult};
use crate::index::PlaceIndex;
use crate::store::Db;
use crate::store::demand::{self as store, CountRow, IdlePlace, Rolled};

/// Counters not yet written. Sharded by cell so that searches on several cores rarely wait for
/// one another.
#[derive(Default)]
struct Pending {
    counts: HashMap<DemandKey, Tally, FastHash>,
    /// (hour, place id) → times shown.
    shown: HashMap<(i64, u128), i64, FastHash>,
}

/// The counters' keys are ours (cells, hours, place ids), not an attacker's choice of strings, so
/// a multiply-rotate hash (FxHash's) is safe here and several times cheaper than SipHash, which
/// matters at twenty place ids per search.
#[derive(Default, Clone, Copy)]
struct FastHash;

impl std::hash::BuildHasher for FastHash {
    type Hasher = FxHasher;
    fn build_hasher(&self) -> FxHasher {
        FxHasher(0)
    }
}

struct FxHasher(u64);

impl std::hash::Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }

    fn write_u128(&mut self, n: u128) {
        self.write_u64(n as u64);
        self.write_u64((n >> 64) as u64);
    }

    fn write_i64(&mut self, n: i64) {
        self.write_u64(n as u64);
    }

    fn write_u8(&mut self, n: u8) {
        self.write_u64(u64::from(n));
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// The most places one search returns (`limit` is at most 100).
const MAX_SHOWN: usize = 100;

const SHARDS: usize = 8;

/// The in-memory side of the demand map, one per node.
pub struct DemandCounter {
    enabled: bool,
    shards: [Mutex<Pending>; SHARDS],
}

impl DemandCounter {
    pub fn new(enabled: bool) -> DemandCounter {
        DemandCounter { enabled, shards: Default::default() }
    }

    pub fn is_enabled(&self) -> bool {
        self.enabled
    }

    /// Starts counting one search: feed it every place found, then `finish`.
    pub fn search<'a>(&'a self, query: &'a NearbyQuery, now: Millis) -> SearchTally<'a> {
        SearchTally { counter: self, query, now, seen: SearchSeen::new(), shown: [0; MAX_SHOWN], shown_len: 0 }
    }

    fn shard(&self, cell: &Cell) -> &Mutex<Pending> {
        let h = cell.as_str().bytes().fold(0usize, |h, b| h.wrapping_mul(31).wrapping_add(b as usize));
        &self.shards[h % SHARDS]
    }

    /// Takes everything counted so far.
    fn drain(&self) -> Pending {
        let mut all = Pending::default();
        for shard in &self.shards {
            let taken = std::mem::take(&mut *shard.lock().unwrap_or_else(|e| e.into_inner()));
            for (k, t) in taken.counts {
                all.counts.entry(k).or_default().add(t);
            }
            for (k, n) in taken.shown {
                *all.shown.entry(k).or_default() += n;
            }
        }
        all
    }

    /// Puts back what a failed flush could not write, to try again with the next one.
    fn restore(&self, pending: Pending) {
        let mut shard = self.shards[0].lock().unwrap_or_else(|e| e.into_inner());
        for (k, t) in pending.counts {
            shard.counts.entry(k).or_default().add(t);
        }
        for (k, n) in pending.shown {
            *shard.shown.entry(k).or_default() += n;
        }
    }
}

/// One search being counted.
pub struct SearchTally<'a> {
    counter: &'a DemandCounter,
    query: &'a NearbyQuery,
    now: Millis,
    seen: SearchSeen,
    /// The places found, without allocating on the hot path.
    shown: [u128; MAX_SHOWN],
    shown_len: usize,
}

impl SearchTally<'_> {
    pub fn saw(&mut self, hit: &HitRef<'_>) {
        if self.counter.enabled {
            self.seen.saw(hit.kind, hit.open_now);
            if let Some(slot) = self.shown.get_mut(self.shown_len) {
                *slot = hit.id;
                self.shown_len += 1;
            }
        }
    }

    pub fn finish(self) {
        if !self.counter.enabled {
            return;
        }
        let cell = Cell::of(self.query.center);
        let hour = self.now.0.div_euclid(HOUR_MS) * HOUR_MS;
        let mut pending = self.counter.shard(&cell).lock().unwrap_or_else(|e| e.into_inner());
        self.seen.keys(cell, hour, self.query.kinds, self.query.amenities, |key, tally| {
            pending.counts.entry(key).or_default().add(tally)
        });
        for id in &self.shown[..self.shown_len] {
            *pending.shown.entry((hour, *id)).or_default() += 1;
        }
    }
}

/// What the demand map needs.
#[derive(Clone)]
pub struct DemandContext {
    pub db: Db,
    pub city_id: String,
    pub tz: Tz,
    pub counter: Arc<DemandCounter>,
    pub places: PlaceIndex,
    /// Cells with fewer searches in the period are not shown.
    pub min_searches: i64,
    /// Hourly rows older than this become daily ones.
    pub hourly_for: Duration,
    /// Daily rows older than this become monthly ones.
    pub daily_for: Duration,
    pub flush_every: Duration,
}

/// Writes what this node counted since the last flush. On failure the counts are kept for the
/// next flush; a crash loses at most one interval's.
pub async fn flush(ctx: &DemandContext) -> DomainResult<usize> {
    let pending = ctx.counter.drain();
    if pending.counts.is_empty() && pending.shown.is_empty() {
        return Ok(0);
    }
    match write(ctx, &pending).await {
        Ok(n) => Ok(n),
        Err(e) => {
            ctx.counter.restore(pending);
            Err(e)
        }
    }
}

async fn write(ctx: &DemandContext, pending: &Pending) -> DomainResult<usize> {
    let counts: Vec<CountRow> = pending
        .counts
        .iter()
        .map(|(k, t)| CountRow {
            period_start: k.hour,
            cell: k.cell.as_str().to_string(),
            asked: k.asked.as_str().to_string(),
            amenity: k.amenity.map(Amenity::as_str).unwrap_or_default().to_string(),
            tally: *t,
        })
        .collect();
    // Shown counts are kept per day of the city's calendar.
    let mut by_day: HashMap<(i64, u128), i64, FastHash> = HashMap::default();
    for ((hour, id), n) in &pending.shown {
        let day = Grain::Day.period(Millis(*hour), ctx.tz).0.0;
        *by_day.entry((day, *id)).or_default() += n;
    }
    let shown: Vec<(i64, String, i64)> =
        by_day.into_iter().map(|((day, id), n)| (day, uuid::Uuid::from_u128(id).to_string(), n)).collect();
    let mut tx = ctx.db.begin_write().await?;
    store::add_counts(&mut tx, Grain::Hour, &counts).await?;
    store::add_shown(&mut tx, Grain::Day, &shown).await?;
    tx.commit().await?;
    Ok(counts.len() + shown.len())
}

/// Moves counters older than the settings into coarser periods: hours into days, days into
/// months (and places' days into months). Totals are kept; safe on several nodes at once.
pub async fn roll_up(ctx: &DemandContext, now: Millis) -> DomainResult<u64> {
    let hourly_until = Millis(now.0 - ctx.hourly_for.as_millis() as i64);
    let daily_until = Millis(now.0 - ctx.daily_for.as_millis() as i64);
    let mut moved = roll(ctx, Rolled::Counts, Grain::Hour, Grain::Day, hourly_until).await?;
    moved += roll(ctx, Rolled::Counts, Grain::Day, Grain::Month, daily_until).await?;
    moved += roll(ctx, Rolled::Shown, Grain::Day, Grain::Month, daily_until).await?;
    Ok(moved)
}

async fn roll(ctx: &DemandContext, table: Rolled, from: Grain, to: Grain, until: Millis) -> DomainResult<u64> {
    let mut moved = 0;
    while let Some(oldest) = store::oldest(&ctx.db, table, from, until).await? {
        let (start, end) = to.period(Millis(oldest), ctx.tz);
        let end = Millis(end.0.min(until.0));
        let mut tx = ctx.db.begin_write().await?;
        match table {
            Rolled::Counts => {
                let rows = store::take_counts(&mut tx, from, start, end).await?;
                moved += rows.len() as u64;
                let mut sums: HashMap<(String, String, String), Tally> = HashMap::new();
                for r in rows {
                    sums.entry((r.cell, r.asked, r.amenity)).or_default().add(r.tally);
                }
                let merged: Vec<CountRow> = sums
                    .into_iter()
                    .map(|((cell, asked, amenity), tally)| CountRow {
                        period_start: start.0,
                        cell,
                        asked,
                        amenity,
                        tally,
                    })
                    .collect();
                store::add_counts(&mut tx, to, &merged).await?;
            }
            Rolled::Shown => {
                let rows = store::take_shown(&mut tx, from, start, end).await?;
                moved += rows.len() as u64;
                let mut sums: HashMap<String, i64> = HashMap::new();
                for (place, n) in rows {
                    *sums.entry(place).or_default() += n;
                }
                let merged: Vec<(i64, String, i64)> = sums.into_iter().map(|(p, n)| (start.0, p, n)).collect();
                store::add_shown(&mut tx, to, &merged).await?;
            }
        }
        tx.commit().await?;
    }
    Ok(moved)
}

/// Flushes every `flush_every` and rolls up hourly (the server flushes once more when it stops).
pub fn spawn_background(ctx: DemandContext) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut last_roll: Option<Millis> = None;
        loop {
            tokio::time::sleep(ctx.flush_every).await;
            if let Err(e) = flush(&ctx).await {
                tracing::warn!(error = %crate::domain::error::ErrorChain(&e), "demand: cannot write the counters; kept for the next flush");
            }
            let now = Millis::now();
            if last_roll.is_none_or(|at| now.0 - at.0 >= HOUR_MS) {
                last_roll = Some(now);
                if let Err(e) = roll_up(&ctx, now).await {
                    tracing::warn!(error = %crate::domain::error::ErrorChain(&e), "demand: roll-up failed");
                }
            }
        }
    })
}

/// Who may read the demand map: city admins, and staff of the city's departments (who plan
/// stations and zones with the city).
pub async fn may_read(db: &Db, staff: &Staff) -> DomainResult<()> {
    match staff.role {
        Role::CityAdmin => Ok(()),
        Role::Clerk => {
            let office = staff.office_id.as_deref().ok_or(DomainError::Forbidden("clerk without an office"))?;
            let unit = crate::store::units::get(db, &staff.city_id, office).await?;
            match unit {
                Some(u) if u.kind == UnitKind::Department => Ok(()),
                _ => Err(DomainError::Forbidden("the demand map is for city admins and departments")),
            }
        }
        _ => Err(DomainError::Forbidden("the demand map is for city admins and departments")),
    }
}

/// What the map is asked for.
#[derive(Debug, Clone)]
pub struct DemandFilter {
    pub from: Millis,
    pub to: Millis,
    pub asked: Asked,
    pub amenity: Option<Amenity>,
    /// Only cells whose centre the box shows.
    pub bbox: Option<MapBox>,
    pub limit: usize,
}

/// A cell of the map with enough searches to show.
#[derive(Debug, Clone)]
pub struct DemandCell {
    pub cell: Cell,
    pub tally: Tally,
    /// Metres from the cell's centre to the nearest place of the kind asked (with the amenity
    /// asked), open or not; none within 20 km.
    pub nearest_place_m: Option<f64>,
}

/// The map: cells with at least `min_searches` searches, most unmet first (then most searches),
/// at most `limit`.
pub async fn map(ctx: &DemandContext, staff: &Staff, f: &DemandFilter) -> DomainResult<Vec<DemandCell>> {
    may_read(&ctx.db, staff).await?;
    let amenity = f.amenity.map(Amenity::as_str).unwrap_or_default();
    let rows = store::by_cell(&ctx.db, f.asked.as_str(), amenity, f.from, f.to).await?;
    let mut cells: Vec<(Cell, Tally)> = rows
        .into_iter()
        .filter_map(|(text, tally)| Cell::parse(&text).map(|c| (c, tally)))
        .filter(|(_, tally)| publishable(tally, ctx.min_searches))
        .filter(|(cell, _)| f.bbox.is_none_or(|b| cell.center().is_some_and(|c| b.contains(c))))
        .collect();
    cells.sort_by(|a, b| b.1.unmet.cmp(&a.1.unmet).then(b.1.searches.cmp(&a.1.searches)).then(a.0.cmp(&b.0)));
    cells.truncate(f.limit);
    Ok(cells
        .into_iter()
        .map(|(cell, tally)| DemandCell { nearest_place_m: nearest(ctx, &cell, f), cell, tally })
        .collect())
}

/// The distance to the nearest place of the kind asked, from the in-memory index.
fn nearest(ctx: &DemandContext, cell: &Cell, f: &DemandFilter) -> Option<f64> {
    let center: Gcj02 = cell.center()?;
    let mut amenities = AmenitySet::default();
    if let Some(a) = f.amenity {
        amenities.insert(a);
    }
    let query = NearbyQuery {
        center,
        radius_m: 20_000.0,
        kinds: f.asked.kind().into_iter().collect::<KindSet>(),
        amenities,
        open_now: false,
        limit: 1,
    };
    let mut found = None;
    ctx.places.nearby_each(&query, Millis::now(), |h| found = Some(h.distance_m));
    found
}

/// Places nobody checked in at and few were shown in the period: candidates to move.
pub async fn idle_places(
    ctx: &DemandContext,
    staff: &Staff,
    from: Millis,
    to: Millis,
    kind: Option<PlaceKind>,
    max_shown: i64,
    limit: i64,
) -> DomainResult<Vec<IdlePlace>> {
    may_read(&ctx.db, staff).await?;
    store::idle_places(&ctx.db, &ctx.city_id, from, to, kind.map(PlaceKind::as_str), max_shown, limit).await
}

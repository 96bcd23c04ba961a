//! The in-memory spatial index of places: the read hot path of "nearest open station with hot
//! water".
//!
//! An R*-tree (`rstar`) over points on the unit sphere: the straight-line (chord) distance between
//! two such points grows with their great-circle distance, so a nearest-first walk of the tree
//! yields places in exact haversine order anywhere on earth, with no projection error. The walk
//! (`nearby_each`, best first over rstar's nodes) never queues a node beyond the radius or a place
//! the kind and amenity filters refuse, checks open-now as each place comes off the queue, and
//! stops at the k-th match, so a query's work grows with k (and with what the filters reject),
//! not with how many places lie inside the radius. Nothing here touches SQL.
//!
//! Laid out for the walk's cache misses, not for tidiness:
//! - the tree holds only what the walk needs to decide about a place (point, kind, amenities,
//!   status and its until-time, hours: 48 bytes, inside the 72 a tree node's child takes anyway),
//!   so a node's children are one short run of memory and the walk never leaves the tree;
//! - the rest of each place (id, location as answers print it, last check-in, name) sits in one
//!   table in the tree's own order, so the places one query returns are neighbours in memory
//!   too, and is read for all of them at once after the walk, so those reads overlap;
//! - names live in one block in the same order, not in a separate allocation each;
//! - the hours are a number into a table of distinct opening-hours texts (most places share a
//!   handful).
//!
//! Moves, renames and removals reuse a place's row; the name block is compacted (and both are put
//! back in tree order) once more than half of it is dead.

use std::collections::{BinaryHeap, HashMap};
use std::str::FromStr;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use chrono_tz::Tz;
use rstar::{AABB, Envelope, PointDistance, RTree, RTreeNode, RTreeObject, SelectionFunction};

use crate::domain::geo::{EARTH_RADIUS_M, Gcj02};
use crate::domain::hours::{LocalMoment, OpeningHours};
use crate::domain::places::{
    AmenitySet, Hit, HitRef, NearbyQuery, PlaceKind, PlacePin, StatusKind, effective_status, is_open_now,
};
use crate::domain::time::Millis;

const NONE: i64 = i64::MIN;
/// Dead name bytes tolerated before the name block is compacted (and more than the live ones).
const COMPACT_AFTER_DEAD_BYTES: usize = 1 << 20;

/// One place in the tree: what the walk reads to queue it and to decide about it.
///
/// Smaller than a tree node (`NO_NICHE` below): otherwise rstar's bulk load would collect each
/// leaf in place into the vector it was cut from, keeping that vector's whole capacity alive
/// (1M places then took over 1 GB instead of about 300 MB).
#[derive(Debug, Clone)]
struct Entry {
    point: [f64; 3],
    status_until: i64,
    amenities: AmenitySet,
    /// The place's row in `Inner::rows`.
    row: u32,
    hours: u32,
    kind: u8,
    status: u8,
}

const _NO_NICHE: () =
    assert!(std::mem::size_of::<rstar::RTreeNode<Entry>>() > std::mem::size_of::<Entry>(), "see Entry");

impl Entry {
    fn kind(&self) -> PlaceKind {
        PlaceKind::ALL.get(self.kind as usize).copied().unwrap_or(PlaceKind::Station)
    }

    fn status(&self) -> StatusKind {
        StatusKind::ALL.get(self.status as usize).copied().unwrap_or(StatusKind::Open)
    }
}

/// The rest of a place: what the walk reads once it reaches it, and what answers print.
#[derive(Debug, Clone)]
struct Row {
    id: u128,
    /// The point as the unit sphere gives it back (what answers have always printed).
    location: Gcj02,
    last_confirmed_at: i64,
    name: NameSpan,
}

/// Where a name sits in the name block.
#[derive(Debug, Clone, Copy, Default)]
struct NameSpan {
    start: u32,
    len: u32,
}

/// Every name in one block of text, in tree order after a bulk load or a compaction.
#[derive(Default)]
struct Names {
    text: String,
    dead: usize,
}

impl Names {
    fn get(&self, span: NameSpan) -> &str {
        let start = span.start as usize;
        self.text.get(start..start + span.len as usize).unwrap_or_default()
    }

    fn add(&mut self, name: &str) -> NameSpan {
        let span = NameSpan { start: self.text.len() as u32, len: name.len() as u32 };
        self.text.push_str(name);
        span
    }

    fn forget(&mut self, span: NameSpan) {
        self.dead += span.len as usize;
    }

    fn wants_compaction(&self) -> bool {
        self.dead > COMPACT_AFTER_DEAD_BYTES && self.dead * 2 > self.text.len()
    }
}

impl RTreeObject for Entry {
    type Envelope = AABB<[f64; 3]>;
    fn envelope(&self) -> Self::Envelope {
        AABB::from_point(self.point)
    }
}

impl PointDistance for Entry {
    fn distance_2(&self, p: &[f64; 3]) -> f64 {
        chord_2(&self.point, p)
    }
}

fn chord_2(a: &[f64; 3], b: &[f64; 3]) -> f64 {
    let (dx, dy, dz) = (a[0] - b[0], a[1] - b[1], a[2] - b[2]);
    dx * dx + dy * dy + dz * dz
}

fn to_unit_sphere(p: Gcj02) -> [f64; 3] {
    let (lat, lng) = (p.lat().to_radians(), p.lng().to_radians());
    [lat.cos() * lng.cos(), lat.cos() * lng.sin(), lat.sin()]
}

fn from_unit_sphere(p: &[f64; 3]) -> Gcj02 {
    let lat = p[2].clamp(-1.0, 1.0).asin().to_degrees();
    let lng = p[1].atan2(p[0]).to_degrees();
    Gcj02::new(lat, lng).unwrap_or_else(|_| Gcj02::new(0.0, 0.0).unwrap_or_else(|_| unreachable!()))
}

/// Great-circle metres from a chord of the unit sphere.
fn chord_to_m(chord_2: f64) -> f64 {
    2.0 * EARTH_RADIUS_M * (chord_2.sqrt() / 2.0).min(1.0).asin()
}

/// The squared chord of a great-circle distance in metres.
fn m_to_chord_2(m: f64) -> f64 {
    let c = 2.0 * (m / (2.0 * EARTH_RADIUS_M)).min(std::f64::consts::FRAC_PI_2).sin();
    c * c
}

fn parse_id(id: &str) -> Option<u128> {
    uuid::Uuid::from_str(id).ok().map(|u| u.as_u128())
}

struct Inner {
    tree: RTree<Entry>,
    /// The rest of each place, by `Entry::row`.
    rows: Vec<Row>,
    /// Rows of removed places, for the next new one.
    free_rows: Vec<u32>,
    names: Names,
    /// Where each place sits and which version of it the tree holds, to find it again when it
    /// moves or goes, and to refuse a stale version arriving late (a refresh that read the row
    /// before this node's own write). Removed places stay as tombstones.
    points: HashMap<u128, Slot>,
    hours: Vec<OpeningHours>,
    hours_ids: HashMap<String, u32>,
    /// The highest `places.version` applied.
    version: i64,
}

#[derive(Debug, Clone, Copy)]
struct Slot {
    point: [f64; 3],
    version: i64,
    /// The place's row, while it is present.
    row: u32,
    present: bool,
}

/// The index, shared by every request (cheap to clone).
#[derive(Clone)]
pub struct PlaceIndex {
    inner: Arc<RwLock<Inner>>,
    tz: Tz,
}

pub struct WeakPlaceIndex {
    inner: std::sync::Weak<RwLock<Inner>>,
    tz: Tz,
}

impl WeakPlaceIndex {
    pub fn upgrade(&self) -> Option<PlaceIndex> {
        self.inner.upgrade().map(|inner| PlaceIndex { inner, tz: self.tz })
    }
}

/// A node or place waiting in the nearest-first walk; the heap pops the nearest first.
struct Near<'a> {
    d2: f64,
    node: &'a RTreeNode<Entry>,
}

impl PartialEq for Near<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.d2 == other.d2
    }
}

impl Eq for Near<'_> {}

impl PartialOrd for Near<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Near<'_> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        other.d2.total_cmp(&self.d2)
    }
}

/// A cold load in progress.
pub struct IndexBuilder {
    inner: Inner,
    entries: Vec<Entry>,
}

impl IndexBuilder {
    pub fn push(&mut self, pin: &PlacePin) {
        if pin.status == StatusKind::Removed {
            return;
        }
        let Some(id) = parse_id(&pin.id) else { return };
        if self.inner.points.contains_key(&id) {
            return;
        }
        let (entry, slot) = self.inner.add(pin, id);
        self.inner.points.insert(id, slot);
        self.entries.push(entry);
    }

    pub fn finish(mut self, tz: Tz, version: i64) -> PlaceIndex {
        self.inner.tree = RTree::bulk_load(self.entries);
        self.inner.version = version;
        self.inner.relayout();
        PlaceIndex { inner: Arc::new(RwLock::new(self.inner)), tz }
    }
}

/// Selects the one entry with this row at this point.
struct ByRow {
    row: u32,
    point: [f64; 3],
}

impl SelectionFunction<Entry> for ByRow {
    fn should_unpack_parent(&self, envelope: &AABB<[f64; 3]>) -> bool {
        envelope.contains_point(&self.point)
    }
    fn should_unpack_leaf(&self, leaf: &Entry) -> bool {
        leaf.row == self.row
    }
}

impl Inner {
    fn empty() -> Inner {
        Inner {
            tree: RTree::new(),
            rows: Vec::new(),
            free_rows: Vec::new(),
            names: Names::default(),
            points: HashMap::new(),
            hours: Vec::new(),
            hours_ids: HashMap::new(),
            version: 0,
        }
    }

    fn hours_id(&mut self, text: &str) -> u32 {
        if let Some(id) = self.hours_ids.get(text) {
            return *id;
        }
        // Text that does not parse (it was checked on the way in) counts as always open.
        let parsed = text.parse().unwrap_or_else(|_| OpeningHours::always());
        let id = self.hours.len() as u32;
        self.hours.push(parsed);
        self.hours_ids.insert(text.to_string(), id);
        id
    }

    /// A place's row as `pin` says, with its name taken from `name` (already in the block).
    fn row(pin: &PlacePin, id: u128, point: &[f64; 3], name: NameSpan) -> Row {
        Row {
            id,
            location: from_unit_sphere(point),
            last_confirmed_at: pin.last_confirmed_at.map_or(NONE, |m| m.0),
            name,
        }
    }

    /// A place's tree entry as `pin` says.
    fn entry(&mut self, pin: &PlacePin, point: [f64; 3], row: u32) -> Entry {
        Entry {
            point,
            status_until: pin.status_until.map_or(NONE, |m| m.0),
            amenities: pin.amenities,
            row,
            hours: self.hours_id(&pin.hours_text),
            kind: pin.kind as u8,
            status: pin.status as u8,
        }
    }

    /// A new place: its row (a free one if any) and its tree entry.
    fn add(&mut self, pin: &PlacePin, id: u128) -> (Entry, Slot) {
        let point = to_unit_sphere(pin.location);
        let name = self.names.add(&pin.name);
        let row = Inner::row(pin, id, &point, name);
        let at = match self.free_rows.pop() {
            Some(at) => {
                self.rows[at as usize] = row;
                at
            }
            None => {
                self.rows.push(row);
                (self.rows.len() - 1) as u32
            }
        };
        let entry = self.entry(pin, point, at);
        (entry, Slot { point, version: pin.version, row: at, present: true })
    }

    /// Applies one version of a place unless the tree already holds a newer one.
    fn upsert(&mut self, pin: &PlacePin, id: u128) {
        let old = self.points.get(&id).copied();
        if old.is_some_and(|slot| slot.version > pin.version) {
            return;
        }
        let slot = match old.filter(|slot| slot.present) {
            Some(slot) => {
                self.tree.remove_with_selection_function(ByRow { row: slot.row, point: slot.point });
                if pin.status == StatusKind::Removed {
                    self.remove_row(slot.row);
                    Slot { version: pin.version, present: false, ..slot }
                } else {
                    let (entry, slot) = self.replace(pin, id, slot.row);
                    self.tree.insert(entry);
                    slot
                }
            }
            None if pin.status == StatusKind::Removed => {
                Slot { point: [0.0; 3], version: pin.version, row: 0, present: false }
            }
            None => {
                let (entry, slot) = self.add(pin, id);
                self.tree.insert(entry);
                slot
            }
        };
        self.points.insert(id, slot);
        if self.names.wants_compaction() {
            self.relayout();
        }
    }

    /// A present place's new version, in its own row (its name kept when unchanged).
    fn replace(&mut self, pin: &PlacePin, id: u128, at: u32) -> (Entry, Slot) {
        let point = to_unit_sphere(pin.location);
        let old_name = self.rows[at as usize].name;
        let name = if self.names.get(old_name) == pin.name {
            old_name
        } else {
            self.names.forget(old_name);
            self.names.add(&pin.name)
        };
        self.rows[at as usize] = Inner::row(pin, id, &point, name);
        let entry = self.entry(pin, point, at);
        (entry, Slot { point, version: pin.version, row: at, present: true })
    }

    fn remove_row(&mut self, at: u32) {
        let row = &mut self.rows[at as usize];
        self.names.forget(row.name);
        row.name = NameSpan::default();
        self.free_rows.push(at);
    }

    /// Puts the rows and the names in the tree's own order (depth first, as the walk goes down),
    /// leaving out what removed places left behind.
    fn relayout(&mut self) {
        let mut rows = Vec::with_capacity(self.tree.size());
        let mut names =
            Names { text: String::with_capacity(self.names.text.len().saturating_sub(self.names.dead)), dead: 0 };
        for entry in self.tree.iter_mut() {
            let mut row = self.rows[entry.row as usize].clone();
            row.name = names.add(self.names.get(row.name));
            entry.row = rows.len() as u32;
            if let Some(slot) = self.points.get_mut(&row.id) {
                slot.row = entry.row;
            }
            rows.push(row);
        }
        self.rows = rows;
        self.names = names;
        self.free_rows.clear();
    }
}

impl PlaceIndex {
    pub fn new(tz: Tz) -> PlaceIndex {
        PlaceIndex::build(std::iter::empty(), tz, 0)
    }

    /// Builds the index in one bulk load (removed places are left out).
    pub fn build(pins: impl IntoIterator<Item = PlacePin>, tz: Tz, version: i64) -> PlaceIndex {
        let mut builder = PlaceIndex::builder();
        for pin in pins {
            builder.push(&pin);
        }
        builder.finish(tz, version)
    }

    /// Collects places one at a time in their compact form, for a cold load of many.
    pub fn builder() -> IndexBuilder {
        IndexBuilder { inner: Inner::empty(), entries: Vec::new() }
    }

    /// A handle that does not keep the index alive (for its background refresher).
    pub fn downgrade(&self) -> WeakPlaceIndex {
        WeakPlaceIndex { inner: Arc::downgrade(&self.inner), tz: self.tz }
    }

    fn read(&self) -> RwLockReadGuard<'_, Inner> {
        self.inner.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(|p| p.into_inner())
    }

    pub fn time_zone(&self) -> Tz {
        self.tz
    }

    pub fn len(&self) -> usize {
        self.read().tree.size()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The highest change applied.
    pub fn version(&self) -> i64 {
        self.read().version
    }

    /// Puts a place in (or moves or updates it); a removed place goes out.
    pub fn upsert(&self, pin: &PlacePin) {
        let Some(id) = parse_id(&pin.id) else { return };
        self.write().upsert(pin, id);
    }

    /// Applies changes read from the database up to `version`.
    pub fn apply(&self, pins: &[PlacePin], version: i64) {
        let mut inner = self.write();
        for pin in pins {
            if let Some(id) = parse_id(&pin.id) {
                inner.upsert(pin, id);
            }
        }
        inner.version = inner.version.max(version);
    }

    /// The nearest places that pass the filters, nearest first, at most `limit`, within the radius.
    pub fn nearby(&self, q: &NearbyQuery, now: Millis) -> Vec<Hit> {
        let mut hits = Vec::with_capacity(q.limit.min(128));
        self.nearby_each(q, now, |h| hits.push(h.to_hit()));
        hits
    }

    /// The same walk as `nearby`, handing each place to `f` as it is found, without copying it
    /// out of the index (the read lock is held meanwhile: keep `f` short).
    pub fn nearby_each(&self, q: &NearbyQuery, now: Millis, mut f: impl FnMut(&HitRef<'_>)) {
        let inner = self.read();
        let moment = LocalMoment::new(now, self.tz);
        let center = to_unit_sphere(q.center);
        let max_d2 = m_to_chord_2(q.radius_m);
        // Best first: a min-heap of tree nodes and places by their (lower-bound) distance. Nodes
        // beyond the radius and places the kind and amenity filters refuse never enter it.
        let mut heap: BinaryHeap<Near<'_>> = BinaryHeap::with_capacity(64);
        for child in inner.tree.root().children() {
            push_near(&mut heap, child, q, &center, max_d2);
        }
        // The places found, decided from the tree alone; their rows are read after the walk, all
        // at once, so that the first reads of the rows overlap instead of stalling one by one.
        let mut found: Vec<(&Entry, f64, Decision)> = Vec::with_capacity(q.limit.min(128));
        while found.len() < q.limit {
            let Some(Near { d2, node }) = heap.pop() else { break };
            match node {
                RTreeNode::Leaf(entry) => {
                    if let Some(decision) = decide(&inner, entry, q, &moment, now) {
                        found.push((entry, d2, decision));
                    }
                }
                RTreeNode::Parent(parent) => {
                    for child in parent.children() {
                        push_near(&mut heap, child, q, &center, max_d2);
                    }
                }
            }
        }
        for (entry, _, _) in &found {
            if let Some(row) = inner.rows.get(entry.row as usize) {
                std::hint::black_box(row.id as u8);
            }
        }
        for (entry, d2, decision) in found {
            if let Some(hit) = hit(&inner, entry, decision) {
                f(&HitRef { distance_m: chord_to_m(d2), ..hit });
            }
        }
    }

    /// The same answer by measuring every place: the yardstick for tests and benchmarks.
    pub fn nearby_brute_force(&self, q: &NearbyQuery, now: Millis) -> Vec<Hit> {
        let inner = self.read();
        let moment = LocalMoment::new(now, self.tz);
        let mut hits: Vec<Hit> = inner
            .tree
            .iter()
            .filter_map(|e| {
                let location = inner.rows[e.row as usize].location;
                let d = q.center.distance_m(location);
                if d > q.radius_m {
                    return None;
                }
                let decision = decide(&inner, e, q, &moment, now)?;
                hit(&inner, e, decision).map(|h| HitRef { distance_m: d, ..h }.to_hit())
            })
            .collect();
        hits.sort_by(|a, b| a.distance_m.total_cmp(&b.distance_m));
        hits.truncate(q.limit);
        hits
    }
}

/// Queues a node or a place for the walk, unless it lies beyond the radius or is a place the kind
/// and amenity filters refuse.
fn push_near<'a>(
    heap: &mut BinaryHeap<Near<'a>>,
    node: &'a RTreeNode<Entry>,
    q: &NearbyQuery,
    center: &[f64; 3],
    max_d2: f64,
) {
    let d2 = match node {
        RTreeNode::Leaf(e) if !q.kinds.allows(e.kind()) || !e.amenities.contains_all(q.amenities) => return,
        RTreeNode::Leaf(e) => e.distance_2(center),
        RTreeNode::Parent(p) => p.envelope().distance_2(center),
    };
    if d2 <= max_d2 {
        heap.push(Near { d2, node });
    }
}

/// What the filters decided about a place the walk reached, from its tree entry alone.
#[derive(Debug, Clone, Copy)]
struct Decision {
    status: StatusKind,
    open_now: bool,
}

/// The filters, applied to one place as the walk reaches it.
fn decide(inner: &Inner, e: &Entry, q: &NearbyQuery, moment: &LocalMoment, now: Millis) -> Option<Decision> {
    if !q.kinds.allows(e.kind()) || !e.amenities.contains_all(q.amenities) {
        return None;
    }
    let until = (e.status_until != NONE).then_some(Millis(e.status_until));
    let status = effective_status(e.status(), until, now);
    let hours_open = inner.hours.get(e.hours as usize).is_none_or(|h| h.is_open(moment));
    let open_now = is_open_now(status, hours_open);
    if q.open_now && !open_now {
        return None;
    }
    Some(Decision { status, open_now })
}

/// A place found, with what its row holds.
fn hit<'a>(inner: &'a Inner, e: &Entry, decision: Decision) -> Option<HitRef<'a>> {
    let row = inner.rows.get(e.row as usize)?;
    Some(HitRef {
        id: row.id,
        kind: e.kind(),
        name: inner.names.get(row.name),
        location: row.location,
        distance_m: 0.0,
        open_now: decision.open_now,
        status: decision.status,
        amenities: e.amenities,
        last_confirmed_at: (row.last_confirmed_at != NONE).then_some(Millis(row.last_confirmed_at)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::places::{Amenity, KindSet};

    fn pin(id: u128, lat: f64, lng: f64) -> PlacePin {
        PlacePin {
            id: uuid::Uuid::from_u128(id).to_string(),
            kind: PlaceKind::Station,
            name: format!("驿站{id}"),
            location: Gcj02::new(lat, lng).unwrap(),
            amenities: [Amenity::DrinkingWater].into_iter().collect(),
            hours_text: "24/7".into(),
            status: StatusKind::Open,
            status_until: None,
            last_confirmed_at: None,
            version: 1,
        }
    }

    fn query(lat: f64, lng: f64) -> NearbyQuery {
        NearbyQuery {
            center: Gcj02::new(lat, lng).unwrap(),
            radius_m: 3000.0,
            kinds: KindSet::default(),
            amenities: AmenitySet::default(),
            open_now: false,
            limit: 20,
        }
    }

    #[test]
    fn chord_and_metres_agree_with_haversine() {
        let (a, b) = (Gcj02::new(30.25, 120.11).unwrap(), Gcj02::new(30.30, 120.21).unwrap());
        let via_chord = chord_to_m(chord_2(&to_unit_sphere(a), &to_unit_sphere(b)));
        assert!((via_chord - a.distance_m(b)).abs() < 0.01, "{via_chord}");
        assert!((chord_to_m(m_to_chord_2(3000.0)) - 3000.0).abs() < 1e-6);
        let back = from_unit_sphere(&to_unit_sphere(a));
        assert!(a.distance_m(back) < 1e-6);
    }

    #[test]
    fn upserts_move_and_removals_drop_places() {
        let index = PlaceIndex::build([pin(1, 30.26, 120.15), pin(2, 30.27, 120.15)], chrono_tz::Asia::Shanghai, 0);
        assert_eq!(index.len(), 2);
        let hits = index.nearby(&query(30.26, 120.15), Millis(0));
        assert_eq!(hits[0].id, 1);
        let stale = pin(1, 30.50, 120.15);
        let mut moved = pin(1, 30.40, 120.15);
        moved.version = 2;
        index.upsert(&moved);
        index.upsert(&stale);
        let hits = index.nearby(&query(30.26, 120.15), Millis(0));
        assert_eq!(hits.len(), 1);
        let mut removed = pin(2, 30.27, 120.15);
        removed.status = StatusKind::Removed;
        removed.version = 3;
        index.upsert(&removed);
        assert!(index.nearby(&query(30.26, 120.15), Millis(0)).is_empty());
        assert_eq!(index.len(), 1);
    }

    /// A city's places as a plain list: what the index must agree with after any changes.
    struct Model {
        places: HashMap<u128, PlacePin>,
    }

    impl Model {
        fn nearest(&self, q: &NearbyQuery) -> Vec<(u128, String)> {
            let mut found: Vec<(f64, u128, String)> = self
                .places
                .iter()
                .filter(|(_, p)| p.status != StatusKind::Removed && q.kinds.allows(p.kind))
                .filter(|(_, p)| p.amenities.contains_all(q.amenities))
                .map(|(id, p)| (q.center.distance_m(p.location), *id, p.name.clone()))
                .filter(|(d, _, _)| *d <= q.radius_m)
                .collect();
            found.sort_by(|a, b| a.0.total_cmp(&b.0));
            found.into_iter().take(q.limit).map(|(_, id, name)| (id, name)).collect()
        }
    }

    fn random_pin(rng: &mut rand::rngs::StdRng, id: u128, version: i64) -> PlacePin {
        use rand::Rng;
        let mut p = pin(id, rng.random_range(30.20..30.35), rng.random_range(120.05..120.25));
        p.kind = PlaceKind::ALL[rng.random_range(0..PlaceKind::ALL.len())];
        p.amenities = Amenity::ALL.iter().copied().filter(|_| rng.random_bool(0.3)).collect();
        // Names of every length, some needing JSON escapes, some sharing a prefix.
        p.name = format!("驿站\"{}\"{}", id, "站".repeat(rng.random_range(0..40)));
        p.version = version;
        p
    }

    fn agrees(index: &PlaceIndex, model: &Model, rng: &mut rand::rngs::StdRng) {
        use rand::Rng;
        for _ in 0..60 {
            let mut q = query(rng.random_range(30.20..30.35), rng.random_range(120.05..120.25));
            q.radius_m = rng.random_range(200.0..8000.0);
            q.limit = rng.random_range(1..60);
            q.kinds = PlaceKind::ALL.iter().copied().filter(|_| rng.random_bool(0.5)).collect();
            q.amenities = Amenity::ALL.iter().copied().filter(|_| rng.random_bool(0.05)).collect();
            let got: Vec<(u128, String)> = index.nearby(&q, Millis(0)).into_iter().map(|h| (h.id, h.name)).collect();
            assert_eq!(got, model.nearest(&q), "{q:?}");
        }
    }

    #[test]
    fn moves_renames_and_removals_keep_the_walk_equal_to_measuring_every_place() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(14);
        let mut model = Model { places: HashMap::new() };
        for id in 1..=3000 {
            model.places.insert(id, random_pin(&mut rng, id, 1));
        }
        let index = PlaceIndex::build(model.places.values().cloned(), chrono_tz::Asia::Shanghai, 1);
        agrees(&index, &model, &mut rng);
        for version in 2..6000 {
            let id = rng.random_range(1..=3600);
            let mut next = random_pin(&mut rng, id, version);
            match rng.random_range(0..4) {
                // Renamed only, or with new amenities in place.
                0 => {
                    if let Some(old) = model.places.get(&id) {
                        next.location = old.location;
                    }
                }
                1 => next.status = StatusKind::Removed,
                _ => {}
            }
            index.upsert(&next);
            model.places.insert(id, next);
        }
        agrees(&index, &model, &mut rng);
        assert_eq!(index.len(), model.places.values().filter(|p| p.status != StatusKind::Removed).count());
        let dead_before = index.read().names.dead;
        assert!(dead_before > 0);
        index.write().relayout();
        assert_eq!(index.read().names.dead, 0);
        agrees(&index, &model, &mut rng);
    }

    #[test]
    fn the_name_block_is_compacted_once_more_than_half_is_dead() {
        let index = PlaceIndex::build([pin(1, 30.26, 120.15), pin(2, 30.27, 120.15)], chrono_tz::Asia::Shanghai, 1);
        let long = "长".repeat(20_000);
        for version in 2..200 {
            let mut p = pin(1, 30.26, 120.15);
            p.name = format!("{long}{version}");
            p.version = version;
            index.upsert(&p);
        }
        let inner = index.read();
        assert!(inner.names.text.len() <= 2 * COMPACT_AFTER_DEAD_BYTES + 2 * 60_010, "{}", inner.names.text.len());
        drop(inner);
        let hits = index.nearby(&query(30.26, 120.15), Millis(0));
        assert_eq!(hits[0].name, format!("{long}199"));
        assert_eq!(hits[1].name, "驿站2");
    }
}

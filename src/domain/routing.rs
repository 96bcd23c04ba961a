//! Jurisdictions and routing: which unit receives a report.
//!
//! A unit's jurisdiction is a MultiPolygon kept in GCJ-02. It comes from GeoJSON that a city
//! admin imports, checked here: only Polygon or MultiPolygon, `[longitude, latitude]` positions
//! inside mainland China (a swapped pair is caught and named), closed rings, no self-intersection.
//! Validity and point-in-polygon use georust `geo` (OGC rules, boundary-exact predicates) rather
//! than hand-written geometry.
//!
//! Routing (as FixMyStreet routes by area → body → contact per category): the department
//! assigned to the report's category whose jurisdiction covers the point; else the street office
//! whose jurisdiction contains it; else the city's fallback unit. Candidates come from an R*-tree
//! of bounding boxes, so a point is tested only against the few polygons whose box holds it.
//! A point strictly inside wins over one on a boundary; a point on the shared border of two units
//! goes to the one created first (the smaller id), so the answer never depends on load order.

use std::collections::{HashMap, HashSet};

use geo::coordinate_position::CoordPos;
use geo::{BoundingRect, Coord, CoordinatePosition, LineString, MultiPolygon, Polygon, Validation};
use rstar::RTree;
use rstar::primitives::{GeomWithData, Rectangle};
use serde_json::Value;

use super::DomainError;
use super::error::ErrorCode;
use super::geo::{Bbox, CoordSystem, Gcj02, out_of_china};
use super::report::Category;

/// The most vertices one jurisdiction may have.
pub const MAX_VERTICES: usize = 200_000;

/// Which of the three kinds a unit is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UnitKind {
    /// 街道办事处: covers an area for every category.
    StreetOffice,
    /// 主管部门: covers its area for the categories assigned to it.
    Department,
    /// The city's fallback queue for points no jurisdiction covers.
    Fallback,
}

impl UnitKind {
    pub fn as_str(self) -> &'static str {
        match self {
            UnitKind::StreetOffice => "street_office",
            UnitKind::Department => "department",
            UnitKind::Fallback => "fallback",
        }
    }
}

impl std::str::FromStr for UnitKind {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "street_office" => Ok(UnitKind::StreetOffice),
            "department" => Ok(UnitKind::Department),
            "fallback" => Ok(UnitKind::Fallback),
            other => Err(DomainError::invalid("kind", format!("unknown unit kind `{other}`"))),
        }
    }
}

/// A unit that acts on reports: a street office, a department or the fallback queue. (Stored as
/// a row of the `offices` table, which is why the API calls its id `office_id`.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unit {
    pub id: String,
    pub city_id: String,
    pub kind: UnitKind,
    pub name: String,
}

/// A valid jurisdiction in GCJ-02 (x = longitude, y = latitude).
#[derive(Debug, Clone, PartialEq)]
pub struct Area {
    shape: MultiPolygon<f64>,
    bbox: Bbox,
}

impl Area {
    /// Reads a GeoJSON Polygon or MultiPolygon (bare, or as the geometry of a Feature) whose
    /// positions are in `system`, converting them to GCJ-02.
    pub fn from_geojson(value: &Value, system: CoordSystem) -> Result<Area, DomainError> {
        let geometry = match value.get("type").and_then(Value::as_str) {
            Some("Feature") => value.get("geometry").ok_or_else(|| bad("a Feature without a geometry"))?,
            _ => value,
        };
        let coords = geometry.get("coordinates").ok_or_else(|| bad("no `coordinates`"))?;
        let polygons = match geometry.get("type").and_then(Value::as_str) {
            Some("Polygon") => vec![read_polygon(coords, 0, system)?],
            Some("MultiPolygon") => array(coords, "MultiPolygon coordinates")?
                .iter()
                .enumerate()
                .map(|(i, p)| read_polygon(p, i, system))
                .collect::<Result<_, _>>()?,
            Some(other) => return Err(bad(format!("a jurisdiction is a Polygon or MultiPolygon, not a {other}"))),
            None => return Err(bad("no geometry `type`")),
        };
        if polygons.is_empty() {
            return Err(bad("a MultiPolygon without polygons"));
        }
        let vertices: usize = polygons.iter().map(|p| p.exterior().0.len()).sum();
        if vertices > MAX_VERTICES {
            return Err(bad(format!("more than {MAX_VERTICES} vertices")));
        }
        let shape = MultiPolygon(polygons);
        if let Some(problem) = shape.validation_errors().into_iter().next() {
            return Err(bad(format!("invalid geometry: {problem}")));
        }
        Area::from_shape(shape)
    }

    /// The area as stored: a GCJ-02 MultiPolygon in GeoJSON.
    pub fn from_stored(text: &str) -> Result<Area, DomainError> {
        let value: Value = serde_json::from_str(text).map_err(DomainError::internal)?;
        Area::from_geojson(&value, CoordSystem::Gcj02)
    }

    fn from_shape(shape: MultiPolygon<f64>) -> Result<Area, DomainError> {
        let rect = shape.bounding_rect().ok_or_else(|| bad("an empty geometry"))?;
        let bbox = Bbox { min_lat: rect.min().y, min_lng: rect.min().x, max_lat: rect.max().y, max_lng: rect.max().x };
        Ok(Area { shape, bbox })
    }

    /// A rectangle, for tests and the demo city.
    pub fn rectangle(min_lat: f64, min_lng: f64, max_lat: f64, max_lng: f64) -> Result<Area, DomainError> {
        let ring =
            vec![(min_lng, min_lat), (max_lng, min_lat), (max_lng, max_lat), (min_lng, max_lat), (min_lng, min_lat)];
        Area::from_shape(MultiPolygon(vec![Polygon::new(LineString::from(ring), vec![])]))
    }

    pub fn bbox(&self) -> Bbox {
        self.bbox
    }

    /// The GeoJSON MultiPolygon the store keeps (GCJ-02).
    pub fn to_geojson(&self) -> Value {
        let ring = |ls: &LineString<f64>| ls.0.iter().map(|c| vec![c.x, c.y]).collect::<Vec<_>>();
        let polygons: Vec<_> = self
            .shape
            .0
            .iter()
            .map(|p| std::iter::once(ring(p.exterior())).chain(p.interiors().iter().map(ring)).collect::<Vec<_>>())
            .collect();
        serde_json::json!({ "type": "MultiPolygon", "coordinates": polygons })
    }

    /// Where the point lies: inside, on the boundary, or outside.
    pub fn position(&self, point: Gcj02) -> CoordPos {
        self.shape.coordinate_position(&Coord { x: point.lng(), y: point.lat() })
    }
}

fn bad(reason: impl Into<String>) -> DomainError {
    DomainError::invalid("geojson", reason)
}

fn array<'a>(v: &'a Value, what: &str) -> Result<&'a Vec<Value>, DomainError> {
    v.as_array().ok_or_else(|| bad(format!("{what} must be an array")))
}

fn read_polygon(v: &Value, index: usize, system: CoordSystem) -> Result<Polygon<f64>, DomainError> {
    let rings = array(v, &format!("polygon {index}"))?;
    if rings.is_empty() {
        return Err(bad(format!("polygon {index} has no rings")));
    }
    let mut read = rings.iter().enumerate().map(|(r, ring)| read_ring(ring, index, r, system));
    let exterior = read.next().ok_or_else(|| bad(format!("polygon {index} has no rings")))??;
    let interiors = read.collect::<Result<Vec<_>, _>>()?;
    Ok(Polygon::new(exterior, interiors))
}

fn read_ring(v: &Value, polygon: usize, ring: usize, system: CoordSystem) -> Result<LineString<f64>, DomainError> {
    let at = format!("polygon {polygon}, ring {ring}");
    let positions = array(v, &at)?;
    if positions.len() < 4 {
        return Err(bad(format!("{at}: a ring needs at least 4 positions (the last repeating the first)")));
    }
    let mut coords = Vec::with_capacity(positions.len());
    for (i, p) in positions.iter().enumerate() {
        let pair =
            p.as_array().filter(|a| a.len() >= 2).ok_or_else(|| bad(format!("{at}, position {i}: not [lng, lat]")))?;
        let numbers: Option<Vec<f64>> = pair.iter().map(Value::as_f64).collect();
        let Some(&[lng, lat, ..]) = numbers.as_deref() else {
            return Err(bad(format!("{at}, position {i}: not numbers")));
        };
        coords.push(read_position(lng, lat, system).map_err(|reason| bad(format!("{at}, position {i}: {reason}")))?);
    }
    // Compare as given: a conversion could not open or close a ring.
    let (first, last) = (&positions[0], &positions[positions.len() - 1]);
    if first != last {
        return Err(bad(format!("{at} is not closed: its last position must repeat its first")));
    }
    if let (Some(f), Some(l)) = (coords.first().copied(), coords.last_mut()) {
        *l = f;
    }
    Ok(LineString::from(coords))
}

/// One GeoJSON position, `[longitude, latitude]`, as a GCJ-02 coordinate.
fn read_position(lng: f64, lat: f64, system: CoordSystem) -> Result<Coord<f64>, String> {
    let swapped_hint = "positions are [longitude, latitude]; this looks like [latitude, longitude]";
    if !lat.is_finite() || !lng.is_finite() {
        return Err("not a finite number".into());
    }
    if !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lng) {
        let looks_swapped = (-90.0..=90.0).contains(&lng) && !out_of_china(lng, lat);
        return Err(if looks_swapped { swapped_hint.into() } else { "out of range".into() });
    }
    if out_of_china(lat, lng) {
        return Err(if !out_of_china(lng, lat) {
            swapped_hint.into()
        } else {
            format!("({lng}, {lat}) is outside mainland China")
        });
    }
    let p = Gcj02::from_system(lat, lng, system).map_err(|e| e.to_string())?;
    Ok(Coord { x: p.lng(), y: p.lat() })
}

/// Why a report went where it went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteReason {
    /// The category's department covers the point.
    CategoryDepartment,
    /// The street office's jurisdiction contains the point.
    StreetOffice,
    /// No jurisdiction covers the point: the city's fallback queue.
    Fallback,
    /// A clerk transferred it to a unit they named.
    Transfer,
}

impl RouteReason {
    pub fn as_str(self) -> &'static str {
        match self {
            RouteReason::CategoryDepartment => "category_department",
            RouteReason::StreetOffice => "street_office",
            RouteReason::Fallback => "fallback",
            RouteReason::Transfer => "transfer",
        }
    }
}

impl std::str::FromStr for RouteReason {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "category_department" => Ok(RouteReason::CategoryDepartment),
            "street_office" => Ok(RouteReason::StreetOffice),
            "fallback" => Ok(RouteReason::Fallback),
            "transfer" => Ok(RouteReason::Transfer),
            other => Err(DomainError::invalid("route_reason", format!("unknown `{other}`"))),
        }
    }
}

/// Where routing sends a report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteDecision {
    pub office_id: String,
    pub reason: RouteReason,
}

/// A unit with a jurisdiction, as the index holds it.
#[derive(Debug, Clone)]
pub struct UnitArea {
    pub office_id: String,
    pub kind: UnitKind,
    pub area: Area,
}

/// Everything routing needs, in memory: jurisdictions behind an R*-tree of their boxes, the
/// category → department assignments, and the fallback unit.
#[derive(Debug)]
pub struct RoutingIndex {
    units: Vec<UnitArea>,
    tree: RTree<GeomWithData<Rectangle<[f64; 2]>, usize>>,
    departments: HashMap<Category, HashSet<String>>,
    fallback: Option<String>,
}

impl Default for RoutingIndex {
    fn default() -> Self {
        RoutingIndex::new(Vec::new(), Vec::new(), None)
    }
}

impl RoutingIndex {
    pub fn new(units: Vec<UnitArea>, assignments: Vec<(Category, String)>, fallback: Option<String>) -> Self {
        let boxes = units
            .iter()
            .enumerate()
            .map(|(i, u)| {
                let b = u.area.bbox();
                GeomWithData::new(Rectangle::from_corners([b.min_lng, b.min_lat], [b.max_lng, b.max_lat]), i)
            })
            .collect();
        let mut departments: HashMap<Category, HashSet<String>> = HashMap::new();
        for (category, office_id) in assignments {
            departments.entry(category).or_default().insert(office_id);
        }
        RoutingIndex { units, tree: RTree::bulk_load(boxes), departments, fallback }
    }

    /// The street office whose jurisdiction holds `point` (the first by id where outlines
    /// touch), if any: the area points earned there count towards.
    pub fn street_office_at(&self, point: Gcj02) -> Option<String> {
        let mut inside: Vec<&str> = self
            .tree
            .locate_all_at_point(&[point.lng(), point.lat()])
            .map(|hit| &self.units[hit.data])
            .filter(|u| u.kind == UnitKind::StreetOffice && u.area.position(point) != CoordPos::Outside)
            .map(|u| u.office_id.as_str())
            .collect();
        inside.sort_unstable();
        inside.first().map(|id| id.to_string())
    }

    /// The unit for a report of `category` at `point`, never one of `exclude` (a transfer
    /// routes again without the unit that gave the report away).
    pub fn route(&self, point: Gcj02, category: Category, exclude: &[&str]) -> Result<RouteDecision, DomainError> {
        // Candidates: units whose box holds the point, then the exact test; (inside?, id) ranks.
        let mut covering: Vec<(&UnitArea, bool)> = self
            .tree
            .locate_all_at_point(&[point.lng(), point.lat()])
            .map(|hit| &self.units[hit.data])
            .filter(|u| !exclude.contains(&u.office_id.as_str()))
            .filter_map(|u| match u.area.position(point) {
                CoordPos::Inside => Some((u, true)),
                CoordPos::OnBoundary => Some((u, false)),
                CoordPos::Outside => None,
            })
            .collect();
        covering.sort_by(|(a, a_in), (b, b_in)| b_in.cmp(a_in).then_with(|| a.office_id.cmp(&b.office_id)));
        let assigned = self.departments.get(&category);
        let pick = |kind: UnitKind, reason: RouteReason| {
            covering
                .iter()
                .find(|(u, _)| {
                    u.kind == kind
                        && (kind != UnitKind::Department || assigned.is_some_and(|d| d.contains(&u.office_id)))
                })
                .map(|(u, _)| RouteDecision { office_id: u.office_id.clone(), reason })
        };
        if let Some(found) = pick(UnitKind::Department, RouteReason::CategoryDepartment)
            .or_else(|| pick(UnitKind::StreetOffice, RouteReason::StreetOffice))
        {
            return Ok(found);
        }
        match &self.fallback {
            Some(id) if !exclude.contains(&id.as_str()) => {
                Ok(RouteDecision { office_id: id.clone(), reason: RouteReason::Fallback })
            }
            _ => Err(DomainError::conflict(ErrorCode::NoUnit, "no unit can receive this report")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn p(lat: f64, lng: f64) -> Gcj02 {
        Gcj02::new(lat, lng).unwrap()
    }

    /// Three adjacent bands west to east (a, b, c), a market regulator over all of them for food
    /// safety, and a fallback.
    fn city() -> RoutingIndex {
        let band = |id: &str, w: f64, e: f64| UnitArea {
            office_id: id.into(),
            kind: UnitKind::StreetOffice,
            area: Area::rectangle(30.24, w, 30.31, e).unwrap(),
        };
        let units = vec![
            band("b-office", 120.14, 120.18),
            band("a-office", 120.10, 120.14),
            band("c-office", 120.18, 120.22),
            UnitArea {
                office_id: "market".into(),
                kind: UnitKind::Department,
                area: Area::rectangle(30.24, 120.10, 30.31, 120.22).unwrap(),
            },
        ];
        RoutingIndex::new(units, vec![(Category::FoodSafety, "market".into())], Some("fallback".into()))
    }

    #[test]
    fn routing_against_known_polygons() {
        let idx = city();
        let road = Category::RoadDamage;
        let go = |point, category| idx.route(point, category, &[]).unwrap();
        // Inside the middle band.
        assert_eq!(
            go(p(30.27, 120.16), road),
            RouteDecision { office_id: "b-office".into(), reason: RouteReason::StreetOffice }
        );
        // Outside every band: the fallback.
        assert_eq!(
            go(p(30.40, 120.16), road),
            RouteDecision { office_id: "fallback".into(), reason: RouteReason::Fallback }
        );
        // On the border of a and b: the unit created first (smallest id).
        assert_eq!(go(p(30.27, 120.14), road).office_id, "a-office");
        // On the outer edge of c only: still c.
        assert_eq!(go(p(30.27, 120.22), road).office_id, "c-office");
        // The department assigned to the category wins over the street office.
        assert_eq!(
            go(p(30.27, 120.16), Category::FoodSafety),
            RouteDecision { office_id: "market".into(), reason: RouteReason::CategoryDepartment }
        );
        // A department covers only its assigned categories.
        assert_eq!(go(p(30.27, 120.20), Category::Environment).office_id, "c-office");
        // A transfer routes again without the unit that gave it away.
        assert_eq!(idx.route(p(30.27, 120.16), road, &["b-office"]).unwrap().office_id, "fallback");
        assert_eq!(idx.route(p(30.27, 120.16), Category::FoodSafety, &["market"]).unwrap().office_id, "b-office");
    }

    #[test]
    fn no_fallback_and_nothing_covering_is_a_conflict() {
        let idx = RoutingIndex::default();
        assert!(idx.route(p(30.0, 120.0), Category::Other, &[]).is_err());
    }

    fn square(ring: Value) -> Value {
        json!({ "type": "Polygon", "coordinates": [ring] })
    }

    fn reason(v: Value) -> String {
        match Area::from_geojson(&v, CoordSystem::Gcj02) {
            Err(DomainError::Invalid { reason, .. }) => reason,
            other => panic!("accepted: {other:?}"),
        }
    }

    #[test]
    fn valid_geojson_is_read_and_round_trips() {
        let poly = square(json!([[120.1, 30.2], [120.2, 30.2], [120.2, 30.3], [120.1, 30.3], [120.1, 30.2]]));
        let area =
            Area::from_geojson(&json!({ "type": "Feature", "properties": {}, "geometry": poly }), CoordSystem::Gcj02)
                .unwrap();
        assert_eq!(area.bbox(), Bbox { min_lat: 30.2, min_lng: 120.1, max_lat: 30.3, max_lng: 120.2 });
        assert_eq!(Area::from_stored(&area.to_geojson().to_string()).unwrap(), area);
        assert_eq!(area.position(p(30.25, 120.15)), CoordPos::Inside);
        // WGS-84 input is shifted into GCJ-02 (by a few hundred metres here).
        let wgs = Area::from_geojson(&poly, CoordSystem::Wgs84).unwrap();
        assert!(wgs.bbox().min_lng > 120.1 && wgs.bbox().min_lat < 30.2);
    }

    #[test]
    fn invalid_geojson_is_refused_with_a_clear_reason() {
        let short = square(json!([[120.1, 30.2], [120.2, 30.2], [120.1, 30.2]]));
        assert!(reason(short).contains("needs at least 4"));
        let unclosed = square(json!([[120.1, 30.2], [120.2, 30.2], [120.2, 30.3], [120.1, 30.3]]));
        assert!(reason(unclosed).contains("not closed"));
        let unclosed = square(json!([[120.1, 30.2], [120.2, 30.2], [120.2, 30.3], [120.1, 30.3], [120.1, 30.25]]));
        assert!(reason(unclosed).contains("not closed"), "closed?");
        let bowtie = square(json!([[120.1, 30.2], [120.2, 30.3], [120.2, 30.2], [120.1, 30.3], [120.1, 30.2]]));
        assert!(reason(bowtie).contains("self-intersection"));
        let swapped = square(json!([[30.2, 120.1], [30.2, 120.2], [30.3, 120.2], [30.3, 120.1], [30.2, 120.1]]));
        assert!(reason(swapped).contains("[longitude, latitude]"));
        assert!(reason(json!({ "type": "Point", "coordinates": [120.1, 30.2] })).contains("Polygon or MultiPolygon"));
        assert!(reason(json!({ "type": "Polygon" })).contains("coordinates"));
        assert!(
            reason(square(json!([[0.1, 0.2], [0.2, 0.2], [0.2, 0.3], [0.1, 0.2]]))).contains("outside mainland China")
        );
    }
}

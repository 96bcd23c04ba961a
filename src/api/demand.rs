//! The demand map for city planners: where riders' nearby searches find nothing open, as
//! GeoJSON cells or CSV, and the places nobody is shown or uses.

use chrono::{DateTime, Utc};
use poem::web::Data;
use poem::{IntoResponse, Response};
use poem_openapi::param::Query;
use poem_openapi::payload::Json;
use poem_openapi::registry::{MetaMediaType, MetaResponse, MetaResponses, Registry};
use poem_openapi::types::{ToJSON, Type};
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};

use super::ApiTags;
use super::dto::{CoordDto, coord_of};
use super::error::codes::*;
use super::error::{ApiResult, SignedAs};
use super::geojson::{
    FeatureCollectionType, FeatureType, GeoJsonLinearRing, GeoJsonPolygonCoordinates, GeoJsonPosition,
};
use super::places::{AmenityDto, PlaceKindDto};
use super::security::StaffAuth;
use crate::domain::demand::Asked;
use crate::domain::geo::{CoordSystem, Gcj02, MapBox};
use crate::domain::places::{Amenity, PlaceKind};
use crate::domain::time::Millis;
use crate::service::demand::{self as service, DemandCell, DemandFilter};
use crate::state::AppState;

/// `"Polygon"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum PolygonType {
    Polygon,
}

/// A cell's outline, `[longitude, latitude]` in the system asked for.
#[derive(Debug, Object)]
#[oai(rename = "DemandCellPolygon")]
pub struct CellPolygon {
    #[oai(rename = "type")]
    pub kind: PolygonType,
    pub coordinates: GeoJsonPolygonCoordinates,
}

/// What a cell counted over the period.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct DemandCounts {
    /// The cell: a level-6 geohash of GCJ-02 coordinates (about 1.2 km × 0.6 km).
    pub cell: String,
    /// Nearby searches from the cell asking for this kind (and amenity).
    pub searches: i64,
    /// Of them, those that found no open place with everything asked for.
    pub unmet: i64,
    /// `unmet / searches`, 0 to 1.
    pub unmet_share: f64,
    /// Metres from the cell's centre to the nearest existing place of the kind (with the
    /// amenity) asked, open or not; absent when none is within 20 km.
    pub nearest_place_m: Option<f64>,
}

/// One cell of the map.
#[derive(Debug, Object)]
#[oai(rename = "DemandFeature")]
pub struct DemandFeature {
    #[oai(rename = "type")]
    pub kind: FeatureType,
    pub geometry: CellPolygon,
    pub properties: DemandCounts,
}

/// Unmet demand as a GeoJSON FeatureCollection: cells with at least `min_searches` searches,
/// most unmet first.
#[derive(Debug, Object)]
#[oai(rename = "DemandMap")]
pub struct DemandMap {
    #[oai(rename = "type")]
    pub kind: FeatureCollectionType,
    pub features: Vec<DemandFeature>,
    /// Cells with fewer searches in the period are left out.
    pub min_searches: i64,
}

/// The map as GeoJSON, or with `format=csv` the same cells as a table. One `200` with two media
/// types (the derive would write the `200` key twice, which strict parsers refuse).
pub enum DemandReply {
    Map(DemandMap),
    Csv(String),
}

const CSV_TYPE: &str = "text/csv; charset=utf-8";
const GEOJSON_TYPE: &str = "application/geo+json";

impl ApiResponse for DemandReply {
    fn meta() -> MetaResponses {
        MetaResponses {
            responses: vec![MetaResponse {
                description: "The cells: GeoJSON by default, or with `format=csv` a table (cell, centre, searches, unmet, unmet_share, nearest_place_m)",
                status: Some(200),
                status_range: None,
                content: vec![
                    MetaMediaType { content_type: GEOJSON_TYPE, schema: DemandMap::schema_ref() },
                    MetaMediaType { content_type: CSV_TYPE, schema: String::schema_ref() },
                ],
                headers: vec![],
            }],
        }
    }

    fn register(registry: &mut Registry) {
        DemandMap::register(registry);
        String::register(registry);
    }
}

impl IntoResponse for DemandReply {
    fn into_response(self) -> Response {
        match self {
            DemandReply::Map(map) => {
                let body = map.to_json().map(|v| v.to_string()).unwrap_or_default();
                body.with_content_type(GEOJSON_TYPE).into_response()
            }
            DemandReply::Csv(text) => text
                .with_content_type(CSV_TYPE)
                .with_header("Content-Disposition", "attachment; filename=\"demand.csv\"")
                .into_response(),
        }
    }
}

/// `geojson` (default) or `csv`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "lowercase")]
pub enum DemandFormat {
    Geojson,
    Csv,
}

/// `all` (every search) or a kind of place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum AskedDto {
    All,
    Station,
    ParkingZone,
    FriendlySite,
}

impl From<AskedDto> for Asked {
    fn from(a: AskedDto) -> Asked {
        match a {
            AskedDto::All => Asked::All,
            AskedDto::Station => Asked::Kind(PlaceKind::Station),
            AskedDto::ParkingZone => Asked::Kind(PlaceKind::ParkingZone),
            AskedDto::FriendlySite => Asked::Kind(PlaceKind::FriendlySite),
        }
    }
}

/// A place nobody checked in at and few riders were shown in the period.
#[derive(Debug, Object)]
pub struct IdlePlaceDto {
    pub id: String,
    pub kind: PlaceKindDto,
    pub name: String,
    pub lat: f64,
    pub lng: f64,
    /// How many search results showed it in the period.
    pub shown: i64,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Object)]
pub struct IdlePlaces {
    pub items: Vec<IdlePlaceDto>,
}

/// The period: `from` (default 30 days before `to`) to `to` (default now).
fn period(from: Option<DateTime<Utc>>, to: Option<DateTime<Utc>>) -> (Millis, Millis) {
    let to = to.map(|d| Millis::from_datetime(&d)).unwrap_or_else(Millis::now);
    let from = from.map(|d| Millis::from_datetime(&d)).unwrap_or(Millis(to.0 - 30 * 86_400_000));
    (from, to)
}

fn feature(c: &DemandCell, system: CoordSystem) -> DemandFeature {
    let [w, s, e, n] = c.cell.bounds();
    let corner = |lat: f64, lng: f64| {
        let (lat, lng) = Gcj02::new(lat, lng).map(|p| p.in_system(system)).unwrap_or((lat, lng));
        GeoJsonPosition(vec![lng, lat])
    };
    let ring = vec![corner(s, w), corner(s, e), corner(n, e), corner(n, w), corner(s, w)];
    DemandFeature {
        kind: FeatureType::Feature,
        geometry: CellPolygon {
            kind: PolygonType::Polygon,
            coordinates: GeoJsonPolygonCoordinates(vec![GeoJsonLinearRing(ring)]),
        },
        properties: counts(c),
    }
}

fn counts(c: &DemandCell) -> DemandCounts {
    DemandCounts {
        cell: c.cell.as_str().to_string(),
        searches: c.tally.searches,
        unmet: c.tally.unmet,
        unmet_share: (c.tally.unmet_share() * 1000.0).round() / 1000.0,
        nearest_place_m: c.nearest_place_m.map(f64::round),
    }
}

fn csv(cells: &[DemandCell], system: CoordSystem) -> String {
    let mut out = String::from("cell,center_lat,center_lng,searches,unmet,unmet_share,nearest_place_m\n");
    for c in cells {
        let (lat, lng) = c.cell.center().map(|p| p.in_system(system)).unwrap_or_default();
        let d = counts(c);
        let nearest = d.nearest_place_m.map(|m| format!("{m:.0}")).unwrap_or_default();
        out.push_str(&format!(
            "{},{lat:.6},{lng:.6},{},{},{:.3},{nearest}\n",
            d.cell, d.searches, d.unmet, d.unmet_share
        ));
    }
    out
}

#[derive(Default)]
pub struct DemandApi;

#[OpenApi(tag = "ApiTags::Planning")]
impl DemandApi {
    /// Where riders search and find nothing (city admins, departments)
    ///
    /// Every nearby search counts, per map cell (a level-6 geohash, about 1.2 km × 0.6 km) and
    /// hour: how many searched, and how many found no open place with everything they asked
    /// for. Nothing names a rider or a point. Cells with fewer than `min_searches` searches in
    /// the period (10 unless configured) are left out, so no one rider's routine shows. Most
    /// unmet first, each with the distance to the nearest place of the kind asked. Counts
    /// older than 30 days are kept per day, older than a year per month, so a period reaching
    /// that far back counts whole days or months. `format=csv` gives the same cells as a table.
    #[oai(path = "/admin/demand", method = "get", operation_id = "demand_map")]
    #[allow(clippy::too_many_arguments)]
    async fn map(
        &self,
        state: Data<&AppState>,
        StaffAuth(staff): StaffAuth,
        /// Searches at or after (RFC 3339); 30 days before `to` by default.
        from: Query<Option<DateTime<Utc>>>,
        /// Searches before (RFC 3339); now by default.
        to: Query<Option<DateTime<Utc>>>,
        /// What the searches asked for: `all` (default: every search) or one kind of place.
        kind: Query<Option<AskedDto>>,
        /// Only searches that asked for this amenity, and whether they found an open place with it.
        amenity: Query<Option<AmenityDto>>,
        /// Only cells whose centre is in this box: `minLng,minLat,maxLng,maxLat` in `coord`.
        #[oai(validator(
            max_length = 200,
            pattern = r"^-?(180(\.0+)?|(1[0-7][0-9]|[1-9]?[0-9])(\.[0-9]+)?),-?(90(\.0+)?|[1-8]?[0-9](\.[0-9]+)?),-?(180(\.0+)?|(1[0-7][0-9]|[1-9]?[0-9])(\.[0-9]+)?),-?(90(\.0+)?|[1-8]?[0-9](\.[0-9]+)?)$"
        ))]
        bbox: Query<Option<String>>,
        /// gcj02 (default) or wgs84, for `bbox` and the cells' outlines.
        coord: Query<Option<CoordDto>>,
        /// `geojson` (default) or `csv`.
        format: Query<Option<DemandFormat>>,
        /// At most this many cells, 1 to 5000 (default 500).
        #[oai(validator(minimum(value = "1"), maximum(value = "5000")))]
        limit: Query<Option<u32>>,
    ) -> ApiResult<DemandReply, (SignedAs, InvalidParameter, InvalidInput, Forbidden)> {
        let system = coord_of(coord.0);
        let (from, to) = period(from.0, to.0);
        let filter = DemandFilter {
            from,
            to,
            asked: kind.0.unwrap_or(AskedDto::All).into(),
            amenity: amenity.0.map(Amenity::from),
            bbox: bbox.0.as_deref().map(|b| MapBox::parse(b, system)).transpose()?,
            limit: limit.0.unwrap_or(500) as usize,
        };
        let cells = service::map(&state.demand(), &staff, &filter).await?;
        Ok(match format.0.unwrap_or(DemandFormat::Geojson) {
            DemandFormat::Geojson => DemandReply::Map(DemandMap {
                kind: FeatureCollectionType::FeatureCollection,
                features: cells.iter().map(|c| feature(c, system)).collect(),
                min_searches: state.config.demand_min_searches,
            }),
            DemandFormat::Csv => DemandReply::Csv(csv(&cells, system)),
        })
    }

    /// Places nobody uses (city admins, departments)
    ///
    /// Places without a single check-in in the period and shown in search results at most
    /// `max_shown` times, least shown first: candidates to move where the map shows demand.
    #[oai(path = "/admin/demand/idle-places", method = "get", operation_id = "demand_idle_places")]
    #[allow(clippy::too_many_arguments)]
    async fn idle_places(
        &self,
        state: Data<&AppState>,
        StaffAuth(staff): StaffAuth,
        /// At or after (RFC 3339); 30 days before `to` by default.
        from: Query<Option<DateTime<Utc>>>,
        /// Before (RFC 3339); now by default.
        to: Query<Option<DateTime<Utc>>>,
        /// Only places of this kind.
        kind: Query<Option<PlaceKindDto>>,
        /// Shown in search results at most this often (default 10).
        #[oai(validator(minimum(value = "0"), maximum(value = "1000000")))]
        max_shown: Query<Option<i64>>,
        /// At most this many places, 1 to 1000 (default 100).
        #[oai(validator(minimum(value = "1"), maximum(value = "1000")))]
        limit: Query<Option<u32>>,
    ) -> ApiResult<Json<IdlePlaces>, (SignedAs, InvalidParameter, Forbidden)> {
        let (from, to) = period(from.0, to.0);
        let found = service::idle_places(
            &state.demand(),
            &staff,
            from,
            to,
            kind.0.map(PlaceKind::from),
            max_shown.0.unwrap_or(10),
            i64::from(limit.0.unwrap_or(100)),
        )
        .await?;
        let items = found
            .into_iter()
            .filter_map(|p| {
                Some(IdlePlaceDto {
                    kind: p.kind.parse::<PlaceKind>().ok()?.into(),
                    id: p.id,
                    name: p.name,
                    lat: p.lat,
                    lng: p.lng,
                    shown: p.shown,
                    created_at: p.created_at.to_utc(),
                })
            })
            .collect();
        Ok(Json(IdlePlaces { items }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::demand::Cell;

    #[test]
    fn a_cell_outline_is_a_closed_ring_around_its_centre() {
        let cell = Cell::of(Gcj02::new(30.2741, 120.1551).unwrap());
        let c = DemandCell { cell, tally: Default::default(), nearest_place_m: None };
        let f = feature(&c, CoordSystem::Gcj02);
        let ring = &f.geometry.coordinates.0[0].0;
        assert_eq!(ring.len(), 5);
        assert_eq!(ring[0].0, ring[4].0);
        assert!(ring.iter().all(|p| (p.0[0] - 120.155).abs() < 0.01 && (p.0[1] - 30.274).abs() < 0.01));
    }
}

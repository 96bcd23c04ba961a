//! `GET /api/v1/places/nearby` without the router: the request riders make on every map move.
//!
//! Nearby search costs barely more than a health check in the index and the JSON writer; what
//! made it cost twice as much was the way in (poem's router, the nest's URI rewrite, the OpenAPI
//! service's own router, query parsing into owned strings, one extractor per parameter). So the
//! plainest spelling of the request is answered here, before the router, by the same code the
//! typed handler (`api::places`) runs after its extractors: `places::NearbyParams::answer`.
//!
//! Only requests whose every parameter is spelled plainly are taken: each key known and given
//! once (the repeatable `kind` and `amenity` within their limits), no percent-encoding and no `+`,
//! every value parsed by poem-openapi's own parser for its type and inside the limits the spec
//! declares. Anything else, including every request that must be refused, goes on to the typed
//! handler, so errors, their shape and the spec stay poem-openapi's. `tests/api/nearby_paths.rs`
//! asks both paths the same questions and compares the answers byte for byte.

use poem::http::Method;
use poem::{Endpoint, IntoResponse, Request, Response};
use poem_openapi::OperationId;
use poem_openapi::types::ParseFromParameter;

use super::places::{AmenityDto, CoordDto, NEARBY_LIMITS, NearbyParams, PlaceKindDto};
use crate::state::AppState;

/// The operation's full path and its `operationId` (for metrics and logs, as the typed one sets it).
pub const PATH: &str = "/api/v1/places/nearby";
const OPERATION_ID: &str = "places_nearby";

/// Middleware in front of the routes: answers a plainly spelled nearby search, passes on the rest.
pub async fn serve_plain<E: Endpoint>(next: E, req: Request) -> poem::Result<Response> {
    if let Some(answer) = answer_plain(&req) {
        return Ok(answer);
    }
    next.call(req).await.map(IntoResponse::into_response)
}

fn answer_plain(req: &Request) -> Option<Response> {
    if req.method() != Method::GET || req.uri().path() != PATH {
        return None;
    }
    let state = req.data::<AppState>()?;
    if !state.config.nearby_fast_path {
        return None;
    }
    let params = parse_plain(req.uri().query()?)?;
    let page = params.answer(state).ok()?;
    state.metrics.count_plain_nearby();
    let mut response = page.into_response();
    response.set_data(OperationId(OPERATION_ID));
    Some(response)
}

/// The parameters, if every one is spelled plainly and within its limits; `None` sends the
/// request to the typed handler.
pub fn parse_plain(query: &str) -> Option<NearbyParams> {
    if query.bytes().any(|b| b == b'%' || b == b'+') {
        return None;
    }
    let mut lat = None;
    let mut lng = None;
    let mut coord = None;
    let mut radius_m = None;
    let mut open_now = None;
    let mut limit = None;
    let mut kinds: Vec<PlaceKindDto> = Vec::new();
    let mut amenities: Vec<AmenityDto> = Vec::new();
    let l = NEARBY_LIMITS;
    for pair in query.split('&') {
        let (key, value) = pair.split_once('=')?;
        match key {
            "lat" => once(&mut lat, parse::<f64>(value)?)?,
            "lng" => once(&mut lng, parse::<f64>(value)?)?,
            "coord" => once(&mut coord, parse::<CoordDto>(value)?)?,
            "radius_m" => once(&mut radius_m, parse::<u32>(value)?)?,
            "open_now" => once(&mut open_now, parse::<bool>(value)?)?,
            "limit" => once(&mut limit, parse::<u32>(value)?)?,
            "kind" => push_within(&mut kinds, parse::<PlaceKindDto>(value)?, l.max_kinds)?,
            "amenity" => push_within(&mut amenities, parse::<AmenityDto>(value)?, l.max_amenities)?,
            _ => return None,
        }
    }
    let params = NearbyParams {
        lat: lat.filter(|v| (-l.max_lat..=l.max_lat).contains(v))?,
        lng: lng.filter(|v| (-l.max_lng..=l.max_lng).contains(v))?,
        coord,
        radius_m: within(radius_m, l.radius_m)?,
        kinds,
        amenities,
        open_now,
        limit: within(limit, l.limit)?,
    };
    Some(params)
}

/// poem-openapi's own parser for the type, so both paths read a value the same way.
fn parse<T: ParseFromParameter>(value: &str) -> Option<T> {
    T::parse_from_parameter(value).ok()
}

/// Sets a parameter given once; a second one is not plain.
fn once<T>(slot: &mut Option<T>, value: T) -> Option<()> {
    slot.is_none().then(|| *slot = Some(value))
}

/// Adds a repeated value, giving up at once past the limit (a head of thousands of `kind=` stops here).
fn push_within<T>(values: &mut Vec<T>, value: T, max: usize) -> Option<()> {
    (values.len() < max).then(|| values.push(value))
}

/// An optional number inside its declared range (absent is fine: the default applies).
fn within(value: Option<u32>, range: std::ops::RangeInclusive<u32>) -> Option<Option<u32>> {
    match value {
        Some(v) if !range.contains(&v) => None,
        v => Some(v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_path_is_the_operation_s_own() {
        let spec = crate::api::document::spec_json();
        let spec: serde_json::Value = serde_json::from_str(&spec).expect("the spec is JSON");
        let operation = &spec["paths"]["/places/nearby"]["get"];
        assert_eq!(operation["operationId"], OPERATION_ID);
        assert_eq!(PATH, format!("{}/places/nearby", super::super::API_PREFIX));
    }

    #[test]
    fn only_plain_spellings_within_the_limits_are_taken() {
        let plain = [
            "lat=30.27&lng=120.16",
            "lng=120.16&lat=30.27&coord=wgs84&radius_m=20000&limit=100&open_now=true",
            "lat=-90&lng=180&radius_m=1&limit=1",
            "lat=30.27&lng=120.16&kind=station&kind=parking_zone&kind=friendly_site",
            "lat=30.27&lng=120.16&amenity=hot_water&amenity=toilet",
        ];
        for q in plain {
            assert!(parse_plain(q).is_some(), "{q}");
        }
        let passed_on = [
            "",
            "lng=120.16",
            "lat=30.27",
            "lat=30.27&lng=120.16&",
            "lat=30.27&lng=120.16&lat=30.28",
            "lat=30.27&lng=120.16&radius_m=0",
            "lat=30.27&lng=120.16&radius_m=20001",
            "lat=30.27&lng=120.16&limit=101",
            "lat=90.1&lng=120.16",
            "lat=30.27&lng=-180.5",
            "lat=NaN&lng=120.16",
            "lat=30.27&lng=120.16&kind=station&kind=station&kind=station&kind=station",
            "lat=30.27&lng=120.16&kind=hotel",
            "lat=30.27&lng=120.16&open_now=yes",
            "lat=30.27&lng=120.16&coord=bd09",
            "lat=30.27&lng=120.16&foo=bar",
            "lat=30.27&lng=120%2E16",
            "lat=30.27&lng=+120.16",
            "lat=30.27&lng",
        ];
        for q in passed_on {
            assert!(parse_plain(q).is_none(), "{q}");
        }
    }
}

//! Places in files: CSV and GeoJSON, read all or nothing (every bad row named by its line or
//! feature index) and written in the same shape, so an export imports again.
//!
//! CSV columns (header required; `kind`, `name`, `address`, `lat`, `lng` required, the rest
//! optional): `id, kind, name, address, lat, lng, coord, host_org, contact_phone, amenities,
//! hours, capacity, max_stay_minutes, entry_instructions, photos, status`. `coord` is `gcj02`
//! (default) or `wgs84`; `amenities` and `photos` are `|`-separated; `hours` uses the grammar of
//! `domain::hours` (default `24/7`). `id` and `status` are written on export and ignored on
//! import: imported places are new and open.
//!
//! GeoJSON: a FeatureCollection of Point features with the same names as properties, each of
//! its JSON type (strings; `capacity` and `max_stay_minutes` integers; `amenities` and `photos`
//! arrays of strings; null is the same as absent). Coordinates are WGS-84 as RFC 7946 says,
//! unless a feature's `coord` property says `gcj02`.

use serde_json::{Value, json};

use super::DomainError;
use super::geo::{CoordSystem, Gcj02};
use super::hours::OpeningHours;
use super::places::{AmenitySet, PlaceDraft, StatusKind};

pub const MAX_ROWS: usize = 50_000;
const MAX_PROBLEMS: usize = 200;

pub const CSV_COLUMNS: [&str; 16] = [
    "id",
    "kind",
    "name",
    "address",
    "lat",
    "lng",
    "coord",
    "host_org",
    "contact_phone",
    "amenities",
    "hours",
    "capacity",
    "max_stay_minutes",
    "entry_instructions",
    "photos",
    "status",
];

/// A place as a file holds it, before it is checked.
type Fields<'a> = dyn Fn(&str) -> Option<String> + 'a;

fn required(get: &Fields<'_>, field: &'static str) -> Result<String, DomainError> {
    get(field).filter(|v| !v.trim().is_empty()).ok_or_else(|| DomainError::invalid(field, "required"))
}

fn number<T: std::str::FromStr>(get: &Fields<'_>, field: &'static str) -> Result<Option<T>, DomainError> {
    get(field)
        .filter(|v| !v.trim().is_empty())
        .map(|v| v.trim().parse::<T>().map_err(|_| DomainError::invalid(field, format!("`{v}` is not a number"))))
        .transpose()
}

/// One row or feature into a checked draft; `location` overrides `lat`/`lng` (GeoJSON geometry).
fn draft(
    get: &Fields<'_>,
    location: Option<(f64, f64)>,
    default_coord: CoordSystem,
) -> Result<PlaceDraft, DomainError> {
    let coord = match get("coord").filter(|c| !c.trim().is_empty()) {
        Some(c) => c.parse()?,
        None => default_coord,
    };
    let (lat, lng) = match location {
        Some(p) => p,
        None => (
            number(get, "lat")?.ok_or_else(|| DomainError::invalid("lat", "required"))?,
            number(get, "lng")?.ok_or_else(|| DomainError::invalid("lng", "required"))?,
        ),
    };
    let hours: OpeningHours = match get("hours").filter(|h| !h.trim().is_empty()) {
        Some(h) => h.parse()?,
        None => OpeningHours::always(),
    };
    PlaceDraft {
        kind: required(get, "kind")?.parse()?,
        name: required(get, "name")?,
        address: required(get, "address")?,
        location: Gcj02::from_system(lat, lng, coord)?,
        host_org: get("host_org"),
        contact_phone: get("contact_phone"),
        photos: get("photos")
            .map(|p| p.split('|').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect())
            .unwrap_or_default(),
        amenities: AmenitySet::parse_list(&get("amenities").unwrap_or_default())?,
        hours,
        capacity: number(get, "capacity")?,
        max_stay_minutes: number(get, "max_stay_minutes")?,
        entry_instructions: get("entry_instructions"),
    }
    .checked()
}

fn problem(at: (&str, usize), err: DomainError) -> Value {
    match err {
        DomainError::Invalid { field, reason } => json!({ at.0: at.1, "field": field, "reason": reason }),
        other => json!({ at.0: at.1, "field": null, "reason": other.to_string() }),
    }
}

fn refuse(what: &str, problems: Vec<Value>) -> DomainError {
    DomainError::InvalidMany {
        summary: format!("{} bad {what}; nothing was imported", problems.len()),
        problems: json!({ "errors": problems }),
    }
}

/// Reads a CSV file: every row checked, every bad one named by its line (the header is line 1).
pub fn read_csv(text: &str) -> Result<Vec<PlaceDraft>, DomainError> {
    let mut reader = csv::ReaderBuilder::new().flexible(false).trim(csv::Trim::All).from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| refuse("header", vec![json!({ "line": 1, "field": null, "reason": e.to_string() })]))?
        .clone();
    let mut problems = Vec::new();
    for h in headers.iter() {
        if !CSV_COLUMNS.contains(&h) {
            problems.push(json!({ "line": 1, "field": h, "reason": "unknown column" }));
        }
    }
    for needed in ["kind", "name", "address", "lat", "lng"] {
        if !headers.iter().any(|h| h == needed) {
            problems.push(json!({ "line": 1, "field": needed, "reason": "missing column" }));
        }
    }
    if !problems.is_empty() {
        return Err(refuse("header columns", problems));
    }
    let mut drafts = Vec::new();
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line() as usize);
                problems.push(json!({ "line": line, "field": null, "reason": e.to_string() }));
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line() as usize);
        if drafts.len() + problems.len() >= MAX_ROWS {
            problems.push(json!({ "line": line, "field": null, "reason": format!("at most {MAX_ROWS} rows") }));
            break;
        }
        let get = |field: &str| headers.iter().position(|h| h == field).and_then(|i| record.get(i)).map(str::to_string);
        match draft(&get, None, CoordSystem::Gcj02) {
            Ok(d) => drafts.push(d),
            Err(e) if problems.len() < MAX_PROBLEMS => problems.push(problem(("line", line), e)),
            Err(_) => {}
        }
    }
    if problems.is_empty() { Ok(drafts) } else { Err(refuse("rows", problems)) }
}

fn property_text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Array(items) => Some(items.iter().filter_map(property_text).collect::<Vec<_>>().join("|")),
        other => Some(other.to_string()),
    }
}

/// `(lat, lng)` of a GeoJSON Point: a position of numbers, `[lng, lat]` first.
fn point_of(geometry: &Value) -> Option<(f64, f64)> {
    if geometry["type"] != "Point" {
        return None;
    }
    let numbers: Option<Vec<f64>> = geometry["coordinates"].as_array()?.iter().map(Value::as_f64).collect();
    match numbers?.as_slice() {
        &[lng, lat, ..] => Some((lat, lng)),
        _ => None,
    }
}

/// The JSON type each property must have when present and not null (`id` and `status`, which the
/// export writes, are not read).
const PROPERTY_TYPES: [(&str, &str); 14] = [
    ("kind", "string"),
    ("name", "string"),
    ("address", "string"),
    ("coord", "string"),
    ("host_org", "string"),
    ("contact_phone", "string"),
    ("hours", "string"),
    ("entry_instructions", "string"),
    ("capacity", "integer"),
    ("max_stay_minutes", "integer"),
    ("amenities", "strings"),
    ("photos", "strings"),
    ("id", "any"),
    ("status", "any"),
];

/// The first property of the wrong JSON type, with what it should be; the properties must be an
/// object.
fn mistyped_property(props: &Value) -> Option<(&'static str, &'static str)> {
    let Some(props) = props.as_object() else { return Some(("properties", "an object")) };
    PROPERTY_TYPES.iter().find_map(|&(field, ty)| {
        let v = props.get(field).filter(|v| !v.is_null())?;
        let fits = match ty {
            "string" => v.is_string(),
            "integer" => v.is_i64() || v.is_u64(),
            "strings" => v.as_array().is_some_and(|a| a.iter().all(Value::is_string)),
            _ => true,
        };
        let wanted = match ty {
            "string" => "a string",
            "integer" => "an integer",
            _ => "an array of strings",
        };
        (!fits).then_some((field, wanted))
    })
}

/// Reads a GeoJSON FeatureCollection of points; bad features are named by their index (from 0).
pub fn read_geojson(doc: &Value) -> Result<Vec<PlaceDraft>, DomainError> {
    if doc["type"] != "FeatureCollection" {
        return Err(DomainError::invalid("type", "a GeoJSON FeatureCollection"));
    }
    let features = doc["features"].as_array().ok_or_else(|| DomainError::invalid("features", "an array"))?;
    if features.len() > MAX_ROWS {
        return Err(DomainError::invalid("features", format!("at most {MAX_ROWS}")));
    }
    let mut drafts = Vec::new();
    let mut problems = Vec::new();
    for (i, f) in features.iter().enumerate() {
        if f["type"] != "Feature" {
            problems.push(json!({ "feature": i, "field": "type", "reason": "a GeoJSON Feature" }));
            continue;
        }
        let Some(point) = point_of(&f["geometry"]) else {
            problems.push(json!({ "feature": i, "field": "geometry", "reason": "a Point with [lng, lat]" }));
            continue;
        };
        let props = &f["properties"];
        if let Some((field, reason)) = mistyped_property(props) {
            problems.push(json!({ "feature": i, "field": field, "reason": reason }));
            continue;
        }
        let get = |field: &str| props.get(field).and_then(property_text);
        match draft(&get, Some(point), CoordSystem::Wgs84) {
            Ok(d) => drafts.push(d),
            Err(e) if problems.len() < MAX_PROBLEMS => problems.push(problem(("feature", i), e)),
            Err(_) => {}
        }
    }
    if problems.is_empty() { Ok(drafts) } else { Err(refuse("features", problems)) }
}

/// A stored place, as files show it.
pub struct FilePlace<'a> {
    pub id: &'a str,
    pub draft: &'a PlaceDraft,
    pub status: StatusKind,
}

/// Writes CSV in GCJ-02 with every column, which `read_csv` reads back.
pub fn write_csv<'a>(places: impl IntoIterator<Item = FilePlace<'a>>) -> Result<String, DomainError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(CSV_COLUMNS).map_err(DomainError::internal)?;
    for p in places {
        let d = p.draft;
        let opt = |v: &Option<String>| v.clone().unwrap_or_default();
        let num = |v: Option<i32>| v.map(|n| n.to_string()).unwrap_or_default();
        w.write_record([
            p.id.to_string(),
            d.kind.to_string(),
            d.name.clone(),
            d.address.clone(),
            d.location.lat().to_string(),
            d.location.lng().to_string(),
            "gcj02".to_string(),
            opt(&d.host_org),
            opt(&d.contact_phone),
            d.amenities.to_list(),
            d.hours.to_string(),
            num(d.capacity),
            num(d.max_stay_minutes),
            opt(&d.entry_instructions),
            d.photos.join("|"),
            p.status.to_string(),
        ])
        .map_err(DomainError::internal)?;
    }
    let bytes = w.into_inner().map_err(DomainError::internal)?;
    String::from_utf8(bytes).map_err(DomainError::internal)
}

/// Writes a GeoJSON FeatureCollection in WGS-84 (RFC 7946), which `read_geojson` reads back.
pub fn write_geojson<'a>(places: impl IntoIterator<Item = FilePlace<'a>>) -> Value {
    let features: Vec<Value> = places
        .into_iter()
        .map(|p| {
            let d = p.draft;
            let w = d.location.to_wgs84();
            let mut properties = json!({
                "kind": d.kind.as_str(),
                "name": d.name,
                "address": d.address,
                "host_org": d.host_org,
                "contact_phone": d.contact_phone,
                "amenities": d.amenities.iter().map(|a| a.as_str()).collect::<Vec<_>>(),
                "hours": d.hours.to_string(),
                "capacity": d.capacity,
                "max_stay_minutes": d.max_stay_minutes,
                "entry_instructions": d.entry_instructions,
                "photos": d.photos,
                "status": p.status.as_str(),
            });
            // What a place does not have is left out, as in every answer of the API.
            if let Some(map) = properties.as_object_mut() {
                map.retain(|_, v| !v.is_null());
            }
            json!({
                "type": "Feature",
                "id": p.id,
                "geometry": { "type": "Point", "coordinates": [w.lng(), w.lat()] },
                "properties": properties,
            })
        })
        .collect();
    json!({ "type": "FeatureCollection", "features": features })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "kind,name,address,lat,lng,amenities,hours,capacity\n";

    #[test]
    fn good_csv_reads_and_writes_back() {
        let text = format!(
            "{HEADER}station,西湖驿站,西湖路1号,30.26,120.15,drinking_water|toilet,24/7,\n\
             parking_zone,停车点,文三路,30.27,120.13,,mon-fri 08:00-20:00,12\n"
        );
        let drafts = read_csv(&text).unwrap();
        assert_eq!(drafts.len(), 2);
        assert_eq!(drafts[1].capacity, Some(12));
        let out = write_csv(drafts.iter().map(|d| FilePlace { id: "x", draft: d, status: StatusKind::Open })).unwrap();
        assert_eq!(read_csv(&out).unwrap(), drafts);
        let geo = write_geojson(drafts.iter().map(|d| FilePlace { id: "x", draft: d, status: StatusKind::Open }));
        let again = read_geojson(&geo).unwrap();
        for (a, b) in again.iter().zip(&drafts) {
            assert!(a.location.distance_m(b.location) < 0.01);
            assert_eq!((&a.name, a.amenities, &a.hours), (&b.name, b.amenities, &b.hours));
        }
    }

    #[test]
    fn bad_rows_are_numbered_by_line_and_nothing_is_returned() {
        let text = format!(
            "{HEADER}station,好的,地址,30.26,120.15,,,\n\
             station,坏纬度,地址,95,120.15,,,\n\
             hotel,坏类型,地址,30.26,120.15,,,\n\
             station,坏设施,地址,30.26,120.15,sauna,,\n\
             station,有容量,地址,30.26,120.15,,,5\n"
        );
        let Err(DomainError::InvalidMany { problems, .. }) = read_csv(&text) else { panic!("accepted") };
        let errors = problems["errors"].as_array().unwrap();
        let lines: Vec<(u64, &str)> =
            errors.iter().map(|e| (e["line"].as_u64().unwrap(), e["field"].as_str().unwrap())).collect();
        assert_eq!(lines, vec![(3, "lat"), (4, "kind"), (5, "amenity"), (6, "capacity")]);
    }

    #[test]
    fn bad_features_are_numbered_by_index() {
        let doc = json!({ "type": "FeatureCollection", "features": [
            { "type": "Feature", "geometry": { "type": "Point", "coordinates": [120.15, 30.26] },
              "properties": { "kind": "station", "name": "好", "address": "路" } },
            { "type": "Feature", "geometry": null, "properties": { "kind": "station" } },
            { "type": "Feature", "geometry": { "type": "Point", "coordinates": [120.15, 30.26] },
              "properties": { "kind": "station", "name": "", "address": "路" } },
        ]});
        let Err(DomainError::InvalidMany { problems, .. }) = read_geojson(&doc) else { panic!("accepted") };
        let idx: Vec<u64> =
            problems["errors"].as_array().unwrap().iter().map(|e| e["feature"].as_u64().unwrap()).collect();
        assert_eq!(idx, vec![1, 2]);
    }
}

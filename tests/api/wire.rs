//! The wire and the types agree: every operation and parameter described, absent fields left out of
//! answers rather than null, and what the spec allows accepted (any well-formed cursor, empty
//! ranges).

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_code, spawn_app};
use crate::reports::{city, file_ok, report_at};

fn spec() -> Value {
    serde_json::from_str(&xinhuoban::api::service().spec()).expect("the spec is JSON")
}

fn operations(spec: &Value) -> Vec<(String, &Value)> {
    let mut ops = Vec::new();
    for (path, methods) in spec["paths"].as_object().expect("paths") {
        for (method, op) in methods.as_object().expect("operations") {
            ops.push((format!("{method} {path}"), op));
        }
    }
    ops
}

#[test]
fn every_operation_and_parameter_is_described() {
    let spec = spec();
    for (name, op) in operations(&spec) {
        assert!(op["summary"].as_str().is_some_and(|s| !s.is_empty()), "{name} has no summary");
        assert!(op["description"].as_str().is_some_and(|s| !s.is_empty()), "{name} has no description");
        for param in op["parameters"].as_array().into_iter().flatten() {
            let described = param["description"].as_str().is_some_and(|s| !s.is_empty());
            assert!(described, "{name}: parameter `{}` has no description", param["name"]);
        }
    }
}

#[test]
fn every_cursor_is_the_opaque_cursor_and_no_next_cursor_is_required() {
    let spec = spec();
    let mut cursors = 0;
    for (name, op) in operations(&spec) {
        for param in op["parameters"].as_array().into_iter().flatten().filter(|p| p["name"] == "cursor") {
            assert_eq!(param["schema"]["$ref"], "#/components/schemas/Cursor", "{name}");
            cursors += 1;
        }
    }
    assert!(cursors >= 9, "{cursors}");
    let cursor = &spec["components"]["schemas"]["Cursor"];
    assert!(cursor["pattern"].is_string() && cursor["maxLength"].is_number(), "{cursor}");
    for (name, schema) in spec["components"]["schemas"].as_object().unwrap() {
        if name.starts_with("Page_") {
            let required = schema["required"].as_array().cloned().unwrap_or_default();
            assert!(!required.contains(&json!("next_cursor")), "{name}");
        }
    }
}

#[test]
fn closed_vocabularies_are_enums() {
    let spec = spec();
    let schemas = &spec["components"]["schemas"];
    let enum_of = |schema: &Value| -> Vec<String> {
        let target = match schema["$ref"].as_str().or(schema["allOf"][0]["$ref"].as_str()) {
            Some(r) => &schemas[r.trim_start_matches("#/components/schemas/")],
            None => schema,
        };
        target["enum"].as_array().into_iter().flatten().filter_map(|v| v.as_str().map(str::to_string)).collect()
    };
    for (object, field, value) in [
        ("HistoryEntry", "action", "place.update"),
        ("Media", "content_type", "image/jpeg"),
        ("PublicEntry", "kind", "me_too"),
        ("PublicEntry", "actor", "reporter"),
        ("StaffEntry", "actor_role", "staff"),
    ] {
        let values = enum_of(&schemas[object]["properties"][field]);
        assert!(values.iter().any(|v| v == value), "{object}.{field}: {values:?}");
    }
    let nearby = &spec["paths"]["/places/nearby"]["get"]["parameters"];
    for param in nearby.as_array().unwrap().iter().filter(|p| p["name"] == "kind" || p["name"] == "amenity") {
        assert_eq!(param["required"], false, "{param}");
    }
}

/// Cursors no page ever gave out: every one is a position somewhere in the list.
const FORGED: [&str; 7] = ["A", "AAAA", "AP8A", "zzzzzzzzzz", "_-_-_", "0123456789abcdefghijklmnopqrstuvwxyz", "wA"];

async fn page(app: &TestApp, path: &str, token: Option<&str>) -> Value {
    let (status, body) = app.get(path, token).await;
    assert_eq!(status, StatusCode::OK, "{path}: {body}");
    body
}

#[tokio::test]
async fn a_forged_cursor_starts_a_page_somewhere_and_widens_nothing() {
    let c = city().await;
    let app = &c.app;
    let rider = app.rider_token("rider-cursor").await;
    // One report for each of two units: the clerk of the first never sees the second's.
    file_ok(app, &rider, report_at("road_damage", 30.27, 120.11)).await;
    file_ok(app, &rider, report_at("road_damage", 30.27, 120.19)).await;
    let clerk = &c.clerks[0];
    let (_, me) = app.get("/api/v1/me", Some(clerk)).await;
    let own = me["office_id"].as_str().unwrap().to_string();
    for cursor in FORGED {
        for path in [
            "/api/v1/admin/staff",
            "/api/v1/admin/units",
            "/api/v1/triage/reports",
            "/api/v1/places?bbox=120,30,121,31",
        ] {
            let sep = if path.contains('?') { '&' } else { '?' };
            page(app, &format!("{path}{sep}cursor={cursor}"), Some(&c.admin)).await;
        }
        page(app, &format!("/api/v1/reports/mine?cursor={cursor}"), Some(&rider)).await;
        let queue = page(app, &format!("/api/v1/triage/reports?cursor={cursor}&limit=100"), Some(clerk)).await;
        for item in queue["items"].as_array().unwrap() {
            assert_eq!(item["unit"]["id"], own.as_str(), "a forged cursor showed another unit's report");
        }
    }
    let long = "A".repeat(201);
    for bad in ["!!", "a=b", "a%20b", long.as_str()] {
        let (status, body) = app.get(&format!("/api/v1/admin/staff?cursor={bad}"), Some(&c.admin)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
    }
    c.app.stop().await;
}

#[tokio::test]
async fn the_queue_pages_through_every_report_once() {
    let c = city().await;
    let app = &c.app;
    let rider = app.rider_token("rider-pages").await;
    let mut filed = Vec::new();
    for i in 0..5 {
        filed.push(file_ok(app, &rider, report_at("road_damage", 30.20 + f64::from(i) * 0.01, 120.30)).await);
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/triage/reports?limit=2&cursor={c}"),
            None => "/api/v1/triage/reports?limit=2".to_string(),
        };
        let body = page(app, &path, Some(&c.admin)).await;
        seen.extend(body["items"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap().to_string()));
        match body.get("next_cursor") {
            Some(next) => cursor = Some(next.as_str().expect("a cursor is text").to_string()),
            None => break,
        }
    }
    seen.sort();
    filed.sort();
    assert_eq!(seen, filed);
    c.app.stop().await;
}

#[tokio::test]
async fn empty_and_reversed_ranges_are_empty_not_errors() {
    let c = city().await;
    let app = &c.app;
    let rider = app.rider_token("rider-range").await;
    file_ok(app, &rider, report_at("road_damage", 30.27, 120.11)).await;
    let (later, earlier) = ("2030-01-02T00:00:00Z", "2030-01-01T00:00:00Z");
    for (from, to) in [(later, earlier), (later, later)] {
        let range = format!("from={from}&to={to}");
        let queue = page(app, &format!("/api/v1/triage/reports?{range}"), Some(&c.admin)).await;
        assert_eq!(queue["items"], json!([]));
        let metrics = page(app, &format!("/api/v1/triage/metrics?{range}"), Some(&c.admin)).await;
        assert_eq!(metrics["reports"], 0);
        assert!(metrics.get("response_rate").is_none() && metrics.get("median_resolution_secs").is_none());
        let resp = app.client.get(app.url(&format!("/api/v1/triage/reports.csv?{range}"))).bearer_auth(&c.admin);
        let resp = resp.send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(resp.text().await.unwrap().lines().count(), 1, "the header alone");
    }
    c.app.stop().await;
}

#[tokio::test]
async fn absent_fields_are_left_out_never_null() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let station =
        json!({ "kind": "station", "name": "文三路驿站", "address": "文三路 1 号", "lat": 30.27, "lng": 120.13 });
    let (status, created) = app.post("/api/v1/admin/places", Some(&admin), station).await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let id = created["id"].as_str().unwrap();
    let (_, place) = app.get(&format!("/api/v1/places/{id}"), None).await;
    for absent in ["host_org", "contact_phone", "capacity", "max_stay_minutes", "entry_instructions", "status_reason"] {
        assert!(place.get(absent).is_none(), "{absent}: {place}");
    }
    assert!(place.get("last_confirmed_at").is_none(), "{place}");
    let nearby = page(&app, "/api/v1/places/nearby?lat=30.27&lng=120.13", None).await;
    assert!(nearby.get("next_cursor").is_none(), "{nearby}");
    assert!(nearby["items"][0].get("last_confirmed_at").is_none(), "{nearby}");
    let (_, me) = app.get("/api/v1/me", Some(&admin)).await;
    assert!(me.get("office_id").is_none() && me.get("place_ids").is_none(), "{me}");
    let (status, missing) = app.get("/api/v1/places/no-such-place", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    error_code(&missing);
    assert!(missing.get("details").is_none(), "{missing}");
    // A parking zone says what a station cannot: the place is created by its kind.
    let zone = json!({ "kind": "parking_zone", "name": "停车点", "address": "文二路", "lat": 30.28, "lng": 120.13,
                       "capacity": 12, "max_stay_minutes": 30 });
    let (status, zone) = app.post("/api/v1/admin/places", Some(&admin), zone).await;
    assert_eq!((status, &zone["capacity"]), (StatusCode::OK, &json!(12)), "{zone}");
    app.stop().await;
}

//! Tap to report, as riders, clerks and admins live it: routing by jurisdiction, submitting
//! (idempotent, "me too", rate-limited), the lifecycle, isolation between units, deadlines, rates.

use reqwest::StatusCode;
use serde_json::{Value, json};
use xinhuoban::domain::identity::Role;
use xinhuoban::domain::time::Millis;

use crate::helpers::*;

/// A city of three street offices in adjacent bands (west to east: a, b, c) over latitude
/// 30.24–30.31 and longitude 120.10–120.22, a market regulator over all of it for food safety,
/// and the fallback queue; a clerk for each street office.
pub struct City {
    pub app: TestApp,
    pub admin: String,
    pub offices: Vec<String>,
    pub market: String,
    pub clerks: Vec<String>,
}

pub fn band(west: f64, east: f64) -> Value {
    json!({ "type": "Polygon", "coordinates": [[[west, 30.24], [east, 30.24], [east, 30.31], [west, 30.31], [west, 30.24]]] })
}

pub async fn city_with(options: Options) -> City {
    let app = spawn_app_with(options).await;
    let admin = app.admin_token().await;
    let mut offices = Vec::new();
    for (i, (name, west)) in [("城关街道", 120.10), ("东湖街道", 120.14), ("西山街道", 120.18)].into_iter().enumerate()
    {
        let (status, unit) =
            app.post("/api/v1/admin/units", Some(&admin), json!({ "kind": "street_office", "name": name })).await;
        assert_eq!(status, StatusCode::OK, "{unit}");
        let id = unit["id"].as_str().unwrap().to_string();
        let (status, body) =
            app.put(&format!("/api/v1/admin/units/{id}/jurisdiction"), Some(&admin), band(west, west + 0.04)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        app.create_staff(&format!("clerk{i}"), Role::Clerk, Some(&id)).await;
        offices.push(id);
    }
    let (_, market) = app
        .post("/api/v1/admin/units", Some(&admin), json!({ "kind": "department", "name": "区市场监督管理局" }))
        .await;
    let market = market["id"].as_str().unwrap().to_string();
    let (status, body) =
        app.put(&format!("/api/v1/admin/units/{market}/jurisdiction"), Some(&admin), band(120.10, 120.22)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = app
        .put("/api/v1/admin/categories/food_safety/departments", Some(&admin), json!({ "office_ids": [market] }))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let mut clerks = Vec::new();
    for i in 0..3 {
        clerks.push(app.staff_token(&format!("clerk{i}")).await);
    }
    City { app, admin, offices, market, clerks }
}

pub async fn city() -> City {
    city_with(Options::default()).await
}

pub fn report_at(category: &str, lat: f64, lng: f64) -> Value {
    json!({ "category": category, "description": "井盖缺失，夜里很危险", "lat": lat, "lng": lng, "coord": "gcj02" })
}

/// Files a report and returns (status, body).
pub async fn file(app: &TestApp, rider: &str, body: Value) -> (StatusCode, Value) {
    app.post("/api/v1/reports", Some(rider), body).await
}

pub async fn file_ok(app: &TestApp, rider: &str, body: Value) -> String {
    let (status, reply) = file(app, rider, body).await;
    assert_eq!(status, StatusCode::CREATED, "{reply}");
    reply["report"]["id"].as_str().unwrap().to_string()
}

pub async fn act(app: &TestApp, clerk: &str, id: &str, body: Value) -> (StatusCode, Value) {
    app.post(&format!("/api/v1/triage/reports/{id}/actions"), Some(clerk), body).await
}

async fn preview(app: &TestApp, rider: &str, lat: f64, lng: f64, category: &str) -> Value {
    let (status, body) =
        app.get(&format!("/api/v1/reports/preview?lat={lat}&lng={lng}&category={category}"), Some(rider)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

#[tokio::test]
async fn reports_route_by_jurisdiction_department_and_fallback() {
    let c = city().await;
    let rider = c.app.rider_token("rider-route").await;
    // Inside the middle band.
    let p = preview(&c.app, &rider, 30.27, 120.16, "road_damage").await;
    assert_eq!(
        (p["unit"]["id"].as_str(), p["route_reason"].as_str()),
        (Some(c.offices[1].as_str()), Some("street_office"))
    );
    // On the border of the west and middle bands: the unit created first.
    let p = preview(&c.app, &rider, 30.27, 120.14, "road_damage").await;
    assert_eq!(p["unit"]["id"], c.offices[0]);
    // Food safety goes to the market regulator anywhere in its area.
    let p = preview(&c.app, &rider, 30.27, 120.20, "food_safety").await;
    assert_eq!(
        (p["unit"]["id"].as_str(), p["route_reason"].as_str()),
        (Some(c.market.as_str()), Some("category_department"))
    );
    // Outside every jurisdiction: the city's fallback queue.
    let p = preview(&c.app, &rider, 30.40, 120.16, "road_damage").await;
    assert_eq!((p["unit"]["kind"].as_str(), p["route_reason"].as_str()), (Some("fallback"), Some("fallback")));
    // A WGS-84 point is converted first: this GPS fix is the GCJ-02 point (30.27, 120.16) shifted.
    let (status, wgs) = c
        .app
        .get("/api/v1/reports/preview?lat=30.2724&lng=120.1553&coord=wgs84&category=road_damage", Some(&rider))
        .await;
    assert_eq!(status, StatusCode::OK, "{wgs}");
    assert_eq!(wgs["unit"]["id"], c.offices[1]);

    // The report filed stores the unit and why.
    let (status, filed) = file(&c.app, &rider, report_at("food_safety", 30.27, 120.16)).await;
    assert_eq!(status, StatusCode::CREATED, "{filed}");
    assert_eq!(filed["report"]["unit"]["id"], c.market);
    assert_eq!(filed["report"]["unit"]["name"], "区市场监督管理局");
    c.app.stop().await;
}

#[tokio::test]
async fn invalid_geojson_is_refused_with_a_clear_message() {
    let c = city().await;
    let unit = &c.offices[0];
    let path = format!("/api/v1/admin/units/{unit}/jurisdiction");
    let cases = [
        (
            json!({ "type": "Polygon", "coordinates": [[[120.1, 30.2], [120.2, 30.2], [120.2, 30.3], [120.1, 30.3]]] }),
            "not closed",
        ),
        (
            json!({ "type": "Polygon", "coordinates": [[[120.1, 30.2], [120.2, 30.3], [120.2, 30.2], [120.1, 30.3], [120.1, 30.2]]] }),
            "self-intersection",
        ),
        (
            json!({ "type": "Polygon", "coordinates": [[[30.2, 120.1], [30.2, 120.2], [30.3, 120.2], [30.3, 120.1], [30.2, 120.1]]] }),
            "[longitude, latitude]",
        ),
        (json!({ "type": "LineString", "coordinates": [[120.1, 30.2], [120.2, 30.2]] }), "Polygon or MultiPolygon"),
    ];
    for (geojson, expected) in cases {
        let (status, body) = c.app.put(&path, Some(&c.admin), geojson).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(error_code(&body), "invalid_input");
        assert!(body["details"]["reason"].as_str().unwrap().contains(expected), "{expected}: {body}");
    }
    // A clerk may not import jurisdictions.
    let (status, _) = c.app.put(&path, Some(&c.clerks[0]), band(120.10, 120.14)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    c.app.stop().await;
}

#[tokio::test]
async fn a_retried_submission_with_the_same_idempotency_key_returns_the_first_report() {
    let c = city().await;
    let rider = c.app.rider_token("rider-retry").await;
    let send = |body: Value, key: &'static str| {
        c.app.send(
            c.app
                .client
                .post(c.app.url("/api/v1/reports"))
                .bearer_auth(&rider)
                .header("idempotency-key", key)
                .json(&body),
        )
    };
    let (status, first) = send(report_at("road_damage", 30.27, 120.16), "k-1").await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let (status, again) = send(report_at("road_damage", 30.27, 120.16), "k-1").await;
    assert_eq!(status, StatusCode::CREATED, "{again}");
    assert_eq!(again["report"]["id"], first["report"]["id"]);
    assert_eq!(again["outcome"], "created");
    // Only one report exists, and it was committed.
    let (_, mine) = c.app.get("/api/v1/reports/mine", Some(&rider)).await;
    assert_eq!(mine["items"].as_array().unwrap().len(), 1);
    // The same key for another report is refused.
    let (status, body) = send(report_at("environment", 30.25, 120.11), "k-1").await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(error_code(&body), "idempotency_key_reused");
    c.app.stop().await;
}

#[tokio::test]
async fn a_second_rider_nearby_joins_the_open_report_as_me_too() {
    let c = city().await;
    let first = c.app.rider_token("rider-first").await;
    let second = c.app.rider_token("rider-second").await;
    let id = file_ok(&c.app, &first, report_at("traffic_safety", 30.27, 120.16)).await;

    // 30 m north, same category: joins.
    let (status, joined) = file(&c.app, &second, report_at("traffic_safety", 30.27027, 120.16)).await;
    assert_eq!(status, StatusCode::OK, "{joined}");
    assert_eq!(joined["outcome"], "joined");
    assert_eq!(joined["report"]["id"], id);
    assert_eq!(joined["report"]["priority"], 2);
    assert_eq!(joined["report"]["mine"], false);
    // The second rider follows it now.
    let (_, mine) = c.app.get("/api/v1/reports/mine", Some(&second)).await;
    assert_eq!(mine["items"][0]["id"], id);
    let (status, _) = c.app.get(&format!("/api/v1/reports/{id}"), Some(&second)).await;
    assert_eq!(status, StatusCode::OK);

    // Another category at the same spot, or the same one 100 m away, is a new report.
    let (status, _) = file(&c.app, &second, report_at("environment", 30.27, 120.16)).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = file(&c.app, &second, report_at("traffic_safety", 30.2709, 120.16)).await;
    assert_eq!(status, StatusCode::CREATED);

    // A report older than 24 hours is not joined.
    sqlx::query("UPDATE reports SET created_at = created_at - 90000000 WHERE id = $1")
        .bind(&id)
        .execute(&c.app.state.db.pool)
        .await
        .unwrap();
    let third = c.app.rider_token("rider-third").await;
    let (status, body) = file(&c.app, &third, report_at("traffic_safety", 30.27, 120.16)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    c.app.stop().await;
}

pub async fn account_id(app: &TestApp, token: &str) -> String {
    let (_, me) = app.get("/api/v1/me", Some(token)).await;
    me["account_id"].as_str().unwrap().to_string()
}

pub async fn add_media(app: &TestApp, owner_id: &str) -> String {
    let id = xinhuoban::store::new_id();
    let row = xinhuoban::domain::photo::StoredPhoto {
        id: id.clone(),
        city_id: app.state.city.id.clone(),
        owner_id: owner_id.to_string(),
        content_type: "image/jpeg".into(),
        width: 640,
        height: 480,
        bytes: 1000,
        storage_key: format!("{id}.jpg"),
        created_at: Millis::now(),
    };
    xinhuoban::store::media::insert(&app.state.db, &row).await.unwrap();
    id
}

#[tokio::test]
async fn a_report_carries_only_the_riders_own_photos_and_at_most_nine() {
    let c = city().await;
    let rider = c.app.rider_token("rider-photo").await;
    let other = c.app.rider_token("rider-other").await;
    let mine = add_media(&c.app, &account_id(&c.app, &rider).await).await;
    let theirs = add_media(&c.app, &account_id(&c.app, &other).await).await;

    let mut body = report_at("facility_damage", 30.27, 120.16);
    body["media_ids"] = json!([theirs]);
    let (status, reply) = file(&c.app, &rider, body.clone()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{reply}");
    assert_eq!(reply["details"]["field"], "media_ids");

    body["media_ids"] = json!((0..10).map(|i| format!("m{i}")).collect::<Vec<_>>());
    let (status, _) = file(&c.app, &rider, body.clone()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    body["media_ids"] = json!([mine]);
    let (status, reply) = file(&c.app, &rider, body).await;
    assert_eq!(status, StatusCode::CREATED, "{reply}");
    assert_eq!(reply["report"]["media_ids"], json!([mine]));
    c.app.stop().await;
}

#[tokio::test]
async fn too_many_reports_in_an_hour_is_a_429_with_retry_after() {
    let c = city_with(Options { extra: vec![("XHB_REPORTS_PER_RIDER_PER_HOUR", "2".into())] }).await;
    let rider = c.app.rider_token("rider-busy").await;
    file_ok(&c.app, &rider, report_at("road_damage", 30.25, 120.11)).await;
    file_ok(&c.app, &rider, report_at("environment", 30.26, 120.15)).await;
    let resp = c
        .app
        .client
        .post(c.app.url("/api/v1/reports"))
        .bearer_auth(&rider)
        .json(&report_at("other", 30.28, 120.19))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = resp.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((3500..=3600).contains(&retry), "{retry}");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(error_code(&body), "rate_limited");
    // As the spec says: the client can rely on the code and on when to come back.
    crate::contract::assert_declared("reports_submit", StatusCode::TOO_MANY_REQUESTS, Some(&retry.to_string()), &body);
    c.app.stop().await;
}

#[tokio::test]
async fn a_clerk_works_a_report_to_a_close_the_rider_follows() {
    let c = city().await;
    let (app, clerk) = (&c.app, &c.clerks[1]);
    let rider = app.rider_token("rider-story").await;
    let id = file_ok(app, &rider, report_at("road_damage", 30.27, 120.16)).await;

    let (status, body) = act(app, clerk, &id, json!({ "action": "accept", "public_note": "已收到，马上安排" })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "accepted");
    assert!(body["responded_at"].is_string());
    let (status, _) = app
        .post(&format!("/api/v1/triage/reports/{id}/notes"), Some(clerk), json!({ "internal_note": "联系市政三队" }))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = act(app, clerk, &id, json!({ "action": "start" })).await;
    assert_eq!((status, body["status"].as_str()), (StatusCode::OK, Some("in_progress")));
    // Rejecting needs a reason; accepting twice is not in the lifecycle.
    let (status, body) = act(app, clerk, &id, json!({ "action": "accept" })).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(error_code(&body), "illegal_transition");
    let (status, body) = act(app, clerk, &id, json!({ "action": "resolve", "public_note": "已修复" })).await;
    assert_eq!((status, body["status"].as_str()), (StatusCode::OK, Some("resolved")), "{body}");

    // The rider sees the public timeline, never the internal note.
    let (status, seen) = app.get(&format!("/api/v1/reports/{id}"), Some(&rider)).await;
    assert_eq!(status, StatusCode::OK);
    let kinds: Vec<&str> = seen["timeline"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["submitted", "accepted", "in_progress", "resolved"]);
    assert_eq!(seen["timeline"][1]["public_note"], "已收到，马上安排");
    assert!(!seen.to_string().contains("市政三队"), "internal note leaked: {seen}");
    // Staff see it.
    let (_, staff) = app.get(&format!("/api/v1/triage/reports/{id}"), Some(clerk)).await;
    assert!(staff.to_string().contains("市政三队"));

    // Not fixed after all: the reporter reopens with a reason, the unit resolves again.
    let (status, body) =
        app.post(&format!("/api/v1/reports/{id}/reopen"), Some(&rider), json!({ "reason": "  " })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, body) =
        app.post(&format!("/api/v1/reports/{id}/reopen"), Some(&rider), json!({ "reason": "还是坏的" })).await;
    assert_eq!((status, body["status"].as_str()), (StatusCode::OK, Some("reopened")), "{body}");
    let (status, _) = act(app, clerk, &id, json!({ "action": "resolve", "public_note": "重新修复" })).await;
    assert_eq!(status, StatusCode::OK);

    // Rated once, 1 to 5.
    let rating = format!("/api/v1/reports/{id}/rating");
    let rate = |score: i64| app.post(&rating, Some(&rider), json!({ "score": score, "comment": "很快" }));
    assert_eq!(rate(6).await.0, StatusCode::BAD_REQUEST);
    let (status, body) = rate(5).await;
    assert_eq!((status, body["rating"].as_i64()), (StatusCode::OK, Some(5)), "{body}");
    let (status, body) = rate(4).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(error_code(&body), "already_rated");
    // Another rider can neither see nor rate it.
    let stranger = app.rider_token("rider-stranger").await;
    assert_eq!(app.get(&format!("/api/v1/reports/{id}"), Some(&stranger)).await.0, StatusCode::NOT_FOUND);
    assert_eq!(app.post(&rating, Some(&stranger), json!({ "score": 1 })).await.0, StatusCode::NOT_FOUND);
    // The reporter confirms it closed; a closed report moves no more.
    let (status, body) = app.post(&format!("/api/v1/reports/{id}/close"), Some(&rider), json!({})).await;
    assert_eq!((status, body["status"].as_str()), (StatusCode::OK, Some("closed")), "{body}");
    let (status, body) = app.post(&format!("/api/v1/reports/{id}/close"), Some(&rider), json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(act(app, clerk, &id, json!({ "action": "resolve" })).await.0, StatusCode::CONFLICT);
    c.app.stop().await;
}

#[tokio::test]
async fn rejecting_marking_duplicate_and_transferring_need_what_they_name() {
    let c = city().await;
    let (app, clerk) = (&c.app, &c.clerks[1]);
    let rider = app.rider_token("rider-dup").await;
    let original = file_ok(app, &rider, report_at("road_damage", 30.27, 120.16)).await;
    let copy = file_ok(app, &rider, report_at("road_damage", 30.2712, 120.16)).await;
    let other = file_ok(app, &rider, report_at("environment", 30.28, 120.17)).await;

    // Each action has its own shape: what it needs is missing, and the answer says which field.
    for (action, field) in [("reject", "reason"), ("mark_duplicate", "duplicate_of"), ("transfer", "reason")] {
        let (status, body) = act(app, clerk, &copy, json!({ "action": action, "public_note": "x" })).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        let reason = body["details"]["reason"].as_str().unwrap_or_default();
        assert!(reason.contains(&format!("field `{field}` is required with action `{action}`")), "{body}");
    }
    let (status, body) = act(app, clerk, &copy, json!({ "action": "reject", "reason": "  " })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["details"]["reason"].as_str().unwrap_or_default().contains("field `reason`"),
        "a blank reason: {body}"
    );
    assert_eq!(
        act(app, clerk, &copy, json!({ "action": "mark_duplicate", "duplicate_of": copy })).await.0,
        StatusCode::BAD_REQUEST
    );
    let (status, body) = act(app, clerk, &copy, json!({ "action": "mark_duplicate", "duplicate_of": original })).await;
    assert_eq!((status, body["status"].as_str()), (StatusCode::OK, Some("duplicate")), "{body}");
    assert_eq!(body["duplicate_of"], original);
    // A final status moves no more.
    assert_eq!(act(app, clerk, &copy, json!({ "action": "accept" })).await.0, StatusCode::CONFLICT);

    // Transfer: a reason is required; routing again without this unit reaches the fallback.
    assert_eq!(act(app, clerk, &other, json!({ "action": "transfer" })).await.0, StatusCode::BAD_REQUEST);
    let (status, body) =
        act(app, clerk, &other, json!({ "action": "transfer", "reason": "属西山街道", "to_office_id": c.offices[2] }))
            .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (body["status"].as_str(), body["unit"]["id"].as_str()),
        (Some("transferred"), Some(c.offices[2].as_str()))
    );
    assert!(body["responded_at"].is_null(), "the new unit owes its own response");
    // It left this unit: a 404 here now, and the receiving clerk accepts it.
    assert_eq!(app.get(&format!("/api/v1/triage/reports/{other}"), Some(clerk)).await.0, StatusCode::NOT_FOUND);
    let (status, body) = act(app, &c.clerks[2], &other, json!({ "action": "transfer", "reason": "不归街道管" })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["route_reason"], "street_office");
    assert_eq!(body["unit"]["id"], c.offices[1], "routing again without 西山 finds the covering office");
    let (status, body) = act(app, clerk, &other, json!({ "action": "reject", "reason": "已有人处理" })).await;
    assert_eq!((status, body["status"].as_str()), (StatusCode::OK, Some("rejected")), "{body}");
    let (_, seen) = app.get(&format!("/api/v1/reports/{other}"), Some(&rider)).await;
    let notes: Vec<&str> =
        seen["timeline"].as_array().unwrap().iter().filter_map(|e| e["public_note"].as_str()).collect();
    assert_eq!(notes, ["属西山街道", "不归街道管", "已有人处理"]);
    c.app.stop().await;
}

#[tokio::test]
async fn a_clerk_sees_and_touches_only_their_own_units_reports() {
    let c = city().await;
    let app = &c.app;
    let rider = app.rider_token("rider-iso").await;
    let west = file_ok(app, &rider, report_at("road_damage", 30.27, 120.12)).await;
    let middle = file_ok(app, &rider, report_at("road_damage", 30.27, 120.16)).await;
    let intruder = &c.clerks[1];

    assert_eq!(app.get(&format!("/api/v1/triage/reports/{west}"), Some(intruder)).await.0, StatusCode::NOT_FOUND);
    assert_eq!(act(app, intruder, &west, json!({ "action": "accept" })).await.0, StatusCode::NOT_FOUND);
    let (status, _) =
        app.post(&format!("/api/v1/triage/reports/{west}/notes"), Some(intruder), json!({ "public_note": "x" })).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, queue) = app.get("/api/v1/triage/reports", Some(intruder)).await;
    let ids: Vec<&str> = queue["items"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [middle.as_str()]);
    // Naming another unit is a 404 as well; an admin sees any unit.
    let other = &c.offices[0];
    assert_eq!(
        app.get(&format!("/api/v1/triage/reports?office_id={other}"), Some(intruder)).await.0,
        StatusCode::NOT_FOUND
    );
    let (_, all) = app.get("/api/v1/triage/reports", Some(&c.admin)).await;
    assert_eq!(all["items"].as_array().unwrap().len(), 2);
    // Assignment only to a clerk of the report's unit.
    let west_clerk = app.create_staff("west.two", Role::Clerk, Some(other)).await;
    let (status, _) = app
        .post(&format!("/api/v1/triage/reports/{middle}/assign"), Some(intruder), json!({ "assignee_id": west_clerk }))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, body) = app
        .post(
            &format!("/api/v1/triage/reports/{west}/assign"),
            Some(&c.clerks[0]),
            json!({ "assignee_id": west_clerk }),
        )
        .await;
    assert_eq!((status, body["assignee_id"].as_str()), (StatusCode::OK, Some(west_clerk.as_str())), "{body}");
    // Riders cannot triage.
    assert_eq!(app.get("/api/v1/triage/reports", Some(&rider)).await.0, StatusCode::FORBIDDEN);
    c.app.stop().await;
}

#[tokio::test]
async fn the_queue_puts_the_earliest_deadline_first_flags_overdue_and_pages() {
    let c = city().await;
    let (app, clerk) = (&c.app, &c.clerks[1]);
    let rider = app.rider_token("rider-queue").await;
    // Respond within a day, 2 hours, 15 minutes.
    let low = file_ok(app, &rider, report_at("parking_shortage", 30.26, 120.15)).await;
    let normal = file_ok(app, &rider, report_at("road_damage", 30.27, 120.16)).await;
    let urgent = file_ok(app, &rider, report_at("fire_safety", 30.28, 120.17)).await;

    let (_, queue) = app.get("/api/v1/triage/reports", Some(clerk)).await;
    let ids: Vec<&str> = queue["items"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [urgent.as_str(), normal.as_str(), low.as_str()]);
    let first = &queue["items"][0];
    let minutes = (first["respond_by"].as_str().unwrap().parse::<chrono::DateTime<chrono::Utc>>().unwrap()
        - first["created_at"].as_str().unwrap().parse::<chrono::DateTime<chrono::Utc>>().unwrap())
    .num_minutes();
    assert_eq!(minutes, 15);
    assert_eq!(first["overdue"], false);

    // Pages follow the same order.
    let (_, page1) = app.get("/api/v1/triage/reports?limit=2", Some(clerk)).await;
    assert_eq!(page1["items"].as_array().unwrap().len(), 2);
    let cursor = page1["next_cursor"].as_str().expect("a second page");
    let (_, page2) = app.get(&format!("/api/v1/triage/reports?limit=2&cursor={cursor}"), Some(clerk)).await;
    assert_eq!(page2["items"][0]["id"], low);
    assert!(page2["next_cursor"].is_null());

    // Twenty minutes pass for the urgent one: it is overdue.
    sqlx::query(
        "UPDATE reports SET respond_by = respond_by - 1200000, next_deadline = next_deadline - 1200000 WHERE id = $1",
    )
    .bind(&urgent)
    .execute(&app.state.db.pool)
    .await
    .unwrap();
    let (_, overdue) = app.get("/api/v1/triage/reports?overdue=true", Some(clerk)).await;
    let items = overdue["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!((items[0]["id"].as_str(), items[0]["overdue"].as_bool()), (Some(urgent.as_str()), Some(true)));
    let (_, filtered) = app.get("/api/v1/triage/reports?category=road_damage&status=submitted", Some(clerk)).await;
    assert_eq!(filtered["items"][0]["id"], normal);
    c.app.stop().await;
}

#[tokio::test]
async fn a_resolved_report_closes_by_itself_after_seven_days() {
    let c = city().await;
    let (app, clerk) = (&c.app, &c.clerks[1]);
    let rider = app.rider_token("rider-close").await;
    let id = file_ok(app, &rider, report_at("road_damage", 30.27, 120.16)).await;
    act(app, clerk, &id, json!({ "action": "accept" })).await;
    act(app, clerk, &id, json!({ "action": "resolve" })).await;
    let db = &app.state.db;
    // Six days on: still resolved.
    assert_eq!(
        xinhuoban::service::reports::close_due(&app.state.reports(), Millis::now().plus_secs(6 * 86400)).await.unwrap(),
        0
    );
    // Eight days ago, in the database: it closes, and reopening is too late.
    sqlx::query("UPDATE reports SET resolved_at = resolved_at - 691200000 WHERE id = $1")
        .bind(&id)
        .execute(&db.pool)
        .await
        .unwrap();
    let (status, body) =
        app.post(&format!("/api/v1/reports/{id}/reopen"), Some(&rider), json!({ "reason": "又坏了" })).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(error_code(&body), "reopen_window_passed");
    assert_eq!(xinhuoban::service::reports::close_due(&app.state.reports(), Millis::now()).await.unwrap(), 1);
    let (_, seen) = app.get(&format!("/api/v1/reports/{id}"), Some(&rider)).await;
    assert_eq!(seen["status"], "closed");
    let last = seen["timeline"].as_array().unwrap().last().unwrap().clone();
    assert_eq!((last["kind"].as_str(), last["actor"].as_str()), (Some("closed"), Some("system")));
    c.app.stop().await;
}

#[tokio::test]
async fn a_units_rates_and_export_on_a_fixture() {
    let c = city().await;
    let (app, clerk) = (&c.app, &c.clerks[1]);
    let rider = app.rider_token("rider-rates").await;
    // A: answered in time, resolved, rated 5. B: answered late (aged), resolved, rated 2.
    // C: never answered.
    let a = file_ok(app, &rider, report_at("road_damage", 30.26, 120.15)).await;
    let b = file_ok(app, &rider, report_at("environment", 30.27, 120.16)).await;
    file_ok(app, &rider, report_at("other", 30.28, 120.17)).await;
    // B was filed (and routed) a day and an hour ago: its 24 h response deadline passed before
    // the clerk answered.
    sqlx::query(
        "UPDATE reports SET created_at = created_at - 90000000, routed_at = routed_at - 90000000, \
         respond_by = respond_by - 90000000, resolve_by = resolve_by - 90000000 WHERE id = $1",
    )
    .bind(&b)
    .execute(&app.state.db.pool)
    .await
    .unwrap();
    for (id, score) in [(&a, 5), (&b, 2)] {
        act(app, clerk, id, json!({ "action": "accept" })).await;
        let (status, body) = act(app, clerk, id, json!({ "action": "resolve" })).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (status, body) =
            app.post(&format!("/api/v1/reports/{id}/rating"), Some(&rider), json!({ "score": score })).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let (status, m) = app.get("/api/v1/triage/metrics", Some(clerk)).await;
    assert_eq!(status, StatusCode::OK, "{m}");
    assert_eq!(
        (m["reports"].as_u64(), m["responded_in_time"].as_u64(), m["resolved"].as_u64()),
        (Some(3), Some(1), Some(2))
    );
    assert!((m["response_rate"].as_f64().unwrap() - 1.0 / 3.0).abs() < 1e-9, "{m}");
    assert!((m["resolution_rate"].as_f64().unwrap() - 2.0 / 3.0).abs() < 1e-9, "{m}");
    assert_eq!(m["satisfaction_rate"].as_f64(), Some(0.5));
    assert!(m["median_resolution_secs"].as_i64().unwrap() >= 45_000, "{m}");
    // Another unit has none; a date range excludes B.
    let (_, west) = app.get(&format!("/api/v1/triage/metrics?office_id={}", c.offices[0]), Some(&c.admin)).await;
    assert_eq!(west["reports"], 0);
    assert!(west["response_rate"].is_null());
    let since = (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let (_, recent) = app.get(&format!("/api/v1/triage/metrics?from={since}"), Some(clerk)).await;
    assert_eq!(recent["reports"], 2, "{recent}");

    let resp = app.client.get(app.url("/api/v1/triage/reports.csv")).bearer_auth(clerk).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let text = resp.text().await.unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    assert!(lines[0].starts_with("id,created_at,category,status,unit"), "{text}");
    assert!(text.contains(&b) && text.contains("false") && text.contains(",5"), "{text}");
    c.app.stop().await;
}

#[tokio::test]
async fn the_public_map_and_the_preview_show_open_reports_without_who_filed_them() {
    let c = city().await;
    let app = &c.app;
    let reporter = app.rider_token("rider-secret-name").await;
    let id = file_ok(app, &reporter, report_at("road_damage", 30.27, 120.16)).await;
    let reporter_id = account_id(app, &reporter).await;
    let other = app.rider_token("rider-map").await;

    let (status, map) = app.get("/api/v1/reports/nearby?lat=30.2705&lng=120.1605&radius_m=500", Some(&other)).await;
    assert_eq!(status, StatusCode::OK, "{map}");
    assert_eq!(map["items"][0]["id"], id);
    assert!(map["items"][0]["distance_m"].as_i64().unwrap() < 100);
    let text = map.to_string();
    assert!(!text.contains(&reporter_id) && !text.contains("rider-secret-name") && !text.contains("井盖"), "{text}");

    let p = preview(app, &other, 30.2710, 120.16, "road_damage").await;
    assert_eq!(p["nearby"][0]["id"], id);
    assert!(!p.to_string().contains(&reporter_id));
    // Following it from the preview: a "me too" without filing.
    let (status, body) = app.post(&format!("/api/v1/reports/{id}/follow"), Some(&other), json!({})).await;
    assert_eq!((status, body["priority"].as_i64()), (StatusCode::OK, Some(2)), "{body}");
    c.app.stop().await;
}

#[tokio::test]
async fn the_demo_city_has_jurisdictions_categories_and_reports_for_its_clerk() {
    let app = spawn_demo_app().await;
    let (_, login) =
        app.post("/api/v1/auth/staff-login", None, json!({ "username": "demo-clerk", "password": "demo" })).await;
    let clerk = login["token"].as_str().unwrap();
    let (_, queue) = app.get("/api/v1/triage/reports", Some(clerk)).await;
    assert_eq!(queue["items"].as_array().unwrap().len(), 1, "{queue}");
    assert_eq!(queue["items"][0]["unit"]["name"], "城关街道办事处");
    let (_, rider) = app.post("/api/v1/auth/wechat-login", None, json!({ "code": "demo-wang" })).await;
    let rider = rider["token"].as_str().unwrap();
    let p = preview(&app, rider, 30.2652, 120.1952, "food_safety").await;
    assert_eq!(p["unit"]["name"], "区市场监督管理局");
    assert_eq!(p["nearby"].as_array().unwrap().len(), 1);
    let p = preview(&app, rider, 30.27, 120.20, "road_damage").await;
    assert_eq!(p["unit"]["name"], "西山街道办事处");
    app.stop().await;
}

#[tokio::test]
async fn an_admin_sets_a_categorys_deadlines_and_new_reports_get_them() {
    let c = city().await;
    let app = &c.app;
    let (status, units) = app.get("/api/v1/admin/units?limit=100", Some(&c.admin)).await;
    assert_eq!(status, StatusCode::OK);
    let kinds: Vec<&str> = units["items"].as_array().unwrap().iter().map(|u| u["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds.iter().filter(|k| **k == "street_office").count(), 3);
    assert_eq!(kinds.iter().filter(|k| **k == "fallback").count(), 1);

    let update = json!({ "name": "道路坑洼", "hint": "路面坑洼、破损", "urgency": "urgent", "response_secs": 600, "resolution_secs": 7200 });
    let (status, body) = app.put("/api/v1/admin/categories/road_damage", Some(&c.admin), update.clone()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!((body["name"].as_str(), body["response_secs"].as_i64()), (Some("道路坑洼"), Some(600)));
    let mut backwards = update.clone();
    backwards["resolution_secs"] = json!(300);
    assert_eq!(
        app.put("/api/v1/admin/categories/road_damage", Some(&c.admin), backwards).await.0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        app.put("/api/v1/admin/categories/road_damage", Some(&c.clerks[0]), update).await.0,
        StatusCode::FORBIDDEN
    );

    let rider = app.rider_token("rider-deadline").await;
    let (_, categories) = app.get("/api/v1/reports/categories", Some(&rider)).await;
    assert!(categories.as_array().unwrap().iter().any(|c| c["name"] == "道路坑洼"), "{categories}");
    let (_, filed) = file(app, &rider, report_at("road_damage", 30.27, 120.16)).await;
    let at = |field: &str| filed["report"][field].as_str().unwrap().parse::<chrono::DateTime<chrono::Utc>>().unwrap();
    assert_eq!((at("respond_by") - at("created_at")).num_seconds(), 600);
    assert_eq!((at("resolve_by") - at("created_at")).num_seconds(), 7200);
    c.app.stop().await;
}

#[tokio::test]
async fn a_retry_after_the_rate_limit_still_returns_the_first_report() {
    let c = city_with(Options { extra: vec![("XHB_REPORTS_PER_RIDER_PER_HOUR", "1".into())] }).await;
    let app = &c.app;
    let rider = app.rider_token("rider-retry-limit").await;
    let send = |key: &'static str, body: Value| {
        app.send(
            app.client.post(app.url("/api/v1/reports")).bearer_auth(&rider).header("idempotency-key", key).json(&body),
        )
    };
    let (status, first) = send("only-once", report_at("other", 30.27, 120.16)).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let (status, _) = send("another", report_at("environment", 30.25, 120.11)).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    let (status, again) = send("only-once", report_at("other", 30.27, 120.16)).await;
    assert_eq!(status, StatusCode::CREATED, "{again}");
    assert_eq!(again["report"]["id"], first["report"]["id"]);
    c.app.stop().await;
}

#[tokio::test]
async fn two_concurrent_retries_with_one_key_make_one_report() {
    let c = city().await;
    let app = &c.app;
    let rider = app.rider_token("rider-double-tap").await;
    let send = || {
        app.send(
            app.client
                .post(app.url("/api/v1/reports"))
                .bearer_auth(&rider)
                .header("idempotency-key", "double-tap")
                .json(&report_at("road_damage", 30.27, 120.16)),
        )
    };
    let ((s1, a), (s2, b)) = tokio::join!(send(), send());
    assert_eq!((s1, s2), (StatusCode::CREATED, StatusCode::CREATED), "{a} {b}");
    assert_eq!(a["report"]["id"], b["report"]["id"]);
    let (_, mine) = app.get("/api/v1/reports/mine", Some(&rider)).await;
    assert_eq!(mine["items"].as_array().unwrap().len(), 1);
    c.app.stop().await;
}

#[tokio::test]
async fn an_anonymous_reporter_is_nameless_to_the_unit_too() {
    let c = city().await;
    let app = &c.app;
    let rider = app.rider_token("rider-named").await;
    let named = file_ok(app, &rider, report_at("road_damage", 30.26, 120.15)).await;
    let mut body = report_at("environment", 30.28, 120.17);
    body["anonymous"] = json!(true);
    let anonymous = file_ok(app, &rider, body).await;
    let (_, seen) = app.get(&format!("/api/v1/triage/reports/{named}"), Some(&c.clerks[1])).await;
    assert_eq!(seen["reporter_name"], "骑手");
    let (_, seen) = app.get(&format!("/api/v1/triage/reports/{anonymous}"), Some(&c.clerks[1])).await;
    assert!(seen["reporter_name"].is_null(), "{seen}");
    assert_eq!(seen["anonymous"], true);
    c.app.stop().await;
}

#[tokio::test]
async fn a_jurisdiction_written_by_another_node_reaches_routing_on_the_next_refresh() {
    use xinhuoban::domain::geo::Gcj02;
    use xinhuoban::domain::report::Category;
    use xinhuoban::domain::routing::{Area, RouteReason};
    let c = city().await;
    let state = &c.app.state;
    // Another node gives the west office a second area to the north, straight in the database.
    let north = Area::rectangle(30.40, 120.10, 30.45, 120.20).unwrap();
    let mut conn = state.db.pool.acquire().await.unwrap();
    xinhuoban::store::jurisdictions::put(&mut conn, &state.city.id, &c.offices[0], &north).await.unwrap();
    drop(conn);
    let point = Gcj02::new(30.42, 120.15).unwrap();
    let route = || state.routing.current().route(point, Category::Other, &[]).unwrap();
    assert_eq!(route().reason, RouteReason::Fallback);
    state.routing.refresh(&state.db, &state.city.id).await.unwrap();
    assert_eq!(route().office_id, c.offices[0]);
    c.app.stop().await;
}

/// Renames a rider, as if WeChat had given them a name (every test rider is "骑手" otherwise).
pub async fn name_rider(app: &TestApp, account_id: &str, name: &str) {
    sqlx::query("UPDATE accounts SET display_name = $1 WHERE id = $2")
        .bind(name)
        .bind(account_id)
        .execute(&app.state.db.pool)
        .await
        .unwrap();
}

fn ids(page: &Value) -> Vec<String> {
    page["items"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap().to_string()).collect()
}

fn item<'a>(page: &'a Value, id: &str) -> &'a Value {
    page["items"].as_array().unwrap().iter().find(|r| r["id"] == id).unwrap_or_else(|| panic!("{id} in {page}"))
}

/// A page of many reports from several riders across units: every item carries its own unit,
/// its own photos and its own reporter's name (none for an anonymous one), in the queue, in a
/// rider's own list and in the detail, and pages cut the same list.
#[tokio::test]
async fn a_page_of_reports_names_each_ones_unit_photos_and_reporter() {
    let c = city().await;
    let app = &c.app;
    let wang = app.rider_token("rider-wang").await;
    let li = app.rider_token("rider-li").await;
    let zhao = app.rider_token("rider-zhao").await;
    let (wang_id, li_id, zhao_id) =
        (account_id(app, &wang).await, account_id(app, &li).await, account_id(app, &zhao).await);
    name_rider(app, &wang_id, "王师傅").await;
    name_rider(app, &li_id, "李师傅").await;

    let mut wang_photos = vec![add_media(app, &wang_id).await, add_media(app, &wang_id).await];
    wang_photos.sort();
    let li_photo = add_media(app, &li_id).await;
    let li_second = add_media(app, &li_id).await;
    let zhao_photo = add_media(app, &zhao_id).await;
    let with = |mut body: Value, photos: Value, anonymous: bool| {
        body["media_ids"] = photos;
        body["anonymous"] = json!(anonymous);
        body
    };
    // West band, two photos; middle band, one; east band, anonymous; the market regulator's.
    let west = file_ok(app, &wang, with(report_at("road_damage", 30.27, 120.12), json!(wang_photos), false)).await;
    let middle = file_ok(app, &li, with(report_at("environment", 30.27, 120.16), json!([li_photo]), false)).await;
    let east = file_ok(app, &zhao, with(report_at("other", 30.27, 120.20), json!([zhao_photo]), true)).await;
    let food = file_ok(app, &wang, report_at("food_safety", 30.28, 120.16)).await;
    // Li says "me too" at the west report with a photo of his own.
    let (status, joined) =
        file(app, &li, with(report_at("road_damage", 30.27002, 120.12), json!([li_second]), false)).await;
    assert_eq!((status, joined["report"]["id"].as_str()), (StatusCode::OK, Some(west.as_str())), "{joined}");
    let west_photos: Vec<String> = wang_photos.iter().cloned().chain([li_second.clone()]).collect();

    // The admin's queue holds all four, each with its own unit, photos and reporter.
    let (status, queue) = app.get("/api/v1/triage/reports", Some(&c.admin)).await;
    assert_eq!(status, StatusCode::OK, "{queue}");
    assert_eq!(queue["items"].as_array().unwrap().len(), 4, "{queue}");
    let expected = [
        (&west, "城关街道", json!(west_photos), json!("王师傅")),
        (&middle, "东湖街道", json!([li_photo]), json!("李师傅")),
        (&east, "西山街道", json!([zhao_photo]), Value::Null),
        (&food, "区市场监督管理局", json!([]), json!("王师傅")),
    ];
    for (id, unit, photos, reporter) in &expected {
        let r = item(&queue, id);
        assert_eq!(
            (&r["unit"]["name"], &r["media_ids"], &r["reporter_name"]),
            (&json!(unit), photos, reporter),
            "{id}: {r}"
        );
    }
    assert_eq!(item(&queue, &west)["priority"], 2);
    assert_eq!(item(&queue, &east)["anonymous"], true);
    // Pages of one cut the same list in the same order.
    let mut paged = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/triage/reports?limit=1&cursor={c}"),
            None => "/api/v1/triage/reports?limit=1".to_string(),
        };
        let (_, page) = app.get(&path, Some(&c.admin)).await;
        paged.extend(ids(&page));
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => break,
        }
    }
    assert_eq!(paged, ids(&queue));
    // A clerk's queue: their unit's report only, the same view of it.
    let (_, own) = app.get("/api/v1/triage/reports", Some(&c.clerks[1])).await;
    assert_eq!(ids(&own), std::slice::from_ref(&middle));
    assert_eq!(own["items"][0], *item(&queue, &middle));

    // Li's own list: the report he filed and the one he joined, newest first, each with its
    // unit and the photos he attached (not Wang's: following opens no photos), and nobody's name.
    let (status, mine) = app.get("/api/v1/reports/mine", Some(&li)).await;
    assert_eq!(status, StatusCode::OK, "{mine}");
    assert_eq!(ids(&mine), [middle.clone(), west.clone()]);
    assert_eq!(item(&mine, &west)["unit"]["name"], "城关街道");
    assert_eq!(item(&mine, &west)["media_ids"], json!([li_second]));
    assert_eq!(item(&mine, &middle)["media_ids"], json!([li_photo]));
    assert!(!mine.to_string().contains("师傅"), "{mine}");
    let (_, first) = app.get("/api/v1/reports/mine?limit=1", Some(&li)).await;
    let next = first["next_cursor"].as_str().expect("a second page");
    let (_, second) = app.get(&format!("/api/v1/reports/mine?limit=1&cursor={next}"), Some(&li)).await;
    assert_eq!((ids(&first), ids(&second)), (vec![middle.clone()], vec![west.clone()]));
    assert!(second["next_cursor"].is_null());

    // The detail agrees with the queue, and its timeline names who acted and where.
    let (_, detail) = app.get(&format!("/api/v1/triage/reports/{west}"), Some(&c.clerks[0])).await;
    assert_eq!((&detail["reporter_name"], &detail["media_ids"]), (&json!("王师傅"), &json!(west_photos)));
    let timeline: Vec<(&str, &str, &str)> = detail["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["kind"].as_str().unwrap(), e["actor_role"].as_str().unwrap(), e["unit"]["name"].as_str().unwrap()))
        .collect();
    assert_eq!(timeline, [("submitted", "reporter", "城关街道"), ("me_too", "rider", "城关街道")]);
    c.app.stop().await;
}

/// The subscribe messages queued for a report: (recipient account, status phrase), oldest first.
async fn progress_messages(app: &TestApp, report_id: &str) -> Vec<(String, String)> {
    let rows: Vec<String> =
        sqlx::query_scalar("SELECT payload_json FROM outbox WHERE payload_json LIKE $1 ORDER BY id")
            .bind(format!("%{report_id}%"))
            .fetch_all(&app.state.db.pool)
            .await
            .unwrap();
    rows.iter()
        .map(|r| serde_json::from_str::<Value>(r).unwrap())
        .map(|p| {
            let account = p["account_id"].as_str().unwrap_or_default().to_string();
            (account, p["message"]["data"]["phrase2"]["value"].as_str().unwrap_or_default().to_string())
        })
        .collect()
}

#[tokio::test]
async fn followers_hear_when_the_reporter_reopens_and_when_the_report_closes_by_itself() {
    let c = city_with(Options { extra: vec![("XHB_NOTIFY_REPORT_TEMPLATE_ID", "tmpl-progress".into())] }).await;
    let (app, clerk) = (&c.app, &c.clerks[1]);
    let (wang, li) = (app.rider_token("wang").await, app.rider_token("li").await);
    let (wang_id, li_id) = (account_id(app, &wang).await, account_id(app, &li).await);
    app.consent(&wang, "tmpl-progress", 10).await;
    app.consent(&li, "tmpl-progress", 10).await;
    let id = file_ok(app, &wang, report_at("road_damage", 30.27, 120.16)).await;
    file(app, &li, report_at("road_damage", 30.2701, 120.16)).await;
    act(app, clerk, &id, json!({ "action": "accept" })).await;
    act(app, clerk, &id, json!({ "action": "resolve" })).await;
    let before = progress_messages(app, &id).await.len();

    let (status, body) =
        app.post(&format!("/api/v1/reports/{id}/reopen"), Some(&wang), json!({ "reason": "又坏了" })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let reopened = progress_messages(app, &id).await[before..].to_vec();
    assert_eq!(reopened, [(li_id.clone(), "已重启".to_string())], "the one who reopened it knows already");

    act(app, clerk, &id, json!({ "action": "resolve" })).await;
    let before = progress_messages(app, &id).await.len();
    let eight_days = Millis::now().plus_secs(8 * 86400);
    assert_eq!(xinhuoban::service::reports::close_due(&app.state.reports(), eight_days).await.unwrap(), 1);
    let mut closed = progress_messages(app, &id).await[before..].to_vec();
    closed.sort();
    let mut expected = vec![(wang_id, "已办结".to_string()), (li_id, "已办结".to_string())];
    expected.sort();
    assert_eq!(closed, expected);
    c.app.stop().await;
}

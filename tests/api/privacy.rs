//! Privacy, as riders are owed it: an anonymous report cannot be tied to its reporter by staff,
//! the public sees one projection of a report (the map and Open311 alike), following a report
//! opens none of its photos, only city admins remove places, and a rider can read everything
//! held about them and then erase it.

use std::io::Cursor;

use chrono::{DateTime, FixedOffset};
use image::{DynamicImage, ImageFormat};
use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};
use xinhuoban::domain::identity::Role;
use xinhuoban::store::Backend;
use xinhuoban::store::audit::AuditEntry;

use crate::helpers::*;
use crate::reports::{City, account_id, act, city, city_with, file, file_ok, name_rider, report_at};

/// Uploads a small PNG as `token` and returns the photo's id.
pub async fn upload(app: &TestApp, token: &str) -> String {
    let mut png = Vec::new();
    DynamicImage::new_rgb8(16, 12).write_to(&mut Cursor::new(&mut png), ImageFormat::Png).unwrap();
    let form = Form::new().part("file", Part::bytes(png).file_name("photo.png"));
    let req = app.client.post(app.url("/api/v1/media")).bearer_auth(token).multipart(form);
    let (status, media) = app.send(req).await;
    assert_eq!(status, StatusCode::CREATED, "{media}");
    media["id"].as_str().unwrap().to_string()
}

async fn photo_status(app: &TestApp, id: &str, token: &str) -> StatusCode {
    let resp = app.client.get(app.url(&format!("/api/v1/media/{id}"))).bearer_auth(token).send().await.unwrap();
    resp.status()
}

/// Every text the caller could read in these answers that contains one of `needles`.
fn leaks(answers: &[(&str, String)], needles: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    for (what, text) in answers {
        for needle in needles {
            if text.contains(needle) {
                found.push(format!("{what} shows `{needle}`"));
            }
        }
    }
    found
}

async fn get_text(app: &TestApp, path: &str, token: Option<&str>) -> String {
    let (status, body) = app.get(path, token).await;
    assert_eq!(status, StatusCode::OK, "{path}: {body}");
    match body {
        Value::String(text) => text,
        other => other.to_string(),
    }
}

#[tokio::test]
async fn a_clerk_cannot_tie_an_anonymous_report_to_its_reporter() {
    let c = city().await;
    let app = &c.app;
    let clerk = &c.clerks[1];
    let openid = "openid-zhang-anonymous";
    let zhang = app.rider_token(openid).await;
    let zhang_id = account_id(app, &zhang).await;
    name_rider(app, &zhang_id, "张三丰").await;
    let photo = upload(app, &zhang).await;

    // Zhang files one report under his name and one anonymously (with a photo), both in the
    // middle band, and says "me too" at a third rider's report there.
    let named = file_ok(app, &zhang, report_at("road_damage", 30.27, 120.15)).await;
    let mut body = report_at("environment", 30.28, 120.17);
    body["anonymous"] = json!(true);
    body["media_ids"] = json!([photo]);
    let anonymous = file_ok(app, &zhang, body).await;
    let other = app.rider_token("openid-other").await;
    let third = file_ok(app, &other, report_at("traffic_safety", 30.26, 120.16)).await;
    let (status, joined) = file(app, &zhang, report_at("traffic_safety", 30.26002, 120.16)).await;
    assert_eq!((status, joined["report"]["id"].as_str()), (StatusCode::OK, Some(third.as_str())), "{joined}");
    let map = get_text(app, "/api/v1/reports/nearby?lat=30.28&lng=120.17&radius_m=500", Some(clerk)).await;

    // The anonymous report lives its life: accepted, resolved, reopened by Zhang, resolved, rated.
    for step in [json!({ "action": "accept" }), json!({ "action": "resolve" })] {
        let (status, body) = act(app, clerk, &anonymous, step).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let (status, body) =
        app.post(&format!("/api/v1/reports/{anonymous}/reopen"), Some(&zhang), json!({ "reason": "还是很脏" })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = act(app, clerk, &anonymous, json!({ "action": "resolve" })).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) =
        app.post(&format!("/api/v1/reports/{anonymous}/rating"), Some(&zhang), json!({ "score": 4 })).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // Everything the clerk (and the admin) can read about it.
    let (_, queue) = app.get("/api/v1/triage/reports?limit=100", Some(clerk)).await;
    let entry = queue["items"].as_array().unwrap().iter().find(|r| r["id"] == anonymous.as_str()).unwrap().to_string();
    let answers = vec![
        ("the map", map),
        ("its entry in the queue", entry),
        ("the detail", get_text(app, &format!("/api/v1/triage/reports/{anonymous}"), Some(clerk)).await),
        ("the admin's detail", get_text(app, &format!("/api/v1/triage/reports/{anonymous}"), Some(&c.admin)).await),
        ("the me-too's detail", get_text(app, &format!("/api/v1/triage/reports/{third}"), Some(clerk)).await),
        ("the CSV", get_text(app, "/api/v1/triage/reports.csv", Some(clerk)).await),
        ("Open311's list", get_text(app, "/open311/v2/requests.json", None).await),
        ("Open311's request", get_text(app, &format!("/open311/v2/requests/{anonymous}.json"), None).await),
    ];
    let leaked = leaks(&answers, &[&zhang_id, "张三丰", openid]);
    assert!(leaked.is_empty(), "{leaked:#?}");
    // The photo is the unit's to see, and it says nothing about who took it.
    let resp = app.client.get(app.url(&format!("/api/v1/media/{photo}"))).bearer_auth(clerk).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.headers().iter().all(|(_, v)| !v.to_str().unwrap_or_default().contains(&zhang_id)));

    // Riders appear on the timeline by role: the staff entries name their clerk.
    let (_, detail) = app.get(&format!("/api/v1/triage/reports/{anonymous}"), Some(clerk)).await;
    let roles: Vec<(&str, bool)> = detail["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["actor_role"].as_str().unwrap(), e["actor_id"].is_string()))
        .collect();
    assert_eq!(
        roles,
        [
            ("reporter", false),
            ("staff", true),
            ("staff", true),
            ("reporter", false),
            ("staff", true),
            ("reporter", false)
        ]
    );
    assert!(detail["reporter_name"].is_null());
    // The named report names him, as before, but gives no account id to compare with either.
    let (_, named_detail) = app.get(&format!("/api/v1/triage/reports/{named}"), Some(clerk)).await;
    assert_eq!(named_detail["reporter_name"], "张三丰");
    assert!(!named_detail.to_string().contains(&zhang_id), "{named_detail}");
    c.app.stop().await;
}

#[tokio::test]
async fn open311_and_the_map_show_the_same_projection_and_nothing_written() {
    let c = city().await;
    let app = &c.app;
    let reporter = app.rider_token("openid-projected").await;
    let reporter_id = account_id(app, &reporter).await;
    let photo = upload(app, &reporter).await;
    let mut body = report_at("road_damage", 30.27037, 120.16052);
    body["description"] = json!("门口第三个井盖松动-描述");
    body["media_ids"] = json!([photo]);
    let id = file_ok(app, &reporter, body).await;
    let (status, _) =
        act(app, &c.clerks[1], &id, json!({ "action": "accept", "public_note": "已派人查看-回复" })).await;
    assert_eq!(status, StatusCode::OK);
    let follower = app.rider_token("openid-follower").await;
    let (status, _) = app.post(&format!("/api/v1/reports/{id}/follow"), Some(&follower), json!({})).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = act(app, &c.clerks[1], &id, json!({ "action": "resolve" })).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) =
        app.post(&format!("/api/v1/reports/{id}/reopen"), Some(&reporter), json!({ "reason": "我家门口-原因" })).await;
    assert_eq!(status, StatusCode::OK);

    let onlooker = app.rider_token("openid-onlooker").await;
    let (status, gcj) = app.get("/api/v1/reports/nearby?lat=30.2705&lng=120.1605&radius_m=500", Some(&onlooker)).await;
    assert_eq!(status, StatusCode::OK, "{gcj}");
    let on_map = &gcj["items"][0];
    assert_eq!(on_map["id"], id.as_str());
    // Rounded to 0.001° in GCJ-02, and measured from there.
    assert_eq!((on_map["location"]["lat"].as_f64(), on_map["location"]["lng"].as_f64()), (Some(30.27), Some(120.161)));
    assert_eq!(on_map["distance_m"], 73, "{on_map}");
    let (_, wgs) =
        app.get("/api/v1/reports/nearby?lat=30.2729&lng=120.1558&coord=wgs84&radius_m=2000", Some(&onlooker)).await;
    let on_map = &wgs["items"][0];
    let (status, sr) = app.get(&format!("/open311/v2/requests/{id}.json"), None).await;
    assert_eq!(status, StatusCode::OK, "{sr}");
    let sr = &sr[0];

    // One projection: the same report, category, status, unit, point and times.
    let instant = |v: &Value| DateTime::<FixedOffset>::parse_from_rfc3339(v.as_str().unwrap()).unwrap();
    assert_eq!((&on_map["id"], &sr["service_request_id"]), (&json!(id), &json!(id)));
    assert_eq!(on_map["category"], sr["service_code"]);
    assert_eq!((on_map["status"].as_str(), sr["status"].as_str()), (Some("reopened"), Some("open")));
    assert_eq!(on_map["unit"]["name"], sr["agency_responsible"]);
    assert_eq!((&on_map["location"]["lat"], &on_map["location"]["lng"]), (&sr["lat"], &sr["long"]));
    assert_eq!(instant(&on_map["created_at"]), instant(&sr["requested_datetime"]));
    assert_eq!(instant(&on_map["updated_at"]), instant(&sr["updated_datetime"]));
    assert_eq!(instant(&on_map["resolve_by"]), instant(&sr["expected_datetime"]));
    let (_, list) = app.get("/open311/v2/requests.json", None).await;
    assert_eq!(list[0], *sr);

    // Neither shows the description, a note, the reporter or a photo.
    let written = ["井盖松动", "已派人查看", "我家门口", photo.as_str(), reporter_id.as_str(), "openid-projected"];
    let answers = [("the map", gcj.to_string()), ("the wgs84 map", wgs.to_string()), ("Open311", list.to_string())];
    let leaked = leaks(&answers, &written);
    assert!(leaked.is_empty(), "{leaked:#?}");
    assert!(sr["description"].is_null() && sr["status_notes"].is_null() && sr["media_url"].is_null(), "{sr}");

    // A follower sees the projection too, and the unit's reply, but not the reporter's words.
    let (status, seen) = app.get(&format!("/api/v1/reports/{id}"), Some(&follower)).await;
    assert_eq!(status, StatusCode::OK, "{seen}");
    assert_eq!((seen["mine"].as_bool(), seen["description"].as_str()), (Some(false), Some("")));
    assert_eq!(seen["location"], gcj["items"][0]["location"]);
    assert_eq!(seen["media_ids"], json!([]));
    let text = seen.to_string();
    assert!(text.contains("已派人查看") && !text.contains("我家门口") && !text.contains("井盖松动"), "{text}");
    // The reporter still sees all of it.
    let (_, own) = app.get(&format!("/api/v1/reports/{id}"), Some(&reporter)).await;
    assert_eq!((own["description"].as_str(), &own["media_ids"]), (Some("门口第三个井盖松动-描述"), &json!([photo])));
    assert_eq!(own["location"]["lat"], 30.27037);
    assert!(own.to_string().contains("我家门口"));
    c.app.stop().await;
}

#[tokio::test]
async fn following_a_report_opens_none_of_its_photos() {
    let c = city().await;
    let app = &c.app;
    let reporter = app.rider_token("openid-photo-owner").await;
    let follower = app.rider_token("openid-photo-follower").await;
    app.create_staff("manager", Role::StationManager, None).await;
    let manager = app.staff_token("manager").await;

    let on_report = upload(app, &reporter).await;
    let mut body = report_at("road_damage", 30.27, 120.16);
    body["media_ids"] = json!([on_report]);
    let id = file_ok(app, &reporter, body).await;
    let (status, _) = app.post(&format!("/api/v1/reports/{id}/follow"), Some(&follower), json!({})).await;
    assert_eq!(status, StatusCode::OK);
    // The follower's own "me too" photo at the same spot.
    let theirs = upload(app, &follower).await;
    let mut body = report_at("road_damage", 30.27001, 120.16);
    body["media_ids"] = json!([theirs]);
    let (status, joined) = file(app, &follower, body).await;
    assert_eq!((status, joined["report"]["id"].as_str()), (StatusCode::OK, Some(id.as_str())), "{joined}");
    let unattached = upload(app, &follower).await;
    let place_photo = upload(app, &c.admin).await;

    let cases = [
        // A photo on a report: its uploader, the unit holding the report, and admins.
        (&on_report, &reporter, StatusCode::OK),
        (&on_report, &c.clerks[1], StatusCode::OK),
        (&on_report, &c.admin, StatusCode::OK),
        (&on_report, &follower, StatusCode::NOT_FOUND),
        (&on_report, &c.clerks[0], StatusCode::NOT_FOUND),
        (&on_report, &manager, StatusCode::NOT_FOUND),
        // The follower's "me too" photo: theirs, not the reporter's.
        (&theirs, &follower, StatusCode::OK),
        (&theirs, &c.clerks[1], StatusCode::OK),
        (&theirs, &reporter, StatusCode::NOT_FOUND),
        // A rider's photo on no report is theirs alone (and admins').
        (&unattached, &follower, StatusCode::OK),
        (&unattached, &c.admin, StatusCode::OK),
        (&unattached, &reporter, StatusCode::NOT_FOUND),
        (&unattached, &c.clerks[1], StatusCode::NOT_FOUND),
        // A photo staff uploaded on no report (a place's) is for anyone signed in, as before.
        (&place_photo, &follower, StatusCode::OK),
        (&place_photo, &manager, StatusCode::OK),
    ];
    for (photo, token, expected) in cases {
        assert_eq!(photo_status(app, photo, token).await, expected, "{photo}");
    }
    // Each rider's view lists only the photos they may open; the unit's lists them all.
    let (_, seen) = app.get(&format!("/api/v1/reports/{id}"), Some(&follower)).await;
    assert_eq!(seen["media_ids"], json!([theirs]));
    let (_, own) = app.get(&format!("/api/v1/reports/{id}"), Some(&reporter)).await;
    assert_eq!(own["media_ids"], json!([on_report]));
    let (_, detail) = app.get(&format!("/api/v1/triage/reports/{id}"), Some(&c.clerks[1])).await;
    assert_eq!(detail["media_ids"], json!([on_report, theirs]));
    c.app.stop().await;
}

#[tokio::test]
async fn only_city_admins_remove_or_restore_a_place() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let wang = app.create_staff("wang", Role::StationManager, None).await;
    let station = json!({ "kind": "station", "name": "王的驿站", "address": "西湖区某路1号", "lat": 30.27,
                          "lng": 120.16, "amenities": ["drinking_water"], "hours": "24/7" });
    let (status, place) = app.post("/api/v1/admin/places", Some(&admin), station).await;
    assert_eq!(status, StatusCode::OK, "{place}");
    let id = place["id"].as_str().unwrap();
    app.put(&format!("/api/v1/admin/places/{id}/managers"), Some(&admin), json!({ "account_ids": [wang] })).await;
    let manager = app.staff_token("wang").await;
    let path = format!("/api/v1/places/{id}");

    // The manager may close their station for a while, not remove it.
    let (status, body) = app.patch(&path, Some(&manager), json!({ "status": "removed" })).await;
    assert_eq!((status, error_code(&body)), (StatusCode::FORBIDDEN, "forbidden"));
    let (_, place) = app.get(&path, None).await;
    assert_eq!(place["status"], "open");
    let (status, body) =
        app.patch(&path, Some(&manager), json!({ "status": "temporarily_closed", "status_reason": "停电" })).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // Once an admin removed it, the manager can neither restore it nor keep it.
    let (status, body) = app.patch(&path, Some(&admin), json!({ "status": "removed" })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    for change in [json!({ "status": "open" }), json!({ "hours": "mon-fri 08:00-20:00" })] {
        let (status, body) = app.patch(&path, Some(&manager), change).await;
        assert_eq!((status, error_code(&body)), (StatusCode::FORBIDDEN, "forbidden"));
    }
    let (status, _) = app.get(&path, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "removed places are gone from rider reads");
    // The admin restores it.
    let (status, body) = app.patch(&path, Some(&admin), json!({ "status": "open" })).await;
    assert_eq!((status, body["status"].as_str()), (StatusCode::OK, Some("open")), "{body}");
    app.stop().await;
}

/// Every (table, column) of the schema, for a scan of the whole database.
async fn every_column(app: &TestApp) -> Vec<(String, String)> {
    let pool = &app.state.db.pool;
    let mut columns = Vec::new();
    match app.state.db.backend {
        Backend::Sqlite => {
            let tables: Vec<String> =
                sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
                    .fetch_all(pool)
                    .await
                    .unwrap();
            for table in tables {
                let names: Vec<String> = sqlx::query_scalar("SELECT name FROM pragma_table_info($1)")
                    .bind(&table)
                    .fetch_all(pool)
                    .await
                    .unwrap();
                columns.extend(names.into_iter().map(|c| (table.clone(), c)));
            }
        }
        Backend::Postgres => {
            let rows: Vec<(String, String)> = sqlx::query_as(
                "SELECT CAST(table_name AS TEXT), CAST(column_name AS TEXT) FROM information_schema.columns \
                 WHERE table_schema = current_schema()",
            )
            .fetch_all(pool)
            .await
            .unwrap();
            columns.extend(rows);
        }
    }
    assert!(columns.len() > 100, "the scan sees the schema: {columns:?}");
    columns
}

/// Where in the database `needle` still appears: "table.column × rows".
async fn find_everywhere(app: &TestApp, needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (table, column) in every_column(app).await {
        let sql = format!("SELECT COUNT(*) FROM \"{table}\" WHERE CAST(\"{column}\" AS TEXT) LIKE $1");
        let count: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .bind(format!("%{needle}%"))
            .fetch_one(&app.state.db.pool)
            .await
            .unwrap();
        if count > 0 {
            found.push(format!("{table}.{column} × {count}"));
        }
    }
    found
}

async fn erasing_city() -> City {
    city_with(Options { extra: vec![("XHB_NOTIFY_REPORT_TEMPLATE_ID", "tmpl-progress".into())] }).await
}

#[tokio::test]
async fn a_rider_reads_everything_held_about_them_then_erases_it() {
    let c = erasing_city().await;
    let app = &c.app;
    let openid = "openid-zhao-erase-me";
    let zhao = app.rider_token(openid).await;
    let zhao_id = account_id(app, &zhao).await;
    name_rider(app, &zhao_id, "赵六同志").await;
    app.consent(&zhao, "tmpl-progress", 5).await;

    // Zhao's life in the service: two photos (one filed with a report), a named report, an
    // anonymous one, a "me too" on another rider's report, a check-in.
    let filed_photo = upload(app, &zhao).await;
    let loose_photo = upload(app, &zhao).await;
    let mut body = report_at("road_damage", 30.27, 120.15);
    body["description"] = json!("赵的描述：路面塌陷");
    body["media_ids"] = json!([filed_photo]);
    let named = file_ok(app, &zhao, body).await;
    let mut body = report_at("environment", 30.28, 120.17);
    body["anonymous"] = json!(true);
    let anonymous = file_ok(app, &zhao, body).await;
    let other = app.rider_token("openid-someone-else").await;
    app.consent(&other, "tmpl-progress", 5).await;
    let mut body = report_at("traffic_safety", 30.26, 120.16);
    body["description"] = json!("别人的描述");
    let theirs = file_ok(app, &other, body).await;
    let (status, _) = file(app, &zhao, report_at("traffic_safety", 30.26001, 120.16)).await;
    assert_eq!(status, StatusCode::OK);
    let station = json!({ "kind": "station", "name": "打卡驿站", "address": "某路2号", "lat": 30.27, "lng": 120.16,
                          "amenities": ["drinking_water"], "hours": "24/7" });
    let (_, place) = app.post("/api/v1/admin/places", Some(&c.admin), station).await;
    let place_id = place["id"].as_str().unwrap();
    let (status, checkin) = app
        .post(
            &format!("/api/v1/places/{place_id}/checkins"),
            Some(&zhao),
            json!({ "outcome": "amenity_broken", "amenity": "drinking_water", "note": "没水" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{checkin}");
    // The unit acts, which queues a message to every follower, Zhao among them.
    let (status, _) = act(app, &c.clerks[1], &named, json!({ "action": "accept", "public_note": "收到" })).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = act(app, &c.clerks[1], &theirs, json!({ "action": "accept" })).await;
    assert_eq!(status, StatusCode::OK);
    // An audit entry naming Zhao, as actor, object and inside its record.
    let entry = AuditEntry {
        city_id: &app.state.city.id,
        actor_id: Some(&zhao_id),
        action: "test.rider_did_something",
        object_kind: "account",
        object_id: &zhao_id,
        before: None,
        after: Some(json!({ "account": zhao_id })),
    };
    xinhuoban::store::audit::record_now(&app.state.db, entry).await.unwrap();

    // The copy holds all of it, and nobody else's.
    let (status, data) = app.get("/api/v1/me/data", Some(&zhao)).await;
    assert_eq!(status, StatusCode::OK, "{data}");
    assert_eq!(
        (data["account"]["account_id"].as_str(), data["account"]["wechat_openid"].as_str()),
        (Some(zhao_id.as_str()), Some(openid))
    );
    assert_eq!(data["account"]["display_name"], "赵六同志");
    let filed: Vec<&str> = data["reports"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(filed, [anonymous.as_str(), named.as_str()]);
    assert_eq!(data["reports"][1]["description"], "赵的描述：路面塌陷");
    assert_eq!(data["reports"][1]["media_ids"], json!([filed_photo]));
    assert_eq!(data["reports"][0]["anonymous"], true);
    let actions: Vec<(&str, &str)> = data["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["kind"].as_str().unwrap(), a["report_id"].as_str().unwrap()))
        .collect();
    assert_eq!(
        actions,
        [("me_too", theirs.as_str()), ("submitted", anonymous.as_str()), ("submitted", named.as_str())]
    );
    assert_eq!(data["follows"].as_array().unwrap().len(), 3, "{data}");
    assert_eq!(
        (data["checkins"][0]["place_id"].as_str(), data["checkins"][0]["note"].as_str()),
        (Some(place_id), Some("没水"))
    );
    let mut media: Vec<&str> = data["media"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap()).collect();
    media.sort();
    let mut uploaded = [filed_photo.as_str(), loose_photo.as_str()];
    uploaded.sort();
    assert_eq!(media, uploaded);
    assert_eq!(data["sessions"].as_array().unwrap().len(), 1);
    assert!(data["sessions"][0]["expires_at"].is_string() && data["sessions"][0].get("token").is_none());
    assert_eq!(
        data["subscriptions"],
        json!([{ "template_id": "tmpl-progress", "unused": 3 }]),
        "five allowed, two used by the two accepted reports Zhao follows"
    );
    assert_eq!(data["complete"], true);
    assert!(!data.to_string().contains("别人的描述") && !data.to_string().contains(&zhao[..20]), "{data}");
    let queued: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbox").fetch_one(&app.state.db.pool).await.unwrap();
    assert!(queued >= 2, "messages were queued to the followers");

    // Staff have no data of this kind to erase.
    let (status, _) = app.delete("/api/v1/me", Some(&c.clerks[1])).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = app.delete("/api/v1/me", Some(&zhao)).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");

    // The token is dead, and nothing in the database links the openid, the name or the account.
    for path in ["/api/v1/me", "/api/v1/me/data", "/api/v1/reports/mine"] {
        let (status, _) = app.get(path, Some(&zhao)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}");
    }
    for needle in [openid, "赵六同志", zhao_id.as_str()] {
        let found = find_everywhere(app, needle).await;
        assert!(found.is_empty(), "`{needle}` is still in {found:?}");
    }

    // The reports stay in the unit's queue, filed by nobody anyone can name.
    let (_, queue) = app.get("/api/v1/triage/reports?limit=100", Some(&c.clerks[1])).await;
    let in_queue = |id: &str| queue["items"].as_array().unwrap().iter().find(|r| r["id"] == id).cloned();
    let kept = in_queue(&named).expect("the named report stays");
    assert_eq!((kept["reporter_name"].as_str(), &kept["media_ids"]), (Some("已注销用户"), &json!([filed_photo])));
    assert_eq!(kept["description"], "赵的描述：路面塌陷");
    assert!(in_queue(&anonymous).expect("the anonymous report stays")["reporter_name"].is_null());
    assert_eq!(in_queue(&theirs).expect("the other rider's report")["priority"], 2);
    // The photo on a report stays for its unit; the other one is gone, file and all.
    assert_eq!(photo_status(app, &filed_photo, &c.clerks[1]).await, StatusCode::OK);
    assert_eq!(photo_status(app, &loose_photo, &c.admin).await, StatusCode::NOT_FOUND);
    let files = walk(&app.state.config.media_dir);
    assert_eq!(files.iter().filter(|f| f.contains(&loose_photo)).count(), 0, "{files:?}");
    assert_eq!(files.iter().filter(|f| f.contains(&filed_photo)).count(), 1, "{files:?}");
    assert_eq!(app.audit_entries("account.erase").await, 1);

    // Logging in again starts afresh.
    let again = app.rider_token(openid).await;
    assert_ne!(account_id(app, &again).await, zhao_id);
    let (_, data) = app.get("/api/v1/me/data", Some(&again)).await;
    assert_eq!((data["reports"].as_array().unwrap().len(), data["media"].as_array().unwrap().len()), (0, 0));
    assert_eq!(data["account"]["display_name"], "骑手");
    c.app.stop().await;
}

/// Every file under a directory, as paths.
fn walk(dir: &std::path::Path) -> Vec<String> {
    let mut files = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return files };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path.display().to_string());
        }
    }
    files
}

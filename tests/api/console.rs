//! The staff console as the browser loads it (`/console/`: the page, its versioned assets, the
//! headers that keep it safe and cached), and the triage endpoints it added: the clerk's own unit
//! with its outline, the colleagues to assign to, the units to transfer to, and photos on a
//! resolve.

use reqwest::StatusCode;
use reqwest::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, ETAG, IF_NONE_MATCH, LOCATION};
use serde_json::json;
use xinhuoban::console::{FILES, VERSION};
use xinhuoban::domain::identity::Role;

use crate::helpers::*;
use crate::privacy::upload;
use crate::reports::{act, city, file_ok, report_at};

fn client_without_redirects() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

fn header(resp: &reqwest::Response, name: impl reqwest::header::AsHeaderName) -> String {
    resp.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string()
}

/// Every console answer: the strict policy, no sniffing, no framing.
fn assert_secured(resp: &reqwest::Response) {
    let csp = header(resp, CONTENT_SECURITY_POLICY);
    for directive in [
        "default-src 'self'",
        "script-src 'self'",
        "frame-ancestors 'none'",
        "object-src 'none'",
        "img-src 'self' blob: data:",
    ] {
        assert!(csp.contains(directive), "CSP `{csp}` lacks {directive}");
    }
    assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"), "{csp}");
    assert_eq!(header(resp, "x-content-type-options"), "nosniff");
    assert_eq!(header(resp, "referrer-policy"), "no-referrer");
}

#[tokio::test]
async fn the_console_page_loads_its_versioned_assets_from_the_binary() {
    let app = spawn_app().await;
    let http = client_without_redirects();

    let resp = http.get(app.url("/console")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::PERMANENT_REDIRECT);
    assert_eq!(header(&resp, LOCATION), "/console/");

    let resp = http.get(app.url("/console/")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_secured(&resp);
    assert_eq!(header(&resp, CONTENT_TYPE), "text/html; charset=utf-8");
    assert_eq!(header(&resp, CACHE_CONTROL), "no-cache", "the page is revalidated: it names the version");
    let etag = header(&resp, ETAG);
    let html = resp.text().await.unwrap();
    let main = format!("v/{}/js/main.js", *VERSION);
    assert!(html.contains(&format!("<script type=\"module\" src=\"{main}\"></script>")), "{html}");
    assert!(!html.contains("<script>") && !html.contains(" on"), "no inline script or handler: {html}");
    // Revalidation answers 304 without the body.
    let resp = http.get(app.url("/console/")).header(IF_NONE_MATCH, &etag).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_MODIFIED);

    // Every embedded file is served under the version, typed by its extension, cached for a year.
    for (path, bytes) in FILES.iter().filter(|(p, _)| *p != "index.html") {
        let resp = http.get(app.url(&format!("/console/v/{}/{path}", *VERSION))).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "{path}");
        assert_secured(&resp);
        let expected = match path.rsplit_once('.').unwrap().1 {
            "js" => "text/javascript; charset=utf-8",
            "css" => "text/css; charset=utf-8",
            "svg" => "image/svg+xml",
            other => panic!("an unexpected asset type {other}"),
        };
        assert_eq!(header(&resp, CONTENT_TYPE), expected, "{path}");
        assert_eq!(header(&resp, CACHE_CONTROL), "public, max-age=31536000, immutable", "{path}");
        let etag = header(&resp, ETAG);
        assert_eq!(resp.bytes().await.unwrap().as_ref(), *bytes, "{path}");
        let again = http.get(app.url(&format!("/console/v/{}/{path}", *VERSION))).header(IF_NONE_MATCH, etag);
        assert_eq!(again.send().await.unwrap().status(), StatusCode::NOT_MODIFIED, "{path}");
    }
    app.stop().await;
}

#[tokio::test]
async fn unknown_assets_old_versions_and_paths_outside_the_console_are_404() {
    let app = spawn_app().await;
    let http = client_without_redirects();
    let v = &*VERSION;
    for path in [
        format!("/console/v/{v}/js/nope.js"),
        "/console/v/0000000000000000/js/main.js".to_string(),
        format!("/console/v/{v}/index.html"),
        format!("/console/v/{v}/../../Cargo.toml"),
        format!("/console/v/{v}/%2e%2e/%2e%2e/Cargo.toml"),
        format!("/console/v/{v}/..%2f..%2fsrc%2fmain.rs"),
        format!("/console/v/{v}//etc/passwd"),
        format!("/console/v/{v}/js/../../../../etc/passwd"),
        "/console/js/main.js".to_string(),
        "/console/v/".to_string(),
        "/console/index.html".to_string(),
        "/console/..%2f..%2fCargo.toml".to_string(),
    ] {
        let resp = http.get(app.url(&path)).send().await.unwrap();
        let status = resp.status();
        // A client may normalise `..` away before sending; whatever arrives is never a file.
        assert!(status == StatusCode::NOT_FOUND || status == StatusCode::PERMANENT_REDIRECT, "{path}: {status}");
        let body = resp.text().await.unwrap();
        assert!(!body.contains("[package]") && !body.contains("root:"), "{path} leaked {body}");
    }
    let resp = http.get(app.url(&format!("/console/v/{v}/js/nope.js"))).send().await.unwrap();
    assert_secured(&resp);
    assert_eq!(header(&resp, CACHE_CONTROL), "no-store", "a miss is not cached");
    // Raw bytes on a socket: no client-side normalisation at all.
    for raw in [format!("/console/v/{v}/../../Cargo.toml"), format!("/console/v/{v}/js/../../../src/main.rs")] {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut sock = tokio::net::TcpStream::connect(app.addr).await.unwrap();
        let req = format!("GET {raw} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
        sock.write_all(req.as_bytes()).await.unwrap();
        let mut answer = String::new();
        sock.read_to_string(&mut answer).await.unwrap();
        assert!(answer.starts_with("HTTP/1.1 404"), "{raw}: {answer}");
        assert!(!answer.contains("[package]") && !answer.contains("fn main"), "{raw}");
    }
    app.stop().await;
}

#[tokio::test]
async fn a_clerk_reads_their_own_units_outline_and_colleagues_and_no_other() {
    let c = city().await;
    let app = &c.app;
    let (west, middle) = (&c.offices[0], &c.offices[1]);
    let clerk = &c.clerks[0];

    let (status, unit) = app.get("/api/v1/triage/unit", Some(clerk)).await;
    assert_eq!(status, StatusCode::OK, "{unit}");
    assert_eq!((unit["id"].as_str(), unit["name"].as_str()), (Some(west.as_str()), Some("城关街道")));
    assert_eq!(unit["jurisdiction"]["type"], "MultiPolygon");
    let ring = &unit["jurisdiction"]["coordinates"][0][0];
    assert_eq!(ring[0], json!([120.10, 30.24]), "GCJ-02 [lng, lat], as imported: {ring}");
    // Another unit's outline is not theirs to read; naming their own is fine.
    let (status, _) = app.get(&format!("/api/v1/triage/unit?office_id={middle}"), Some(clerk)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(app.get(&format!("/api/v1/triage/unit?office_id={west}"), Some(clerk)).await.0, StatusCode::OK);
    // An admin names the unit; riders and station managers are refused.
    assert_eq!(app.get("/api/v1/triage/unit", Some(&c.admin)).await.0, StatusCode::NOT_FOUND);
    let (status, unit) = app.get(&format!("/api/v1/triage/unit?office_id={middle}"), Some(&c.admin)).await;
    assert_eq!((status, unit["name"].as_str()), (StatusCode::OK, Some("东湖街道")));
    let (_, fallback) = app.get("/api/v1/triage/units", Some(&c.admin)).await;
    let fallback =
        fallback["items"].as_array().unwrap().iter().find(|u| u["kind"] == "fallback").unwrap()["id"].clone();
    let (status, unit) =
        app.get(&format!("/api/v1/triage/unit?office_id={}", fallback.as_str().unwrap()), Some(&c.admin)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(unit.get("jurisdiction").is_none(), "a unit without an outline leaves it out: {unit}");
    let rider = app.rider_token("rider-console").await;
    app.create_staff("console.manager", Role::StationManager, None).await;
    let manager = app.staff_token("console.manager").await;
    for who in [&rider, &manager] {
        assert_eq!(app.get("/api/v1/triage/unit", Some(who)).await.0, StatusCode::FORBIDDEN);
        assert_eq!(app.get("/api/v1/triage/colleagues", Some(who)).await.0, StatusCode::FORBIDDEN);
        assert_eq!(app.get("/api/v1/triage/units", Some(who)).await.0, StatusCode::FORBIDDEN);
    }
    assert_eq!(app.get("/api/v1/triage/unit", None).await.0, StatusCode::UNAUTHORIZED);

    // Colleagues: the active clerks of the unit only.
    let second = app.create_staff("west.second", Role::Clerk, Some(west)).await;
    let gone = app.create_staff("west.gone", Role::Clerk, Some(west)).await;
    let (status, _) = app.post(&format!("/api/v1/admin/staff/{gone}/disable"), Some(&c.admin), json!({})).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, list) = app.get("/api/v1/triage/colleagues", Some(clerk)).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let mut ids: Vec<String> =
        list["items"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap().to_string()).collect();
    ids.sort();
    let mut expected = vec![account_of(app, "clerk0").await, second];
    expected.sort();
    assert_eq!(ids, expected, "{list}");
    assert_eq!(
        app.get(&format!("/api/v1/triage/colleagues?office_id={middle}"), Some(clerk)).await.0,
        StatusCode::NOT_FOUND
    );
    let (_, theirs) = app.get(&format!("/api/v1/triage/colleagues?office_id={middle}"), Some(&c.admin)).await;
    assert_eq!(theirs["items"].as_array().unwrap().len(), 1);

    // Units to transfer to: every unit, names and kinds only.
    let (status, units) = app.get("/api/v1/triage/units", Some(clerk)).await;
    assert_eq!(status, StatusCode::OK);
    let names: Vec<&str> = units["items"].as_array().unwrap().iter().map(|u| u["name"].as_str().unwrap()).collect();
    for name in ["城关街道", "东湖街道", "西山街道", "区市场监督管理局"] {
        assert!(names.contains(&name), "{names:?}");
    }
    c.app.stop().await;
}

async fn account_of(app: &TestApp, username: &str) -> String {
    let token = app.staff_token(username).await;
    let (_, me) = app.get("/api/v1/me", Some(&token)).await;
    me["account_id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn a_clerk_resolves_with_their_own_photos_only() {
    let c = city().await;
    let app = &c.app;
    let clerk = &c.clerks[0];
    let rider = app.rider_token("rider-photos").await;
    let id = file_ok(app, &rider, report_at("road_damage", 30.27, 120.12)).await;
    assert_eq!(act(app, clerk, &id, json!({ "action": "accept" })).await.0, StatusCode::OK);

    // Someone else's upload (the rider's, another clerk's) cannot be attached.
    let riders_photo = upload(app, &rider).await;
    let others_photo = upload(app, &c.clerks[1]).await;
    for photo in [&riders_photo, &others_photo] {
        let (status, body) =
            act(app, clerk, &id, json!({ "action": "resolve", "public_note": "已修复", "media_ids": [photo] })).await;
        assert_eq!((status, body["details"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("media_ids")), "{body}");
    }
    // Photos go with a resolve only (other actions have no such field); ten are too many.
    let mine = upload(app, clerk).await;
    let (status, body) = act(app, clerk, &id, json!({ "action": "start", "media_ids": [mine] })).await;
    assert_eq!((status, &body["media_ids"]), (StatusCode::OK, &json!([])), "start attaches nothing: {body}");
    let ten: Vec<String> = (0..10).map(|i| format!("m{i}")).collect();
    let (status, _) = act(app, clerk, &id, json!({ "action": "resolve", "media_ids": ten })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let (status, body) =
        act(app, clerk, &id, json!({ "action": "resolve", "public_note": "坑已填平", "media_ids": [mine] })).await;
    assert_eq!((status, body["status"].as_str()), (StatusCode::OK, Some("resolved")), "{body}");
    assert_eq!(body["media_ids"], json!([mine]));
    assert_eq!(body["photo_urls"][0]["id"], json!(mine));
    // The signed URL in the view loads the photo without a token.
    let url = body["photo_urls"][0]["url"].as_str().unwrap();
    let resp = app.client.get(app.url(url)).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    // Another unit's clerk still cannot load it.
    let resp =
        app.client.get(app.url(&format!("/api/v1/media/{mine}"))).bearer_auth(&c.clerks[1]).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    c.app.stop().await;
}

#[tokio::test]
async fn an_admin_reads_a_places_managers_before_changing_them() {
    let app = spawn_demo_app().await;
    let admin = login(&app, "demo-admin").await;
    let manager = login(&app, "demo-manager").await;
    let (_, mine) = app.get("/api/v1/manager/places?limit=100", Some(&manager)).await;
    let place = mine["items"][0]["id"].as_str().unwrap().to_string();
    let (_, me) = app.get("/api/v1/me", Some(&manager)).await;
    let manager_id = me["account_id"].as_str().unwrap().to_string();

    let (status, body) = app.get(&format!("/api/v1/admin/places/{place}/managers"), Some(&admin)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, json!({ "place_id": place, "account_ids": [manager_id] }));
    let (status, _) =
        app.put(&format!("/api/v1/admin/places/{place}/managers"), Some(&admin), json!({ "account_ids": [] })).await;
    assert_eq!(status, StatusCode::OK);
    let (_, body) = app.get(&format!("/api/v1/admin/places/{place}/managers"), Some(&admin)).await;
    assert_eq!(body["account_ids"], json!([]));
    // Only city admins; an unknown place is a 404.
    assert_eq!(
        app.get(&format!("/api/v1/admin/places/{place}/managers"), Some(&manager)).await.0,
        StatusCode::FORBIDDEN
    );
    let clerk = login(&app, "demo-clerk").await;
    assert_eq!(app.get(&format!("/api/v1/admin/places/{place}/managers"), Some(&clerk)).await.0, StatusCode::FORBIDDEN);
    assert_eq!(app.get("/api/v1/admin/places/nope/managers", Some(&admin)).await.0, StatusCode::NOT_FOUND);
    // A removed place has no managers to read or name (Schemathesis found it still answered).
    let (status, _) = app.delete(&format!("/api/v1/admin/places/{place}"), Some(&admin)).await;
    assert!(status.is_success());
    let managers = format!("/api/v1/admin/places/{place}/managers");
    assert_eq!(app.get(&managers, Some(&admin)).await.0, StatusCode::NOT_FOUND);
    assert_eq!(app.put(&managers, Some(&admin), json!({ "account_ids": [] })).await.0, StatusCode::NOT_FOUND);
    app.stop().await;
}

async fn login(app: &TestApp, username: &str) -> String {
    let (status, body) =
        app.post("/api/v1/auth/staff-login", None, json!({ "username": username, "password": "demo" })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["token"].as_str().unwrap().to_string()
}

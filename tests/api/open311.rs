//! The Open311 GeoReport v2 facade: a civic-tech client lists services, files a request with a
//! rider's token as api_key (WGS-84, form-encoded), and reads it back in the standard's shape.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::reports::{act, city};

/// Posts `application/x-www-form-urlencoded`, as Open311 clients do.
async fn form_post(app: &TestApp, form: &[(&str, &str)]) -> (StatusCode, Value) {
    let encode = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    let body = form.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect::<Vec<_>>().join("&");
    let req = app
        .client
        .post(app.url("/open311/v2/requests.json"))
        .header("content-type", "application/x-www-form-urlencoded");
    app.send(req.body(body)).await
}

#[tokio::test]
async fn an_open311_client_files_and_reads_back_a_request() {
    let c = city().await;
    let app = &c.app;
    let (status, services) = app.get("/open311/v2/services.json", None).await;
    assert_eq!(status, StatusCode::OK);
    let codes: Vec<&str> = services.as_array().unwrap().iter().map(|s| s["service_code"].as_str().unwrap()).collect();
    assert!(codes.contains(&"road_damage") && codes.contains(&"access_blocked"), "{services}");
    assert_eq!(services[0]["metadata"], false);

    // WGS-84 (30.2724, 120.1553) is GCJ-02 (≈30.27, 120.16): inside the middle band.
    let rider = app.rider_token("rider-311").await;
    let (status, filed) = form_post(
        app,
        &[
            ("api_key", &rider),
            ("service_code", "road_damage"),
            ("lat", "30.2724"),
            ("long", "120.1553"),
            ("description", "路面塌陷"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{filed}");
    let id = filed[0]["service_request_id"].as_str().unwrap().to_string();

    // The same report through the API: routed to the middle band's office.
    let (_, mine) = app.get(&format!("/api/v1/reports/{id}"), Some(&rider)).await;
    assert_eq!(mine["unit"]["id"], c.offices[1]);
    act(app, &c.clerks[1], &id, json!({ "action": "accept", "public_note": "已派人查看" })).await;

    let (status, one) = app.get(&format!("/open311/v2/requests/{id}.json"), None).await;
    assert_eq!(status, StatusCode::OK, "{one}");
    let sr = &one[0];
    assert_eq!((sr["status"].as_str(), sr["service_code"].as_str()), (Some("open"), Some("road_damage")));
    assert_eq!(sr["agency_responsible"], "东湖街道");
    // The public projection: no free text (the clerk's note, the description) and the location
    // rounded to about 100 m.
    assert!(sr["status_notes"].is_null() && sr["description"].is_null() && sr["media_url"].is_null(), "{sr}");
    assert!(
        (sr["lat"].as_f64().unwrap() - 30.2724).abs() < 0.001
            && (sr["long"].as_f64().unwrap() - 120.1553).abs() < 0.001,
        "{sr}"
    );
    assert!(!one.to_string().contains("rider-311"));

    let (_, open) = app.get("/open311/v2/requests.json?status=open&service_code=road_damage", None).await;
    assert_eq!(open.as_array().unwrap().len(), 1);
    let (_, closed) = app.get("/open311/v2/requests.json?status=closed", None).await;
    assert_eq!(closed.as_array().unwrap().len(), 0);
    let (_, by_id) = app.get(&format!("/open311/v2/requests.json?service_request_id={id},nope"), None).await;
    assert_eq!(by_id.as_array().unwrap().len(), 1);
    c.app.stop().await;
}

#[tokio::test]
async fn open311_errors_are_in_the_standards_shape() {
    let c = city().await;
    let app = &c.app;
    let rider = app.rider_token("rider-311-bad").await;
    let cases: [(Vec<(&str, &str)>, StatusCode); 4] = [
        (vec![("service_code", "road_damage"), ("lat", "30.27"), ("long", "120.15")], StatusCode::UNAUTHORIZED),
        (
            vec![("api_key", "xhb_forged"), ("service_code", "road_damage"), ("lat", "30.27"), ("long", "120.15")],
            StatusCode::UNAUTHORIZED,
        ),
        (
            vec![("api_key", &rider), ("service_code", "potholes"), ("lat", "30.27"), ("long", "120.15")],
            StatusCode::BAD_REQUEST,
        ),
        (vec![("api_key", &rider), ("service_code", "road_damage")], StatusCode::BAD_REQUEST),
    ];
    for (form, expected) in cases {
        let (status, body) = form_post(app, &form).await;
        assert_eq!(status, expected, "{form:?} → {body}");
        assert_eq!(body[0]["code"].as_u64(), Some(u64::from(expected.as_u16())), "{body}");
        assert!(body[0]["description"].is_string());
    }
    let (status, body) = app.get("/open311/v2/requests/nope.json", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body[0]["code"], 404);
    let (status, body) = app.get("/open311/v2/requests.json?start_date=yesterday", None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    // A staff token may not file.
    let (status, _) =
        form_post(app, &[("api_key", &c.clerks[0]), ("service_code", "other"), ("lat", "30.27"), ("long", "120.15")])
            .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    c.app.stop().await;
}

#[tokio::test]
async fn a_civic_tech_client_discovers_the_endpoint_it_reached() {
    let app = spawn_app().await;
    let (status, discovery) = app.get("/open311/v2/discovery.json", None).await;
    assert_eq!(status, StatusCode::OK, "{discovery}");
    let endpoint = &discovery["endpoints"][0];
    assert_eq!(endpoint["specification"], "http://wiki.open311.org/GeoReport_v2");
    assert_eq!(endpoint["url"], format!("http://{}/open311/v2", app.addr));
    assert_eq!(endpoint["type"], "production");
    assert_eq!(endpoint["formats"], json!(["application/json"]));
    assert!(discovery["changeset"].is_string() && discovery["key_service"].is_string());

    // The endpoint it names answers.
    let services = app.client.get(format!("{}/services.json", endpoint["url"].as_str().unwrap())).send().await.unwrap();
    assert_eq!(services.status(), StatusCode::OK);

    // Behind a TLS proxy the scheme follows X-Forwarded-Proto; a forged Host is not echoed.
    let req = app.client.get(app.url("/open311/v2/discovery.json")).header("x-forwarded-proto", "https");
    let (_, behind_proxy) = app.send(req).await;
    assert!(behind_proxy["endpoints"][0]["url"].as_str().unwrap().starts_with("https://"));
    let req = app.client.get(app.url("/open311/v2/discovery.json")).header("host", "evil.example/<script>");
    let (status, _) = app.send(req).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    app.stop().await;
}

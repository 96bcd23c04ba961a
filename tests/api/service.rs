//! The service around the API: health, readiness, metrics, the spec, the demo city.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn health_and_readiness() {
    let app = spawn_app().await;
    let (status, body) = app.get("/healthz", None).await;
    assert_eq!((status, body["status"].as_str()), (StatusCode::OK, Some("ok")));
    let (status, body) = app.get("/readyz", None).await;
    assert_eq!((status, body["status"].as_str()), (StatusCode::OK, Some("ready")));
    app.stop().await;
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_status_without_secrets() {
    let app = spawn_app().await;
    app.post("/api/v1/auth/staff-login", None, json!({ "username": "nobody", "password": "hunter22" })).await;
    let text = app.client.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(
        text.contains("xhb_http_requests_total{route=\"auth_staff_login\",method=\"POST\",status=\"401\"} 1"),
        "{text}"
    );
    assert!(text.contains("xhb_http_request_duration_seconds_bucket{route=\"auth_staff_login\""), "{text}");
    assert!(!text.contains("hunter22"));
    app.stop().await;
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let app = spawn_app().await;
    let resp = app.client.get(app.url("/healthz")).header("x-request-id", "abc-123").send().await.unwrap();
    assert_eq!(resp.headers()["x-request-id"], "abc-123");
    let resp = app.client.get(app.url("/nowhere")).send().await.unwrap();
    assert!(resp.headers().contains_key("x-request-id"));
    app.stop().await;
}

#[tokio::test]
async fn the_committed_spec_matches_what_the_code_serves() {
    let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/api-spec/openapi.yaml"))
        .expect("api-spec/openapi.yaml is committed");
    let generated = xinhuoban::api::spec_yaml();
    assert!(
        committed == generated,
        "api-spec/openapi.yaml is stale: run `cargo run -- spec > api-spec/openapi.yaml` and commit it"
    );
    let app = spawn_app().await;
    let (status, served) = app.get("/openapi.json", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(served["info"]["title"], "xinhuoban");
    let (status, _) = app.send(app.client.get(app.url("/docs"))).await;
    assert_eq!(status, StatusCode::OK);
    app.stop().await;
}

#[tokio::test]
async fn every_operation_has_a_summary_a_tag_and_error_responses() {
    let spec: serde_json::Value = serde_json::from_str(&xinhuoban::api::service().spec()).unwrap();
    for (path, ops) in spec["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            let name = format!("{method} {path}");
            assert!(op["summary"].is_string(), "{name} has no summary");
            assert!(op["tags"].as_array().is_some_and(|t| !t.is_empty()), "{name} has no tag");
            assert!(op["operationId"].is_string(), "{name} has no operation id");
            assert!(op["responses"].get("400").is_some(), "{name} documents no errors");
        }
    }
}

#[tokio::test]
async fn demo_mode_seeds_the_demo_city_and_lets_demo_riders_in() {
    let app = spawn_demo_app().await;
    for username in ["demo-admin", "demo-manager", "demo-clerk"] {
        let (status, body) =
            app.post("/api/v1/auth/staff-login", None, json!({ "username": username, "password": "demo" })).await;
        assert_eq!(status, StatusCode::OK, "{username}: {body}");
    }
    let (status, body) = app.post("/api/v1/auth/wechat-login", None, json!({ "code": "demo-li" })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = app.post("/api/v1/auth/wechat-login", None, json!({ "code": "real-looking-code" })).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    app.stop().await;
}

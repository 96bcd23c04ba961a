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

/// Parses a spec as strict parsers (openapi-typescript, Redocly) do: a repeated key is an error.
fn parse_strictly(text: &str) -> Result<serde_yaml::Value, serde_yaml::Error> {
    serde_yaml::from_str(text)
}

#[test]
fn a_repeated_key_is_refused_by_the_strict_parse() {
    assert!(parse_strictly("paths:\n  /a: {}\n  /a: {}\n").is_err());
    assert!(parse_strictly("paths:\n  /a: {}\n  /b: {}\n").is_ok());
}

#[tokio::test]
async fn the_spec_parses_strictly_and_every_operation_in_it_is_served() {
    let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/api-spec/openapi.yaml"))
        .expect("api-spec/openapi.yaml is committed");
    let yaml = parse_strictly(&committed).unwrap_or_else(|e| panic!("the committed spec does not parse strictly: {e}"));
    let committed: serde_json::Value = serde_json::to_value(&yaml).expect("spec as JSON");
    let app = spawn_app().await;
    let served = app.client.get(app.url("/openapi.json")).send().await.unwrap().text().await.unwrap();
    parse_strictly(&served).unwrap_or_else(|e| panic!("/openapi.json does not parse strictly: {e}"));
    let served: serde_json::Value = serde_json::from_str(&served).expect("/openapi.json is JSON");
    assert!(served == committed, "/openapi.json and api-spec/openapi.yaml differ");
    let docs = app.client.get(app.url("/docs")).send().await.unwrap().text().await.unwrap();
    assert!(docs.contains("\"security\": []"), "/docs shows the same finished document");

    let operations = operations_of(&served);
    let mut ids: Vec<&str> = operations.iter().map(|(_, _, id)| id.as_str()).collect();
    let listed = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), listed, "an operation id appears twice");
    let routed: usize = <xinhuoban::api::Apis as poem_openapi::OpenApi>::meta()
        .iter()
        .flat_map(|api| &api.paths)
        .map(|p| p.operations.len())
        .sum();
    assert_eq!(listed, routed, "the spec lists every routed operation once");
    for (method, path, id) in &operations {
        let url = app.url(&format!("/api/v1{}", path.replace('{', "x").replace('}', "")));
        let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let resp = app.client.request(method, url).header("accept-language", "en").send().await.unwrap();
        let status = resp.status();
        let body: serde_json::Value = resp.json().await.unwrap_or_default();
        assert!(
            status != StatusCode::METHOD_NOT_ALLOWED && body["message"] != "no such endpoint",
            "{id} is in the spec but not served: {status} {body}"
        );
    }
    let export = &served["paths"]["/admin/places/export"]["get"]["responses"]["200"]["content"];
    assert!(export.get("text/csv; charset=utf-8").is_some() && export.get("application/geo+json").is_some());
    app.stop().await;
}

/// (method, path, operationId) of every operation in a spec.
fn operations_of(spec: &serde_json::Value) -> Vec<(String, String, String)> {
    let mut all = Vec::new();
    for (path, item) in spec["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("operations") {
            let id = op["operationId"].as_str().expect("every operation has an id");
            all.push((method.clone(), path.clone(), id.to_string()));
        }
    }
    all
}

#[tokio::test]
async fn a_method_a_route_does_not_answer_is_405_with_allow() {
    let app = spawn_app().await;
    for (method, path, allow) in [
        ("TRACE", "/api/v1/reports/mine", "GET, HEAD"),
        ("DELETE", "/api/v1/places/nearby", "GET, HEAD"),
        ("PUT", "/open311/v2/requests.json", "GET, POST, HEAD"),
        ("POST", "/healthz", "GET, HEAD"),
    ] {
        let resp = app
            .client
            .request(reqwest::Method::from_bytes(method.as_bytes()).unwrap(), app.url(path))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
        assert_eq!(resp.headers()["allow"], allow, "{method} {path}");
        let body: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(error_code(&body), "method_not_allowed");
    }
    app.stop().await;
}

#[tokio::test]
async fn every_operation_has_a_summary_a_tag_and_error_responses() {
    let spec: serde_json::Value = serde_json::from_str(&xinhuoban::api::document::spec_json()).unwrap();
    for (path, ops) in spec["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            let name = format!("{method} {path}");
            assert!(op["summary"].is_string(), "{name} has no summary");
            assert!(op["tags"].as_array().is_some_and(|t| !t.is_empty()), "{name} has no tag");
            assert!(op["operationId"].is_string(), "{name} has no operation id");
            let statuses = op["responses"].as_object().unwrap().keys();
            assert!(statuses.filter(|s| s.starts_with('4')).count() > 0, "{name} documents no errors");
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

#[tokio::test]
async fn readiness_fails_with_503_when_the_database_is_gone() {
    let app = spawn_app().await;
    app.state.db.pool.close().await;
    let (status, body) = app.get("/readyz", None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(error_code(&body), "database_unavailable");
    let (status, _) = app.get("/healthz", None).await;
    assert_eq!(status, StatusCode::OK, "the process is still up");
    app.stop().await;
}

#[tokio::test]
async fn a_graceful_stop_lets_the_request_in_flight_finish() {
    let app = spawn_app().await;
    // A WeChat login waits on the fake WeChat's slow answer, then times out with a 503; stopping
    // the server meanwhile must not cut it off.
    let client = app.client.clone();
    let url = app.url("/api/v1/auth/wechat-login");
    let in_flight = tokio::spawn(async move { client.post(url).json(&json!({ "code": "slow-2" })).send().await });
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let addr = app.addr;
    app.stop().await;
    let resp = in_flight.await.unwrap().expect("the request in flight was answered");
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(std::net::TcpStream::connect(addr).is_err(), "still accepting after stop");
}

#[tokio::test]
async fn the_staff_console_origin_is_allowed_by_cors_and_no_other() {
    let app = spawn_app_with(Options { extra: vec![("XHB_CORS_ORIGINS", "https://console.example.cn".into())] }).await;
    let preflight = |origin: &'static str| {
        app.client
            .request(reqwest::Method::OPTIONS, app.url("/api/v1/me"))
            .header("origin", origin)
            .header("access-control-request-method", "GET")
            .header("access-control-request-headers", "authorization")
            .send()
    };
    let allowed = preflight("https://console.example.cn").await.unwrap();
    assert_eq!(allowed.headers()["access-control-allow-origin"], "https://console.example.cn");
    let other = preflight("https://evil.example.com").await.unwrap();
    assert!(!other.headers().contains_key("access-control-allow-origin"));
    app.stop().await;

    let plain = spawn_app().await;
    let resp =
        plain.client.get(plain.url("/healthz")).header("origin", "https://console.example.cn").send().await.unwrap();
    assert!(!resp.headers().contains_key("access-control-allow-origin"));
    plain.stop().await;
}

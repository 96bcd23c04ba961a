//! The spec as a contract for errors: every operation declares the errors raised before its
//! handler runs, each status with exactly its codes, never a 500; and what the service answers
//! is what the spec declares.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

const ERROR_TYPE: &str = "application/json; charset=utf-8";

fn spec() -> Value {
    serde_json::from_str(&xinhuoban::api::service().spec()).expect("the spec is JSON")
}

/// Every operation: (path, method, operation).
fn operations(spec: &Value) -> Vec<(String, String, Value)> {
    let mut ops = Vec::new();
    for (path, methods) in spec["paths"].as_object().expect("paths") {
        for (method, op) in methods.as_object().expect("operations") {
            ops.push((path.clone(), method.clone(), op.clone()));
        }
    }
    ops
}

/// The codes an operation declares for a status (empty when the status is not declared).
fn declared_codes(op: &Value, status: u16) -> Vec<String> {
    let schema = &op["responses"][status.to_string()]["content"][ERROR_TYPE]["schema"];
    schema["properties"]["code"]["enum"]
        .as_array()
        .map(|codes| codes.iter().map(|c| c.as_str().expect("a code").to_string()).collect())
        .unwrap_or_default()
}

fn operation(spec: &Value, operation_id: &str) -> Value {
    operations(spec)
        .into_iter()
        .map(|(_, _, op)| op)
        .find(|op| op["operationId"] == operation_id)
        .unwrap_or_else(|| panic!("no operation {operation_id}"))
}

/// Asserts that `operation_id` declares this error answer: its status, its code under that
/// status, and `Retry-After` if it is a 429.
pub fn assert_declared(operation_id: &str, status: StatusCode, retry_after: Option<&str>, body: &Value) {
    declared_in(&spec(), operation_id, status, retry_after, body);
}

fn declared_in(spec: &Value, operation_id: &str, status: StatusCode, retry_after: Option<&str>, body: &Value) {
    let op = operation(spec, operation_id);
    let code = error_code(body);
    let codes = declared_codes(&op, status.as_u16());
    assert!(codes.iter().any(|c| c == code), "{operation_id} answered {status} `{code}`, declared {codes:?}: {body}");
    if status == StatusCode::TOO_MANY_REQUESTS {
        let header = &op["responses"]["429"]["headers"]["Retry-After"];
        assert_eq!(header["required"], true, "{operation_id}: 429 without Retry-After in the spec");
        let secs: u64 = retry_after.expect("a 429 carries Retry-After").parse().expect("whole seconds");
        assert!(secs >= 1);
    }
}

#[test]
fn every_operation_declares_what_is_refused_before_its_handler_runs() {
    let spec = spec();
    for (path, method, op) in operations(&spec) {
        let name = format!("{} ({method} {path})", op["operationId"]);
        let responses = op["responses"].as_object().expect("responses");
        assert!(!responses.contains_key("500"), "{name} declares 500: a bug is not a contract");
        let has = |status: u16, code: &str| declared_codes(&op, status).iter().any(|c| c == code);
        if op.get("requestBody").is_some() {
            for (status, code) in
                [(400, "malformed_body"), (415, "unsupported_content_type"), (413, "payload_too_large")]
            {
                let multipart = has(400, "malformed_multipart");
                let code = if multipart && status == 400 { "malformed_multipart" } else { code };
                assert!(has(status, code), "{name} has a body but no {status} `{code}`");
            }
        }
        if op["security"].as_array().is_some_and(|s| !s.is_empty()) {
            for code in ["missing_token", "invalid_token", "token_expired", "token_revoked"] {
                assert!(has(401, code), "{name} needs a token but declares no 401 `{code}`");
            }
        }
        if op["parameters"].as_array().is_some_and(|p| !p.is_empty()) {
            assert!(has(400, "invalid_parameter"), "{name} has parameters but no 400 `invalid_parameter`");
        }
        for (status, response) in responses {
            let Ok(status) = status.parse::<u16>() else { continue };
            if status < 400 {
                continue;
            }
            let schema = &response["content"][ERROR_TYPE]["schema"];
            assert_eq!(schema["required"], json!(["code", "message"]), "{name} {status}");
            assert!(!declared_codes(&op, status).is_empty(), "{name} {status} lists no codes");
            assert!(schema["example"]["message"].is_string(), "{name} {status} has no example");
            let retry_after = &response["headers"]["Retry-After"];
            assert_eq!(status == 429, retry_after.is_object(), "{name} {status}: Retry-After on 429 only");
        }
    }
}

#[test]
fn the_import_declares_its_rows_and_logins_what_the_app_does_next() {
    let spec = spec();
    let import = operation(&spec, "admin_import_places");
    assert_eq!(declared_codes(&import, 422), ["invalid_rows"]);
    let details = &import["responses"]["422"]["content"][ERROR_TYPE]["schema"]["properties"]["details"];
    let row = &details["properties"]["errors"]["items"]["properties"];
    for field in ["line", "feature", "field", "reason"] {
        assert!(row.get(field).is_some(), "an import row error without `{field}`");
    }
    let submit = operation(&spec, "reports_submit");
    let description = submit["responses"]["401"]["description"].as_str().unwrap();
    assert!(description.contains("`token_expired`: the session has expired"), "{description}");
    assert!(declared_codes(&submit, 409).contains(&"idempotency_key_reused".to_string()));
    let nearby = operation(&spec, "places_nearby");
    let statuses: Vec<&String> = nearby["responses"].as_object().unwrap().keys().collect();
    assert_eq!(statuses, ["200", "400"], "nearby reads no database and needs no token");
}

/// Probes every operation as nobody, a rider and a city admin, with a bogus id and with a body
/// of every wrong kind: whatever comes back that is an error is declared, and none is a 500.
#[tokio::test]
async fn what_the_service_refuses_it_declares() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let spec = spec();
    let mut ops = operations(&spec);
    // Logging out ends the admin's session: last.
    ops.sort_by_key(|(_, _, op)| op["operationId"] == "auth_logout");
    let mut probes = 0;
    for (n, (path, method, op)) in ops.iter().enumerate() {
        let id = op["operationId"].as_str().unwrap();
        let rider = app.rider_token(&format!("probe-{n}")).await;
        let url = app.url(&format!("/api/v1{}", bogus_path(path)));
        let method: reqwest::Method = method.to_uppercase().parse().unwrap();
        let bodies: &[Option<(&str, &str)>] = if op.get("requestBody").is_some() {
            &[None, Some(("application/json", "{")), Some(("text/plain", "x")), Some(("application/json", "{}"))]
        } else {
            &[None]
        };
        for token in [None, Some(rider.as_str()), Some(admin.as_str())] {
            for body in bodies {
                let mut req = app.client.request(method.clone(), &url);
                if let Some(token) = token {
                    req = req.bearer_auth(token);
                }
                if let Some((content_type, text)) = body {
                    req = req.header("content-type", *content_type).body(*text);
                }
                let resp = req.send().await.expect("the app answers");
                let status = resp.status();
                let retry_after = resp.headers().get("retry-after").map(|v| v.to_str().unwrap().to_string());
                let body: Value = resp.json().await.unwrap_or(Value::Null);
                probes += 1;
                assert_ne!(status, StatusCode::INTERNAL_SERVER_ERROR, "{id}: {body}");
                if status.is_client_error() || status.is_server_error() {
                    declared_in(&spec, id, status, retry_after.as_deref(), &body);
                }
            }
        }
    }
    assert!(probes > 200, "{probes}");
    app.stop().await;
}

/// The path with every `{param}` a value no operation accepts as an id (longer than 64).
fn bogus_path(path: &str) -> String {
    let mut out = String::new();
    let mut rest = path;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let end = rest[start..].find('}').expect("a closed parameter") + start;
        out.push_str(&"x".repeat(65));
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

#[tokio::test]
async fn an_unreachable_database_is_a_declared_503() {
    let app = spawn_app().await;
    let rider = app.rider_token("rider-503").await;
    app.state.db.pool.close().await;
    let (status, body) = app.get("/api/v1/me", Some(&rider)).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_declared("me", status, None, &body);
    let (status, body) = app.get("/api/v1/places?bbox=120.1,30.2,120.2,30.3", None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_declared("places_in_bbox", status, None, &body);
    app.stop().await;
}

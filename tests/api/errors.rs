//! Bad input gets a clear 4xx in the one error shape, never a 500.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn malformed_json_wrong_types_and_missing_fields_are_400_in_the_error_shape() {
    let app = spawn_app().await;
    let login = app.url("/api/v1/auth/wechat-login");
    let cases = [
        ("{\"code\": ", "application/json"),
        ("{\"code\": [1, 2]}", "application/json"),
        ("{}", "application/json"),
        ("[]", "application/json"),
        ("{\"code\": \"\"}", "application/json"),
    ];
    for (body, content_type) in cases {
        let req = app.client.post(&login).header("content-type", content_type).body(body);
        let (status, reply) = app.send(req).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body} → {reply}");
        error_code(&reply);
    }
    let (status, reply) = app.send(app.client.post(&login).header("content-type", "text/plain").body("code")).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{reply}");
    assert_eq!(error_code(&reply), "unsupported_content_type");
    app.stop().await;
}

#[tokio::test]
async fn out_of_range_query_values_are_400() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    for query in ["limit=0", "limit=101", "limit=abc", "cursor=%21%21"] {
        let (status, body) = app.get(&format!("/api/v1/admin/staff?{query}"), Some(&admin)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query} → {body}");
        error_code(&body);
    }
    app.stop().await;
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_in_the_error_shape() {
    let app = spawn_app().await;
    let (status, body) = app.get("/api/v1/nothing-here", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(error_code(&body), "not_found");
    let (status, body) = app.delete("/api/v1/auth/staff-login", None).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(error_code(&body), "method_not_allowed");
    app.stop().await;
}

#[tokio::test]
async fn messages_are_chinese_unless_english_is_preferred() {
    let app = spawn_app().await;
    let (_, zh) = app.get("/api/v1/me", None).await;
    assert_eq!(zh["message"], "请先登录");
    let req = app.client.get(app.url("/api/v1/me")).header("accept-language", "en-US,en;q=0.9");
    let (_, en) = app.send(req).await;
    assert_eq!(en["code"], zh["code"]);
    assert_eq!(en["message"], "sign in first");
    app.stop().await;
}

#[tokio::test]
async fn an_oversized_body_is_413() {
    let app = spawn_app().await;
    let huge = "x".repeat(17 * 1024 * 1024);
    let (status, body) = app.post("/api/v1/auth/wechat-login", None, json!({ "code": huge })).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!(error_code(&body), "payload_too_large");
    app.stop().await;
}

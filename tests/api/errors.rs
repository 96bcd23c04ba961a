//! Bad input gets a clear 4xx in the one error shape, never a 500.

use reqwest::StatusCode;
use serde_json::{Value, json};

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

/// The message in `lang` ("zh" or "en") of a GET.
async fn message(app: &TestApp, path: &str, token: Option<&str>, lang: &str) -> (StatusCode, Value) {
    let mut req = app.client.get(app.url(path)).header("accept-language", lang);
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    app.send(req).await
}

/// No English pasted into a Chinese message: nothing Latin is left once the field's name is taken out.
fn assert_chinese(message: &str, field: &str) {
    let rest = message.replace(field, "");
    assert!(!rest.chars().any(|c| c.is_ascii_alphabetic()), "English in `{message}`");
    assert!(rest.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)), "not Chinese: `{message}`");
}

#[tokio::test]
async fn chinese_messages_name_the_field_and_keep_the_english_reason_for_english_and_details() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;

    // A reason of a known kind is said in Chinese.
    let (status, zh) = message(&app, "/api/v1/admin/staff?limit=101", Some(&admin), "zh-CN").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{zh}");
    let text = zh["message"].as_str().unwrap_or_default();
    assert_chinese(text, "limit");
    assert!(text.contains("limit") && text.contains("100"), "{zh}");
    let (_, en) = message(&app, "/api/v1/admin/staff?limit=101", Some(&admin), "en").await;
    assert_eq!(en["code"], zh["code"]);
    assert_eq!(en["details"], zh["details"]);
    assert!(en["message"].as_str().unwrap_or_default().contains("limit"), "{en}");
    let reason = zh["details"]["reason"].as_str().unwrap_or_default();
    assert!(!reason.is_empty() && en["message"].as_str().unwrap_or_default().contains(reason), "{en} / {zh}");

    // Any other reason gets a general Chinese sentence; its English stays in `details`.
    let (status, zh) = message(&app, "/api/v1/places?bbox=120,30,121", None, "zh").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{zh}");
    assert_chinese(zh["message"].as_str().unwrap_or_default(), "bbox");
    assert_eq!(zh["details"]["field"], "bbox");
    assert!(zh["details"]["reason"].as_str().is_some_and(|r| !r.is_empty()), "{zh}");

    // A conflict is said in Chinese by its code.
    let body = json!({ "username": "twice", "password": STAFF_PASSWORD, "role": "city_admin", "display_name": "X" });
    let (status, _) = app.post("/api/v1/admin/staff", Some(&admin), body.clone()).await;
    assert_eq!(status, StatusCode::OK);
    let (status, zh) = app.post("/api/v1/admin/staff", Some(&admin), body.clone()).await;
    assert_eq!(status, StatusCode::CONFLICT, "{zh}");
    assert_eq!(error_code(&zh), "username_taken");
    assert_chinese(zh["message"].as_str().unwrap_or_default(), "");
    let req = app.client.post(app.url("/api/v1/admin/staff")).bearer_auth(&admin).header("accept-language", "en");
    let (_, en) = app.send(req.json(&body)).await;
    assert!(en["message"].as_str().unwrap_or_default().contains("twice"), "{en}");
    app.stop().await;
}

/// A body sent chunked, as a client that does not know its length sends it.
fn chunked(parts: Vec<Vec<u8>>) -> reqwest::Body {
    reqwest::Body::wrap_stream(futures_util::stream::iter(parts.into_iter().map(Ok::<_, std::io::Error>)))
}

#[tokio::test]
async fn a_chunked_upload_over_the_limit_is_413_not_malformed() {
    let app = spawn_app().await;
    let rider = app.rider_token("openid-chunked").await;
    // A megabyte at a time, a little over the 16 MB body limit.
    let boundary = "xhb-chunked-boundary";
    let head = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.jpg\"\r\n\
         Content-Type: image/jpeg\r\n\r\n"
    );
    let mut parts = vec![head.into_bytes()];
    parts.extend((0..17).map(|_| vec![0xAB; 1024 * 1024]));
    parts.push(format!("\r\n--{boundary}--\r\n").into_bytes());
    let req = app
        .client
        .post(app.url("/api/v1/media"))
        .bearer_auth(&rider)
        .header("content-type", format!("multipart/form-data; boundary={boundary}"))
        .body(chunked(parts));
    let (status, body) = app.send(req).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!(error_code(&body), "payload_too_large");
    assert_eq!(body["details"]["limit_bytes"], 16 * 1024 * 1024);

    let login = |parts: Vec<Vec<u8>>| {
        app.client
            .post(app.url("/api/v1/auth/wechat-login"))
            .header("content-type", "application/json")
            .body(chunked(parts))
    };
    // A chunked JSON body over the limit says the same, not "malformed body".
    let (status, body) =
        app.send(login(vec![b"{\"code\": \"".to_vec(), vec![b'x'; 17 * 1024 * 1024], b"\"}".to_vec()])).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!(error_code(&body), "payload_too_large");
    // Under the limit, chunked is as good as a length.
    let (status, body) = app.send(login(vec![b"{\"code\": ".to_vec(), b"\"ok-openid-chunked\"}".to_vec()])).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    app.stop().await;
}

#[tokio::test]
async fn requests_the_server_cannot_read_are_answered_in_the_error_shape() {
    use crate::hostile::raw_exchange;
    let app = spawn_app().await;
    let big_header = format!("GET /healthz HTTP/1.1\r\nHost: xhb\r\nX-Big: {}\r\n\r\n", "a".repeat(40 * 1024));
    let many_headers = format!(
        "GET /healthz HTTP/1.1\r\nHost: xhb\r\n{}\r\n",
        (0..150).map(|i| format!("X-H{i}: v\r\n")).collect::<String>()
    );
    let cases: [(&str, &[u8], u16, &str); 7] = [
        ("a garbage request line", b"HELLO THERE\r\n\r\n", 400, "malformed_request"),
        ("binary noise", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", 400, "malformed_request"),
        (
            "a bad Content-Length",
            b"POST /healthz HTTP/1.1\r\nHost: xhb\r\nContent-Length: ten\r\n\r\n",
            400,
            "malformed_request",
        ),
        (
            "two different Content-Lengths",
            b"POST /healthz HTTP/1.1\r\nHost: xhb\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
            400,
            "malformed_request",
        ),
        (
            "a control character in the path",
            b"GET /heal\x01thz HTTP/1.1\r\nHost: xhb\r\n\r\n",
            400,
            "malformed_request",
        ),
        ("a 40 KB header", big_header.as_bytes(), 431, "headers_too_large"),
        ("150 headers", many_headers.as_bytes(), 431, "headers_too_large"),
    ];
    // All at once: each answer lingers a moment before its close.
    let answers =
        futures_util::future::join_all(cases.iter().map(|(_, request, _, _)| raw_exchange(&app, request))).await;
    for ((what, _, status, code), answer) in cases.iter().zip(answers) {
        let answer = answer.unwrap_or_else(|| panic!("{what}: closed without an answer"));
        assert_eq!(answer.status, *status, "{what}: {}", answer.body);
        assert_eq!(error_code(&answer.body), *code, "{what}");
        assert_chinese(answer.body["message"].as_str().unwrap_or_default(), "");
        assert_eq!(answer.header("content-type"), Some("application/json; charset=utf-8"), "{what}");
        assert_eq!(answer.header("connection"), Some("close"), "{what}");
        assert!(answer.header("x-request-id").is_some(), "{what}");
    }
    // And the server is none the worse for them.
    let (status, _) = app.get("/healthz", None).await;
    assert_eq!(status, StatusCode::OK);
    app.stop().await;
}

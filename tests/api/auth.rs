//! Riders log in through WeChat, staff with a password; tokens expire and can be revoked.

use reqwest::StatusCode;
use serde_json::json;
use xinhuoban::domain::identity::Role;

use crate::helpers::*;

#[tokio::test]
async fn a_rider_logs_in_with_a_wechat_code_and_sees_who_they_are() {
    let app = spawn_app().await;
    let (status, body) = app.post("/api/v1/auth/wechat-login", None, json!({ "code": "ok-openid-zhang" })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["role"], "rider");
    assert!(body["expires_at"].as_str().unwrap().parse::<chrono::DateTime<chrono::FixedOffset>>().is_ok());
    let text = body.to_string();
    assert!(!text.contains("openid-zhang") && !text.contains("SECRET-SESSION-KEY"), "identity leaked: {text}");

    let token = body["token"].as_str().unwrap();
    let (status, me) = app.get("/api/v1/me", Some(token)).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["role"], "rider");
    assert!(!me.to_string().contains("openid-zhang"));

    // The same rider logging in again is the same account.
    let again = app.rider_token("openid-zhang").await;
    let (_, me_again) = app.get("/api/v1/me", Some(&again)).await;
    assert_eq!(me_again["account_id"], me["account_id"]);
    app.stop().await;
}

#[tokio::test]
async fn an_invalid_wechat_code_is_a_401() {
    let app = spawn_app().await;
    let (status, body) = app.post("/api/v1/auth/wechat-login", None, json!({ "code": "used-code" })).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(&body), "invalid_wechat_code");
    app.stop().await;
}

#[tokio::test]
async fn a_user_wechat_blocks_as_high_risk_is_a_403_not_try_again() {
    let app = spawn_app().await;
    let (status, body) = app.post("/api/v1/auth/wechat-login", None, json!({ "code": "risky" })).await;
    assert_eq!((status, error_code(&body)), (StatusCode::FORBIDDEN, "wechat_user_blocked"), "{body}");
    app.stop().await;
}

#[tokio::test]
async fn wechat_rate_limited_is_a_503() {
    let app = spawn_app().await;
    let (status, body) = app.post("/api/v1/auth/wechat-login", None, json!({ "code": "busy" })).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(error_code(&body), "wechat_unavailable");
    app.stop().await;
}

#[tokio::test]
async fn a_slow_wechat_is_a_503_within_the_timeout_not_a_hang() {
    let app = spawn_app().await;
    let started = std::time::Instant::now();
    let (status, body) = app.post("/api/v1/auth/wechat-login", None, json!({ "code": "slow-1" })).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(error_code(&body), "wechat_unavailable");
    // The fake answers after 3 s; the configured timeout is 0.8 s.
    assert!(started.elapsed() < WECHAT_SLOW, "waited for the slow answer");
    app.stop().await;
}

#[tokio::test]
async fn wechat_down_is_a_503() {
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let app = spawn_app_with(Options { extra: vec![("XHB_WECHAT_API_BASE", format!("http://{closed}"))] }).await;
    let (status, body) = app.post("/api/v1/auth/wechat-login", None, json!({ "code": "ok-x" })).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(error_code(&body), "wechat_unavailable");
    app.stop().await;
}

#[tokio::test]
async fn demo_codes_do_not_exist_outside_demo_mode() {
    let app = spawn_app().await;
    let (status, body) = app.post("/api/v1/auth/wechat-login", None, json!({ "code": "demo-li" })).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    app.stop().await;
}

#[tokio::test]
async fn a_clerk_logs_in_with_a_password_and_a_wrong_one_is_refused() {
    let app = spawn_app().await;
    let office = app.create_office("城关街道办事处").await;
    app.create_staff("wang.clerk", Role::Clerk, Some(&office)).await;

    let (status, body) =
        app.post("/api/v1/auth/staff-login", None, json!({ "username": "wang.clerk", "password": "not it" })).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(&body), "bad_credentials");
    let (status, body) =
        app.post("/api/v1/auth/staff-login", None, json!({ "username": "nobody", "password": "not it" })).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(&body), "bad_credentials");

    let token = app.staff_token("WANG.clerk").await;
    let (status, me) = app.get("/api/v1/me", Some(&token)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["role"], "clerk");
    assert_eq!(me["office_id"], office);
    app.stop().await;
}

#[tokio::test]
async fn a_logged_out_token_is_revoked() {
    let app = spawn_app().await;
    let token = app.rider_token("openid-li").await;
    let (status, _) = app.post("/api/v1/auth/logout", Some(&token), json!({})).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = app.get("/api/v1/me", Some(&token)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(&body), "token_revoked");
    app.stop().await;
}

#[tokio::test]
async fn an_expired_token_is_refused() {
    let app = spawn_app_with(Options { extra: vec![("XHB_RIDER_SESSION_TTL_SECS", "60".into())] }).await;
    let token = app.rider_token("openid-zhao").await;
    // Age the session past its expiry in the database, as a minute passing would.
    sqlx::query("UPDATE sessions SET expires_at = expires_at - 120000").execute(&app.state.db.pool).await.unwrap();
    let (status, body) = app.get("/api/v1/me", Some(&token)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(&body), "token_expired");
    app.stop().await;
}

#[tokio::test]
async fn missing_and_forged_tokens_are_401() {
    let app = spawn_app().await;
    let (status, body) = app.get("/api/v1/me", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(&body), "missing_token");
    let (status, body) = app.get("/api/v1/me", Some("xhb_forged")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(&body), "invalid_token");
    app.stop().await;
}

#[tokio::test]
async fn a_rider_calling_a_staff_endpoint_is_forbidden() {
    let app = spawn_app().await;
    let token = app.rider_token("openid-sun").await;
    let (status, body) = app.get("/api/v1/admin/staff", Some(&token)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(error_code(&body), "forbidden");
    app.stop().await;
}

#[tokio::test]
async fn an_admin_creates_and_disables_staff_and_their_sessions_end() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let office = app.create_office("东湖街道办事处").await;

    let (status, clerk) = app
        .post(
            "/api/v1/admin/staff",
            Some(&admin),
            json!({ "username": "li.clerk", "password": STAFF_PASSWORD, "role": "clerk", "display_name": "李", "office_id": office }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{clerk}");
    assert!(clerk.get("password").is_none() && !clerk.to_string().contains("argon2"));

    // A clerk without an office, and a taken username, are refused.
    let (status, _) = app
        .post(
            "/api/v1/admin/staff",
            Some(&admin),
            json!({ "username": "x.clerk", "password": STAFF_PASSWORD, "role": "clerk", "display_name": "X" }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, body) = app
        .post(
            "/api/v1/admin/staff",
            Some(&admin),
            json!({ "username": "li.clerk", "password": STAFF_PASSWORD, "role": "city_admin", "display_name": "X" }),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(error_code(&body), "username_taken");

    let clerk_token = app.staff_token("li.clerk").await;
    let (status, page) = app.get("/api/v1/admin/staff?limit=1", Some(&admin)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    let next = page["next_cursor"].as_str().expect("a second page");
    let (_, page2) = app.get(&format!("/api/v1/admin/staff?limit=1&cursor={next}"), Some(&admin)).await;
    assert_eq!(page2["items"].as_array().unwrap().len(), 1);
    assert_ne!(page2["items"][0]["id"], page["items"][0]["id"]);

    let id = clerk["id"].as_str().unwrap();
    let (status, _) = app.post(&format!("/api/v1/admin/staff/{id}/disable"), Some(&admin), json!({})).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = app.get("/api/v1/me", Some(&clerk_token)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, body) =
        app.post("/api/v1/auth/staff-login", None, json!({ "username": "li.clerk", "password": STAFF_PASSWORD })).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(&body), "account_disabled");

    let (status, _) = app.post("/api/v1/admin/staff/no-such-id/disable", Some(&admin), json!({})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    app.stop().await;
}

#[tokio::test]
async fn password_guessing_is_throttled_per_username_and_a_success_clears_it() {
    let app = spawn_app().await;
    app.create_staff("zhou.manager", Role::StationManager, None).await;
    let guess = |password: &'static str| {
        app.post("/api/v1/auth/staff-login", None, json!({ "username": "zhou.manager", "password": password }))
    };
    for _ in 0..10 {
        assert_eq!(guess("wrong guess").await.0, StatusCode::UNAUTHORIZED);
    }
    let resp = app
        .client
        .post(app.url("/api/v1/auth/staff-login"))
        .json(&json!({ "username": "zhou.manager", "password": STAFF_PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = resp.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=900).contains(&retry_after));
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(error_code(&body), "rate_limited");
    crate::contract::assert_declared(
        "auth_staff_login",
        StatusCode::TOO_MANY_REQUESTS,
        Some(&retry_after.to_string()),
        &body,
    );

    // Another username is not affected.
    app.create_staff("qian.manager", Role::StationManager, None).await;
    app.staff_token("qian.manager").await;

    // Once the window has passed, the right password works and clears the count.
    sqlx::query("UPDATE login_failures SET at = at - 1000000").execute(&app.state.db.pool).await.unwrap();
    app.staff_token("zhou.manager").await;
    let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM login_failures WHERE username = 'zhou.manager'")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(left, 0);
    app.stop().await;
}

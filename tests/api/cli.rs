//! The command line: bootstrapping the first admin, and the spec it prints.

use std::io::Write;
use std::process::{Command, Stdio};

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

fn xinhuoban(database_url: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_xinhuoban"));
    cmd.env_clear()
        .env("XHB_DATABASE_URL", database_url)
        .env("XHB_DEMO", "false")
        .env("XHB_TOKEN_SECRET", TOKEN_SECRET)
        .env("XHB_WECHAT_APP_ID", "wx-test-app")
        .env("XHB_WECHAT_APP_SECRET", "wx-test-secret")
        .env("XHB_LOG", "warn");
    cmd
}

#[tokio::test]
async fn the_first_city_admin_is_created_from_the_command_line_and_can_log_in() {
    let app = spawn_app().await;
    let url = app.state.config.database_url.clone();
    let mut child = xinhuoban(&url)
        .args(["admin", "create", "--username", "chief", "--role", "city_admin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("binary runs");
    child.stdin.take().unwrap().write_all(b"a long enough password\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("created chief (city_admin)"));

    let (status, body) = app
        .post("/api/v1/auth/staff-login", None, json!({ "username": "chief", "password": "a long enough password" }))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["role"], "city_admin");
    app.stop().await;
}

#[test]
fn an_invalid_setting_stops_the_start_naming_it() {
    let out = xinhuoban("postgres://127.0.0.1:1/none").env("XHB_TOKEN_SECRET", "short").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("token_secret"));
}

#[test]
fn spec_prints_the_committed_spec() {
    let out = Command::new(env!("CARGO_BIN_EXE_xinhuoban")).arg("spec").output().unwrap();
    assert!(out.status.success());
    let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/api-spec/openapi.yaml")).unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), committed);
}

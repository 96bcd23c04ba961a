//! Every log line of a request carries the request id the client saw, including an internal
//! error's and sqlx's. Its own test binary: it installs the process's one global subscriber,
//! writing JSON lines into a buffer.

#[path = "api/helpers.rs"]
#[allow(dead_code)]
mod helpers;

use std::io::Write;
use std::sync::{Arc, Mutex};

use reqwest::StatusCode;
use serde_json::Value;
use tracing_subscriber::EnvFilter;

use helpers::*;

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().map_err(|_| std::io::Error::other("poisoned"))?.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Buffer {
    fn lines(&self) -> Vec<Value> {
        let bytes = self.0.lock().expect("log buffer").clone();
        String::from_utf8_lossy(&bytes).lines().filter_map(|l| serde_json::from_str(l).ok()).collect()
    }

    /// The lines logged inside the request with this id.
    fn of_request(&self, request_id: &str) -> Vec<Value> {
        self.lines().into_iter().filter(|l| l["span"]["request_id"] == request_id).collect()
    }
}

async fn request_id_of(app: &TestApp, path: &str, token: &str) -> (StatusCode, Value, String) {
    answer_of(app.client.get(app.url(path)).bearer_auth(token)).await
}

async fn answer_of(req: reqwest::RequestBuilder) -> (StatusCode, Value, String) {
    let resp = req.send().await.expect("request");
    let status = resp.status();
    let id = resp.headers().get("x-request-id").and_then(|v| v.to_str().ok()).expect("x-request-id").to_string();
    (status, resp.json().await.expect("json body"), id)
}

#[tokio::test]
async fn an_internal_error_and_every_statement_log_with_the_request_id() {
    let logs = Buffer::default();
    let writer = logs.clone();
    let installed =
        xinhuoban::telemetry::install(true, EnvFilter::new("info,sqlx::query=debug"), move || writer.clone());
    assert!(installed, "this binary's subscriber is the first");
    let app = spawn_app().await;
    let admin = app.admin_token().await;

    let (status, _, ok_id) = request_id_of(&app, "/api/v1/me", &admin).await;
    assert_eq!(status, StatusCode::OK);
    let lines = logs.of_request(&ok_id);
    assert!(lines.iter().any(|l| l["target"] == "sqlx::query"), "sqlx's statements carry the id: {lines:?}");
    let request_line = lines.iter().find(|l| l["fields"]["message"] == "request").expect("the request line");
    assert!(request_line["fields"]["statements"].as_u64().is_some_and(|n| n >= 1), "{request_line}");

    // A fault in the database (an unreachable one is a 503, not an internal error).
    app.break_writes(helpers::Write::Update, "sessions").await;
    let (status, body, failed_id) =
        answer_of(app.client.post(app.url("/api/v1/auth/logout")).bearer_auth(&admin)).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
    assert_eq!(body["code"], "internal");
    assert_eq!(body["message"], "服务器内部错误");
    assert!(body["details"].is_null(), "{body}");
    let lines = logs.of_request(&failed_id);
    let internal: Vec<&Value> = lines.iter().filter(|l| l["fields"]["message"] == "internal error").collect();
    assert_eq!(internal.len(), 1, "logged once: {lines:?}");
    assert_eq!(internal[0]["level"], "ERROR");
    let chain = internal[0]["fields"]["error"].as_str().expect("the error chain");
    assert!(chain.contains("injected fault"), "the cause is in the log: {chain}");
    assert!(!body.to_string().contains("injected"), "never in the answer: {body}");
    app.stop().await;
}

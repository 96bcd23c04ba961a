//! `spawn_app()`: the real router on a random loopback port, against a fresh database (SQLite in
//! a temp dir, or a new PostgreSQL database when `XHB_TEST_DATABASE_URL` names a server), with a
//! fake WeChat server on loopback.

use std::net::SocketAddr;
use std::time::Duration;

use poem::web::{Json, Query};
use poem::{EndpointExt, Route, Server, get, handler};
use reqwest::StatusCode;
use serde_json::{Value, json};
use xinhuoban::app::{self, RunningServer};
use xinhuoban::config::Config;
use xinhuoban::domain::identity::{NewPassword, Role, Username};
use xinhuoban::domain::routing::UnitKind;
use xinhuoban::service::staff::{self, StaffSpec};
use xinhuoban::state::AppState;
use xinhuoban::store::Backend;

pub const TOKEN_SECRET: &str = "test-secret-test-secret-test-secret-0123";
pub const STAFF_PASSWORD: &str = "correct horse battery";
/// The fake WeChat answers codes of the form `ok-<openid>`; `slow-…` takes this long.
pub const WECHAT_SLOW: Duration = Duration::from_secs(3);

pub struct TestApp {
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    pub state: AppState,
    server: Option<RunningServer>,
    _dir: tempfile::TempDir,
}

/// Settings a test may change before the app starts.
#[derive(Default)]
pub struct Options {
    pub extra: Vec<(&'static str, String)>,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(Options::default()).await
}

/// The app in demo mode without WeChat: the demo city is seeded and `demo-<name>` logs riders in.
pub async fn spawn_demo_app() -> TestApp {
    spawn_app_with(Options {
        extra: vec![
            ("XHB_DEMO", "true".into()),
            ("XHB_WECHAT_APP_ID", String::new()),
            ("XHB_WECHAT_APP_SECRET", String::new()),
        ],
    })
    .await
}

pub async fn spawn_app_with(options: Options) -> TestApp {
    xinhuoban::telemetry::init(false);
    let dir = tempfile::tempdir().expect("temp dir");
    let config = config_for(options, &dir).await;
    let bind = config.bind;
    let state = AppState::prepare(config).await.expect("app prepares");
    let server = app::start(state.clone(), bind, std::future::pending()).await.expect("app starts");
    TestApp {
        addr: server.addr,
        client: reqwest::Client::builder().timeout(Duration::from_secs(30)).build().expect("client"),
        state,
        server: Some(server),
        _dir: dir,
    }
}

/// Prepares the app as a start does, for a test that expects the start to be refused.
pub async fn prepare_with(options: Options) -> Result<AppState, xinhuoban::state::StartError> {
    let dir = tempfile::tempdir().expect("temp dir");
    AppState::prepare(config_for(options, &dir).await).await
}

/// The test settings: a fresh database in `dir`, the fake WeChat, then the test's own.
async fn config_for(options: Options, dir: &tempfile::TempDir) -> Config {
    let database_url = fresh_database(dir).await;
    let wechat = spawn_fake_wechat().await;
    let mut vars: Vec<(&'static str, String)> = vec![
        ("XHB_DATABASE_URL", database_url),
        ("XHB_DEMO", "false".into()),
        ("XHB_BIND", "127.0.0.1:0".into()),
        ("XHB_TOKEN_SECRET", TOKEN_SECRET.into()),
        ("XHB_WECHAT_APP_ID", "wx-test-app".into()),
        ("XHB_WECHAT_APP_SECRET", "wx-test-secret".into()),
        ("XHB_WECHAT_API_BASE", format!("http://{wechat}")),
        ("XHB_WECHAT_TIMEOUT_MS", "800".into()),
        ("XHB_DATABASE_MAX_CONNECTIONS", "5".into()),
        ("XHB_MEDIA_DIR", dir.path().join("media").display().to_string()),
        // WeChat's content checks are on by default when WeChat is configured; the tests of
        // content security (content_check.rs) turn them on with a fake WeChat that answers them.
        ("XHB_CONTENT_CHECK", "off".into()),
    ];
    for (k, v) in options.extra {
        vars.retain(|(key, _)| *key != k);
        vars.push((k, v));
    }
    Config::from_vars(vars).expect("test config is valid")
}

/// A fresh database: a temp SQLite file, or a new database on the PostgreSQL server named by
/// `XHB_TEST_DATABASE_URL` (`.ci/run` drops leftovers named `xhb_t_*`).
pub async fn fresh_database(dir: &tempfile::TempDir) -> String {
    match std::env::var("XHB_TEST_DATABASE_URL") {
        Ok(url) if url.starts_with("postgres") => {
            use sqlx::Connection;
            sqlx::any::install_default_drivers();
            let name = format!("xhb_t_{}", uuid::Uuid::now_v7().simple());
            let mut admin = sqlx::AnyConnection::connect(&url).await.expect("PostgreSQL reachable");
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&mut admin)
                .await
                .expect("create db");
            let _ = admin.close().await;
            let base = url.rsplit_once('/').map(|(b, _)| b).unwrap_or(&url);
            format!("{base}/{name}")
        }
        _ => format!("sqlite://{}", dir.path().join("test.db").display()),
    }
}

#[derive(serde::Deserialize)]
struct Code2SessionQuery {
    appid: String,
    secret: String,
    js_code: String,
    grant_type: String,
}

/// jscode2session as WeChat answers it: `ok-<openid>` succeeds, `used` is an invalid code,
/// `busy` hits the rate limit, `risky` is a user WeChat blocks as high-risk, `slow-…` answers
/// after `WECHAT_SLOW`.
#[handler]
async fn jscode2session(Query(q): Query<Code2SessionQuery>) -> Json<Value> {
    assert_eq!(
        (q.appid.as_str(), q.secret.as_str(), q.grant_type.as_str()),
        ("wx-test-app", "wx-test-secret", "authorization_code")
    );
    if let Some(openid) = q.js_code.strip_prefix("ok-") {
        return Json(json!({ "openid": openid, "session_key": "SECRET-SESSION-KEY", "unionid": null }));
    }
    if q.js_code.starts_with("slow-") {
        tokio::time::sleep(WECHAT_SLOW).await;
        return Json(json!({ "openid": "late", "session_key": "SECRET-SESSION-KEY" }));
    }
    match q.js_code.as_str() {
        "busy" => Json(json!({ "errcode": 45011, "errmsg": "api minute-quota reach limit" })),
        "risky" => Json(json!({ "errcode": 40226, "errmsg": "code blocked" })),
        _ => Json(json!({ "errcode": 40029, "errmsg": "invalid code" })),
    }
}

/// The subscribe-message templates the fake mini-program holds: the three the tests configure,
/// with the keywords of our default mappings, and one with other keywords.
pub fn fake_templates() -> Value {
    json!({ "errcode": 0, "errmsg": "ok", "data": [
        { "priTmplId": "tmpl-progress", "title": "问题处理进度通知", "type": 2,
          "content": "问题类型:{{thing1.DATA}}\n处理状态:{{phrase2.DATA}}\n更新时间:{{time3.DATA}}\n处理说明:{{thing4.DATA}}\n" },
        { "priTmplId": "tpl-points", "title": "积分到账通知", "type": 2,
          "content": "积分来源:{{thing1.DATA}}\n积分:{{number2.DATA}}\n到账时间:{{time3.DATA}}\n" },
        { "priTmplId": "tmpl-redemption", "title": "兑换结果通知", "type": 2,
          "content": "兑换商品:{{thing1.DATA}}\n状态:{{phrase2.DATA}}\n时间:{{time3.DATA}}\n领取地点:{{thing4.DATA}}\n" },
        { "priTmplId": "tmpl-progress-v2", "title": "工单进度提醒", "type": 2,
          "content": "工单类型:{{thing6.DATA}}\n当前进度:{{phrase2.DATA}}\n时间:{{date3.DATA}}\n备注:{{thing4.DATA}}\n" },
    ]})
}

#[handler]
fn stable_token() -> Json<Value> {
    Json(json!({ "access_token": "fake-token", "expires_in": 7200 }))
}

#[handler]
fn gettemplate() -> Json<Value> {
    Json(fake_templates())
}

async fn spawn_fake_wechat() -> SocketAddr {
    spawn_fake_server(
        Route::new()
            .at("/sns/jscode2session", get(jscode2session))
            .at("/cgi-bin/stable_token", poem::post(stable_token))
            .at("/wxaapi/newtmpl/gettemplate", get(gettemplate)),
    )
    .await
}

/// Serves `app` on a random loopback port for the rest of the test process.
pub async fn spawn_fake_server(app: impl poem::Endpoint + 'static) -> SocketAddr {
    use poem::listener::{Acceptor, Listener, TcpListener};
    let acceptor = TcpListener::bind("127.0.0.1:0").into_acceptor().await.expect("bind fake server");
    let addr = *acceptor.local_addr()[0].as_socket_addr().expect("socket address");
    tokio::spawn(Server::new_with_acceptor(acceptor).run(app.map_to_response()));
    addr
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub async fn stop(mut self) {
        if let Some(server) = self.server.take() {
            server.stop().await;
        }
    }

    /// Stops the server but keeps its files (the SQLite database), as a restart would find them.
    #[allow(dead_code)]
    pub async fn stop_keeping_files(mut self) -> tempfile::TempDir {
        if let Some(server) = self.server.take() {
            server.stop().await;
        }
        self._dir
    }

    /// Sends a request and returns the status and the JSON body (Null when there is none).
    pub async fn send(&self, req: reqwest::RequestBuilder) -> (StatusCode, Value) {
        let resp = req.send().await.expect("request reaches the app");
        let status = resp.status();
        let text = resp.text().await.expect("body");
        let body =
            if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
        (status, body)
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> (StatusCode, Value) {
        self.send(with_token(self.client.get(self.url(path)), token)).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> (StatusCode, Value) {
        self.send(with_token(self.client.post(self.url(path)).json(&body), token)).await
    }

    #[allow(dead_code)]
    pub async fn put(&self, path: &str, token: Option<&str>, body: Value) -> (StatusCode, Value) {
        self.send(with_token(self.client.put(self.url(path)).json(&body), token)).await
    }

    #[allow(dead_code)]
    pub async fn patch(&self, path: &str, token: Option<&str>, body: Value) -> (StatusCode, Value) {
        self.send(with_token(self.client.patch(self.url(path)).json(&body), token)).await
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> (StatusCode, Value) {
        self.send(with_token(self.client.delete(self.url(path)), token)).await
    }

    /// Logs a rider in through the fake WeChat and returns the token.
    pub async fn rider_token(&self, openid: &str) -> String {
        let (status, body) =
            self.post("/api/v1/auth/wechat-login", None, json!({ "code": format!("ok-{openid}") })).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["token"].as_str().expect("token").to_string()
    }

    /// The rider accepts `times` messages of a template, as `wx.requestSubscribeMessage` asks.
    pub async fn consent(&self, token: &str, template_id: &str, times: usize) {
        for _ in 0..times {
            let (status, body) = self
                .post("/api/v1/me/subscriptions", Some(token), json!({ "results": { template_id: "accept" } }))
                .await;
            assert_eq!(status, StatusCode::OK, "{body}");
        }
    }

    /// Creates a staff account directly, as `xinhuoban admin create` does; returns its id.
    pub async fn create_staff(&self, username: &str, role: Role, office_id: Option<&str>) -> String {
        let account = staff::register(
            &self.state.db,
            &self.state.city.id,
            StaffSpec {
                username: Username::parse(username).expect("username"),
                password: NewPassword::parse(STAFF_PASSWORD).expect("password"),
                role,
                display_name: username.to_string(),
                office_id: office_id.map(str::to_string),
            },
        )
        .await
        .expect("staff created");
        account.id
    }

    pub async fn staff_token(&self, username: &str) -> String {
        let (status, body) = self
            .post("/api/v1/auth/staff-login", None, json!({ "username": username, "password": STAFF_PASSWORD }))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["token"].as_str().expect("token").to_string()
    }

    /// A city admin, created and logged in.
    pub async fn admin_token(&self) -> String {
        self.create_staff("admin", Role::CityAdmin, None).await;
        self.staff_token("admin").await
    }

    /// A new street office in the app's city; returns its id.
    pub async fn create_office(&self, name: &str) -> String {
        let mut conn = self.state.db.pool.acquire().await.expect("connection");
        xinhuoban::store::units::create(&mut conn, &self.state.city.id, UnitKind::StreetOffice, name)
            .await
            .expect("office")
            .id
    }
}

/// Which kind of write a fault breaks.
#[allow(dead_code)]
#[derive(Clone, Copy)]
pub enum Write {
    Insert,
    Update,
}

impl Write {
    fn sql(self) -> &'static str {
        match self {
            Write::Insert => "INSERT",
            Write::Update => "UPDATE",
        }
    }
}

#[allow(dead_code)]
impl TestApp {
    /// Injects a fault: from now on every `write` of a row of `table` fails in the database, as a
    /// fault in the middle of a use case would, until `mend` is called.
    pub async fn break_writes(&self, write: Write, table: &str) {
        let trigger = fault_trigger(write, table);
        let op = write.sql();
        let sql = match self.state.db.backend {
            Backend::Sqlite => {
                format!(
                    "CREATE TRIGGER {trigger} BEFORE {op} ON {table} BEGIN SELECT RAISE(ABORT, 'injected fault'); END"
                )
            }
            Backend::Postgres => format!(
                "CREATE OR REPLACE FUNCTION xhb_injected_fault() RETURNS trigger LANGUAGE plpgsql AS \
                 $$ BEGIN RAISE EXCEPTION 'injected fault'; END $$; \
                 CREATE TRIGGER {trigger} BEFORE {op} ON {table} FOR EACH ROW EXECUTE FUNCTION xhb_injected_fault()"
            ),
        };
        self.schema_change(sql).await;
    }

    /// Removes a fault `break_writes` injected.
    pub async fn mend(&self, write: Write, table: &str) {
        let trigger = fault_trigger(write, table);
        let sql = match self.state.db.backend {
            Backend::Sqlite => format!("DROP TRIGGER {trigger}"),
            Backend::Postgres => format!("DROP TRIGGER {trigger} ON {table}"),
        };
        self.schema_change(sql).await;
    }

    /// Runs DDL. A pooled SQLite connection parses DDL against the schema it last read, which
    /// may predate another connection's change, so it reads the schema first.
    async fn schema_change(&self, sql: String) {
        let mut conn = self.state.db.pool.acquire().await.expect("connection");
        if self.state.db.backend == Backend::Sqlite {
            sqlx::query("SELECT COUNT(*) FROM sqlite_master").execute(&mut *conn).await.expect("schema read");
        }
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).execute(&mut *conn).await.expect("schema changed");
    }

    /// How many audit entries record `action`.
    pub async fn audit_entries(&self, action: &str) -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = $1")
            .bind(action)
            .fetch_one(&self.state.db.pool)
            .await
            .expect("audit count")
    }
}

fn fault_trigger(write: Write, table: &str) -> String {
    format!("xhb_fault_{}_{table}", write.sql().to_lowercase())
}

fn with_token(req: reqwest::RequestBuilder, token: Option<&str>) -> reqwest::RequestBuilder {
    match token {
        Some(t) => req.bearer_auth(t),
        None => req,
    }
}

/// Waits until `check` holds, polling; fails the test after 10 s.
#[allow(dead_code)]
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !check().await {
        assert!(std::time::Instant::now() < deadline, "never happened: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Asserts the one error shape and returns its code.
pub fn error_code(body: &Value) -> &str {
    assert!(body["message"].is_string(), "error without a message: {body}");
    assert!(body.get("details").is_none_or(|d| !d.is_null()), "details are left out, never null: {body}");
    body["code"].as_str().unwrap_or_else(|| panic!("error without a code: {body}"))
}

//! Limits hold under a race: what many requests touch at once is checked and changed in one
//! atomic step, so a hundred parallel requests get no more than one careful client would, and two
//! processes started together on one empty database end with one city.

use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::Row;
use tokio::sync::Barrier;
use xinhuoban::app;
use xinhuoban::config::Config;
use xinhuoban::domain::identity::Role;
use xinhuoban::domain::time::Millis;
use xinhuoban::state::AppState;

use crate::helpers::*;
use crate::reports::{file_ok, report_at};

/// What a request answered: its status, its `Retry-After` in seconds, and its body.
pub struct Answer {
    pub status: StatusCode,
    pub retry_after: Option<u64>,
    pub body: Value,
}

/// Sends every request at once, each from a task of its own released by one barrier.
pub async fn all_at_once(requests: Vec<reqwest::RequestBuilder>) -> Vec<Answer> {
    let start = Arc::new(Barrier::new(requests.len()));
    let tasks: Vec<_> = requests
        .into_iter()
        .map(|request| {
            let start = start.clone();
            tokio::spawn(async move {
                start.wait().await;
                let resp = request.send().await.expect("request reaches the app");
                let status = resp.status();
                let retry_after = resp.headers().get("retry-after").map(|v| {
                    v.to_str().ok().and_then(|v| v.parse().ok()).unwrap_or_else(|| panic!("Retry-After {v:?}"))
                });
                let body = resp.json().await.unwrap_or(Value::Null);
                Answer { status, retry_after, body }
            })
        })
        .collect();
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.expect("request task"));
    }
    answers
}

/// How many answers had each status.
pub fn tally(answers: &[Answer], status: StatusCode) -> usize {
    answers.iter().filter(|a| a.status == status).count()
}

/// Every refusal is a 429 in the error shape that says when to come back.
fn assert_refusals_say_when(answers: &[Answer], longest: u64) {
    for refused in answers.iter().filter(|a| a.status == StatusCode::TOO_MANY_REQUESTS) {
        assert_eq!(error_code(&refused.body), "rate_limited");
        let retry_after = refused.retry_after.expect("a 429 carries Retry-After");
        assert!((1..=longest).contains(&retry_after), "Retry-After {retry_after}");
    }
}

async fn reports_filed_by(app: &TestApp, rider: &str) -> i64 {
    let me = crate::reports::account_id(app, rider).await;
    sqlx::query("SELECT COUNT(*) AS n FROM reports WHERE reporter_id = $1")
        .bind(me)
        .fetch_one(&app.state.db.pool)
        .await
        .expect("count")
        .get("n")
}

/// A report on its own: 0.001° of latitude (about 110 m) from the next, so none joins another.
fn lone_report(i: usize) -> Value {
    report_at("road_damage", 30.20 + i as f64 * 0.001, 120.30)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_rider_tapping_submit_a_hundred_times_at_once_files_exactly_the_hourly_limit() {
    let app = spawn_app().await;
    let rider = app.rider_token("rider-flood").await;

    let posts = (0..100)
        .map(|i| app.client.post(app.url("/api/v1/reports")).bearer_auth(&rider).json(&lone_report(i)))
        .collect();
    let answers = all_at_once(posts).await;

    assert_eq!(tally(&answers, StatusCode::CREATED), 20, "the default limit is 20 an hour");
    assert_eq!(tally(&answers, StatusCode::TOO_MANY_REQUESTS), 80);
    assert_refusals_say_when(&answers, 3600);
    assert_eq!(reports_filed_by(&app, &rider).await, 20);

    // The hour is full for this rider, and for this rider only.
    let (status, _) = app.post("/api/v1/reports", Some(&rider), lone_report(100)).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    let neighbour = app.rider_token("rider-calm").await;
    file_ok(&app, &neighbour, lone_report(101)).await;

    // An hour later the rider may file again, and what the limit kept of that hour is forgotten.
    let db = &app.state.db;
    sqlx::query("UPDATE rider_submissions SET at = at - 3600000").execute(&db.pool).await.expect("an hour passes");
    file_ok(&app, &rider, lone_report(102)).await;
    let an_hour_ago = Millis::now().plus_secs(-3600);
    let forgotten = xinhuoban::store::reports::forget_submissions_before(db, an_hour_ago).await.expect("forget");
    assert_eq!(forgotten, 20 + 1, "the flood's 20 and the neighbour's one; not the new one");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn follows_made_at_once_count_against_the_same_hour_as_reports() {
    let app = spawn_app_with(Options { extra: vec![("XHB_REPORTS_PER_RIDER_PER_HOUR", "10".into())] }).await;
    // Four riders file 40 open reports between them.
    let mut reports = Vec::new();
    for filer in 0..4 {
        let token = app.rider_token(&format!("rider-filer-{filer}")).await;
        for i in 0..10 {
            reports.push(file_ok(&app, &token, lone_report(filer * 10 + i)).await);
        }
    }
    // A fifth files three of their own, then follows all 40 at once: seven more fit in the hour.
    let follower = app.rider_token("rider-follower").await;
    for i in 0..3 {
        file_ok(&app, &follower, lone_report(100 + i)).await;
    }
    let follows = reports
        .iter()
        .map(|id| {
            app.client.post(app.url(&format!("/api/v1/reports/{id}/follow"))).bearer_auth(&follower).json(&json!({}))
        })
        .collect();
    let answers = all_at_once(follows).await;

    assert_eq!(tally(&answers, StatusCode::OK), 7);
    assert_eq!(tally(&answers, StatusCode::TOO_MANY_REQUESTS), 33);
    assert_refusals_say_when(&answers, 3600);
    let (status, mine) = app.get("/api/v1/reports/mine?limit=100", Some(&follower)).await;
    assert_eq!(status, StatusCode::OK, "{mine}");
    assert_eq!(mine["items"].as_array().expect("items").len(), 3 + 7, "{mine}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_retried_submission_replays_even_when_its_retries_arrive_together_with_a_full_hour() {
    let app = spawn_app_with(Options { extra: vec![("XHB_REPORTS_PER_RIDER_PER_HOUR", "1".into())] }).await;
    let rider = app.rider_token("rider-retrying").await;
    // One submission sent twenty times at once with one key: one report, and every answer is it.
    let retries = (0..20)
        .map(|_| {
            app.client
                .post(app.url("/api/v1/reports"))
                .bearer_auth(&rider)
                .header("idempotency-key", "one-tap")
                .json(&lone_report(0))
        })
        .collect();
    let answers = all_at_once(retries).await;
    assert_eq!(tally(&answers, StatusCode::CREATED), 20, "a replay is never refused by the limit");
    let first = &answers[0].body["report"]["id"];
    assert!(answers.iter().all(|a| &a.body["report"]["id"] == first));
    assert_eq!(reports_filed_by(&app, &rider).await, 1);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hundred_parallel_password_guesses_check_at_most_ten() {
    let app = spawn_app().await;
    app.create_staff("wu.clerk", Role::CityAdmin, None).await;
    let guesses = |username: &str| -> Vec<reqwest::RequestBuilder> {
        (0..100)
            .map(|i| {
                app.client
                    .post(app.url("/api/v1/auth/staff-login"))
                    .json(&json!({ "username": username, "password": format!("guess number {i}") }))
            })
            .collect()
    };

    let answers = all_at_once(guesses("wu.clerk")).await;
    let checked = tally(&answers, StatusCode::UNAUTHORIZED);
    assert!(checked <= 10, "{checked} guesses were checked");
    assert_eq!(checked + tally(&answers, StatusCode::TOO_MANY_REQUESTS), 100);
    assert_refusals_say_when(&answers, 900);

    // An unknown name is throttled the same way: nothing tells the two apart.
    let answers = all_at_once(guesses("nobody.here")).await;
    let checked = tally(&answers, StatusCode::UNAUTHORIZED);
    assert!(checked <= 10, "{checked} guesses were checked");
    assert_eq!(checked + tally(&answers, StatusCode::TOO_MANY_REQUESTS), 100);

    // Guesses refused unchecked leave nothing behind: the ten checked are all that count, and when
    // they have left the window the right password works again.
    let counted: i64 = sqlx::query("SELECT COUNT(*) AS n FROM login_failures WHERE username = 'wu.clerk'")
        .fetch_one(&app.state.db.pool)
        .await
        .expect("count")
        .get("n");
    assert!(counted <= 10, "{counted} failures counted");
    sqlx::query("UPDATE login_failures SET at = at - 1000000").execute(&app.state.db.pool).await.expect("age");
    app.staff_token("wu.clerk").await;
    app.stop().await;
}

/// A demo-mode config on `database_url`, listening on a port of its own.
fn demo_config(database_url: &str, media: &std::path::Path) -> Config {
    Config::from_vars([
        ("XHB_DATABASE_URL", database_url.to_string()),
        ("XHB_DEMO", "true".into()),
        ("XHB_BIND", "127.0.0.1:0".into()),
        ("XHB_DATABASE_MAX_CONNECTIONS", "5".into()),
        ("XHB_MEDIA_DIR", media.display().to_string()),
    ])
    .expect("demo config is valid")
}

async fn count(state: &AppState, sql: &'static str) -> i64 {
    sqlx::query(sql).fetch_one(&state.db.pool).await.expect(sql).get("n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_nodes_started_together_on_an_empty_database_seed_one_city_and_both_serve() {
    xinhuoban::telemetry::init(false);
    let dir = tempfile::tempdir().expect("temp dir");
    let url = fresh_database(&dir).await;
    let start = Arc::new(Barrier::new(2));
    let nodes: Vec<_> = (0..2)
        .map(|_| {
            let (config, start) = (demo_config(&url, &dir.path().join("media")), start.clone());
            tokio::spawn(async move {
                start.wait().await;
                AppState::prepare(config).await
            })
        })
        .collect();
    let mut states = Vec::new();
    for node in nodes {
        states.push(node.await.expect("task").expect("both nodes prepare; neither fails on the other's seed"));
    }

    let state = &states[0];
    assert_eq!(count(state, "SELECT COUNT(*) AS n FROM cities").await, 1);
    let units = xinhuoban::demo::DEMO_OFFICES.len() + xinhuoban::demo::DEMO_DEPARTMENTS.len() + 1;
    assert_eq!(count(state, "SELECT COUNT(*) AS n FROM offices").await, units as i64, "offices and the fallback");
    assert_eq!(count(state, "SELECT COUNT(*) AS n FROM accounts WHERE role <> 'rider'").await, 3, "demo staff");
    assert_eq!(count(state, "SELECT COUNT(*) AS n FROM places").await, 12);
    assert_eq!(count(state, "SELECT COUNT(*) AS n FROM reports").await, 2);
    assert_eq!(states[0].city.id, states[1].city.id);

    let client = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().expect("client");
    for state in states {
        let bind = state.config.bind;
        let server = app::start(state, bind, std::future::pending()).await.expect("node starts");
        let base = format!("http://{}", server.addr);
        let login = json!({ "username": "demo-admin", "password": xinhuoban::demo::DEMO_PASSWORD });
        let resp = client.post(format!("{base}/api/v1/auth/staff-login")).json(&login).send().await.expect("login");
        assert_eq!(resp.status(), StatusCode::OK);
        let nearby =
            client.get(format!("{base}/api/v1/places/nearby?lat=30.2588&lng=120.1263")).send().await.expect("nearby");
        assert_eq!(nearby.status(), StatusCode::OK);
        let body: Value = nearby.json().await.expect("json");
        assert!(!body["items"].as_array().expect("items").is_empty(), "{body}");
        server.stop().await;
    }
}

//! A rider who follows a report is told when it moves on, through WeChat subscribe messages
//! delivered from the outbox: retried when WeChat is busy, given up when the rider never
//! subscribed, and kept across a restart.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use chrono::TimeZone;
use poem::web::{Data, Json, Query};
use poem::{EndpointExt, Route, handler, post};
use serde_json::{Value, json};
use xinhuoban::domain::notify::ReportProgress;
use xinhuoban::service::notify::queue_report_progress;

use crate::helpers::*;

/// WeChat's token and subscribe-message endpoints, answering from a script.
#[derive(Default)]
struct FakeWechat {
    token_requests: Vec<Value>,
    sent: Vec<(String, Value)>,
    /// errcodes to answer subscribe/send with, in order; 0 once it runs out.
    script: VecDeque<i64>,
    /// The token `stable_token` hands out in normal mode (`token-<n>`); a forced refresh makes a
    /// new one, as WeChat does.
    current: usize,
    /// Another node forces a refresh just before each token refusal (so the refused token is no
    /// longer the current one).
    others_refresh: bool,
}

type Shared = Arc<Mutex<FakeWechat>>;

#[handler]
fn stable_token(Json(body): Json<Value>, fake: Data<&Shared>) -> Json<Value> {
    let mut f = fake.lock().unwrap();
    if f.current == 0 || body["force_refresh"] == true {
        f.current += 1;
    }
    f.token_requests.push(body);
    Json(json!({ "access_token": format!("token-{}", f.current), "expires_in": 7200 }))
}

#[derive(serde::Deserialize)]
struct TokenQuery {
    access_token: String,
}

#[handler]
fn subscribe_send(Query(q): Query<TokenQuery>, Json(body): Json<Value>, fake: Data<&Shared>) -> Json<Value> {
    let mut f = fake.lock().unwrap();
    f.sent.push((q.access_token, body));
    let errcode = f.script.pop_front().unwrap_or(0);
    if f.others_refresh && matches!(errcode, 40001 | 42001) {
        f.current += 1;
    }
    Json(json!({ "errcode": errcode, "errmsg": if errcode == 0 { "ok" } else { "scripted" } }))
}

#[derive(serde::Deserialize)]
pub struct CodeQuery {
    js_code: String,
}

/// Login for riders whose codes are `ok-<openid>`, as the shared fake answers it.
#[handler]
pub fn jscode2session(Query(q): Query<CodeQuery>) -> Json<Value> {
    match q.js_code.strip_prefix("ok-") {
        Some(openid) => Json(json!({ "openid": openid, "session_key": "k" })),
        None => Json(json!({ "errcode": 40029, "errmsg": "invalid code" })),
    }
}

async fn spawn_wechat(script: &[i64]) -> (Shared, String) {
    let fake: Shared =
        Arc::new(Mutex::new(FakeWechat { script: script.iter().copied().collect(), ..Default::default() }));
    let app = Route::new()
        .at("/sns/jscode2session", poem::get(jscode2session))
        .at("/cgi-bin/stable_token", post(stable_token))
        .at("/cgi-bin/message/subscribe/send", post(subscribe_send))
        .data(fake.clone());
    let addr = spawn_fake_server(app).await;
    (fake, format!("http://{addr}"))
}

fn options(wechat: &str, poll_ms: u64) -> Options {
    Options {
        extra: vec![
            ("XHB_WECHAT_API_BASE", wechat.to_string()),
            ("XHB_NOTIFY_REPORT_TEMPLATE_ID", "tmpl-progress".into()),
            ("XHB_OUTBOX_POLL_MS", poll_ms.to_string()),
            ("XHB_OUTBOX_RETRY_BASE_MS", "10".into()),
        ],
    }
}

/// Riders known by their WeChat openids, and their account ids.
async fn riders(app: &TestApp, openids: &[&str]) -> Vec<String> {
    let mut ids = Vec::new();
    for openid in openids {
        let account =
            xinhuoban::store::accounts::upsert_rider(&app.state.db, &app.state.city.id, openid, "骑手").await.unwrap();
        ids.push(account.id);
    }
    ids
}

/// Queues "your report was resolved" for `followers`, in one transaction, as a status change does.
async fn report_resolved(app: &TestApp, followers: &[String]) {
    let mut tx = app.state.db.pool.begin().await.unwrap();
    let at = chrono_tz::Asia::Shanghai.with_ymd_and_hms(2026, 11, 25, 14, 30, 0).unwrap();
    let progress = ReportProgress {
        report_id: "report-1",
        category: "道路损坏",
        status: "已解决",
        note: "井盖已更换\n请绕行",
        at,
    };
    queue_report_progress(
        &mut tx,
        app.state.config.notify_report_template_id.as_deref(),
        &app.state.city.id,
        followers,
        &progress,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
}

async fn outbox_statuses(app: &TestApp) -> Vec<(String, i32)> {
    sqlx::query_as::<_, (String, i32)>("SELECT status, attempts FROM outbox ORDER BY id")
        .fetch_all(&app.state.db.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn followers_are_told_their_report_was_resolved_and_the_token_is_reused() {
    let (fake, wechat) = spawn_wechat(&[]).await;
    let app = spawn_app_with(options(&wechat, 20)).await;
    let followers = riders(&app, &["openid-reporter", "openid-metoo"]).await;
    report_resolved(&app, &followers).await;

    eventually("both messages sent", || async { outbox_statuses(&app).await.iter().all(|(s, _)| s == "sent") }).await;
    {
        let f = fake.lock().unwrap();
        let mut recipients: Vec<&str> = f.sent.iter().map(|(_, body)| body["touser"].as_str().unwrap()).collect();
        recipients.sort();
        assert_eq!(recipients, ["openid-metoo", "openid-reporter"]);
        let (token, body) = &f.sent[0];
        assert_eq!(token, "token-1");
        assert_eq!(body["template_id"], "tmpl-progress");
        assert_eq!(body["page"], "pages/report/detail?id=report-1");
        assert_eq!(body["data"]["phrase2"]["value"], "已解决");
        assert_eq!(body["data"]["time3"]["value"], "2026-11-25 14:30");
        assert_eq!(body["data"]["thing4"]["value"], "井盖已更换 请绕行", "a clerk's line break never reaches WeChat");
        assert_eq!(f.token_requests.len(), 1, "the access token is cached");
        assert_eq!(f.token_requests[0]["appid"], "wx-test-app");
    }
    app.stop().await;
}

#[tokio::test]
async fn refusals_that_no_retry_can_change_are_given_up_at_once() {
    // 41030 a page not in the released app, 45168 a keyword WeChat blocks, 48001 no permission.
    for errcode in [41030, 45168, 48001] {
        let (fake, wechat) = spawn_wechat(&[errcode]).await;
        let app = spawn_app_with(options(&wechat, 20)).await;
        let followers = riders(&app, &["openid-refused"]).await;
        report_resolved(&app, &followers).await;
        eventually("message given up", || async { outbox_statuses(&app).await == [("dead".to_string(), 1)] }).await;
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        assert_eq!(fake.lock().unwrap().sent.len(), 1, "{errcode} is final");
        app.stop().await;
    }
}

#[tokio::test]
async fn a_rider_who_never_subscribed_is_not_asked_again() {
    let (fake, wechat) = spawn_wechat(&[43101]).await;
    let app = spawn_app_with(options(&wechat, 20)).await;
    let followers = riders(&app, &["openid-unsubscribed"]).await;
    report_resolved(&app, &followers).await;
    eventually("message given up", || async { outbox_statuses(&app).await == [("dead".to_string(), 1)] }).await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(fake.lock().unwrap().sent.len(), 1, "a refusal is final");
    app.stop().await;
}

#[tokio::test]
async fn a_busy_wechat_is_retried_with_backoff_until_it_answers() {
    let (fake, wechat) = spawn_wechat(&[-1, 45009]).await;
    let app = spawn_app_with(options(&wechat, 20)).await;
    let followers = riders(&app, &["openid-patient"]).await;
    report_resolved(&app, &followers).await;
    eventually("sent on the third attempt", || async { outbox_statuses(&app).await == [("sent".to_string(), 3)] })
        .await;
    assert_eq!(fake.lock().unwrap().sent.len(), 3);
    app.stop().await;
}

#[tokio::test]
async fn a_stale_access_token_is_refreshed_and_the_message_sent() {
    let (fake, wechat) = spawn_wechat(&[42001]).await;
    let app = spawn_app_with(options(&wechat, 20)).await;
    let followers = riders(&app, &["openid-stale"]).await;
    report_resolved(&app, &followers).await;
    eventually("sent", || async { outbox_statuses(&app).await == [("sent".to_string(), 1)] }).await;
    {
        let f = fake.lock().unwrap();
        let forced: Vec<bool> = f.token_requests.iter().map(|r| r["force_refresh"] == true).collect();
        assert_eq!(forced, [false, false, true], "normal mode first; forced only when it hands back the refused token");
        assert_eq!(f.sent[1].0, "token-2");
    }
    app.stop().await;
}

#[tokio::test]
async fn a_token_another_node_already_refreshed_is_fetched_without_forcing() {
    let (fake, wechat) = spawn_wechat(&[42001]).await;
    fake.lock().unwrap().others_refresh = true;
    let app = spawn_app_with(options(&wechat, 20)).await;
    let followers = riders(&app, &["openid-two-nodes"]).await;
    report_resolved(&app, &followers).await;
    eventually("sent", || async { outbox_statuses(&app).await == [("sent".to_string(), 1)] }).await;
    {
        let f = fake.lock().unwrap();
        assert!(f.token_requests.iter().all(|r| r["force_refresh"] == false), "forcing would cancel the other node's");
        assert_eq!(f.sent[1].0, "token-2");
    }
    app.stop().await;
}

#[tokio::test]
async fn a_queued_message_survives_a_restart() {
    let (fake, wechat) = spawn_wechat(&[]).await;
    // The first server polls too rarely to deliver before it stops.
    let first = spawn_app_with(options(&wechat, 3_600_000)).await;
    let followers = riders(&first, &["openid-restart"]).await;
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    report_resolved(&first, &followers).await;
    let database_url = first.state.config.database_url.clone();
    let files = first.stop_keeping_files().await;
    assert!(fake.lock().unwrap().sent.is_empty());

    let mut restarted = options(&wechat, 20);
    restarted.extra.push(("XHB_DATABASE_URL", database_url));
    let second = spawn_app_with(restarted).await;
    eventually("sent after the restart", || async { outbox_statuses(&second).await == [("sent".to_string(), 1)] })
        .await;
    assert_eq!(fake.lock().unwrap().sent[0].1["touser"], "openid-restart");
    second.stop().await;
    drop(files);
}

#[tokio::test]
async fn nothing_is_queued_without_a_template() {
    let app = spawn_app().await;
    let followers = riders(&app, &["openid-quiet"]).await;
    report_resolved(&app, &followers).await;
    assert!(outbox_statuses(&app).await.is_empty());
    app.stop().await;
}

#[tokio::test]
async fn a_clerk_accepting_a_report_tells_the_reporter_and_whoever_said_me_too() {
    let (fake, wechat) = spawn_wechat(&[]).await;
    let c = crate::reports::city_with(options(&wechat, 20)).await;
    let reporter = c.app.rider_token("openid-first").await;
    let neighbour = c.app.rider_token("openid-second").await;
    let id = crate::reports::file_ok(&c.app, &reporter, crate::reports::report_at("road_damage", 30.27, 120.16)).await;
    // The second rider reports the same hole a few metres away: a "me too" that follows it.
    let (status, body) =
        crate::reports::file(&c.app, &neighbour, crate::reports::report_at("road_damage", 30.27002, 120.16001)).await;
    assert!(status.is_success(), "{body}");

    let (status, body) =
        crate::reports::act(&c.app, &c.clerks[1], &id, json!({ "action": "accept", "public_note": "已派人核实" }))
            .await;
    assert!(status.is_success(), "{body}");
    eventually("both followers told", || async { fake.lock().unwrap().sent.len() == 2 }).await;
    let f = fake.lock().unwrap();
    let mut recipients: Vec<&str> = f.sent.iter().map(|(_, b)| b["touser"].as_str().unwrap()).collect();
    recipients.sort();
    assert_eq!(recipients, ["openid-first", "openid-second"]);
    let body = &f.sent[0].1;
    assert_eq!(body["page"], format!("pages/report/detail?id={id}"));
    assert_eq!(body["data"]["phrase2"]["value"], "已受理");
    assert_eq!(body["data"]["thing1"]["value"], "道路破损");
    assert_eq!(body["data"]["thing4"]["value"], "已派人核实");
}

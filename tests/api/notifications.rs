//! A rider who follows a report is told when it moves on, through WeChat subscribe messages
//! delivered from the outbox: one per consent the rider gave, retried when WeChat is busy, given
//! up when WeChat refuses for good, kept across a restart, and written in the keywords the
//! city's template really has.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use chrono::TimeZone;
use poem::web::{Data, Json, Query};
use poem::{EndpointExt, Route, handler, post};
use serde_json::{Value, json};
use xinhuoban::domain::notify::ReportProgress;
use xinhuoban::domain::time::Millis;
use xinhuoban::service::notify::queue_report_progress;

use crate::helpers::*;
use reqwest::StatusCode;

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
    /// The tokens `newtmpl/gettemplate` was read with.
    template_reads: Vec<String>,
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

#[handler]
fn gettemplate(Query(q): Query<TokenQuery>, fake: Data<&Shared>) -> Json<Value> {
    fake.lock().unwrap().template_reads.push(q.access_token);
    Json(fake_templates())
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
        .at("/wxaapi/newtmpl/gettemplate", poem::get(gettemplate))
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

/// Riders known by their WeChat openids, each of whom allowed one progress message; their
/// account ids.
async fn riders(app: &TestApp, openids: &[&str]) -> Vec<String> {
    let mut ids = Vec::new();
    for openid in openids {
        let account =
            xinhuoban::store::accounts::upsert_rider(&app.state.db, &app.state.city.id, openid, "骑手").await.unwrap();
        let mut conn = app.state.db.pool.acquire().await.unwrap();
        xinhuoban::store::subscriptions::grant(&mut conn, &account.id, "tmpl-progress", 1, 100, Millis::now())
            .await
            .unwrap();
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
        app.state.config.notify_report_template.as_ref(),
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
    c.app.consent(&reporter, "tmpl-progress", 1).await;
    c.app.consent(&neighbour, "tmpl-progress", 1).await;
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

#[tokio::test]
async fn each_consent_a_rider_gives_is_used_by_one_message_and_a_rider_without_one_is_skipped() {
    let (fake, wechat) = spawn_wechat(&[]).await;
    let c = crate::reports::city_with(options(&wechat, 20)).await;
    let app = &c.app;
    let wang = app.rider_token("openid-wang").await;
    let li = app.rider_token("openid-li").await;
    // The mini-program learns which templates to ask for.
    let (status, body) = app.get("/api/v1/me/subscriptions", Some(&wang)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body,
        json!({ "subscriptions": [{ "message": "report_progress", "template_id": "tmpl-progress", "unused": 0 }], "ignored": [] })
    );
    // 王 accepts twice; the second answer is retried on a weak network with the same key.
    app.consent(&wang, "tmpl-progress", 1).await;
    let answer = json!({ "results": { "tmpl-progress": "accept", "tmpl-from-an-old-build": "accept" } });
    for _ in 0..3 {
        let request =
            app.client.post(app.url("/api/v1/me/subscriptions")).bearer_auth(&wang).header("Idempotency-Key", "k-1");
        let (status, body) = app.send(request.json(&answer)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["subscriptions"][0]["unused"], 2, "a retry counts once");
        assert_eq!(body["ignored"], json!(["tmpl-from-an-old-build"]));
    }
    let other = json!({ "results": { "tmpl-progress": "reject" } });
    let request =
        app.client.post(app.url("/api/v1/me/subscriptions")).bearer_auth(&wang).header("Idempotency-Key", "k-1");
    let (status, body) = app.send(request.json(&other)).await;
    assert_eq!((status, error_code(&body)), (StatusCode::CONFLICT, "idempotency_key_reused"));
    // 李 says "me too" but never allowed a message.
    let id = crate::reports::file_ok(app, &wang, crate::reports::report_at("road_damage", 30.27, 120.16)).await;
    let (status, _) =
        crate::reports::file(app, &li, crate::reports::report_at("road_damage", 30.27002, 120.16001)).await;
    assert!(status.is_success());

    for action in [json!({ "action": "accept" }), json!({ "action": "start" }), json!({ "action": "resolve" })] {
        let (status, body) = crate::reports::act(app, &c.clerks[1], &id, action).await;
        assert!(status.is_success(), "{body}");
    }
    eventually("two messages sent", || async { fake.lock().unwrap().sent.len() == 2 }).await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    {
        let f = fake.lock().unwrap();
        let mut phrases: Vec<&str> =
            f.sent.iter().map(|(_, b)| b["data"]["phrase2"]["value"].as_str().unwrap()).collect();
        phrases.sort();
        let mut expected = ["已受理", "处理中"];
        expected.sort();
        assert_eq!(phrases, expected, "two consents, two messages; the third change finds none");
        assert!(f.sent.iter().all(|(_, b)| b["touser"] == "openid-wang"), "李 is skipped");
    }
    let queued: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbox").fetch_one(&app.state.db.pool).await.unwrap();
    assert_eq!(queued, 2, "nothing is queued, so nothing retried, for a rider without a consent");
    let (_, body) = app.get("/api/v1/me/subscriptions", Some(&wang)).await;
    assert_eq!(body["subscriptions"][0]["unused"], 0);

    // Switching the messages off drops what is left.
    app.consent(&li, "tmpl-progress", 3).await;
    let (status, body) =
        app.post("/api/v1/me/subscriptions", Some(&li), json!({ "results": { "tmpl-progress": "ban" } })).await;
    assert_eq!((status, &body["subscriptions"][0]["unused"]), (StatusCode::OK, &json!(0)), "{body}");
    let (status, body) = app.post("/api/v1/me/subscriptions", Some(&li), json!({ "results": {} })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    c.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn changes_at_the_same_moment_never_share_one_consent() {
    let (fake, wechat) = spawn_wechat(&[]).await;
    let app = spawn_app_with(options(&wechat, 20)).await;
    let followers = riders(&app, &["openid-one-consent"]).await;
    let changes = (0..20).map(|_| report_resolved(&app, &followers));
    futures_util::future::join_all(changes).await;
    eventually("the message sent", || async { outbox_statuses(&app).await == [("sent".to_string(), 1)] }).await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(fake.lock().unwrap().sent.len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn a_template_whose_keywords_differ_from_the_mapping_stops_the_start() {
    let (fake, wechat) = spawn_wechat(&[]).await;
    // The city picked a template whose keywords are thing6, phrase2, date3 and thing4.
    let mut picked = options(&wechat, 20);
    picked.extra.push(("XHB_NOTIFY_REPORT_TEMPLATE_ID", "tmpl-progress-v2".into()));
    let refused = prepare_with(picked).await.err().expect("a mismatch stops the start").to_string();
    assert!(refused.contains("unfilled: [thing6, date3]") && refused.contains("tmpl-progress-v2"), "{refused}");
    assert!(!fake.lock().unwrap().template_reads.is_empty());

    let mut unknown = options(&wechat, 20);
    unknown.extra.push(("XHB_NOTIFY_REPORT_TEMPLATE_ID", "tmpl-deleted".into()));
    let refused = prepare_with(unknown).await.err().expect("an unknown template stops the start").to_string();
    assert!(refused.contains("tmpl-deleted"), "{refused}");

    // Mapped to its own keywords, it starts, and messages carry them.
    let mut mapped = options(&wechat, 20);
    mapped.extra.push(("XHB_NOTIFY_REPORT_TEMPLATE_ID", "tmpl-progress-v2".into()));
    mapped.extra.push(("XHB_NOTIFY_REPORT_KEYWORDS", "category=thing6,status=phrase2,time=date3,note=thing4".into()));
    let app = spawn_app_with(mapped).await;
    let followers = riders(&app, &[]).await;
    assert!(followers.is_empty());
    let account =
        xinhuoban::store::accounts::upsert_rider(&app.state.db, &app.state.city.id, "openid-v2", "骑手").await.unwrap();
    let mut conn = app.state.db.pool.acquire().await.unwrap();
    xinhuoban::store::subscriptions::grant(&mut conn, &account.id, "tmpl-progress-v2", 1, 100, Millis::now())
        .await
        .unwrap();
    drop(conn);
    report_resolved(&app, &[account.id]).await;
    eventually("sent", || async { fake.lock().unwrap().sent.len() == 1 }).await;
    let data = fake.lock().unwrap().sent[0].1["data"].clone();
    let mut keywords: Vec<&str> = data.as_object().unwrap().keys().map(String::as_str).collect();
    keywords.sort();
    assert_eq!(keywords, ["date3", "phrase2", "thing4", "thing6"]);
    assert_eq!(data["thing6"]["value"], "道路损坏");
    app.stop().await;
}

#[tokio::test]
async fn a_mapping_that_cannot_fit_its_message_is_refused_when_read() {
    let refused = |mapping: &str| {
        xinhuoban::config::Config::from_vars([
            ("XHB_TOKEN_SECRET", "x".repeat(40)),
            ("XHB_NOTIFY_REPORT_TEMPLATE_ID", "t".to_string()),
            ("XHB_NOTIFY_REPORT_KEYWORDS", mapping.to_string()),
        ])
        .expect_err("refused")
        .to_string()
    };
    assert!(refused("category=thing1,status=phrase2,time=time3").contains("field `note` has no keyword"));
    assert!(refused("category=number1,status=phrase2,time=time3,note=thing4").contains("use a keyword of type thing"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_node_draws_forced_token_refreshes_from_the_one_daily_allowance() {
    let app = spawn_app().await;
    let db = &app.state.db;
    let take = |day: &'static str, at: i64| {
        xinhuoban::store::wechat::take_forced_refresh(db, "wx-app", day, 20, 31_000, Millis(at))
    };
    // Ten nodes whose tokens were all refused at the same moment: one forces.
    let at_once = futures_util::future::join_all((0..10).map(|_| take("2026-11-26", 1_000_000))).await;
    assert_eq!(at_once.into_iter().filter(|t| *t.as_ref().unwrap()).count(), 1);
    assert!(!take("2026-11-26", 1_030_000).await.unwrap(), "30 s later is too soon");
    let mut at = 1_000_000;
    for _ in 1..20 {
        at += 31_000;
        assert!(take("2026-11-26", at).await.unwrap());
    }
    assert!(!take("2026-11-26", at + 31_000).await.unwrap(), "twenty a day");
    assert!(take("2026-11-27", at + 3_600_000).await.unwrap(), "a new day, a new allowance");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn senders_at_the_same_moment_share_one_access_token_fetch() {
    let (fake, wechat) = spawn_wechat(&[]).await;
    let app = spawn_app_with(Options { extra: vec![("XHB_WECHAT_API_BASE", wechat)] }).await;
    assert!(fake.lock().unwrap().token_requests.is_empty(), "no template to check, no token yet");
    let reads = (0..20).map(|_| app.state.wechat.template_keywords());
    let answers = futures_util::future::join_all(reads).await;
    assert!(answers.iter().all(Result::is_ok));
    {
        let f = fake.lock().unwrap();
        assert_eq!(f.token_requests.len(), 1, "one fetch for twenty senders");
        assert_eq!(f.template_reads.len(), 20);
    }
    app.stop().await;
}

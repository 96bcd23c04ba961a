//! Office webhooks, as a street office's systems live them: a clerk registers an endpoint, and
//! the unit's 12345 system hears of every report routed to it, transferred to it, overdue,
//! reopened or rated, signed so it can check the sender and drop repeats. Real HTTP receivers on
//! loopback play the office: one that fails at first, one that hangs, one that keeps failing, one
//! that checks every signature as the README says.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hmac::{Hmac, Mac};
use poem::http::StatusCode as PoemStatus;
use poem::web::Data;
use poem::{EndpointExt, Request, Response, Route, handler, post};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::Sha256;
use xinhuoban::domain::identity::Role;
use xinhuoban::domain::time::Millis;
use xinhuoban::domain::webhooks::{EventSet, EventType, overdue_event_id};
use xinhuoban::service::webhooks::raise_overdue;
use xinhuoban::store::webhooks::EndpointRow;

use crate::helpers::*;
use crate::races::{all_at_once, tally};
use crate::reports::{City, act, city_with, file_ok, report_at};

// --- A receiver on loopback ------------------------------------------------------------------------

/// How a receiver answers.
#[derive(Debug, Clone)]
enum Behaviour {
    /// 200 at once.
    Ok,
    /// 503 the first `n` times, then 200.
    FailFirst(usize),
    /// 200 after this long.
    Slow(Duration),
    /// 500 with a long body, always.
    Errors,
    /// 302 to this URL.
    Redirect(String),
}

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Hit {
    event_id: String,
    event_type: String,
    signature: String,
    body: Vec<u8>,
    /// The README's recipe applied to it, with the secret the receiver was given.
    verified: Option<bool>,
}

#[derive(Default)]
struct ReceiverState {
    behaviour: Option<Behaviour>,
    secret: Option<String>,
    hits: Vec<Hit>,
    /// Answers it finished giving.
    answered: usize,
}

#[derive(Clone)]
struct Receiver {
    url: String,
    state: Arc<Mutex<ReceiverState>>,
}

/// The README's recipe, in Rust: the time within 300 s, an HMAC-SHA256 of `"<t>.<body>"` keyed
/// by the secret's UTF-8 bytes among the `v1` values, compared in constant time.
fn recipe(secret: &str, header: &str, body: &[u8], now: i64) -> bool {
    let mut t = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => t = v.parse::<i64>().ok(),
            Some(("v1", v)) => signatures.push(v.to_string()),
            _ => {}
        }
    }
    let Some(t) = t else { return false };
    if (now - t).abs() > 300 {
        return false;
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.").as_bytes());
    mac.update(body);
    signatures.iter().filter_map(|s| hex::decode(s).ok()).any(|s| mac.clone().verify_slice(&s).is_ok())
}

#[handler]
async fn hook(req: &Request, body: bytes::Bytes, state: Data<&Arc<Mutex<ReceiverState>>>) -> Response {
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    let behaviour = {
        let mut s = state.lock().unwrap();
        let signature = header("x-xhb-signature");
        let verified =
            s.secret.as_deref().map(|secret| recipe(secret, &signature, &body, chrono::Utc::now().timestamp()));
        s.hits.push(Hit {
            event_id: header("x-xhb-event-id"),
            event_type: header("x-xhb-event"),
            signature,
            body: body.to_vec(),
            verified,
        });
        match s.behaviour.clone().unwrap_or(Behaviour::Ok) {
            Behaviour::FailFirst(n) if s.hits.len() <= n => Behaviour::Errors,
            Behaviour::FailFirst(_) => Behaviour::Ok,
            other => other,
        }
    };
    let resp = match behaviour {
        Behaviour::Ok | Behaviour::FailFirst(_) => Response::builder().status(PoemStatus::OK).body("ok"),
        Behaviour::Slow(d) => {
            tokio::time::sleep(d).await;
            Response::builder().status(PoemStatus::OK).body("ok, slowly")
        }
        Behaviour::Errors => Response::builder()
            .status(PoemStatus::SERVICE_UNAVAILABLE)
            .body(format!("upstream busy\n{}", "x".repeat(64 * 1024))),
        Behaviour::Redirect(to) => Response::builder().status(PoemStatus::FOUND).header("location", to).body(""),
    };
    state.lock().unwrap().answered += 1;
    resp
}

async fn receiver(behaviour: Behaviour) -> Receiver {
    let state = Arc::new(Mutex::new(ReceiverState { behaviour: Some(behaviour), ..Default::default() }));
    let addr = spawn_fake_server(Route::new().at("/hook", post(hook)).data(state.clone())).await;
    Receiver { url: format!("http://{addr}/hook"), state }
}

impl Receiver {
    fn hits(&self) -> Vec<Hit> {
        self.state.lock().unwrap().hits.clone()
    }

    fn count(&self) -> usize {
        self.state.lock().unwrap().hits.len()
    }

    fn answered(&self) -> usize {
        self.state.lock().unwrap().answered
    }

    fn set(&self, behaviour: Behaviour) {
        self.state.lock().unwrap().behaviour = Some(behaviour);
    }

    fn knows(&self, secret: &str) {
        self.state.lock().unwrap().secret = Some(secret.to_string());
    }

    /// How many times each event id came.
    fn per_event(&self) -> BTreeMap<String, usize> {
        let mut seen = BTreeMap::new();
        for hit in self.hits() {
            *seen.entry(hit.event_id).or_insert(0) += 1;
        }
        seen
    }

    fn of_type(&self, event_type: &str) -> Vec<Hit> {
        self.hits().into_iter().filter(|h| h.event_type == event_type).collect()
    }
}

fn body_of(hit: &Hit) -> Value {
    serde_json::from_slice(&hit.body).expect("a JSON body")
}

// --- The city, its endpoints -----------------------------------------------------------------------

/// Fast timing for tests: polls every 20 ms, retries from 20 ms, a 600 ms timeout per attempt,
/// four attempts, overdue looked for every 50 ms; receivers on loopback allowed.
fn fast() -> Vec<(&'static str, String)> {
    vec![
        ("XHB_WEBHOOK_ALLOW_PRIVATE_TARGETS", "true".into()),
        ("XHB_OUTBOX_POLL_MS", "20".into()),
        ("XHB_WEBHOOK_RETRY_BASE_MS", "20".into()),
        ("XHB_WEBHOOK_TIMEOUT_MS", "600".into()),
        ("XHB_WEBHOOK_MAX_ATTEMPTS", "4".into()),
        ("XHB_WEBHOOK_OVERDUE_POLL_MS", "50".into()),
    ]
}

fn with(extra: &[(&'static str, &str)]) -> Options {
    let mut vars = fast();
    for (k, v) in extra {
        vars.retain(|(key, _)| key != k);
        vars.push((k, v.to_string()));
    }
    Options { extra: vars }
}

/// A point in each street office's band (城关, 东湖, 西山).
const SPOTS: [(f64, f64); 3] = [(30.27, 120.12), (30.27, 120.16), (30.27, 120.20)];

/// Registers an endpoint as `token` (a clerk for their unit when `office_id` is none), and tells
/// the receiver its secret; returns (id, secret).
async fn register(
    app: &TestApp,
    token: &str,
    office_id: Option<&str>,
    r: &Receiver,
    events: &[&str],
) -> (String, String) {
    let mut body = json!({ "url": r.url, "events": events, "description": "12345 工单系统" });
    if let Some(office_id) = office_id {
        body["office_id"] = json!(office_id);
    }
    let (status, created) = app.post("/api/v1/webhooks", Some(token), body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let secret = created["secret"].as_str().expect("the secret, shown once").to_string();
    r.knows(&secret);
    (created["id"].as_str().unwrap().to_string(), secret)
}

async fn deliveries(app: &TestApp, token: &str, endpoint: &str, query: &str) -> Vec<Value> {
    let (status, page) = app.get(&format!("/api/v1/webhooks/{endpoint}/deliveries{query}"), Some(token)).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page["items"].as_array().unwrap().clone()
}

async fn statuses(app: &TestApp, token: &str, endpoint: &str) -> Vec<String> {
    deliveries(app, token, endpoint, "").await.iter().map(|d| d["status"].as_str().unwrap().to_string()).collect()
}

/// Outbox rows queued for an endpoint.
async fn queued_for(app: &TestApp, endpoint: &str) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE endpoint_id = $1")
        .bind(endpoint)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap()
}

/// Waits a few poll rounds, for anything that should not happen to have had its chance.
async fn a_moment() {
    tokio::time::sleep(Duration::from_millis(400)).await;
}

/// A node serving the database at `database_url` (a second node, or the first one restarted).
async fn node_on(database_url: &str, extra: &[(&'static str, &str)]) -> TestApp {
    let mut options = with(extra);
    options.extra.push(("XHB_DATABASE_URL", database_url.to_string()));
    spawn_app_with(options).await
}

// --- Stories --------------------------------------------------------------------------------------

#[tokio::test]
async fn a_clerk_registers_an_endpoint_and_the_unit_hears_of_a_new_report_signed_as_documented() {
    let c = city_with(with(&[])).await;
    let app = &c.app;
    let office = receiver(Behaviour::Ok).await;
    let (endpoint, secret) = register(app, &c.clerks[0], None, &office, &["report.routed"]).await;
    assert!(secret.starts_with("whsec_") && secret.len() > 40, "{secret}");

    // The secret is shown once; the endpoint names its unit and events.
    let (status, seen) = app.get(&format!("/api/v1/webhooks/{endpoint}"), Some(&c.clerks[0])).await;
    assert_eq!(status, StatusCode::OK, "{seen}");
    assert!(seen.get("secret").is_none(), "{seen}");
    assert_eq!((seen["office_id"].as_str(), seen["active"].as_bool()), (Some(c.offices[0].as_str()), Some(true)));
    assert_eq!(seen["events"], json!(["report.routed"]));
    let (_, listed) = app.get("/api/v1/webhooks", Some(&c.clerks[0])).await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    assert!(listed["items"][0].get("secret").is_none());
    assert_eq!(app.audit_entries("webhook.create").await, 1);

    let rider = app.rider_token("rider-hook").await;
    let report = file_ok(app, &rider, report_at("road_damage", SPOTS[0].0, SPOTS[0].1)).await;
    // Another unit's report is not this unit's business.
    file_ok(app, &rider, report_at("road_damage", SPOTS[2].0, SPOTS[2].1)).await;
    eventually("the office hears of the report", || async { office.answered() == 1 }).await;
    let hit = &office.hits()[0];
    assert_eq!(hit.verified, Some(true), "the README's recipe verifies it");
    assert_eq!(hit.event_type, "report.routed");
    let body = body_of(hit);
    assert_eq!(body["id"], hit.event_id.as_str());
    assert_eq!((body["type"].as_str(), body["unit_id"].as_str()), (Some("report.routed"), Some(c.offices[0].as_str())));
    assert_eq!(body["data"]["report"]["id"], report.as_str());
    assert_eq!(body["data"]["report"]["category"], "road_damage");
    assert!(body["data"]["report"].get("reporter_id").is_none(), "the reporter is never named");
    assert!(hit.signature.starts_with("t="), "{}", hit.signature);

    eventually("recorded as sent", || async { statuses(app, &c.clerks[0], &endpoint).await == ["sent"] }).await;
    let d = &deliveries(app, &c.clerks[0], &endpoint, "").await[0];
    assert_eq!((d["attempts"].as_i64(), d["last_http_status"].as_i64()), (Some(1), Some(200)));
    assert_eq!((d["event"].as_str(), d["event_id"].as_str()), (Some("report.routed"), Some(hit.event_id.as_str())));
    assert!(d.get("next_attempt_at").is_none() && d["sent_at"].is_string(), "{d}");
    a_moment().await;
    assert_eq!(office.count(), 1, "sent once");
    c.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn each_event_reaches_each_endpoint_once_even_when_twenty_requests_race_to_raise_it() {
    let c = city_with(with(&[])).await;
    let app = &c.app;
    let (ticket, bot, east) =
        (receiver(Behaviour::Ok).await, receiver(Behaviour::Ok).await, receiver(Behaviour::Ok).await);
    let all = ["report.routed", "report.rated", "report.reopened", "report.transferred_in"];
    let (ticket_id, _) = register(app, &c.clerks[0], None, &ticket, &all).await;
    let (bot_id, _) = register(app, &c.admin, Some(&c.offices[0]), &bot, &["report.routed"]).await;
    register(app, &c.clerks[1], None, &east, &["report.transferred_in", "report.routed"]).await;

    // One tap sent twenty times at once: one report, one `report.routed` for each endpoint.
    let rider = app.rider_token("rider-race").await;
    let taps = (0..20)
        .map(|_| {
            app.client
                .post(app.url("/api/v1/reports"))
                .bearer_auth(&rider)
                .header("idempotency-key", "one-tap")
                .json(&report_at("road_damage", SPOTS[0].0, SPOTS[0].1))
        })
        .collect();
    let answers = all_at_once(taps).await;
    assert_eq!(tally(&answers, StatusCode::CREATED), 20);
    let report = answers[0].body["report"]["id"].as_str().unwrap().to_string();
    eventually("both endpoints of the unit hear of it", || async { ticket.answered() == 1 && bot.answered() == 1 })
        .await;
    assert_eq!(ticket.hits()[0].event_id, bot.hits()[0].event_id, "one event, one id, whoever receives it");

    // The clerk resolves it; twenty ratings at once: one counts, one `report.rated`.
    assert_eq!(act(app, &c.clerks[0], &report, json!({ "action": "accept" })).await.0, StatusCode::OK);
    assert_eq!(act(app, &c.clerks[0], &report, json!({ "action": "resolve" })).await.0, StatusCode::OK);
    let ratings = (0..20)
        .map(|_| {
            app.client
                .post(app.url(&format!("/api/v1/reports/{report}/rating")))
                .bearer_auth(&rider)
                .json(&json!({ "score": 4, "comment": "修得很快" }))
        })
        .collect();
    let answers = all_at_once(ratings).await;
    assert_eq!(tally(&answers, StatusCode::OK), 1);
    eventually("the rating is heard", || async { ticket.of_type("report.rated").len() == 1 }).await;
    let rated = body_of(&ticket.of_type("report.rated")[0]);
    assert_eq!((rated["data"]["rating"].as_i64(), rated["data"]["comment"].as_str()), (Some(4), Some("修得很快")));

    // Reopened, then twenty transfers to 东湖 at once: one moves it, one `report.transferred_in`.
    let (status, body) =
        app.post(&format!("/api/v1/reports/{report}/reopen"), Some(&rider), json!({ "reason": "又坏了" })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let transfers = (0..20)
        .map(|_| {
            app.client
                .post(app.url(&format!("/api/v1/triage/reports/{report}/actions")))
                .bearer_auth(&c.clerks[0])
                .json(&json!({ "action": "transfer", "reason": "属东湖街道", "to_office_id": c.offices[1] }))
        })
        .collect();
    let answers = all_at_once(transfers).await;
    assert_eq!(tally(&answers, StatusCode::OK), 1);
    eventually("东湖 hears it came", || async { east.of_type("report.transferred_in").len() == 1 }).await;
    let moved = body_of(&east.of_type("report.transferred_in")[0]);
    assert_eq!(
        (moved["data"]["from_unit_id"].as_str(), moved["data"]["reason"].as_str()),
        (Some(c.offices[0].as_str()), Some("属东湖街道"))
    );
    assert_eq!(moved["unit_id"], c.offices[1].as_str());
    eventually("城关 hears of the reopening", || async { ticket.of_type("report.reopened").len() == 1 }).await;
    assert_eq!(body_of(&ticket.of_type("report.reopened")[0])["data"]["reason"], "又坏了");

    a_moment().await;
    for r in [&ticket, &bot, &east] {
        assert!(r.per_event().values().all(|n| *n == 1), "{:?}", r.per_event());
        assert!(r.hits().iter().all(|h| h.verified == Some(true)));
    }
    assert_eq!((ticket.count(), bot.count(), east.count()), (3, 1, 1));
    assert_eq!((queued_for(app, &ticket_id).await, queued_for(app, &bot_id).await), (3, 1));
    c.app.stop().await;
}

#[tokio::test]
async fn a_receiver_that_fails_at_first_gets_the_event_once_it_recovers() {
    let c = city_with(with(&[])).await;
    let app = &c.app;
    let office = receiver(Behaviour::FailFirst(2)).await;
    let (endpoint, _) = register(app, &c.clerks[0], None, &office, &["report.routed"]).await;
    let rider = app.rider_token("rider-retry").await;
    file_ok(app, &rider, report_at("road_damage", SPOTS[0].0, SPOTS[0].1)).await;
    eventually("sent on the third attempt", || async { statuses(app, &c.clerks[0], &endpoint).await == ["sent"] })
        .await;
    let d = &deliveries(app, &c.clerks[0], &endpoint, "").await[0];
    assert_eq!((d["attempts"].as_i64(), d["last_http_status"].as_i64()), (Some(3), Some(200)));
    assert!(d.get("last_error").is_none(), "{d}");
    let hits = office.hits();
    assert_eq!(hits.len(), 3);
    assert!(hits.iter().all(|h| h.event_id == hits[0].event_id && h.body == hits[0].body), "one event, byte for byte");
    assert!(hits.iter().all(|h| h.verified == Some(true)), "each attempt signed afresh");
    a_moment().await;
    assert_eq!(office.count(), 3);
    c.app.stop().await;
}

#[tokio::test]
async fn a_receiver_that_hangs_holds_one_delivery_not_the_others() {
    let c = city_with(with(&[("XHB_WEBHOOK_TIMEOUT_MS", "300"), ("XHB_WEBHOOK_MAX_ATTEMPTS", "50")])).await;
    let app = &c.app;
    let hanging = receiver(Behaviour::Slow(Duration::from_secs(30))).await;
    let quick = receiver(Behaviour::Ok).await;
    let (hanging_id, _) = register(app, &c.clerks[0], None, &hanging, &["report.routed"]).await;
    let (quick_id, _) = register(app, &c.clerks[0], None, &quick, &["report.routed"]).await;
    let rider = app.rider_token("rider-hang").await;
    for i in 0..3 {
        file_ok(app, &rider, report_at("road_damage", SPOTS[0].0, SPOTS[0].1 + 0.001 * f64::from(i))).await;
    }
    // Three reports 100 m apart: three reports, not "me too"s.
    eventually("the quick office hears of all three", || async { quick.answered() == 3 }).await;
    eventually("the hanging one is cut off and retried", || async {
        deliveries(app, &c.clerks[0], &hanging_id, "").await.iter().any(|d| d["attempts"].as_i64() >= Some(2))
    })
    .await;
    let stuck = deliveries(app, &c.clerks[0], &hanging_id, "").await;
    assert_eq!(stuck.len(), 3);
    for d in &stuck {
        assert_eq!(d["status"], "pending", "{d}");
        if d["attempts"].as_i64() >= Some(1) {
            assert!(d["last_error"].as_str().unwrap().contains("no answer in time"), "{d}");
            assert!(d.get("last_http_status").is_none(), "{d}");
            assert!(d["next_attempt_at"].is_string(), "{d}");
        }
    }
    assert_eq!(statuses(app, &c.clerks[0], &quick_id).await, ["sent", "sent", "sent"]);
    c.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_receiver_that_keeps_failing_leaves_a_dead_letter_that_is_listed_and_retried() {
    let c = city_with(with(&[("XHB_WEBHOOK_MAX_ATTEMPTS", "3")])).await;
    let app = &c.app;
    let office = receiver(Behaviour::Errors).await;
    let (endpoint, _) = register(app, &c.clerks[0], None, &office, &["report.routed"]).await;
    let rider = app.rider_token("rider-dead").await;
    file_ok(app, &rider, report_at("road_damage", SPOTS[0].0, SPOTS[0].1)).await;
    eventually("a dead letter after three attempts", || async {
        statuses(app, &c.clerks[0], &endpoint).await == ["dead"]
    })
    .await;
    let dead = deliveries(app, &c.clerks[0], &endpoint, "?status=dead").await;
    assert_eq!(dead.len(), 1);
    let letter = &dead[0];
    assert_eq!((letter["attempts"].as_i64(), letter["last_http_status"].as_i64()), (Some(3), Some(503)));
    let error = letter["last_error"].as_str().unwrap();
    assert!(error.starts_with("HTTP 503") && error.contains("upstream busy"), "{error}");
    assert!(error.chars().count() <= 300 && !error.contains('\n'), "at most a few KB read, kept short: {error}");
    assert!(deliveries(app, &c.clerks[0], &endpoint, "?status=sent").await.is_empty());
    assert_eq!(office.count(), 3);

    // The office is back; a clerk retries the dead letter, twenty times at once: one revives it.
    office.set(Behaviour::Ok);
    let id = letter["id"].as_str().unwrap();
    let retry = format!("/api/v1/webhooks/{endpoint}/deliveries/{id}/retry");
    let retries = (0..20).map(|_| app.client.post(app.url(&retry)).bearer_auth(&c.clerks[0])).collect();
    let answers = all_at_once(retries).await;
    assert_eq!(tally(&answers, StatusCode::ACCEPTED), 1);
    for refused in answers.iter().filter(|a| a.status != StatusCode::ACCEPTED) {
        assert_eq!((refused.status, error_code(&refused.body)), (StatusCode::CONFLICT, "not_dead_letter"));
    }
    eventually("sent after the retry", || async { statuses(app, &c.clerks[0], &endpoint).await == ["sent"] }).await;
    a_moment().await;
    assert_eq!(office.count(), 4, "one more attempt, once");
    assert_eq!(office.per_event().len(), 1);
    let (status, body) = app.post(&retry, Some(&c.clerks[0]), json!({})).await;
    assert_eq!((status, error_code(&body)), (StatusCode::CONFLICT, "not_dead_letter"));
    crate::contract::assert_declared("webhooks_retry_delivery", status, None, &body);
    assert_eq!(app.audit_entries("webhook.retry").await, 1);
    c.app.stop().await;
}

#[tokio::test]
async fn a_test_delivery_is_sent_on_request_and_redirects_are_not_followed() {
    let c = city_with(with(&[])).await;
    let app = &c.app;
    let office = receiver(Behaviour::Ok).await;
    let (endpoint, _) = register(app, &c.clerks[0], None, &office, &["report.routed"]).await;
    let (status, queued) = app.post(&format!("/api/v1/webhooks/{endpoint}/test"), Some(&c.clerks[0]), json!({})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{queued}");
    assert_eq!((queued["event"].as_str(), queued["status"].as_str()), (Some("webhook.test"), Some("pending")));
    eventually("the test arrives", || async { office.answered() == 1 }).await;
    let hit = &office.hits()[0];
    assert_eq!((hit.event_type.as_str(), hit.verified), ("webhook.test", Some(true)));
    assert_eq!(body_of(hit)["data"]["endpoint_id"], endpoint.as_str());

    // A receiver that answers with a redirect: not followed, a failure.
    let elsewhere = receiver(Behaviour::Ok).await;
    let mover = receiver(Behaviour::Redirect(elsewhere.url.clone())).await;
    let (moving, _) = register(app, &c.clerks[0], None, &mover, &["report.rated"]).await;
    app.post(&format!("/api/v1/webhooks/{moving}/test"), Some(&c.clerks[0]), json!({})).await;
    eventually("refused for the redirect", || async {
        deliveries(app, &c.clerks[0], &moving, "").await[0]["last_http_status"] == 302
    })
    .await;
    let d = &deliveries(app, &c.clerks[0], &moving, "").await[0];
    assert!(d["last_error"].as_str().unwrap().contains("redirects are not followed"), "{d}");
    assert_eq!(elsewhere.count(), 0);
    c.app.stop().await;
}

#[tokio::test]
async fn another_units_clerk_cannot_see_or_touch_an_endpoint_or_its_deliveries() {
    let c = city_with(with(&[])).await;
    let app = &c.app;
    let office = receiver(Behaviour::Ok).await;
    let (endpoint, _) = register(app, &c.clerks[0], None, &office, &["report.routed"]).await;
    let (_, test) = app.post(&format!("/api/v1/webhooks/{endpoint}/test"), Some(&c.clerks[0]), json!({})).await;
    let delivery = test["id"].as_str().unwrap().to_string();
    let intruder = &c.clerks[1];
    let base = format!("/api/v1/webhooks/{endpoint}");
    let not_found = |(status, body): (StatusCode, Value)| {
        assert_eq!((status, error_code(&body)), (StatusCode::NOT_FOUND, "not_found"), "{body}");
    };
    not_found(app.get(&base, Some(intruder)).await);
    not_found(app.patch(&base, Some(intruder), json!({ "active": false })).await);
    not_found(app.delete(&base, Some(intruder)).await);
    not_found(app.post(&format!("{base}/secret"), Some(intruder), json!({})).await);
    not_found(app.post(&format!("{base}/test"), Some(intruder), json!({})).await);
    not_found(app.get(&format!("{base}/deliveries"), Some(intruder)).await);
    not_found(app.post(&format!("{base}/deliveries/{delivery}/retry"), Some(intruder), json!({})).await);
    not_found(app.get(&format!("/api/v1/webhooks?office_id={}", c.offices[0]), Some(intruder)).await);
    let theirs = json!({ "office_id": c.offices[0], "url": "http://127.0.0.1:9/x", "events": ["report.routed"] });
    not_found(app.post("/api/v1/webhooks", Some(intruder), theirs).await);
    let (_, own) = app.get("/api/v1/webhooks", Some(intruder)).await;
    assert_eq!(own["items"], json!([]), "their own list does not show it");

    // Riders and station managers are not the unit's staff at all.
    let rider = app.rider_token("rider-nosy").await;
    app.create_staff("manager-nosy", Role::StationManager, None).await;
    let manager = app.staff_token("manager-nosy").await;
    for token in [&rider, &manager] {
        let (status, body) = app.get(&base, Some(token)).await;
        assert_eq!((status, error_code(&body)), (StatusCode::FORBIDDEN, "forbidden"), "{body}");
    }
    // The endpoint is untouched, and an admin reaches it.
    let (status, seen) = app.get(&base, Some(&c.admin)).await;
    assert_eq!((status, seen["active"].as_bool()), (StatusCode::OK, Some(true)));
    let (_, all) = app.get("/api/v1/webhooks", Some(&c.admin)).await;
    assert_eq!(all["items"].as_array().unwrap().len(), 1);
    c.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn endpoints_are_changed_rotated_deleted_and_audited_and_a_unit_has_at_most_ten() {
    let c = city_with(with(&[])).await;
    let app = &c.app;
    let office = receiver(Behaviour::Ok).await;
    // An admin must say which unit.
    let (status, body) =
        app.post("/api/v1/webhooks", Some(&c.admin), json!({ "url": office.url, "events": ["report.routed"] })).await;
    assert_eq!((status, body["details"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("office_id")), "{body}");
    let (endpoint, first_secret) = register(app, &c.admin, Some(&c.offices[2]), &office, &["report.rated"]).await;
    let base = format!("/api/v1/webhooks/{endpoint}");
    let rider = app.rider_token("rider-admin").await;

    // Not subscribed to `report.routed`: nothing queued. Then it is.
    file_ok(app, &rider, report_at("road_damage", SPOTS[2].0, SPOTS[2].1)).await;
    assert_eq!(queued_for(app, &endpoint).await, 0);
    let (status, changed) =
        app.patch(&base, Some(&c.clerks[2]), json!({ "events": ["report.routed", "report.rated"] })).await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(changed["events"], json!(["report.routed", "report.rated"]));

    // A new secret signs what follows; the old one no longer verifies.
    let (status, rotated) = app.post(&format!("{base}/secret"), Some(&c.clerks[2]), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let secret = rotated["secret"].as_str().unwrap().to_string();
    assert_ne!(secret, first_secret);
    office.knows(&secret);
    file_ok(app, &rider, report_at("fire_safety", SPOTS[2].0 + 0.01, SPOTS[2].1)).await;
    eventually("heard", || async { office.answered() == 1 }).await;
    let hit = &office.hits()[0];
    assert_eq!(hit.verified, Some(true));
    assert!(!recipe(&first_secret, &hit.signature, &hit.body, chrono::Utc::now().timestamp()));

    // Turned off: no new deliveries.
    let (status, _) = app.patch(&base, Some(&c.clerks[2]), json!({ "active": false })).await;
    assert_eq!(status, StatusCode::OK);
    file_ok(app, &rider, report_at("environment", SPOTS[2].0 - 0.01, SPOTS[2].1)).await;
    assert_eq!(queued_for(app, &endpoint).await, 1);
    let (status, body) = app.patch(&base, Some(&c.clerks[2]), json!({ "url": "ftp://example.com/" })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, body) = app.patch(&base, Some(&c.clerks[2]), json!({ "events": [] })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    let (status, _) = app.delete(&base, Some(&c.clerks[2])).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(app.get(&base, Some(&c.admin)).await.0, StatusCode::NOT_FOUND);
    for (action, n) in
        [("webhook.create", 1), ("webhook.update", 2), ("webhook.rotate_secret", 1), ("webhook.delete", 1)]
    {
        assert_eq!(app.audit_entries(action).await, n, "{action}");
    }
    let audited: Vec<String> =
        sqlx::query_scalar("SELECT COALESCE(after_json, '') FROM audit_log WHERE object_kind = 'webhook'")
            .fetch_all(&app.state.db.pool)
            .await
            .unwrap();
    assert!(audited.iter().all(|a| !a.contains("whsec_")), "never the secret: {audited:?}");

    // Fifteen registrations at once for one unit: ten are made.
    let many = (0..15)
        .map(|i| {
            app.client.post(app.url("/api/v1/webhooks")).bearer_auth(&c.clerks[1]).json(&json!({
                "url": format!("{}?n={i}", office.url), "events": ["report.routed"]
            }))
        })
        .collect();
    let answers = all_at_once(many).await;
    assert_eq!(tally(&answers, StatusCode::CREATED), 10);
    for refused in answers.iter().filter(|a| a.status != StatusCode::CREATED) {
        assert_eq!((refused.status, error_code(&refused.body)), (StatusCode::CONFLICT, "too_many_endpoints"));
    }
    c.app.stop().await;
}

#[tokio::test]
async fn hostile_urls_are_refused_and_nothing_is_delivered_into_a_private_network_by_default() {
    // The default: private targets refused.
    let c = city_with(with(&[("XHB_WEBHOOK_ALLOW_PRIVATE_TARGETS", "false")])).await;
    let app = &c.app;
    let intranet = receiver(Behaviour::Ok).await;
    for url in [
        intranet.url.clone(),
        "http://localhost:8080/hook".into(),
        "http://10.0.0.8/hook".into(),
        "http://169.254.169.254/latest/meta-data/".into(),
        "http://[::1]:8080/".into(),
        "http://[::ffff:127.0.0.1]/".into(),
        "http://2130706433/".into(),
        "https://user:password@hooks.example.com/".into(),
        "https://hooks.example.com/#x".into(),
        format!("https://hooks.example.com/{}", "a".repeat(2100)),
        "ftp://hooks.example.com/".into(),
        "javascript:alert(1)".into(),
        "https://hooks.example.com/\nHost: evil".into(),
    ] {
        let (status, body) =
            app.post("/api/v1/webhooks", Some(&c.clerks[0]), json!({ "url": url, "events": ["report.routed"] })).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{url}: {body}");
        crate::contract::assert_declared("webhooks_create", status, None, &body);
    }
    for events in [json!([]), json!(["webhook.test"]), json!(["report.routed", "report.routed"]), json!(["nope"])] {
        let body = json!({ "url": "https://hooks.example.com/", "events": events });
        let (status, body) = app.post("/api/v1/webhooks", Some(&c.clerks[0]), body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{events}: {body}");
    }

    // An endpoint that names a loopback address anyway (written before the rule, or by hand) is
    // never called: its delivery dies at once, saying why.
    let now = Millis::now();
    let row = EndpointRow {
        id: uuid::Uuid::now_v7().to_string(),
        city_id: app.state.city.id.clone(),
        office_id: c.offices[0].clone(),
        url: intranet.url.clone(),
        secret: "whsec_x".into(),
        events: EventSet::parse(&[EventType::ReportRouted]).unwrap(),
        active: true,
        description: String::new(),
        created_at: now,
        updated_at: now,
    };
    let mut conn = app.state.db.pool.acquire().await.unwrap();
    xinhuoban::store::webhooks::insert(&mut conn, &row).await.unwrap();
    drop(conn);
    let rider = app.rider_token("rider-ssrf").await;
    file_ok(app, &rider, report_at("road_damage", SPOTS[0].0, SPOTS[0].1)).await;
    eventually("given up", || async { statuses(app, &c.clerks[0], &row.id).await == ["dead"] }).await;
    let d = &deliveries(app, &c.clerks[0], &row.id, "").await[0];
    assert!(d["last_error"].as_str().unwrap().contains("private"), "{d}");
    a_moment().await;
    assert_eq!(intranet.count(), 0, "the intranet was never called");
    c.app.stop().await;
}

// --- The README's recipe -------------------------------------------------------------------------

/// The fenced code block of `lang` in the README's "Office webhooks" section.
fn readme_snippet(lang: &str) -> String {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let section = readme.split("### Receiving a webhook").nth(1).expect("the README's receiving section");
    let fence = format!("```{lang}\n");
    let start = section.find(&fence).unwrap_or_else(|| panic!("no {lang} snippet")) + fence.len();
    section[start..].split("\n```").next().unwrap().to_string()
}

/// Runs `program` with `source` on stdin-free arguments and returns its stdout (trimmed), or
/// `None` when the interpreter is not installed.
fn run(program: &str, args: &[&str], source: &str) -> Option<String> {
    let dir = tempfile::tempdir().unwrap();
    let ext = if program == "node" { "js" } else { "py" };
    let path = dir.path().join(format!("recipe.{ext}"));
    std::fs::write(&path, source).unwrap();
    let out = match std::process::Command::new(program).arg(&path).args(args).output() {
        Ok(out) => out,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => panic!("{program}: {e}"),
    };
    assert!(out.status.success(), "{program} failed: {}", String::from_utf8_lossy(&out.stderr));
    Some(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

#[tokio::test]
async fn the_readmes_recipe_verifies_a_real_delivery_and_refuses_a_tampered_body_or_an_old_signature() {
    let c = city_with(with(&[])).await;
    let app = &c.app;
    let office = receiver(Behaviour::Ok).await;
    let (endpoint, secret) = register(app, &c.clerks[0], None, &office, &["report.routed"]).await;
    app.post(&format!("/api/v1/webhooks/{endpoint}/test"), Some(&c.clerks[0]), json!({})).await;
    eventually("a delivery arrives", || async { office.answered() == 1 }).await;
    let hit = office.hits()[0].clone();
    let t: i64 = hit.signature.split(',').next().unwrap().trim_start_matches("t=").parse().unwrap();
    let body = String::from_utf8(hit.body.clone()).unwrap();
    let tampered = body.replacen("webhook.test", "report.routed", 1);
    assert_ne!(body, tampered);
    // (secret, body, now) → expected.
    let cases = [
        (secret.as_str(), body.as_str(), t + 5, "True"),
        (secret.as_str(), tampered.as_str(), t + 5, "False"),
        (secret.as_str(), body.as_str(), t + 301, "False"),
        (secret.as_str(), body.as_str(), t - 301, "False"),
        ("whsec_not-the-secret", body.as_str(), t, "False"),
    ];
    // The driver: verify at the given time; when it verifies, hand it to `handle` twice (against
    // the real clock: it was signed a moment ago), which acts once.
    let python = format!(
        "{}\n\nimport base64, sys\n\
         secret, header, now = sys.argv[1], sys.argv[2], int(sys.argv[4])\n\
         body = base64.b64decode(sys.argv[3])\n\
         ok = verify(secret, header, body, now)\n\
         print(ok)\n\
         if ok:\n\
         \x20   headers = {{'X-Xhb-Signature': header, 'X-Xhb-Event-Id': 'evt_x'}}\n\
         \x20   print(handle(secret, headers, body), handle(secret, headers, body), len(seen_event_ids))\n",
        readme_snippet("python")
    );
    let node = format!(
        "{}\nconst [secret, header, body, now] = process.argv.slice(2);\n\
         console.log(verify(secret, header, Buffer.from(body, 'base64'), Number(now)) ? 'True' : 'False');\n",
        readme_snippet("js")
    );
    use base64::Engine;
    let mut ran = HashSet::new();
    for (key, text, now, expected) in cases {
        let b64 = base64::engine::general_purpose::STANDARD.encode(text);
        let now = now.to_string();
        let args = [key, hit.signature.as_str(), b64.as_str(), now.as_str()];
        let py = run("python3", &args, &python).expect("python3 runs the README's Python recipe");
        let mut lines = py.lines();
        assert_eq!(lines.next(), Some(expected), "python, {key} at {now}");
        if expected == "True" {
            assert_eq!(lines.next(), Some("200 200 1"), "the handler accepts it, and its repeat, acting once");
        }
        ran.insert("python3");
        if let Some(js) = run("node", &args, &node) {
            assert_eq!(js, expected, "node, {key} at {now}");
            ran.insert("node");
        }
        assert_eq!(recipe(key, &hit.signature, text.as_bytes(), now.parse().unwrap()), expected == "True");
        assert_eq!(
            xinhuoban::domain::webhooks::verify(key, &hit.signature, text.as_bytes(), now.parse().unwrap()).is_ok(),
            expected == "True"
        );
    }
    assert!(ran.contains("python3"));
    c.app.stop().await;
}

// --- Restarts and nodes --------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_event_is_lost_or_sent_twice_across_a_restart_in_the_middle_of_delivery() {
    let c = city_with(with(&[("XHB_WEBHOOK_TIMEOUT_MS", "5000")])).await;
    let office = receiver(Behaviour::Slow(Duration::from_millis(800))).await;
    register(&c.app, &c.clerks[0], None, &office, &["report.routed"]).await;
    let rider = c.app.rider_token("rider-restart").await;
    for i in 0..3 {
        file_ok(&c.app, &rider, report_at("road_damage", SPOTS[0].0 + 0.002 * f64::from(i), SPOTS[0].1)).await;
    }
    eventually("deliveries in flight", || async { office.count() == 3 }).await;
    assert_eq!(office.answered(), 0, "none answered yet");
    // Stopped in the middle: the attempts in flight finish and are recorded before it ends.
    let City { app, clerks, .. } = c;
    let database_url = app.state.config.database_url.clone();
    let files = app.stop_keeping_files().await;
    assert_eq!(office.answered(), 3);

    let restarted = node_on(&database_url, &[("XHB_WEBHOOK_TIMEOUT_MS", "5000")]).await;
    a_moment().await;
    a_moment().await;
    assert_eq!(office.count(), 3, "nothing recorded as sent is sent again");
    assert!(office.per_event().values().all(|n| *n == 1));
    let (_, listed) = restarted.get("/api/v1/webhooks", Some(&clerks[0])).await;
    let endpoint = listed["items"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(statuses(&restarted, &clerks[0], &endpoint).await, ["sent", "sent", "sent"]);
    restarted.stop().await;
    drop(files);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_delivery_cut_off_by_a_hard_stop_is_attempted_again_after_the_restart_with_its_event_id() {
    // No grace: the attempt in flight is cut off and left to its lease (2 × 1 s + 5 s).
    let fast_stop = [("XHB_WEBHOOK_TIMEOUT_MS", "1000"), ("XHB_SHUTDOWN_GRACE_SECS", "0")];
    let c = city_with(with(&fast_stop)).await;
    let office = receiver(Behaviour::Slow(Duration::from_millis(900))).await;
    register(&c.app, &c.clerks[0], None, &office, &["report.routed"]).await;
    let rider = c.app.rider_token("rider-cut").await;
    file_ok(&c.app, &rider, report_at("road_damage", SPOTS[0].0, SPOTS[0].1)).await;
    eventually("in flight", || async { office.count() == 1 }).await;
    office.set(Behaviour::Ok);
    let City { app, clerks, .. } = c;
    let database_url = app.state.config.database_url.clone();
    let files = app.stop_keeping_files().await;
    assert_eq!(office.answered(), 0, "cut off before its answer");

    let restarted = node_on(&database_url, &fast_stop).await;
    let (_, listed) = restarted.get("/api/v1/webhooks", Some(&clerks[0])).await;
    let endpoint = listed["items"][0]["id"].as_str().unwrap().to_string();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while statuses(&restarted, &clerks[0], &endpoint).await != ["sent"] {
        assert!(std::time::Instant::now() < deadline, "never sent after the restart");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    a_moment().await;
    let per_event = office.per_event();
    assert_eq!(per_event.len(), 1, "one event: nothing lost");
    assert_eq!(*per_event.values().next().unwrap(), 2, "attempted again, with its id, as it was never recorded");
    let d = &deliveries(&restarted, &clerks[0], &endpoint, "").await[0];
    assert_eq!(d["status"], "sent");
    restarted.stop().await;
    drop(files);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_nodes_on_one_database_send_each_event_once() {
    let c = city_with(with(&[])).await;
    let second = node_on(&c.app.state.config.database_url, &[]).await;
    let office = receiver(Behaviour::Slow(Duration::from_millis(50))).await;
    register(&c.app, &c.clerks[0], None, &office, &["report.routed", "report.rated"]).await;
    let rider = c.app.rider_token("rider-nodes").await;
    let mut filed = Vec::new();
    for i in 0..12 {
        let node = if i % 2 == 0 { &c.app } else { &second };
        filed
            .push(file_ok(node, &rider, report_at("road_damage", SPOTS[0].0 + 0.002 * f64::from(i), SPOTS[0].1)).await);
    }
    eventually("all twelve heard", || async { office.per_event().len() == 12 }).await;
    a_moment().await;
    assert_eq!(office.count(), 12, "{:?}", office.per_event());
    second.stop().await;
    c.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_overdue_report_is_raised_once_though_every_node_looks_for_it() {
    let c = city_with(with(&[])).await;
    let second = node_on(&c.app.state.config.database_url, &[]).await;
    let app = &c.app;
    let office = receiver(Behaviour::Ok).await;
    let (endpoint, _) =
        register(app, &c.clerks[0], None, &office, &["report.overdue_response", "report.overdue_resolution"]).await;
    let rider = app.rider_token("rider-overdue").await;
    let report = file_ok(app, &rider, report_at("fire_safety", SPOTS[0].0, SPOTS[0].1)).await;
    a_moment().await;
    assert_eq!(office.count(), 0, "not overdue yet");

    // Twenty minutes pass for it (its 15-minute response deadline moves into the past).
    let past = Millis::now().0 - 60_000;
    sqlx::query("UPDATE reports SET respond_by = $1, next_deadline = $1, updated_at = $2 WHERE id = $3")
        .bind(past)
        .bind(Millis::now().0)
        .bind(&report)
        .execute(&app.state.db.pool)
        .await
        .unwrap();
    // Both nodes' detectors run every 50 ms; twenty more detectors race them here.
    let races: Vec<_> = (0..20)
        .map(|i| {
            let db = if i % 2 == 0 { app.state.db.clone() } else { second.state.db.clone() };
            tokio::spawn(async move { raise_overdue(&db, Millis::now()).await.unwrap() })
        })
        .collect();
    for race in races {
        race.await.unwrap();
    }
    eventually("the office hears it is overdue", || async { office.answered() == 1 }).await;
    a_moment().await;
    assert_eq!(office.count(), 1, "raised once: {:?}", office.per_event());
    let hit = &office.hits()[0];
    assert_eq!(hit.event_type, "report.overdue_response");
    let expected = overdue_event_id(&report, EventType::ReportOverdueResponse, Millis(past));
    assert_eq!(hit.event_id, expected, "the id comes from the report, the kind and the deadline");
    assert_eq!(body_of(hit)["data"]["report"]["id"], report.as_str());
    assert_eq!(queued_for(app, &endpoint).await, 1);

    // Accepted late, with the resolution deadline gone too: overdue for resolution, once.
    assert_eq!(act(app, &c.clerks[0], &report, json!({ "action": "accept" })).await.0, StatusCode::OK);
    sqlx::query("UPDATE reports SET resolve_by = $1, next_deadline = $1, updated_at = $2 WHERE id = $3")
        .bind(past + 1)
        .bind(Millis::now().0)
        .bind(&report)
        .execute(&app.state.db.pool)
        .await
        .unwrap();
    eventually("overdue for resolution", || async { office.of_type("report.overdue_resolution").len() == 1 }).await;
    a_moment().await;
    assert_eq!(office.count(), 2);
    assert!(office.hits().iter().all(|h| h.verified == Some(true)));
    second.stop().await;
    c.app.stop().await;
}

//! Content security, as riders, the public and a unit live it: what a rider writes and photographs
//! is checked by WeChat (a fake one on loopback: `msgSecCheck` answers at once, `mediaCheckAsync`
//! answers later through the message push the test sends, signed or encrypted as WeChat does).
//! Only what passed is public; flagged and "review" content never appears in any public answer
//! (the map, the preview, Open311, another rider's view of a report they follow or said "me
//! too" to, photo downloads); the reporter and the unit always see it all.

use std::sync::{Arc, Mutex};

use poem::web::{Data, Json, Query};
use poem::{EndpointExt, Route, handler, post};
use reqwest::StatusCode;
use serde_json::{Value, json};
use xinhuoban::domain::wechat_push::{AesKey, PushKeys, signature};

use crate::helpers::*;
use crate::notifications::jscode2session;
use crate::reports::{City, act, city_with, file, file_ok, report_at};

const PUSH_TOKEN: &str = "pushToken2026";
const AES_KEY: &str = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR";
/// The app id the tests' WeChat settings name (`helpers::spawn_app_with`).
const APP_ID: &str = "wx-test-app";
const PUBLIC_BASE: &str = "https://xhb.test";

const PASSING: &str = "路灯坏了，夜里很黑";
const RISKY: &str = "这段描述含违规内容";
const REVIEW: &str = "这段描述待复核";
/// `msgSecCheck` refuses this one for good (40003, an openid it does not know).
const REFUSED: &str = "ERR40003 无法检测";

/// WeChat's token, login and content security endpoints.
#[derive(Default)]
struct FakeWechat {
    /// `msg_sec_check` bodies, in order.
    texts: Vec<Value>,
    /// `media_check_async` bodies and the trace ids handed out for them.
    photos: Vec<(String, Value)>,
}

type Shared = Arc<Mutex<FakeWechat>>;

#[handler]
fn stable_token() -> Json<Value> {
    Json(json!({ "access_token": "token-1", "expires_in": 7200 }))
}

#[derive(serde::Deserialize)]
struct TokenQuery {
    access_token: String,
}

/// Judges by the words: `违规` is risky, `待复核` wants review, `ERR40003` is an openid WeChat
/// refuses; the rest passes.
#[handler]
fn msg_sec_check(Query(q): Query<TokenQuery>, Json(body): Json<Value>, fake: Data<&Shared>) -> Json<Value> {
    assert_eq!(q.access_token, "token-1");
    let mut f = fake.lock().unwrap();
    f.texts.push(body.clone());
    let content = body["content"].as_str().unwrap_or_default();
    if content.contains("ERR40003") {
        return Json(json!({ "errcode": 40003, "errmsg": "invalid openid" }));
    }
    let (suggest, label) = if content.contains("违规") {
        ("risky", 20001)
    } else if content.contains("待复核") {
        ("review", 20001)
    } else {
        ("pass", 100)
    };
    Json(json!({
        "errcode": 0, "errmsg": "ok",
        "result": { "suggest": suggest, "label": label },
        "detail": [{ "strategy": "content_model", "errcode": 0, "suggest": suggest, "label": label, "prob": 90 }],
        "trace_id": format!("text-{}", f.texts.len()),
    }))
}

/// Accepts every photo, handing out `trace-1`, `trace-2`… in order.
#[handler]
fn media_check_async(Query(q): Query<TokenQuery>, Json(body): Json<Value>, fake: Data<&Shared>) -> Json<Value> {
    assert_eq!(q.access_token, "token-1");
    let mut f = fake.lock().unwrap();
    let trace_id = format!("trace-{}", f.photos.len() + 1);
    f.photos.push((trace_id.clone(), body));
    Json(json!({ "errcode": 0, "errmsg": "ok", "trace_id": trace_id }))
}

async fn spawn_wechat() -> (Shared, String) {
    let fake = Shared::default();
    let app = Route::new()
        .at("/sns/jscode2session", poem::get(jscode2session))
        .at("/cgi-bin/stable_token", post(stable_token))
        .at("/wxa/msg_sec_check", post(msg_sec_check))
        .at("/wxa/media_check_async", post(media_check_async))
        .data(fake.clone());
    let addr = spawn_fake_server(app).await;
    (fake, format!("http://{addr}"))
}

/// WeChat's checks on, photos included, the push plaintext (or encrypted with `aes`).
fn checked(wechat: &str, aes: bool) -> Options {
    let mut extra = vec![
        ("XHB_WECHAT_API_BASE", wechat.to_string()),
        ("XHB_CONTENT_CHECK", "wechat".into()),
        ("XHB_PUBLIC_BASE_URL", PUBLIC_BASE.into()),
        ("XHB_WECHAT_PUSH_TOKEN", PUSH_TOKEN.into()),
        ("XHB_OUTBOX_POLL_MS", "20".into()),
        ("XHB_OUTBOX_RETRY_BASE_MS", "10".into()),
    ];
    if aes {
        extra.push(("XHB_WECHAT_PUSH_AES_KEY", AES_KEY.into()));
    }
    Options { extra }
}

/// What WeChat pushes when it has judged a photo.
fn verdict(trace_id: &str, suggest: &str) -> Value {
    json!({
        "ToUserName": "gh_97417a04a28d", "FromUserName": "o9AgO5Kd5ggOC", "CreateTime": 1764150000,
        "MsgType": "event", "Event": "wxa_media_check", "appid": APP_ID, "trace_id": trace_id, "version": 2,
        "result": { "suggest": suggest, "label": if suggest == "pass" { "100" } else { "20002" } },
        "detail": [{ "strategy": "content_model", "errcode": 0, "suggest": suggest, "label": "100", "prob": 90 }],
    })
}

/// Posts a push in plaintext mode, signed with `token`.
async fn push_signed_with(app: &TestApp, token: &str, body: &Value) -> (StatusCode, Value) {
    let (timestamp, nonce) = ("1764150000", "486452656");
    let sig = signature(&[token, timestamp, nonce]);
    let url =
        app.url(&format!("/api/v1/wechat/push?signature={sig}&timestamp={timestamp}&nonce={nonce}&openid=o9AgO5"));
    app.send(app.client.post(url).json(body)).await
}

async fn push(app: &TestApp, body: &Value) -> (StatusCode, Value) {
    push_signed_with(app, PUSH_TOKEN, body).await
}

/// Posts a push in encrypted mode, as WeChat encrypts it for `app_id`.
async fn push_encrypted(app: &TestApp, app_id: &str, message: &Value) -> (StatusCode, Value) {
    let keys = PushKeys::new(PUSH_TOKEN, Some(AesKey::parse(AES_KEY).unwrap()), app_id);
    let (timestamp, nonce) = ("1764150001", "1320562132");
    let (encrypt, msg_signature) = keys.seal(&message.to_string(), *b"0123456789abcdef", timestamp, nonce).unwrap();
    let sig = signature(&[PUSH_TOKEN, timestamp, nonce]);
    let url = app.url(&format!(
        "/api/v1/wechat/push?signature={sig}&timestamp={timestamp}&nonce={nonce}&encrypt_type=aes&msg_signature={msg_signature}"
    ));
    app.send(app.client.post(url).json(&json!({ "ToUserName": "gh_97417a04a28d", "Encrypt": encrypt }))).await
}

/// The trace id WeChat gave the photo `media_id`, once its check was sent.
async fn trace_of(fake: &Shared, media_id: &str) -> String {
    let found = || {
        let f = fake.lock().unwrap();
        f.photos
            .iter()
            .find(|(_, b)| b["media_url"].as_str().unwrap_or_default().contains(media_id))
            .map(|(t, _)| t.clone())
    };
    eventually("the photo's check sent", || async { found().is_some() }).await;
    found().unwrap()
}

/// The verdict recorded for a piece of content (`pending` until decided; none when never queued).
async fn verdict_of(app: &TestApp, kind: &str, object_id: &str) -> Option<String> {
    sqlx::query_scalar("SELECT verdict FROM content_checks WHERE kind = $1 AND object_id = $2")
        .bind(kind)
        .bind(object_id)
        .fetch_optional(&app.state.db.pool)
        .await
        .unwrap()
}

async fn decided(app: &TestApp, kind: &str, object_id: &str) -> String {
    let decided = || async { verdict_of(app, kind, object_id).await.is_some_and(|v| v != "pending") };
    eventually(&format!("{kind} {object_id} decided"), decided).await;
    verdict_of(app, kind, object_id).await.unwrap()
}

async fn upload(app: &TestApp, rider: &str) -> String {
    crate::media::uploaded(app, rider).await["id"].as_str().unwrap().to_string()
}

/// Files a report with a description and a photo; (report id, photo id).
async fn file_with_photo(c: &City, rider: &str, lat: f64, description: &str) -> (String, String) {
    let photo = upload(&c.app, rider).await;
    let mut body = report_at("road_damage", lat, 120.15);
    body["description"] = json!(description);
    body["media_ids"] = json!([photo]);
    (file_ok(&c.app, rider, body).await, photo)
}

/// A city with WeChat's checks on (the push encrypted with `aes`) and one report whose photo
/// waits for its verdict under `trace`.
struct Waiting {
    c: City,
    reporter: String,
    report: String,
    photo: String,
    trace: String,
}

async fn photo_waiting(aes: bool) -> Waiting {
    let (fake, wechat) = spawn_wechat().await;
    let c = city_with(checked(&wechat, aes)).await;
    let reporter = c.app.rider_token("openid-waiting").await;
    let (report, photo) = file_with_photo(&c, &reporter, 30.27, PASSING).await;
    let trace = trace_of(&fake, &photo).await;
    Waiting { c, reporter, report, photo, trace }
}

/// Every public door to reports, as `viewer` (a rider who follows all of `reports`) and as
/// nobody: (door, status, body).
async fn public_doors(c: &City, viewer: &str, reports: &[&str], photos: &[&str]) -> Vec<(String, StatusCode, String)> {
    let app = &c.app;
    let mut doors = Vec::new();
    let mut get = |name: String, status: StatusCode, body: Value| doors.push((name, status, body.to_string()));
    let (s, b) = app.get("/api/v1/reports/nearby?lat=30.27&lng=120.15&radius_m=5000&limit=100", Some(viewer)).await;
    get("nearby".into(), s, b);
    let (s, b) = app.get("/api/v1/reports/preview?lat=30.27&lng=120.15&category=road_damage", Some(viewer)).await;
    get("preview".into(), s, b);
    let (s, b) = app.get("/open311/v2/requests.json", None).await;
    get("open311 requests".into(), s, b);
    let (s, b) = app.get("/api/v1/reports/mine?limit=100", Some(viewer)).await;
    get("the follower's reports".into(), s, b);
    for id in reports {
        let (s, b) = app.get(&format!("/open311/v2/requests/{id}.json"), None).await;
        get(format!("open311 request {id}"), s, b);
        let (s, b) = app.get(&format!("/api/v1/reports/{id}"), Some(viewer)).await;
        get(format!("the follower's view of {id}"), s, b);
    }
    for photo in photos {
        let resp = app.client.get(app.url(&format!("/api/v1/media/{photo}"))).bearer_auth(viewer).send().await.unwrap();
        doors.push((format!("the follower's download of {photo}"), resp.status(), String::new()));
    }
    doors
}

fn assert_nowhere(doors: &[(String, StatusCode, String)], secrets: &[&str]) {
    for (door, status, body) in doors {
        for secret in secrets {
            assert!(!body.contains(secret), "{door} shows `{secret}`: {body}");
        }
        if door.contains("download") {
            let flagged = secrets.iter().any(|s| door.ends_with(s));
            assert_eq!(*status == StatusCode::OK, !flagged, "{door}: {status}");
        } else {
            assert_eq!(*status, StatusCode::OK, "{door}: {body}");
        }
    }
}

fn shown_in(doors: &[(String, StatusCode, String)], door: &str, text: &str) -> bool {
    doors.iter().any(|(d, _, body)| d == door && body.contains(text))
}

#[tokio::test]
async fn only_what_wechat_passed_is_public_and_flagged_or_reviewed_content_never_appears() {
    let (fake, wechat) = spawn_wechat().await;
    let c = city_with(checked(&wechat, false)).await;
    let reporter = c.app.rider_token("openid-reporter").await;
    let neighbour = c.app.rider_token("openid-neighbour").await;
    let clerk = &c.clerks[1];

    // Three reports a kilometre apart, in the middle street office's band.
    let (passed, passed_photo) = file_with_photo(&c, &reporter, 30.27, PASSING).await;
    let (risky, risky_photo) = file_with_photo(&c, &reporter, 30.28, RISKY).await;
    let (review, review_photo) = file_with_photo(&c, &reporter, 30.26, REVIEW).await;
    let mut refused_body = report_at("road_damage", 30.29, 120.15);
    refused_body["description"] = json!(REFUSED);
    let refused = file_ok(&c.app, &reporter, refused_body).await;

    // The texts are judged at once; WeChat was asked as the documentation says.
    assert_eq!(decided(&c.app, "description", &passed).await, "pass");
    assert_eq!(decided(&c.app, "description", &risky).await, "risky");
    assert_eq!(decided(&c.app, "description", &review).await, "review");
    {
        let f = fake.lock().unwrap();
        let asked = f.texts.iter().find(|b| b["content"] == PASSING).expect("the description was checked");
        assert_eq!(
            (&asked["version"], &asked["scene"], &asked["openid"]),
            (&json!(2), &json!(3), &json!("openid-reporter"))
        );
    }
    // The photos are sent for checking, each with a signed URL WeChat can download it from.
    let traces = [
        trace_of(&fake, &passed_photo).await,
        trace_of(&fake, &risky_photo).await,
        trace_of(&fake, &review_photo).await,
    ];
    let asked = fake.lock().unwrap().photos[0].1.clone();
    assert_eq!((&asked["media_type"], &asked["version"], &asked["scene"]), (&json!(2), &json!(2), &json!(3)));
    assert_eq!(asked["openid"], "openid-reporter");
    let url = asked["media_url"].as_str().unwrap();
    let path = url.strip_prefix(PUBLIC_BASE).expect("under the public base URL");
    assert!(path.starts_with("/api/v1/media/") && path.contains("/signed?exp="), "{url}");
    let download = reqwest::Client::new().get(c.app.url(path)).send().await.unwrap();
    assert_eq!(download.status(), StatusCode::OK, "WeChat can download the photo without a token");
    // A check WeChat refuses for good stays undecided, and so private.
    eventually("the refused check given up", || async {
        let dead: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE status = 'dead' AND payload_json LIKE $1")
                .bind(format!("%{refused}%"))
                .fetch_one(&c.app.state.db.pool)
                .await
                .unwrap();
        dead == 1
    })
    .await;
    assert_eq!(verdict_of(&c.app, "description", &refused).await.as_deref(), Some("pending"));

    // Before any photo verdict: no photo is public.
    for id in [&passed, &risky, &review, &refused] {
        let (status, body) = c.app.post(&format!("/api/v1/reports/{id}/follow"), Some(&neighbour), json!({})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let all = [passed.as_str(), risky.as_str(), review.as_str(), refused.as_str()];
    let photos = [passed_photo.as_str(), risky_photo.as_str(), review_photo.as_str()];
    let doors = public_doors(&c, &neighbour, &all, &photos).await;
    assert_nowhere(&doors, &[RISKY, REVIEW, REFUSED, &passed_photo, &risky_photo, &review_photo]);
    assert!(shown_in(&doors, "nearby", PASSING), "a passed description is on the map");

    // WeChat pushes the photo verdicts: pass, risky, and review.
    for (trace, suggest) in traces.iter().zip(["pass", "risky", "review"]) {
        let (status, body) = push(&c.app, &verdict(trace, suggest)).await;
        assert_eq!((status, body), (StatusCode::OK, json!("success")));
    }
    assert_eq!(decided(&c.app, "photo", &passed_photo).await, "pass");
    assert_eq!(decided(&c.app, "photo", &risky_photo).await, "risky");
    assert_eq!(decided(&c.app, "photo", &review_photo).await, "review");
    let doors = public_doors(&c, &neighbour, &all, &photos).await;
    assert_nowhere(&doors, &[RISKY, REVIEW, REFUSED, &risky_photo, &review_photo]);
    assert!(shown_in(&doors, "nearby", &passed_photo), "the passed photo is on the map");
    assert!(shown_in(&doors, "preview", &passed_photo), "and in the preview");

    // A "me too" at the passed report's spot: the rider sees its public projection.
    let (status, joined) = file(&c.app, &neighbour, report_at("road_damage", 30.27002, 120.15001)).await;
    assert_eq!((status, &joined["outcome"]), (StatusCode::OK, &json!("joined")), "{joined}");
    assert_eq!(joined["report"]["id"], json!(passed));
    assert_eq!(joined["report"]["description"], PASSING);

    // The unit resolves two of them; the reporter rates one kindly and one in flagged words.
    for id in [&passed, &risky] {
        assert!(act(&c.app, clerk, id, json!({ "action": "accept" })).await.0.is_success());
        assert!(act(&c.app, clerk, id, json!({ "action": "resolve", "public_note": "已修复" })).await.0.is_success());
    }
    let kind_words = "处理很快，谢谢";
    let flagged_words = "评价也含违规内容";
    for (id, comment) in [(&passed, kind_words), (&risky, flagged_words)] {
        let (status, body) = c
            .app
            .post(&format!("/api/v1/reports/{id}/rating"), Some(&reporter), json!({ "score": 5, "comment": comment }))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    assert_eq!(decided(&c.app, "rating_comment", &passed).await, "pass");
    assert_eq!(decided(&c.app, "rating_comment", &risky).await, "risky");
    assert_eq!(fake.lock().unwrap().texts.iter().find(|b| b["content"] == kind_words).unwrap()["scene"], 2);

    // Every public door: the passed words and photo are shown, nothing flagged or waiting is.
    let doors = public_doors(&c, &neighbour, &all, &photos).await;
    let never = [RISKY, REVIEW, REFUSED, flagged_words, &risky_photo, &review_photo];
    assert_nowhere(&doors, &never);
    assert!(shown_in(&doors, &format!("open311 request {passed}"), PASSING));
    assert!(shown_in(
        &doors,
        &format!("open311 request {passed}"),
        &format!("{PUBLIC_BASE}/api/v1/media/{passed_photo}")
    ));
    assert!(shown_in(&doors, &format!("the follower's view of {passed}"), kind_words));
    assert!(shown_in(&doors, &format!("the follower's view of {passed}"), &passed_photo));
    assert!(shown_in(&doors, "the follower's reports", PASSING));
    let (_, follower_view) = c.app.get(&format!("/api/v1/reports/{passed}"), Some(&neighbour)).await;
    let url = follower_view["photo_urls"][0]["url"].as_str().unwrap();
    assert_eq!(reqwest::Client::new().get(c.app.url(url)).send().await.unwrap().status(), StatusCode::OK);

    // The reporter sees all their own words and photos.
    for (id, words, photo) in [(&risky, RISKY, &risky_photo), (&review, REVIEW, &review_photo)] {
        let (status, own) = c.app.get(&format!("/api/v1/reports/{id}"), Some(&reporter)).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!((own["description"].as_str(), own["media_ids"][0].as_str()), (Some(words), Some(photo.as_str())));
    }
    // The unit sees everything, where each check stands, and a note on what was flagged.
    let (status, detail) = c.app.get(&format!("/api/v1/triage/reports/{risky}"), Some(clerk)).await;
    assert_eq!(status, StatusCode::OK, "{detail}");
    assert_eq!((detail["description"].as_str(), detail["rating_comment"].as_str()), (Some(RISKY), Some(flagged_words)));
    let verdicts: Vec<(String, String)> = detail["content_checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["kind"].as_str().unwrap().to_string(), c["verdict"].as_str().unwrap().to_string()))
        .collect();
    let expected = [("description", "risky"), ("rating_comment", "risky"), ("photo", "risky")]
        .map(|(k, v)| (k.to_string(), v.to_string()));
    assert_eq!(verdicts, expected);
    let notes: Vec<&str> = detail["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "note" && e["actor_role"] == "system")
        .filter_map(|e| e["internal_note"].as_str())
        .collect();
    assert_eq!(notes.len(), 3, "{notes:?}");
    assert!(notes.iter().any(|n| n.contains(risky_photo.as_str()) && n.contains("不会公开")), "{notes:?}");
    let resp =
        c.app.client.get(c.app.url(&format!("/api/v1/media/{risky_photo}"))).bearer_auth(clerk).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK, "the unit sees a flagged photo");

    // WeChat repeats a push: nothing changes, and the unit is not told twice.
    let (status, _) = push(&c.app, &verdict(&traces[1], "risky")).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = push(&c.app, &verdict(&traces[1], "pass")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(verdict_of(&c.app, "photo", &risky_photo).await.as_deref(), Some("risky"), "a verdict is final");
    let (_, again) = c.app.get(&format!("/api/v1/triage/reports/{risky}"), Some(clerk)).await;
    assert_eq!(again["timeline"].as_array().unwrap().len(), detail["timeline"].as_array().unwrap().len());
    c.app.stop().await;
}

#[tokio::test]
async fn a_push_whose_signature_does_not_match_is_refused_and_changes_nothing() {
    let Waiting { c, report, photo, trace, .. } = photo_waiting(false).await;

    // Another token's signature, a changed nonce, no signature at all: 403, in the one shape.
    let (status, body) = push_signed_with(&c.app, "someoneElse", &verdict(&trace, "pass")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(error_code(&body), "forbidden");
    crate::contract::assert_declared("wechat_push", status, None, &body);
    let sig = signature(&[PUSH_TOKEN, "1764150000", "1"]);
    let forged = c.app.url(&format!("/api/v1/wechat/push?signature={sig}&timestamp=1764150000&nonce=2"));
    let (status, _) = c.app.send(c.app.client.post(forged).json(&verdict(&trace, "pass"))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = c.app.post("/api/v1/wechat/push", None, verdict(&trace, "pass")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    // A hundred at once: all refused, none a 500.
    let (tokens, forged_body) = ((0..100).map(|i| format!("forger{i}")).collect::<Vec<_>>(), verdict(&trace, "pass"));
    let forged = tokens.iter().map(|token| push_signed_with(&c.app, token, &forged_body));
    for (status, body) in futures_util::future::join_all(forged).await {
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    }
    // An encrypted push while none is configured: refused.
    let (status, _) = push_encrypted(&c.app, APP_ID, &verdict(&trace, "pass")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(verdict_of(&c.app, "photo", &photo).await.as_deref(), Some("pending"), "nothing forged took");

    // WeChat's server verification: the right signature echoes echostr, another is refused.
    let sig = signature(&[PUSH_TOKEN, "1714037059", "486452656"]);
    let resp = c
        .app
        .client
        .get(
            c.app
                .url(&format!("/api/v1/wechat/push?signature={sig}&timestamp=1714037059&nonce=486452656&echostr=7219")),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.text().await.unwrap(), "7219");
    let (status, body) = c
        .app
        .get(&format!("/api/v1/wechat/push?signature={sig}&timestamp=1714037059&nonce=1&echostr=7219"), None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    crate::contract::assert_declared("wechat_push_verify", status, None, &body);

    // The real push, as WeChat repeats it, fifty at once: all acknowledged, decided once, and
    // the unit told once.
    let flagged = verdict(&trace, "risky");
    let pushes = (0..50).map(|_| push(&c.app, &flagged));
    for (status, body) in futures_util::future::join_all(pushes).await {
        assert_eq!((status, body), (StatusCode::OK, json!("success")));
    }
    assert_eq!(decided(&c.app, "photo", &photo).await, "risky");
    let (_, detail) = c.app.get(&format!("/api/v1/triage/reports/{report}"), Some(&c.clerks[1])).await;
    let notes = detail["timeline"].as_array().unwrap().iter().filter(|e| e["actor_role"] == "system").count();
    assert_eq!(notes, 1, "{detail}");
    c.app.stop().await;
}

#[tokio::test]
async fn an_encrypted_push_is_opened_and_applied_and_a_plaintext_one_refused() {
    let Waiting { c, reporter, report, photo, trace } = photo_waiting(true).await;

    // With an EncodingAESKey, a plaintext push is refused even when its signature is right: that
    // signature does not cover the body.
    let (status, body) = push(&c.app, &verdict(&trace, "pass")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    // Encrypted for another app: refused.
    let (status, _) = push_encrypted(&c.app, "wx-another-app", &verdict(&trace, "pass")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // An Encrypt that was altered on the way: its msg_signature no longer matches.
    let keys = PushKeys::new(PUSH_TOKEN, Some(AesKey::parse(AES_KEY).unwrap()), APP_ID);
    let (encrypt, msg_signature) =
        keys.seal(&verdict(&trace, "pass").to_string(), [1; 16], "1764150002", "99").unwrap();
    let altered = format!("{}{}", if encrypt.starts_with('A') { 'B' } else { 'A' }, &encrypt[1..]);
    let url = c.app.url(&format!(
        "/api/v1/wechat/push?timestamp=1764150002&nonce=99&encrypt_type=aes&msg_signature={msg_signature}"
    ));
    let (status, _) = c.app.send(c.app.client.post(url).json(&json!({ "Encrypt": altered }))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(verdict_of(&c.app, "photo", &photo).await.as_deref(), Some("pending"));

    // As WeChat sends it: decrypted, the app id checked, the verdict applied.
    let (status, body) = push_encrypted(&c.app, APP_ID, &verdict(&trace, "pass")).await;
    assert_eq!((status, body), (StatusCode::OK, json!("success")));
    assert_eq!(decided(&c.app, "photo", &photo).await, "pass");
    let (_, near) = c.app.get("/api/v1/reports/nearby?lat=30.27&lng=120.15&radius_m=500", Some(&reporter)).await;
    let item = &near["items"][0];
    assert_eq!(
        (item["id"].as_str(), item["photo_urls"][0]["id"].as_str()),
        (Some(report.as_str()), Some(photo.as_str()))
    );
    // An encrypted message in another data format (XML) is not taken silently.
    let (encrypt, msg_signature) = keys.seal("<xml><Event>wxa_media_check</Event></xml>", [2; 16], "3", "4").unwrap();
    let url =
        c.app.url(&format!("/api/v1/wechat/push?timestamp=3&nonce=4&encrypt_type=aes&msg_signature={msg_signature}"));
    let (status, body) = c.app.send(c.app.client.post(url).json(&json!({ "Encrypt": encrypt }))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    crate::contract::assert_declared("wechat_push", status, None, &body);
    c.app.stop().await;
}

#[tokio::test]
async fn a_verdict_for_an_unknown_trace_id_is_ignored_until_its_photo_turns_up() {
    let (fake, wechat) = spawn_wechat().await;
    let c = city_with(checked(&wechat, false)).await;
    let reporter = c.app.rider_token("openid-early").await;
    // No photo has trace-1 yet: acknowledged, nothing changes.
    let (status, body) = push(&c.app, &verdict("trace-1", "pass")).await;
    assert_eq!((status, body), (StatusCode::OK, json!("success")));
    let (status, _) = push(&c.app, &verdict("no-such-trace", "risky")).await;
    assert_eq!(status, StatusCode::OK);
    let checks: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM content_checks").fetch_one(&c.app.state.db.pool).await.unwrap();
    assert_eq!(checks, 0);
    // Other events are acknowledged and ignored.
    let (status, _) = push(&c.app, &json!({ "MsgType": "event", "Event": "debug_demo", "debug_str": "hello" })).await;
    assert_eq!(status, StatusCode::OK);

    // WeChat answered faster than the service recorded the trace id: the verdict waited for it.
    let (_, photo) = file_with_photo(&c, &reporter, 30.27, PASSING).await;
    assert_eq!(trace_of(&fake, &photo).await, "trace-1");
    assert_eq!(decided(&c.app, "photo", &photo).await, "pass");
    c.app.stop().await;
}

#[tokio::test]
async fn without_checks_the_public_sees_no_free_text_and_no_photos_at_all() {
    // The default outside WeChat (and in the tests): `content_check = off`.
    let c = city_with(Options::default()).await;
    assert_eq!(c.app.state.config.content.mode, xinhuoban::domain::content::ContentMode::Off);
    let reporter = c.app.rider_token("openid-off").await;
    let neighbour = c.app.rider_token("openid-off-neighbour").await;
    let clerk = &c.clerks[1];
    let (report, photo) = file_with_photo(&c, &reporter, 30.27, PASSING).await;
    assert!(act(&c.app, clerk, &report, json!({ "action": "accept" })).await.0.is_success());
    let (status, body) = c.app.post(&format!("/api/v1/reports/{report}/follow"), Some(&neighbour), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let doors = public_doors(&c, &neighbour, &[report.as_str()], &[photo.as_str()]).await;
    assert_nowhere(&doors, &[PASSING, &photo]);
    let (_, near) = c.app.get("/api/v1/reports/nearby?lat=30.27&lng=120.15&radius_m=500", Some(&neighbour)).await;
    let item = &near["items"][0];
    assert_eq!(item["id"], json!(report));
    assert!(item.get("description").is_none() && item["photo_urls"] == json!([]), "{item}");
    let (_, open311) = c.app.get(&format!("/open311/v2/requests/{report}.json"), None).await;
    assert_eq!((&open311[0]["description"], &open311[0]["media_url"]), (&Value::Null, &Value::Null));
    // Nothing was sent anywhere, and the unit reads everything.
    let queued: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE kind LIKE 'wechat_m%'")
        .fetch_one(&c.app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(queued, 0);
    let (_, detail) = c.app.get(&format!("/api/v1/triage/reports/{report}"), Some(clerk)).await;
    assert_eq!((detail["description"].as_str(), &detail["content_checks"]), (Some(PASSING), &json!([])));
    c.app.stop().await;
}

#[tokio::test]
async fn the_reporters_reopen_reason_reaches_the_unit_and_no_other_rider() {
    let options = Options { extra: vec![("XHB_NOTIFY_REPORT_TEMPLATE_ID", "tmpl-progress".into())] };
    let c = city_with(options).await;
    let reporter = c.app.rider_token("openid-reopener").await;
    let neighbour = c.app.rider_token("openid-reopen-neighbour").await;
    c.app.consent(&neighbour, "tmpl-progress", 5).await;
    let clerk = &c.clerks[1];
    let id = file_ok(&c.app, &reporter, report_at("road_damage", 30.27, 120.15)).await;
    let (status, _) = file(&c.app, &neighbour, report_at("road_damage", 30.27001, 120.15)).await;
    assert_eq!(status, StatusCode::OK, "a \"me too\"");
    assert!(act(&c.app, clerk, &id, json!({ "action": "accept" })).await.0.is_success());
    assert!(act(&c.app, clerk, &id, json!({ "action": "resolve" })).await.0.is_success());
    let reason = "楼下又塌了，物业说不归他们管";
    let (status, body) =
        c.app.post(&format!("/api/v1/reports/{id}/reopen"), Some(&reporter), json!({ "reason": reason })).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // The neighbour is told the report is open again, not why; nor does their view say it.
    let messages: Vec<String> = sqlx::query_scalar("SELECT payload_json FROM outbox WHERE kind = 'wechat_subscribe'")
        .fetch_all(&c.app.state.db.pool)
        .await
        .unwrap();
    assert!(messages.iter().any(|m| m.contains("已重启")), "{messages:?}");
    assert!(messages.iter().all(|m| !m.contains(reason)), "{messages:?}");
    let (_, seen) = c.app.get(&format!("/api/v1/reports/{id}"), Some(&neighbour)).await;
    assert!(!seen.to_string().contains(reason), "{seen}");
    // The unit reads it.
    let (_, detail) = c.app.get(&format!("/api/v1/triage/reports/{id}"), Some(clerk)).await;
    assert!(detail.to_string().contains(reason), "{detail}");
    c.app.stop().await;
}

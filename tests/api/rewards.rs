//! The points supermarket (积分超市): stations and the city put rewards on the shelf, riders redeem
//! them for points and pick them up with a one-time code, cancel, or let them expire. Nobody
//! takes more than the shelf holds, spends more than they have, or is refunded twice.

use reqwest::StatusCode;
use serde_json::{Value, json};
use xinhuoban::domain::identity::Role;
use xinhuoban::domain::time::Millis;

use crate::helpers::*;
use crate::races::{all_at_once, tally};
use crate::reports::{account_id, add_media};

/// A city admin and two stations, 王's and 李's, each kept by its own manager.
struct Shop {
    app: TestApp,
    admin: String,
    wang: String,
    li: String,
    wangs_place: String,
    lis_place: String,
}

async fn shop() -> Shop {
    shop_with(Options::default()).await
}

async fn shop_with(options: Options) -> Shop {
    let app = spawn_app_with(options).await;
    let admin = app.admin_token().await;
    let wangs_place = station(&app, &admin, "王的驿站", 30.27, 120.16).await;
    let lis_place = station(&app, &admin, "李的驿站", 30.30, 120.16).await;
    for (name, place) in [("wang", &wangs_place), ("lisi", &lis_place)] {
        let id = app.create_staff(name, Role::StationManager, None).await;
        let path = format!("/api/v1/admin/places/{place}/managers");
        let (status, body) = app.put(&path, Some(&admin), json!({ "account_ids": [id] })).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let (wang, li) = (app.staff_token("wang").await, app.staff_token("lisi").await);
    Shop { app, admin, wang, li, wangs_place, lis_place }
}

async fn station(app: &TestApp, admin: &str, name: &str, lat: f64, lng: f64) -> String {
    let body =
        json!({ "kind": "station", "name": name, "address": "某路1号", "lat": lat, "lng": lng, "hours": "24/7" });
    let (status, place) = app.post("/api/v1/admin/places", Some(admin), body).await;
    assert_eq!(status, StatusCode::OK, "{place}");
    place["id"].as_str().unwrap().to_string()
}

fn rfc3339(at: Millis) -> String {
    at.to_utc().to_rfc3339()
}

/// A reward on the shelf since an hour ago for a month, picked up within three days.
fn offer(place: &str, name: &str, cost: i64, stock: i64) -> Value {
    json!({
        "place_id": place, "name": name, "cost": cost, "stock": stock,
        "valid_from": rfc3339(Millis::now().plus_secs(-3600)),
        "valid_until": rfc3339(Millis::now().plus_secs(30 * 86_400)),
        "pickup_secs": 3 * 86_400,
    })
}

async fn put_on_shelf(app: &TestApp, token: &str, body: Value) -> String {
    let (status, reward) = app.post("/api/v1/rewards", Some(token), body).await;
    assert_eq!(status, StatusCode::CREATED, "{reward}");
    reward["id"].as_str().unwrap().to_string()
}

/// A rider, logged in, awarded `points` by the admin for volunteer work; their token and id.
async fn rider_with(app: &TestApp, admin: &str, name: &str, points: i64) -> (String, String) {
    let token = app.rider_token(name).await;
    let id = account_id(app, &token).await;
    let mut left = points;
    while left > 0 {
        let amount = left.min(20);
        let award = json!({ "rider_id": id, "amount": amount, "reason": "志愿服务" });
        let (status, body) = app.post("/api/v1/points/awards", Some(admin), award).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        left -= amount;
    }
    (token, id)
}

fn redeem(app: &TestApp, token: &str, reward: &str, key: &str) -> reqwest::RequestBuilder {
    let url = app.url(&format!("/api/v1/rewards/{reward}/redeem"));
    app.client.post(url).bearer_auth(token).header("Idempotency-Key", key)
}

async fn redeem_ok(app: &TestApp, token: &str, reward: &str) -> Value {
    let (status, body) = app.send(redeem(app, token, reward, &xinhuoban::store::new_id())).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body
}

async fn balance(app: &TestApp, rider_id: &str) -> i64 {
    sqlx::query_scalar("SELECT COALESCE(MAX(balance), 0) FROM point_accounts WHERE rider_id = $1")
        .bind(rider_id)
        .fetch_one(&app.state.db.pool)
        .await
        .expect("balance")
}

async fn stock(app: &TestApp, reward: &str) -> i64 {
    let (status, body) = app.get(&format!("/api/v1/rewards/{reward}"), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["stock"].as_i64().unwrap()
}

async fn count(app: &TestApp, sql: &str, id: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string()))
        .bind(id)
        .fetch_one(&app.state.db.pool)
        .await
        .expect("count")
}

async fn redemptions_of(app: &TestApp, reward: &str) -> i64 {
    count(app, "SELECT COUNT(*) FROM redemptions WHERE reward_id = $1", reward).await
}

/// Every balance is the sum of its rider's ledger entries, and none is below zero.
async fn assert_ledger_consistent(app: &TestApp) {
    let rows: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT a.rider_id, a.balance, \
         COALESCE((SELECT CAST(SUM(e.amount) AS BIGINT) FROM point_entries e WHERE e.rider_id = a.rider_id), 0) \
         FROM point_accounts a",
    )
    .fetch_all(&app.state.db.pool)
    .await
    .expect("balances");
    assert!(!rows.is_empty());
    for (rider, balance, sum) in rows {
        assert!(balance >= 0, "{rider} is at {balance}");
        assert_eq!(balance, sum, "{rider}'s balance is not the sum of their ledger");
    }
}

/// Why a redemption is refused: its 409's code.
async fn refusal(app: &TestApp, token: &str, reward: &str) -> String {
    let (status, body) = app.send(redeem(app, token, reward, &xinhuoban::store::new_id())).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    error_code(&body).to_string()
}

/// Every answer that is not `ok` is a refusal with `code`.
fn others_refused_with(answers: &[crate::races::Answer], ok: StatusCode, code: &str) -> bool {
    answers.iter().filter(|a| a.status != ok).all(|a| error_code(&a.body) == code)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_riders_rush_a_shelf_of_ten_and_exactly_ten_take_one() {
    let s = shop().await;
    let app = &s.app;
    let water = put_on_shelf(app, &s.wang, offer(&s.wangs_place, "矿泉水一箱", 5, 10)).await;
    let mut riders = Vec::new();
    for i in 0..50 {
        riders.push(rider_with(app, &s.admin, &format!("rush-{i}"), 5).await);
    }

    let answers = all_at_once(riders.iter().map(|(token, _)| redeem(app, token, &water, "rush")).collect()).await;

    assert_eq!(tally(&answers, StatusCode::CREATED), 10);
    assert_eq!(tally(&answers, StatusCode::CONFLICT), 40);
    assert!(others_refused_with(&answers, StatusCode::CREATED, "out_of_stock"));
    assert_eq!(stock(app, &water).await, 0);
    assert_eq!(redemptions_of(app, &water).await, 10);
    let mut codes: Vec<&str> =
        answers.iter().filter(|a| a.status == StatusCode::CREATED).map(|a| a.body["code"].as_str().unwrap()).collect();
    codes.sort_unstable();
    codes.dedup();
    assert_eq!(codes.len(), 10, "every redemption has its own code");
    let mut spent = 0;
    for (_, id) in &riders {
        let left = balance(app, id).await;
        assert!(left == 0 || left == 5, "{left}");
        spent += 5 - left;
    }
    assert_eq!(spent, 10 * 5, "the ten who got one paid, nobody else did");
    assert_ledger_consistent(app).await;
    s.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_rider_with_points_for_three_tapping_twenty_times_gets_three() {
    let s = shop().await;
    let app = &s.app;
    let meal = put_on_shelf(app, &s.admin, offer(&s.wangs_place, "爱心午餐", 10, 100)).await;
    let (zhang, zhang_id) = rider_with(app, &s.admin, "zhang", 30).await;

    let taps = (0..20).map(|i| redeem(app, &zhang, &meal, &format!("tap-{i}"))).collect();
    let answers = all_at_once(taps).await;

    assert_eq!(tally(&answers, StatusCode::CREATED), 3);
    assert_eq!(tally(&answers, StatusCode::CONFLICT), 17);
    assert!(others_refused_with(&answers, StatusCode::CREATED, "insufficient_points"));
    assert_eq!(balance(app, &zhang_id).await, 0);
    assert_eq!(stock(app, &meal).await, 97, "the refused ones took nothing off the shelf");
    assert_eq!(redemptions_of(app, &meal).await, 3);
    let (_, mine) = app.get("/api/v1/me/redemptions", Some(&zhang)).await;
    assert_eq!(mine["items"].as_array().unwrap().len(), 3);
    assert_ledger_consistent(app).await;
    s.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_retried_redemption_is_the_same_redemption() {
    let s = shop().await;
    let app = &s.app;
    let towel = put_on_shelf(app, &s.wang, offer(&s.wangs_place, "毛巾", 10, 5)).await;
    let soap = put_on_shelf(app, &s.wang, offer(&s.wangs_place, "香皂", 10, 5)).await;
    let (wu, wu_id) = rider_with(app, &s.admin, "wu", 40).await;

    let (status, first) = app.send(redeem(app, &wu, &towel, "wu-towel")).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let (status, again) = app.send(redeem(app, &wu, &towel, "wu-towel")).await;
    assert_eq!((status, &again["id"], &again["code"]), (StatusCode::CREATED, &first["id"], &first["code"]));
    // Twenty retries at once of a second redemption: still one.
    let answers = all_at_once((0..20).map(|_| redeem(app, &wu, &towel, "wu-towel-2")).collect()).await;
    assert_eq!(tally(&answers, StatusCode::CREATED), 20);
    let ids: std::collections::HashSet<&str> = answers.iter().map(|a| a.body["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 1);
    assert_ne!(ids.iter().next().copied(), first["id"].as_str());
    assert_eq!((redemptions_of(app, &towel).await, stock(app, &towel).await, balance(app, &wu_id).await), (2, 3, 20));
    // The same key for another reward is another request.
    let (status, body) = app.send(redeem(app, &wu, &soap, "wu-towel")).await;
    assert_eq!((status, error_code(&body)), (StatusCode::CONFLICT, "idempotency_key_reused"));
    // Another rider's key is their own.
    let (li, _) = rider_with(app, &s.admin, "li-rider", 10).await;
    let (status, theirs) = app.send(redeem(app, &li, &towel, "wu-towel")).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_ne!(theirs["id"], first["id"]);
    assert_ledger_consistent(app).await;
    s.app.stop().await;
}

#[tokio::test]
async fn too_few_points_redeem_nothing_and_change_nothing() {
    let s = shop().await;
    let app = &s.app;
    let helmet = put_on_shelf(app, &s.admin, offer(&s.wangs_place, "头盔", 50, 3)).await;
    let (zhao, zhao_id) = rider_with(app, &s.admin, "zhao", 49).await;
    let (status, body) = app.send(redeem(app, &zhao, &helmet, "k")).await;
    assert_eq!((status, error_code(&body)), (StatusCode::CONFLICT, "insufficient_points"));
    assert!(body["message"].as_str().unwrap().contains("积分不足"), "{body}");
    assert_eq!(
        (balance(app, &zhao_id).await, stock(app, &helmet).await, redemptions_of(app, &helmet).await),
        (49, 3, 0)
    );
    let spent = count(app, "SELECT COUNT(*) FROM point_entries WHERE rider_id = $1 AND rule = 'redemption'", &zhao_id);
    assert_eq!(spent.await, 0);
    // A rider who never earned a point has nothing to spend either.
    let newcomer = app.rider_token("newcomer").await;
    let (status, body) = app.send(redeem(app, &newcomer, &helmet, "k")).await;
    assert_eq!((status, error_code(&body)), (StatusCode::CONFLICT, "insufficient_points"));
    // Only riders redeem; no such reward is 404.
    let (status, _) = app.send(redeem(app, &s.wang, &helmet, "k")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app.send(redeem(app, &zhao, "0192f0c0-0000-7000-8000-000000000000", "k2")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    s.app.stop().await;
}

#[tokio::test]
async fn the_station_hands_out_a_code_once_and_only_its_own() {
    let s = shop_with(Options { extra: vec![("XHB_NOTIFY_REDEMPTION_TEMPLATE_ID", "tmpl-redemption".into())] }).await;
    let app = &s.app;
    let water = put_on_shelf(app, &s.wang, offer(&s.wangs_place, "矿泉水一箱", 10, 5)).await;
    let (sun, sun_id) = rider_with(app, &s.admin, "sun", 20).await;
    app.consent(&sun, "tmpl-redemption", 1).await;
    let redemption = redeem_ok(app, &sun, &water).await;
    let code = redemption["code"].as_str().unwrap().to_string();
    assert_eq!((code.len(), redemption["status"].as_str()), (10, Some("pending")));
    assert_eq!(
        (redemption["reward_name"].as_str(), redemption["place_name"].as_str()),
        (Some("矿泉水一箱"), Some("王的驿站"))
    );
    assert_eq!(redemption["cost"], 10);

    let at_wangs = format!("/api/v1/places/{}/pickups", s.wangs_place);
    let at_lis = format!("/api/v1/places/{}/pickups", s.lis_place);
    // 李 may not confirm at 王's station, and at his own the code is not one of his.
    let (status, body) = app.post(&at_wangs, Some(&s.li), json!({ "code": code })).await;
    assert_eq!((status, error_code(&body)), (StatusCode::FORBIDDEN, "forbidden"));
    let (status, body) = app.post(&at_lis, Some(&s.li), json!({ "code": code })).await;
    assert_eq!((status, error_code(&body)), (StatusCode::NOT_FOUND, "not_found"));
    // Riders and clerks confirm nothing; a code that is no code is 400; an unknown one 404.
    let (status, _) = app.post(&at_wangs, Some(&sun), json!({ "code": code })).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let office = app.create_office("城关街道").await;
    app.create_staff("clerk", Role::Clerk, Some(&office)).await;
    let clerk = app.staff_token("clerk").await;
    let (status, _) = app.post(&at_wangs, Some(&clerk), json!({ "code": code })).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = app.post(&at_wangs, Some(&s.wang), json!({ "code": "12345" })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let unknown = if code == "0000000000" { "0000000001" } else { "0000000000" };
    let (status, _) = app.post(&at_wangs, Some(&s.wang), json!({ "code": unknown })).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app
        .post("/api/v1/places/0192f0c0-0000-7000-8000-000000000000/pickups", Some(&s.wang), json!({ "code": code }))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // The manager sees what waits at the counter, never the code nor who redeemed.
    let (status, waiting) =
        app.get(&format!("/api/v1/places/{}/redemptions?status=pending", s.wangs_place), Some(&s.wang)).await;
    assert_eq!(status, StatusCode::OK, "{waiting}");
    assert_eq!(waiting["items"].as_array().unwrap().len(), 1);
    assert!(!waiting.to_string().contains(&code) && !waiting.to_string().contains(&sun_id), "{waiting}");
    let (status, _) = app.get(&format!("/api/v1/places/{}/redemptions", s.wangs_place), Some(&s.li)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // 王 confirms it, read aloud with a space; the second time it is refused, in parallel too.
    let spaced = format!("{} {}", &code[..5], &code[5..]);
    let answers = all_at_once(
        (0..10)
            .map(|_| app.client.post(app.url(&at_wangs)).bearer_auth(&s.wang).json(&json!({ "code": spaced })))
            .collect(),
    )
    .await;
    assert_eq!(tally(&answers, StatusCode::OK), 1);
    assert!(others_refused_with(&answers, StatusCode::OK, "already_picked_up"));
    let handed = &answers.iter().find(|a| a.status == StatusCode::OK).unwrap().body;
    assert_eq!((handed["status"].as_str(), handed["reward_name"].as_str()), (Some("picked_up"), Some("矿泉水一箱")));
    assert!(handed.get("code").is_none());
    let (status, body) = app.post(&at_wangs, Some(&s.admin), json!({ "code": code })).await;
    assert_eq!((status, error_code(&body)), (StatusCode::CONFLICT, "already_picked_up"));

    // The rider sees it picked up, cannot cancel it now, and is told.
    let (_, mine) =
        app.get(&format!("/api/v1/me/redemptions/{}", redemption["id"].as_str().unwrap()), Some(&sun)).await;
    assert_eq!(mine["status"], "picked_up");
    assert!(mine["picked_up_at"].is_string());
    let cancel = format!("/api/v1/me/redemptions/{}/cancel", redemption["id"].as_str().unwrap());
    let (status, body) = app.post(&cancel, Some(&sun), json!({})).await;
    assert_eq!((status, error_code(&body)), (StatusCode::CONFLICT, "already_picked_up"));
    assert_eq!(balance(app, &sun_id).await, 10, "picked up: the points stay spent");
    let told = count(app, "SELECT COUNT(*) FROM outbox WHERE payload_json LIKE $1", "%已领取%").await;
    assert_eq!(told, 1);
    assert_eq!(app.audit_entries("redemption.pickup").await, 1);

    // A city admin confirms at any station.
    let second = redeem_ok(app, &sun, &water).await;
    let (status, _) = app.post(&at_wangs, Some(&s.admin), json!({ "code": second["code"] })).await;
    assert_eq!(status, StatusCode::OK);
    s.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_rider_cancels_before_pickup_and_gets_points_and_stock_back_once() {
    let s = shop().await;
    let app = &s.app;
    let towel = put_on_shelf(app, &s.wang, offer(&s.wangs_place, "毛巾", 15, 2)).await;
    let (qian, qian_id) = rider_with(app, &s.admin, "qian", 20).await;
    let redemption = redeem_ok(app, &qian, &towel).await;
    let id = redemption["id"].as_str().unwrap();
    assert_eq!((balance(app, &qian_id).await, stock(app, &towel).await), (5, 1));

    // Another rider neither sees nor cancels it.
    let other = app.rider_token("other").await;
    let (status, _) = app.get(&format!("/api/v1/me/redemptions/{id}"), Some(&other)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let cancel = format!("/api/v1/me/redemptions/{id}/cancel");
    let (status, _) = app.post(&cancel, Some(&other), json!({})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Ten taps on cancel at once: one cancels, the rest are told it is closed.
    let answers = all_at_once((0..10).map(|_| app.client.post(app.url(&cancel)).bearer_auth(&qian)).collect()).await;
    assert_eq!(tally(&answers, StatusCode::OK), 1);
    assert!(others_refused_with(&answers, StatusCode::OK, "redemption_closed"));
    let (_, mine) = app.get(&format!("/api/v1/me/redemptions/{id}"), Some(&qian)).await;
    assert_eq!(mine["status"], "cancelled");
    assert_eq!((balance(app, &qian_id).await, stock(app, &towel).await), (20, 2), "refunded once");
    let refunds =
        count(app, "SELECT COUNT(*) FROM point_entries WHERE object_id = $1 AND rule = 'redemption_refund'", id);
    assert_eq!(refunds.await, 1);
    // Its code is void at the counter.
    let (status, body) = app
        .post(
            &format!("/api/v1/places/{}/pickups", s.wangs_place),
            Some(&s.wang),
            json!({ "code": redemption["code"] }),
        )
        .await;
    assert_eq!((status, error_code(&body)), (StatusCode::CONFLICT, "redemption_closed"));
    assert_ledger_consistent(app).await;
    s.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_unclaimed_redemption_expires_and_its_points_and_stock_come_back() {
    let s = shop_with(Options { extra: vec![("XHB_NOTIFY_REDEMPTION_TEMPLATE_ID", "tmpl-redemption".into())] }).await;
    let app = &s.app;
    let mut body = offer(&s.wangs_place, "雨衣", 8, 1);
    body["pickup_secs"] = json!(3600);
    let raincoat = put_on_shelf(app, &s.wang, body).await;
    let (zhou, zhou_id) = rider_with(app, &s.admin, "zhou", 8).await;
    app.consent(&zhou, "tmpl-redemption", 1).await;
    let redemption = redeem_ok(app, &zhou, &raincoat).await;
    let id = redemption["id"].as_str().unwrap();
    assert_eq!((balance(app, &zhou_id).await, stock(app, &raincoat).await), (0, 0));
    let expires: chrono::DateTime<chrono::Utc> = redemption["expires_at"].as_str().unwrap().parse().unwrap();
    let created: chrono::DateTime<chrono::Utc> = redemption["created_at"].as_str().unwrap().parse().unwrap();
    assert_eq!((expires - created).num_seconds(), 3600);

    let ctx = app.state.rewards();
    let expire = xinhuoban::service::rewards::expire_due;
    assert_eq!(expire(&ctx, Millis::now()).await.unwrap(), 0, "not due yet");
    // Two hours later, two nodes sweep at once: it expires once.
    let later = Millis::now().plus_secs(2 * 3600);
    let (a, b) = tokio::join!(expire(&ctx, later), expire(&ctx, later));
    assert_eq!(a.unwrap() + b.unwrap(), 1);
    assert_eq!(expire(&ctx, later).await.unwrap(), 0);

    let (_, mine) = app.get(&format!("/api/v1/me/redemptions/{id}"), Some(&zhou)).await;
    assert_eq!(mine["status"], "expired");
    assert_eq!((balance(app, &zhou_id).await, stock(app, &raincoat).await), (8, 1));
    let told = count(app, "SELECT COUNT(*) FROM outbox WHERE payload_json LIKE $1", "%已过期%").await;
    assert_eq!(told, 1);
    let (status, body) = app
        .post(&format!("/api/v1/places/{}/pickups", s.wangs_place), Some(&s.wang), json!({ "code": mine["code"] }))
        .await;
    assert_eq!((status, error_code(&body)), (StatusCode::CONFLICT, "redemption_closed"));
    let (status, body) = app.post(&format!("/api/v1/me/redemptions/{id}/cancel"), Some(&zhou), json!({})).await;
    assert_eq!((status, error_code(&body)), (StatusCode::CONFLICT, "redemption_closed"));
    // The stock that came back can be redeemed again.
    redeem_ok(app, &zhou, &raincoat).await;
    assert_ledger_consistent(app).await;
    s.app.stop().await;
}

#[tokio::test]
async fn a_withdrawn_reward_or_one_outside_its_window_is_closed() {
    let s = shop().await;
    let app = &s.app;
    let (ma, ma_id) = rider_with(app, &s.admin, "ma", 40).await;
    let mut body = offer(&s.wangs_place, "下月的奖品", 5, 5);
    body["valid_from"] = json!(rfc3339(Millis::now().plus_secs(86_400)));
    let later = put_on_shelf(app, &s.wang, body).await;
    let gloves = put_on_shelf(app, &s.wang, offer(&s.wangs_place, "手套", 5, 5)).await;
    let empty = put_on_shelf(app, &s.wang, offer(&s.wangs_place, "已兑完", 5, 0)).await;

    assert_eq!(refusal(app, &ma, &later).await, "reward_closed");
    assert_eq!(refusal(app, &ma, &empty).await, "out_of_stock");

    // Withdrawn: closed, and off the list; back on the shelf: redeemable again.
    let path = format!("/api/v1/rewards/{gloves}");
    let (status, changed) = app.patch(&path, Some(&s.wang), json!({ "withdrawn": true })).await;
    assert_eq!(
        (status, changed["withdrawn"].as_bool(), changed["open"].as_bool()),
        (StatusCode::OK, Some(true), Some(false))
    );
    assert_eq!(refusal(app, &ma, &gloves).await, "reward_closed");
    let (_, list) = app.get("/api/v1/rewards?lat=30.27&lng=120.16", None).await;
    let listed: Vec<&str> = list["items"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(listed, [empty.as_str()], "only what is offered now, out of stock or not");
    let (status, _) = app.patch(&path, Some(&s.wang), json!({ "withdrawn": false })).await;
    assert_eq!(status, StatusCode::OK);
    redeem_ok(app, &ma, &gloves).await;

    // Past its window: closed.
    let window = json!({ "valid_from": rfc3339(Millis::now().plus_secs(-7200)), "valid_until": rfc3339(Millis::now().plus_secs(-60)) });
    let (status, body) = app.patch(&path, Some(&s.wang), window).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(refusal(app, &ma, &gloves).await, "reward_closed");
    // Its pickup place removed: closed.
    let (status, _) = app.delete(&format!("/api/v1/admin/places/{}", s.wangs_place), Some(&s.admin)).await;
    assert!(status.is_success());
    assert_eq!(refusal(app, &ma, &empty).await, "reward_closed");
    assert_eq!(balance(app, &ma_id).await, 35, "only the gloves were paid for");
    s.app.stop().await;
}

#[tokio::test]
async fn rewards_are_listed_nearest_pickup_place_first() {
    let s = shop().await;
    let app = &s.app;
    let far = station(app, &s.admin, "远处的驿站", 30.40, 120.16).await;
    // 李's station is 3.3 km north of 王's; the far one 14 km.
    let near_reward = put_on_shelf(app, &s.wang, offer(&s.wangs_place, "近", 5, 1)).await;
    let mid_reward = put_on_shelf(app, &s.li, offer(&s.lis_place, "中", 5, 1)).await;
    let far_reward = put_on_shelf(app, &s.admin, offer(&far, "远", 5, 1)).await;
    let second_near = put_on_shelf(app, &s.admin, offer(&s.wangs_place, "近二", 5, 1)).await;

    let (status, page) = app.get("/api/v1/rewards?lat=30.2701&lng=120.16&limit=2", None).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let ids = |page: &Value| -> Vec<String> {
        page["items"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap().to_string()).collect()
    };
    let mut nearest = vec![near_reward.clone(), second_near.clone()];
    nearest.sort();
    assert_eq!(ids(&page), nearest, "the two at 王's, ties in id order");
    let first = &page["items"][0];
    assert_eq!((first["distance_m"].as_i64(), first["place"]["coord"].as_str()), (Some(11), Some("gcj02")));
    assert_eq!(first["place"]["name"], "王的驿站");
    let cursor = page["next_cursor"].as_str().unwrap();
    let (_, rest) = app.get(&format!("/api/v1/rewards?lat=30.2701&lng=120.16&limit=2&cursor={cursor}"), None).await;
    assert_eq!(ids(&rest), [mid_reward.clone(), far_reward.clone()]);
    assert!(rest.get("next_cursor").is_none());
    let d: Vec<i64> = rest["items"].as_array().unwrap().iter().map(|r| r["distance_m"].as_i64().unwrap()).collect();
    assert!(d[0] > 3_000 && d[0] < d[1], "{d:?}");

    // From the far end, in WGS-84: the far one first, its place in WGS-84.
    let (_, page) = app.get("/api/v1/rewards?lat=30.40&lng=120.155&coord=wgs84", None).await;
    assert_eq!(ids(&page)[0], far_reward);
    assert_eq!(page["items"][0]["place"]["coord"], "wgs84");
    assert!((page["items"][0]["place"]["lng"].as_f64().unwrap() - 120.155).abs() < 0.001);
    let (status, body) = app.get("/api/v1/rewards?lat=91&lng=120", None).await;
    assert_eq!((status, error_code(&body)), (StatusCode::BAD_REQUEST, "invalid_parameter"));
    s.app.stop().await;
}

#[tokio::test]
async fn stations_offer_rewards_at_their_own_places_and_the_city_anywhere() {
    let s = shop().await;
    let app = &s.app;
    // 王 offers at his station: the station's reward, audited.
    let mut body = offer(&s.wangs_place, " 充电宝租借券 ", 20, 10);
    let wang_id = account_id(app, &s.wang).await;
    let photo = add_media(app, &wang_id).await;
    body["photo_media_id"] = json!(photo);
    body["description"] = json!("驿站前台凭码领取");
    let (status, reward) = app.post("/api/v1/rewards", Some(&s.wang), body.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{reward}");
    assert_eq!((reward["offered_by"].as_str(), reward["name"].as_str()), (Some("station"), Some("充电宝租借券")));
    assert_eq!((reward["open"].as_bool(), reward["withdrawn"].as_bool()), (Some(true), Some(false)));
    assert_eq!(reward["photo"]["id"], photo.as_str());
    assert!(reward["photo"]["url"].as_str().unwrap().contains("/signed?exp="), "{reward}");
    let id = reward["id"].as_str().unwrap();
    // Not at 李's, nor with 李's photo; clerks and riders offer nothing.
    body["place_id"] = json!(s.lis_place);
    let (status, _) = app.post("/api/v1/rewards", Some(&s.wang), body.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let mut theirs = offer(&s.lis_place, "李的", 5, 1);
    theirs["photo_media_id"] = json!(photo);
    let (status, body_) = app.post("/api/v1/rewards", Some(&s.li), theirs).await;
    assert_eq!((status, body_["details"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("photo_media_id")));
    let office = app.create_office("城关街道").await;
    app.create_staff("clerk", Role::Clerk, Some(&office)).await;
    let clerk = app.staff_token("clerk").await;
    let (status, _) = app.post("/api/v1/rewards", Some(&clerk), offer(&s.wangs_place, "x", 5, 1)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let rider = app.rider_token("nosy").await;
    let (status, _) = app.post("/api/v1/rewards", Some(&rider), offer(&s.wangs_place, "x", 5, 1)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // The city offers at any station; an unknown place, a zero cost or a reversed window are 400.
    let (status, city) = app.post("/api/v1/rewards", Some(&s.admin), offer(&s.lis_place, "城市奖品", 5, 1)).await;
    assert_eq!((status, city["offered_by"].as_str()), (StatusCode::CREATED, Some("city")));
    let (status, body_) =
        app.post("/api/v1/rewards", Some(&s.admin), offer("0192f0c0-0000-7000-8000-000000000000", "x", 5, 1)).await;
    assert_eq!((status, body_["details"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("place_id")));
    let (status, _) = app.post("/api/v1/rewards", Some(&s.admin), offer(&s.lis_place, "x", 0, 1)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let mut reversed = offer(&s.lis_place, "x", 5, 1);
    reversed["valid_until"] = json!(rfc3339(Millis::now().plus_secs(-7200)));
    let (status, body_) = app.post("/api/v1/rewards", Some(&s.admin), reversed).await;
    assert_eq!((status, body_["details"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("valid_until")));

    // Changes: 王 restocks and drops the photo; 李 may not touch it; the admin may.
    let path = format!("/api/v1/rewards/{id}");
    let (status, changed) = app.patch(&path, Some(&s.wang), json!({ "stock": 40, "photo_media_id": "" })).await;
    assert_eq!((status, changed["stock"].as_i64()), (StatusCode::OK, Some(40)), "{changed}");
    assert!(changed.get("photo").is_none());
    let (status, _) = app.patch(&path, Some(&s.li), json!({ "stock": 0 })).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, changed) = app.patch(&path, Some(&s.admin), json!({ "cost": 25 })).await;
    assert_eq!((status, changed["cost"].as_i64(), changed["stock"].as_i64()), (StatusCode::OK, Some(25), Some(40)));
    let (status, _) =
        app.patch("/api/v1/rewards/0192f0c0-0000-7000-8000-000000000000", Some(&s.admin), json!({ "cost": 1 })).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app.patch(&path, Some(&s.admin), json!({ "stock": -1 })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!((app.audit_entries("reward.create").await, app.audit_entries("reward.update").await), (2, 2));
    s.app.stop().await;
}

#[tokio::test]
async fn a_riders_copy_holds_their_redemptions_and_erasure_keeps_the_record_without_them() {
    let s = shop().await;
    let app = &s.app;
    let water = put_on_shelf(app, &s.wang, offer(&s.wangs_place, "矿泉水一箱", 10, 5)).await;
    let (feng, feng_id) = rider_with(app, &s.admin, "feng", 20).await;
    let picked = redeem_ok(app, &feng, &water).await;
    let pending = redeem_ok(app, &feng, &water).await;
    let path = format!("/api/v1/places/{}/pickups", s.wangs_place);
    let (status, _) = app.post(&path, Some(&s.wang), json!({ "code": picked["code"] })).await;
    assert_eq!(status, StatusCode::OK);

    let (status, data) = app.get("/api/v1/me/data", Some(&feng)).await;
    assert_eq!(status, StatusCode::OK, "{data}");
    let held: Vec<(&str, &str)> = data["redemptions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["id"].as_str().unwrap(), r["status"].as_str().unwrap()))
        .collect();
    assert_eq!(held, [(pending["id"].as_str().unwrap(), "pending"), (picked["id"].as_str().unwrap(), "picked_up")]);

    let (status, body) = app.delete("/api/v1/me", Some(&feng)).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    // The station's record stays, by nobody; what waited is cancelled and back on the shelf.
    let kept = count(app, "SELECT COUNT(*) FROM redemptions WHERE reward_id = $1", &water).await;
    let theirs = count(app, "SELECT COUNT(*) FROM redemptions WHERE rider_id = $1", &feng_id).await;
    assert_eq!((kept, theirs), (2, 0));
    assert_eq!(stock(app, &water).await, 4);
    let (status, body) = app.post(&path, Some(&s.wang), json!({ "code": pending["code"] })).await;
    assert_eq!((status, error_code(&body)), (StatusCode::CONFLICT, "redemption_closed"));
    s.app.stop().await;
}

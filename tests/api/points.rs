//! Governance points as riders, clerks and admins live them: reports pay when their unit accepts
//! and resolves them, the first "me too" is thanked, ratings and check-ins pay a little; each rule
//! pays once whatever the retries and races; a false or duplicate report gives back what it paid;
//! the daily caps turn at the city's midnight; rankings count only what was kept and name only
//! those who chose to be named.

use chrono::TimeZone;
use futures_util::future::join_all;
use reqwest::StatusCode;
use serde_json::{Value, json};
use xinhuoban::domain::points::{PointObject, PointRule};
use xinhuoban::domain::time::Millis;
use xinhuoban::service::points::Grant;

use crate::helpers::*;
use crate::reports::{account_id, act, city, city_with, file, file_ok, name_rider as name, report_at};

/// A rider's balance, this month's points and ledger (newest first).
async fn points(app: &TestApp, rider: &str) -> Value {
    let (status, body) = app.get("/api/v1/me/points?limit=100", Some(rider)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

async fn balance(app: &TestApp, rider: &str) -> i64 {
    points(app, rider).await["balance"].as_i64().expect("balance")
}

/// The rules of a rider's entries, oldest first, with what each paid.
async fn ledger(app: &TestApp, rider: &str) -> Vec<(String, i64)> {
    let body = points(app, rider).await;
    let mut entries: Vec<(String, i64)> = body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|e| (e["rule"].as_str().unwrap_or_default().to_string(), e["amount"].as_i64().unwrap_or_default()))
        .collect();
    entries.reverse();
    entries
}

fn entries(list: &[(&str, i64)]) -> Vec<(String, i64)> {
    list.iter().map(|(r, a)| (r.to_string(), *a)).collect()
}

async fn award(app: &TestApp, staff: &str, rider_id: &str, amount: i64, key: Option<&str>) -> (StatusCode, Value) {
    let mut req = app.client.post(app.url("/api/v1/points/awards")).bearer_auth(staff);
    if let Some(key) = key {
        req = req.header("Idempotency-Key", key);
    }
    app.send(req.json(&json!({ "rider_id": rider_id, "amount": amount, "reason": "协助维持驿站秩序" }))).await
}

/// The street office in the middle band (120.14–120.18) gets reports at 120.16: `clerks[1]`.
const LAT: f64 = 30.27;
const LNG: f64 = 120.16;

#[tokio::test]
async fn a_report_pays_its_reporter_when_accepted_and_resolved_and_thanks_the_first_me_too() {
    let c = city().await;
    let app = &c.app;
    let (wang, li, zhao) = (app.rider_token("wang").await, app.rider_token("li").await, app.rider_token("zhao").await);
    let id = file_ok(app, &wang, report_at("traffic_safety", LAT, LNG)).await;
    for rider in [&li, &zhao] {
        let (status, joined) = file(app, rider, report_at("traffic_safety", LAT + 0.0002, LNG)).await;
        assert_eq!((status, &joined["outcome"]), (StatusCode::OK, &json!("joined")), "{joined}");
    }
    assert_eq!(balance(app, &wang).await, 0, "filing alone pays nothing");

    let (status, body) = act(app, &c.clerks[1], &id, json!({ "action": "accept" })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(ledger(app, &wang).await, entries(&[("report_accepted", 10)]));
    assert_eq!(ledger(app, &li).await, entries(&[("first_me_too", 2)]), "the first to say me too");
    assert_eq!(ledger(app, &zhao).await, entries(&[]), "the second is not paid");

    act(app, &c.clerks[1], &id, json!({ "action": "start" })).await;
    let (status, _) = act(app, &c.clerks[1], &id, json!({ "action": "resolve", "public_note": "已修复" })).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app.post(&format!("/api/v1/reports/{id}/rating"), Some(&wang), json!({ "score": 5 })).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ledger(app, &wang).await, entries(&[("report_accepted", 10), ("report_resolved", 5), ("rating", 1)]));

    let mine = points(app, &wang).await;
    assert_eq!((mine["balance"].as_i64(), mine["earned_this_month"].as_i64()), (Some(16), Some(16)));
    // One entry a page: the cursor walks the ledger newest first, and every page has the balance.
    let mut seen = Vec::new();
    let mut path = "/api/v1/me/points?limit=1".to_string();
    loop {
        let (status, page) = app.get(&path, Some(&wang)).await;
        assert_eq!((status, page["balance"].as_i64()), (StatusCode::OK, Some(16)), "{page}");
        seen.push(page["items"][0]["rule"].as_str().unwrap_or_default().to_string());
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/api/v1/me/points?limit=1&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen, ["rating", "report_resolved", "report_accepted"]);
    let newest = &mine["items"][0];
    assert_eq!((newest["object_kind"].as_str(), newest["object_id"].as_str()), (Some("report"), Some(id.as_str())));
    assert_eq!(newest["description"], "评价处理结果");
    assert!(!mine.to_string().contains(&account_id(app, &c.clerks[1]).await), "no clerk's id in a rider's ledger");
    let (_, english) =
        app.send(app.client.get(app.url("/api/v1/me/points")).bearer_auth(&wang).header("Accept-Language", "en")).await;
    assert_eq!(english["items"][2]["description"], "Your report was accepted");
    c.app.stop().await;
}

#[tokio::test]
async fn each_rule_pays_once_under_retries_and_twenty_parallel_identical_events() {
    let c = city().await;
    let app = &c.app;
    let rider = app.rider_token("wang").await;
    let rider_id = account_id(app, &rider).await;
    let id = file_ok(app, &rider, report_at("road_damage", LAT, LNG)).await;

    // Twenty clerks' clicks on "accept" at once: one wins, the report pays once.
    let accepts = join_all((0..20).map(|_| act(app, &c.clerks[1], &id, json!({ "action": "accept" })))).await;
    assert_eq!(accepts.iter().filter(|(s, _)| *s == StatusCode::OK).count(), 1);
    assert!(accepts.iter().all(|(s, _)| *s == StatusCode::OK || *s == StatusCode::CONFLICT));
    act(app, &c.clerks[1], &id, json!({ "action": "resolve" })).await;

    // Twenty ratings at once.
    let rating = format!("/api/v1/reports/{id}/rating");
    let ratings = join_all((0..20).map(|_| app.post(&rating, Some(&rider), json!({ "score": 4 })))).await;
    assert_eq!(ratings.iter().filter(|(s, _)| *s == StatusCode::OK).count(), 1);

    // Twenty check-ins at one place at once.
    let place = create_station(app, &c.admin, LAT, LNG).await;
    let path = format!("/api/v1/places/{place}/checkins");
    let got_water = json!({ "outcome": "used_amenity", "amenity": "drinking_water" });
    let checkins = join_all((0..20).map(|_| app.post(&path, Some(&rider), got_water.clone()))).await;
    assert_eq!(checkins.iter().filter(|(s, _)| *s == StatusCode::CREATED).count(), 1);

    // Twenty retries of one award, with one key.
    let awards = join_all((0..20).map(|_| award(app, &c.admin, &rider_id, 7, Some("volunteer-1126")))).await;
    assert!(awards.iter().all(|(s, _)| *s == StatusCode::CREATED), "{:?}", awards[0]);
    let first = &awards[0].1["id"];
    assert!(awards.iter().all(|(_, body)| body["id"] == *first), "every retry answers with the one entry");

    let paid = ledger(app, &rider).await;
    let count = |rule: &str| paid.iter().filter(|(r, _)| r == rule).count();
    for rule in ["report_accepted", "report_resolved", "rating", "checkin", "manual_award"] {
        assert_eq!(count(rule), 1, "{rule} in {paid:?}");
    }
    assert_eq!(balance(app, &rider).await, 10 + 5 + 1 + 1 + 7);
    assert_eq!(app.audit_entries("points.award").await, 1);
    c.app.stop().await;
}

#[tokio::test]
async fn parallel_awards_to_one_rider_stop_at_the_days_cap() {
    let c = city().await;
    let app = &c.app;
    let rider = app.rider_token("wang").await;
    let rider_id = account_id(app, &rider).await;
    let keys: Vec<String> = (0..20).map(|i| format!("shift-{i}")).collect();
    let awards = join_all(keys.iter().map(|key| award(app, &c.clerks[0], &rider_id, 10, Some(key)))).await;
    assert!(awards.iter().all(|(s, _)| *s == StatusCode::CREATED));
    let paid: Vec<i64> = awards.iter().map(|(_, b)| b["amount"].as_i64().unwrap_or(-1)).collect();
    assert_eq!(paid.iter().sum::<i64>(), 50, "{paid:?}");
    assert_eq!(paid.iter().filter(|a| **a == 0).count(), 15);
    let capped = awards.iter().find(|(_, b)| b["amount"] == 0).map(|(_, b)| b.clone()).unwrap_or_default();
    assert_eq!((capped["reason"].as_str(), capped["note"].as_str()), (Some("award_limit"), Some("协助维持驿站秩序")));
    assert_eq!(balance(app, &rider).await, 50);
    c.app.stop().await;
}

#[tokio::test]
async fn a_report_rejected_or_marked_duplicate_gives_back_what_it_paid() {
    let c = city().await;
    let app = &c.app;
    let (wang, li) = (app.rider_token("wang").await, app.rider_token("li").await);
    let false_report = file_ok(app, &wang, report_at("road_damage", LAT, LNG)).await;
    file(app, &li, report_at("road_damage", LAT + 0.0001, LNG)).await;
    act(app, &c.clerks[1], &false_report, json!({ "action": "accept" })).await;
    assert_eq!((balance(app, &wang).await, balance(app, &li).await), (10, 2));

    let (status, body) =
        act(app, &c.clerks[1], &false_report, json!({ "action": "reject", "reason": "现场核实无此问题" })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(ledger(app, &wang).await, entries(&[("report_accepted", 10), ("reversal", -10)]));
    assert_eq!(ledger(app, &li).await, entries(&[("first_me_too", 2), ("reversal", -2)]));
    let reversal = &points(app, &wang).await["items"][0];
    assert_eq!(reversal["reason"], "report_rejected");
    assert_eq!(reversal["description"], "积分撤回（上报被认定为不实）");
    assert!(reversal["reverses"].is_string());

    // A copy accepted before anyone saw the original: marked a duplicate, it gives back its 10.
    let original = file_ok(app, &li, report_at("environment", LAT, LNG + 0.01)).await;
    let copy = file_ok(app, &wang, report_at("environment", LAT + 0.01, LNG + 0.01)).await;
    act(app, &c.clerks[1], &copy, json!({ "action": "accept" })).await;
    let (status, body) =
        act(app, &c.clerks[1], &copy, json!({ "action": "mark_duplicate", "duplicate_of": original })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let mine = points(app, &wang).await;
    assert_eq!((mine["balance"].as_i64(), mine["earned_this_month"].as_i64()), (Some(0), Some(0)));
    assert_eq!(mine["items"][0]["reason"], "report_duplicate");
    c.app.stop().await;
}

#[tokio::test]
async fn a_reversal_takes_back_only_what_is_left_and_never_twice() {
    let c = city().await;
    let app = &c.app;
    let wang = app.rider_token("wang").await;
    let id = file_ok(app, &wang, report_at("road_damage", LAT, LNG)).await;
    act(app, &c.clerks[1], &id, json!({ "action": "accept" })).await;
    // Spent meanwhile (as a redemption would): 4 of the 10 are left.
    let ledger_for = app.state.ledger();
    let mut tx = app.state.db.begin_write().await.unwrap();
    let spent = ledger_for.spend(&mut tx, &account_id(app, &wang).await, 6, "redemption-1", Millis::now()).await;
    assert!(spent.unwrap().is_some());
    tx.commit().await.unwrap();

    act(app, &c.clerks[1], &id, json!({ "action": "reject", "reason": "不实" })).await;
    let mine = points(app, &wang).await;
    assert_eq!(mine["balance"], 0, "the balance never goes below zero");
    assert_eq!(mine["items"][0]["amount"], -4);
    assert_eq!(mine["earned_this_month"], 0, "rankings lose the whole 10");
    let mut tx = app.state.db.begin_write().await.unwrap();
    let again = ledger_for
        .reverse(
            &mut tx,
            PointObject::Report,
            &id,
            xinhuoban::domain::points::PaidReason::ReportRejected,
            (None, "system"),
            Millis::now(),
        )
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert!(again.is_empty(), "a second reversal writes nothing");
    c.app.stop().await;
}

#[tokio::test]
async fn the_daily_cap_turns_at_the_citys_midnight() {
    let app = spawn_app().await;
    let rider = app.rider_token("wang").await;
    let rider_id = account_id(&app, &rider).await;
    let shanghai = chrono_tz::Asia::Shanghai;
    let late = Millis::from_datetime(&shanghai.with_ymd_and_hms(2026, 11, 26, 23, 59, 0).unwrap());
    let midnight = Millis::from_datetime(&shanghai.with_ymd_and_hms(2026, 11, 27, 0, 0, 0).unwrap());
    let grant = |n: usize| Grant {
        rider_id: rider_id.clone(),
        rule: PointRule::ReportAccepted,
        object: PointObject::Report,
        object_id: format!("report-{n}"),
        amount: 10,
        office_id: None,
        actor_id: None,
        actor_role: "staff",
        note: None,
    };
    let ledger = app.state.ledger();
    let mut paid = Vec::new();
    for (n, at) in [(0, late), (1, late), (2, late), (3, late), (4, late), (5, late), (6, midnight)] {
        let mut tx = app.state.db.begin_write().await.unwrap();
        let written = ledger.earn(&mut tx, vec![grant(n)], at).await.unwrap();
        tx.commit().await.unwrap();
        paid.push(written.iter().map(|e| (e.amount, e.reason.as_str())).collect::<Vec<_>>());
    }
    let full = vec![(10, "full")];
    assert_eq!(
        paid,
        [full.clone(), full.clone(), full.clone(), full.clone(), full.clone(), vec![(0, "daily_cap")], full]
    );
    // Over the cap, the entry is still written: the trail is complete.
    let mine = points(&app, &rider).await;
    assert_eq!(mine["balance"], 60);
    assert_eq!(mine["items"].as_array().map(Vec::len), Some(7));
    assert_eq!(mine["items"][1]["description"], "上报被受理（今日获得积分已达上限）");
    app.stop().await;
}

#[tokio::test]
async fn rankings_count_what_was_kept_and_name_only_those_who_chose_it() {
    let c = city().await;
    let app = &c.app;
    let riders = [app.rider_token("wang").await, app.rider_token("li").await, app.rider_token("zhao").await];
    let mut ids = Vec::new();
    for r in &riders {
        ids.push(account_id(app, r).await);
    }
    name(app, &ids[0], "王小明").await;
    name(app, &ids[1], "李雷").await;
    // Wang 30 (awards of the city admin), Li 20, Zhao 20 of which a false report's 10 is taken back.
    for (i, amounts) in [vec![20, 10], vec![20], vec![10]].into_iter().enumerate() {
        for amount in amounts {
            assert_eq!(award(app, &c.admin, &ids[i], amount, None).await.0, StatusCode::CREATED);
        }
    }
    let id = file_ok(app, &riders[2], report_at("road_damage", LAT, LNG)).await;
    act(app, &c.clerks[1], &id, json!({ "action": "accept" })).await;
    act(app, &c.clerks[1], &id, json!({ "action": "reject", "reason": "不实" })).await;

    // Wang shows his masked name; the others do not.
    let (status, me) = app.patch("/api/v1/me", Some(&riders[0]), json!({ "show_name_in_rankings": true })).await;
    assert_eq!((status, &me["show_name_in_rankings"]), (StatusCode::OK, &json!(true)), "{me}");
    let (status, _) = app.patch("/api/v1/me", Some(&c.clerks[0]), json!({ "show_name_in_rankings": true })).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let (status, ranking) = app.get("/api/v1/points/rankings", Some(&riders[2])).await;
    assert_eq!(status, StatusCode::OK, "{ranking}");
    let lines: Vec<(i64, i64, Option<&str>, bool)> = ranking["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["rank"].as_i64().unwrap(), l["points"].as_i64().unwrap(), l["name"].as_str(), l["me"] == true))
        .collect();
    assert_eq!(lines, [(1, 30, Some("王**"), false), (2, 20, None, false), (3, 10, None, true)]);
    assert_eq!(ranking["mine"], json!({ "rank": 3, "points": 10 }));
    for id in &ids {
        assert!(!ranking.to_string().contains(id.as_str()), "no rider's id in a ranking");
    }
    assert!(!ranking.to_string().contains("李"), "Li did not opt in");

    // One line a page: the cursor walks the same order.
    let (_, first) = app.get("/api/v1/points/rankings?limit=1", Some(&riders[1])).await;
    let cursor = first["next_cursor"].as_str().unwrap();
    let (_, second) = app.get(&format!("/api/v1/points/rankings?limit=1&cursor={cursor}"), Some(&riders[1])).await;
    assert_eq!((second["items"][0]["rank"].as_i64(), second["items"][0]["me"].as_bool()), (Some(2), Some(true)));
    assert_eq!(first["mine"], json!({ "rank": 2, "points": 20 }));

    // The year, and the area of the unit that took back Zhao's points: nobody kept any there.
    let year = chrono::Utc::now().format("%Y").to_string();
    let (_, yearly) = app.get(&format!("/api/v1/points/rankings?period={year}"), Some(&riders[0])).await;
    assert_eq!(yearly["items"].as_array().map(Vec::len), Some(3));
    let (_, area) = app.get(&format!("/api/v1/points/rankings?office_id={}", c.offices[1]), Some(&riders[2])).await;
    assert_eq!((area["items"].as_array().map(Vec::len), &area["mine"]), (Some(0), &json!({ "rank": 1, "points": 0 })));
    let (status, bad) = app.get("/api/v1/points/rankings?period=2026-13", Some(&riders[0])).await;
    assert_eq!((status, error_code(&bad)), (StatusCode::BAD_REQUEST, "invalid_parameter"));

    // The admins' exports: full names for the selection, every entry of the period; audited.
    let csv = |path: &str, token: &str| {
        let req = app.client.get(app.url(path)).bearer_auth(token.to_string());
        async move {
            let resp = req.send().await.unwrap();
            (resp.status(), resp.text().await.unwrap())
        }
    };
    let (status, ranking_csv) = csv("/api/v1/admin/points/ranking.csv", &c.admin).await;
    assert_eq!(status, StatusCode::OK);
    assert!(ranking_csv.contains(&format!("1,{},王小明,30", ids[0])), "{ranking_csv}");
    assert!(ranking_csv.contains(&format!("2,{},李雷,20", ids[1])), "{ranking_csv}");
    let (status, ledger_csv) = csv("/api/v1/admin/points/ledger.csv", &c.admin).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ledger_csv.lines().count(), 1 + 4 + 2, "{ledger_csv}");
    assert!(ledger_csv.contains("reversal"));
    assert_eq!(csv("/api/v1/admin/points/ledger.csv", &c.clerks[0]).await.0, StatusCode::FORBIDDEN);
    assert_eq!(app.audit_entries("points.ranking.export").await + app.audit_entries("points.ledger.export").await, 2);
    c.app.stop().await;
}

#[tokio::test]
async fn awards_need_a_reason_a_rider_and_a_clerk_or_admin() {
    let c = city().await;
    let app = &c.app;
    let rider = app.rider_token("wang").await;
    let rider_id = account_id(app, &rider).await;
    let clerk_id = account_id(app, &c.clerks[0]).await;
    let (status, body) = app
        .post(
            "/api/v1/points/awards",
            Some(&c.clerks[0]),
            json!({ "rider_id": rider_id, "amount": 21, "reason": "值班" }),
        )
        .await;
    assert_eq!((status, error_code(&body)), (StatusCode::BAD_REQUEST, "invalid_input"), "{body}");
    let (status, body) = app
        .post(
            "/api/v1/points/awards",
            Some(&c.clerks[0]),
            json!({ "rider_id": rider_id, "amount": 5, "reason": "   " }),
        )
        .await;
    assert_eq!((status, error_code(&body)), (StatusCode::BAD_REQUEST, "invalid_input"), "{body}");
    let (status, _) = app
        .post(
            "/api/v1/points/awards",
            Some(&c.clerks[0]),
            json!({ "rider_id": clerk_id, "amount": 5, "reason": "值班" }),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "staff are not riders");
    let (status, _) = app
        .post(
            "/api/v1/points/awards",
            Some(&rider),
            json!({ "rider_id": rider_id, "amount": 5, "reason": "自己奖励自己" }),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app
        .post(
            "/api/v1/points/awards",
            Some(&c.clerks[0]),
            json!({ "rider_id": rider_id, "amount": 5, "reason": "值班" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(balance(app, &rider).await, 5);
    // One key, two different awards: the second is refused, not paid.
    assert_eq!(award(app, &c.clerks[0], &rider_id, 3, Some("k")).await.0, StatusCode::CREATED);
    let (status, body) = award(app, &c.clerks[0], &rider_id, 4, Some("k")).await;
    assert_eq!((status, error_code(&body)), (StatusCode::CONFLICT, "idempotency_key_reused"));
    assert_eq!(balance(app, &rider).await, 8);
    c.app.stop().await;
}

#[tokio::test]
async fn a_riders_copy_of_their_data_holds_their_points_and_erasure_takes_them_off_the_rankings() {
    let c = city().await;
    let app = &c.app;
    let (wang, li) = (app.rider_token("wang").await, app.rider_token("li").await);
    let (wang_id, li_id) = (account_id(app, &wang).await, account_id(app, &li).await);
    award(app, &c.admin, &wang_id, 20, None).await;
    award(app, &c.admin, &li_id, 10, None).await;
    let (status, data) = app.get("/api/v1/me/data", Some(&wang)).await;
    assert_eq!(status, StatusCode::OK, "{data}");
    assert_eq!((data["points_balance"].as_i64(), data["point_entries"][0]["amount"].as_i64()), (Some(20), Some(20)));

    let (status, _) = app.delete("/api/v1/me", Some(&wang)).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, ranking) = app.get("/api/v1/points/rankings", Some(&li)).await;
    assert_eq!(ranking["items"].as_array().map(Vec::len), Some(1), "{ranking}");
    assert_eq!(ranking["mine"], json!({ "rank": 1, "points": 10 }), "the erased rider no longer ranks above");
    let (status, csv) = app.get("/api/v1/admin/points/ledger.csv", Some(&c.admin)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(csv.to_string().contains(&li_id));
    assert!(!csv.to_string().contains(&wang_id), "the ledger keeps the amounts, not the rider");
    c.app.stop().await;
}

#[tokio::test]
async fn everyone_reads_the_rules_and_only_admins_change_them() {
    let c = city().await;
    let app = &c.app;
    assert_eq!(app.get("/api/v1/points/rules", None).await.0, StatusCode::UNAUTHORIZED);
    let rider = app.rider_token("wang").await;
    let (status, rules) = app.get("/api/v1/points/rules", Some(&rider)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!((rules["report_accepted"].as_i64(), rules["daily_cap"].as_i64()), (Some(10), Some(50)));
    let mut changed = rules.clone();
    changed["report_accepted"] = json!(15);
    assert_eq!(app.put("/api/v1/points/rules", Some(&c.clerks[0]), changed.clone()).await.0, StatusCode::FORBIDDEN);
    let (status, body) = app.put("/api/v1/points/rules", Some(&c.admin), changed).await;
    assert_eq!((status, body["report_accepted"].as_i64()), (StatusCode::OK, Some(15)), "{body}");
    assert_eq!(app.audit_entries("points.rules.update").await, 1);
    let mut bad = rules.clone();
    bad["daily_cap"] = json!(-1);
    assert_eq!(app.put("/api/v1/points/rules", Some(&c.admin), bad).await.0, StatusCode::BAD_REQUEST);

    let id = file_ok(app, &rider, report_at("road_damage", LAT, LNG)).await;
    act(app, &c.clerks[1], &id, json!({ "action": "accept" })).await;
    assert_eq!(balance(app, &rider).await, 15, "the new rule pays from now on");
    c.app.stop().await;
}

async fn create_station(app: &TestApp, admin: &str, lat: f64, lng: f64) -> String {
    let body = json!({ "kind": "station", "name": "积分驿站", "address": "西湖区某路1号", "lat": lat, "lng": lng,
                       "amenities": ["drinking_water"], "hours": "24/7" });
    let (status, place) = app.post("/api/v1/admin/places", Some(admin), body).await;
    assert_eq!(status, StatusCode::OK, "{place}");
    place["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn riders_hear_when_points_arrive_for_a_report_and_not_for_what_they_just_did() {
    let c = city_with(Options { extra: vec![("XHB_NOTIFY_POINTS_TEMPLATE_ID", "tpl-points".into())] }).await;
    let app = &c.app;
    let (wang, li) = (app.rider_token("wang").await, app.rider_token("li").await);
    let (wang_id, li_id) = (account_id(app, &wang).await, account_id(app, &li).await);
    app.consent(&wang, "tpl-points", 5).await;
    app.consent(&li, "tpl-points", 5).await;
    let id = file_ok(app, &wang, report_at("road_damage", LAT, LNG)).await;
    file(app, &li, report_at("road_damage", LAT + 0.0001, LNG)).await;
    act(app, &c.clerks[1], &id, json!({ "action": "accept" })).await;
    act(app, &c.clerks[1], &id, json!({ "action": "resolve" })).await;
    app.post(&format!("/api/v1/reports/{id}/rating"), Some(&wang), json!({ "score": 5 })).await;
    award(app, &c.admin, &wang_id, 5, None).await;

    // In the order they were queued (ids are time-ordered): delivery attempts move rows about.
    let messages: Vec<String> =
        sqlx::query_scalar("SELECT payload_json FROM outbox WHERE payload_json LIKE $1 ORDER BY id")
            .bind("%tpl-points%")
            .fetch_all(&app.state.db.pool)
            .await
            .unwrap();
    let to = |rider: &str| messages.iter().filter(|m| m.contains(rider)).cloned().collect::<Vec<_>>();
    assert_eq!(to(&wang_id).len(), 2, "accepted and resolved; not the rating nor the award: {messages:?}");
    assert_eq!(to(&li_id).len(), 1, "the first me too");
    assert!(to(&wang_id)[0].contains("上报被受理") && to(&wang_id)[0].contains("\"10\""), "{messages:?}");
    c.app.stop().await;
}

#[tokio::test]
async fn a_ranking_catches_up_within_a_second_and_a_riders_own_points_at_once() {
    let c = city().await;
    let app = &c.app;
    let wang = app.rider_token("wang").await;
    let wang_id = account_id(app, &wang).await;
    let (_, before) = app.get("/api/v1/points/rankings", Some(&wang)).await;
    assert_eq!(before["items"].as_array().map(Vec::len), Some(0));
    award(app, &c.admin, &wang_id, 12, None).await;
    let (_, now) = app.get("/api/v1/points/rankings", Some(&wang)).await;
    assert_eq!(now["mine"], json!({ "rank": 1, "points": 12 }), "the reader's own points are read live");
    eventually("the ranking shows the award", || async {
        let (_, ranking) = app.get("/api/v1/points/rankings", Some(&wang)).await;
        ranking["items"][0]["points"] == 12
    })
    .await;
    c.app.stop().await;
}

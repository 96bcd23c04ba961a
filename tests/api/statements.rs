//! A page of a list costs a few SQL statements, however many rows it holds: views are assembled
//! with one batched read per table, never one per row. Counted by `xhb_sql_statements_total`,
//! read from `/metrics` before and after each request.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::reports::{City, account_id, add_media, city_with, file_ok, report_at};

/// The most statements one page may cost: the session lookup, the rows, then one read each for
/// photos, reporter names and units, with room for a transaction's BEGIN and COMMIT.
const MAX_STATEMENTS_PER_PAGE: u64 = 12;

/// The statements run so far by requests to `route`.
async fn statements(app: &TestApp, route: &str) -> u64 {
    let text = app.client.get(app.url("/metrics")).send().await.expect("metrics").text().await.expect("text");
    let prefix = format!("xhb_sql_statements_total{{route=\"{route}\"}} ");
    text.lines().find_map(|l| l.strip_prefix(&prefix)).and_then(|n| n.trim().parse().ok()).unwrap_or(0)
}

/// The statements one GET costs, and its body.
async fn cost(app: &TestApp, route: &str, path: &str, token: &str) -> (u64, Value) {
    let before = statements(app, route).await;
    let (status, body) = app.get(path, Some(token)).await;
    assert_eq!(status, StatusCode::OK, "{path}: {body}");
    let after = statements(app, route).await;
    (after - before, body)
}

/// `count` reports from five riders, two of every three with a photo, every third anonymous.
/// Four in five fall in the west street office's band (road damage); the rest in the middle
/// band, half of them food safety (the market regulator's): a city admin's queue spans three
/// units. Points are 200 m apart so that none joins another as a "me too".
async fn city_with_reports(count: usize) -> (City, Vec<String>) {
    let c = city_with(Options { extra: vec![("XHB_REPORTS_PER_RIDER_PER_HOUR", "1000".into())] }).await;
    let mut riders = Vec::new();
    for i in 0..5 {
        riders.push(c.app.rider_token(&format!("rider-count-{i}")).await);
    }
    for i in 0..count {
        let rider = &riders[i % riders.len()];
        let lat = 30.245 + (i % 30) as f64 * 0.002;
        let step = (i / 30) as f64 * 0.002;
        let mut body = match i % 10 {
            4 => report_at("road_damage", lat, 120.150 + step),
            9 => report_at("food_safety", lat, 120.150 + step),
            _ => report_at("road_damage", lat, 120.105 + step),
        };
        if i % 3 != 2 {
            body["media_ids"] = json!([add_media(&c.app, &account_id(&c.app, rider).await).await]);
        }
        body["anonymous"] = json!(i % 3 == 0);
        file_ok(&c.app, rider, body).await;
    }
    (c, riders)
}

fn units_in(page: &Value) -> usize {
    let items = page["items"].as_array().expect("items");
    let mut units: Vec<&str> = items.iter().filter_map(|r| r["unit"]["id"].as_str()).collect();
    units.sort_unstable();
    units.dedup();
    units.len()
}

#[tokio::test]
async fn a_triage_queue_page_costs_the_same_few_statements_for_10_or_100_reports() {
    let (c, _) = city_with_reports(130).await;
    let route = "triage_queue";
    // The first request may open pool connections, whose setup statements would count.
    cost(&c.app, route, "/api/v1/triage/reports?limit=100", &c.admin).await;

    let (admin_100, page) = cost(&c.app, route, "/api/v1/triage/reports?limit=100", &c.admin).await;
    assert_eq!(page["items"].as_array().map(Vec::len), Some(100));
    assert_eq!(units_in(&page), 3, "the admin's page spans three units");
    let (admin_10, page) = cost(&c.app, route, "/api/v1/triage/reports?limit=10", &c.admin).await;
    assert_eq!(page["items"].as_array().map(Vec::len), Some(10));

    let clerk = &c.clerks[0];
    let (clerk_100, page) = cost(&c.app, route, "/api/v1/triage/reports?limit=100", clerk).await;
    assert_eq!(page["items"].as_array().map(Vec::len), Some(100));
    let (clerk_10, _) = cost(&c.app, route, "/api/v1/triage/reports?limit=10", clerk).await;

    let counts = format!("admin 100: {admin_100}, admin 10: {admin_10}, clerk 100: {clerk_100}, clerk 10: {clerk_10}");
    assert_eq!(admin_100, admin_10, "{counts}");
    assert_eq!(clerk_100, clerk_10, "{counts}");
    assert!(admin_100 <= MAX_STATEMENTS_PER_PAGE && clerk_100 <= MAX_STATEMENTS_PER_PAGE, "{counts}");
    c.app.stop().await;
}

#[tokio::test]
async fn my_reports_cost_the_same_few_statements_for_5_or_20_reports() {
    let (c, riders) = city_with_reports(100).await;
    let rider = &riders[0];
    let route = "reports_mine";
    cost(&c.app, route, "/api/v1/reports/mine?limit=20", rider).await;

    let (mine_20, page) = cost(&c.app, route, "/api/v1/reports/mine?limit=20", rider).await;
    assert_eq!(page["items"].as_array().map(Vec::len), Some(20));
    let (mine_5, page) = cost(&c.app, route, "/api/v1/reports/mine?limit=5", rider).await;
    assert_eq!(page["items"].as_array().map(Vec::len), Some(5));

    let counts = format!("20 reports: {mine_20}, 5 reports: {mine_5}");
    assert_eq!(mine_20, mine_5, "{counts}");
    assert!(mine_20 <= MAX_STATEMENTS_PER_PAGE, "{counts}");
    c.app.stop().await;
}

//! A city admin's changes commit whole: the change, whatever goes with it (ending sessions) and
//! its audit entry are written together or not at all. Each story breaks one write in the middle
//! of a use case with a database trigger and checks that nothing half-done is left behind.

use reqwest::StatusCode;
use serde_json::{Value, json};
use xinhuoban::domain::identity::Role;

use crate::helpers::*;

/// An admin, an office and a clerk of it who is logged in.
struct Office {
    app: TestApp,
    admin: String,
    clerk_id: String,
    clerk_token: String,
}

async fn office_with_a_clerk() -> Office {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let office = app.create_office("城关街道办事处").await;
    let clerk_id = app.create_staff("li.clerk", Role::Clerk, Some(&office)).await;
    let clerk_token = app.staff_token("li.clerk").await;
    Office { app, admin, clerk_id, clerk_token }
}

async fn disable(o: &Office) -> (StatusCode, Value) {
    o.app.post(&format!("/api/v1/admin/staff/{}/disable", o.clerk_id), Some(&o.admin), json!({})).await
}

/// The clerk is as they were: enabled in the admin's list, their session still answering.
async fn assert_clerk_untouched(o: &Office) {
    let (status, me) = o.app.get("/api/v1/me", Some(&o.clerk_token)).await;
    assert_eq!(status, StatusCode::OK, "the clerk's session ended: {me}");
    let (_, staff) = o.app.get("/api/v1/admin/staff?limit=100", Some(&o.admin)).await;
    let clerk = staff["items"].as_array().unwrap().iter().find(|s| s["id"] == o.clerk_id.as_str()).unwrap();
    assert_eq!(clerk["disabled"], false, "{clerk}");
}

/// Sends `request` while every `write` of `table` fails, and expects a 500 in the error shape.
async fn fails_with_a_fault_in(
    app: &TestApp,
    write: Write,
    table: &str,
    request: impl Future<Output = (StatusCode, Value)>,
) {
    app.break_writes(write, table).await;
    let (status, body) = request.await;
    app.mend(write, table).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
    assert_eq!(error_code(&body), "internal");
}

#[tokio::test]
async fn disabling_a_clerk_ends_their_sessions_and_records_one_audit_entry() {
    let o = office_with_a_clerk().await;
    let (status, body) = disable(&o).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(o.app.get("/api/v1/me", Some(&o.clerk_token)).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(o.app.audit_entries("staff.disable").await, 1);
    let (status, _) =
        o.app.post(&format!("/api/v1/admin/staff/{}/enable", o.clerk_id), Some(&o.admin), json!({})).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(o.app.audit_entries("staff.enable").await, 1);
    o.app.stop().await;
}

#[tokio::test]
async fn a_disable_whose_audit_entry_cannot_be_written_leaves_the_clerk_enabled_and_logged_in() {
    let o = office_with_a_clerk().await;
    fails_with_a_fault_in(&o.app, Write::Insert, "audit_log", disable(&o)).await;

    assert_clerk_untouched(&o).await;
    assert_eq!(o.app.audit_entries("staff.disable").await, 0);
    // Once the fault is gone, the same request does the whole change.
    assert_eq!(disable(&o).await.0, StatusCode::NO_CONTENT);
    assert_eq!(o.app.get("/api/v1/me", Some(&o.clerk_token)).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(o.app.audit_entries("staff.disable").await, 1);
    o.app.stop().await;
}

#[tokio::test]
async fn a_disable_whose_sessions_cannot_be_ended_leaves_the_clerk_enabled_and_nothing_audited() {
    let o = office_with_a_clerk().await;
    fails_with_a_fault_in(&o.app, Write::Update, "sessions", disable(&o)).await;

    assert_clerk_untouched(&o).await;
    assert_eq!(o.app.audit_entries("staff.disable").await, 0);
    o.app.stop().await;
}

#[tokio::test]
async fn a_new_staff_account_whose_audit_entry_cannot_be_written_is_not_created() {
    let o = office_with_a_clerk().await;
    let manager = json!({ "username": "zhou.manager", "password": STAFF_PASSWORD, "role": "station_manager", "display_name": "周" });
    let create = o.app.post("/api/v1/admin/staff", Some(&o.admin), manager);
    fails_with_a_fault_in(&o.app, Write::Insert, "audit_log", create).await;

    let (status, _) = o
        .app
        .post("/api/v1/auth/staff-login", None, json!({ "username": "zhou.manager", "password": STAFF_PASSWORD }))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "an account was left without its audit entry");
    assert_eq!(o.app.audit_entries("staff.create").await, 0);
    o.app.stop().await;
}

/// The admin's view of one category.
async fn category(app: &TestApp, admin: &str, code: &str) -> Value {
    let (status, all) = app.get("/api/v1/admin/categories", Some(admin)).await;
    assert_eq!(status, StatusCode::OK, "{all}");
    all.as_array().unwrap().iter().find(|c| c["code"] == code).cloned().unwrap()
}

fn new_deadlines() -> Value {
    json!({ "name": "道路坑洼", "hint": "路面坑洼、破损", "urgency": "urgent", "response_secs": 600, "resolution_secs": 7200 })
}

#[tokio::test]
async fn a_category_change_whose_audit_entry_cannot_be_written_leaves_the_category_as_it_was() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let before = category(&app, &admin, "road_damage").await;

    let change = app.put("/api/v1/admin/categories/road_damage", Some(&admin), new_deadlines());
    fails_with_a_fault_in(&app, Write::Insert, "audit_log", change).await;

    assert_eq!(category(&app, &admin, "road_damage").await, before);
    assert_eq!(app.audit_entries("category.update").await, 0);
    app.stop().await;
}

#[tokio::test]
async fn a_category_change_that_cannot_be_written_records_no_audit_entry() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let before = category(&app, &admin, "road_damage").await;

    let change = app.put("/api/v1/admin/categories/road_damage", Some(&admin), new_deadlines());
    fails_with_a_fault_in(&app, Write::Update, "report_categories", change).await;

    assert_eq!(category(&app, &admin, "road_damage").await, before);
    assert_eq!(app.audit_entries("category.update").await, 0);
    let (status, after) = app.put("/api/v1/admin/categories/road_damage", Some(&admin), new_deadlines()).await;
    assert_eq!((status, after["response_secs"].as_i64()), (StatusCode::OK, Some(600)), "{after}");
    assert_eq!(app.audit_entries("category.update").await, 1);
    app.stop().await;
}

#[tokio::test]
async fn a_department_assignment_whose_audit_entry_cannot_be_written_leaves_the_category_unassigned() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let (status, market) = app
        .post("/api/v1/admin/units", Some(&admin), json!({ "kind": "department", "name": "区市场监督管理局" }))
        .await;
    assert_eq!(status, StatusCode::OK, "{market}");

    let assign = app.put(
        "/api/v1/admin/categories/food_safety/departments",
        Some(&admin),
        json!({ "office_ids": [market["id"]] }),
    );
    fails_with_a_fault_in(&app, Write::Insert, "audit_log", assign).await;

    assert_eq!(category(&app, &admin, "food_safety").await["department_ids"], json!([]));
    assert_eq!(app.audit_entries("category.departments").await, 0);
    app.stop().await;
}

#[tokio::test]
async fn a_unit_or_jurisdiction_whose_audit_entry_cannot_be_written_is_not_kept() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let office = app.create_office("城关街道办事处").await;
    let units = || async { app.get("/api/v1/admin/units?limit=100", Some(&admin)).await.1["items"].clone() };
    let units_before = units().await;

    let unit = json!({ "kind": "street_office", "name": "东湖街道办事处" });
    fails_with_a_fault_in(&app, Write::Insert, "audit_log", app.post("/api/v1/admin/units", Some(&admin), unit)).await;
    let area = json!({ "type": "Polygon", "coordinates": [[[120.10, 30.24], [120.14, 30.24], [120.14, 30.31], [120.10, 30.31], [120.10, 30.24]]] });
    let path = format!("/api/v1/admin/units/{office}/jurisdiction");
    let import = app.put(&path, Some(&admin), area);
    fails_with_a_fault_in(&app, Write::Insert, "audit_log", import).await;

    assert_eq!(units().await, units_before);
    let jurisdictions: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM jurisdictions").fetch_one(&app.state.db.pool).await.unwrap();
    assert_eq!(jurisdictions, 0);
    assert_eq!(app.audit_entries("unit.create").await + app.audit_entries("unit.jurisdiction").await, 0);
    app.stop().await;
}

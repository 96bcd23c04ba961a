//! Privacy, as riders are owed it: only city admins remove places.

use reqwest::StatusCode;
use serde_json::json;
use xinhuoban::domain::identity::Role;

use crate::helpers::*;

#[tokio::test]
async fn only_city_admins_remove_or_restore_a_place() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let wang = app.create_staff("wang", Role::StationManager, None).await;
    let station = json!({ "kind": "station", "name": "王的驿站", "address": "西湖区某路1号", "lat": 30.27,
                          "lng": 120.16, "amenities": ["drinking_water"], "hours": "24/7" });
    let (status, place) = app.post("/api/v1/admin/places", Some(&admin), station).await;
    assert_eq!(status, StatusCode::OK, "{place}");
    let id = place["id"].as_str().unwrap();
    app.put(&format!("/api/v1/admin/places/{id}/managers"), Some(&admin), json!({ "account_ids": [wang] })).await;
    let manager = app.staff_token("wang").await;
    let path = format!("/api/v1/places/{id}");

    // The manager may close their station for a while, not remove it.
    let (status, body) = app.patch(&path, Some(&manager), json!({ "status": "removed" })).await;
    assert_eq!((status, error_code(&body)), (StatusCode::FORBIDDEN, "forbidden"));
    let (_, place) = app.get(&path, None).await;
    assert_eq!(place["status"], "open");
    let (status, body) =
        app.patch(&path, Some(&manager), json!({ "status": "temporarily_closed", "status_reason": "停电" })).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // Once an admin removed it, the manager can neither restore it nor keep it.
    let (status, body) = app.patch(&path, Some(&admin), json!({ "status": "removed" })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    for change in [json!({ "status": "open" }), json!({ "hours": "mon-fri 08:00-20:00" })] {
        let (status, body) = app.patch(&path, Some(&manager), change).await;
        assert_eq!((status, error_code(&body)), (StatusCode::FORBIDDEN, "forbidden"));
    }
    let (status, _) = app.get(&path, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "removed places are gone from rider reads");
    // The admin restores it.
    let (status, body) = app.patch(&path, Some(&admin), json!({ "status": "open" })).await;
    assert_eq!((status, body["status"].as_str()), (StatusCode::OK, Some("open")), "{body}");
    app.stop().await;
}

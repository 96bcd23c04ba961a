//! The demand map: a planner sees where riders searched and found nothing open, without any
//! search being traceable to a rider.

use reqwest::StatusCode;
use serde_json::{Value, json};
use xinhuoban::domain::demand::{Grain, Tally};
use xinhuoban::domain::identity::Role;
use xinhuoban::domain::time::Millis;
use xinhuoban::service::demand;
use xinhuoban::store::demand::{CountRow, add_counts};

use crate::helpers::*;
use crate::reports::{City, city, city_with};

/// 西湖 area: a station that is always open, with drinking water.
const STATION: (f64, f64) = (30.2741, 120.1551);
/// About 5 km east: nothing there.
const EMPTY: (f64, f64) = (30.2741, 120.2071);

async fn station(c: &City, at: (f64, f64), name: &str) -> String {
    let body = json!({ "kind": "station", "name": name, "address": "某路1号", "lat": at.0, "lng": at.1,
                       "amenities": ["drinking_water"], "hours": "24/7" });
    let (status, place) = c.app.post("/api/v1/admin/places", Some(&c.admin), body).await;
    assert_eq!(status, StatusCode::OK, "{place}");
    place["id"].as_str().unwrap().to_string()
}

/// `times` riders search around `at` with these extra query parameters.
async fn search(app: &TestApp, at: (f64, f64), extra: &str, times: usize) {
    for _ in 0..times {
        let path = format!("/api/v1/places/nearby?lat={}&lng={}&radius_m=1000{extra}", at.0, at.1);
        let (status, body) = app.get(&path, None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
}

async fn flush(app: &TestApp) {
    demand::flush(&app.state.demand()).await.unwrap();
}

async fn map(app: &TestApp, token: &str, query: &str) -> Value {
    let (status, body) = app.get(&format!("/api/v1/admin/demand?{query}"), Some(token)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// (cell, searches, unmet) of every feature, in the map's order.
fn cells(map: &Value) -> Vec<(String, i64, i64)> {
    map["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let p = &f["properties"];
            (p["cell"].as_str().unwrap().to_string(), p["searches"].as_i64().unwrap(), p["unmet"].as_i64().unwrap())
        })
        .collect()
}

fn cell_of(at: (f64, f64)) -> String {
    xinhuoban::domain::geo::Gcj02::new(at.0, at.1).unwrap().geohash(6)
}

#[tokio::test]
async fn searches_where_nothing_is_open_show_as_unmet_and_searches_near_an_open_station_do_not() {
    let c = city().await;
    let app = &c.app;
    station(&c, STATION, "西湖驿站").await;
    search(app, STATION, "", 12).await;
    search(app, EMPTY, "", 15).await;
    // Refused searches do not count.
    let (status, _) = app.get("/api/v1/places/nearby?lat=999&lng=120.2071", None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = app.get(&format!("/api/v1/places/nearby?lat={}&lng={}&limit=0", EMPTY.0, EMPTY.1), None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    flush(app).await;

    let body = map(app, &c.admin, "").await;
    assert_eq!(body["type"], "FeatureCollection");
    assert_eq!(cells(&body), [(cell_of(EMPTY), 15, 15), (cell_of(STATION), 12, 0)], "most unmet first");
    let empty = &body["features"][0];
    assert_eq!(empty["geometry"]["type"], "Polygon");
    assert_eq!(empty["properties"]["unmet_share"], 1.0);
    let nearest = empty["properties"]["nearest_place_m"].as_f64().unwrap();
    assert!((4000.0..6500.0).contains(&nearest), "the station is about 5 km away: {nearest}");

    let (status, csv) =
        app.send(app.client.get(app.url("/api/v1/admin/demand?format=csv")).bearer_auth(&c.admin)).await;
    assert_eq!(status, StatusCode::OK);
    let csv = csv.as_str().map(str::to_string).unwrap_or_else(|| csv.to_string());
    assert!(csv.starts_with("cell,center_lat,center_lng,searches,unmet,unmet_share,nearest_place_m"), "{csv}");
    assert!(csv.contains(&format!("{},", cell_of(EMPTY))) && csv.contains(",15,15,1.000,"), "{csv}");
    c.app.stop().await;
}

#[tokio::test]
async fn a_planner_sees_which_amenity_riders_asked_for_and_did_not_find() {
    let c = city().await;
    let app = &c.app;
    station(&c, STATION, "只有饮水的驿站").await;
    search(app, STATION, "&kind=station&amenity=microwave", 10).await;
    search(app, STATION, "&kind=station&amenity=drinking_water", 11).await;
    flush(app).await;

    let microwave = map(app, &c.admin, "kind=station&amenity=microwave").await;
    assert_eq!(cells(&microwave), [(cell_of(STATION), 10, 10)]);
    assert!(microwave["features"][0]["properties"].get("nearest_place_m").is_none(), "no station has a microwave");
    let water = map(app, &c.admin, "kind=station&amenity=drinking_water").await;
    assert_eq!(cells(&water), [(cell_of(STATION), 11, 0)]);
    let stations = map(app, &c.admin, "kind=station").await;
    assert_eq!(cells(&stations), [(cell_of(STATION), 21, 10)]);
    let parking = map(app, &c.admin, "kind=parking_zone").await;
    assert!(cells(&parking).is_empty(), "nobody asked for parking");
    c.app.stop().await;
}

#[tokio::test]
async fn a_cell_with_few_searches_stays_off_the_map() {
    let c = city_with(Options { extra: vec![("XHB_DEMAND_MIN_SEARCHES", "5".into())] }).await;
    let app = &c.app;
    search(app, EMPTY, "", 4).await;
    search(app, STATION, "", 5).await;
    flush(app).await;
    let body = map(app, &c.admin, "").await;
    assert_eq!(cells(&body), [(cell_of(STATION), 5, 5)], "four searches could be one rider's routine");
    assert_eq!(body["min_searches"], 5);
    let bbox = format!("bbox={},{},{},{}", EMPTY.1 - 0.01, EMPTY.0 - 0.01, EMPTY.1 + 0.01, EMPTY.0 + 0.01);
    assert!(cells(&map(app, &c.admin, &bbox).await).is_empty());
    c.app.stop().await;
}

#[tokio::test]
async fn nothing_written_can_name_a_rider_or_where_they_stood() {
    let c = city().await;
    let app = &c.app;
    let rider = app.rider_token("openid-night-rider").await;
    let (_, me) = app.get("/api/v1/me", Some(&rider)).await;
    let rider_id = me["account_id"].as_str().unwrap().to_string();
    let precise = (30.2712345, 120.1987654);
    for _ in 0..10 {
        let path = format!("/api/v1/places/nearby?lat={}&lng={}", precise.0, precise.1);
        let (status, _) = app.send(app.client.get(app.url(&path)).bearer_auth(&rider)).await;
        assert_eq!(status, StatusCode::OK);
    }
    flush(app).await;
    let rows: Vec<(String, i64, String, String, String, i64, i64)> =
        sqlx::query_as("SELECT grain, period_start, cell, asked, amenity, searches, unmet FROM demand_counts")
            .fetch_all(&app.state.db.pool)
            .await
            .unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    let (grain, hour, cell, asked, amenity, searches, unmet) = rows[0].clone();
    assert_eq!((grain.as_str(), cell.len(), asked.as_str(), amenity.as_str()), ("hour", 6, "all", ""));
    assert_eq!((hour % 3_600_000, searches, unmet), (0, 10, 10), "an hour, a cell and two counts: nothing more");
    let everything = format!("{rows:?}");
    for needle in [rider_id.as_str(), "openid-night-rider", "30.27123", "120.19876"] {
        assert!(!everything.contains(needle), "{needle} in {everything}");
    }
    let columns: Vec<String> = match app.state.db.backend {
        xinhuoban::store::Backend::Sqlite => sqlx::query_scalar("SELECT name FROM pragma_table_info('demand_counts')")
            .fetch_all(&app.state.db.pool)
            .await
            .unwrap(),
        xinhuoban::store::Backend::Postgres => sqlx::query_scalar(
            "SELECT column_name::text FROM information_schema.columns WHERE table_name = 'demand_counts' ORDER BY ordinal_position",
        )
        .fetch_all(&app.state.db.pool)
        .await
        .unwrap(),
    };
    assert_eq!(columns, ["grain", "period_start", "cell", "asked", "amenity", "searches", "unmet"]);
    c.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn old_counters_roll_up_to_days_and_months_and_keep_their_totals() {
    let c = city().await;
    let app = &c.app;
    let ctx = app.state.demand();
    let now = Millis::now();
    let hour = 3_600_000;
    let day_ago = |days: i64| (now.0 - days * 86_400_000).div_euclid(hour) * hour;
    let row = |period_start: i64, cell: &str, searches: i64, unmet: i64| CountRow {
        period_start,
        cell: cell.into(),
        asked: "all".into(),
        amenity: String::new(),
        tally: Tally { searches, unmet },
    };
    let hours: Vec<CountRow> = (0..48)
        .map(|h| row(day_ago(40) + h * hour, if h % 2 == 0 { "wtmk7b" } else { "wtmk7c" }, 3, 1))
        .chain([row(day_ago(2), "wtmk7b", 7, 7)])
        .collect();
    let days = vec![row(day_ago(400), "wtmk7b", 20, 5), row(day_ago(399), "wtmk7b", 30, 6)];
    let mut conn = app.state.db.pool.acquire().await.unwrap();
    add_counts(&mut conn, Grain::Hour, &hours).await.unwrap();
    add_counts(&mut conn, Grain::Day, &days).await.unwrap();
    drop(conn);
    let totals = || async {
        sqlx::query_as::<_, (i64, i64, i64)>(
            "SELECT COUNT(*), CAST(SUM(searches) AS BIGINT), CAST(SUM(unmet) AS BIGINT) FROM demand_counts",
        )
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap()
    };
    let (_, searches, unmet) = totals().await;
    assert_eq!((searches, unmet), (48 * 3 + 7 + 50, 48 + 7 + 11));

    // Two nodes roll up at the same moment.
    let (a, b) = tokio::join!(demand::roll_up(&ctx, now), demand::roll_up(&ctx, now));
    assert!(a.unwrap() + b.unwrap() >= 50);
    assert_eq!(demand::roll_up(&ctx, now).await.unwrap(), 0, "nothing left to roll");
    let (rows, after_searches, after_unmet) = totals().await;
    assert_eq!((after_searches, after_unmet), (searches, unmet), "totals are kept");
    let grains: Vec<(String, i64)> =
        sqlx::query_as("SELECT grain, COUNT(*) FROM demand_counts GROUP BY grain ORDER BY grain")
            .fetch_all(&app.state.db.pool)
            .await
            .unwrap();
    // 48 hours over two or three days and two cells, the recent hour, one month.
    let of = |g: &str| grains.iter().find(|(k, _)| k == g).map_or(0, |(_, n)| *n);
    assert_eq!((of("hour"), of("month")), (1, 1), "{grains:?}");
    assert!((4..=6).contains(&of("day")), "{grains:?}");
    assert_eq!(rows, of("hour") + of("day") + of("month"));
    c.app.stop().await;
}

#[tokio::test]
async fn only_city_admins_and_department_staff_read_the_map() {
    let c = city().await;
    let app = &c.app;
    app.create_staff("market-clerk", Role::Clerk, Some(&c.market)).await;
    let department = app.staff_token("market-clerk").await;
    let rider = app.rider_token("openid-curious").await;
    assert_eq!(app.get("/api/v1/admin/demand", Some(&department)).await.0, StatusCode::OK);
    for (who, token) in [("street office clerk", c.clerks[0].as_str()), ("rider", rider.as_str())] {
        for path in ["/api/v1/admin/demand", "/api/v1/admin/demand/idle-places"] {
            let (status, body) = app.get(path, Some(token)).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{who} {path}: {body}");
        }
    }
    assert_eq!(app.get("/api/v1/admin/demand", None).await.0, StatusCode::UNAUTHORIZED);
    c.app.stop().await;
}

#[tokio::test]
async fn places_nobody_is_shown_or_uses_are_listed_to_move() {
    let c = city().await;
    let app = &c.app;
    let busy = station(&c, STATION, "常有人的驿站").await;
    let forgotten = station(&c, EMPTY, "没人来的驿站").await;
    let visited = station(&c, (30.3000, 120.1200), "有人打卡的驿站").await;
    search(app, STATION, "", 3).await;
    let rider = app.rider_token("openid-visitor").await;
    let (status, body) =
        app.post(&format!("/api/v1/places/{visited}/checkins"), Some(&rider), json!({ "outcome": "all_good" })).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    flush(app).await;

    let (status, body) = app.get("/api/v1/admin/demand/idle-places?max_shown=0", Some(&c.admin)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let ids: Vec<&str> = body["items"].as_array().unwrap().iter().map(|p| p["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [forgotten.as_str()], "busy {busy} was shown, visited {visited} had a check-in");
    let (_, body) = app.get("/api/v1/admin/demand/idle-places?max_shown=3", Some(&c.admin)).await;
    let shown: Vec<i64> = body["items"].as_array().unwrap().iter().map(|p| p["shown"].as_i64().unwrap()).collect();
    assert_eq!(shown, [0, 3], "least shown first");
    c.app.stop().await;
}

#[tokio::test]
async fn with_counting_off_nothing_is_counted() {
    let c = city_with(Options { extra: vec![("XHB_DEMAND_COUNTING", "false".into())] }).await;
    search(&c.app, EMPTY, "", 12).await;
    flush(&c.app).await;
    let rows: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM demand_counts").fetch_one(&c.app.state.db.pool).await.unwrap();
    assert_eq!(rows, 0);
    c.app.stop().await;
}

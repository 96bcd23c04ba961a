//! Places: a rider finds the nearest open station with what they need and checks in; managers keep
//! their own places true; admins import, export and read the history.

use chrono::TimeZone;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::AssertSqlSafe;
use xinhuoban::domain::geo::{CoordSystem, Gcj02, Wgs84};
use xinhuoban::domain::hours::OpeningHours;
use xinhuoban::domain::identity::Role;
use xinhuoban::domain::places::{Amenity, AmenitySet, KindSet, NearbyQuery, PlaceKind, StatusKind};
use xinhuoban::domain::time::Millis;
use xinhuoban::store::Backend;

use crate::helpers::*;

const SHANGHAI: chrono_tz::Tz = chrono_tz::Asia::Shanghai;

fn local(y: i32, m: u32, d: u32, h: u32, min: u32) -> Millis {
    Millis::from_datetime(&SHANGHAI.with_ymd_and_hms(y, m, d, h, min, 0).unwrap())
}

async fn create_place(app: &TestApp, admin: &str, body: Value) -> String {
    let (status, place) = app.post("/api/v1/admin/places", Some(admin), body).await;
    assert_eq!(status, StatusCode::OK, "{place}");
    place["id"].as_str().unwrap().to_string()
}

fn station(name: &str, lat: f64, lng: f64, amenities: &[&str], hours: &str) -> Value {
    json!({ "kind": "station", "name": name, "address": "西湖区某路1号", "lat": lat, "lng": lng,
            "amenities": amenities, "hours": hours })
}

async fn import_csv(app: &TestApp, admin: &str, csv: &str) -> (StatusCode, Value) {
    let req = app.client.post(app.url("/api/v1/admin/places/import")).bearer_auth(admin);
    app.send(req.header("content-type", "text/csv").body(csv.to_string())).await
}

async fn export(app: &TestApp, admin: &str, format: &str) -> String {
    let req = app.client.get(app.url(&format!("/api/v1/admin/places/export?format={format}"))).bearer_auth(admin);
    let resp = req.send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    resp.text().await.unwrap()
}

#[tokio::test]
async fn a_rider_finds_the_nearest_open_station_with_hot_water_in_either_coordinate_system() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let near = create_place(&app, &admin, station("近站", 30.2700, 120.1600, &["hot_water", "toilet"], "24/7")).await;
    let _far = create_place(&app, &admin, station("远站", 30.2800, 120.1600, &["hot_water"], "24/7")).await;
    let _dry = create_place(&app, &admin, station("无热水", 30.2701, 120.1601, &["toilet"], "24/7")).await;
    let _shut = create_place(&app, &admin, station("关门", 30.2702, 120.1600, &["hot_water"], "closed")).await;
    let _away = create_place(&app, &admin, station("太远", 30.4000, 120.1600, &["hot_water"], "24/7")).await;

    let path = "/api/v1/places/nearby?lat=30.2695&lng=120.16&amenity=hot_water&open_now=true";
    let (status, body) = app.get(path, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let items = body["items"].as_array().unwrap();
    let names: Vec<&str> = items.iter().map(|i| i["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["近站", "远站"]);
    let first = &items[0];
    assert_eq!(first["id"], near.as_str());
    assert_eq!((first["coord"].as_str(), first["open_now"].as_bool()), (Some("gcj02"), Some(true)));
    assert_eq!(first["status"], "open");
    assert_eq!(first["distance_m"], 56);
    assert_eq!(first["amenities"], json!(["hot_water", "toilet"]));
    assert!(first["last_confirmed_at"].is_null());
    assert!(body["next_cursor"].is_null());

    // The same spot as the rider's GPS gives it (WGS-84): same places, answers in WGS-84.
    let gps = Gcj02::new(30.2695, 120.16).unwrap().to_wgs84();
    let path = format!(
        "/api/v1/places/nearby?lat={}&lng={}&coord=wgs84&amenity=hot_water&open_now=true",
        gps.lat(),
        gps.lng()
    );
    let (_, body) = app.get(&path, None).await;
    let items = body["items"].as_array().unwrap();
    assert_eq!(items[0]["id"], near.as_str());
    assert_eq!(items[0]["coord"], "wgs84");
    assert_eq!(items[0]["distance_m"], 56);
    let shown = Wgs84::new(items[0]["lat"].as_f64().unwrap(), items[0]["lng"].as_f64().unwrap()).unwrap();
    assert!(shown.to_gcj02().distance_m(Gcj02::new(30.27, 120.16).unwrap()) < 0.01);

    // Kinds filter, and every listed amenity is required.
    let (_, body) = app.get("/api/v1/places/nearby?lat=30.27&lng=120.16&kind=parking_zone", None).await;
    assert_eq!(body["items"], json!([]));
    let (_, body) = app.get("/api/v1/places/nearby?lat=30.27&lng=120.16&amenity=hot_water&amenity=toilet", None).await;
    assert_eq!(body["items"].as_array().unwrap().len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn bad_search_parameters_are_400_in_the_error_shape() {
    let app = spawn_app().await;
    for query in [
        "lat=91&lng=120",
        "lat=30&lng=181",
        "lat=30&lng=120&coord=bd09",
        "lat=30&lng=120&radius_m=0",
        "lat=30&lng=120&radius_m=-5",
        "lat=30&lng=120&radius_m=20001",
        "lat=30&lng=120&limit=101",
        "lat=30&lng=120&kind=hotel",
        "lat=30&lng=120&amenity=sauna",
        "lat=abc&lng=120",
        "lng=120",
    ] {
        let (status, body) = app.get(&format!("/api/v1/places/nearby?{query}"), None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        error_code(&body);
    }
    let (status, body) = app.get("/api/v1/places?bbox=120,30,121", None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    for bad in ["120,30,121,31,1", "120,30,121,91", "120, 30,121,31", "1e2,30,121,31", "nan,30,121,31"] {
        let (status, body) = app.get(&format!("/api/v1/places?bbox={bad}"), None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
    }
    let (status, body) = app.get("/api/v1/places?bbox=70,0,140,56", None).await;
    assert_eq!(status, StatusCode::OK, "a box of any size: {body}");
    app.stop().await;
}

/// WGS-84 → GCJ-02 against reference pairs published with well-known implementations:
/// googollee/eviltransform `go/transform_test.go` (Shanghai, Shenzhen, Beijing; compared there to
/// 5 decimals) and hujiulong/gcoord `test/unit/crs/GCJ02.spec.js` (GCJ-02 123,45 → WGS-84
/// 122.99395597,44.99804071 to 5 decimals).
#[tokio::test]
async fn wgs84_and_gcj02_agree_with_published_reference_pairs() {
    let pairs = [
        ((31.1774276, 121.5272106), (31.17530398364597, 121.531541859215)),
        ((22.543847, 113.912316), (22.540796131694766, 113.9171764808363)),
        ((39.911954, 116.377817), (39.91334545536069, 116.38404722455657)),
    ];
    for ((wlat, wlng), (glat, glng)) in pairs {
        let gcj = Wgs84::new(wlat, wlng).unwrap().to_gcj02();
        assert!((gcj.lat() - glat).abs() < 1e-6 && (gcj.lng() - glng).abs() < 1e-6, "{gcj:?}");
        let back = Gcj02::new(glat, glng).unwrap().to_wgs84();
        assert!(Gcj02::new(back.lat(), back.lng()).unwrap().distance_m(Gcj02::new(wlat, wlng).unwrap()) < 0.5);
    }
    let wgs = Gcj02::new(45.0, 123.0).unwrap().to_wgs84();
    assert!((wgs.lat() - 44.99804071).abs() < 1e-5 && (wgs.lng() - 122.99395597).abs() < 1e-5, "{wgs:?}");
    // Outside mainland China nothing shifts.
    assert_eq!(Gcj02::from_system(51.5074, -0.1278, CoordSystem::Wgs84).unwrap().lng(), -0.1278);

    // Through the API: a station entered in WGS-84 (Beijing pair) is stored in GCJ-02.
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let mut body = station("北京站", 39.911954, 116.377817, &[], "24/7");
    body["coord"] = json!("wgs84");
    let id = create_place(&app, &admin, body).await;
    let (_, place) = app.get(&format!("/api/v1/places/{id}"), None).await;
    assert!((place["lat"].as_f64().unwrap() - 39.91334545536069).abs() < 1e-6, "{place}");
    assert!((place["lng"].as_f64().unwrap() - 116.38404722455657).abs() < 1e-6, "{place}");
    let (_, place) = app.get(&format!("/api/v1/places/{id}?coord=wgs84"), None).await;
    assert!((place["lat"].as_f64().unwrap() - 39.911954).abs() < 1e-6, "{place}");
    assert_eq!(place["coord"], "wgs84");
    app.stop().await;
}

/// What the test knows about each random place, to answer by brute force without the index.
struct Model {
    id: String,
    kind: PlaceKind,
    location: Gcj02,
    amenities: AmenitySet,
    hours: OpeningHours,
    status: StatusKind,
    until: Option<Millis>,
}

const HOURS: [&str; 6] = [
    "24/7",
    "mon-fri 08:00-20:00; sat-sun 10:00-16:00",
    "mon-sun 22:00-06:00",
    "mon-sun 08:00-22:00; 2026-10-01 closed",
    "fri 20:00-04:00; 2026-10-01 10:00-14:00",
    "closed",
];

fn brute_force(places: &[Model], q: &NearbyQuery, now: Millis) -> Vec<(String, f64, bool)> {
    let mut found: Vec<(String, f64, bool)> = places
        .iter()
        .filter_map(|p| {
            let d = q.center.distance_m(p.location);
            let status = match (p.status, p.until) {
                (StatusKind::TemporarilyClosed, Some(u)) if u <= now => StatusKind::Open,
                (s, _) => s,
            };
            let open = matches!(status, StatusKind::Open | StatusKind::Full) && p.hours.is_open_at(now, SHANGHAI);
            let wanted = d <= q.radius_m
                && q.kinds.allows(p.kind)
                && p.amenities.contains_all(q.amenities)
                && (!q.open_now || open)
                && status != StatusKind::Removed;
            wanted.then(|| (p.id.clone(), d, open))
        })
        .collect();
    found.sort_by(|a, b| a.1.total_cmp(&b.1));
    found.truncate(q.limit);
    found
}

#[tokio::test]
async fn nearby_answers_match_a_brute_force_search_on_random_places() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let mut rng = StdRng::seed_from_u64(20261125);

    // 1,500 places over about 10 km × 10 km of the demo city.
    let mut csv = String::from("kind,name,address,lat,lng,amenities,hours\n");
    let mut models = Vec::new();
    for i in 0..1500 {
        let kind = PlaceKind::ALL[rng.random_range(0..3)];
        let location = Gcj02::new(rng.random_range(30.23..30.32), rng.random_range(120.10..120.21)).unwrap();
        let amenities: AmenitySet = Amenity::ALL.iter().copied().filter(|_| rng.random_bool(0.35)).collect();
        let hours = HOURS[rng.random_range(0..HOURS.len())];
        csv.push_str(&format!(
            "{},点{i},路{i}号,{},{},{},{hours}\n",
            kind,
            location.lat(),
            location.lng(),
            amenities.to_list()
        ));
        models.push(Model {
            id: String::new(),
            kind,
            location,
            amenities,
            hours: hours.parse().unwrap(),
            status: StatusKind::Open,
            until: None,
        });
    }
    let (status, body) = import_csv(&app, &admin, &csv).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    for (m, id) in models.iter_mut().zip(body["ids"].as_array().unwrap()) {
        m.id = id.as_str().unwrap().to_string();
    }
    // Managers' statuses: closures that have ended by some of the moments below, full zones, removals.
    for i in (0..1500).step_by(37) {
        let m = &mut models[i];
        let change = match i % 4 {
            0 => {
                m.status = StatusKind::TemporarilyClosed;
                m.until = Some(local(2026, 11, 1, 0, 0));
                json!({ "status": "temporarily_closed", "status_reason": "装修", "status_until": "2026-10-31T16:00:00Z" })
            }
            1 => {
                m.status = StatusKind::TemporarilyClosed;
                json!({ "status": "temporarily_closed", "status_reason": "停电" })
            }
            2 if m.kind == PlaceKind::ParkingZone => {
                m.status = StatusKind::Full;
                json!({ "status": "full" })
            }
            _ => {
                m.status = StatusKind::Removed;
                json!({ "status": "removed" })
            }
        };
        let (status, body) = app.patch(&format!("/api/v1/places/{}", m.id), Some(&admin), change).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }

    let index = &app.state.places;
    assert_eq!(index.len(), models.iter().filter(|m| m.status != StatusKind::Removed).count());
    let moments = [
        local(2026, 11, 27, 23, 30), // Friday night: overnight spans run, day spans are shut
        local(2026, 11, 28, 1, 30),  // after midnight: Friday's 20:00-04:00 still runs on Saturday
        local(2026, 10, 1, 12, 0),   // a holiday exception: closed, or special hours
        local(2026, 10, 1, 3, 0),    // the night of 30 September runs into the holiday
        local(2026, 10, 31, 10, 0),  // a Saturday while the temporary closures still hold
        local(2026, 11, 25, 10, 0),  // a Wednesday morning after they ended
    ];
    let mut checked = 0;
    for now in moments {
        for _ in 0..40 {
            let system = if rng.random_bool(0.5) { CoordSystem::Gcj02 } else { CoordSystem::Wgs84 };
            let (lat, lng) = (rng.random_range(30.22..30.33), rng.random_range(120.09..120.22));
            let kinds: Vec<PlaceKind> = PlaceKind::ALL.iter().copied().filter(|_| rng.random_bool(0.4)).collect();
            let amenities: AmenitySet =
                Amenity::ALL.iter().copied().filter(|_| rng.random_bool(0.06)).collect::<AmenitySet>();
            let q = NearbyQuery {
                center: Gcj02::from_system(lat, lng, system).unwrap(),
                radius_m: f64::from(rng.random_range(100..8000)),
                kinds: kinds.iter().copied().collect::<KindSet>(),
                amenities,
                open_now: rng.random_bool(0.5),
                limit: rng.random_range(1..60),
            };
            let expected = brute_force(&models, &q, now);
            let got = index.nearby(&q, now);
            let got_ids: Vec<String> = got.iter().map(|h| h.id_string()).collect();
            let want_ids: Vec<String> = expected.iter().map(|e| e.0.clone()).collect();
            assert_eq!(got_ids, want_ids, "{q:?} at {now:?}");
            for (h, e) in got.iter().zip(&expected) {
                assert!((h.distance_m - e.1).abs() < 0.01);
                assert_eq!(h.open_now, e.2);
            }
            checked += got.len();
        }
    }
    assert!(checked > 1000, "the random queries found too little to prove anything: {checked}");

    // Through HTTP, with the wall clock: same places in both systems (open_now left to the above).
    for _ in 0..30 {
        let system = if rng.random_bool(0.5) { CoordSystem::Gcj02 } else { CoordSystem::Wgs84 };
        let (lat, lng) = (rng.random_range(30.24..30.31), rng.random_range(120.11..120.20));
        let amenity = Amenity::ALL[rng.random_range(0..Amenity::ALL.len())];
        let q = NearbyQuery {
            center: Gcj02::from_system(lat, lng, system).unwrap(),
            radius_m: 2500.0,
            kinds: [PlaceKind::Station, PlaceKind::ParkingZone].into_iter().collect(),
            amenities: [amenity].into_iter().collect(),
            open_now: false,
            limit: 30,
        };
        let expected = brute_force(&models, &q, Millis::now());
        let path = format!(
            "/api/v1/places/nearby?lat={lat}&lng={lng}&coord={system}&radius_m=2500&kind=station&kind=parking_zone&amenity={}&limit=30",
            amenity.as_str()
        );
        let (status, body) = app.get(&path, None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let items = body["items"].as_array().unwrap();
        let ids: Vec<&str> = items.iter().map(|i| i["id"].as_str().unwrap()).collect();
        let want: Vec<&str> = expected.iter().map(|e| e.0.as_str()).collect();
        assert_eq!(ids, want);
        for (item, e) in items.iter().zip(&expected) {
            assert!((item["distance_m"].as_f64().unwrap() - e.1).abs() <= 0.5);
            assert_eq!(item["coord"], system.as_str());
            let m = models.iter().find(|m| m.id == e.0).unwrap();
            let (mlat, mlng) = m.location.in_system(system);
            assert!(
                (item["lat"].as_f64().unwrap() - mlat).abs() < 1e-7
                    && (item["lng"].as_f64().unwrap() - mlng).abs() < 1e-7
            );
        }
    }
    app.stop().await;
}

#[tokio::test]
async fn a_change_made_through_another_node_reaches_this_nodes_index() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let id = create_place(&app, &admin, station("别处修改", 30.27, 120.16, &[], "24/7")).await;
    // Another node (here: a second index loaded from the same database) and its own write.
    let other = xinhuoban::service::places::load_index(&app.state.db, SHANGHAI).await.unwrap();
    assert_eq!(other.len(), 1);
    let (status, _) = app.delete(&format!("/api/v1/admin/places/{id}"), Some(&admin)).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(app.state.places.len(), 0, "the writing node updates its own index at once");
    assert_eq!(other.len(), 1, "the other node has not looked yet");
    // What its background task does every 500 ms:
    let applied = xinhuoban::service::places::refresh_index(&app.state.db, &other).await.unwrap();
    assert_eq!((applied, other.len()), (1, 0));
    assert_eq!(xinhuoban::service::places::refresh_index(&app.state.db, &other).await.unwrap(), 0);
    app.stop().await;
}

#[tokio::test]
async fn station_managers_keep_only_their_own_places_true() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let wang = app.create_staff("wang", Role::StationManager, None).await;
    app.create_staff("lisi", Role::StationManager, None).await;
    let mine = create_place(&app, &admin, station("王的驿站", 30.27, 120.16, &["drinking_water"], "24/7")).await;
    let theirs = create_place(&app, &admin, station("别人的驿站", 30.28, 120.16, &[], "24/7")).await;
    let (status, body) =
        app.put(&format!("/api/v1/admin/places/{mine}/managers"), Some(&admin), json!({ "account_ids": [wang] })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let token = app.staff_token("wang").await;

    let (status, me) = app.get("/api/v1/manager/places", Some(&token)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["items"][0]["id"], mine.as_str());

    // Own place: amenities, hours and status.
    let change = json!({ "amenities": ["drinking_water", "microwave"], "hours": "mon-sun 22:00-06:00",
                         "status": "temporarily_closed", "status_reason": "停水检修" });
    let (status, place) = app.patch(&format!("/api/v1/places/{mine}"), Some(&token), change.clone()).await;
    assert_eq!(status, StatusCode::OK, "{place}");
    assert_eq!(place["amenities"], json!(["drinking_water", "microwave"]));
    assert_eq!((place["status"].as_str(), place["open_now"].as_bool()), (Some("temporarily_closed"), Some(false)));
    assert_eq!(place["hours"], "mon-sun 22:00-06:00");
    let (_, found) = app.get("/api/v1/places/nearby?lat=30.27&lng=120.16&open_now=true", None).await;
    assert!(found["items"].as_array().unwrap().iter().all(|i| i["id"] != mine.as_str()), "closed is not open now");

    // Not theirs: 403. No such place: 404. Fields beyond upkeep: 403. Full is for parking: 400.
    let (status, body) = app.patch(&format!("/api/v1/places/{theirs}"), Some(&token), change.clone()).await;
    assert_eq!((status, error_code(&body)), (StatusCode::FORBIDDEN, "forbidden"));
    let (status, _) = app.patch("/api/v1/places/0192f0c0-0000-7000-8000-000000000000", Some(&token), change).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app.patch(&format!("/api/v1/places/{mine}"), Some(&token), json!({ "name": "改名" })).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // A station cannot be full: the change conflicts with the place's kind, which the change alone
    // does not show.
    let (status, body) = app.patch(&format!("/api/v1/places/{mine}"), Some(&token), json!({ "status": "full" })).await;
    assert_eq!((status, error_code(&body)), (StatusCode::CONFLICT, "wrong_place_kind"));
    // Another manager, a rider, and no token at all.
    let li = app.staff_token("lisi").await;
    let (status, _) = app.patch(&format!("/api/v1/places/{mine}"), Some(&li), json!({ "status": "open" })).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let rider = app.rider_token("rider-a").await;
    let (status, _) = app.patch(&format!("/api/v1/places/{mine}"), Some(&rider), json!({ "status": "open" })).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app.patch(&format!("/api/v1/places/{mine}"), None, json!({ "status": "open" })).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // Managers cannot create, remove or assign.
    let (status, _) = app.post("/api/v1/admin/places", Some(&token), station("x", 30.0, 120.0, &[], "24/7")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app.delete(&format!("/api/v1/admin/places/{mine}"), Some(&token)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    app.stop().await;
}

#[tokio::test]
async fn every_change_is_recorded_and_admins_read_the_history() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let wang = app.create_staff("wang", Role::StationManager, None).await;
    let id = create_place(&app, &admin, station("有历史", 30.27, 120.16, &["toilet"], "24/7")).await;
    app.put(&format!("/api/v1/admin/places/{id}/managers"), Some(&admin), json!({ "account_ids": [wang] })).await;
    let token = app.staff_token("wang").await;
    let (status, _) = app.patch(&format!("/api/v1/places/{id}"), Some(&token), json!({ "amenities": ["wifi"] })).await;
    assert_eq!(status, StatusCode::OK);
    app.delete(&format!("/api/v1/admin/places/{id}"), Some(&admin)).await;

    let (status, history) = app.get(&format!("/api/v1/admin/places/{id}/history"), Some(&admin)).await;
    assert_eq!(status, StatusCode::OK, "{history}");
    let items = history["items"].as_array().unwrap();
    let actions: Vec<&str> = items.iter().map(|i| i["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["place.create", "place.managers", "place.update", "place.remove"]);
    let update = &items[2];
    assert_eq!(update["actor_id"], wang.as_str());
    assert_eq!(update["before"]["amenities"], json!(["toilet"]));
    assert_eq!(update["after"]["amenities"], json!(["wifi"]));
    assert!(update["at"].is_string());
    assert!(items[0]["before"].is_null());
    assert_eq!(items[3]["after"]["status"], "removed");
    assert_eq!(items[1]["after"]["managers"], json!([wang]));

    // Paged, and for admins only.
    let (_, page) = app.get(&format!("/api/v1/admin/places/{id}/history?limit=3"), Some(&admin)).await;
    let cursor = page["next_cursor"].as_str().unwrap();
    let (_, rest) = app.get(&format!("/api/v1/admin/places/{id}/history?limit=3&cursor={cursor}"), Some(&admin)).await;
    assert_eq!(rest["items"][0]["action"], "place.remove");
    let (status, _) = app.get(&format!("/api/v1/admin/places/{id}/history"), Some(&token)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Removed: gone for riders.
    let (status, _) = app.get(&format!("/api/v1/places/{id}"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    app.stop().await;
}

#[tokio::test]
async fn an_import_with_bad_rows_names_each_and_imports_nothing() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let csv = "kind,name,address,lat,lng,amenities,hours,capacity\n\
               station,好驿站,路1号,30.27,120.16,drinking_water,24/7,\n\
               station,坏纬度,路2号,91,120.16,,,\n\
               parking_zone,好停车点,路3号,30.27,120.17,,mon-fri 08:00-20:00,20\n\
               station,坏时间,路4号,30.27,120.16,,mon 25:00-26:00,\n\
               museum,坏类型,路5号,30.27,120.16,,,\n";
    let (status, body) = import_csv(&app, &admin, csv).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(error_code(&body), "invalid_rows");
    let errors: Vec<(u64, &str)> = body["details"]["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["line"].as_u64().unwrap(), e["field"].as_str().unwrap()))
        .collect();
    assert_eq!(errors, [(3, "lat"), (5, "hours"), (6, "kind")]);
    assert_eq!(app.state.places.len(), 0);
    assert_eq!(export(&app, &admin, "csv").await.lines().count(), 1, "only the header: nothing was imported");

    let geojson = json!({ "type": "FeatureCollection", "features": [
        { "type": "Feature", "geometry": { "type": "Point", "coordinates": [120.16, 30.27] },
          "properties": { "kind": "friendly_site", "name": "友好小区", "address": "路6号", "entry_instructions": "报骑手证" } },
        { "type": "Feature", "geometry": { "type": "Point", "coordinates": [120.16] }, "properties": {} },
        { "type": "Feature", "geometry": { "type": "Point", "coordinates": [120.16, 30.27] },
          "properties": { "kind": "station", "name": "有说明的驿站", "address": "路7号", "entry_instructions": "x" } },
    ]});
    let req = app.client.post(app.url("/api/v1/admin/places/import")).bearer_auth(&admin);
    let (status, body) = app.send(req.header("content-type", "application/geo+json").body(geojson.to_string())).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let features: Vec<u64> =
        body["details"]["errors"].as_array().unwrap().iter().map(|e| e["feature"].as_u64().unwrap()).collect();
    assert_eq!(features, [1, 2]);
    assert_eq!(app.state.places.len(), 0);

    // Riders and managers cannot import.
    let rider = app.rider_token("r").await;
    let (status, _) = import_csv(&app, &rider, csv).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    app.stop().await;
}

#[tokio::test]
async fn an_export_imports_again_into_another_city_unchanged() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let csv = "kind,name,address,lat,lng,coord,host_org,contact_phone,amenities,hours,capacity,max_stay_minutes,entry_instructions,photos\n\
               station,西湖驿站,\"西湖路1号, 东门\",30.2712345,120.1612345,gcj02,街道党群服务中心,0571-12345678,drinking_water|toilet,\"mon-fri 08:00-20:00; 2026-10-01 closed\",,,,https://example.com/a.jpg\n\
               parking_zone,文三路停车点,文三路,30.28,120.13,gcj02,,,ebike_charging,24/7,12,30,,\n\
               friendly_site,友好大厦,天目山路,30.29,120.14,wgs84,,,,mon-sun 22:00-06:00,,,刷骑手码进门,\n";
    let (status, body) = import_csv(&app, &admin, csv).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["created"], 3);
    let first_csv = export(&app, &admin, "csv").await;
    let first_geo = export(&app, &admin, "geojson").await;

    let other = spawn_app().await;
    let other_admin = other.admin_token().await;
    let (status, _) = import_csv(&other, &other_admin, &first_csv).await;
    assert_eq!(status, StatusCode::OK);
    let second_csv = export(&other, &other_admin, "csv").await;
    let without_ids = |text: &str| -> Vec<String> {
        let mut rows: Vec<String> = text.lines().map(|l| l.split_once(',').unwrap().1.to_string()).collect();
        rows.sort();
        rows
    };
    assert_eq!(without_ids(&first_csv), without_ids(&second_csv));
    assert!(first_csv.contains(",mon-fri 08:00-20:00; 2026-10-01 closed,"), "{first_csv}");

    // GeoJSON round trip (WGS-84 on the way out and in).
    let third = spawn_app().await;
    let third_admin = third.admin_token().await;
    let req = third.client.post(third.url("/api/v1/admin/places/import")).bearer_auth(&third_admin);
    let (status, body) = third.send(req.header("content-type", "application/geo+json").body(first_geo.clone())).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let geo: Value = serde_json::from_str(&first_geo).unwrap();
    let again: Value = serde_json::from_str(&export(&third, &third_admin, "geojson").await).unwrap();
    let props = |v: &Value| -> Vec<String> {
        let mut p: Vec<String> =
            v["features"].as_array().unwrap().iter().map(|f| f["properties"].to_string()).collect();
        p.sort();
        p
    };
    assert_eq!(props(&geo), props(&again));
    for f in again["features"].as_array().unwrap() {
        let c = &f["geometry"]["coordinates"];
        let original = geo["features"].as_array().unwrap().iter().find(|g| g["properties"] == f["properties"]).unwrap();
        let o = &original["geometry"]["coordinates"];
        assert!((c[0].as_f64().unwrap() - o[0].as_f64().unwrap()).abs() < 1e-8);
        assert!((c[1].as_f64().unwrap() - o[1].as_f64().unwrap()).abs() < 1e-8);
    }
    for a in [app, other, third] {
        a.stop().await;
    }
}

#[tokio::test]
async fn a_rider_checks_in_once_an_hour_and_the_manager_sees_the_failures() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let wang = app.create_staff("wang", Role::StationManager, None).await;
    let id =
        create_place(&app, &admin, station("打卡驿站", 30.27, 120.16, &["drinking_water", "microwave"], "24/7")).await;
    app.put(&format!("/api/v1/admin/places/{id}/managers"), Some(&admin), json!({ "account_ids": [wang] })).await;
    let zhang = app.rider_token("zhang").await;
    let li = app.rider_token("li").await;
    let path = format!("/api/v1/places/{id}/checkins");

    // Got water: a success that confirms the place.
    let got_water = json!({ "outcome": "used_amenity", "amenity": "drinking_water" });
    let (status, first) = app.post(&path, Some(&zhang), got_water.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    assert_eq!((first["success"].as_bool(), first["amenity"].as_str()), (Some(true), Some("drinking_water")));
    // Again within the hour, even saying something else: the first check-in, unchanged.
    let (status, again) = app.post(&path, Some(&zhang), json!({ "outcome": "closed" })).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again["id"], first["id"]);
    assert_eq!(again["outcome"], "used_amenity");

    let (_, place) = app.get(&format!("/api/v1/places/{id}"), None).await;
    assert_eq!(place["last_confirmed_at"], first["created_at"]);
    assert_eq!(place["recent_checkins"][0]["outcome"], "used_amenity");
    assert!(!place.to_string().contains(first["id"].as_str().unwrap()), "riders see outcomes, not check-ins");
    let (_, found) = app.get("/api/v1/places/nearby?lat=30.27&lng=120.16", None).await;
    assert_eq!(found["items"][0]["last_confirmed_at"], first["created_at"], "the index knows too");

    // Another rider: microwave broken, with an idempotency key; the retry answers the same.
    let broken = json!({ "outcome": "amenity_broken", "amenity": "microwave", "note": "不加热" });
    let keyed =
        |body: Value| app.client.post(app.url(&path)).bearer_auth(&li).header("Idempotency-Key", "k-1").json(&body);
    let (status, failure) = app.send(keyed(broken.clone())).await;
    assert_eq!(status, StatusCode::CREATED, "{failure}");
    let (status, retry) = app.send(keyed(broken)).await;
    assert_eq!((status, &retry["id"]), (StatusCode::OK, &failure["id"]));

    // Outcomes that name an amenity need one; others take none. Staff cannot check in.
    let (status, _) = app.post(&path, Some(&app.rider_token("wu").await), json!({ "outcome": "amenity_broken" })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // Each outcome has its own shape: `all_good` has no amenity, so one sent along is not read.
    let (status, good) =
        app.post(&path, Some(&app.rider_token("wu").await), json!({ "outcome": "all_good", "amenity": "wifi" })).await;
    assert_eq!(status, StatusCode::CREATED, "{good}");
    assert!(good.get("amenity").is_none(), "{good}");
    let (status, _) = app.post(&path, Some(&admin), json!({ "outcome": "all_good" })).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) =
        app.post("/api/v1/places/0192f0c0-0000-7000-8000-000000000000/checkins", Some(&zhang), got_water).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The manager sees the failure, without who reported it.
    let manager = app.staff_token("wang").await;
    let (status, list) = app.get("/api/v1/manager/checkins?failures_only=true", Some(&manager)).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!((items[0]["outcome"].as_str(), items[0]["note"].as_str()), (Some("amenity_broken"), Some("不加热")));
    let (_, all) = app.get(&format!("/api/v1/places/{id}/checkins"), Some(&manager)).await;
    assert_eq!(all["items"].as_array().unwrap().len(), 3);
    // Another manager may not read them.
    app.create_staff("zhao", Role::StationManager, None).await;
    let zhao = app.staff_token("zhao").await;
    let (status, _) = app.get(&format!("/api/v1/places/{id}/checkins"), Some(&zhao)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, none) = app.get("/api/v1/manager/checkins", Some(&zhao)).await;
    assert_eq!(none["items"], json!([]));
    app.stop().await;
}

#[tokio::test]
async fn the_map_lists_places_inside_a_box_page_by_page() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    for i in 0..5 {
        create_place(&app, &admin, station(&format!("框内{i}"), 30.26 + f64::from(i) * 0.005, 120.15, &[], "24/7"))
            .await;
    }
    create_place(&app, &admin, station("框外", 30.40, 120.15, &[], "24/7")).await;
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = "/api/v1/places?bbox=120.10,30.25,120.20,30.30&limit=2".to_string();
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let (status, page) = app.get(&path, None).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        seen.extend(page["items"].as_array().unwrap().iter().map(|i| i["name"].as_str().unwrap().to_string()));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    seen.sort();
    assert_eq!(seen, ["框内0", "框内1", "框内2", "框内3", "框内4"]);
    // The same box by any two opposite corners, in either order.
    for corners in ["120.20,30.30,120.10,30.25", "120.10,30.30,120.20,30.25", "120.20,30.25,120.10,30.30"] {
        let (status, page) = app.get(&format!("/api/v1/places?bbox={corners}&limit=100"), None).await;
        assert_eq!(status, StatusCode::OK, "{corners}: {page}");
        assert_eq!(page["items"].as_array().unwrap().len(), 5, "{corners}: {page}");
    }
    // In WGS-84 the same box (as a GPS map draws it) holds the same places, shown in WGS-84.
    let (_, page) = app.get("/api/v1/places?bbox=120.095,30.2525,120.195,30.2975&coord=wgs84", None).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 5, "{page}");
    assert_eq!(page["items"][0]["coord"], "wgs84");
    app.stop().await;
}

#[tokio::test]
async fn the_demo_city_has_places_of_every_kind_and_the_demo_manager_keeps_some() {
    let app = spawn_demo_app().await;
    assert_eq!(app.state.places.len(), 12);
    let (_, page) = app.get("/api/v1/places?bbox=120.11,30.25,120.21,30.30&limit=100", None).await;
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 12, "all inside the demo area");
    for kind in ["station", "parking_zone", "friendly_site"] {
        assert!(items.iter().any(|i| i["kind"] == kind), "{kind}");
    }
    assert!(items.iter().any(|i| i["hours"] == "mon-sun 22:00-06:00"));
    let (status, body) =
        app.post("/api/v1/auth/staff-login", None, json!({ "username": "demo-manager", "password": "demo" })).await;
    assert_eq!(status, StatusCode::OK);
    let (_, me) = app.get("/api/v1/me", body["token"].as_str()).await;
    assert_eq!(me["place_ids"].as_array().unwrap().len(), 4, "{me}");
    app.stop().await;
}

/// Makes every `op` (INSERT or UPDATE) on `table` fail inside the database, as a full disk or a
/// lost connection would halfway through a write; `heal` takes it away.
async fn break_writes(app: &TestApp, name: &str, op: &str, table: &str) {
    let pool = &app.state.db.pool;
    match app.state.db.backend {
        Backend::Sqlite => {
            let sql =
                format!("CREATE TRIGGER {name} BEFORE {op} ON {table} BEGIN SELECT RAISE(ABORT, 'injected'); END");
            sqlx::raw_sql(AssertSqlSafe(sql)).execute(pool).await.unwrap();
        }
        Backend::Postgres => {
            let sql = format!(
                "CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'injected'; END $$; \
                 CREATE TRIGGER {name} BEFORE {op} ON {table} FOR EACH ROW EXECUTE FUNCTION {name}()"
            );
            sqlx::raw_sql(AssertSqlSafe(sql)).execute(pool).await.unwrap();
        }
    }
}

async fn heal(app: &TestApp, name: &str, table: &str) {
    let sql = match app.state.db.backend {
        Backend::Sqlite => format!("DROP TRIGGER {name}"),
        Backend::Postgres => format!("DROP TRIGGER {name} ON {table}; DROP FUNCTION {name}()"),
    };
    sqlx::raw_sql(AssertSqlSafe(sql)).execute(&app.state.db.pool).await.unwrap();
}

async fn history_actions(app: &TestApp, admin: &str, id: &str) -> Vec<String> {
    let (status, history) = app.get(&format!("/api/v1/admin/places/{id}/history"), Some(admin)).await;
    assert_eq!(status, StatusCode::OK, "{history}");
    history["items"].as_array().unwrap().iter().map(|i| i["action"].as_str().unwrap().to_string()).collect()
}

#[tokio::test]
async fn a_place_write_whose_audit_entry_fails_leaves_nothing_changed() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let wang = app.create_staff("wang", Role::StationManager, None).await;
    let id = create_place(&app, &admin, station("审计驿站", 30.27, 120.16, &["toilet"], "24/7")).await;
    let place_path = format!("/api/v1/places/{id}");
    let (_, before) = app.get(&place_path, None).await;

    break_writes(&app, "no_audit", "INSERT", "audit_log").await;
    let internal = |status: StatusCode, body: &Value| {
        assert_eq!((status, error_code(body)), (StatusCode::INTERNAL_SERVER_ERROR, "internal"), "{body}");
    };
    let (status, body) =
        app.put(&format!("/api/v1/admin/places/{id}/managers"), Some(&admin), json!({ "account_ids": [wang] })).await;
    internal(status, &body);
    let (status, body) = app.patch(&place_path, Some(&admin), json!({ "amenities": ["wifi"], "name": "改名" })).await;
    internal(status, &body);
    let (status, body) = app.delete(&format!("/api/v1/admin/places/{id}"), Some(&admin)).await;
    internal(status, &body);
    let (status, body) =
        app.post("/api/v1/admin/places", Some(&admin), station("新站", 30.28, 120.16, &[], "24/7")).await;
    internal(status, &body);
    let (status, body) =
        import_csv(&app, &admin, "kind,name,address,lat,lng\nstation,导入站,路1号,30.27,120.17\n").await;
    internal(status, &body);
    heal(&app, "no_audit", "audit_log").await;

    // Nothing of it landed: not in the database, not in this node's index, not in the history.
    let (_, after) = app.get(&place_path, None).await;
    assert_eq!(after, before);
    let manager = app.staff_token("wang").await;
    let (_, mine) = app.get("/api/v1/manager/places", Some(&manager)).await;
    assert_eq!(mine["items"], json!([]));
    assert_eq!(app.state.places.len(), 1);
    let (_, found) = app.get("/api/v1/places/nearby?lat=30.27&lng=120.16", None).await;
    assert_eq!(found["items"][0]["name"], "审计驿站");
    assert_eq!(export(&app, &admin, "csv").await.lines().count(), 2, "the header and the one place");
    assert_eq!(history_actions(&app, &admin, &id).await, ["place.create"]);

    // The other way round: when the change fails, no audit entry claims it happened.
    break_writes(&app, "no_place_update", "UPDATE", "places").await;
    break_writes(&app, "no_managers", "INSERT", "place_managers").await;
    let (status, body) = app.patch(&place_path, Some(&admin), json!({ "amenities": ["wifi"] })).await;
    internal(status, &body);
    let (status, body) =
        app.put(&format!("/api/v1/admin/places/{id}/managers"), Some(&admin), json!({ "account_ids": [wang] })).await;
    internal(status, &body);
    heal(&app, "no_place_update", "places").await;
    heal(&app, "no_managers", "place_managers").await;
    assert_eq!(history_actions(&app, &admin, &id).await, ["place.create"]);
    let (_, after) = app.get(&place_path, None).await;
    assert_eq!(after, before);

    // Healed, the same writes go through with their entries.
    let (status, _) =
        app.put(&format!("/api/v1/admin/places/{id}/managers"), Some(&admin), json!({ "account_ids": [wang] })).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app.patch(&place_path, Some(&admin), json!({ "amenities": ["wifi"] })).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(history_actions(&app, &admin, &id).await, ["place.create", "place.managers", "place.update"]);
    app.stop().await;
}

#[tokio::test]
async fn staff_read_what_riders_found_at_a_place_never_who_they_are() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let wang = app.create_staff("wang", Role::StationManager, None).await;
    let id = create_place(&app, &admin, station("匿名驿站", 30.27, 120.16, &["microwave"], "24/7")).await;
    app.put(&format!("/api/v1/admin/places/{id}/managers"), Some(&admin), json!({ "account_ids": [wang] })).await;
    let rider = app.rider_token("openid-who-reported").await;
    let (_, me) = app.get("/api/v1/me", Some(&rider)).await;
    let rider_id = me["account_id"].as_str().unwrap().to_string();
    let broken = json!({ "outcome": "amenity_broken", "amenity": "microwave", "note": "不加热" });
    let (status, _) = app.post(&format!("/api/v1/places/{id}/checkins"), Some(&rider), broken).await;
    assert_eq!(status, StatusCode::CREATED);

    let manager = app.staff_token("wang").await;
    let views = [
        ("/api/v1/manager/checkins?failures_only=true".to_string(), &manager),
        (format!("/api/v1/places/{id}/checkins"), &manager),
        (format!("/api/v1/places/{id}/checkins"), &admin),
        (format!("/api/v1/admin/places/{id}/history"), &admin),
    ];
    for (path, token) in views {
        let (status, body) = app.get(&path, Some(token)).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        assert!(!body["items"].as_array().unwrap().is_empty(), "{path}");
        let text = body.to_string();
        assert!(!text.contains(&rider_id) && !text.contains("openid-who-reported"), "{path} names the rider: {text}");
    }
    let (_, page) = app.get(&format!("/api/v1/places/{id}"), None).await;
    assert_eq!(page["recent_checkins"][0]["outcome"], "amenity_broken");
    assert!(!page.to_string().contains(&rider_id));
    app.stop().await;
}

#[tokio::test]
async fn clerks_neither_change_places_nor_read_their_check_ins() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let office = app.create_office("城关街道").await;
    app.create_staff("clerk", Role::Clerk, Some(&office)).await;
    let clerk = app.staff_token("clerk").await;
    let id = create_place(&app, &admin, station("驿站", 30.27, 120.16, &[], "24/7")).await;
    let (status, _) = app.patch(&format!("/api/v1/places/{id}"), Some(&clerk), json!({ "status": "open" })).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    for path in
        [format!("/api/v1/places/{id}/checkins"), "/api/v1/manager/checkins".into(), "/api/v1/manager/places".into()]
    {
        let (status, body) = app.get(&path, Some(&clerk)).await;
        assert_eq!((status, error_code(&body)), (StatusCode::FORBIDDEN, "forbidden"), "{path}");
    }
    app.stop().await;
}

//! Nearby search has two ways in: plainly spelled searches are answered before the router
//! (`api::nearby_fast`), everything else by poem-openapi's typed handler. Two servers on one
//! database, one with the plain path and one without, are asked the same questions, valid and
//! not: every answer must be the same, byte for byte, header for header.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::StatusCode;
use serde_json::json;
use xinhuoban::domain::places::{Amenity, PlaceKind};

use crate::helpers::*;

/// Status, headers (without the per-request ones) and body.
async fn ask(app: &TestApp, method: reqwest::Method, query: &str) -> (StatusCode, Vec<(String, String)>, Vec<u8>) {
    let url = format!("{}?{query}", app.url("/api/v1/places/nearby"));
    let resp = app.client.request(method, url).send().await.expect("the server answers");
    let status = resp.status();
    let mut headers: Vec<(String, String)> = resp
        .headers()
        .iter()
        .filter(|(name, _)| !matches!(name.as_str(), "date" | "x-request-id"))
        .map(|(name, value)| (name.to_string(), value.to_str().unwrap_or("?").to_string()))
        .collect();
    headers.sort();
    (status, headers, resp.bytes().await.expect("a body").to_vec())
}

/// A city with variety: every kind, random amenities, names that need escaping, a place closed
/// for now, another confirmed by a rider's check-in.
async fn city() -> TestApp {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let mut rng = StdRng::seed_from_u64(14);
    let mut csv = String::from("kind,name,address,lat,lng,amenities,hours\n");
    for i in 0..400 {
        let kind = PlaceKind::ALL[rng.random_range(0..3)];
        let amenities: Vec<&str> = Amenity::ALL.iter().filter(|_| rng.random_bool(0.3)).map(|a| a.as_str()).collect();
        let hours = ["24/7", "mon-fri 08:00-20:00", "mon-sun 22:00-06:00"][i % 3];
        let name = if i % 7 == 0 { format!("\"\"老王\"\"的驿站\\{i}") } else { format!("驿站{i}") };
        csv.push_str(&format!(
            "{kind},\"{name}\",路{i}号,{:.7},{:.7},\"{}\",{hours}\n",
            rng.random_range(30.22..30.32),
            rng.random_range(120.10..120.22),
            amenities.join(",")
        ));
    }
    let req = app.client.post(app.url("/api/v1/admin/places/import")).bearer_auth(&admin);
    let (status, body) = app.send(req.header("content-type", "text/csv").body(csv)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let ids: Vec<String> = body["ids"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect();
    let closed =
        json!({ "status": "temporarily_closed", "status_reason": "装修", "status_until": "2099-01-01T00:00:00Z" });
    let (status, body) = app.patch(&format!("/api/v1/places/{}", ids[1]), Some(&admin), closed).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let rider = app.rider_token("ok-rider").await;
    let got_in = json!({ "outcome": "all_good" });
    let (status, body) = app.post(&format!("/api/v1/places/{}/checkins", ids[2]), Some(&rider), got_in).await;
    assert!(status.is_success(), "{body}");
    app
}

fn questions(rng: &mut StdRng) -> Vec<String> {
    let mut q: Vec<String> = [
        // Plain, at every limit and in both systems.
        "lat=30.27&lng=120.16",
        "lat=30.27&lng=120.16&coord=gcj02",
        "lat=30.2675&lng=120.1551&coord=wgs84",
        "lng=120.16&lat=30.27&radius_m=1",
        "lat=30.27&lng=120.16&radius_m=20000&limit=100",
        "lat=30.27&lng=120.16&limit=1",
        "lat=30.27&lng=120.16&open_now=true",
        "lat=30.27&lng=120.16&open_now=false",
        "lat=30.27&lng=120.16&kind=station&kind=parking_zone&kind=friendly_site",
        "lat=-90&lng=-180",
        "lat=90&lng=180&coord=wgs84",
        "lat=30&lng=120",
        "lat=1e1&lng=120.16",
        // Refusals: each limit passed by one, wrong types, unknown names.
        "",
        "lng=120.16",
        "lat=30.27",
        "lat=90.0000001&lng=120.16",
        "lat=-91&lng=120.16",
        "lat=30.27&lng=180.5",
        "lat=abc&lng=120.16",
        "lat=NaN&lng=120.16",
        "lat=inf&lng=120.16",
        "lat=30.27&lng=120.16&radius_m=0",
        "lat=30.27&lng=120.16&radius_m=20001",
        "lat=30.27&lng=120.16&radius_m=-1",
        "lat=30.27&lng=120.16&radius_m=1.5",
        "lat=30.27&lng=120.16&limit=0",
        "lat=30.27&lng=120.16&limit=101",
        "lat=30.27&lng=120.16&kind=station&kind=station&kind=station&kind=station",
        "lat=30.27&lng=120.16&kind=hotel",
        "lat=30.27&lng=120.16&amenity=sauna",
        "lat=30.27&lng=120.16&open_now=1",
        "lat=30.27&lng=120.16&open_now=TRUE",
        "lat=30.27&lng=120.16&coord=bd09",
        "lat=30.27&lng=120.16&coord=",
        "lat=30.27&lng=120.16&limit=",
        // Unusual spellings the typed handler reads: repeats, unknown names, encodings.
        "lat=30.27&lat=31&lng=120.16",
        "lat=30.27&lng=120.16&foo=bar",
        "lat=30%2E27&lng=120.16",
        "lat=30.27&lng=+120.16",
        "lat=30.27&lng=120.16&",
        "lat=30.27&lng=120.16&open_now",
        "LAT=30.27&lng=120.16",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for a in Amenity::ALL {
        q.push(format!("lat=30.27&lng=120.16&amenity={}", a.as_str()));
    }
    let every: Vec<String> = Amenity::ALL.iter().map(|a| format!("amenity={}", a.as_str())).collect();
    q.push(format!("lat=30.27&lng=120.16&{}", every.join("&")));
    q.push(format!("lat=30.27&lng=120.16&{}&amenity=wifi", every.join("&")));
    // Random searches over the city, in either system, with random filters.
    for _ in 0..150 {
        let mut s = format!("lat={:.6}&lng={:.6}", rng.random_range(30.21..30.33), rng.random_range(120.09..120.23));
        if rng.random_bool(0.5) {
            s.push_str(&format!("&coord={}", if rng.random_bool(0.5) { "wgs84" } else { "gcj02" }));
        }
        if rng.random_bool(0.7) {
            s.push_str(&format!("&radius_m={}", rng.random_range(1..9000)));
        }
        if rng.random_bool(0.5) {
            s.push_str(&format!("&limit={}", rng.random_range(1..=100)));
        }
        for k in PlaceKind::ALL.iter().filter(|_| rng.random_bool(0.3)) {
            s.push_str(&format!("&kind={}", k.as_str()));
        }
        for a in Amenity::ALL.iter().filter(|_| rng.random_bool(0.05)) {
            s.push_str(&format!("&amenity={}", a.as_str()));
        }
        if rng.random_bool(0.3) {
            s.push_str(&format!("&open_now={}", rng.random_bool(0.5)));
        }
        q.push(s);
    }
    q
}

#[tokio::test]
async fn the_plain_path_and_the_typed_handler_validate_and_answer_alike() {
    let plain = city().await;
    let typed = spawn_app_with(Options {
        extra: vec![
            ("XHB_DATABASE_URL", plain.state.config.database_url.clone()),
            ("XHB_NEARBY_FAST_PATH", "false".into()),
        ],
    })
    .await;
    assert_eq!(typed.state.places.len(), plain.state.places.len());

    let mut rng = StdRng::seed_from_u64(1127);
    let (mut found, mut refused) = (0, 0);
    for query in questions(&mut rng) {
        let a = ask(&plain, reqwest::Method::GET, &query).await;
        let b = ask(&typed, reqwest::Method::GET, &query).await;
        assert_eq!(a.0, b.0, "status for {query:?}: {}", String::from_utf8_lossy(&a.2));
        assert_eq!(a.1, b.1, "headers for {query:?}");
        assert_eq!(String::from_utf8_lossy(&a.2), String::from_utf8_lossy(&b.2), "body for {query:?}");
        if a.0 == StatusCode::OK {
            let body: serde_json::Value = serde_json::from_slice(&a.2).unwrap();
            found += body["items"].as_array().unwrap().len();
        } else {
            assert_eq!(a.0, StatusCode::BAD_REQUEST, "{query:?}");
            let body: serde_json::Value = serde_json::from_slice(&a.2).unwrap();
            assert!(body["code"].is_string() && body["message"].is_string(), "{body}");
            refused += 1;
        }
    }
    assert!(found > 2000 && refused >= 25, "too little compared: {found} places, {refused} refusals");
    // Other methods are the router's, in the same shape.
    for method in [reqwest::Method::HEAD, reqwest::Method::POST, reqwest::Method::DELETE] {
        let a = ask(&plain, method.clone(), "lat=30.27&lng=120.16").await;
        let b = ask(&typed, method.clone(), "lat=30.27&lng=120.16").await;
        assert_eq!((a.0, &a.1, &a.2), (b.0, &b.1, &b.2), "{method}");
    }

    // The plain path really answered the plain ones, and only the typed handler the other server's.
    assert!(plain.state.metrics.plain_nearby_answers() > 150, "{}", plain.state.metrics.plain_nearby_answers());
    assert_eq!(typed.state.metrics.plain_nearby_answers(), 0);
    let metrics = plain.client.get(plain.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("xhb_http_requests_total{route=\"places_nearby\",method=\"GET\",status=\"200\"}"));
    assert!(metrics.contains("xhb_nearby_plain_answers_total "), "{metrics}");
    typed.stop().await;
    plain.stop().await;
}

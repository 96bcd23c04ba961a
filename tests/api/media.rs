//! A rider photographs a hazard: the photo is stored without its GPS position or camera data.

use std::io::Cursor;

use image::{DynamicImage, ImageFormat};
use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};

use crate::helpers::*;

/// A 40×20 JPEG carrying an EXIF block with a camera make, orientation 6 (turn 90° clockwise)
/// and a GPS latitude, as a phone camera writes it.
fn phone_jpeg_with_gps() -> Vec<u8> {
    let mut jpeg = Vec::new();
    DynamicImage::new_rgb8(40, 20).write_to(&mut Cursor::new(&mut jpeg), ImageFormat::Jpeg).unwrap();
    let tiff = exif_tiff();
    let mut app1 = vec![0xFF, 0xE1];
    app1.extend_from_slice(&((tiff.len() + 8) as u16).to_be_bytes());
    app1.extend_from_slice(b"Exif\0\0");
    app1.extend_from_slice(&tiff);
    // Right after the SOI marker.
    jpeg.splice(2..2, app1);
    jpeg
}

/// Big-endian TIFF: IFD0 {Make, Orientation, GPS IFD pointer}, GPS IFD {LatitudeRef, Latitude}.
fn exif_tiff() -> Vec<u8> {
    let mut t: Vec<u8> = b"MM\0\x2A".to_vec();
    t.extend_from_slice(&8u32.to_be_bytes());
    let entry = |t: &mut Vec<u8>, tag: u16, kind: u16, count: u32, value: [u8; 4]| {
        t.extend_from_slice(&tag.to_be_bytes());
        t.extend_from_slice(&kind.to_be_bytes());
        t.extend_from_slice(&count.to_be_bytes());
        t.extend_from_slice(&value);
    };
    t.extend_from_slice(&3u16.to_be_bytes());
    entry(&mut t, 0x010F, 2, 9, 50u32.to_be_bytes()); // Make → offset 50
    entry(&mut t, 0x0112, 3, 1, [0, 6, 0, 0]); // Orientation = 6
    entry(&mut t, 0x8825, 4, 1, 60u32.to_be_bytes()); // GPS IFD → offset 60
    t.extend_from_slice(&0u32.to_be_bytes());
    t.extend_from_slice(b"XHBCAM-7\0\0"); // 50..60
    t.extend_from_slice(&2u16.to_be_bytes());
    entry(&mut t, 0x0001, 2, 2, *b"N\0\0\0"); // GPSLatitudeRef
    entry(&mut t, 0x0002, 5, 3, 90u32.to_be_bytes()); // GPSLatitude → offset 90
    t.extend_from_slice(&0u32.to_be_bytes());
    for (num, den) in [(30u32, 1u32), (16, 1), (2705, 100)] {
        t.extend_from_slice(&num.to_be_bytes());
        t.extend_from_slice(&den.to_be_bytes());
    }
    t
}

fn form(bytes: Vec<u8>, file_name: &str) -> Form {
    // As wx.uploadFile sends it: the file under `file`, plus the page's formData fields.
    Form::new().text("kind", "report").part("file", Part::bytes(bytes).file_name(file_name.to_string()))
}

#[tokio::test]
async fn a_photo_with_gps_exif_comes_back_without_it_and_upright() {
    let app = spawn_app().await;
    let rider = app.rider_token("openid-photographer").await;
    let original = phone_jpeg_with_gps();
    assert!(original.windows(6).any(|w| w == b"XHBCAM"), "the fixture carries camera data");

    let req = app.client.post(app.url("/api/v1/media")).bearer_auth(&rider).multipart(form(original, "tmp_123.jpg"));
    let (status, media) = app.send(req).await;
    assert_eq!(status, StatusCode::CREATED, "{media}");
    assert_eq!(media["content_type"], "image/jpeg");
    // Orientation 6 was applied before the metadata went: 40×20 stands up as 20×40.
    assert_eq!((media["width"].as_i64(), media["height"].as_i64()), (Some(20), Some(40)));

    let id = media["id"].as_str().unwrap();
    let resp = app.client.get(app.url(&format!("/api/v1/media/{id}"))).bearer_auth(&rider).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], "image/jpeg");
    let stored = resp.bytes().await.unwrap();
    assert!(!stored.windows(4).any(|w| w == b"Exif"), "EXIF survived");
    assert!(!stored.windows(6).any(|w| w == b"XHBCAM"), "camera data survived");
    let decoded = image::load_from_memory(&stored).unwrap();
    assert_eq!((decoded.width(), decoded.height()), (20, 40));
    app.stop().await;
}

#[tokio::test]
async fn png_and_webp_are_accepted_and_other_files_are_not() {
    let app = spawn_app().await;
    let rider = app.rider_token("openid-uploader").await;
    let encode = |format| {
        let mut out = Vec::new();
        DynamicImage::new_rgba8(8, 8).write_to(&mut Cursor::new(&mut out), format).unwrap();
        out
    };
    for (bytes, name, expected) in
        [(encode(ImageFormat::Png), "a.png", "image/png"), (encode(ImageFormat::WebP), "b.webp", "image/jpeg")]
    {
        let req = app.client.post(app.url("/api/v1/media")).bearer_auth(&rider).multipart(form(bytes, name));
        let (status, media) = app.send(req).await;
        assert_eq!(status, StatusCode::CREATED, "{name}: {media}");
        assert_eq!(media["content_type"], expected);
    }
    // A text file named like a photo is judged by its content.
    let req =
        app.client.post(app.url("/api/v1/media")).bearer_auth(&rider).multipart(form(b"GIF89a-not".to_vec(), "x.jpg"));
    let (status, body) = app.send(req).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{body}");
    assert_eq!(error_code(&body), "unsupported_media");
    app.stop().await;
}

#[tokio::test]
async fn a_photo_over_10_mb_is_413_and_nothing_is_stored() {
    let app = spawn_app().await;
    let rider = app.rider_token("openid-big").await;
    let mut big = phone_jpeg_with_gps();
    big.resize(10 * 1024 * 1024 + 1, 0);
    let req = app.client.post(app.url("/api/v1/media")).bearer_auth(&rider).multipart(form(big, "big.jpg"));
    let (status, body) = app.send(req).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!(error_code(&body), "payload_too_large");
    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM media").fetch_one(&app.state.db.pool).await.unwrap();
    assert_eq!(stored, 0);
    app.stop().await;
}

#[tokio::test]
async fn uploads_need_a_login_and_a_file_field() {
    let app = spawn_app().await;
    let (status, _) = app.send(app.client.post(app.url("/api/v1/media")).multipart(form(vec![1, 2, 3], "a.jpg"))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let rider = app.rider_token("openid-nofile").await;
    let req =
        app.client.post(app.url("/api/v1/media")).bearer_auth(&rider).multipart(Form::new().text("kind", "report"));
    let (status, body) = app.send(req).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    error_code(&body);
    let (status, _) = app.get("/api/v1/media/no-such-photo", Some(&rider)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    app.stop().await;
}

// Decompression bombs: a few megabytes that claim gigabytes of pixels. Each is refused from its
// header, before a byte of pixels is allocated: the test files need only headers that claim
// them (`benches/bombs.sh` posts real ones to the release binary and measures its memory).

fn encode(image: DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Vec::new();
    image.write_to(&mut Cursor::new(&mut out), format).unwrap();
    out
}

/// A PNG of `image`'s colour type whose header claims `width`×`height`.
fn png_claiming(image: DynamicImage, width: u32, height: u32) -> Vec<u8> {
    let mut png = encode(image, ImageFormat::Png);
    assert_eq!(&png[12..16], b"IHDR");
    png[16..20].copy_from_slice(&width.to_be_bytes());
    png[20..24].copy_from_slice(&height.to_be_bytes());
    let crc = crc32(&png[12..29]);
    png[29..33].copy_from_slice(&crc.to_be_bytes());
    png
}

/// A baseline JPEG whose frame header claims `width`×`height`.
fn jpeg_claiming(width: u16, height: u16) -> Vec<u8> {
    let mut jpeg = encode(DynamicImage::new_rgb8(16, 16), ImageFormat::Jpeg);
    let mut at = 2;
    while jpeg[at + 1] != 0xC0 {
        at += 2 + usize::from(u16::from_be_bytes([jpeg[at + 2], jpeg[at + 3]]));
    }
    jpeg[at + 5..at + 7].copy_from_slice(&height.to_be_bytes());
    jpeg[at + 7..at + 9].copy_from_slice(&width.to_be_bytes());
    jpeg
}

/// A lossless WebP whose header claims `width`×`height` (at most 16383 each: image-webp reads
/// 16384 as 0).
fn webp_claiming(width: u32, height: u32) -> Vec<u8> {
    let mut webp = encode(DynamicImage::new_rgba8(16, 16), ImageFormat::WebP);
    assert_eq!(&webp[12..16], b"VP8L");
    let bits = u32::from_le_bytes(webp[21..25].try_into().unwrap());
    let bits = (bits & 0xF000_0000) | (width - 1) | ((height - 1) << 14);
    webp[21..25].copy_from_slice(&bits.to_le_bytes());
    webp
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for byte in bytes {
        crc ^= u32::from(*byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

async fn upload(app: &TestApp, token: &str, bytes: Vec<u8>, name: &str) -> (StatusCode, serde_json::Value) {
    app.send(app.client.post(app.url("/api/v1/media")).bearer_auth(token).multipart(form(bytes, name))).await
}

async fn stored_media(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM media").fetch_one(&app.state.db.pool).await.unwrap()
}

#[tokio::test]
async fn decompression_bombs_of_every_kind_are_refused_from_their_header_and_honest_photos_still_pass() {
    let app = spawn_app().await;
    let attacker = app.rider_token("openid-bomber").await;
    let bombs = [
        ("16384×16384 RGBA 16-bit PNG", png_claiming(DynamicImage::new_rgba16(4, 4), 16_384, 16_384), "a.png"),
        ("16384×16384 RGB 8-bit PNG", png_claiming(DynamicImage::new_rgb8(4, 4), 16_384, 16_384), "b.png"),
        // Under the pixel budget, over the byte budget: 36 MP at 8 bytes a pixel.
        ("6000×6000 RGBA 16-bit PNG", png_claiming(DynamicImage::new_rgba16(4, 4), 6_000, 6_000), "c.png"),
        ("16384×16384 JPEG", jpeg_claiming(16_384, 16_384), "d.jpg"),
        // Beyond image's own edge limit, the second wall: refused all the same.
        ("65500×65500 JPEG", jpeg_claiming(65_500, 65_500), "e.jpg"),
        ("16383×16383 WebP", webp_claiming(16_383, 16_383), "f.webp"),
        ("2×40000000 PNG", png_claiming(DynamicImage::new_rgb8(4, 4), 2, 40_000_000), "g.png"),
    ];
    for (what, bytes, name) in bombs {
        let (status, body) = upload(&app, &attacker, bytes, name).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{what}: {body}");
        assert_eq!(error_code(&body), "image_too_large", "{what}");
        assert_eq!(body["details"]["max_pixels"], 40_000_000, "{what}: {body}");
        assert!(body["message"].as_str().unwrap().contains("4000 万像素"), "{what}: {body}");
    }
    assert_eq!(stored_media(&app).await, 0, "a bomb was stored");

    // An honest photo, a 16-bit PNG of honest size (kept a PNG, at 8 bits) and a WebP, all at
    // once from several riders: they pass, and the decoding gate lets them all through.
    let honest = [
        (encode(DynamicImage::new_rgb8(1200, 900), ImageFormat::Jpeg), "p.jpg", "image/jpeg", 1200),
        (encode(DynamicImage::new_rgba16(300, 200), ImageFormat::Png), "s.png", "image/png", 300),
        (encode(DynamicImage::new_rgba8(640, 480), ImageFormat::WebP), "w.webp", "image/jpeg", 640),
    ];
    let mut riders = Vec::new();
    for i in 0..6 {
        riders.push(app.rider_token(&format!("openid-honest-{i}")).await);
    }
    let uploads = riders.iter().enumerate().map(|(i, rider)| {
        let (bytes, name, _, _) = &honest[i % honest.len()];
        upload(&app, rider, bytes.clone(), name)
    });
    let answers = futures_util::future::join_all(uploads).await;
    for (i, (status, media)) in answers.into_iter().enumerate() {
        let (_, name, content_type, width) = &honest[i % honest.len()];
        assert_eq!(status, StatusCode::CREATED, "{name}: {media}");
        assert_eq!(media["content_type"], *content_type, "{name}");
        assert_eq!(media["width"], *width, "{name}");
    }
    assert_eq!(stored_media(&app).await, 6);
    app.stop().await;
}

#[tokio::test]
async fn a_photo_that_would_take_more_than_the_decoding_budget_is_refused_and_smaller_ones_pass() {
    let app = spawn_app_with(Options { extra: vec![("XHB_DECODE_MEMORY_MB", "16".into())] }).await;
    let rider = app.rider_token("openid-budget").await;
    // 3 MP of JPEG: 9 MB of pixels, up to three times that while a progressive JPEG decodes.
    let (status, body) = upload(&app, &rider, jpeg_claiming(2000, 1500), "big.jpg").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(error_code(&body), "image_too_large");
    assert!(body["details"]["reason"].as_str().unwrap().contains("at most 16 MiB"), "{body}");
    let small = encode(DynamicImage::new_rgb8(400, 300), ImageFormat::Jpeg);
    let (status, body) = upload(&app, &rider, small, "small.jpg").await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    app.stop().await;
}

// Signed photo URLs: what `<image src>` and `wx.previewImage` load, with no token.

/// A small honest JPEG.
fn jpeg() -> Vec<u8> {
    encode(DynamicImage::new_rgb8(64, 48), ImageFormat::Jpeg)
}

/// Uploads a photo as `token` and returns its answer (id, url, url_expires_at…).
pub async fn uploaded(app: &TestApp, token: &str) -> serde_json::Value {
    let (status, media) = upload(app, token, jpeg(), "p.jpg").await;
    assert_eq!(status, StatusCode::CREATED, "{media}");
    media
}

/// GETs a signed URL as `<image src>` would: no token, a client of its own.
async fn load(app: &TestApp, url: &str) -> reqwest::Response {
    assert!(url.starts_with("/api/v1/media/"), "an absolute path: {url}");
    reqwest::Client::new().get(app.url(url)).send().await.expect("request reaches the app")
}

/// `url` with the query parameter `key` set to `value`.
fn with_param(url: &str, key: &str, value: &str) -> String {
    let mut parsed = reqwest::Url::parse(&format!("http://x{url}")).unwrap();
    let pairs: Vec<(String, String)> = parsed
        .query_pairs()
        .map(|(k, v)| (k.to_string(), if k == key { value.to_string() } else { v.to_string() }))
        .collect();
    parsed.query_pairs_mut().clear().extend_pairs(pairs);
    format!("{}?{}", parsed.path(), parsed.query().unwrap())
}

fn param(url: &str, key: &str) -> String {
    let parsed = reqwest::Url::parse(&format!("http://x{url}")).unwrap();
    parsed.query_pairs().find(|(k, _)| k == key).map(|(_, v)| v.to_string()).unwrap()
}

fn expires_at(value: &serde_json::Value) -> chrono::DateTime<chrono::Utc> {
    value.as_str().and_then(|t| t.parse().ok()).unwrap_or_else(|| panic!("not a time: {value}"))
}

async fn refused(app: &TestApp, url: &str) -> (StatusCode, serde_json::Value) {
    let resp = load(app, url).await;
    let status = resp.status();
    (status, resp.json().await.expect("an error body"))
}

#[tokio::test]
async fn a_photo_url_loads_without_a_token_until_it_expires_and_is_refused_after() {
    let app = spawn_app_with(Options { extra: vec![("XHB_PHOTO_URL_SECS", "1".into())] }).await;
    let rider = app.rider_token("openid-url").await;
    let media = uploaded(&app, &rider).await;
    let url = media["url"].as_str().unwrap();
    let expires = expires_at(&media["url_expires_at"]);
    let left = expires - chrono::Utc::now();
    assert!(left <= chrono::Duration::seconds(2), "a 1 s URL lasts at most 2 s: {left}");

    let resp = load(&app, url).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], "image/jpeg");
    let cache = resp.headers()["cache-control"].to_str().unwrap().to_string();
    assert!(cache.starts_with("private, max-age=") && cache.ends_with(", immutable"), "{cache}");
    let max_age: i64 = cache["private, max-age=".len()..].split(',').next().unwrap().parse().unwrap();
    assert!((0..=2).contains(&max_age), "cached no longer than the URL lives: {cache}");
    let by_url = resp.bytes().await.unwrap();
    let id = media["id"].as_str().unwrap();
    let by_token = app.client.get(app.url(&format!("/api/v1/media/{id}"))).bearer_auth(&rider).send().await.unwrap();
    assert_eq!(by_url, by_token.bytes().await.unwrap(), "the same photo either way");

    let wait = (expires - chrono::Utc::now()).to_std().unwrap_or_default() + std::time::Duration::from_millis(50);
    assert!(wait <= std::time::Duration::from_millis(2100), "{wait:?}");
    tokio::time::sleep(wait).await;
    let (status, body) = refused(&app, url).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(error_code(&body), "forbidden");
    assert_eq!(body["details"]["reason"], "the photo URL has expired");
    app.stop().await;
}

#[tokio::test]
async fn a_tampered_signature_another_id_or_another_expiry_is_refused_and_a_lost_file_is_404() {
    let app = spawn_app().await;
    let rider = app.rider_token("openid-tamper").await;
    let first = uploaded(&app, &rider).await;
    let second = uploaded(&app, &rider).await;
    let url = first["url"].as_str().unwrap();
    let (id, other) = (first["id"].as_str().unwrap(), second["id"].as_str().unwrap());
    assert_eq!(load(&app, url).await.status(), StatusCode::OK);

    let sig = param(url, "sig");
    let flipped = format!("{}{}", &sig[..sig.len() - 2], if sig.ends_with("AA") { "BA" } else { "AA" });
    let exp: i64 = param(url, "exp").parse().unwrap();
    let tampered = [
        ("another signature", with_param(url, "sig", &flipped)),
        ("another photo", url.replace(id, other)),
        ("a later expiry", with_param(url, "exp", &(exp + 3600).to_string())),
        ("an earlier expiry", with_param(url, "exp", &(exp - 1).to_string())),
        ("no signature", with_param(url, "sig", "")),
    ];
    for (what, bad) in tampered {
        let (status, body) = refused(&app, &bad).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{what}: {body}");
        assert_eq!(error_code(&body), "forbidden", "{what}");
        assert_eq!(body["details"]["reason"], "the photo URL's signature does not match it", "{what}");
    }
    let (status, body) = refused(&app, &with_param(url, "exp", "soon")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    // A URL signed for a photo whose file is gone (an erased rider's) finds nothing.
    let key: String = sqlx::query_scalar("SELECT storage_key FROM media WHERE id = $1")
        .bind(id)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    std::fs::remove_file(app.state.config.media_dir.join(key)).unwrap();
    let (status, body) = refused(&app, url).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(error_code(&body), "not_found");
    app.stop().await;
}

#[tokio::test]
async fn photo_urls_go_only_to_those_who_may_see_the_photo() {
    let c = crate::reports::city().await;
    let app = &c.app;
    let (reporter, follower) = (app.rider_token("openid-reporter").await, app.rider_token("openid-follower").await);
    let photo = uploaded(app, &reporter).await;
    let photo_id = photo["id"].as_str().unwrap();
    let mut body = crate::reports::report_at("facility_damage", 30.27, 120.16);
    body["media_ids"] = serde_json::json!([photo_id]);
    let report = crate::reports::file_ok(app, &reporter, body).await;

    // The reporter and the clerk of the unit holding it: a URL that loads with no token.
    let (_, mine) = app.get(&format!("/api/v1/reports/{report}"), Some(&reporter)).await;
    let (_, triage) = app.get(&format!("/api/v1/triage/reports/{report}"), Some(&c.clerks[1])).await;
    let (_, queue) = app.get("/api/v1/triage/reports", Some(&c.clerks[1])).await;
    for view in [&mine, &triage, &queue["items"][0]] {
        assert_eq!(view["media_ids"], serde_json::json!([photo_id]), "{view}");
        let urls = view["photo_urls"].as_array().unwrap();
        assert_eq!(urls.len(), 1, "{view}");
        assert_eq!(urls[0]["id"], photo_id);
        let left = expires_at(&urls[0]["expires_at"]) - chrono::Utc::now();
        assert!(left > chrono::Duration::minutes(59) && left <= chrono::Duration::hours(2), "{left}");
        assert_eq!(load(app, urls[0]["url"].as_str().unwrap()).await.status(), StatusCode::OK);
    }
    // The same photo keeps the same URL (until the next hour), so caches hit.
    assert_eq!(mine["photo_urls"], triage["photo_urls"]);

    // A rider who follows the report sees no photo of the reporter's, so gets no URL for it.
    let (status, followed) =
        app.post(&format!("/api/v1/reports/{report}/follow"), Some(&follower), serde_json::json!({})).await;
    assert_eq!(status, StatusCode::OK, "{followed}");
    let (_, list) = app.get("/api/v1/reports/mine", Some(&follower)).await;
    let (_, detail) = app.get(&format!("/api/v1/reports/{report}"), Some(&follower)).await;
    for view in [&followed, &list["items"][0], &detail] {
        assert_eq!(
            (&view["media_ids"], &view["photo_urls"]),
            (&serde_json::json!([]), &serde_json::json!([])),
            "{view}"
        );
    }
    // Nor does another unit's clerk: the report does not exist for them.
    let (status, _) = app.get(&format!("/api/v1/triage/reports/{report}"), Some(&c.clerks[0])).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    for view in [&followed, &list, &detail] {
        assert!(!view.to_string().contains("/signed?"), "{view}");
    }

    // The uploader's own copy of their data carries URLs of their photos.
    let (_, data) = app.get("/api/v1/me/data", Some(&reporter)).await;
    let listed = &data["media"][0];
    assert_eq!(listed["id"], photo_id);
    assert_eq!(load(app, listed["url"].as_str().unwrap()).await.status(), StatusCode::OK);
    c.app.stop().await;
}

#[tokio::test]
async fn place_photos_have_urls_anyone_may_load_and_other_ids_have_none() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let rider = app.rider_token("openid-place-photo").await;
    let staff_photo = uploaded(&app, &admin).await["id"].as_str().unwrap().to_string();
    let rider_photo = uploaded(&app, &rider).await["id"].as_str().unwrap().to_string();
    let body = serde_json::json!({
        "kind": "station", "name": "新伙伴驿站(照片)", "address": "西湖区某路1号", "lat": 30.27, "lng": 120.15,
        "amenities": [], "hours": "24/7",
        "photos": [staff_photo, "https://example.com/outside.jpg", rider_photo],
    });
    let (status, created) = app.post("/api/v1/admin/places", Some(&admin), body).await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let place = created["id"].as_str().unwrap();

    // No login: the place's page and the map box carry the place photo's URL, and it loads.
    let (_, page) = app.get(&format!("/api/v1/places/{place}"), None).await;
    let (_, map) = app.get("/api/v1/places?bbox=120.14,30.26,120.16,30.28", None).await;
    assert_eq!(map["items"][0]["id"], place, "{map}");
    for view in [&created, &page, &map["items"][0]] {
        let urls = view["photo_urls"].as_array().unwrap();
        let ids: Vec<&str> = urls.iter().map(|u| u["id"].as_str().unwrap()).collect();
        // A rider's photo typed into a place is not a place photo: no URL, as `GET /media` shows it to nobody.
        assert_eq!(ids, [staff_photo.as_str()], "{view}");
        let left = expires_at(&urls[0]["expires_at"]) - chrono::Utc::now();
        assert!(left > chrono::Duration::hours(23), "place photo URLs last longer: {left}");
        let resp = load(&app, urls[0]["url"].as_str().unwrap()).await;
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(resp.headers()["content-type"], "image/jpeg");
    }
    assert!(!page.to_string().contains(&format!("{rider_photo}/signed")), "{page}");
    app.stop().await;
}

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

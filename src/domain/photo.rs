//! Photos riders and staff upload: recognised by content, never by name, and re-encoded so that
//! nothing but pixels survives (no EXIF GPS position, no camera data, no embedded text).

use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};

use super::DomainError;
use super::time::Millis;

/// The largest upload accepted, in bytes.
pub const MAX_UPLOAD_BYTES: usize = 10 * 1024 * 1024;
/// Longer edges are scaled down to this: larger adds bytes, not evidence.
pub const MAX_EDGE_PX: u32 = 4096;
/// Decoding refuses images claiming more than this (decompression bombs).
const MAX_DECODE_EDGE_PX: u32 = 16_384;
const MAX_DECODE_ALLOC: u64 = 512 * 1024 * 1024;
const JPEG_QUALITY: u8 = 85;

/// A cleaned photo as the server stored it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredPhoto {
    pub id: String,
    pub city_id: String,
    pub owner_id: String,
    pub content_type: String,
    pub width: i32,
    pub height: i32,
    pub bytes: i64,
    /// The file name under the media directory; made by the server, never by the client.
    pub storage_key: String,
    pub created_at: Millis,
}

/// The formats accepted on upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhotoFormat {
    Jpeg,
    Png,
    Webp,
}

impl PhotoFormat {
    /// Recognises the format from the first bytes of the file.
    pub fn sniff(bytes: &[u8]) -> Option<PhotoFormat> {
        if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(PhotoFormat::Jpeg)
        } else if bytes.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
            Some(PhotoFormat::Png)
        } else if bytes.len() >= 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
            Some(PhotoFormat::Webp)
        } else {
            None
        }
    }

    fn image_format(self) -> ImageFormat {
        match self {
            PhotoFormat::Jpeg => ImageFormat::Jpeg,
            PhotoFormat::Png => ImageFormat::Png,
            PhotoFormat::Webp => ImageFormat::WebP,
        }
    }
}

/// A photo ready to store: freshly encoded pixels and nothing else.
#[derive(Debug)]
pub struct CleanPhoto {
    pub bytes: Vec<u8>,
    pub content_type: &'static str,
    pub extension: &'static str,
    pub width: u32,
    pub height: u32,
}

/// Checks, decodes, turns upright (by the EXIF orientation, which is then dropped with the rest
/// of the metadata), scales down and re-encodes an upload. PNG stays PNG (screenshots, alpha);
/// JPEG and WebP become JPEG.
pub fn clean(upload: &[u8]) -> Result<CleanPhoto, DomainError> {
    if upload.len() > MAX_UPLOAD_BYTES {
        return Err(DomainError::TooLarge { limit_bytes: MAX_UPLOAD_BYTES as u64 });
    }
    let format = PhotoFormat::sniff(upload)
        .ok_or_else(|| DomainError::UnsupportedMedia("not a JPEG, PNG or WebP image".into()))?;
    let image = decode_upright(upload, format)?;
    let image = if image.width().max(image.height()) > MAX_EDGE_PX {
        image.resize(MAX_EDGE_PX, MAX_EDGE_PX, image::imageops::FilterType::Triangle)
    } else {
        image
    };
    let (width, height) = (image.width(), image.height());
    let mut out = Vec::new();
    let (content_type, extension) = match format {
        PhotoFormat::Png => {
            image.write_to(&mut Cursor::new(&mut out), ImageFormat::Png).map_err(DomainError::internal)?;
            ("image/png", "png")
        }
        PhotoFormat::Jpeg | PhotoFormat::Webp => {
            let rgb = DynamicImage::ImageRgb8(image.to_rgb8());
            rgb.write_with_encoder(JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY))
                .map_err(DomainError::internal)?;
            ("image/jpeg", "jpg")
        }
    };
    Ok(CleanPhoto { bytes: out, content_type, extension, width, height })
}

fn decode_upright(upload: &[u8], format: PhotoFormat) -> Result<DynamicImage, DomainError> {
    let unreadable = |e: image::ImageError| DomainError::UnsupportedMedia(format!("the image cannot be read: {e}"));
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_DECODE_EDGE_PX);
    limits.max_image_height = Some(MAX_DECODE_EDGE_PX);
    limits.max_alloc = Some(MAX_DECODE_ALLOC);
    let mut reader = ImageReader::with_format(Cursor::new(upload), format.image_format());
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(unreadable)?;
    let orientation = decoder.orientation().unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut image = DynamicImage::from_decoder(decoder).map_err(unreadable)?;
    image.apply_orientation(orientation);
    Ok(image)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(width: u32, height: u32) -> Vec<u8> {
        let mut out = Vec::new();
        DynamicImage::new_rgb8(width, height).write_to(&mut Cursor::new(&mut out), ImageFormat::Png).unwrap();
        out
    }

    #[test]
    fn formats_are_recognised_by_content_not_name() {
        assert_eq!(PhotoFormat::sniff(&png(2, 2)), Some(PhotoFormat::Png));
        assert_eq!(PhotoFormat::sniff(b"GIF89a..."), None);
        assert_eq!(PhotoFormat::sniff(b"RIFF\0\0\0\0WEBPVP8 "), Some(PhotoFormat::Webp));
        assert!(matches!(clean(b"hello, not an image"), Err(DomainError::UnsupportedMedia(_))));
    }

    #[test]
    fn a_truncated_image_is_refused_not_a_panic() {
        let bytes = png(64, 64);
        assert!(matches!(clean(&bytes[..40]), Err(DomainError::UnsupportedMedia(_))));
    }

    #[test]
    fn large_photos_are_scaled_down() {
        let photo = clean(&png(5000, 100)).unwrap();
        assert_eq!((photo.width, photo.height), (MAX_EDGE_PX, 82));
    }

    #[test]
    fn uploads_over_the_limit_are_refused() {
        let mut big = vec![0u8; MAX_UPLOAD_BYTES + 1];
        big[..3].copy_from_slice(&[0xFF, 0xD8, 0xFF]);
        assert!(matches!(clean(&big), Err(DomainError::TooLarge { .. })));
    }
}

//! Photos riders and staff upload: recognised by content, never by name, and re-encoded so that
//! nothing but pixels survives (no EXIF GPS position, no camera data, no embedded text).

use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use image::{ColorType, DynamicImage, ImageDecoder, ImageError, ImageFormat, ImageReader, Limits};

use super::DomainError;
use super::time::Millis;

/// The largest upload accepted, in bytes.
pub const MAX_UPLOAD_BYTES: usize = 10 * 1024 * 1024;
/// Longer edges are scaled down to this: larger adds bytes, not evidence.
pub const MAX_EDGE_PX: u32 = 4096;
/// The most pixels a photo may have: a phone's main camera makes 12 to 50 MP, and WeChat sends
/// far fewer. A decompression bomb claims hundreds of millions in a file of a few megabytes.
pub const MAX_PIXELS: u64 = 40_000_000;
/// The most bytes the decoded pixels may take at the decoder's own depth: 40 MP of 8-bit RGB
/// (120 MB) fits, so do 32 MP with alpha; the same pixels at 16 bits a channel do not.
pub const MAX_DECODED_BYTES: u64 = 128 * 1024 * 1024;
/// The most memory `clean` holds for any photo `inspect` accepts (`PhotoHeader::peak_bytes`):
/// a progressive JPEG or a lossless WebP at the byte budget, while it decodes.
pub const MAX_PEAK_BYTES: u64 = 3 * MAX_DECODED_BYTES;
/// The second wall, image's own `Limits`, set above the first so that the first refuses with
/// the clear reason: no edge beyond this, and no pixel buffer beyond `MAX_DECODE_ALLOC`.
const MAX_DECODE_EDGE_PX: u32 = 16_384;
const MAX_DECODE_ALLOC: u64 = 256 * 1024 * 1024;
/// What a decoder may allocate for itself while it reads the header and beside the pixels (a
/// row, an ICC profile, text): a PNG can deflate a gigabyte of "ICC profile" into a megabyte.
const MAX_DECODER_ALLOC: u64 = 32 * 1024 * 1024;
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

    /// How many times the decoded pixels' size a decoder may hold at its peak: a progressive
    /// JPEG keeps every DCT coefficient (two bytes a sample) beside its output, a lossless WebP
    /// decodes into 32-bit ARGB before its output, a PNG streams rows into its output.
    fn decoder_overhead(self) -> u64 {
        match self {
            PhotoFormat::Jpeg | PhotoFormat::Webp => 3,
            PhotoFormat::Png => 1,
        }
    }
}

/// What a photo's header says, read before a single pixel is decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PhotoHeader {
    pub format: PhotoFormat,
    pub width: u32,
    pub height: u32,
    pub color: ColorType,
    /// What the decoded pixels take, at the decoder's depth (16-bit channels stay 16-bit).
    pub decoded_bytes: u64,
}

impl PhotoHeader {
    /// The most memory `clean` holds at once for this photo (the upload itself not counted):
    /// the largest of its stages, each holding the buffer it reads and the one it writes.
    pub fn peak_bytes(&self) -> u64 {
        let pixels = (u64::from(self.width) * u64::from(self.height)).max(1);
        let (out_width, out_height) = scaled_size(self.width, self.height);
        let out_pixels = u64::from(out_width) * u64::from(out_height);
        // Bytes a pixel in the decoder's depth, and in what is encoded.
        let source_pixel = self.decoded_bytes.div_ceil(pixels);
        let out_pixel = match self.format {
            PhotoFormat::Png => u64::from(self.color.channel_count()),
            PhotoFormat::Jpeg | PhotoFormat::Webp => 3,
        };
        let decoding = self.decoded_bytes * self.format.decoder_overhead();
        let scaling = self.decoded_bytes + out_pixels * source_pixel;
        let converting = out_pixels * (source_pixel + out_pixel);
        let turning = 2 * out_pixels * out_pixel;
        decoding.max(scaling).max(converting).max(turning)
    }
}

/// The size a photo is stored at: longer edge at most `MAX_EDGE_PX`, aspect kept.
fn scaled_size(width: u32, height: u32) -> (u32, u32) {
    let longest = width.max(height);
    if longest <= MAX_EDGE_PX {
        return (width, height);
    }
    let scale = |edge: u32| ((u64::from(edge) * u64::from(MAX_EDGE_PX)).div_ceil(u64::from(longest)) as u32).max(1);
    (scale(width), scale(height))
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

/// What `clean` stores, as (file extension, content type): PNG stays PNG, the rest is JPEG.
const STORED_JPEG: (&str, &str) = ("jpg", "image/jpeg");
const STORED_PNG: (&str, &str) = ("png", "image/png");

/// The file of photo `id` stored with `extension`, under the media directory:
/// `YYYY/MM/DD/<id>.<extension>`, on the UTC day the id was made. Media ids are UUIDv7, whose
/// first 48 bits are the time they were made, so the file is found from the id alone: a signed
/// URL (`photo_url`) is served without reading the database. None for any other id.
pub fn storage_key(id: &str, extension: &str) -> Option<String> {
    storage_key_on(id, extension, 0)
}

/// Where the file of photo `id` may be, most likely first, each with the content type it holds:
/// each stored format on the id's day, then on the next (files stored before the day came from
/// the id were filed by the upload's clock, read a moment after the id was made).
pub fn storage_candidates(id: &str) -> Vec<(String, &'static str)> {
    [0, 1]
        .into_iter()
        .flat_map(|days| [STORED_JPEG, STORED_PNG].map(move |(ext, content_type)| (days, ext, content_type)))
        .filter_map(|(days, ext, content_type)| Some((storage_key_on(id, ext, days)?, content_type)))
        .collect()
}

fn storage_key_on(id: &str, extension: &str, days_later: u64) -> Option<String> {
    let uuid = uuid::Uuid::parse_str(id).ok().filter(|u| u.hyphenated().to_string() == id)?;
    let (secs, _) = uuid.get_timestamp()?.to_unix();
    let made = chrono::DateTime::from_timestamp(i64::try_from(secs).ok()?, 0)?;
    let day = made.checked_add_days(chrono::Days::new(days_later))?;
    Some(format!("{}/{id}.{extension}", day.format("%Y/%m/%d")))
}

/// Checks an upload's size, format and header, without decoding pixels: refuses a file that is
/// not a JPEG, PNG or WebP image, and an image whose pixels would take more than the pixel
/// and byte budgets (`MAX_PIXELS`, `MAX_DECODED_BYTES`) once decoded.
pub fn inspect(upload: &[u8]) -> Result<PhotoHeader, DomainError> {
    let (header, _) = open(upload)?;
    Ok(header)
}

/// Checks (as `inspect` does), decodes, scales down, turns upright (by the EXIF orientation,
/// which is then dropped with the rest of the metadata) and re-encodes an upload. PNG stays PNG
/// (screenshots, alpha) at 8 bits a channel; JPEG and WebP become JPEG.
pub fn clean(upload: &[u8]) -> Result<CleanPhoto, DomainError> {
    let (header, mut decoder) = open(upload)?;
    let orientation = decoder.orientation().unwrap_or(image::metadata::Orientation::NoTransforms);
    // The second wall: image's own allocation limit, which `from_decoder` does not apply to the
    // pixel buffer by itself.
    let mut limits = limits(MAX_DECODE_ALLOC);
    limits.reserve(decoder.total_bytes()).map_err(|e| refused(&header, e))?;
    let image = DynamicImage::from_decoder(decoder).map_err(|e| refused(&header, e))?;
    // Scaled down before it is turned, so that turning copies the small image, not the large.
    // `thumbnail` averages boxes of source pixels into the output alone; a filtered resize
    // would hold a 16-byte-a-pixel float copy of the image on the way.
    let image =
        if image.width().max(image.height()) > MAX_EDGE_PX { image.thumbnail(MAX_EDGE_PX, MAX_EDGE_PX) } else { image };
    let (extension, content_type) = match header.format {
        PhotoFormat::Png => STORED_PNG,
        PhotoFormat::Jpeg | PhotoFormat::Webp => STORED_JPEG,
    };
    let mut image = match header.format {
        PhotoFormat::Png => eight_bit(image),
        PhotoFormat::Jpeg | PhotoFormat::Webp => DynamicImage::ImageRgb8(image.into_rgb8()),
    };
    image.apply_orientation(orientation);
    let (width, height) = (image.width(), image.height());
    let mut out = Vec::new();
    match header.format {
        PhotoFormat::Png => {
            image.write_to(&mut Cursor::new(&mut out), ImageFormat::Png).map_err(DomainError::internal)?;
        }
        PhotoFormat::Jpeg | PhotoFormat::Webp => {
            image
                .write_with_encoder(JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY))
                .map_err(DomainError::internal)?;
        }
    }
    Ok(CleanPhoto { bytes: out, content_type, extension, width, height })
}

/// Recognises the format, reads the header (under image's `Limits`) and applies the budgets.
fn open(upload: &[u8]) -> Result<(PhotoHeader, impl ImageDecoder + '_), DomainError> {
    if upload.len() > MAX_UPLOAD_BYTES {
        return Err(DomainError::TooLarge { limit_bytes: MAX_UPLOAD_BYTES as u64 });
    }
    let format = PhotoFormat::sniff(upload)
        .ok_or_else(|| DomainError::UnsupportedMedia("not a JPEG, PNG or WebP image".into()))?;
    let mut reader = ImageReader::with_format(Cursor::new(upload), format.image_format());
    reader.limits(limits(MAX_DECODER_ALLOC));
    let decoder = reader.into_decoder().map_err(|e| match e {
        ImageError::Limits(limit) => DomainError::ImageTooLarge(format!(
            "the header claims more than {MAX_DECODE_EDGE_PX} pixels on an edge, or metadata over \
             {MAX_DECODER_ALLOC} bytes ({limit})"
        )),
        other => unreadable(other),
    })?;
    let (width, height) = decoder.dimensions();
    let header =
        PhotoHeader { format, width, height, color: decoder.color_type(), decoded_bytes: decoder.total_bytes() };
    let pixels = u64::from(width) * u64::from(height);
    if pixels > MAX_PIXELS {
        return Err(DomainError::ImageTooLarge(format!(
            "{width}×{height} is {pixels} pixels; at most {MAX_PIXELS} are accepted"
        )));
    }
    if header.decoded_bytes > MAX_DECODED_BYTES {
        return Err(DomainError::ImageTooLarge(format!(
            "{width}×{height} {:?} decodes to {} bytes; at most {MAX_DECODED_BYTES} are accepted",
            header.color, header.decoded_bytes
        )));
    }
    Ok((header, decoder))
}

/// image's `Limits`: the edge limit, and `max_alloc` bytes.
fn limits(max_alloc: u64) -> Limits {
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_DECODE_EDGE_PX);
    limits.max_image_height = Some(MAX_DECODE_EDGE_PX);
    limits.max_alloc = Some(max_alloc);
    limits
}

fn unreadable(e: ImageError) -> DomainError {
    DomainError::UnsupportedMedia(format!("the image cannot be read: {e}"))
}

/// A decoding error: a limit of image's that held, or a file that lied about its contents.
fn refused(header: &PhotoHeader, e: ImageError) -> DomainError {
    match e {
        ImageError::Limits(limit) => DomainError::ImageTooLarge(format!(
            "{}×{} cannot be decoded within the limits ({limit})",
            header.width, header.height
        )),
        other => unreadable(other),
    }
}

/// The same picture at 8 bits a channel, keeping grey and alpha as they are; no copy when it
/// is 8-bit already.
fn eight_bit(image: DynamicImage) -> DynamicImage {
    match image {
        DynamicImage::ImageLuma8(_)
        | DynamicImage::ImageLumaA8(_)
        | DynamicImage::ImageRgb8(_)
        | DynamicImage::ImageRgba8(_) => image,
        DynamicImage::ImageLuma16(_) => DynamicImage::ImageLuma8(image.to_luma8()),
        DynamicImage::ImageLumaA16(_) => DynamicImage::ImageLumaA8(image.to_luma_alpha8()),
        other if other.color().has_alpha() => DynamicImage::ImageRgba8(other.into_rgba8()),
        other => DynamicImage::ImageRgb8(other.into_rgb8()),
    }
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
    fn a_photo_file_is_found_from_its_id_alone() {
        // 2026-11-26T23:59:59.999Z, as `Uuid::now_v7` would have made it then.
        let id = "01a21a4d-3fff-7000-8000-000000000000";
        assert_eq!(storage_key(id, "jpg").as_deref(), Some("2026/11/26/01a21a4d-3fff-7000-8000-000000000000.jpg"));
        let names: Vec<String> = storage_candidates(id).into_iter().map(|(name, _)| name).collect();
        assert_eq!(names[..2], [format!("2026/11/26/{id}.jpg"), format!("2026/11/26/{id}.png")]);
        assert_eq!(names[2..], [format!("2026/11/27/{id}.jpg"), format!("2026/11/27/{id}.png")]);
        assert_eq!(storage_candidates(id)[1].1, "image/png");
        // Nothing but a canonical UUIDv7 names a file: no other form, no path.
        for other in [
            "01A21A4D-3FFF-7000-8000-000000000000",
            "{01a21a4d-3fff-7000-8000-000000000000}",
            "../etc/passwd",
            "2d6e1b0a-5c1f-4e0b-9a7e-0c1d2e3f4a5b",
            "",
        ] {
            assert!(storage_candidates(other).is_empty(), "{other}");
        }
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

    /// A PNG of `image`'s colour type whose header claims `width`×`height`.
    fn png_claiming(image: DynamicImage, width: u32, height: u32) -> Vec<u8> {
        let mut png = Vec::new();
        image.write_to(&mut Cursor::new(&mut png), ImageFormat::Png).unwrap();
        png[16..20].copy_from_slice(&width.to_be_bytes());
        png[20..24].copy_from_slice(&height.to_be_bytes());
        let mut crc = !0u32;
        for byte in &png[12..29] {
            crc ^= u32::from(*byte);
            for _ in 0..8 {
                crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
            }
        }
        png[29..33].copy_from_slice(&(!crc).to_be_bytes());
        png
    }

    #[test]
    fn a_bomb_is_refused_from_its_header() {
        let bomb = png_claiming(DynamicImage::new_rgba16(2, 2), 16_384, 16_384);
        for outcome in [inspect(&bomb).map(|_| ()), clean(&bomb).map(|_| ())] {
            let Err(DomainError::ImageTooLarge(reason)) = outcome else { panic!("{outcome:?}") };
            assert!(reason.contains("268435456 pixels"), "{reason}");
        }
        // Within the pixel budget, over the byte budget at 16 bits a channel.
        let deep = png_claiming(DynamicImage::new_rgba16(2, 2), 6_000, 6_000);
        let Err(DomainError::ImageTooLarge(reason)) = inspect(&deep) else { panic!("accepted") };
        assert!(reason.contains("Rgba16"), "{reason}");
        // The same pixels at 8 bits pass the header check.
        let header = inspect(&png_claiming(DynamicImage::new_rgb8(2, 2), 6_000, 6_000)).unwrap();
        assert_eq!((header.width, header.height, header.decoded_bytes), (6_000, 6_000, 108_000_000));
    }

    #[test]
    fn a_png_whose_icc_profile_inflates_to_40_mib_is_read_within_the_decoder_limit() {
        use image::ImageEncoder;
        use image::codecs::png::PngEncoder;
        let mut bomb = Vec::new();
        let mut encoder = PngEncoder::new(&mut bomb);
        encoder.set_icc_profile(vec![0; 40 * 1024 * 1024]).unwrap();
        encoder.write_image(&[0; 3 * 4], 2, 2, image::ExtendedColorType::Rgb8).unwrap();
        assert!(bomb.len() < 1024 * 1024, "{} bytes", bomb.len());
        // The png crate inflates the profile only up to the decoder's limit, then drops it.
        let (_, mut decoder) = open(&bomb).unwrap();
        let profile = decoder.icc_profile().unwrap();
        assert!(profile.is_none(), "a profile of {} bytes", profile.map_or(0, |p| p.len()));
        assert_eq!(clean(&bomb).unwrap().width, 2);
    }

    #[test]
    fn a_16_bit_png_is_stored_at_8_bits() {
        let mut deep = Vec::new();
        DynamicImage::new_rgba16(30, 20).write_to(&mut Cursor::new(&mut deep), ImageFormat::Png).unwrap();
        let photo = clean(&deep).unwrap();
        let stored = image::load_from_memory(&photo.bytes).unwrap();
        assert_eq!((stored.color(), stored.width(), stored.height()), (ColorType::Rgba8, 30, 20));
    }

    #[test]
    fn no_accepted_photo_peaks_above_max_peak_bytes() {
        let colors =
            [ColorType::L8, ColorType::La8, ColorType::Rgb8, ColorType::Rgba8, ColorType::Rgb16, ColorType::Rgba16];
        let shapes = [(6_324, 6_324), (16_384, 2_441), (7_746, 5_164), (4_096, 4_096), (4_000, 3_000), (100, 16_384)];
        for format in [PhotoFormat::Jpeg, PhotoFormat::Png, PhotoFormat::Webp] {
            for color in colors {
                for (width, height) in shapes {
                    let decoded_bytes = u64::from(width) * u64::from(height) * u64::from(color.bytes_per_pixel());
                    if u64::from(width) * u64::from(height) > MAX_PIXELS || decoded_bytes > MAX_DECODED_BYTES {
                        continue;
                    }
                    let header = PhotoHeader { format, width, height, color, decoded_bytes };
                    assert!(header.peak_bytes() <= MAX_PEAK_BYTES, "{header:?}: {}", header.peak_bytes());
                }
            }
        }
        // An ordinary 12 MP phone photo: three of them fit the default budget at once.
        let phone = PhotoHeader {
            format: PhotoFormat::Jpeg,
            width: 4_000,
            height: 3_000,
            color: ColorType::Rgb8,
            decoded_bytes: 36_000_000,
        };
        assert_eq!(phone.peak_bytes(), 108_000_000);
    }
}

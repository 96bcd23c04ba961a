//! JSON written by hand for hot paths such as nearby search: the same bytes and the same OpenAPI
//! description as `Json<T>`, without poem-openapi's `serde_json::Value` tree (an allocation per
//! key and value) or serde's escaping of every key and enum name. Like `Json<T>` it writes keys
//! in sorted order and leaves absent fields out. Each hand-written body has a test that compares
//! it byte for byte with poem-openapi's own rendering of the same value.

use std::marker::PhantomData;

use chrono::{DateTime, Utc};
use poem::{IntoResponse, Response};
use poem_openapi::ApiResponse;
use poem_openapi::payload::Json;
use poem_openapi::registry::{MetaResponses, Registry};
use poem_openapi::types::ToJSON;

/// A JSON body written by hand, described in the spec exactly as `Json<T>` would be.
pub struct Prewritten<T> {
    body: Vec<u8>,
    schema: PhantomData<fn() -> T>,
}

impl<T> Prewritten<T> {
    pub fn new(body: Vec<u8>) -> Self {
        Prewritten { body, schema: PhantomData }
    }
}

impl<T> Prewritten<T> {
    /// The body, for tests.
    pub fn into_body_bytes(self) -> Vec<u8> {
        self.body
    }
}

impl<T> IntoResponse for Prewritten<T> {
    fn into_response(self) -> Response {
        Response::builder().content_type("application/json; charset=utf-8").body(self.body)
    }
}

impl<T: ToJSON> ApiResponse for Prewritten<T> {
    fn meta() -> MetaResponses {
        <Json<T> as ApiResponse>::meta()
    }

    fn register(registry: &mut Registry) {
        <Json<T> as ApiResponse>::register(registry);
    }
}

/// Text the server made that needs no escaping (ids, enum names): written as is.
pub fn plain(out: &mut Vec<u8>, s: &str) {
    debug_assert!(!s.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20), "{s}");
    out.push(b'"');
    out.extend_from_slice(s.as_bytes());
    out.push(b'"');
}

/// Any text, escaped as serde_json escapes it (`"`, `\\` and control characters; nothing else).
pub fn text(out: &mut Vec<u8>, s: &str) {
    if s.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20) {
        // Writing a &str into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *out, s);
    } else {
        out.reserve(s.len() + 2);
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    }
}

pub fn number(out: &mut Vec<u8>, v: impl serde::Serialize) {
    let _ = serde_json::to_writer(&mut *out, &v);
}

pub fn unsigned(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
}

/// `v` rounded to 7 decimals (about a centimetre of a degree), exactly as serde_json writes
/// `(v * 1e7).round() / 1e7`, from integers: shortest digits, at least one after the point.
pub fn decimal7(out: &mut Vec<u8>, v: f64) {
    let scaled = (v * 1e7).round();
    // serde_json writes below 1e-5 in exponent form, and -0.0 with its sign: left to it.
    if !(100.0..1e15).contains(&scaled.abs()) {
        number(out, scaled / 1e7);
        return;
    }
    let n = scaled as i64;
    if n < 0 {
        out.push(b'-');
    }
    let (whole, mut fraction) = (n.unsigned_abs() / 10_000_000, n.unsigned_abs() % 10_000_000);
    out.extend_from_slice(itoa::Buffer::new().format(whole).as_bytes());
    out.push(b'.');
    if fraction == 0 {
        out.push(b'0');
        return;
    }
    let mut digits = 7;
    while fraction % 10 == 0 {
        fraction /= 10;
        digits -= 1;
    }
    let written = itoa::Buffer::new().format(fraction).len();
    out.extend(std::iter::repeat_n(b'0', digits - written));
    out.extend_from_slice(itoa::Buffer::new().format(fraction).as_bytes());
}

pub fn boolean(out: &mut Vec<u8>, v: bool) {
    out.extend_from_slice(if v { b"true" } else { b"false" });
}

/// A time as poem-openapi writes it (`DateTime::to_rfc3339`).
pub fn time(out: &mut Vec<u8>, t: &DateTime<Utc>) {
    plain(out, &t.to_rfc3339());
}

/// Writes `"key":` (the key is a literal of ours).
pub fn key(out: &mut Vec<u8>, k: &str) {
    plain(out, k);
    out.push(b':');
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    fn serde_of(v: f64) -> String {
        serde_json::to_string(&((v * 1e7).round() / 1e7)).unwrap()
    }

    fn decimal7_of(v: f64) -> String {
        let mut out = Vec::new();
        decimal7(&mut out, v);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn decimal7_writes_what_serde_json_writes() {
        let edges = [
            0.0,
            -0.0,
            1e-9,
            -1e-9,
            0.00000005,
            0.0000001,
            -0.0000001,
            0.0000099,
            0.00001,
            -0.00001,
            0.1,
            1.0,
            -1.0,
            30.0,
            30.275,
            30.2750001,
            120.16,
            120.1600000,
            89.9999999,
            90.0,
            -90.0,
            180.0,
            -180.0,
            179.99999995,
            0.99999999,
            1e8,
            123456789.1234567,
        ];
        for v in edges {
            assert_eq!(decimal7_of(v), serde_of(v), "{v}");
        }
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for _ in 0..1_000_000 {
            let v = match rng.random_range(0..3) {
                0 => rng.random_range(-180.0..180.0),
                1 => f64::from(rng.random_range(-1_800_000_000..1_800_000_000)) / 1e7,
                _ => rng.random_range(-0.001..0.001),
            };
            assert_eq!(decimal7_of(v), serde_of(v), "{v}");
        }
    }

    #[test]
    fn text_escapes_what_serde_json_escapes() {
        for s in ["驿站", "", "a\"b", "back\\slash", "line\nbreak", "\u{1}", "tab\t", "emoji 🚲", "</script>"] {
            let mut out = Vec::new();
            text(&mut out, s);
            assert_eq!(String::from_utf8(out).unwrap(), serde_json::to_string(s).unwrap());
        }
    }
}

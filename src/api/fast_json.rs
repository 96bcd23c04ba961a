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

/// Any text, escaped.
pub fn text(out: &mut Vec<u8>, s: &str) {
    // Writing a &str into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, s);
}

pub fn number(out: &mut Vec<u8>, v: impl serde::Serialize) {
    let _ = serde_json::to_writer(&mut *out, &v);
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

//! `FastJson<T>`: the same JSON body and the same OpenAPI description as `Json<T>`, but written
//! straight from `serde::Serialize` instead of through poem-openapi's `serde_json::Value` tree
//! (one allocation per key and value). For hot paths such as nearby search; `T` must serialize
//! exactly as its poem-openapi schema says (snake_case enums, RFC 3339 times via `rfc3339`).

use chrono::{DateTime, Utc};
use poem::{IntoResponse, Response};
use poem_openapi::ApiResponse;
use poem_openapi::payload::Json;
use poem_openapi::registry::{MetaResponses, Registry};
use poem_openapi::types::ToJSON;
use serde::{Serialize, Serializer};

use super::error::ApiError;

pub struct FastJson<T>(pub T);

impl<T: Serialize + Send> IntoResponse for FastJson<T> {
    fn into_response(self) -> Response {
        let mut body = Vec::with_capacity(8 * 1024);
        match serde_json::to_writer(&mut body, &self.0) {
            Ok(()) => Response::builder().content_type("application/json; charset=utf-8").body(body),
            Err(e) => {
                tracing::error!(error = %e, "cannot serialize a response");
                ApiError::internal().into_response()
            }
        }
    }
}

impl<T: Serialize + Send + ToJSON> ApiResponse for FastJson<T> {
    fn meta() -> MetaResponses {
        <Json<T> as ApiResponse>::meta()
    }

    fn register(registry: &mut Registry) {
        <Json<T> as ApiResponse>::register(registry);
    }
}

/// An optional time as poem-openapi writes it (`DateTime::to_rfc3339`).
pub fn rfc3339<S: Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_str(&t.to_rfc3339()),
        None => s.serialize_none(),
    }
}

//! The published OpenAPI document: what poem-openapi generates from the handlers, finished with
//! what it cannot say itself, served at `/openapi.json` and `/docs` and written by `xinhuoban spec`
//! (`api-spec/openapi.yaml`). All three are the same document.

use poem::http::Method;
use poem_openapi::OpenApi;
use serde_json::{Value, json};

use super::{API_PREFIX, Apis, service};

/// The finished document as JSON.
pub fn document() -> Value {
    let generated = service().spec();
    // poem-openapi's own output; failing to read it back is a bug in the build, not in a request.
    let mut doc: Value = serde_json::from_str(&generated).expect("poem-openapi writes valid JSON");
    mark_public_operations(&mut doc);
    doc
}

pub fn spec_json() -> String {
    serde_json::to_string_pretty(&document()).expect("a JSON value serializes")
}

pub fn spec_yaml() -> String {
    serde_yaml::to_string(&document()).expect("a JSON value serializes as YAML")
}

/// Swagger UI over the finished document. poem-openapi's page embeds its own generated spec; the
/// page is taken as it is and that spec swapped for ours.
pub fn docs_html() -> String {
    let api = service();
    api.swagger_ui_html().replacen(&api.spec(), &spec_json(), 1)
}

/// An operation without a security requirement is public. OpenAPI reads a missing `security` as
/// "the document's default", so public operations say `security: []` outright.
fn mark_public_operations(doc: &mut Value) {
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else { return };
    for item in paths.values_mut().filter_map(Value::as_object_mut) {
        for operation in item.values_mut().filter_map(Value::as_object_mut) {
            operation.entry("security").or_insert_with(|| json!([]));
        }
    }
}

/// The methods each API path answers, for the `Allow` header of a 405.
pub struct MethodTable {
    routes: Vec<(Vec<Segment>, Vec<Method>)>,
}

#[derive(Debug, PartialEq)]
enum Segment {
    Fixed(String),
    Param,
}

impl MethodTable {
    pub fn of_api() -> Self {
        let mut routes: Vec<(Vec<Segment>, Vec<Method>)> = Vec::new();
        for path in <Apis as OpenApi>::meta().into_iter().flat_map(|api| api.paths) {
            let segments = segments(&format!("{API_PREFIX}{}", path.path));
            let methods = path.operations.into_iter().map(|op| op.method);
            match routes.iter_mut().find(|(s, _)| *s == segments) {
                Some((_, known)) => known.extend(methods),
                None => routes.push((segments, methods.collect())),
            }
        }
        MethodTable { routes }
    }

    /// Adds a route outside the API (`{name}` marks a parameter segment).
    pub fn with(mut self, template: &str, methods: Vec<Method>) -> Self {
        self.routes.push((segments(template), methods));
        self
    }

    /// `Allow` for a request path: the methods of the route the router picks for it (a fixed
    /// segment wins over a parameter, as in poem's router), HEAD with GET; None when no API route
    /// matches.
    pub fn allow(&self, path: &str) -> Option<String> {
        let parts: Vec<&str> = path.trim_end_matches('/').split('/').collect();
        let (_, methods) =
            self.routes.iter().filter(|(segments, _)| matches(segments, &parts)).max_by_key(|(segments, _)| {
                segments.iter().map(|s| matches!(s, Segment::Fixed(_))).collect::<Vec<_>>()
            })?;
        let mut names: Vec<&str> = methods.iter().map(Method::as_str).collect();
        if methods.contains(&Method::GET) {
            names.push("HEAD");
        }
        Some(names.join(", "))
    }
}

fn segments(template: &str) -> Vec<Segment> {
    template
        .trim_end_matches('/')
        .split('/')
        .map(|s| if s.starts_with('{') { Segment::Param } else { Segment::Fixed(s.to_string()) })
        .collect()
}

fn matches(segments: &[Segment], parts: &[&str]) -> bool {
    segments.len() == parts.len()
        && segments.iter().zip(parts).all(|(s, p)| match s {
            Segment::Fixed(f) => f == p,
            Segment::Param => !p.is_empty(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_operations_say_so_and_protected_ones_keep_their_scheme() {
        let doc = document();
        let nearby = &doc["paths"]["/places/nearby"]["get"];
        assert_eq!(nearby["security"], json!([]));
        let mine = &doc["paths"]["/reports/mine"]["get"];
        assert_eq!(mine["security"], json!([{ "BearerAuth": [] }]));
    }

    #[test]
    fn allow_names_the_methods_of_the_route_the_router_picks() {
        let table = MethodTable::of_api();
        assert_eq!(table.allow("/api/v1/reports/mine").as_deref(), Some("GET, HEAD"));
        let one_report = table.allow("/api/v1/reports/abc").unwrap();
        assert!(one_report.contains("GET"), "{one_report}");
        assert_eq!(table.allow("/api/v1/nowhere/at/all"), None);
    }
}

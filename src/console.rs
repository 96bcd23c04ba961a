//! The staff web console at `/console/`: hand-written HTML, CSS and JavaScript modules from
//! `console/`, embedded in the binary at build time, so `cargo run --release` serves it with
//! nothing else to build or install.
//!
//! Caching: every asset lives under `/console/v/<version>/…`, where `<version>` is a hash of all
//! the assets together, so it is cached for a year as immutable and a new build changes every
//! URL at once (the modules import each other by relative paths, which stay inside the version).
//! `index.html` names the version and is revalidated on each load (`no-cache`, with an `ETag`).
//! Every answer carries a strict Content-Security-Policy: scripts and styles only from this
//! origin, no inline script, photos from here or `blob:`/`data:`, no framing.

use std::sync::LazyLock;

use poem::http::{HeaderValue, StatusCode, header};
use poem::{Response, Route, get, handler};
use sha2::{Digest, Sha256};

/// The console's files, embedded: (path under `console/`, bytes).
macro_rules! embed {
    ($($path:literal),* $(,)?) => {
        &[$(($path, include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/console/", $path)) as &[u8])),*]
    };
}

/// Every file of `console/` (a test checks none is missing).
pub static FILES: &[(&str, &[u8])] = embed![
    "index.html",
    "console.css",
    "icon.svg",
    "js/main.js",
    "js/api.js",
    "js/dom.js",
    "js/i18n.js",
    "js/forms.js",
    "js/map.js",
    "js/session.js",
    "js/messages/zh.js",
    "js/messages/en.js",
    "js/views/login.js",
    "js/views/queue.js",
    "js/views/report.js",
    "js/views/figures.js",
    "js/views/places.js",
    "js/views/pickup.js",
    "js/views/admin.js",
    "js/views/admin_places.js",
    "js/views/demand.js",
    "js/views/webhooks.js",
];

pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; \
                       connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; \
                       form-action 'self'; frame-ancestors 'none'";

/// A hash of every asset: the path segment that makes their URLs change with their content.
pub static VERSION: LazyLock<String> = LazyLock::new(|| {
    let mut h = Sha256::new();
    for (path, bytes) in FILES {
        h.update((path.len() as u64).to_be_bytes());
        h.update(path.as_bytes());
        h.update((bytes.len() as u64).to_be_bytes());
        h.update(bytes);
    }
    hex::encode(&h.finalize()[..8])
});

/// `index.html` with the version filled in, and its ETag.
static INDEX: LazyLock<(String, String)> = LazyLock::new(|| {
    let raw = FILES.iter().find(|(p, _)| *p == "index.html").map(|(_, b)| *b).unwrap_or_default();
    let html = String::from_utf8_lossy(raw).replace("{{VERSION}}", &VERSION);
    let etag = format!("\"{}\"", hex::encode(&Sha256::digest(html.as_bytes())[..8]));
    (html, etag)
});

fn content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("json") => "application/json",
        Some("png") => "image/png",
        _ => "application/octet-stream",
    }
}

/// Adds the routes under `/console` to `route`.
pub fn mount(route: Route) -> Route {
    route.at("/console", get(redirect)).at("/console/*path", get(dispatch))
}

/// The headers every console answer carries.
fn secured(mut resp: Response) -> Response {
    let h = resp.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // Signed photo URLs must not leak to other sites through the Referer.
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert("cross-origin-opener-policy", HeaderValue::from_static("same-origin"));
    resp
}

#[handler]
fn redirect() -> Response {
    secured(Response::builder().status(StatusCode::PERMANENT_REDIRECT).header(header::LOCATION, "/console/").finish())
}

fn matches_etag(req: &poem::Request, etag: &str) -> bool {
    req.headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"))
}

/// `/console/` is the page; `/console/v/<version>/<path>` an asset; anything else is missing.
#[handler]
fn dispatch(req: &poem::Request) -> Response {
    let path = req.uri().path();
    if path == "/console/" {
        return index(req);
    }
    match path.strip_prefix("/console/v/").and_then(|rest| rest.split_once('/')) {
        Some((version, file)) => asset(req, version, file),
        None => missing(),
    }
}

fn index(req: &poem::Request) -> Response {
    let (html, etag) = &*INDEX;
    let builder = Response::builder().header(header::CACHE_CONTROL, "no-cache").header(header::ETAG, etag.as_str());
    if matches_etag(req, etag) {
        return secured(builder.status(StatusCode::NOT_MODIFIED).finish());
    }
    secured(builder.content_type("text/html; charset=utf-8").body(html.clone()))
}

fn asset(req: &poem::Request, version: &str, path: &str) -> Response {
    // Looked up by exact name in the embedded table: nothing outside it can be named.
    let file = FILES.iter().find(|(p, _)| *p == path && *p != "index.html");
    let Some((path, bytes)) = file.filter(|_| version == *VERSION) else {
        return missing();
    };
    let etag = format!("\"{}\"", &*VERSION);
    let builder = Response::builder()
        .header(header::CACHE_CONTROL, "public, max-age=31536000, immutable")
        .header(header::ETAG, etag.as_str());
    if matches_etag(req, &etag) {
        return secured(builder.status(StatusCode::NOT_MODIFIED).finish());
    }
    secured(builder.content_type(content_type(path)).body(*bytes))
}

fn missing() -> Response {
    secured(
        Response::builder()
            .status(StatusCode::NOT_FOUND)
            .header(header::CACHE_CONTROL, "no-store")
            .content_type("text/plain; charset=utf-8")
            .body("not found"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every file under `console/` is embedded, and every embedded file exists.
    #[test]
    fn every_console_file_is_embedded() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("console");
        let mut found = Vec::new();
        let mut dirs = vec![root.clone()];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let p = entry.unwrap().path();
                if p.is_dir() {
                    dirs.push(p);
                } else {
                    found.push(p.strip_prefix(&root).unwrap().to_string_lossy().replace('\\', "/"));
                }
            }
        }
        found.sort();
        let mut embedded: Vec<String> = FILES.iter().map(|(p, _)| p.to_string()).collect();
        embedded.sort();
        assert_eq!(found, embedded);
    }

    #[test]
    fn index_names_the_version() {
        assert!(INDEX.0.contains(&format!("v/{}/js/main.js", &*VERSION)));
        assert!(!INDEX.0.contains("{{"));
    }
}

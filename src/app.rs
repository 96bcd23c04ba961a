//! Builds the service: the poem route (API, docs, health, metrics), its middleware, and starts
//! the server (`crate::server`) on it.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;

use poem::endpoint::make_sync;
use poem::http::{HeaderValue, Method, StatusCode};
use poem::middleware::{CatchPanic, Cors};
use poem::web::{Html, Json};
use poem::{Endpoint, EndpointExt, IntoResponse, Request, Response, Route, get, handler};
use poem_openapi::OperationId;
use serde_json::json;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tracing::Instrument;

use crate::api::document::MethodTable;
use crate::api::{self, error::ApiError, error::Lang};
use crate::domain::error::{ErrorChain, ErrorCode};
use crate::state::{AppState, StartError};
use crate::{server, telemetry};

/// The whole HTTP surface.
pub fn route(state: AppState) -> impl Endpoint {
    let api = api::service();
    let spec = api::document::spec_json();
    let docs = api::document::docs_html();
    let methods = Arc::new(allowed_methods());
    let body_idle = state.config.idle_timeout;
    let cors = (!state.config.cors_origins.is_empty()).then(|| {
        Cors::new()
            .allow_origins(state.config.cors_origins.iter().cloned())
            .allow_methods([Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE])
            .allow_headers(["authorization", "content-type", "idempotency-key", "accept-language", "x-request-id"])
            .expose_headers(["x-request-id", "retry-after"])
            .max_age(3600)
    });
    crate::console::mount(Route::new())
        .nest(api::API_PREFIX, api)
        .nest("/open311/v2", api::open311::routes())
        .at("/docs", get(make_sync(move |_| Html(docs.clone()))))
        .at("/openapi.json", get(make_sync(move |_| spec.clone().with_content_type("application/json; charset=utf-8"))))
        .at("/healthz", get(healthz))
        .at("/readyz", get(readyz))
        .at("/metrics", get(metrics_text))
        .at("/", get(make_sync(|_| poem::web::Redirect::see_other("/docs"))))
        .around(api::nearby_fast::serve_plain)
        .with(CatchPanic::new())
        .with_if(cors.is_some(), cors.unwrap_or_default())
        .around(move |next, req| limit_body(next, req, body_idle))
        .around(move |next, req| observe(next, req, methods.clone()))
        .data(state)
}

/// Every route's methods, for the `Allow` header of a 405.
fn allowed_methods() -> MethodTable {
    let get = || vec![Method::GET];
    MethodTable::of_api()
        .with("/healthz", get())
        .with("/readyz", get())
        .with("/metrics", get())
        .with("/docs", get())
        .with("/openapi.json", get())
        .with("/open311/v2/discovery.json", get())
        .with("/open311/v2/services.json", get())
        .with("/open311/v2/requests.json", vec![Method::GET, Method::POST])
        .with("/open311/v2/requests/{id}", get())
}

#[handler]
fn healthz() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}

#[handler]
async fn readyz(state: poem::web::Data<&AppState>) -> poem::Result<Json<serde_json::Value>> {
    match state.db.ping().await {
        Ok(()) => Ok(Json(json!({ "status": "ready" }))),
        Err(e) => {
            tracing::warn!(error = %ErrorChain(&e), "database not reachable");
            Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::DatabaseUnavailable,
                "数据库不可用",
                "the database is unreachable",
            )
            .into())
        }
    }
}

#[handler]
fn metrics_text(state: poem::web::Data<&AppState>) -> Response {
    Response::builder().content_type("text/plain; version=0.0.4; charset=utf-8").body(state.metrics.render())
}

/// The largest request body accepted: a 10 MB photo in its multipart envelope fits.
pub const MAX_BODY_BYTES: u64 = 16 * 1024 * 1024;

/// Refuses bodies over `MAX_BODY_BYTES`: by `Content-Length` at once, and for chunked bodies by
/// cutting the stream off where it passes the limit. A body that stops coming for `idle` is cut
/// off too (the connection's own idle timeout does not run while a request is handled). Either
/// cut fails whatever was reading the body (a multipart or JSON parser, which would call the body
/// malformed); the answer then says why: 413 `payload_too_large` or 408 `request_timeout`.
async fn limit_body<E: Endpoint>(next: E, mut req: Request, idle: Duration) -> poem::Result<Response> {
    let too_large =
        || poem::Error::from(ApiError::from(crate::domain::DomainError::TooLarge { limit_bytes: MAX_BODY_BYTES }));
    let headers = req.headers();
    let declared = headers
        .get(poem::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let chunked = headers.contains_key(poem::http::header::TRANSFER_ENCODING);
    match declared {
        Some(len) if len > MAX_BODY_BYTES => return Err(too_large()),
        // No body: every GET on the hot path.
        Some(0) | None if !chunked => return next.call(req).await.map(IntoResponse::into_response),
        _ => {}
    }
    let cut = Arc::new(AtomicU8::new(NOT_CUT));
    let body = guard_body(req.take_body(), idle, cut.clone());
    req.set_body(body);
    let outcome = next.call(req).await.map(IntoResponse::into_response);
    let (failed, operation) = match &outcome {
        Ok(resp) => (resp.status().is_client_error(), resp.data::<OperationId>().copied()),
        Err(err) => (true, err.data::<OperationId>().copied()),
    };
    let mut error = match cut.load(Ordering::Relaxed) {
        CUT_TOO_LARGE if failed => too_large(),
        CUT_STALLED if failed => ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            ErrorCode::RequestTimeout,
            "请求体传输中断，请重试",
            format!("the request body stopped coming for {} s", idle.as_secs()),
        )
        .into(),
        _ => return outcome,
    };
    // The metrics still count it under its operation.
    if let Some(operation) = operation {
        error.set_data(operation);
    }
    Err(error)
}

const NOT_CUT: u8 = 0;
const CUT_TOO_LARGE: u8 = 1;
const CUT_STALLED: u8 = 2;

/// `body`, ending in an error where it passes `MAX_BODY_BYTES` or stops coming for `idle`, and
/// saying which in `cut`.
fn guard_body(body: poem::Body, idle: Duration, cut: Arc<AtomicU8>) -> poem::Body {
    use futures_util::StreamExt;
    struct Reading {
        chunks: Pin<Box<dyn futures_util::Stream<Item = std::io::Result<Bytes>> + Send>>,
        seen: u64,
        cut: Arc<AtomicU8>,
    }
    let start = Reading { chunks: Box::pin(body.into_bytes_stream()), seen: 0, cut };
    let chunks = futures_util::stream::unfold(start, move |mut r| async move {
        if r.cut.load(Ordering::Relaxed) != NOT_CUT {
            return None;
        }
        let item = match tokio::time::timeout(idle, r.chunks.next()).await {
            Ok(None) => return None,
            Ok(Some(Ok(chunk))) => {
                r.seen += chunk.len() as u64;
                if r.seen > MAX_BODY_BYTES {
                    r.cut.store(CUT_TOO_LARGE, Ordering::Relaxed);
                    Err(std::io::Error::other("request body over the size limit"))
                } else {
                    Ok(chunk)
                }
            }
            Ok(Some(Err(e))) => Err(e),
            Err(_) => {
                r.cut.store(CUT_STALLED, Ordering::Relaxed);
                Err(std::io::Error::new(std::io::ErrorKind::TimedOut, "request body stalled"))
            }
        };
        Some((item, r))
    });
    poem::Body::from_bytes_stream(chunks)
}

/// Every request: one error shape, a request id, a span, a log line and metrics.
/// Logs carry the path only: query strings hold riders' locations, and bodies hold secrets.
async fn observe<E: Endpoint>(next: E, req: Request, methods: Arc<MethodTable>) -> poem::Result<Response> {
    let started = Instant::now();
    let method = method_label(req.method());
    let path = req.uri().path().to_string();
    let lang = Lang::from_headers(req.headers());
    let request_id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 64 && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        .map(str::to_string)
        .unwrap_or_else(telemetry::next_request_id);
    // At ERROR so that whatever level `XHB_LOG` lets through still carries the request id.
    let span = tracing::error_span!(
        target: telemetry::HTTP_TARGET,
        telemetry::REQUEST_SPAN,
        %request_id,
        method,
        route = tracing::field::Empty,
    );
    let metrics = req.data::<AppState>().map(|s| s.metrics.clone());

    let outcome = next.call(req).instrument(span.clone()).await;
    let _entered = span.enter();
    let (mut resp, operation) = match outcome {
        Ok(resp) => {
            let resp = resp.into_response();
            let op = resp.data::<OperationId>().map(|o| o.0);
            (resp, op)
        }
        Err(err) => {
            let op = err.data::<OperationId>().map(|o| o.0);
            (ApiError::from_poem(&err).to_response(lang), op)
        }
    };
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        resp.headers_mut().insert("x-request-id", value);
    }
    let status = resp.status();
    if status == StatusCode::METHOD_NOT_ALLOWED
        && let Some(allow) = methods.allow(&path).and_then(|a| HeaderValue::from_str(&a).ok())
    {
        resp.headers_mut().insert(poem::http::header::ALLOW, allow);
    }
    let elapsed = started.elapsed();
    let route = operation.unwrap_or_else(|| fixed_route_label(&path, status));
    span.record("route", route);
    let statements = telemetry::statements_in(&span);
    if let Some(m) = metrics {
        m.observe(route, method, status.as_u16(), elapsed, statements);
    }
    tracing::info!(
        target: telemetry::HTTP_TARGET,
        path = %path,
        status = status.as_u16(),
        latency_ms = elapsed.as_secs_f64() * 1000.0,
        statements,
        "request"
    );
    Ok(resp)
}

fn method_label(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}

/// A bounded label for requests that no API operation answered.
fn fixed_route_label(path: &str, status: StatusCode) -> &'static str {
    match path {
        "/healthz" => "healthz",
        "/readyz" => "readyz",
        "/metrics" => "metrics",
        "/openapi.json" => "openapi_json",
        p if p.starts_with("/docs") => "docs",
        p if p.starts_with("/open311/") => "open311",
        p if p == "/console" || p.starts_with("/console/") => "console",
        _ if status == StatusCode::NOT_FOUND => "unmatched",
        _ => "other",
    }
}

/// A server that is listening, with the address it got and a way to stop it.
pub struct RunningServer {
    pub addr: SocketAddr,
    pub state: AppState,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

impl RunningServer {
    /// Stops accepting, lets requests in flight finish, and waits.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = (&mut self.task).await;
    }

    /// Waits until the server ends (after a shutdown signal).
    pub async fn wait(mut self) -> std::io::Result<()> {
        (&mut self.task).await.unwrap_or_else(|e| Err(std::io::Error::other(e)))
    }
}

/// Starts serving `state` on `bind`; `stop` or the future `signal` ends it gracefully.
pub async fn start(
    state: AppState,
    bind: SocketAddr,
    signal: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<RunningServer, StartError> {
    let listener =
        tokio::net::TcpListener::bind(bind).await.map_err(|source| StartError::Listen { addr: bind, source })?;
    let addr = listener.local_addr().map_err(|source| StartError::Listen { addr: bind, source })?;
    let settings = server::Settings {
        header_read_timeout: state.config.header_read_timeout,
        idle_timeout: state.config.idle_timeout,
        grace: state.config.shutdown_grace,
    };
    let (tx, rx) = oneshot::channel::<()>();
    let app = route(state.clone());
    let grace = state.config.shutdown_grace;
    let outbox = crate::outbox::spawn(state.outbox(), grace);
    let background = crate::service::reports::spawn_background(state.reports());
    let expiry = crate::service::rewards::spawn_background(state.rewards());
    let demand = state.demand();
    let counting = crate::service::demand::spawn_background(demand.clone());
    let overdue =
        crate::service::webhooks::spawn_overdue_detector(state.db.clone(), state.config.webhooks.overdue_poll);
    let task = tokio::spawn(async move {
        let stop = async {
            tokio::select! {
                _ = rx => {},
                _ = signal => {},
            }
            // Deliveries take nothing new while the requests in flight finish.
            outbox.begin_stop();
        };
        let served = server::serve(listener, app, settings, stop).await;
        // Webhook attempts in flight finish and are recorded within the grace period; anything
        // cut off stays leased in the outbox and is attempted again after the lease.
        outbox.stop(grace).await;
        background.abort();
        expiry.abort();
        overdue.abort();
        counting.abort();
        // What was counted since the last flush is written before the process goes.
        if let Err(e) = crate::service::demand::flush(&demand).await {
            tracing::warn!(error = %crate::domain::error::ErrorChain(&e), "demand: the last counts could not be written");
        }
        served
    });
    Ok(RunningServer { addr, state, shutdown: Some(tx), task })
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutdown signal received; finishing requests in flight");
}

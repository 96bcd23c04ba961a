//! Logging with `tracing`: human-readable by default, JSON lines with `XHB_LOG_FORMAT=json`.
//! Every request runs in a span carrying its request id (made in `app::observe`), and a counter
//! layer counts the SQL statements each request runs.

use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, Ordering};

use tracing::level_filters::LevelFilter;
use tracing::{Event, Span, Subscriber, span};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, Registry};

/// The filter when `XHB_LOG` is not set.
pub const DEFAULT_FILTER: &str = "info,sqlx=warn";
/// The target of the request span and of the request log line.
pub const HTTP_TARGET: &str = "xinhuoban::http";
/// The name of the span every request runs in.
pub const REQUEST_SPAN: &str = "request";
/// sqlx logs every statement it runs under this target (at DEBUG, or WARN when slow).
const SQL_STATEMENT_TARGET: &str = "sqlx::query";

/// Installs the global subscriber once; later calls are no-ops (tests start many servers).
pub fn init(json: bool) {
    let filter = EnvFilter::try_from_env("XHB_LOG").unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    install(json, filter, std::io::stdout);
}

/// Installs the global subscriber: log lines that `filter` lets through go to `writer`, and the
/// statement counter sees sqlx's statements whatever `filter` says. A no-op when a global
/// subscriber is installed already; says whether this call installed it.
pub fn install<W>(json: bool, filter: EnvFilter, writer: W) -> bool
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let fmt = tracing_subscriber::fmt::layer().with_target(true).with_writer(writer);
    let fmt = if json { fmt.json().with_filter(filter).boxed() } else { fmt.with_filter(filter).boxed() };
    let counted = tracing_subscriber::filter::filter_fn(|meta| {
        if meta.is_span() {
            meta.target() == HTTP_TARGET && meta.name() == REQUEST_SPAN
        } else {
            meta.target() == SQL_STATEMENT_TARGET
        }
    })
    .with_max_level_hint(LevelFilter::DEBUG);
    tracing_subscriber::registry().with(StatementCounter.with_filter(counted)).with(fmt).try_init().is_ok()
}

/// Counts sqlx's statement events in the request span they run in. sqlx-sqlite runs statements
/// on a worker thread and enters the caller's span there, so they count too.
struct StatementCounter;

/// The statements a request has run so far, kept on its span.
struct Statements(AtomicU64);

impl<S> Layer<S> for StatementCounter
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    // Its filter lets only request spans and statement events reach this layer.
    fn on_new_span(&self, _attrs: &span::Attributes<'_>, id: &span::Id, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(Statements(AtomicU64::new(0)));
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let Some(request) = ctx.event_span(event) else {
            return;
        };
        if let Some(statements) = request.extensions().get::<Statements>() {
            statements.0.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// The SQL statements run so far in `span`, a request span; `None` without the counter.
pub fn statements_in(span: &Span) -> Option<u64> {
    span.with_subscriber(|(id, dispatch)| {
        let span = dispatch.downcast_ref::<Registry>()?.span(id)?;
        let statements = span.extensions().get::<Statements>()?.0.load(Ordering::Relaxed);
        Some(statements)
    })
    .flatten()
}

/// A new request id: a random prefix drawn once per process, then a counter. Unique across
/// restarts and nodes without drawing randomness (a system call) per request.
pub fn next_request_id() -> String {
    static PREFIX: LazyLock<u64> = LazyLock::new(rand::random);
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    format!("{:016x}-{:x}", *PREFIX, COUNTER.fetch_add(1, Ordering::Relaxed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_unique_and_share_the_process_prefix() {
        let a = next_request_id();
        let b = next_request_id();
        assert_ne!(a, b);
        assert_eq!(a.split('-').next(), b.split('-').next());
        assert!(a.len() <= 64 && a.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'), "{a}");
    }
}

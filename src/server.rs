//! The HTTP/1.1 server under the routes: it accepts connections, closes those that stall, and
//! answers requests hyper cannot read in the one error shape.
//!
//! poem's `Server` offers an idle timeout that any byte resets (a client trickling one byte a
//! second is never closed) and no header-read timeout, and hyper answers an unreadable request
//! by itself with an empty body. So connections are served here, with hyper directly:
//!
//! - **header-read timeout**: hyper's own. From the moment the server waits for a request (a new
//!   connection, or the previous answer sent) its head must arrive whole within
//!   `header_read_timeout`, however slowly it trickles. A connection that misses it is closed
//!   without an answer (hyper has none to give).
//! - **idle timeout**: a connection on which no byte moves for `idle_timeout` while the server
//!   waits for the client (for a request, or to take an answer) is closed. While a request is
//!   being handled the connection is busy, not idle; a request body that stops coming is the
//!   body limit's to time out (`app::limit_body`). An idle keep-alive connection waits for a
//!   head, so it is closed after the shorter of the two.
//! - **error shape**: hyper answers a request it cannot read (a garbage request line, a bad
//!   `Content-Length`, a head over `MAX_HEAD_BYTES`) before any of our code runs, with a status
//!   and an empty body, and offers no hook. `WatchedStream` recognises that answer as it is
//!   written (a 4xx without our `x-request-id`, with nothing after its head) and writes the same
//!   status with an error body instead; then it lingers briefly so that the client reads the
//!   answer before the close, not a reset.
//!
//! HTTP/1.1 only: TLS and HTTP/2 belong to the reverse proxy in front (WeChat requires HTTPS),
//! which speaks HTTP/1.1 to its upstreams.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use poem::http::StatusCode;
use poem::http::uri::Scheme;
use poem::web::{LocalAddr, RemoteAddr};
use poem::{Endpoint, IntoResponse};
use serde_json::json;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::{Instant, Sleep};

use crate::api::error::{ApiError, Lang};
use crate::domain::error::ErrorCode;
use crate::telemetry;

/// The largest request head (request line and headers) read: a request with a session token
/// takes about 1 KB. Larger is answered 431 `headers_too_large`.
pub const MAX_HEAD_BYTES: usize = 32 * 1024;
/// After a shaped error answer, how long and how much the server reads and discards before
/// closing, so that the client's unsent rest does not turn the close into a reset.
const LINGER: Duration = Duration::from_secs(1);
const LINGER_BYTES: usize = 1024 * 1024;

/// How connections are served.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    pub header_read_timeout: Duration,
    pub idle_timeout: Duration,
    /// How long requests in flight may finish once `signal` fires.
    pub grace: Duration,
}

/// Serves `endpoint` on `listener` until `signal`; then stops accepting, lets the requests in
/// flight finish within `grace`, and cuts the connections left.
pub async fn serve<E>(
    listener: TcpListener,
    endpoint: E,
    settings: Settings,
    signal: impl Future<Output = ()>,
) -> io::Result<()>
where
    E: Endpoint + 'static,
{
    let endpoint = Arc::new(endpoint);
    let local = LocalAddr(listener.local_addr()?.into());
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut connections = JoinSet::new();
    tokio::pin!(signal);
    loop {
        tokio::select! {
            () = &mut signal => break,
            Some(done) = connections.join_next(), if !connections.is_empty() => {
                if let Err(e) = done {
                    tracing::error!(error = %e, "connection task failed");
                }
            }
            accepted = listener.accept() => match accepted {
                Ok((stream, remote)) => {
                    let connection = Connection {
                        endpoint: endpoint.clone(),
                        local: local.clone(),
                        remote,
                        settings,
                        stop: stop_rx.clone(),
                    };
                    connections.spawn(connection.serve(stream));
                }
                // Out of file descriptors, most often: wait for some to close rather than spin.
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
        }
    }
    drop(listener);
    let _ = stop_tx.send(true);
    let drained =
        tokio::time::timeout(settings.grace, async { while connections.join_next().await.is_some() {} }).await;
    if drained.is_err() {
        tracing::warn!(left = connections.len(), "grace period over; closing the connections left");
        connections.shutdown().await;
    }
    Ok(())
}

struct Connection<E> {
    endpoint: Arc<E>,
    local: LocalAddr,
    remote: SocketAddr,
    settings: Settings,
    stop: watch::Receiver<bool>,
}

impl<E: Endpoint + 'static> Connection<E> {
    async fn serve(mut self, stream: TcpStream) {
        let _ = stream.set_nodelay(true);
        let activity = Arc::new(Activity::new());
        let stream = WatchedStream::new(stream, activity.clone());
        let service = {
            let (endpoint, local, remote, activity) =
                (self.endpoint.clone(), self.local.clone(), RemoteAddr(self.remote.into()), activity.clone());
            hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
                let busy = activity.busy();
                let endpoint = endpoint.clone();
                let req = poem::Request::from((req, local.clone(), remote.clone(), Scheme::HTTP));
                async move {
                    let resp = endpoint.get_response(req).await.into_response();
                    drop(busy);
                    Ok::<_, Infallible>(hyper::Response::<BoxBody<Bytes, io::Error>>::from(resp))
                }
            })
        };
        let mut http = hyper::server::conn::http1::Builder::new();
        http.timer(TokioTimer::new())
            .header_read_timeout(self.settings.header_read_timeout)
            .max_header_size(MAX_HEAD_BYTES)
            // What one connection may buffer: a head, or a piece of a body on its way.
            .max_buf_size(2 * MAX_HEAD_BYTES)
            .keep_alive(true);
        let conn = http.serve_connection(TokioIo::new(stream), service);
        tokio::pin!(conn);

        let idle = self.settings.idle_timeout;
        let mut stopping = false;
        let mut check_at = activity.quiet_until(idle);
        loop {
            tokio::select! {
                served = conn.as_mut() => {
                    if let Err(e) = served {
                        tracing::debug!(error = %e, "connection ended with an error");
                    }
                    return;
                }
                () = tokio::time::sleep_until(check_at) => {
                    if activity.is_busy() {
                        check_at = Instant::now() + idle;
                    } else if activity.idle_for() >= idle {
                        tracing::debug!("closing an idle connection");
                        return;
                    } else {
                        check_at = activity.quiet_until(idle);
                    }
                }
                _ = self.stop.wait_for(|stop| *stop), if !stopping => {
                    // Answers the request in flight, if any, then closes.
                    conn.as_mut().graceful_shutdown();
                    stopping = true;
                }
            }
        }
    }
}

/// When bytes last moved on a connection, and whether a request on it is being handled.
struct Activity {
    opened: Instant,
    /// Milliseconds from `opened` to the last byte read or written, or the last answer made.
    last_ms: AtomicU64,
    busy: AtomicUsize,
}

impl Activity {
    fn new() -> Activity {
        Activity { opened: Instant::now(), last_ms: AtomicU64::new(0), busy: AtomicUsize::new(0) }
    }

    fn touch(&self) {
        self.last_ms.store(self.opened.elapsed().as_millis() as u64, Ordering::Relaxed);
    }

    fn last(&self) -> Instant {
        self.opened + Duration::from_millis(self.last_ms.load(Ordering::Relaxed))
    }

    fn quiet_until(&self, idle: Duration) -> Instant {
        self.last() + idle
    }

    fn idle_for(&self) -> Duration {
        self.last().elapsed()
    }

    fn is_busy(&self) -> bool {
        self.busy.load(Ordering::Relaxed) > 0
    }

    fn busy(self: &Arc<Self>) -> Busy {
        self.busy.fetch_add(1, Ordering::Relaxed);
        Busy(self.clone())
    }
}

/// A request being handled; the connection counts as active until it is dropped.
struct Busy(Arc<Activity>);

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.touch();
        self.0.busy.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The socket as hyper sees it: it records activity, and puts an error body into hyper's own
/// bare error answers.
struct WatchedStream {
    inner: TcpStream,
    activity: Arc<Activity>,
    /// A shaped answer being written in place of hyper's bare one.
    answer: Option<Answer>,
    /// Set once a shaped answer is written: how the close is to linger.
    linger: Option<Linger>,
}

struct Answer {
    bytes: Vec<u8>,
    written: usize,
    /// How many of hyper's bytes it stands for.
    replaces: usize,
}

struct Linger {
    write_closed: bool,
    deadline: Pin<Box<Sleep>>,
    budget: usize,
}

impl WatchedStream {
    fn new(inner: TcpStream, activity: Arc<Activity>) -> WatchedStream {
        WatchedStream { inner, activity, answer: None, linger: None }
    }

    /// Writes the shaped answer, then tells hyper its own bytes are written.
    fn poll_answer(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let Some(answer) = self.answer.as_mut() else {
            return Poll::Ready(Ok(0));
        };
        while answer.written < answer.bytes.len() {
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &answer.bytes[answer.written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            answer.written += n;
            self.activity.touch();
        }
        let replaces = answer.replaces;
        self.answer = None;
        self.linger =
            Some(Linger { write_closed: false, deadline: Box::pin(tokio::time::sleep(LINGER)), budget: LINGER_BYTES });
        Poll::Ready(Ok(replaces))
    }
}

impl AsyncRead for WatchedStream {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let read = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(read, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.touch();
        }
        read
    }
}

impl AsyncWrite for WatchedStream {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        if self.answer.is_none()
            && self.linger.is_none()
            && let Some(bytes) = shaped_answer(buf)
        {
            self.answer = Some(Answer { bytes, written: 0, replaces: buf.len() });
        }
        if self.answer.is_some() {
            return self.poll_answer(cx);
        }
        let written = ready!(Pin::new(&mut self.inner).poll_write(cx, buf))?;
        if written > 0 {
            self.activity.touch();
        }
        Poll::Ready(Ok(written))
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        // hyper's bare answer is a head alone, in one slice.
        let mut filled = bufs.iter().filter(|b| !b.is_empty());
        if let (Some(only), None) = (filled.next(), filled.next())
            && (self.answer.is_some() || only.starts_with(b"HTTP/1.1 4"))
        {
            return self.poll_write(cx, only);
        }
        let written = ready!(Pin::new(&mut self.inner).poll_write_vectored(cx, bufs))?;
        if written > 0 {
            self.activity.touch();
        }
        Poll::Ready(Ok(written))
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    /// After a shaped answer: closes the writing side, then reads and discards what the client
    /// still sends, for a moment, so that the close does not reset the connection under the
    /// answer before the client has read it.
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let Some(linger) = this.linger.as_mut() else {
            return Pin::new(&mut this.inner).poll_shutdown(cx);
        };
        if !linger.write_closed {
            ready!(Pin::new(&mut this.inner).poll_shutdown(cx))?;
            linger.write_closed = true;
        }
        let mut scratch = [0u8; 8192];
        loop {
            if linger.deadline.as_mut().poll(cx).is_ready() || linger.budget == 0 {
                break;
            }
            let mut buf = ReadBuf::new(&mut scratch);
            match Pin::new(&mut this.inner).poll_read(cx, &mut buf) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Ok(())) if !buf.filled().is_empty() => {
                    linger.budget = linger.budget.saturating_sub(buf.filled().len());
                }
                // The client closed too, or the connection broke: nothing more to wait for.
                Poll::Ready(_) => break,
            }
        }
        this.linger = None;
        Poll::Ready(Ok(()))
    }
}

/// The error-shaped answer for `head` when it is hyper's own answer to a request it could not
/// read: a 4xx head with an empty body and without the `x-request-id` every answer of ours
/// carries. None for anything else.
fn shaped_answer(head: &[u8]) -> Option<Vec<u8>> {
    // Cheap first: every answer passes here, hyper's bare ones are short 4xx heads.
    if head.len() > 512 || !head.starts_with(b"HTTP/1.1 4") {
        return None;
    }
    let head = std::str::from_utf8(head).ok()?;
    let status: u16 = head.strip_prefix("HTTP/1.1 ")?.get(..3)?.parse().ok()?;
    let status = StatusCode::from_u16(status).ok().filter(StatusCode::is_client_error)?;
    // Exactly one head, nothing after it.
    if head.find("\r\n\r\n")? + 4 != head.len() {
        return None;
    }
    let lower = head.to_ascii_lowercase();
    if lower.contains("\r\nx-request-id:") || !lower.contains("\r\ncontent-length: 0\r\n") {
        return None;
    }
    let error = match status {
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => ApiError::new(
            status,
            ErrorCode::HeadersTooLarge,
            "请求头过大",
            format!("the request head is over {MAX_HEAD_BYTES} bytes"),
        )
        .with_details(json!({ "limit_bytes": MAX_HEAD_BYTES })),
        _ => ApiError::new(
            status,
            ErrorCode::MalformedRequest,
            "请求格式错误，无法读取",
            "the request line or headers cannot be read",
        ),
    };
    let request_id = telemetry::next_request_id();
    tracing::info!(
        target: telemetry::HTTP_TARGET,
        %request_id,
        status = status.as_u16(),
        code = %error.code,
        "unreadable request answered"
    );
    // The client's language is in the head that could not be read: the default, Chinese.
    let body = serde_json::to_vec(&error.json(Lang::Zh)).ok()?;
    let date = head.lines().find(|line| line.to_ascii_lowercase().starts_with("date:"));
    let mut answer = format!(
        "HTTP/1.1 {} {}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: {}\r\n\
         connection: close\r\nx-request-id: {request_id}\r\n",
        status.as_u16(),
        status.canonical_reason().unwrap_or(""),
        body.len(),
    );
    if let Some(date) = date {
        answer.push_str(date);
        answer.push_str("\r\n");
    }
    answer.push_str("\r\n");
    let mut answer = answer.into_bytes();
    answer.extend_from_slice(&body);
    Some(answer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_hypers_bare_error_answers_are_shaped() {
        let bare = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\ndate: Thu, 26 Nov 2026 04:00:00 GMT\r\n\r\n";
        let shaped = String::from_utf8(shaped_answer(bare).expect("shaped")).unwrap();
        assert!(shaped.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{shaped}");
        assert!(shaped.contains("\r\ndate: Thu, 26 Nov 2026 04:00:00 GMT\r\n"), "{shaped}");
        let (head, body) = shaped.split_once("\r\n\r\n").unwrap();
        assert!(head.contains(&format!("content-length: {}", body.len())), "{head}");
        let body: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(body["code"], "malformed_request");

        let too_large = b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\n\r\n";
        let shaped = String::from_utf8(shaped_answer(too_large).expect("shaped")).unwrap();
        assert!(shaped.contains("\"code\":\"headers_too_large\""), "{shaped}");

        for ours in [
            &b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nx-request-id: r1\r\n\r\n"[..],
            b"HTTP/1.1 400 Bad Request\r\ncontent-length: 2\r\n\r\n{}",
            b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n",
            b"HTTP/1.1 100 Continue\r\n\r\n",
            b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n",
            b"{\"code\":\"x\"}",
        ] {
            assert!(shaped_answer(ours).is_none(), "{}", String::from_utf8_lossy(ours));
        }
    }
}

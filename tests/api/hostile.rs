//! Connections an attacker holds open: silent ones, heads that trickle in a byte at a time,
//! bodies that stop halfway. Each is closed within the configured time; an honest slow answer
//! is not.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::*;

/// What a raw HTTP/1.1 exchange came back with.
pub struct RawAnswer {
    pub status: u16,
    /// Header lines, names lowercased.
    pub headers: Vec<(String, String)>,
    pub body: Value,
}

impl RawAnswer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// Writes `request` as it is, then reads until the server closes; None when it closed without
/// a word.
pub async fn raw_exchange(app: &TestApp, request: &[u8]) -> Option<RawAnswer> {
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer)).await;
    read.expect("the server closes the connection").expect("no reset before the answer is read");
    parse_answer(&answer)
}

fn parse_answer(bytes: &[u8]) -> Option<RawAnswer> {
    if bytes.is_empty() {
        return None;
    }
    let text = String::from_utf8_lossy(bytes);
    let (head, body) = text.split_once("\r\n\r\n").expect("a whole head");
    let mut lines = head.lines();
    let status = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let body = serde_json::from_str(body).unwrap_or(Value::String(body.to_string()));
    Some(RawAnswer { status, headers, body })
}

/// Waits for the server to close `stream` (end of stream or reset); returns how long it took.
async fn closed_within(stream: &mut TcpStream, limit: Duration) -> Duration {
    let started = Instant::now();
    let mut sink = [0u8; 4096];
    loop {
        match tokio::time::timeout_at((started + limit).into(), stream.read(&mut sink)).await {
            Err(_) => panic!("still open after {limit:?}"),
            Ok(Ok(0)) | Ok(Err(_)) => return started.elapsed(),
            Ok(Ok(_)) => {}
        }
    }
}

/// The app with short timeouts: idle 1 s, a whole head within 2 s.
async fn impatient_app() -> TestApp {
    spawn_app_with(Options {
        extra: vec![
            ("XHB_IDLE_TIMEOUT_SECS", "1".into()),
            ("XHB_HEADER_READ_TIMEOUT_SECS", "2".into()),
            // Long enough for the fake WeChat's slow answer (3 s).
            ("XHB_WECHAT_TIMEOUT_MS", "5000".into()),
        ],
    })
    .await
}

const QUICK: Duration = Duration::from_millis(800);
const LIMIT: Duration = Duration::from_secs(6);

#[tokio::test]
async fn a_connection_that_says_nothing_or_half_a_head_is_closed_after_the_idle_timeout() {
    let app = impatient_app().await;
    let mut silent = TcpStream::connect(app.addr).await.unwrap();
    let mut stalled = TcpStream::connect(app.addr).await.unwrap();
    stalled.write_all(b"GET /healthz HTTP/1.1\r\nHost: xhb\r\nUser-Agent: sl").await.unwrap();
    let (silent, stalled) = tokio::join!(closed_within(&mut silent, LIMIT), closed_within(&mut stalled, LIMIT));
    for took in [silent, stalled] {
        assert!(took >= QUICK, "closed after {took:?}, before the timeout");
    }
    app.stop().await;
}

#[tokio::test]
async fn a_head_trickling_in_a_byte_at_a_time_is_closed_after_the_header_read_timeout() {
    let app = impatient_app().await;
    let stream = TcpStream::connect(app.addr).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    // A byte every 200 ms keeps the connection busy enough for any idle timeout.
    let trickle = tokio::spawn(async move {
        let head = format!("GET /healthz HTTP/1.1\r\nHost: xhb\r\nX-Slow: {}", "a".repeat(1000));
        for byte in head.bytes() {
            if writer.write_all(&[byte]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
    let started = Instant::now();
    let mut sink = [0u8; 1024];
    let n = tokio::time::timeout(LIMIT, reader.read(&mut sink)).await.expect("closed in time").unwrap_or(0);
    let took = started.elapsed();
    assert_eq!(n, 0, "answered instead of closed: {}", String::from_utf8_lossy(&sink[..n]));
    assert!(took >= Duration::from_millis(1800), "closed after {took:?}, before the header-read timeout");
    trickle.abort();
    app.stop().await;
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_its_answer() {
    let app = impatient_app().await;
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: xhb\r\n\r\n").await.unwrap();
    let mut answer = vec![0u8; 4096];
    let n = stream.read(&mut answer).await.unwrap();
    let answer = parse_answer(&answer[..n]).expect("an answer");
    assert_eq!((answer.status, answer.body["status"].as_str()), (200, Some("ok")));
    assert_eq!(answer.header("connection"), None, "kept alive");
    let took = closed_within(&mut stream, LIMIT).await;
    assert!(took >= QUICK, "closed after {took:?}");
    app.stop().await;
}

#[tokio::test]
async fn a_slow_answer_is_not_an_idle_connection() {
    let app = impatient_app().await;
    // The fake WeChat takes 3 s, three idle timeouts; the rider still gets in.
    let client = reqwest::Client::builder().pool_max_idle_per_host(0).build().unwrap();
    let started = Instant::now();
    let resp = client
        .post(app.url("/api/v1/auth/wechat-login"))
        .json(&json!({ "code": "slow-login" }))
        .send()
        .await
        .expect("answered");
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(started.elapsed() >= WECHAT_SLOW);
    app.stop().await;
}

#[tokio::test]
async fn a_body_that_stops_halfway_is_answered_408_in_the_error_shape() {
    let app = impatient_app().await;
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    let head = "POST /api/v1/auth/wechat-login HTTP/1.1\r\nHost: xhb\r\nContent-Type: application/json\r\n\
                Content-Length: 100\r\n\r\n{\"code\": ";
    stream.write_all(head.as_bytes()).await.unwrap();
    let started = Instant::now();
    let mut answer = Vec::new();
    tokio::time::timeout(LIMIT, stream.read_to_end(&mut answer)).await.expect("closed in time").unwrap();
    assert!(started.elapsed() >= QUICK, "answered after {:?}", started.elapsed());
    let answer = parse_answer(&answer).expect("an answer");
    assert_eq!(answer.status, 408, "{}", answer.body);
    assert_eq!(error_code(&answer.body), "request_timeout");
    app.stop().await;
}

//! Prometheus text metrics: requests by route and status, a latency histogram by route, and the
//! SQL statements requests run, by route.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 12] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0];

#[derive(Default)]
struct Latency {
    counts: [u64; BUCKETS.len()],
    total: u64,
    sum_secs: f64,
}

#[derive(Default)]
struct Inner {
    requests: BTreeMap<(&'static str, &'static str, u16), u64>,
    latency: BTreeMap<&'static str, Latency>,
    statements: BTreeMap<&'static str, u64>,
}

#[derive(Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
    nearby_plain: AtomicU64,
}

impl Metrics {
    /// A nearby search answered before the router (`api::nearby_fast`).
    pub fn count_plain_nearby(&self) {
        self.nearby_plain.fetch_add(1, Ordering::Relaxed);
    }

    pub fn plain_nearby_answers(&self) -> u64 {
        self.nearby_plain.load(Ordering::Relaxed)
    }

    /// One request; `statements` is `None` when nothing counted them.
    pub fn observe(
        &self,
        route: &'static str,
        method: &'static str,
        status: u16,
        elapsed: Duration,
        statements: Option<u64>,
    ) {
        let secs = elapsed.as_secs_f64();
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        *inner.requests.entry((route, method, status)).or_default() += 1;
        let latency = inner.latency.entry(route).or_default();
        if let Some(i) = BUCKETS.iter().position(|&upper| secs <= upper) {
            latency.counts[i] += 1;
        }
        latency.total += 1;
        latency.sum_secs += secs;
        if let Some(n) = statements {
            *inner.statements.entry(route).or_default() += n;
        }
    }

    /// The Prometheus text exposition format, version 0.0.4.
    pub fn render(&self) -> String {
        let Ok(inner) = self.inner.lock() else {
            return String::new();
        };
        let mut out = String::new();
        out.push_str("# HELP xhb_http_requests_total HTTP requests by route, method and status.\n");
        out.push_str("# TYPE xhb_http_requests_total counter\n");
        for ((route, method, status), n) in &inner.requests {
            let _ = writeln!(
                out,
                "xhb_http_requests_total{{route=\"{route}\",method=\"{method}\",status=\"{status}\"}} {n}"
            );
        }
        out.push_str("# HELP xhb_http_request_duration_seconds HTTP request latency by route.\n");
        out.push_str("# TYPE xhb_http_request_duration_seconds histogram\n");
        for (route, l) in &inner.latency {
            let mut cumulative = 0;
            for (upper, n) in BUCKETS.iter().zip(l.counts.iter()) {
                cumulative += n;
                let _ = writeln!(
                    out,
                    "xhb_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{upper}\"}} {cumulative}"
                );
            }
            let _ =
                writeln!(out, "xhb_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}", l.total);
            let _ = writeln!(out, "xhb_http_request_duration_seconds_sum{{route=\"{route}\"}} {}", l.sum_secs);
            let _ = writeln!(out, "xhb_http_request_duration_seconds_count{{route=\"{route}\"}} {}", l.total);
        }
        out.push_str("# HELP xhb_sql_statements_total SQL statements run by requests, by route.\n");
        out.push_str("# TYPE xhb_sql_statements_total counter\n");
        for (route, n) in &inner.statements {
            let _ = writeln!(out, "xhb_sql_statements_total{{route=\"{route}\"}} {n}");
        }
        out.push_str(
            "# HELP xhb_nearby_plain_answers_total Nearby searches answered before the router (the rest of \
             places_nearby took the typed handler: an unusual spelling or a refusal).\n",
        );
        out.push_str("# TYPE xhb_nearby_plain_answers_total counter\n");
        let _ = writeln!(out, "xhb_nearby_plain_answers_total {}", self.plain_nearby_answers());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative() {
        let m = Metrics::default();
        m.observe("me", "GET", 200, Duration::from_micros(300), Some(2));
        m.observe("me", "GET", 200, Duration::from_millis(30), Some(1));
        m.observe("me", "GET", 401, Duration::from_secs(9), None);
        let text = m.render();
        assert!(text.contains("xhb_http_requests_total{route=\"me\",method=\"GET\",status=\"200\"} 2"), "{text}");
        assert!(text.contains("xhb_http_request_duration_seconds_bucket{route=\"me\",le=\"0.0005\"} 1"), "{text}");
        assert!(text.contains("xhb_http_request_duration_seconds_bucket{route=\"me\",le=\"0.05\"} 2"), "{text}");
        assert!(text.contains("xhb_http_request_duration_seconds_bucket{route=\"me\",le=\"+Inf\"} 3"), "{text}");
        assert!(text.contains("xhb_sql_statements_total{route=\"me\"} 3"), "{text}");
    }
}

//! Office webhooks: what a unit can subscribe to, where a delivery may go, how it is signed, and
//! the stable ids that let a receiver (and the overdue detector on every node) drop repeats.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use super::DomainError;
use super::named_enum::named_enum;
use super::report::ReportFacts;
use super::sla::NO_DEADLINE;
use super::time::Millis;

named_enum!(
    /// What a delivery tells a unit.
    EventType, "events" {
        /// A new report was routed to the unit.
        ReportRouted = "report.routed",
        /// Another unit (or routing) transferred a report to the unit.
        ReportTransferredIn = "report.transferred_in",
        /// The unit's response deadline for a report passed without a response.
        ReportOverdueResponse = "report.overdue_response",
        /// The unit's resolution deadline for a report passed with the report still open.
        ReportOverdueResolution = "report.overdue_resolution",
        /// The reporter reopened a report the unit had resolved.
        ReportReopened = "report.reopened",
        /// The reporter rated how the unit handled a report.
        ReportRated = "report.rated",
        /// A test delivery an operator asked for; never subscribed to.
        Test = "webhook.test",
    }
);

impl EventType {
    /// The events an endpoint may subscribe to (all but the test).
    pub const SUBSCRIBABLE: [EventType; 6] = [
        EventType::ReportRouted,
        EventType::ReportTransferredIn,
        EventType::ReportOverdueResponse,
        EventType::ReportOverdueResolution,
        EventType::ReportReopened,
        EventType::ReportRated,
    ];
}

/// The events an endpoint wants: at least one, each once, in a fixed order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventSet(Vec<EventType>);

impl EventSet {
    pub fn parse(events: &[EventType]) -> Result<Self, DomainError> {
        if let Some(test) = events.iter().find(|e| !EventType::SUBSCRIBABLE.contains(e)) {
            return Err(DomainError::invalid("events", format!("`{test}` cannot be subscribed to")));
        }
        let mut set = events.to_vec();
        set.sort();
        set.dedup();
        if set.is_empty() {
            return Err(DomainError::invalid("events", "at least one event"));
        }
        Ok(EventSet(set))
    }

    /// As stored: the names joined by commas.
    pub fn from_stored(text: &str) -> Self {
        let mut set: Vec<EventType> = text.split(',').filter_map(|name| name.parse().ok()).collect();
        set.sort();
        set.dedup();
        EventSet(set)
    }

    pub fn to_stored(&self) -> String {
        self.0.iter().map(|e| e.as_str()).collect::<Vec<_>>().join(",")
    }

    pub fn contains(&self, event: EventType) -> bool {
        self.0.contains(&event)
    }

    pub fn iter(&self) -> impl Iterator<Item = EventType> + '_ {
        self.0.iter().copied()
    }
}

/// The longest endpoint URL accepted, in characters.
pub const MAX_URL_CHARS: usize = 2048;
/// The most endpoints one unit may register.
pub const MAX_ENDPOINTS_PER_UNIT: i64 = 10;

/// Where a unit's deliveries go: an absolute http(s) URL without credentials, at most
/// `MAX_URL_CHARS`, whose host is not one of the service's own (`localhost`) and, when it is an
/// address, a public one unless private targets are allowed. A name is checked again at every
/// delivery, against each address it resolves to then (`is_public`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookUrl(String);

impl WebhookUrl {
    pub fn parse(raw: &str, allow_private: bool) -> Result<Self, DomainError> {
        let bad = |reason: &str| DomainError::invalid("url", reason.to_string());
        if raw.chars().count() > MAX_URL_CHARS {
            return Err(bad("at most 2048 characters"));
        }
        // The URL parser quietly drops tabs and newlines; a URL holding any is refused instead.
        if raw.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(bad("no spaces or control characters"));
        }
        let url = url::Url::parse(raw).map_err(|e| bad(&format!("not an absolute URL ({e})")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(bad("must be http:// or https://"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(bad("must not carry a user name or password; authenticate with the signature"));
        }
        if url.fragment().is_some() {
            return Err(bad("must not have a #fragment"));
        }
        match url.host() {
            None => return Err(bad("must name a host")),
            Some(url::Host::Domain(name)) => {
                let name = name.trim_end_matches('.').to_ascii_lowercase();
                if !allow_private && (name == "localhost" || name.ends_with(".localhost")) {
                    return Err(bad("must not point at this machine or a private network"));
                }
            }
            Some(url::Host::Ipv4(ip)) if !allow_private && !is_public(IpAddr::V4(ip)) => {
                return Err(bad("must not point at this machine or a private network"));
            }
            Some(url::Host::Ipv6(ip)) if !allow_private && !is_public(IpAddr::V6(ip)) => {
                return Err(bad("must not point at this machine or a private network"));
            }
            Some(_) => {}
        }
        Ok(WebhookUrl(url.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The host as an address, when the URL names one directly (no name to resolve).
    pub fn ip_literal(&self) -> Option<IpAddr> {
        match url::Url::parse(&self.0).ok()?.host()? {
            url::Host::Ipv4(ip) => Some(IpAddr::V4(ip)),
            url::Host::Ipv6(ip) => Some(IpAddr::V6(ip)),
            url::Host::Domain(_) => None,
        }
    }
}

/// True for an address on the public internet; false for this machine, private and shared
/// networks, link-local, multicast, documentation and reserved ranges, and IPv6 forms that embed
/// such an IPv4 address. A webhook is never delivered to a non-public address unless the
/// operator allows it (`WEBHOOK_ALLOW_PRIVATE_TARGETS`): a clerk must not make the server POST
/// into the city's intranet.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    let private = ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        // Shared address space (carrier-grade NAT), 100.64.0.0/10.
        || (a == 100 && (64..=127).contains(&b))
        // IETF protocol assignments, 192.0.0.0/24; 6to4 relays, 192.88.99.0/24.
        || (a == 192 && b == 0 && c == 0)
        || (a == 192 && b == 88 && c == 99)
        // Benchmarking, 198.18.0.0/15.
        || (a == 198 && (b == 18 || b == 19))
        // Reserved, 240.0.0.0/4.
        || a >= 240;
    !private
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    // IPv4-compatible (::a.b.c.d, deprecated) and NAT64 (64:ff9b::/96) carry an IPv4 address.
    let embedded = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    if s[..6] == [0; 6] && !ip.is_loopback() && !ip.is_unspecified() {
        return is_public_v4(embedded);
    }
    if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0; 4] {
        return is_public_v4(embedded);
    }
    // 6to4 (2002::/16) carries one in its next 32 bits.
    if s[0] == 0x2002 {
        let v4 = Ipv4Addr::new((s[1] >> 8) as u8, s[1] as u8, (s[2] >> 8) as u8, s[2] as u8);
        return is_public_v4(v4);
    }
    let private = ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        // Unique local, fc00::/7; link-local, fe80::/10; site-local (deprecated), fec0::/10.
        || (s[0] & 0xfe00) == 0xfc00
        || (s[0] & 0xffc0) == 0xfe80
        || (s[0] & 0xffc0) == 0xfec0
        // Documentation, 2001:db8::/32.
        || (s[0] == 0x2001 && s[1] == 0x0db8);
    !private
}

/// A signing secret: `whsec_` and 32 bytes from the operating system's CSPRNG, base64url. The
/// HMAC key is the whole string as UTF-8, so a receiver uses it exactly as it was shown.
pub fn new_secret() -> String {
    use base64::Engine;
    use rand::TryRngCore;
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.try_fill_bytes(&mut bytes).unwrap_or_else(|_| {
        // The operating system's generator failed (it does not, in practice); the thread
        // generator is a CSPRNG seeded from it.
        use rand::RngCore;
        rand::rng().fill_bytes(&mut bytes)
    });
    format!("whsec_{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// `X-Xhb-Signature`: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" keyed by the secret>`.
pub fn signature_header(secret: &str, unix_secs: i64, body: &[u8]) -> String {
    format!("t={unix_secs},v1={}", hex::encode(signature(secret, unix_secs, body)))
}

fn signature(secret: &str, unix_secs: i64, body: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC accepts any key length");
    mac.update(unix_secs.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.finalize().into_bytes().to_vec()
}

/// How far a signature's time may be from the receiver's clock: the replay window the README's
/// recipe uses.
pub const REPLAY_WINDOW_SECS: i64 = 300;

/// Why a receiver would refuse a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unverified {
    Malformed,
    OutsideWindow,
    WrongSignature,
}

/// The receiver's check, as the README's recipe does it: the header parses, its time is within
/// `REPLAY_WINDOW_SECS` of `now`, and one of its `v1` signatures matches (in constant time).
pub fn verify(secret: &str, header: &str, body: &[u8], now_unix_secs: i64) -> Result<(), Unverified> {
    let mut t = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => t = v.parse::<i64>().ok(),
            Some(("v1", v)) => signatures.push(v),
            _ => {}
        }
    }
    let t = t.ok_or(Unverified::Malformed)?;
    if (now_unix_secs - t).abs() > REPLAY_WINDOW_SECS {
        return Err(Unverified::OutsideWindow);
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC accepts any key length");
    mac.update(format!("{t}.").as_bytes());
    mac.update(body);
    let good = signatures.iter().filter_map(|s| hex::decode(s).ok()).any(|s| mac.clone().verify_slice(&s).is_ok());
    if good { Ok(()) } else { Err(Unverified::WrongSignature) }
}

/// A new event's id: `evt_` and 32 hex digits (a UUIDv7, so ids sort by time).
pub fn new_event_id() -> String {
    format!("evt_{}", uuid::Uuid::now_v7().simple())
}

/// The id of "report `report_id` missed its `kind` deadline `deadline`": the same on every node
/// and at every scan, so that detectors running everywhere raise it once (the outbox's unique
/// key), and a receiver sees one id however often it is delivered.
pub fn overdue_event_id(report_id: &str, kind: EventType, deadline: Millis) -> String {
    let digest = Sha256::digest(format!("{}|{report_id}|{}", kind.as_str(), deadline.0).as_bytes());
    format!("evt_{}", &hex::encode(digest)[..32])
}

/// The overdue event a report is due for at `now`, with its deadline: response while the unit
/// has not responded, resolution after; none while its next deadline has not passed or the
/// report is not open.
pub fn overdue(facts: &ReportFacts, now: Millis) -> Option<(EventType, Millis)> {
    if facts.next_deadline == NO_DEADLINE || facts.next_deadline >= now || !facts.status.is_open() {
        return None;
    }
    match facts.responded_at {
        None => Some((EventType::ReportOverdueResponse, facts.deadlines.respond_by)),
        Some(_) => Some((EventType::ReportOverdueResolution, facts.deadlines.resolve_by)),
    }
}

/// The outbox's unique key of one event's delivery to one endpoint.
pub fn dedupe_key(event_id: &str, endpoint_id: &str) -> String {
    format!("webhook:{event_id}:{endpoint_id}")
}

named_enum!(
    /// Where a delivery is.
    DeliveryStatus, "status" {
        /// Waiting for its next attempt (or being attempted).
        Pending = "pending",
        /// The receiver answered 2xx.
        Sent = "sent",
        /// Given up: too many attempts, or refused for good (a dead letter; may be retried).
        Dead = "dead",
    }
);

/// The longest error text kept for a delivery.
pub const MAX_ERROR_CHARS: usize = 300;

/// Text from a receiver or a network error, fit to keep and show: control characters become
/// spaces, at most `MAX_ERROR_CHARS`.
pub fn clean_error(text: &str) -> String {
    let cleaned: String = text.chars().map(|c| if c.is_control() { ' ' } else { c }).take(MAX_ERROR_CHARS).collect();
    cleaned.trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::report::ReportStatus;
    use crate::domain::sla::Deadlines;

    #[test]
    fn urls_must_be_http_without_credentials_and_not_private_unless_allowed() {
        assert!(WebhookUrl::parse("https://hooks.example.com/x?a=1", false).is_ok());
        assert!(WebhookUrl::parse("http://203.0.114.9:8080/hook", false).is_ok());
        for bad in [
            "ftp://example.com/",
            "example.com/hook",
            "https://user:pw@example.com/",
            "https://user@example.com/",
            "https://example.com/#frag",
            "https://example.com/a b",
            "https://example.com/\n",
            "http://localhost:8080/",
            "http://api.LOCALHOST./",
            "http://127.0.0.1/",
            "http://10.1.2.3/",
            "http://[::1]/",
            "http://[::ffff:192.168.1.1]/",
            "http://169.254.169.254/latest/meta-data",
            "http://0.0.0.0/",
            "http://100.64.1.1/",
            "http://2130706433/",
            "http://0x7f.1/",
        ] {
            let err = WebhookUrl::parse(bad, false).expect_err(bad);
            assert!(matches!(err, DomainError::Invalid { ref field, .. } if field == "url"), "{bad}: {err}");
        }
        assert!(WebhookUrl::parse(&format!("https://example.com/{}", "a".repeat(2048)), false).is_err());
        assert!(WebhookUrl::parse("http://127.0.0.1:9/", true).is_ok());
        assert!(WebhookUrl::parse("http://localhost:9/", true).is_ok());
        let url = WebhookUrl::parse("http://[2001:4860::8888]/", false).unwrap();
        assert_eq!(url.ip_literal(), Some("2001:4860::8888".parse().unwrap()));
    }

    #[test]
    fn public_addresses_are_told_from_the_rest() {
        for public in ["8.8.8.8", "114.114.114.114", "2001:4860:4860::8888", "2400:3200::1"] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
        for private in [
            "127.0.0.1",
            "10.0.0.1",
            "172.16.5.4",
            "192.168.0.1",
            "169.254.169.254",
            "100.100.100.200",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "198.18.0.1",
            "240.0.0.1",
            "::",
            "::1",
            "fd00::1",
            "fe80::1",
            "ff02::1",
            "::ffff:10.0.0.1",
            "::127.0.0.1",
            "64:ff9b::a00:1",
            "2002:c0a8:0101::1",
            "2001:db8::1",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
    }

    #[test]
    fn a_signature_verifies_and_a_tampered_body_or_old_time_does_not() {
        let secret = new_secret();
        assert!(secret.starts_with("whsec_") && secret.len() == 6 + 43, "{secret}");
        assert_ne!(secret, new_secret());
        let body = br#"{"id":"evt_1","type":"report.routed"}"#;
        let header = signature_header(&secret, 1_700_000_000, body);
        assert!(header.starts_with("t=1700000000,v1="));
        assert_eq!(verify(&secret, &header, body, 1_700_000_100), Ok(()));
        assert_eq!(verify(&secret, &header, b"{\"id\":\"evt_2\"}", 1_700_000_100), Err(Unverified::WrongSignature));
        assert_eq!(verify("whsec_other", &header, body, 1_700_000_100), Err(Unverified::WrongSignature));
        assert_eq!(verify(&secret, &header, body, 1_700_000_301), Err(Unverified::OutsideWindow));
        assert_eq!(verify(&secret, "v1=00", body, 1_700_000_000), Err(Unverified::Malformed));
        // A known vector, so the README's recipe can be checked against it by hand.
        assert_eq!(
            signature_header("whsec_test", 1, b"{}"),
            format!("t=1,v1={}", hex::encode(signature("whsec_test", 1, b"{}")))
        );
    }

    #[test]
    fn events_parse_and_the_test_event_cannot_be_subscribed() {
        let set = EventSet::parse(&[EventType::ReportRated, EventType::ReportRouted, EventType::ReportRated]).unwrap();
        assert_eq!(set.to_stored(), "report.routed,report.rated");
        assert_eq!(EventSet::from_stored(&set.to_stored()), set);
        assert!(EventSet::parse(&[]).is_err());
        assert!(EventSet::parse(&[EventType::Test]).is_err());
        assert_eq!("report.overdue_response".parse::<EventType>().unwrap(), EventType::ReportOverdueResponse);
    }

    #[test]
    fn overdue_is_response_then_resolution_and_its_id_is_the_same_everywhere() {
        let deadlines = Deadlines { respond_by: Millis(1_000), resolve_by: Millis(5_000) };
        let mut f = ReportFacts::submitted(Millis(0), deadlines);
        assert_eq!(overdue(&f, Millis(1_000)), None);
        assert_eq!(overdue(&f, Millis(1_001)), Some((EventType::ReportOverdueResponse, Millis(1_000))));
        f.responded_at = Some(Millis(900));
        f.status = ReportStatus::Accepted;
        f.next_deadline = deadlines.next(f.status, f.responded_at);
        assert_eq!(overdue(&f, Millis(2_000)), None);
        assert_eq!(overdue(&f, Millis(6_000)), Some((EventType::ReportOverdueResolution, Millis(5_000))));
        f.status = ReportStatus::Resolved;
        f.next_deadline = deadlines.next(f.status, f.responded_at);
        assert_eq!(overdue(&f, Millis(6_000)), None);
        let a = overdue_event_id("r1", EventType::ReportOverdueResponse, Millis(1_000));
        assert_eq!(a, overdue_event_id("r1", EventType::ReportOverdueResponse, Millis(1_000)));
        assert_ne!(a, overdue_event_id("r1", EventType::ReportOverdueResponse, Millis(1_001)));
        assert_ne!(a, overdue_event_id("r1", EventType::ReportOverdueResolution, Millis(1_000)));
        assert!(a.starts_with("evt_") && a.len() == 36);
        assert!(new_event_id().starts_with("evt_"));
    }

    #[test]
    fn errors_are_kept_short_and_on_one_line() {
        assert_eq!(clean_error("bad\r\ngateway\0"), "bad  gateway");
        assert_eq!(clean_error(&"x".repeat(1000)).len(), MAX_ERROR_CHARS);
    }
}

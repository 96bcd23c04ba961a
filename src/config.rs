//! Typed configuration from `XHB_*` environment variables and an optional TOML file.
//!
//! Every setting has a key (the TOML key, and `XHB_<KEY>` in the environment, which wins over the
//! file). Invalid values stop the start with a message that names the setting.

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use chrono_tz::Tz;

use crate::domain::content::ContentMode;
use crate::domain::notify::{MessageKind, Template};
use crate::domain::wechat_push::AesKey;
use crate::store::SqliteSync;

/// The database used when `XHB_DATABASE_URL` is not set: an embedded SQLite file.
pub const EMBEDDED_DATABASE_URL: &str = "sqlite://./data/xinhuoban.db";
/// The token secret demo mode uses when none is configured. Demo mode only listens on loopback.
const DEMO_TOKEN_SECRET: &str = "xinhuoban-demo-token-secret-not-for-production-use";
const MIN_TOKEN_SECRET_BYTES: usize = 32;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("setting `{setting}` (env XHB_{env}) is invalid: {reason}", env = setting.to_uppercase())]
    Invalid { setting: &'static str, reason: String },
    #[error("cannot read config file {path}: {reason}")]
    File { path: String, reason: String },
}

#[derive(Clone)]
pub struct WechatConfig {
    pub app_id: String,
    pub app_secret: String,
}

/// What `Debug` prints in place of a secret.
const REDACTED: &str = "<redacted>";

impl fmt::Debug for WechatConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WechatConfig").field("app_id", &self.app_id).field("app_secret", &REDACTED).finish()
    }
}

/// Content security: WeChat's checks of what riders write and photograph before anyone but the
/// reporter and the unit sees it (`domain::content`).
#[derive(Clone)]
pub struct ContentCheckConfig {
    /// `wechat` by default when WeChat is configured, else `off` (nothing riders wrote is public).
    pub mode: ContentMode,
    /// Where the service is reached from outside (`https://host`, perhaps with a path prefix):
    /// WeChat downloads the photos it checks from signed URLs under it.
    pub public_base_url: Option<String>,
    /// The message push token set in the mini-program console (3 to 32 letters and digits).
    pub push_token: Option<String>,
    /// The message push EncodingAESKey; with it, only encrypted pushes are taken.
    pub push_aes_key: Option<AesKey>,
    /// How long the photo URL handed to WeChat lasts at least (up to twice that).
    pub check_url_ttl: Duration,
}

impl ContentCheckConfig {
    /// Photos are checked only with somewhere WeChat can download them from and a push to hear
    /// the verdict on; without either, they stay private.
    pub fn photos_checked(&self) -> bool {
        self.mode == ContentMode::Wechat && self.public_base_url.is_some() && self.push_token.is_some()
    }
}

impl fmt::Debug for ContentCheckConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ContentCheckConfig { mode, public_base_url, push_token, push_aes_key, check_url_ttl } = self;
        f.debug_struct("ContentCheckConfig")
            .field("mode", mode)
            .field("public_base_url", public_base_url)
            .field("push_token", &push_token.as_ref().map(|_| REDACTED))
            .field("push_aes_key", &push_aes_key.as_ref().map(|_| REDACTED))
            .field("check_url_ttl", check_url_ttl)
            .finish()
    }
}

/// Office webhooks: how each attempt is bounded, how failures are retried, and where deliveries
/// may go. None of it is secret (endpoint secrets live in the database).
#[derive(Debug, Clone)]
pub struct WebhookSettings {
    /// One attempt (connecting, sending, the answer) ends after this.
    pub timeout: Duration,
    /// Attempts before a delivery becomes a dead letter.
    pub max_attempts: u32,
    /// The first retry's delay; it doubles per attempt (with jitter) up to `retry_cap`.
    pub retry_base: Duration,
    pub retry_cap: Duration,
    /// Deliveries in flight at once on a node.
    pub concurrency: usize,
    /// Deliver to loopback, private and link-local addresses too (tests, a closed network).
    pub allow_private_targets: bool,
    /// How often each node looks for reports that became overdue.
    pub overdue_poll: Duration,
}

#[derive(Clone)]
pub struct Config {
    /// Address the HTTP server listens on.
    pub bind: SocketAddr,
    /// sqlx URL: `sqlite://path` or `postgres://…`.
    pub database_url: String,
    pub database_max_connections: u32,
    /// How SQLite commits: durably against power loss (`full`, the default) or faster (`normal`).
    pub sqlite_synchronous: SqliteSync,
    /// Demo mode: seeds a demo city on an empty database, allows `demo-<name>` rider logins
    /// when WeChat is not configured, and refuses non-loopback addresses.
    pub demo: bool,
    pub token_secret: String,
    pub rider_session_ttl: Duration,
    pub staff_session_ttl: Duration,
    pub wechat: Option<WechatConfig>,
    pub wechat_api_base: String,
    pub wechat_timeout: Duration,
    pub city_name: String,
    pub city_time_zone: Tz,
    pub media_dir: PathBuf,
    pub reports_per_rider_per_hour: u32,
    pub json_logs: bool,
    pub shutdown_grace: Duration,
    /// Template of the report-progress subscribe message and its keywords; no messages are
    /// queued without one.
    pub notify_report_template: Option<Template>,
    /// Template of the points-arrived subscribe message; riders are not told without one.
    pub notify_points_template: Option<Template>,
    /// Template of the redemption subscribe message (picked up, expired).
    pub notify_redemption_template: Option<Template>,
    /// `formal`, `trial` or `developer`: which build of the mini-program a message opens.
    pub miniprogram_state: String,
    pub outbox_poll: Duration,
    pub outbox_retry_base: Duration,
    /// Origins of the staff web console allowed by CORS; none means no CORS headers at all
    /// (the mini-program itself does not need them).
    pub cors_origins: Vec<String>,
    /// A request head (request line and headers) must arrive whole within this time of the
    /// server starting to wait for it, however slowly its bytes trickle in.
    pub header_read_timeout: Duration,
    /// A connection on which nothing moves for this long while the server waits for the client
    /// (for a request, the rest of a body, or to take the answer) is closed.
    pub idle_timeout: Duration,
    /// The memory the photo decodes in progress may take together, by their estimated peaks.
    pub decode_memory_bytes: u64,
    /// How long a signed URL of a report's or an upload's photo lasts at least (up to twice that).
    pub photo_url_ttl: Duration,
    /// How long a signed URL of a place's photo lasts at least (up to twice that).
    pub place_photo_url_ttl: Duration,
    /// How long a node keeps a ranking page and its score counts (0: never).
    pub ranking_cache: Duration,
    /// Whether plainly spelled nearby searches are answered before the router
    /// (`api::nearby_fast`); off, every one goes through the typed handler. The same answers.
    pub nearby_fast_path: bool,
    /// Whether nearby searches are counted for the demand map.
    pub demand_counting: bool,
    /// How often a node writes its demand counters (a crash loses at most this much).
    pub demand_flush: Duration,
    /// Cells with fewer searches in a period are left off the demand map.
    pub demand_min_searches: i64,
    /// Hourly demand counters older than this roll up into days.
    pub demand_hourly_for: Duration,
    /// Daily demand counters older than this roll up into months.
    pub demand_daily_for: Duration,
    /// WeChat's content checks, the public base URL and the message push.
    pub content: ContentCheckConfig,
    pub webhooks: WebhookSettings,
}

/// Every setting but the secrets: the token secret, the WeChat app secret and the database
/// password are redacted. Destructured so that a new field cannot be printed by accident.
impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Config {
            bind,
            database_url,
            database_max_connections,
            sqlite_synchronous,
            demo,
            token_secret: _,
            rider_session_ttl,
            staff_session_ttl,
            wechat,
            wechat_api_base,
            wechat_timeout,
            city_name,
            city_time_zone,
            media_dir,
            reports_per_rider_per_hour,
            json_logs,
            shutdown_grace,
            notify_report_template,
            notify_points_template,
            notify_redemption_template,
            miniprogram_state,
            outbox_poll,
            outbox_retry_base,
            cors_origins,
            header_read_timeout,
            idle_timeout,
            decode_memory_bytes,
            photo_url_ttl,
            place_photo_url_ttl,
            ranking_cache,
            nearby_fast_path,
            demand_counting,
            demand_flush,
            demand_min_searches,
            demand_hourly_for,
            demand_daily_for,
            content,
            webhooks,
        } = self;
        f.debug_struct("Config")
            .field("bind", bind)
            .field("database_url", &redact_url_password(database_url))
            .field("database_max_connections", database_max_connections)
            .field("sqlite_synchronous", sqlite_synchronous)
            .field("demo", demo)
            .field("token_secret", &REDACTED)
            .field("rider_session_ttl", rider_session_ttl)
            .field("staff_session_ttl", staff_session_ttl)
            .field("wechat", wechat)
            .field("wechat_api_base", wechat_api_base)
            .field("wechat_timeout", wechat_timeout)
            .field("city_name", city_name)
            .field("city_time_zone", city_time_zone)
            .field("media_dir", media_dir)
            .field("reports_per_rider_per_hour", reports_per_rider_per_hour)
            .field("json_logs", json_logs)
            .field("shutdown_grace", shutdown_grace)
            .field("notify_report_template", notify_report_template)
            .field("notify_points_template", notify_points_template)
            .field("notify_redemption_template", notify_redemption_template)
            .field("miniprogram_state", miniprogram_state)
            .field("outbox_poll", outbox_poll)
            .field("outbox_retry_base", outbox_retry_base)
            .field("cors_origins", cors_origins)
            .field("header_read_timeout", header_read_timeout)
            .field("idle_timeout", idle_timeout)
            .field("decode_memory_bytes", decode_memory_bytes)
            .field("photo_url_ttl", photo_url_ttl)
            .field("place_photo_url_ttl", place_photo_url_ttl)
            .field("ranking_cache", ranking_cache)
            .field("nearby_fast_path", nearby_fast_path)
            .field("demand_counting", demand_counting)
            .field("demand_flush", demand_flush)
            .field("demand_min_searches", demand_min_searches)
            .field("demand_hourly_for", demand_hourly_for)
            .field("demand_daily_for", demand_daily_for)
            .field("content", content)
            .field("webhooks", webhooks)
            .finish()
    }
}

/// The URL with the password of its user part, and any `password=` query parameter, redacted.
fn redact_url_password(url: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let mut out = match base.split_once("://") {
        // The user part ends at the last `@`, even where a password holds an unescaped `/` or `@`.
        Some((scheme, rest)) => match rest.rsplit_once('@') {
            Some((userinfo, host)) if userinfo.contains(':') => {
                let user = userinfo.split(':').next().unwrap_or_default();
                format!("{scheme}://{user}:{REDACTED}@{host}")
            }
            _ => base.to_string(),
        },
        None => base.to_string(),
    };
    if let Some(query) = query {
        let pairs: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}={REDACTED}"),
                _ => pair.to_string(),
            })
            .collect();
        out.push('?');
        out.push_str(&pairs.join("&"));
    }
    out
}

/// Where settings come from: the TOML file's top-level keys, overridden by `XHB_*` variables.
struct Sources {
    file: toml::Table,
    env: HashMap<String, String>,
}

impl Sources {
    fn raw(&self, key: &'static str) -> Option<String> {
        if let Some(v) = self.env.get(&format!("XHB_{}", key.to_uppercase())) {
            return Some(v.clone());
        }
        self.file.get(key).map(|v| match v {
            toml::Value::String(s) => s.clone(),
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Float(f) => f.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            other => format!("{other:?}"),
        })
    }

    fn string(&self, key: &'static str, default: &str) -> String {
        self.raw(key).unwrap_or_else(|| default.to_string())
    }

    fn optional(&self, key: &'static str) -> Option<String> {
        self.raw(key).filter(|v| !v.trim().is_empty())
    }

    fn parsed<T>(&self, key: &'static str, default: T) -> Result<T, ConfigError>
    where
        T: std::str::FromStr,
        T::Err: std::fmt::Display,
    {
        match self.raw(key) {
            None => Ok(default),
            Some(v) => v.trim().parse().map_err(|e: T::Err| invalid(key, e.to_string())),
        }
    }

    fn bool(&self, key: &'static str, default: bool) -> Result<bool, ConfigError> {
        match self.raw(key).map(|v| v.trim().to_ascii_lowercase()) {
            None => Ok(default),
            Some(v) => match v.as_str() {
                "1" | "true" | "yes" | "on" => Ok(true),
                "0" | "false" | "no" | "off" => Ok(false),
                _ => Err(invalid(key, format!("`{v}` is not a boolean (true/false)"))),
            },
        }
    }

    /// A subscribe-message template: its id, and which of its keywords carries which field
    /// (`category=thing1,…`; the mapping we started with when not set).
    fn template(
        &self,
        kind: MessageKind,
        id_key: &'static str,
        keywords_key: &'static str,
    ) -> Result<Option<Template>, ConfigError> {
        let mapping = self.optional(keywords_key);
        let Some(id) = self.optional(id_key) else {
            return match mapping {
                Some(_) => Err(invalid(keywords_key, format!("set without {id_key}"))),
                None => Ok(None),
            };
        };
        let mapping = mapping.unwrap_or_else(|| kind.default_keywords().to_string());
        Template::parse(kind, id.trim(), &mapping).map(Some).map_err(|e| invalid(keywords_key, e.to_string()))
    }

    fn seconds(&self, key: &'static str, default: u64, min: u64) -> Result<Duration, ConfigError> {
        let secs: u64 = self.parsed(key, default)?;
        if secs < min {
            return Err(invalid(key, format!("must be at least {min} seconds")));
        }
        Ok(Duration::from_secs(secs))
    }
}

/// A number of days, at least one.
fn days(s: &Sources, key: &'static str, default: u64) -> Result<Duration, ConfigError> {
    let days: u64 = s.parsed(key, default)?;
    if days == 0 {
        return Err(invalid(key, "must be at least 1 day"));
    }
    Ok(Duration::from_secs(days.saturating_mul(86_400)))
}

fn invalid(setting: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid { setting, reason: reason.into() }
}

impl Config {
    /// The subscribe-message templates configured, by message.
    pub fn templates(&self) -> impl Iterator<Item = &Template> {
        [&self.notify_report_template, &self.notify_points_template, &self.notify_redemption_template]
            .into_iter()
            .flatten()
    }

    /// Reads the process environment and, when `XHB_CONFIG` names one, a TOML file.
    pub fn from_env() -> Result<Self, ConfigError> {
        let env: HashMap<String, String> = std::env::vars().filter(|(k, _)| k.starts_with("XHB_")).collect();
        Self::from_sources(env)
    }

    /// Builds a config from explicit `XHB_*` variables (the process environment is not read).
    pub fn from_vars<I, K, V>(vars: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        Self::from_sources(vars.into_iter().map(|(k, v)| (k.into(), v.into())).collect())
    }

    fn from_sources(env: HashMap<String, String>) -> Result<Self, ConfigError> {
        let file = match env.get("XHB_CONFIG") {
            Some(path) => read_toml(path)?,
            None => toml::Table::new(),
        };
        let s = Sources { file, env };

        let explicit_database = s.optional("database_url");
        let database_url = explicit_database.clone().unwrap_or_else(|| EMBEDDED_DATABASE_URL.to_string());
        if !(database_url.starts_with("sqlite:")
            || database_url.starts_with("postgres:")
            || database_url.starts_with("postgresql:"))
        {
            return Err(invalid("database_url", "must start with sqlite: or postgres:"));
        }
        // Demo mode is on by default only for the out-of-the-box start on the embedded database.
        let demo = s.bool("demo", explicit_database.is_none())?;

        let bind: SocketAddr = s.parsed("bind", SocketAddr::from(([127, 0, 0, 1], 8080)))?;
        if demo && !bind.ip().is_loopback() {
            return Err(invalid(
                "bind",
                format!("demo mode only listens on a loopback address, not {bind}; set XHB_DEMO=false for production"),
            ));
        }

        let token_secret = match s.optional("token_secret") {
            Some(secret) => secret,
            None if demo => DEMO_TOKEN_SECRET.to_string(),
            None => {
                return Err(invalid("token_secret", "required outside demo mode (at least 32 bytes of random text)"));
            }
        };
        if token_secret.len() < MIN_TOKEN_SECRET_BYTES {
            return Err(invalid(
                "token_secret",
                format!("must be at least {MIN_TOKEN_SECRET_BYTES} bytes, got {}", token_secret.len()),
            ));
        }

        let wechat = match (s.optional("wechat_app_id"), s.optional("wechat_app_secret")) {
            (Some(app_id), Some(app_secret)) => Some(WechatConfig { app_id, app_secret }),
            (None, None) => None,
            (Some(_), None) => {
                return Err(invalid("wechat_app_secret", "required when wechat_app_id is set"));
            }
            (None, Some(_)) => {
                return Err(invalid("wechat_app_id", "required when wechat_app_secret is set"));
            }
        };
        if wechat.is_none() && !demo {
            return Err(invalid("wechat_app_id", "riders cannot log in without WeChat outside demo mode"));
        }
        let wechat_api_base =
            s.string("wechat_api_base", "https://api.weixin.qq.com").trim_end_matches('/').to_string();
        if !(wechat_api_base.starts_with("http://") || wechat_api_base.starts_with("https://")) {
            return Err(invalid("wechat_api_base", "must be an http(s) URL"));
        }

        let content = content_check_config(&s, wechat.is_some())?;

        let tz_name = s.string("city_time_zone", "Asia/Shanghai");
        let city_time_zone: Tz =
            tz_name.parse().map_err(|_| invalid("city_time_zone", format!("unknown time zone `{tz_name}`")))?;

        let database_max_connections: u32 = s.parsed("database_max_connections", 10)?;
        if !(1..=200).contains(&database_max_connections) {
            return Err(invalid("database_max_connections", "must be between 1 and 200"));
        }
        let sqlite_synchronous: SqliteSync = s.parsed("sqlite_synchronous", SqliteSync::Full)?;
        let reports_per_rider_per_hour: u32 = s.parsed("reports_per_rider_per_hour", 20)?;
        if reports_per_rider_per_hour == 0 {
            return Err(invalid("reports_per_rider_per_hour", "must be at least 1"));
        }

        let cors_origins: Vec<String> = s
            .string("cors_origins", "")
            .split(',')
            .map(str::trim)
            .filter(|o| !o.is_empty())
            .map(str::to_string)
            .collect();
        if let Some(bad) = cors_origins.iter().find(|o| !(o.starts_with("http://") || o.starts_with("https://"))) {
            return Err(invalid("cors_origins", format!("`{bad}` is not an http(s) origin")));
        }

        // By default the largest photo accepted can be decoded; several ordinary ones at once.
        let decode_memory_mb: u64 = s.parsed("decode_memory_mb", crate::domain::photo::MAX_PEAK_BYTES >> 20)?;
        if decode_memory_mb < 16 {
            return Err(invalid("decode_memory_mb", "must be at least 16"));
        }

        let miniprogram_state = s.string("miniprogram_state", "formal");
        if !["formal", "trial", "developer"].contains(&miniprogram_state.as_str()) {
            return Err(invalid("miniprogram_state", "formal, trial or developer"));
        }

        let webhooks = webhook_settings(&s)?;

        Ok(Config {
            bind,
            database_url,
            database_max_connections,
            sqlite_synchronous,
            demo,
            token_secret,
            rider_session_ttl: s.seconds("rider_session_ttl_secs", 30 * 24 * 3600, 60)?,
            staff_session_ttl: s.seconds("staff_session_ttl_secs", 12 * 3600, 60)?,
            wechat,
            wechat_api_base,
            wechat_timeout: Duration::from_millis(s.parsed("wechat_timeout_ms", 5000)?),
            city_name: s.string("city_name", "示范市"),
            city_time_zone,
            media_dir: PathBuf::from(s.string("media_dir", "./data/media")),
            reports_per_rider_per_hour,
            json_logs: s.string("log_format", "pretty") == "json",
            shutdown_grace: s.seconds("shutdown_grace_secs", 10, 0)?,
            notify_report_template: s.template(
                MessageKind::ReportProgress,
                "notify_report_template_id",
                "notify_report_keywords",
            )?,
            notify_points_template: s.template(
                MessageKind::PointsArrived,
                "notify_points_template_id",
                "notify_points_keywords",
            )?,
            notify_redemption_template: s.template(
                MessageKind::RedemptionNews,
                "notify_redemption_template_id",
                "notify_redemption_keywords",
            )?,
            miniprogram_state,
            outbox_poll: Duration::from_millis(s.parsed("outbox_poll_ms", 1000)?),
            outbox_retry_base: Duration::from_millis(s.parsed("outbox_retry_base_ms", 5000)?),
            cors_origins,
            header_read_timeout: s.seconds("header_read_timeout_secs", 20, 1)?,
            idle_timeout: s.seconds("idle_timeout_secs", 15, 1)?,
            decode_memory_bytes: decode_memory_mb * 1024 * 1024,
            photo_url_ttl: url_lifetime(&s, "photo_url_secs", 3600)?,
            place_photo_url_ttl: url_lifetime(&s, "place_photo_url_secs", 24 * 3600)?,
            ranking_cache: Duration::from_millis(s.parsed("ranking_cache_ms", 1000)?.min(60_000)),
            nearby_fast_path: s.bool("nearby_fast_path", true)?,
            demand_counting: s.bool("demand_counting", true)?,
            demand_flush: Duration::from_millis(s.parsed::<u64>("demand_flush_ms", 5000)?.clamp(10, 60_000)),
            demand_min_searches: s.parsed::<i64>("demand_min_searches", 10)?.max(1),
            demand_hourly_for: days(&s, "demand_hourly_days", 30)?,
            demand_daily_for: days(&s, "demand_daily_days", 365)?,
            content,
            webhooks,
        })
    }

    /// Demo rider logins (`demo-<name>`) exist only in demo mode without WeChat configured.
    pub fn demo_logins_enabled(&self) -> bool {
        self.demo && self.wechat.is_none()
    }
}

fn webhook_settings(s: &Sources) -> Result<WebhookSettings, ConfigError> {
    let timeout_ms: u64 = s.parsed("webhook_timeout_ms", 10_000)?;
    if !(100..=30_000).contains(&timeout_ms) {
        return Err(invalid("webhook_timeout_ms", "must be between 100 and 30000"));
    }
    let max_attempts: u32 = s.parsed("webhook_max_attempts", 12)?;
    if !(1..=50).contains(&max_attempts) {
        return Err(invalid("webhook_max_attempts", "must be between 1 and 50"));
    }
    let retry_base_ms: u64 = s.parsed("webhook_retry_base_ms", 10_000)?;
    if retry_base_ms == 0 {
        return Err(invalid("webhook_retry_base_ms", "must be at least 1"));
    }
    let retry_cap = s.seconds("webhook_retry_cap_secs", 3600, 1)?;
    let concurrency: usize = s.parsed("webhook_concurrency", 8)?;
    if !(1..=64).contains(&concurrency) {
        return Err(invalid("webhook_concurrency", "must be between 1 and 64"));
    }
    let overdue_poll_ms: u64 = s.parsed("webhook_overdue_poll_ms", 30_000)?;
    if overdue_poll_ms == 0 {
        return Err(invalid("webhook_overdue_poll_ms", "must be at least 1"));
    }
    Ok(WebhookSettings {
        timeout: Duration::from_millis(timeout_ms),
        max_attempts,
        retry_base: Duration::from_millis(retry_base_ms),
        retry_cap,
        concurrency,
        allow_private_targets: s.bool("webhook_allow_private_targets", false)?,
        overdue_poll: Duration::from_millis(overdue_poll_ms),
    })
}

/// A signed URL's lifetime: at least a second, at most what `UrlSigner` takes (about 30 years).
fn url_lifetime(s: &Sources, key: &'static str, default: u64) -> Result<Duration, ConfigError> {
    let lifetime = s.seconds(key, default, 1)?;
    if lifetime.as_secs() > crate::domain::photo_url::MAX_LIFETIME_SECS as u64 {
        return Err(invalid(key, format!("must be at most {} seconds", crate::domain::photo_url::MAX_LIFETIME_SECS)));
    }
    Ok(lifetime)
}

/// `content_check` (`off` or `wechat`; `wechat` by default when WeChat is configured),
/// `public_base_url`, `wechat_push_token`, `wechat_push_aes_key` and `content_check_url_secs`.
/// Asking for `wechat` explicitly needs all WeChat's checks need; by default, photos stay private
/// when the base URL or the push token is missing (text is still checked).
fn content_check_config(s: &Sources, wechat_configured: bool) -> Result<ContentCheckConfig, ConfigError> {
    let explicit = s
        .optional("content_check")
        .map(|v| v.trim().to_ascii_lowercase().parse::<ContentMode>())
        .transpose()
        .map_err(|_| invalid("content_check", "off or wechat"))?;
    let mode = explicit.unwrap_or(if wechat_configured { ContentMode::Wechat } else { ContentMode::Off });
    if mode == ContentMode::Wechat && !wechat_configured {
        return Err(invalid("content_check", "WeChat's checks need wechat_app_id and wechat_app_secret"));
    }
    let public_base_url = s.optional("public_base_url").map(|u| u.trim().trim_end_matches('/').to_string());
    if let Some(url) = &public_base_url {
        let scheme_ok = url.starts_with("https://") || url.starts_with("http://");
        let host = url.split_once("://").map(|(_, rest)| rest).unwrap_or_default();
        if !scheme_ok || host.is_empty() || url.contains(['?', '#', ' ']) {
            return Err(invalid("public_base_url", "an absolute http(s) URL, such as https://xhb.example.cn"));
        }
    }
    let push_token = s.optional("wechat_push_token").map(|t| t.trim().to_string());
    if let Some(token) = &push_token
        && !((3..=32).contains(&token.len()) && token.chars().all(|c| c.is_ascii_alphanumeric()))
    {
        return Err(invalid("wechat_push_token", "3 to 32 letters and digits, as the mini-program console takes it"));
    }
    let push_aes_key = s
        .optional("wechat_push_aes_key")
        .map(|k| AesKey::parse(&k))
        .transpose()
        .map_err(|reason| invalid("wechat_push_aes_key", reason))?;
    if push_aes_key.is_some() && push_token.is_none() {
        return Err(invalid("wechat_push_token", "required with wechat_push_aes_key"));
    }
    if explicit == Some(ContentMode::Wechat) {
        if public_base_url.is_none() {
            return Err(invalid(
                "public_base_url",
                "required with content_check = wechat: WeChat downloads photos from it",
            ));
        }
        if push_token.is_none() {
            return Err(invalid(
                "wechat_push_token",
                "required with content_check = wechat: photo verdicts come by push",
            ));
        }
    }
    Ok(ContentCheckConfig {
        mode,
        public_base_url,
        push_token,
        push_aes_key,
        check_url_ttl: url_lifetime(s, "content_check_url_secs", 3 * 3600)?,
    })
}

fn read_toml(path: &str) -> Result<toml::Table, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError::File { path: path.to_string(), reason: e.to_string() })?;
    text.parse::<toml::Table>().map_err(|e| ConfigError::File { path: path.to_string(), reason: e.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_the_box_is_demo_on_loopback_with_embedded_sqlite() {
        let c = Config::from_vars(Vec::<(String, String)>::new()).expect("defaults are valid");
        assert!(c.demo);
        assert!(c.demo_logins_enabled());
        assert_eq!(c.database_url, EMBEDDED_DATABASE_URL);
        assert_eq!(c.bind.to_string(), "127.0.0.1:8080");
        assert_eq!(c.city_time_zone, chrono_tz::Asia::Shanghai);
        assert_eq!(c.sqlite_synchronous, SqliteSync::Full);
    }

    #[test]
    fn an_operator_may_trade_power_loss_durability_for_speed() {
        let c = Config::from_vars([("XHB_SQLITE_SYNCHRONOUS", "Normal")]).expect("normal is a choice");
        assert_eq!(c.sqlite_synchronous, SqliteSync::Normal);
        let err = Config::from_vars([("XHB_SQLITE_SYNCHRONOUS", "off")]).unwrap_err();
        assert!(err.to_string().contains("`sqlite_synchronous`"), "{err}");
    }

    #[test]
    fn demo_refuses_a_public_address() {
        let err = Config::from_vars([("XHB_BIND", "0.0.0.0:8080")]).unwrap_err();
        assert!(err.to_string().contains("`bind`"), "{err}");
    }

    #[test]
    fn production_needs_a_long_token_secret() {
        let err = Config::from_vars([
            ("XHB_DATABASE_URL", "postgres://db/x"),
            ("XHB_TOKEN_SECRET", "short"),
            ("XHB_WECHAT_APP_ID", "wx1"),
            ("XHB_WECHAT_APP_SECRET", "s"),
        ])
        .unwrap_err();
        assert!(err.to_string().contains("`token_secret`"), "{err}");
    }

    #[test]
    fn by_default_the_largest_photo_accepted_can_be_decoded() {
        let c = Config::from_vars(Vec::<(String, String)>::new()).unwrap();
        assert_eq!(c.decode_memory_bytes, crate::domain::photo::MAX_PEAK_BYTES);
        let err = Config::from_vars([("XHB_DECODE_MEMORY_MB", "8")]).unwrap_err();
        assert!(err.to_string().contains("`decode_memory_mb`"), "{err}");
    }

    #[test]
    fn by_default_stalled_connections_are_closed_within_30_s() {
        let c = Config::from_vars(Vec::<(String, String)>::new()).unwrap();
        assert!(c.idle_timeout <= Duration::from_secs(30) && c.header_read_timeout <= Duration::from_secs(30));
        assert!(c.idle_timeout <= c.header_read_timeout, "an idle keep-alive closes after the idle timeout");
        let err = Config::from_vars([("XHB_IDLE_TIMEOUT_SECS", "0")]).unwrap_err();
        assert!(err.to_string().contains("`idle_timeout_secs`"), "{err}");
    }

    #[test]
    fn photo_urls_last_an_hour_and_place_photo_urls_a_day_by_default() {
        let c = Config::from_vars(Vec::<(String, String)>::new()).unwrap();
        assert_eq!((c.photo_url_ttl, c.place_photo_url_ttl), (Duration::from_secs(3600), Duration::from_secs(86400)));
        for (key, value) in [("XHB_PHOTO_URL_SECS", "0"), ("XHB_PLACE_PHOTO_URL_SECS", "99999999999")] {
            let err = Config::from_vars([(key, value)]).unwrap_err();
            assert!(err.to_string().contains(&key[4..].to_lowercase()), "{err}");
        }
    }

    #[test]
    fn webhooks_go_to_public_addresses_only_unless_allowed_and_attempts_are_bounded() {
        let c = Config::from_vars(Vec::<(String, String)>::new()).unwrap();
        assert!(!c.webhooks.allow_private_targets);
        assert_eq!((c.webhooks.timeout, c.webhooks.max_attempts), (Duration::from_secs(10), 12));
        let c = Config::from_vars([("XHB_WEBHOOK_ALLOW_PRIVATE_TARGETS", "true")]).unwrap();
        assert!(c.webhooks.allow_private_targets);
        for (key, value) in [("XHB_WEBHOOK_TIMEOUT_MS", "60000"), ("XHB_WEBHOOK_MAX_ATTEMPTS", "0")] {
            let err = Config::from_vars([(key, value)]).unwrap_err();
            assert!(err.to_string().contains(&key[4..].to_lowercase()), "{err}");
        }
    }

    #[test]
    fn a_bad_number_names_its_setting() {
        let err = Config::from_vars([("XHB_WECHAT_TIMEOUT_MS", "soon")]).unwrap_err();
        assert!(err.to_string().contains("`wechat_timeout_ms`"), "{err}");
    }

    #[test]
    fn debug_never_prints_secrets() {
        let c = Config::from_vars([
            ("XHB_DATABASE_URL", "postgres://xhb:pg-pass-1@db:5432/xhb?sslmode=require&password=pg-pass-2"),
            ("XHB_TOKEN_SECRET", "token-secret-token-secret-token-secret"),
            ("XHB_WECHAT_APP_ID", "wx-app-id"),
            ("XHB_WECHAT_APP_SECRET", "wx-app-secret"),
        ])
        .unwrap();
        let printed = format!("{c:?}");
        for secret in ["pg-pass-1", "pg-pass-2", "token-secret-token", "wx-app-secret"] {
            assert!(!printed.contains(secret), "{secret} in {printed}");
        }
        for shown in ["xhb:<redacted>@db:5432/xhb?sslmode=require&password=<redacted>", "wx-app-id", "示范市"] {
            assert!(printed.contains(shown), "{shown} not in {printed}");
        }
        assert_eq!(redact_url_password("sqlite://./data/x.db?mode=rwc"), "sqlite://./data/x.db?mode=rwc");
        assert_eq!(redact_url_password("postgres://root@127.0.0.1/test"), "postgres://root@127.0.0.1/test");
        assert_eq!(redact_url_password("postgres://u:a/b@c@h/db"), "postgres://u:<redacted>@h/db");
    }

    /// A production setting with WeChat configured, plus `extra`.
    fn with_wechat(extra: &[(&'static str, &'static str)]) -> Result<Config, ConfigError> {
        let mut vars = vec![
            ("XHB_DATABASE_URL", "postgres://db/x"),
            ("XHB_TOKEN_SECRET", "token-secret-token-secret-token-secret"),
            ("XHB_WECHAT_APP_ID", "wx-app-id"),
            ("XHB_WECHAT_APP_SECRET", "wx-app-secret"),
        ];
        vars.extend_from_slice(extra);
        Config::from_vars(vars)
    }

    #[test]
    fn content_checks_are_on_with_wechat_and_off_without() {
        let demo = Config::from_vars(Vec::<(String, String)>::new()).unwrap();
        assert_eq!(demo.content.mode, ContentMode::Off, "no WeChat: no checks, no free text in public");
        let c = with_wechat(&[]).unwrap();
        assert_eq!(c.content.mode, ContentMode::Wechat);
        assert!(!c.content.photos_checked(), "without a base URL and a push, photos stay private");
        let c = with_wechat(&[("XHB_PUBLIC_BASE_URL", "https://xhb.example.cn/"), ("XHB_WECHAT_PUSH_TOKEN", "tok3n")])
            .unwrap();
        assert!(c.content.photos_checked());
        assert_eq!(c.content.public_base_url.as_deref(), Some("https://xhb.example.cn"));
        assert_eq!(c.content.check_url_ttl, Duration::from_secs(3 * 3600));
        let off = with_wechat(&[("XHB_CONTENT_CHECK", "off")]).unwrap();
        assert_eq!(off.content.mode, ContentMode::Off);
    }

    #[test]
    fn asking_for_wechat_checks_needs_what_they_need() {
        let err = Config::from_vars([("XHB_CONTENT_CHECK", "wechat")]).unwrap_err();
        assert!(err.to_string().contains("`content_check`"), "{err}");
        let err = with_wechat(&[("XHB_CONTENT_CHECK", "wechat")]).unwrap_err();
        assert!(err.to_string().contains("`public_base_url`"), "{err}");
        let err = with_wechat(&[("XHB_CONTENT_CHECK", "wechat"), ("XHB_PUBLIC_BASE_URL", "https://x.cn")]).unwrap_err();
        assert!(err.to_string().contains("`wechat_push_token`"), "{err}");
        for (key, value) in [
            ("XHB_CONTENT_CHECK", "maybe"),
            ("XHB_PUBLIC_BASE_URL", "xhb.example.cn"),
            ("XHB_PUBLIC_BASE_URL", "https://x.cn/?a=1"),
            ("XHB_WECHAT_PUSH_TOKEN", "a b"),
            ("XHB_WECHAT_PUSH_TOKEN", "ab"),
            ("XHB_WECHAT_PUSH_AES_KEY", "too-short"),
        ] {
            let err = with_wechat(&[(key, value)]).unwrap_err();
            assert!(err.to_string().contains(&format!("`{}`", key[4..].to_lowercase())), "{key}={value}: {err}");
        }
        let err =
            with_wechat(&[("XHB_WECHAT_PUSH_AES_KEY", "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR")]).unwrap_err();
        assert!(err.to_string().contains("`wechat_push_token`"), "an AES key without a token: {err}");
    }

    #[test]
    fn debug_never_prints_the_push_secrets() {
        let c = with_wechat(&[
            ("XHB_WECHAT_PUSH_TOKEN", "pushtokensecret"),
            ("XHB_WECHAT_PUSH_AES_KEY", "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"),
            ("XHB_PUBLIC_BASE_URL", "https://xhb.example.cn"),
        ])
        .unwrap();
        assert!(c.content.push_aes_key.is_some());
        let printed = format!("{c:?}");
        for secret in ["pushtokensecret", "kWxPEV2U"] {
            assert!(!printed.contains(secret), "{secret} in {printed}");
        }
        assert!(printed.contains("https://xhb.example.cn") && printed.contains("Wechat"), "{printed}");
    }

    #[test]
    fn environment_wins_over_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.toml");
        std::fs::write(&path, "city_name = \"杭州\"\nbind = \"127.0.0.1:9000\"\n").unwrap();
        let c = Config::from_vars([("XHB_CONFIG", path.to_str().unwrap()), ("XHB_BIND", "127.0.0.1:9001")]).unwrap();
        assert_eq!(c.city_name, "杭州");
        assert_eq!(c.bind.port(), 9001);
    }
}

//! The shared state of a running service, and the narrow contexts handed to each use case.
//!
//! `AppState` is built once at start (database, city, WeChat client, in-memory indexes) and cloned
//! cheaply into every request. Services never see it: a handler asks it for the context of the
//! service it calls (`state.reports()`, `state.places()`…), which holds only what that service
//! uses, so the imports run one way: app → api → service, and a service cannot reach for more.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::config::Config;
use crate::domain::DomainError;
use crate::domain::city::City;
use crate::domain::delivery::RetryPolicy;
use crate::domain::photo_url::{UrlKey, UrlSigner};
use crate::domain::wechat_push::PushKeys;
use crate::index::PlaceIndex;
use crate::integrations::webhooks::WebhookClient;
use crate::integrations::wechat::{ForcedRefreshBudget, WechatClient};
use crate::metrics::Metrics;
use crate::outbox::{OutboxContext, WebhookLane};
use crate::service::content::{CheckDelivery, ContentPolicy, PushContext};
use crate::service::demand::{DemandContext, DemandCounter};
use crate::service::media::{DecodeGate, MediaContext};
use crate::service::notify::NotifyContext;
use crate::service::places::PlacesContext;
use crate::service::points::{Ledger, PointsContext, RankingCache};
use crate::service::privacy::PrivacyContext;
use crate::service::reports::{ReportLimits, ReportsContext};
use crate::service::rewards::RewardsContext;
use crate::service::sessions::SessionsContext;
use crate::service::units::{RoutingCache, UnitsContext};
use crate::service::webhooks::{DeliveryContext, WebhooksContext};
use crate::store::{self, Db};

/// How long a start waits for another process preparing the same database (migrating, seeding).
pub const SETUP_PATIENCE: Duration = Duration::from_secs(300);
/// Each webhook retry comes after a random 50–100% of its backoff delay.
const WEBHOOK_JITTER: f64 = 0.5;

/// Everything a handler may need, cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub db: Db,
    pub wechat: WechatClient,
    pub city: Arc<City>,
    pub metrics: Arc<Metrics>,
    /// Places in memory for nearby search; kept fresh by every write and a background refresh.
    pub places: PlaceIndex,
    /// Jurisdictions and category assignments, in memory for routing reports.
    pub routing: Arc<RoutingCache>,
    /// Bounds how many photos are decoded at once, and the memory they take.
    pub decoding: DecodeGate,
    /// Signs and checks photo URLs; derived from the token secret.
    pub url_key: Arc<UrlKey>,
    /// Ranking pages and score counts, kept a moment for every reader.
    pub rankings: Arc<RankingCache>,
    /// The demand map's counters not yet written.
    pub demand: Arc<DemandCounter>,
    /// Posts office webhooks (its own timeouts, no redirects, public addresses only by default).
    pub webhook_client: WebhookClient,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Database(#[from] store::ConnectError),
    #[error("cannot prepare the service: {0}")]
    Prepare(String),
    #[error("cannot listen on {addr}: {source}")]
    Listen { addr: SocketAddr, source: std::io::Error },
}

/// WeChat's allowance of forced token refreshes, per app and so shared by every node: kept in
/// the database, by the city's calendar day, with a second of margin on the 30 s spacing.
struct SharedForcedRefreshes {
    db: Db,
    app_id: Option<String>,
    tz: chrono_tz::Tz,
}

const FORCED_REFRESHES_PER_DAY: i64 = 20;
const FORCED_REFRESHES_APART_MS: i64 = 31_000;

impl ForcedRefreshBudget for SharedForcedRefreshes {
    fn take(&self) -> std::pin::Pin<Box<dyn std::future::Future<Output = bool> + Send + '_>> {
        Box::pin(async move {
            let Some(app_id) = self.app_id.as_deref() else { return false };
            let now = crate::domain::time::Millis::now();
            let day = now.in_zone(self.tz).format("%Y-%m-%d").to_string();
            let taken = store::wechat::take_forced_refresh(
                &self.db,
                app_id,
                &day,
                FORCED_REFRESHES_PER_DAY,
                FORCED_REFRESHES_APART_MS,
                now,
            )
            .await;
            taken.unwrap_or_else(|e| {
                tracing::warn!(error = %crate::domain::error::ErrorChain(&e), "cannot count a forced token refresh; not forcing");
                false
            })
        })
    }
}

/// Every subscribe-message template configured must exist in the mini-program and have exactly
/// the keywords its mapping fills: a mismatch makes every message fail (47003), so the service
/// refuses to start. WeChat not answering is retried a few times, then also stops the start:
/// the mapping cannot be vouched for.
async fn check_templates(wechat: &WechatClient, config: &Config) -> Result<(), StartError> {
    if !wechat.is_configured() || config.templates().next().is_none() {
        return Ok(());
    }
    let mut wait = Duration::from_millis(500);
    let held = loop {
        match wechat.template_keywords().await {
            Ok(held) => break held,
            Err(e) if wait < Duration::from_secs(4) => {
                tracing::warn!(error = %crate::domain::error::ErrorChain(&e), "cannot read the subscribe-message templates yet");
                tokio::time::sleep(wait).await;
                wait *= 2;
            }
            Err(e) => {
                return Err(StartError::Prepare(format!(
                    "cannot check the subscribe-message templates against WeChat: {}",
                    crate::domain::error::ErrorChain(&e)
                )));
            }
        }
    };
    for template in config.templates() {
        let Some((_, keywords)) = held.iter().find(|(id, _)| *id == template.id) else {
            return Err(StartError::Prepare(format!(
                "subscribe-message template {} is not among the mini-program's templates",
                template.id
            )));
        };
        if let Some(why) = template.mismatch(keywords) {
            return Err(StartError::Prepare(format!("subscribe-message keywords do not match: {why}")));
        }
    }
    Ok(())
}

impl AppState {
    /// Connects and migrates the database, makes sure the city exists, and seeds the demo city
    /// when demo mode finds an empty database. Processes started together on one database do
    /// this one after another (`Db::setup_lock`): the first migrates and seeds, the others wait
    /// and then find one city and one demo seed, as a process started later would.
    pub async fn prepare(config: Config) -> Result<AppState, StartError> {
        let db = Db::connect(&config.database_url, config.database_max_connections, config.sqlite_synchronous).await?;
        let lock = db.setup_lock(SETUP_PATIENCE).await?;
        let state = Self::prepare_alone(config, db).await;
        lock.release().await;
        state
    }

    async fn prepare_alone(config: Config, db: Db) -> Result<AppState, StartError> {
        db.migrate().await?;
        let city = store::cities::ensure_default(&db, &config.city_name, config.city_time_zone.name())
            .await
            .map_err(|e| StartError::Prepare(e.to_string()))?;
        let tz =
            city.time_zone.parse().map_err(|_| StartError::Prepare(format!("city time zone `{}`", city.time_zone)))?;
        let budget = Arc::new(SharedForcedRefreshes {
            db: db.clone(),
            app_id: config.wechat.as_ref().map(|w| w.app_id.clone()),
            tz,
        });
        let wechat = WechatClient::new(&config.wechat_api_base, config.wechat.clone(), config.wechat_timeout, budget)
            .map_err(|e| StartError::Prepare(format!("HTTP client: {e}")))?;
        check_templates(&wechat, &config).await?;
        let places = crate::service::places::load_index(&db, tz)
            .await
            .map_err(|e| StartError::Prepare(format!("places: {e}")))?;
        crate::service::places::spawn_refresher(db.clone(), &places);
        let ranking_cache = config.ranking_cache;
        let demand_counting = config.demand_counting;
        let webhook_client = WebhookClient::new(config.webhooks.timeout, config.webhooks.allow_private_targets)
            .map_err(|e| StartError::Prepare(format!("webhook HTTP client: {e}")))?;
        let state = AppState {
            webhook_client,
            decoding: DecodeGate::per_core(config.decode_memory_bytes),
            url_key: Arc::new(UrlKey::derive(&config.token_secret)),
            config: Arc::new(config),
            db,
            wechat,
            city: Arc::new(City { id: city.id, name: city.name, tz }),
            metrics: Arc::new(Metrics::default()),
            places,
            routing: Arc::default(),
            rankings: Arc::new(RankingCache::new(ranking_cache)),
            demand: Arc::new(DemandCounter::new(demand_counting)),
        };
        if state.config.demo {
            crate::demo::seed_if_empty(&state).await.map_err(|e| StartError::Prepare(format!("demo seed: {e}")))?;
        }
        let prepare = |e: DomainError| StartError::Prepare(format!("reports: {e}"));
        crate::service::units::ensure_city_defaults(&state.db, &state.city.id).await.map_err(prepare)?;
        state.routing.reload(&state.db, &state.city.id).await.map_err(prepare)?;
        Ok(state)
    }

    /// What tap to report and triage use: the database, the city, routing, the limits and the
    /// photo URL signer.
    pub fn reports(&self) -> ReportsContext {
        ReportsContext {
            db: self.db.clone(),
            city: self.city.clone(),
            routing: self.routing.clone(),
            limits: ReportLimits { per_rider_per_hour: self.config.reports_per_rider_per_hour },
            notify_template: self.config.notify_report_template.clone(),
            photo_urls: self.photo_urls(),
            ledger: self.ledger(),
            content: self.content_policy(),
        }
    }

    /// Whether content is checked by WeChat, photos included.
    pub fn content_policy(&self) -> ContentPolicy {
        let content = &self.config.content;
        ContentPolicy { mode: content.mode, photos_checked: content.photos_checked() }
    }

    /// What the message push uses: the database and the push's keys (none without a token).
    pub fn push(&self) -> PushContext {
        let content = &self.config.content;
        let app_id = self.config.wechat.as_ref().map(|w| w.app_id.clone()).unwrap_or_default();
        let keys =
            content.push_token.as_ref().map(|token| PushKeys::new(token.clone(), content.push_aes_key.clone(), app_id));
        PushContext { db: self.db.clone(), keys }
    }

    /// What posting points uses: the city and the points-arrived message.
    pub fn ledger(&self) -> Ledger {
        Ledger { city: self.city.clone(), notify_template: self.config.notify_points_template.clone() }
    }

    /// What reading and administering points uses.
    pub fn points(&self) -> PointsContext {
        PointsContext { db: self.db.clone(), ledger: self.ledger(), rankings: self.rankings.clone() }
    }

    /// Signs URLs of report photos and uploads, which stay private: short-lived.
    fn photo_urls(&self) -> UrlSigner {
        UrlSigner::new(self.url_key.clone(), self.config.photo_url_ttl)
    }

    /// What place reads and writes use: the database, the city, the in-memory index they keep
    /// fresh and the signer of place photo URLs.
    pub fn places(&self) -> PlacesContext {
        PlacesContext {
            db: self.db.clone(),
            city: self.city.clone(),
            index: self.places.clone(),
            photo_urls: UrlSigner::new(self.url_key.clone(), self.config.place_photo_url_ttl),
            ledger: self.ledger(),
            routing: self.routing.clone(),
        }
    }

    /// What the points supermarket uses: the database, the city, the ledger, the signer of
    /// reward photo URLs (public, as long-lived as place photos') and the redemption message.
    pub fn rewards(&self) -> RewardsContext {
        RewardsContext {
            db: self.db.clone(),
            city: self.city.clone(),
            ledger: self.ledger(),
            photo_urls: UrlSigner::new(self.url_key.clone(), self.config.place_photo_url_ttl),
            notify_template: self.config.notify_redemption_template.clone(),
        }
    }

    /// What logging in uses: the database, the city riders join, WeChat and the session settings.
    pub fn sessions(&self) -> SessionsContext {
        SessionsContext {
            db: self.db.clone(),
            city: self.city.clone(),
            wechat: self.wechat.clone(),
            token_secret: self.config.token_secret.clone(),
            rider_ttl: self.config.rider_session_ttl,
            staff_ttl: self.config.staff_session_ttl,
            demo_logins: self.config.demo_logins_enabled(),
        }
    }

    /// What unit and category administration uses: the database, the city and routing.
    pub fn units(&self) -> UnitsContext {
        UnitsContext { db: self.db.clone(), city: self.city.clone(), routing: self.routing.clone() }
    }

    /// What photo uploads and downloads use: the database, the media directory, the gate that
    /// bounds decoding and the photo URL signer.
    pub fn media(&self) -> MediaContext {
        MediaContext {
            db: self.db.clone(),
            dir: self.config.media_dir.clone(),
            decoding: self.decoding.clone(),
            urls: self.photo_urls(),
            content_mode: self.config.content.mode,
        }
    }

    /// What a rider's copy and erasure of their data use: tap to report's context and the media
    /// directory.
    pub fn privacy(&self) -> PrivacyContext {
        PrivacyContext { reports: self.reports(), media_dir: self.config.media_dir.clone() }
    }

    /// Riders' subscribe-message consents: the database and the templates configured.
    pub fn notify(&self) -> NotifyContext {
        NotifyContext { db: self.db.clone(), templates: self.config.templates().cloned().collect() }
    }

    /// The demand map: its counters, the database, the places and its settings.
    pub fn demand(&self) -> DemandContext {
        DemandContext {
            db: self.db.clone(),
            city_id: self.city.id.clone(),
            tz: self.city.tz,
            counter: self.demand.clone(),
            places: self.places.clone(),
            min_searches: self.config.demand_min_searches,
            hourly_for: self.config.demand_hourly_for,
            daily_for: self.config.demand_daily_for,
            flush_every: self.config.demand_flush,
        }
    }

    /// What the outbox's delivery tasks use.
    pub fn outbox(&self) -> OutboxContext {
        let w = &self.config.webhooks;
        OutboxContext {
            db: self.db.clone(),
            wechat: self.wechat.clone(),
            poll: self.config.outbox_poll,
            retry_base: self.config.outbox_retry_base,
            miniprogram_state: self.config.miniprogram_state.clone(),
            content: CheckDelivery {
                db: self.db.clone(),
                media_base: (self.config.content.photos_checked())
                    .then(|| self.config.content.public_base_url.clone())
                    .flatten()
                    .map(|base| format!("{base}{}", crate::api::API_PREFIX)),
                photo_urls: UrlSigner::new(self.url_key.clone(), self.config.content.check_url_ttl),
            },
            webhooks: WebhookLane {
                delivery: DeliveryContext {
                    db: self.db.clone(),
                    client: self.webhook_client.clone(),
                    policy: RetryPolicy {
                        base: w.retry_base,
                        cap: w.retry_cap,
                        max_attempts: w.max_attempts,
                        jitter: WEBHOOK_JITTER,
                    },
                },
                concurrency: w.concurrency,
                lease: WebhookLane::lease_for(w.timeout),
            },
        }
    }

    /// What managing webhook endpoints uses: the database, the city, and whether endpoints may
    /// name private addresses.
    pub fn webhooks(&self) -> WebhooksContext {
        WebhooksContext {
            db: self.db.clone(),
            city: self.city.clone(),
            allow_private: self.config.webhooks.allow_private_targets,
        }
    }
}

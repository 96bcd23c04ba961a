//! The HTTP API under `/api/v1`: poem-openapi handlers, one file per tag, with their request and
//! response types beside them.

pub mod admin;
pub mod auth;
pub mod demand;
pub mod document;
pub mod dto;
pub mod error;
pub mod error_codes;
mod examples;
pub mod fast_json;
pub mod geojson;
pub mod me;
pub mod media;
pub mod nearby_fast;
pub mod open311;
pub mod paging;
pub mod place_admin;
pub mod places;
pub mod points;
pub mod reports;
pub mod rewards;
pub mod security;
pub mod subscriptions;
pub mod text;
pub mod triage;
pub mod units;
pub mod webhooks;
pub mod wechat_push;

use poem_openapi::{OpenApiService, Tags};

pub const API_PREFIX: &str = "/api/v1";

#[derive(Tags)]
pub enum ApiTags {
    /// Logging in and out, and who you are
    Auth,
    /// City administration: staff accounts
    Admin,
    /// Photos for reports and places
    Media,
    /// Finding stations, parking zones and friendly sites, and checking in (riders)
    Places,
    /// Keeping places true: admins and station managers
    PlaceManagement,
    /// Tap to report (随手拍): riders file hazard reports and follow them to the end
    Reports,
    /// City administration: units, jurisdictions and report categories
    Units,
    /// Triage: a unit's queue of reports, their lifecycle, and the three rates
    Triage,
    /// Governance points (积分): the rules, a rider's balance and ledger, rankings, awards
    Points,
    /// The points supermarket (积分超市): rewards for points, redemptions and pickup codes
    Rewards,
    /// Planning: where riders search and find nothing, and places nobody uses (city admins, departments)
    Planning,
    /// Subscribe messages: which ones the service sends, and your consents to them
    Notifications,
    /// Your personal information: a copy of everything held about you, or its erasure (PIPL)
    Privacy,
    /// Called by WeChat, not by clients: the message push (content check verdicts on photos)
    Wechat,
    /// Office webhooks: a unit's endpoints, their signed deliveries, test deliveries and dead letters
    Webhooks,
}

/// Every API object of the service.
pub type Apis = (
    auth::AuthApi,
    admin::AdminApi,
    media::MediaApi,
    places::PlacesApi,
    place_admin::PlaceAdminApi,
    reports::ReportsApi,
    units::UnitsApi,
    triage::TriageApi,
    me::MeApi,
    points::PointsApi,
    rewards::RewardsApi,
    // Tuples of API objects stop at twelve: later ones are grouped here.
    (subscriptions::SubscriptionsApi, demand::DemandApi, wechat_push::WechatPushApi, webhooks::WebhooksApi),
);

/// Every API object, in one tuple: what the server serves and what `xinhuoban spec` writes.
pub fn service() -> OpenApiService<Apis, ()> {
    OpenApiService::new(Apis::default(), "xinhuoban", env!("CARGO_PKG_VERSION"))
        .description(
            "Backend of the xinhuoban (新伙伴) mini-program for delivery riders, couriers and drivers: \
         stations, parking zones, tap-to-report and governance points. Errors always have the shape \
         {\"code\", \"message\", \"details\"}; every coordinate names its system (gcj02 or wgs84).\n\n\
         Besides this API, the same reports are served as an Open311 GeoReport v2 facade at \
         `/open311/v2` (outside this document, as that standard describes it): \
         `GET /open311/v2/discovery.json`, `GET services.json`, `GET requests.json`, \
         `GET requests/{id}.json` and `POST requests.json` (form-encoded; `api_key` is a rider's \
         session token). It speaks GeoReport's conventions: WGS-84 coordinates, errors as \
         `[{\"code\", \"description\"}]`, and only the public projection of each report \
         (category, status, unit, times, a location rounded to about 100 m; never the reporter; \
         the description and a photo only once WeChat's content check passed them).\n\n\
         `/wechat/push` is called by WeChat, not by clients: the message push that brings the \
         content check verdicts on photos.",
        )
        .server(API_PREFIX)
}

/// The spec as YAML, exactly as `api-spec/openapi.yaml` holds it. Building it needs no database.
pub fn spec_yaml() -> String {
    document::spec_yaml()
}

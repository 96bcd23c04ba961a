//! An Open311 GeoReport v2 facade over the same reports, so 12345 hotline systems and civic-tech
//! tools can read and file them. It speaks the standard, not this API's conventions: paths ending
//! in `.json`, GeoReport field names, form-encoded POST, arrays everywhere, errors as
//! `[{"code", "description"}]`, and WGS-84 coordinates (converted to and from the GCJ-02 the
//! service keeps).
//!
//! - `GET /open311/v2/discovery.json`: the GeoReport v2 discovery document: where the endpoint
//!   is, which specification and formats it speaks, and how to get a key.
//! - `GET /open311/v2/services.json`: the report categories (`service_code` = category code).
//! - `GET /open311/v2/requests.json`: reports, newest first, at most 200; filters
//!   `service_request_id` (comma-separated), `service_code`, `status` (`open`/`closed`),
//!   `start_date`, `end_date` (W3C date-times; the last 90 days by default). Public: each
//!   request is the report's public projection (`domain::report::PublicReport`), the same the
//!   public map shows: category, status, unit, times and a location rounded to 0.001° (about
//!   100 m); never the reporter. `description` is the reporter's words and `media_url` the
//!   first photo only once WeChat's content check cleared them (null before, and always with
//!   checks off); `status_notes` is always null.
//! - `GET /open311/v2/requests/{id}.json`: one report, as a one-element array.
//! - `POST /open311/v2/requests.json`: files a report. **Authentication**: `api_key` is a rider's
//!   session token (from `/api/v1/auth/wechat-login`), so every filed report has a rider behind
//!   it and the same rate limit, "me too" merging and routing apply. A report that joined an open
//!   one nearby returns that report's id with a `service_notice` saying so.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use poem::http::StatusCode;
use poem::web::{Data, Form, Json, Path, Query};
use poem::{IntoResponse, Response, Route, get, handler};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::media::signed_path;
use super::security::authenticate;
use crate::domain::geo::{CoordSystem, Gcj02};
use crate::domain::identity::Rider;
use crate::domain::report::{Category, parse_description};
use crate::domain::time::Millis;
use crate::domain::{DomainError, DomainResult};
use crate::service::open311::{self as service, PublicRequest, RequestQuery};
use crate::service::reports::{self, Outcome, PublicView, Submission};
use crate::state::AppState;

/// The facade's routes, nested at `/open311/v2`.
pub fn routes() -> Route {
    Route::new()
        .at("/discovery.json", get(discovery))
        .at("/services.json", get(services))
        .at("/requests.json", get(list_requests).post(post_request))
        .at("/requests/:id", get(one_request))
}

/// When the facade last changed in a way a client would notice (GeoReport's `changeset`).
const CHANGESET: &str = "2026-11-26T00:00:00Z";

/// GeoReport v2 discovery: the one production endpoint, at the address the caller reached.
#[handler]
fn discovery(req: &poem::Request, state: Data<&AppState>) -> Response {
    let url = match endpoint_url(req) {
        Some(url) => url,
        None => return error(StatusCode::BAD_REQUEST, "a Host header naming this server is required"),
    };
    Json(json!({
        "changeset": CHANGESET,
        "contact": format!("{} 城市管理员 (city administrators of {}); API reference: /docs", state.city.name, state.city.name),
        "key_service": "api_key is a rider's session token: log in through the xinhuoban WeChat mini-program \
                        (POST /api/v1/auth/wechat-login). Reading needs no key.",
        "endpoints": [{
            "specification": "http://wiki.open311.org/GeoReport_v2",
            "url": url,
            "changeset": CHANGESET,
            "type": "production",
            "formats": ["application/json"],
        }],
    }))
    .into_response()
}

/// `scheme://host/open311/v2` as the caller addressed it (behind a proxy, `X-Forwarded-Proto`
/// names the scheme). A Host that is not a plain host name and port is refused, not echoed.
fn endpoint_url(req: &poem::Request) -> Option<String> {
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    let host = header("host").filter(|h| {
        !h.is_empty() && h.len() <= 255 && h.chars().all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
    })?;
    let scheme = match header("x-forwarded-proto") {
        Some("https") => "https",
        _ => "http",
    };
    Some(format!("{scheme}://{host}/open311/v2"))
}

/// A GeoReport error answer: the status, and `[{"code", "description"}]`.
fn error(status: StatusCode, description: impl Into<String>) -> Response {
    Json(json!([{ "code": status.as_u16(), "description": description.into() }])).with_status(status).into_response()
}

fn domain_error(e: DomainError) -> Response {
    let status = match &e {
        DomainError::Invalid { .. } | DomainError::InvalidMany { .. } => StatusCode::BAD_REQUEST,
        DomainError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
        DomainError::Forbidden(_) => StatusCode::FORBIDDEN,
        DomainError::NotFound(_) => StatusCode::NOT_FOUND,
        DomainError::Conflict { .. } => StatusCode::CONFLICT,
        DomainError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
        DomainError::Internal(source) => {
            super::error::log_internal(source.as_ref());
            return error(StatusCode::INTERNAL_SERVER_ERROR, "internal server error");
        }
        _ => StatusCode::SERVICE_UNAVAILABLE,
    };
    let mut resp = error(status, e.to_string());
    if let DomainError::RateLimited { retry_after_secs } = e {
        resp.headers_mut().insert(poem::http::header::RETRY_AFTER, retry_after_secs.into());
    }
    resp
}

#[derive(Serialize)]
struct Service {
    service_code: &'static str,
    service_name: String,
    description: String,
    metadata: bool,
    #[serde(rename = "type")]
    kind: &'static str,
    keywords: String,
    group: &'static str,
}

#[handler]
async fn services(state: Data<&AppState>) -> Response {
    match reports::categories(&state.reports()).await {
        Ok(all) => Json(
            all.into_iter()
                .map(|c| Service {
                    service_code: c.category.as_str(),
                    service_name: c.name,
                    description: c.hint,
                    metadata: false,
                    kind: "realtime",
                    keywords: String::new(),
                    group: c.urgency.as_str(),
                })
                .collect::<Vec<_>>(),
        )
        .into_response(),
        Err(e) => domain_error(e),
    }
}

/// One service request, as GeoReport v2 names its fields.
#[derive(Serialize)]
struct ServiceRequest {
    service_request_id: String,
    status: &'static str,
    /// Always null: notes are free text, not checked for publication.
    status_notes: Option<String>,
    service_name: String,
    service_code: &'static str,
    /// The reporter's description once WeChat's content check cleared it; else null.
    description: Option<String>,
    agency_responsible: String,
    service_notice: Option<String>,
    requested_datetime: String,
    updated_datetime: String,
    expected_datetime: Option<String>,
    address: String,
    address_id: Option<String>,
    zipcode: Option<String>,
    lat: f64,
    long: f64,
    media_url: Option<String>,
}

/// One request as GeoReport shows it; `base` is the public origin photo URLs are made absolute
/// under (`public_base_url`), when one is configured.
fn to_open311(tz: Tz, base: Option<&str>, p: PublicRequest) -> ServiceRequest {
    let PublicView { report: r, unit, photos } = p.report;
    let media_url = photos.first().map(|photo| format!("{}{}", base.unwrap_or_default(), signed_path(photo)));
    let time = |m: Millis| m.in_zone(tz).to_rfc3339();
    let (lat, long) = r.location.in_system(CoordSystem::Wgs84);
    let open = r.status.is_open();
    ServiceRequest {
        service_request_id: r.id,
        status: if open { "open" } else { "closed" },
        status_notes: None,
        service_name: p.service_name,
        service_code: r.category.as_str(),
        description: r.description,
        agency_responsible: unit.name,
        service_notice: None,
        requested_datetime: time(r.created_at),
        updated_datetime: time(r.updated_at),
        expected_datetime: r.resolve_by.map(time),
        address: String::new(),
        address_id: None,
        zipcode: None,
        lat,
        long,
        media_url,
    }
}

fn render(state: &AppState, found: DomainResult<Vec<PublicRequest>>) -> Response {
    match found {
        Ok(all) => {
            let base = state.config.content.public_base_url.as_deref();
            Json(all.into_iter().map(|p| to_open311(state.city.tz, base, p)).collect::<Vec<_>>()).into_response()
        }
        Err(e) => domain_error(e),
    }
}

#[derive(Deserialize)]
struct ListQuery {
    service_request_id: Option<String>,
    service_code: Option<String>,
    start_date: Option<String>,
    end_date: Option<String>,
    status: Option<String>,
}

fn parse_date(field: &'static str, raw: Option<&str>) -> DomainResult<Option<DateTime<Utc>>> {
    raw.filter(|s| !s.is_empty())
        .map(|s| {
            DateTime::parse_from_rfc3339(s)
                .map(|d| d.with_timezone(&Utc))
                .map_err(|_| DomainError::invalid(field, "a W3C date-time, such as 2026-11-25T12:00:00+08:00"))
        })
        .transpose()
}

#[handler]
async fn list_requests(state: Data<&AppState>, query: poem::Result<Query<ListQuery>>) -> Response {
    let Ok(Query(q)) = query else { return error(StatusCode::BAD_REQUEST, "malformed query") };
    let query = if let Some(ids) = q.service_request_id.as_deref().filter(|s| !s.is_empty()) {
        RequestQuery::Ids(ids.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect())
    } else {
        let category = match q.service_code.as_deref().filter(|s| !s.is_empty()).map(str::parse::<Category>).transpose()
        {
            Ok(c) => c,
            Err(_) => return error(StatusCode::BAD_REQUEST, "unknown service_code"),
        };
        let open = match q.status.as_deref() {
            None | Some("") => None,
            Some("open") => Some(true),
            Some("closed") => Some(false),
            Some(_) => return error(StatusCode::BAD_REQUEST, "status is open or closed"),
        };
        let (start, end) =
            match (parse_date("start_date", q.start_date.as_deref()), parse_date("end_date", q.end_date.as_deref())) {
                (Ok(s), Ok(e)) => (s, e),
                (Err(e), _) | (_, Err(e)) => return domain_error(e),
            };
        let millis = |d: Option<DateTime<Utc>>| d.map(|d| Millis::from_datetime(&d));
        RequestQuery::Latest { category, open, start: millis(start), end: millis(end) }
    };
    render(&state, service::requests(&state.reports(), query, Millis::now()).await)
}

#[handler]
async fn one_request(state: Data<&AppState>, Path(id): Path<String>) -> Response {
    let Some(id) = id.strip_suffix(".json") else { return error(StatusCode::NOT_FOUND, "use /requests/{id}.json") };
    match service::request(&state.reports(), id, Millis::now()).await {
        Ok(Some(found)) => render(&state, Ok(vec![found])),
        Ok(None) => error(StatusCode::NOT_FOUND, "no such service request"),
        Err(e) => domain_error(e),
    }
}

#[derive(Deserialize)]
struct PostForm {
    api_key: Option<String>,
    service_code: Option<String>,
    lat: Option<String>,
    long: Option<String>,
    description: Option<String>,
}

#[handler]
async fn post_request(state: Data<&AppState>, form: poem::Result<Form<PostForm>>) -> Response {
    let Ok(Form(f)) = form else {
        return error(StatusCode::BAD_REQUEST, "send the fields form-encoded (application/x-www-form-urlencoded)");
    };
    let Some(api_key) = f.api_key.filter(|k| !k.is_empty()) else {
        return error(StatusCode::UNAUTHORIZED, "api_key is required: a rider's session token");
    };
    let caller = match authenticate(&state, &api_key).await {
        Ok(session) => session.caller,
        Err(_) => return error(StatusCode::UNAUTHORIZED, "api_key is not a valid session token"),
    };
    let Ok(rider) = Rider::try_from(caller) else {
        return error(StatusCode::FORBIDDEN, "only riders file service requests");
    };
    let Some(category) = f.service_code.as_deref().and_then(|c| c.parse::<Category>().ok()) else {
        return error(StatusCode::BAD_REQUEST, "service_code is missing or unknown (see services.json)");
    };
    let coords = f
        .lat
        .as_deref()
        .zip(f.long.as_deref())
        .and_then(|(a, b)| Some((a.trim().parse::<f64>().ok()?, b.trim().parse::<f64>().ok()?)));
    let Some((lat, long)) = coords else {
        return error(StatusCode::BAD_REQUEST, "lat and long (WGS-84 decimal degrees) are required");
    };
    let submission = match (
        Gcj02::from_system(lat, long, CoordSystem::Wgs84),
        parse_description(f.description.as_deref().unwrap_or("")),
    ) {
        (Ok(location), Ok(description)) => {
            Submission { category, description, location, media_ids: Vec::new(), anonymous: false }
        }
        (Err(e), _) | (_, Err(e)) => return domain_error(e),
    };
    match reports::submit(&state.reports(), &rider, submission, None, Millis::now()).await {
        Ok((outcome, report)) => {
            let notice = match outcome {
                Outcome::Created => "已受理，已派送至负责单位",
                Outcome::Joined => "附近已有同类未办结的上报，已合并（我也遇到）",
            };
            Json(json!([{ "service_request_id": report.id, "service_notice": notice, "account_id": null }]))
                .into_response()
        }
        Err(e) => domain_error(e),
    }
}

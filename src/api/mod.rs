//! The HTTP API under `/api/v1`: poem-openapi handlers, one file per tag, with their request and
//! response types beside them.

pub mod admin;
pub mod auth;
pub mod error;
pub mod fast_json;
pub mod paging;
pub mod place_admin;
pub mod places;
pub mod security;

use poem_openapi::{OpenApiService, Tags};

pub const API_PREFIX: &str = "/api/v1";

#[derive(Tags)]
pub enum ApiTags {
    /// Logging in and out, and who you are
    Auth,
    /// City administration: staff accounts
    Admin,
    /// Finding stations, parking zones and friendly sites, and checking in (riders)
    Places,
    /// Keeping places true: admins and station managers
    PlaceManagement,
}

/// Every API object, in one tuple: what the server serves and what `xinhuoban spec` writes.
pub fn service() -> OpenApiService<(auth::AuthApi, admin::AdminApi, places::PlacesApi, place_admin::PlaceAdminApi), ()>
{
    OpenApiService::new(
        (auth::AuthApi, admin::AdminApi, places::PlacesApi, place_admin::PlaceAdminApi),
        "xinhuoban",
        env!("CARGO_PKG_VERSION"),
    )
    .description(
        "Backend of the xinhuoban (新伙伴) mini-program for delivery riders, couriers and drivers: \
         stations, parking zones, tap-to-report and governance points. Errors always have the shape \
         {\"code\", \"message\", \"details\"}; every coordinate names its system (gcj02 or wgs84).",
    )
    .server(API_PREFIX)
}

/// The spec as YAML, exactly as `api-spec/openapi.yaml` holds it. Building it needs no database.
pub fn spec_yaml() -> String {
    service().spec_yaml()
}

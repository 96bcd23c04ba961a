//! Bearer-token authentication. Every protected operation takes one of these extractors, all the
//! same `BearerAuth` scheme in the spec: `BearerAuth` for any signed-in caller, and `RiderAuth`,
//! `StaffAuth`, `AdminAuth` for the role the operation needs (another role is a 403 before the
//! handler runs), each carrying the proven role as a domain type.

use poem::Request;
use poem_openapi::SecurityScheme;
use poem_openapi::auth::Bearer;

use crate::api::error::ApiError;
use crate::domain::identity::{Caller, CityAdmin, Rider, Staff};
use crate::domain::{DomainError, DomainResult};
use crate::service::sessions::{self, Session};
use crate::state::AppState;

/// `Authorization: Bearer <token>` from `/auth/wechat-login` or `/auth/staff-login`.
#[derive(SecurityScheme)]
#[oai(ty = "bearer", bearer_format = "opaque", checker = "check_bearer")]
pub struct BearerAuth(pub Session);

impl BearerAuth {
    pub fn caller(&self) -> &Caller {
        &self.0.caller
    }
}

/// `Authorization: Bearer <token>` of a rider.
#[derive(SecurityScheme)]
#[oai(rename = "BearerAuth", ty = "bearer", bearer_format = "opaque", checker = "check_rider")]
pub struct RiderAuth(pub Rider);

/// `Authorization: Bearer <token>` of staff: a station manager, a clerk or a city admin.
#[derive(SecurityScheme)]
#[oai(rename = "BearerAuth", ty = "bearer", bearer_format = "opaque", checker = "check_staff")]
pub struct StaffAuth(pub Staff);

/// `Authorization: Bearer <token>` of a city admin.
#[derive(SecurityScheme)]
#[oai(rename = "BearerAuth", ty = "bearer", bearer_format = "opaque", checker = "check_admin")]
pub struct AdminAuth(pub CityAdmin);

async fn check_rider(req: &Request, bearer: Bearer) -> poem::Result<Rider> {
    check_role(req, bearer).await
}

async fn check_staff(req: &Request, bearer: Bearer) -> poem::Result<Staff> {
    check_role(req, bearer).await
}

async fn check_admin(req: &Request, bearer: Bearer) -> poem::Result<CityAdmin> {
    check_role(req, bearer).await
}

async fn check_role<R: TryFrom<Caller, Error = DomainError>>(req: &Request, bearer: Bearer) -> poem::Result<R> {
    let session = check_bearer(req, bearer).await?;
    R::try_from(session.caller).map_err(|e| ApiError::from(e).into())
}

async fn check_bearer(req: &Request, bearer: Bearer) -> poem::Result<Session> {
    let state = req.data::<AppState>().ok_or_else(|| poem::Error::from(ApiError::internal()))?;
    authenticate(state, &bearer.token).await.map_err(|e| ApiError::from(e).into())
}

/// Finds the live session behind a token (a bearer token, or Open311's `api_key`).
pub async fn authenticate(state: &AppState, raw_token: &str) -> DomainResult<Session> {
    sessions::authenticate(&state.db, &state.config.token_secret, raw_token).await
}

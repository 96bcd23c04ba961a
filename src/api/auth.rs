//! Logging in (riders through WeChat, staff with a password), logging out, and `GET /me`.

use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};

use super::ApiTags;
use super::error::ApiResult;
use super::security::BearerAuth;
use crate::domain::DomainError;
use crate::domain::error::AuthFailure;
use crate::domain::identity::Role;
use crate::service::sessions::{self, IssuedSession};
use crate::state::AppState;
use crate::store;

/// A role, as the API names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum RoleDto {
    Rider,
    StationManager,
    Clerk,
    CityAdmin,
}

impl From<Role> for RoleDto {
    fn from(role: Role) -> Self {
        match role {
            Role::Rider => RoleDto::Rider,
            Role::StationManager => RoleDto::StationManager,
            Role::Clerk => RoleDto::Clerk,
            Role::CityAdmin => RoleDto::CityAdmin,
        }
    }
}

impl From<RoleDto> for Role {
    fn from(role: RoleDto) -> Self {
        match role {
            RoleDto::Rider => Role::Rider,
            RoleDto::StationManager => Role::StationManager,
            RoleDto::Clerk => Role::Clerk,
            RoleDto::CityAdmin => Role::CityAdmin,
        }
    }
}

#[derive(Debug, Object)]
pub struct WechatLoginRequest {
    /// The one-time code from `wx.login()`.
    #[oai(validator(min_length = 1, max_length = 128))]
    pub code: String,
}

#[derive(Debug, Object)]
pub struct StaffLoginRequest {
    #[oai(validator(min_length = 1, max_length = 64))]
    pub username: String,
    #[oai(validator(min_length = 1, max_length = 128))]
    pub password: String,
}

/// A new session. Send the token as `Authorization: Bearer <token>`.
#[derive(Debug, Object)]
pub struct LoginResponse {
    pub token: String,
    pub expires_at: DateTime<Utc>,
    pub role: RoleDto,
}

impl From<IssuedSession> for LoginResponse {
    fn from(s: IssuedSession) -> Self {
        LoginResponse { token: s.token.expose().to_string(), expires_at: s.expires_at.to_utc(), role: s.role.into() }
    }
}

/// Who the caller is and what they may reach.
#[derive(Debug, Object)]
pub struct MeResponse {
    pub account_id: String,
    pub role: RoleDto,
    pub display_name: String,
    pub city_id: String,
    /// The office a clerk works for.
    pub office_id: Option<String>,
    /// The places a station manager keeps (absent for other roles).
    pub place_ids: Option<Vec<String>>,
}

#[derive(ApiResponse)]
pub enum NoContent {
    /// Done
    #[oai(status = 204)]
    Done,
}

#[derive(Default)]
pub struct AuthApi;

#[OpenApi(tag = "ApiTags::Auth")]
impl AuthApi {
    /// Log a rider in with a `wx.login()` code
    ///
    /// The server exchanges the code at WeChat's `jscode2session` for the rider's openid, creates the
    /// rider on first login, and returns a session token. In demo mode without WeChat configured, a
    /// code `demo-<name>` logs in the demo rider `<name>`.
    #[oai(path = "/auth/wechat-login", method = "post", operation_id = "auth_wechat_login")]
    async fn wechat_login(
        &self,
        state: Data<&AppState>,
        body: Json<WechatLoginRequest>,
    ) -> ApiResult<Json<LoginResponse>> {
        let (openid, display_name) = match demo_rider_name(&state, &body.code) {
            Some(name) => (format!("demo:{name}"), name.to_string()),
            None if state.config.demo_logins_enabled() => {
                return Err(DomainError::Unauthenticated(AuthFailure::InvalidWechatCode).into());
            }
            None => {
                let identity = state.wechat.code_to_session(&body.code).await.map_err(DomainError::from)?;
                (identity.openid, "骑手".to_string())
            }
        };
        let account = store::accounts::upsert_rider(&state.db, &state.city.id, &openid, &display_name).await?;
        if account.disabled {
            return Err(DomainError::Unauthenticated(AuthFailure::AccountDisabled).into());
        }
        let issued = sessions::issue(
            &state.db,
            &state.config.token_secret,
            &account.id,
            &account.city_id,
            Role::Rider,
            state.config.rider_session_ttl,
        )
        .await?;
        Ok(Json(issued.into()))
    }

    /// Log a staff member in with username and password
    ///
    /// Ten failed attempts for one username within 15 minutes make the next wait (429 with
    /// Retry-After), whoever makes it.
    #[oai(path = "/auth/staff-login", method = "post", operation_id = "auth_staff_login")]
    async fn staff_login(
        &self,
        state: Data<&AppState>,
        body: Json<StaffLoginRequest>,
    ) -> ApiResult<Json<LoginResponse>> {
        let account = sessions::verify_staff(&state.db, &body.username, &body.password).await?;
        let issued = sessions::issue(
            &state.db,
            &state.config.token_secret,
            &account.id,
            &account.city_id,
            account.role,
            state.config.staff_session_ttl,
        )
        .await?;
        Ok(Json(issued.into()))
    }

    /// Log out: revoke the token this request carries
    #[oai(path = "/auth/logout", method = "post", operation_id = "auth_logout")]
    async fn logout(&self, state: Data<&AppState>, auth: BearerAuth) -> ApiResult<NoContent> {
        store::sessions::revoke(&state.db, &auth.0.token_hash).await?;
        Ok(NoContent::Done)
    }

    /// Who am I
    #[oai(path = "/me", method = "get", operation_id = "me")]
    async fn me(&self, state: Data<&AppState>, auth: BearerAuth) -> ApiResult<Json<MeResponse>> {
        let c = auth.caller();
        let place_ids = match c.role {
            Role::StationManager => Some(store::places::managed_ids(&state.db, &c.account_id).await?),
            _ => None,
        };
        Ok(Json(MeResponse {
            account_id: c.account_id.clone(),
            role: c.role.into(),
            display_name: c.display_name.clone(),
            city_id: c.city_id.clone(),
            office_id: c.office_id.clone(),
            place_ids,
        }))
    }
}

/// `demo-<name>` names a demo rider, only where demo logins are enabled.
fn demo_rider_name<'a>(state: &AppState, code: &'a str) -> Option<&'a str> {
    if !state.config.demo_logins_enabled() {
        return None;
    }
    let name = code.strip_prefix("demo-")?;
    let valid =
        (1..=32).contains(&name.len()) && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    valid.then_some(name)
}

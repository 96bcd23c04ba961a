//! Logging in (riders through WeChat, staff with a password), logging out, and `GET /me`.

use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};

use super::ApiTags;
use super::dto::mirror_enum;
use super::error::codes::*;
use super::error::{ApiResult, Body, Signed, SignedAs};
use super::security::{BearerAuth, RiderAuth};
use super::text::Text;
use crate::domain::identity::Role;
use crate::domain::time::Millis;
use crate::service::privacy;
use crate::service::sessions::{self, IssuedSession, Me};
use crate::state::AppState;

mirror_enum!(
    /// A role, as the API names it.
    RoleDto = Role { Rider, StationManager, Clerk, CityAdmin }
);

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none, example)]
pub struct WechatLoginRequest {
    /// The one-time code from `wx.login()`.
    #[oai(validator(min_length = 1, max_length = 128))]
    pub code: Text,
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none, example)]
pub struct StaffLoginRequest {
    #[oai(validator(min_length = 1, max_length = 64))]
    pub username: Text,
    #[oai(validator(min_length = 1, max_length = 128))]
    pub password: Text,
}

/// A new session. Send the token as `Authorization: Bearer <token>`.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none, example)]
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
#[oai(skip_serializing_if_is_none)]
pub struct MeResponse {
    pub account_id: String,
    pub role: RoleDto,
    pub display_name: String,
    pub city_id: String,
    /// The office a clerk works for.
    pub office_id: Option<String>,
    /// The places a station manager keeps (absent for other roles).
    pub place_ids: Option<Vec<String>>,
    /// Riders: whether points rankings show you by your masked name (王**); absent for staff.
    pub show_name_in_rankings: Option<bool>,
}

/// What a rider may change about their account.
#[derive(Debug, Object)]
pub struct MeChange {
    /// Appear in points rankings by your masked name (王**) instead of without a name.
    pub show_name_in_rankings: bool,
}

impl From<Me> for MeResponse {
    fn from(me: Me) -> Self {
        let c = me.caller;
        MeResponse {
            account_id: c.account_id,
            role: c.role.into(),
            display_name: c.display_name,
            city_id: c.city_id,
            office_id: c.office_id,
            place_ids: me.place_ids,
            show_name_in_rankings: me.name_shown_in_rankings,
        }
    }
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
    ) -> ApiResult<
        Json<LoginResponse>,
        (Body, InvalidWechatCode, WechatUserBlocked, AccountDisabled, WechatUnavailable, DatabaseUnavailable),
    > {
        Ok(Json(sessions::rider_login(&state.sessions(), &body.code).await?.into()))
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
    ) -> ApiResult<Json<LoginResponse>, (Body, BadCredentials, AccountDisabled, RateLimited, DatabaseUnavailable)> {
        Ok(Json(sessions::staff_login(&state.sessions(), &body.username, &body.password).await?.into()))
    }

    /// Log out: revoke the token this request carries
    ///
    /// The token stops working at once (401 `token_revoked` after); other sessions of the same
    /// account stay.
    #[oai(path = "/auth/logout", method = "post", operation_id = "auth_logout")]
    async fn logout(&self, state: Data<&AppState>, auth: BearerAuth) -> ApiResult<NoContent, Signed> {
        sessions::logout(&state.db, &auth.0).await?;
        Ok(NoContent::Done)
    }

    /// Who am I
    ///
    /// The caller's account, role and city; a clerk's office, a station manager's places. The
    /// mini-program and the console call it after login to choose what to show.
    #[oai(path = "/me", method = "get", operation_id = "me")]
    async fn me(&self, state: Data<&AppState>, auth: BearerAuth) -> ApiResult<Json<MeResponse>, Signed> {
        Ok(Json(sessions::me(&state.db, auth.caller()).await?.into()))
    }

    /// Change my settings (riders)
    ///
    /// Whether points rankings show you by your masked name (王**). Whatever you choose, you
    /// always see your own rank; staff accounts have nothing to change here (403).
    #[oai(path = "/me", method = "patch", operation_id = "me_update")]
    async fn update_me(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        body: Json<MeChange>,
    ) -> ApiResult<Json<MeResponse>, (SignedAs, Body)> {
        let me = sessions::set_name_shown_in_rankings(&state.db, auth.caller(), body.show_name_in_rankings).await?;
        Ok(Json(me.into()))
    }

    /// Erase me (riders)
    ///
    /// Deletes your account (PIPL art. 47): every session ends at once; your openid and name are
    /// erased; your follows, check-ins, queued messages and the photos on no report are deleted.
    /// The reports you filed stay in the city's record (units must finish and account for them)
    /// but lose every link to you: they, their timelines and their photos point to an erased
    /// account instead. Logging in again later starts a new, empty account. `GET /me/data` first
    /// gives you a copy.
    #[oai(path = "/me", method = "delete", operation_id = "me_erase", tag = "ApiTags::Privacy")]
    async fn erase_me(
        &self,
        state: Data<&AppState>,
        RiderAuth(rider): RiderAuth,
    ) -> ApiResult<NoContent, (SignedAs, NotFound)> {
        privacy::erase(&state.privacy(), &rider, Millis::now()).await?;
        Ok(NoContent::Done)
    }
}

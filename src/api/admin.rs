//! City administration: staff accounts.

use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};

use super::ApiTags;
use super::auth::{NoContent, RoleDto};
use super::error::codes::*;
use super::error::{ApiResult, Body, Paged, SignedAs};
use super::paging::{Page, PageRequest};
use super::security::AdminAuth;
use crate::domain::identity::{Account, NewPassword, Username};
use crate::service::staff::{self, StaffSpec};
use crate::state::AppState;

#[derive(Debug, Object)]
pub struct CreateStaffRequest {
    /// 3 to 32 characters: letters, digits, `-`, `_` or `.`; stored in lowercase.
    #[oai(validator(min_length = 3, max_length = 32))]
    pub username: String,
    #[oai(validator(min_length = 8, max_length = 128))]
    pub password: String,
    /// station_manager, clerk or city_admin.
    pub role: RoleDto,
    #[oai(validator(min_length = 1, max_length = 64))]
    pub display_name: String,
    /// Required for clerks: the office they work for.
    #[oai(validator(max_length = 64))]
    pub office_id: Option<String>,
}

#[derive(Debug, Object)]
pub struct Staff {
    pub id: String,
    pub username: String,
    pub role: RoleDto,
    pub display_name: String,
    pub office_id: Option<String>,
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
}

impl From<Account> for Staff {
    fn from(a: Account) -> Self {
        Staff {
            id: a.id,
            username: a.username.unwrap_or_default(),
            role: a.role.into(),
            display_name: a.display_name,
            office_id: a.office_id,
            disabled: a.disabled,
            created_at: a.created_at.to_utc(),
        }
    }
}

#[derive(Default)]
pub struct AdminApi;

#[OpenApi(tag = "ApiTags::Admin")]
impl AdminApi {
    /// Create a staff account (city admins)
    #[oai(path = "/admin/staff", method = "post", operation_id = "admin_create_staff")]
    async fn create_staff(
        &self,
        state: Data<&AppState>,
        auth: AdminAuth,
        body: Json<CreateStaffRequest>,
    ) -> ApiResult<Json<Staff>, (SignedAs, Body, InvalidInput, UsernameTaken)> {
        let body = body.0;
        let spec = StaffSpec {
            username: Username::parse(&body.username)?,
            password: NewPassword::parse(&body.password)?,
            role: body.role.into(),
            display_name: body.display_name,
            office_id: body.office_id,
        };
        Ok(Json(staff::create(&state.db, &auth.0, spec).await?.into()))
    }

    /// List staff accounts (city admins)
    #[oai(path = "/admin/staff", method = "get", operation_id = "admin_list_staff")]
    async fn list_staff(
        &self,
        state: Data<&AppState>,
        auth: AdminAuth,
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))] limit: Query<Option<u32>>,
        #[oai(validator(max_length = 200))] cursor: Query<Option<String>>,
    ) -> ApiResult<Json<Page<Staff>>, (SignedAs, Paged)> {
        let page = PageRequest::parse(limit.0, cursor.0)?;
        let rows = staff::list(&state.db, &auth.0, page.after.as_deref(), page.fetch_limit()).await?;
        let (rows, next_cursor) = page.finish(rows, |a| a.id.clone());
        Ok(Json(Page::new(rows.into_iter().map(Staff::from).collect(), next_cursor)))
    }

    /// Disable a staff account and end its sessions (city admins)
    #[oai(path = "/admin/staff/:id/disable", method = "post", operation_id = "admin_disable_staff")]
    async fn disable_staff(
        &self,
        state: Data<&AppState>,
        auth: AdminAuth,
        #[oai(validator(max_length = 64))] id: Path<String>,
    ) -> ApiResult<NoContent, (SignedAs, InvalidParameter, CannotDisableSelf, NotFound)> {
        staff::set_disabled(&state.db, &auth.0, &id.0, true).await?;
        Ok(NoContent::Done)
    }

    /// Enable a disabled staff account again (city admins)
    #[oai(path = "/admin/staff/:id/enable", method = "post", operation_id = "admin_enable_staff")]
    async fn enable_staff(
        &self,
        state: Data<&AppState>,
        auth: AdminAuth,
        #[oai(validator(max_length = 64))] id: Path<String>,
    ) -> ApiResult<NoContent, (SignedAs, InvalidParameter, NotFound)> {
        staff::set_disabled(&state.db, &auth.0, &id.0, false).await?;
        Ok(NoContent::Done)
    }
}

//! City administration: staff accounts.

use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};
use serde_json::json;

use super::ApiTags;
use super::auth::{NoContent, RoleDto};
use super::error::ApiResult;
use super::paging::PageRequest;
use super::security::BearerAuth;
use crate::domain::DomainError;
use crate::domain::error::ErrorCode;
use crate::domain::identity::{NewPassword, Username};
use crate::service::staff::{self, StaffSpec};
use crate::state::AppState;
use crate::store::accounts::AccountRow;
use crate::store::audit::AuditEntry;
use crate::store::{self};

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

impl From<AccountRow> for Staff {
    fn from(a: AccountRow) -> Self {
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

#[derive(Debug, Object)]
pub struct StaffPage {
    pub items: Vec<Staff>,
    pub next_cursor: Option<String>,
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
        auth: BearerAuth,
        body: Json<CreateStaffRequest>,
    ) -> ApiResult<Json<Staff>> {
        let caller = auth.caller();
        caller.require_city_admin()?;
        let body = body.0;
        let spec = StaffSpec {
            username: Username::parse(&body.username)?,
            password: NewPassword::parse(&body.password)?,
            role: body.role.into(),
            display_name: body.display_name,
            office_id: body.office_id,
        };
        let account = staff::register(&state.db, &caller.city_id, spec).await?;
        store::audit::record_now(
            &state.db,
            AuditEntry {
                city_id: &caller.city_id,
                actor_id: Some(&caller.account_id),
                action: "staff.create",
                object_kind: "account",
                object_id: &account.id,
                before: None,
                after: Some(json!({ "username": account.username, "role": account.role.as_str(), "office_id": account.office_id })),
            },
        )
        .await?;
        Ok(Json(account.into()))
    }

    /// List staff accounts (city admins)
    #[oai(path = "/admin/staff", method = "get", operation_id = "admin_list_staff")]
    async fn list_staff(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))] limit: Query<Option<u32>>,
        #[oai(validator(max_length = 200))] cursor: Query<Option<String>>,
    ) -> ApiResult<Json<StaffPage>> {
        let caller = auth.caller();
        caller.require_city_admin()?;
        let page = PageRequest::parse(limit.0, cursor.0)?;
        let rows =
            store::accounts::list_staff(&state.db, &caller.city_id, page.after.as_deref(), page.fetch_limit()).await?;
        let (rows, next_cursor) = page.finish(rows, |a| a.id.clone());
        Ok(Json(StaffPage { items: rows.into_iter().map(Staff::from).collect(), next_cursor }))
    }

    /// Disable a staff account and end its sessions (city admins)
    #[oai(path = "/admin/staff/:id/disable", method = "post", operation_id = "admin_disable_staff")]
    async fn disable_staff(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        #[oai(validator(max_length = 64))] id: Path<String>,
    ) -> ApiResult<NoContent> {
        set_disabled(&state, auth, &id.0, true).await
    }

    /// Enable a disabled staff account again (city admins)
    #[oai(path = "/admin/staff/:id/enable", method = "post", operation_id = "admin_enable_staff")]
    async fn enable_staff(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        #[oai(validator(max_length = 64))] id: Path<String>,
    ) -> ApiResult<NoContent> {
        set_disabled(&state, auth, &id.0, false).await
    }
}

async fn set_disabled(state: &AppState, auth: BearerAuth, id: &str, disabled: bool) -> ApiResult<NoContent> {
    let caller = auth.caller();
    caller.require_city_admin()?;
    if disabled && id == caller.account_id {
        return Err(
            DomainError::conflict(ErrorCode::CannotDisableSelf, "an admin cannot disable their own account").into()
        );
    }
    let db = &state.db;
    if !store::accounts::set_staff_disabled(db, &caller.city_id, id, disabled).await? {
        return Err(DomainError::NotFound("staff account").into());
    }
    if disabled {
        store::sessions::revoke_all_for_account(db, id).await?;
    }
    store::audit::record_now(
        db,
        AuditEntry {
            city_id: &caller.city_id,
            actor_id: Some(&caller.account_id),
            action: if disabled { "staff.disable" } else { "staff.enable" },
            object_kind: "account",
            object_id: id,
            before: Some(json!({ "disabled": !disabled })),
            after: Some(json!({ "disabled": disabled })),
        },
    )
    .await?;
    Ok(NoContent::Done)
}

//! City administration: staff accounts.

use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi, Union};

use super::ApiTags;
use super::auth::{NoContent, RoleDto};
use super::dto::{Tagged, TaggedBody};
use super::error::codes::*;
use super::error::{ApiResult, Body, Paged, SignedAs};
use super::paging::{Cursor, Page, PageRequest};
use super::security::AdminAuth;
use super::text::Text;
use crate::domain::DomainError;
use crate::domain::identity::{Account, NewPassword, Role, Username};
use crate::service::staff::{self, StaffSpec};
use crate::state::AppState;

/// What every new staff account has.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct StaffBasics {
    /// 3 to 32 characters: letters, digits, `-`, `_` or `.` (spaces around are dropped); stored in
    /// lowercase, and unique in the city (409 `username_taken`).
    #[oai(validator(
        min_length = 3,
        max_length = 32,
        pattern = r"^[\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[A-Za-z0-9._-]{3,32}[\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    ))]
    pub username: Text,
    /// 8 to 128 characters.
    #[oai(validator(min_length = 8, max_length = 128))]
    pub password: Text,
    /// The name colleagues and the audit trail show, e.g. `王芳`; not blank.
    #[oai(validator(
        max_length = 64,
        pattern = r"[^\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
    ))]
    pub display_name: Text,
}

/// A station manager: keeps the places a city admin names them manager of.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct NewStationManager {
    #[oai(flatten)]
    pub basics: StaffBasics,
}

/// A clerk of an office (a street office, a department or the fallback queue): works its queue.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct NewClerk {
    #[oai(flatten)]
    pub basics: StaffBasics,
    /// The office they work for (`Unit.id`, from `GET /admin/units`).
    #[oai(validator(min_length = 1, max_length = 64))]
    pub office_id: Text,
}

/// A city admin: runs the city.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct NewCityAdmin {
    #[oai(flatten)]
    pub basics: StaffBasics,
}

/// A new staff account, by `role`: only clerks belong to an office, and they must.
#[derive(Debug, Union)]
#[oai(discriminator_name = "role", one_of)]
pub enum CreateStaffRequest {
    #[oai(mapping = "station_manager")]
    StationManager(NewStationManager),
    #[oai(mapping = "clerk")]
    Clerk(NewClerk),
    #[oai(mapping = "city_admin")]
    CityAdmin(NewCityAdmin),
}

impl TaggedBody for CreateStaffRequest {
    const TAG: &'static str = "role";
    const REQUIRED: &'static [(&'static str, &'static [&'static str])] = &[
        ("station_manager", BASICS),
        ("clerk", &["username", "password", "display_name", "office_id"]),
        ("city_admin", BASICS),
    ];
}

const BASICS: &[&str] = &["username", "password", "display_name"];

impl CreateStaffRequest {
    fn into_spec(self) -> Result<StaffSpec, DomainError> {
        let (role, basics, office_id) = match self {
            CreateStaffRequest::StationManager(s) => (Role::StationManager, s.basics, None),
            CreateStaffRequest::Clerk(s) => (Role::Clerk, s.basics, Some(s.office_id.into())),
            CreateStaffRequest::CityAdmin(s) => (Role::CityAdmin, s.basics, None),
        };
        Ok(StaffSpec {
            username: Username::parse(&basics.username)?,
            password: NewPassword::parse(&basics.password)?,
            role,
            display_name: basics.display_name.into(),
            office_id,
        })
    }
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
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
    ///
    /// A station manager, a clerk (of an office of the city) or a city admin, by `role`; they log
    /// in with `POST /auth/staff-login`. Written to the audit trail.
    #[oai(path = "/admin/staff", method = "post", operation_id = "admin_create_staff")]
    async fn create_staff(
        &self,
        state: Data<&AppState>,
        auth: AdminAuth,
        body: Json<Tagged<CreateStaffRequest>>,
    ) -> ApiResult<Json<Staff>, (SignedAs, Body, InvalidInput, UsernameTaken)> {
        let spec = body.0.0.into_spec()?;
        Ok(Json(staff::create(&state.db, &auth.0, spec).await?.into()))
    }

    /// List staff accounts (city admins)
    ///
    /// The city's staff accounts, disabled ones included, in id order, one page at a time.
    #[oai(path = "/admin/staff", method = "get", operation_id = "admin_list_staff")]
    async fn list_staff(
        &self,
        state: Data<&AppState>,
        auth: AdminAuth,
        /// How many items a page holds: 1 to 100 (default 20).
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<u32>>,
        /// Where the page starts: the previous page's `next_cursor`; leave out for the first page.
        cursor: Query<Option<Cursor>>,
    ) -> ApiResult<Json<Page<Staff>>, (SignedAs, Paged)> {
        let page = PageRequest::parse(limit.0, cursor.0)?;
        let rows = staff::list(&state.db, &auth.0, page.after.as_deref(), page.fetch_limit()).await?;
        let (rows, next_cursor) = page.finish(rows, |a| a.id.clone());
        Ok(Json(Page::new(rows.into_iter().map(Staff::from).collect(), next_cursor)))
    }

    /// Disable a staff account and end its sessions (city admins)
    ///
    /// The account can no longer log in and every session it has ends at once. An admin cannot
    /// disable their own account (409 `cannot_disable_self`). Written to the audit trail.
    #[oai(path = "/admin/staff/:id/disable", method = "post", operation_id = "admin_disable_staff")]
    async fn disable_staff(
        &self,
        state: Data<&AppState>,
        auth: AdminAuth,
        /// The staff account's id (`Staff.id`, from `GET /admin/staff`).
        #[oai(validator(max_length = 64))]
        id: Path<String>,
    ) -> ApiResult<NoContent, (SignedAs, InvalidParameter, CannotDisableSelf, NotFound)> {
        staff::set_disabled(&state.db, &auth.0, &id.0, true).await?;
        Ok(NoContent::Done)
    }

    /// Enable a disabled staff account again (city admins)
    ///
    /// The account may log in again (its old sessions stay ended). Written to the audit trail.
    #[oai(path = "/admin/staff/:id/enable", method = "post", operation_id = "admin_enable_staff")]
    async fn enable_staff(
        &self,
        state: Data<&AppState>,
        auth: AdminAuth,
        /// The staff account's id (`Staff.id`, from `GET /admin/staff`).
        #[oai(validator(max_length = 64))]
        id: Path<String>,
    ) -> ApiResult<NoContent, (SignedAs, InvalidParameter, NotFound)> {
        staff::set_disabled(&state.db, &auth.0, &id.0, false).await?;
        Ok(NoContent::Done)
    }
}

//! Creating staff accounts: from the admin API, the `admin create` command and the demo seed.

use crate::domain::credentials::hash_password;
use crate::domain::identity::{NewPassword, Role, Username};
use crate::domain::{DomainError, DomainResult};
use crate::store::accounts::{AccountRow, NewStaff};
use crate::store::{self, Db};

pub struct StaffSpec {
    pub username: Username,
    pub password: NewPassword,
    pub role: Role,
    pub display_name: String,
    /// Required for clerks, refused for the other roles.
    pub office_id: Option<String>,
}

pub async fn register(db: &Db, city_id: &str, spec: StaffSpec) -> DomainResult<AccountRow> {
    if !spec.role.is_staff() {
        return Err(DomainError::invalid("role", "staff accounts are station_manager, clerk or city_admin"));
    }
    match (spec.role, &spec.office_id) {
        (Role::Clerk, None) => {
            return Err(DomainError::invalid("office_id", "a clerk belongs to an office"));
        }
        (Role::Clerk, Some(office_id)) => {
            if !store::offices::exists(db, city_id, office_id).await? {
                return Err(DomainError::invalid("office_id", "no such office in this city"));
            }
        }
        (_, Some(_)) => {
            return Err(DomainError::invalid("office_id", "only clerks belong to an office"));
        }
        (_, None) => {}
    }
    let display_name = spec.display_name.trim();
    if display_name.is_empty() || display_name.chars().count() > 64 {
        return Err(DomainError::invalid("display_name", "1 to 64 characters"));
    }
    let password = spec.password;
    let password_hash =
        tokio::task::spawn_blocking(move || hash_password(&password)).await.map_err(DomainError::internal)??;
    store::accounts::create_staff(
        db,
        NewStaff {
            city_id,
            username: &spec.username,
            password_hash: &password_hash,
            role: spec.role,
            display_name,
            office_id: spec.office_id.as_deref(),
        },
    )
    .await
}

//! Staff accounts: created by city admins (and, to bootstrap a city, by the `admin create`
//! command and the demo seed), listed, disabled and enabled again. Every admin change commits
//! with its audit entry.

use serde_json::json;

use crate::domain::credentials::hash_password;
use crate::domain::error::ErrorCode;
use crate::domain::identity::{Account, CityAdmin, NewPassword, Role, Username};
use crate::domain::{DomainError, DomainResult};
use crate::store::accounts::NewStaff;
use crate::store::audit::{self, AuditEntry};
use crate::store::{self, Db};

pub struct StaffSpec {
    pub username: Username,
    pub password: NewPassword,
    pub role: Role,
    pub display_name: String,
    /// Required for clerks, refused for the other roles.
    pub office_id: Option<String>,
}

/// Creates a staff account with no one acting: the first admin of a city (`xinhuoban admin
/// create`) and the demo accounts. Nothing is audited, as there is no actor to name.
pub async fn register(db: &Db, city_id: &str, spec: StaffSpec) -> DomainResult<Account> {
    insert(db, city_id, spec, None).await
}

/// A city admin creates a staff account of their city.
pub async fn create(db: &Db, admin: &CityAdmin, spec: StaffSpec) -> DomainResult<Account> {
    insert(db, &admin.city_id, spec, Some(admin)).await
}

async fn insert(db: &Db, city_id: &str, spec: StaffSpec, actor: Option<&CityAdmin>) -> DomainResult<Account> {
    if !spec.role.is_staff() {
        return Err(DomainError::invalid("role", "staff accounts are station_manager, clerk or city_admin"));
    }
    match (spec.role, &spec.office_id) {
        (Role::Clerk, None) => {
            return Err(DomainError::invalid("office_id", "a clerk belongs to an office"));
        }
        (Role::Clerk, Some(office_id)) => {
            if store::units::get(db, city_id, office_id).await?.is_none() {
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
    let mut tx = db.begin_write().await?;
    let account = store::accounts::create_staff(
        &mut tx,
        NewStaff {
            city_id,
            username: &spec.username,
            password_hash: &password_hash,
            role: spec.role,
            display_name,
            office_id: spec.office_id.as_deref(),
        },
    )
    .await?;
    if let Some(admin) = actor {
        let after =
            json!({ "username": account.username, "role": account.role.as_str(), "office_id": account.office_id });
        let entry = AuditEntry::by(admin, "staff.create", "account", &account.id).with_after(after);
        audit::record(&mut *tx, entry).await?;
    }
    tx.commit().await?;
    Ok(account)
}

/// Staff of the admin's city in id order, starting after `after`.
pub async fn list(db: &Db, admin: &CityAdmin, after: Option<&str>, limit: u32) -> DomainResult<Vec<Account>> {
    store::accounts::list_staff(db, &admin.city_id, after, limit).await
}

/// Disables a staff account and ends its sessions, or enables it again. The change, the
/// revocation and the audit entry commit together or not at all.
pub async fn set_disabled(db: &Db, admin: &CityAdmin, id: &str, disabled: bool) -> DomainResult<()> {
    if disabled && id == admin.account_id {
        return Err(DomainError::conflict(ErrorCode::CannotDisableSelf, "an admin cannot disable their own account"));
    }
    let mut tx = db.begin_write().await?;
    if !store::accounts::set_staff_disabled(&mut tx, &admin.city_id, id, disabled).await? {
        return Err(DomainError::NotFound("staff account"));
    }
    if disabled {
        store::sessions::revoke_all_for_account(&mut tx, id).await?;
    }
    let action = if disabled { "staff.disable" } else { "staff.enable" };
    let entry = AuditEntry::by(admin, action, "account", id)
        .with_before(json!({ "disabled": !disabled }))
        .with_after(json!({ "disabled": disabled }));
    audit::record(&mut *tx, entry).await?;
    tx.commit().await?;
    Ok(())
}

//! Rider and staff accounts.

use std::collections::HashMap;

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::{Db, fetch_in, is_unique_violation, new_id};
use crate::domain::error::ErrorCode;
use crate::domain::identity::{Account, Role, Username};
use crate::domain::time::Millis;
use crate::domain::{DomainError, DomainResult};

/// `SELECT <account columns> FROM accounts <rest>`, built at compile time.
macro_rules! select_accounts {
    ($rest:literal) => {
        concat!("SELECT id, city_id, role, username, display_name, office_id, disabled, created_at, password_hash FROM accounts ", $rest)
    };
}

fn from_row(r: &AnyRow) -> DomainResult<Account> {
    Ok(Account {
        id: r.try_get("id")?,
        city_id: r.try_get("city_id")?,
        role: r.try_get::<String, _>("role")?.parse()?,
        username: r.try_get("username")?,
        display_name: r.try_get("display_name")?,
        office_id: r.try_get("office_id")?,
        disabled: r.try_get::<i32, _>("disabled")? != 0,
        created_at: Millis(r.try_get("created_at")?),
    })
}

/// Finds the rider with this WeChat openid, creating the account on first login.
pub async fn upsert_rider(db: &Db, city_id: &str, openid: &str, display_name: &str) -> DomainResult<Account> {
    let now = Millis::now().0;
    sqlx::query(
        "INSERT INTO accounts (id, city_id, role, wechat_openid, display_name, disabled, created_at, updated_at) \
         VALUES ($1, $2, 'rider', $3, $4, 0, $5, $5) ON CONFLICT (wechat_openid) DO NOTHING",
    )
    .bind(new_id())
    .bind(city_id)
    .bind(openid)
    .bind(display_name)
    .bind(now)
    .execute(&db.pool)
    .await?;
    let row = sqlx::query(select_accounts!("WHERE wechat_openid = $1")).bind(openid).fetch_one(&db.pool).await?;
    from_row(&row)
}

/// Adds a rider in the caller's transaction unless one has the openid already (bulk seeding).
pub async fn insert_rider(
    conn: &mut AnyConnection,
    city_id: &str,
    openid: &str,
    display_name: &str,
) -> DomainResult<()> {
    sqlx::query(
        "INSERT INTO accounts (id, city_id, role, wechat_openid, display_name, disabled, created_at, updated_at) \
         VALUES ($1, $2, 'rider', $3, $4, 0, $5, $5) ON CONFLICT (wechat_openid) DO NOTHING",
    )
    .bind(new_id())
    .bind(city_id)
    .bind(openid)
    .bind(display_name)
    .bind(Millis::now().0)
    .execute(conn)
    .await?;
    Ok(())
}

/// The ids of riders by openid, in one statement.
pub async fn ids_by_openid(db: &Db, openids: &[String]) -> DomainResult<Vec<String>> {
    let rows = fetch_in(db, "SELECT id FROM accounts WHERE wechat_openid IN ({ids})", &[], openids).await?;
    rows.iter().map(|r| Ok(r.try_get("id")?)).collect()
}

pub struct NewStaff<'a> {
    pub city_id: &'a str,
    pub username: &'a Username,
    pub password_hash: &'a str,
    pub role: Role,
    pub display_name: &'a str,
    pub office_id: Option<&'a str>,
}

pub async fn create_staff(conn: &mut AnyConnection, staff: NewStaff<'_>) -> DomainResult<Account> {
    let id = new_id();
    let now = Millis::now();
    let result = sqlx::query(
        "INSERT INTO accounts (id, city_id, role, username, password_hash, display_name, office_id, disabled, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8, $8)",
    )
    .bind(&id)
    .bind(staff.city_id)
    .bind(staff.role.as_str())
    .bind(staff.username.as_str())
    .bind(staff.password_hash)
    .bind(staff.display_name)
    .bind(staff.office_id)
    .bind(now.0)
    .execute(conn)
    .await;
    match result {
        Err(e) if is_unique_violation(&e) => Err(DomainError::conflict(
            ErrorCode::UsernameTaken,
            format!("username `{}` is taken", staff.username.as_str()),
        )),
        Err(e) => Err(e.into()),
        Ok(_) => Ok(Account {
            id,
            city_id: staff.city_id.to_string(),
            role: staff.role,
            username: Some(staff.username.as_str().to_string()),
            display_name: staff.display_name.to_string(),
            office_id: staff.office_id.map(str::to_string),
            disabled: false,
            created_at: now,
        }),
    }
}

pub async fn get(db: &Db, id: &str) -> DomainResult<Option<Account>> {
    let row = sqlx::query(select_accounts!("WHERE id = $1")).bind(id).fetch_optional(&db.pool).await?;
    row.as_ref().map(from_row).transpose()
}

/// A staff account and its password hash, for login.
pub async fn find_staff_credentials(db: &Db, username: &Username) -> DomainResult<Option<(Account, String)>> {
    let row = sqlx::query(select_accounts!("WHERE username = $1 AND role <> 'rider'"))
        .bind(username.as_str())
        .fetch_optional(&db.pool)
        .await?;
    match row {
        None => Ok(None),
        Some(r) => Ok(Some((from_row(&r)?, r.try_get("password_hash")?))),
    }
}

/// Staff of a city in id order, starting after `after`.
pub async fn list_staff(db: &Db, city_id: &str, after: Option<&str>, limit: u32) -> DomainResult<Vec<Account>> {
    let rows = sqlx::query(select_accounts!("WHERE city_id = $1 AND role <> 'rider' AND id > $2 ORDER BY id LIMIT $3"))
        .bind(city_id)
        .bind(after.unwrap_or(""))
        .bind(i64::from(limit))
        .fetch_all(&db.pool)
        .await?;
    rows.iter().map(from_row).collect()
}

/// The active clerks of a unit, by display name then id (a unit has a handful).
pub async fn clerks_of(db: &Db, city_id: &str, office_id: &str) -> DomainResult<Vec<Account>> {
    let rows = sqlx::query(select_accounts!(
        "WHERE city_id = $1 AND office_id = $2 AND role = 'clerk' AND disabled = 0 ORDER BY display_name, id LIMIT 500"
    ))
    .bind(city_id)
    .bind(office_id)
    .fetch_all(&db.pool)
    .await?;
    rows.iter().map(from_row).collect()
}

/// Disables or re-enables a staff account of this city; false when there is none.
pub async fn set_staff_disabled(
    conn: &mut AnyConnection,
    city_id: &str,
    id: &str,
    disabled: bool,
) -> DomainResult<bool> {
    let done = sqlx::query(
        "UPDATE accounts SET disabled = $1, updated_at = $2 WHERE id = $3 AND city_id = $4 AND role <> 'rider'",
    )
    .bind(super::bool_to_int(disabled))
    .bind(Millis::now().0)
    .bind(id)
    .bind(city_id)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A rider's WeChat openid, for addressing a subscribe message. Never leaves the server.
pub async fn wechat_openid(db: &Db, account_id: &str) -> DomainResult<Option<String>> {
    let row = sqlx::query("SELECT wechat_openid FROM accounts WHERE id = $1")
        .bind(account_id)
        .fetch_optional(&db.pool)
        .await?;
    Ok(row.map(|r| r.try_get::<Option<String>, _>("wechat_openid")).transpose()?.flatten())
}

/// The display names of the accounts among `ids`, by id; one statement for them all.
pub async fn display_names(db: &Db, ids: &[String]) -> DomainResult<HashMap<String, String>> {
    let rows = fetch_in(db, "SELECT id, display_name FROM accounts WHERE id IN ({ids})", &[], ids).await?;
    rows.iter().map(|r| Ok((r.try_get("id")?, r.try_get("display_name")?))).collect()
}

//! The only place SQL lives. One set of portable queries over sqlx's `Any` driver, for SQLite and
//! PostgreSQL alike (see ARCHITECTURE.md for the portable subset).

pub mod accounts;
pub mod audit;
pub mod categories;
pub mod cities;
pub mod idempotency;
pub mod jurisdictions;
pub mod login_failures;
pub mod media;
pub mod outbox;
pub mod places;
pub mod privacy;
pub mod reports;
pub mod sessions;
pub mod units;

use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, AssertSqlSafe, Executor};

use crate::domain::DomainError;

/// Which engine is behind the pool, for the few statements that differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Clone, Debug)]
pub struct Db {
    pub pool: AnyPool,
    pub backend: Backend,
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("cannot prepare the SQLite directory {path}: {source}")]
    Directory { path: String, source: std::io::Error },
    #[error("cannot connect to the database: {0}")]
    Connect(#[from] sqlx::Error),
    #[error("cannot run migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl From<sqlx::Error> for DomainError {
    fn from(err: sqlx::Error) -> Self {
        DomainError::Internal(Box::new(err))
    }
}

/// True when the error is a unique-constraint violation (a duplicate).
pub fn is_unique_violation(err: &sqlx::Error) -> bool {
    err.as_database_error().is_some_and(|e| e.is_unique_violation())
}

impl Db {
    /// Connects, and for SQLite creates the file (and its directory) and sets WAL, foreign keys
    /// and a busy timeout on every connection.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Db, ConnectError> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") { Backend::Sqlite } else { Backend::Postgres };
        let url = match backend {
            Backend::Sqlite => prepare_sqlite_url(url)?,
            Backend::Postgres => url.to_string(),
        };
        let options = AnyConnectOptions::from_str(&url)?;
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        conn.execute("PRAGMA journal_mode = WAL").await?;
                        conn.execute("PRAGMA foreign_keys = ON").await?;
                        conn.execute("PRAGMA busy_timeout = 5000").await?;
                        conn.execute("PRAGMA synchronous = NORMAL").await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        Ok(Db { pool, backend })
    }

    pub async fn migrate(&self) -> Result<(), ConnectError> {
        sqlx::migrate!("./migrations").run(&self.pool).await?;
        Ok(())
    }

    /// A transaction that will write. SQLite takes the write lock at `BEGIN IMMEDIATE`, so a
    /// transaction that reads before it writes waits for other writers (busy timeout) instead of
    /// failing when another writer committed between its read and its write; PostgreSQL's row
    /// locks need nothing special.
    pub async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>, sqlx::Error> {
        match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => self.pool.begin().await,
        }
    }

    /// A cheap round trip, for readiness.
    pub async fn ping(&self) -> Result<(), DomainError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }
}

/// `sqlite://path` → the same URL with `mode=rwc`, after creating the file's directory.
fn prepare_sqlite_url(url: &str) -> Result<String, ConnectError> {
    let rest = url.trim_start_matches("sqlite://").trim_start_matches("sqlite:");
    let path = rest.split('?').next().unwrap_or_default();
    if let Some(dir) = std::path::Path::new(path).parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|source| ConnectError::Directory { path: dir.display().to_string(), source })?;
    }
    Ok(if url.contains('?') { url.to_string() } else { format!("{url}?mode=rwc") })
}

/// A new opaque, time-ordered id.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// `$first, $first+1, …` for `count` bound values: an `IN (…)` list written the same way for
/// SQLite and PostgreSQL, so one statement reads a whole page's worth of ids. A statement built
/// with it splices in nothing but these placeholders (hence `AssertSqlSafe`); every value is bound.
pub fn placeholders(first: usize, count: usize) -> String {
    (first..first + count).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

pub fn bool_to_int(b: bool) -> i32 {
    i32::from(b)
}

/// The rows of `sql` for many ids in one statement: `{ids}` in `sql` becomes an `IN` list of
/// numbered placeholders after the `leading` ones (`$1`…), the portable way to read many rows by
/// id (the `Any` driver binds no arrays, so `= ANY($1)` is out). No ids, no statement.
pub async fn fetch_in(
    db: &Db,
    sql: &'static str,
    leading: &[&str],
    ids: &[String],
) -> Result<Vec<AnyRow>, sqlx::Error> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let first = leading.len() + 1;
    let list = placeholders(first, ids.len());
    // Only placeholders are spliced into the text, never a value.
    let mut query = sqlx::query(AssertSqlSafe(sql.replace("{ids}", &list)));
    for value in leading.iter().copied().chain(ids.iter().map(String::as_str)) {
        query = query.bind(value);
    }
    query.fetch_all(&db.pool).await
}

#[cfg(test)]
mod tests {
    #[test]
    fn placeholders_number_the_values_of_an_in_list() {
        assert_eq!(super::placeholders(2, 3), "$2, $3, $4");
        assert_eq!(super::placeholders(1, 1), "$1");
        assert_eq!(super::placeholders(1, 0), "");
    }
}

//! The only place SQL lives. One set of portable queries over sqlx's `Any` driver, for SQLite and
//! PostgreSQL alike (see ARCHITECTURE.md for the portable subset).

pub mod accounts;
pub mod audit;
pub mod categories;
pub mod cities;
pub mod content;
pub mod demand;
pub mod idempotency;
pub mod jurisdictions;
pub mod login_failures;
pub mod media;
pub mod outbox;
pub mod places;
pub mod points;
pub mod privacy;
pub mod reports;
pub mod rewards;
pub mod sessions;
pub mod subscriptions;
pub mod units;
pub mod webhooks;
pub mod wechat;

use std::str::FromStr;
use std::time::{Duration, Instant};

use sqlx::any::{AnyConnectOptions, AnyPoolOptions, AnyRow};
use sqlx::{AnyConnection, AnyPool, AssertSqlSafe, Connection, Executor};

use crate::domain::DomainError;
use crate::domain::error::Dependency;

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
    /// SQLite: the URL of the small database beside this one that `setup_lock` locks.
    setup_lock_url: Option<String>,
}

/// How SQLite commits (`PRAGMA synchronous` in WAL mode). PostgreSQL is not affected: it commits
/// durably unless its own `synchronous_commit` says otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SqliteSync {
    /// Every commit reaches the disk before it is acknowledged: a power cut loses nothing
    /// acknowledged.
    Full,
    /// Commits reach the operating system, and the disk at checkpoints: a crash of the process
    /// loses nothing, a power cut or a crash of the machine may lose the last acknowledged commits.
    Normal,
}

impl SqliteSync {
    fn pragma(self) -> &'static str {
        match self {
            SqliteSync::Full => "PRAGMA synchronous = FULL",
            SqliteSync::Normal => "PRAGMA synchronous = NORMAL",
        }
    }
}

impl FromStr for SqliteSync {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "full" => Ok(SqliteSync::Full),
            "normal" => Ok(SqliteSync::Normal),
            other => Err(format!("`{other}` is neither full nor normal")),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("cannot prepare the SQLite directory {path}: {source}")]
    Directory { path: String, source: std::io::Error },
    #[error("cannot connect to the database: {0}")]
    Connect(#[from] sqlx::Error),
    #[error("cannot run migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("another process has been preparing the database for {0:?}; is one stuck?")]
    SetupLockTimeout(Duration),
}

impl From<sqlx::Error> for DomainError {
    fn from(err: sqlx::Error) -> Self {
        if is_unreachable(&err) {
            return DomainError::Unavailable { dependency: Dependency::Database, source: Box::new(err) };
        }
        DomainError::Internal(Box::new(err))
    }
}

/// The database could not be reached (no connection free in time, the pool closed, the network
/// or TLS failed): a 503 the client may retry, not a fault in what was asked.
fn is_unreachable(err: &sqlx::Error) -> bool {
    use sqlx::Error as E;
    matches!(err, E::PoolTimedOut | E::PoolClosed | E::Io(_) | E::Tls(_) | E::WorkerCrashed)
}

/// True when the error is a unique-constraint violation (a duplicate).
pub fn is_unique_violation(err: &sqlx::Error) -> bool {
    err.as_database_error().is_some_and(|e| e.is_unique_violation())
}

impl Db {
    /// Connects, and for SQLite creates the file (and its directory) and sets WAL, foreign keys,
    /// a busy timeout and `synchronous` on every connection.
    pub async fn connect(url: &str, max_connections: u32, synchronous: SqliteSync) -> Result<Db, ConnectError> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") { Backend::Sqlite } else { Backend::Postgres };
        let (url, setup_lock_url) = match backend {
            Backend::Sqlite => {
                let (url, path) = prepare_sqlite_url(url)?;
                (url, Some(format!("sqlite://{path}-setup.lock?mode=rwc")))
            }
            Backend::Postgres => (url.to_string(), None),
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
                        conn.execute(synchronous.pragma()).await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        Ok(Db { pool, backend, setup_lock_url })
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

    /// Waits (at most `patience`) until no other process is preparing this database, and holds it
    /// until the returned lock is released or dropped: processes started together on one database
    /// run their migrations and seeds one after another, and the later ones find the work done.
    /// PostgreSQL: a session advisory lock on a connection of its own; SQLite: the write lock of
    /// a small database beside this one (`<file>-setup.lock`). Either goes with the session, and
    /// so with the process if it dies.
    pub async fn setup_lock(&self, patience: Duration) -> Result<SetupLock, ConnectError> {
        let give_up_at = Instant::now() + patience;
        let mut said = false;
        let held = loop {
            if let Some(held) = self.try_setup_lock().await? {
                break held;
            }
            if Instant::now() >= give_up_at {
                return Err(ConnectError::SetupLockTimeout(patience));
            }
            if !said {
                tracing::info!("another process is preparing the database; waiting for it");
                said = true;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        Ok(SetupLock { session: held })
    }

    /// The setup lock's session if the lock was free, or `None`.
    async fn try_setup_lock(&self) -> Result<Option<AnyConnection>, ConnectError> {
        match &self.setup_lock_url {
            // A database of its own, so that holding its write lock blocks no write of ours.
            Some(url) => {
                let mut conn = AnyConnection::connect(url).await?;
                conn.execute("PRAGMA busy_timeout = 0").await?;
                match conn.execute("BEGIN EXCLUSIVE").await {
                    Ok(_) => Ok(Some(conn)),
                    Err(e) if is_busy(&e) => {
                        conn.close().await?;
                        Ok(None)
                    }
                    Err(e) => Err(e.into()),
                }
            }
            None => {
                // Off the pool: the lock lives as long as this session, which must never be handed
                // to another use while it holds it.
                let mut conn = self.pool.acquire().await?.detach();
                let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
                    .bind(SETUP_LOCK_KEY)
                    .fetch_one(&mut conn)
                    .await?;
                if locked {
                    Ok(Some(conn))
                } else {
                    conn.close().await?;
                    Ok(None)
                }
            }
        }
    }

    /// A cheap round trip, for readiness.
    pub async fn ping(&self) -> Result<(), DomainError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }
}

/// The key of the PostgreSQL advisory lock `Db::setup_lock` takes (any constant of our own).
const SETUP_LOCK_KEY: i64 = 0x7868_625f_7365_7475; // "xhb_setu"

/// Held while this process prepares the database; see `Db::setup_lock`.
pub struct SetupLock {
    /// The session holding the lock: ending it (or dropping it, or the process dying) frees it.
    session: AnyConnection,
}

impl SetupLock {
    /// Lets the next process prepare (it will find the work done).
    pub async fn release(self) {
        if let Err(e) = self.session.close().await {
            tracing::warn!(error = %e, "closing the setup lock's session");
        }
    }
}

/// SQLite answered "busy": another connection holds the lock.
fn is_busy(err: &sqlx::Error) -> bool {
    // SQLITE_BUSY is 5; its extended codes keep 5 in the low byte.
    let code = err.as_database_error().and_then(|e| e.code()).and_then(|c| c.parse::<i32>().ok());
    code.is_some_and(|c| c & 0xff == 5)
}

/// `sqlite://path` → the same URL with `mode=rwc`, and the file's path, after creating the
/// file's directory.
fn prepare_sqlite_url(url: &str) -> Result<(String, String), ConnectError> {
    let rest = url.trim_start_matches("sqlite://").trim_start_matches("sqlite:");
    let path = rest.split('?').next().unwrap_or_default();
    if let Some(dir) = std::path::Path::new(path).parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|source| ConnectError::Directory { path: dir.display().to_string(), source })?;
    }
    let url = if url.contains('?') { url.to_string() } else { format!("{url}?mode=rwc") };
    Ok((url, path.to_string()))
}

/// A new opaque, time-ordered id.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// `$first, $first+1, …` for `count` bound values: an `IN (…)` list written the same way for
/// SQLite and PostgreSQL, so one statement reads a whole page's worth of ids. A statement built
/// with it splices in nothing but these placeholders (hence `AssertSqlSafe`); every value is bound.
fn placeholders(first: usize, count: usize) -> String {
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
    use super::*;

    async fn sqlite(dir: &tempfile::TempDir, synchronous: SqliteSync) -> Db {
        let url = format!("sqlite://{}", dir.path().join("x.db").display());
        Db::connect(&url, 2, synchronous).await.expect("connects")
    }

    #[tokio::test]
    async fn sqlite_commits_durably_unless_the_operator_chooses_speed() {
        let dir = tempfile::tempdir().expect("temp dir");
        for (synchronous, level) in [(SqliteSync::Full, 2), (SqliteSync::Normal, 1)] {
            let db = sqlite(&dir, synchronous).await;
            let got: i64 = sqlx::query_scalar("PRAGMA synchronous").fetch_one(&db.pool).await.expect("pragma");
            assert_eq!(got, level, "{synchronous:?}");
            let journal: String = sqlx::query_scalar("PRAGMA journal_mode").fetch_one(&db.pool).await.expect("pragma");
            assert_eq!(journal, "wal");
            db.pool.close().await;
        }
    }

    #[tokio::test]
    async fn one_process_at_a_time_prepares_a_database() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (first, second) = (sqlite(&dir, SqliteSync::Full).await, sqlite(&dir, SqliteSync::Full).await);
        let held = first.setup_lock(Duration::from_secs(1)).await.expect("the first takes it");
        match second.setup_lock(Duration::from_millis(300)).await {
            Err(ConnectError::SetupLockTimeout(_)) => {}
            other => panic!("the second must wait: {:?}", other.map(|_| ())),
        }
        held.release().await;
        second.setup_lock(Duration::from_secs(1)).await.expect("then the second takes it").release().await;
    }

    #[test]
    fn placeholders_number_the_values_of_an_in_list() {
        assert_eq!(super::placeholders(2, 3), "$2, $3, $4");
        assert_eq!(super::placeholders(1, 1), "$1");
        assert_eq!(super::placeholders(1, 0), "");
    }
}

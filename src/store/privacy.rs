//! What the service holds about one rider, read out for them and erased on their word (PIPL's
//! rights of access and deletion). The reads that belong to an aggregate live with it
//! (`reports::filed_by`, `reports::events_by`, `media::owned_by`, `places::checkins_by`); this
//! file holds the rest, and the erasure, which touches every table that names an account.

use sqlx::{AnyConnection, Row};

use super::Db;
use crate::domain::DomainResult;
use crate::domain::identity::Role;
use crate::domain::time::Millis;

/// An account as the service holds it, openid included (never the WeChat session key, which is
/// not stored at all).
#[derive(Debug, Clone)]
pub struct AccountRecord {
    pub id: String,
    pub city_id: String,
    pub role: Role,
    pub display_name: String,
    pub wechat_openid: Option<String>,
    pub created_at: Millis,
    pub updated_at: Millis,
}

pub async fn account(db: &Db, id: &str) -> DomainResult<Option<AccountRecord>> {
    let row = sqlx::query(
        "SELECT id, city_id, role, display_name, wechat_openid, created_at, updated_at FROM accounts WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&db.pool)
    .await?;
    row.map(|r| {
        Ok(AccountRecord {
            id: r.try_get("id")?,
            city_id: r.try_get("city_id")?,
            role: r.try_get::<String, _>("role")?.parse()?,
            display_name: r.try_get("display_name")?,
            wechat_openid: r.try_get("wechat_openid")?,
            created_at: Millis(r.try_get("created_at")?),
            updated_at: Millis(r.try_get("updated_at")?),
        })
    })
    .transpose()
}

/// A session, without its token (only a keyed hash of it is stored, and that stays here).
#[derive(Debug, Clone)]
pub struct SessionRecord {
    pub created_at: Millis,
    pub expires_at: Millis,
    pub revoked_at: Option<Millis>,
}

/// An account's sessions, newest first, at most `limit`.
pub async fn sessions_of(db: &Db, account_id: &str, limit: u32) -> DomainResult<Vec<SessionRecord>> {
    let rows = sqlx::query(
        "SELECT created_at, expires_at, revoked_at FROM sessions WHERE account_id = $1 \
         ORDER BY created_at DESC LIMIT $2",
    )
    .bind(account_id)
    .bind(i64::from(limit))
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(SessionRecord {
                created_at: Millis(r.try_get("created_at")?),
                expires_at: Millis(r.try_get("expires_at")?),
                revoked_at: r.try_get::<Option<i64>, _>("revoked_at")?.map(Millis),
            })
        })
        .collect()
}

/// A report an account follows, and since when.
#[derive(Debug, Clone)]
pub struct FollowRecord {
    pub report_id: String,
    pub since: Millis,
}

/// The reports an account follows (its own included), newest first, at most `limit`.
pub async fn follows_of(db: &Db, account_id: &str, limit: u32) -> DomainResult<Vec<FollowRecord>> {
    let rows = sqlx::query(
        "SELECT report_id, created_at FROM report_followers WHERE account_id = $1 \
         ORDER BY created_at DESC, report_id DESC LIMIT $2",
    )
    .bind(account_id)
    .bind(i64::from(limit))
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|r| Ok(FollowRecord { report_id: r.try_get("report_id")?, since: Millis(r.try_get("created_at")?) }))
        .collect()
}

/// The account that erased riders' reports and kept photos point to: one per city, a rider that
/// cannot log in (no openid, disabled), named for what it is. Created on first use.
pub async fn ensure_tombstone(
    conn: &mut AnyConnection,
    id: &str,
    city_id: &str,
    display_name: &str,
    now: Millis,
) -> DomainResult<()> {
    sqlx::query(
        "INSERT INTO accounts (id, city_id, role, wechat_openid, username, password_hash, display_name, office_id, \
         disabled, created_at, updated_at) VALUES ($1, $2, 'rider', NULL, NULL, NULL, $3, NULL, 1, $4, $4) \
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(id)
    .bind(city_id)
    .bind(display_name)
    .bind(now.0)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// What an erasure did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Erasure {
    /// Reports kept for the city's record, now filed by the tombstone.
    pub reports_kept: u64,
    /// Photos kept because a report holds them, now owned by the tombstone.
    pub media_kept: u64,
    /// The files of the photos deleted (no report held them), under the media directory.
    pub media_files_deleted: Vec<String>,
    pub checkins_deleted: u64,
    pub follows_deleted: u64,
    pub sessions_deleted: u64,
    /// Redemptions kept for the places' and the city's record, now by the tombstone.
    pub redemptions_kept: u64,
    /// Of those, the ones still waiting for pickup: cancelled, their rewards' stock put back.
    pub redemptions_cancelled: u64,
}

/// Erases a rider in the caller's transaction: every row that names the account either goes or
/// is unlinked, and the account row goes last.
///
/// - sessions, follows, idempotency keys, subscribe-message consents, check-ins (a trace of where the rider was), and
///   queued messages to them: deleted;
/// - reports they filed: kept, filed by `tombstone_id`; timeline entries they made: kept, with no
///   actor account; photos attached to a report: kept, owned and added by `tombstone_id`; other
///   photos: deleted (the caller deletes their files after committing);
/// - redemptions: kept, by `tombstone_id` (what was handed out where stays on record); those
///   still waiting for pickup are cancelled and their rewards' stock put back (nobody can show
///   the code any more);
/// - audit entries: the account id becomes none as actor, `tombstone_id` as object and inside
///   the before/after records.
///
/// The foreign keys to `accounts` make the last step fail (and the transaction roll back) if any
/// table still points at the account.
pub async fn erase_rider(conn: &mut AnyConnection, account_id: &str, tombstone_id: &str) -> DomainResult<Erasure> {
    async fn run(conn: &mut AnyConnection, sql: &'static str, a: &str, b: Option<&str>) -> DomainResult<u64> {
        let mut q = sqlx::query(sql).bind(a);
        if let Some(b) = b {
            q = q.bind(b);
        }
        Ok(q.execute(&mut *conn).await?.rows_affected())
    }
    let id = account_id;
    let tomb = Some(tombstone_id);
    let mut erased = Erasure {
        sessions_deleted: run(conn, "DELETE FROM sessions WHERE account_id = $1", id, None).await?,
        follows_deleted: run(conn, "DELETE FROM report_followers WHERE account_id = $1", id, None).await?,
        ..Erasure::default()
    };
    run(conn, "DELETE FROM idempotency_keys WHERE caller_id = $1", id, None).await?;
    run(conn, "DELETE FROM subscription_consents WHERE account_id = $1", id, None).await?;
    run(conn, "DELETE FROM rider_submissions WHERE rider_id = $1", id, None).await?;
    run(conn, "UPDATE report_events SET actor_id = NULL WHERE actor_id = $1", id, None).await?;
    erased.reports_kept = run(conn, "UPDATE reports SET reporter_id = $2 WHERE reporter_id = $1", id, tomb).await?;
    run(conn, "UPDATE report_media SET added_by = $2 WHERE added_by = $1", id, tomb).await?;
    let deleted = sqlx::query(
        "DELETE FROM media WHERE owner_id = $1 \
         AND NOT EXISTS (SELECT 1 FROM report_media rm WHERE rm.media_id = media.id) RETURNING storage_key",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    erased.media_files_deleted = deleted.iter().map(|r| r.try_get("storage_key")).collect::<Result<_, _>>()?;
    erased.media_kept = run(conn, "UPDATE media SET owner_id = $2 WHERE owner_id = $1", id, tomb).await?;
    erased.checkins_deleted = run(conn, "DELETE FROM place_checkins WHERE rider_id = $1", id, None).await?;
    // The rewards first, then the redemptions: the order every redemption takes its rows in.
    run(
        conn,
        "UPDATE rewards SET stock = stock + (SELECT COUNT(*) FROM redemptions d WHERE d.reward_id = rewards.id \
         AND d.rider_id = $1 AND d.status = 'pending') \
         WHERE id IN (SELECT reward_id FROM redemptions WHERE rider_id = $1 AND status = 'pending')",
        id,
        None,
    )
    .await?;
    erased.redemptions_cancelled = sqlx::query(
        "UPDATE redemptions SET status = 'cancelled', ended_at = $2 WHERE rider_id = $1 AND status = 'pending'",
    )
    .bind(id)
    .bind(Millis::now().0)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    erased.redemptions_kept = run(conn, "UPDATE redemptions SET rider_id = $2 WHERE rider_id = $1", id, tomb).await?;
    run(conn, "UPDATE audit_log SET actor_id = NULL WHERE actor_id = $1", id, None).await?;
    run(conn, "UPDATE audit_log SET object_id = $2 WHERE object_id = $1", id, tomb).await?;
    // Ids are UUIDs (no `%` or `_`), so the pattern matches the id and nothing else.
    let inside = format!("%{id}%");
    sqlx::query(
        "UPDATE audit_log SET before_json = REPLACE(before_json, $1, $2), after_json = REPLACE(after_json, $1, $2) \
         WHERE before_json LIKE $3 OR after_json LIKE $3",
    )
    .bind(id)
    .bind(tombstone_id)
    .bind(&inside)
    .execute(&mut *conn)
    .await?;
    // Points: the ledger stays in the city's accounts, by the tombstone; the balance, the days
    // and the ranking lines (less their score counts) go.
    run(conn, "UPDATE point_entries SET actor_id = NULL WHERE actor_id = $1", id, None).await?;
    run(conn, "UPDATE point_entries SET rider_id = $2 WHERE rider_id = $1", id, tomb).await?;
    run(
        conn,
        "UPDATE point_score_counts SET riders = riders - 1 WHERE EXISTS (SELECT 1 FROM point_totals t \
         WHERE t.rider_id = $1 AND t.points > 0 AND t.period = point_score_counts.period \
         AND t.scope = point_score_counts.scope AND t.points = point_score_counts.points)",
        id,
        None,
    )
    .await?;
    run(conn, "DELETE FROM point_totals WHERE rider_id = $1", id, None).await?;
    run(conn, "DELETE FROM point_days WHERE rider_id = $1", id, None).await?;
    run(conn, "DELETE FROM point_accounts WHERE rider_id = $1", id, None).await?;
    // Messages name their recipient by account id (the openid is looked up only when sending).
    run(conn, "DELETE FROM outbox WHERE payload_json LIKE $1", &inside, None).await?;
    let gone = run(conn, "DELETE FROM accounts WHERE id = $1 AND role = 'rider'", id, None).await?;
    if gone != 1 {
        return Err(crate::domain::DomainError::NotFound("account"));
    }
    Ok(erased)
}

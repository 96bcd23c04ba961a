//! What the service keeps about its use of WeChat's server APIs.

use super::Db;
use crate::domain::DomainResult;
use crate::domain::time::Millis;

/// Takes one of the app's forced token refreshes for `day` if fewer than `per_day` were taken
/// that day and the last was at least `apart_ms` ago: one conditional statement, so nodes
/// asking at once cannot both get the last one.
pub async fn take_forced_refresh(
    db: &Db,
    app_id: &str,
    day: &str,
    per_day: i64,
    apart_ms: i64,
    now: Millis,
) -> DomainResult<bool> {
    let taken = sqlx::query(
        "INSERT INTO wechat_forced_refreshes (app_id, day, used, last_at) VALUES ($1, $2, 1, $3) \
         ON CONFLICT (app_id) DO UPDATE SET day = $2, last_at = $3, used = CASE \
         WHEN wechat_forced_refreshes.day = $2 THEN wechat_forced_refreshes.used + 1 ELSE 1 END \
         WHERE (wechat_forced_refreshes.day <> $2 OR wechat_forced_refreshes.used < $4) \
         AND wechat_forced_refreshes.last_at <= $5",
    )
    .bind(app_id)
    .bind(day)
    .bind(now.0)
    .bind(per_day)
    .bind(now.0 - apart_ms)
    .execute(&db.pool)
    .await?;
    Ok(taken.rows_affected() == 1)
}

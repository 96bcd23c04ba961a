//! A rider's rights over their personal information (PIPL arts. 45 and 47): a copy of
//! everything the service holds about them, and erasure.
//!
//! Erasing keeps what the city needs and unlinks it: reports the rider filed stay in their units'
//! queues, records and rates, but are filed by the city's tombstone account ("已注销用户", which
//! cannot log in), and nothing left in the database ties them, or the photos on them, to the
//! rider's account, openid or name. Everything else about the rider goes. The README's privacy
//! section says what is kept, for how long, and why.

use std::path::PathBuf;

use serde_json::json;

use super::media::OwnPhoto;
use super::reports::{ReportView, ReportsContext, Units, views};
use crate::domain::DomainResult;
use crate::domain::identity::Rider;
use crate::domain::places::CheckinRecord;
use crate::domain::rewards::RedemptionNamed;
use crate::domain::time::Millis;
use crate::store::audit::{self, AuditEntry};
use crate::store::privacy::{AccountRecord, Erasure, FollowRecord, SessionRecord};
use crate::store::reports::EventRow;
use crate::store::{self};

/// The most entries one list of a data copy holds (the newest); `MyData::complete` says whether
/// any list was cut.
pub const MAX_EXPORT_ROWS: u32 = 10_000;
/// The name of the account erased riders' reports are filed by.
pub const ERASED_NAME: &str = "已注销用户";

/// What the rights of access and erasure need: tap to report's context (the database, the city)
/// and the directory photos live in.
#[derive(Clone)]
pub struct PrivacyContext {
    pub reports: ReportsContext,
    pub media_dir: PathBuf,
}

/// The account erased riders' reports and kept photos are moved to, one per city.
pub fn tombstone_id(city_id: &str) -> String {
    format!("erased-{city_id}")
}

/// Everything the service holds about a rider.
#[derive(Debug, Clone)]
pub struct MyData {
    pub account: AccountRecord,
    /// Reports they filed, whole (description, exact location, rating), with the photos they
    /// attached; newest first.
    pub reports: Vec<ReportView>,
    /// Timeline entries they made on any report (filing, "me too"s, reopening, closing,
    /// rating), with what they wrote; newest first.
    pub actions: Vec<EventRow>,
    pub follows: Vec<FollowRecord>,
    pub checkins: Vec<CheckinRecord>,
    /// Their points balance and ledger, newest first.
    pub points_balance: i64,
    pub point_entries: Vec<crate::store::points::Line>,
    /// The photos they uploaded, each with a signed URL.
    pub media: Vec<OwnPhoto>,
    pub sessions: Vec<SessionRecord>,
    /// Their unused subscribe-message consents: (template id, how many).
    pub consents: Vec<(String, i64)>,
    /// Their redemptions at the points supermarket, with their pickup codes.
    pub redemptions: Vec<RedemptionNamed>,
    /// False when a list held more than `MAX_EXPORT_ROWS` entries and shows the newest only.
    pub complete: bool,
}

/// Cuts a list fetched with one entry to spare down to `MAX_EXPORT_ROWS`; false when it was cut.
fn cut<T>(list: &mut Vec<T>) -> bool {
    let whole = list.len() <= MAX_EXPORT_ROWS as usize;
    list.truncate(MAX_EXPORT_ROWS as usize);
    whole
}

/// A copy of everything the service holds about the rider: one statement per table.
pub async fn my_data(ctx: &PrivacyContext, rider: &Rider) -> DomainResult<MyData> {
    let r = &ctx.reports;
    let db = &r.db;
    let id = rider.account_id.as_str();
    let fetch = MAX_EXPORT_ROWS + 1;
    let account = store::privacy::account(db, id).await?.ok_or(crate::domain::DomainError::NotFound("account"))?;
    let mut filed = store::reports::filed_by(db, id, fetch).await?;
    let mut actions = store::reports::events_by(db, id, fetch).await?;
    let mut follows = store::privacy::follows_of(db, id, fetch).await?;
    let mut checkins = store::places::checkins_by(db, id, fetch).await?;
    let mut media = store::media::owned_by(db, id, fetch).await?;
    let points_balance = store::points::balance(db, id).await?;
    let mut point_entries = store::points::history(db, id, None, fetch).await?;
    let mut sessions = store::privacy::sessions_of(db, id, fetch).await?;
    let mut redemptions = store::rewards::newest_first(db, store::rewards::Whose::Rider(id), None, fetch).await?;
    let consents = store::subscriptions::unused(db, id).await?;
    let complete = [
        cut(&mut filed),
        cut(&mut actions),
        cut(&mut follows),
        cut(&mut checkins),
        cut(&mut media),
        cut(&mut point_entries),
        cut(&mut sessions),
        cut(&mut redemptions),
    ]
    .iter()
    .all(|whole| *whole);
    let units = Units::load(db, &r.city.id, filed.iter().map(|f| f.office_id.as_str())).await?;
    let mut reports = views(r, filed, &units).await?;
    // The photos listed are theirs: others' "me too" photos on their reports are not theirs to get.
    let own: std::collections::HashSet<&str> = media.iter().map(|m| m.id.as_str()).collect();
    for report in &mut reports {
        report.photos.retain(|p| own.contains(p.id.as_str()));
    }
    let now = Millis::now();
    let media = media.into_iter().map(|photo| OwnPhoto { url: r.photo_urls.sign(&photo.id, now), photo }).collect();
    Ok(MyData {
        account,
        reports,
        actions,
        follows,
        checkins,
        points_balance,
        point_entries,
        media,
        sessions,
        redemptions,
        consents,
        complete,
    })
}

/// Erases the rider: their sessions end (the token stops working at once), their account,
/// openid and name go, and everything else either goes or loses its link to them (see
/// `store::privacy::erase_rider`). The erasure and its audit entry commit together; the files of
/// deleted photos are removed after that.
pub async fn erase(ctx: &PrivacyContext, rider: &Rider, now: Millis) -> DomainResult<Erasure> {
    let db = &ctx.reports.db;
    let tombstone = tombstone_id(&rider.city_id);
    let mut tx = db.begin_write().await?;
    store::privacy::ensure_tombstone(&mut tx, &tombstone, &rider.city_id, ERASED_NAME, now).await?;
    let erased = store::privacy::erase_rider(&mut tx, &rider.account_id, &tombstone).await?;
    let after = json!({
        "reports_kept": erased.reports_kept,
        "media_kept": erased.media_kept,
        "media_deleted": erased.media_files_deleted.len(),
        "checkins_deleted": erased.checkins_deleted,
        "follows_deleted": erased.follows_deleted,
        "sessions_deleted": erased.sessions_deleted,
        "redemptions_kept": erased.redemptions_kept,
        "redemptions_cancelled": erased.redemptions_cancelled,
    });
    // Nobody is named: the actor is the account that no longer exists.
    let entry = AuditEntry {
        city_id: &rider.city_id,
        actor_id: None,
        action: "account.erase",
        object_kind: "account",
        object_id: &tombstone,
        before: None,
        after: Some(after),
    };
    audit::record(&mut *tx, entry).await?;
    tx.commit().await?;
    for key in &erased.media_files_deleted {
        match tokio::fs::remove_file(ctx.media_dir.join(key)).await {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            // The row is gone, so nothing serves the file; an operator may sweep it.
            Err(e) => tracing::warn!(error = %e, file = %key, "erasure: cannot delete a photo file"),
        }
    }
    Ok(erased)
}

//! Governance points (积分): paying by the city's rules in the transaction of the event that earns
//! them, taking back what a false or duplicate report paid, spending and refunding for the points
//! supermarket, a rider's balance and history, the rankings, and the admins' export.
//!
//! Every posting goes the same way, inside the caller's transaction: hold the riders concerned
//! (in id order), decide each entry against the rider's day, append it (the ledger's unique key
//! drops a second payment for the same rule, rider and object), move the balance, then the
//! ranking totals and their score counts (each set of rows in key order, so that concurrent
//! postings always take their row locks in one order and never deadlock on PostgreSQL).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use sqlx::AnyConnection;

use crate::domain::city::City;
use crate::domain::error::ErrorCode;
use crate::domain::identity::{Caller, Role};
use crate::domain::notify::{PointsArrived, Template};
use crate::domain::points::{
    CITY_SCOPE, LocalDay, PaidReason, Period, PointObject, PointRule, PointRules, earning, masked_name, ranks,
};
use crate::domain::time::Millis;
use crate::domain::{DomainError, DomainResult};
use crate::store::audit::{self, AuditEntry};
use crate::store::idempotency::{self, Claim, IdempotencyKey};
use crate::store::points::{self as store, EntryRow, Line, Ranked};
use crate::store::reports::ReportRow;
use crate::store::{Db, new_id};

/// What posting points needs: the city (its calendar) and the subscribe message that tells a
/// rider points arrived for a report (none: riders are not told).
#[derive(Clone)]
pub struct Ledger {
    pub city: Arc<City>,
    pub notify_template: Option<Template>,
}

/// Points a rule pays a rider for an object, before the day's limits are applied.
#[derive(Debug, Clone)]
pub struct Grant {
    pub rider_id: String,
    pub rule: PointRule,
    pub object: PointObject,
    pub object_id: String,
    pub amount: i64,
    /// The unit whose area the points count towards in rankings.
    pub office_id: Option<String>,
    pub actor_id: Option<String>,
    pub actor_role: &'static str,
    pub note: Option<String>,
}

impl Ledger {
    /// The city's rules as they stand in this transaction.
    pub async fn rules(&self, conn: &mut AnyConnection) -> DomainResult<PointRules> {
        rules_in(conn, &self.city.id).await
    }

    /// Pays each grant at most once, cut to what the rider's day leaves (an entry over a limit is
    /// written with what it paid, possibly 0, and why). Returns the entries written; a grant
    /// already paid writes nothing.
    pub async fn earn(&self, conn: &mut AnyConnection, grants: Vec<Grant>, now: Millis) -> DomainResult<Vec<EntryRow>> {
        if grants.is_empty() {
            return Ok(Vec::new());
        }
        let rules = self.rules(conn).await?;
        let day = LocalDay::of(now, self.city.tz);
        let mut grants = grants;
        grants.sort_by(|a, b| a.rider_id.cmp(&b.rider_id));
        let mut held = Vec::new();
        let mut written = Vec::new();
        for grant in grants {
            if held.last() != Some(&grant.rider_id) {
                store::hold_rider(conn, &self.city.id, &grant.rider_id, now).await?;
                held.push(grant.rider_id.clone());
            }
            let tally = store::day_tally(conn, &grant.rider_id, &day).await?;
            let (amount, reason) = earning(&rules, grant.rule, grant.amount, tally);
            let entry = EntryRow {
                id: new_id(),
                city_id: self.city.id.clone(),
                rider_id: grant.rider_id,
                amount,
                rule_amount: grant.amount,
                rule: grant.rule,
                object_kind: grant.object,
                object_id: grant.object_id,
                office_id: grant.office_id,
                actor_id: grant.actor_id,
                actor_role: grant.actor_role.to_string(),
                reason,
                note: grant.note,
                reverses: None,
                local_day: day.clone(),
                at: now,
            };
            if !store::insert_entry(conn, &entry).await? {
                continue;
            }
            store::save_day(conn, &entry.rider_id, &day, tally.after(entry.rule, amount)).await?;
            if amount > 0 {
                store::change_balance(conn, &entry.rider_id, amount, now).await?;
            }
            written.push(entry);
        }
        let changes: Vec<RankingChange> = written.iter().map(RankingChange::earned).collect();
        apply_to_rankings(conn, &self.city.id, changes).await?;
        self.tell_riders(conn, &written, now).await?;
        Ok(written)
    }

    /// Takes back everything the rules paid for an object that has not been taken back yet:
    /// one opposite entry each, at most what the rider still holds (the balance never goes
    /// below zero), while rankings lose the whole of it.
    pub async fn reverse(
        &self,
        conn: &mut AnyConnection,
        object: PointObject,
        object_id: &str,
        why: PaidReason,
        actor: (Option<&str>, &'static str),
        now: Millis,
    ) -> DomainResult<Vec<EntryRow>> {
        let mut paid: Vec<EntryRow> = store::entries_for(conn, object, object_id)
            .await?
            .into_iter()
            .filter(|e| e.rule.is_earning() && e.amount > 0)
            .collect();
        paid.sort_by(|a, b| a.rider_id.cmp(&b.rider_id).then_with(|| a.id.cmp(&b.id)));
        let mut balances: HashMap<String, i64> = HashMap::new();
        let mut written = Vec::new();
        let mut changes = Vec::new();
        for original in paid {
            let balance = match balances.get(&original.rider_id) {
                Some(balance) => *balance,
                None => store::hold_rider(conn, &self.city.id, &original.rider_id, now).await?,
            };
            let taken = original.amount.min(balance);
            let entry = EntryRow {
                id: new_id(),
                amount: -taken,
                rule_amount: -original.amount,
                rule: PointRule::Reversal,
                actor_id: actor.0.map(str::to_string),
                actor_role: actor.1.to_string(),
                reason: why,
                note: None,
                reverses: Some(original.id.clone()),
                at: now,
                ..original.clone()
            };
            let inserted = store::insert_entry(conn, &entry).await?;
            if inserted {
                store::change_balance(conn, &entry.rider_id, -taken, now).await?;
                changes.push(RankingChange::earned(&original).negated());
                written.push(entry);
            }
            balances.insert(original.rider_id, if inserted { balance - taken } else { balance });
        }
        apply_to_rankings(conn, &self.city.id, changes).await?;
        Ok(written)
    }

    /// Spends `cost` of the rider's points on a redemption, only if their balance covers it
    /// (one conditional statement). `None` when it does not; the caller rolls back.
    pub async fn spend(
        &self,
        conn: &mut AnyConnection,
        rider_id: &str,
        cost: i64,
        redemption_id: &str,
        now: Millis,
    ) -> DomainResult<Option<EntryRow>> {
        store::hold_rider(conn, &self.city.id, rider_id, now).await?;
        if !store::change_balance(conn, rider_id, -cost, now).await? {
            return Ok(None);
        }
        let entry =
            self.plain_entry(rider_id, -cost, PointRule::Redemption, redemption_id, (Some(rider_id), "rider"), now);
        if !store::insert_entry(conn, &entry).await? {
            return Err(DomainError::internal(format!("redemption {redemption_id} was already paid for")));
        }
        Ok(Some(entry))
    }

    /// Gives back what a redemption cost, once: a second refund of the same redemption writes
    /// nothing and returns `None`.
    pub async fn refund(
        &self,
        conn: &mut AnyConnection,
        rider_id: &str,
        cost: i64,
        redemption_id: &str,
        actor: (Option<&str>, &'static str),
        now: Millis,
    ) -> DomainResult<Option<EntryRow>> {
        store::hold_rider(conn, &self.city.id, rider_id, now).await?;
        let entry = self.plain_entry(rider_id, cost, PointRule::RedemptionRefund, redemption_id, actor, now);
        if !store::insert_entry(conn, &entry).await? {
            return Ok(None);
        }
        store::change_balance(conn, rider_id, cost, now).await?;
        Ok(Some(entry))
    }

    fn plain_entry(
        &self,
        rider_id: &str,
        amount: i64,
        rule: PointRule,
        redemption_id: &str,
        actor: (Option<&str>, &'static str),
        now: Millis,
    ) -> EntryRow {
        EntryRow {
            id: new_id(),
            city_id: self.city.id.clone(),
            rider_id: rider_id.to_string(),
            amount,
            rule_amount: amount,
            rule,
            object_kind: PointObject::Redemption,
            object_id: redemption_id.to_string(),
            office_id: None,
            actor_id: actor.0.map(str::to_string),
            actor_role: actor.1.to_string(),
            reason: PaidReason::Full,
            note: None,
            reverses: None,
            local_day: LocalDay::of(now, self.city.tz),
            at: now,
        }
    }

    /// Riders hear when points arrive for a report (not for what they just did in the app).
    async fn tell_riders(&self, conn: &mut AnyConnection, entries: &[EntryRow], now: Millis) -> DomainResult<()> {
        let Some(template) = self.notify_template.as_ref() else { return Ok(()) };
        for e in entries.iter().filter(|e| e.amount > 0 && e.object_kind == PointObject::Report) {
            if matches!(e.rule, PointRule::Rating) {
                continue;
            }
            let arrived = PointsArrived {
                report_id: &e.object_id,
                what: e.rule.words().0,
                amount: e.amount,
                at: now.in_zone(self.city.tz),
            };
            crate::service::notify::queue_points_arrived(conn, template, &self.city.id, &e.rider_id, &arrived).await?;
        }
        Ok(())
    }

    // ---- what reports pay ----

    /// A unit accepted a report: its reporter earns, and so does the first other rider who said
    /// "me too" on it.
    pub async fn report_accepted(
        &self,
        conn: &mut AnyConnection,
        report: &ReportRow,
        clerk_id: &str,
        now: Millis,
    ) -> DomainResult<Vec<EntryRow>> {
        let rules = self.rules(conn).await?;
        let mut grants = vec![report_grant(report, PointRule::ReportAccepted, rules.report_accepted, clerk_id)];
        if let Some(first) = store::first_me_too(conn, &report.id, &report.reporter_id).await? {
            grants.push(Grant {
                rider_id: first,
                ..report_grant(report, PointRule::FirstMeToo, rules.first_me_too, clerk_id)
            });
        }
        self.earn(conn, grants, now).await
    }

    /// A unit resolved a report: its reporter earns.
    pub async fn report_resolved(
        &self,
        conn: &mut AnyConnection,
        report: &ReportRow,
        clerk_id: &str,
        now: Millis,
    ) -> DomainResult<Vec<EntryRow>> {
        let rules = self.rules(conn).await?;
        self.earn(conn, vec![report_grant(report, PointRule::ReportResolved, rules.report_resolved, clerk_id)], now)
            .await
    }

    /// The reporter rated the outcome.
    pub async fn report_rated(&self, conn: &mut AnyConnection, report: &ReportRow, now: Millis) -> DomainResult<()> {
        let rules = self.rules(conn).await?;
        let grant = Grant {
            actor_id: Some(report.reporter_id.clone()),
            actor_role: "rider",
            ..report_grant(report, PointRule::Rating, rules.rating, "")
        };
        self.earn(conn, vec![grant], now).await?;
        Ok(())
    }

    /// A successful check-in at a place, in the area of `office_id`.
    pub async fn checked_in(
        &self,
        conn: &mut AnyConnection,
        rider_id: &str,
        checkin_id: &str,
        office_id: Option<String>,
        now: Millis,
    ) -> DomainResult<()> {
        let rules = self.rules(conn).await?;
        let grant = Grant {
            rider_id: rider_id.to_string(),
            rule: PointRule::Checkin,
            object: PointObject::Checkin,
            object_id: checkin_id.to_string(),
            amount: rules.checkin,
            office_id,
            actor_id: Some(rider_id.to_string()),
            actor_role: "rider",
            note: None,
        };
        self.earn(conn, vec![grant], now).await?;
        Ok(())
    }
}

/// What a report pays its reporter by `rule`, counted towards the report's unit.
fn report_grant(report: &ReportRow, rule: PointRule, amount: i64, clerk_id: &str) -> Grant {
    Grant {
        rider_id: report.reporter_id.clone(),
        rule,
        object: PointObject::Report,
        object_id: report.id.clone(),
        amount,
        office_id: Some(report.office_id.clone()),
        actor_id: (!clerk_id.is_empty()).then(|| clerk_id.to_string()),
        actor_role: "staff",
        note: None,
    }
}

async fn rules_in(conn: &mut AnyConnection, city_id: &str) -> DomainResult<PointRules> {
    match store::rules_json(conn, city_id).await? {
        Some(json) => serde_json::from_str(&json).map_err(|e| DomainError::internal_in("stored point rules", e)),
        None => Ok(PointRules::default()),
    }
}

/// A change to a rider's ranking totals: `delta` points in the periods of `day`, in the city and
/// in the unit's area.
#[derive(Debug, Clone)]
struct RankingChange {
    rider_id: String,
    day: LocalDay,
    office_id: Option<String>,
    delta: i64,
}

impl RankingChange {
    fn earned(e: &EntryRow) -> RankingChange {
        let delta = if e.rule.is_earning() { e.amount } else { 0 };
        RankingChange { rider_id: e.rider_id.clone(), day: e.local_day.clone(), office_id: e.office_id.clone(), delta }
    }

    fn negated(self) -> RankingChange {
        RankingChange { delta: -self.delta, ..self }
    }
}

/// Moves the ranking totals and the score counts, each set in key order.
async fn apply_to_rankings(conn: &mut AnyConnection, city_id: &str, changes: Vec<RankingChange>) -> DomainResult<()> {
    let mut totals: BTreeMap<(String, String, String), i64> = BTreeMap::new();
    for change in changes.into_iter().filter(|c| c.delta != 0) {
        let scopes = std::iter::once(CITY_SCOPE.to_string()).chain(change.office_id.clone());
        for scope in scopes {
            for period in change.day.periods() {
                *totals.entry((period.key().to_string(), scope.clone(), change.rider_id.clone())).or_default() +=
                    change.delta;
            }
        }
    }
    let mut scores: BTreeMap<(String, String, i64), i64> = BTreeMap::new();
    for ((period, scope, rider_id), delta) in totals.into_iter().filter(|(_, d)| *d != 0) {
        let (before, after) = store::add_to_total(conn, city_id, &period, &scope, &rider_id, delta).await?;
        if before > 0 {
            *scores.entry((period.clone(), scope.clone(), before)).or_default() -= 1;
        }
        if after > 0 {
            *scores.entry((period, scope, after)).or_default() += 1;
        }
    }
    for ((period, scope, points), delta) in scores.into_iter().filter(|(_, d)| *d != 0) {
        store::count_score(conn, city_id, &period, &scope, points, delta).await?;
    }
    Ok(())
}

const AWARD_SCOPE: &str = "points.award";

// ---- reading and administering points ----

/// What reading points needs.
#[derive(Clone)]
pub struct PointsContext {
    pub db: Db,
    pub ledger: Ledger,
    pub rankings: Arc<RankingCache>,
}

/// Ranking pages and each ranking's score counts, kept for a moment on this node: every reader
/// of a ranking sees the same lines, so a busy leaderboard costs one read per page a second, not
/// one per rider. The reader's own points are always read live.
pub struct RankingCache {
    ttl: Duration,
    entries: Mutex<HashMap<RankingKey, (Instant, Arc<CachedRanking>)>>,
}

/// (period, scope, after, limit)
type RankingKey = (String, String, Option<(i64, String)>, u32);

/// A page of lines and the score counts of its ranking, read together.
struct CachedRanking {
    lines: Vec<Ranked>,
    counts: Vec<(i64, i64)>,
}

/// The most pages a node keeps; past it the cache starts over.
const RANKING_CACHE_PAGES: usize = 1_000;

impl RankingCache {
    pub fn new(ttl: Duration) -> Self {
        RankingCache { ttl, entries: Mutex::default() }
    }

    fn get(&self, key: &RankingKey) -> Option<Arc<CachedRanking>> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.get(key).filter(|(at, _)| at.elapsed() < self.ttl).map(|(_, page)| page.clone())
    }

    fn put(&self, key: RankingKey, page: Arc<CachedRanking>) {
        if self.ttl.is_zero() {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= RANKING_CACHE_PAGES {
            entries.retain(|_, (at, _)| at.elapsed() < self.ttl);
            if entries.len() >= RANKING_CACHE_PAGES {
                entries.clear();
            }
        }
        entries.insert(key, (Instant::now(), page));
    }
}

impl PointsContext {
    fn city(&self) -> &City {
        &self.ledger.city
    }
}

pub async fn rules(ctx: &PointsContext) -> DomainResult<PointRules> {
    let mut conn = ctx.db.pool.acquire().await?;
    rules_in(&mut conn, &ctx.city().id).await
}

/// A city admin changes the rules (audited, before and after).
pub async fn set_rules(ctx: &PointsContext, admin: &Caller, new: PointRules) -> DomainResult<PointRules> {
    admin.require_role(&[Role::CityAdmin])?;
    let new = new.checked()?;
    let json = serde_json::to_string(&new).map_err(DomainError::internal)?;
    let mut tx = ctx.db.begin_write().await?;
    let before = rules_in(&mut tx, &ctx.city().id).await?;
    store::save_rules(&mut tx, &ctx.city().id, &json, Millis::now()).await?;
    let entry = AuditEntry {
        city_id: &ctx.city().id,
        actor_id: Some(&admin.account_id),
        action: "points.rules.update",
        object_kind: "point_rules",
        object_id: &ctx.city().id,
        before: serde_json::to_value(before).ok(),
        after: serde_json::to_value(new).ok(),
    };
    audit::record(&mut *tx, entry).await?;
    tx.commit().await?;
    Ok(new)
}

/// A rider's points: the balance, what they kept of this month's earnings, and a page of their
/// ledger, newest first.
#[derive(Debug, Clone)]
pub struct MyPoints {
    pub balance: i64,
    pub earned_this_month: i64,
    pub history: Vec<Line>,
}

pub async fn mine(
    ctx: &PointsContext,
    rider_id: &str,
    before: Option<&str>,
    limit: u32,
    now: Millis,
) -> DomainResult<MyPoints> {
    let month = Period::month_of(now, ctx.city().tz);
    let scope = (month.key(), CITY_SCOPE);
    let (balance, earned_this_month, history) =
        store::page_with_summary(&ctx.db, rider_id, scope, before, limit).await?;
    Ok(MyPoints { balance, earned_this_month, history })
}

/// One place in a ranking: a masked name only for riders who opted in.
#[derive(Debug, Clone)]
pub struct RankingRow {
    pub rank: i64,
    pub points: i64,
    pub name: Option<String>,
    /// The rider reading the ranking.
    pub me: bool,
    /// Where the next page starts.
    pub key: (i64, String),
}

/// A page of a period's ranking in the city or a unit's area, and the reader's own place.
#[derive(Debug, Clone)]
pub struct RankingPage {
    pub rows: Vec<RankingRow>,
    /// The reader's own rank and points (every rider sees their own, named or not).
    pub mine: Option<(i64, i64)>,
}

pub async fn ranking(
    ctx: &PointsContext,
    reader: Option<&str>,
    period: &Period,
    office_id: Option<&str>,
    after: Option<(i64, &str)>,
    limit: u32,
) -> DomainResult<RankingPage> {
    let scope = office_id.unwrap_or(CITY_SCOPE);
    let key: RankingKey = (period.key().to_string(), scope.to_string(), after.map(|(p, r)| (p, r.to_string())), limit);
    let page = match ctx.rankings.get(&key) {
        Some(page) => page,
        None => {
            let lines = store::ranking(&ctx.db, period.key(), scope, after, limit).await?;
            let (counts, _) = store::score_counts(&ctx.db, period.key(), scope, 1, None).await?;
            let page = Arc::new(CachedRanking { lines, counts });
            ctx.rankings.put(key, page.clone());
            page
        }
    };
    let mine = match reader {
        Some(rider) => {
            let points = store::reader_points(&ctx.db, period.key(), scope, rider).await?;
            Some((ranks(&[points], &page.counts)[0], points))
        }
        None => None,
    };
    let scores: Vec<i64> = page.lines.iter().map(|r| r.points).collect();
    let rows = page
        .lines
        .iter()
        .zip(ranks(&scores, &page.counts))
        .map(|(r, rank)| RankingRow {
            rank,
            points: r.points,
            name: r.name_shown.then(|| masked_name(&r.display_name)),
            me: reader == Some(r.rider_id.as_str()),
            key: (r.points, r.rider_id.clone()),
        })
        .collect();
    Ok(RankingPage { rows, mine })
}

/// Whether the rider appears in rankings by their masked name.
pub async fn show_name_in_rankings(ctx: &PointsContext, rider_id: &str, shown: bool) -> DomainResult<()> {
    store::set_ranking_name_shown(&ctx.db, rider_id, shown).await
}

pub async fn name_shown_in_rankings(ctx: &PointsContext, rider_id: &str) -> DomainResult<bool> {
    store::ranking_name_shown(&ctx.db, rider_id).await
}

/// A clerk's or admin's award for volunteer work: a reason is required, one award gives at most
/// the rules' `award_max`, and a rider at most `awards_per_rider_per_day` a day (the rest of an
/// award over that is written as 0). With an idempotency key, a retried award pays once.
pub async fn award(
    ctx: &PointsContext,
    staff: &Caller,
    rider_id: &str,
    amount: i64,
    reason: &str,
    idempotency_key: Option<&str>,
) -> DomainResult<EntryRow> {
    staff.require_role(&[Role::Clerk, Role::CityAdmin])?;
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > 200 {
        return Err(DomainError::invalid("reason", "1 to 200 characters"));
    }
    let now = Millis::now();
    let hash = hex::encode(Sha256::digest(format!("{rider_id}|{amount}|{reason}").as_bytes()));
    let key = idempotency_key.map(|key| IdempotencyKey {
        scope: AWARD_SCOPE,
        caller_id: &staff.account_id,
        key,
        request_hash: &hash,
    });
    let mut tx = ctx.db.begin_write().await?;
    if let Some(key) = &key
        && let Claim::Replay(recorded) = idempotency::claim(&mut tx, key, now).await?
    {
        tx.rollback().await?;
        if recorded.request_hash != hash {
            let message = "this Idempotency-Key was used for a different award";
            return Err(DomainError::conflict(ErrorCode::IdempotencyKeyReused, message));
        }
        let first = store::entry_by_id(&ctx.db, &recorded.resource_id).await?;
        return first.ok_or_else(|| DomainError::internal("an award's entry vanished"));
    }
    let rules = rules_in(&mut tx, &ctx.city().id).await?;
    if !(1..=rules.award_max).contains(&amount) {
        return Err(DomainError::invalid("amount", format!("1 to {}", rules.award_max)));
    }
    if !store::is_rider(&mut tx, &ctx.city().id, rider_id).await? {
        return Err(DomainError::NotFound("rider"));
    }
    let grant = Grant {
        rider_id: rider_id.to_string(),
        rule: PointRule::ManualAward,
        object: PointObject::Award,
        object_id: new_id(),
        amount,
        office_id: staff.office_id.clone(),
        actor_id: Some(staff.account_id.clone()),
        actor_role: "staff",
        note: Some(reason.to_string()),
    };
    let entry = ctx.ledger.earn(&mut tx, vec![grant], now).await?.into_iter().next();
    let entry = entry.ok_or_else(|| DomainError::internal("a new award was not written"))?;
    let audit_entry = AuditEntry {
        city_id: &ctx.city().id,
        actor_id: Some(&staff.account_id),
        action: "points.award",
        object_kind: "point_entry",
        object_id: &entry.id,
        before: None,
        after: Some(serde_json::json!({ "rider_id": rider_id, "amount": entry.amount, "reason": reason })),
    };
    audit::record(&mut *tx, audit_entry).await?;
    if let Some(key) = &key {
        idempotency::complete(&mut tx, key, &entry.id, "created").await?;
    }
    tx.commit().await?;
    Ok(entry)
}

/// The most entries one export holds.
pub const EXPORT_MAX_ENTRIES: u32 = 1_000_000;

/// A period's ledger as CSV for a city admin (audited): every entry, names included, for the
/// 最美网约配送员 selection.
pub async fn export_ledger(ctx: &PointsContext, admin: &Caller, period: &Period) -> DomainResult<String> {
    admin.require_role(&[Role::CityAdmin])?;
    record_export(ctx, admin, "points.ledger.export", period).await?;
    let (from, to) = period.days();
    let mut w = csv::Writer::from_writer(Vec::new());
    let csv_err = DomainError::internal;
    w.write_record([
        "id",
        "at",
        "local_day",
        "rider_id",
        "amount",
        "rule_amount",
        "rule",
        "reason",
        "object_kind",
        "object_id",
        "unit_id",
        "actor_id",
        "note",
        "reverses",
    ])
    .map_err(csv_err)?;
    let mut after = String::new();
    let mut written = 0;
    loop {
        let page = store::entries_between(&ctx.db, &ctx.city().id, (&from, &to), &after, 5_000).await?;
        let Some(last) = page.last() else { break };
        after = last.id.clone();
        for e in &page {
            w.write_record([
                e.id.clone(),
                e.at.in_zone(ctx.city().tz).to_rfc3339(),
                e.local_day.as_str().to_string(),
                e.rider_id.clone(),
                e.amount.to_string(),
                e.rule_amount.to_string(),
                e.rule.as_str().to_string(),
                e.reason.as_str().to_string(),
                e.object_kind.as_str().to_string(),
                e.object_id.clone(),
                e.office_id.clone().unwrap_or_default(),
                e.actor_id.clone().unwrap_or_default(),
                e.note.clone().unwrap_or_default(),
                e.reverses.clone().unwrap_or_default(),
            ])
            .map_err(csv_err)?;
        }
        written += page.len() as u32;
        if written >= EXPORT_MAX_ENTRIES {
            break;
        }
    }
    finish_csv(w)
}

/// A period's ranking as CSV for a city admin (audited): rank, rider, full display name and
/// points, everyone ranked whether or not they show their name to other riders.
pub async fn export_ranking(
    ctx: &PointsContext,
    admin: &Caller,
    period: &Period,
    office_id: Option<&str>,
) -> DomainResult<String> {
    admin.require_role(&[Role::CityAdmin])?;
    record_export(ctx, admin, "points.ranking.export", period).await?;
    let scope = office_id.unwrap_or(CITY_SCOPE);
    let (counts, _) = store::score_counts(&ctx.db, period.key(), scope, 1, None).await?;
    let mut w = csv::Writer::from_writer(Vec::new());
    let csv_err = DomainError::internal;
    w.write_record(["rank", "rider_id", "display_name", "points"]).map_err(csv_err)?;
    let mut after: Option<(i64, String)> = None;
    loop {
        let page =
            store::ranking(&ctx.db, period.key(), scope, after.as_ref().map(|(p, r)| (*p, r.as_str())), 5_000).await?;
        let Some(last) = page.last() else { break };
        after = Some((last.points, last.rider_id.clone()));
        let scores: Vec<i64> = page.iter().map(|r| r.points).collect();
        for (r, rank) in page.iter().zip(ranks(&scores, &counts)) {
            w.write_record([rank.to_string(), r.rider_id.clone(), r.display_name.clone(), r.points.to_string()])
                .map_err(csv_err)?;
        }
    }
    finish_csv(w)
}

async fn record_export(ctx: &PointsContext, admin: &Caller, action: &str, period: &Period) -> DomainResult<()> {
    let entry = AuditEntry {
        city_id: &ctx.city().id,
        actor_id: Some(&admin.account_id),
        action,
        object_kind: "points_period",
        object_id: period.label(),
        before: None,
        after: None,
    };
    audit::record_now(&ctx.db, entry).await
}

fn finish_csv(w: csv::Writer<Vec<u8>>) -> DomainResult<String> {
    let bytes = w.into_inner().map_err(|e| DomainError::internal(e.into_error()))?;
    String::from_utf8(bytes).map_err(DomainError::internal)
}

/// Fills the city with `riders` demo riders (`demo-bench<i>` log them in) and `entries` ledger
/// entries among them, posted through the ledger as the rules would pay them (a mix of accepted
/// reports, check-ins and ratings, on random days of this year up to today), in batches of one
/// transaction each: for benchmarks and load tests.
pub async fn generate(ctx: &PointsContext, riders: usize, entries: usize, seed: u64) -> DomainResult<usize> {
    use chrono::{Datelike, Timelike};
    use rand::{Rng, SeedableRng};
    const BATCH: usize = 1_000;
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let city = ctx.city();
    let openid = |i: usize| format!("demo:bench{i}");
    let mut ids = Vec::with_capacity(riders);
    for start in (0..riders).step_by(BATCH) {
        let openids: Vec<String> = (start..(start + BATCH).min(riders)).map(openid).collect();
        let mut tx = ctx.db.begin_write().await?;
        for (i, o) in openids.iter().enumerate() {
            let name = ["王", "李", "张", "刘", "陈", "杨", "赵", "黄"][(start + i) % 8];
            crate::store::accounts::insert_rider(&mut tx, &city.id, o, &format!("{name}骑手{}", start + i)).await?;
        }
        tx.commit().await?;
        ids.extend(crate::store::accounts::ids_by_openid(&ctx.db, &openids).await?);
    }
    let now = Millis::now();
    let local = now.in_zone(city.tz);
    let since_new_year = i64::from(local.ordinal0()) * 86_400 + i64::from(local.num_seconds_from_midnight());
    let start = now.plus_secs(-since_new_year);
    let rules = rules(ctx).await?;
    let kinds = [
        (PointRule::ReportAccepted, PointObject::Report, rules.report_accepted),
        (PointRule::Checkin, PointObject::Checkin, rules.checkin),
        (PointRule::Rating, PointObject::Report, rules.rating),
        (PointRule::ReportResolved, PointObject::Report, rules.report_resolved),
    ];
    let mut done = 0;
    while done < entries && !ids.is_empty() {
        let n = BATCH.min(entries - done);
        let at = Millis(rng.random_range(start.0..=now.0));
        let grants = (0..n)
            .map(|_| {
                let (rule, object, amount) = kinds[rng.random_range(0..kinds.len())];
                Grant {
                    rider_id: ids[rng.random_range(0..ids.len())].clone(),
                    rule,
                    object,
                    object_id: new_id(),
                    amount,
                    office_id: None,
                    actor_id: None,
                    actor_role: "system",
                    note: None,
                }
            })
            .collect();
        let mut tx = ctx.db.begin_write().await?;
        ctx.ledger.earn(&mut tx, grants, at).await?;
        tx.commit().await?;
        done += n;
        if done % 100_000 == 0 {
            tracing::info!(done, entries, "generated ledger entries");
        }
    }
    Ok(done)
}

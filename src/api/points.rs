//! Governance points (积分): the city's rules, a rider's balance and ledger, the rankings, manual
//! awards, and the admins' CSV exports.

use chrono::{DateTime, Utc};
use poem::Request;
use poem::web::Data;
use poem_openapi::param::{Header, Query};
use poem_openapi::payload::{Json, PlainText};
use poem_openapi::{ApiResponse, Object, OpenApi};

use super::ApiTags;
use super::dto::mirror_enum;
use super::error::codes::*;
use super::error::{ApiResult, Body, Lang, Paged, Signed, SignedAs};
use super::paging::{Cursor, PageRequest, key_text};
use super::security::{AdminAuth, BearerAuth, RiderAuth, StaffAuth};
use super::triage::CsvReply;
use crate::domain::identity::Role;
use crate::domain::points::{MAX_LIMIT, MAX_RULE_POINTS, PaidReason, Period, PointObject, PointRule, PointRules};
use crate::domain::time::Millis;
use crate::service::points::{self as service, RankingPage, RankingRow};
use crate::state::AppState;
use crate::store::points::EntryRow;

mirror_enum!(
    /// Why points moved: `report_accepted` (+10 by default), `report_resolved` (+5),
    /// `first_me_too` (+2), `rating` (+1), `checkin` (+1, at most 5 a day), `manual_award`,
    /// `reversal` (taking back what a false or duplicate report paid), `redemption` (spent),
    /// `redemption_refund` (a cancelled or expired redemption returned).
    PointRuleDto = PointRule {
        ReportAccepted, ReportResolved, FirstMeToo, Rating, Checkin, ManualAward, Reversal, Redemption,
        RedemptionRefund,
    }
);
mirror_enum!(
    /// What an entry is for.
    PointObjectDto = PointObject { Report, Checkin, Award, Redemption }
);
mirror_enum!(
    /// `full` when the entry paid what its rule pays; otherwise the limit that cut it
    /// (`daily_cap`, `checkin_limit`, `award_limit`) or why a reversal took points back
    /// (`report_rejected`, `report_duplicate`).
    PaidReasonDto = PaidReason { Full, DailyCap, CheckinLimit, AwardLimit, ReportRejected, ReportDuplicate }
);

/// A city's point rules: what each rule pays and the limits. Amounts 0 to 1,000; limits 0 to
/// 100,000.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct PointRulesDto {
    /// A report accepted by its unit (default 10).
    #[oai(validator(minimum(value = "0"), maximum(value = "1000")))]
    pub report_accepted: i64,
    /// The same report resolved (default 5).
    #[oai(validator(minimum(value = "0"), maximum(value = "1000")))]
    pub report_resolved: i64,
    /// The first "me too" on someone else's report, once the unit accepts it (default 2).
    #[oai(validator(minimum(value = "0"), maximum(value = "1000")))]
    pub first_me_too: i64,
    /// Rating an outcome (default 1).
    #[oai(validator(minimum(value = "0"), maximum(value = "1000")))]
    pub rating: i64,
    /// A successful check-in at a place (default 1)…
    #[oai(validator(minimum(value = "0"), maximum(value = "1000")))]
    pub checkin: i64,
    /// …paid at most this many times a day (default 5).
    #[oai(validator(minimum(value = "0"), maximum(value = "100000")))]
    pub checkins_per_day: i64,
    /// The most one manual award may give (default 20).
    #[oai(validator(minimum(value = "0"), maximum(value = "1000")))]
    pub award_max: i64,
    /// The most manual awards may give one rider in a day (default 50).
    #[oai(validator(minimum(value = "0"), maximum(value = "100000")))]
    pub awards_per_rider_per_day: i64,
    /// The most a rider earns in a day of the city's calendar by the automatic rules (default
    /// 50); entries over it are written with what is left, down to 0.
    #[oai(validator(minimum(value = "0"), maximum(value = "100000")))]
    pub daily_cap: i64,
}

const _: () = assert!(MAX_RULE_POINTS == 1000 && MAX_LIMIT == 100_000, "the validators above state these");

/// The rules and their wire form have the same fields: copied one way or the other.
macro_rules! same_fields {
    ($from:ident => $to:ident { $($field:ident),+ $(,)? }) => {
        impl From<$from> for $to {
            fn from(r: $from) -> Self {
                $to { $($field: r.$field),+ }
            }
        }
    };
}
same_fields!(PointRules => PointRulesDto {
    report_accepted, report_resolved, first_me_too, rating, checkin, checkins_per_day, award_max,
    awards_per_rider_per_day, daily_cap,
});
same_fields!(PointRulesDto => PointRules {
    report_accepted, report_resolved, first_me_too, rating, checkin, checkins_per_day, award_max,
    awards_per_rider_per_day, daily_cap,
});

/// One entry of a rider's ledger. Entries are never changed: a correction is a new entry.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none, example)]
pub struct PointEntry {
    pub id: String,
    /// Points added (positive) or taken (negative); 0 when a daily limit left nothing.
    pub amount: i64,
    pub rule: PointRuleDto,
    pub reason: PaidReasonDto,
    /// Why, for people: Chinese by default, English when `Accept-Language` prefers `en`.
    pub description: String,
    pub object_kind: PointObjectDto,
    /// The report, check-in, award or redemption the entry is for.
    pub object_id: String,
    /// The entry a reversal takes back.
    pub reverses: Option<String>,
    /// A manual award's reason, as the clerk wrote it.
    pub note: Option<String>,
    pub at: DateTime<Utc>,
}

impl PointEntry {
    pub(crate) fn of(e: EntryRow, lang: Lang) -> Self {
        PointEntry {
            description: describe(&e, lang),
            id: e.id,
            amount: e.amount,
            rule: e.rule.into(),
            reason: e.reason.into(),
            object_kind: e.object_kind.into(),
            object_id: e.object_id,
            reverses: e.reverses,
            note: e.note,
            at: e.at.to_utc(),
        }
    }
}

/// The rule's words, and the limit or cause after them: 上报被受理（今日获得积分已达上限）.
fn describe(e: &EntryRow, lang: Lang) -> String {
    let (rule_zh, rule_en) = e.rule.words();
    match (e.reason.words(), lang) {
        (None, Lang::Zh) => rule_zh.to_string(),
        (None, Lang::En) => capitalized(rule_en),
        (Some((zh, _)), Lang::Zh) => format!("{rule_zh}（{zh}）"),
        (Some((_, en)), Lang::En) => format!("{} ({en})", capitalized(rule_en)),
    }
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

/// A rider's points: balance, this month, and a page of the ledger, newest first.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none, example)]
pub struct MyPointsResponse {
    /// Points to spend now.
    pub balance: i64,
    /// Points earned in this month of the city's calendar, less any taken back (what the
    /// monthly ranking counts).
    pub earned_this_month: i64,
    /// This month, as `YYYY-MM`.
    pub month: String,
    /// The ledger, newest first.
    pub items: Vec<PointEntry>,
    /// Pass back as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// One place in a ranking.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct RankingEntry {
    /// 1 for the most points; riders with equal points share a rank.
    pub rank: i64,
    pub points: i64,
    /// The rider's masked name (王**), only when they chose to show it; absent otherwise.
    pub name: Option<String>,
    /// True on the reader's own line.
    pub me: bool,
}

/// The reader's own place, named or not.
#[derive(Debug, Object)]
pub struct MyRank {
    /// 1 + the riders with more points; riders with none rank after all who have some.
    pub rank: i64,
    pub points: i64,
}

/// A page of a ranking.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none, example)]
pub struct RankingResponse {
    /// `YYYY-MM` or `YYYY`.
    pub period: String,
    /// The unit whose area the ranking covers; absent for the whole city.
    pub office_id: Option<String>,
    pub items: Vec<RankingEntry>,
    /// Pass back as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
    /// The reader's own rank (riders only).
    pub mine: Option<MyRank>,
}

/// A manual award for volunteer work.
#[derive(Debug, Object)]
#[oai(example)]
pub struct AwardRequest {
    /// The rider's account id.
    #[oai(validator(min_length = 1, max_length = 64))]
    pub rider_id: String,
    /// 1 to the rules' `award_max` (20 by default).
    #[oai(validator(minimum(value = "1"), maximum(value = "1000")))]
    pub amount: i64,
    /// What the rider did, shown to them with the entry; not blank.
    #[oai(validator(min_length = 1, max_length = 200))]
    pub reason: String,
}

#[derive(ApiResponse)]
pub enum AwardReply {
    /// The award's entry: what it paid (less than asked, down to 0, when the rider's daily cap
    /// on awards was reached)
    #[oai(status = 201)]
    Created(Json<PointEntry>),
}

#[derive(Default)]
pub struct PointsApi;

/// `?period=`: `YYYY-MM` or `YYYY`; this month of the city's calendar when absent.
fn period_of(state: &AppState, period: Option<String>) -> Result<Period, crate::domain::DomainError> {
    match period {
        Some(text) => Period::parse(&text),
        None => Ok(Period::month_of(Millis::now(), state.city.tz)),
    }
}

/// A ranking cursor: the last line's points and rider, as `points:rider`.
fn ranking_key(bytes: &[u8]) -> Option<(i64, String)> {
    let text = key_text(bytes);
    let (points, rider) = text.split_once(':')?;
    Some((points.parse().ok()?, rider.to_string()))
}

impl RankingResponse {
    fn of(period: &Period, office_id: Option<String>, page: RankingPage, next_cursor: Option<String>) -> Self {
        RankingResponse {
            period: period.label().to_string(),
            office_id,
            items: page.rows.into_iter().map(RankingEntry::from).collect(),
            next_cursor,
            mine: page.mine.map(|(rank, points)| MyRank { rank, points }),
        }
    }
}

impl From<RankingRow> for RankingEntry {
    fn from(r: RankingRow) -> Self {
        RankingEntry { rank: r.rank, points: r.points, name: r.name, me: r.me }
    }
}

#[OpenApi(tag = "ApiTags::Points")]
impl PointsApi {
    /// The city's point rules
    ///
    /// What each rule pays and the daily limits. Anyone may read them; city admins change them.
    #[oai(path = "/points/rules", method = "get", operation_id = "points_rules")]
    async fn rules(&self, state: Data<&AppState>) -> ApiResult<Json<PointRulesDto>, DatabaseUnavailable> {
        Ok(Json(service::rules(&state.points()).await?.into()))
    }

    /// Change the city's point rules (city admins)
    ///
    /// Applies to what is earned from now on; what was paid stays. Written to the audit trail
    /// with the rules before and after.
    #[oai(path = "/points/rules", method = "put", operation_id = "points_rules_update")]
    async fn update_rules(
        &self,
        state: Data<&AppState>,
        AdminAuth(admin): AdminAuth,
        body: Json<PointRulesDto>,
    ) -> ApiResult<Json<PointRulesDto>, (SignedAs, Body, InvalidInput)> {
        let rules = service::set_rules(&state.points(), &admin, body.0.into()).await?;
        Ok(Json(rules.into()))
    }

    /// My points: balance, this month, and my ledger
    ///
    /// Every change of my points is an entry, newest first, one page at a time. An entry a daily
    /// limit cut says so (`reason`); a report later rejected or marked a duplicate takes its
    /// points back by a new entry (`rule` `reversal`).
    #[oai(path = "/me/points", method = "get", operation_id = "me_points")]
    async fn mine(
        &self,
        state: Data<&AppState>,
        req: &Request,
        RiderAuth(rider): RiderAuth,
        /// How many entries a page holds: 1 to 100 (default 20).
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<u32>>,
        /// Where the page starts: the previous page's `next_cursor`; leave out for the first page.
        cursor: Query<Option<Cursor>>,
    ) -> ApiResult<Json<MyPointsResponse>, (SignedAs, Paged)> {
        let page = PageRequest::parse(limit.0, cursor.0)?;
        let now = Millis::now();
        let points =
            service::mine(&state.points(), &rider.account_id, page.after.as_deref(), page.fetch_limit(), now).await?;
        let (history, next_cursor) = page.finish(points.history, |e| e.id.clone());
        let lang = Lang::from_headers(req.headers());
        Ok(Json(MyPointsResponse {
            balance: points.balance,
            earned_this_month: points.earned_this_month,
            month: Period::month_of(now, state.city.tz).label().to_string(),
            items: history.into_iter().map(|e| PointEntry::of(e, lang)).collect(),
            next_cursor,
        }))
    }

    /// A ranking of riders by points
    ///
    /// The month (`period=2026-11`, the default: this month) or the year (`period=2026`) of the
    /// city's calendar, in the whole city or in one unit's area (`office_id`: points earned on
    /// its reports, at places in its jurisdiction, or awarded by its clerks). Points taken back
    /// do not count. Riders appear by a masked name (王**) only if they chose to
    /// (`PATCH /me`); a rider reading the ranking gets their own rank in `mine` either way.
    #[oai(path = "/points/rankings", method = "get", operation_id = "points_ranking")]
    async fn ranking(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        /// `YYYY-MM` or `YYYY`; this month when absent.
        #[oai(validator(max_length = 7, pattern = r"^2[0-9]{3}(-(0[1-9]|1[0-2]))?$"))]
        period: Query<Option<String>>,
        /// A unit's id: the ranking of its area.
        #[oai(validator(max_length = 64))]
        office_id: Query<Option<String>>,
        /// How many lines a page holds: 1 to 100 (default 20).
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<u32>>,
        /// Where the page starts: the previous page's `next_cursor`; leave out for the first page.
        cursor: Query<Option<Cursor>>,
    ) -> ApiResult<Json<RankingResponse>, (Signed, InvalidParameter)> {
        let period = period_of(&state, period.0)?;
        let page = PageRequest::parse_with(limit.0, cursor.0, ranking_key)?;
        let caller = auth.caller();
        let reader = (caller.role == Role::Rider).then_some(caller.account_id.as_str());
        let after = page.after.clone().flatten();
        let mut ranking = service::ranking(
            &state.points(),
            reader,
            &period,
            office_id.0.as_deref(),
            after.as_ref().map(|(p, r)| (*p, r.as_str())),
            page.fetch_limit(),
        )
        .await?;
        let (rows, next_cursor) = page.finish(ranking.rows, |r| format!("{}:{}", r.key.0, r.key.1));
        ranking.rows = rows;
        Ok(Json(RankingResponse::of(&period, office_id.0, ranking, next_cursor)))
    }

    /// Award points for volunteer work (clerks, city admins)
    ///
    /// A reason is required. One award gives at most the rules' `award_max`; one rider gets at
    /// most `awards_per_rider_per_day` from awards in a day (an award over that is written with
    /// what is left, down to 0). With an `Idempotency-Key`, a retried award pays once and
    /// answers with the same entry. Written to the audit trail.
    #[oai(path = "/points/awards", method = "post", operation_id = "points_award")]
    async fn award(
        &self,
        state: Data<&AppState>,
        req: &Request,
        StaffAuth(staff): StaffAuth,
        /// Makes a retry safe: the same key from the same staff member pays once.
        #[oai(name = "Idempotency-Key", validator(min_length = 1, max_length = 128))]
        idempotency_key: Header<Option<String>>,
        body: Json<AwardRequest>,
    ) -> ApiResult<AwardReply, (SignedAs, InvalidParameter, Body, InvalidInput, NotFound, IdempotencyKeyReused)> {
        let body = body.0;
        let entry = service::award(
            &state.points(),
            &staff,
            &body.rider_id,
            body.amount,
            &body.reason,
            idempotency_key.0.as_deref(),
        )
        .await?;
        Ok(AwardReply::Created(Json(PointEntry::of(entry, Lang::from_headers(req.headers())))))
    }

    /// A period's points ledger as CSV (city admins)
    ///
    /// Every entry of the month or year of the city's calendar, in the order written, with the
    /// rider's account id: for the 最美网约配送员 selection and for audits. Each export is written
    /// to the audit trail.
    #[oai(path = "/admin/points/ledger.csv", method = "get", operation_id = "points_export_ledger")]
    async fn export_ledger(
        &self,
        state: Data<&AppState>,
        AdminAuth(admin): AdminAuth,
        /// `YYYY-MM` or `YYYY`; this month when absent.
        #[oai(validator(max_length = 7, pattern = r"^2[0-9]{3}(-(0[1-9]|1[0-2]))?$"))]
        period: Query<Option<String>>,
    ) -> ApiResult<CsvReply, (SignedAs, InvalidParameter)> {
        let period = period_of(&state, period.0)?;
        let csv = service::export_ledger(&state.points(), &admin, &period).await?;
        let name = format!("attachment; filename=\"points-ledger-{}.csv\"", period.label());
        Ok(CsvReply::Csv(PlainText(csv), name))
    }

    /// A period's ranking as CSV (city admins)
    ///
    /// Rank, account id, full display name and points of every ranked rider of the city or a
    /// unit's area, whether or not they show their name to other riders. Each export is written
    /// to the audit trail.
    #[oai(path = "/admin/points/ranking.csv", method = "get", operation_id = "points_export_ranking")]
    async fn export_ranking(
        &self,
        state: Data<&AppState>,
        AdminAuth(admin): AdminAuth,
        /// `YYYY-MM` or `YYYY`; this month when absent.
        #[oai(validator(max_length = 7, pattern = r"^2[0-9]{3}(-(0[1-9]|1[0-2]))?$"))]
        period: Query<Option<String>>,
        /// A unit's id: the ranking of its area.
        #[oai(validator(max_length = 64))]
        office_id: Query<Option<String>>,
    ) -> ApiResult<CsvReply, (SignedAs, InvalidParameter)> {
        let period = period_of(&state, period.0)?;
        let csv = service::export_ranking(&state.points(), &admin, &period, office_id.0.as_deref()).await?;
        let name = format!("attachment; filename=\"points-ranking-{}.csv\"", period.label());
        Ok(CsvReply::Csv(PlainText(csv), name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranking_cursors_round_trip_and_forged_ones_start_at_the_top() {
        assert_eq!(ranking_key(b"42:rider-1"), Some((42, "rider-1".to_string())));
        assert_eq!(ranking_key(b"nonsense"), None);
        assert_eq!(ranking_key(b"x:y"), None);
    }

    #[test]
    fn descriptions_name_the_rule_and_the_limit_that_cut_it() {
        let entry = EntryRow {
            id: "e".into(),
            city_id: "c".into(),
            rider_id: "r".into(),
            amount: 0,
            rule_amount: 10,
            rule: PointRule::ReportAccepted,
            object_kind: PointObject::Report,
            object_id: "rep".into(),
            office_id: None,
            actor_id: None,
            actor_role: "staff".into(),
            reason: PaidReason::DailyCap,
            note: None,
            reverses: None,
            local_day: crate::domain::points::LocalDay::stored("2026-11-26".into()),
            at: Millis(0),
        };
        assert_eq!(describe(&entry, Lang::Zh), "上报被受理（今日获得积分已达上限）");
        assert_eq!(describe(&entry, Lang::En), "Your report was accepted (today's cap on earned points was reached)");
    }
}

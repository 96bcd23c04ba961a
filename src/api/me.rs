//! A rider's rights over their personal information: `GET /me/data`, a copy of everything held
//! about them. Erasure (`DELETE /me`) sits with `GET /me` in `auth.rs`: one path, one API object.

use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::param::Query;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};

use super::ApiTags;
use super::auth::RoleDto;
use super::dto::{CoordDto, coord_of};
use super::error::codes::*;
use super::error::{ApiResult, Lang, SignedAs};
use super::media::Media;
use super::places::Checkin;
use super::points::PointEntry;
use super::reports::{ActorDto, EventKindDto, ReportSummary};
use super::rewards::Redemption;
use super::security::RiderAuth;
use crate::domain::time::Millis;
use crate::service::privacy::{self as service, MyData};
use crate::state::AppState;

/// The account as the service holds it.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct MyAccount {
    pub account_id: String,
    pub role: RoleDto,
    pub display_name: String,
    pub city_id: String,
    /// The identifier WeChat gives this mini-program for you, which is how the service knows you
    /// at login. Shown because it is held about you; it is not a credential (logging in takes a
    /// fresh `wx.login()` code), and it means nothing to other mini-programs. WeChat's session
    /// key is never stored.
    pub wechat_openid: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Something you did on a report's timeline.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct MyAction {
    pub report_id: String,
    pub kind: EventKindDto,
    /// `reporter` on your own reports, `rider` on others' ("me too").
    pub actor_role: ActorDto,
    /// What you wrote: a reopen reason, a rating comment, a "me too"'s description.
    pub note: Option<String>,
    pub at: DateTime<Utc>,
}

/// A report you follow (your own included), and since when.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct MyFollow {
    pub report_id: String,
    pub since: DateTime<Utc>,
}

/// Subscribe messages of a template you allowed (`POST /me/subscriptions`) and not yet sent.
#[derive(Debug, Object)]
pub struct MyConsent {
    pub template_id: String,
    pub unused: i64,
}

/// A login session: its times only (tokens are stored only as keyed hashes, never shown).
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct MySession {
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// Everything the service holds about you. Every list is newest first and holds at most 10,000
/// entries.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct MyDataResponse {
    pub account: MyAccount,
    /// The reports you filed, whole: description, exact location, rating, the photos you attached.
    pub reports: Vec<ReportSummary>,
    /// What you did on reports' timelines, with what you wrote.
    pub actions: Vec<MyAction>,
    pub follows: Vec<MyFollow>,
    pub checkins: Vec<Checkin>,
    /// Your governance points now.
    pub points_balance: i64,
    /// Every change of your points, newest first.
    pub point_entries: Vec<PointEntry>,
    /// The photos you uploaded (`GET /media/{id}`).
    pub media: Vec<Media>,
    pub sessions: Vec<MySession>,
    /// Your redemptions at the points supermarket, with their pickup codes.
    pub redemptions: Vec<Redemption>,
    /// The subscribe messages you allowed and that were not sent yet, by template.
    pub subscriptions: Vec<MyConsent>,
    /// False when some list had more than 10,000 entries and holds the newest only.
    pub complete: bool,
}

impl MyDataResponse {
    fn of(d: MyData, coord: Option<CoordDto>, lang: Lang) -> Self {
        let system = coord_of(coord);
        let a = d.account;
        MyDataResponse {
            account: MyAccount {
                account_id: a.id,
                role: a.role.into(),
                display_name: a.display_name,
                city_id: a.city_id,
                wechat_openid: a.wechat_openid,
                created_at: a.created_at.to_utc(),
                updated_at: a.updated_at.to_utc(),
            },
            reports: d.reports.into_iter().map(|v| ReportSummary::of(v, system)).collect(),
            actions: d
                .actions
                .into_iter()
                .map(|e| MyAction {
                    report_id: e.report_id,
                    kind: e.kind.into(),
                    actor_role: e.actor_role.into(),
                    // A rider's entries carry only their own words: the public note, or a "me
                    // too"'s description kept for staff.
                    note: e.public_note.or(e.internal_note),
                    at: e.at.to_utc(),
                })
                .collect(),
            follows: d
                .follows
                .into_iter()
                .map(|f| MyFollow { report_id: f.report_id, since: f.since.to_utc() })
                .collect(),
            checkins: d.checkins.into_iter().map(Checkin::from).collect(),
            points_balance: d.points_balance,
            point_entries: d.point_entries.into_iter().map(|e| PointEntry::of(e, lang)).collect(),
            media: d.media.into_iter().map(Media::from).collect(),
            sessions: d
                .sessions
                .into_iter()
                .map(|s| MySession {
                    created_at: s.created_at.to_utc(),
                    expires_at: s.expires_at.to_utc(),
                    revoked_at: s.revoked_at.map(Millis::to_utc),
                })
                .collect(),
            redemptions: d.redemptions.into_iter().map(Redemption::from).collect(),
            subscriptions: d
                .consents
                .into_iter()
                .map(|(template_id, unused)| MyConsent { template_id, unused })
                .collect(),
            complete: d.complete,
        }
    }
}

#[derive(Default)]
pub struct MeApi;

#[OpenApi(tag = "ApiTags::Privacy")]
impl MeApi {
    /// Everything the service holds about me (riders)
    ///
    /// A copy of your personal information (PIPL art. 45): your account (openid included, never
    /// WeChat's session key, which is not stored), the reports you filed with their descriptions
    /// and exact locations, what you did on reports' timelines, the reports you follow, your
    /// check-ins, your points and their ledger, the photos you uploaded, your login sessions
    /// (times only, never tokens), your redemptions at the points supermarket, and the subscribe messages you allowed.
    #[oai(path = "/me/data", method = "get", operation_id = "me_data")]
    async fn data(
        &self,
        state: Data<&AppState>,
        req: &poem::Request,
        RiderAuth(rider): RiderAuth,
        /// The system of the reports' locations: gcj02 (default) or wgs84.
        coord: Query<Option<CoordDto>>,
    ) -> ApiResult<Json<MyDataResponse>, (SignedAs, InvalidParameter, NotFound)> {
        let lang = Lang::from_headers(req.headers());
        Ok(Json(MyDataResponse::of(service::my_data(&state.privacy(), &rider).await?, coord.0, lang)))
    }
}

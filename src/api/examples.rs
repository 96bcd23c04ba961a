//! Examples of the main request and response bodies, shown in the spec (`#[oai(example)]`) and
//! sent by contract tests: requests a client would really send, answers the server would really
//! give, in Chinese where people read them.

use chrono::{DateTime, Utc};
use poem_openapi::types::Example;

use super::auth::{LoginResponse, RoleDto, StaffLoginRequest, WechatLoginRequest};
use super::dto::{CoordDto, HoursText};
use super::media::{Media, PhotoUrl, StoredImageType};
use super::place_admin::{NewParkingZone, NewStation, PlaceBasics, PlaceChange};
use super::places::{
    AmenityDto, Checkin, CheckinOutcomeDto, NearbyPlace, Place, PlaceKindDto, PlaceStatusDto, PublicCheckin,
};
use super::points::{
    AwardRequest, MyPointsResponse, MyRank, PaidReasonDto, PointEntry, PointObjectDto, PointRuleDto, PointRulesDto,
    RankingEntry, RankingResponse,
};
use super::reports::{
    ActorDto, CategoryDto, EventKindDto, Location, OutcomeDto, PublicEntry, ReportDetail, ReportStatusDto,
    ReportSummary, RouteReasonDto, SubmitReportRequest, SubmitReportResponse, UnitKindDto, UnitRef,
};
use super::rewards::{
    NewRewardRequest, OfferedByDto, PickupRequest, PlaceRedemption, Redemption, RedemptionStatusDto, Reward,
    RewardChange, RewardNearby, RewardPlace,
};
use super::triage::{
    AcceptAction, ActionNotes, CheckedDto, ContentCheckView, MarkDuplicateAction, RejectAction, StaffEntry,
    TransferAction, TriageDetail, TriageSummary, VerdictDto,
};
use super::wechat_push::{PushCheckResult, PushEnvelope};

const PLACE_ID: &str = "01a21820-36df-77ef-854a-69e627a32b90";
const REPORT_ID: &str = "01a2183c-5e0a-7d44-9c1b-2f6f1d3e8a10";
const OFFICE_ID: &str = "01a21801-7b2c-7a11-8e0f-5a9d4c3b2a19";
const CLERK_ID: &str = "01a21802-1c4d-7e22-9f10-6b8e5d4c3b2a";

const REWARD_ID: &str = "01a21a10-4c5d-7e6f-8a01-b2c3d4e5f607";
const REDEMPTION_ID: &str = "01a21a20-5d6e-7f80-9a12-c3d4e5f60718";

const PHOTO_ID: &str = "01a21850-2b3c-7d4e-8f50-617283940a1b";

fn at(rfc3339: &str) -> DateTime<Utc> {
    rfc3339.parse().unwrap_or_default()
}

fn photo_url() -> PhotoUrl {
    PhotoUrl {
        id: PHOTO_ID.into(),
        url: format!("/api/v1/media/{PHOTO_ID}/signed?exp=1795680000&sig=q3Vx8kTz0bWm1RjY7pL2sN5cE4gH6iA9dF0uK3oB1eM"),
        expires_at: at("2026-11-26T16:00:00Z"),
    }
}

impl Example for WechatLoginRequest {
    fn example() -> Self {
        WechatLoginRequest { code: "0e3Xq2ll2Vq1Yd4mD9nl2pW8Rl0Xq2lD".into() }
    }
}

impl Example for StaffLoginRequest {
    fn example() -> Self {
        StaffLoginRequest { username: "wangfang".into(), password: "correct horse battery".into() }
    }
}

impl Example for LoginResponse {
    fn example() -> Self {
        LoginResponse {
            token: "xhb_7Jk2mQ9vR4tY8wZ1aB3cD5eF6gH0iJ2k".into(),
            expires_at: at("2026-12-26T08:30:00Z"),
            role: RoleDto::Rider,
        }
    }
}

impl Example for NearbyPlace {
    fn example() -> Self {
        NearbyPlace {
            id: PLACE_ID.into(),
            kind: PlaceKindDto::Station,
            name: "西湖文化广场新伙伴驿站".into(),
            lat: 30.2781234,
            lng: 120.1652345,
            coord: CoordDto::Gcj02,
            distance_m: 320,
            open_now: true,
            status: PlaceStatusDto::Open,
            amenities: vec![
                AmenityDto::DrinkingWater,
                AmenityDto::Microwave,
                AmenityDto::PhoneCharging,
                AmenityDto::Toilet,
            ],
            last_confirmed_at: Some(at("2026-11-26T07:52:10Z")),
        }
    }
}

impl Example for PublicCheckin {
    fn example() -> Self {
        PublicCheckin {
            outcome: CheckinOutcomeDto::UsedAmenity,
            amenity: Some(AmenityDto::Microwave),
            success: true,
            created_at: at("2026-11-26T07:52:10Z"),
        }
    }
}

impl Example for Place {
    fn example() -> Self {
        Place {
            id: PLACE_ID.into(),
            kind: PlaceKindDto::Station,
            name: "西湖文化广场新伙伴驿站".into(),
            address: "杭州市下城区中山北路 581 号".into(),
            lat: 30.2781234,
            lng: 120.1652345,
            coord: CoordDto::Gcj02,
            geohash: "wtmkq8xyz".into(),
            host_org: Some("区总工会".into()),
            contact_phone: Some("0571-8888 1234".into()),
            photos: vec![PHOTO_ID.into()],
            photo_urls: vec![photo_url()],
            amenities: vec![
                AmenityDto::DrinkingWater,
                AmenityDto::Microwave,
                AmenityDto::PhoneCharging,
                AmenityDto::Toilet,
            ],
            hours: "mon-fri 08:00-20:00; sat-sun 10:00-16:00".into(),
            open_now: true,
            status: PlaceStatusDto::Open,
            status_reason: None,
            status_until: None,
            capacity: None,
            max_stay_minutes: None,
            entry_instructions: None,
            last_confirmed_at: Some(at("2026-11-26T07:52:10Z")),
            recent_checkins: vec![PublicCheckin::example()],
            created_at: at("2026-10-08T02:00:00Z"),
            updated_at: at("2026-11-20T09:15:00Z"),
        }
    }
}

fn basics(name: &str, address: &str) -> PlaceBasics {
    PlaceBasics {
        name: name.into(),
        address: address.into(),
        lat: 30.2781,
        lng: 120.1652,
        coord: Some(CoordDto::Gcj02),
        host_org: Some("区总工会".into()),
        contact_phone: Some("0571-8888 1234".into()),
        photos: None,
        amenities: Some(vec![AmenityDto::DrinkingWater, AmenityDto::HotWater, AmenityDto::PhoneCharging]),
        hours: Some(HoursText("mon-fri 08:00-20:00; sat,sun 10:00-16:00".into())),
    }
}

impl Example for NewStation {
    fn example() -> Self {
        NewStation { basics: basics("西湖文化广场新伙伴驿站", "杭州市下城区中山北路 581 号") }
    }
}

impl Example for NewParkingZone {
    fn example() -> Self {
        NewParkingZone {
            basics: PlaceBasics {
                amenities: None,
                hours: None,
                ..basics("武林广场外卖临时停车点", "体育场路 1 号东侧")
            },
            capacity: Some(30),
            max_stay_minutes: Some(20),
        }
    }
}

impl Example for PlaceChange {
    fn example() -> Self {
        PlaceChange {
            name: None,
            address: None,
            lat: None,
            lng: None,
            coord: None,
            host_org: None,
            contact_phone: None,
            photos: None,
            capacity: None,
            max_stay_minutes: None,
            entry_instructions: None,
            amenities: Some(vec![AmenityDto::DrinkingWater, AmenityDto::Microwave, AmenityDto::PhoneCharging]),
            hours: Some(HoursText("mon-sun 07:00-22:00".into())),
            status: None,
            status_reason: None,
            status_until: None,
        }
    }
}

impl Example for Checkin {
    fn example() -> Self {
        Checkin {
            id: "01a21900-0a1b-7c2d-8e3f-4a5b6c7d8e9f".into(),
            place_id: PLACE_ID.into(),
            outcome: CheckinOutcomeDto::AmenityBroken,
            amenity: Some(AmenityDto::Microwave),
            note: Some("微波炉不加热了".into()),
            success: false,
            created_at: at("2026-11-26T07:52:10Z"),
        }
    }
}

impl Example for Media {
    fn example() -> Self {
        Media {
            id: PHOTO_ID.into(),
            content_type: StoredImageType::Jpeg,
            width: 1920,
            height: 1440,
            bytes: 412_337,
            created_at: at("2026-11-26T07:50:02Z"),
            url: photo_url().url,
            url_expires_at: photo_url().expires_at,
        }
    }
}

impl Example for SubmitReportRequest {
    fn example() -> Self {
        SubmitReportRequest {
            category: CategoryDto::RoadDamage,
            description: Some("文三路与学院路口有个大坑，电动车容易摔倒".into()),
            lat: 30.2741,
            lng: 120.1252,
            coord: Some(CoordDto::Gcj02),
            media_ids: None,
            anonymous: Some(false),
        }
    }
}

fn office() -> UnitRef {
    UnitRef { id: OFFICE_ID.into(), name: "城关街道".into(), kind: UnitKindDto::StreetOffice }
}

fn summary() -> ReportSummary {
    ReportSummary {
        id: REPORT_ID.into(),
        category: CategoryDto::RoadDamage,
        description: "文三路与学院路口有个大坑，电动车容易摔倒".into(),
        location: Location { lat: 30.2741, lng: 120.1252, coord: CoordDto::Gcj02 },
        status: ReportStatusDto::Accepted,
        unit: office(),
        priority: 2,
        anonymous: false,
        media_ids: vec![PHOTO_ID.into()],
        photo_urls: vec![photo_url()],
        created_at: at("2026-11-26T07:50:30Z"),
        updated_at: at("2026-11-26T08:10:00Z"),
        respond_by: at("2026-11-27T07:50:30Z"),
        resolve_by: at("2026-12-03T07:50:30Z"),
        resolved_at: None,
        closed_at: None,
        rating: None,
        rating_comment: None,
    }
}

impl Example for PublicEntry {
    fn example() -> Self {
        PublicEntry {
            at: at("2026-11-26T08:10:00Z"),
            kind: EventKindDto::Accepted,
            status: ReportStatusDto::Accepted,
            actor: ActorDto::Staff,
            unit: Some(office()),
            public_note: Some("已受理，已通知道路养护单位处理".into()),
        }
    }
}

impl Example for ReportDetail {
    fn example() -> Self {
        ReportDetail {
            report: summary(),
            mine: true,
            timeline: vec![
                PublicEntry {
                    at: at("2026-11-26T07:50:30Z"),
                    kind: EventKindDto::Submitted,
                    status: ReportStatusDto::Submitted,
                    actor: ActorDto::Reporter,
                    unit: Some(office()),
                    public_note: None,
                },
                PublicEntry {
                    at: at("2026-11-26T08:02:11Z"),
                    kind: EventKindDto::MeToo,
                    status: ReportStatusDto::Submitted,
                    actor: ActorDto::Rider,
                    unit: None,
                    public_note: None,
                },
                PublicEntry::example(),
            ],
        }
    }
}

impl Example for SubmitReportResponse {
    fn example() -> Self {
        let mut report = ReportDetail::example();
        report.report.status = ReportStatusDto::Submitted;
        report.report.priority = 1;
        report.timeline.truncate(1);
        SubmitReportResponse { outcome: OutcomeDto::Created, report }
    }
}

impl Example for TriageSummary {
    fn example() -> Self {
        TriageSummary {
            report: summary(),
            route_reason: RouteReasonDto::StreetOffice,
            next_deadline: Some(at("2026-12-03T07:50:30Z")),
            overdue: false,
            responded_at: Some(at("2026-11-26T08:10:00Z")),
            assignee_id: Some(CLERK_ID.into()),
            duplicate_of: None,
            reporter_name: Some("李师傅".into()),
        }
    }
}

impl Example for StaffEntry {
    fn example() -> Self {
        StaffEntry {
            at: at("2026-11-26T08:10:00Z"),
            kind: EventKindDto::Accepted,
            status: ReportStatusDto::Accepted,
            actor_role: ActorDto::Staff,
            actor_id: Some(CLERK_ID.into()),
            unit: Some(office()),
            public_note: Some("已受理，已通知道路养护单位处理".into()),
            internal_note: Some("养护单位工单号 2026-1126-031".into()),
        }
    }
}

impl Example for TriageDetail {
    fn example() -> Self {
        TriageDetail {
            report: TriageSummary::example(),
            timeline: vec![
                StaffEntry {
                    at: at("2026-11-26T07:50:30Z"),
                    kind: EventKindDto::Submitted,
                    status: ReportStatusDto::Submitted,
                    actor_role: ActorDto::Reporter,
                    actor_id: None,
                    unit: Some(office()),
                    public_note: None,
                    internal_note: None,
                },
                StaffEntry::example(),
            ],
            content_checks: vec![
                ContentCheckView {
                    kind: CheckedDto::Description,
                    object_id: REPORT_ID.into(),
                    verdict: VerdictDto::Pass,
                    label: Some("100".into()),
                    decided_at: Some(at("2026-11-26T07:50:32Z")),
                },
                ContentCheckView {
                    kind: CheckedDto::Photo,
                    object_id: PHOTO_ID.into(),
                    verdict: VerdictDto::Pending,
                    label: None,
                    decided_at: None,
                },
            ],
        }
    }
}

fn notes(public: &str) -> ActionNotes {
    ActionNotes { public_note: Some(public.into()), internal_note: None }
}

impl Example for AcceptAction {
    fn example() -> Self {
        AcceptAction { notes: notes("已受理，已通知道路养护单位处理") }
    }
}

impl Example for RejectAction {
    fn example() -> Self {
        RejectAction {
            reason: "现场核实无此问题".into(),
            notes: ActionNotes { public_note: None, internal_note: None },
        }
    }
}

impl Example for MarkDuplicateAction {
    fn example() -> Self {
        MarkDuplicateAction { duplicate_of: REPORT_ID.into(), notes: notes("与已受理的同一问题合并处理") }
    }
}

impl Example for TransferAction {
    fn example() -> Self {
        TransferAction {
            reason: "该路段属东湖街道管辖".into(),
            to_office_id: Some(OFFICE_ID.into()),
            notes: ActionNotes { public_note: None, internal_note: Some("已电话告知东湖街道".into()) },
        }
    }
}

const RIDER_ID: &str = "01a21805-4d5e-7f60-8a71-9b0c1d2e3f40";

impl Example for PointRulesDto {
    fn example() -> Self {
        crate::domain::points::PointRules::default().into()
    }
}

impl Example for PointEntry {
    fn example() -> Self {
        PointEntry {
            id: "01a21860-7a8b-7c9d-8e0f-1a2b3c4d5e6f".into(),
            amount: 10,
            rule: PointRuleDto::ReportAccepted,
            reason: PaidReasonDto::Full,
            description: "上报被受理".into(),
            object_kind: PointObjectDto::Report,
            object_id: REPORT_ID.into(),
            reverses: None,
            note: None,
            at: at("2026-11-25T09:12:00Z"),
        }
    }
}

impl Example for MyPointsResponse {
    fn example() -> Self {
        let capped = PointEntry {
            id: "01a21861-0b1c-7d2e-8f30-4a5b6c7d8e9f".into(),
            amount: 0,
            rule: PointRuleDto::Checkin,
            reason: PaidReasonDto::CheckinLimit,
            description: "驿站打卡成功（今日打卡积分次数已达上限）".into(),
            object_kind: PointObjectDto::Checkin,
            object_id: "01a21862-1c2d-7e3f-8a40-5b6c7d8e9fa0".into(),
            reverses: None,
            note: None,
            at: at("2026-11-25T10:40:00Z"),
        };
        MyPointsResponse {
            balance: 128,
            earned_this_month: 46,
            month: "2026-11".into(),
            items: vec![capped, PointEntry::example()],
            next_cursor: Some("MDFhMjE4NjAtN2E4Yi03YzlkLThlMGYtMWEyYjNjNGQ1ZTZm".into()),
        }
    }
}

impl Example for RankingResponse {
    fn example() -> Self {
        let line = |rank, points, name: Option<&str>, me| RankingEntry { rank, points, name: name.map(Into::into), me };
        RankingResponse {
            period: "2026-11".into(),
            office_id: None,
            items: vec![line(1, 312, Some("王**"), false), line(2, 280, None, false), line(2, 280, Some("李**"), true)],
            next_cursor: Some("MjgwOjAxYTIxODA1".into()),
            mine: Some(MyRank { rank: 2, points: 280 }),
        }
    }
}

impl Example for AwardRequest {
    fn example() -> Self {
        AwardRequest { rider_id: RIDER_ID.into(), amount: 10, reason: "协助疏导早高峰驿站门前交通".into() }
    }
}

impl Example for Reward {
    fn example() -> Self {
        Reward {
            id: REWARD_ID.into(),
            offered_by: OfferedByDto::Station,
            name: "矿泉水一箱".into(),
            description: "550ml × 24 瓶，驿站前台领取".into(),
            photo: Some(photo_url()),
            cost: 30,
            stock: 12,
            valid_from: at("2026-11-01T00:00:00Z"),
            valid_until: at("2026-12-31T16:00:00Z"),
            pickup_secs: 259_200,
            withdrawn: false,
            open: true,
            place: RewardPlace {
                id: PLACE_ID.into(),
                name: "西湖文化广场新伙伴驿站".into(),
                address: "杭州市下城区环城北路西湖文化广场 B1".into(),
                lat: 30.2781234,
                lng: 120.1652345,
                coord: CoordDto::Gcj02,
            },
            created_at: at("2026-10-30T02:15:00Z"),
            updated_at: at("2026-11-20T09:40:00Z"),
        }
    }
}

impl Example for RewardNearby {
    fn example() -> Self {
        RewardNearby { reward: Reward::example(), distance_m: 320 }
    }
}

impl Example for NewRewardRequest {
    fn example() -> Self {
        NewRewardRequest {
            place_id: PLACE_ID.into(),
            name: "矿泉水一箱".into(),
            description: Some("550ml × 24 瓶，驿站前台领取".into()),
            photo_media_id: Some(PHOTO_ID.into()),
            cost: 30,
            stock: 20,
            valid_from: Some(at("2026-11-01T00:00:00Z")),
            valid_until: at("2026-12-31T16:00:00Z"),
            pickup_secs: 259_200,
        }
    }
}

impl Example for RewardChange {
    fn example() -> Self {
        RewardChange {
            name: None,
            description: None,
            photo_media_id: None,
            cost: None,
            stock: Some(40),
            valid_from: None,
            valid_until: None,
            pickup_secs: None,
            withdrawn: None,
        }
    }
}

impl Example for Redemption {
    fn example() -> Self {
        Redemption {
            redemption: PlaceRedemption {
                status: RedemptionStatusDto::Pending,
                picked_up_at: None,
                ended_at: None,
                ..PlaceRedemption::example()
            },
            code: "4819027365".into(),
            place_id: PLACE_ID.into(),
            place_name: "西湖文化广场新伙伴驿站".into(),
            place_address: "杭州市下城区环城北路西湖文化广场 B1".into(),
        }
    }
}

impl Example for PlaceRedemption {
    fn example() -> Self {
        PlaceRedemption {
            id: REDEMPTION_ID.into(),
            status: RedemptionStatusDto::PickedUp,
            reward_id: REWARD_ID.into(),
            reward_name: "矿泉水一箱".into(),
            cost: 30,
            created_at: at("2026-11-26T08:05:00Z"),
            expires_at: at("2026-11-29T08:05:00Z"),
            picked_up_at: Some(at("2026-11-27T10:12:00Z")),
            ended_at: Some(at("2026-11-27T10:12:00Z")),
        }
    }
}

impl Example for PickupRequest {
    fn example() -> Self {
        PickupRequest { code: "4819 0273 65".into() }
    }
}

impl Example for PushEnvelope {
    fn example() -> Self {
        PushEnvelope {
            to_user_name: Some("gh_97417a04a28d".into()),
            from_user_name: Some("o9AgO5Kd5ggOC-bXrbNODIiE3bGY".into()),
            create_time: Some(1_764_150_000),
            msg_type: Some("event".into()),
            event: Some("wxa_media_check".into()),
            encrypt: None,
            appid: Some("wx4f4bc4dec97d474b".into()),
            trace_id: Some("690b03d2-301f6111-35ffbd44".into()),
            version: Some(2),
            result: Some(PushCheckResult { suggest: Some("pass".into()), label: Some(serde_json::json!(100)) }),
            detail: Some(vec![serde_json::json!({
                "strategy": "content_model", "errcode": 0, "suggest": "pass", "label": 100, "prob": 90
            })]),
        }
    }
}

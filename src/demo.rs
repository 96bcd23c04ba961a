//! The demo city seeded on the first out-of-the-box start, so a newcomer can try every endpoint.

use crate::domain::DomainResult;
use crate::domain::geo::{CoordSystem, Gcj02};
use crate::domain::identity::{Account, CityAdmin, NewPassword, Rider, Role, Username};
use crate::domain::places::{PlaceAction, PlaceDraft};
use crate::domain::report::Category;
use crate::domain::routing::{Area, Unit, UnitKind};
use crate::domain::time::Millis;
use crate::service;
use crate::service::places as places_service;
use crate::service::reports::Submission;
use crate::service::sessions;
use crate::service::staff::{self, StaffSpec};
use crate::service::units;
use crate::state::AppState;

pub const DEMO_PASSWORD: &str = "demo";

/// Street offices of the demo city, west to east.
pub const DEMO_OFFICES: [&str; 3] = ["城关街道办事处", "东湖街道办事处", "西山街道办事处"];
pub const DEMO_DEPARTMENTS: [&str; 2] = ["区市场监督管理局", "交警大队"];

/// Seeds the demo city when the database has no units yet. The staff accounts are registered
/// as `xinhuoban admin create` would; the rest is done by `demo-admin` through the same use
/// cases as the API (and audited as theirs).
pub async fn seed_if_empty(state: &AppState) -> DomainResult<()> {
    let db = &state.db;
    let city_id = &state.city.id;
    if units::any_in(db, city_id).await? {
        return Ok(());
    }
    tracing::warn!(
        "demo mode: seeding the demo city with accounts demo-admin, demo-manager and demo-clerk (password `demo`)"
    );
    let admin = register(state, "demo-admin", Role::CityAdmin, "示范管理员", None).await?;
    let admin = CityAdmin::try_from(admin.as_caller())?;
    let ctx = state.units();
    let mut offices = Vec::new();
    for name in DEMO_OFFICES {
        offices.push(units::create(&ctx, &admin, UnitKind::StreetOffice, name).await?);
    }
    let mut departments = Vec::new();
    for name in DEMO_DEPARTMENTS {
        departments.push(units::create(&ctx, &admin, UnitKind::Department, name).await?);
    }
    let manager = register(state, "demo-manager", Role::StationManager, "示范驿站管理员", None).await?;
    register(state, "demo-clerk", Role::Clerk, "城关街道工作人员", Some(offices[0].id.clone())).await?;
    seed_places(state, &admin, &manager).await?;
    seed_reports(state, &admin, &offices, &departments[0]).await
}

async fn register(
    state: &AppState,
    username: &str,
    role: Role,
    display_name: &str,
    office_id: Option<String>,
) -> DomainResult<Account> {
    let spec = StaffSpec {
        username: Username::parse(username)?,
        password: NewPassword::demo(DEMO_PASSWORD),
        role,
        display_name: display_name.to_string(),
        office_id,
    };
    staff::register(&state.db, &state.city.id, spec).await
}

/// The demo city's places: every kind, some open around the clock, one overnight, one closed on
/// a holiday; `demo-manager` keeps the first four.
async fn seed_places(state: &AppState, admin: &CityAdmin, manager: &Account) -> DomainResult<()> {
    use crate::domain::places::{Amenity as A, PlaceKind as K};
    /// kind, name, address, GCJ-02 latitude and longitude, amenities, hours.
    type DemoPlace = (K, &'static str, &'static str, f64, f64, &'static [A], &'static str);
    #[rustfmt::skip]
    let places: [DemoPlace; 12] = [
        (K::Station, "城关暖新驿站", "城关街道党群服务中心一楼", 30.2588, 120.1263, &[A::DrinkingWater, A::HotWater, A::Microwave, A::PhoneCharging, A::Toilet, A::RestSeating, A::AirConditioning], "24/7"),
        (K::Station, "东湖新伙伴驿站", "东湖社区服务中心", 30.2712, 120.1925, &[A::DrinkingWater, A::PhoneCharging, A::EbikeCharging, A::Wifi, A::UnionService], "mon-sun 08:00-22:00; 2026-10-01 closed"),
        (K::Station, "西山夜间驿站", "西山路88号工会驿站", 30.2840, 120.1350, &[A::HotWater, A::Microwave, A::RestSeating, A::Heating], "mon-sun 22:00-06:00"),
        (K::ParkingZone, "文三路外卖专用停车区", "文三路与学院路口东北角", 30.2781, 120.1512, &[A::RainShelter, A::EbikeCharging], "24/7"),
        (K::Station, "湖滨爱心驿站", "湖滨银泰东侧", 30.2595, 120.1680, &[A::DrinkingWater, A::Toilet, A::UmbrellaLending, A::FirstAid], "mon-fri 09:00-21:00; sat-sun 10:00-22:00"),
        (K::Station, "高新区骑手之家", "科技园服务中心B座", 30.2920, 120.2010, &[A::DrinkingWater, A::HotWater, A::Microwave, A::PhoneCharging, A::BatterySwap, A::Lockers, A::LegalAid], "24/7"),
        (K::ParkingZone, "武林广场临时驻留点", "武林广场地下通道口", 30.2745, 120.1640, &[A::RainShelter], "mon-sun 07:00-23:00"),
        (K::ParkingZone, "天目山路停车区", "天目山路 168 号前", 30.2790, 120.1230, &[], "24/7"),
        (K::FriendlySite, "翠苑一区（友好小区）", "翠苑一区北门", 30.2880, 120.1420, &[A::Toilet], "mon-sun 06:00-23:00"),
        (K::FriendlySite, "黄龙写字楼（友好楼宇）", "黄龙路 5 号", 30.2690, 120.1480, &[A::Toilet, A::DrinkingWater], "mon-fri 07:00-22:00"),
        (K::Station, "钱江社区驿站", "钱江路社区服务站", 30.2520, 120.2050, &[A::DrinkingWater, A::RepairKit, A::RestSeating], "mon-sat 08:00-20:00"),
        (K::FriendlySite, "城东商场（友好商场）", "城东商场 1 号门", 30.2960, 120.1780, &[A::Toilet, A::AirConditioning, A::Wifi], "mon-sun 10:00-22:00"),
    ];
    let mut drafts = Vec::new();
    for (kind, name, address, lat, lng, amenities, hours) in places {
        drafts.push(PlaceDraft {
            kind,
            name: name.to_string(),
            address: address.to_string(),
            location: Gcj02::new(lat, lng)?,
            host_org: Some("示范市社会工作部".to_string()),
            contact_phone: Some("0571-12345".to_string()),
            photos: Vec::new(),
            amenities: amenities.iter().copied().collect(),
            hours: hours.parse()?,
            capacity: (kind == K::ParkingZone).then_some(20),
            max_stay_minutes: (kind == K::ParkingZone).then_some(30),
            entry_instructions: (kind == K::FriendlySite).then(|| "出示骑手证或美团/饿了么骑手App即可进入".to_string()),
        });
    }
    let rows = places_service::create_many(&state.places(), admin, drafts, PlaceAction::Create).await?;
    for row in rows.iter().take(4) {
        places_service::set_managers(&state.places(), admin, &row.id, vec![manager.id.clone()]).await?;
    }
    Ok(())
}

/// The demo offices' jurisdictions: three adjacent bands over GCJ-02 latitude 30.24–30.31, west
/// to east 120.10–120.14, 120.14–120.18, 120.18–120.22.
pub const DEMO_BANDS: [(f64, f64); 3] = [(120.10, 120.14), (120.14, 120.18), (120.18, 120.22)];
const DEMO_SOUTH: f64 = 30.24;
const DEMO_NORTH: f64 = 30.31;

/// Jurisdictions, default categories, food safety → the market regulator over the whole area,
/// the fallback queue, and two demo reports from the demo rider `li`.
async fn seed_reports(state: &AppState, admin: &CityAdmin, offices: &[Unit], market: &Unit) -> DomainResult<()> {
    let db = &state.db;
    let city_id = &state.city.id;
    let ctx = state.units();
    units::ensure_city_defaults(db, city_id).await?;
    for (office, (west, east)) in offices.iter().zip(DEMO_BANDS) {
        let area = Area::rectangle(DEMO_SOUTH, west, DEMO_NORTH, east)?;
        units::set_jurisdiction(&ctx, admin, &office.id, &area.to_geojson(), CoordSystem::Gcj02).await?;
    }
    let whole = Area::rectangle(DEMO_SOUTH, DEMO_BANDS[0].0, DEMO_NORTH, DEMO_BANDS[2].1)?;
    units::set_jurisdiction(&ctx, admin, &market.id, &whole.to_geojson(), CoordSystem::Gcj02).await?;
    units::set_category_departments(&ctx, admin, Category::FoodSafety, std::slice::from_ref(&market.id)).await?;

    let rider = Rider::try_from(sessions::demo_rider(db, city_id, "li").await?.as_caller())?;
    let demo_reports = [
        (Category::TrafficSafety, "路口红绿灯不亮，电动车和汽车抢道", 30.2741, 120.1252),
        (Category::FoodSafety, "巷子里的无证后厨，油烟和垃圾直接倒进下水道", 30.2650, 120.1950),
    ];
    for (category, description, lat, lng) in demo_reports {
        let submission = Submission {
            category,
            description: description.to_string(),
            location: Gcj02::new(lat, lng)?,
            media_ids: Vec::new(),
            anonymous: false,
        };
        service::reports::submit(&state.reports(), &rider, submission, None, Millis::now()).await?;
    }
    Ok(())
}

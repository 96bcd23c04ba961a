//! The demo city seeded on the first out-of-the-box start, so a newcomer can try every endpoint.

use crate::app::AppState;
use crate::domain::DomainResult;
use crate::domain::geo::Gcj02;
use crate::domain::identity::{Caller, NewPassword, Role, Username};
use crate::domain::report::Category;
use crate::domain::routing::Area;
use crate::domain::time::Millis;
use crate::service;
use crate::service::reports::Submission;
use crate::service::staff::{self, StaffSpec};
use crate::store;
use crate::store::offices::OfficeRow;

pub const DEMO_PASSWORD: &str = "demo";

/// Street offices of the demo city, west to east.
pub const DEMO_OFFICES: [&str; 3] = ["城关街道办事处", "东湖街道办事处", "西山街道办事处"];
pub const DEMO_DEPARTMENTS: [&str; 2] = ["区市场监督管理局", "交警大队"];

/// Seeds the demo city when the database has no offices yet.
pub async fn seed_if_empty(state: &AppState) -> DomainResult<()> {
    let db = &state.db;
    let city_id = &state.city.id;
    if store::offices::count(db, city_id).await? > 0 {
        return Ok(());
    }
    tracing::warn!(
        "demo mode: seeding the demo city with accounts demo-admin, demo-manager and demo-clerk (password `demo`)"
    );
    let mut offices = Vec::new();
    for name in DEMO_OFFICES {
        offices.push(store::offices::create(db, city_id, "street_office", name).await?);
    }
    let mut departments = Vec::new();
    for name in DEMO_DEPARTMENTS {
        departments.push(store::offices::create(db, city_id, "department", name).await?);
    }
    let accounts = [
        ("demo-admin", Role::CityAdmin, "示范管理员", None),
        ("demo-manager", Role::StationManager, "示范驿站管理员", None),
        ("demo-clerk", Role::Clerk, "城关街道工作人员", Some(offices[0].id.clone())),
    ];
    for (username, role, display_name, office_id) in accounts {
        staff::register(
            db,
            city_id,
            StaffSpec {
                username: Username::parse(username)?,
                password: NewPassword::demo(DEMO_PASSWORD),
                role,
                display_name: display_name.to_string(),
                office_id,
            },
        )
        .await?;
    }
    seed_reports(state, &offices, &departments[0]).await
}

/// The demo offices' jurisdictions: three adjacent bands over GCJ-02 latitude 30.24–30.31, west
/// to east 120.10–120.14, 120.14–120.18, 120.18–120.22.
pub const DEMO_BANDS: [(f64, f64); 3] = [(120.10, 120.14), (120.14, 120.18), (120.18, 120.22)];
const DEMO_SOUTH: f64 = 30.24;
const DEMO_NORTH: f64 = 30.31;

/// Jurisdictions, default categories, food safety → the market regulator over the whole area,
/// the fallback queue, and two demo reports from the demo rider `li`.
async fn seed_reports(state: &AppState, offices: &[OfficeRow], market: &OfficeRow) -> DomainResult<()> {
    let db = &state.db;
    let city_id = &state.city.id;
    service::units::ensure_city_defaults(db, city_id).await?;
    for (office, (west, east)) in offices.iter().zip(DEMO_BANDS) {
        let area = Area::rectangle(DEMO_SOUTH, west, DEMO_NORTH, east)?;
        store::units::put_jurisdiction(db, city_id, &office.id, &area).await?;
    }
    let whole = Area::rectangle(DEMO_SOUTH, DEMO_BANDS[0].0, DEMO_NORTH, DEMO_BANDS[2].1)?;
    store::units::put_jurisdiction(db, city_id, &market.id, &whole).await?;
    store::units::set_category_departments(db, city_id, Category::FoodSafety, std::slice::from_ref(&market.id)).await?;
    state.routing.reload(db, city_id).await?;

    let rider = store::accounts::upsert_rider(db, city_id, "demo:li", "li").await?;
    let caller = Caller {
        account_id: rider.id,
        city_id: city_id.clone(),
        role: Role::Rider,
        office_id: None,
        display_name: rider.display_name,
    };
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
        service::reports::submit(state, &caller, submission, None, Millis::now()).await?;
    }
    Ok(())
}

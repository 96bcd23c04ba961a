//! The demo city seeded on the first out-of-the-box start, so a newcomer can try every endpoint.

use crate::app::AppState;
use crate::domain::DomainResult;
use crate::domain::identity::{NewPassword, Role, Username};
use crate::service::staff::{self, StaffSpec};
use crate::store;

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
    for name in DEMO_DEPARTMENTS {
        store::offices::create(db, city_id, "department", name).await?;
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
    Ok(())
}

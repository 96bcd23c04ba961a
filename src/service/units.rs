//! Units, jurisdictions and categories: what city admins manage and what routing reads. The
//! routing index lives in memory (`RoutingCache`), rebuilt from the database at start, after
//! every local write, and whenever a minutely check of the database's routing stamp shows
//! another node wrote. Every admin change commits with its audit entry.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use serde_json::{Value, json};

use crate::domain::city::City;
use crate::domain::geo::CoordSystem;
use crate::domain::identity::CityAdmin;
use crate::domain::report::{Category, CategorySettings};
use crate::domain::routing::{Area, RoutingIndex, Unit, UnitArea, UnitKind};
use crate::domain::{DomainError, DomainResult};
use crate::store::audit::{self, AuditEntry};
use crate::store::{self, Db};

/// The name of the fallback unit a city gets when it has none.
pub const FALLBACK_UNIT_NAME: &str = "市级统一受理中心（兜底）";

/// What unit and category administration needs: the database, the city, and the routing index
/// its writes keep fresh.
#[derive(Clone)]
pub struct UnitsContext {
    pub db: Db,
    pub city: Arc<City>,
    pub routing: Arc<RoutingCache>,
}

/// The current routing index, swapped whole on reload so readers never wait on a rebuild.
#[derive(Default)]
pub struct RoutingCache {
    index: RwLock<Arc<RoutingIndex>>,
    /// `store::jurisdictions::routing_stamp` as of the last rebuild.
    stamp: RwLock<String>,
}

impl RoutingCache {
    pub fn current(&self) -> Arc<RoutingIndex> {
        self.index.read().map(|i| i.clone()).unwrap_or_default()
    }

    /// Rebuilds the index when the database's routing data changed since the last rebuild
    /// (another node's write, for one).
    pub async fn refresh(&self, db: &Db, city_id: &str) -> DomainResult<()> {
        let stamp = store::jurisdictions::routing_stamp(db, city_id).await?;
        if self.stamp.read().is_ok_and(|s| *s == stamp) {
            return Ok(());
        }
        self.reload(db, city_id).await
    }

    /// Rebuilds the index from the database.
    pub async fn reload(&self, db: &Db, city_id: &str) -> DomainResult<()> {
        let stamp = store::jurisdictions::routing_stamp(db, city_id).await?;
        let mut units = Vec::new();
        for row in store::jurisdictions::all(db, city_id).await? {
            let Ok(area) = Area::from_stored(&row.geojson) else {
                tracing::warn!(office_id = %row.office_id, "skipping a jurisdiction that no longer parses");
                continue;
            };
            units.push(UnitArea { office_id: row.office_id, kind: row.kind, area });
        }
        let assignments = store::jurisdictions::category_departments(db, city_id).await?;
        let fallback = store::units::first_of_kind(&db.pool, city_id, UnitKind::Fallback).await?.map(|u| u.id);
        let index = Arc::new(RoutingIndex::new(units, assignments, fallback));
        if let Ok(mut slot) = self.index.write() {
            *slot = index;
        }
        if let Ok(mut slot) = self.stamp.write() {
            *slot = stamp;
        }
        Ok(())
    }
}

/// Gives a city what reports need: every category with its default settings (keeping what an
/// admin changed), and a fallback unit.
pub async fn ensure_city_defaults(db: &Db, city_id: &str) -> DomainResult<()> {
    let mut tx = db.begin_write().await?;
    for category in Category::ALL {
        store::categories::put(&mut tx, city_id, &category.defaults(), false).await?;
    }
    if store::units::first_of_kind(&mut *tx, city_id, UnitKind::Fallback).await?.is_none() {
        store::units::create(&mut tx, city_id, UnitKind::Fallback, FALLBACK_UNIT_NAME).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// True when the city has any unit (the demo seed runs only on a city without).
pub async fn any_in(db: &Db, city_id: &str) -> DomainResult<bool> {
    Ok(store::units::count(db, city_id).await? > 0)
}

/// A unit of this city.
pub async fn unit(db: &Db, city_id: &str, office_id: &str) -> DomainResult<Unit> {
    store::units::get(db, city_id, office_id).await?.ok_or(DomainError::NotFound("unit"))
}

/// The city's units in id order, starting after `after`. Only a city admin may list them; the
/// `CityAdmin` is the proof.
pub async fn list(ctx: &UnitsContext, _admin: &CityAdmin, after: Option<&str>, limit: u32) -> DomainResult<Vec<Unit>> {
    store::units::list(&ctx.db, &ctx.city.id, after, limit).await
}

/// Creates a unit; routing knows it at once.
pub async fn create(ctx: &UnitsContext, admin: &CityAdmin, kind: UnitKind, name: &str) -> DomainResult<Unit> {
    let name = name.trim();
    if name.is_empty() {
        return Err(DomainError::invalid("name", "required"));
    }
    let mut tx = ctx.db.begin_write().await?;
    let unit = store::units::create(&mut tx, &ctx.city.id, kind, name).await?;
    let after = json!({ "kind": kind.as_str(), "name": name });
    audit::record(&mut *tx, AuditEntry::by(admin, "unit.create", "office", &unit.id).with_after(after)).await?;
    tx.commit().await?;
    ctx.routing.reload(&ctx.db, &ctx.city.id).await?;
    Ok(unit)
}

/// Imports a unit's jurisdiction from GeoJSON in `system`; routing uses it at once.
pub async fn set_jurisdiction(
    ctx: &UnitsContext,
    admin: &CityAdmin,
    office_id: &str,
    geojson: &Value,
    system: CoordSystem,
) -> DomainResult<Area> {
    unit(&ctx.db, &ctx.city.id, office_id).await?;
    let area = Area::from_geojson(geojson, system)?;
    let b = area.bbox();
    let mut tx = ctx.db.begin_write().await?;
    store::jurisdictions::put(&mut tx, &ctx.city.id, office_id, &area).await?;
    let after = json!({ "bbox": [b.min_lng, b.min_lat, b.max_lng, b.max_lat] });
    audit::record(&mut *tx, AuditEntry::by(admin, "unit.jurisdiction", "office", office_id).with_after(after)).await?;
    tx.commit().await?;
    ctx.routing.reload(&ctx.db, &ctx.city.id).await?;
    Ok(area)
}

/// A category's settings and the departments it is assigned to, as admins see it.
pub struct CategoryAdmin {
    pub settings: CategorySettings,
    pub department_ids: Vec<String>,
}

/// Every category of the city (its defaults where the city never stored it), with departments,
/// for a city admin: two statements whatever the number of categories.
pub async fn categories(ctx: &UnitsContext, _admin: &CityAdmin) -> DomainResult<Vec<CategoryAdmin>> {
    category_views(&ctx.db, &ctx.city.id, Category::ALL).await
}

async fn category_views(db: &Db, city_id: &str, wanted: &[Category]) -> DomainResult<Vec<CategoryAdmin>> {
    let mut stored: HashMap<Category, CategorySettings> =
        store::categories::all(db, city_id).await?.into_iter().map(|s| (s.category, s)).collect();
    let mut departments: HashMap<Category, Vec<String>> = HashMap::new();
    for (category, office_id) in store::jurisdictions::category_departments(db, city_id).await? {
        departments.entry(category).or_default().push(office_id);
    }
    Ok(wanted
        .iter()
        .map(|c| CategoryAdmin {
            settings: stored.remove(c).unwrap_or_else(|| c.defaults()),
            department_ids: departments.remove(c).unwrap_or_default(),
        })
        .collect())
}

async fn category_view(db: &Db, city_id: &str, category: Category) -> DomainResult<CategoryAdmin> {
    let mut views = category_views(db, city_id, &[category]).await?;
    views.pop().ok_or_else(|| DomainError::internal("a category view went missing"))
}

/// Changes a category's name, hint, urgency and deadlines; reports reaching a unit from now on
/// get the new deadlines.
pub async fn update_category(
    ctx: &UnitsContext,
    admin: &CityAdmin,
    settings: CategorySettings,
) -> DomainResult<CategoryAdmin> {
    let city_id = &ctx.city.id;
    let mut tx = ctx.db.begin_write().await?;
    store::categories::put(&mut tx, city_id, &settings, true).await?;
    let after = json!({ "name": settings.name, "response_secs": settings.response_secs, "resolution_secs": settings.resolution_secs });
    audit::record(
        &mut *tx,
        AuditEntry::by(admin, "category.update", "category", settings.category.as_str()).with_after(after),
    )
    .await?;
    tx.commit().await?;
    category_view(&ctx.db, city_id, settings.category).await
}

/// Assigns a category to departments (each covering its own jurisdiction); routing uses the
/// assignment at once.
pub async fn set_category_departments(
    ctx: &UnitsContext,
    admin: &CityAdmin,
    category: Category,
    office_ids: &[String],
) -> DomainResult<CategoryAdmin> {
    let city_id = &ctx.city.id;
    let mut ids = office_ids.to_vec();
    ids.sort();
    ids.dedup();
    let kinds: HashMap<String, UnitKind> =
        store::units::get_many(&ctx.db, city_id, &ids).await?.into_iter().map(|u| (u.id, u.kind)).collect();
    for id in office_ids {
        match kinds.get(id) {
            None => return Err(DomainError::invalid("office_ids", format!("no unit `{id}`"))),
            Some(UnitKind::Department) => {}
            Some(_) => return Err(DomainError::invalid("office_ids", format!("`{id}` is not a department"))),
        }
    }
    let mut tx = ctx.db.begin_write().await?;
    store::jurisdictions::set_category_departments(&mut tx, city_id, category, &ids).await?;
    let entry = AuditEntry::by(admin, "category.departments", "category", category.as_str());
    audit::record(&mut *tx, entry.with_after(json!({ "office_ids": ids }))).await?;
    tx.commit().await?;
    ctx.routing.reload(&ctx.db, city_id).await?;
    category_view(&ctx.db, city_id, category).await
}

/// The settings of a category in a city (its defaults if the city never stored it).
pub async fn category_settings(db: &Db, city_id: &str, category: Category) -> DomainResult<CategorySettings> {
    Ok(store::categories::get(db, city_id, category).await?.unwrap_or_else(|| category.defaults()))
}

//! Units, jurisdictions and categories: what city admins manage and what routing reads. The
//! routing index lives in memory (`RoutingCache`), rebuilt from the database at start, after
//! every local write, and whenever a minutely check of the database's routing stamp shows
//! another node wrote.

use std::sync::{Arc, RwLock};

use crate::domain::geo::CoordSystem;
use crate::domain::report::{Category, CategorySettings};
use crate::domain::routing::{Area, RoutingIndex, UnitArea, UnitKind};
use crate::domain::{DomainError, DomainResult};
use crate::store::offices::OfficeRow;
use crate::store::{self, Db};

/// The name of the fallback unit a city gets when it has none.
pub const FALLBACK_UNIT_NAME: &str = "市级统一受理中心（兜底）";

/// The current routing index, swapped whole on reload so readers never wait on a rebuild.
#[derive(Default)]
pub struct RoutingCache {
    index: RwLock<Arc<RoutingIndex>>,
    /// `store::units::routing_stamp` as of the last rebuild.
    stamp: RwLock<String>,
}

impl RoutingCache {
    pub fn current(&self) -> Arc<RoutingIndex> {
        self.index.read().map(|i| i.clone()).unwrap_or_default()
    }

    /// Rebuilds the index when the database's routing data changed since the last rebuild
    /// (another node's write, for one).
    pub async fn refresh(&self, db: &Db, city_id: &str) -> DomainResult<()> {
        let stamp = store::units::routing_stamp(db, city_id).await?;
        if self.stamp.read().is_ok_and(|s| *s == stamp) {
            return Ok(());
        }
        self.reload(db, city_id).await
    }

    /// Rebuilds the index from the database.
    pub async fn reload(&self, db: &Db, city_id: &str) -> DomainResult<()> {
        let stamp = store::units::routing_stamp(db, city_id).await?;
        let mut units = Vec::new();
        for row in store::units::jurisdictions(db, city_id).await? {
            let (Ok(kind), Ok(area)) = (row.kind.parse::<UnitKind>(), Area::from_stored(&row.geojson)) else {
                tracing::warn!(office_id = %row.office_id, "skipping a jurisdiction that no longer parses");
                continue;
            };
            units.push(UnitArea { office_id: row.office_id, kind, area });
        }
        let assignments = store::units::category_departments(db, city_id).await?;
        let fallback = store::offices::first_of_kind(db, city_id, UnitKind::Fallback.as_str()).await?.map(|o| o.id);
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
    for category in Category::ALL {
        store::units::insert_category_if_missing(db, city_id, &category.defaults()).await?;
    }
    if store::offices::first_of_kind(db, city_id, UnitKind::Fallback.as_str()).await?.is_none() {
        store::offices::create(db, city_id, UnitKind::Fallback.as_str(), FALLBACK_UNIT_NAME).await?;
    }
    Ok(())
}

/// A unit of this city, with its kind parsed.
pub async fn unit(db: &Db, city_id: &str, office_id: &str) -> DomainResult<(OfficeRow, UnitKind)> {
    let office = store::offices::get(db, city_id, office_id).await?.ok_or(DomainError::NotFound("unit"))?;
    let kind = office.kind.parse()?;
    Ok((office, kind))
}

/// Imports a unit's jurisdiction from GeoJSON in `system`, and refreshes routing.
pub async fn set_jurisdiction(
    db: &Db,
    cache: &RoutingCache,
    city_id: &str,
    office_id: &str,
    geojson: &serde_json::Value,
    system: CoordSystem,
) -> DomainResult<Area> {
    unit(db, city_id, office_id).await?;
    let area = Area::from_geojson(geojson, system)?;
    store::units::put_jurisdiction(db, city_id, office_id, &area).await?;
    cache.reload(db, city_id).await?;
    Ok(area)
}

/// Assigns a category to departments (each covering its own jurisdiction), and refreshes routing.
pub async fn set_category_departments(
    db: &Db,
    cache: &RoutingCache,
    city_id: &str,
    category: Category,
    office_ids: &[String],
) -> DomainResult<()> {
    for id in office_ids {
        let (_, kind) =
            unit(db, city_id, id).await.map_err(|_| DomainError::invalid("office_ids", format!("no unit `{id}`")))?;
        if kind != UnitKind::Department {
            return Err(DomainError::invalid("office_ids", format!("`{id}` is not a department")));
        }
    }
    let mut ids = office_ids.to_vec();
    ids.sort();
    ids.dedup();
    store::units::set_category_departments(db, city_id, category, &ids).await?;
    cache.reload(db, city_id).await
}

/// The settings of a category in a city (its defaults if the city never stored it).
pub async fn category_settings(db: &Db, city_id: &str, category: Category) -> DomainResult<CategorySettings> {
    Ok(store::units::category(db, city_id, category).await?.unwrap_or_else(|| category.defaults()))
}

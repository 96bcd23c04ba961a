//! City administration of what reports are routed by: units (street offices, departments, the
//! fallback queue), their jurisdictions imported from GeoJSON, and report categories with their
//! deadlines and department assignments.

use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};
use serde_json::json;

use super::ApiTags;
use super::error::ApiResult;
use super::paging::PageRequest;
use super::reports::{CategoryDto, CategoryView, CoordDto, UnitKindDto, UrgencyDto, coord_of};
use super::security::BearerAuth;
use crate::domain::DomainError;
use crate::domain::identity::Caller;
use crate::domain::report::{Category, CategorySettings};
use crate::domain::routing::UnitKind;
use crate::service::units;
use crate::state::AppState;
use crate::store::audit::AuditEntry;
use crate::store::offices::OfficeRow;
use crate::store::{self};

#[derive(Debug, Object)]
pub struct Unit {
    pub id: String,
    pub name: String,
    pub kind: UnitKindDto,
}

impl TryFrom<OfficeRow> for Unit {
    type Error = DomainError;
    fn try_from(o: OfficeRow) -> Result<Self, DomainError> {
        Ok(Unit { kind: o.kind.parse::<UnitKind>()?.into(), id: o.id, name: o.name })
    }
}

#[derive(Debug, Object)]
pub struct UnitPage {
    pub items: Vec<Unit>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Object)]
pub struct CreateUnitRequest {
    pub kind: UnitKindDto,
    #[oai(validator(min_length = 1, max_length = 64))]
    pub name: String,
}

/// A jurisdiction as stored: its bounding box in GCJ-02.
#[derive(Debug, Object)]
pub struct JurisdictionView {
    pub office_id: String,
    pub min_lat: f64,
    pub min_lng: f64,
    pub max_lat: f64,
    pub max_lng: f64,
}

#[derive(Debug, Object)]
pub struct CategoryUpdate {
    #[oai(validator(min_length = 1, max_length = 32))]
    pub name: String,
    #[oai(default, validator(max_length = 200))]
    pub hint: String,
    pub urgency: UrgencyDto,
    /// Seconds a unit has to respond (60 to 2,592,000).
    #[oai(validator(minimum(value = "60"), maximum(value = "2592000")))]
    pub response_secs: i64,
    /// Seconds a unit has to resolve (at least the response deadline, at most 90 days).
    #[oai(validator(minimum(value = "60"), maximum(value = "7776000")))]
    pub resolution_secs: i64,
}

#[derive(Debug, Object)]
pub struct CategoryDepartments {
    /// Departments that handle the category wherever their jurisdiction reaches.
    #[oai(validator(max_items = 50, max_length = 64))]
    pub office_ids: Vec<String>,
}

#[derive(Debug, Object)]
pub struct CategoryAdminView {
    #[oai(flatten)]
    pub category: CategoryView,
    pub department_ids: Vec<String>,
}

#[derive(Default)]
pub struct UnitsApi;

async fn audit(
    state: &AppState,
    caller: &Caller,
    action: &str,
    kind: &str,
    id: &str,
    after: serde_json::Value,
) -> ApiResult<()> {
    let entry = AuditEntry {
        city_id: &caller.city_id,
        actor_id: Some(&caller.account_id),
        action,
        object_kind: kind,
        object_id: id,
        before: None,
        after: Some(after),
    };
    Ok(store::audit::record_now(&state.db, entry).await?)
}

async fn category_view(state: &AppState, category: Category) -> ApiResult<CategoryAdminView> {
    let settings = units::category_settings(&state.db, &state.city.id, category).await?;
    let department_ids = store::units::category_departments(&state.db, &state.city.id)
        .await?
        .into_iter()
        .filter(|(c, _)| *c == category)
        .map(|(_, id)| id)
        .collect();
    Ok(CategoryAdminView { category: settings.into(), department_ids })
}

#[OpenApi(tag = "ApiTags::Units")]
impl UnitsApi {
    /// List units: street offices, departments and the fallback queue (city admins)
    #[oai(path = "/admin/units", method = "get", operation_id = "admin_list_units")]
    async fn list(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))] limit: Query<Option<u32>>,
        #[oai(validator(max_length = 200))] cursor: Query<Option<String>>,
    ) -> ApiResult<Json<UnitPage>> {
        auth.caller().require_city_admin()?;
        let page = PageRequest::parse(limit.0, cursor.0)?;
        let rows = store::offices::list(&state.db, &state.city.id, page.after.as_deref(), page.fetch_limit()).await?;
        let (rows, next_cursor) = page.finish(rows, |o| o.id.clone());
        let items = rows.into_iter().map(Unit::try_from).collect::<Result<_, _>>()?;
        Ok(Json(UnitPage { items, next_cursor }))
    }

    /// Create a unit (city admins)
    #[oai(path = "/admin/units", method = "post", operation_id = "admin_create_unit")]
    async fn create(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        body: Json<CreateUnitRequest>,
    ) -> ApiResult<Json<Unit>> {
        let caller = auth.caller();
        caller.require_city_admin()?;
        let name = body.name.trim();
        if name.is_empty() {
            return Err(DomainError::invalid("name", "required").into());
        }
        let kind = UnitKind::from(body.kind);
        let office = store::offices::create(&state.db, &state.city.id, kind.as_str(), name).await?;
        audit(&state, caller, "unit.create", "office", &office.id, json!({ "kind": kind.as_str(), "name": name }))
            .await?;
        state.routing.reload(&state.db, &state.city.id).await?;
        Ok(Json(office.try_into()?))
    }

    /// Import a unit's jurisdiction from GeoJSON (city admins)
    ///
    /// The body is a GeoJSON Polygon or MultiPolygon, bare or as a Feature's geometry, with
    /// `[longitude, latitude]` positions in the system `coord` names (gcj02 by default; wgs84 is
    /// converted). Unclosed rings, self-intersections and swapped coordinates are refused with
    /// the reason. Replaces any earlier jurisdiction; routing uses it at once.
    #[oai(path = "/admin/units/:id/jurisdiction", method = "put", operation_id = "admin_put_jurisdiction")]
    async fn put_jurisdiction(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        #[oai(validator(max_length = 64))] id: Path<String>,
        coord: Query<Option<CoordDto>>,
        body: Json<serde_json::Value>,
    ) -> ApiResult<Json<JurisdictionView>> {
        let caller = auth.caller();
        caller.require_city_admin()?;
        let area =
            units::set_jurisdiction(&state.db, &state.routing, &state.city.id, &id.0, &body.0, coord_of(coord.0))
                .await?;
        let b = area.bbox();
        audit(
            &state,
            caller,
            "unit.jurisdiction",
            "office",
            &id.0,
            json!({ "bbox": [b.min_lng, b.min_lat, b.max_lng, b.max_lat] }),
        )
        .await?;
        Ok(Json(JurisdictionView {
            office_id: id.0,
            min_lat: b.min_lat,
            min_lng: b.min_lng,
            max_lat: b.max_lat,
            max_lng: b.max_lng,
        }))
    }

    /// Report categories with their deadlines and departments (city admins)
    #[oai(path = "/admin/categories", method = "get", operation_id = "admin_list_categories")]
    async fn categories(&self, state: Data<&AppState>, auth: BearerAuth) -> ApiResult<Json<Vec<CategoryAdminView>>> {
        auth.caller().require_city_admin()?;
        let mut all = Vec::new();
        for category in Category::ALL {
            all.push(category_view(&state, *category).await?);
        }
        Ok(Json(all))
    }

    /// Change a category's name, hint, urgency and deadlines (city admins)
    #[oai(path = "/admin/categories/:code", method = "put", operation_id = "admin_put_category")]
    async fn put_category(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        code: Path<CategoryDto>,
        body: Json<CategoryUpdate>,
    ) -> ApiResult<Json<CategoryAdminView>> {
        let caller = auth.caller();
        caller.require_city_admin()?;
        let category = Category::from(code.0);
        let b = body.0;
        let settings =
            CategorySettings::parse(category, &b.name, &b.hint, b.urgency.into(), b.response_secs, b.resolution_secs)?;
        store::units::insert_category_if_missing(&state.db, &state.city.id, &settings).await?;
        store::units::update_category(&state.db, &state.city.id, &settings).await?;
        audit(&state, caller, "category.update", "category", category.as_str(), json!({ "name": settings.name, "response_secs": settings.response_secs, "resolution_secs": settings.resolution_secs }))
            .await?;
        Ok(Json(category_view(&state, category).await?))
    }

    /// Assign a category to departments, each for its own jurisdiction (city admins)
    #[oai(
        path = "/admin/categories/:code/departments",
        method = "put",
        operation_id = "admin_put_category_departments"
    )]
    async fn put_departments(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        code: Path<CategoryDto>,
        body: Json<CategoryDepartments>,
    ) -> ApiResult<Json<CategoryAdminView>> {
        let caller = auth.caller();
        caller.require_city_admin()?;
        let category = Category::from(code.0);
        units::set_category_departments(&state.db, &state.routing, &state.city.id, category, &body.office_ids).await?;
        audit(
            &state,
            caller,
            "category.departments",
            "category",
            category.as_str(),
            json!({ "office_ids": body.office_ids }),
        )
        .await?;
        Ok(Json(category_view(&state, category).await?))
    }
}

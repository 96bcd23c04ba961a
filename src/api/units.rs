//! City administration of what reports are routed by: units (street offices, departments, the
//! fallback queue), their jurisdictions imported from GeoJSON, and report categories with their
//! deadlines and department assignments.

use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};

use super::ApiTags;
use super::dto::not_null;
use super::error::codes::*;
use super::error::{ApiResult, Body, Paged, SignedAs};
use super::geojson::{JurisdictionGeoJson, Shaped};
use super::paging::{Cursor, Page, PageRequest};
use super::reports::{CategoryDto, CategoryView, CoordDto, UnitKindDto, UrgencyDto, coord_of};
use super::security::AdminAuth;
use super::text::{Text, strings};
use crate::domain::report::{Category, CategorySettings};
use crate::domain::routing::{self, UnitKind};
use crate::service::units::{self, CategoryAdmin};
use crate::state::AppState;

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct Unit {
    pub id: String,
    pub name: String,
    pub kind: UnitKindDto,
}

impl From<routing::Unit> for Unit {
    fn from(u: routing::Unit) -> Self {
        Unit { id: u.id, name: u.name, kind: u.kind.into() }
    }
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct CreateUnitRequest {
    pub kind: UnitKindDto,
    /// The unit's name, e.g. `城关街道`; not blank.
    #[oai(validator(
        max_length = 64,
        pattern = r"[^\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
    ))]
    pub name: Text,
}

/// A jurisdiction as stored: its bounding box in GCJ-02.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct JurisdictionView {
    pub office_id: String,
    pub min_lat: f64,
    pub min_lng: f64,
    pub max_lat: f64,
    pub max_lng: f64,
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct CategoryUpdate {
    /// What riders see, e.g. `道路破损`; not blank.
    #[oai(validator(
        max_length = 32,
        pattern = r"[^\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
    ))]
    pub name: Text,
    /// What riders read when they pick the category (none when left out).
    #[oai(deserialize_with = "not_null", validator(max_length = 200))]
    pub hint: Option<Text>,
    pub urgency: UrgencyDto,
    /// Seconds a unit has to respond (60 to 2,592,000).
    #[oai(validator(minimum(value = "60"), maximum(value = "2592000")))]
    pub response_secs: i64,
    /// Seconds a unit has to resolve (at least the response deadline, at most 90 days).
    #[oai(validator(minimum(value = "60"), maximum(value = "7776000")))]
    pub resolution_secs: i64,
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct CategoryDepartments {
    /// Departments that handle the category wherever their jurisdiction reaches.
    #[oai(validator(max_items = 50, max_length = 64))]
    pub office_ids: Vec<Text>,
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct CategoryAdminView {
    #[oai(flatten)]
    pub category: CategoryView,
    pub department_ids: Vec<String>,
}

impl From<CategoryAdmin> for CategoryAdminView {
    fn from(c: CategoryAdmin) -> Self {
        CategoryAdminView { category: c.settings.into(), department_ids: c.department_ids }
    }
}

#[derive(Default)]
pub struct UnitsApi;

#[OpenApi(tag = "ApiTags::Units")]
impl UnitsApi {
    /// List units: street offices, departments and the fallback queue (city admins)
    ///
    /// Every unit of the city in id order, one page at a time. Reports are routed to them; clerks
    /// belong to one.
    #[oai(path = "/admin/units", method = "get", operation_id = "admin_list_units")]
    async fn list(
        &self,
        state: Data<&AppState>,
        auth: AdminAuth,
        /// How many items a page holds: 1 to 100 (default 20).
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<u32>>,
        /// Where the page starts: the previous page's `next_cursor`; leave out for the first page.
        cursor: Query<Option<Cursor>>,
    ) -> ApiResult<Json<Page<Unit>>, (SignedAs, Paged)> {
        let page = PageRequest::parse(limit.0, cursor.0)?;
        let rows = units::list(&state.units(), &auth.0, page.after.as_deref(), page.fetch_limit()).await?;
        let (rows, next_cursor) = page.finish(rows, |u| u.id.clone());
        Ok(Json(Page::new(rows.into_iter().map(Unit::from).collect(), next_cursor)))
    }

    /// Create a unit (city admins)
    ///
    /// A street office (give it a jurisdiction next, `PUT /admin/units/{id}/jurisdiction`), a
    /// department (assign it categories, `PUT /admin/categories/{code}/departments`) or the city's
    /// fallback queue, which receives what nothing else covers.
    #[oai(path = "/admin/units", method = "post", operation_id = "admin_create_unit")]
    async fn create(
        &self,
        state: Data<&AppState>,
        auth: AdminAuth,
        body: Json<CreateUnitRequest>,
    ) -> ApiResult<Json<Unit>, (SignedAs, Body, InvalidInput)> {
        Ok(Json(units::create(&state.units(), &auth.0, UnitKind::from(body.kind), &body.name).await?.into()))
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
        auth: AdminAuth,
        /// The unit's id (`Unit.id`, from `GET /admin/units`).
        #[oai(validator(max_length = 64))]
        id: Path<String>,
        /// The system of the GeoJSON's positions: gcj02 (default) or wgs84 (converted to GCJ-02).
        coord: Query<Option<CoordDto>>,
        body: Json<Shaped<JurisdictionGeoJson>>,
    ) -> ApiResult<Json<JurisdictionView>, (SignedAs, InvalidParameter, Body, InvalidInput, NotFound)> {
        let area = units::set_jurisdiction(&state.units(), &auth.0, &id.0, &body.0.value, coord_of(coord.0)).await?;
        let b = area.bbox();
        Ok(Json(JurisdictionView {
            office_id: id.0,
            min_lat: b.min_lat,
            min_lng: b.min_lng,
            max_lat: b.max_lat,
            max_lng: b.max_lng,
        }))
    }

    /// Report categories with their deadlines and departments (city admins)
    ///
    /// Every category with its settings (the built-in defaults where the city never changed them)
    /// and the departments it is assigned to.
    #[oai(path = "/admin/categories", method = "get", operation_id = "admin_list_categories")]
    async fn categories(
        &self,
        state: Data<&AppState>,
        auth: AdminAuth,
    ) -> ApiResult<Json<Vec<CategoryAdminView>>, SignedAs> {
        let all = units::categories(&state.units(), &auth.0).await?;
        Ok(Json(all.into_iter().map(CategoryAdminView::from).collect()))
    }

    /// Change a category's name, hint, urgency and deadlines (city admins)
    ///
    /// Replaces the category's settings. New reports get the new deadlines; reports already
    /// filed keep theirs. The resolution deadline must be at least the response deadline.
    #[oai(path = "/admin/categories/:code", method = "put", operation_id = "admin_put_category")]
    async fn put_category(
        &self,
        state: Data<&AppState>,
        auth: AdminAuth,
        /// The category.
        code: Path<CategoryDto>,
        body: Json<CategoryUpdate>,
    ) -> ApiResult<Json<CategoryAdminView>, (SignedAs, InvalidParameter, Body, InvalidInput)> {
        let b = body.0;
        let settings = CategorySettings::parse(
            Category::from(code.0),
            &b.name,
            b.hint.as_deref().unwrap_or_default(),
            b.urgency.into(),
            b.response_secs,
            b.resolution_secs,
        )?;
        Ok(Json(units::update_category(&state.units(), &auth.0, settings).await?.into()))
    }

    /// Assign a category to departments, each for its own jurisdiction (city admins)
    ///
    /// Replaces the category's departments (an empty list leaves it to street offices). A new
    /// report of the category goes to a department whose jurisdiction holds the spot before any
    /// street office.
    #[oai(
        path = "/admin/categories/:code/departments",
        method = "put",
        operation_id = "admin_put_category_departments"
    )]
    async fn put_departments(
        &self,
        state: Data<&AppState>,
        auth: AdminAuth,
        /// The category.
        code: Path<CategoryDto>,
        body: Json<CategoryDepartments>,
    ) -> ApiResult<Json<CategoryAdminView>, (SignedAs, InvalidParameter, Body, InvalidInput)> {
        let category = Category::from(code.0);
        Ok(Json(
            units::set_category_departments(&state.units(), &auth.0, category, &strings(body.0.office_ids))
                .await?
                .into(),
        ))
    }
}

//! The Open311 GeoReport v2 facade's use cases: public reads of reports, which show their public
//! projection (`domain::report::PublicReport`) and nothing else, read in a fixed number of
//! statements whatever the number of requests. Filing goes through `reports::submit` like any
//! rider's report.

use std::collections::HashMap;

use super::reports::{PublicView, ReportsContext, categories, public_views};
use crate::domain::DomainResult;
use crate::domain::report::Category;
use crate::domain::time::Millis;
use crate::store::reports::{ReportFilter, ReportRow};
use crate::store::{self};

/// The most requests one answer holds.
pub const MAX_REQUESTS: usize = 200;
/// Without a start date, requests filed within this many days before the end date (or now).
pub const DEFAULT_WINDOW_DAYS: i64 = 90;

/// A report as GeoReport shows it: its public projection, and the category's name in this city.
#[derive(Debug, Clone)]
pub struct PublicRequest {
    pub report: PublicView,
    pub service_name: String,
}

/// Which requests to list.
#[derive(Debug, Clone)]
pub enum RequestQuery {
    /// These ids, in this order (unknown ones left out; at most `MAX_REQUESTS`).
    Ids(Vec<String>),
    /// The newest, of one category or all, open or closed or both, filed in a range.
    Latest { category: Option<Category>, open: Option<bool>, start: Option<Millis>, end: Option<Millis> },
}

/// The requests a query selects, newest first unless asked for by id.
pub async fn requests(ctx: &ReportsContext, query: RequestQuery, now: Millis) -> DomainResult<Vec<PublicRequest>> {
    let rows = match query {
        RequestQuery::Ids(mut ids) => {
            ids.truncate(MAX_REQUESTS);
            let found: HashMap<String, ReportRow> = store::reports::get_many(&ctx.db, &ctx.city.id, &ids)
                .await?
                .into_iter()
                .map(|r| (r.id.clone(), r))
                .collect();
            ids.iter().filter_map(|id| found.get(id).cloned()).collect()
        }
        RequestQuery::Latest { category, open, start, end } => {
            let start = start.unwrap_or_else(|| end.unwrap_or(now).plus_secs(-DEFAULT_WINDOW_DAYS * 24 * 3600));
            let filter = ReportFilter {
                city_id: ctx.city.id.clone(),
                category,
                from: Some(start),
                to: end,
                ..Default::default()
            };
            store::reports::latest(&ctx.db, &filter, open, MAX_REQUESTS as u32).await?
        }
    };
    render(ctx, rows).await
}

/// One request by id.
pub async fn request(ctx: &ReportsContext, id: &str, now: Millis) -> DomainResult<Option<PublicRequest>> {
    Ok(requests(ctx, RequestQuery::Ids(vec![id.to_string()]), now).await?.pop())
}

/// The public projection of every row with its unit and its category's name: the categories and
/// the units one statement each.
async fn render(ctx: &ReportsContext, rows: Vec<ReportRow>) -> DomainResult<Vec<PublicRequest>> {
    let categories = categories(ctx).await?;
    let views = public_views(ctx, &rows).await?;
    Ok(views
        .into_iter()
        .map(|report| {
            let category = report.report.category;
            let service_name = categories
                .iter()
                .find(|c| c.category == category)
                .map(|c| c.name.clone())
                .unwrap_or_else(|| category.defaults().name);
            PublicRequest { service_name, report }
        })
        .collect())
}

//! Queuing notifications in the transaction of the change that causes them.

use crate::domain::DomainResult;
use crate::domain::notify::{
    PointsArrived, RedemptionNews, ReportProgress, points_arrived_fields, redemption_fields, report_progress_fields,
};
use crate::integrations::wechat::SubscribeMessage;
use crate::outbox;

/// Tells every follower of a report that it moved on. Does nothing when no template is set.
pub async fn queue_report_progress(
    conn: &mut sqlx::AnyConnection,
    template_id: Option<&str>,
    city_id: &str,
    followers: &[String],
    progress: &ReportProgress<'_>,
) -> DomainResult<usize> {
    let Some(template_id) = template_id else { return Ok(0) };
    let (page, data) = report_progress_fields(progress);
    for account_id in followers {
        let message = SubscribeMessage { template_id: template_id.to_string(), page: page.clone(), data: data.clone() };
        outbox::enqueue_subscribe(conn, city_id, account_id, message).await?;
    }
    Ok(followers.len())
}

/// Tells a rider that points arrived for a report.
pub async fn queue_points_arrived(
    conn: &mut sqlx::AnyConnection,
    template_id: &str,
    city_id: &str,
    rider_id: &str,
    arrived: &PointsArrived<'_>,
) -> DomainResult<()> {
    let (page, data) = points_arrived_fields(arrived);
    let message = SubscribeMessage { template_id: template_id.to_string(), page, data };
    outbox::enqueue_subscribe(conn, city_id, rider_id, message).await?;
    Ok(())
}

/// Tells a rider their redemption was picked up or expired. Does nothing when no template is set.
pub async fn queue_redemption_news(
    conn: &mut sqlx::AnyConnection,
    template_id: Option<&str>,
    city_id: &str,
    rider_id: &str,
    news: &RedemptionNews<'_>,
) -> DomainResult<()> {
    let Some(template_id) = template_id else { return Ok(()) };
    let (page, data) = redemption_fields(news);
    let message = SubscribeMessage { template_id: template_id.to_string(), page, data };
    outbox::enqueue_subscribe(conn, city_id, rider_id, message).await?;
    Ok(())
}

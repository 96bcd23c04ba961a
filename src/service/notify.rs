//! Queuing notifications in the transaction of the change that causes them.

use crate::domain::DomainResult;
use crate::domain::notify::{ReportProgress, report_progress_fields};
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

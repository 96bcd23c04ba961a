//! Content security's use cases: queuing WeChat's checks in the transaction that files what they
//! check, sending them from the outbox, recording verdicts (a text's from `msgSecCheck`'s
//! answer, a photo's from the message push), telling the unit about flagged content, and what
//! of a report's content the public may see (`domain::content`).

use std::collections::HashMap;

use sqlx::AnyConnection;

use crate::domain::content::{Checked, Cleared, ContentMode, Verdict, published};
use crate::domain::delivery::Attempt;
use crate::domain::photo_url::UrlSigner;
use crate::domain::report::{Actor, EventKind};
use crate::domain::time::Millis;
use crate::domain::wechat_push::{PushEvent, PushKeys, PushRefused};
use crate::domain::{DomainError, DomainResult};
use crate::integrations::wechat::{TextCheck, WechatClient};
use crate::outbox::{ContentCheckPayload, enqueue_content_check};
pub use crate::store::content::CheckRow;
use crate::store::reports::EventRow;
use crate::store::{self, Db};

/// What filing and viewing reports need to know of content checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContentPolicy {
    pub mode: ContentMode,
    /// Photos are sent to WeChat too (a public base URL and a push are configured).
    pub photos_checked: bool,
}

impl ContentPolicy {
    /// No checks, nothing rider-written public.
    pub fn off() -> ContentPolicy {
        ContentPolicy { mode: ContentMode::Off, photos_checked: false }
    }
}

/// Queues the check of a report's text (its description, or its rating comment) in the
/// transaction that stores it; nothing when checks are off or the text is blank.
#[allow(clippy::too_many_arguments)]
pub async fn queue_text(
    conn: &mut AnyConnection,
    policy: ContentPolicy,
    city_id: &str,
    author_id: &str,
    kind: Checked,
    report_id: &str,
    text: &str,
    now: Millis,
) -> DomainResult<()> {
    if policy.mode != ContentMode::Wechat || text.trim().is_empty() {
        return Ok(());
    }
    queue(conn, city_id, author_id, kind, report_id, report_id, now).await
}

/// Queues the check of each photo attached to a report, in the transaction that attaches them;
/// nothing when photos are not checked (they then stay private).
pub async fn queue_photos(
    conn: &mut AnyConnection,
    policy: ContentPolicy,
    city_id: &str,
    added_by: &str,
    report_id: &str,
    media_ids: &[String],
    now: Millis,
) -> DomainResult<()> {
    if !policy.photos_checked {
        return Ok(());
    }
    for media_id in media_ids {
        queue(conn, city_id, added_by, Checked::Photo, media_id, report_id, now).await?;
    }
    Ok(())
}

async fn queue(
    conn: &mut AnyConnection,
    city_id: &str,
    author_id: &str,
    kind: Checked,
    object_id: &str,
    report_id: &str,
    now: Millis,
) -> DomainResult<()> {
    if store::content::queue(conn, city_id, kind, object_id, report_id, now).await? {
        let payload = ContentCheckPayload {
            account_id: author_id.to_string(),
            kind: kind.as_str().to_string(),
            object_id: object_id.to_string(),
            report_id: report_id.to_string(),
        };
        enqueue_content_check(conn, city_id, &payload).await?;
    }
    Ok(())
}

/// What of each report's content the public may see, by report id: one statement for them all
/// (none while checks are off, when nothing is). `photos` holds each report's photo ids.
pub async fn clearances(
    db: &Db,
    mode: ContentMode,
    report_ids: &[String],
    photos: &HashMap<String, Vec<String>>,
) -> DomainResult<HashMap<String, Cleared>> {
    if mode == ContentMode::Off || report_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let mut ids = report_ids.to_vec();
    ids.extend(report_ids.iter().flat_map(|r| photos.get(r).into_iter().flatten().cloned()));
    let verdicts: HashMap<(Checked, String), Verdict> =
        store::content::of_objects(db, &ids).await?.into_iter().map(|c| ((c.kind, c.object_id), c.verdict)).collect();
    let cleared = |kind: Checked, id: &str| published(mode, verdicts.get(&(kind, id.to_string())).copied());
    Ok(report_ids
        .iter()
        .map(|report_id| {
            let clear = Cleared {
                description: cleared(Checked::Description, report_id),
                rating_comment: cleared(Checked::RatingComment, report_id),
                photos: photos
                    .get(report_id)
                    .into_iter()
                    .flatten()
                    .filter(|id| cleared(Checked::Photo, id))
                    .cloned()
                    .collect(),
            };
            (report_id.clone(), clear)
        })
        .collect())
}

/// Every check of one report's content (its texts, and the photos among `media_ids`), for its
/// unit; one statement.
pub async fn checks_of(db: &Db, report_id: &str, media_ids: &[String]) -> DomainResult<Vec<CheckRow>> {
    let mut ids = vec![report_id.to_string()];
    ids.extend(media_ids.iter().cloned());
    let mut rows = store::content::of_objects(db, &ids).await?;
    rows.sort_by_key(|r| (r.kind, media_ids.iter().position(|m| *m == r.object_id)));
    Ok(rows)
}

/// What sending content checks needs besides WeChat: the database, and for photos where WeChat
/// downloads them from (`{public base}/api/v1`) with a signer of long enough URLs.
#[derive(Clone)]
pub struct CheckDelivery {
    pub db: Db,
    /// `{public_base_url}{API_PREFIX}`; none when photos are not checked.
    pub media_base: Option<String>,
    /// Signs the photo URLs WeChat downloads: they last until WeChat has looked.
    pub photo_urls: UrlSigner,
}

/// Sends one queued check to WeChat and records what it answered: a text's verdict, or the
/// trace id a photo's verdict will come back under.
pub async fn deliver_check(
    ctx: &CheckDelivery,
    wechat: &WechatClient,
    city_id: &str,
    payload: &ContentCheckPayload,
) -> Attempt {
    let kind: Checked = match payload.kind.parse() {
        Ok(kind) => kind,
        Err(_) => return Attempt::Refused(format!("unknown content kind `{}`", payload.kind)),
    };
    let openid = match store::accounts::wechat_openid(&ctx.db, &payload.account_id).await {
        Ok(Some(openid)) => openid,
        Ok(None) => return Attempt::Refused("the account has no WeChat openid".into()),
        Err(e) => return Attempt::Retry(e.to_string()),
    };
    let outcome = match kind {
        Checked::Photo => check_photo(ctx, wechat, &openid, &payload.object_id).await,
        text => check_text(ctx, wechat, &openid, city_id, text, &payload.report_id).await,
    };
    outcome.unwrap_or_else(|e| Attempt::Retry(e.to_string()))
}

async fn check_text(
    ctx: &CheckDelivery,
    wechat: &WechatClient,
    openid: &str,
    city_id: &str,
    kind: Checked,
    report_id: &str,
) -> DomainResult<Attempt> {
    let mut conn = ctx.db.pool.acquire().await?;
    let Some(report) = store::reports::get(&mut conn, city_id, report_id).await? else {
        return Ok(Attempt::Refused("the report is gone".into()));
    };
    drop(conn);
    let text = match kind {
        Checked::Description => report.description,
        _ => report.facts.rating_comment.unwrap_or_default(),
    };
    if text.trim().is_empty() {
        return Ok(Attempt::Delivered);
    }
    match wechat.msg_sec_check(openid, &text, kind.scene()).await {
        Ok(check) => {
            decide_text(&ctx.db, kind, report_id, &check, Millis::now()).await?;
            Ok(Attempt::Delivered)
        }
        Err(attempt) => Ok(attempt),
    }
}

async fn check_photo(
    ctx: &CheckDelivery,
    wechat: &WechatClient,
    openid: &str,
    media_id: &str,
) -> DomainResult<Attempt> {
    let Some(base) = &ctx.media_base else {
        return Ok(Attempt::Refused("photos are not checked: public_base_url or the push is not configured".into()));
    };
    let now = Millis::now();
    let url = format!("{base}{}", ctx.photo_urls.sign(media_id, now).path());
    match wechat.media_check_async(openid, &url, Checked::Photo.scene()).await {
        Ok(trace_id) => {
            store::content::requested(&ctx.db, Checked::Photo, media_id, &trace_id, now).await?;
            decide_from_push(&ctx.db, &trace_id, now).await?;
            Ok(Attempt::Delivered)
        }
        Err(attempt) => Ok(attempt),
    }
}

/// Records a text's verdict, and tells the unit in the same transaction when it is not a pass.
async fn decide_text(db: &Db, kind: Checked, object_id: &str, check: &TextCheck, now: Millis) -> DomainResult<()> {
    let mut tx = db.begin_write().await?;
    let decided = store::content::decide(
        &mut tx,
        kind,
        object_id,
        check.verdict,
        check.label.as_deref(),
        check.trace_id.as_deref(),
        now,
    )
    .await?;
    if let Some(row) = decided {
        tell_unit(&mut tx, &row, now).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Decides the photo checks waiting for this trace id from the verdict pushed for it, telling
/// units of what was flagged; how many were decided.
async fn decide_from_push(db: &Db, trace_id: &str, now: Millis) -> DomainResult<usize> {
    let mut tx = db.begin_write().await?;
    let decided = store::content::decide_from_push(&mut tx, trace_id, now).await?;
    for row in &decided {
        tell_unit(&mut tx, row, now).await?;
    }
    tx.commit().await?;
    Ok(decided.len())
}

/// A note on the report's timeline, for its unit only, when content was flagged or waits for a
/// person's review; nothing for a pass.
async fn tell_unit(conn: &mut AnyConnection, row: &CheckRow, now: Millis) -> DomainResult<()> {
    tracing::info!(kind = %row.kind, object = %row.object_id, verdict = %row.verdict, "content check decided");
    if row.verdict == Verdict::Pass {
        return Ok(());
    }
    let Some(report) = store::reports::get(conn, &row.city_id, &row.report_id).await? else {
        return Ok(());
    };
    let mut event = EventRow::new(&report, EventKind::Note, Actor::System, None, now);
    event.internal_note = Some(row.kind.flagged_note(row.verdict, &row.object_id));
    store::reports::insert_event(conn, &row.city_id, &event).await
}

/// A message push as it arrived: the query's signature fields and the JSON body.
#[derive(Debug, Clone, Copy)]
pub struct Push<'a> {
    pub signature: &'a str,
    pub timestamp: &'a str,
    pub nonce: &'a str,
    /// Present on encrypted pushes.
    pub msg_signature: Option<&'a str>,
    pub body: &'a serde_json::Value,
}

/// What a push came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushOutcome {
    /// A photo verdict, applied to this many checks (0: an unknown trace id, kept in case its
    /// photo's trace id is recorded later).
    MediaVerdict { decided: usize },
    /// Anything else: acknowledged and ignored.
    Ignored,
}

/// What taking message pushes needs: the database, and the push's keys (none when no push
/// token is configured, and every push is refused).
#[derive(Clone)]
pub struct PushContext {
    pub db: Db,
    pub keys: Option<PushKeys>,
}

impl PushContext {
    fn keys(&self) -> DomainResult<&PushKeys> {
        self.keys.as_ref().ok_or(DomainError::Forbidden(NOT_CONFIGURED))
    }
}

/// WeChat's server verification: the signature over the token, `timestamp` and `nonce`.
pub fn verify_server(ctx: &PushContext, signature: &str, timestamp: &str, nonce: &str) -> DomainResult<()> {
    Ok(ctx.keys()?.verify(signature, timestamp, nonce)?)
}

const NOT_CONFIGURED: &str = "the message push is not configured (wechat_push_token)";

/// Takes a message push: checks WeChat's signature (and, encrypted, opens it), then applies a
/// photo verdict it carries. A push that does not verify is refused (403) and changes nothing.
pub async fn receive_push(ctx: &PushContext, push: Push<'_>, now: Millis) -> DomainResult<PushOutcome> {
    let (db, keys) = (&ctx.db, ctx.keys()?);
    let message = match push.body.get("Encrypt").and_then(|e| e.as_str()) {
        Some(encrypt) => {
            let opened = keys.open(push.msg_signature.unwrap_or_default(), push.timestamp, push.nonce, encrypt)?;
            serde_json::from_str(&opened).map_err(|_| {
                DomainError::invalid("Encrypt", "the message is not JSON: set the push's data format to JSON")
            })?
        }
        None if keys.encrypted() => return Err(PushRefused::NotEncrypted.into()),
        None => {
            keys.verify(push.signature, push.timestamp, push.nonce)?;
            push.body.clone()
        }
    };
    match PushEvent::read(&message) {
        PushEvent::MediaCheck { trace_id, verdict: Some(verdict), label } => {
            store::content::record_push(db, &trace_id, verdict, label.as_deref(), now).await?;
            let decided = decide_from_push(db, &trace_id, now).await?;
            if decided == 0 {
                tracing::info!(%trace_id, "a photo verdict for a trace id no check names (yet)");
            }
            Ok(PushOutcome::MediaVerdict { decided })
        }
        PushEvent::MediaCheck { trace_id, verdict: None, .. } => {
            tracing::warn!(%trace_id, "a photo verdict without a result.suggest this service knows");
            Ok(PushOutcome::Ignored)
        }
        PushEvent::Other => Ok(PushOutcome::Ignored),
    }
}

//! A hazard report (随手拍) and its lifecycle: categories, statuses, the actions that move a
//! report between statuses, and who may take them. Everything here is pure: "now" is a parameter.
//!
//! ```text
//! submitted ─accept→ accepted ─start→ in_progress ─resolve→ resolved ─(7 days | reporter)→ closed
//!     │                 │                  │                     └─reopen (reporter, ≤ 7 days)→ reopened
//!     ├─reject / duplicate / transfer ─────┘ (transfer also from in_progress)
//! transferred and reopened are worked like submitted (reopened may also start or resolve).
//! ```

use super::DomainError;
use super::content::Cleared;
use super::error::ErrorCode;
use super::geo::Gcj02;
use super::identity::{Caller, Role};
use super::named_enum::named_enum;
use super::sla::Deadlines;
use super::time::Millis;

/// How long after `resolved` a reporter may reopen, and after which a resolved report closes.
pub const RESOLVED_GRACE_SECS: i64 = 7 * 24 * 3600;
/// The longest description a rider may write, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 500;
/// The longest note (reason, reply, internal note, rating comment), in characters.
pub const MAX_NOTE_CHARS: usize = 500;
/// Photos a report may carry.
pub const MAX_MEDIA: usize = 9;

named_enum!(
    /// Where a report is in its life.
    ReportStatus, "status" {
        Submitted = "submitted",
        Accepted = "accepted",
        InProgress = "in_progress",
        Resolved = "resolved",
        Closed = "closed",
        Rejected = "rejected",
        Duplicate = "duplicate",
        Transferred = "transferred",
        Reopened = "reopened",
    }
);

impl ReportStatus {
    /// Open: a unit still has to act on it (it has a deadline and shows on the public map).
    pub fn is_open(self) -> bool {
        matches!(
            self,
            ReportStatus::Submitted
                | ReportStatus::Accepted
                | ReportStatus::InProgress
                | ReportStatus::Transferred
                | ReportStatus::Reopened
        )
    }

    /// Counted as resolved by the resolution rate.
    pub fn is_resolved(self) -> bool {
        matches!(self, ReportStatus::Resolved | ReportStatus::Closed)
    }
}

named_enum!(
    /// What a report is about.
    Category, "category" {
        TrafficSafety = "traffic_safety",
        RoadDamage = "road_damage",
        FireSafety = "fire_safety",
        FoodSafety = "food_safety",
        PublicSecurity = "public_security",
        FacilityDamage = "facility_damage",
        AccessBlocked = "access_blocked",
        ParkingShortage = "parking_shortage",
        Environment = "environment",
        Other = "other",
    }
);

named_enum!(
    /// How fast a category needs a unit's attention.
    Urgency, "urgency" {
        Urgent = "urgent",
        Normal = "normal",
        Low = "low",
    }
);

/// A category's settings in a city. Admins may change every field.
#[derive(Debug, Clone, PartialEq)]
pub struct CategorySettings {
    pub category: Category,
    pub name: String,
    pub hint: String,
    pub urgency: Urgency,
    pub response_secs: i64,
    pub resolution_secs: i64,
}

const MINUTE: i64 = 60;
const HOUR: i64 = 3600;
const DAY: i64 = 24 * HOUR;

impl Category {
    /// The settings a new city starts with. Urgent categories must be answered in 15 minutes
    /// (接诉即办), as the strictest cities promise.
    pub fn defaults(self) -> CategorySettings {
        use Category as C;
        use Urgency as U;
        let (name, hint, urgency, response_secs, resolution_secs) = match self {
            C::TrafficSafety => {
                ("交通安全隐患", "红绿灯故障、井盖缺失、路面塌陷等影响通行安全的问题", U::Urgent, 15 * MINUTE, DAY)
            }
            C::RoadDamage => ("道路破损", "坑洼、破损的路面和人行道", U::Normal, 2 * HOUR, 3 * DAY),
            C::FireSafety => {
                ("消防安全隐患", "楼道里给电动车充电、消防通道堵塞、违规用火", U::Urgent, 15 * MINUTE, DAY)
            }
            C::FoodSafety => ("食品安全", "无证经营的后厨、变质食品、卫生问题", U::Normal, 2 * HOUR, 3 * DAY),
            C::PublicSecurity => ("治安隐患", "打架斗殴、可疑人员、盗窃电动车", U::Urgent, 15 * MINUTE, DAY),
            C::FacilityDamage => ("公共设施损坏", "路灯、护栏、充电桩等公共设施损坏", U::Normal, 4 * HOUR, 7 * DAY),
            C::AccessBlocked => ("进门难", "小区、写字楼、商场不让骑手进入或指引不清", U::Normal, 2 * HOUR, 3 * DAY),
            C::ParkingShortage => ("停车难", "没有可停放电动车的地方，或停车区被占用", U::Low, DAY, 15 * DAY),
            C::Environment => ("环境卫生", "垃圾堆放、污水、噪声", U::Low, DAY, 7 * DAY),
            C::Other => ("其他", "其他影响骑手工作和出行安全的问题", U::Normal, DAY, 7 * DAY),
        };
        CategorySettings {
            category: self,
            name: name.to_string(),
            hint: hint.to_string(),
            urgency,
            response_secs,
            resolution_secs,
        }
    }
}

impl CategorySettings {
    /// Checks what an admin sends: names and hints not empty, deadlines positive and ordered.
    pub fn parse(
        category: Category,
        name: &str,
        hint: &str,
        urgency: Urgency,
        response_secs: i64,
        resolution_secs: i64,
    ) -> Result<Self, DomainError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 32 {
            return Err(DomainError::invalid("name", "1 to 32 characters"));
        }
        let hint = hint.trim();
        if hint.chars().count() > 200 {
            return Err(DomainError::invalid("hint", "at most 200 characters"));
        }
        if !(60..=30 * DAY).contains(&response_secs) {
            return Err(DomainError::invalid("response_secs", "between 60 seconds and 30 days"));
        }
        if !(response_secs..=90 * DAY).contains(&resolution_secs) {
            return Err(DomainError::invalid("resolution_secs", "at least the response deadline, at most 90 days"));
        }
        Ok(CategorySettings { category, name: name.into(), hint: hint.into(), urgency, response_secs, resolution_secs })
    }
}

/// Text a person wrote on the timeline: trimmed, at most `MAX_NOTE_CHARS` characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note(String);

impl Note {
    /// A note that must be there (a reason): not empty after trimming.
    pub fn required(field: &'static str, raw: Option<&str>) -> Result<Self, DomainError> {
        Note::optional(field, raw)?.ok_or_else(|| DomainError::invalid(field, "required"))
    }

    /// A note that may be left out; blank counts as left out.
    pub fn optional(field: &'static str, raw: Option<&str>) -> Result<Option<Self>, DomainError> {
        let Some(text) = raw.map(str::trim).filter(|t| !t.is_empty()) else { return Ok(None) };
        if text.chars().count() > MAX_NOTE_CHARS {
            return Err(DomainError::invalid(field, format!("at most {MAX_NOTE_CHARS} characters")));
        }
        Ok(Some(Note(text.to_string())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A rider's description: trimmed, at most `MAX_DESCRIPTION_CHARS` characters (may be empty when
/// a photo says it all).
pub fn parse_description(raw: &str) -> Result<String, DomainError> {
    let text = raw.trim();
    if text.chars().count() > MAX_DESCRIPTION_CHARS {
        return Err(DomainError::invalid("description", format!("at most {MAX_DESCRIPTION_CHARS} characters")));
    }
    Ok(text.to_string())
}

/// Media ids to attach: at most `MAX_MEDIA`, no repeats.
pub fn parse_media_ids(ids: &[String]) -> Result<Vec<String>, DomainError> {
    if ids.len() > MAX_MEDIA {
        return Err(DomainError::invalid("media_ids", format!("at most {MAX_MEDIA} photos")));
    }
    let mut seen = std::collections::HashSet::new();
    if !ids.iter().all(|id| seen.insert(id.as_str())) {
        return Err(DomainError::invalid("media_ids", "a photo is listed twice"));
    }
    Ok(ids.to_vec())
}

/// A 1 to 5 rating of the outcome.
pub fn parse_rating(score: i64) -> Result<u8, DomainError> {
    u8::try_from(score).ok().filter(|s| (1..=5).contains(s)).ok_or_else(|| DomainError::invalid("score", "1 to 5"))
}

named_enum!(
    /// Who acted on a report, as its timeline records it (and riders read it).
    Actor, "actor_role" {
        /// A clerk of the report's unit, or a city admin.
        Staff = "staff",
        /// The rider who filed the report.
        Reporter = "reporter",
        /// Another rider, following the report (a "me too").
        Rider = "rider",
        /// The service itself (auto-close).
        System = "system",
    }
);

impl Actor {
    /// Whether a timeline entry by this actor may name the acting account to staff. Only staff
    /// actions do: a rider's account id would tie an anonymous report to the same rider's
    /// named ones (and to their "me too"s elsewhere), so riders appear by role alone.
    pub fn account_shown_to_staff(self) -> bool {
        self == Actor::Staff
    }

    /// Whether a public note this actor wrote is read by riders who follow the report without
    /// having filed it. Staff's replies and reasons are the unit's word to every follower (the
    /// same words their subscribe messages carry); the reporter's own words (a reopen reason, a
    /// rating comment) are for the reporter and the unit only.
    pub fn note_read_by_followers(self) -> bool {
        matches!(self, Actor::Staff | Actor::System)
    }
}

/// Where a transfer sends a report: a unit the clerk names, or wherever routing sends it next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransferTarget {
    Unit(String),
    Reroute,
}

/// What can be done to a report's status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Accept,
    Start,
    Resolve,
    Reject { reason: Note },
    MarkDuplicate { target: String },
    Transfer { to: TransferTarget, reason: Note },
    Reopen { reason: Note },
    Close,
}

impl Action {
    pub fn name(&self) -> &'static str {
        match self {
            Action::Accept => "accept",
            Action::Start => "start",
            Action::Resolve => "resolve",
            Action::Reject { .. } => "reject",
            Action::MarkDuplicate { .. } => "mark_duplicate",
            Action::Transfer { .. } => "transfer",
            Action::Reopen { .. } => "reopen",
            Action::Close => "close",
        }
    }

    /// Who may take this action.
    fn allowed(&self, actor: Actor) -> bool {
        match self {
            Action::Reopen { .. } => actor == Actor::Reporter,
            Action::Close => matches!(actor, Actor::Reporter | Actor::System),
            _ => actor == Actor::Staff,
        }
    }
}

/// Notes staff add to an action or a reply.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Notes {
    /// Shown to riders following the report.
    pub public: Option<Note>,
    /// Staff only.
    pub internal: Option<Note>,
}

impl Notes {
    pub fn parse(public: Option<&str>, internal: Option<&str>) -> Result<Notes, DomainError> {
        Ok(Notes {
            public: Note::optional("public_note", public)?,
            internal: Note::optional("internal_note", internal)?,
        })
    }
}

/// Where a report is in its lifecycle: everything `transition` reads and may change. Where the
/// report is (its unit) is routing's business, not the lifecycle's.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportFacts {
    pub status: ReportStatus,
    /// When the report reached its current unit (filed, or transferred).
    pub routed_at: Millis,
    pub deadlines: Deadlines,
    /// The deadline still to be met that falls first; `NO_DEADLINE` once the report is not open.
    pub next_deadline: Millis,
    /// The current unit's first response; cleared by a transfer.
    pub responded_at: Option<Millis>,
    pub resolved_at: Option<Millis>,
    pub closed_at: Option<Millis>,
    pub assignee_id: Option<String>,
    pub duplicate_of: Option<String>,
    /// 1 plus the riders who said "me too".
    pub priority: i32,
    pub rating: Option<u8>,
    pub rating_comment: Option<String>,
    pub rated_at: Option<Millis>,
}

impl ReportFacts {
    /// A report just filed and routed at `now`.
    pub fn submitted(now: Millis, deadlines: Deadlines) -> ReportFacts {
        ReportFacts {
            status: ReportStatus::Submitted,
            routed_at: now,
            deadlines,
            next_deadline: deadlines.next(ReportStatus::Submitted, None),
            responded_at: None,
            resolved_at: None,
            closed_at: None,
            assignee_id: None,
            duplicate_of: None,
            priority: 1,
            rating: None,
            rating_comment: None,
            rated_at: None,
        }
    }

    fn within_grace(&self, now: Millis) -> bool {
        self.resolved_at.is_some_and(|at| now < at.plus_secs(RESOLVED_GRACE_SECS))
    }

    /// True when a resolved report has waited 7 days without being reopened and closes by itself.
    pub fn auto_close_due(&self, now: Millis) -> bool {
        self.status == ReportStatus::Resolved && !self.within_grace(now)
    }
}

/// How precisely the public sees where a report is: GCJ-02 degrees rounded to this many decimals.
/// 0.001° is about 111 m north–south and 96 m east–west at 30° N, so the public point lies within
/// about 75 m of the spot: enough to find a broken manhole cover on a street, not enough to
/// tell which doorway a rider stood in. The unit that must act sees the exact spot.
pub const PUBLIC_LOCATION_DECIMALS: i32 = 3;
/// The farthest a public point lies from the exact spot, in metres (half a cell's diagonal at
/// the equator, rounded up), for searches that must not miss a report near their edge.
pub const PUBLIC_LOCATION_SLACK_M: f64 = 80.0;

/// Where the public sees a report: the exact spot rounded to `PUBLIC_LOCATION_DECIMALS`.
pub fn public_location(exact: Gcj02) -> Gcj02 {
    let scale = 10f64.powi(PUBLIC_LOCATION_DECIMALS);
    let round = |v: f64| (v * scale).round() / scale;
    // Rounding keeps a valid latitude and longitude valid; the fallback is never taken.
    Gcj02::new(round(exact.lat()), round(exact.lng())).unwrap_or(exact)
}

/// The public projection of a report: everything anyone may see of it (the public map, the
/// Open311 facade, a rider who follows it), defined once.
///
/// It shows what the report is about, where it stands, which unit holds it, roughly where it is
/// and when things happened. It never shows who filed it or followed it. Of what the reporter
/// wrote and the photos riders attached, it shows only what WeChat's content check cleared
/// (`domain::content`): the description, the rating comment, the photos that passed; with checks
/// off, none of them. A reopen reason and a "me too"'s words are never public.
#[derive(Debug, Clone, PartialEq)]
pub struct PublicReport {
    pub id: String,
    pub category: Category,
    pub status: ReportStatus,
    /// The unit the report is with.
    pub office_id: String,
    /// Rounded: see `public_location`.
    pub location: Gcj02,
    /// 1 plus the riders who said "me too".
    pub priority: i32,
    pub created_at: Millis,
    pub updated_at: Millis,
    /// While the report is open: when its unit must have resolved it.
    pub resolve_by: Option<Millis>,
    pub resolved_at: Option<Millis>,
    pub closed_at: Option<Millis>,
    /// The reporter's description, once cleared (and not blank).
    pub description: Option<String>,
    /// The reporter's rating comment, once cleared.
    pub rating_comment: Option<String>,
    /// The ids of the photos cleared, in the order they were attached.
    pub photo_ids: Vec<String>,
}

/// A report as it is stored, seen through what its public projection may take from it.
#[derive(Debug, Clone, Copy)]
pub struct ReportParts<'a> {
    pub id: &'a str,
    pub category: Category,
    pub office_id: &'a str,
    pub location: Gcj02,
    pub facts: &'a ReportFacts,
    pub created_at: Millis,
    pub updated_at: Millis,
    pub description: &'a str,
    /// Every photo attached, in order.
    pub photo_ids: &'a [String],
    /// What of its content WeChat cleared.
    pub cleared: &'a Cleared,
}

impl PublicReport {
    pub fn project(r: ReportParts<'_>) -> PublicReport {
        let f = r.facts;
        PublicReport {
            id: r.id.to_string(),
            category: r.category,
            status: f.status,
            office_id: r.office_id.to_string(),
            location: public_location(r.location),
            priority: f.priority,
            created_at: r.created_at,
            updated_at: r.updated_at,
            resolve_by: f.status.is_open().then_some(f.deadlines.resolve_by),
            resolved_at: f.resolved_at,
            closed_at: f.closed_at,
            description: (r.cleared.description && !r.description.trim().is_empty()).then(|| r.description.to_string()),
            rating_comment: f.rating_comment.clone().filter(|_| r.cleared.rating_comment),
            photo_ids: r.photo_ids.iter().filter(|id| r.cleared.photos.contains(*id)).cloned().collect(),
        }
    }
}

/// What deciding who may see a photo needs to know about it.
#[derive(Debug, Clone, Copy)]
pub struct PhotoHolders<'a> {
    /// The account that uploaded it.
    pub owner_id: &'a str,
    /// A rider uploaded it (not staff).
    pub uploaded_by_rider: bool,
    /// The units holding the reports it is attached to; empty when it is on none.
    pub report_units: &'a [String],
    /// On a report, and WeChat's content check cleared it for publication (checks on).
    pub published: bool,
}

/// Who may see a photo (of the photo's city; anyone else never learns it exists):
/// - its uploader, and city admins;
/// - on a report: staff of a unit holding one of the reports it is attached to; and once
///   WeChat's content check cleared it (`published`), anyone, as the public projection shows it.
///   Until then following a report widens nothing;
/// - on no report: if staff uploaded it (a place's photo), anyone (`photo_is_public`), as places
///   are public; if a rider did, nobody else (it is theirs until they attach it to a report).
pub fn may_see_photo(caller: &Caller, photo: PhotoHolders<'_>) -> bool {
    if caller.account_id == photo.owner_id
        || caller.role == Role::CityAdmin
        || photo_is_public(photo)
        || photo.published
    {
        return true;
    }
    caller.role == Role::Clerk && caller.office_id.as_ref().is_some_and(|office| photo.report_units.contains(office))
}

/// A place's photo: staff uploaded it and it is on no report. Anyone may see it, signed in or
/// not, as the places it shows are public.
pub fn photo_is_public(photo: PhotoHolders<'_>) -> bool {
    photo.report_units.is_empty() && !photo.uploaded_by_rider
}

/// One thing that happens to a report.
#[derive(Debug, Clone, Copy)]
pub enum Step<'a> {
    /// A status action (accept … close) with the notes staff add to it. `category` holds the
    /// report's category settings, from which a transfer's new unit gets its deadlines.
    Act { action: &'a Action, notes: &'a Notes, category: &'a CategorySettings },
    /// Staff reply publicly (which counts as the unit's response) and/or note internally.
    Annotate(&'a Notes),
    /// Staff give the report to a clerk of its unit.
    Assign { assignee_id: &'a str },
    /// The reporter rates the outcome, once.
    Rate { score: u8, comment: Option<&'a Note> },
    /// A rider says "me too"; the priority rises when they did not follow the report yet.
    /// `description` is what they wrote, kept for staff.
    MeToo { new_follower: bool, description: Option<&'a Note> },
}

/// What a step does: the facts after it, and the timeline entry that records it.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    pub facts: ReportFacts,
    pub event: EventKind,
    /// Shown to riders following the report: a reason, a reply, a rating comment.
    pub public_note: Option<Note>,
    /// Staff only.
    pub internal_note: Option<Note>,
}

/// The lifecycle in one place: what `step`, taken by `actor` at `now`, does to a report with
/// these facts, or why it may not be taken — a 403 for the wrong actor, a 409 for a move the
/// lifecycle does not have (including a reopen after the 7 days and a system close before
/// them), a 400 for a step that says nothing.
///
/// Staff's status actions count as the unit's response (a transfer clears it instead: the new
/// unit owes its own), a transfer restarts the deadlines at `now`, resolving and closing stamp
/// their times, and the next deadline follows from the result.
pub fn transition(facts: &ReportFacts, step: Step<'_>, actor: Actor, now: Millis) -> Result<Transition, DomainError> {
    let mut after = facts.clone();
    let (event, public_note, internal_note) = match step {
        Step::Act { action, notes, category } => {
            let to = status_after(facts, action, actor, now)?;
            after.status = to;
            match action {
                Action::MarkDuplicate { target } => after.duplicate_of = Some(target.clone()),
                Action::Transfer { .. } => {
                    after.routed_at = now;
                    after.deadlines = Deadlines::from_routing(now, category);
                    after.assignee_id = None;
                    after.responded_at = None;
                }
                _ => {}
            }
            if actor == Actor::Staff && to != ReportStatus::Transferred {
                after.responded_at.get_or_insert(now);
            }
            match to {
                ReportStatus::Resolved => after.resolved_at = Some(now),
                ReportStatus::Closed => after.closed_at = Some(now),
                _ => {}
            }
            let public = match action {
                Action::Reject { reason } | Action::Transfer { reason, .. } | Action::Reopen { reason } => {
                    Some(reason.clone())
                }
                _ => notes.public.clone(),
            };
            (EventKind::for_status(to), public, notes.internal.clone())
        }
        Step::Annotate(notes) => {
            require(actor == Actor::Staff, "only staff reply and note")?;
            let kind = match (&notes.public, &notes.internal) {
                (Some(_), _) => {
                    after.responded_at.get_or_insert(now);
                    EventKind::Reply
                }
                (None, Some(_)) => EventKind::Note,
                (None, None) => return Err(DomainError::invalid("public_note", "a reply or a note is required")),
            };
            (kind, notes.public.clone(), notes.internal.clone())
        }
        Step::Assign { assignee_id } => {
            require(actor == Actor::Staff, "only staff assign")?;
            after.assignee_id = Some(assignee_id.to_string());
            (EventKind::Assigned, None, Note::optional("assignee_id", Some(assignee_id))?)
        }
        Step::Rate { score, comment } => {
            require(actor == Actor::Reporter, "only the reporter may rate")?;
            if !facts.status.is_resolved() {
                return Err(DomainError::conflict(ErrorCode::NotResolved, "a report can be rated once it is resolved"));
            }
            if facts.rating.is_some() {
                return Err(DomainError::conflict(ErrorCode::AlreadyRated, "a report is rated only once"));
            }
            after.rating = Some(score);
            after.rating_comment = comment.map(|c| c.as_str().to_string());
            after.rated_at = Some(now);
            (EventKind::Rated, comment.cloned(), None)
        }
        Step::MeToo { new_follower, description } => {
            require(matches!(actor, Actor::Rider | Actor::Reporter), "only riders follow reports")?;
            if !facts.status.is_open() {
                return Err(DomainError::conflict(ErrorCode::ReportNotOpen, "only an open report can be followed"));
            }
            after.priority += i32::from(new_follower);
            (EventKind::MeToo, None, description.cloned())
        }
    };
    after.next_deadline = after.deadlines.next(after.status, after.responded_at);
    Ok(Transition { facts: after, event, public_note, internal_note })
}

fn require(allowed: bool, why: &'static str) -> Result<(), DomainError> {
    if allowed { Ok(()) } else { Err(DomainError::Forbidden(why)) }
}

/// The status an action leads to, or why it may not be taken.
fn status_after(facts: &ReportFacts, action: &Action, actor: Actor, now: Millis) -> Result<ReportStatus, DomainError> {
    use ReportStatus as S;
    if !action.allowed(actor) {
        return Err(DomainError::Forbidden(if actor == Actor::Rider {
            "only the reporter may do this"
        } else {
            "this actor may not take this action"
        }));
    }
    let from = facts.status;
    let to = match action {
        Action::Accept if matches!(from, S::Submitted | S::Transferred | S::Reopened) => S::Accepted,
        Action::Start if matches!(from, S::Accepted | S::Reopened) => S::InProgress,
        Action::Resolve if matches!(from, S::Accepted | S::InProgress | S::Reopened) => S::Resolved,
        Action::Reject { .. } if matches!(from, S::Submitted | S::Transferred | S::Accepted | S::Reopened) => {
            S::Rejected
        }
        Action::MarkDuplicate { .. } if matches!(from, S::Submitted | S::Transferred | S::Accepted | S::Reopened) => {
            S::Duplicate
        }
        Action::Transfer { .. } if from.is_open() => S::Transferred,
        Action::Reopen { .. } if from == S::Resolved => {
            if !facts.within_grace(now) {
                return Err(DomainError::conflict(
                    ErrorCode::ReopenWindowPassed,
                    "a report can be reopened only within 7 days of being resolved",
                ));
            }
            S::Reopened
        }
        Action::Close if from == S::Resolved => {
            if actor == Actor::System && facts.within_grace(now) {
                return Err(DomainError::conflict(
                    ErrorCode::NotDue,
                    "a resolved report closes by itself after 7 days",
                ));
            }
            S::Closed
        }
        _ => {
            return Err(DomainError::conflict(
                ErrorCode::IllegalTransition,
                format!("cannot {} a report that is {}", action.name(), from),
            ));
        }
    };
    Ok(to)
}

named_enum!(
    /// The timeline's kinds of entry: every status a report reaches, and what happens beside them.
    EventKind, "kind" {
        Submitted = "submitted",
        MeToo = "me_too",
        Accepted = "accepted",
        InProgress = "in_progress",
        Resolved = "resolved",
        Closed = "closed",
        Rejected = "rejected",
        Duplicate = "duplicate",
        Transferred = "transferred",
        Reopened = "reopened",
        Assigned = "assigned",
        Reply = "reply",
        Note = "note",
        Rated = "rated",
    }
);

impl EventKind {
    /// The entry a status change writes.
    pub fn for_status(status: ReportStatus) -> EventKind {
        match status {
            ReportStatus::Submitted => EventKind::Submitted,
            ReportStatus::Accepted => EventKind::Accepted,
            ReportStatus::InProgress => EventKind::InProgress,
            ReportStatus::Resolved => EventKind::Resolved,
            ReportStatus::Closed => EventKind::Closed,
            ReportStatus::Rejected => EventKind::Rejected,
            ReportStatus::Duplicate => EventKind::Duplicate,
            ReportStatus::Transferred => EventKind::Transferred,
            ReportStatus::Reopened => EventKind::Reopened,
        }
    }

    /// Whether riders see this entry at all (they never see internal notes in any case).
    pub fn is_public(self) -> bool {
        !matches!(self, EventKind::Assigned | EventKind::Note)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::sla::NO_DEADLINE;
    use ReportStatus as S;

    const HOUR_MS: i64 = 3_600_000;

    fn reason() -> Note {
        Note::required("reason", Some("不归本单位管")).unwrap()
    }

    fn note(text: &str) -> Note {
        Note::required("note", Some(text)).unwrap()
    }

    /// Road damage: respond within 2 hours, resolve within 3 days.
    fn road() -> CategorySettings {
        Category::RoadDamage.defaults()
    }

    /// A report filed and routed at t = 0, now in `status`, resolved at 1,000 s when it has been.
    fn facts(status: S) -> ReportFacts {
        let mut f = ReportFacts::submitted(Millis(0), Deadlines::from_routing(Millis(0), &road()));
        f.status = status;
        if status.is_resolved() {
            f.responded_at = Some(Millis(500_000));
            f.resolved_at = Some(Millis(1_000_000));
        }
        f
    }

    fn act(f: &ReportFacts, action: &Action, actor: Actor, now: Millis) -> Result<Transition, DomainError> {
        act_with(f, action, &Notes::default(), actor, now)
    }

    fn act_with(
        f: &ReportFacts,
        action: &Action,
        notes: &Notes,
        actor: Actor,
        now: Millis,
    ) -> Result<Transition, DomainError> {
        transition(f, Step::Act { action, notes, category: &road() }, actor, now)
    }

    fn actions() -> Vec<(Action, Actor)> {
        vec![
            (Action::Accept, Actor::Staff),
            (Action::Start, Actor::Staff),
            (Action::Resolve, Actor::Staff),
            (Action::Reject { reason: reason() }, Actor::Staff),
            (Action::MarkDuplicate { target: "r1".into() }, Actor::Staff),
            (Action::Transfer { to: TransferTarget::Reroute, reason: reason() }, Actor::Staff),
            (Action::Reopen { reason: reason() }, Actor::Reporter),
            (Action::Close, Actor::Reporter),
        ]
    }

    /// Every (status, action) pair: the legal ones and where they lead; all others are 409s.
    #[test]
    fn every_transition_legal_and_illegal() {
        let legal: &[(S, &str, S)] = &[
            (S::Submitted, "accept", S::Accepted),
            (S::Submitted, "reject", S::Rejected),
            (S::Submitted, "mark_duplicate", S::Duplicate),
            (S::Submitted, "transfer", S::Transferred),
            (S::Transferred, "accept", S::Accepted),
            (S::Transferred, "reject", S::Rejected),
            (S::Transferred, "mark_duplicate", S::Duplicate),
            (S::Transferred, "transfer", S::Transferred),
            (S::Accepted, "start", S::InProgress),
            (S::Accepted, "resolve", S::Resolved),
            (S::Accepted, "reject", S::Rejected),
            (S::Accepted, "mark_duplicate", S::Duplicate),
            (S::Accepted, "transfer", S::Transferred),
            (S::InProgress, "resolve", S::Resolved),
            (S::InProgress, "transfer", S::Transferred),
            (S::Resolved, "reopen", S::Reopened),
            (S::Resolved, "close", S::Closed),
            (S::Reopened, "accept", S::Accepted),
            (S::Reopened, "start", S::InProgress),
            (S::Reopened, "resolve", S::Resolved),
            (S::Reopened, "reject", S::Rejected),
            (S::Reopened, "mark_duplicate", S::Duplicate),
            (S::Reopened, "transfer", S::Transferred),
        ];
        let resolved_at = Millis(1_000_000);
        let now = resolved_at.plus_secs(3600);
        let mut checked = 0;
        for &from in S::ALL {
            for (action, actor) in actions() {
                let mut f = facts(from);
                f.resolved_at = Some(resolved_at);
                let got = act(&f, &action, actor, now);
                let expected = legal.iter().find(|(f, a, _)| *f == from && *a == action.name()).map(|(_, _, to)| *to);
                match (expected, got) {
                    (Some(to), Ok(t)) => {
                        assert_eq!(t.facts.status, to, "{from} --{}-->", action.name());
                        assert_eq!(t.event, EventKind::for_status(to), "{from} --{}-->", action.name());
                    }
                    (None, Err(DomainError::Conflict { code: ErrorCode::IllegalTransition, .. })) => {}
                    (e, g) => panic!("{from} --{}--> expected {e:?}, got {g:?}", action.name()),
                }
                checked += 1;
            }
        }
        assert_eq!(checked, S::ALL.len() * 8);
    }

    #[test]
    fn only_staff_work_reports_and_only_reporters_reopen() {
        let submitted = facts(S::Submitted);
        for actor in [Actor::Reporter, Actor::Rider, Actor::System] {
            assert!(matches!(act(&submitted, &Action::Accept, actor, Millis(0)), Err(DomainError::Forbidden(_))));
        }
        let resolved = facts(S::Resolved);
        let reopen = Action::Reopen { reason: reason() };
        let day = Millis(2_000_000);
        for actor in [Actor::Staff, Actor::Rider, Actor::System] {
            assert!(matches!(act(&resolved, &reopen, actor, day), Err(DomainError::Forbidden(_))), "{actor}");
        }
        // A follower who did not file the report may not close it either.
        assert!(matches!(
            act(&resolved, &Action::Close, Actor::Rider, day),
            Err(DomainError::Forbidden("only the reporter may do this"))
        ));
        assert!(matches!(act(&resolved, &Action::Close, Actor::Staff, day), Err(DomainError::Forbidden(_))));
    }

    #[test]
    fn reopening_and_closing_follow_the_seven_days() {
        let resolved_at = Millis(1_000_000);
        let mut f = facts(S::Resolved);
        f.resolved_at = Some(resolved_at);
        let day_six = resolved_at.plus_secs(6 * DAY);
        let day_seven = resolved_at.plus_secs(7 * DAY);
        let reopen = Action::Reopen { reason: reason() };
        assert_eq!(act(&f, &reopen, Actor::Reporter, day_six).unwrap().facts.status, S::Reopened);
        assert!(matches!(
            act(&f, &reopen, Actor::Reporter, day_seven),
            Err(DomainError::Conflict { code: ErrorCode::ReopenWindowPassed, .. })
        ));
        assert!(!f.auto_close_due(day_six));
        assert!(f.auto_close_due(day_seven));
        assert!(matches!(
            act(&f, &Action::Close, Actor::System, day_six),
            Err(DomainError::Conflict { code: ErrorCode::NotDue, .. })
        ));
        let closed = act(&f, &Action::Close, Actor::System, day_seven).unwrap();
        assert_eq!((closed.facts.status, closed.facts.closed_at), (S::Closed, Some(day_seven)));
        assert_eq!(closed.event, EventKind::Closed);
        // The reporter may confirm it closed at once.
        let confirmed = act(&f, &Action::Close, Actor::Reporter, day_six).unwrap();
        assert_eq!((confirmed.facts.status, confirmed.facts.closed_at), (S::Closed, Some(day_six)));
        assert!(!facts(S::Accepted).auto_close_due(day_seven));
    }

    #[test]
    fn a_staff_action_is_the_units_response_once_and_moves_the_next_deadline() {
        let f = facts(S::Submitted);
        assert_eq!(f.next_deadline, f.deadlines.respond_by);
        let accepted = act(&f, &Action::Accept, Actor::Staff, Millis(HOUR_MS)).unwrap().facts;
        assert_eq!(accepted.responded_at, Some(Millis(HOUR_MS)));
        assert_eq!(accepted.next_deadline, f.deadlines.resolve_by);
        // Later actions keep the first response.
        let started = act(&accepted, &Action::Start, Actor::Staff, Millis(2 * HOUR_MS)).unwrap().facts;
        assert_eq!(started.responded_at, Some(Millis(HOUR_MS)));
        let resolved = act(&started, &Action::Resolve, Actor::Staff, Millis(3 * HOUR_MS)).unwrap().facts;
        assert_eq!((resolved.resolved_at, resolved.next_deadline), (Some(Millis(3 * HOUR_MS)), NO_DEADLINE));
        // Rejecting at once is a response too, and leaves no deadline.
        let rejected = act(&f, &Action::Reject { reason: reason() }, Actor::Staff, Millis(5)).unwrap().facts;
        assert_eq!((rejected.responded_at, rejected.next_deadline), (Some(Millis(5)), NO_DEADLINE));
    }

    #[test]
    fn a_transfer_clears_the_response_and_the_assignee_and_restarts_the_deadlines() {
        let mut f = act(&facts(S::Submitted), &Action::Accept, Actor::Staff, Millis(HOUR_MS)).unwrap().facts;
        f.assignee_id = Some("clerk-1".into());
        let now = Millis(5 * HOUR_MS);
        let transfer = Action::Transfer { to: TransferTarget::Unit("u2".into()), reason: reason() };
        let t = act(&f, &transfer, Actor::Staff, now).unwrap();
        assert_eq!(t.facts.status, S::Transferred);
        assert_eq!((t.facts.responded_at, t.facts.assignee_id.as_deref()), (None, None));
        assert_eq!(t.facts.routed_at, now);
        assert_eq!(t.facts.deadlines, Deadlines::from_routing(now, &road()));
        assert_eq!(t.facts.next_deadline, now.plus_secs(road().response_secs));
        assert_eq!(t.public_note, Some(reason()));
    }

    #[test]
    fn reasons_are_public_and_staff_notes_go_where_they_belong() {
        let f = facts(S::Submitted);
        let notes = Notes { public: Some(note("已派人")), internal: Some(note("联系市政三队")) };
        let accepted = act_with(&f, &Action::Accept, &notes, Actor::Staff, Millis(1)).unwrap();
        assert_eq!((accepted.public_note, accepted.internal_note), (notes.public.clone(), notes.internal.clone()));
        // A reason is what riders are told, whatever else staff wrote for them.
        let rejected = act_with(&f, &Action::Reject { reason: reason() }, &notes, Actor::Staff, Millis(1)).unwrap();
        assert_eq!((rejected.public_note, rejected.internal_note), (Some(reason()), notes.internal.clone()));
        let mut resolved = facts(S::Resolved);
        resolved.resolved_at = Some(Millis(0));
        let reopened = act(&resolved, &Action::Reopen { reason: reason() }, Actor::Reporter, Millis(1)).unwrap();
        assert_eq!(reopened.public_note, Some(reason()));
        assert_eq!(reopened.facts.resolved_at, Some(Millis(0)), "a reopen keeps the first resolution's time");
    }

    #[test]
    fn marking_a_duplicate_names_the_original() {
        let t = act(&facts(S::Accepted), &Action::MarkDuplicate { target: "r0".into() }, Actor::Staff, Millis(1));
        let t = t.unwrap();
        assert_eq!((t.facts.status, t.facts.duplicate_of.as_deref()), (S::Duplicate, Some("r0")));
        assert_eq!(t.facts.next_deadline, NO_DEADLINE);
    }

    #[test]
    fn a_reply_is_the_response_a_note_is_not_and_neither_is_refused() {
        let f = facts(S::Submitted);
        let reply = Notes { public: Some(note("已收到")), internal: None };
        let t = transition(&f, Step::Annotate(&reply), Actor::Staff, Millis(7)).unwrap();
        assert_eq!((t.event, t.facts.status, t.facts.responded_at), (EventKind::Reply, S::Submitted, Some(Millis(7))));
        assert_eq!(t.facts.next_deadline, f.deadlines.resolve_by);
        assert_eq!(t.public_note, reply.public);
        let internal = Notes { public: None, internal: Some(note("先核实")) };
        let t = transition(&f, Step::Annotate(&internal), Actor::Staff, Millis(7)).unwrap();
        assert_eq!((t.event, t.facts.responded_at, t.public_note), (EventKind::Note, None, None));
        assert_eq!(t.internal_note, internal.internal);
        assert!(matches!(
            transition(&f, Step::Annotate(&Notes::default()), Actor::Staff, Millis(7)),
            Err(DomainError::Invalid { .. })
        ));
        assert!(matches!(
            transition(&f, Step::Annotate(&reply), Actor::Reporter, Millis(7)),
            Err(DomainError::Forbidden(_))
        ));
    }

    #[test]
    fn assigning_names_the_clerk_for_staff_only() {
        let f = facts(S::Accepted);
        let t = transition(&f, Step::Assign { assignee_id: "clerk-2" }, Actor::Staff, Millis(1)).unwrap();
        assert_eq!((t.event, t.facts.status), (EventKind::Assigned, S::Accepted));
        assert_eq!(t.facts.assignee_id.as_deref(), Some("clerk-2"));
        assert_eq!((t.public_note, t.internal_note.as_ref().map(Note::as_str)), (None, Some("clerk-2")));
        assert!(!t.event.is_public());
        assert!(transition(&f, Step::Assign { assignee_id: "x" }, Actor::Reporter, Millis(1)).is_err());
    }

    #[test]
    fn the_reporter_rates_a_resolved_report_once() {
        let comment = note("很快");
        let rate = |f: &ReportFacts, actor| {
            transition(f, Step::Rate { score: 5, comment: Some(&comment) }, actor, Millis(9_000_000))
        };
        assert!(matches!(
            rate(&facts(S::InProgress), Actor::Reporter),
            Err(DomainError::Conflict { code: ErrorCode::NotResolved, .. })
        ));
        assert!(matches!(rate(&facts(S::Resolved), Actor::Rider), Err(DomainError::Forbidden(_))));
        let t = rate(&facts(S::Closed), Actor::Reporter).unwrap();
        assert_eq!((t.facts.rating, t.facts.rating_comment.as_deref()), (Some(5), Some("很快")));
        assert_eq!((t.facts.rated_at, t.event, t.facts.status), (Some(Millis(9_000_000)), EventKind::Rated, S::Closed));
        assert_eq!(t.public_note, Some(comment.clone()));
        assert!(matches!(
            rate(&t.facts, Actor::Reporter),
            Err(DomainError::Conflict { code: ErrorCode::AlreadyRated, .. })
        ));
    }

    #[test]
    fn a_me_too_raises_the_priority_once_and_only_on_an_open_report() {
        let f = facts(S::Accepted);
        let said = note("我也差点摔倒");
        let first =
            transition(&f, Step::MeToo { new_follower: true, description: Some(&said) }, Actor::Rider, Millis(1));
        let first = first.unwrap();
        assert_eq!((first.facts.priority, first.event), (2, EventKind::MeToo));
        assert_eq!((first.public_note, first.internal_note), (None, Some(said)));
        let again =
            transition(&first.facts, Step::MeToo { new_follower: false, description: None }, Actor::Rider, Millis(2));
        assert_eq!(again.unwrap().facts.priority, 2);
        let closed = facts(S::Closed);
        assert!(matches!(
            transition(&closed, Step::MeToo { new_follower: true, description: None }, Actor::Rider, Millis(1)),
            Err(DomainError::Conflict { code: ErrorCode::ReportNotOpen, .. })
        ));
        assert!(matches!(
            transition(&f, Step::MeToo { new_follower: true, description: None }, Actor::Staff, Millis(1)),
            Err(DomainError::Forbidden(_))
        ));
    }

    #[test]
    fn the_public_projection_rounds_the_spot_and_keeps_only_words_wechat_cleared() {
        let exact = Gcj02::new(30.27037, 120.16052).unwrap();
        let public = public_location(exact);
        assert_eq!((public.lat(), public.lng()), (30.27, 120.161));
        assert!(public.distance_m(exact) <= PUBLIC_LOCATION_SLACK_M);
        // The worst case: half a cell off on both axes, near the equator where cells are widest.
        let corner = Gcj02::new(0.0005, 0.0005).unwrap();
        assert!(public_location(corner).distance_m(corner) <= PUBLIC_LOCATION_SLACK_M);
        let mut f = facts(S::Resolved);
        f.rating_comment = Some("我家楼下".into());
        let photos = ["m1".to_string(), "m2".to_string()];
        let nothing = Cleared::nothing();
        let parts = |facts| ReportParts {
            id: "r1",
            category: Category::RoadDamage,
            office_id: "u1",
            location: exact,
            facts,
            created_at: Millis(1),
            updated_at: Millis(2),
            description: "井盖缺失",
            photo_ids: &photos,
            cleared: &nothing,
        };
        let p = PublicReport::project(parts(&f));
        assert_eq!((p.location, p.status, p.resolve_by, p.resolved_at), (public, S::Resolved, None, f.resolved_at));
        assert_eq!((p.description, p.rating_comment, p.photo_ids), (None, None, vec![]), "nothing cleared, no words");
        let open = facts(S::Accepted);
        assert_eq!(PublicReport::project(parts(&open)).resolve_by, Some(open.deadlines.resolve_by));
        let cleared = Cleared { description: true, rating_comment: true, photos: ["m2".to_string()].into() };
        let p = PublicReport::project(ReportParts { cleared: &cleared, ..parts(&f) });
        assert_eq!(p.description.as_deref(), Some("井盖缺失"));
        assert_eq!(p.rating_comment.as_deref(), Some("我家楼下"));
        assert_eq!(p.photo_ids, ["m2"], "only the photos cleared");
    }

    #[test]
    fn a_photo_is_seen_by_its_uploader_its_reports_units_and_admins_never_by_followers() {
        let caller = |id: &str, role, office: Option<&str>| Caller {
            account_id: id.into(),
            city_id: "c".into(),
            role,
            office_id: office.map(str::to_string),
            display_name: String::new(),
        };
        let units = vec!["u1".to_string()];
        let on_report =
            PhotoHolders { owner_id: "rider", uploaded_by_rider: true, report_units: &units, published: false };
        let loose = PhotoHolders { report_units: &[], ..on_report };
        let place = PhotoHolders { owner_id: "admin", uploaded_by_rider: false, report_units: &[], published: false };
        let follower = caller("follower", Role::Rider, None);
        let cases = [
            (caller("rider", Role::Rider, None), [true, true, true]),
            (caller("a", Role::CityAdmin, None), [true, true, true]),
            (caller("clerk", Role::Clerk, Some("u1")), [true, false, true]),
            (caller("clerk2", Role::Clerk, Some("u2")), [false, false, true]),
            (caller("m", Role::StationManager, None), [false, false, true]),
            (follower, [false, false, true]),
        ];
        for (who, expected) in cases {
            let seen = [on_report, loose, place].map(|p| may_see_photo(&who, p));
            assert_eq!(seen, expected, "{}", who.account_id);
        }
        assert_eq!([on_report, loose, place].map(photo_is_public), [false, false, true]);
        let staff_on_report =
            PhotoHolders { owner_id: "admin", uploaded_by_rider: false, report_units: &units, published: false };
        assert!(!photo_is_public(staff_on_report), "a photo on a report is not a place's photo");
        let cleared = PhotoHolders { published: true, ..on_report };
        assert!(may_see_photo(&caller("follower", Role::Rider, None), cleared), "a photo WeChat cleared is public");
    }

    #[test]
    fn staff_see_the_accounts_of_staff_actions_and_followers_read_staff_notes() {
        assert!(Actor::Staff.account_shown_to_staff());
        assert!(!Actor::Reporter.account_shown_to_staff() && !Actor::Rider.account_shown_to_staff());
        assert!(Actor::Staff.note_read_by_followers() && !Actor::Reporter.note_read_by_followers());
    }

    #[test]
    fn actors_are_stored_by_the_names_riders_read() {
        let names: Vec<&str> = Actor::ALL.iter().map(|a| a.as_str()).collect();
        assert_eq!(names, ["staff", "reporter", "rider", "system"]);
        for a in Actor::ALL {
            assert_eq!(a.as_str().parse::<Actor>().unwrap(), *a);
        }
    }

    #[test]
    fn inputs_are_parsed() {
        assert!(Note::required("reason", Some("   ")).is_err());
        assert!(Note::optional("note", Some("")).unwrap().is_none());
        assert!(parse_description(&"字".repeat(500)).is_ok());
        assert!(parse_description(&"字".repeat(501)).is_err());
        assert!(parse_media_ids(&vec!["a".to_string(); 2]).is_err());
        assert!(parse_media_ids(&(0..10).map(|i| i.to_string()).collect::<Vec<_>>()).is_err());
        assert!(parse_rating(0).is_err() && parse_rating(6).is_err() && parse_rating(5).is_ok());
        for c in Category::ALL {
            assert_eq!(c.as_str().parse::<Category>().unwrap(), *c);
            let d = c.defaults();
            assert!(d.urgency != Urgency::Urgent || d.response_secs == 15 * MINUTE);
        }
    }
}

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
use super::named_enum::named_enum;
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

/// Who is acting on a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    /// A clerk of the report's unit, or a city admin.
    Staff,
    /// The rider who filed the report.
    Reporter,
    /// The service itself (auto-close).
    System,
}

impl Actor {
    pub fn role_name(self) -> &'static str {
        match self {
            Actor::Staff => "staff",
            Actor::Reporter => "reporter",
            Actor::System => "system",
        }
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

/// The facts about a report that decide whether an action may be taken.
#[derive(Debug, Clone, Copy)]
pub struct LifecycleFacts {
    pub status: ReportStatus,
    pub resolved_at: Option<Millis>,
}

/// The status an action leads to, or why it may not be taken: a 403 for the wrong actor, a 409
/// for a transition the lifecycle does not have (including a reopen after the 7 days, and a
/// system close before them).
pub fn next_status(
    facts: LifecycleFacts,
    action: &Action,
    actor: Actor,
    now: Millis,
) -> Result<ReportStatus, DomainError> {
    use ReportStatus as S;
    if !action.allowed(actor) {
        return Err(DomainError::Forbidden("this actor may not take this action"));
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
            if !within_grace(facts.resolved_at, now) {
                return Err(DomainError::conflict(
                    "reopen_window_passed",
                    "a report can be reopened only within 7 days of being resolved",
                ));
            }
            S::Reopened
        }
        Action::Close if from == S::Resolved => {
            if actor == Actor::System && within_grace(facts.resolved_at, now) {
                return Err(DomainError::conflict("not_due", "a resolved report closes by itself after 7 days"));
            }
            S::Closed
        }
        _ => {
            return Err(DomainError::conflict(
                "illegal_transition",
                format!("cannot {} a report that is {}", action.name(), from),
            ));
        }
    };
    Ok(to)
}

fn within_grace(resolved_at: Option<Millis>, now: Millis) -> bool {
    resolved_at.is_some_and(|at| now < at.plus_secs(RESOLVED_GRACE_SECS))
}

/// True when a resolved report has waited 7 days without being reopened and closes by itself.
pub fn auto_close_due(facts: LifecycleFacts, now: Millis) -> bool {
    facts.status == ReportStatus::Resolved && !within_grace(facts.resolved_at, now)
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
    use ReportStatus as S;

    fn reason() -> Note {
        Note::required("reason", Some("不归本单位管")).unwrap()
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
                let facts = LifecycleFacts { status: from, resolved_at: Some(resolved_at) };
                let got = next_status(facts, &action, actor, now);
                let expected = legal.iter().find(|(f, a, _)| *f == from && *a == action.name()).map(|(_, _, to)| *to);
                match (expected, got) {
                    (Some(to), Ok(got)) => assert_eq!(got, to, "{from} --{}-->", action.name()),
                    (None, Err(DomainError::Conflict { code: "illegal_transition", .. })) => {}
                    (e, g) => panic!("{from} --{}--> expected {e:?}, got {g:?}", action.name()),
                }
                checked += 1;
            }
        }
        assert_eq!(checked, S::ALL.len() * 8);
    }

    #[test]
    fn only_staff_work_reports_and_only_reporters_reopen() {
        let facts = LifecycleFacts { status: S::Submitted, resolved_at: None };
        assert!(matches!(
            next_status(facts, &Action::Accept, Actor::Reporter, Millis(0)),
            Err(DomainError::Forbidden(_))
        ));
        let resolved = LifecycleFacts { status: S::Resolved, resolved_at: Some(Millis(0)) };
        let reopen = Action::Reopen { reason: reason() };
        assert!(matches!(next_status(resolved, &reopen, Actor::Staff, Millis(1)), Err(DomainError::Forbidden(_))));
    }

    #[test]
    fn reopening_and_closing_follow_the_seven_days() {
        let resolved_at = Millis(1_000_000);
        let facts = LifecycleFacts { status: S::Resolved, resolved_at: Some(resolved_at) };
        let day_six = resolved_at.plus_secs(6 * DAY);
        let day_seven = resolved_at.plus_secs(7 * DAY);
        let reopen = Action::Reopen { reason: reason() };
        assert_eq!(next_status(facts, &reopen, Actor::Reporter, day_six).unwrap(), S::Reopened);
        assert!(matches!(
            next_status(facts, &reopen, Actor::Reporter, day_seven),
            Err(DomainError::Conflict { code: "reopen_window_passed", .. })
        ));
        assert!(!auto_close_due(facts, day_six));
        assert!(auto_close_due(facts, day_seven));
        assert!(next_status(facts, &Action::Close, Actor::System, day_six).is_err());
        assert_eq!(next_status(facts, &Action::Close, Actor::System, day_seven).unwrap(), S::Closed);
        let open = LifecycleFacts { status: S::Accepted, resolved_at: None };
        assert!(!auto_close_due(open, day_seven));
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

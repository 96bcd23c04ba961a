//! What riders are told, and in which words, when something they follow changes.
//!
//! Each message (report progress, points arrived, redemption news) is sent with a template the
//! city picked in the mini-program's admin console. A template names its own keywords
//! (`thing1`, `phrase2`, `time3`…; the type is the name without its number), so which keyword
//! carries which of our fields is configuration (`Template`), checked against the template
//! itself when the service starts.

use chrono::DateTime;

use super::report::ReportStatus;
use chrono_tz::Tz;
use serde_json::json;

/// WeChat's limits: `thing` up to 20 characters, `phrase` up to 5 Chinese characters.
const THING_MAX_CHARS: usize = 20;
const PHRASE_MAX_CHARS: usize = 5;

/// A report-progress message's contents, before they are addressed to anyone.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportProgress<'a> {
    pub report_id: &'a str,
    pub category: &'a str,
    pub status: &'a str,
    pub note: &'a str,
    pub at: DateTime<Tz>,
}

/// The status as riders read it, in at most five characters (WeChat's `phrase`).
pub fn status_phrase(status: ReportStatus) -> &'static str {
    match status {
        ReportStatus::Submitted => "已提交",
        ReportStatus::Accepted => "已受理",
        ReportStatus::InProgress => "处理中",
        ReportStatus::Resolved => "已解决",
        ReportStatus::Closed => "已办结",
        ReportStatus::Rejected => "未受理",
        ReportStatus::Duplicate => "已合并",
        ReportStatus::Transferred => "已转办",
        ReportStatus::Reopened => "已重启",
    }
}

/// The page the message opens, and its fields.
pub fn report_progress_fields(p: &ReportProgress<'_>) -> (String, Vec<(Field, String)>) {
    let page = format!("pages/report/detail?id={}", p.report_id);
    let note = if p.note.trim().is_empty() { "点击查看处理进展" } else { p.note };
    let fields = vec![
        (Field::Category, p.category.to_string()),
        (Field::Status, p.status.to_string()),
        (Field::Time, minutes(p.at)),
        (Field::Note, note.to_string()),
    ];
    (page, fields)
}

/// A time as subscribe messages show it.
fn minutes(at: DateTime<Tz>) -> String {
    at.format("%Y-%m-%d %H:%M").to_string()
}

/// A points-arrived message: points paid for a report (accepted, resolved, a first "me too").
#[derive(Debug, Clone, PartialEq)]
pub struct PointsArrived<'a> {
    pub report_id: &'a str,
    /// What earned them, in the rider's words.
    pub what: &'a str,
    pub amount: i64,
    pub at: DateTime<Tz>,
}

/// The points message's page (the rider's points) and fields: what earned them, how many, when.
pub fn points_arrived_fields(p: &PointsArrived<'_>) -> (String, Vec<(Field, String)>) {
    let page = format!("pages/points/index?report_id={}", p.report_id);
    let fields =
        vec![(Field::What, p.what.to_string()), (Field::Points, p.amount.to_string()), (Field::Time, minutes(p.at))];
    (page, fields)
}

/// A redemption's news: picked up, or expired with its points returned.
#[derive(Debug, Clone, PartialEq)]
pub struct RedemptionNews<'a> {
    pub redemption_id: &'a str,
    pub reward: &'a str,
    /// `已领取` or `已过期`.
    pub status: &'a str,
    pub place: &'a str,
    pub at: DateTime<Tz>,
}

/// The redemption message's page and fields: the reward, its status, when, the pickup place.
pub fn redemption_fields(r: &RedemptionNews<'_>) -> (String, Vec<(Field, String)>) {
    let page = format!("pages/points/redemption?id={}", r.redemption_id);
    let fields = vec![
        (Field::Reward, r.reward.to_string()),
        (Field::Status, r.status.to_string()),
        (Field::Time, minutes(r.at)),
        (Field::Place, r.place.to_string()),
    ];
    (page, fields)
}

/// A rider's answer for one template in `wx.requestSubscribeMessage`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsentResult {
    /// One message of this template may be sent.
    Accept,
    /// Not this time.
    Reject,
    /// The rider switched this template's messages off.
    Ban,
    /// WeChat filtered the template out of the dialog (a duplicate title).
    Filter,
}

impl ConsentResult {
    pub fn as_str(self) -> &'static str {
        match self {
            ConsentResult::Accept => "accept",
            ConsentResult::Reject => "reject",
            ConsentResult::Ban => "ban",
            ConsentResult::Filter => "filter",
        }
    }
}

/// The messages riders can subscribe to, each with its own template.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageKind {
    ReportProgress,
    PointsArrived,
    RedemptionNews,
}

impl MessageKind {
    pub const ALL: [MessageKind; 3] =
        [MessageKind::ReportProgress, MessageKind::PointsArrived, MessageKind::RedemptionNews];

    /// The fields a message of this kind carries, each needing a keyword of its template.
    pub fn fields(self) -> &'static [Field] {
        match self {
            MessageKind::ReportProgress => &[Field::Category, Field::Status, Field::Time, Field::Note],
            MessageKind::PointsArrived => &[Field::What, Field::Points, Field::Time],
            MessageKind::RedemptionNews => &[Field::Reward, Field::Status, Field::Time, Field::Place],
        }
    }

    /// The mapping used when none is configured (the keywords of the templates we started with).
    pub fn default_keywords(self) -> &'static str {
        match self {
            MessageKind::ReportProgress => "category=thing1,status=phrase2,time=time3,note=thing4",
            MessageKind::PointsArrived => "what=thing1,points=number2,time=time3",
            MessageKind::RedemptionNews => "reward=thing1,status=phrase2,time=time3,place=thing4",
        }
    }
}

/// One of our fields a message carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Field {
    Category,
    Status,
    Time,
    Note,
    What,
    Points,
    Reward,
    Place,
}

impl Field {
    pub fn name(self) -> &'static str {
        match self {
            Field::Category => "category",
            Field::Status => "status",
            Field::Time => "time",
            Field::Note => "note",
            Field::What => "what",
            Field::Points => "points",
            Field::Reward => "reward",
            Field::Place => "place",
        }
    }

    /// The keyword types that can carry this field without WeChat refusing its values.
    fn keyword_types(self) -> &'static [&'static str] {
        match self {
            Field::Category | Field::Note | Field::What | Field::Reward | Field::Place => &["thing"],
            Field::Status => &["phrase", "thing"],
            Field::Time => &["time", "date"],
            Field::Points => &["number", "character_string", "thing"],
        }
    }
}

/// The type of a template keyword: its name without the trailing number (`thing` of `thing4`).
pub fn keyword_type(keyword: &str) -> &str {
    keyword.trim_end_matches(|c: char| c.is_ascii_digit())
}

/// A template as configured: its id and which of its keywords carries which field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pub kind: MessageKind,
    pub id: String,
    keywords: Vec<(Field, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("`{0}` is not `field=keyword`")]
    NotAPair(String),
    #[error("`{0}` is not a field of this message; its fields are {1}")]
    UnknownField(String, String),
    #[error("`{0}` is mapped twice")]
    Repeated(String),
    #[error("field `{0}` has no keyword")]
    Missing(&'static str),
    #[error("`{keyword}` cannot carry `{field}`: use a keyword of type {types}")]
    WrongType { field: &'static str, keyword: String, types: String },
    #[error("`{0}` is not a keyword name (letters, `_`, then a number, like `thing4`)")]
    BadKeyword(String),
}

impl Template {
    /// Reads a mapping like `category=thing1,status=phrase2,time=time3,note=thing4`: every field
    /// of the message exactly once, each to a distinct keyword of a type that can carry it.
    pub fn parse(kind: MessageKind, id: &str, mapping: &str) -> Result<Template, TemplateError> {
        let mut keywords: Vec<(Field, String)> = Vec::new();
        for pair in mapping.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, keyword) = pair.split_once('=').ok_or_else(|| TemplateError::NotAPair(pair.to_string()))?;
            let (name, keyword) = (name.trim(), keyword.trim());
            let field = kind.fields().iter().copied().find(|f| f.name() == name).ok_or_else(|| {
                let names: Vec<&str> = kind.fields().iter().map(|f| f.name()).collect();
                TemplateError::UnknownField(name.to_string(), names.join(", "))
            })?;
            let kind_of = keyword_type(keyword);
            let well_formed = !kind_of.is_empty()
                && kind_of.len() < keyword.len()
                && kind_of.chars().all(|c| c.is_ascii_lowercase() || c == '_');
            if !well_formed {
                return Err(TemplateError::BadKeyword(keyword.to_string()));
            }
            if !field.keyword_types().contains(&kind_of) {
                return Err(TemplateError::WrongType {
                    field: field.name(),
                    keyword: keyword.to_string(),
                    types: field.keyword_types().join(" or "),
                });
            }
            if keywords.iter().any(|(f, k)| *f == field || k == keyword) {
                return Err(TemplateError::Repeated(pair.to_string()));
            }
            keywords.push((field, keyword.to_string()));
        }
        if let Some(missing) = kind.fields().iter().find(|f| !keywords.iter().any(|(k, _)| k == *f)) {
            return Err(TemplateError::Missing(missing.name()));
        }
        Ok(Template { kind, id: id.to_string(), keywords })
    }

    /// The keywords this mapping fills, sorted.
    pub fn keyword_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.keywords.iter().map(|(_, k)| k.as_str()).collect();
        names.sort_unstable();
        names
    }

    /// Where this mapping and the template's own keywords (from `newtmpl/gettemplate`) differ:
    /// keywords the template has that we do not fill, and ones we fill that it does not have.
    pub fn mismatch(&self, template_keywords: &[String]) -> Option<String> {
        let ours = self.keyword_names();
        let unfilled: Vec<&str> = template_keywords.iter().map(String::as_str).filter(|k| !ours.contains(k)).collect();
        let unknown: Vec<&str> = ours.iter().copied().filter(|k| !template_keywords.iter().any(|t| t == k)).collect();
        if unfilled.is_empty() && unknown.is_empty() {
            return None;
        }
        Some(format!(
            "template {} has keywords [{}]; the mapping fills [{}] (unfilled: [{}], not in the template: [{}])",
            self.id,
            template_keywords.join(", "),
            ours.join(", "),
            unfilled.join(", "),
            unknown.join(", ")
        ))
    }

    /// The `data` of a subscribe message: each field under its keyword, cleaned to the
    /// keyword type's rules.
    pub fn render(&self, fields: &[(Field, String)]) -> serde_json::Value {
        let data = self
            .keywords
            .iter()
            .map(|(field, keyword)| {
                let value = fields.iter().find(|(f, _)| f == field).map(|(_, v)| v.as_str()).unwrap_or_default();
                (keyword.clone(), json!({ "value": clean_value(keyword, value) }))
            })
            .collect();
        serde_json::Value::Object(data)
    }
}

/// The keywords a template's `content` names (`{{thing1.DATA}}` → `thing1`), in order.
pub fn keywords_in_content(content: &str) -> Vec<String> {
    content
        .split("{{")
        .skip(1)
        .filter_map(|rest| rest.split_once(".DATA}}").map(|(name, _)| name.trim().to_string()))
        .collect()
}

/// A subscribe message's `data` cleaned to WeChat's rules for each keyword's type, read from the
/// keyword's name (`thing4` is a `thing`): every value loses control characters (a newline makes
/// WeChat refuse the whole message with 47003) and is cut or filtered to what its type allows.
pub fn clean_data(data: &serde_json::Value) -> serde_json::Value {
    let Some(fields) = data.as_object() else { return data.clone() };
    let cleaned = fields
        .iter()
        .map(|(keyword, field)| {
            let value = field.get("value").and_then(|v| v.as_str()).unwrap_or_default();
            (keyword.clone(), json!({ "value": clean_value(keyword, value) }))
        })
        .collect();
    serde_json::Value::Object(cleaned)
}

/// One value cleaned to the rules of its keyword's type (WeChat's subscribe-message docs):
/// `thing` at most 20 characters; `phrase` at most 5, Chinese characters only; `character_string`
/// and `number` at most 32 of their characters; `letter` letters only; `symbol` at most 5; `name`
/// at most 10 (20 without Chinese); `car_number` at most 8; `phone_number` at most 17; anything
/// else (`time`, `date`, `amount`…) at most 20. Never empty: WeChat refuses an empty value.
pub fn clean_value(keyword: &str, value: &str) -> String {
    let kind = keyword_type(keyword);
    let flat: String = value.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    let flat = flat.split_whitespace().collect::<Vec<_>>().join(" ");
    let keep =
        |allowed: fn(char) -> bool, max: usize| -> String { flat.chars().filter(|c| allowed(*c)).take(max).collect() };
    let cleaned = match kind {
        "thing" => clip(&flat, THING_MAX_CHARS),
        "phrase" => keep(is_chinese, PHRASE_MAX_CHARS),
        "character_string" => keep(|c| c.is_ascii_graphic(), 32),
        "number" => keep(|c| c.is_ascii_digit() || c == '.' || c == '-', 32),
        "letter" => keep(|c| c.is_ascii_alphabetic(), 32),
        "symbol" => keep(|c| !c.is_alphanumeric() && !c.is_whitespace(), 5),
        "name" if flat.chars().any(is_chinese) => clip(&flat, 10),
        "name" => clip(&flat, 20),
        "car_number" => keep(|c| !c.is_whitespace(), 8),
        "phone_number" => keep(|c| c.is_ascii_digit() || matches!(c, '+' | '-'), 17),
        _ => clip(&flat, THING_MAX_CHARS),
    };
    if !cleaned.is_empty() {
        cleaned
    } else if kind == "phrase" {
        "无".to_string()
    } else {
        "-".to_string()
    }
}

/// A CJK unified ideograph (what WeChat counts as a Chinese character).
fn is_chinese(c: char) -> bool {
    matches!(c, '\u{4e00}'..='\u{9fff}' | '\u{3400}'..='\u{4dbf}')
}

/// Cuts text to `max` characters (not bytes), marking the cut with an ellipsis.
fn clip(text: &str, max: usize) -> String {
    let text = text.trim();
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max - 1).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn every_value_is_cleaned_to_its_keywords_type() {
        assert_eq!(clean_value("thing4", "井盖已更换\n请绕行"), "井盖已更换 请绕行", "no newline reaches WeChat");
        assert_eq!(clean_value("thing4", &"很".repeat(30)).chars().count(), 20);
        assert_eq!(clean_value("phrase2", "已解决OK"), "已解决");
        assert_eq!(clean_value("phrase2", "处理中啊啊啊啊"), "处理中啊啊");
        assert_eq!(clean_value("phrase2", "OK"), "无", "never empty");
        assert_eq!(clean_value("character_string7", &format!("单号{}", "A".repeat(40))), "A".repeat(32));
        assert_eq!(clean_value("number2", "10 分"), "10");
        assert_eq!(clean_value("time3", "2026-11-25 14:30"), "2026-11-25 14:30");
        assert_eq!(clean_value("thing1", "\t\r\n"), "-");
        let data = json!({ "thing4": { "value": "第一行\r\n第二行" }, "phrase2": { "value": "已解决!" } });
        assert_eq!(
            clean_data(&data),
            json!({ "thing4": { "value": "第一行 第二行" }, "phrase2": { "value": "已解决" } })
        );
    }

    #[test]
    fn fields_respect_wechat_limits_in_characters() {
        let at = chrono_tz::Asia::Shanghai.with_ymd_and_hms(2026, 11, 25, 9, 5, 0).unwrap();
        let long_note = "井盖已经更换完毕，感谢您的反馈，我们会持续关注该路段的安全状况";
        let (page, fields) = report_progress_fields(&ReportProgress {
            report_id: "r1",
            category: "道路损坏",
            status: "已解决",
            note: long_note,
            at,
        });
        let kind = MessageKind::ReportProgress;
        let data = Template::parse(kind, "t", kind.default_keywords()).unwrap().render(&fields);
        assert_eq!(page, "pages/report/detail?id=r1");
        assert_eq!(data["time3"]["value"], "2026-11-25 09:05");
        assert_eq!(data["thing4"]["value"].as_str().unwrap().chars().count(), 20);
        assert!(data["thing4"]["value"].as_str().unwrap().ends_with('…'));
        assert_eq!(data["phrase2"]["value"], "已解决");
    }

    #[test]
    fn a_mapping_names_every_field_once_with_a_keyword_that_can_carry_it() {
        let kind = MessageKind::ReportProgress;
        let t = Template::parse(kind, "t", "note=thing7, time=date2,status=thing3,category=thing1").unwrap();
        assert_eq!(t.keyword_names(), ["date2", "thing1", "thing3", "thing7"]);
        let data = t.render(&[(Field::Category, "占道".into()), (Field::Note, "a\nb".into())]);
        assert_eq!(data["thing7"]["value"], "a b");
        assert_eq!(data["date2"]["value"], "-", "a missing value is never sent empty");
        let parse = |m: &str| Template::parse(kind, "t", m).unwrap_err();
        assert_eq!(parse("category=thing1,status=phrase2,time=time3"), TemplateError::Missing("note"));
        assert!(matches!(parse("category=phrase1"), TemplateError::WrongType { .. }));
        assert!(matches!(parse("category=thing1,note=thing1"), TemplateError::Repeated(_)));
        assert!(matches!(parse("colour=thing1"), TemplateError::UnknownField(..)));
        assert!(matches!(parse("category=thing"), TemplateError::BadKeyword(_)));
        assert!(matches!(parse("category"), TemplateError::NotAPair(_)));
        for kind in MessageKind::ALL {
            Template::parse(kind, "t", kind.default_keywords()).unwrap();
        }
    }

    #[test]
    fn a_mapping_is_checked_against_the_templates_own_keywords() {
        let content = "问题类型:{{thing1.DATA}}\n处理状态:{{phrase2.DATA}}\n时间:{{time3.DATA}}\n说明:{{thing4.DATA}}";
        let keywords = keywords_in_content(content);
        assert_eq!(keywords, ["thing1", "phrase2", "time3", "thing4"]);
        let kind = MessageKind::ReportProgress;
        let ours = Template::parse(kind, "t", kind.default_keywords()).unwrap();
        assert_eq!(ours.mismatch(&keywords), None);
        let theirs =
            keywords_in_content("类型:{{thing6.DATA}} 状态:{{phrase2.DATA}} 时间:{{time3.DATA}} 说明:{{thing4.DATA}}");
        let why = ours.mismatch(&theirs).unwrap();
        assert!(why.contains("unfilled: [thing6]") && why.contains("not in the template: [thing1]"), "{why}");
    }
}

//! What riders are told, and in which words, when something they follow changes.
//!
//! The report-progress subscribe message expects a template (chosen in the mini-program's admin
//! console, its id in `XHB_NOTIFY_REPORT_TEMPLATE_ID`) with the fields `thing1` (category),
//! `phrase2` (status), `time3` (time) and `thing4` (note).

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

/// The page the message opens, and the template data.
pub fn report_progress_fields(p: &ReportProgress<'_>) -> (String, serde_json::Value) {
    let page = format!("pages/report/detail?id={}", p.report_id);
    let note = if p.note.trim().is_empty() { "点击查看处理进展" } else { p.note };
    let data = json!({
        "thing1": { "value": clip(p.category, THING_MAX_CHARS) },
        "phrase2": { "value": clip(p.status, PHRASE_MAX_CHARS) },
        "time3": { "value": p.at.format("%Y-%m-%d %H:%M").to_string() },
        "thing4": { "value": clip(note, THING_MAX_CHARS) },
    });
    (page, data)
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

/// The points template's page and data: `thing1` (what earned them), `number2` (points) and
/// `time3` (when), opening the rider's points page.
pub fn points_arrived_fields(p: &PointsArrived<'_>) -> (String, serde_json::Value) {
    let page = format!("pages/points/index?report_id={}", p.report_id);
    let data = json!({
        "thing1": { "value": clip(p.what, THING_MAX_CHARS) },
        "number2": { "value": p.amount.to_string() },
        "time3": { "value": p.at.format("%Y-%m-%d %H:%M").to_string() },
    });
    (page, data)
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

/// The redemption template's page and data: `thing1` (reward), `phrase2` (status), `time3`
/// (when) and `thing4` (the pickup place).
pub fn redemption_fields(r: &RedemptionNews<'_>) -> (String, serde_json::Value) {
    let page = format!("pages/points/redemption?id={}", r.redemption_id);
    let data = json!({
        "thing1": { "value": clip(r.reward, THING_MAX_CHARS) },
        "phrase2": { "value": clip(r.status, PHRASE_MAX_CHARS) },
        "time3": { "value": r.at.format("%Y-%m-%d %H:%M").to_string() },
        "thing4": { "value": clip(r.place, THING_MAX_CHARS) },
    });
    (page, data)
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
    let kind = keyword.trim_end_matches(|c: char| c.is_ascii_digit());
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
        let (page, data) = report_progress_fields(&ReportProgress {
            report_id: "r1",
            category: "道路损坏",
            status: "已解决",
            note: long_note,
            at,
        });
        assert_eq!(page, "pages/report/detail?id=r1");
        assert_eq!(data["time3"]["value"], "2026-11-25 09:05");
        assert_eq!(data["thing4"]["value"].as_str().unwrap().chars().count(), 20);
        assert!(data["thing4"]["value"].as_str().unwrap().ends_with('…'));
        assert_eq!(data["phrase2"]["value"], "已解决");
    }
}

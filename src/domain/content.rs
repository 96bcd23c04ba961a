//! Content security: what riders write (a report's description, a rating comment) and the photos
//! they attach are shown to anyone but the reporter and the unit handling the report only once
//! WeChat's content check has cleared them (a WeChat platform rule for mini-programs that publish
//! what users write).
//!
//! Text goes through `msgSecCheck` v2, which answers at once; a photo through `mediaCheckAsync`
//! v2, whose verdict arrives later at the message push. Only `pass` publishes; `risky` keeps the
//! content private for good and tells the unit; `review` (WeChat suggests a person look) keeps it
//! private too. With checks off (a deployment outside WeChat) nothing a rider wrote or
//! photographed is ever public.

use std::collections::HashSet;

use super::named_enum::named_enum;

named_enum!(
    /// Whether rider content is checked by WeChat before it is published.
    ContentMode, "content_check" {
        /// No checks: the public projection shows no free text and no report photos at all.
        Off = "off",
        /// `msgSecCheck` and `mediaCheckAsync`; only what passed is public.
        Wechat = "wechat",
    }
);

named_enum!(
    /// Where a piece of content stands in its check: WeChat's `result.suggest`, or not yet known.
    Verdict, "verdict" {
        /// Not checked yet (or the check could not be made): private.
        Pending = "pending",
        /// Cleared: public while checks are on.
        Pass = "pass",
        /// Flagged: private for good, and the unit is told.
        Risky = "risky",
        /// WeChat suggests a person look: private.
        Review = "review",
    }
);

impl Verdict {
    /// WeChat's `result.suggest` (`pass`, `risky` or `review`); anything else is no verdict.
    pub fn from_suggest(suggest: &str) -> Option<Verdict> {
        match suggest {
            "pass" => Some(Verdict::Pass),
            "risky" => Some(Verdict::Risky),
            "review" => Some(Verdict::Review),
            _ => None,
        }
    }
}

named_enum!(
    /// What a check is about.
    Checked, "kind" {
        /// A report's description, keyed by the report's id.
        Description = "description",
        /// A report's rating comment, keyed by the report's id.
        RatingComment = "rating_comment",
        /// A photo attached to a report, keyed by the media id.
        Photo = "photo",
    }
);

impl Checked {
    /// WeChat's scene for this content (1 资料, 2 评论, 3 论坛, 4 社交日志): a report is a post on
    /// a public board (论坛); a rating comment is a comment on it (评论).
    pub fn scene(self) -> u8 {
        match self {
            Checked::Description | Checked::Photo => 3,
            Checked::RatingComment => 2,
        }
    }

    /// The words the unit reads on the report's timeline when WeChat flags this content (a photo
    /// named by its media id).
    pub fn flagged_note(self, verdict: Verdict, object_id: &str) -> String {
        let what = match self {
            Checked::Description => "上报描述".to_string(),
            Checked::RatingComment => "评价留言".to_string(),
            Checked::Photo => format!("照片 {object_id} "),
        };
        match verdict {
            Verdict::Risky => format!("{what}未通过微信内容安全检测（risky），不会公开；本单位仍可查看"),
            _ => format!("{what}需人工复核（微信内容安全检测 {verdict}），暂不公开"),
        }
    }
}

/// Whether content with this verdict may be shown to the public under this mode: only what
/// WeChat passed, and only while checks are on.
pub fn published(mode: ContentMode, verdict: Option<Verdict>) -> bool {
    mode == ContentMode::Wechat && verdict == Some(Verdict::Pass)
}

/// What of one report's rider content the public may see.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cleared {
    pub description: bool,
    pub rating_comment: bool,
    /// The ids of its photos that passed.
    pub photos: HashSet<String>,
}

impl Cleared {
    /// Nothing: what every report shows while checks are off, and before any verdict.
    pub fn nothing() -> Cleared {
        Cleared::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_pass_under_wechat_checks_is_public() {
        use ContentMode::*;
        for verdict in [None, Some(Verdict::Pending), Some(Verdict::Risky), Some(Verdict::Review)] {
            assert!(!published(Wechat, verdict), "{verdict:?}");
        }
        assert!(published(Wechat, Some(Verdict::Pass)));
        assert!(!published(Off, Some(Verdict::Pass)), "checks off: nothing is public, passed or not");
    }

    #[test]
    fn wechat_suggestions_are_read_and_nothing_else_is_a_verdict() {
        assert_eq!(Verdict::from_suggest("pass"), Some(Verdict::Pass));
        assert_eq!(Verdict::from_suggest("risky"), Some(Verdict::Risky));
        assert_eq!(Verdict::from_suggest("review"), Some(Verdict::Review));
        for other in ["", "PASS", "ok", "pending"] {
            assert_eq!(Verdict::from_suggest(other), None, "{other}");
        }
    }

    #[test]
    fn scenes_follow_wechats_list() {
        assert_eq!([Checked::Description, Checked::RatingComment, Checked::Photo].map(Checked::scene), [3, 2, 3]);
        let note = Checked::Photo.flagged_note(Verdict::Risky, "m1");
        assert!(note.contains("不会公开") && note.contains("m1"), "{note}");
    }
}

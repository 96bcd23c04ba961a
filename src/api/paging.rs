//! `?limit=&cursor=` paging: opaque cursors, a default and a maximum on every list.
//!
//! A cursor is base64url (no padding) of the last row's key. Every string the spec's pattern
//! allows is a position: decoding never fails (a dangling last character is dropped, bytes that
//! are not UTF-8 are read lossily), so a forged cursor only starts the page somewhere else. What
//! the caller may see is decided by the query's own scope, never by the cursor.

use std::borrow::Cow;

use base64::Engine;
use base64::alphabet::URL_SAFE;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use poem_openapi::Object;
use poem_openapi::registry::{MetaSchema, MetaSchemaRef, Registry};
use poem_openapi::types::{ParseError, ParseFromJSON, ParseFromParameter, ParseResult, ToJSON, Type};

use crate::domain::DomainError;

pub const DEFAULT_LIMIT: u32 = 20;
pub const MAX_LIMIT: u32 = 100;
/// The longest cursor accepted; those the API gives out are under 100 characters.
pub const MAX_CURSOR_CHARS: usize = 200;

/// One page of any list: its items, and the cursor of the next page.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct Page<T: ParseFromJSON + ToJSON> {
    pub items: Vec<T>,
    /// Pass back as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

impl<T: ParseFromJSON + ToJSON> Page<T> {
    pub fn new(items: Vec<T>, next_cursor: Option<String>) -> Self {
        Page { items, next_cursor }
    }
}

/// `?cursor=`: an opaque position in a list, as `next_cursor` gave it out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor(String);

impl Cursor {
    fn is_well_formed(text: &str) -> bool {
        text.len() <= MAX_CURSOR_CHARS && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    }

    /// The key bytes the cursor carries; total over every well-formed cursor.
    fn key_bytes(&self) -> Vec<u8> {
        const LENIENT: GeneralPurpose = GeneralPurpose::new(
            &URL_SAFE,
            GeneralPurposeConfig::new()
                .with_decode_padding_mode(DecodePaddingMode::RequireNone)
                .with_decode_allow_trailing_bits(true),
        );
        // A length of 4n+1 is no base64: its last character carries too few bits to be a byte.
        let text = if self.0.len() % 4 == 1 { &self.0[..self.0.len() - 1] } else { &self.0[..] };
        LENIENT.decode(text).unwrap_or_default()
    }
}

impl Type for Cursor {
    const IS_REQUIRED: bool = true;
    type RawValueType = Self;
    type RawElementValueType = Self;

    fn name() -> Cow<'static, str> {
        "Cursor".into()
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Reference(Self::name().into_owned())
    }

    fn register(registry: &mut Registry) {
        registry.create_schema::<Self, _>(Self::name().into_owned(), |_| MetaSchema {
            description: Some(
                "An opaque position in a list: pass back a page's `next_cursor` unchanged to get the next \
                 page. Any value of this shape is accepted; one this API did not give out starts the page \
                 somewhere in the list.",
            ),
            pattern: Some("^[A-Za-z0-9_-]*$".to_string()),
            max_length: Some(MAX_CURSOR_CHARS),
            example: Some("AZrDTgxAcLOSX3JqVPAwjA".into()),
            ..MetaSchema::new("string")
        });
    }

    fn as_raw_value(&self) -> Option<&Self> {
        Some(self)
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a Self> + 'a> {
        Box::new(self.as_raw_value().into_iter())
    }
}

impl ParseFromParameter for Cursor {
    fn parse_from_parameter(value: &str) -> ParseResult<Self> {
        if Cursor::is_well_formed(value) {
            Ok(Cursor(value.to_string()))
        } else {
            Err(ParseError::custom(format!("base64url characters (A-Z a-z 0-9 - _), at most {MAX_CURSOR_CHARS}")))
        }
    }
}

/// A page request turned into what the store needs: how many, and after which key.
#[derive(Debug, Clone)]
pub struct PageRequest<K = String> {
    pub limit: u32,
    pub after: Option<K>,
}

impl PageRequest {
    /// A page of a list keyed by text (an id).
    pub fn parse(limit: Option<u32>, cursor: Option<Cursor>) -> Result<Self, DomainError> {
        PageRequest::parse_with(limit, cursor, key_text)
    }
}

impl<K> PageRequest<K> {
    /// A page of a list with its own key, read from the cursor's bytes by `key` (which must
    /// accept any bytes).
    pub fn parse_with(
        limit: Option<u32>,
        cursor: Option<Cursor>,
        key: impl FnOnce(&[u8]) -> K,
    ) -> Result<Self, DomainError> {
        let limit = limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(DomainError::invalid("limit", format!("1 to {MAX_LIMIT}")));
        }
        let after = cursor.filter(|c| !c.0.is_empty()).map(|c| key(&c.key_bytes()));
        Ok(PageRequest { limit, after })
    }

    /// One more row than the page holds, to learn whether there is a next page.
    pub fn fetch_limit(&self) -> u32 {
        self.limit + 1
    }

    /// Cuts the fetched rows to the page and makes the cursor for the next one.
    pub fn finish<T, B: AsRef<[u8]>>(&self, mut rows: Vec<T>, key: impl Fn(&T) -> B) -> (Vec<T>, Option<String>) {
        if rows.len() > self.limit as usize {
            rows.truncate(self.limit as usize);
            let next = rows.last().map(|last| encode_cursor(key(last)));
            (rows, next)
        } else {
            (rows, None)
        }
    }
}

pub fn encode_cursor(key: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(key)
}

/// A text key from any bytes: UTF-8 read lossily, and no NUL (which PostgreSQL text refuses).
pub fn key_text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).replace('\0', "\u{fffd}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cursor(text: &str) -> Option<Cursor> {
        Some(Cursor::parse_from_parameter(text).unwrap())
    }

    #[test]
    fn pages_follow_one_another() {
        let first = PageRequest::parse(Some(2), None).unwrap();
        let (items, next) = first.finish(vec!["a", "b", "c"], |s| s.to_string());
        assert_eq!(items, vec!["a", "b"]);
        let second = PageRequest::parse(Some(2), next.as_deref().and_then(cursor)).unwrap();
        assert_eq!(second.after.as_deref(), Some("b"));
        let (_, none) = second.finish(vec!["c"], |s| s.to_string());
        assert!(none.is_none());
    }

    #[test]
    fn limits_are_checked_and_cursors_outside_the_alphabet_refused() {
        assert!(PageRequest::parse(Some(0), None).is_err());
        assert!(PageRequest::parse(Some(101), None).is_err());
        assert_eq!(PageRequest::parse(None, None).unwrap().limit, DEFAULT_LIMIT);
        for bad in ["!!", "a=", "a b", "é", &"a".repeat(MAX_CURSOR_CHARS + 1)] {
            assert!(Cursor::parse_from_parameter(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn every_well_formed_cursor_is_a_position() {
        for text in ["0", "00", "000", "0000", "_-_-_", "AP8A", "wA", "z", &"0".repeat(MAX_CURSOR_CHARS)] {
            let page = PageRequest::parse(Some(5), cursor(text)).unwrap();
            assert!(!page.after.unwrap().contains('\0'), "{text}");
        }
        assert!(PageRequest::parse(None, cursor("")).unwrap().after.is_none(), "empty is the first page");
    }
}

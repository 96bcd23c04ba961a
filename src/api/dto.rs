//! Types shared by several API files: domain enums mirrored on the wire, the coordinate
//! system every request names, and texts with a documented grammar.

use std::borrow::Cow;

use poem_openapi::registry::{MetaSchema, MetaSchemaRef, Registry};
use poem_openapi::types::{ParseError, ParseFromJSON, ParseResult, ToJSON, Type};
use serde_json::Value;

use crate::domain::DomainError;
use crate::domain::geo::CoordSystem;
use crate::domain::hours::{self, OpeningHours, grammar_pattern};

/// Declares an API enum mirroring a domain enum variant for variant (snake_case on the wire),
/// with conversions both ways.
macro_rules! mirror_enum {
    ($(#[$meta:meta])* $dto:ident = $domain:ident { $($variant:ident),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, poem_openapi::Enum)]
        #[oai(rename_all = "snake_case")]
        pub enum $dto { $($variant),+ }

        impl From<$domain> for $dto {
            fn from(v: $domain) -> Self {
                match v { $($domain::$variant => $dto::$variant),+ }
            }
        }

        impl From<$dto> for $domain {
            fn from(v: $dto) -> Self {
                match v { $($dto::$variant => $domain::$variant),+ }
            }
        }
    };
}
pub(crate) use mirror_enum;

mirror_enum!(
    /// A coordinate system: `gcj02` (phones in China, the mini-program map) or `wgs84` (GPS).
    CoordDto = CoordSystem { Gcj02, Wgs84 }
);

impl CoordDto {
    pub fn as_str(self) -> &'static str {
        CoordSystem::from(self).as_str()
    }
}

/// The coordinate system a request named (GCJ-02 when it named none).
pub fn coord_of(coord: Option<CoordDto>) -> CoordSystem {
    coord.map(CoordSystem::from).unwrap_or_default()
}

/// Opening hours as a client writes them: the text, checked by `domain::hours` where it is used
/// (so a mistake is a 400 naming `hours`); the spec gives the grammar as a pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HoursText(pub String);

impl Type for HoursText {
    const IS_REQUIRED: bool = true;
    type RawValueType = Self;
    type RawElementValueType = Self;

    fn name() -> Cow<'static, str> {
        "OpeningHours".into()
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Reference(Self::name().into_owned())
    }

    fn register(registry: &mut Registry) {
        registry.create_schema::<Self, _>(Self::name().into_owned(), |_| MetaSchema {
            description: Some(
                "Opening hours in the city's local time: `24/7`, or clauses separated by `;`. A clause names \
                 days (`mon`…`sun`, ranges `mon-fri`, lists `sat,sun`) or one date (`YYYY-MM-DD`), then up to \
                 4 spans `HH:MM-HH:MM` (comma-separated), `24h` or `closed`. A day not named is closed; a \
                 date's clause replaces that weekday's spans on that date (at most 100 dates). A span whose \
                 end is before its start runs past midnight; its end differs from its start; `24:00` ends a \
                 span at midnight. Example: `mon-fri 08:00-20:00; sat,sun 10:00-16:00; 2026-10-01 closed`.",
            ),
            pattern: Some(grammar_pattern(true)),
            max_length: Some(hours::MAX_CHARS),
            example: Some("mon-fri 08:00-20:00; sat,sun 10:00-16:00; 2026-10-01 closed".into()),
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

impl ParseFromJSON for HoursText {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        match value {
            Some(Value::String(text)) if text.chars().count() <= hours::MAX_CHARS => Ok(HoursText(text)),
            Some(Value::String(_)) => Err(ParseError::custom(format!("at most {} characters", hours::MAX_CHARS))),
            other => Err(ParseError::expected_type(other.unwrap_or_default())),
        }
    }
}

impl ToJSON for HoursText {
    fn to_json(&self) -> Option<Value> {
        Some(Value::String(self.0.clone()))
    }
}

impl HoursText {
    pub fn parse(&self) -> Result<OpeningHours, DomainError> {
        self.0.parse()
    }
}

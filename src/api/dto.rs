//! Types shared by several API files: domain enums mirrored on the wire, the coordinate
//! system every request names, and texts with a documented grammar.

use std::borrow::Cow;

use poem_openapi::registry::{MetaSchema, MetaSchemaRef, Registry};
use poem_openapi::types::{IsObjectType, ParseError, ParseFromJSON, ParseResult, ToJSON, Type};
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

/// `Type` for a wrapper `W<T>` that is read or written its own way but shows `T`'s schema in the
/// spec, under `T`'s name.
macro_rules! type_with_schema_of {
    ($wrapper:ident<T: $bound:path>) => {
        impl<T: $bound> poem_openapi::types::Type for $wrapper<T> {
            const IS_REQUIRED: bool = true;
            type RawValueType = Self;
            type RawElementValueType = Self;

            fn name() -> std::borrow::Cow<'static, str> {
                T::name()
            }

            fn schema_ref() -> poem_openapi::registry::MetaSchemaRef {
                T::schema_ref()
            }

            fn register(registry: &mut poem_openapi::registry::Registry) {
                T::register(registry);
            }

            fn as_raw_value(&self) -> Option<&Self> {
                Some(self)
            }

            fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a Self> + 'a> {
                Box::new(self.as_raw_value().into_iter())
            }
        }
    };
}
pub(crate) use type_with_schema_of;

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

/// Reads an optional request field: it may be left out, but not null (the spec declares no
/// request field nullable, so null is refused like any value of the wrong type). For
/// `#[oai(deserialize_with = "not_null")]` on `Option` fields.
pub fn not_null<T: ParseFromJSON>(value: Option<Value>) -> ParseResult<Option<T>> {
    match value {
        Some(Value::Null) => Err(ParseError::custom("null is not a value here: leave the field out")),
        value => Option::<T>::parse_from_json(value).map_err(ParseError::propagate),
    }
}

/// A pattern for text that must not be blank: it holds a character that is not space as
/// `str::trim` understands it (`char::is_whitespace`). Attributes take the same class as a literal.
pub const NOT_BLANK: &str = r"[^\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]";

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

/// A body that is a tagged union (`#[derive(Union)]` with a discriminator), with the fields each
/// tag cannot do without: the derived parse only says which type failed, this names the field.
pub trait TaggedBody: Type + ParseFromJSON + ToJSON {
    /// The discriminator's name.
    const TAG: &'static str;
    /// Every tag value, with its required fields.
    const REQUIRED: &'static [(&'static str, &'static [&'static str])];
}

/// A tagged union read with clear messages: `T` on the wire and in the spec.
#[derive(Debug)]
pub struct Tagged<T>(pub T);

type_with_schema_of!(Tagged<T: TaggedBody>);

impl<T: TaggedBody> IsObjectType for Tagged<T> {}

impl<T: TaggedBody> ParseFromJSON for Tagged<T> {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        let field = |name: &str| value.as_ref().and_then(|v| v.get(name)).filter(|v| !v.is_null());
        let tag = field(T::TAG).and_then(Value::as_str);
        let Some((tag, required)) = T::REQUIRED.iter().find(|(name, _)| Some(*name) == tag) else {
            let names: Vec<&str> = T::REQUIRED.iter().map(|(name, _)| *name).collect();
            return Err(ParseError::custom(format!("field `{}` must be one of {}", T::TAG, names.join(", "))));
        };
        if let Some(missing) = required.iter().find(|f| field(f).is_none()) {
            return Err(ParseError::custom(format!("field `{missing}` is required with {} `{tag}`", T::TAG)));
        }
        T::parse_from_json(value).map(Tagged).map_err(ParseError::propagate)
    }
}

impl<T: TaggedBody> ToJSON for Tagged<T> {
    fn to_json(&self) -> Option<Value> {
        self.0.to_json()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_blank_is_what_trim_leaves_something_of() {
        let class = regex::Regex::new(NOT_BLANK).unwrap();
        for c in (0..=0x10FFFFu32).filter_map(char::from_u32) {
            assert_eq!(class.is_match(c.encode_utf8(&mut [0; 4])), !c.is_whitespace(), "{:?}", c);
        }
    }

    /// Each tag's required fields, as the spec says them.
    fn required_in_spec<T: TaggedBody>() -> Vec<(String, Vec<String>)> {
        let mut registry = Registry::new();
        T::register(&mut registry);
        let union = &registry.schemas[T::name().as_ref()];
        let discriminator = union.discriminator.as_ref().expect("a discriminator");
        assert_eq!(discriminator.property_name, T::TAG);
        let mut tags = Vec::new();
        for (tag, reference) in &discriminator.mapping {
            let variant = &registry.schemas[reference.trim_start_matches("#/components/schemas/")];
            let Some(MetaSchemaRef::Reference(object)) = variant.all_of.get(1) else { panic!("{tag}: no object") };
            let mut required: Vec<String> = registry.schemas[object].required.iter().map(|f| f.to_string()).collect();
            required.sort();
            tags.push((tag.clone(), required));
        }
        tags
    }

    fn required_in_table<T: TaggedBody>() -> Vec<(String, Vec<String>)> {
        T::REQUIRED
            .iter()
            .map(|(tag, fields)| {
                let mut fields: Vec<String> = fields.iter().map(|f| f.to_string()).collect();
                fields.sort();
                (tag.to_string(), fields)
            })
            .collect()
    }

    #[test]
    fn every_tagged_body_names_the_fields_its_spec_requires() {
        use crate::api::{admin, place_admin, places, triage};
        assert_eq!(required_in_table::<triage::ActionBody>(), required_in_spec::<triage::ActionBody>());
        assert_eq!(required_in_table::<places::CheckinRequest>(), required_in_spec::<places::CheckinRequest>());
        assert_eq!(required_in_table::<place_admin::NewPlace>(), required_in_spec::<place_admin::NewPlace>());
        assert_eq!(required_in_table::<admin::CreateStaffRequest>(), required_in_spec::<admin::CreateStaffRequest>());
    }

    #[test]
    fn a_tagged_body_names_the_field_its_tag_needs() {
        use crate::api::triage::ActionBody;
        let parse = |v: Value| Tagged::<ActionBody>::parse_from_json(Some(v)).map(|_| ()).map_err(|e| e.into_message());
        let missing = parse(serde_json::json!({ "action": "reject" })).unwrap_err();
        assert!(missing.ends_with("field `reason` is required with action `reject`"), "{missing}");
        assert!(parse(serde_json::json!({ "action": "reject", "reason": "不归本单位" })).is_ok());
        assert!(parse(serde_json::json!({ "action": "accept" })).is_ok());
        let unknown = parse(serde_json::json!({ "action": "shred" })).unwrap_err();
        assert!(unknown.contains("field `action` must be one of accept, start"), "{unknown}");
    }
}

//! `Text`: a JSON string in a request body, and only a string. poem-openapi's `String` also takes
//! `true` and `42` as `"true"` and `"42"`, which the spec (`type: string`) forbids, so a client
//! bug would pass unnoticed; request bodies take `Text` instead.

use std::borrow::Cow;
use std::ops::Deref;

use poem_openapi::registry::{MetaSchema, MetaSchemaRef};
use poem_openapi::types::{ParseError, ParseFromJSON, ParseResult, ToJSON, Type};
use serde_json::Value;

#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Text(pub String);

impl Text {
    pub fn into_string(self) -> String {
        self.0
    }
}

impl Deref for Text {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl From<&str> for Text {
    fn from(text: &str) -> Text {
        Text(text.to_string())
    }
}

/// Texts as the strings they are.
pub fn strings(texts: Vec<Text>) -> Vec<String> {
    texts.into_iter().map(String::from).collect()
}

impl From<Text> for String {
    fn from(text: Text) -> String {
        text.0
    }
}

impl Type for Text {
    const IS_REQUIRED: bool = true;
    // Validators (`max_length`, `pattern`) read the raw value.
    type RawValueType = String;
    type RawElementValueType = String;

    fn name() -> Cow<'static, str> {
        "string".into()
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(MetaSchema::new("string")))
    }

    fn as_raw_value(&self) -> Option<&String> {
        Some(&self.0)
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a String> + 'a> {
        Box::new(std::iter::once(&self.0))
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl ParseFromJSON for Text {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        match value.unwrap_or_default() {
            Value::String(s) => Ok(Text(s)),
            other => Err(ParseError::expected_type(other)),
        }
    }
}

impl ToJSON for Text {
    fn to_json(&self) -> Option<Value> {
        Some(Value::String(self.0.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_a_string_is_text() {
        assert_eq!(Text::parse_from_json(Some(json!("王师傅"))).ok(), Some(Text("王师傅".into())));
        for not_text in [json!(false), json!(42), json!(null), json!(["a"]), json!({"a": 1})] {
            assert!(Text::parse_from_json(Some(not_text.clone())).is_err(), "{not_text}");
        }
        assert!(Option::<Text>::parse_from_json(Some(json!(null))).is_ok_and(|t| t.is_none()));
    }
}

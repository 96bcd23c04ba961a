//! `?limit=&cursor=` paging: opaque cursors, a default and a maximum on every list.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use poem_openapi::Object;
use poem_openapi::types::{ParseFromJSON, ToJSON};

use crate::domain::DomainError;

pub const DEFAULT_LIMIT: u32 = 20;
pub const MAX_LIMIT: u32 = 100;

/// One page of any list: its items, and the cursor of the next page.
#[derive(Debug, Object)]
pub struct Page<T: ParseFromJSON + ToJSON> {
    pub items: Vec<T>,
    /// Pass back as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

impl<T: ParseFromJSON + ToJSON> Page<T> {
    pub fn new(items: Vec<T>, next_cursor: Option<String>) -> Self {
        Page { items, next_cursor }
    }
}

/// A page request turned into what the store needs: how many, and after which key.
#[derive(Debug, Clone)]
pub struct PageRequest {
    pub limit: u32,
    pub after: Option<String>,
}

impl PageRequest {
    pub fn parse(limit: Option<u32>, cursor: Option<String>) -> Result<Self, DomainError> {
        let limit = limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(DomainError::invalid("limit", format!("1 to {MAX_LIMIT}")));
        }
        let after = cursor.filter(|c| !c.is_empty()).map(|c| decode_cursor(&c)).transpose()?;
        Ok(PageRequest { limit, after })
    }

    /// One more row than the page holds, to learn whether there is a next page.
    pub fn fetch_limit(&self) -> u32 {
        self.limit + 1
    }

    /// Cuts the fetched rows to the page and makes the cursor for the next one.
    pub fn finish<T>(&self, mut rows: Vec<T>, key: impl Fn(&T) -> String) -> (Vec<T>, Option<String>) {
        if rows.len() > self.limit as usize {
            rows.truncate(self.limit as usize);
            let next = rows.last().map(|last| encode_cursor(&key(last)));
            (rows, next)
        } else {
            (rows, None)
        }
    }
}

pub fn encode_cursor(key: &str) -> String {
    URL_SAFE_NO_PAD.encode(key.as_bytes())
}

fn decode_cursor(cursor: &str) -> Result<String, DomainError> {
    let bad = || DomainError::invalid("cursor", "not a cursor this API gave out");
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| bad())?;
    String::from_utf8(bytes).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_follow_one_another() {
        let first = PageRequest::parse(Some(2), None).unwrap();
        let (items, next) = first.finish(vec!["a", "b", "c"], |s| s.to_string());
        assert_eq!(items, vec!["a", "b"]);
        let second = PageRequest::parse(Some(2), next).unwrap();
        assert_eq!(second.after.as_deref(), Some("b"));
        let (_, none) = second.finish(vec!["c"], |s| s.to_string());
        assert!(none.is_none());
    }

    #[test]
    fn limits_and_cursors_are_checked() {
        assert!(PageRequest::parse(Some(0), None).is_err());
        assert!(PageRequest::parse(Some(101), None).is_err());
        assert!(PageRequest::parse(None, Some("!!".into())).is_err());
        assert_eq!(PageRequest::parse(None, None).unwrap().limit, DEFAULT_LIMIT);
    }
}

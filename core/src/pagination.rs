//! Cursor pagination: list parameters (`limit`, `cursor`) parsed from a query string, opaque
//! keyset cursors over time-ordered ids, and the `{items, next_cursor, has_more}` page shape.

use std::collections::HashMap;

use serde::Serialize;
use uuid::Uuid;

use crate::error::{Error, Result};

pub const DEFAULT_LIMIT: i64 = 20;
pub const MAX_LIMIT: i64 = 100;

/// What a `cursor` looks like, as the OpenAPI document states it.
pub const CURSOR_PATTERN: &str =
    "^(i1|s1\\.[0-9a-f]{8})\\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$";

/// A keyset position. Opaque to clients (they pass back what they got), though readable:
/// `i1.<uuid>` after an id, `s1.<score bits as 8 hex digits>.<uuid>` in a search — a form
/// the OpenAPI document can state exactly ([`CURSOR_PATTERN`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cursor {
    /// After this id, in ascending id (= creation) order.
    After(Uuid),
    /// After this (score, id) in a relevance-ordered search: lower score, or same score and
    /// greater id. The score is carried bit-exactly.
    AfterScored(f32, Uuid),
}

impl Cursor {
    pub fn encode(&self) -> String {
        match self {
            Cursor::After(id) => format!("i1.{id}"),
            Cursor::AfterScored(score, id) => format!("s1.{:08x}.{id}", score.to_bits()),
        }
    }

    /// Accepts exactly [`CURSOR_PATTERN`]: lowercase hex, hyphenated ids.
    pub fn decode(s: &str) -> Result<Cursor> {
        let invalid = || Error::field("cursor", "is not a cursor this API issued");
        let id = |text: &str| {
            Uuid::parse_str(text)
                .ok()
                .filter(|u| u.hyphenated().to_string() == text)
                .ok_or_else(invalid)
        };
        if let Some(rest) = s.strip_prefix("i1.") {
            return Ok(Cursor::After(id(rest)?));
        }
        if let Some(rest) = s.strip_prefix("s1.") {
            let (bits, rest) = rest.split_once('.').ok_or_else(invalid)?;
            let lower_hex = bits.len() == 8
                && bits
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
            if !lower_hex {
                return Err(invalid());
            }
            let bits = u32::from_str_radix(bits, 16).map_err(|_| invalid())?;
            return Ok(Cursor::AfterScored(f32::from_bits(bits), id(rest)?));
        }
        Err(invalid())
    }

    /// Where a keyset page over `(user_id, id)` starts: after the cursor's id, or after the
    /// nil UUID (smaller than every id) on the first page — so that every page runs the same
    /// statement, an index range scan `user_id = tenant AND id > $1`, whatever the statistics.
    pub fn keyset_start(cursor: Option<Cursor>) -> Result<Uuid> {
        Ok(Self::after_id(cursor)?.unwrap_or(Uuid::nil()))
    }

    /// The id a plain list continues after. A search's cursor continues after its id too:
    /// either cursor is a valid `cursor` of any list (the document cannot tell them apart).
    pub fn after_id(cursor: Option<Cursor>) -> Result<Option<Uuid>> {
        Ok(match cursor {
            None => None,
            Some(Cursor::After(id) | Cursor::AfterScored(_, id)) => Some(id),
        })
    }
}

/// `limit` and `cursor` of a list request.
#[derive(Debug, Clone)]
pub struct ListParams {
    pub limit: i64,
    pub cursor: Option<Cursor>,
}

impl Default for ListParams {
    fn default() -> Self {
        Self {
            limit: DEFAULT_LIMIT,
            cursor: None,
        }
    }
}

impl ListParams {
    /// Parses `limit` (1..=100, default 20) and `cursor` from query parameters.
    pub fn from_query(query: &HashMap<String, String>) -> Result<ListParams> {
        let limit = match query.get("limit") {
            None => DEFAULT_LIMIT,
            Some(raw) => match raw.parse::<i64>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
                _ => {
                    return Err(Error::field(
                        "limit",
                        format!("must be an integer from 1 to {MAX_LIMIT}"),
                    ));
                }
            },
        };
        let cursor = match query.get("cursor").map(String::as_str) {
            None => None,
            Some(raw) => Some(Cursor::decode(raw)?),
        };
        Ok(ListParams { limit, cursor })
    }

    /// How many rows to fetch: one more than the limit tells whether another page exists.
    pub fn fetch_limit(&self) -> i64 {
        self.limit + 1
    }
}

/// An optional query parameter: absent is `None`; empty, or a value `parse` rejects, is a
/// validation error on `name` saying `expected` (the document states every filter's format,
/// and an empty string has none of them).
pub fn query_param<T>(
    query: &HashMap<String, String>,
    name: &str,
    parse: impl FnOnce(&str) -> Option<T>,
    expected: &str,
) -> Result<Option<T>> {
    match query.get(name).map(String::as_str) {
        None => Ok(None),
        Some(raw) => parse(raw)
            .map(Some)
            .ok_or_else(|| Error::field(name, expected)),
    }
}

/// An optional UUID query parameter (`customer_id=...`).
pub fn uuid_param(query: &HashMap<String, String>, name: &str) -> Result<Option<Uuid>> {
    query_param(query, name, |s| Uuid::parse_str(s).ok(), "must be a UUID")
}

/// One page of a list.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; null on the last page.
    pub next_cursor: Option<String>,
    pub has_more: bool,
}

impl<T> Page<T> {
    /// Builds a page from up to `limit + 1` fetched rows; `cursor_of` gives the position of
    /// the last item shown.
    pub fn from_rows(mut rows: Vec<T>, limit: i64, cursor_of: impl Fn(&T) -> Cursor) -> Page<T> {
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        let has_more = rows.len() > limit;
        rows.truncate(limit);
        let next_cursor = if has_more {
            rows.last().map(|last| cursor_of(last).encode())
        } else {
            None
        };
        Page {
            items: rows,
            next_cursor,
            has_more,
        }
    }

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next_cursor: self.next_cursor,
            has_more: self.has_more,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let id = Uuid::now_v7();
        assert_eq!(
            Cursor::decode(&Cursor::After(id).encode()).unwrap(),
            Cursor::After(id)
        );
        let scored = Cursor::AfterScored(0.4123, id);
        assert_eq!(Cursor::decode(&scored.encode()).unwrap(), scored);
        assert!(Cursor::decode("not-a-cursor").is_err());
        assert!(Cursor::decode("' OR 1=1 --").is_err());
    }

    #[test]
    fn limit_must_be_between_1_and_100() {
        let q = |v: &str| HashMap::from([("limit".to_owned(), v.to_owned())]);
        assert_eq!(ListParams::from_query(&HashMap::new()).unwrap().limit, 20);
        assert_eq!(ListParams::from_query(&q("100")).unwrap().limit, 100);
        for bad in ["0", "101", "-1", "abc", "1.5"] {
            assert!(ListParams::from_query(&q(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn page_reports_more_when_an_extra_row_was_fetched() {
        let ids: Vec<Uuid> = (0..4).map(|_| Uuid::now_v7()).collect();
        let page = Page::from_rows(ids.clone(), 3, |id| Cursor::After(*id));
        assert!(page.has_more);
        assert_eq!(page.items.len(), 3);
        assert_eq!(page.next_cursor, Some(Cursor::After(ids[2]).encode()));
        let last = Page::from_rows(ids[..2].to_vec(), 3, |id| Cursor::After(*id));
        assert!(!last.has_more && last.next_cursor.is_none());
    }
}

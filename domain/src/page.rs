//! Cursor pagination. A cursor is the id of the last item of the previous page;
//! ids are v7 UUIDs, so "after this id" is stable under concurrent inserts.

use serde::Serialize;
use uuid::Uuid;

/// What a caller asks for: at most `limit` items after `after`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    pub after: Option<Uuid>,
    pub limit: u32,
}

impl PageRequest {
    pub const DEFAULT_LIMIT: u32 = 50;
    pub const MAX_LIMIT: u32 = 200;

    /// Clamp a requested limit into `1..=MAX_LIMIT`.
    pub fn new(after: Option<Uuid>, limit: Option<u32>) -> Self {
        let limit = limit.unwrap_or(Self::DEFAULT_LIMIT).clamp(1, Self::MAX_LIMIT);
        Self { after, limit }
    }

    /// Adapters fetch one more row than asked to learn whether a next page exists.
    pub fn fetch_limit(&self) -> i64 {
        i64::from(self.limit) + 1
    }
}

/// One page of results and the cursor of the next page, if any.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<Uuid>,
}

impl<T> Page<T> {
    /// The same page with each item turned into something else.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page { items: self.items.into_iter().map(f).collect(), next_cursor: self.next_cursor }
    }

    /// Build a page from up to `fetch_limit()` rows ordered by id.
    pub fn from_rows(mut rows: Vec<T>, req: PageRequest, id_of: impl Fn(&T) -> Uuid) -> Self {
        let has_more = rows.len() > req.limit as usize;
        rows.truncate(req.limit as usize);
        let next_cursor = if has_more { rows.last().map(id_of) } else { None };
        Self { items: rows, next_cursor }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_is_clamped() {
        assert_eq!(PageRequest::new(None, Some(0)).limit, 1);
        assert_eq!(PageRequest::new(None, Some(10_000)).limit, 200);
        assert_eq!(PageRequest::new(None, None).limit, 50);
    }

    #[test]
    fn next_cursor_only_when_more() {
        let req = PageRequest::new(None, Some(2));
        let ids: Vec<Uuid> = (0..3).map(|_| Uuid::now_v7()).collect();
        let page = Page::from_rows(ids.clone(), req, |u| *u);
        assert_eq!(page.items.len(), 2);
        assert_eq!(page.next_cursor, Some(ids[1]));
        let page = Page::from_rows(ids[..2].to_vec(), req, |u| *u);
        assert_eq!(page.next_cursor, None);
    }
}

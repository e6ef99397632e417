//! Streams over paged endpoints. Generated code implements [`CursorPaged`] or [`OffsetPaged`] for each paged
//! request type and adds `<method>_stream` (items) and `<method>_pages` ([`Page`] or [`OffsetPage`]) methods;
//! the walking logic lives here once.

use crate::catalog::Endpoint;
use crate::{Client, Result};
use futures_core::Stream;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::collections::VecDeque;
use std::pin::Pin;

/// A stream of items from a paged endpoint.
pub type Pages<T> = Pin<Box<dyn Stream<Item = Result<T>> + Send + 'static>>;

/// A stream of whole pages of a cursor-paged endpoint (`<method>_pages`).
pub type PageStream<R> = Pin<Box<dyn Stream<Item = Result<Page<R>>> + Send + 'static>>;

/// A stream of whole pages of an offset-paged endpoint (`<method>_pages`).
pub type OffsetPageStream<R> = Pin<Box<dyn Stream<Item = Result<OffsetPage<R>>> + Send + 'static>>;

/// One page of an offset-paged endpoint: its items, the request (with the offset) that fetched it, the offset
/// of the next page, and the endpoint's partial-failure fields. [`OffsetPage::resume`] is the request of the
/// next page: a stream started from it continues there.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct OffsetPage<R: OffsetPaged> {
    /// The request that fetched this page (its offset: [`OffsetPaged::offset`]).
    pub request: R,
    /// The page's items.
    pub items: Vec<R::Item>,
    /// The offset of the page after this one; `None` when this was the last page (empty, or shorter than the
    /// limit).
    pub next_offset: Option<u64>,
    /// The endpoint's partial-failure fields that this page set, by wire name; empty when none is set.
    pub partial: serde_json::Map<String, serde_json::Value>,
}

impl<R: OffsetPaged> OffsetPage<R> {
    /// The request that fetches the page after this one, or `None` after the last page.
    pub fn resume(&self) -> Option<R> {
        let next = self.next_offset?;
        let mut r = self.request.clone();
        r.set_offset(next);
        Some(r)
    }
}

/// One page of a cursor-paged endpoint: its items, the request (with the cursor) that produced it, the next
/// cursor, and the endpoint's partial-failure fields.
///
/// To resume a walk that stopped (a crash, an error), keep the last page's [`request`](Page::request) and
/// [`next_cursor`](Page::next_cursor): [`Page::resume`] is the request that fetches the page after it, and a
/// stream started from it continues there (a cursor set in a request resumes from it). For a request whose list
/// the stream splits into chunks (`batch/get_by_user`'s `userid_list`), the page's request holds only its
/// chunk: resume the chunk, then start the members not yet done.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Page<R: CursorPaged> {
    /// The request that fetched this page (its cursor: `None` or empty for a first page).
    pub request: R,
    /// The page's items.
    pub items: Vec<R::Item>,
    /// The cursor of the page after this one; `None` when this was the last page of its request.
    pub next_cursor: Option<String>,
    /// The endpoint's partial-failure fields that this page set (the spec's `paging.partial`, e.g.
    /// `batch/get_by_user`'s `fail_info` with `unlicensed_userid_list`), by wire name; empty when none is set.
    pub partial: serde_json::Map<String, serde_json::Value>,
}

impl<R: CursorPaged> Page<R> {
    /// The cursor that produced this page (`None` for a first page).
    pub fn cursor(&self) -> Option<&str> {
        self.request.cursor().filter(|c| !c.is_empty())
    }

    /// The request that fetches the page after this one, or `None` after the last page of its request.
    pub fn resume(&self) -> Option<R> {
        let next = self.next_cursor.clone()?;
        let mut r = self.request.clone();
        r.set_cursor(next);
        Some(r)
    }
}

/// The fields of `response` named by the endpoint's `paging.partial` that are set (not null, `""`, `[]` or `{}`).
fn partial_fields<T: Serialize>(ep: &Endpoint, response: &T) -> serde_json::Map<String, serde_json::Value> {
    let names = ep.paging.map(|p| p.partial).unwrap_or_default();
    if names.is_empty() {
        return serde_json::Map::new();
    }
    let Ok(serde_json::Value::Object(mut all)) = serde_json::to_value(response) else {
        return serde_json::Map::new();
    };
    names
        .iter()
        .filter_map(|n| all.remove(*n).map(|v| (n.to_string(), v)))
        .filter(|(_, v)| match v {
            serde_json::Value::Null => false,
            serde_json::Value::String(s) => !s.is_empty(),
            serde_json::Value::Array(a) => !a.is_empty(),
            serde_json::Value::Object(o) => !o.is_empty(),
            _ => true,
        })
        .collect()
}

/// A request of a cursor-paged endpoint.
pub trait CursorPaged: Serialize + Clone + std::fmt::Debug + Send + Sync + 'static {
    /// The response type.
    type Response: DeserializeOwned + Serialize + Send;
    /// What the stream yields.
    type Item: Clone + std::fmt::Debug + Send + 'static;
    /// The endpoint.
    const ENDPOINT: &'static Endpoint;
    /// The cursor set in this request (`None` or empty: the first page).
    fn cursor(&self) -> Option<&str>;
    /// Sets the cursor.
    fn set_cursor(&mut self, cursor: String);
    /// The items of a page and the next cursor (`None` or empty: no more pages).
    fn into_page(response: Self::Response) -> (Vec<Self::Item>, Option<String>);
    /// Splits a request whose list argument exceeds the documented cap into several requests.
    fn split(self) -> Vec<Self> {
        vec![self]
    }
}

/// A request of an offset-paged endpoint.
pub trait OffsetPaged: Serialize + Clone + std::fmt::Debug + Send + Sync + 'static {
    /// The response type.
    type Response: DeserializeOwned + Serialize + Send;
    /// What the stream yields.
    type Item: Clone + std::fmt::Debug + Send + 'static;
    /// The endpoint.
    const ENDPOINT: &'static Endpoint;
    /// The offset of this request.
    fn offset(&self) -> u64;
    /// Sets the offset.
    fn set_offset(&mut self, offset: u64);
    /// The page size, if set.
    fn limit(&self) -> Option<u64>;
    /// The items of a page.
    fn into_items(response: Self::Response) -> Vec<Self::Item>;
}

/// Splits `request` into copies whose list (reached by `field`) holds at most `max` items each.
pub fn split_list<R: Clone, T: Clone>(
    mut request: R,
    max: usize,
    field: impl Fn(&mut R) -> Option<&mut Vec<T>>,
) -> Vec<R> {
    let max = max.max(1);
    let all = match field(&mut request) {
        Some(list) if list.len() > max => std::mem::take(list),
        _ => return vec![request],
    };
    all.chunks(max)
        .map(|chunk| {
            let mut r = request.clone();
            if let Some(list) = field(&mut r) {
                *list = chunk.to_vec();
            }
            r
        })
        .collect()
}

struct CursorState<R: CursorPaged> {
    client: Client,
    pending: VecDeque<R>,
    failed: bool,
}

/// Walks every page of a cursor-paged endpoint (every chunk, when the request was split), yielding pages.
/// A cursor already set in the request resumes from there. The stream ends after an error.
pub fn cursor_pages<R: CursorPaged>(client: Client, request: R) -> PageStream<R> {
    let state = CursorState {
        client,
        pending: request.split().into(),
        failed: false,
    };
    Box::pin(futures_util::stream::unfold(state, |mut st| async move {
        if st.failed {
            return None;
        }
        let req = st.pending.pop_front()?;
        match st.client.execute::<R, R::Response>(R::ENDPOINT, &req).await {
            Ok(resp) => {
                let partial = partial_fields(R::ENDPOINT, &resp);
                let (items, next) = R::into_page(resp);
                // A server that repeats the cursor would loop forever: stop instead.
                let next = next.filter(|c| !c.is_empty() && req.cursor() != Some(c.as_str()));
                let page = Page {
                    request: req,
                    items,
                    next_cursor: next,
                    partial,
                };
                if let Some(r) = page.resume() {
                    st.pending.push_front(r);
                }
                Some((Ok(page), st))
            }
            Err(e) => {
                st.failed = true;
                Some((Err(e), st))
            }
        }
    }))
}

/// Walks every page of a cursor-paged endpoint like [`cursor_pages`], yielding the items one by one. Items
/// only: the pages' partial-failure fields (see [`Page::partial`]) and cursors are dropped; use the page
/// stream to keep them or to resume.
pub fn cursor_stream<R: CursorPaged>(client: Client, request: R) -> Pages<R::Item> {
    use futures_util::StreamExt;
    Box::pin(cursor_pages(client, request).flat_map(|page| page_items(page.map(|p| p.items))))
}

/// A page's items as a stream of results, or its error.
fn page_items<T>(items: Result<Vec<T>>) -> futures_util::stream::Iter<std::vec::IntoIter<Result<T>>> {
    let items: Vec<Result<T>> = match items {
        Ok(items) => items.into_iter().map(Ok).collect(),
        Err(e) => vec![Err(e)],
    };
    futures_util::stream::iter(items)
}

/// Walks every page of an offset-paged endpoint, yielding pages: the offset advances by the page's length, and
/// the walk stops after an empty page or one shorter than the limit. An offset already set in the request
/// resumes from there. The stream ends after an error.
pub fn offset_pages<R: OffsetPaged>(client: Client, request: R) -> OffsetPageStream<R> {
    let state = (client, Some(request));
    Box::pin(futures_util::stream::unfold(state, |(client, next)| async move {
        let req = next?;
        match client.execute::<R, R::Response>(R::ENDPOINT, &req).await {
            Ok(resp) => {
                let partial = partial_fields(R::ENDPOINT, &resp);
                let items = R::into_items(resp);
                let n = items.len() as u64;
                let full = req.limit().map_or(n > 0, |l| n >= l && n > 0);
                let next_offset = full.then(|| req.offset().saturating_add(n));
                let page = OffsetPage {
                    request: req,
                    items,
                    next_offset,
                    partial,
                };
                let next = page.resume();
                Some((Ok(page), (client, next)))
            }
            Err(e) => Some((Err(e), (client, None))),
        }
    }))
}

/// Walks every page of an offset-paged endpoint like [`offset_pages`], yielding the items one by one. Items
/// only: the pages' offsets and partial-failure fields are dropped; use the page stream to keep them or to
/// resume.
pub fn offset_stream<R: OffsetPaged>(client: Client, request: R) -> Pages<R::Item> {
    use futures_util::StreamExt;
    Box::pin(offset_pages(client, request).flat_map(|page| page_items(page.map(|p| p.items))))
}

#[cfg(test)]
mod tests {
    use super::split_list;

    #[test]
    fn splits_long_lists_only() {
        let parts = split_list((1, vec![1, 2, 3, 4, 5]), 2, |r: &mut (i32, Vec<i32>)| Some(&mut r.1));
        assert_eq!(parts, vec![(1, vec![1, 2]), (1, vec![3, 4]), (1, vec![5])]);
        let parts = split_list((1, vec![1, 2]), 2, |r: &mut (i32, Vec<i32>)| Some(&mut r.1));
        assert_eq!(parts, vec![(1, vec![1, 2])]);
        let parts = split_list((1, None::<Vec<i32>>), 2, |r: &mut (i32, Option<Vec<i32>>)| r.1.as_mut());
        assert_eq!(parts, vec![(1, None)]);
    }
}

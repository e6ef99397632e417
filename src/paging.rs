//! Streams over paged endpoints. Generated code implements [`CursorPaged`] or [`OffsetPaged`] for each paged
//! request type and adds a `<method>_stream` method; the walking logic lives here once.

use crate::catalog::Endpoint;
use crate::{Client, Result};
use futures_core::Stream;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::collections::VecDeque;
use std::pin::Pin;

/// A stream of items from a paged endpoint.
pub type Pages<T> = Pin<Box<dyn Stream<Item = Result<T>> + Send + 'static>>;

/// A request of a cursor-paged endpoint.
pub trait CursorPaged: Serialize + Clone + Send + Sync + 'static {
    /// The response type.
    type Response: DeserializeOwned + Send;
    /// What the stream yields.
    type Item: Send + 'static;
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
pub trait OffsetPaged: Serialize + Clone + Send + Sync + 'static {
    /// The response type.
    type Response: DeserializeOwned + Send;
    /// What the stream yields.
    type Item: Send + 'static;
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
    buffer: VecDeque<R::Item>,
    failed: bool,
}

/// Walks every page of a cursor-paged endpoint (every chunk, when the request was split), yielding items.
/// A cursor already set in the request resumes from there. The stream ends after an error.
pub fn cursor_stream<R: CursorPaged>(client: Client, request: R) -> Pages<R::Item> {
    let state = CursorState {
        client,
        pending: request.split().into(),
        buffer: VecDeque::new(),
        failed: false,
    };
    Box::pin(futures_util::stream::unfold(state, |mut st| async move {
        loop {
            if let Some(item) = st.buffer.pop_front() {
                return Some((Ok(item), st));
            }
            if st.failed {
                return None;
            }
            let mut req = st.pending.pop_front()?;
            match st.client.execute::<R, R::Response>(R::ENDPOINT, &req).await {
                Ok(resp) => {
                    let (items, next) = R::into_page(resp);
                    st.buffer.extend(items);
                    if let Some(next) = next.filter(|c| !c.is_empty()) {
                        // A server that repeats the cursor would loop forever: stop instead.
                        if req.cursor() != Some(next.as_str()) {
                            req.set_cursor(next);
                            st.pending.push_front(req);
                        }
                    }
                }
                Err(e) => {
                    st.failed = true;
                    return Some((Err(e), st));
                }
            }
        }
    }))
}

struct OffsetState<R: OffsetPaged> {
    client: Client,
    next: Option<R>,
    buffer: VecDeque<R::Item>,
}

/// Walks every page of an offset-paged endpoint: the offset advances by the page's length, and the walk stops
/// after an empty page or one shorter than the limit. The stream ends after an error.
pub fn offset_stream<R: OffsetPaged>(client: Client, request: R) -> Pages<R::Item> {
    let state = OffsetState {
        client,
        next: Some(request),
        buffer: VecDeque::new(),
    };
    Box::pin(futures_util::stream::unfold(state, |mut st| async move {
        loop {
            if let Some(item) = st.buffer.pop_front() {
                return Some((Ok(item), st));
            }
            let mut req = st.next.take()?;
            match st.client.execute::<R, R::Response>(R::ENDPOINT, &req).await {
                Ok(resp) => {
                    let items = R::into_items(resp);
                    let n = items.len() as u64;
                    let full = req.limit().map_or(n > 0, |l| n >= l && n > 0);
                    st.buffer.extend(items);
                    if full {
                        let off = req.offset().saturating_add(n);
                        req.set_offset(off);
                        st.next = Some(req);
                    }
                }
                Err(e) => return Some((Err(e), st)),
            }
        }
    }))
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

//! Faults and concurrency: failures and delays a test injects, the count of calls in flight, and the
//! one-call-per-value turn WeCom enforces with 45033.

use super::routes::wecom_error;
use super::{Inner, StandIn};
use crate::catalog::{self, Endpoint};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

/// A failure queued for the next call of a path.
pub(super) enum Fail {
    Api(i64, String),
    Http(u16),
}

impl StandIn {
    /// Answers the next call of `path` with an error (calling it again queues another, for the call after).
    pub fn fail_next(&self, path: &str, errcode: i64, errmsg: &str) {
        self.queue_failure(path, Fail::Api(errcode, errmsg.to_string()));
    }

    /// Answers the next call of `path` with HTTP `status` and no WeCom body (e.g. 503 from a gateway).
    pub fn fail_next_http(&self, path: &str, status: u16) {
        self.queue_failure(path, Fail::Http(status));
    }

    fn queue_failure(&self, path: &str, fail: Fail) {
        self.lock()
            .fail_next
            .entry(catalog::normalize(path).to_string())
            .or_default()
            .push_back(fail);
    }

    /// Holds every answer of `path` for `delay` (to make concurrency visible in tests).
    pub fn delay_responses(&self, path: &str, delay: Duration) {
        self.lock().delays.insert(catalog::normalize(path).to_string(), delay);
    }

    /// The most calls of `path` it was answering at the same time.
    pub fn max_in_flight(&self, path: &str) -> usize {
        self.lock()
            .in_flight
            .get(catalog::normalize(path))
            .map_or(0, |(_, max)| *max)
    }
}

/// The injected faults of a call of `path`: waits out its delay, then answers with its queued failure if
/// there is one. `None`: answer normally.
pub(super) async fn injected(inner: &Inner, path: &str) -> Option<Response> {
    let delay = inner.lock().delays.get(path).copied();
    if let Some(d) = delay {
        crate::clock::sleep(d).await;
    }
    let fail = inner.lock().fail_next.get_mut(path).and_then(|q| q.pop_front());
    match fail? {
        Fail::Api(code, msg) => Some(wecom_error(code, &msg)),
        Fail::Http(status) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
            Some((status, "stand-in gateway failure").into_response())
        }
    }
}

/// Another call with the same value is being answered.
pub(super) struct ConcurrentCall;

/// A call holding its value of the endpoint's `one_at_a_time_per` field while it is answered.
pub(super) struct Busy {
    inner: Arc<Inner>,
    key: (String, String),
}

impl Busy {
    /// Marks the request's value busy, or refuses it with WeCom's 45033 when another call of the endpoint
    /// with the same value is being answered (e.g. two tag edits of one customer).
    pub(super) fn take(
        inner: &Arc<Inner>,
        ep: &Endpoint,
        query: &[(String, String)],
        json: Option<&Value>,
    ) -> Result<Option<Busy>, ConcurrentCall> {
        let Some(field) = ep.one_at_a_time_per else {
            return Ok(None);
        };
        let value = match query.iter().find(|(k, _)| k == field) {
            Some((_, v)) => Some(v.clone()),
            None => json
                .and_then(|j| j.get(field))
                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string)),
        };
        let Some(value) = value else {
            return Ok(None);
        };
        let key = (ep.path.to_string(), value);
        if !inner.lock().busy_values.insert(key.clone()) {
            return Err(ConcurrentCall);
        }
        Ok(Some(Busy {
            inner: inner.clone(),
            key,
        }))
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.inner.lock().busy_values.remove(&self.key);
    }
}

/// Counts a call of a path as in flight until dropped.
pub(super) struct InFlight {
    inner: Arc<Inner>,
    path: String,
}

impl InFlight {
    pub(super) fn enter(inner: &Arc<Inner>, path: &str) -> InFlight {
        let mut s = inner.lock();
        let e = s.in_flight.entry(path.to_string()).or_insert((0, 0));
        e.0 += 1;
        e.1 = e.1.max(e.0);
        InFlight {
            inner: inner.clone(),
            path: path.to_string(),
        }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if let Some(e) = self.inner.lock().in_flight.get_mut(&self.path) {
            e.0 = e.0.saturating_sub(1);
        }
    }
}

//! The request log: what the stand-in received, the newest first to go, and its redaction in `Debug`.

use super::{Inner, StandIn};
use crate::catalog;
use serde_json::Value;
use std::sync::atomic::Ordering;

/// How many requests a stand-in records unless told otherwise ([`StandIn::set_request_log_limit`]).
pub const DEFAULT_REQUEST_LOG_LIMIT: usize = 10_000;

/// One request the stand-in received. `Debug` leaves out credentials: the values of the query parameters
/// and JSON fields (at any depth) that the spec marks secret ([`catalog::secret_fields`]: `corpsecret`,
/// `suite_ticket`, `permanent_code`, …) read `[redacted]`, and the raw body shows only its length.
#[derive(Clone, PartialEq)]
#[non_exhaustive]
pub struct RecordedRequest {
    /// `GET` or `POST`.
    pub method: String,
    /// The path under `/cgi-bin/`.
    pub path: String,
    /// Query parameters other than the token (`access_token`, `suite_access_token`, `provider_access_token`), in order.
    pub query: Vec<(String, String)>,
    /// The JSON body, if it was JSON.
    pub json: Option<Value>,
    /// The raw body.
    pub body: Vec<u8>,
    /// The `content-type` header.
    pub content_type: Option<String>,
    /// When it arrived, in unix milliseconds ([`crate::clock::unix_millis`]): tests of several processes
    /// compare it with times those processes report (e.g. when a 45009 hold ends).
    pub received_ms: u64,
}

/// `value` with the credentials in it replaced by `[redacted]`.
fn redacted_json(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let v = if catalog::secret_fields().contains(&k.as_str()) {
                        Value::String("[redacted]".into())
                    } else {
                        redacted_json(v)
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(redacted_json).collect()),
        other => other.clone(),
    }
}

impl std::fmt::Debug for RecordedRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let query: Vec<(&str, &str)> = self
            .query
            .iter()
            .map(|(k, v)| {
                let secret = catalog::secret_fields().contains(&k.as_str());
                (k.as_str(), if secret { "[redacted]" } else { v.as_str() })
            })
            .collect();
        f.debug_struct("RecordedRequest")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("query", &query)
            .field("json", &self.json.as_ref().map(redacted_json))
            .field("body", &format_args!("<{} bytes>", self.body.len()))
            .field("content_type", &self.content_type)
            .field("received_ms", &self.received_ms)
            .finish()
    }
}

impl Inner {
    /// Records the request `request` builds, dropping the oldest beyond the log's limit (with a limit of 0
    /// it builds nothing).
    pub(super) fn record(&self, request: impl FnOnce() -> RecordedRequest) {
        let limit = self.request_log_limit.load(Ordering::Relaxed);
        if limit == 0 {
            return;
        }
        let request = request();
        let mut s = self.lock();
        while s.requests.len() >= limit {
            s.requests.pop_front();
        }
        s.requests.push_back(request);
    }
}

impl StandIn {
    /// The requests received so far (gettoken included), oldest first: the newest
    /// [`DEFAULT_REQUEST_LOG_LIMIT`] of them, or as many as [`set_request_log_limit`](Self::set_request_log_limit) says.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.lock().requests.iter().cloned().collect()
    }

    /// Keeps only the newest `limit` requests from now on (0: records none), so a long-running stand-in
    /// (a load test, `wecom standin`) does not grow without bound. Requests already recorded beyond the
    /// limit are forgotten, oldest first.
    pub fn set_request_log_limit(&self, limit: usize) {
        self.inner.request_log_limit.store(limit, Ordering::Relaxed);
        let mut s = self.lock();
        let excess = s.requests.len().saturating_sub(limit);
        s.requests.drain(..excess);
    }

    /// Forgets the recorded requests.
    pub fn clear_requests(&self) {
        self.lock().requests.clear();
    }
}

//! An embedded local stand-in for WeCom: a loopback HTTP server that answers `gettoken` and every catalogued
//! endpoint with the spec's official example response. It checks the token the way WeCom does (41001
//! missing, 40014 invalid, 42001 expired), rejects a request that does not fit the endpoint's typed model with
//! WeCom's error shape (errcode 40058), answers 45033 to a call made while another with the same value of the
//! endpoint's `one_at_a_time_per` field is being answered (two tag edits of one customer), pages cursor- and
//! offset-paged endpoints over three pages, and records the latest requests (10,000 by default, see
//! [`StandIn::set_request_log_limit`]) so tests can assert on the method, path, query and body. Everything it
//! knows comes from the generated catalog: a spec edit is a stand-in edit.
//!
//! It also plays WeCom for a third-party suite ([`SuiteConfig`]): `service/get_suite_token` checks the suite
//! id, secret and the last pushed ticket (40083, 40080, 40085); `service/get_corp_token` checks the suite
//! token and each authorized corp's permanent code (40084); `service/get_provider_token` checks the provider
//! secret. A suite token is refused where an access_token is required (40014), a corp token where a suite
//! token is (40082), an expired suite token with 42009, and a request with one corp's token naming another
//! corp's member with 60111.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! let standin = wecom_externalcontact::standin::StandIn::start().await?;
//! let client = standin.client();
//! # Ok(()) }
//! ```

use crate::catalog::{self, Endpoint, HttpMethod, PagingStyle, TokenKind};
use crate::Client;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

/// How the stand-in behaves. `Debug` leaves out the secret.
#[derive(Clone)]
pub struct StandInConfig {
    /// The third-party suite, its authorized corps and the provider it plays WeCom for.
    pub suite: SuiteConfig,
    /// The corp id it accepts.
    pub corp_id: String,
    /// The secret it accepts.
    pub secret: String,
    /// `expires_in` it reports for tokens.
    pub token_ttl_secs: u64,
    /// How many pages paged endpoints have.
    pub pages: usize,
    /// A delay before answering `gettoken` (to make concurrency visible in tests).
    pub gettoken_delay: Duration,
    /// Tokens of other kinds it accepts (`suite_access_token`, `provider_access_token`).
    pub extra_tokens: BTreeMap<String, TokenKind>,
    /// A data set of members and customers to answer the customer endpoints from, instead of the examples.
    pub customers: Option<CustomerData>,
}

impl std::fmt::Debug for StandInConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StandInConfig")
            .field("suite", &self.suite)
            .field("corp_id", &self.corp_id)
            .field("secret", &"[redacted]")
            .field("token_ttl_secs", &self.token_ttl_secs)
            .field("pages", &self.pages)
            .field("gettoken_delay", &self.gettoken_delay)
            .field("customers", &self.customers.as_ref().map(CustomerData::customer_count))
            .finish_non_exhaustive()
    }
}

impl Default for StandInConfig {
    fn default() -> Self {
        StandInConfig {
            suite: SuiteConfig::default(),
            corp_id: "standin-corp".into(),
            secret: "standin-secret".into(),
            token_ttl_secs: 7200,
            pages: 3,
            gettoken_delay: Duration::ZERO,
            extra_tokens: BTreeMap::new(),
            customers: None,
        }
    }
}

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
            .finish()
    }
}

#[derive(Default)]
struct Shared {
    /// Third-party suites: see the end of this file.
    suite: SuiteState,
    issued: Vec<String>,
    valid: BTreeSet<String>,
    expired: BTreeSet<String>,
    gettoken_count: usize,
    requests: VecDeque<RecordedRequest>,
    overrides: BTreeMap<String, Arc<Value>>,
    fail_next: BTreeMap<String, VecDeque<Fail>>,
    delays: BTreeMap<String, Duration>,
    in_flight: BTreeMap<String, (usize, usize)>,
    /// (path, value of its `one_at_a_time_per` field) of the calls being answered.
    busy_values: BTreeSet<(String, String)>,
}

struct Inner {
    config: StandInConfig,
    shared: Mutex<Shared>,
    /// How many requests [`StandIn::requests`] keeps (the newest).
    request_log_limit: AtomicUsize,
}

/// How many requests a stand-in records unless told otherwise ([`StandIn::set_request_log_limit`]).
pub const DEFAULT_REQUEST_LOG_LIMIT: usize = 10_000;

/// Each catalogued endpoint's example response, parsed once per process.
fn examples() -> &'static HashMap<&'static str, Value> {
    static EXAMPLES: OnceLock<HashMap<&'static str, Value>> = OnceLock::new();
    EXAMPLES.get_or_init(|| {
        catalog::endpoints()
            .iter()
            .filter_map(|ep| Some((ep.path, serde_json::from_str(ep.example_response?).ok()?)))
            .collect()
    })
}

/// A running stand-in. It stops when dropped.
pub struct StandIn {
    addr: SocketAddr,
    inner: Arc<Inner>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl std::fmt::Debug for StandIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StandIn")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

impl StandIn {
    /// Starts a stand-in on `127.0.0.1` with a free port and the default configuration.
    pub async fn start() -> std::io::Result<StandIn> {
        Self::start_with(StandInConfig::default()).await
    }

    /// Starts a stand-in with `config`.
    pub async fn start_with(config: StandInConfig) -> std::io::Result<StandIn> {
        Self::start_on(config, 0).await
    }

    /// Starts a stand-in with `config` on `127.0.0.1:port` (0: a free port).
    pub async fn start_on(config: StandInConfig, port: u16) -> std::io::Result<StandIn> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        let addr = listener.local_addr()?;
        let inner = Arc::new(Inner {
            config,
            shared: Mutex::new(Shared::default()),
            request_log_limit: AtomicUsize::new(DEFAULT_REQUEST_LOG_LIMIT),
        });
        let app = axum::Router::new().fallback(handle).with_state(inner.clone());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = rx.await;
                })
                .await;
        });
        Ok(StandIn {
            addr,
            inner,
            shutdown: Some(tx),
        })
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The corp id it accepts.
    pub fn corp_id(&self) -> &str {
        &self.inner.config.corp_id
    }

    /// The secret it accepts.
    pub fn secret(&self) -> &str {
        &self.inner.config.secret
    }

    /// A client configured for this stand-in.
    pub fn client(&self) -> Client {
        Client::builder()
            .corp_id(self.corp_id())
            .secret(self.secret())
            .base_url(self.base_url())
            .build()
            .expect("a stand-in client configuration is always valid")
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Shared> {
        self.inner.shared.lock().unwrap_or_else(|p| p.into_inner())
    }

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

    /// How many times `gettoken` was answered.
    pub fn gettoken_count(&self) -> usize {
        self.lock().gettoken_count
    }

    /// Marks every token issued so far as expired: the next call with one gets errcode 42001.
    pub fn expire_tokens(&self) {
        let mut s = self.lock();
        let v: Vec<String> = s.valid.iter().cloned().collect();
        for t in v {
            s.valid.remove(&t);
            s.expired.insert(t);
        }
    }

    /// Answers `path` with `response` instead of the spec's example from now on.
    pub fn set_response(&self, path: &str, response: Value) {
        self.lock()
            .overrides
            .insert(catalog::normalize(path).to_string(), Arc::new(response));
    }

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

enum Fail {
    Api(i64, String),
    Http(u16),
}

/// Another call with the same value is being answered.
struct ConcurrentCall;

/// A call holding its value of the endpoint's `one_at_a_time_per` field while it is answered.
struct Busy {
    inner: Arc<Inner>,
    key: (String, String),
}

impl Busy {
    /// Marks the request's value busy, or refuses it with WeCom's 45033 when another call of the endpoint
    /// with the same value is being answered (e.g. two tag edits of one customer).
    fn take(
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
        let mut s = inner.shared.lock().unwrap_or_else(|p| p.into_inner());
        if !s.busy_values.insert(key.clone()) {
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
        let mut s = self.inner.shared.lock().unwrap_or_else(|p| p.into_inner());
        s.busy_values.remove(&self.key);
    }
}

/// Counts a call of a path as in flight until dropped.
struct InFlight {
    inner: Arc<Inner>,
    path: String,
}

impl InFlight {
    fn enter(inner: &Arc<Inner>, path: &str) -> InFlight {
        let mut s = inner.shared.lock().unwrap_or_else(|p| p.into_inner());
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
        let mut s = self.inner.shared.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(e) = s.in_flight.get_mut(&self.path) {
            e.0 = e.0.saturating_sub(1);
        }
    }
}

fn wecom_error(errcode: i64, errmsg: &str) -> Response {
    (
        StatusCode::OK,
        axum::Json(json!({ "errcode": errcode, "errmsg": errmsg })),
    )
        .into_response()
}

fn parse_query(q: Option<&str>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(q.unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

async fn handle(
    State(inner): State<Arc<Inner>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(path) = uri.path().strip_prefix("/cgi-bin/") else {
        return (StatusCode::NOT_FOUND, "not a /cgi-bin/ path").into_response();
    };
    let path = path.to_string();
    let query = parse_query(uri.query());
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let json_body = serde_json::from_slice::<Value>(&body).ok();
    let is_token = |k: &str| catalog::TOKEN_QUERY_PARAMS.contains(&k);
    let is_credential = |k: &str| is_token(k) || catalog::SECRET_QUERY_PARAMS.contains(&k);
    let limit = inner.request_log_limit.load(Ordering::Relaxed);
    if limit > 0 {
        let record = RecordedRequest {
            method: method.as_str().to_string(),
            path: path.clone(),
            query: query.iter().filter(|(k, _)| !is_token(k)).cloned().collect(),
            json: json_body.clone(),
            body: body.to_vec(),
            content_type: content_type.clone(),
        };
        let mut s = inner.shared.lock().unwrap_or_else(|p| p.into_inner());
        while s.requests.len() >= limit {
            s.requests.pop_front();
        }
        s.requests.push_back(record);
    }

    if path == "gettoken" {
        return gettoken(&inner, &query).await;
    }
    if let Some(resp) = suite_token_endpoint(&inner, &path, &query, json_body.as_ref()).await {
        return resp;
    }
    let Some(ep) = catalog::endpoint(&path) else {
        return (StatusCode::NOT_FOUND, "no such endpoint in the catalog").into_response();
    };
    if method.as_str() != ep.method.as_str() {
        return (
            StatusCode::METHOD_NOT_ALLOWED,
            format!("{} takes {}", ep.path, ep.method),
        )
            .into_response();
    }
    if let Some(resp) = check_token(&inner, ep, &query) {
        return resp;
    }
    let Ok(_busy) = Busy::take(&inner, ep, &query, json_body.as_ref()) else {
        return wecom_error(45033, "api concurrent out of limit");
    };
    let _in_flight = InFlight::enter(&inner, &path);
    let delay = inner
        .shared
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .delays
        .get(&path)
        .copied();
    if let Some(d) = delay {
        crate::clock::sleep(d).await;
    }
    let fail = inner
        .shared
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .fail_next
        .get_mut(&path)
        .and_then(|q| q.pop_front());
    match fail {
        Some(Fail::Api(code, msg)) => return wecom_error(code, &msg),
        Some(Fail::Http(status)) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
            return (status, "stand-in gateway failure").into_response();
        }
        None => {}
    }
    if let Some(resp) = corp_scoped_answer(&inner, ep, &query, json_body.as_ref()) {
        return resp;
    }

    // The request as the typed model sees it.
    let request: Value = if ep.method == HttpMethod::Get || ep.upload.is_some() {
        Value::Object(
            query
                .iter()
                .filter(|(k, _)| !is_credential(k))
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect(),
        )
    } else {
        match json_body {
            Some(v) => v,
            None => return wecom_error(47001, "data format error: the body is not JSON"),
        }
    };
    if let Some(part) = ep.upload {
        let ok = content_type
            .as_deref()
            .is_some_and(|c| c.starts_with("multipart/form-data"))
            && String::from_utf8_lossy(&body).contains(&format!("name=\"{part}\""));
        if !ok {
            return wecom_error(40005, &format!("invalid multipart: expected a part named {part}"));
        }
    }
    if let Some(validate) = catalog::request_validator(&path) {
        if let Err(m) = validate(&request) {
            return wecom_error(40058, &format!("invalid parameter: {m}"));
        }
    }
    if let Some(answer) = inner.config.customers.as_ref().and_then(|d| d.answer(&path, &request)) {
        return answer;
    }
    let over = inner
        .shared
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .overrides
        .get(&path)
        .cloned();
    let ok = json!({ "errcode": 0, "errmsg": "ok" });
    let base: &Value = over.as_deref().or_else(|| examples().get(ep.path)).unwrap_or(&ok);
    match (ep.paging, base) {
        (Some(p), Value::Object(map)) => match p.style {
            // The cursor is the one field that changes: the answer is written from the shared copy.
            PagingStyle::Cursor => {
                let next = p
                    .next
                    .map(|key| (key, Value::String(next_cursor(&inner.config, p, &request))));
                (StatusCode::OK, axum::Json(WithField { map, field: next })).into_response()
            }
            PagingStyle::Offset => {
                let mut map = map.clone();
                offset_page(&inner.config, p, &request, &mut map);
                (StatusCode::OK, axum::Json(map)).into_response()
            }
        },
        _ => (StatusCode::OK, axum::Json(base)).into_response(),
    }
}

/// A JSON object written with one field set (replaced where the object has it, else added at the end).
struct WithField<'a> {
    map: &'a Map<String, Value>,
    field: Option<(&'a str, Value)>,
}

impl serde::Serialize for WithField<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let Some((key, value)) = &self.field else {
            return self.map.serialize(serializer);
        };
        let mut out = serializer.serialize_map(None)?;
        for (k, v) in self.map {
            out.serialize_entry(k, if k == key { value } else { v })?;
        }
        if !self.map.contains_key(*key) {
            out.serialize_entry(key, value)?;
        }
        out.end()
    }
}

/// The `next_cursor` of a cursor-paged answer to `request`: the next page's, or empty on the last page.
fn next_cursor(config: &StandInConfig, p: catalog::Paging, request: &Value) -> String {
    let pages = config.pages.max(1);
    let cursor = request.get(p.cursor).and_then(Value::as_str).unwrap_or("");
    let index: usize = cursor
        .strip_prefix("standin-cursor-")
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    if index + 1 < pages {
        format!("standin-cursor-{}", index + 1)
    } else {
        String::new()
    }
}

/// An offset-paged answer to `request`: the example's items repeated to fill the page (a full page before the
/// last, half a page on it, none after).
fn offset_page(config: &StandInConfig, p: catalog::Paging, request: &Value, map: &mut Map<String, Value>) {
    let pages = config.pages.max(1);
    let num = |k: Option<&str>| {
        k.and_then(|k| request.get(k))
            .and_then(|v| v.as_u64().or_else(|| v.as_str().and_then(|s| s.parse().ok())))
    };
    let offset = num(Some(p.cursor)).unwrap_or(0);
    let limit = num(p.limit).unwrap_or(10).max(1);
    let index = usize::try_from(offset / limit).unwrap_or(usize::MAX);
    let want = if index + 1 < pages {
        limit as usize
    } else if index + 1 == pages {
        (limit as usize) / 2
    } else {
        0
    };
    let sample = map.get(p.items).and_then(Value::as_array).cloned().unwrap_or_default();
    let items: Vec<Value> = if sample.is_empty() {
        Vec::new()
    } else {
        sample.iter().cycle().take(want).cloned().collect()
    };
    map.insert(p.items.to_string(), Value::Array(items));
}

// ---------------------------------------------------------------------------------------------------------
// Third-party suites (issue 8): suite tokens from the suite id, secret and the last ticket, authorized corps'
// tokens from their permanent codes, provider tokens; per-corp answers and WeCom's errcodes for wrong tokens.

/// One corp that has authorized the stand-in's suite.
#[derive(Clone)]
pub struct AuthorizedCorp {
    /// The corp's id (`auth_corpid`).
    pub corp_id: String,
    /// Its permanent code (what `service/get_corp_token` must carry).
    pub permanent_code: String,
    /// Its members with 客户联系 (what `externalcontact/get_follow_user_list` answers with this corp's
    /// token); a request with this corp's token naming another corp's member gets errcode 60111.
    pub follow_users: Vec<String>,
}

impl AuthorizedCorp {
    /// A corp with its permanent code and members.
    pub fn new(corp_id: &str, permanent_code: &str, follow_users: &[&str]) -> Self {
        AuthorizedCorp {
            corp_id: corp_id.into(),
            permanent_code: permanent_code.into(),
            follow_users: follow_users.iter().map(|u| u.to_string()).collect(),
        }
    }
}

impl std::fmt::Debug for AuthorizedCorp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthorizedCorp")
            .field("corp_id", &self.corp_id)
            .field("permanent_code", &"[redacted]")
            .field("follow_users", &self.follow_users)
            .finish()
    }
}

/// The third-party suite the stand-in plays WeCom for. `Debug` leaves out the secrets, the ticket and the
/// permanent codes.
#[derive(Clone)]
pub struct SuiteConfig {
    /// The suite id `service/get_suite_token` must carry.
    pub suite_id: String,
    /// The suite secret it must carry.
    pub suite_secret: String,
    /// The ticket WeCom last pushed; `service/get_suite_token` must carry this one (see
    /// [`StandIn::push_suite_ticket`]).
    pub suite_ticket: String,
    /// The corps that authorized the suite.
    pub corps: Vec<AuthorizedCorp>,
    /// The provider's corp id (`service/get_provider_token`).
    pub provider_corp_id: String,
    /// The provider secret.
    pub provider_secret: String,
}

impl Default for SuiteConfig {
    fn default() -> Self {
        SuiteConfig {
            suite_id: "wwstandinsuite".into(),
            suite_secret: "standin-suite-secret".into(),
            suite_ticket: "standin-suite-ticket-1".into(),
            corps: vec![
                AuthorizedCorp::new("wwcorpa", "standin-permanent-code-a", &["a-zhangsan", "a-lisi"]),
                AuthorizedCorp::new("wwcorpb", "standin-permanent-code-b", &["b-wangwu"]),
                AuthorizedCorp::new(
                    "wwcorpc",
                    "standin-permanent-code-c",
                    &["c-zhaoliu", "c-sunqi", "c-zhouba"],
                ),
            ],
            provider_corp_id: "wwstandinprovider".into(),
            provider_secret: "standin-provider-secret".into(),
        }
    }
}

impl std::fmt::Debug for SuiteConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SuiteConfig")
            .field("suite_id", &self.suite_id)
            .field("suite_secret", &"[redacted]")
            .field("suite_ticket", &"[redacted]")
            .field("corps", &self.corps)
            .field("provider_corp_id", &self.provider_corp_id)
            .field("provider_secret", &"[redacted]")
            .finish()
    }
}

#[derive(Default)]
struct SuiteState {
    /// A ticket pushed since the start (replaces the configured one).
    ticket: Option<String>,
    suite_tokens: BTreeSet<String>,
    expired_suite_tokens: BTreeSet<String>,
    /// Corp tokens and their corp.
    corp_tokens: BTreeMap<String, String>,
    expired_corp_tokens: BTreeMap<String, String>,
    provider_tokens: BTreeSet<String>,
    suite_token_count: usize,
    corp_token_counts: BTreeMap<String, usize>,
    provider_token_count: usize,
    /// (corp, path) of every call made with a corp token.
    corp_calls: Vec<(String, String)>,
}

impl StandIn {
    /// WeCom pushes a new `suite_ticket`: from now on `service/get_suite_token` accepts only this one.
    pub fn push_suite_ticket(&self, ticket: &str) {
        self.lock().suite.ticket = Some(ticket.to_string());
    }

    /// The ticket `service/get_suite_token` accepts now (what a `suite_ticket` callback would carry).
    pub fn suite_ticket(&self) -> String {
        let s = self.lock();
        s.suite
            .ticket
            .clone()
            .unwrap_or_else(|| self.inner.config.suite.suite_ticket.clone())
    }

    /// The suite configuration.
    pub fn suite_config(&self) -> &SuiteConfig {
        &self.inner.config.suite
    }

    /// How many suite tokens `service/get_suite_token` issued.
    pub fn suite_token_count(&self) -> usize {
        self.lock().suite.suite_token_count
    }

    /// How many tokens `service/get_corp_token` issued for `corp_id`.
    pub fn corp_token_count(&self, corp_id: &str) -> usize {
        self.lock().suite.corp_token_counts.get(corp_id).copied().unwrap_or(0)
    }

    /// How many tokens `service/get_corp_token` issued in all.
    pub fn corp_token_total(&self) -> usize {
        self.lock().suite.corp_token_counts.values().sum()
    }

    /// How many provider tokens `service/get_provider_token` issued.
    pub fn provider_token_count(&self) -> usize {
        self.lock().suite.provider_token_count
    }

    /// Marks every suite token issued so far as expired: the next call with one gets errcode 42009.
    pub fn expire_suite_tokens(&self) {
        let mut s = self.lock();
        let tokens = std::mem::take(&mut s.suite.suite_tokens);
        s.suite.expired_suite_tokens.extend(tokens);
    }

    /// Marks every authorized-corp token issued so far as expired: the next call with one gets errcode 42001.
    pub fn expire_corp_tokens(&self) {
        let mut s = self.lock();
        let tokens = std::mem::take(&mut s.suite.corp_tokens);
        s.suite.expired_corp_tokens.extend(tokens);
    }

    /// `(corp id, path)` of every call that carried an authorized corp's token, oldest first.
    pub fn corp_calls(&self) -> Vec<(String, String)> {
        self.lock().suite.corp_calls.clone()
    }
}

/// `Some(None)`: a token the stand-in issued through the suite endpoints, good for this endpoint;
/// `Some(Some(error))`: one of those, refused with WeCom's errcode; `None`: not one of those.
fn check_issued_suite_token(inner: &Inner, wants: TokenKind, token: &str) -> Option<Option<Response>> {
    let s = inner.shared.lock().unwrap_or_else(|p| p.into_inner());
    let st = &s.suite;
    let found = if st.suite_tokens.contains(token) {
        (TokenKind::Suite, true)
    } else if st.expired_suite_tokens.contains(token) {
        (TokenKind::Suite, false)
    } else if st.corp_tokens.contains_key(token) {
        (TokenKind::Access, true)
    } else if st.expired_corp_tokens.contains_key(token) {
        (TokenKind::Access, false)
    } else if st.provider_tokens.contains(token) {
        (TokenKind::Provider, true)
    } else {
        return None;
    };
    Some(match (wants, found) {
        (TokenKind::Suite, (TokenKind::Suite, true))
        | (TokenKind::Access, (TokenKind::Access, true))
        | (TokenKind::Provider, (TokenKind::Provider, true)) => None,
        (TokenKind::Suite, (TokenKind::Suite, false)) => Some(wecom_error(42009, "suite_access_token expired")),
        (TokenKind::Access, (TokenKind::Access, false)) => Some(wecom_error(42001, "access_token expired")),
        // A suite or provider token where a corp's access_token is required, and the other way round.
        (TokenKind::Access, _) => Some(wecom_error(40014, "invalid access_token")),
        (TokenKind::Suite, _) => Some(wecom_error(40082, "invalid suite_access_token")),
        _ => Some(wecom_error(40014, "invalid provider_access_token")),
    })
}

/// `service/get_suite_token`, `service/get_corp_token` and `service/get_provider_token`: check the
/// credentials and issue tokens. `None` for every other path.
async fn suite_token_endpoint(
    inner: &Inner,
    path: &str,
    query: &[(String, String)],
    body: Option<&Value>,
) -> Option<Response> {
    if !matches!(
        path,
        "service/get_suite_token" | "service/get_corp_token" | "service/get_provider_token"
    ) {
        return None;
    }
    let field = |k: &str| body.and_then(|b| b.get(k)).and_then(Value::as_str).unwrap_or("");
    let config = &inner.config.suite;
    let ttl = inner.config.token_ttl_secs;
    let delay = inner.config.gettoken_delay;
    let resp = match path {
        "service/get_suite_token" => {
            if field("suite_id") != config.suite_id {
                return Some(wecom_error(40083, "invalid suite_id"));
            }
            if field("suite_secret") != config.suite_secret {
                return Some(wecom_error(40080, "invalid suite_secret"));
            }
            let current = inner
                .shared
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .suite
                .ticket
                .clone();
            if field("suite_ticket") != current.as_deref().unwrap_or(&config.suite_ticket) {
                return Some(wecom_error(40085, "invalid suite_ticket"));
            }
            sleep(delay).await;
            let mut s = inner.shared.lock().unwrap_or_else(|p| p.into_inner());
            s.suite.suite_token_count += 1;
            let token = format!("standin-suite-token-{}", s.suite.suite_token_count);
            s.suite.suite_tokens.insert(token.clone());
            json!({ "suite_access_token": token, "expires_in": ttl })
        }
        "service/get_corp_token" => {
            let ep = catalog::endpoint(path)?;
            if let Some(refused) = check_token(inner, ep, query) {
                return Some(refused);
            }
            let corp_id = field("auth_corpid");
            let Some(corp) = config.corps.iter().find(|c| c.corp_id == corp_id) else {
                return Some(wecom_error(40013, "invalid auth_corpid: not authorized"));
            };
            if field("permanent_code") != corp.permanent_code {
                return Some(wecom_error(40084, "invalid permanent_code"));
            }
            sleep(delay).await;
            let mut s = inner.shared.lock().unwrap_or_else(|p| p.into_inner());
            let n = s.suite.corp_token_counts.entry(corp_id.to_string()).or_insert(0);
            *n += 1;
            let token = format!("standin-corp-token-{corp_id}-{n}");
            s.suite.corp_tokens.insert(token.clone(), corp_id.to_string());
            json!({ "errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": ttl })
        }
        _ => {
            if field("corpid") != config.provider_corp_id {
                return Some(wecom_error(40013, "invalid corpid"));
            }
            if field("provider_secret") != config.provider_secret {
                return Some(wecom_error(40001, "invalid provider_secret"));
            }
            sleep(delay).await;
            let mut s = inner.shared.lock().unwrap_or_else(|p| p.into_inner());
            s.suite.provider_token_count += 1;
            let token = format!("standin-provider-token-{}", s.suite.provider_token_count);
            s.suite.provider_tokens.insert(token.clone());
            json!({ "errcode": 0, "errmsg": "ok", "provider_access_token": token, "expires_in": ttl })
        }
    };
    Some((StatusCode::OK, axum::Json(resp)).into_response())
}

async fn sleep(delay: Duration) {
    if !delay.is_zero() {
        crate::clock::sleep(delay).await;
    }
}

/// Calls made with an authorized corp's token: recorded per corp; a member of another corp named in the
/// request (`userid`, `userid_list`) is refused with 60111; `get_follow_user_list` answers the corp's own
/// members. `None` for anything else.
fn corp_scoped_answer(
    inner: &Inner,
    ep: &Endpoint,
    query: &[(String, String)],
    body: Option<&Value>,
) -> Option<Response> {
    let name = ep.token.query_name()?;
    let token = query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())?;
    let corp_id = {
        let mut s = inner.shared.lock().unwrap_or_else(|p| p.into_inner());
        let corp_id = s.suite.corp_tokens.get(token)?.clone();
        s.suite.corp_calls.push((corp_id.clone(), ep.path.to_string()));
        corp_id
    };
    let corps = &inner.config.suite.corps;
    let own = corps.iter().find(|c| c.corp_id == corp_id)?;
    let mut named: Vec<&str> = query
        .iter()
        .filter(|(k, _)| k == "userid")
        .map(|(_, v)| v.as_str())
        .collect();
    if let Some(b) = body {
        named.extend(b.get("userid").and_then(Value::as_str));
        if let Some(list) = b.get("userid_list").and_then(Value::as_array) {
            named.extend(list.iter().filter_map(Value::as_str));
        }
    }
    let foreign = |u: &str| {
        !own.follow_users.iter().any(|m| m == u)
            && corps
                .iter()
                .any(|c| c.corp_id != corp_id && c.follow_users.iter().any(|m| m == u))
    };
    if named.iter().any(|u| foreign(u)) {
        return Some(wecom_error(60111, "invalid userid: not a member of this corp"));
    }
    if ep.path == "externalcontact/get_follow_user_list" {
        let answer = json!({ "errcode": 0, "errmsg": "ok", "follow_user": own.follow_users });
        return Some((StatusCode::OK, axum::Json(answer)).into_response());
    }
    None
}

#[cfg(feature = "service")]
impl StandIn {
    /// A [`SuiteTokenProvider`](crate::token::SuiteTokenProvider) for the stand-in's suite, pointed at the
    /// stand-in, with no ticket yet (hand it [`suite_ticket`](Self::suite_ticket) as a callback would).
    pub fn suite_token_provider(&self) -> crate::token::SuiteTokenProvider {
        let suite = &self.inner.config.suite;
        crate::token::SuiteTokenProvider::new(suite.suite_id.clone(), suite.suite_secret.as_str())
            .base_url(self.base_url())
    }

    /// A [`ProviderTokenProvider`](crate::token::ProviderTokenProvider) for the stand-in's provider.
    pub fn provider_token_provider(&self) -> crate::token::ProviderTokenProvider {
        let suite = &self.inner.config.suite;
        crate::token::ProviderTokenProvider::new(suite.provider_corp_id.clone(), suite.provider_secret.as_str())
            .base_url(self.base_url())
    }
}

fn check_token(inner: &Inner, ep: &Endpoint, query: &[(String, String)]) -> Option<Response> {
    let name = ep.token.query_name()?;
    let Some((_, token)) = query.iter().find(|(k, _)| k == name) else {
        return Some(wecom_error(41001, &format!("{name} missing")));
    };
    if let Some(kind) = inner.config.extra_tokens.get(token) {
        return (*kind != ep.token).then(|| wecom_error(40014, &format!("invalid {name}")));
    }
    if let Some(verdict) = check_issued_suite_token(inner, ep.token, token) {
        return verdict;
    }
    if ep.token != TokenKind::Access {
        return Some(wecom_error(40082, &format!("invalid {name}")));
    }
    let s = inner.shared.lock().unwrap_or_else(|p| p.into_inner());
    if s.valid.contains(token) {
        None
    } else if s.expired.contains(token) {
        Some(wecom_error(42001, "access_token expired"))
    } else {
        Some(wecom_error(40014, "invalid access_token"))
    }
}

async fn gettoken(inner: &Inner, query: &[(String, String)]) -> Response {
    let get = |k: &str| query.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    if get("corpid") != Some(inner.config.corp_id.as_str()) {
        return wecom_error(40013, "invalid corpid");
    }
    if get("corpsecret") != Some(inner.config.secret.as_str()) {
        return wecom_error(40001, "invalid credential");
    }
    if !inner.config.gettoken_delay.is_zero() {
        crate::clock::sleep(inner.config.gettoken_delay).await;
    }
    let token = {
        let mut s = inner.shared.lock().unwrap_or_else(|p| p.into_inner());
        s.gettoken_count += 1;
        let t = format!("standin-token-{}", s.gettoken_count);
        s.issued.push(t.clone());
        s.valid.insert(t.clone());
        t
    };
    (
        StatusCode::OK,
        axum::Json(
            json!({ "errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": inner.config.token_ttl_secs }),
        ),
    )
        .into_response()
}

/// Members and their customers for the stand-in to answer `get_follow_user_list`, `batch/get_by_user`
/// (really paged: `limit` default 50, at most 100; at most 100 userids), `list` and `get` from, instead of
/// the official examples. Build one with [`CustomerData::new`] or [`CustomerData::generated`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CustomerData {
    members: Vec<String>,
    items: Vec<Value>,
    /// Indexes into `items` by following member, and by external_userid.
    by_member: BTreeMap<String, Vec<usize>>,
    by_customer: BTreeMap<String, Vec<usize>>,
}

impl CustomerData {
    /// A data set from the members with 客户联系 (in order) and one item per (customer, following member),
    /// as `batch/get_by_user` returns them: `{"external_contact": {"external_userid": …, …},
    /// "follow_info": {"userid": …, …}}`.
    pub fn new(members: Vec<String>, items: Vec<Value>) -> CustomerData {
        let mut by_member: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        let mut by_customer: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (i, item) in items.iter().enumerate() {
            by_member.entry(Self::follower(item).to_string()).or_default().push(i);
            let id = item["external_contact"]["external_userid"].as_str().unwrap_or("");
            by_customer.entry(id.to_string()).or_default().push(i);
        }
        CustomerData {
            members,
            items,
            by_member,
            by_customer,
        }
    }

    /// The members with 客户联系, in order.
    pub fn members(&self) -> &[String] {
        &self.members
    }

    /// One item per (customer, following member).
    pub fn items(&self) -> &[Value] {
        &self.items
    }

    /// `customers` made-up customers spread round-robin over `members` members (`member001`, …); every
    /// fourth customer is also followed by the next member, so a customer may appear under two members.
    pub fn generated(members: usize, customers: usize) -> CustomerData {
        let members: Vec<String> = (1..=members.max(1)).map(|i| format!("member{i:03}")).collect();
        let m = members.len();
        let mut items = Vec::new();
        for i in 0..customers {
            let contact = json!({
                "external_userid": format!("wmStandIn{i:06}"),
                "name": format!("客户{i}"),
                "type": 1 + i % 2,
                "gender": i % 3,
            });
            let mut followers = vec![&members[i % m]];
            if i % 4 == 0 && m > 1 {
                followers.push(&members[(i + 1) % m]);
            }
            for (k, userid) in followers.into_iter().enumerate() {
                items.push(json!({
                    "external_contact": contact,
                    "follow_info": {
                        "userid": userid,
                        "remark": format!("备注{i}"),
                        "createtime": 1_700_000_000 + i * 60 + k,
                        "tag_id": [],
                        "oper_userid": userid,
                        "add_way": 1,
                    }
                }));
            }
        }
        CustomerData::new(members, items)
    }

    /// How many distinct customers (by `external_userid`) the data holds.
    pub fn customer_count(&self) -> usize {
        self.by_customer.len()
    }

    fn follower(item: &Value) -> &str {
        item["follow_info"]["userid"].as_str().unwrap_or("")
    }

    fn answer(&self, path: &str, request: &Value) -> Option<Response> {
        let ok = |mut v: Value| {
            v["errcode"] = json!(0);
            v["errmsg"] = json!("ok");
            Some((StatusCode::OK, axum::Json(v)).into_response())
        };
        match path {
            "externalcontact/get_follow_user_list" => ok(json!({ "follow_user": self.members })),
            "externalcontact/list" => {
                let userid = request["userid"].as_str().unwrap_or("");
                let ids: Vec<&Value> = self
                    .by_member
                    .get(userid)
                    .into_iter()
                    .flatten()
                    .map(|&i| &self.items[i]["external_contact"]["external_userid"])
                    .collect();
                ok(json!({ "external_userid": ids }))
            }
            "externalcontact/get" => {
                let id = request["external_userid"].as_str().unwrap_or("");
                let mine: Vec<&Value> = self.by_customer.get(id)?.iter().map(|&i| &self.items[i]).collect();
                let first = mine.first()?;
                let follow: Vec<&Value> = mine.iter().map(|i| &i["follow_info"]).collect();
                ok(json!({ "external_contact": first["external_contact"], "follow_user": follow, "next_cursor": "" }))
            }
            "externalcontact/batch/get_by_user" => {
                let users: Vec<&str> = request["userid_list"]
                    .as_array()
                    .map(|a| a.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                if users.is_empty() || users.len() > 100 {
                    return Some(wecom_error(
                        40058,
                        "invalid parameter: userid_list takes 1 to 100 userids",
                    ));
                }
                let limit = request["limit"].as_u64().unwrap_or(50).clamp(1, 100) as usize;
                let cursor = request["cursor"].as_str().unwrap_or("");
                let offset: usize = if cursor.is_empty() {
                    0
                } else {
                    match cursor.strip_prefix("standin-offset-").and_then(|n| n.parse().ok()) {
                        Some(n) => n,
                        None => return Some(wecom_error(40058, "invalid parameter: cursor")),
                    }
                };
                let all: Vec<&Value> = users
                    .iter()
                    .flat_map(|u| self.by_member.get(*u).into_iter().flatten())
                    .map(|&i| &self.items[i])
                    .collect();
                let page: Vec<&Value> = all.iter().skip(offset).take(limit).copied().collect();
                let next = if offset + limit < all.len() {
                    format!("standin-offset-{}", offset + limit)
                } else {
                    String::new()
                };
                ok(json!({ "external_contact_list": page, "next_cursor": next }))
            }
            _ => None,
        }
    }
}

//! An embedded local stand-in for WeCom: a loopback HTTP server that answers `gettoken` and every catalogued
//! endpoint with the spec's official example response. It checks the token the way WeCom does (41001
//! missing, 40014 invalid, 42001 expired), rejects a request that does not fit the endpoint's typed model with
//! WeCom's error shape (errcode 40058), pages cursor- and offset-paged endpoints over three pages, and records
//! every request so tests can assert on the method, path, query and body. Everything it knows comes from the
//! generated catalog: a spec edit is a stand-in edit.
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
use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How the stand-in behaves. `Debug` leaves out the secret.
#[derive(Clone)]
pub struct StandInConfig {
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
}

impl std::fmt::Debug for StandInConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StandInConfig")
            .field("corp_id", &self.corp_id)
            .field("secret", &"[redacted]")
            .field("token_ttl_secs", &self.token_ttl_secs)
            .field("pages", &self.pages)
            .field("gettoken_delay", &self.gettoken_delay)
            .finish_non_exhaustive()
    }
}

impl Default for StandInConfig {
    fn default() -> Self {
        StandInConfig {
            corp_id: "standin-corp".into(),
            secret: "standin-secret".into(),
            token_ttl_secs: 7200,
            pages: 3,
            gettoken_delay: Duration::ZERO,
            extra_tokens: BTreeMap::new(),
        }
    }
}

/// One request the stand-in received.
#[derive(Clone, Debug, PartialEq)]
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

#[derive(Default)]
struct Shared {
    issued: Vec<String>,
    valid: BTreeSet<String>,
    expired: BTreeSet<String>,
    gettoken_count: usize,
    requests: Vec<RecordedRequest>,
    overrides: BTreeMap<String, Value>,
    fail_next: BTreeMap<String, std::collections::VecDeque<Fail>>,
    delays: BTreeMap<String, Duration>,
    in_flight: BTreeMap<String, (usize, usize)>,
}

struct Inner {
    config: StandInConfig,
    shared: Mutex<Shared>,
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
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let inner = Arc::new(Inner {
            config,
            shared: Mutex::new(Shared::default()),
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

    /// Every request received so far (gettoken included), oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.lock().requests.clone()
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
            .insert(catalog::normalize(path).to_string(), response);
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
    let record = RecordedRequest {
        method: method.as_str().to_string(),
        path: path.clone(),
        query: query.iter().filter(|(k, _)| !is_token(k)).cloned().collect(),
        json: json_body.clone(),
        body: body.to_vec(),
        content_type: content_type.clone(),
    };
    inner
        .shared
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .requests
        .push(record);

    if path == "gettoken" {
        return gettoken(&inner, &query).await;
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
    let _in_flight = InFlight::enter(&inner, &path);
    let delay = inner
        .shared
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .delays
        .get(&path)
        .copied();
    if let Some(d) = delay {
        tokio::time::sleep(d).await;
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
    let over = inner
        .shared
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .overrides
        .get(&path)
        .cloned();
    let mut response = over
        .or_else(|| ep.example_response.and_then(|s| serde_json::from_str(s).ok()))
        .unwrap_or_else(|| json!({ "errcode": 0, "errmsg": "ok" }));
    if let (Some(p), Value::Object(map)) = (ep.paging, &mut response) {
        page(&inner.config, p, &request, map);
    }
    (StatusCode::OK, axum::Json(response)).into_response()
}

fn page(config: &StandInConfig, p: catalog::Paging, request: &Value, map: &mut Map<String, Value>) {
    let pages = config.pages.max(1);
    match p.style {
        PagingStyle::Cursor => {
            let cursor = request.get(p.cursor).and_then(Value::as_str).unwrap_or("");
            let index: usize = cursor
                .strip_prefix("standin-cursor-")
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            let next = if index + 1 < pages {
                format!("standin-cursor-{}", index + 1)
            } else {
                String::new()
            };
            if let Some(n) = p.next {
                map.insert(n.to_string(), Value::String(next));
            }
        }
        PagingStyle::Offset => {
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
        tokio::time::sleep(inner.config.gettoken_delay).await;
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

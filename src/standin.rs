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
    /// A data set of members and customers to answer the customer endpoints from, instead of the examples.
    pub customers: Option<CustomerData>,
}

impl std::fmt::Debug for StandInConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StandInConfig")
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
    fail_next: BTreeMap<String, (i64, String)>,
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
        Self::start_on(config, 0).await
    }

    /// Starts a stand-in with `config` on `127.0.0.1:port` (0: a free port).
    pub async fn start_on(config: StandInConfig, port: u16) -> std::io::Result<StandIn> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
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

    /// Answers the next call of `path` with an error.
    pub fn fail_next(&self, path: &str, errcode: i64, errmsg: &str) {
        self.lock()
            .fail_next
            .insert(catalog::normalize(path).to_string(), (errcode, errmsg.to_string()));
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
    let token_names = [
        "access_token",
        "suite_access_token",
        "provider_access_token",
        "corpsecret",
    ];
    let record = RecordedRequest {
        method: method.as_str().to_string(),
        path: path.clone(),
        query: query
            .iter()
            .filter(|(k, _)| !token_names[..3].contains(&k.as_str()))
            .cloned()
            .collect(),
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
    if let Some((code, msg)) = inner
        .shared
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .fail_next
        .remove(&path)
    {
        return wecom_error(code, &msg);
    }

    // The request as the typed model sees it.
    let request: Value = if ep.method == HttpMethod::Get || ep.upload.is_some() {
        Value::Object(
            query
                .iter()
                .filter(|(k, _)| !token_names.contains(&k.as_str()))
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

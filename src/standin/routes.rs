//! The server's routing: one handler records the request, hands the token endpoints to `tokens`, and
//! answers a catalogued endpoint after its checks (token, 45033 turn, injected faults, per-corp scope, the
//! typed model) from a response set by the test, the world (`world/`), or the spec's example, paged.

use super::faults::{self, Busy, InFlight};
use super::{suite, tokens, Inner, RecordedRequest, StandIn, World};
use crate::catalog::{self, Endpoint, HttpMethod, PagingStyle};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

impl StandIn {
    /// Answers `path` with `response` instead of the spec's example (or the world) from now on. A cursor-paged
    /// answer whose next cursor is `""` is one page; otherwise it is paged as the examples are
    /// ([`StandInConfig::pages`](super::StandInConfig::pages)).
    pub fn set_response(&self, path: &str, response: Value) {
        self.lock()
            .overrides
            .insert(catalog::normalize(path).to_string(), Arc::new(response));
    }
}

/// The stand-in's router: every path goes to [`handle`].
pub(super) fn router(inner: Arc<Inner>) -> axum::Router {
    axum::Router::new().fallback(handle).with_state(inner)
}

/// WeCom's error answer: HTTP 200 with `errcode` and `errmsg`.
pub(super) fn wecom_error(errcode: i64, errmsg: &str) -> Response {
    (
        StatusCode::OK,
        axum::Json(json!({ "errcode": errcode, "errmsg": errmsg })),
    )
        .into_response()
}

/// A request as the routes see it.
struct Incoming {
    /// The path under `/cgi-bin/`.
    path: String,
    query: Vec<(String, String)>,
    content_type: Option<String>,
    json: Option<Value>,
    body: Bytes,
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
    let req = Incoming {
        path: path.to_string(),
        query: parse_query(uri.query()),
        content_type: headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
        json: serde_json::from_slice::<Value>(&body).ok(),
        body,
    };
    inner.record(|| RecordedRequest {
        method: method.as_str().to_string(),
        path: req.path.clone(),
        query: req.query.iter().filter(|(k, _)| !is_token(k)).cloned().collect(),
        json: req.json.clone(),
        body: req.body.to_vec(),
        content_type: req.content_type.clone(),
        received_ms: crate::clock::unix_millis(),
    });

    if req.path == "gettoken" {
        return tokens::gettoken(&inner, &req.query).await;
    }
    if let Some(resp) = tokens::token_endpoint(&inner, &req.path, &req.query, req.json.as_ref()).await {
        return resp;
    }
    let Some(ep) = catalog::endpoint(&req.path) else {
        return (StatusCode::NOT_FOUND, "no such endpoint in the catalog").into_response();
    };
    if method.as_str() != ep.method.as_str() {
        return (
            StatusCode::METHOD_NOT_ALLOWED,
            format!("{} takes {}", ep.path, ep.method),
        )
            .into_response();
    }
    catalogued(&inner, ep, req).await
}

fn is_token(k: &str) -> bool {
    catalog::TOKEN_QUERY_PARAMS.contains(&k)
}

/// A call of a catalogued endpoint with the right method.
async fn catalogued(inner: &Arc<Inner>, ep: &'static Endpoint, mut req: Incoming) -> Response {
    if let Some(resp) = tokens::check_token(inner, ep, &req.query) {
        return resp;
    }
    let Ok(_busy) = Busy::take(inner, ep, &req.query, req.json.as_ref()) else {
        return wecom_error(45033, "api concurrent out of limit");
    };
    let _admitted = match super::limits::admit(inner, &req.path) {
        Ok(admitted) => admitted,
        Err((errcode, errmsg)) => return wecom_error(errcode, errmsg),
    };
    let _in_flight = InFlight::enter(inner, &req.path);
    if let Some(resp) = faults::injected(inner, &req.path).await {
        return resp;
    }
    if let Some(resp) = suite::corp_scoped_answer(inner, ep, &req.query, req.json.as_ref()) {
        return resp;
    }
    let request = match typed_request(ep, &mut req) {
        Ok(request) => request,
        Err((errcode, errmsg)) => return wecom_error(errcode, &errmsg),
    };
    let overridden = inner.lock().overrides.contains_key(&req.path);
    let from_world = inner
        .world
        .as_ref()
        .filter(|_| !overridden)
        .and_then(|w| World::answer(w, &req.path, &request));
    match from_world {
        Some(Ok(mut answer)) => {
            answer["errcode"] = json!(0);
            answer["errmsg"] = json!("ok");
            return (StatusCode::OK, axum::Json(answer)).into_response();
        }
        Some(Err((errcode, errmsg))) => return wecom_error(errcode, &errmsg),
        None => {}
    }
    example_answer(inner, ep, &req.path, &request)
}

/// The request as the endpoint's typed model sees it (the query of a GET or an upload, else the JSON body),
/// or WeCom's refusal (errcode, errmsg): 47001 for a body that is not JSON, 40005 for an upload without its
/// part, 40058 for a request that does not fit the model or breaks one of the endpoint's request rules.
fn typed_request(ep: &Endpoint, req: &mut Incoming) -> Result<Value, (i64, String)> {
    let is_credential = |k: &str| is_token(k) || catalog::SECRET_QUERY_PARAMS.contains(&k);
    let request: Value = if ep.method == HttpMethod::Get || ep.upload.is_some() {
        Value::Object(
            req.query
                .iter()
                .filter(|(k, _)| !is_credential(k))
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect(),
        )
    } else {
        match req.json.take() {
            Some(v) => v,
            None => return Err((47001, "data format error: the body is not JSON".into())),
        }
    };
    if let Some(part) = ep.upload {
        let ok = req
            .content_type
            .as_deref()
            .is_some_and(|c| c.starts_with("multipart/form-data"))
            && String::from_utf8_lossy(&req.body).contains(&format!("name=\"{part}\""));
        if !ok {
            return Err((40005, format!("invalid multipart: expected a part named {part}")));
        }
    }
    if let Some(validate) = catalog::request_validator(&req.path)
        && let Err(m) = validate(&request)
    {
        return Err((40058, format!("invalid parameter: {m}")));
    }
    // The rules the docs state in words (the spec's `rules`), as WeCom answers them: 40058 不合法的参数.
    if let Some(rule) = catalog::RequestRule::broken(ep, &request) {
        return Err((40058, format!("invalid parameter: the request breaks the rule {rule}")));
    }
    Ok(request)
}

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

/// The answer set with [`StandIn::set_response`], else the spec's example, else a bare `ok`; paged
/// endpoints get the page `request` asks for.
fn example_answer(inner: &Inner, ep: &Endpoint, path: &str, request: &Value) -> Response {
    let over = inner.lock().overrides.get(path).cloned();
    let ok = json!({ "errcode": 0, "errmsg": "ok" });
    let base: &Value = over.as_deref().or_else(|| examples().get(ep.path)).unwrap_or(&ok);
    match (ep.paging, base) {
        (Some(p), Value::Object(map)) => match p.style {
            // A response set with a next cursor of "" is the last page.
            PagingStyle::Cursor if over.is_some() && p.next.and_then(|k| map.get(k)) == Some(&json!("")) => {
                (StatusCode::OK, axum::Json(base)).into_response()
            }
            // The cursor is the one field that changes: the answer is written from the shared copy.
            PagingStyle::Cursor => {
                let next = p
                    .next
                    .map(|key| (key, Value::String(next_cursor(inner.config.pages, p, request))));
                (StatusCode::OK, axum::Json(WithField { map, field: next })).into_response()
            }
            PagingStyle::Offset => {
                let mut map = map.clone();
                offset_page(inner.config.pages, p, request, &mut map);
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

/// The `next_cursor` of a cursor-paged answer to `request` over `pages` pages: the next page's, or empty on
/// the last page.
fn next_cursor(pages: usize, p: catalog::Paging, request: &Value) -> String {
    let pages = pages.max(1);
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

/// An offset-paged answer to `request` over `pages` pages: the example's items repeated to fill the page (a
/// full page before the last, half a page on it, none after).
fn offset_page(pages: usize, p: catalog::Paging, request: &Value, map: &mut Map<String, Value>) {
    let pages = pages.max(1);
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

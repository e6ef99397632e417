//! The endpoint catalog, generated from the spec: what each endpoint is, and by-path access to its typed
//! models (`roundtrip_request`, `roundtrip_response`, [`Client::call`](crate::Client::call)).

use crate::error::excerpt;
use crate::{Error, Result};
use serde::{de::DeserializeOwned, Serialize};
use serde_json::Value;
use std::fmt;

pub use crate::token_kind::{TokenKind, TOKEN_QUERY_PARAMS};

#[allow(clippy::all)]
mod generated {
    include!(concat!(env!("OUT_DIR"), "/catalog.rs"));
}

/// An HTTP method. `Debug` and `Display` print `GET` / `POST`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HttpMethod {
    /// `GET`: the request's fields go in the query string.
    Get,
    /// `POST`: the request is the JSON body (or a multipart upload).
    Post,
}

impl HttpMethod {
    /// `"GET"` or `"POST"`.
    pub fn as_str(self) -> &'static str {
        match self {
            HttpMethod::Get => "GET",
            HttpMethod::Post => "POST",
        }
    }
}

impl fmt::Debug for HttpMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for HttpMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<&str> for HttpMethod {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// Query parameters that carry a secret (`gettoken`'s `corpsecret`); redacted like the tokens.
pub const SECRET_QUERY_PARAMS: [&str; 1] = ["corpsecret"];

/// Cursor or offset paging.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PagingStyle {
    /// A cursor from the previous response.
    Cursor,
    /// An offset and a limit.
    Offset,
}

/// How an endpoint pages, by wire field names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Paging {
    /// Cursor or offset.
    pub style: PagingStyle,
    /// Request field carrying the cursor (or offset).
    pub cursor: &'static str,
    /// Response field with the next cursor.
    pub next: Option<&'static str>,
    /// Response list field of items.
    pub items: &'static str,
    /// Request field with the page size.
    pub limit: Option<&'static str>,
    /// Response fields that report a partial failure of a page (`batch/get_by_user`'s `fail_info`): item
    /// streams drop them, page streams ([`Page::partial`](crate::paging::Page::partial)) keep them.
    pub partial: &'static [&'static str],
}

/// A rule the official docs state in words about an endpoint's request fields (the spec's `rules`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RequestRule {
    /// At least one of these top-level fields is set: present, not null, not `""` and not `[]`. With two
    /// fields this is the docs' "not both empty" (不可同时为空), e.g. `mark_tag`'s `add_tag`/`remove_tag`.
    AtLeastOneOf(&'static [&'static str]),
}

impl RequestRule {
    /// The spec's name of the rule (`at_least_one_of`).
    pub fn name(&self) -> &'static str {
        match self {
            RequestRule::AtLeastOneOf(_) => "at_least_one_of",
        }
    }

    /// The wire names of the fields the rule is about.
    pub fn fields(&self) -> &'static [&'static str] {
        match self {
            RequestRule::AtLeastOneOf(f) => f,
        }
    }

    /// Whether `request` (the request as JSON: the body, or the query as an object) keeps the rule.
    pub fn holds(&self, request: &serde_json::Value) -> bool {
        let set = |name: &str| match request.get(name) {
            None | Some(serde_json::Value::Null) => false,
            Some(serde_json::Value::String(s)) => !s.is_empty(),
            Some(serde_json::Value::Array(a)) => !a.is_empty(),
            Some(_) => true,
        };
        match self {
            RequestRule::AtLeastOneOf(names) => names.iter().any(|n| set(n)),
        }
    }

    /// The first rule of `ep` that `request` breaks, if any.
    pub fn broken(ep: &Endpoint, request: &serde_json::Value) -> Option<&'static RequestRule> {
        ep.rules.iter().find(|r| !r.holds(request))
    }
}

impl fmt::Display for RequestRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RequestRule::AtLeastOneOf(names) => {
                write!(f, "at_least_one_of [{}]: set at least one of them", names.join(", "))
            }
        }
    }
}

/// One catalogued endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Endpoint {
    /// The client method's name (`get_corp_tag_list`).
    pub name: &'static str,
    /// The official Chinese name.
    pub name_zh: &'static str,
    /// One line of English.
    pub summary: &'static str,
    /// The spec group (and cargo feature).
    pub group: &'static str,
    /// The official HTTP method.
    pub method: HttpMethod,
    /// The path under `/cgi-bin/`, e.g. `externalcontact/groupchat/get`.
    pub path: &'static str,
    /// The official doc page (empty for legacy endpoints that have none).
    pub doc_url: &'static str,
    /// The token the endpoint takes.
    pub token: TokenKind,
    /// Why and for what it is deprecated, if it is.
    pub deprecated: Option<&'static str>,
    /// The multipart file part, for uploads.
    pub upload: Option<&'static str>,
    /// Safe to repeat (a read: get, list, statistics, conversions): the client retries it on a retryable
    /// errcode ([`ErrorClass::Retryable`](crate::errcode::ErrorClass::Retryable): -1, 6000, 41063) and on
    /// transport failures before any answer, per its [`RetryPolicy`](crate::RetryPolicy). Writes are never
    /// retried.
    pub idempotent: bool,
    /// WeCom's limit on concurrent calls of this endpoint per corp, where one is known; the client queues
    /// callers beyond it.
    pub max_concurrency: Option<u32>,
    /// A request field whose value the client lets through one call at a time (`external_userid` for
    /// `mark_tag`: WeCom answers 45033 to concurrent edits of one customer); calls with other values run
    /// side by side.
    pub one_at_a_time_per: Option<&'static str>,
    /// WeCom's per-corp rate limit of this endpoint (from `spec/limits.yaml`, or the endpoint's own stricter
    /// `rate_limit` where WeCom documents one): the budget the client keeps under. `None` only when the spec states no limits.
    pub rate_limit: Option<RateBudget>,
    /// Paging, if the endpoint pages.
    pub paging: Option<Paging>,
    /// Rules the official docs state about the request's fields (from the spec's `rules`): the client refuses
    /// a request that breaks one before sending it, and the stand-in answers it with errcode 40058.
    pub rules: &'static [RequestRule],
    /// The official example request (compact JSON).
    pub example_request: Option<&'static str>,
    /// The official example response (compact JSON).
    pub example_response: Option<&'static str>,
}

/// A rate budget: calls allowed per minute and per hour (WeCom counts each API separately).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct RateBudget {
    /// Calls a minute.
    pub per_minute: u32,
    /// Calls an hour.
    pub per_hour: u32,
}

impl RateBudget {
    /// A budget of `per_minute` calls a minute and `per_hour` an hour (each at least 1).
    pub fn new(per_minute: u32, per_hour: u32) -> Self {
        RateBudget {
            per_minute: per_minute.max(1),
            per_hour: per_hour.max(1),
        }
    }
}

/// WeCom's documented frequency limits per API (访问频率限制, doc 90454), from `spec/limits.yaml`. Over one,
/// WeCom answers 45009 and blocks the API: 60 s for a minute limit, an hour for an hour limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct FrequencyLimits {
    /// Per corp (or authorized corp) and API: 10,000 a minute, 150,000 an hour.
    pub per_corp: RateBudget,
    /// Per IP and API for a corp's own app: 20,000 a minute, 600,000 an hour.
    pub per_ip: RateBudget,
    /// Per IP and API for a third-party service provider: 40,000 a minute, 1,200,000 an hour.
    pub per_provider_ip: RateBudget,
}

/// WeCom's documented frequency limits (from the spec; `None` only for a spec that states none).
pub fn frequency_limits() -> Option<&'static FrequencyLimits> {
    generated::LIMITS.as_ref()
}

/// The wire names of the request and response fields the spec marks `secret` (tokens, secrets, suite
/// tickets, auth and permanent codes), sorted. `Debug` of the generated types never shows these fields;
/// the list is for redacting JSON you log yourself. It comes from the spec, in every build.
pub fn secret_fields() -> &'static [&'static str] {
    generated::SECRET_FIELDS
}

/// Every endpoint compiled into this build (all of them with the default `full` feature), in spec order.
pub fn endpoints() -> &'static [Endpoint] {
    generated::ENDPOINTS
}

/// The catalogued endpoint at `path` (under `/cgi-bin/`; a leading `/cgi-bin/` or `/` is accepted).
pub fn endpoint(path: &str) -> Option<&'static Endpoint> {
    let p = normalize(path);
    endpoints().iter().find(|e| e.path == p)
}

pub(crate) fn normalize(path: &str) -> &str {
    let p = path.trim_start_matches('/');
    p.strip_prefix("cgi-bin/").unwrap_or(p)
}

fn unknown(path: &str) -> Error {
    Error::InvalidRequest {
        endpoint: path.to_string(),
        message: "no such endpoint in the catalog".into(),
    }
}

/// Parses `value` into the typed request model of `path` and serializes it back.
pub fn roundtrip_request(path: &str, value: &Value) -> Result<Value> {
    (ops(path)?.roundtrip_request)(normalize(path), value)
}

/// Parses `value` into the typed response model of `path` and serializes it back. `errcode` and `errmsg`
/// are handled by the runtime and are not part of the model.
pub fn roundtrip_response(path: &str, value: &Value) -> Result<Value> {
    (ops(path)?.roundtrip_response)(normalize(path), value)
}

fn ops(path: &str) -> Result<Ops> {
    generated::ops(normalize(path)).ok_or_else(|| unknown(path))
}

#[allow(dead_code)] // used by the stand-in
pub(crate) fn request_validator(path: &str) -> Option<Validator> {
    generated::ops(normalize(path)).map(|o| o.validate)
}

/// The endpoint at `path` and its typed operations (for [`Client::call`](crate::Client::call)).
pub(crate) fn lookup(path: &str) -> Result<(&'static Endpoint, Ops)> {
    let ops = ops(path)?;
    let ep = endpoint(path).ok_or_else(|| unknown(path))?;
    Ok((ep, ops))
}

/// Checks that a JSON request fits a typed request model.
pub(crate) type Validator = fn(&Value) -> std::result::Result<(), String>;

/// What the catalog can do with one endpoint's typed models, looked up by path (the generated `ops` table).
/// It names no client: [`Client::call`](crate::Client::call) checks a JSON request with `check_request`,
/// sends it, and decodes the answer with `decode_response`.
#[derive(Clone, Copy)]
pub(crate) struct Ops {
    roundtrip_request: fn(&str, &Value) -> Result<Value>,
    roundtrip_response: fn(&str, &Value) -> Result<Value>,
    validate: Validator,
    /// The JSON request through the typed request model (an [`Error::InvalidRequest`] when it does not fit).
    pub(crate) check_request: fn(&str, &Value) -> Result<Value>,
    /// The answer's body through the typed response model, as JSON.
    pub(crate) decode_response: fn(&str, &[u8], bool) -> Result<Value>,
}

impl Ops {
    /// The operations of the endpoint whose typed models are `Req` and `Resp`.
    pub(crate) const fn of<Req, Resp>() -> Ops
    where
        Req: Serialize + DeserializeOwned + Send + Sync + 'static,
        Resp: Serialize + DeserializeOwned + Send + 'static,
    {
        Ops {
            roundtrip_request: roundtrip::<Req>,
            roundtrip_response: roundtrip::<Resp>,
            validate: validate::<Req>,
            check_request: check_request::<Req>,
            decode_response: decode_response::<Resp>,
        }
    }
}

fn roundtrip<T: Serialize + DeserializeOwned>(path: &str, value: &Value) -> Result<Value> {
    let typed: T = T::deserialize(value).map_err(|e| Error::Decode {
        endpoint: path.to_string(),
        message: e.to_string(),
        excerpt: excerpt(value.to_string().as_bytes()),
    })?;
    serde_json::to_value(&typed).map_err(|e| Error::Decode {
        endpoint: path.to_string(),
        message: e.to_string(),
        excerpt: String::new(),
    })
}

fn validate<T: DeserializeOwned>(value: &Value) -> std::result::Result<(), String> {
    T::deserialize(value).map(|_| ()).map_err(|e| e.to_string())
}

fn check_request<T: Serialize + DeserializeOwned>(path: &str, value: &Value) -> Result<Value> {
    let typed = T::deserialize(value).map_err(|e| Error::InvalidRequest {
        endpoint: path.to_string(),
        message: e.to_string(),
    })?;
    serde_json::to_value(&typed).map_err(|e| Error::InvalidRequest {
        endpoint: path.to_string(),
        message: e.to_string(),
    })
}

fn decode_response<T: Serialize + DeserializeOwned>(path: &str, body: &[u8], show_body: bool) -> Result<Value> {
    let typed: T = crate::envelope::decode(path, body, show_body)?;
    serde_json::to_value(&typed).map_err(|e| Error::Decode {
        endpoint: path.to_string(),
        message: e.to_string(),
        excerpt: String::new(),
    })
}

//! The endpoint catalog, generated from the spec: what each endpoint is, and by-path access to its typed
//! models (`roundtrip_request`, `roundtrip_response`, [`Client::call`](crate::Client::call)).

use crate::token::BoxFuture;
use crate::{Error, Result};
use serde::{de::DeserializeOwned, Serialize};
use serde_json::Value;
use std::fmt;

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

/// Which token an endpoint takes, and which a client holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TokenKind {
    /// `access_token`: a corp's token (self-built app, 客户联系 secret, or an authorized third-party/代开发 app).
    Access,
    /// `suite_access_token`: a third-party suite's own token.
    Suite,
    /// `provider_access_token`: a service provider's token.
    Provider,
    /// No token (`gettoken` itself).
    None,
}

impl TokenKind {
    /// The query parameter that carries this token.
    pub fn query_name(self) -> Option<&'static str> {
        match self {
            TokenKind::Access => Some("access_token"),
            TokenKind::Suite => Some("suite_access_token"),
            TokenKind::Provider => Some("provider_access_token"),
            TokenKind::None => None,
        }
    }
}

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
    /// Paging, if the endpoint pages.
    pub paging: Option<Paging>,
    /// The official example request (compact JSON).
    pub example_request: Option<&'static str>,
    /// The official example response (compact JSON).
    pub example_response: Option<&'static str>,
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

pub(crate) async fn call(client: &crate::Client, path: &str, value: Value) -> Result<Value> {
    let ops = ops(path)?;
    let ep = endpoint(path).ok_or_else(|| unknown(path))?;
    (ops.call)(client, ep, value).await
}

/// Checks that a JSON request fits a typed request model.
pub(crate) type Validator = fn(&Value) -> std::result::Result<(), String>;

type Call = for<'a> fn(&'a crate::Client, &'static Endpoint, Value) -> BoxFuture<'a, Result<Value>>;

/// What the catalog can do with one endpoint's typed models, looked up by path (the generated `ops` table).
#[derive(Clone, Copy)]
pub(crate) struct Ops {
    roundtrip_request: fn(&str, &Value) -> Result<Value>,
    roundtrip_response: fn(&str, &Value) -> Result<Value>,
    validate: Validator,
    call: Call,
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
            call: dispatch::<Req, Resp>,
        }
    }
}

fn roundtrip<T: Serialize + DeserializeOwned>(path: &str, value: &Value) -> Result<Value> {
    let typed: T = T::deserialize(value).map_err(|e| Error::Decode {
        endpoint: path.to_string(),
        message: e.to_string(),
        excerpt: crate::client::excerpt(value.to_string().as_bytes()),
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

fn dispatch<'a, Req, Resp>(
    client: &'a crate::Client,
    ep: &'static Endpoint,
    value: Value,
) -> BoxFuture<'a, Result<Value>>
where
    Req: Serialize + DeserializeOwned + Send + Sync + 'static,
    Resp: Serialize + DeserializeOwned + Send + 'static,
{
    Box::pin(async move {
        let req: Req = Req::deserialize(&value).map_err(|e| Error::InvalidRequest {
            endpoint: ep.path.to_string(),
            message: e.to_string(),
        })?;
        let resp: Resp = client.execute(ep, &req).await?;
        serde_json::to_value(&resp).map_err(|e| Error::Decode {
            endpoint: ep.path.to_string(),
            message: e.to_string(),
            excerpt: String::new(),
        })
    })
}

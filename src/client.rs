//! The client: configuration, the HTTP transport, and the one request pipeline every endpoint goes through.

use crate::catalog::{Endpoint, HttpMethod, TokenKind};
use crate::token::{CorpTokenProvider, MemoryTokenStore, Secret, TokenProvider, TokenSource, TokenStore};
use crate::{Error, Result};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// The official API host.
pub const DEFAULT_BASE_URL: &str = "https://qyapi.weixin.qq.com";

/// errcodes that mean "this access_token is invalid or expired": the token is dropped and the call replayed once.
pub const TOKEN_ERRCODES: [i64; 3] = [40001, 40014, 42001];

/// A typed async client for the WeCom 客户联系 API. Cheap to clone (`Arc` inside); `Send + Sync`.
///
/// Every endpoint of the spec is a method: `client.get_corp_tag_list(&request).await`. See
/// [`catalog::endpoints`](crate::catalog::endpoints) for the list.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    http: Http,
    tokens: TokenSource,
    corp_provider: Option<Arc<CorpTokenProvider>>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.inner.http.base)
            .field("token_kind", &self.inner.tokens.kind)
            .field("corp_token_provider", &self.inner.corp_provider)
            .finish_non_exhaustive()
    }
}

/// Builds a [`Client`].
#[derive(Default)]
pub struct ClientBuilder {
    corp_id: Option<String>,
    secret: Option<Secret>,
    base_url: Option<String>,
    timeout: Option<Duration>,
    store: Option<Arc<dyn TokenStore>>,
    provider: Option<(TokenKind, Arc<dyn TokenProvider>)>,
    http: Option<reqwest::Client>,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("corp_id", &self.corp_id)
            .field("secret", &self.secret)
            .field("base_url", &self.base_url)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// The corp id (企业ID).
    pub fn corp_id(mut self, corp_id: impl Into<String>) -> Self {
        self.corp_id = Some(corp_id.into());
        self
    }
    /// The 客户联系 secret (or a self-built app secret configured as 可调用应用).
    pub fn secret(mut self, secret: impl Into<Secret>) -> Self {
        self.secret = Some(secret.into());
        self
    }
    /// The API host; default [`DEFAULT_BASE_URL`]. Tests point this at a loopback server.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }
    /// Per-request timeout; default 30 s.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }
    /// Where fetched tokens are kept; default [`MemoryTokenStore`].
    pub fn token_store(mut self, store: Arc<dyn TokenStore>) -> Self {
        self.store = Some(store);
        self
    }
    /// Use your own token source instead of corp id + secret, e.g. a third-party suite's
    /// `suite_access_token` (`TokenKind::Suite`) or an authorized corp's token (`TokenKind::Access`).
    /// Endpoints that take another kind of token are refused before any request is sent.
    pub fn token_provider(mut self, kind: TokenKind, provider: Arc<dyn TokenProvider>) -> Self {
        self.provider = Some((kind, provider));
        self
    }
    /// Share an existing `reqwest::Client` (its own timeout and TLS settings apply).
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http = Some(client);
        self
    }

    /// Checks the configuration and builds the client.
    pub fn build(self) -> Result<Client> {
        let base = self.base_url.unwrap_or_else(|| DEFAULT_BASE_URL.to_string());
        let parsed = url::Url::parse(&base).map_err(|e| Error::Config(format!("base_url is not a URL: {e}")))?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.query().is_some() {
            return Err(Error::Config("base_url must be an http(s) URL without a query".into()));
        }
        let timeout = self.timeout.unwrap_or(Duration::from_secs(30));
        let client = match self.http {
            Some(c) => c,
            None => reqwest::Client::builder()
                .timeout(timeout)
                .connect_timeout(timeout.min(Duration::from_secs(10)))
                .build()
                .map_err(|e| Error::Config(format!("cannot build the HTTP client: {}", e.without_url())))?,
        };
        let http = Http {
            client,
            base: base.trim_end_matches('/').to_string(),
        };
        let (tokens, corp_provider) = match self.provider {
            Some((kind, provider)) => (TokenSource { kind, provider }, None),
            None => {
                let corp_id = self
                    .corp_id
                    .filter(|s| !s.trim().is_empty())
                    .ok_or_else(|| Error::Config("corp_id is missing".into()))?;
                let secret = self
                    .secret
                    .filter(|s| !s.expose().trim().is_empty())
                    .ok_or_else(|| Error::Config("secret is missing".into()))?;
                let store = self.store.unwrap_or_else(|| Arc::new(MemoryTokenStore::default()));
                let p = Arc::new(CorpTokenProvider::new(corp_id, secret, store, http.clone()));
                (
                    TokenSource {
                        kind: TokenKind::Access,
                        provider: p.clone(),
                    },
                    Some(p),
                )
            }
        };
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                tokens,
                corp_provider,
            }),
        })
    }
}

/// A file to upload (see `upload_attachment`).
#[derive(Clone)]
pub struct Upload {
    /// File name sent to WeCom (its extension matters to WeCom).
    pub filename: String,
    /// MIME type; default `application/octet-stream`.
    pub content_type: String,
    /// The bytes.
    pub bytes: Vec<u8>,
}

impl fmt::Debug for Upload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Upload")
            .field("filename", &self.filename)
            .field("content_type", &self.content_type)
            .field("len", &self.bytes.len())
            .finish()
    }
}

impl Upload {
    /// An upload from bytes in memory.
    pub fn from_bytes(filename: impl Into<String>, bytes: impl Into<Vec<u8>>) -> Self {
        Upload {
            filename: filename.into(),
            content_type: "application/octet-stream".into(),
            bytes: bytes.into(),
        }
    }
    /// An upload read from a file; the file name is taken from the path.
    pub async fn from_path(path: impl AsRef<std::path::Path>) -> Result<Self> {
        let p = path.as_ref();
        let bytes = tokio::fs::read(p).await.map_err(|e| Error::InvalidRequest {
            endpoint: "upload".into(),
            message: format!("cannot read {}: {e}", p.display()),
        })?;
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "file".into());
        Ok(Self::from_bytes(name, bytes))
    }
    /// Sets the MIME type.
    #[must_use]
    pub fn content_type(mut self, content_type: impl Into<String>) -> Self {
        self.content_type = content_type.into();
        self
    }
}

/// The HTTP transport: URLs, timeouts and error mapping. Errors never carry the URL (it holds the token).
#[derive(Clone)]
pub(crate) struct Http {
    client: reqwest::Client,
    base: String,
}

#[allow(dead_code)] // `Multipart` only with an upload endpoint's feature
enum Body {
    None,
    Json(Vec<u8>),
    Multipart(String, Upload),
}

impl Http {
    fn map_err(endpoint: &str, e: reqwest::Error) -> Error {
        if e.is_timeout() {
            Error::Timeout {
                endpoint: endpoint.to_string(),
            }
        } else {
            let e = e.without_url();
            let mut message = e.to_string();
            let mut src = std::error::Error::source(&e);
            while let Some(s) = src {
                message.push_str(": ");
                message.push_str(&s.to_string());
                src = s.source();
            }
            Error::Transport {
                endpoint: endpoint.to_string(),
                message: crate::client::redact_query(&message),
            }
        }
    }

    pub(crate) async fn get(&self, path: &str, query: &[(&str, &str)]) -> Result<Vec<u8>> {
        self.send(HttpMethod::Get, path, query, Body::None).await
    }

    async fn send(&self, method: HttpMethod, path: &str, query: &[(&str, &str)], body: Body) -> Result<Vec<u8>> {
        let url = format!("{}/cgi-bin/{}", self.base, path);
        let mut rb = match method {
            HttpMethod::Get => self.client.get(url),
            HttpMethod::Post => self.client.post(url),
        };
        rb = rb.query(query);
        rb = match body {
            Body::None => rb,
            Body::Json(b) => rb.header(reqwest::header::CONTENT_TYPE, "application/json").body(b),
            Body::Multipart(part, up) => {
                let p = reqwest::multipart::Part::bytes(up.bytes)
                    .file_name(up.filename)
                    .mime_str(&up.content_type)
                    .map_err(|e| Error::InvalidRequest {
                        endpoint: path.to_string(),
                        message: format!("bad content type: {}", e.without_url()),
                    })?;
                rb.multipart(reqwest::multipart::Form::new().part(part, p))
            }
        };
        tracing::debug!(endpoint = path, method = method.as_str(), "sending");
        let resp = rb.send().await.map_err(|e| Self::map_err(path, e))?;
        let status = resp.status();
        let bytes = resp.bytes().await.map_err(|e| Self::map_err(path, e))?;
        if !status.is_success() {
            return Err(Error::Transport {
                endpoint: path.to_string(),
                message: format!("HTTP status {status}"),
            });
        }
        Ok(bytes.to_vec())
    }
}

/// Removes anything that looks like a token or secret query parameter from a message.
pub(crate) fn redact_query(message: &str) -> String {
    let mut out = message.to_string();
    for key in [
        "access_token=",
        "suite_access_token=",
        "provider_access_token=",
        "corpsecret=",
    ] {
        let mut from = 0;
        while let Some(i) = out[from..].find(key) {
            let start = from + i + key.len();
            let end = out[start..]
                .find(['&', ' ', ')', '"'])
                .map(|j| start + j)
                .unwrap_or(out.len());
            out.replace_range(start..end, "[redacted]");
            from = start + "[redacted]".len();
        }
    }
    out
}

/// The first bytes of a body, for decode errors.
pub(crate) fn excerpt(body: &[u8]) -> String {
    let s = String::from_utf8_lossy(&body[..body.len().min(200)]);
    s.into_owned()
}

#[derive(serde::Deserialize)]
struct ErrHeader {
    #[serde(default, deserialize_with = "crate::flex::opt_int")]
    errcode: Option<i64>,
    #[serde(default)]
    errmsg: Option<String>,
}

/// Checks WeCom's `errcode`; `show_body` is false where the body may hold a token.
pub(crate) fn check_errcode(endpoint: &str, body: &[u8], show_body: bool) -> Result<()> {
    let h: ErrHeader = serde_json::from_slice(body).map_err(|e| Error::Decode {
        endpoint: endpoint.to_string(),
        message: e.to_string(),
        excerpt: if show_body { excerpt(body) } else { String::new() },
    })?;
    match h.errcode {
        Some(code) if code != 0 => Err(Error::Api {
            endpoint: endpoint.to_string(),
            errcode: code,
            errmsg: h.errmsg.unwrap_or_default(),
        }),
        _ => Ok(()),
    }
}

fn to_query(endpoint: &str, req: &impl Serialize) -> Result<Vec<(String, String)>> {
    let v = serde_json::to_value(req).map_err(|e| Error::InvalidRequest {
        endpoint: endpoint.to_string(),
        message: e.to_string(),
    })?;
    let Value::Object(map) = v else {
        return Err(Error::InvalidRequest {
            endpoint: endpoint.to_string(),
            message: "a request must be a JSON object".into(),
        });
    };
    let mut out = Vec::with_capacity(map.len());
    for (k, v) in map {
        let s = match v {
            Value::Null => continue,
            Value::String(s) => s,
            Value::Bool(b) => {
                if b {
                    "1".into()
                } else {
                    "0".into()
                }
            }
            Value::Number(n) => n.to_string(),
            other => {
                return Err(Error::InvalidRequest {
                    endpoint: endpoint.to_string(),
                    message: format!("query parameter `{k}` must be a scalar, not {other}"),
                })
            }
        };
        out.push((k, s));
    }
    Ok(out)
}

impl Client {
    /// Starts building a client.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// The kind of token this client holds.
    pub fn token_kind(&self) -> TokenKind {
        self.inner.tokens.kind
    }

    /// How many times this client has called `gettoken` (0 with a custom token provider).
    pub fn gettoken_count(&self) -> u64 {
        self.inner.corp_provider.as_ref().map_or(0, |p| p.fetch_count())
    }

    /// A token for the endpoint, or an error when this client holds the wrong kind.
    fn check_kind(&self, ep: &Endpoint) -> Result<()> {
        if ep.token != TokenKind::None && ep.token != self.inner.tokens.kind {
            return Err(Error::InvalidRequest {
                endpoint: ep.path.to_string(),
                message: format!(
                    "this endpoint takes a {:?} token but the client holds a {:?} token",
                    ep.token, self.inner.tokens.kind
                ),
            });
        }
        Ok(())
    }

    /// Sends one request, handling the token: on a token errcode the token is dropped and the call replayed
    /// once (never more).
    async fn run(&self, ep: &'static Endpoint, query: &[(String, String)], body: impl Fn() -> Body) -> Result<Vec<u8>> {
        self.check_kind(ep)?;
        let mut replayed = false;
        loop {
            let token = match ep.token.query_name() {
                Some(_) => Some(self.inner.tokens.provider.token().await?),
                None => None,
            };
            let mut q: Vec<(&str, &str)> = query.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            if let (Some(name), Some(t)) = (ep.token.query_name(), token.as_ref()) {
                q.push((name, t.expose()));
            }
            let bytes = self.inner.http.send(ep.method, ep.path, &q, body()).await?;
            match check_errcode(ep.path, &bytes, ep.token != TokenKind::None) {
                // Only a call that carried a token is replayed (gettoken's own 40001 means a bad secret).
                Err(Error::Api { errcode, .. })
                    if TOKEN_ERRCODES.contains(&errcode) && !replayed && token.is_some() =>
                {
                    if let Some(t) = &token {
                        tracing::debug!(endpoint = ep.path, errcode, "token rejected; refreshing once");
                        self.inner.tokens.provider.invalidate(t.expose()).await;
                    }
                    replayed = true;
                }
                Err(e) => return Err(e),
                Ok(()) => return Ok(bytes),
            }
        }
    }

    /// Decodes a response: the bytes into JSON once, then the typed model from the JSON. The generic step is
    /// `T::deserialize(&Value)`, the same one the catalog's round trips use, so each model's decoder is
    /// compiled once (build time: one instance per type instead of one per reader).
    fn decode<T: DeserializeOwned>(ep: &Endpoint, bytes: &[u8]) -> Result<T> {
        let decode_error = |message: String| Error::Decode {
            endpoint: ep.path.to_string(),
            message,
            excerpt: if ep.token == TokenKind::None {
                String::new()
            } else {
                excerpt(bytes)
            },
        };
        let value: Value = serde_json::from_slice(bytes).map_err(|e| decode_error(e.to_string()))?;
        T::deserialize(&value).map_err(|e| decode_error(e.to_string()))
    }

    /// Encodes a request as JSON (the one generic step, shared with the catalog), for the body or the query.
    fn encode<Req: Serialize>(ep: &Endpoint, request: &Req) -> Result<Value> {
        serde_json::to_value(request).map_err(|e| Error::InvalidRequest {
            endpoint: ep.path.to_string(),
            message: e.to_string(),
        })
    }

    /// The pipeline of every generated JSON endpoint method. Only encoding and decoding are generic; the
    /// HTTP exchange (`exchange`) is compiled once for all endpoints.
    pub(crate) async fn execute<Req: Serialize, Resp: DeserializeOwned>(
        &self,
        ep: &'static Endpoint,
        request: &Req,
    ) -> Result<Resp> {
        let request = Self::encode(ep, request)?;
        let bytes = self.exchange(ep, &request).await?;
        Self::decode(ep, &bytes)
    }

    /// Sends an encoded JSON request (as the query for GET, the body for POST) and returns the answer's bytes.
    async fn exchange(&self, ep: &'static Endpoint, request: &Value) -> Result<Vec<u8>> {
        if ep.upload.is_some() {
            return Err(Error::InvalidRequest {
                endpoint: ep.path.to_string(),
                message: "this endpoint is an upload: use its typed method with an Upload".into(),
            });
        }
        match ep.method {
            HttpMethod::Get => {
                let query = to_query(ep.path, request)?;
                self.run(ep, &query, || Body::None).await
            }
            HttpMethod::Post => {
                let body = serde_json::to_vec(request).map_err(|e| Error::InvalidRequest {
                    endpoint: ep.path.to_string(),
                    message: e.to_string(),
                })?;
                self.run(ep, &[], || Body::Json(body.clone())).await
            }
        }
    }

    /// The pipeline of multipart uploads: the request's fields go in the query string.
    #[allow(dead_code)] // used by generated upload methods, present with their group's feature
    pub(crate) async fn execute_upload<Req: Serialize, Resp: DeserializeOwned>(
        &self,
        ep: &'static Endpoint,
        request: &Req,
        file: Upload,
    ) -> Result<Resp> {
        let request = Self::encode(ep, request)?;
        let bytes = self.exchange_upload(ep, &request, file).await?;
        Self::decode(ep, &bytes)
    }

    async fn exchange_upload(&self, ep: &'static Endpoint, request: &Value, file: Upload) -> Result<Vec<u8>> {
        let part = ep.upload.unwrap_or("media").to_string();
        let query = to_query(ep.path, request)?;
        self.run(ep, &query, || Body::Multipart(part.clone(), file.clone()))
            .await
    }

    /// Calls any catalogued endpoint by path (e.g. `"externalcontact/groupchat/get"`) with a JSON request,
    /// through the same pipeline as the typed methods: the JSON is first checked against the endpoint's
    /// typed request model (unknown or mistyped fields are an [`Error::InvalidRequest`] before anything is
    /// sent), and the response is decoded into its typed model and returned as JSON. GET endpoints take the
    /// object's fields as query parameters.
    pub async fn call(&self, path: &str, request: Value) -> Result<Value> {
        crate::catalog::call(self, path, request).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_secrets_in_messages() {
        let m = redact_query(
            "error sending request for url (http://h/cgi-bin/x?access_token=abc123&x=1) corpsecret=s3cr3t",
        );
        assert!(!m.contains("abc123") && !m.contains("s3cr3t"), "{m}");
        assert!(m.contains("access_token=[redacted]&x=1"), "{m}");
    }

    #[test]
    fn query_from_request() {
        #[derive(Serialize)]
        struct R {
            userid: String,
            n: u32,
            b: bool,
            o: Option<String>,
        }
        let q = to_query(
            "x",
            &R {
                userid: "u".into(),
                n: 3,
                b: true,
                o: None,
            },
        )
        .unwrap();
        assert_eq!(
            q,
            vec![
                ("userid".into(), "u".into()),
                ("n".into(), "3".into()),
                ("b".into(), "1".into())
            ]
        );
    }
}

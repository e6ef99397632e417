//! The client: configuration and the one request pipeline every endpoint goes through (tokens, the token
//! replay). Sending is [`transport`](crate::transport)'s job.

use crate::catalog::{Endpoint, HttpMethod, TokenKind};
use crate::errcode::{ErrorClass, Throttle};
use crate::token::{
    CorpTokenProvider, FetchPolicy, MemoryTokenStore, Replay, Secret, SharedFetch, TokenProvider, TokenSource,
    TokenStore,
};
use crate::transport::{to_query, Body, Failure, Http};
use crate::{Error, Result};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::OwnedSemaphorePermit;
use tracing::Instrument;

pub use crate::transport::DEFAULT_BASE_URL;

/// What the call pipeline hands each answer to: (endpoint path, body, whether the body may be shown in errors).
type DecodeInto<'a> = dyn FnMut(&str, &[u8], bool) -> Result<()> + Send + 'a;

/// errcodes that mean "this token is invalid or expired" (access_token: 40001, 40014, 42001; suite_access_token:
/// 40082, 42009), in code order: the errcodes of class
/// [`ErrorClass::TokenInvalid`](crate::errcode::ErrorClass::TokenInvalid), taken from that classification. The
/// token is dropped and the call replayed once.
#[deprecated(note = "use `errcode::classify(code)` or `Error::class()`: `ErrorClass::TokenInvalid(_)`")]
pub const TOKEN_ERRCODES: [i64; 5] = crate::errcode::token_codes(None);

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
    retry: RetryPolicy,
    limits: Limits,
    budgets: crate::limits::Budgets,
    /// Whose per-corp budgets the calls draw on: the corp id (also with a token provider, when given).
    budget_corp: String,
    drift: crate::drift::Sampler,
}

/// How idempotent calls are retried: on an errcode of class
/// [`ErrorClass::Retryable`](crate::errcode::ErrorClass::Retryable) (-1, 6000, 41063), on 45033 (after halving
/// the endpoint's concurrency for the corp) and on transport failures before any answer arrived (connect errors,
/// HTTP 502/503/504), at most `max_attempts` attempts in all, with exponential backoff and jitter. Writes are
/// never retried, and fatal codes come back at once. A 45009 holds the endpoint for the corp (see
/// [`Budgets`](crate::Budgets)); an idempotent call waits the hold out when its policy allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Attempts in all, the first included (default 3, as WeCom advises for -1; 1 turns retries off).
    pub max_attempts: u32,
    /// The delay before the first retry (default 200 ms); it doubles for each further one.
    pub base_delay: Duration,
    /// The longest delay between attempts (default 2 s).
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(2),
        }
    }
}

impl RetryPolicy {
    /// No retries: every call is attempted once.
    pub fn none() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// Sets the number of attempts in all (at least 1).
    #[must_use]
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// Sets the delay before the first retry (doubling for each further one, up to `max_delay`).
    #[must_use]
    pub fn base_delay(mut self, delay: Duration) -> Self {
        self.base_delay = delay;
        self.max_delay = self.max_delay.max(delay);
        self
    }

    /// The wait before attempt `next` (2, 3, …): exponential, with jitter between half and all of it.
    fn delay_before(&self, next: u32) -> Duration {
        use rand::Rng;
        let exp = self
            .base_delay
            .saturating_mul(1u32 << next.saturating_sub(2).min(16))
            .min(self.max_delay);
        let half = exp / 2;
        let jitter_ms = u64::try_from((exp - half).as_millis()).unwrap_or(0);
        half + Duration::from_millis(rand::thread_rng().gen_range(0..=jitter_ms))
    }
}

/// Concurrency limits: client-wide (optional), per endpoint and one call at a time per value of an
/// endpoint's `one_at_a_time_per` field (both from the spec). Excess callers queue.
#[derive(Default)]
struct Limits {
    global: Option<Arc<tokio::sync::Semaphore>>,
    per_endpoint: std::sync::Mutex<std::collections::HashMap<&'static str, Arc<tokio::sync::Semaphore>>>,
    per_value: Arc<std::sync::Mutex<ValueTurns>>,
}

/// One lock per (endpoint, field value) with a call holding or awaiting it; an entry goes with its last user.
type ValueTurns = std::collections::HashMap<(&'static str, String), Arc<tokio::sync::Mutex<()>>>;

/// What one attempt holds while it is in flight.
struct Permits {
    // Dropped in this order: the limits first, then the turn (the next caller of the same value may go).
    _global: Option<OwnedSemaphorePermit>,
    _endpoint: Option<OwnedSemaphorePermit>,
    _turn: Option<ValueTurn>,
}

/// The turn of one field value; the map entry is removed when nobody else holds or awaits it.
struct ValueTurn {
    guard: Option<tokio::sync::OwnedMutexGuard<()>>,
    turns: Arc<std::sync::Mutex<ValueTurns>>,
    key: (&'static str, String),
}

impl Drop for ValueTurn {
    fn drop(&mut self) {
        drop(self.guard.take());
        let mut turns = self.turns.lock().unwrap_or_else(|p| p.into_inner());
        if turns.get(&self.key).is_some_and(|lock| Arc::strong_count(lock) == 1) {
            turns.remove(&self.key);
        }
    }
}

impl Limits {
    /// Waits for the turn of `value` (a caller of another value does not wait), then for the endpoint's
    /// and the client's limits, so that callers queued behind one value hold no permit meanwhile.
    async fn acquire(&self, ep: &'static Endpoint, value: Option<&str>) -> Permits {
        let turn = match value {
            Some(v) => {
                let key = (ep.path, v.to_string());
                let lock = self
                    .per_value
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .entry(key.clone())
                    .or_default()
                    .clone();
                Some(ValueTurn {
                    guard: Some(lock.lock_owned().await),
                    turns: self.per_value.clone(),
                    key,
                })
            }
            None => None,
        };
        let endpoint = match ep.max_concurrency {
            Some(n) => {
                let sem = self
                    .per_endpoint
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .entry(ep.path)
                    .or_insert_with(|| Arc::new(tokio::sync::Semaphore::new(n as usize)))
                    .clone();
                sem.acquire_owned().await.ok()
            }
            None => None,
        };
        let global = match &self.global {
            Some(sem) => sem.clone().acquire_owned().await.ok(),
            None => None,
        };
        Permits {
            _global: global,
            _endpoint: endpoint,
            _turn: turn,
        }
    }
}

/// The value of `ep`'s `one_at_a_time_per` field in this request (query or JSON body), as text.
fn turn_value(ep: &Endpoint, query: &[(String, String)], body: &Body) -> Option<String> {
    let field = ep.one_at_a_time_per?;
    if let Some((_, v)) = query.iter().find(|(k, _)| k == field) {
        return Some(v.clone());
    }
    let Body::Json(bytes) = body else { return None };
    let mut object: serde_json::Map<String, Value> = serde_json::from_slice(bytes).ok()?;
    match object.remove(field)? {
        Value::String(s) => Some(s),
        Value::Null => None,
        other => Some(other.to_string()),
    }
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
    fetch_policy: Option<FetchPolicy>,
    retry: Option<RetryPolicy>,
    max_concurrency: Option<usize>,
    provider: Option<(TokenKind, Arc<dyn TokenProvider>)>,
    http: Option<reqwest::Client>,
    budgets: Option<crate::limits::Budgets>,
    drift_sampling: f64,
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
    /// The corp id (企业ID). With a [`token_provider`](Self::token_provider) it only names the (authorized)
    /// corp whose rate budgets the calls draw on.
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
    /// How token fetches back off after a failure and wait for another process's fetch; default
    /// [`FetchPolicy::default`] (1 s backoff doubling up to 30 s; 10 s lease, 3 s wait).
    pub fn token_fetch_policy(mut self, policy: FetchPolicy) -> Self {
        self.fetch_policy = Some(policy);
        self
    }
    /// How idempotent calls are retried; default [`RetryPolicy::default`] (3 attempts, 200 ms doubling up to
    /// 2 s, with jitter). [`RetryPolicy::none`] turns retries off.
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = Some(policy);
        self
    }
    /// At most `n` requests of this client in flight at once (off by default); excess callers queue. Endpoints
    /// with a limit of their own in the spec (e.g. `externalcontact/remark`: 5) are limited as well.
    pub fn max_concurrency(mut self, n: usize) -> Self {
        self.max_concurrency = Some(n.max(1));
        self
    }
    /// Use your own token source instead of corp id + secret, e.g. a third-party suite's
    /// `suite_access_token` (`TokenKind::Suite`) or an authorized corp's token (`TokenKind::Access`).
    /// Endpoints that take another kind of token are refused before any request is sent.
    pub fn token_provider(mut self, kind: TokenKind, provider: Arc<dyn TokenProvider>) -> Self {
        self.provider = Some((kind, provider));
        self
    }
    /// The rate budgets the calls draw on; default [`Budgets::default`](crate::Budgets::default) (on, at WeCom's
    /// documented limits, waiting up to 60 s). [`Budgets::off`](crate::Budgets::off) turns them off; clients
    /// built with clones of one `Budgets` share its limiters.
    pub fn budgets(mut self, budgets: crate::limits::Budgets) -> Self {
        self.budgets = Some(budgets);
        self
    }
    /// Compare a share of the JSON answers against the spec's field tree of their endpoint and report what
    /// differs (fields the spec lacks, kinds that differ, enum codes outside the list, required fields absent)
    /// through tracing (target `wecom_externalcontact::drift`) and [`Client::drift_report`]: see
    /// [`drift`](crate::drift). `share` is in [0, 1]: 0 (the default) off, 0.01 one answer in a hundred, 1
    /// every answer. Reports hold field paths and JSON kinds, never a value.
    pub fn drift_sampling(mut self, share: f64) -> Self {
        self.drift_sampling = share;
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
        let client = match self.http {
            Some(c) => c,
            None => crate::transport::default_client(self.timeout.unwrap_or(crate::transport::DEFAULT_TIMEOUT))?,
        };
        let http = Http::new(client, base.trim_end_matches('/').to_string());
        let budget_corp = match (&self.corp_id, &self.provider) {
            (Some(id), _) => id.trim().to_string(),
            (None, Some((kind, _))) => format!("({kind:?} token)"),
            (None, None) => String::new(),
        };
        let hold_store = self.store.clone();
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
                let shared = Arc::new(SharedFetch::with_policy(store, self.fetch_policy.unwrap_or_default()));
                let p = Arc::new(CorpTokenProvider::new(corp_id, secret, shared, http.clone()));
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
                retry: self.retry.unwrap_or_default(),
                limits: Limits {
                    global: self.max_concurrency.map(|n| Arc::new(tokio::sync::Semaphore::new(n))),
                    ..Limits::default()
                },
                budgets: self.budgets.unwrap_or_default().with_store(hold_store),
                budget_corp,
                drift: crate::drift::Sampler::new(self.drift_sampling),
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

impl Client {
    /// The drift found so far in this process (each distinct endpoint, field path and kind of drift once):
    /// see [`ClientBuilder::drift_sampling`] and [`drift`](crate::drift).
    pub fn drift_report(&self) -> Vec<crate::drift::Drift> {
        crate::drift::report()
    }

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

    /// One call, typed: `decode` turns the answer's bytes into `T` (its errcode checked in the same pass).
    /// Only this thin shell is generic; the pipeline under it ([`run_raw`](Self::run_raw)) is compiled once for
    /// every endpoint.
    async fn run<T: Send>(
        &self,
        ep: &'static Endpoint,
        query: &[(String, String)],
        body: Body,
        decode: fn(&str, &[u8], bool) -> Result<T>,
    ) -> Result<T> {
        let mut out = None;
        let mut decode_into = |path: &str, bytes: &[u8], show_body: bool| {
            out = Some(decode(path, bytes, show_body)?);
            Ok(())
        };
        self.run_raw(ep, query, body, &mut decode_into).await?;
        out.ok_or_else(|| Error::Decode {
            endpoint: ep.path.to_string(),
            message: "the answer was not decoded".into(),
            excerpt: String::new(),
        })
    }

    /// Sends one request and decodes its answer (one pass), in one `wecom.call` span:
    /// - on an errcode of class `TokenInvalid` the token is dropped and the call replayed once (never more;
    ///   `token::Replay` holds that rule for the token providers too);
    /// - an idempotent endpoint is retried on an errcode of class `Retryable` and on transport failures before
    ///   any answer, per the retry policy; writes never are; `Throttled` and `Fatal` codes come back at once;
    /// - each attempt waits for the endpoint's and the client's concurrency limits.
    ///
    /// `decode` reads an answer (and reports its errcode as an error); after a failed attempt it may run again.
    async fn run_raw(
        &self,
        ep: &'static Endpoint,
        query: &[(String, String)],
        body: Body,
        decode: &mut DecodeInto<'_>,
    ) -> Result<()> {
        self.check_kind(ep)?;
        let span = tracing::info_span!(
            "wecom.call",
            endpoint = ep.path,
            method = ep.method.as_str(),
            attempt = tracing::field::Empty,
            errcode = tracing::field::Empty,
            outcome = tracing::field::Empty,
            duration_ms = tracing::field::Empty,
            budget_wait_ms = tracing::field::Empty,
        );
        let started = crate::clock::now();
        let result = self.attempts(ep, query, body, decode).instrument(span.clone()).await;
        let _entered = span.enter();
        span.record(
            "duration_ms",
            u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        );
        match &result {
            Ok(_) => {
                span.record("outcome", "ok");
            }
            Err(e) => {
                let outcome = match e {
                    Error::Api { .. } => "api_error",
                    Error::Transport { .. } => "transport_error",
                    Error::Timeout { .. } => "timeout",
                    Error::Decode { .. } => "decode_error",
                    Error::Throttled { .. } => "throttled",
                    _ => "error",
                };
                span.record("outcome", outcome);
                if let Some(code) = e.errcode() {
                    span.record("errcode", code);
                }
                match e {
                    Error::Api { errcode, .. } => tracing::debug!(errcode, "call failed"),
                    Error::Transport { status, .. } => tracing::warn!(status, "call failed: {e}"),
                    _ => tracing::warn!("call failed: {e}"),
                }
            }
        }
        result
    }

    async fn attempts(
        &self,
        ep: &'static Endpoint,
        query: &[(String, String)],
        body: Body,
        decode: &mut DecodeInto<'_>,
    ) -> Result<()> {
        // The body of a call without a token (gettoken) holds a token: keep it out of errors.
        let show_body = ep.token != TokenKind::None;
        let policy = self.inner.retry;
        let mut replay = Replay::once();
        let mut attempt = 1u32;
        let turn = turn_value(ep, query, &body);
        let mut budget_wait = Duration::ZERO;
        loop {
            tracing::Span::current().record("attempt", attempt);
            let token = match ep.token.query_name() {
                Some(_) => Some(self.inner.tokens.provider.token().await?),
                None => None,
            };
            let mut q: Vec<(&str, &str)> = query.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            if let (Some(name), Some(t)) = (ep.token.query_name(), token.as_ref()) {
                q.push((name, t.expose()));
            }
            let permits = self.inner.limits.acquire(ep, turn.as_deref()).await;
            let slot = self.inner.budgets.slot(&self.inner.budget_corp, ep).await;
            budget_wait += self.inner.budgets.admit(&self.inner.budget_corp, ep).await?;
            tracing::Span::current().record(
                "budget_wait_ms",
                u64::try_from(budget_wait.as_millis()).unwrap_or(u64::MAX),
            );
            let sent = self.inner.http.send(ep.method, ep.path, &q, body.clone()).await;
            let outcome = match sent {
                Ok(bytes) => {
                    let decoded = decode(ep.path, &bytes, show_body);
                    // A typed decode failure of a successful answer is drift too (a retyped field).
                    if matches!(decoded, Ok(()) | Err(Error::Decode { .. })) {
                        self.inner.drift.maybe_check(ep.path, &bytes);
                    }
                    decoded.map_err(|error| Failure {
                        error,
                        before_answer: false,
                    })
                }
                Err(f) => Err(f),
            };
            drop(permits);
            let failure = match outcome {
                Ok(v) => {
                    slot.succeeded();
                    return Ok(v);
                }
                Err(f) => f,
            };
            if failure.error.errcode() == Some(crate::errcode::CONCURRENCY_LIMIT) {
                let limit = slot.overloaded();
                tracing::debug!(limit, "45033: this endpoint's concurrency for the corp is halved");
            } else {
                drop(slot);
            }
            // A refused token: dropped and the call replayed once (only a call that carried a token).
            if replay
                .after(&failure.error, token.as_ref(), &*self.inner.tokens.provider)
                .await
            {
                continue;
            }
            let retry_reason = match (&failure.error, failure.error.class()) {
                (
                    Error::Api {
                        errcode: crate::errcode::FREQUENCY_LIMIT,
                        errmsg,
                        ..
                    },
                    _,
                ) => {
                    let corp = &self.inner.budget_corp;
                    if self.inner.budgets.frequency_blocked(corp, ep, errmsg).await && ep.idempotent {
                        // Waited out by the next attempt's admission (no attempt is counted: no call was made).
                        continue;
                    }
                    return Err(failure.error);
                }
                (_, Some(ErrorClass::Throttled(Throttle::Concurrency))) => "errcode 45033 (too many concurrent calls)",
                (_, Some(class)) if class.retried_on_reads() => "retryable errcode",
                (Error::Transport { .. }, _) if failure.before_answer => "no answer",
                _ => return Err(failure.error),
            };
            if !ep.idempotent || attempt >= policy.max_attempts {
                return Err(failure.error);
            }
            attempt += 1;
            let delay = policy.delay_before(attempt);
            tracing::warn!(
                reason = retry_reason,
                errcode = failure.error.errcode(),
                status = failure.error.http_status(),
                next_attempt = attempt,
                delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                "retrying an idempotent call"
            );
            crate::clock::sleep(delay).await;
        }
    }

    /// Refuses a request that breaks one of the endpoint's [`RequestRule`](crate::catalog::RequestRule)s,
    /// naming the rule and its fields, before anything is sent.
    fn check_rules<Req: Serialize>(ep: &Endpoint, request: &Req) -> Result<()> {
        if ep.rules.is_empty() {
            return Ok(());
        }
        let value = serde_json::to_value(request).map_err(|e| Error::InvalidRequest {
            endpoint: ep.path.to_string(),
            message: e.to_string(),
        })?;
        match crate::catalog::RequestRule::broken(ep, &value) {
            None => Ok(()),
            Some(rule) => Err(Error::InvalidRequest {
                endpoint: ep.path.to_string(),
                message: format!("the request breaks the rule {rule} (nothing was sent)"),
            }),
        }
    }

    /// The request of a JSON endpoint as a query (GET) or a body (POST).
    fn encode<Req: Serialize>(ep: &Endpoint, request: &Req) -> Result<(Vec<(String, String)>, Body)> {
        Self::check_rules(ep, request)?;
        if ep.upload.is_some() {
            return Err(Error::InvalidRequest {
                endpoint: ep.path.to_string(),
                message: "this endpoint is an upload: use its typed method with an Upload".into(),
            });
        }
        Ok(match ep.method {
            HttpMethod::Get => (to_query(ep.path, request)?, Body::None),
            HttpMethod::Post => {
                let body = serde_json::to_vec(request).map_err(|e| Error::InvalidRequest {
                    endpoint: ep.path.to_string(),
                    message: e.to_string(),
                })?;
                (Vec::new(), Body::Json(body.into()))
            }
        })
    }

    /// The pipeline of every generated JSON endpoint method.
    pub(crate) async fn execute<Req: Serialize, Resp: DeserializeOwned + Send>(
        &self,
        ep: &'static Endpoint,
        request: &Req,
    ) -> Result<Resp> {
        let (query, body) = Self::encode(ep, request)?;
        self.run(ep, &query, body, crate::envelope::decode::<Resp>).await
    }

    /// The pipeline of multipart uploads: the request's fields go in the query string.
    #[allow(dead_code)] // used by generated upload methods, present with their group's feature
    pub(crate) async fn execute_upload<Req: Serialize, Resp: DeserializeOwned + Send>(
        &self,
        ep: &'static Endpoint,
        request: &Req,
        file: Upload,
    ) -> Result<Resp> {
        Self::check_rules(ep, request)?;
        let query = to_query(ep.path, request)?;
        let body = Body::Multipart {
            part: ep.upload.unwrap_or("media").to_string(),
            filename: file.filename,
            content_type: file.content_type,
            bytes: file.bytes.into(),
        };
        self.run(ep, &query, body, crate::envelope::decode::<Resp>).await
    }

    /// Calls any catalogued endpoint by path (e.g. `"externalcontact/groupchat/get"`) with a JSON request,
    /// through the same pipeline as the typed methods: the JSON is first checked against the endpoint's
    /// typed request model (unknown or mistyped fields are an [`Error::InvalidRequest`] before anything is
    /// sent), and the response is decoded into its typed model and returned as JSON. GET endpoints take the
    /// object's fields as query parameters.
    pub async fn call(&self, path: &str, request: Value) -> Result<Value> {
        let (ep, ops) = crate::catalog::lookup(path)?;
        let checked = (ops.check_request)(ep.path, &request)?;
        let (query, body) = Self::encode(ep, &checked)?;
        self.run(ep, &query, body, ops.decode_response).await
    }
}

/// Uses `mark_tag` (group `tag`) and `remark` (group `customer`) from the catalog.
#[cfg(all(test, feature = "tag", feature = "customer"))]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn mark_tag() -> &'static Endpoint {
        let ep = crate::catalog::endpoint("externalcontact/mark_tag").expect("in the catalog");
        assert_eq!(ep.one_at_a_time_per, Some("external_userid"));
        ep
    }

    // On the paused clock the 50 ms timeout below ends only once nothing else can run: the second caller has
    // had every chance to get its turn.
    #[tokio::test(start_paused = true)]
    async fn one_turn_per_value_and_no_entry_left_behind() {
        let (ep, limits) = (mark_tag(), Limits::default());
        let first = limits.acquire(ep, Some("wm1")).await;
        let other = limits.acquire(ep, Some("wm2")).await;
        let same = limits.acquire(ep, Some("wm1"));
        tokio::pin!(same);
        let waited = tokio::time::timeout(Duration::from_millis(50), same.as_mut()).await;
        assert!(
            waited.is_err(),
            "a second caller of wm1 waits while the first holds its turn"
        );
        drop(first);
        let second = tokio::time::timeout(Duration::from_secs(5), same)
            .await
            .expect("its turn comes");
        assert_eq!(limits.per_value.lock().unwrap().len(), 2, "wm1 (second caller) and wm2");
        drop((second, other));
        assert!(
            limits.per_value.lock().unwrap().is_empty(),
            "entries go with their last user"
        );
        let none = limits.acquire(ep, None).await;
        assert!(none._turn.is_none() && limits.per_value.lock().unwrap().is_empty());
    }

    #[test]
    fn the_turn_value_comes_from_the_body_or_the_query() {
        let ep = mark_tag();
        let body = Body::Json(Bytes::from_static(br#"{"userid":"u","external_userid":"wm1"}"#));
        assert_eq!(turn_value(ep, &[], &body).as_deref(), Some("wm1"));
        let query = [("external_userid".to_string(), "wm2".to_string())];
        assert_eq!(turn_value(ep, &query, &Body::None).as_deref(), Some("wm2"));
        let number = Body::Json(Bytes::from_static(br#"{"external_userid":7}"#));
        assert_eq!(turn_value(ep, &[], &number).as_deref(), Some("7"));
        let absent = Body::Json(Bytes::from_static(br#"{"userid":"u"}"#));
        assert_eq!(turn_value(ep, &[], &absent), None);
        let unkeyed = crate::catalog::endpoint("externalcontact/remark").unwrap();
        assert_eq!(turn_value(unkeyed, &[], &body), None, "remark has no one_at_a_time_per");
    }
}

//! Access tokens: fetched from `/cgi-bin/gettoken`, cached, refreshed before they expire, and shared.
//!
//! Concurrent callers share one fetch: 200 simultaneous first calls make exactly one `gettoken` request.
//! When WeCom rejects a token (40001, 40014, 42001) the client drops exactly that token
//! ([`TokenProvider::invalidate`]) and asks again, so concurrent callers that saw the same rejection also
//! share one refresh.

use crate::catalog::TokenKind;
use crate::{Error, Result};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A boxed, `Send` future: what the token traits return, so they can be used as trait objects.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A secret string (corpsecret, token). `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    /// The secret itself. Only pass it to WeCom.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Secret(s)
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Secret(s.to_string())
    }
}

/// A token and the moment after which it must not be used any more.
#[derive(Clone, Debug)]
pub struct CachedToken {
    /// The token.
    pub token: Secret,
    /// When to stop using it (already shortened by a safety margin).
    pub refresh_at: Instant,
}

impl CachedToken {
    /// A token valid for `expires_in` seconds from now; it is refreshed early by a margin of a tenth of its
    /// life, at most five minutes.
    pub fn new(token: impl Into<Secret>, expires_in: Duration) -> Self {
        let margin = (expires_in / 10).min(Duration::from_secs(300));
        CachedToken {
            token: token.into(),
            refresh_at: Instant::now() + expires_in.saturating_sub(margin),
        }
    }
    /// Still good to use?
    pub fn is_fresh(&self) -> bool {
        Instant::now() < self.refresh_at
    }
}

/// Where a fetched token is kept. The default is in memory; implement this to share tokens between
/// processes (e.g. in Redis), since WeCom limits how often `gettoken` may be called.
pub trait TokenStore: Send + Sync + 'static {
    /// The stored token, if any.
    fn get(&self) -> BoxFuture<'_, Option<CachedToken>>;
    /// Stores a freshly fetched token.
    fn set(&self, token: CachedToken) -> BoxFuture<'_, ()>;
    /// Drops the stored token if it is `failed` (and keeps a newer one).
    fn clear_if(&self, failed: &str) -> BoxFuture<'_, ()>;
}

/// The default [`TokenStore`]: one token in memory.
#[derive(Default, Debug)]
pub struct MemoryTokenStore {
    slot: std::sync::Mutex<Option<CachedToken>>,
}

impl TokenStore for MemoryTokenStore {
    fn get(&self) -> BoxFuture<'_, Option<CachedToken>> {
        let v = self.slot.lock().map(|g| g.clone()).unwrap_or(None);
        Box::pin(async move { v })
    }
    fn set(&self, token: CachedToken) -> BoxFuture<'_, ()> {
        if let Ok(mut g) = self.slot.lock() {
            *g = Some(token);
        }
        Box::pin(async {})
    }
    fn clear_if(&self, failed: &str) -> BoxFuture<'_, ()> {
        if let Ok(mut g) = self.slot.lock() {
            if g.as_ref().is_some_and(|t| t.token.expose() == failed) {
                *g = None;
            }
        }
        Box::pin(async {})
    }
}

/// Hands the client a token. The client uses [`CorpTokenProvider`] when given a corp id and a secret; give
/// your own for a third-party suite (`suite_access_token`), a provider token, or tokens managed elsewhere.
pub trait TokenProvider: Send + Sync + 'static {
    /// A token to use now.
    fn token(&self) -> BoxFuture<'_, Result<Secret>>;
    /// WeCom rejected `failed` as invalid or expired: forget it, so the next [`token`](Self::token) call
    /// gets a new one. The default does nothing.
    fn invalidate(&self, failed: &str) -> BoxFuture<'_, ()> {
        let _ = failed;
        Box::pin(async {})
    }
}

/// A fixed token (for tests, or tokens refreshed outside this process).
#[derive(Clone, Debug)]
pub struct StaticToken(pub Secret);

impl StaticToken {
    /// A provider that always hands out `token`.
    pub fn new(token: impl Into<Secret>) -> Self {
        StaticToken(token.into())
    }
}

impl TokenProvider for StaticToken {
    fn token(&self) -> BoxFuture<'_, Result<Secret>> {
        let t = self.0.clone();
        Box::pin(async move { Ok(t) })
    }
}

/// Fetches a corp `access_token` from `/cgi-bin/gettoken` with a corp id and a secret (the 客户联系 secret,
/// or a self-built app's secret configured as 可调用应用), caches it in a [`TokenStore`], and makes
/// concurrent callers share one fetch.
pub struct CorpTokenProvider {
    corp_id: String,
    secret: Secret,
    store: Arc<dyn TokenStore>,
    fetch_lock: tokio::sync::Mutex<()>,
    http: crate::client::Http,
    fetches: std::sync::atomic::AtomicU64,
}

impl fmt::Debug for CorpTokenProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CorpTokenProvider")
            .field("corp_id", &self.corp_id)
            .field("secret", &self.secret)
            .finish_non_exhaustive()
    }
}

impl CorpTokenProvider {
    pub(crate) fn new(corp_id: String, secret: Secret, store: Arc<dyn TokenStore>, http: crate::client::Http) -> Self {
        CorpTokenProvider {
            corp_id,
            secret,
            store,
            fetch_lock: tokio::sync::Mutex::new(()),
            http,
            fetches: Default::default(),
        }
    }

    /// How many times this provider has called `gettoken`.
    pub fn fetch_count(&self) -> u64 {
        self.fetches.load(std::sync::atomic::Ordering::Relaxed)
    }

    async fn fresh_stored(&self) -> Option<Secret> {
        self.store.get().await.filter(CachedToken::is_fresh).map(|t| t.token)
    }

    async fn fetch(&self) -> Result<CachedToken> {
        self.fetches.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        tracing::debug!(corp_id = %self.corp_id, "fetching access_token");
        // The request is written out here so the secret stays in `Secret` until it goes on the wire; the
        // response is the spec's `GettokenResponse`.
        let endpoint = crate::models::EP_GETTOKEN.path;
        let query = [("corpid", self.corp_id.as_str()), ("corpsecret", self.secret.expose())];
        let bytes = self.http.get(endpoint, &query).await?;
        crate::client::check_errcode(endpoint, &bytes, false)?;
        let r: crate::models::GettokenResponse = serde_json::from_slice(&bytes).map_err(|e| Error::Decode {
            endpoint: endpoint.into(),
            message: e.to_string(),
            excerpt: String::new(),
        })?;
        if r.access_token.is_empty() {
            return Err(Error::Decode {
                endpoint: endpoint.into(),
                message: "no access_token in the response".into(),
                excerpt: String::new(),
            });
        }
        let life = if r.expires_in == 0 { 7200 } else { r.expires_in };
        Ok(CachedToken::new(r.access_token, Duration::from_secs(life)))
    }
}

impl TokenProvider for CorpTokenProvider {
    fn token(&self) -> BoxFuture<'_, Result<Secret>> {
        Box::pin(async move {
            if let Some(t) = self.fresh_stored().await {
                return Ok(t);
            }
            let _guard = self.fetch_lock.lock().await;
            // Whoever held the lock before us may have fetched already.
            if let Some(t) = self.fresh_stored().await {
                return Ok(t);
            }
            let fresh = self.fetch().await?;
            let token = fresh.token.clone();
            self.store.set(fresh).await;
            Ok(token)
        })
    }

    fn invalidate(&self, failed: &str) -> BoxFuture<'_, ()> {
        let failed = failed.to_string();
        Box::pin(async move {
            tracing::debug!("dropping a rejected access_token");
            self.store.clear_if(&failed).await
        })
    }
}

/// What a client holds: a provider and the kind of token it hands out.
#[derive(Clone)]
pub(crate) struct TokenSource {
    pub(crate) kind: TokenKind,
    pub(crate) provider: Arc<dyn TokenProvider>,
}

//! Tokens: fetched, cached, refreshed before they expire, and shared — within a process and across a fleet.
//!
//! - [`TokenStore`] keeps tokens by key ([`MemoryTokenStore`] by default; `RedisTokenStore` with the `redis`
//!   feature for several processes). Values are [`CachedToken`]s with a wall-clock expiry.
//! - [`SharedFetch`] is the one piece every provider builds on: single flight per key, a fleet-wide fetch lease,
//!   failure backoff (shared with the fleet through the store as a [`FetchFailure`] when WeCom refuses),
//!   compare-and-delete invalidation, and direct fetching while the store is down.
//! - [`TokenProvider`] hands the client a token; [`CorpTokenProvider`] (corp id + secret → `gettoken`) is a thin
//!   layer over [`SharedFetch`], and so are the providers of suite and provider tokens.
//!
//! Concurrent callers share one fetch: 200 simultaneous first calls make exactly one `gettoken` request, and
//! with a wrong secret they all get the same error from that one request. When WeCom rejects a token (an
//! errcode of class [`ErrorClass::TokenInvalid`](crate::errcode::ErrorClass::TokenInvalid): 40001, 40014,
//! 42001 for an access_token) the client drops exactly that token ([`TokenProvider::invalidate`]) and asks
//! again, so concurrent callers — in every process — that saw the same rejection share one refresh.

mod answer;
#[cfg(feature = "redis")]
mod redis;
mod replay;
mod shared;
mod store;
#[cfg(feature = "service")]
mod suite;

#[cfg(feature = "redis")]
pub use self::redis::{RedisTokenStore, DEFAULT_KEY_PREFIX};
pub use futures_core::future::BoxFuture;
pub(crate) use replay::Replay;
pub use shared::{FetchPolicy, SharedFetch};
pub use store::{FetchFailure, MemoryTokenStore, TokenStore};
#[cfg(feature = "service")]
#[allow(deprecated)]
pub use suite::SUITE_TOKEN_ERRCODES;
#[cfg(feature = "service")]
pub use suite::{AuthCorpTokenProvider, ProviderTokenProvider, SuiteTokenProvider};

use crate::catalog::TokenKind;
use crate::transport::Http;
use crate::Result;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A secret string (corpsecret, token). `Debug` never shows it. It serializes as the plain string, so that a
/// [`TokenStore`] can persist tokens: only serialize it into a store.
#[derive(Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
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

/// A token and the wall-clock moment after which it must not be used any more. Serializable (serde), so any
/// [`TokenStore`] can persist it; `Debug` never shows the token.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CachedToken {
    /// The token.
    pub token: Secret,
    /// Unix time in milliseconds after which it is not used any more (already shortened by a safety margin).
    pub expires_at_ms: u64,
}

/// The current unix time in milliseconds.
pub fn unix_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl CachedToken {
    /// A token WeCom says is valid for `expires_in` from now; it is used until a margin of a tenth of its
    /// life (at most five minutes) before that.
    pub fn new(token: impl Into<Secret>, expires_in: Duration) -> Self {
        let margin = (expires_in / 10).min(Duration::from_secs(300));
        let life = u64::try_from(expires_in.saturating_sub(margin).as_millis()).unwrap_or(u64::MAX);
        CachedToken {
            token: token.into(),
            expires_at_ms: unix_millis().saturating_add(life),
        }
    }

    /// A token used until `expires_at_ms` (unix milliseconds), with no further margin.
    pub fn with_expiry(token: impl Into<Secret>, expires_at_ms: u64) -> Self {
        CachedToken {
            token: token.into(),
            expires_at_ms,
        }
    }

    /// Still good to use?
    pub fn is_fresh(&self) -> bool {
        unix_millis() < self.expires_at_ms
    }

    /// How long it is still good to use (zero once it is not).
    pub fn remaining(&self) -> Duration {
        Duration::from_millis(self.expires_at_ms.saturating_sub(unix_millis()))
    }
}

/// A short hex fingerprint of a secret (the first 12 hex digits of its SHA-1): tells apart the tokens of
/// different secrets in a store's keys without revealing the secret.
pub fn fingerprint(secret: &Secret) -> String {
    use sha1::Digest;
    let digest = sha1::Sha1::digest(secret.expose().as_bytes());
    hex::encode(&digest[..6])
}

/// The store key of a token: `<kind>:<id>:<fingerprint of the secret>`, e.g.
/// `access_token:ww0123456789:3f9a0c21b7de`. Never contains the secret.
pub fn token_key(kind: &str, id: &str, secret: &Secret) -> String {
    format!("{kind}:{id}:{}", fingerprint(secret))
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
/// or a self-built app's secret configured as 可调用应用): a thin layer over [`SharedFetch`] under the key
/// [`token_key`]`("access_token", corp_id, secret)`.
pub struct CorpTokenProvider {
    corp_id: String,
    secret: Secret,
    key: String,
    shared: Arc<SharedFetch>,
    http: Http,
    fetches: AtomicU64,
}

impl fmt::Debug for CorpTokenProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CorpTokenProvider")
            .field("corp_id", &self.corp_id)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl CorpTokenProvider {
    pub(crate) fn new(corp_id: String, secret: Secret, shared: Arc<SharedFetch>, http: Http) -> Self {
        CorpTokenProvider {
            key: token_key("access_token", &corp_id, &secret),
            corp_id,
            secret,
            shared,
            http,
            fetches: AtomicU64::new(0),
        }
    }

    /// How many times this provider has called `gettoken`.
    pub fn fetch_count(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    /// The store key of its token (names the corp id and a fingerprint of the secret, never the secret).
    pub fn key(&self) -> &str {
        &self.key
    }

    async fn fetch(&self) -> Result<CachedToken> {
        self.fetches.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(corp_id = %self.corp_id, "fetching access_token");
        // The request is written out here so the secret stays in `Secret` until it goes on the wire; the
        // response is the spec's `GettokenResponse`.
        let endpoint = crate::models::EP_GETTOKEN.path;
        let query = [("corpid", self.corp_id.as_str()), ("corpsecret", self.secret.expose())];
        let r: crate::models::GettokenResponse = answer::request(
            &self.http,
            crate::catalog::HttpMethod::Get,
            endpoint,
            &query,
            crate::transport::Body::None,
        )
        .await?;
        answer::issued(endpoint, "access_token", r.access_token, r.expires_in)
    }
}

impl TokenProvider for CorpTokenProvider {
    fn token(&self) -> BoxFuture<'_, Result<Secret>> {
        Box::pin(self.shared.get(&self.key, || self.fetch()))
    }

    fn invalidate(&self, failed: &str) -> BoxFuture<'_, ()> {
        let failed = failed.to_string();
        Box::pin(async move { self.shared.invalidate(&self.key, &failed).await })
    }
}

/// What a client holds: a provider and the kind of token it hands out.
#[derive(Clone)]
pub(crate) struct TokenSource {
    pub(crate) kind: TokenKind,
    pub(crate) provider: Arc<dyn TokenProvider>,
}

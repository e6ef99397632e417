//! Where tokens are kept: the [`TokenStore`] trait and the in-memory default.

use super::CachedToken;
use crate::clock::Instant;
use crate::Result;
use futures_core::future::BoxFuture;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

/// Where fetched tokens are kept, by key. One store holds any number of tokens: corp access tokens, suite
/// tokens, suite tickets, provider tokens; the providers name them with keys such as
/// `access_token:<corp id>:<secret fingerprint>` (see [`token_key`](super::token_key)), never with a secret.
///
/// The default is [`MemoryTokenStore`]. Implement this (or use `RedisTokenStore` with the `redis` feature)
/// to share tokens between processes, since WeCom limits how often `gettoken` may be called. Values are
/// [`CachedToken`]s, which serialize (serde) with their wall-clock expiry, so any store can persist them.
///
/// Every method can fail (a store on the network may be down): [`SharedFetch`](super::SharedFetch) then
/// fetches tokens directly and warns once per outage.
pub trait TokenStore: Send + Sync + 'static {
    /// The token stored under `key`, if any (expired or not).
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<CachedToken>>>;

    /// Stores `token` under `key`, replacing what was there. A store that can expire entries should expire
    /// this one at [`CachedToken::expires_at_ms`].
    fn set<'a>(&'a self, key: &'a str, token: &'a CachedToken) -> BoxFuture<'a, Result<()>>;

    /// Compare-and-delete: drops the token under `key` only if it is `failed` (a newer token stays).
    /// Returns whether it dropped one.
    fn clear_if<'a>(&'a self, key: &'a str, failed: &'a str) -> BoxFuture<'a, Result<bool>>;

    /// Tries to take the fetch lease of `key` for `ttl` (`SET NX PX`): `true` when `owner` now holds it.
    /// Holding the lease means "I am fetching this token; wait for it in the store". The default grants
    /// every request (no coordination beyond one process).
    fn try_lease<'a>(&'a self, key: &'a str, owner: &'a str, ttl: Duration) -> BoxFuture<'a, Result<bool>> {
        let _ = (key, owner, ttl);
        Box::pin(async { Ok(true) })
    }

    /// Releases the lease of `key` if `owner` still holds it (an expired lease taken over by another owner
    /// stays theirs).
    fn release<'a>(&'a self, key: &'a str, owner: &'a str) -> BoxFuture<'a, Result<()>> {
        let _ = (key, owner);
        Box::pin(async { Ok(()) })
    }

    /// The last failed fetch of `key` that some process shared with [`set_failure`](Self::set_failure), if it
    /// has not expired. While its [`retry_at_ms`](FetchFailure::retry_at_ms) lies ahead, nobody in the fleet
    /// fetches `key`: callers get its error. The default shares nothing.
    fn get_failure<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<FetchFailure>>> {
        let _ = key;
        Box::pin(async { Ok(None) })
    }

    /// Shares the failed fetch of `key` with the fleet for `ttl` (`Some`), or forgets it after a successful
    /// fetch (`None`). The default shares nothing.
    fn set_failure<'a>(
        &'a self,
        key: &'a str,
        failure: Option<&'a FetchFailure>,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<()>> {
        let _ = (key, failure, ttl);
        Box::pin(async { Ok(()) })
    }
}

/// A token fetch that WeCom refused (an errcode), as a fleet shares it through its [`TokenStore`], so that a
/// wrong secret costs one `gettoken` per backoff window in the whole fleet, not one per process. It holds
/// the errcode and WeCom's message, never a secret or a token.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct FetchFailure {
    /// The token endpoint that refused (e.g. `gettoken`).
    pub endpoint: String,
    /// WeCom's errcode.
    pub errcode: i64,
    /// WeCom's errmsg.
    pub errmsg: String,
    /// Failed fetches in a row, fleet-wide; the backoff grows with it.
    pub failures: u32,
    /// Unix time in milliseconds before which nobody fetches this token again.
    pub retry_at_ms: u64,
}

impl FetchFailure {
    /// A shared failure of `endpoint` with WeCom's `errcode` and `errmsg`, the `failures`-th in a row, that
    /// holds fetches back until `retry_at_ms` (unix ms).
    pub fn new(
        endpoint: impl Into<String>,
        errcode: i64,
        errmsg: impl Into<String>,
        failures: u32,
        retry_at_ms: u64,
    ) -> Self {
        FetchFailure {
            endpoint: endpoint.into(),
            errcode,
            errmsg: errmsg.into(),
            failures,
            retry_at_ms,
        }
    }

    /// The refusal in `error`, if it is one (an errcode: transport failures are not shared, they may be one
    /// host's network), as the `failures`-th in a row holding fetches back until `retry_at_ms`.
    pub fn from_error(error: &crate::Error, failures: u32, retry_at_ms: u64) -> Option<Self> {
        match error {
            crate::Error::Api {
                endpoint,
                errcode,
                errmsg,
            } => Some(Self::new(
                endpoint.clone(),
                *errcode,
                errmsg.clone(),
                failures,
                retry_at_ms,
            )),
            _ => None,
        }
    }

    /// The error callers get while the failure holds.
    pub fn to_error(&self) -> crate::Error {
        crate::Error::Api {
            endpoint: self.endpoint.clone(),
            errcode: self.errcode,
            errmsg: self.errmsg.clone(),
        }
    }
}

/// The default [`TokenStore`]: tokens and leases in this process's memory. Share one `Arc` of it between
/// clients to share their tokens.
#[derive(Default)]
pub struct MemoryTokenStore {
    inner: Mutex<MemoryInner>,
}

#[derive(Default)]
struct MemoryInner {
    tokens: HashMap<String, CachedToken>,
    leases: HashMap<String, (String, Instant)>,
    failures: HashMap<String, (FetchFailure, Instant)>,
}

impl std::fmt::Debug for MemoryTokenStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let keys: Vec<String> = self.lock().tokens.keys().cloned().collect();
        f.debug_struct("MemoryTokenStore").field("keys", &keys).finish()
    }
}

impl MemoryTokenStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, MemoryInner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl TokenStore for MemoryTokenStore {
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<CachedToken>>> {
        let v = self.lock().tokens.get(key).cloned();
        Box::pin(async move { Ok(v) })
    }

    fn set<'a>(&'a self, key: &'a str, token: &'a CachedToken) -> BoxFuture<'a, Result<()>> {
        self.lock().tokens.insert(key.to_string(), token.clone());
        Box::pin(async { Ok(()) })
    }

    fn clear_if<'a>(&'a self, key: &'a str, failed: &'a str) -> BoxFuture<'a, Result<bool>> {
        let mut g = self.lock();
        let hit = g.tokens.get(key).is_some_and(|t| t.token.expose() == failed);
        if hit {
            g.tokens.remove(key);
        }
        Box::pin(async move { Ok(hit) })
    }

    fn try_lease<'a>(&'a self, key: &'a str, owner: &'a str, ttl: Duration) -> BoxFuture<'a, Result<bool>> {
        let mut g = self.lock();
        let now = Instant::now();
        let free = g.leases.get(key).is_none_or(|(_, until)| *until <= now);
        if free {
            g.leases.insert(key.to_string(), (owner.to_string(), now + ttl));
        }
        Box::pin(async move { Ok(free) })
    }

    fn release<'a>(&'a self, key: &'a str, owner: &'a str) -> BoxFuture<'a, Result<()>> {
        let mut g = self.lock();
        if g.leases.get(key).is_some_and(|(o, _)| o == owner) {
            g.leases.remove(key);
        }
        Box::pin(async { Ok(()) })
    }

    fn get_failure<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<FetchFailure>>> {
        let now = Instant::now();
        let v = self
            .lock()
            .failures
            .get(key)
            .filter(|(_, until)| *until > now)
            .map(|(f, _)| f.clone());
        Box::pin(async move { Ok(v) })
    }

    fn set_failure<'a>(
        &'a self,
        key: &'a str,
        failure: Option<&'a FetchFailure>,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<()>> {
        let mut g = self.lock();
        match failure {
            Some(f) => {
                g.failures.insert(key.to_string(), (f.clone(), Instant::now() + ttl));
            }
            None => {
                g.failures.remove(key);
            }
        }
        Box::pin(async { Ok(()) })
    }
}

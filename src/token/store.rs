//! Where tokens are kept: the [`TokenStore`] trait and the in-memory default.

use super::CachedToken;
use crate::Result;
use futures_core::future::BoxFuture;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

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
}

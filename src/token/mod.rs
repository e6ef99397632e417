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
mod cached;
mod corp;
mod key;
mod provider;
#[cfg(feature = "redis")]
mod redis;
mod replay;
mod shared;
mod store;
#[cfg(feature = "service")]
mod suite;

#[cfg(feature = "redis")]
pub use self::redis::{RedisTokenStore, DEFAULT_KEY_PREFIX};
pub use crate::secret::Secret;
pub use cached::{unix_millis, CachedToken};
pub use corp::CorpTokenProvider;
pub use futures_core::future::BoxFuture;
pub use key::{fingerprint, token_key};
pub(crate) use provider::TokenSource;
pub use provider::{StaticToken, TokenProvider};
pub(crate) use replay::Replay;
pub use shared::{FetchPolicy, SharedFetch};
pub use store::{FetchFailure, MemoryTokenStore, TokenStore};
#[cfg(feature = "service")]
#[allow(deprecated)]
pub use suite::SUITE_TOKEN_ERRCODES;
#[cfg(feature = "service")]
pub use suite::{AuthCorpTokenProvider, ProviderTokenProvider, SuiteTokenProvider};

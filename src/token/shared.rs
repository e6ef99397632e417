//! [`SharedFetch`]: the one component every token provider builds on.
//!
//! Given a key and an async fetch, it hands out the stored token while it is fresh and otherwise makes sure
//! that one fetch runs for everybody who needs it:
//!
//! - **in this process**, callers of one key wait on one fetch and share its result, success or error;
//! - **across a fleet**, the fetcher takes a lease in the [`TokenStore`] (`SET NX PX`); other processes wait a
//!   bounded time for the token to appear in the store, and fetch themselves only when it does not;
//! - **after a failure**, no new fetch starts for a while (1 s, doubling on each further failure up to 30 s by
//!   default); callers in that window get the last error at once, so a wrong secret cannot turn into a storm
//!   of `gettoken` errors (WeCom blocks `gettoken` for an hour after about 2,000 errors in an hour). A
//!   refusal (an errcode) is shared through the store ([`FetchFailure`]), so the backoff holds for the whole
//!   fleet: N processes with a wrong secret make one `gettoken` per backoff window, not N;
//! - **invalidation** is compare-and-delete: dropping a rejected token never drops a newer one;
//! - **when the store is unreachable**, tokens are fetched directly and kept in this process; one `warn!`
//!   per outage, not per call.

use super::{unix_millis, CachedToken, FetchFailure, Secret, TokenStore};
use crate::clock::{self, Instant};
use crate::{Error, Result};
use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How [`SharedFetch`] waits, leases and backs off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct FetchPolicy {
    /// No new fetch of a key for this long after a failed one (default 1 s).
    pub backoff_initial: Duration,
    /// The backoff doubles on each further failure up to this (default 30 s).
    pub backoff_max: Duration,
    /// How long a fleet fetch lease lasts if its holder never releases it (default 10 s).
    pub lease_ttl: Duration,
    /// How long a process waits for another's fetch to land in the store before fetching itself (default 3 s).
    pub lease_wait: Duration,
    /// How often it looks while waiting (default 25 ms).
    pub poll_interval: Duration,
}

impl Default for FetchPolicy {
    fn default() -> Self {
        FetchPolicy {
            backoff_initial: Duration::from_secs(1),
            backoff_max: Duration::from_secs(30),
            lease_ttl: Duration::from_secs(10),
            lease_wait: Duration::from_secs(3),
            poll_interval: Duration::from_millis(25),
        }
    }
}

impl FetchPolicy {
    /// Sets the failure backoff: `initial` after the first failure, doubling up to `max`.
    #[must_use]
    pub fn backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.backoff_initial = initial;
        self.backoff_max = max.max(initial);
        self
    }

    /// Sets the fleet lease: its time to live, and how long others wait for the leaseholder's token.
    #[must_use]
    pub fn lease(mut self, ttl: Duration, wait: Duration) -> Self {
        self.lease_ttl = ttl;
        self.lease_wait = wait;
        self
    }

    fn backoff_after(&self, failures: u32) -> Duration {
        let factor = 1u32 << failures.saturating_sub(1).min(16);
        self.backoff_initial.saturating_mul(factor).min(self.backoff_max)
    }
}

/// Single-flight, fleet-wide, backed-off token fetching over a [`TokenStore`], for any number of keys.
///
/// ```no_run
/// # async fn demo() -> wecom_externalcontact::Result<()> {
/// use std::sync::Arc;
/// use std::time::Duration;
/// use wecom_externalcontact::token::{CachedToken, MemoryTokenStore, SharedFetch};
/// let shared = SharedFetch::new(Arc::new(MemoryTokenStore::new()));
/// let token = shared
///     .get("suite_token:ww-suite:1a2b3c", || async {
///         // call WeCom here
///         Ok(CachedToken::new("fetched", Duration::from_secs(7200)))
///     })
///     .await?;
/// # let _ = token; Ok(()) }
/// ```
pub struct SharedFetch {
    store: Arc<dyn TokenStore>,
    policy: FetchPolicy,
    keys: Mutex<HashMap<String, Arc<KeyState>>>,
    outage: AtomicBool,
    fetches: AtomicU64,
}

impl std::fmt::Debug for SharedFetch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedFetch")
            .field("policy", &self.policy)
            .field("fetches", &self.fetch_count())
            .finish_non_exhaustive()
    }
}

#[derive(Default)]
struct KeyState {
    /// Bumped each time a fetch of this key ends.
    generation: AtomicU64,
    flight: tokio::sync::Mutex<Flight>,
    /// The last good token, used while the store is unreachable.
    local: Mutex<Option<CachedToken>>,
}

#[derive(Default)]
struct Flight {
    outcome: Option<Result<CachedToken>>,
    failures: u32,
    retry_after: Option<Instant>,
}

impl SharedFetch {
    /// Fetches through `store` with the default [`FetchPolicy`].
    pub fn new(store: Arc<dyn TokenStore>) -> Self {
        Self::with_policy(store, FetchPolicy::default())
    }

    /// Fetches through `store` with `policy`.
    pub fn with_policy(store: Arc<dyn TokenStore>, policy: FetchPolicy) -> Self {
        SharedFetch {
            store,
            policy,
            keys: Mutex::new(HashMap::new()),
            outage: AtomicBool::new(false),
            fetches: AtomicU64::new(0),
        }
    }

    /// The store it keeps tokens in.
    pub fn store(&self) -> &Arc<dyn TokenStore> {
        &self.store
    }

    /// How many fetches this instance has started (all keys).
    pub fn fetch_count(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    fn state(&self, key: &str) -> Arc<KeyState> {
        let mut keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(s) = keys.get(key) {
            return s.clone();
        }
        keys.entry(key.to_string()).or_default().clone()
    }

    fn store_failed(&self, what: &str, error: &Error) {
        if !self.outage.load(Ordering::Relaxed) && !self.outage.swap(true, Ordering::Relaxed) {
            tracing::warn!(error = %error, operation = what, "token store unreachable; fetching tokens directly until it is back");
        }
    }

    fn store_ok(&self) {
        if self.outage.load(Ordering::Relaxed) && self.outage.swap(false, Ordering::Relaxed) {
            tracing::info!("token store reachable again");
        }
    }

    /// A fresh token from the store, or (while the store is unreachable) the last one fetched here.
    async fn lookup(&self, key: &str, state: &KeyState) -> Option<CachedToken> {
        match self.store.get(key).await {
            Ok(found) => {
                self.store_ok();
                found.filter(CachedToken::is_fresh)
            }
            Err(e) => {
                self.store_failed("get", &e);
                let local = state.local.lock().unwrap_or_else(|p| p.into_inner());
                local.as_ref().filter(|t| t.is_fresh()).cloned()
            }
        }
    }

    async fn put(&self, key: &str, state: &KeyState, token: &CachedToken) {
        *state.local.lock().unwrap_or_else(|p| p.into_inner()) = Some(token.clone());
        match self.store.set(key, token).await {
            Ok(()) => self.store_ok(),
            Err(e) => self.store_failed("set", &e),
        }
    }

    /// The token under `key`: the stored one while fresh, else the result of `fetch` (run at most once per
    /// expiry in this process, and — with a shared store — in the fleet). Callers waiting on the same fetch
    /// share its result; after a failed fetch, callers get its error at once until the backoff has passed.
    pub async fn get<F, Fut>(&self, key: &str, fetch: F) -> Result<Secret>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<CachedToken>>,
    {
        // The fast path: a fresh token in the store (or, while the store is down, in this process).
        let state = match self.store.get(key).await {
            Ok(Some(t)) if t.is_fresh() => {
                self.store_ok();
                return Ok(t.token);
            }
            Ok(_) => {
                self.store_ok();
                self.state(key)
            }
            Err(e) => {
                self.store_failed("get", &e);
                let state = self.state(key);
                let local = state.local.lock().unwrap_or_else(|p| p.into_inner()).clone();
                if let Some(t) = local.filter(CachedToken::is_fresh) {
                    return Ok(t.token);
                }
                state
            }
        };
        let seen = state.generation.load(Ordering::Acquire);
        let mut flight = state.flight.lock().await;
        if state.generation.load(Ordering::Acquire) != seen {
            // A fetch ended while we waited for it: share its outcome.
            match &flight.outcome {
                Some(Ok(t)) if t.is_fresh() => return Ok(t.token.clone()),
                Some(Err(e)) => return Err(e.clone()),
                _ => {}
            }
        }
        if let (Some(until), Some(Err(e))) = (flight.retry_after, &flight.outcome)
            && Instant::now() < until
        {
            return Err(e.clone());
        }
        // Another client or process may have stored one since we looked.
        if let Some(t) = self.lookup(key, &state).await {
            return Ok(t.token);
        }
        // Another process may have been refused moments ago: its backoff holds here too.
        let fleet_failure = self.fleet_failure(key).await;
        if let Some(f) = fleet_failure.as_ref().filter(|f| f.retry_at_ms > unix_millis()) {
            return Err(Self::hold(&state, &mut flight, f));
        }
        // Should this fetch be refused, the backoff that follows (shared with the fleet before the lease goes).
        let failures = flight
            .failures
            .max(fleet_failure.as_ref().map_or(0, |f| f.failures))
            .saturating_add(1);
        let refusal = Refusal {
            failures,
            backoff: self.policy.backoff_after(failures),
        };
        let (outcome, fetched_here) = match self.fetch_in_fleet(key, &state, fetch, refusal).await {
            FleetOutcome::Held(f) => return Err(Self::hold(&state, &mut flight, &f)),
            FleetOutcome::Done(outcome, fetched_here) => (outcome, fetched_here),
        };
        match &outcome {
            Ok(_) => {
                if fetched_here
                    && (flight.failures > 0 || fleet_failure.is_some())
                    && let Err(e) = self.store.set_failure(key, None, Duration::ZERO).await
                {
                    self.store_failed("set_failure", &e);
                }
                flight.failures = 0;
                flight.retry_after = None;
            }
            Err(e) => {
                flight.failures = refusal.failures;
                flight.retry_after = Some(Instant::now() + refusal.backoff);
                tracing::warn!(
                    error = %e,
                    failures = flight.failures,
                    backoff_ms = refusal.backoff.as_millis() as u64,
                    "token fetch failed; callers get this error until the backoff has passed"
                );
            }
        }
        flight.outcome = Some(outcome.clone());
        state.generation.fetch_add(1, Ordering::Release);
        outcome.map(|t| t.token)
    }

    /// The fleet's last refusal of `key`, if the store has one.
    async fn fleet_failure(&self, key: &str) -> Option<FetchFailure> {
        match self.store.get_failure(key).await {
            Ok(found) => found,
            Err(e) => {
                self.store_failed("get_failure", &e);
                None
            }
        }
    }

    /// The fleet's last refusal of `key` while its backoff still runs.
    async fn fleet_hold(&self, key: &str) -> Option<FetchFailure> {
        self.fleet_failure(key).await.filter(|f| f.retry_at_ms > unix_millis())
    }

    /// Adopts a refusal another process shared: its error, until its retry time, for every caller here.
    fn hold(state: &KeyState, flight: &mut Flight, failure: &FetchFailure) -> Error {
        let error = failure.to_error();
        let left = failure.retry_at_ms.saturating_sub(unix_millis());
        flight.failures = flight.failures.max(failure.failures);
        flight.retry_after = Some(Instant::now() + Duration::from_millis(left));
        flight.outcome = Some(Err(error.clone()));
        state.generation.fetch_add(1, Ordering::Release);
        tracing::debug!(
            errcode = failure.errcode,
            wait_ms = left,
            "another process's token fetch was refused; waiting out its backoff"
        );
        error
    }

    async fn fetch_in_fleet<F, Fut>(&self, key: &str, state: &KeyState, fetch: F, refusal: Refusal) -> FleetOutcome
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<CachedToken>>,
    {
        let owner = lease_owner();
        let mut leased = match self.store.try_lease(key, &owner, self.policy.lease_ttl).await {
            Ok(got) => got,
            Err(e) => {
                self.store_failed("lease", &e);
                true // no coordination possible: fetch ourselves
            }
        };
        if !leased {
            // Another process is fetching: wait for its token, or for its lease to go away.
            let deadline = Instant::now() + self.policy.lease_wait;
            while Instant::now() < deadline {
                clock::sleep(self.policy.poll_interval).await;
                if let Some(t) = self.lookup(key, state).await {
                    return FleetOutcome::Done(Ok(t), false);
                }
                if let Some(f) = self.fleet_hold(key).await {
                    return FleetOutcome::Held(f);
                }
                match self.store.try_lease(key, &owner, self.policy.lease_ttl).await {
                    Ok(true) => {
                        leased = true;
                        break;
                    }
                    Ok(false) => {}
                    Err(e) => {
                        self.store_failed("lease", &e);
                        break;
                    }
                }
            }
            if !leased {
                tracing::debug!("waited for another process's token fetch in vain; fetching");
            }
        }
        if leased {
            // The previous leaseholder may have stored its token (or its refusal) and released between our
            // look and our lease.
            let held = match self.store.get(key).await {
                Ok(Some(t)) if t.is_fresh() => Some(FleetOutcome::Done(Ok(t), false)),
                _ => self.fleet_hold(key).await.map(FleetOutcome::Held),
            };
            if let Some(held) = held {
                if let Err(e) = self.store.release(key, &owner).await {
                    self.store_failed("release", &e);
                }
                return held;
            }
        }
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let outcome = fetch().await;
        match &outcome {
            Ok(t) => self.put(key, state, t).await,
            Err(e) => {
                // A refusal (an errcode) is shared before the lease goes, so that no waiter fetches in between.
                let wait_ms = u64::try_from(refusal.backoff.as_millis()).unwrap_or(u64::MAX);
                let retry_at_ms = unix_millis().saturating_add(wait_ms);
                if let Some(failure) = FetchFailure::from_error(e, refusal.failures, retry_at_ms) {
                    // Kept past its retry time, so that the next refusal in the fleet backs off longer.
                    let ttl = refusal.backoff.saturating_add(self.policy.backoff_max);
                    if let Err(e) = self.store.set_failure(key, Some(&failure), ttl).await {
                        self.store_failed("set_failure", &e);
                    }
                }
            }
        }
        if leased && let Err(e) = self.store.release(key, &owner).await {
            self.store_failed("release", &e);
        }
        FleetOutcome::Done(outcome, true)
    }

    /// WeCom rejected `failed`: drop it from the store under `key` if it is still the stored token
    /// (compare-and-delete), so the next [`get`](Self::get) fetches a new one while a newer token stays.
    pub async fn invalidate(&self, key: &str, failed: &str) {
        let state = self.state(key);
        {
            let mut local = state.local.lock().unwrap_or_else(|p| p.into_inner());
            if local.as_ref().is_some_and(|t| t.token.expose() == failed) {
                *local = None;
            }
        }
        if let Ok(mut flight) = state.flight.try_lock()
            && matches!(&flight.outcome, Some(Ok(t)) if t.token.expose() == failed)
        {
            flight.outcome = None;
        }
        match self.store.clear_if(key, failed).await {
            Ok(dropped) => {
                self.store_ok();
                tracing::debug!(dropped, "dropping a rejected token");
            }
            Err(e) => self.store_failed("clear_if", &e),
        }
    }
}

/// The failure count and backoff a refused fetch leads to.
#[derive(Clone, Copy)]
struct Refusal {
    failures: u32,
    backoff: Duration,
}

/// How a fleet fetch ended.
enum FleetOutcome {
    /// A token (from the store or fetched), or this process's own failed fetch (`true`: fetched here).
    Done(Result<CachedToken>, bool),
    /// Another process's fetch was refused while this one waited: its backoff holds.
    Held(FetchFailure),
}

/// A random lease owner value, so that only the owner releases its lease.
fn lease_owner() -> String {
    use rand::RngCore;
    let mut b = [0u8; 12];
    rand::thread_rng().fill_bytes(&mut b);
    hex::encode(b)
}

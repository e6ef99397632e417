//! Staying under WeCom's frequency limits (访问频率限制, doc 90454): rate budgets per (corp, endpoint) and per
//! (IP, endpoint), from the spec's [`frequency_limits`](crate::catalog::frequency_limits) and each endpoint's
//! [`rate_limit`](crate::catalog::Endpoint::rate_limit).
//!
//! A client draws on [`Budgets`] (on by default, at WeCom's documented limits): before each request it takes a
//! permit of the endpoint's per-corp and per-IP budgets, each a GCRA limiter (the `governor` crate) over WeCom's
//! minute and hour. Over budget, the call waits (up to [`Budgets::max_wait`]) or fails at once with
//! [`Error::Throttled`](crate::Error::Throttled); the wait is the `budget_wait_ms` field of the call's span.
//! Clients built with clones of one `Budgets` share its limiters (build every client of a process from one).

mod adaptive;
#[cfg(feature = "redis")]
mod fleet;
mod hold;
mod local;

use crate::catalog::{Endpoint, RateBudget};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// Why a call was not sent ([`Error::Throttled`](crate::Error::Throttled)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ThrottleReason {
    /// The endpoint's rate budget has no permit before the client's longest wait.
    Budget,
    /// WeCom answered 45009 for this endpoint and corp (here or in another process sharing the token
    /// store), and its block lasts longer than the client's longest wait.
    Held,
}

impl fmt::Display for ThrottleReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ThrottleReason::Budget => "over its rate budget",
            ThrottleReason::Held => "held after WeCom's 45009 (frequency block)",
        })
    }
}

/// Which per-IP limit applies to this process's calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum IpBudget {
    /// A corp's own (self-built) app: 20,000 calls a minute and 600,000 an hour per IP and API.
    SelfBuilt,
    /// A third-party service provider's IP: 40,000 a minute and 1,200,000 an hour per IP and API.
    Provider,
    /// No per-IP budget (e.g. calls leave through many IPs).
    Off,
}

/// One budget in force: calls per minute and per hour, and how long WeCom's "minute" is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Budget {
    pub(crate) per_minute: u32,
    pub(crate) per_hour: u32,
    pub(crate) minute: Duration,
}

/// Rate budgets of the calls to WeCom: which budgets apply, the share of them a client may use, and how long a
/// call may wait for a permit. Cheap to clone; clones share their limiters.
///
/// ```
/// use std::time::Duration;
/// use wecom_externalcontact::{Budgets, Client};
/// // Two apps of one corp split its per-corp budget: this one may use 60 % of it, and waits at most 5 s.
/// let budgets = Budgets::default().share(0.6).max_wait(Duration::from_secs(5));
/// let client = Client::builder().corp_id("ww0123").secret("s").budgets(budgets).build()?;
/// # Ok::<(), wecom_externalcontact::Error>(())
/// ```
#[derive(Clone)]
pub struct Budgets {
    on: bool,
    share: f64,
    max_wait: Duration,
    ip: IpBudget,
    minute: Duration,
    per_corp: Option<RateBudget>,
    per_ip: Option<RateBudget>,
    local: Arc<local::Local>,
    holds: Arc<hold::Holds>,
    adaptive: Arc<adaptive::Adaptive>,
    /// Where holds are shared with other processes (the client's token store).
    store: Option<Arc<dyn crate::token::TokenStore>>,
    /// The fleet's shared budgets, and the share of each budget a process keeps to while Redis is down.
    #[cfg(feature = "redis")]
    fleet: Option<(Arc<fleet::Fleet>, f64)>,
}

impl fmt::Debug for Budgets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Budgets")
            .field("on", &self.on)
            .field("share", &self.share)
            .field("max_wait", &self.max_wait)
            .field("ip", &self.ip)
            .field("minute", &self.minute)
            .field("per_corp", &self.per_corp)
            .field("per_ip", &self.per_ip)
            .finish_non_exhaustive()
    }
}

impl Default for Budgets {
    /// On, at WeCom's documented limits (all of the per-corp budget, the self-built app's per-IP budget),
    /// waiting up to 60 s for a permit.
    fn default() -> Self {
        Budgets {
            on: true,
            share: 1.0,
            max_wait: Duration::from_secs(60),
            ip: IpBudget::SelfBuilt,
            minute: Duration::from_secs(60),
            per_corp: None,
            per_ip: None,
            local: Arc::new(local::Local::new()),
            holds: Arc::default(),
            adaptive: Arc::default(),
            store: None,
            #[cfg(feature = "redis")]
            fleet: None,
        }
    }
}

impl Budgets {
    /// No budgets: calls go out as fast as the concurrency limits let them (WeCom may answer 45009).
    pub fn off() -> Self {
        Budgets {
            on: false,
            ..Self::default()
        }
    }

    /// Whether budgets are on.
    pub fn is_on(&self) -> bool {
        self.on
    }

    /// The share (0 < share ≤ 1) of each per-corp budget this client may use, when several apps (or several
    /// systems) call WeCom for the same corp. Values outside (0, 1] are clamped; default 1.
    #[must_use]
    pub fn share(mut self, share: f64) -> Self {
        self.share = if share.is_finite() {
            share.clamp(0.0001, 1.0)
        } else {
            1.0
        };
        self
    }

    /// The longest a call waits for a permit; a call that would wait longer fails at once with
    /// [`Error::Throttled`](crate::Error::Throttled) (which says when to retry). Default 60 s.
    #[must_use]
    pub fn max_wait(mut self, wait: Duration) -> Self {
        self.max_wait = wait;
        self
    }

    /// Never wait: a call without a permit fails at once with [`Error::Throttled`](crate::Error::Throttled).
    #[must_use]
    pub fn fail_fast(self) -> Self {
        self.max_wait(Duration::ZERO)
    }

    /// Which per-IP limit applies (default [`IpBudget::SelfBuilt`]).
    #[must_use]
    pub fn ip(mut self, ip: IpBudget) -> Self {
        self.ip = ip;
        self
    }

    /// Replaces the spec's per-corp budget (an endpoint's own stricter `rate_limit` still applies), e.g. to
    /// mirror a stand-in that enforces a small one.
    #[must_use]
    pub fn per_corp(mut self, budget: RateBudget) -> Self {
        self.per_corp = Some(budget);
        self
    }

    /// Replaces the spec's per-IP budget.
    #[must_use]
    pub fn per_ip(mut self, budget: RateBudget) -> Self {
        self.per_ip = Some(budget);
        self
    }

    /// How long WeCom's "minute" is (default 60 s; the hour is 60 of them): for tests against a stand-in
    /// that scales time.
    #[must_use]
    pub fn minute(mut self, minute: Duration) -> Self {
        self.minute = minute.max(Duration::from_millis(1));
        self
    }

    /// Shares the per-corp budgets (and the 45009 holds) with every process using the same Redis: each call
    /// takes its permit in one atomic Lua step on the Redis server (the GCRA of each window on the server's
    /// clock, and the hold in the same round trip). While Redis is unreachable each process keeps to
    /// `fallback_share` of each budget (e.g. 1/4 for a fleet of four; one `warn!` per outage). The per-IP
    /// budget stays per process.
    #[cfg(feature = "redis")]
    #[must_use]
    pub fn fleet(mut self, store: Arc<crate::token::RedisTokenStore>, fallback_share: f64) -> Self {
        let batch = self.fleet.as_ref().map_or(1, |(f, _)| f.batch);
        let share = if fallback_share.is_finite() {
            fallback_share.clamp(0.0001, 1.0)
        } else {
            0.25
        };
        self.store = Some(store.clone());
        self.fleet = Some((Arc::new(fleet::Fleet::new(store, batch)), share));
        self
    }

    /// Takes permits from Redis `n` at a time (default 1: one step per call) and hands them out in this
    /// process, saving round trips. A leased permit lapses unused after `n` periods of the budget; a
    /// process with leased permits learns of another process's 45009 hold at its next round trip. Set it
    /// after [`fleet`](Self::fleet).
    #[cfg(feature = "redis")]
    #[must_use]
    pub fn fleet_batch(mut self, n: u32) -> Self {
        if let Some((f, share)) = self.fleet.take() {
            self.fleet = Some((Arc::new(fleet::Fleet::new(f.store.clone(), n)), share));
        }
        self
    }

    /// The per-corp budget in force for `ep`: the smaller of the endpoint's and the configured one, times
    /// the share.
    fn corp_budget(&self, ep: &Endpoint) -> Option<Budget> {
        let base = match (ep.rate_limit, self.per_corp) {
            (Some(a), Some(b)) => RateBudget::new(a.per_minute.min(b.per_minute), a.per_hour.min(b.per_hour)),
            (a, b) => a.or(b)?,
        };
        let part = |n: u32| ((f64::from(n) * self.share).floor() as u32).max(1);
        Some(Budget {
            per_minute: part(base.per_minute),
            per_hour: part(base.per_hour),
            minute: self.minute,
        })
    }

    /// The per-IP budget in force.
    fn ip_budget(&self) -> Option<Budget> {
        let limits = crate::catalog::frequency_limits();
        let b = match self.ip {
            IpBudget::Off => return None,
            IpBudget::SelfBuilt => self.per_ip.or(limits.map(|l| l.per_ip))?,
            IpBudget::Provider => self.per_ip.or(limits.map(|l| l.per_provider_ip))?,
        };
        Some(Budget {
            per_minute: b.per_minute,
            per_hour: b.per_hour,
            minute: self.minute,
        })
    }

    /// These budgets, sharing 45009 holds through `store` (the client's token store).
    pub(crate) fn with_store(mut self, store: Option<Arc<dyn crate::token::TokenStore>>) -> Self {
        if self.store.is_none() {
            self.store = store;
        }
        self
    }

    /// Whether the fleet's Redis step checks holds (so the store need not be read for them here).
    fn fleet_checks_holds(&self) -> bool {
        #[cfg(feature = "redis")]
        return self.fleet.is_some();
        #[cfg(not(feature = "redis"))]
        false
    }

    /// A slot under the adaptive concurrency of `ep` for `corp` (at once until WeCom answers 45033). The
    /// caller reports the answer on it: [`Slot::succeeded`](adaptive::Slot::succeeded) or
    /// [`Slot::overloaded`](adaptive::Slot::overloaded) (45033 halves the limit).
    pub(crate) async fn slot(&self, corp: &str, ep: &'static Endpoint) -> adaptive::Slot {
        self.adaptive
            .slot(&format!("{corp}:{}", ep.path), ep.max_concurrency)
            .await
    }

    /// Waits out the 45009 hold of `ep` for `corp`, if there is one and it ends before `deadline`.
    async fn wait_hold(&self, corp: &str, ep: &'static Endpoint, deadline: crate::clock::Instant) -> crate::Result<()> {
        let key = hold::key(corp, ep.path);
        let store = if self.fleet_checks_holds() {
            None
        } else {
            self.store.as_ref()
        };
        while let Some(h) = self.holds.current(&key, store).await {
            let left = Duration::from_millis(h.until_ms.saturating_sub(crate::clock::unix_millis()));
            if self.holds.first_warning(&key) {
                tracing::warn!(
                    endpoint = ep.path,
                    corp = corp,
                    hold_ms = u64::try_from(left.as_millis()).unwrap_or(u64::MAX),
                    strikes = h.strikes,
                    errmsg = %h.errmsg,
                    "WeCom blocks this endpoint for this corp (45009): no calls to it until the block ends"
                );
            }
            if crate::clock::now() + left > deadline {
                return Err(crate::Error::Throttled {
                    endpoint: ep.path.to_string(),
                    reason: ThrottleReason::Held,
                    retry_after: left,
                });
            }
            crate::clock::sleep(left).await;
        }
        Ok(())
    }

    /// WeCom answered 45009 to a call of `ep` for `corp`: holds the endpoint for the corp (here and in the
    /// store). Returns whether the caller may retry after the hold: it ends within the client's longest wait.
    pub(crate) async fn frequency_blocked(&self, corp: &str, ep: &'static Endpoint, errmsg: &str) -> bool {
        if !self.on {
            return false;
        }
        let key = hold::key(corp, ep.path);
        let h = self
            .holds
            .start(&key, ep.path, errmsg, self.minute, self.store.as_ref())
            .await;
        if self.holds.first_warning(&key) {
            tracing::warn!(
                endpoint = ep.path,
                corp = corp,
                hold_ms = h.until_ms.saturating_sub(crate::clock::unix_millis()),
                strikes = h.strikes,
                "WeCom answered 45009: no calls to this endpoint for this corp until the block ends"
            );
        }
        Duration::from_millis(h.until_ms.saturating_sub(crate::clock::unix_millis())) <= self.max_wait
    }

    /// The fleet's step for the per-corp budget `b` (waiting as the policy allows): `Ok(None)` when granted (or
    /// when there is no fleet), `Ok(Some(fallback))` when Redis is down and this process keeps to its
    /// fallback share.
    #[cfg(feature = "redis")]
    async fn fleet_step(
        &self,
        corp: &str,
        ep: &'static Endpoint,
        b: Budget,
        deadline: crate::clock::Instant,
    ) -> crate::Result<Option<Budget>> {
        let Some((fleet, fallback_share)) = &self.fleet else {
            return Ok(None);
        };
        let key = format!("{corp}:{}", ep.path);
        let windows: Vec<fleet::Window> = [("h", b.per_hour, b.minute * 60), ("m", b.per_minute, b.minute)]
            .into_iter()
            .map(|(w, allowed, length)| {
                let (period, burst) = local::gcra(allowed, length);
                fleet::Window {
                    // The budget is part of the key: processes configured alike share it.
                    key: format!("{w}{allowed}/{}ms:{key}", length.as_millis()),
                    period,
                    burst,
                }
            })
            .collect();
        let hold_key = hold::key(corp, ep.path);
        loop {
            let (wait, reason) = match fleet.step(&key, &hold_key, &windows).await {
                Ok(fleet::Step::Granted) => return Ok(None),
                Ok(fleet::Step::Wait(w)) => (w, ThrottleReason::Budget),
                Ok(fleet::Step::Held(w)) => (w, ThrottleReason::Held),
                Err(_) => {
                    let part = |n: u32| ((f64::from(n) * fallback_share).floor() as u32).max(1);
                    return Ok(Some(Budget {
                        per_minute: part(b.per_minute),
                        per_hour: part(b.per_hour),
                        minute: b.minute,
                    }));
                }
            };
            if reason == ThrottleReason::Held {
                let until = crate::clock::unix_millis() + u64::try_from(wait.as_millis()).unwrap_or(u64::MAX / 2);
                self.holds.learn(&hold_key, until);
            }
            if reason == ThrottleReason::Held && self.holds.first_warning(&hold_key) {
                tracing::warn!(endpoint = ep.path, corp = corp, hold_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                    "WeCom blocks this endpoint for this corp (45009, held by the fleet): no calls to it until the block ends");
            }
            if crate::clock::now() + wait > deadline {
                return Err(crate::Error::Throttled {
                    endpoint: ep.path.to_string(),
                    reason,
                    retry_after: wait,
                });
            }
            crate::clock::sleep(wait).await;
        }
    }

    #[cfg(not(feature = "redis"))]
    async fn fleet_step(
        &self,
        _corp: &str,
        _ep: &'static Endpoint,
        _b: Budget,
        _deadline: crate::clock::Instant,
    ) -> crate::Result<Option<Budget>> {
        Ok(None)
    }

    /// Takes a permit for one call of `ep` for `corp`, waiting as the policy allows. Returns how long it
    /// waited, or the error the caller gets.
    pub(crate) async fn admit(&self, corp: &str, ep: &'static Endpoint) -> crate::Result<Duration> {
        if !self.on {
            return Ok(Duration::ZERO);
        }
        let started = crate::clock::now();
        let deadline = started + self.max_wait;
        self.wait_hold(corp, ep, deadline).await?;
        let mut windows = Vec::with_capacity(2);
        if let Some(b) = self.corp_budget(ep) {
            match self.fleet_step(corp, ep, b, deadline).await? {
                None => {}
                Some(fallback) => windows.push(self.local.windows(&format!("fallback:{corp}:{}", ep.path), fallback)),
            }
            #[cfg(feature = "redis")]
            let local = self.fleet.is_none();
            #[cfg(not(feature = "redis"))]
            let local = true;
            if local {
                windows.push(self.local.windows(&format!("corp:{corp}:{}", ep.path), b));
            }
        }
        if let Some(b) = self.ip_budget() {
            windows.push(self.local.windows(&format!("ip:{}", ep.path), b));
        }
        match self.local.take(&windows, deadline).await {
            Ok(()) => Ok(started.elapsed()),
            Err(wait) => Err(crate::Error::Throttled {
                endpoint: ep.path.to_string(),
                reason: ThrottleReason::Budget,
                retry_after: wait,
            }),
        }
    }
}

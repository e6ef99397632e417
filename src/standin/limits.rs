//! Frequency and concurrency limits the stand-in enforces as WeCom does, when configured
//! ([`StandInLimits`]): per endpoint of its corp, calls beyond the minute's or the hour's budget are answered
//! 45009 and the endpoint is blocked for the rest of that window (60 s for the minute, an hour for the hour,
//! on a configurable time scale), and a call beyond the endpoint's concurrency is answered 45033.

use super::{Inner, StandIn};
use crate::catalog::{self, RateBudget};
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

/// The limits a stand-in enforces (none by default).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StandInLimits {
    /// Every endpoint's budget (`None`: no frequency limit but those of `endpoints`).
    pub budget: Option<RateBudget>,
    /// Budgets of single endpoints, by path (they replace `budget` there).
    pub endpoints: BTreeMap<String, RateBudget>,
    /// Calls of one endpoint answered at once beyond which a call gets 45033 (`None`: no limit).
    pub max_concurrency: Option<usize>,
    /// How long the stand-in's "minute" is (default 60 s; the hour is 60 of them), so tests can use a
    /// 2-second minute.
    pub minute: Duration,
}

impl Default for StandInLimits {
    fn default() -> Self {
        StandInLimits {
            budget: None,
            endpoints: BTreeMap::new(),
            max_concurrency: None,
            minute: Duration::from_secs(60),
        }
    }
}

impl StandInLimits {
    /// Every endpoint limited to `budget` per (scaled) minute and hour.
    pub fn budget(budget: RateBudget) -> Self {
        StandInLimits {
            budget: Some(budget),
            ..Self::default()
        }
    }

    /// Sets the length of the stand-in's minute.
    #[must_use]
    pub fn minute(mut self, minute: Duration) -> Self {
        self.minute = minute.max(Duration::from_millis(1));
        self
    }

    /// Sets the concurrency beyond which calls of one endpoint get 45033.
    #[must_use]
    pub fn max_concurrency(mut self, n: usize) -> Self {
        self.max_concurrency = Some(n.max(1));
        self
    }

    /// Sets the budget of one endpoint.
    #[must_use]
    pub fn endpoint(mut self, path: &str, budget: RateBudget) -> Self {
        self.endpoints.insert(catalog::normalize(path).to_string(), budget);
        self
    }
}

/// The counts of one endpoint.
#[derive(Default)]
pub(super) struct Counter {
    /// When each call of the last hour was admitted.
    calls: VecDeque<crate::clock::Instant>,
    /// Blocked until then (a 45009 for every call before it).
    blocked_until: Option<crate::clock::Instant>,
    in_flight: usize,
    refused_45009: usize,
    refused_45033: usize,
}

/// A call admitted under the concurrency limit, until dropped.
pub(super) struct Admitted {
    inner: Arc<Inner>,
    path: String,
}

impl Drop for Admitted {
    fn drop(&mut self) {
        if let Some(c) = self.inner.lock().limits.get_mut(&self.path) {
            c.in_flight = c.in_flight.saturating_sub(1);
        }
    }
}

/// Admits a call of `path`, or refuses it with WeCom's (errcode, errmsg): 45009 (over the budget, or
/// blocked) or 45033 (over the concurrency).
pub(super) fn admit(inner: &Arc<Inner>, path: &str) -> Result<Option<Admitted>, (i64, &'static str)> {
    let Some(limits) = &inner.config.limits else {
        return Ok(None);
    };
    let budget = limits.endpoints.get(path).copied().or(limits.budget);
    let now = crate::clock::now();
    let mut s = inner.lock();
    let c = s.limits.entry(path.to_string()).or_default();
    if let Some(b) = budget {
        if c.blocked_until.is_some_and(|u| now < u) {
            c.refused_45009 += 1;
            return Err((45009, "api freq out of limit (stand-in: blocked)"));
        }
        let (minute, hour) = (limits.minute, limits.minute * 60);
        while c.calls.front().is_some_and(|t| now.duration_since(*t) >= hour) {
            c.calls.pop_front();
        }
        let in_minute = c
            .calls
            .iter()
            .rev()
            .take_while(|t| now.duration_since(**t) < minute)
            .count();
        let block = if in_minute >= b.per_minute as usize {
            Some(minute)
        } else if c.calls.len() >= b.per_hour as usize {
            Some(hour)
        } else {
            None
        };
        if let Some(span) = block {
            c.blocked_until = Some(now + span);
            c.refused_45009 += 1;
            return Err((45009, "api freq out of limit (stand-in)"));
        }
        c.calls.push_back(now);
    }
    if let Some(max) = limits.max_concurrency
        && c.in_flight >= max
    {
        c.refused_45033 += 1;
        return Err((45033, "api concurrent out of limit (stand-in)"));
    }
    c.in_flight += 1;
    Ok(Some(Admitted {
        inner: inner.clone(),
        path: path.to_string(),
    }))
}

impl StandIn {
    /// How many calls of `path` it answered with 45009 and with 45033 under its [`StandInLimits`].
    pub fn limit_refusals(&self, path: &str) -> (usize, usize) {
        self.lock()
            .limits
            .get(catalog::normalize(path))
            .map_or((0, 0), |c| (c.refused_45009, c.refused_45033))
    }
}

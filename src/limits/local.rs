//! The in-process budget: one GCRA limiter per (corp, endpoint) and per (IP, endpoint) window, from the
//! `governor` crate, driven by the runtime's clock ([`crate::clock`]: virtual time in paused tests).

use super::Budget;
use governor::clock::Clock;
use governor::middleware::NoOpMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};
use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// governor's clock: [`crate::clock::now`] as the time since `epoch`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct TokioClock {
    epoch: crate::clock::Instant,
}

impl Clock for TokioClock {
    type Instant = Duration;
    fn now(&self) -> Duration {
        crate::clock::now().saturating_duration_since(self.epoch)
    }
}

type Gcra = RateLimiter<NotKeyed, InMemoryState, TokioClock, NoOpMiddleware<Duration>>;

/// The GCRA quota that keeps every sliding window of length `window` at or under `allowed` calls: a burst
/// of a fiftieth of them, the rest spread evenly, with 1 % (at least one call) kept back for the jitter
/// between taking a permit and the call reaching WeCom.
pub(crate) fn quota(allowed: u32, window: Duration) -> Quota {
    let (period, burst) = gcra(allowed, window);
    Quota::with_period(period)
        .expect("a period of at least 1 ns")
        .allow_burst(NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN))
}

/// The GCRA of [`quota`]: (the period between calls, the burst).
pub(crate) fn gcra(allowed: u32, window: Duration) -> (Duration, u32) {
    let usable = allowed.saturating_sub((allowed / 100).max(1)).max(1);
    let burst = (usable / 50).max(1);
    let spread = usable.saturating_sub(burst).max(1);
    ((window / spread).max(Duration::from_nanos(1)), burst)
}

/// The two limiters of one budget: its hour, then its minute (the last gate before the call is the
/// shorter window, so its guarantee holds exactly).
pub(crate) struct Windows {
    gates: [Gcra; 2],
}

impl Windows {
    fn new(budget: Budget, clock: TokioClock) -> Self {
        Windows {
            gates: [
                RateLimiter::direct_with_clock(quota(budget.per_hour, budget.minute * 60), clock),
                RateLimiter::direct_with_clock(quota(budget.per_minute, budget.minute), clock),
            ],
        }
    }
}

/// The limiters of one process, by key; shared by every client built with clones of one `Budgets`.
pub(crate) struct Local {
    clock: TokioClock,
    windows: Mutex<HashMap<String, Arc<Windows>>>,
}

impl Local {
    pub(crate) fn new() -> Self {
        Local {
            clock: TokioClock {
                epoch: crate::clock::now(),
            },
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// The windows of `key` for `budget` (created on first use).
    pub(crate) fn windows(&self, key: &str, budget: Budget) -> Arc<Windows> {
        let mut map = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(w) = map.get(key) {
            return w.clone();
        }
        let w = Arc::new(Windows::new(budget, self.clock));
        map.insert(key.to_string(), w.clone());
        w
    }

    /// Takes one permit of every gate of `windows` in turn, waiting for each as long as `deadline` allows.
    /// `Err(wait)`: the next gate would open only after the deadline, in `wait`.
    pub(crate) async fn take(&self, windows: &[Arc<Windows>], deadline: crate::clock::Instant) -> Result<(), Duration> {
        // Every hour gate first, then every minute gate: the last gates before the call are the short windows.
        for level in 0..2 {
            for w in windows {
                let gate = &w.gates[level];
                loop {
                    match gate.check() {
                        Ok(()) => break,
                        Err(not_until) => {
                            let wait = not_until
                                .wait_time_from(self.clock.now())
                                .max(Duration::from_micros(50));
                            let now = crate::clock::now();
                            if now + wait > deadline {
                                return Err(wait);
                            }
                            crate::clock::sleep(wait).await;
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Calls admitted at each (virtual) instant, then the most in any sliding window.
    async fn most_in_a_window(allowed: u32, window: Duration, calls: usize) -> (usize, Duration) {
        let local = Local::new();
        let w = local.windows(
            "k",
            Budget {
                per_minute: allowed,
                per_hour: allowed * 60,
                minute: window,
            },
        );
        let start = crate::clock::now();
        let mut at = Vec::new();
        for _ in 0..calls {
            local
                .take(std::slice::from_ref(&w), start + Duration::from_secs(3600))
                .await
                .unwrap();
            at.push(crate::clock::now() - start);
        }
        let mut most = 0;
        for (i, t) in at.iter().enumerate() {
            let n = at[i..].iter().take_while(|u| **u < *t + window).count();
            most = most.max(n);
        }
        (most, *at.last().unwrap())
    }

    #[tokio::test(start_paused = true)]
    async fn no_sliding_window_holds_more_than_the_budget_and_the_budget_is_used() {
        let (most, took) = most_in_a_window(1000, Duration::from_secs(60), 5000).await;
        assert!(most <= 1000, "{most} calls in one window of a 1000/min budget");
        assert!(most >= 950, "the budget is used: {most} of 1000 in the busiest window");
        // 5000 calls at 1000/min: the floor is 5 min; within 5 % of it.
        assert!(took <= Duration::from_secs(315), "{took:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_tiny_budget_still_admits_and_limits() {
        let (most, _) = most_in_a_window(3, Duration::from_secs(2), 12).await;
        assert!((1..=3).contains(&most), "{most}");
    }

    #[tokio::test(start_paused = true)]
    async fn past_the_deadline_is_an_error_with_the_wait() {
        let local = Local::new();
        let w = local.windows(
            "k",
            Budget {
                per_minute: 100,
                per_hour: 6000,
                minute: Duration::from_secs(60),
            },
        );
        let now = crate::clock::now();
        let mut refused = None;
        for _ in 0..10 {
            if let Err(wait) = local.take(std::slice::from_ref(&w), now).await {
                refused = Some(wait);
                break;
            }
        }
        let wait = refused.expect("the burst (1 of 99) is over within 10 calls");
        assert!(wait > Duration::ZERO && wait <= Duration::from_secs(1), "{wait:?}");
        assert_eq!(crate::clock::now(), now, "fail-fast does not sleep");
    }
}

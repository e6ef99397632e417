//! Adaptive concurrency on 45033 (接口并发调用超过限制), per (corp, endpoint): WeCom's answer halves the calls
//! allowed in flight; each run of successes as long as the current limit lets one more in, up to the spec's
//! `max_concurrency` (without one, until the limit is back where it was before the first cut, and then it
//! goes). Callers beyond the limit wait for a slot.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;

#[derive(Debug, Default)]
struct Gate {
    /// Calls allowed in flight; `None` until a 45033 (no gate beyond the endpoint's own limit).
    limit: Option<usize>,
    in_flight: usize,
    /// Successes in a row since the last change.
    successes: usize,
    /// Where a limit without a spec ceiling is lifted again.
    lift_at: usize,
}

/// A gate and the callers waiting for room under it.
type Shared = Arc<(Mutex<Gate>, Notify)>;

/// The gates of one process, by `corp:endpoint`.
#[derive(Default)]
pub(crate) struct Adaptive {
    gates: Mutex<HashMap<String, Shared>>,
}

/// One call's place under a gate; say how the call went with [`Slot::succeeded`] or [`Slot::overloaded`].
pub(crate) struct Slot {
    gate: Shared,
    ceiling: Option<usize>,
    done: bool,
}

impl Adaptive {
    /// Waits for a slot of `key` (at once unless a 45033 put a limit on it).
    pub(crate) async fn slot(&self, key: &str, ceiling: Option<u32>) -> Slot {
        let gate = self
            .gates
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(key.to_string())
            .or_default()
            .clone();
        loop {
            let notified = gate.1.notified();
            {
                let mut g = gate.0.lock().unwrap_or_else(|p| p.into_inner());
                if g.limit.is_none_or(|l| g.in_flight < l) {
                    g.in_flight += 1;
                    break;
                }
            }
            notified.await;
        }
        Slot {
            gate,
            ceiling: ceiling.map(|c| c as usize),
            done: false,
        }
    }

    /// The current limit of `key` (`None`: no limit of its own), for tests and logs.
    #[cfg(test)]
    pub(crate) fn limit(&self, key: &str) -> Option<usize> {
        let gates = self.gates.lock().unwrap();
        gates.get(key).and_then(|g| g.0.lock().unwrap().limit)
    }
}

impl Slot {
    fn finish(&mut self, f: impl FnOnce(&mut Gate, Option<usize>)) {
        if self.done {
            return;
        }
        self.done = true;
        let mut g = self.gate.0.lock().unwrap_or_else(|p| p.into_inner());
        g.in_flight = g.in_flight.saturating_sub(1);
        f(&mut g, self.ceiling);
        drop(g);
        self.gate.1.notify_waiters();
    }

    /// The call succeeded: a run as long as the limit lets one more call in.
    pub(crate) fn succeeded(mut self) {
        self.finish(|g, ceiling| {
            let Some(limit) = g.limit else { return };
            g.successes += 1;
            if g.successes >= limit {
                g.successes = 0;
                let next = limit + 1;
                let top = ceiling.unwrap_or(g.lift_at);
                g.limit = if ceiling.is_none() && next >= top {
                    None
                } else {
                    Some(next.min(top.max(1)))
                };
                tracing::debug!(limit = ?g.limit, "45033: concurrency grows back");
            }
        });
    }

    /// WeCom answered 45033: the limit halves (from what was in flight, when there was no limit yet).
    /// Returns the new limit.
    pub(crate) fn overloaded(mut self) -> usize {
        let mut out = 1;
        self.finish(|g, ceiling| {
            let current = g.limit.unwrap_or_else(|| {
                let seen = g.in_flight + 1;
                g.lift_at = seen.max(2);
                ceiling.map_or(seen, |c| c.min(seen))
            });
            let halved = (current / 2).max(1);
            g.limit = Some(halved);
            g.successes = 0;
            out = halved;
        });
        out
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.finish(|_, _| {});
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::FutureExt;

    #[tokio::test]
    async fn halves_on_45033_waits_for_room_and_grows_back_to_the_ceiling() {
        let a = Adaptive::default();
        let mut slots = Vec::new();
        for _ in 0..8 {
            slots.push(a.slot("c:ep", Some(8)).await);
        }
        assert_eq!(a.limit("c:ep"), None, "no limit before a 45033");
        assert_eq!(slots.pop().unwrap().overloaded(), 4, "8 in flight: halved to 4");
        // 7 in flight over a limit of 4: a new caller waits until fewer than 4 are.
        let waiting = a.slot("c:ep", Some(8));
        tokio::pin!(waiting);
        assert!(waiting.as_mut().now_or_never().is_none());
        drop(slots.drain(..3).collect::<Vec<_>>()); // 4 left in flight
        assert!(waiting.as_mut().now_or_never().is_none(), "4 in flight, limit 4");
        drop(slots.pop());
        let w = waiting.now_or_never().expect("3 in flight, limit 4: room");
        drop(w);
        drop(slots);
        // Runs of successes: 4 at limit 4 -> 5, 5 -> 6, ... never above the ceiling of 8.
        let mut limits = Vec::new();
        for _ in 0..60 {
            a.slot("c:ep", Some(8)).await.succeeded();
            limits.push(a.limit("c:ep").unwrap());
        }
        assert_eq!(limits[2], 4);
        assert_eq!(limits[3], 5, "a run of 4 successes at limit 4");
        assert_eq!(limits[8], 6, "then a run of 5");
        assert_eq!(*limits.last().unwrap(), 8, "back to the spec's ceiling, not above");
        // A 45033 at the ceiling halves again.
        assert_eq!(a.slot("c:ep", Some(8)).await.overloaded(), 4);
    }

    #[tokio::test]
    async fn without_a_ceiling_the_limit_is_lifted_where_it_was() {
        let a = Adaptive::default();
        let slots: Vec<_> = futures_util::future::join_all((0..6).map(|_| a.slot("k", None))).await;
        let mut slots = slots.into_iter();
        assert_eq!(slots.next().unwrap().overloaded(), 3, "6 in flight: 3");
        drop(slots);
        for _ in 0..3 + 4 + 5 {
            a.slot("k", None).await.succeeded();
        }
        assert_eq!(a.limit("k"), None, "3 -> 4 -> 5 -> lifted at 6 (what was in flight)");
    }
}

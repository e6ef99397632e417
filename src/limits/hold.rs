//! 45009 holds: after WeCom answers 45009 (接口调用超过限制) for an endpoint of a corp, nobody calls that
//! endpoint for that corp until WeCom's block ends — 60 s for a minute limit, an hour for an hour limit. A
//! hold is kept in this process (shared by the clones of one `Budgets`) and in the client's
//! [`TokenStore`](crate::token::TokenStore) as a [`FetchFailure`] (as a refused token fetch is), so a fleet
//! sharing a Redis token store holds together.
//!
//! Which limit tripped is not in WeCom's answer: the first 45009 holds for a minute; a 45009 on the first
//! calls after a hold ended (within a minute of its end) means the hour's limit tripped, and holds for an hour.

use crate::clock::unix_millis;
use crate::token::{FetchFailure, TokenStore};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One hold as this process knows it.
#[derive(Debug, Clone)]
pub(crate) struct Hold {
    /// Unix ms when it ends.
    pub(crate) until_ms: u64,
    /// Holds in a row (1: a minute; 2 or more: an hour).
    pub(crate) strikes: u32,
    /// WeCom's errmsg of the 45009 that started it.
    pub(crate) errmsg: String,
    /// Whether this process has warned about it.
    warned: bool,
}

/// The holds of one process, by key (`hold:<corp>:<endpoint>`).
#[derive(Default)]
pub(crate) struct Holds {
    map: Mutex<HashMap<String, Hold>>,
}

pub(crate) fn key(corp: &str, path: &str) -> String {
    format!("hold:{corp}:{path}")
}

impl Holds {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Hold>> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The hold of `key` still in force, from this process or from the store (a store that fails is
    /// skipped: the local view stands).
    pub(crate) async fn current(&self, key: &str, store: Option<&Arc<dyn TokenStore>>) -> Option<Hold> {
        let now = unix_millis();
        if let Some(h) = self.lock().get(key).filter(|h| h.until_ms > now) {
            return Some(h.clone());
        }
        let shared = store?.get_failure(key).await.ok().flatten()?;
        if shared.retry_at_ms <= now {
            return None;
        }
        let mut map = self.lock();
        let h = map.entry(key.to_string()).or_insert_with(|| Hold {
            until_ms: 0,
            strikes: 0,
            errmsg: String::new(),
            warned: false,
        });
        if h.until_ms < shared.retry_at_ms {
            *h = Hold {
                until_ms: shared.retry_at_ms,
                strikes: shared.failures,
                errmsg: shared.errmsg,
                warned: false,
            };
        }
        Some(h.clone())
    }

    /// Notes a hold of `key` until `until_ms` that another process started (learned from the fleet's step).
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(crate) fn learn(&self, key: &str, until_ms: u64) {
        let mut map = self.lock();
        let h = map.entry(key.to_string()).or_insert_with(|| Hold {
            until_ms: 0,
            strikes: 1,
            errmsg: String::new(),
            warned: false,
        });
        if h.until_ms < until_ms {
            h.until_ms = until_ms;
            h.warned = false;
        }
    }

    /// Marks the hold of `key` as warned about; `true` the first time (one `warn!` per hold and process).
    pub(crate) fn first_warning(&self, key: &str) -> bool {
        let mut map = self.lock();
        match map.get_mut(key) {
            Some(h) if !h.warned => {
                h.warned = true;
                true
            }
            _ => false,
        }
    }

    /// WeCom answered 45009 for `key`: starts (or lengthens) its hold — a minute, or an hour when the last
    /// hold ended less than a minute ago — here and in the store. Returns the hold.
    pub(crate) async fn start(
        &self,
        key: &str,
        endpoint: &str,
        errmsg: &str,
        minute: Duration,
        store: Option<&Arc<dyn TokenStore>>,
    ) -> Hold {
        let now = unix_millis();
        let minute_ms = u64::try_from(minute.as_millis()).unwrap_or(u64::MAX).max(1);
        let hold = {
            let mut map = self.lock();
            let previous = map.get(key).cloned();
            let strikes = match &previous {
                Some(p) if p.until_ms > now => p.strikes, // an answer to a call sent before the hold began
                Some(p) if now.saturating_sub(p.until_ms) < minute_ms => p.strikes + 1,
                _ => 1,
            };
            let span = if strikes >= 2 { minute_ms * 60 } else { minute_ms };
            let until_ms = match &previous {
                Some(p) if p.until_ms > now => p.until_ms.max(now + span),
                _ => now + span,
            };
            let h = Hold {
                until_ms,
                strikes,
                errmsg: errmsg.to_string(),
                warned: previous.as_ref().is_some_and(|p| p.until_ms > now && p.warned),
            };
            map.insert(key.to_string(), h.clone());
            h
        };
        if let Some(store) = store {
            let shared = FetchFailure::new(
                endpoint,
                crate::errcode::FREQUENCY_LIMIT,
                errmsg,
                hold.strikes,
                hold.until_ms,
            );
            // Kept a minute past its end, so a 45009 right after it still counts as the next strike.
            let ttl = Duration::from_millis(hold.until_ms.saturating_sub(now) + minute_ms);
            if let Err(e) = store.set_failure(key, Some(&shared), ttl).await {
                tracing::debug!(error = %e, "the hold could not be shared through the token store");
            }
        }
        hold
    }
}

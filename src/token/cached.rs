//! [`CachedToken`]: a token with the wall-clock moment it expires, and [`unix_millis`].

use super::Secret;
pub use crate::clock::unix_millis;
use std::time::Duration;

/// A token and the wall-clock moment after which it must not be used any more. Serializable (serde), so any
/// [`TokenStore`](super::TokenStore) can persist it; `Debug` never shows the token.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CachedToken {
    /// The token.
    pub token: Secret,
    /// Unix time in milliseconds after which it is not used any more (already shortened by a safety margin).
    pub expires_at_ms: u64,
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

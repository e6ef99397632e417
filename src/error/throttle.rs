//! Why a call was not sent, for [`Error::Throttled`](crate::Error::Throttled) (the rate budgets of
//! [`limits`](crate::limits) decide it; the type lives here so the error layer stays below them).

use std::fmt;

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

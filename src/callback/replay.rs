//! The replay window: how old (or how far in the future) a callback's signed timestamp may be.
//!
//! WeCom's signature proves who made a message, not when: a correctly signed request captured from an
//! access log, a proxy or a debugging session verifies forever. The router therefore refuses a request
//! whose signed `timestamp` is outside [`ReplayWindow`] (by default 5 minutes into the past and 60 seconds
//! of clock skew into the future), and deduplicates every message it accepts for at least as long as the
//! window spans. Together: a replay inside the window is a duplicate (acknowledged, not handled again), a
//! replay outside it is refused — zero replays handled, whatever the options. That is why
//! [`ReplayWindow::check_dedupe`] refuses a dedupe window shorter than the replay window: the gap between
//! them would let a replay through.
//!
//! [`ReplayWindow::check`] is the one check every router applies (the in-memory `Endpoint` and a durable
//! queue alike).

use std::time::Duration;

use super::CallbackError;

/// How far from now a callback's signed timestamp may be before the request is refused as a replay.
///
/// The default ([`ReplayWindow::DEFAULT`]) is 5 minutes into the past and 60 seconds into the future.
/// Turning the check off is an explicit choice: [`ReplayWindow::Off`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReplayWindow {
    /// Refuse a timestamp older than `past` or further than `future` ahead of now.
    Within {
        /// How old a timestamp may be.
        past: Duration,
        /// How far ahead of now a timestamp may be (the clock-skew allowance).
        future: Duration,
    },
    /// No timestamp check: a captured request is accepted again once the dedupe store forgot it. Only for
    /// setups that refuse replays elsewhere.
    Off,
}

impl Default for ReplayWindow {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Where a timestamp lies relative to a [`ReplayWindow`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TimestampAge {
    /// Inside the window (or the window is off).
    Inside,
    /// Older than the window allows, by this many seconds in total.
    TooOld {
        /// Seconds between the timestamp and now.
        age_secs: u64,
    },
    /// Further in the future than the window allows, by this many seconds in total.
    InTheFuture {
        /// Seconds between now and the timestamp.
        ahead_secs: u64,
    },
}

impl ReplayWindow {
    /// The default: 5 minutes into the past (as Slack's request signing), 60 seconds into the future.
    pub const DEFAULT: ReplayWindow = ReplayWindow::Within {
        past: Duration::from_secs(300),
        future: Duration::from_secs(60),
    };

    /// A window of `past` into the past and `future` into the future.
    pub const fn within(past: Duration, future: Duration) -> ReplayWindow {
        ReplayWindow::Within { past, future }
    }

    /// The whole span a timestamp may be accepted in (`past + future`, saturating); zero when off. A dedupe
    /// window must be at least this long: a message is accepted for that long (as seen by clocks of differing
    /// skew), so it must be remembered for that long.
    pub fn span(&self) -> Duration {
        match *self {
            ReplayWindow::Within { past, future } => past.saturating_add(future),
            ReplayWindow::Off => Duration::ZERO,
        }
    }

    /// Refuses a dedupe window shorter than [`span`](Self::span) with
    /// [`CallbackError::DedupeShorterThanReplayWindow`].
    pub fn check_dedupe(&self, dedupe_window: Duration) -> Result<(), CallbackError> {
        let span = self.span();
        if dedupe_window < span {
            return Err(CallbackError::DedupeShorterThanReplayWindow {
                dedupe_secs: dedupe_window.as_secs(),
                replay_secs: span.as_secs(),
            });
        }
        Ok(())
    }

    /// Where `timestamp` (unix seconds, as in the signed query) lies for a clock reading `now_secs`.
    /// Fails with [`CallbackError::InvalidField`] when the timestamp is not a decimal number.
    pub fn age(&self, timestamp: &str, now_secs: u64) -> Result<TimestampAge, CallbackError> {
        let sent = timestamp
            .trim()
            .parse::<u64>()
            .map_err(|_| CallbackError::InvalidField {
                field: "timestamp",
                expected: "a number of seconds",
            })?;
        let ReplayWindow::Within { past, future } = *self else {
            return Ok(TimestampAge::Inside);
        };
        Ok(if sent <= now_secs {
            let age_secs = now_secs - sent;
            if age_secs > past.as_secs() {
                TimestampAge::TooOld { age_secs }
            } else {
                TimestampAge::Inside
            }
        } else {
            let ahead_secs = sent - now_secs;
            if ahead_secs > future.as_secs() {
                TimestampAge::InTheFuture { ahead_secs }
            } else {
                TimestampAge::Inside
            }
        })
    }

    /// Checks `timestamp` against the window on the runtime's clock ([`crate::clock::unix_secs`]):
    /// [`CallbackError::OutsideReplayWindow`] when it is outside, [`CallbackError::InvalidField`] when it is
    /// not a number (also when the window is off).
    pub fn check(&self, timestamp: &str) -> Result<(), CallbackError> {
        self.check_at(timestamp, crate::clock::unix_secs())
    }

    /// [`check`](Self::check) for a clock reading `now_secs`.
    pub fn check_at(&self, timestamp: &str, now_secs: u64) -> Result<(), CallbackError> {
        match self.age(timestamp, now_secs)? {
            TimestampAge::Inside => Ok(()),
            TimestampAge::TooOld { age_secs } => Err(CallbackError::OutsideReplayWindow {
                offset_secs: -i64::try_from(age_secs).unwrap_or(i64::MAX),
            }),
            TimestampAge::InTheFuture { ahead_secs } => Err(CallbackError::OutsideReplayWindow {
                offset_secs: i64::try_from(ahead_secs).unwrap_or(i64::MAX),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_700_000_000;

    #[test]
    fn the_default_accepts_five_minutes_back_and_a_minute_ahead() {
        let w = ReplayWindow::DEFAULT;
        assert_eq!(w.check_at(&NOW.to_string(), NOW), Ok(()));
        assert_eq!(w.check_at(&(NOW - 300).to_string(), NOW), Ok(()));
        assert_eq!(
            w.check_at(&(NOW - 301).to_string(), NOW),
            Err(CallbackError::OutsideReplayWindow { offset_secs: -301 })
        );
        assert_eq!(w.check_at(&(NOW + 60).to_string(), NOW), Ok(()));
        assert_eq!(
            w.check_at(&(NOW + 600).to_string(), NOW),
            Err(CallbackError::OutsideReplayWindow { offset_secs: 600 })
        );
        assert!(matches!(
            w.check_at("yesterday", NOW),
            Err(CallbackError::InvalidField { .. })
        ));
        assert!(matches!(
            w.check_at("99999999999999999999999", NOW),
            Err(CallbackError::InvalidField { .. })
        ));
        assert!(w.check_at(&u64::MAX.to_string(), NOW).is_err());
        assert!(w.check_at("0", NOW).is_err());
    }

    #[test]
    fn off_accepts_any_number_and_the_span_rule_holds() {
        assert_eq!(ReplayWindow::Off.check_at("0", NOW), Ok(()));
        assert_eq!(ReplayWindow::Off.check_dedupe(Duration::ZERO), Ok(()));
        assert_eq!(ReplayWindow::DEFAULT.span(), Duration::from_secs(360));
        assert_eq!(ReplayWindow::DEFAULT.check_dedupe(Duration::from_secs(360)), Ok(()));
        assert_eq!(
            ReplayWindow::DEFAULT.check_dedupe(Duration::from_secs(359)),
            Err(CallbackError::DedupeShorterThanReplayWindow {
                dedupe_secs: 359,
                replay_secs: 360
            })
        );
        let huge = ReplayWindow::within(Duration::MAX, Duration::MAX);
        assert_eq!(huge.span(), Duration::MAX);
        assert_eq!(huge.check_at("0", NOW), Ok(()));
    }
}

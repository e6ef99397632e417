//! The runtime's one clock: every deadline, backoff, lease, expiry, dedupe window and timestamp window of the
//! SDK reads time here, and every wait of the SDK sleeps here.
//!
//! The clock is tokio's: [`Instant`] is [`tokio::time::Instant`], [`sleep`] and [`timeout`] are tokio's. In
//! production that is the machine's monotonic clock. In a test that pauses tokio's time
//! (`#[tokio::test(start_paused = true)]`, or `tokio::time::pause`, with tokio's `test-util` feature) the
//! whole runtime runs on virtual time: `tokio::time::advance` moves it, and when every task waits, tokio
//! jumps it to the next timer — so a 30-second backoff takes no real time and no test depends on how busy
//! the machine is.
//!
//! Values that cross processes (a token's expiry, a fleet's shared retry time, a callback's timestamp) are
//! unix times. [`unix_millis`] and [`unix_secs`] read the wall clock ([`std::time::SystemTime`]) shifted by
//! how far tokio's clock runs ahead of (or behind) the real monotonic clock. That shift is zero unless time is
//! paused, so production gets plain wall-clock time, while a paused test gets a unix time that stands still
//! until the test advances it, and then moves by exactly as much as tokio's clock.
//!
//! Rules for code in this crate (and for features that come later: queues, rate budgets):
//!
//! - a moment in this process: [`now`] / [`Instant`], never `std::time::Instant`;
//! - a moment other processes read: [`unix_millis`] / [`unix_secs`], never `SystemTime::now()`;
//! - waiting: [`sleep`] / [`timeout`] (never `std::thread::sleep`);
//! - a library with its own clock is driven through this one (e.g. a `governor` rate limiter with a clock
//!   whose `now()` is [`now`]), so that it runs on virtual time in tests too.
//!
//! What is not on this clock: durations Redis enforces itself (`PX` on a lease or a token key) run on the
//! Redis server's clock, and socket timeouts of reqwest and the `redis` crate use tokio's timers (so they are
//! on it, but a test that talks to a real `redis-server` keeps real time: see `tests/it/fleet.rs`).
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use std::time::Duration;
//! use wecom_externalcontact::clock;
//! let started = clock::now();
//! clock::sleep(Duration::from_millis(1)).await;
//! assert!(started.elapsed() >= Duration::from_millis(1));
//! assert!(clock::unix_millis() > 1_600_000_000_000);
//! # }
//! ```

use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub use tokio::time::{sleep, timeout, Instant};

/// The current moment on the runtime's clock (tokio's: virtual while a test has paused time).
pub fn now() -> Instant {
    Instant::now()
}

/// The current unix time in milliseconds: the wall clock in production; in a test with paused time, the wall
/// clock of the moment time was paused plus how far the test has advanced it since.
pub fn unix_millis() -> u64 {
    let since_epoch = unix_now().duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
    u64::try_from(since_epoch.as_millis()).unwrap_or(u64::MAX)
}

/// The current unix time in whole seconds (see [`unix_millis`]).
pub fn unix_secs() -> u64 {
    unix_millis() / 1000
}

/// The wall clock shifted by tokio's clock's lead over the real monotonic clock (zero unless time is paused).
///
/// Reads go through an anchor, a (wall clock, monotonic clock) pair read together and renewed once a real
/// minute has passed: the time is the anchor's wall clock plus how far tokio's clock is past the anchor's
/// monotonic reading. Reading the three clocks afresh on every call would let the real time that passes
/// between the reads (a busy machine makes it a millisecond or more) leak into a paused test's unix time;
/// through the anchor a paused time stands still exactly, while production follows the wall clock (a step of
/// it is seen within a minute; both clocks are slewed alike meanwhile).
fn unix_now() -> SystemTime {
    use std::sync::Mutex;
    static ANCHOR: Mutex<Option<(SystemTime, std::time::Instant)>> = Mutex::new(None);
    let real = std::time::Instant::now();
    let (wall0, real0) = {
        let mut anchor = ANCHOR.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        match *anchor {
            Some((wall0, real0)) if real.saturating_duration_since(real0) < Duration::from_secs(60) => (wall0, real0),
            _ => {
                let fresh = (SystemTime::now(), std::time::Instant::now());
                *anchor = Some(fresh);
                fresh
            }
        }
    };
    let runtime = Instant::now().into_std();
    match runtime.checked_duration_since(real0) {
        Some(ahead) => wall0.checked_add(ahead).unwrap_or(wall0),
        None => wall0.checked_sub(real0.duration_since(runtime)).unwrap_or(wall0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn unix_time_is_the_wall_clock_when_time_runs() {
        let wall = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64;
        let ours = unix_millis();
        // Both read the same wall clock within one call of each other; a second is room for any scheduler.
        assert!(ours.abs_diff(wall) < 1000, "{ours} vs {wall}");
    }

    #[tokio::test(start_paused = true)]
    async fn paused_unix_time_stands_still_and_moves_with_tokio() {
        let before = unix_millis();
        let started = now();
        // Real time passes; virtual time does not.
        std::thread::sleep(Duration::from_millis(30));
        assert_eq!(unix_millis(), before, "stands still while paused");
        tokio::time::advance(Duration::from_secs(7200)).await;
        assert_eq!(started.elapsed(), Duration::from_secs(7200));
        assert_eq!(unix_millis(), before + 7_200_000, "moves by exactly the advance");
        // A sleep with nothing else to do jumps the clock to its end.
        sleep(Duration::from_secs(30)).await;
        assert_eq!(unix_millis(), before + 7_230_000);
        assert_eq!(unix_secs(), (before + 7_230_000) / 1000);
    }
}

//! Exactly-once bookkeeping for callbacks: which messages are being handled and which are done.
//!
//! WeCom redelivers a callback it got no `200` for (three times in all), so one message can arrive several
//! times, and behind a load balancer at different processes. The router keys each message by a digest of
//! its *decrypted* content (see [`message_key`]), not by `FromUserName` + `CreateTime`: every 客户联系
//! event has `FromUserName` `sys`, so two customers added in the same second share that pair.
//!
//! A key moves through three states:
//!
//! * absent → [`DedupeStore::claim`] → **in flight** (one handler owns it; any copy that arrives now is
//!   acknowledged and not handed out again);
//! * in flight → [`DedupeStore::complete`] → **done** for the dedupe window (copies are acknowledged and
//!   dropped);
//! * in flight → [`DedupeStore::release`] → absent again, when the handler panicked, so a redelivery is
//!   handled.
//!
//! A message refused with `503` (full queue, shutting down) is never claimed, so WeCom's redelivery of it
//! is handled. [`MemoryDedupe`] (the default) serves one process; [`RedisDedupe`] (feature `redis`) a
//! fleet.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::clock::Instant;

use sha1::{Digest, Sha1};

#[cfg(feature = "redis")]
use super::CallbackError;
use crate::Error;

/// A boxed, sendable future, the return type of [`DedupeStore`]'s methods.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What [`DedupeStore::claim`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Claim {
    /// The key was free and is now in flight for the caller, who must `complete` or `release` it.
    Claimed,
    /// Another handler owns the message right now.
    InFlight,
    /// The message was handled within the dedupe window.
    Done,
}

/// Where the router records which messages are in flight and which are done.
///
/// Implementations must make [`claim`](Self::claim) atomic: of any number of concurrent claims of one
/// key (from any process sharing the store), exactly one gets [`Claim::Claimed`]. A failure (e.g. the
/// store is unreachable) is an error; the router then answers `503` so WeCom delivers the message again
/// later, and logs the error, so an error message must not contain credentials.
pub trait DedupeStore: Send + Sync + 'static {
    /// Marks `key` in flight for `lease` unless it is already in flight or done.
    fn claim<'a>(&'a self, key: &'a str, lease: Duration) -> BoxFuture<'a, Result<Claim, Error>>;
    /// Marks `key` done for `window` (the handler finished).
    fn complete<'a>(&'a self, key: &'a str, window: Duration) -> BoxFuture<'a, Result<(), Error>>;
    /// Forgets `key` (the handler failed), so the next delivery of the message is handled.
    fn release<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), Error>>;
}

/// The dedupe key of a decrypted message: the lowercase hex SHA-1 of the receive id, a newline and the
/// decrypted message exactly as WeCom sent it.
///
/// The decrypted text is the same in every redelivery (only the random prefix of the ciphertext
/// changes) and differs between any two distinct events, even two with the same `FromUserName` and
/// `CreateTime`. SHA-1 is enough here: only a holder of the EncodingAESKey can make the router decrypt a
/// chosen message, and a 160-bit digest does not collide by accident.
pub fn message_key(receive_id: &str, decrypted: &str) -> String {
    let mut hasher = Sha1::new();
    hasher.update(receive_id.as_bytes());
    hasher.update(b"\n");
    hasher.update(decrypted.as_bytes());
    hex::encode(hasher.finalize())
}

// ---------------------------------------------------------------------------------------------------------
// In memory

/// The in-process [`DedupeStore`]: a map with expiry, bounded to `capacity` keys.
///
/// Expired keys are dropped as new ones arrive. When the map is full the oldest key is evicted first
/// (the one least likely to be redelivered); the default capacity of 100 000 keys covers 10 minutes at
/// more than 160 callbacks per second. Keep the capacity well above the endpoint's concurrency plus queue,
/// so only done keys are ever evicted. Cheap to clone (clones share the map).
#[derive(Clone)]
pub struct MemoryDedupe {
    inner: Arc<Mutex<MemoryInner>>,
    capacity: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SlotState {
    InFlight,
    Done,
}

struct Slot {
    state: SlotState,
    expires: Instant,
    generation: u64,
}

#[derive(Default)]
struct MemoryInner {
    slots: HashMap<String, Slot>,
    /// Keys in the order they were last written, with the generation of that write; an entry whose
    /// generation no longer matches its slot is stale and skipped.
    order: VecDeque<(String, u64)>,
    next_generation: u64,
}

impl std::fmt::Debug for MemoryDedupe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryDedupe")
            .field("capacity", &self.capacity)
            .field("len", &self.len())
            .finish()
    }
}

impl Default for MemoryDedupe {
    fn default() -> Self {
        MemoryDedupe::new(MemoryDedupe::DEFAULT_CAPACITY)
    }
}

impl MemoryDedupe {
    /// The default number of keys kept.
    pub const DEFAULT_CAPACITY: usize = 100_000;

    /// A store keeping at most `capacity` keys (at least 1).
    pub fn new(capacity: usize) -> MemoryDedupe {
        MemoryDedupe {
            inner: Arc::new(Mutex::new(MemoryInner::default())),
            capacity: capacity.max(1),
        }
    }

    /// The number of keys held now (in flight or done, expired ones not yet dropped included).
    pub fn len(&self) -> usize {
        self.lock().slots.len()
    }

    /// Whether no key is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, MemoryInner> {
        // A panic while holding the lock cannot leave the map inconsistent (every write is one insert or
        // remove), so a poisoned lock is used as is.
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn claim_now(&self, key: &str, lease: Duration) -> Claim {
        let now = Instant::now();
        let mut inner = self.lock();
        inner.sweep(now, self.capacity);
        if let Some(slot) = inner.slots.get(key)
            && slot.expires > now
        {
            return match slot.state {
                SlotState::InFlight => Claim::InFlight,
                SlotState::Done => Claim::Done,
            };
        }
        inner.write(key, SlotState::InFlight, expiry(now, lease));
        inner.sweep(now, self.capacity);
        Claim::Claimed
    }

    fn complete_now(&self, key: &str, window: Duration) {
        let now = Instant::now();
        let mut inner = self.lock();
        inner.write(key, SlotState::Done, expiry(now, window));
        inner.sweep(now, self.capacity);
    }

    fn release_now(&self, key: &str) {
        let mut inner = self.lock();
        if inner
            .slots
            .get(key)
            .is_some_and(|slot| slot.state == SlotState::InFlight)
        {
            inner.slots.remove(key);
        }
    }
}

/// The longest expiry kept: a century (longer durations are clamped so no addition overflows).
const LONGEST: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// `now + duration`, clamped to [`LONGEST`].
fn expiry(now: Instant, duration: Duration) -> Instant {
    now.checked_add(duration.min(LONGEST)).unwrap_or(now)
}

impl MemoryInner {
    fn write(&mut self, key: &str, state: SlotState, expires: Instant) {
        let generation = self.next_generation;
        self.next_generation += 1;
        self.slots.insert(
            key.to_owned(),
            Slot {
                state,
                expires,
                generation,
            },
        );
        self.order.push_back((key.to_owned(), generation));
    }

    /// Drops stale order entries, expired keys at the front, and the oldest keys beyond `capacity`.
    fn sweep(&mut self, now: Instant, capacity: usize) {
        while let Some((key, generation)) = self.order.front() {
            let current = self.slots.get(key).filter(|slot| slot.generation == *generation);
            match current {
                None => {}
                Some(slot) if slot.expires <= now || self.slots.len() > capacity => {
                    self.slots.remove(key);
                }
                Some(_) => break,
            }
            self.order.pop_front();
        }
        // Keys written with a long lease can sit behind younger ones; the order list stays bounded by
        // dropping its stale entries whenever it grows past twice the number of keys.
        if self.order.len() > 2 * self.slots.len() + 64 {
            let slots = &self.slots;
            self.order
                .retain(|(key, generation)| slots.get(key).is_some_and(|slot| slot.generation == *generation));
        }
    }
}

impl DedupeStore for MemoryDedupe {
    fn claim<'a>(&'a self, key: &'a str, lease: Duration) -> BoxFuture<'a, Result<Claim, Error>> {
        let claim = self.claim_now(key, lease);
        Box::pin(async move { Ok(claim) })
    }

    fn complete<'a>(&'a self, key: &'a str, window: Duration) -> BoxFuture<'a, Result<(), Error>> {
        self.complete_now(key, window);
        Box::pin(async { Ok(()) })
    }

    fn release<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), Error>> {
        self.release_now(key);
        Box::pin(async { Ok(()) })
    }
}

// ---------------------------------------------------------------------------------------------------------
// Redis

/// A [`DedupeStore`] in Redis, shared by every process that uses the same Redis and key prefix (a fleet
/// behind a load balancer dedupes across processes).
///
/// Each key is one Redis string, `<prefix><digest>`, holding `inflight` (with the lease as its expiry) or
/// `done` (with the dedupe window as its expiry); the claim is one Lua script, so it is atomic across
/// processes. Redis errors come back as [`CallbackError::Store`] with the error's category only (never
/// the URL or its password).
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
#[derive(Clone)]
pub struct RedisDedupe {
    connection: redis::aio::ConnectionManager,
    prefix: String,
}

#[cfg(feature = "redis")]
impl std::fmt::Debug for RedisDedupe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisDedupe")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

#[cfg(feature = "redis")]
const CLAIM_SCRIPT: &str = r#"
local state = redis.call('GET', KEYS[1])
if state then return state end
redis.call('SET', KEYS[1], 'inflight', 'PX', ARGV[1])
return 'claimed'
"#;

#[cfg(feature = "redis")]
const RELEASE_SCRIPT: &str = r#"
if redis.call('GET', KEYS[1]) == 'inflight' then return redis.call('DEL', KEYS[1]) end
return 0
"#;

#[cfg(feature = "redis")]
impl RedisDedupe {
    /// The default key prefix.
    pub const DEFAULT_PREFIX: &'static str = "wecom:callback:dedupe:";

    /// A store on this connection, with keys under [`DEFAULT_PREFIX`](Self::DEFAULT_PREFIX).
    pub fn new(connection: redis::aio::ConnectionManager) -> RedisDedupe {
        RedisDedupe {
            connection,
            prefix: Self::DEFAULT_PREFIX.to_owned(),
        }
    }

    /// A store on the Redis at `url` (`redis://[:password@]host:port/db`). Connects lazily, on the first
    /// callback, with a 2-second connect and response timeout, so an unreachable Redis makes the router
    /// answer `503` quickly instead of holding WeCom past its 5-second limit. Fails only on a malformed
    /// URL (the error does not repeat the URL).
    pub fn open(url: &str) -> Result<RedisDedupe, Error> {
        let client = redis::Client::open(url).map_err(redis_error)?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(Some(Duration::from_secs(2)))
            .set_number_of_retries(1);
        let connection = client.get_connection_manager_lazy(config).map_err(redis_error)?;
        Ok(RedisDedupe::new(connection))
    }

    /// Puts the keys under `prefix` instead (e.g. one prefix per callback URL or per environment).
    pub fn prefix(mut self, prefix: impl Into<String>) -> RedisDedupe {
        self.prefix = prefix.into();
        self
    }

    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }
}

#[cfg(feature = "redis")]
fn redis_error(err: redis::RedisError) -> Error {
    CallbackError::Store(format!("redis: {}", err.category())).into()
}

#[cfg(feature = "redis")]
fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.min(LONGEST).as_millis())
        .unwrap_or(u64::MAX)
        .max(1)
}

#[cfg(feature = "redis")]
impl DedupeStore for RedisDedupe {
    fn claim<'a>(&'a self, key: &'a str, lease: Duration) -> BoxFuture<'a, Result<Claim, Error>> {
        Box::pin(async move {
            let mut connection = self.connection.clone();
            let state: String = redis::Script::new(CLAIM_SCRIPT)
                .key(self.key(key))
                .arg(millis(lease))
                .invoke_async(&mut connection)
                .await
                .map_err(redis_error)?;
            match state.as_str() {
                "claimed" => Ok(Claim::Claimed),
                "inflight" => Ok(Claim::InFlight),
                "done" => Ok(Claim::Done),
                _ => Err(CallbackError::Store("redis: the dedupe key holds an unknown value".into()).into()),
            }
        })
    }

    fn complete<'a>(&'a self, key: &'a str, window: Duration) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            let mut connection = self.connection.clone();
            redis::cmd("SET")
                .arg(self.key(key))
                .arg("done")
                .arg("PX")
                .arg(millis(window))
                .query_async::<()>(&mut connection)
                .await
                .map_err(redis_error)
        })
    }

    fn release<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            let mut connection = self.connection.clone();
            redis::Script::new(RELEASE_SCRIPT)
                .key(self.key(key))
                .invoke_async::<i64>(&mut connection)
                .await
                .map(|_| ())
                .map_err(redis_error)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_states_and_expiry() {
        let store = MemoryDedupe::new(10);
        let lease = Duration::from_secs(60);
        assert_eq!(store.claim_now("a", lease), Claim::Claimed);
        assert_eq!(store.claim_now("a", lease), Claim::InFlight);
        store.release_now("a");
        assert_eq!(
            store.claim_now("a", lease),
            Claim::Claimed,
            "a released key is handed out again"
        );
        store.complete_now("a", Duration::from_secs(60));
        assert_eq!(store.claim_now("a", lease), Claim::Done);
        store.release_now("a");
        assert_eq!(
            store.claim_now("a", lease),
            Claim::Done,
            "release does not forget a done key"
        );
        store.complete_now("b", Duration::ZERO);
        assert_eq!(store.claim_now("b", lease), Claim::Claimed, "an expired key is free");
    }

    /// The window and the lease run on the runtime's clock (paused here): exact edges, no real waiting.
    #[tokio::test(start_paused = true)]
    async fn memory_windows_end_exactly_on_the_clock() {
        let store = MemoryDedupe::new(10);
        let (lease, window) = (Duration::from_secs(30), Duration::from_secs(600));
        assert_eq!(store.claim_now("a", lease), Claim::Claimed);
        tokio::time::advance(lease - Duration::from_millis(1)).await;
        assert_eq!(store.claim_now("a", lease), Claim::InFlight, "the lease still holds");
        tokio::time::advance(Duration::from_millis(1)).await;
        assert_eq!(
            store.claim_now("a", lease),
            Claim::Claimed,
            "a lease whose handler never finished runs out"
        );
        store.complete_now("a", window);
        tokio::time::advance(window - Duration::from_millis(1)).await;
        assert_eq!(
            store.claim_now("a", lease),
            Claim::Done,
            "a duplicate inside the window"
        );
        tokio::time::advance(Duration::from_millis(1)).await;
        assert_eq!(store.claim_now("a", lease), Claim::Claimed, "the window has passed");
    }

    #[test]
    fn memory_is_bounded_and_evicts_the_oldest() {
        let store = MemoryDedupe::new(100);
        let window = Duration::from_secs(600);
        for i in 0..1000 {
            let key = format!("k{i}");
            assert_eq!(store.claim_now(&key, window), Claim::Claimed);
            store.complete_now(&key, window);
        }
        assert!(store.len() <= 100, "{} keys held", store.len());
        assert!(store.lock().order.len() <= 2 * 100 + 64 + 2);
        assert_eq!(store.claim_now("k999", window), Claim::Done, "the newest keys are kept");
        assert_eq!(store.claim_now("k0", window), Claim::Claimed, "the oldest were evicted");
    }

    #[test]
    fn keys_differ_by_content_and_receiver() {
        let a = message_key("ww1", "<xml>a</xml>");
        assert_eq!(a, message_key("ww1", "<xml>a</xml>"));
        assert_ne!(a, message_key("ww1", "<xml>b</xml>"));
        assert_ne!(a, message_key("ww2", "<xml>a</xml>"));
        assert_eq!(a.len(), 40);
    }
}

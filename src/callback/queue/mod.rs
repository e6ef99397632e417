//! The durable callback queue on Redis Streams (feature `redis`); the guarantees are documented on [`RedisQueue`].

mod worker;

pub use worker::{Delivery, Worker, WorkerHandle};

use std::sync::Arc;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::streams::{StreamId, StreamInfoGroupsReply, StreamPendingReply, StreamRangeReply};
use sha1::{Digest, Sha1};
use tokio::sync::OnceCell;

use super::{CallbackError, Event};
use crate::Error;

/// The consumer group every worker reads through.
const GROUP: &str = "wecom-workers";

/// A durable callback queue on Redis Streams (feature `redis`): acknowledged means kept.
///
/// The default router ([`super::router`]) answers `success` and then runs the handler in the same process,
/// from memory: **a crash, an OOM kill or a deploy that outlasts the drain deadline loses every event it
/// has acknowledged and not yet handled**, and WeCom never resends an event it got `success` for. With a
/// [`RedisQueue`] the router answers `success` only after the decrypted event is written to a Redis
/// stream, and [`Worker`]s in any process of the fleet handle it from there:
///
/// ```text
/// WeCom ──► receiver (Endpoint::durable) ──XADD──► <prefix>shard:<n>  (n = hash(entity) mod shards)
///                 200 only after XADD; 503 if Redis fails         │ consumer group, one lease per shard
///                                                                 ▼
///                                  Worker: claim (DedupeStore) → handler → done → XACK
///                                          Err/panic → backoff → retry … → <prefix>dead after N attempts
/// ```
///
/// # What is guaranteed
///
/// * **Stored before acknowledged.** `success` is answered only after `XADD` returned; an unreachable or
///   failing Redis gives `503` (WeCom delivers again), never `200`.
/// * **Handled once.** The worker runs the handler between [`super::DedupeStore::claim`] and
///   [`super::DedupeStore::complete`] (keyed by [`super::message_key`]), and acknowledges the stream entry only after
///   `complete`: WeCom's redeliveries (stored twice) and re-claims inside the fleet run the handler once, and an
///   entry whose handler finished but whose `XACK` was lost is acknowledged without running it again. The
///   gaps are the ones every queue has, all at-least-once: a handler killed (or cut off from Redis) *after*
///   its side effects but *before* `complete` is recorded runs again, and so does one whose worker stalled
///   for longer than the visibility timeout while it ran; make side effects idempotent with
///   [`Delivery::key`] where that matters.
/// * **Order per entity.** Events of one customer (`ExternalUserID`), one group chat (`ChatId`) or one tag
///   or tag group (`Id`), of one corp, go to one shard stream (a SHA-1 of the entity key modulo the number
///   of shards); a shard is consumed by one worker task at a time, under a lease in Redis, strictly in
///   stream order: an entry that fails is retried (with backoff) before anything after it in its shard, until
///   it is handled or dead-lettered. Different shards run in parallel. Events without an entity key go to the
///   shard of their dedupe key. A replayed dead letter is appended at the end of its shard, so it runs after
///   the events of its entity that arrived since.
/// * **A worker that dies mid-shard.** Its shard lease expires after the visibility timeout (it is renewed
///   every third of it while the worker lives); the next worker to take the lease first `XAUTOCLAIM`s the
///   entries the dead worker held (idle for at least the visibility timeout) and handles them, oldest first,
///   before reading anything new, so the shard's order holds across the crash. The entry whose handler was
///   running counts one attempt; its dedupe claim (in flight, for the visibility timeout) makes the new worker
///   wait for it rather than run it beside a worker that was only slow.
/// * **Nothing dropped silently.** After [`Worker::max_attempts`] failed attempts (default 5) the entry is
///   moved to `<prefix>dead` with the last error's kind; [`RedisQueue::dead_letters`] lists them and
///   [`RedisQueue::replay`] puts one back (the CLI: `wecom callback queue dead`, `… replay ID`).
/// * **Bounded.** Workers trim each shard (`XTRIM MINID`) to [`RedisQueue::keep_for`] and
///   [`RedisQueue::keep_at_most`], never past the oldest entry that is not yet handled or dead-lettered.
///
/// Deployments: one process with the router and a [`Worker`] (the simplest), or receiver-only processes
/// (the router) and worker-only processes (a [`Worker`]), all pointed at one Redis and one prefix.
///
/// Redis holds the decrypted messages (a `welcome_code`, a suite ticket, …) until they are trimmed: give it
/// the protection the rest of your customer data has. Nothing here writes a message to a log.
///
/// # The type
///
/// A durable queue of decrypted callbacks in Redis Streams, shared by the receivers and the workers of a
/// fleet (every process uses the same Redis, prefix and number of shards). Cheap to clone.
///
/// ```no_run
/// use wecom_externalcontact::callback::{CallbackCrypto, Endpoint, Event, RedisQueue, Worker, Delivery};
///
/// # async fn demo(crypto: CallbackCrypto) -> Result<(), wecom_externalcontact::Error> {
/// let queue = RedisQueue::open("redis://127.0.0.1/")?;
/// // Receiver: answers `success` only once the event is in Redis.
/// let app = Endpoint::new(crypto).durable(queue.clone()).router()?;
/// // Worker (in this process or another one):
/// let workers = Worker::new(queue)
///     .handler(|event: Event, delivery: Delivery| async move {
///         println!("{:?} (attempt {})", event.kind, delivery.attempt);
///         Ok::<(), std::io::Error>(())
///     })
///     .start();
/// # let _ = (app, workers); Ok(()) }
/// ```
///
/// Keys, under the prefix (default [`DEFAULT_PREFIX`](Self::DEFAULT_PREFIX)): `shard:<n>` (the streams,
/// consumer group `wecom-workers`), `lease:<n>` (which worker holds a shard), `attempts` (a hash of attempt
/// counts), `dead` (the dead-letter stream), `meta` (the number of shards, so that processes configured
/// differently fail loudly instead of splitting an entity across shards), `dedupe:` (the workers' default
/// [`super::RedisDedupe`]).
#[derive(Clone)]
pub struct RedisQueue {
    connection: ConnectionManager,
    prefix: Arc<str>,
    shards: u16,
    keep_for: Duration,
    keep_at_most: usize,
    layout: Arc<OnceCell<()>>,
}

impl std::fmt::Debug for RedisQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The connection info may hold a password: show the prefix and the layout only.
        f.debug_struct("RedisQueue")
            .field("prefix", &self.prefix)
            .field("shards", &self.shards)
            .field("keep_for", &self.keep_for)
            .field("keep_at_most", &self.keep_at_most)
            .finish_non_exhaustive()
    }
}

impl RedisQueue {
    /// The default key prefix.
    pub const DEFAULT_PREFIX: &'static str = "wecom:callback:queue:";
    /// The default number of shard streams.
    pub const DEFAULT_SHARDS: u16 = 16;
    /// The most shard streams a queue can have.
    pub const MAX_SHARDS: u16 = 1024;
    /// How long handled entries are kept by default (1 hour).
    pub const DEFAULT_KEEP_FOR: Duration = Duration::from_secs(3600);
    /// How many handled entries a shard keeps at most by default.
    pub const DEFAULT_KEEP_AT_MOST: usize = 10_000;

    /// A queue on this connection, with the default prefix, shards and trimming.
    pub fn new(connection: ConnectionManager) -> RedisQueue {
        RedisQueue {
            connection,
            prefix: Arc::from(Self::DEFAULT_PREFIX),
            shards: Self::DEFAULT_SHARDS,
            keep_for: Self::DEFAULT_KEEP_FOR,
            keep_at_most: Self::DEFAULT_KEEP_AT_MOST,
            layout: Arc::new(OnceCell::new()),
        }
    }

    /// A queue on the Redis at `url` (`redis://[:password@]host:port/db`). Connects lazily, with a 2-second
    /// connect and response timeout, so an unreachable Redis makes the router answer `503` well within
    /// WeCom's 5 seconds. Fails on a malformed URL (the error does not repeat it), and outside a tokio
    /// runtime (the connection lives on it).
    pub fn open(url: &str) -> Result<RedisQueue, Error> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(Error::Config(
                "RedisQueue::open must be called within a tokio runtime".into(),
            ));
        }
        let client = redis::Client::open(url).map_err(queue_error)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(Some(Duration::from_secs(2)))
            .set_number_of_retries(1);
        let connection = client.get_connection_manager_lazy(config).map_err(queue_error)?;
        Ok(RedisQueue::new(connection))
    }

    /// Puts every key under `prefix` instead (one prefix per callback URL or environment).
    pub fn prefix(mut self, prefix: impl Into<String>) -> RedisQueue {
        self.prefix = Arc::from(prefix.into());
        self.layout = Arc::new(OnceCell::new());
        self
    }

    /// The number of shard streams (default 16, clamped to 1..=[`MAX_SHARDS`](Self::MAX_SHARDS)): the
    /// most events handled in parallel across the fleet. Every process of the fleet must use the same
    /// number; the first one to touch the queue records it, and a process configured otherwise gets a
    /// configuration error on its first event.
    pub fn shards(mut self, shards: u16) -> RedisQueue {
        self.shards = shards.clamp(1, Self::MAX_SHARDS);
        self.layout = Arc::new(OnceCell::new());
        self
    }

    /// Handled entries older than this are trimmed (default 1 hour); entries not yet handled are never.
    pub fn keep_for(mut self, age: Duration) -> RedisQueue {
        self.keep_for = age;
        self
    }

    /// A shard keeps at most this many entries once they are handled (default 10 000); entries not yet
    /// handled are never trimmed, however many there are.
    pub fn keep_at_most(mut self, entries: usize) -> RedisQueue {
        self.keep_at_most = entries;
        self
    }

    /// Takes the number of shards recorded in Redis by the fleet (if any), for tools that inspect a queue
    /// without knowing its configuration (`wecom callback queue …`).
    pub async fn with_recorded_shards(mut self) -> Result<RedisQueue, Error> {
        let mut connection = self.connection.clone();
        let recorded: Option<String> = redis::cmd("HGET")
            .arg(self.meta())
            .arg("shards")
            .query_async(&mut connection)
            .await
            .map_err(queue_error)?;
        if let Some(shards) = recorded.and_then(|n| n.parse::<u16>().ok()) {
            self = self.shards(shards);
        }
        Ok(self)
    }

    /// The number of shard streams.
    pub fn shard_count(&self) -> u16 {
        self.shards
    }

    /// The key prefix.
    pub fn key_prefix(&self) -> &str {
        &self.prefix
    }

    /// The shard an event goes to: by its [`entity_key`] if it has one, else by its dedupe key.
    pub fn shard_of(&self, event: &Event, key: &str) -> u16 {
        match entity_key(event) {
            Some(entity) => shard_for(&entity, self.shards),
            None => shard_for(key, self.shards),
        }
    }

    /// Stores one decrypted message (`message` exactly as decrypted, `key` its [`super::message_key`],
    /// `event` its decoding) in its shard and returns the stream entry id. The durable router calls this
    /// before it answers `success`; call it yourself from a receiver that is not the axum router.
    pub async fn push(&self, message: &str, key: &str, event: &Event) -> Result<String, Error> {
        self.check_layout().await?;
        let entity = entity_key(event);
        let shard = match &entity {
            Some(entity) => shard_for(entity, self.shards),
            None => shard_for(key, self.shards),
        };
        let mut cmd = redis::cmd("XADD");
        cmd.arg(self.stream(shard))
            .arg("*")
            .arg("xml")
            .arg(message)
            .arg("key")
            .arg(key)
            .arg("received")
            .arg(unix_millis());
        if let Some(entity) = &entity {
            cmd.arg("entity").arg(entity);
        }
        let mut connection = self.connection.clone();
        cmd.query_async(&mut connection).await.map_err(queue_error)
    }

    /// Per-shard counts and ages, and the number of dead letters.
    pub async fn stats(&self) -> Result<QueueStats, Error> {
        let mut connection = self.connection.clone();
        let now = server_millis(&mut connection).await?;
        let mut shards = Vec::with_capacity(usize::from(self.shards));
        for shard in 0..self.shards {
            shards.push(self.shard_stats(&mut connection, shard, now).await?);
        }
        let dead: usize = redis::cmd("XLEN")
            .arg(self.dead())
            .query_async(&mut connection)
            .await
            .map_err(queue_error)?;
        Ok(QueueStats { shards, dead })
    }

    async fn shard_stats(&self, connection: &mut ConnectionManager, shard: u16, now: u64) -> Result<ShardStats, Error> {
        let stream = self.stream(shard);
        let length: usize = redis::cmd("XLEN")
            .arg(&stream)
            .query_async(connection)
            .await
            .map_err(queue_error)?;
        let holder: Option<String> = redis::cmd("GET")
            .arg(self.lease(shard))
            .query_async(connection)
            .await
            .map_err(queue_error)?;
        let mut stats = ShardStats {
            shard,
            length,
            waiting: length,
            in_flight: 0,
            oldest_age: None,
            held_by: holder.map(|h| h.split('/').next().unwrap_or_default().to_owned()),
        };
        let Some(group) = group_info(connection, &stream).await? else {
            // No worker has read this shard yet: everything in it waits.
            if let Some(first) = first_entry(connection, &stream, "-").await? {
                stats.oldest_age = age_of(&first, now);
            }
            return Ok(stats);
        };
        stats.in_flight = group.pending;
        let after_delivered = format!("({}", group.last_delivered_id);
        stats.waiting = match group.lag {
            Some(lag) => lag,
            None => {
                let range: StreamRangeReply = redis::cmd("XRANGE")
                    .arg(&stream)
                    .arg(&after_delivered)
                    .arg("+")
                    .query_async(connection)
                    .await
                    .map_err(queue_error)?;
                range.ids.len()
            }
        };
        let oldest_pending = match pending_summary(connection, &stream).await? {
            Some((first, _)) => first_entry(connection, &stream, &first).await?,
            None => None,
        };
        let oldest = match oldest_pending {
            Some(entry) => Some(entry),
            None => first_entry(connection, &stream, &after_delivered).await?,
        };
        stats.oldest_age = oldest.as_ref().and_then(|entry| age_of(entry, now));
        Ok(stats)
    }

    /// The dead letters, oldest first (at most `limit`).
    pub async fn dead_letters(&self, limit: usize) -> Result<Vec<DeadLetter>, Error> {
        let mut connection = self.connection.clone();
        let range: StreamRangeReply = redis::cmd("XRANGE")
            .arg(self.dead())
            .arg("-")
            .arg("+")
            .arg("COUNT")
            .arg(limit.clamp(1, i64::MAX as usize))
            .query_async(&mut connection)
            .await
            .map_err(queue_error)?;
        Ok(range.ids.iter().map(DeadLetter::from_entry).collect())
    }

    /// Puts the dead letter `id` back at the end of its shard (attempts start again from 1) and removes it
    /// from the dead letters, atomically; returns the new entry id. Fails with
    /// [`CallbackError::Queue`] if there is no such dead letter.
    pub async fn replay(&self, id: &str) -> Result<String, Error> {
        let mut connection = self.connection.clone();
        let entry = first_entry(&mut connection, &self.dead(), id)
            .await?
            .filter(|entry| entry.id == id)
            .ok_or_else(|| CallbackError::Queue("no dead letter with this id".into()))?;
        let letter = DeadLetter::from_entry(&entry);
        let shard = letter
            .shard
            .filter(|shard| *shard < self.shards)
            .unwrap_or_else(|| shard_for(letter.entity.as_deref().unwrap_or(&letter.key), self.shards));
        let new_id: Option<String> = redis::Script::new(REPLAY_SCRIPT)
            .key(self.dead())
            .key(self.stream(shard))
            .arg(id)
            .invoke_async(&mut connection)
            .await
            .map_err(queue_error)?;
        new_id.ok_or_else(|| CallbackError::Queue("the dead letter was replayed or removed meanwhile".into()).into())
    }

    /// Trims every shard now (workers do this on their own every few seconds); returns the number of
    /// entries removed. Never removes an entry that is not yet handled or dead-lettered.
    pub async fn trim(&self) -> Result<usize, Error> {
        let mut connection = self.connection.clone();
        let mut removed = 0;
        for shard in 0..self.shards {
            removed += self.trim_shard(&mut connection, shard).await?;
        }
        Ok(removed)
    }

    /// Trims one shard: to the age and length limits, but never at or past the oldest entry that is pending
    /// (delivered, not acknowledged) or not yet delivered to the group.
    async fn trim_shard(&self, connection: &mut ConnectionManager, shard: u16) -> Result<usize, Error> {
        let stream = self.stream(shard);
        let Some(group) = group_info(connection, &stream).await? else {
            return Ok(0); // nothing was ever delivered: everything is unhandled
        };
        let Some(delivered) = parse_id(&group.last_delivered_id) else {
            return Ok(0);
        };
        // The first entry not yet delivered has an id above the last delivered one.
        let mut safe = (delivered.0, delivered.1.saturating_add(1));
        if let Some((first_pending, _)) = pending_summary(connection, &stream).await?
            && let Some(pending) = parse_id(&first_pending)
        {
            safe = safe.min(pending);
        }
        let now = server_millis(connection).await?;
        let age_limit = u64::try_from(self.keep_for.as_millis()).unwrap_or(u64::MAX);
        let mut target = (now.saturating_sub(age_limit), 0);
        let length: usize = redis::cmd("XLEN")
            .arg(&stream)
            .query_async(connection)
            .await
            .map_err(queue_error)?;
        if length > self.keep_at_most {
            let newest: StreamRangeReply = redis::cmd("XREVRANGE")
                .arg(&stream)
                .arg("+")
                .arg("-")
                .arg("COUNT")
                .arg(self.keep_at_most.max(1))
                .query_async(connection)
                .await
                .map_err(queue_error)?;
            let oldest_kept = if self.keep_at_most == 0 {
                None
            } else {
                newest.ids.last().and_then(|entry| parse_id(&entry.id))
            };
            target = target.max(oldest_kept.unwrap_or((u64::MAX, u64::MAX)));
        }
        let min_id = target.min(safe);
        if min_id <= (0, 0) {
            return Ok(0);
        }
        redis::cmd("XTRIM")
            .arg(&stream)
            .arg("MINID")
            .arg(format!("{}-{}", min_id.0, min_id.1))
            .query_async(connection)
            .await
            .map_err(queue_error)
    }

    /// Records the number of shards in Redis on first use, and refuses to run with another number.
    async fn check_layout(&self) -> Result<(), Error> {
        self.layout
            .get_or_try_init(|| async {
                let mut connection = self.connection.clone();
                let (_, recorded): (i64, Option<String>) = redis::pipe()
                    .atomic()
                    .cmd("HSETNX")
                    .arg(self.meta())
                    .arg("shards")
                    .arg(self.shards)
                    .cmd("HGET")
                    .arg(self.meta())
                    .arg("shards")
                    .query_async(&mut connection)
                    .await
                    .map_err(queue_error)?;
                match recorded.as_deref().map(str::parse::<u16>) {
                    Some(Ok(n)) if n == self.shards => Ok(()),
                    Some(Ok(n)) => Err(Error::Config(format!(
                        "the callback queue under this prefix has {n} shards, this process is configured with {}; \
                         give every process the same `RedisQueue::shards` (or another prefix)",
                        self.shards
                    ))),
                    _ => Err(CallbackError::Queue("the queue's meta key holds an unknown value".into()).into()),
                }
            })
            .await
            .map(|_| ())
    }

    fn stream(&self, shard: u16) -> String {
        format!("{}shard:{shard}", self.prefix)
    }

    fn lease(&self, shard: u16) -> String {
        format!("{}lease:{shard}", self.prefix)
    }

    fn dead(&self) -> String {
        format!("{}dead", self.prefix)
    }

    fn attempts(&self) -> String {
        format!("{}attempts", self.prefix)
    }

    fn meta(&self) -> String {
        format!("{}meta", self.prefix)
    }
}

/// Moves a dead letter back into its shard and deletes it, unless another replay did so first.
const REPLAY_SCRIPT: &str = r"
local entries = redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1])
if #entries == 0 then return false end
local fields = entries[1][2]
local keep = {}
for i = 1, #fields, 2 do
  local name = fields[i]
  if name == 'xml' or name == 'key' or name == 'received' or name == 'entity' then
    table.insert(keep, name)
    table.insert(keep, fields[i + 1])
  end
end
local id = redis.call('XADD', KEYS[2], '*', unpack(keep))
redis.call('XDEL', KEYS[1], ARGV[1])
return id";

/// What [`RedisQueue::stats`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct QueueStats {
    /// One entry per shard, in shard order.
    pub shards: Vec<ShardStats>,
    /// Entries in the dead-letter stream.
    pub dead: usize,
}

impl QueueStats {
    /// Events not yet handled in all shards (waiting plus in flight).
    pub fn pending(&self) -> usize {
        self.shards.iter().map(ShardStats::pending).sum()
    }

    /// The age of the oldest event not yet handled, in any shard.
    pub fn oldest_age(&self) -> Option<Duration> {
        self.shards.iter().filter_map(|s| s.oldest_age).max()
    }
}

/// One shard in [`QueueStats`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ShardStats {
    /// The shard's number.
    pub shard: u16,
    /// Entries in the stream (handled ones not yet trimmed included).
    pub length: usize,
    /// Entries not yet delivered to a worker.
    pub waiting: usize,
    /// Entries delivered to a worker and not yet acknowledged (running, backing off, or held by a worker
    /// that died and not yet claimed by another).
    pub in_flight: usize,
    /// How long ago the oldest entry not yet handled was received.
    pub oldest_age: Option<Duration>,
    /// The consumer name of the worker holding the shard's lease, if any.
    pub held_by: Option<String>,
}

impl ShardStats {
    /// Entries not yet handled: waiting plus in flight.
    pub fn pending(&self) -> usize {
        self.waiting + self.in_flight
    }
}

/// An entry of the dead-letter stream, from [`RedisQueue::dead_letters`].
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeadLetter {
    /// The dead letter's id (what [`RedisQueue::replay`] takes).
    pub id: String,
    /// The shard the event was in.
    pub shard: Option<u16>,
    /// Its entry id in that shard.
    pub origin: String,
    /// Attempts made.
    pub attempts: u32,
    /// The last error's kind: `handler error`, `handler panicked` or `undecodable event`.
    pub error: String,
    /// The last error's text (the handler's `Display`, cut to 500 bytes).
    pub detail: String,
    /// The event's entity key (see [`entity_key`]).
    pub entity: Option<String>,
    /// The event's dedupe key.
    pub key: String,
    /// When a receiver stored the event (unix milliseconds).
    pub received_ms: u64,
    /// When it was dead-lettered (unix milliseconds).
    pub failed_ms: u64,
    /// The decrypted message.
    pub message: String,
}

impl std::fmt::Debug for DeadLetter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The message may hold a welcome code or a suite ticket: its length only.
        f.debug_struct("DeadLetter")
            .field("id", &self.id)
            .field("shard", &self.shard)
            .field("origin", &self.origin)
            .field("attempts", &self.attempts)
            .field("error", &self.error)
            .field("entity", &self.entity)
            .field("received_ms", &self.received_ms)
            .field("failed_ms", &self.failed_ms)
            .field("message_len", &self.message.len())
            .finish_non_exhaustive()
    }
}

impl DeadLetter {
    fn from_entry(entry: &StreamId) -> DeadLetter {
        let text = |name: &str| entry.get::<String>(name).unwrap_or_default();
        let number = |name: &str| text(name).parse::<u64>().unwrap_or(0);
        DeadLetter {
            id: entry.id.clone(),
            shard: text("shard").parse().ok(),
            origin: text("origin"),
            attempts: u32::try_from(number("attempts")).unwrap_or(u32::MAX),
            error: text("error"),
            detail: text("detail"),
            entity: entry.get::<String>("entity"),
            key: text("key"),
            received_ms: number("received"),
            failed_ms: number("failed"),
            message: text("xml"),
        }
    }

    /// The event's name and change type, read from the stored message (for listings).
    pub fn event(&self) -> Option<Event> {
        decode_message(&self.message).ok()
    }
}

/// The entity whose events must be handled in order: `<corp>/ExternalUserID/<id>` for a customer,
/// `<corp>/ChatId/<id>` for a group chat, `<corp>/Id/<id>` for a tag or tag group (the first of these
/// fields the event carries), or `None`.
pub fn entity_key(event: &Event) -> Option<String> {
    let fields = serde_json::to_value(event).ok()?;
    let corp = event.corp_id().unwrap_or("");
    ["ExternalUserID", "ChatId", "Id"].into_iter().find_map(|name| {
        fields
            .get(name)
            .and_then(serde_json::Value::as_str)
            .filter(|value| !value.is_empty())
            .map(|value| format!("{corp}/{name}/{value}"))
    })
}

/// The shard of a key: the first 8 bytes of its SHA-1, modulo the number of shards (stable across
/// processes, platforms and versions).
fn shard_for(key: &str, shards: u16) -> u16 {
    let digest = Sha1::digest(key.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    let shards = u64::from(shards.max(1));
    u16::try_from(u64::from_be_bytes(first) % shards).unwrap_or(0)
}

/// Decodes a stored message (XML, or the JSON form).
fn decode_message(message: &str) -> Result<Event, Error> {
    if message.trim_start().starts_with('{') {
        Event::from_json(message)
    } else {
        Event::from_xml(message)
    }
}

fn queue_error(err: redis::RedisError) -> Error {
    CallbackError::Queue(format!("redis: {}", err.category())).into()
}

use crate::clock::unix_millis;

/// Redis's own clock in unix milliseconds (stream ids are minted by it).
async fn server_millis(connection: &mut ConnectionManager) -> Result<u64, Error> {
    let (secs, micros): (u64, u64) = redis::cmd("TIME").query_async(connection).await.map_err(queue_error)?;
    Ok(secs.saturating_mul(1000).saturating_add(micros / 1000))
}

/// `ms-seq` as a pair (ordered as Redis orders ids).
fn parse_id(id: &str) -> Option<(u64, u64)> {
    let (ms, seq) = id.split_once('-')?;
    Some((ms.parse().ok()?, seq.parse().ok()?))
}

/// The group's entry in `XINFO GROUPS`, `None` when the stream or the group does not exist yet.
async fn group_info(
    connection: &mut ConnectionManager,
    stream: &str,
) -> Result<Option<redis::streams::StreamInfoGroup>, Error> {
    let reply: Result<StreamInfoGroupsReply, _> = redis::cmd("XINFO")
        .arg("GROUPS")
        .arg(stream)
        .query_async(connection)
        .await;
    match reply {
        Ok(reply) => Ok(reply.groups.into_iter().find(|group| group.name == GROUP)),
        Err(err) if err.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::ResponseError) => Ok(None),
        Err(err) => Err(queue_error(err)),
    }
}

/// The first and last pending ids of the group, `None` when nothing is pending.
async fn pending_summary(connection: &mut ConnectionManager, stream: &str) -> Result<Option<(String, String)>, Error> {
    let reply: StreamPendingReply = redis::cmd("XPENDING")
        .arg(stream)
        .arg(GROUP)
        .query_async(connection)
        .await
        .map_err(queue_error)?;
    Ok(match reply {
        StreamPendingReply::Data(data) if data.count > 0 => Some((data.start_id, data.end_id)),
        _ => None,
    })
}

/// The first entry at or after `start` (`(id` for after).
async fn first_entry(connection: &mut ConnectionManager, stream: &str, start: &str) -> Result<Option<StreamId>, Error> {
    let range: StreamRangeReply = redis::cmd("XRANGE")
        .arg(stream)
        .arg(start)
        .arg("+")
        .arg("COUNT")
        .arg(1)
        .query_async(connection)
        .await
        .map_err(queue_error)?;
    Ok(range.ids.into_iter().next())
}

fn age_of(entry: &StreamId, now: u64) -> Option<Duration> {
    let received = entry
        .get::<String>("received")
        .and_then(|r| r.parse::<u64>().ok())
        .or_else(|| parse_id(&entry.id).map(|(ms, _)| ms))?;
    Some(Duration::from_millis(now.saturating_sub(received)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_are_stable_and_spread() {
        assert_eq!(
            shard_for("ww1/ExternalUserID/wm1", 16),
            shard_for("ww1/ExternalUserID/wm1", 16)
        );
        let mut seen = std::collections::HashSet::new();
        for i in 0..200 {
            let shard = shard_for(&format!("ww1/ExternalUserID/wm{i}"), 16);
            assert!(shard < 16);
            seen.insert(shard);
        }
        assert_eq!(seen.len(), 16, "200 customers cover every shard");
        assert_eq!(shard_for("anything", 1), 0);
    }

    #[test]
    fn ids_order_as_redis_orders_them() {
        assert!(parse_id("5-10").unwrap() > parse_id("5-9").unwrap());
        assert!(parse_id("6-0").unwrap() > parse_id("5-99").unwrap());
        assert_eq!(parse_id("x-1"), None);
        assert_eq!(parse_id("0-0"), Some((0, 0)));
    }

    #[test]
    fn entity_keys_name_the_customer_the_chat_or_the_tag() {
        let contact = Event::from_xml(
            "<xml><ToUserName>ww1</ToUserName><FromUserName>sys</FromUserName><CreateTime>1</CreateTime>\
             <MsgType>event</MsgType><Event>change_external_contact</Event>\
             <ChangeType>del_follow_user</ChangeType><UserID>u</UserID><ExternalUserID>wm1</ExternalUserID></xml>",
        )
        .unwrap();
        assert_eq!(entity_key(&contact).as_deref(), Some("ww1/ExternalUserID/wm1"));
        let chat = Event::from_xml(
            "<xml><ToUserName>ww1</ToUserName><FromUserName>sys</FromUserName><CreateTime>1</CreateTime>\
             <MsgType>event</MsgType><Event>change_external_chat</Event>\
             <ChangeType>dismiss</ChangeType><ChatId>wr1</ChatId></xml>",
        )
        .unwrap();
        assert_eq!(entity_key(&chat).as_deref(), Some("ww1/ChatId/wr1"));
        let tag = Event::from_xml(
            "<xml><ToUserName>ww1</ToUserName><FromUserName>sys</FromUserName><CreateTime>1</CreateTime>\
             <MsgType>event</MsgType><Event>change_external_tag</Event><Id>et1</Id><TagType>tag</TagType>\
             <ChangeType>delete</ChangeType></xml>",
        )
        .unwrap();
        assert_eq!(entity_key(&tag).as_deref(), Some("ww1/Id/et1"));
        let other = Event::from_xml(
            "<xml><ToUserName>ww1</ToUserName><FromUserName>sys</FromUserName><CreateTime>1</CreateTime>\
             <MsgType>event</MsgType><Event>something_new</Event></xml>",
        )
        .unwrap();
        assert_eq!(entity_key(&other), None);
    }
}

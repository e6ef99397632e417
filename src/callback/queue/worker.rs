//! Workers: consume the shard streams through the consumer group, one worker task per shard at a time.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::FutureExt as _;
use redis::aio::ConnectionManager;
use redis::streams::{StreamAutoClaimReply, StreamId, StreamPendingCountReply, StreamReadReply};
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tracing::{debug, error, info_span, warn, Instrument as _};

use super::{decode_message, queue_error, unix_millis, RedisQueue, GROUP};
use crate::callback::dedupe::{BoxFuture, Claim, DedupeStore, RedisDedupe};
use crate::callback::Event;
use crate::{clock, Error};

/// What a handler learns about the delivery of an event besides the event.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Delivery {
    /// The stream entry id (`<ms>-<seq>`).
    pub id: String,
    /// The shard the event is in.
    pub shard: u16,
    /// This attempt's number, from 1; a worker that died while running the handler counted one.
    pub attempt: u32,
    /// When a receiver stored the event (its first receipt).
    pub received: SystemTime,
    /// The event's dedupe key ([`crate::callback::message_key`]): the same for every delivery of one
    /// message, so it can make a handler's side effects idempotent.
    pub key: String,
}

impl Delivery {
    /// How long ago the event was received (now − [`received`](Self::received)).
    pub fn lag(&self) -> Duration {
        let now = UNIX_EPOCH + Duration::from_millis(clock::unix_millis());
        now.duration_since(self.received).unwrap_or_default()
    }
}

type ErasedHandler = Arc<dyn Fn(Event, Delivery) -> BoxFuture<'static, Result<(), String>> + Send + Sync>;

/// Handles the events of a [`RedisQueue`], in any process of the fleet.
///
/// Each of the worker's [`parallel`](Self::parallel) tasks takes a free shard under a lease, handles its
/// entries in order (see [`RedisQueue`] for the guarantees), releases it and takes the next
/// one. The handler gets the typed [`Event`] and its [`Delivery`], and returns a `Result`: `Ok` acknowledges
/// the entry and marks the message done; an `Err` or a panic is retried after a backoff (1 s, 2 s, 4 s, … up to
/// a minute by default), and after [`max_attempts`](Self::max_attempts) the entry moves to the dead letters.
///
/// ```no_run
/// use std::time::Duration;
/// use wecom_externalcontact::callback::{Delivery, Event, RedisQueue, Worker};
///
/// # async fn demo() -> Result<(), wecom_externalcontact::Error> {
/// let queue = RedisQueue::open("redis://127.0.0.1/")?;
/// let workers = Worker::new(queue)
///     .parallel(8)
///     .max_attempts(5)
///     .visibility_timeout(Duration::from_secs(30))
///     .handler(|event: Event, delivery: Delivery| async move {
///         // e.g. upsert the customer into the CRM, keyed by delivery.key for idempotency
///         let _ = (event, delivery);
///         Ok::<(), std::io::Error>(())
///     })
///     .start();
/// // on SIGTERM:
/// workers.shutdown(Duration::from_secs(20)).await;
/// # Ok(()) }
/// ```
pub struct Worker<H = ()> {
    queue: RedisQueue,
    dedupe: Option<Arc<dyn DedupeStore>>,
    settings: Settings,
    handler: H,
}

#[derive(Debug, Clone, Copy)]
struct Settings {
    parallel: usize,
    max_attempts: u32,
    backoff: Duration,
    max_backoff: Duration,
    visibility: Duration,
    poll: Duration,
    batch: usize,
    trim_every: Duration,
    dedupe_window: Duration,
}

impl<H> std::fmt::Debug for Worker<H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker")
            .field("queue", &self.queue)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Worker<()> {
    /// The default number of shards one worker handles at once.
    pub const DEFAULT_PARALLEL: usize = 4;
    /// The default number of attempts before an entry is dead-lettered.
    pub const DEFAULT_MAX_ATTEMPTS: u32 = 5;
    /// The default visibility timeout (and shard lease).
    pub const DEFAULT_VISIBILITY_TIMEOUT: Duration = Duration::from_secs(30);

    /// A worker for `queue`, with the defaults: 4 shards at once, 5 attempts, backoff from 1 s doubling to
    /// 60 s, a 30-second visibility timeout, polling idle shards every 100 ms, and a
    /// [`RedisDedupe`](crate::callback::RedisDedupe) on the queue's connection under `<prefix>dedupe:`
    /// remembering done messages for 10 minutes.
    pub fn new(queue: RedisQueue) -> Worker<()> {
        Worker {
            queue,
            dedupe: None,
            settings: Settings {
                parallel: Self::DEFAULT_PARALLEL,
                max_attempts: Self::DEFAULT_MAX_ATTEMPTS,
                backoff: Duration::from_secs(1),
                max_backoff: Duration::from_secs(60),
                visibility: Self::DEFAULT_VISIBILITY_TIMEOUT,
                poll: Duration::from_millis(100),
                batch: 64,
                trim_every: Duration::from_secs(10),
                dedupe_window: Duration::from_secs(600),
            },
            handler: (),
        }
    }
}

impl<H> Worker<H> {
    /// How many shards this worker handles at once (default 4, at least 1).
    pub fn parallel(mut self, tasks: usize) -> Self {
        self.settings.parallel = tasks.max(1);
        self
    }

    /// Attempts before an entry moves to the dead letters (default 5, at least 1).
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.settings.max_attempts = attempts.max(1);
        self
    }

    /// The wait after the first failed attempt, doubling after each one up to `max` (default 1 s to 60 s).
    pub fn backoff(mut self, first: Duration, max: Duration) -> Self {
        self.settings.backoff = first;
        self.settings.max_backoff = max.max(first);
        self
    }

    /// How long a shard stays leased, and its entries unclaimed, after the worker holding them stops
    /// renewing (it died or hangs): default 30 s, at least 100 ms. The lease is renewed every quarter of it
    /// while the worker lives, however long a handler runs. Keep it well above the longest pause a worker
    /// process can suffer (CPU starvation, a stop-the-world pause): a worker stalled for longer loses its
    /// shard, and an event whose handler it then still finishes has run twice.
    pub fn visibility_timeout(mut self, timeout: Duration) -> Self {
        self.settings.visibility = timeout.max(Duration::from_millis(100));
        self.settings.dedupe_window = self.settings.dedupe_window.max(self.settings.visibility * 2);
        self
    }

    /// How often an idle worker looks for work (default 100 ms).
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.settings.poll = interval.max(Duration::from_millis(1));
        self
    }

    /// How often each shard is trimmed by the worker holding it (default 10 s).
    pub fn trim_every(mut self, interval: Duration) -> Self {
        self.settings.trim_every = interval;
        self
    }

    /// Where handled messages are recorded (default: a [`RedisDedupe`] on the queue's connection under
    /// `<prefix>dedupe:`). Every worker of the fleet must share it.
    pub fn dedupe(mut self, store: impl DedupeStore) -> Self {
        self.dedupe = Some(Arc::new(store));
        self
    }

    /// How long a handled message is remembered, so a redelivery stored again is not handled again
    /// (default 10 minutes; at least twice the visibility timeout). Keep it at least the receivers'
    /// replay window's span ([`crate::callback::ReplayWindow::span`], 6 minutes by default), so that a
    /// replay the receivers accept is one the workers still remember.
    pub fn dedupe_window(mut self, window: Duration) -> Self {
        self.settings.dedupe_window = window.max(self.settings.visibility * 2);
        self
    }

    /// Sets the handler. Its error's `Display` is kept (cut to 500 bytes) with a dead letter; it is not
    /// logged.
    pub fn handler<H2, Fut, E>(self, handler: H2) -> Worker<H2>
    where
        H2: Fn(Event, Delivery) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        E: std::fmt::Display + Send + 'static,
    {
        Worker {
            queue: self.queue,
            dedupe: self.dedupe,
            settings: self.settings,
            handler,
        }
    }
}

impl<H, Fut, E> Worker<H>
where
    H: Fn(Event, Delivery) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), E>> + Send + 'static,
    E: std::fmt::Display + Send + 'static,
{
    /// Starts the worker's tasks on the current tokio runtime. They run until
    /// [`WorkerHandle::shutdown`] (or the runtime ends); Redis outages are waited out.
    pub fn start(self) -> WorkerHandle {
        let handler = self.handler;
        let erased: ErasedHandler = Arc::new(move |event, delivery| {
            let future = handler(event, delivery);
            Box::pin(async move { future.await.map_err(|err| cut(&err.to_string(), 500)) })
        });
        let dedupe = self.dedupe.unwrap_or_else(|| {
            Arc::new(RedisDedupe::new(self.queue.connection.clone()).prefix(format!("{}dedupe:", self.queue.prefix)))
        });
        let consumer = format!("{}-{:08x}", std::process::id(), rand::random::<u32>());
        let ctx = Arc::new(Ctx {
            queue: self.queue,
            dedupe,
            handler: erased,
            settings: self.settings,
            consumer,
            stopped: AtomicBool::new(false),
            stop: Notify::new(),
            last_trim: Mutex::new(HashMap::new()),
        });
        let tasks = (0..ctx.settings.parallel)
            .map(|slot| tokio::spawn(run_slot(ctx.clone(), slot)))
            .collect();
        WorkerHandle { ctx, tasks }
    }
}

/// The running tasks of a [`Worker`], from [`Worker::start`]. Dropping it leaves them running (until the
/// runtime ends); [`shutdown`](Self::shutdown) stops them.
pub struct WorkerHandle {
    ctx: Arc<Ctx>,
    tasks: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for WorkerHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerHandle")
            .field("consumer", &self.ctx.consumer)
            .field("tasks", &self.tasks.len())
            .finish()
    }
}

impl WorkerHandle {
    /// This worker's consumer name in the group (`<pid>-<random>`), as `wecom callback queue stats` shows it.
    pub fn consumer(&self) -> &str {
        &self.ctx.consumer
    }

    /// Stops the tasks: each finishes the attempt it is running, releases its shard and ends.
    pub async fn shutdown(self, deadline: Duration) -> bool {
        self.ctx.stopped.store(true, Ordering::SeqCst);
        self.ctx.stop.notify_waiters();
        let all = futures_util::future::join_all(self.tasks);
        clock::timeout(deadline, all).await.is_ok()
    }
}

struct Ctx {
    queue: RedisQueue,
    dedupe: Arc<dyn DedupeStore>,
    handler: ErasedHandler,
    settings: Settings,
    consumer: String,
    stopped: AtomicBool,
    stop: Notify,
    last_trim: Mutex<HashMap<u16, clock::Instant>>,
}

/// A shard lease held by one task, renewed in the background until released.
struct Lease {
    shard: u16,
    owner: String,
    lost: Arc<AtomicBool>,
    renewer: JoinHandle<()>,
}

const RENEW_SCRIPT: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0";

const RELEASE_SCRIPT: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0";

/// Why a pass over a shard stopped early.
enum Pass {
    /// Worked through what there was (n entries).
    Done(usize),
    /// An older entry is held by a worker whose hold has not timed out yet.
    Blocked,
}

impl Ctx {
    fn stopped(&self) -> bool {
        self.stopped.load(Ordering::SeqCst)
    }

    /// Sleeps for `duration` on the runtime clock, or less if the worker is stopped.
    async fn pause(&self, duration: Duration) {
        if self.stopped() {
            return;
        }
        let _ = clock::timeout(duration, self.stop.notified()).await;
    }

    fn millis(duration: Duration) -> u64 {
        u64::try_from(duration.as_millis()).unwrap_or(u64::MAX).max(1)
    }

    async fn ensure_groups(&self) -> Result<(), Error> {
        self.queue.check_layout().await?;
        let mut connection = self.queue.connection.clone();
        for shard in 0..self.queue.shards {
            let created: Result<(), redis::RedisError> = redis::cmd("XGROUP")
                .arg("CREATE")
                .arg(self.queue.stream(shard))
                .arg(GROUP)
                .arg("0")
                .arg("MKSTREAM")
                .query_async(&mut connection)
                .await;
            match created {
                Ok(()) => {}
                Err(err) if err.code() == Some("BUSYGROUP") => {}
                Err(err) => return Err(queue_error(err)),
            }
        }
        Ok(())
    }

    async fn take_shard(&self, shard: u16, slot: usize) -> Result<Option<Lease>, Error> {
        let owner = format!("{}/{slot}", self.consumer);
        let ttl = Self::millis(self.settings.visibility);
        let mut connection = self.queue.connection.clone();
        let taken: Option<String> = redis::cmd("SET")
            .arg(self.queue.lease(shard))
            .arg(&owner)
            .arg("NX")
            .arg("PX")
            .arg(ttl)
            .query_async(&mut connection)
            .await
            .map_err(queue_error)?;
        if taken.is_none() {
            return Ok(None);
        }
        let lost = Arc::new(AtomicBool::new(false));
        let renewer = {
            let (key, owner, lost) = (self.queue.lease(shard), owner.clone(), lost.clone());
            let every = self.settings.visibility / 4;
            let visibility = self.settings.visibility;
            tokio::spawn(async move {
                let mut last_renewed = clock::now();
                loop {
                    clock::sleep(every).await;
                    let renewed: Result<i64, _> = redis::Script::new(RENEW_SCRIPT)
                        .key(&key)
                        .arg(&owner)
                        .arg(ttl)
                        .invoke_async(&mut connection)
                        .await;
                    match renewed {
                        Ok(1) => last_renewed = clock::now(),
                        Ok(_) => break,
                        Err(_) if last_renewed.elapsed() < visibility => {}
                        Err(_) => break,
                    }
                }
                lost.store(true, Ordering::SeqCst);
            })
        };
        Ok(Some(Lease {
            shard,
            owner,
            lost,
            renewer,
        }))
    }

    async fn release(&self, lease: Lease) {
        lease.renewer.abort();
        let mut connection = self.queue.connection.clone();
        let released: Result<i64, _> = redis::Script::new(RELEASE_SCRIPT)
            .key(self.queue.lease(lease.shard))
            .arg(&lease.owner)
            .invoke_async(&mut connection)
            .await;
        if released.is_err() {
            debug!(
                shard = lease.shard,
                "could not release a shard lease; it expires on its own"
            );
        }
    }

    /// Handles a shard's entries in order while the lease holds: first the entries held by workers that
    /// timed out (claimed with XAUTOCLAIM), then this worker's own pending ones, then new ones.
    async fn drain(&self, lease: &Lease) -> Result<Pass, Error> {
        let shard = lease.shard;
        let stream = self.queue.stream(shard);
        let mut connection = self.queue.connection.clone();
        let mut handled = 0;
        while handled < self.settings.batch && !self.stopped() && !lease.lost.load(Ordering::SeqCst) {
            self.claim_timed_out(&mut connection, &stream).await?;
            let oldest: StreamPendingCountReply = redis::cmd("XPENDING")
                .arg(&stream)
                .arg(GROUP)
                .arg("-")
                .arg("+")
                .arg(1)
                .query_async(&mut connection)
                .await
                .map_err(queue_error)?;
            if oldest.ids.first().is_some_and(|p| p.consumer != self.consumer) {
                return Ok(Pass::Blocked);
            }
            let mut entries = self.read(&mut connection, &stream, "0").await?;
            if entries.is_empty() {
                entries = self.read(&mut connection, &stream, ">").await?;
                if entries.is_empty() {
                    break;
                }
            }
            for entry in entries {
                if self.stopped() || lease.lost.load(Ordering::SeqCst) {
                    break;
                }
                self.process(&mut connection, lease, &stream, entry).await?;
                handled += 1;
            }
        }
        self.maybe_trim(&mut connection, shard).await;
        Ok(Pass::Done(handled))
    }

    /// Takes over the entries of this shard that another consumer has held for longer than the visibility
    /// timeout (the shard lease is ours, so that consumer lost it: it died or hung).
    async fn claim_timed_out(&self, connection: &mut ConnectionManager, stream: &str) -> Result<(), Error> {
        let mut cursor = "0-0".to_owned();
        loop {
            let reply: StreamAutoClaimReply = redis::cmd("XAUTOCLAIM")
                .arg(stream)
                .arg(GROUP)
                .arg(&self.consumer)
                .arg(Self::millis(self.settings.visibility))
                .arg(&cursor)
                .arg("COUNT")
                .arg(self.settings.batch)
                .arg("JUSTID")
                .query_async(connection)
                .await
                .map_err(queue_error)?;
            if !reply.claimed.is_empty() {
                debug!(
                    claimed = reply.claimed.len(),
                    "claimed entries of a worker that timed out"
                );
            }
            if !reply.deleted_ids.is_empty() {
                // Entries gone from the stream while pending (deleted by hand): nothing left to handle.
                let mut ack = redis::cmd("XACK");
                ack.arg(stream).arg(GROUP).arg(&reply.deleted_ids);
                ack.query_async::<i64>(connection).await.map_err(queue_error)?;
            }
            if reply.next_stream_id == "0-0" || reply.next_stream_id.is_empty() {
                return Ok(());
            }
            cursor = reply.next_stream_id;
        }
    }

    async fn read(&self, connection: &mut ConnectionManager, stream: &str, from: &str) -> Result<Vec<StreamId>, Error> {
        let reply: Option<StreamReadReply> = redis::cmd("XREADGROUP")
            .arg("GROUP")
            .arg(GROUP)
            .arg(&self.consumer)
            .arg("COUNT")
            .arg(self.settings.batch)
            .arg("STREAMS")
            .arg(stream)
            .arg(from)
            .query_async(connection)
            .await
            .map_err(queue_error)?;
        Ok(reply
            .and_then(|reply| reply.keys.into_iter().next())
            .map(|key| key.ids)
            .unwrap_or_default())
    }

    /// Handles one entry to its end: acknowledged (handled now, or found done), dead-lettered, or left
    /// pending because the lease was lost or the worker stopped.
    async fn process(
        &self,
        connection: &mut ConnectionManager,
        lease: &Lease,
        stream: &str,
        entry: StreamId,
    ) -> Result<(), Error> {
        let shard = lease.shard;
        let (Some(message), Some(key)) = (entry.get::<String>("xml"), entry.get::<String>("key")) else {
            if entry.map.is_empty() {
                // Deleted from the stream while pending: nothing to handle.
                return self.ack(connection, stream, &entry.id).await;
            }
            return self
                .dead_letter(connection, shard, &entry, "malformed entry", "", 0)
                .await;
        };
        let event = match decode_message(&message) {
            Ok(event) => event,
            Err(err) => {
                error!(shard, "a stored callback does not decode; dead-lettered");
                return self
                    .dead_letter(connection, shard, &entry, "undecodable event", &err.to_string(), 0)
                    .await;
            }
        };
        let received_ms = entry
            .get::<String>("received")
            .and_then(|r| r.parse::<u64>().ok())
            .unwrap_or_else(unix_millis);
        let received = UNIX_EPOCH + Duration::from_millis(received_ms);
        let field = format!("{shard}:{}", entry.id);
        loop {
            if self.stopped() || lease.lost.load(Ordering::SeqCst) {
                return Ok(());
            }
            match self.dedupe.claim(&key, self.settings.visibility).await? {
                Claim::Done => {
                    debug!(shard, "already handled; acknowledged");
                    return self.ack(connection, stream, &entry.id).await;
                }
                Claim::InFlight => {
                    // A worker that lost this shard may still be running it: wait for its claim to end.
                    self.pause(self.settings.poll).await;
                    continue;
                }
                _ => {}
            }
            let attempt: u32 = redis::cmd("HINCRBY")
                .arg(self.queue.attempts())
                .arg(&field)
                .arg(1)
                .query_async(connection)
                .await
                .map_err(queue_error)?;
            if attempt > self.settings.max_attempts {
                // Earlier attempts ended with the worker gone (e.g. the handler crashed the process).
                let last: Option<String> = redis::cmd("HGET")
                    .arg(self.queue.attempts())
                    .arg(format!("{field}:error"))
                    .query_async(connection)
                    .await
                    .map_err(queue_error)?;
                self.dedupe.release(&key).await?;
                let kind = last.unwrap_or_else(|| "worker lost".to_owned());
                return self
                    .dead_letter(connection, shard, &entry, &kind, "", attempt - 1)
                    .await;
            }
            let delivery = Delivery {
                id: entry.id.clone(),
                shard,
                attempt,
                received,
                key: key.clone(),
            };
            let lag = delivery.lag();
            let span = info_span!(
                "wecom_callback_delivery",
                shard,
                attempt,
                lag_ms = u64::try_from(lag.as_millis()).unwrap_or(u64::MAX),
                event = event.event_name().unwrap_or(""),
                change_type = event.change_type().unwrap_or(""),
            );
            let handler = self.handler.clone();
            let run = handler(event.clone(), delivery);
            let outcome = std::panic::AssertUnwindSafe(run)
                .catch_unwind()
                .instrument(span.clone())
                .await;
            let (kind, detail) = match outcome {
                Ok(Ok(())) => {
                    self.dedupe.complete(&key, self.settings.dedupe_window).await?;
                    return self.ack(connection, stream, &entry.id).await;
                }
                Ok(Err(detail)) => ("handler error", detail),
                Err(_) => ("handler panicked", String::new()),
            };
            span.in_scope(|| warn!(error = kind, "the callback handler failed; it will be retried"));
            self.dedupe.release(&key).await?;
            if attempt >= self.settings.max_attempts {
                return self
                    .dead_letter(connection, shard, &entry, kind, &detail, attempt)
                    .await;
            }
            redis::cmd("HSET")
                .arg(self.queue.attempts())
                .arg(format!("{field}:error"))
                .arg(kind)
                .query_async::<i64>(connection)
                .await
                .map_err(queue_error)?;
            self.pause(self.backoff(attempt)).await;
        }
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let factor = 1u32 << attempt.saturating_sub(1).min(20);
        self.settings
            .backoff
            .saturating_mul(factor)
            .min(self.settings.max_backoff)
    }

    async fn ack(&self, connection: &mut ConnectionManager, stream: &str, id: &str) -> Result<(), Error> {
        let shard_field = format!("{}:{id}", stream.rsplit(':').next().unwrap_or_default());
        redis::pipe()
            .atomic()
            .cmd("XACK")
            .arg(stream)
            .arg(GROUP)
            .arg(id)
            .ignore()
            .cmd("HDEL")
            .arg(self.queue.attempts())
            .arg(&shard_field)
            .arg(format!("{shard_field}:error"))
            .ignore()
            .query_async::<()>(connection)
            .await
            .map_err(queue_error)
    }

    /// Moves an entry to the dead letters and acknowledges it, in one transaction.
    async fn dead_letter(
        &self,
        connection: &mut ConnectionManager,
        shard: u16,
        entry: &StreamId,
        kind: &str,
        detail: &str,
        attempts: u32,
    ) -> Result<(), Error> {
        error!(shard, error = kind, attempts, "a callback was dead-lettered");
        let stream = self.queue.stream(shard);
        let field = format!("{shard}:{}", entry.id);
        let mut add = redis::cmd("XADD");
        add.arg(self.queue.dead()).arg("*");
        for name in ["xml", "key", "received", "entity"] {
            if let Some(value) = entry.get::<String>(name) {
                add.arg(name).arg(value);
            }
        }
        add.arg("shard")
            .arg(shard)
            .arg("origin")
            .arg(&entry.id)
            .arg("attempts")
            .arg(attempts)
            .arg("error")
            .arg(kind)
            .arg("detail")
            .arg(detail)
            .arg("failed")
            .arg(unix_millis());
        redis::pipe()
            .atomic()
            .add_command(add)
            .ignore()
            .cmd("XACK")
            .arg(&stream)
            .arg(GROUP)
            .arg(&entry.id)
            .ignore()
            .cmd("HDEL")
            .arg(self.queue.attempts())
            .arg(&field)
            .arg(format!("{field}:error"))
            .ignore()
            .query_async::<()>(connection)
            .await
            .map_err(queue_error)
    }

    async fn maybe_trim(&self, connection: &mut ConnectionManager, shard: u16) {
        let now = clock::now();
        {
            let mut last = self.last_trim.lock().unwrap_or_else(|p| p.into_inner());
            match last.get(&shard) {
                Some(at) if now.duration_since(*at) < self.settings.trim_every => return,
                _ => {
                    last.insert(shard, now);
                }
            }
        }
        match self.queue.trim_shard(connection, shard).await {
            Ok(0) => {}
            Ok(removed) => debug!(shard, removed, "trimmed handled entries"),
            Err(err) => debug!(shard, error = %err, "could not trim"),
        }
    }
}

/// One task of a worker: takes free shards one after the other and drains them.
async fn run_slot(ctx: Arc<Ctx>, slot: usize) {
    let shards = ctx.queue.shards;
    let mut ready = false;
    let mut failures: u32 = 0;
    while !ctx.stopped() {
        let result = async {
            if !ready {
                ctx.ensure_groups().await?;
                ready = true;
            }
            let start = rand::random::<u16>() % shards;
            let mut busy = false;
            for step in 0..shards {
                if ctx.stopped() {
                    break;
                }
                let shard = (start + step) % shards;
                let Some(lease) = ctx.take_shard(shard, slot).await? else {
                    continue;
                };
                let pass = ctx.drain(&lease).await;
                ctx.release(lease).await;
                busy |= matches!(pass?, Pass::Done(n) if n > 0);
            }
            Ok::<bool, Error>(busy)
        }
        .await;
        match result {
            Ok(busy) => {
                failures = 0;
                if !busy {
                    ctx.pause(ctx.settings.poll).await;
                }
            }
            Err(err) => {
                if failures == 0 {
                    warn!(error = %err, "the callback worker cannot reach its queue; retrying");
                }
                failures = failures.saturating_add(1);
                ready = false;
                let wait = ctx.settings.poll.saturating_mul(1 << failures.min(5));
                ctx.pause(wait.min(Duration::from_secs(5))).await;
            }
        }
    }
}

/// `text` cut to at most `max` bytes at a character boundary.
fn cut(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

//! A ready callback endpoint on axum: verifies, acknowledges at once, hands each message to the handler
//! exactly once, and never drops one.
//!
//! `GET /` answers WeCom's URL verification; `POST /` takes an event (the XML envelope, or the JSON
//! `{"encrypt": "..."}` form), verifies its signature, decrypts and types it, answers `success` and runs the
//! handler in a task. What the router answers:
//!
//! | case | answer |
//! | --- | --- |
//! | verification ok / event accepted / event already handled or being handled | `200` (`echostr` / `success`) |
//! | malformed or too long query, malformed body, undecodable event | `400` |
//! | bad signature, wrong receive id, timestamp outside the replay window | `403` |
//! | body over the limit (default 64 KB) | `413`, without reading the rest |
//! | queue full, dedupe store failed, shutting down | `503` (WeCom delivers the message again) |
//!
//! Every refusal is logged at `warn!` with the error's kind (never the query, the signature, the key or
//! the message), each callback runs in a `wecom_callback` span carrying the event's name and change type,
//! and the handler runs inside that span.
//!
//! **The default queue is in memory: a crash, an OOM kill or a deploy that outlasts the drain deadline loses
//! every event it has acknowledged and not yet handled**, and WeCom does not resend an event it got
//! `success` for. With the `redis` feature, [`Endpoint::durable`] answers `success` only once the event is
//! stored in a [`super::RedisQueue`] (and `503` when Redis fails), and [`super::Worker`]s handle it from
//! there, in any process, in order per customer.
//!
//! Secure by default: the signed timestamp must be inside the [`ReplayWindow`] (default 5 minutes back,
//! 60 s ahead), and the builder refuses a dedupe window shorter than that window, so a replay inside the
//! window is deduplicated and one outside it refused — no replay is ever handled (see [`ReplayWindow`]).

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use futures_util::FutureExt as _;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tracing::{debug, error, field, info_span, warn, Instrument as _, Span};

use super::dedupe::{message_key, BoxFuture, Claim, DedupeStore, MemoryDedupe};
#[cfg(feature = "redis")]
use super::RedisQueue;
use super::{CallbackCrypto, CallbackError, CallbackQuery, Event, ReplayWindow};
use crate::Error;

/// The router of the default endpoint: `GET` and `POST` on `/`, with `handler` run once per message.
///
/// The same as `Endpoint::new(crypto).handler(handler).router()`; see [`Endpoint`] for the options and
/// the defaults (replay window 5 minutes back and 60 s ahead, in-memory dedupe for 10 minutes, 16 handlers
/// at once, 1024 queued, 64 KB bodies). Infallible: the defaults are consistent. `nest` it under your
/// own path. Must be served from within a tokio runtime (handlers are spawned on it).
///
/// ```no_run
/// use wecom_externalcontact::callback::{self, CallbackCrypto, Event};
///
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let crypto = CallbackCrypto::new("token", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", "ww0123456789")?;
/// let app = axum::Router::new().nest("/wecom/callback", callback::router(crypto, |event: Event| async move {
///     println!("{:?}", event.kind);
/// }));
/// let listener = tokio::net::TcpListener::bind("0.0.0.0:8080").await?;
/// axum::serve(listener, app).await?;
/// # Ok(()) }
/// ```
pub fn router<H, Fut>(crypto: CallbackCrypto, handler: H) -> Router
where
    H: Fn(Event) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    Endpoint::new(crypto).handler(handler).parts_unchecked().0
}

// The defaults are consistent, so the one-line `router` needs no check.
const _: () = match ReplayWindow::DEFAULT {
    ReplayWindow::Within { past, future } => {
        assert!(past.as_secs() + future.as_secs() <= Endpoint::<()>::DEFAULT_DEDUPE_WINDOW.as_secs())
    }
    ReplayWindow::Off => {}
};

type ErasedHandler = Arc<dyn Fn(Event) -> BoxFuture<'static, ()> + Send + Sync>;

/// The callback endpoint with its options; [`router`] is the one-line default.
///
/// ```no_run
/// use std::time::Duration;
/// use wecom_externalcontact::callback::{CallbackCrypto, Endpoint, Event, MemoryDedupe, ReplayWindow};
///
/// # async fn demo(crypto: CallbackCrypto) -> Result<(), wecom_externalcontact::Error> {
/// let (router, shutdown) = Endpoint::new(crypto)
///     .dedupe(MemoryDedupe::new(200_000))       // or RedisDedupe (feature `redis`) for a fleet
///     .dedupe_window(Duration::from_secs(15 * 60))
///     .concurrency(32)                          // handlers running at once
///     .queue(4096)                              // accepted events waiting for a handler
///     .replay_window(ReplayWindow::within(Duration::from_secs(5 * 60), Duration::from_secs(60)))
///     .body_limit(64 * 1024)
///     .handler(|event: Event| async move { println!("{:?}", event.kind) })
///     .into_parts()?;
/// // serve `router`; on SIGTERM: stop the server, then let queued handlers finish
/// let drained = shutdown.drain(Duration::from_secs(20)).await;
/// assert!(drained.is_complete());
/// # Ok(()) }
/// ```
///
/// `H` is `()` until [`handler`](Self::handler) sets one; [`router`](Self::router) and
/// [`into_parts`](Self::into_parts) need a handler, and fail with
/// [`CallbackError::DedupeShorterThanReplayWindow`] when the dedupe window is shorter than the replay
/// window's span.
pub struct Endpoint<H = ()> {
    crypto: CallbackCrypto,
    dedupe: Arc<dyn DedupeStore>,
    window: Duration,
    lease: Option<Duration>,
    concurrency: usize,
    queue: usize,
    replay: ReplayWindow,
    body_limit: usize,
    handler: H,
}

impl<H> std::fmt::Debug for Endpoint<H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("crypto", &self.crypto)
            .field("window", &self.window)
            .field("lease", &self.lease)
            .field("concurrency", &self.concurrency)
            .field("queue", &self.queue)
            .field("replay", &self.replay)
            .field("body_limit", &self.body_limit)
            .finish_non_exhaustive()
    }
}

impl Endpoint<()> {
    /// The default dedupe window: 10 minutes, well past WeCom's three deliveries of one message.
    pub const DEFAULT_DEDUPE_WINDOW: Duration = Duration::from_secs(600);
    /// The default number of handlers running at once.
    pub const DEFAULT_CONCURRENCY: usize = 16;
    /// The default number of accepted events waiting for a free handler.
    pub const DEFAULT_QUEUE: usize = 1024;
    /// The default body limit: 64 KB (WeCom's callbacks are a few KB).
    pub const DEFAULT_BODY_LIMIT: usize = 64 * 1024;
    /// The longest query accepted (a callback query is well under 1 KB); longer is answered `400`.
    pub const MAX_QUERY_LEN: usize = 4096;

    /// An endpoint for the receiver `crypto` was built for (the corp id for a self-built app, the suite
    /// id for a third-party suite's 指令回调), with the defaults: a [`MemoryDedupe`] with a 10-minute
    /// window, the [`ReplayWindow::DEFAULT`] (5 minutes back, 60 s ahead), 16 handlers at once, 1024 queued,
    /// bodies up to 64 KB.
    pub fn new(crypto: CallbackCrypto) -> Endpoint<()> {
        Endpoint {
            crypto,
            dedupe: Arc::new(MemoryDedupe::default()),
            window: Self::DEFAULT_DEDUPE_WINDOW,
            lease: None,
            concurrency: Self::DEFAULT_CONCURRENCY,
            queue: Self::DEFAULT_QUEUE,
            replay: ReplayWindow::DEFAULT,
            body_limit: Self::DEFAULT_BODY_LIMIT,
            handler: (),
        }
    }
}

impl<H> Endpoint<H> {
    /// Where to record handled messages (default: a [`MemoryDedupe`] of this endpoint alone). Give every
    /// process of a fleet the same shared store (e.g. [`super::RedisDedupe`]) to dedupe across them.
    pub fn dedupe(mut self, store: impl DedupeStore) -> Self {
        self.dedupe = Arc::new(store);
        self
    }

    /// [`dedupe`](Self::dedupe) with a store already behind an `Arc` (shared with other endpoints).
    pub fn dedupe_shared(mut self, store: Arc<dyn DedupeStore>) -> Self {
        self.dedupe = store;
        self
    }

    /// How long a handled message is remembered (default 10 minutes). Must be at least the
    /// [`replay_window`](Self::replay_window)'s span (past + future), or building fails.
    pub fn dedupe_window(mut self, window: Duration) -> Self {
        self.window = window;
        self
    }

    /// How long a message stays claimed while its handler runs (default: the dedupe window). A copy that
    /// arrives within the lease is acknowledged and not handed out; after it (a process that died
    /// mid-handler) the message can be claimed again.
    pub fn in_flight_lease(mut self, lease: Duration) -> Self {
        self.lease = Some(lease);
        self
    }

    /// How many handlers run at once (default 16, at least 1).
    pub fn concurrency(mut self, handlers: usize) -> Self {
        self.concurrency = handlers.max(1);
        self
    }

    /// How many accepted events may wait for a free handler (default 1024). When they are all taken the
    /// endpoint answers `503` and WeCom delivers the event again later; nothing is dropped and nothing
    /// grows without bound.
    pub fn queue(mut self, capacity: usize) -> Self {
        self.queue = capacity;
        self
    }

    /// Refuses (`403`, [`CallbackError::OutsideReplayWindow`]) requests whose signed `timestamp` is outside
    /// `window`, so a captured request cannot be replayed later. Default [`ReplayWindow::DEFAULT`];
    /// [`ReplayWindow::Off`] turns the check off (then replays are refused only while the dedupe store
    /// remembers the message).
    pub fn replay_window(mut self, window: ReplayWindow) -> Self {
        self.replay = window;
        self
    }

    /// A symmetric replay window: `window` into the past and into the future.
    #[deprecated(note = "use `replay_window(ReplayWindow::within(past, future))`; the window is now on by default")]
    pub fn timestamp_window(self, window: Duration) -> Self {
        self.replay_window(ReplayWindow::within(window, window))
    }

    /// The largest body accepted (default 64 KB); a larger one is answered `413` without being read in full.
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = bytes;
        self
    }

    /// Makes the router durable: it answers `success` only after the event is stored in `queue` (and `503`
    /// when that fails), and runs no handler itself; [`super::Worker`]s handle the queue, in this process
    /// or others. The replay window and the body limit apply as they do to the in-memory router; the
    /// workers dedupe, with their own [`super::Worker::dedupe_window`] (keep it at least the replay
    /// window's span, as the default 10 minutes is); the concurrency and queue options do not apply.
    #[cfg(feature = "redis")]
    #[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
    pub fn durable(self, queue: RedisQueue) -> Endpoint<Durable> {
        self.with_handler(Durable(queue))
    }

    fn with_handler<H2>(self, handler: H2) -> Endpoint<H2> {
        self.map_handler(|_| handler)
    }

    /// The same endpoint with its handler slot mapped by `f`.
    fn map_handler<H2>(self, f: impl FnOnce(H) -> H2) -> Endpoint<H2> {
        Endpoint {
            crypto: self.crypto,
            dedupe: self.dedupe,
            window: self.window,
            lease: self.lease,
            concurrency: self.concurrency,
            queue: self.queue,
            replay: self.replay,
            body_limit: self.body_limit,
            handler: f(self.handler),
        }
    }

    /// Sets the handler, called once per distinct message, in its own task, off the request path.
    ///
    /// A panicking handler is logged at `error!` and its message forgotten by the dedupe store, so a
    /// redelivery of it is handled again.
    pub fn handler<H2, Fut>(self, handler: H2) -> Endpoint<H2>
    where
        H2: Fn(Event) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.with_handler(handler)
    }
}

impl<H, Fut> Endpoint<H>
where
    H: Fn(Event) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    /// The router (`GET` and `POST` on `/`). Use [`into_parts`](Self::into_parts) to also get the
    /// [`Shutdown`] handle. Fails as [`into_parts`](Self::into_parts) does.
    pub fn router(self) -> Result<Router, Error> {
        Ok(self.into_parts()?.0)
    }

    /// The router and the handle that stops it accepting events and waits for queued handlers.
    ///
    /// Fails with [`CallbackError::DedupeShorterThanReplayWindow`] when the dedupe window is shorter than
    /// the replay window's span: a replay arriving after its message was forgotten but still inside the
    /// replay window would be handled again.
    pub fn into_parts(self) -> Result<(Router, Shutdown), Error> {
        self.replay.check_dedupe(self.window)?;
        Ok(self.parts_unchecked())
    }

    /// [`into_parts`](Self::into_parts) without the configuration check (for the defaults, consistent).
    fn parts_unchecked(self) -> (Router, Shutdown) {
        self.map_handler(|handler| -> ErasedHandler { Arc::new(move |event| Box::pin(handler(event))) })
            .assemble(None)
    }
}

/// The handler slot of a durable endpoint ([`Endpoint::durable`]): the queue events are stored in.
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
#[derive(Debug, Clone)]
pub struct Durable(RedisQueue);

#[cfg(feature = "redis")]
impl Endpoint<Durable> {
    /// The router (`GET` and `POST` on `/`): `success` once an event is stored, `503` when storing fails.
    /// Fails as [`into_parts`](Self::into_parts) does.
    pub fn router(self) -> Result<Router, Error> {
        Ok(self.into_parts()?.0)
    }

    /// The router and its [`Shutdown`] handle (closing makes it answer `503`; nothing is left to drain).
    /// Fails with [`CallbackError::DedupeShorterThanReplayWindow`] when the dedupe window set here is
    /// shorter than the replay window's span (set the same window on the workers).
    pub fn into_parts(self) -> Result<(Router, Shutdown), Error> {
        self.replay.check_dedupe(self.window)?;
        let queue = self.handler.0.clone();
        let none: ErasedHandler = Arc::new(|_event| Box::pin(async {}));
        Ok(self.with_handler(none).assemble(Some(queue)))
    }
}

#[cfg(not(feature = "redis"))]
type MaybeQueue = Option<std::convert::Infallible>;
#[cfg(feature = "redis")]
type MaybeQueue = Option<RedisQueue>;

impl Endpoint<ErasedHandler> {
    fn assemble(self, durable: MaybeQueue) -> (Router, Shutdown) {
        let erased = self.handler;
        // Both semaphores stay within tokio's permit limit and `acquire_many`'s u32.
        let limit = Semaphore::MAX_PERMITS.min(u32::MAX as usize);
        let concurrency = self.concurrency.min(limit);
        let slots = concurrency.saturating_add(self.queue).min(limit);
        let shared = Arc::new(Shared {
            window: self.window,
            lease: self.lease.unwrap_or(self.window),
            replay: self.replay,
            crypto: self.crypto,
            dedupe: self.dedupe,
            handler: erased,
            slots: Arc::new(Semaphore::new(slots)),
            total_slots: u32::try_from(slots).unwrap_or(u32::MAX),
            running: Arc::new(Semaphore::new(concurrency)),
            closed: AtomicBool::new(false),
            durable,
        });
        let router = Router::new()
            .route("/", get(verify).post(receive))
            .layer(DefaultBodyLimit::max(self.body_limit))
            .with_state(shared.clone());
        (router, Shutdown { shared })
    }
}

struct Shared {
    crypto: CallbackCrypto,
    dedupe: Arc<dyn DedupeStore>,
    window: Duration,
    lease: Duration,
    replay: ReplayWindow,
    handler: ErasedHandler,
    /// One permit per accepted event not yet finished (queued or running): concurrency + queue.
    slots: Arc<Semaphore>,
    total_slots: u32,
    /// One permit per running handler.
    running: Arc<Semaphore>,
    closed: AtomicBool,
    /// Where a durable endpoint stores events (then no handler runs here).
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    durable: MaybeQueue,
}

/// Stops an endpoint accepting events and waits for its handlers; from [`Endpoint::into_parts`].
///
/// Stop the HTTP server first (e.g. axum's `with_graceful_shutdown`), then [`drain`](Self::drain): events
/// that arrive in between are answered `503`, so WeCom delivers them again (to another process, or to this
/// one after a restart).
#[derive(Clone)]
pub struct Shutdown {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Shutdown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shutdown")
            .field("closed", &self.is_closed())
            .field("pending", &self.pending())
            .finish()
    }
}

/// What [`Shutdown::drain`] saw at its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Drained {
    /// Events accepted but not finished when the deadline passed (0 when everything finished).
    pub unfinished: usize,
}

impl Drained {
    /// Whether every accepted event was handled before the deadline.
    pub fn is_complete(&self) -> bool {
        self.unfinished == 0
    }
}

impl Shutdown {
    /// Stops accepting events: from now on a `POST` is answered `503`. URL verification still works.
    pub fn close(&self) {
        self.shared.closed.store(true, Ordering::SeqCst);
    }

    /// Whether [`close`](Self::close) (or [`drain`](Self::drain)) was called.
    pub fn is_closed(&self) -> bool {
        self.shared.closed.load(Ordering::SeqCst)
    }

    /// Accepted events not finished yet (queued or running).
    pub fn pending(&self) -> usize {
        let free = self.shared.slots.available_permits();
        usize::try_from(self.shared.total_slots)
            .unwrap_or(usize::MAX)
            .saturating_sub(free)
    }

    /// Closes the endpoint and waits until every accepted event's handler has finished, or `deadline`
    /// has passed. Handlers still running then keep running in their tasks.
    pub async fn drain(&self, deadline: Duration) -> Drained {
        self.close();
        let all = self.shared.slots.clone().acquire_many_owned(self.shared.total_slots);
        match crate::clock::timeout(deadline, all).await {
            Ok(_) => Drained { unfinished: 0 },
            Err(_) => Drained {
                unfinished: self.pending(),
            },
        }
    }
}

/// A refusal: a status and a short fixed text (never request content).
#[derive(Debug, Clone, Copy)]
struct Refusal {
    status: StatusCode,
    text: &'static str,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        (
            self.status,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            self.text,
        )
            .into_response()
    }
}

fn refuse(status: StatusCode, text: &'static str) -> Refusal {
    Refusal { status, text }
}

/// Maps a verification or decryption failure to its answer.
fn refuse_callback(err: &Error) -> Refusal {
    match err {
        Error::Callback(CallbackError::SignatureMismatch) => refuse(StatusCode::FORBIDDEN, "signature mismatch"),
        Error::Callback(CallbackError::ReceiveIdMismatch) => refuse(StatusCode::FORBIDDEN, "wrong receiver"),
        _ => refuse(StatusCode::BAD_REQUEST, "malformed callback"),
    }
}

fn parse_query(raw: Option<&str>) -> Result<CallbackQuery, Refusal> {
    if raw.is_some_and(|raw| raw.len() > Endpoint::MAX_QUERY_LEN) {
        warn!("callback refused: the query is too long");
        return Err(refuse(StatusCode::BAD_REQUEST, "malformed query"));
    }
    CallbackQuery::parse(raw.unwrap_or("")).map_err(|err| {
        warn!(error = %err, "callback refused: malformed query");
        refuse(StatusCode::BAD_REQUEST, "malformed query")
    })
}

/// Checks the signed timestamp against the replay window.
fn check_timestamp(shared: &Shared, query: &CallbackQuery) -> Result<(), Refusal> {
    match shared.replay.check(&query.timestamp) {
        Ok(()) => Ok(()),
        Err(err @ CallbackError::OutsideReplayWindow { .. }) => {
            warn!(error = %err, "callback refused: replay window");
            Err(refuse(StatusCode::FORBIDDEN, "outside the replay window"))
        }
        Err(err) => {
            warn!(error = %err, "callback refused: malformed timestamp");
            Err(refuse(StatusCode::BAD_REQUEST, "malformed timestamp"))
        }
    }
}

/// `GET /`: URL verification.
async fn verify(State(shared): State<Arc<Shared>>, RawQuery(raw): RawQuery) -> Result<Response, Refusal> {
    let span = info_span!("wecom_callback", method = "GET");
    async move {
        let query = parse_query(raw.as_deref())?;
        check_timestamp(&shared, &query)?;
        match shared.crypto.verify_url_query(&query) {
            Ok(echo) => {
                debug!("URL verification answered");
                Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], echo).into_response())
            }
            Err(err) => {
                warn!(error = %err, "URL verification refused");
                Err(refuse_callback(&err))
            }
        }
    }
    .instrument(span)
    .await
}

/// `POST /`: an event.
async fn receive(State(shared): State<Arc<Shared>>, RawQuery(raw): RawQuery, body: Bytes) -> Result<Response, Refusal> {
    let span = info_span!(
        "wecom_callback",
        method = "POST",
        event = field::Empty,
        change_type = field::Empty
    );
    receive_in(shared, raw, body, span.clone()).instrument(span).await
}

async fn receive_in(shared: Arc<Shared>, raw: Option<String>, body: Bytes, span: Span) -> Result<Response, Refusal> {
    if shared.closed.load(Ordering::SeqCst) {
        warn!("callback refused: shutting down");
        return Err(refuse(StatusCode::SERVICE_UNAVAILABLE, "shutting down"));
    }
    let query = parse_query(raw.as_deref())?;
    check_timestamp(&shared, &query)?;
    let Ok(body) = std::str::from_utf8(&body) else {
        warn!("callback refused: the body is not UTF-8");
        return Err(refuse(StatusCode::BAD_REQUEST, "malformed callback"));
    };
    let json_body = body.trim_start().starts_with('{');
    let decrypted = if json_body {
        shared
            .crypto
            .decrypt_json_message(&query.msg_signature, &query.timestamp, &query.nonce, body)
    } else {
        shared.crypto.decrypt_message_query(&query, body)
    };
    let plaintext = match decrypted {
        Ok(plaintext) => plaintext,
        Err(err) => {
            warn!(error = %err, "callback refused");
            return Err(refuse_callback(&err));
        }
    };
    let event = if plaintext.trim_start().starts_with('{') {
        Event::from_json(&plaintext)
    } else {
        Event::from_xml(&plaintext)
    };
    let event = match event {
        Ok(event) => event,
        Err(err) => {
            warn!(error = %err, "callback refused: undecodable event");
            return Err(refuse(StatusCode::BAD_REQUEST, "undecodable event"));
        }
    };
    span.record("event", event.event_name().unwrap_or(""));
    span.record("change_type", event.change_type().unwrap_or(""));
    #[cfg(feature = "redis")]
    if let Some(queue) = &shared.durable {
        let key = message_key(shared.crypto.receive_id(), &plaintext);
        return match queue.push(&plaintext, &key, &event).await {
            Ok(_) => {
                debug!("stored; acknowledged");
                Ok(success())
            }
            Err(err) => {
                warn!(error = %err, "callback refused: the queue could not store it");
                Err(refuse(StatusCode::SERVICE_UNAVAILABLE, "queue unavailable"))
            }
        };
    }

    let Ok(slot) = shared.slots.clone().try_acquire_owned() else {
        warn!("callback refused: the handler queue is full");
        return Err(refuse(StatusCode::SERVICE_UNAVAILABLE, "queue full"));
    };
    let key = message_key(shared.crypto.receive_id(), &plaintext);
    drop(plaintext);
    match shared.dedupe.claim(&key, shared.lease).await {
        Ok(Claim::Claimed) => {}
        Ok(_) => {
            debug!("duplicate acknowledged");
            return Ok(success());
        }
        Err(err) => {
            warn!(error = %err, "callback refused: the dedupe store failed");
            return Err(refuse(StatusCode::SERVICE_UNAVAILABLE, "dedupe store unavailable"));
        }
    }
    tokio::spawn(run_handler(shared, key, event, slot).instrument(span));
    debug!("acknowledged");
    Ok(success())
}

fn success() -> Response {
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], "success").into_response()
}

/// Waits for a free handler, runs it, and records the outcome; `slot` is held until the end.
async fn run_handler(shared: Arc<Shared>, key: String, event: Event, slot: OwnedSemaphorePermit) {
    let running = shared.running.clone().acquire_owned().await;
    let handler = shared.handler.clone();
    let outcome = std::panic::AssertUnwindSafe(async move { handler(event).await })
        .catch_unwind()
        .await;
    drop(running);
    match outcome {
        Ok(()) => {
            if let Err(err) = shared.dedupe.complete(&key, shared.window).await {
                warn!(error = %err, "could not mark the callback done; a redelivery after the lease may run it again");
            }
        }
        Err(_) => {
            error!("the callback handler panicked; a redelivery of the message will be handled");
            if let Err(err) = shared.dedupe.release(&key).await {
                warn!(error = %err, "could not release the callback's claim");
            }
        }
    }
    drop(slot);
}

//! An embedded local stand-in for WeCom: a loopback HTTP server that answers `gettoken` and every catalogued
//! endpoint with the spec's official example response. It checks the token the way WeCom does (41001
//! missing, 40014 invalid, 42001 expired), rejects a request that does not fit the endpoint's typed model with
//! WeCom's error shape (errcode 40058), answers 45033 to a call made while another with the same value of the
//! endpoint's `one_at_a_time_per` field is being answered (two tag edits of one customer), pages cursor- and
//! offset-paged endpoints over three pages, and records the latest requests (10,000 by default, see
//! [`StandIn::set_request_log_limit`]) so tests can assert on the method, path, query and body. Everything it
//! knows comes from the generated catalog: a spec edit is a stand-in edit.
//!
//! It also plays WeCom for a third-party suite ([`SuiteConfig`]): `service/get_suite_token` checks the suite
//! id, secret and the last pushed ticket (40083, 40080, 40085); `service/get_corp_token` checks the suite
//! token and each authorized corp's permanent code (40084); `service/get_provider_token` checks the provider
//! secret. A suite token is refused where an access_token is required (40014), a corp token where a suite
//! token is (40082), an expired suite token with 42009, and a request with one corp's token naming another
//! corp's member with 60111.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! let standin = wecom_externalcontact::standin::StandIn::start().await?;
//! let client = standin.client();
//! # Ok(()) }
//! ```
//!
//! With [`StandInLimits`] it enforces WeCom's frequency limits per endpoint: over the budget of a (scaled)
//! minute or hour it answers 45009 and blocks the endpoint for that window, and beyond a concurrency it answers
//! 45033 ([`StandIn::limit_refusals`] counts both).
//!
//! The module's parts, by concern: `routes` (the server's one handler and the answer from the spec's
//! example, paged), `faults` (injected failures and delays, the in-flight count, the 45033 turn),
//! `tokens` (`gettoken` and the suite, corp and provider token endpoints, and the token check of every
//! call), `suite` (the third-party suite the stand-in plays WeCom for, its authorized corps and per-corp
//! answers), `world` (the consistent, stateful [`World`] of [`WorldConfig`]), `limits` (the enforced limits)
//! and `log` (the request log and its redaction).
//!
//! With a [`WorldConfig`], the endpoints that read customers, tags and group chats answer from one seeded corp
//! instead of the examples, and the simple documented writes change it (see [`World`]):
//!
//! ```
//! use wecom_externalcontact::models::{AddCorpTagRequest, GetCorpTagListRequest, NewCorpTag};
//! use wecom_externalcontact::standin::{StandIn, StandInConfig, WorldConfig};
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let world = WorldConfig { seed: 7, members: 20, customers: 500, unlicensed: 2, ..WorldConfig::default() };
//! let standin = StandIn::start_with(StandInConfig { world: Some(world), ..Default::default() }).await?;
//! let client = standin.client();
//! let vip = AddCorpTagRequest::new().group_name("会员").tag([NewCorpTag::new("VIP")]);
//! client.add_corp_tag(&vip).await?;
//! let library = client.get_corp_tag_list(&GetCorpTagListRequest::new()).await?;
//! assert!(library.tag_group.iter().any(|g| g.group_name == "会员"));
//! // The truth to compare answers with: a snapshot of the world as it is now.
//! let truth = standin.world().expect("configured");
//! assert_eq!(truth.tag_groups().len(), library.tag_group.len());
//! # Ok(()) }
//! ```

mod faults;
mod limits;
mod log;
mod routes;
mod suite;
mod tokens;
mod world;

pub use limits::StandInLimits;
pub use log::{RecordedRequest, DEFAULT_REQUEST_LOG_LIMIT};
pub use suite::{AuthorizedCorp, SuiteConfig};
pub use world::{Customer, Follow, GroupChat, Member, Tag, TagGroup, World, WorldConfig};

use crate::catalog::TokenKind;
use crate::Client;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::Duration;

/// How the stand-in behaves. `Debug` leaves out the secret.
#[derive(Clone)]
pub struct StandInConfig {
    /// The third-party suite, its authorized corps and the provider it plays WeCom for.
    pub suite: SuiteConfig,
    /// The corp id it accepts.
    pub corp_id: String,
    /// The secret it accepts.
    pub secret: String,
    /// `expires_in` it reports for tokens.
    pub token_ttl_secs: u64,
    /// How many pages the answers of paged endpoints built from the examples have (a response set with
    /// [`StandIn::set_response`] whose next cursor is `""` has one).
    pub pages: usize,
    /// A delay before answering `gettoken` (to make concurrency visible in tests).
    pub gettoken_delay: Duration,
    /// Tokens of other kinds it accepts (`suite_access_token`, `provider_access_token`).
    pub extra_tokens: BTreeMap<String, TokenKind>,
    /// The corp to answer the customer, tag and group chat endpoints from, instead of the examples (see
    /// [`World`]); `None`: the official examples.
    pub world: Option<WorldConfig>,
    /// WeCom's frequency and concurrency limits, enforced (45009 and a block, 45033); none by default.
    pub limits: Option<StandInLimits>,
}

impl std::fmt::Debug for StandInConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StandInConfig")
            .field("suite", &self.suite)
            .field("corp_id", &self.corp_id)
            .field("secret", &"[redacted]")
            .field("token_ttl_secs", &self.token_ttl_secs)
            .field("pages", &self.pages)
            .field("gettoken_delay", &self.gettoken_delay)
            .field("world", &self.world)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl Default for StandInConfig {
    fn default() -> Self {
        StandInConfig {
            suite: SuiteConfig::default(),
            corp_id: "standin-corp".into(),
            secret: "standin-secret".into(),
            token_ttl_secs: 7200,
            pages: 3,
            gettoken_delay: Duration::ZERO,
            extra_tokens: BTreeMap::new(),
            world: None,
            limits: None,
        }
    }
}

/// What the stand-in has seen and issued, behind one lock.
#[derive(Default)]
struct Shared {
    /// Third-party suites: see `suite.rs`.
    suite: suite::SuiteState,
    issued: Vec<String>,
    valid: BTreeSet<String>,
    expired: BTreeSet<String>,
    gettoken_count: usize,
    requests: VecDeque<RecordedRequest>,
    overrides: BTreeMap<String, Arc<serde_json::Value>>,
    fail_next: BTreeMap<String, VecDeque<faults::Fail>>,
    delays: BTreeMap<String, Duration>,
    in_flight: BTreeMap<String, (usize, usize)>,
    /// (path, value of its `one_at_a_time_per` field) of the calls being answered.
    busy_values: BTreeSet<(String, String)>,
    /// Calls, blocks and refusals under the configured limits, by path.
    limits: BTreeMap<String, limits::Counter>,
}

struct Inner {
    config: StandInConfig,
    shared: Mutex<Shared>,
    /// The world, when configured (its own lock: its answers never wait for the request log).
    world: Option<RwLock<World>>,
    /// How many requests [`StandIn::requests`] keeps (the newest).
    request_log_limit: AtomicUsize,
}

impl Inner {
    /// The shared state (a panic elsewhere while holding it does not make it unreadable).
    fn lock(&self) -> MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A running stand-in. It stops when dropped.
pub struct StandIn {
    addr: SocketAddr,
    inner: Arc<Inner>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl std::fmt::Debug for StandIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StandIn")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

impl StandIn {
    /// Starts a stand-in on `127.0.0.1` with a free port and the default configuration.
    pub async fn start() -> std::io::Result<StandIn> {
        Self::start_with(StandInConfig::default()).await
    }

    /// Starts a stand-in with `config`.
    pub async fn start_with(config: StandInConfig) -> std::io::Result<StandIn> {
        Self::start_on(config, 0).await
    }

    /// Starts a stand-in with `config` on `127.0.0.1:port` (0: a free port).
    pub async fn start_on(config: StandInConfig, port: u16) -> std::io::Result<StandIn> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        let addr = listener.local_addr()?;
        let world = config.world.as_ref().map(|w| RwLock::new(World::generate(w)));
        let inner = Arc::new(Inner {
            world,
            config,
            shared: Mutex::new(Shared::default()),
            request_log_limit: AtomicUsize::new(DEFAULT_REQUEST_LOG_LIMIT),
        });
        let app = routes::router(inner.clone());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = rx.await;
                })
                .await;
        });
        Ok(StandIn {
            addr,
            inner,
            shutdown: Some(tx),
        })
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The corp id it accepts.
    pub fn corp_id(&self) -> &str {
        &self.inner.config.corp_id
    }

    /// The secret it accepts.
    pub fn secret(&self) -> &str {
        &self.inner.config.secret
    }

    /// A client configured for this stand-in.
    pub fn client(&self) -> Client {
        Client::builder()
            .corp_id(self.corp_id())
            .secret(self.secret())
            .base_url(self.base_url())
            .build()
            .expect("a stand-in client configuration is always valid")
    }

    fn lock(&self) -> MutexGuard<'_, Shared> {
        self.inner.lock()
    }

    /// A snapshot of the world as it is now (writes included), to compare answers with; `None` unless
    /// [`StandInConfig::world`] is set.
    pub fn world(&self) -> Option<World> {
        let world = self.inner.world.as_ref()?;
        Some(world.read().unwrap_or_else(|p| p.into_inner()).clone())
    }
}

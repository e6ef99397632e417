//! Many authorized corps in one process: [`Suite`] for third-party (第三方) and 代开发 apps.
//!
//! ```no_run
//! # async fn demo(ticket_from_callback: String) -> wecom_externalcontact::Result<()> {
//! use wecom_externalcontact::models::GetFollowUserListRequest;
//! use wecom_externalcontact::token::SuiteTokenProvider;
//! use wecom_externalcontact::Suite;
//!
//! let suite = Suite::new(SuiteTokenProvider::new("ww-suite-id", "suite secret"))?;
//! suite.set_ticket(ticket_from_callback).await?; // from the suite_ticket callback, every ten minutes
//! let corp = suite.corp_client("wwauthcorp", "permanent code of that corp")?;
//! let members = corp.get_follow_user_list(&GetFollowUserListRequest::new()).await?;
//! # let _ = members; Ok(()) }
//! ```

use crate::callback::{Envelope, Event, EventKind};
use crate::token::BoxFuture;
use crate::token::{fingerprint, AuthCorpTokenProvider, Secret, SuiteTokenProvider, TokenStore};
use crate::{Client, Result, TokenKind};
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex};

/// A third-party suite (or 代开发 app template) and the corps that authorized it.
///
/// Built from a [`SuiteTokenProvider`] (suite id and secret, the token store, the HTTP client).
/// [`client`](Self::client) holds the suite token (for `service/*` and the census endpoints that take a
/// `suite_access_token`); [`corp_client`](Self::corp_client) is a [`Client`] for one authorized corp,
/// holding that corp's `access_token` from `service/get_corp_token`. Corp clients are cached (one per corp
/// and permanent code) and all share the HTTP connection pool and the token store, so concurrent first calls
/// for many corps make one `get_suite_token` and one `get_corp_token` per corp. Cheap to clone.
///
/// A self-built app keeps using [`Client::builder`].
#[derive(Clone)]
pub struct Suite {
    inner: Arc<Inner>,
}

/// The cached corp clients, by (corp id, fingerprint of the permanent code).
type CorpClients = HashMap<(String, String), (Client, Arc<AuthCorpTokenProvider>)>;

struct Inner {
    provider: Arc<SuiteTokenProvider>,
    client: Client,
    corps: Mutex<CorpClients>,
}

impl fmt::Debug for Suite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let corps: Vec<String> = self.lock().keys().map(|(corp, _)| corp.clone()).collect();
        f.debug_struct("Suite")
            .field("provider", &self.inner.provider)
            .field("corps", &corps)
            .finish()
    }
}

impl Suite {
    /// A suite from its token provider. Fails with [`Error::Config`](crate::Error::Config) when the provider's base URL is not an
    /// http(s) URL.
    pub fn new(provider: SuiteTokenProvider) -> Result<Suite> {
        let provider = Arc::new(provider);
        let client = Self::build(&provider, TokenKind::Suite, provider.clone())?;
        Ok(Suite {
            inner: Arc::new(Inner {
                provider,
                client,
                corps: Mutex::new(HashMap::new()),
            }),
        })
    }

    fn build(
        provider: &SuiteTokenProvider,
        kind: TokenKind,
        tokens: Arc<dyn crate::token::TokenProvider>,
    ) -> Result<Client> {
        Client::builder()
            .base_url(provider.base())
            .http_client(provider.wiring().reqwest.clone())
            .token_provider(kind, tokens)
            .build()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, CorpClients> {
        self.inner.corps.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The suite token provider.
    pub fn provider(&self) -> &Arc<SuiteTokenProvider> {
        &self.inner.provider
    }

    /// The store the ticket and every token are kept in.
    pub fn token_store(&self) -> &Arc<dyn TokenStore> {
        self.inner.provider.wiring().shared.store()
    }

    /// Stores the `suite_ticket` WeCom pushed (see [`SuiteTokenProvider::set_ticket`]).
    pub async fn set_ticket(&self, ticket: impl Into<Secret>) -> Result<()> {
        self.inner.provider.set_ticket(ticket).await
    }

    /// Feeds a decoded suite callback to the suite: a `suite_ticket` for this suite is stored (as by
    /// [`set_ticket`](Self::set_ticket)), a `cancel_auth` forgets the corp's client. Returns whether the event
    /// was one of those; every other event is left to the caller.
    ///
    /// ```no_run
    /// # async fn demo(suite: &wecom_externalcontact::Suite, xml: &str) -> wecom_externalcontact::Result<()> {
    /// let event = wecom_externalcontact::callback::Event::from_xml(xml)?;
    /// suite.on_event(&event).await?;
    /// # Ok(()) }
    /// ```
    pub async fn on_event(&self, event: &Event) -> Result<bool> {
        let Envelope::Suite {
            suite_id, auth_corp_id, ..
        } = &event.envelope
        else {
            return Ok(false);
        };
        if suite_id != self.inner.provider.suite_id() {
            return Ok(false);
        }
        match &event.kind {
            EventKind::SuiteTicket { suite_ticket } => {
                self.set_ticket(suite_ticket.clone()).await?;
                Ok(true)
            }
            EventKind::CancelAuth { .. } => {
                if let Some(corp) = auth_corp_id {
                    self.remove_corp(corp);
                }
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    /// Wraps a callback handler (`Fn(Event) -> impl Future<Output = ()>`, the shape a callback router
    /// takes) so that every event reaches [`on_event`](Self::on_event) first: a suite callback endpoint then
    /// stores each `suite_ticket` by itself, and `handler` sees every event (the ticket too). A store failure
    /// is logged (`warn!`, without the ticket) and the handler still runs.
    ///
    /// ```no_run
    /// # fn demo(suite: &wecom_externalcontact::Suite) {
    /// let handler = suite.callback_handler(|event| async move {
    ///     println!("{:?} for {:?}", event.event_name(), event.corp_id());
    /// });
    /// # let _ = handler; }
    /// ```
    pub fn callback_handler<H, Fut>(
        &self,
        handler: H,
    ) -> impl Fn(Event) -> BoxFuture<'static, ()> + Send + Sync + 'static
    where
        H: Fn(Event) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let suite = self.clone();
        let handler = Arc::new(handler);
        move |event: Event| {
            let (suite, handler) = (suite.clone(), handler.clone());
            Box::pin(async move {
                if let Err(e) = suite.on_event(&event).await {
                    tracing::warn!(error = %e, "a suite callback event could not be applied");
                }
                handler(event).await
            })
        }
    }

    /// A client holding the suite token: `service/*` and the other endpoints that take a
    /// `suite_access_token`.
    pub fn client(&self) -> Client {
        self.inner.client.clone()
    }

    /// A client for the authorized corp `auth_corp_id`, with the corp's `access_token` made from its
    /// `permanent_code`. Cached: the same corp and code give the same client (and token); a new permanent
    /// code (after `reset_permanent_code`) gives a new one. Fails with [`Error::Config`](crate::Error::Config)
    /// when either is empty.
    pub fn corp_client(&self, auth_corp_id: &str, permanent_code: impl Into<Secret>) -> Result<Client> {
        let code = permanent_code.into();
        let key = (auth_corp_id.to_string(), fingerprint(&code));
        if let Some((client, _)) = self.lock().get(&key) {
            return Ok(client.clone());
        }
        let tokens = Arc::new(AuthCorpTokenProvider::new(
            self.inner.provider.clone(),
            auth_corp_id,
            code,
        )?);
        let client = Self::build(&self.inner.provider, TokenKind::Access, tokens.clone())?;
        // Two callers may have built one at once: keep the first, so a corp has one client.
        let mut corps = self.lock();
        let (client, _) = corps.entry(key).or_insert((client, tokens));
        Ok(client.clone())
    }

    /// Forgets the cached client of `auth_corp_id` (e.g. after `cancel_auth`); its tokens stay in the store
    /// until they expire.
    pub fn remove_corp(&self, auth_corp_id: &str) {
        self.lock().retain(|(corp, _), _| corp != auth_corp_id);
    }

    /// The corps with a cached client.
    pub fn corps(&self) -> Vec<String> {
        let mut corps: Vec<String> = self.lock().keys().map(|(corp, _)| corp.clone()).collect();
        corps.sort();
        corps.dedup();
        corps
    }

    /// How many times this process called `service/get_corp_token` for `auth_corp_id`.
    pub fn corp_token_fetches(&self, auth_corp_id: &str) -> u64 {
        self.lock()
            .iter()
            .filter(|((corp, _), _)| corp == auth_corp_id)
            .map(|(_, (_, p))| p.fetch_count())
            .sum()
    }
}

//! Third-party (第三方) and 代开发 apps: the `suite_ticket`, the `suite_access_token` made from it, each
//! authorized corp's `access_token` made from the suite token and the corp's permanent code, and the
//! `provider_access_token`. All of them are thin layers over [`SharedFetch`]: single flight per key, kept in
//! the [`TokenStore`] (so with a shared store every process of a fleet sees the ticket and the tokens).
//!
//! Store keys never hold a secret: `suite_ticket:<suite id>`, `suite_access_token:<suite id>:<fingerprint>`,
//! `access_token:<auth corp id>:<fingerprint of the permanent code>`,
//! `provider_access_token:<corp id>:<fingerprint>` (see [`token_key`]).

use super::{answer, token_key, BoxFuture, CachedToken, FetchPolicy, MemoryTokenStore, Secret, SharedFetch};
use super::{unix_millis, Replay, TokenProvider, TokenStore};
use crate::catalog::HttpMethod;
use crate::transport::{Body, Http};
use crate::{Error, Result};
use serde::de::DeserializeOwned;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// errcodes that mean "this suite_access_token is invalid or expired" (40082, 42009): the errcodes of class
/// [`ErrorClass::TokenInvalid`](crate::errcode::ErrorClass::TokenInvalid)`(TokenKind::Suite)`, taken from that
/// classification.
#[deprecated(note = "use `errcode::classify(code)` or `Error::class()`: `ErrorClass::TokenInvalid(TokenKind::Suite)`")]
pub const SUITE_TOKEN_ERRCODES: [i64; 2] = crate::errcode::token_codes(Some(crate::catalog::TokenKind::Suite));

/// How long a `suite_ticket` is good for after it arrives (WeCom: 30 minutes; a new one every ten).
const TICKET_LIFE: Duration = Duration::from_secs(30 * 60);

/// The transport and store every provider of this module is built from.
#[derive(Clone)]
pub(crate) struct Wiring {
    pub(crate) http: Http,
    pub(crate) reqwest: reqwest::Client,
    pub(crate) base: String,
    pub(crate) shared: Arc<SharedFetch>,
}

impl Wiring {
    /// The official host, a default HTTP client and an in-memory store.
    fn new() -> Self {
        // The builder fails only when its TLS backend cannot be initialized; the fallback is reqwest's own
        // default client, as before.
        let reqwest = crate::transport::default_client(crate::transport::DEFAULT_TIMEOUT).unwrap_or_default();
        let base = crate::transport::DEFAULT_BASE_URL.to_string();
        Wiring {
            http: Http::new(reqwest.clone(), base.clone()),
            reqwest,
            base,
            shared: Arc::new(SharedFetch::with_policy(
                Arc::new(MemoryTokenStore::new()),
                FetchPolicy::default(),
            )),
        }
    }

    fn set_store(&mut self, store: Arc<dyn TokenStore>, policy: FetchPolicy) {
        self.shared = Arc::new(SharedFetch::with_policy(store, policy));
    }

    fn set_base_url(&mut self, url: String) {
        self.base = url.trim_end_matches('/').to_string();
        self.http = Http::new(self.reqwest.clone(), self.base.clone());
    }

    fn set_http_client(&mut self, client: reqwest::Client) {
        self.http = Http::new(client.clone(), self.base.clone());
        self.reqwest = client;
    }

    /// POSTs `body` (which holds a secret) to a token endpoint and decodes its answer; neither the body nor
    /// the answer ever reaches an error.
    async fn post<T: DeserializeOwned>(&self, endpoint: &str, query: &[(&str, &str)], body: Vec<u8>) -> Result<T> {
        answer::request(&self.http, HttpMethod::Post, endpoint, query, Body::Json(body.into())).await
    }
}

fn json_body(value: serde_json::Value, endpoint: &str) -> Result<Vec<u8>> {
    serde_json::to_vec(&value).map_err(|e| Error::InvalidRequest {
        endpoint: endpoint.into(),
        message: e.to_string(),
    })
}

fn non_empty(what: &str, value: &str) -> Result<()> {
    if value.trim().is_empty() {
        return Err(Error::Config(format!("{what} is empty")));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------
// The suite token

/// A third-party suite's (or 代开发 app template's) `suite_access_token`, made from the suite id, the suite
/// secret and the latest `suite_ticket` (`service/get_suite_token`).
///
/// WeCom pushes the ticket to the suite's 指令回调 URL every ten minutes; hand it over with
/// [`set_ticket`](Self::set_ticket) (e.g. from [`EventKind::SuiteTicket`](crate::callback::EventKind)). The
/// ticket and the token live in the [`TokenStore`], so with a shared store any process can fetch the token,
/// not only the one that received the callback. Concurrent callers share one fetch; the token is refreshed
/// before it expires, and dropped and fetched again once when WeCom rejects it (40082, 42009). Without a
/// ticket, [`token`](TokenProvider::token) fails with [`Error::Config`] and sends nothing.
///
/// `Debug` shows the suite id and the store keys, never the secret, the ticket or a token.
pub struct SuiteTokenProvider {
    suite_id: String,
    secret: Secret,
    wiring: Wiring,
    token_key: String,
    ticket_key: String,
    /// The last ticket set here, used while the store is unreachable.
    local_ticket: Mutex<Option<CachedToken>>,
    fetches: AtomicU64,
}

impl fmt::Debug for SuiteTokenProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SuiteTokenProvider")
            .field("suite_id", &self.suite_id)
            .field("token_key", &self.token_key)
            .field("ticket_key", &self.ticket_key)
            .finish_non_exhaustive()
    }
}

impl SuiteTokenProvider {
    /// A provider for the suite `suite_id` with its secret, keeping the ticket and the token in memory and
    /// calling the official host. Change that with [`token_store`](Self::token_store),
    /// [`base_url`](Self::base_url), [`http_client`](Self::http_client).
    pub fn new(suite_id: impl Into<String>, suite_secret: impl Into<Secret>) -> Self {
        let suite_id = suite_id.into();
        let secret = suite_secret.into();
        SuiteTokenProvider {
            token_key: token_key("suite_access_token", &suite_id, &secret),
            ticket_key: format!("suite_ticket:{suite_id}"),
            wiring: Wiring::new(),
            suite_id,
            secret,
            local_ticket: Mutex::new(None),
            fetches: AtomicU64::new(0),
        }
    }

    /// Keeps the ticket and the tokens (the suite's and, through [`Suite`](crate::Suite), every authorized
    /// corp's) in `store`; share it (e.g. `RedisTokenStore`) between the processes of a fleet.
    #[must_use]
    pub fn token_store(mut self, store: Arc<dyn TokenStore>) -> Self {
        self.wiring.set_store(store, FetchPolicy::default());
        self
    }

    /// Keeps tokens in `store` with a fetch `policy` (backoff, fleet lease).
    #[must_use]
    pub fn token_store_with_policy(mut self, store: Arc<dyn TokenStore>, policy: FetchPolicy) -> Self {
        self.wiring.set_store(store, policy);
        self
    }

    /// The API host; default [`DEFAULT_BASE_URL`](crate::DEFAULT_BASE_URL). Tests point this at the
    /// stand-in. Checked by [`Suite::new`](crate::Suite::new).
    #[must_use]
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.wiring.set_base_url(url.into());
        self
    }

    /// Sends through `client` (its connection pool, timeout and TLS settings); every client of a
    /// [`Suite`](crate::Suite) shares it.
    #[must_use]
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.wiring.set_http_client(client);
        self
    }

    /// The suite id.
    pub fn suite_id(&self) -> &str {
        &self.suite_id
    }

    /// The store key of the suite token (the suite id and a fingerprint of the secret, never the secret).
    pub fn key(&self) -> &str {
        &self.token_key
    }

    /// How many times this provider has called `service/get_suite_token`.
    pub fn fetch_count(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    pub(crate) fn wiring(&self) -> &Wiring {
        &self.wiring
    }

    pub(crate) fn base(&self) -> &str {
        &self.wiring.base
    }

    /// Stores the `suite_ticket` WeCom pushed (`InfoType` `suite_ticket`): from now on every provider of
    /// this suite sharing the store fetches suite tokens with it. Fails only when the store does (this
    /// provider then still uses the ticket itself).
    pub async fn set_ticket(&self, ticket: impl Into<Secret>) -> Result<()> {
        let ticket = ticket.into();
        non_empty("the suite_ticket", ticket.expose())?;
        let life = u64::try_from(TICKET_LIFE.as_millis()).unwrap_or(u64::MAX);
        let entry = CachedToken::with_expiry(ticket, unix_millis().saturating_add(life));
        tracing::debug!(suite_id = %self.suite_id, "storing a suite_ticket");
        *self.local_ticket.lock().unwrap_or_else(|p| p.into_inner()) = Some(entry.clone());
        self.wiring.shared.store().set(&self.ticket_key, &entry).await
    }

    /// The latest ticket in the store if it is still good; while the store is unreachable, the last one set
    /// here.
    async fn ticket(&self) -> Result<Option<Secret>> {
        let stored = match self.wiring.shared.store().get(&self.ticket_key).await {
            Ok(stored) => stored,
            Err(e) => {
                let local = self.local_ticket.lock().unwrap_or_else(|p| p.into_inner()).clone();
                if local.is_none() {
                    return Err(e);
                }
                local
            }
        };
        Ok(stored.filter(CachedToken::is_fresh).map(|t| t.token))
    }

    fn no_ticket(&self) -> Error {
        Error::Config(format!(
            "no suite_ticket for suite {}: WeCom pushes one to the suite's 指令回调 URL every ten minutes \
             (InfoType suite_ticket); pass it to SuiteTokenProvider::set_ticket (or Suite::set_ticket), \
             or trigger a push from the app's 回调配置 in the provider admin console",
            self.suite_id
        ))
    }

    async fn fetch(&self, ticket: Secret) -> Result<CachedToken> {
        self.fetches.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(suite_id = %self.suite_id, "fetching suite_access_token");
        let endpoint = crate::models::EP_SERVICE_GET_SUITE_TOKEN.path;
        let body = json_body(
            serde_json::json!({
                "suite_id": self.suite_id,
                "suite_secret": self.secret.expose(),
                "suite_ticket": ticket.expose(),
            }),
            endpoint,
        )?;
        let r: crate::models::ServiceGetSuiteTokenResponse = self.wiring.post(endpoint, &[], body).await?;
        answer::issued(endpoint, "suite_access_token", r.suite_access_token, r.expires_in)
    }
}

impl TokenProvider for SuiteTokenProvider {
    fn token(&self) -> BoxFuture<'_, Result<Secret>> {
        Box::pin(async move {
            // A token another process fetched needs no ticket here; without either, fail before any request
            // (and before the fetch backoff, so a ticket set a moment later works at once).
            let stored = self.wiring.shared.store().get(&self.token_key).await.ok().flatten();
            if let Some(t) = stored.filter(CachedToken::is_fresh) {
                return Ok(t.token);
            }
            let ticket = match self.ticket().await {
                Ok(Some(ticket)) => ticket,
                Ok(None) => return Err(self.no_ticket()),
                Err(e) => return Err(e),
            };
            self.wiring.shared.get(&self.token_key, || self.fetch(ticket)).await
        })
    }

    fn invalidate(&self, failed: &str) -> BoxFuture<'_, ()> {
        let failed = failed.to_string();
        Box::pin(async move { self.wiring.shared.invalidate(&self.token_key, &failed).await })
    }
}

// ---------------------------------------------------------------------------------------------------------
// An authorized corp's token

/// An authorized corp's `access_token`, made from the suite token, the corp id and its permanent code
/// (`service/get_corp_token`). One fetch at a time per corp, kept in the store under the corp (and a
/// fingerprint of the permanent code); when WeCom refuses the suite token (an errcode of class
/// [`ErrorClass::TokenInvalid`](crate::errcode::ErrorClass::TokenInvalid), e.g. 40082, 42009) it is dropped and
/// the fetch made once more, by the client's own replay rule. [`Suite::corp_client`](crate::Suite::corp_client)
/// builds these for you.
pub struct AuthCorpTokenProvider {
    suite: Arc<SuiteTokenProvider>,
    auth_corp_id: String,
    permanent_code: Secret,
    key: String,
    fetches: AtomicU64,
}

impl fmt::Debug for AuthCorpTokenProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthCorpTokenProvider")
            .field("suite_id", &self.suite.suite_id)
            .field("auth_corp_id", &self.auth_corp_id)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl AuthCorpTokenProvider {
    /// The token of `auth_corp_id` (a corp that authorized the suite) with its `permanent_code`. Fails with
    /// [`Error::Config`] when either is empty.
    pub fn new(
        suite: Arc<SuiteTokenProvider>,
        auth_corp_id: impl Into<String>,
        permanent_code: impl Into<Secret>,
    ) -> Result<Self> {
        let auth_corp_id = auth_corp_id.into();
        let permanent_code = permanent_code.into();
        non_empty("auth_corpid", &auth_corp_id)?;
        non_empty("the permanent_code", permanent_code.expose())?;
        Ok(AuthCorpTokenProvider {
            key: token_key("access_token", &auth_corp_id, &permanent_code),
            suite,
            auth_corp_id,
            permanent_code,
            fetches: AtomicU64::new(0),
        })
    }

    /// The authorized corp's id.
    pub fn auth_corp_id(&self) -> &str {
        &self.auth_corp_id
    }

    /// The store key of its token.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// How many times this provider has called `service/get_corp_token` (a replay after a rejected suite
    /// token counts too).
    pub fn fetch_count(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    async fn fetch(&self) -> Result<CachedToken> {
        let endpoint = crate::models::EP_SERVICE_GET_CORP_TOKEN.path;
        let body = json_body(
            serde_json::json!({
                "auth_corpid": self.auth_corp_id,
                "permanent_code": self.permanent_code.expose(),
            }),
            endpoint,
        )?;
        let mut replay = Replay::once();
        loop {
            let suite_token = self.suite.token().await?;
            self.fetches.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(auth_corp_id = %self.auth_corp_id, "fetching an authorized corp's access_token");
            let query = [("suite_access_token", suite_token.expose())];
            let refused = match self.suite.wiring.post(endpoint, &query, body.clone()).await {
                Ok(r) => {
                    let r: crate::models::ServiceGetCorpTokenResponse = r;
                    return answer::issued(endpoint, "access_token", r.access_token, r.expires_in);
                }
                Err(e) => e,
            };
            if !replay.after(&refused, Some(&suite_token), &*self.suite).await {
                return Err(refused);
            }
        }
    }
}

impl TokenProvider for AuthCorpTokenProvider {
    fn token(&self) -> BoxFuture<'_, Result<Secret>> {
        Box::pin(self.suite.wiring.shared.get(&self.key, || self.fetch()))
    }

    fn invalidate(&self, failed: &str) -> BoxFuture<'_, ()> {
        let failed = failed.to_string();
        Box::pin(async move { self.suite.wiring.shared.invalidate(&self.key, &failed).await })
    }
}

// ---------------------------------------------------------------------------------------------------------
// The provider token

/// The service provider's `provider_access_token`, from its corp id and provider secret
/// (`service/get_provider_token`): single flight, cached in the store, refreshed before it expires. Use it
/// with `Client::builder().token_provider(TokenKind::Provider, Arc::new(provider))`.
///
/// `Debug` shows the corp id and the store key, never the secret or a token.
pub struct ProviderTokenProvider {
    corp_id: String,
    secret: Secret,
    wiring: Wiring,
    key: String,
    fetches: AtomicU64,
}

impl fmt::Debug for ProviderTokenProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProviderTokenProvider")
            .field("corp_id", &self.corp_id)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl ProviderTokenProvider {
    /// A provider for the service provider `corp_id` with its provider secret, keeping the token in memory
    /// and calling the official host.
    pub fn new(corp_id: impl Into<String>, provider_secret: impl Into<Secret>) -> Self {
        let corp_id = corp_id.into();
        let secret = provider_secret.into();
        ProviderTokenProvider {
            key: token_key("provider_access_token", &corp_id, &secret),
            wiring: Wiring::new(),
            corp_id,
            secret,
            fetches: AtomicU64::new(0),
        }
    }

    /// Keeps the token in `store`.
    #[must_use]
    pub fn token_store(mut self, store: Arc<dyn TokenStore>) -> Self {
        self.wiring.set_store(store, FetchPolicy::default());
        self
    }

    /// The API host; default [`DEFAULT_BASE_URL`](crate::DEFAULT_BASE_URL).
    #[must_use]
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.wiring.set_base_url(url.into());
        self
    }

    /// Sends through `client`.
    #[must_use]
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.wiring.set_http_client(client);
        self
    }

    /// The store key of its token.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// How many times this provider has called `service/get_provider_token`.
    pub fn fetch_count(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    async fn fetch(&self) -> Result<CachedToken> {
        non_empty("the provider corp id", &self.corp_id)?;
        non_empty("the provider secret", self.secret.expose())?;
        self.fetches.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(corp_id = %self.corp_id, "fetching provider_access_token");
        let endpoint = crate::models::EP_SERVICE_GET_PROVIDER_TOKEN.path;
        let body = json_body(
            serde_json::json!({ "corpid": self.corp_id, "provider_secret": self.secret.expose() }),
            endpoint,
        )?;
        let r: crate::models::ServiceGetProviderTokenResponse = self.wiring.post(endpoint, &[], body).await?;
        answer::issued(endpoint, "provider_access_token", r.provider_access_token, r.expires_in)
    }
}

impl TokenProvider for ProviderTokenProvider {
    fn token(&self) -> BoxFuture<'_, Result<Secret>> {
        Box::pin(self.wiring.shared.get(&self.key, || self.fetch()))
    }

    fn invalidate(&self, failed: &str) -> BoxFuture<'_, ()> {
        let failed = failed.to_string();
        Box::pin(async move { self.wiring.shared.invalidate(&self.key, &failed).await })
    }
}

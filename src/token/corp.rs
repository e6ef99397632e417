//! [`CorpTokenProvider`]: a corp `access_token` from `gettoken`, over [`SharedFetch`].

use super::{answer, token_key, BoxFuture, CachedToken, Secret, SharedFetch, TokenProvider};
use crate::transport::Http;
use crate::Result;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Fetches a corp `access_token` from `/cgi-bin/gettoken` with a corp id and a secret (the 客户联系 secret,
/// or a self-built app's secret configured as 可调用应用): a thin layer over [`SharedFetch`] under the key
/// [`token_key`]`("access_token", corp_id, secret)`.
pub struct CorpTokenProvider {
    corp_id: String,
    secret: Secret,
    key: String,
    shared: Arc<SharedFetch>,
    http: Http,
    fetches: AtomicU64,
}

impl fmt::Debug for CorpTokenProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CorpTokenProvider")
            .field("corp_id", &self.corp_id)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl CorpTokenProvider {
    pub(crate) fn new(corp_id: String, secret: Secret, shared: Arc<SharedFetch>, http: Http) -> Self {
        CorpTokenProvider {
            key: token_key("access_token", &corp_id, &secret),
            corp_id,
            secret,
            shared,
            http,
            fetches: AtomicU64::new(0),
        }
    }

    /// How many times this provider has called `gettoken`.
    pub fn fetch_count(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    /// The store key of its token (names the corp id and a fingerprint of the secret, never the secret).
    pub fn key(&self) -> &str {
        &self.key
    }

    async fn fetch(&self) -> Result<CachedToken> {
        self.fetches.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(corp_id = %self.corp_id, "fetching access_token");
        // The request is written out here so the secret stays in `Secret` until it goes on the wire; the
        // response is the spec's `GettokenResponse`.
        let endpoint = crate::models::EP_GETTOKEN.path;
        let query = [("corpid", self.corp_id.as_str()), ("corpsecret", self.secret.expose())];
        let r: crate::models::GettokenResponse = answer::request(
            &self.http,
            crate::catalog::HttpMethod::Get,
            endpoint,
            &query,
            crate::transport::Body::None,
        )
        .await?;
        answer::issued(endpoint, "access_token", r.access_token, r.expires_in)
    }
}

impl TokenProvider for CorpTokenProvider {
    fn token(&self) -> BoxFuture<'_, Result<Secret>> {
        Box::pin(self.shared.get(&self.key, || self.fetch()))
    }

    fn invalidate(&self, failed: &str) -> BoxFuture<'_, ()> {
        let failed = failed.to_string();
        Box::pin(async move { self.shared.invalidate(&self.key, &failed).await })
    }
}

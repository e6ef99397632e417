//! [`TokenProvider`]: what hands the client a token; [`StaticToken`], the fixed one; and the client's
//! [`TokenSource`] (a provider and the kind of token it hands out).

use super::{BoxFuture, Secret};
use crate::catalog::TokenKind;
use crate::Result;
use std::sync::Arc;

/// Hands the client a token. The client uses [`CorpTokenProvider`](super::CorpTokenProvider) when given a corp
/// id and a secret; give your own for a third-party suite (`suite_access_token`), a provider token, or tokens
/// managed elsewhere.
pub trait TokenProvider: Send + Sync + 'static {
    /// A token to use now.
    fn token(&self) -> BoxFuture<'_, Result<Secret>>;
    /// WeCom rejected `failed` as invalid or expired: forget it, so the next [`token`](Self::token) call
    /// gets a new one. The default does nothing.
    fn invalidate(&self, failed: &str) -> BoxFuture<'_, ()> {
        let _ = failed;
        Box::pin(async {})
    }
}

/// A fixed token (for tests, or tokens refreshed outside this process).
#[derive(Clone, Debug)]
pub struct StaticToken(pub Secret);

impl StaticToken {
    /// A provider that always hands out `token`.
    pub fn new(token: impl Into<Secret>) -> Self {
        StaticToken(token.into())
    }
}

impl TokenProvider for StaticToken {
    fn token(&self) -> BoxFuture<'_, Result<Secret>> {
        let t = self.0.clone();
        Box::pin(async move { Ok(t) })
    }
}

/// What a client holds: a provider and the kind of token it hands out.
#[derive(Clone)]
pub(crate) struct TokenSource {
    pub(crate) kind: TokenKind,
    pub(crate) provider: Arc<dyn TokenProvider>,
}

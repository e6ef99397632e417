//! The one token replay rule, shared by the client's pipeline and the token providers whose fetch carries
//! another token (an authorized corp's token is fetched with the suite token): when WeCom refuses the token
//! a call carried ([`ErrorClass::TokenInvalid`]), that token is invalidated and the call is replayed once
//! with a new one — never more, and never for a call that carried no token (`gettoken`).

use super::{Secret, TokenProvider};
use crate::errcode::ErrorClass;
use crate::Error;

/// The replay budget of one call: one replay.
#[derive(Debug, Default)]
pub(crate) struct Replay {
    spent: bool,
}

impl Replay {
    /// A call that has not been replayed yet.
    pub(crate) fn once() -> Self {
        Replay::default()
    }

    /// Whether to replay a call that failed with `error` after carrying `carried` (a token from
    /// `provider`): yes when the error's class is [`ErrorClass::TokenInvalid`], the call carried a token and
    /// has not been replayed yet. Then `carried` is invalidated first (exactly that token, so concurrent
    /// callers that saw the same refusal share one refresh), and the caller's next `provider.token()`
    /// fetches a new one.
    pub(crate) async fn after(
        &mut self,
        error: &Error,
        carried: Option<&Secret>,
        provider: &dyn TokenProvider,
    ) -> bool {
        let (Some(token), Some(ErrorClass::TokenInvalid(kind))) = (carried, error.class()) else {
            return false;
        };
        if self.spent {
            return false;
        }
        self.spent = true;
        tracing::debug!(
            errcode = error.errcode(),
            ?kind,
            "token refused; refreshing it and replaying once"
        );
        provider.invalidate(token.expose()).await;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token::BoxFuture;
    use std::sync::Mutex;

    /// Records the tokens it was told to forget.
    #[derive(Default)]
    struct Forgetful(Mutex<Vec<String>>);

    impl TokenProvider for Forgetful {
        fn token(&self) -> BoxFuture<'_, crate::Result<Secret>> {
            Box::pin(async { Ok(Secret::new("new")) })
        }
        fn invalidate(&self, failed: &str) -> BoxFuture<'_, ()> {
            self.0.lock().unwrap().push(failed.to_string());
            Box::pin(async {})
        }
    }

    fn api(errcode: i64) -> Error {
        Error::Api {
            endpoint: "externalcontact/get_corp_tag_list".into(),
            errcode,
            errmsg: String::new(),
        }
    }

    #[tokio::test]
    async fn a_refused_token_is_forgotten_and_replayed_once_and_nothing_else_is() {
        let provider = Forgetful::default();
        let sent = Secret::new("sent");
        for code in [40001, 40014, 42001, 40082, 42009] {
            let mut replay = Replay::once();
            assert!(replay.after(&api(code), Some(&sent), &provider).await, "{code}");
            assert!(!replay.after(&api(code), Some(&sent), &provider).await, "{code}: once");
        }
        assert_eq!(
            provider.0.lock().unwrap().len(),
            5,
            "exactly the sent token, once per call"
        );
        assert!(provider.0.lock().unwrap().iter().all(|t| t == "sent"));

        // Without a token (gettoken's 40001: a wrong secret), or for any other class: no replay.
        let mut replay = Replay::once();
        assert!(!replay.after(&api(40001), None, &provider).await);
        for code in [-1, 6000, 45009, 45033, 48002, 99_999_999] {
            assert!(!replay.after(&api(code), Some(&sent), &provider).await, "{code}");
        }
        let timeout = Error::Timeout { endpoint: "x".into() };
        assert!(!replay.after(&timeout, Some(&sent), &provider).await);
        assert_eq!(provider.0.lock().unwrap().len(), 5, "nothing more forgotten");
        assert!(
            replay.after(&api(42001), Some(&sent), &provider).await,
            "the budget was not spent"
        );
    }
}

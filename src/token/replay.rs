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

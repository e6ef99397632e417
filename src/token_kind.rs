//! Which token a call carries. A leaf of the runtime (it imports nothing of the crate), so that the error
//! classification ([`errcode`](crate::errcode)) can name a token kind without depending on the catalog;
//! re-exported as [`catalog::TokenKind`](crate::catalog::TokenKind) and at the crate root.

/// Which token an endpoint takes, and which a client holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TokenKind {
    /// `access_token`: a corp's token (self-built app, 客户联系 secret, or an authorized third-party/代开发 app).
    Access,
    /// `suite_access_token`: a third-party suite's own token.
    Suite,
    /// `provider_access_token`: a service provider's token.
    Provider,
    /// No token (`gettoken` itself).
    None,
}

/// The query parameters that carry a token (of [`TokenKind::Access`], [`TokenKind::Suite`] and
/// [`TokenKind::Provider`], in this order). Their values never appear in an error or a log line.
pub const TOKEN_QUERY_PARAMS: [&str; 3] = ["access_token", "suite_access_token", "provider_access_token"];

impl TokenKind {
    /// The query parameter that carries this token (one of [`TOKEN_QUERY_PARAMS`]).
    pub fn query_name(self) -> Option<&'static str> {
        match self {
            TokenKind::Access => Some(TOKEN_QUERY_PARAMS[0]),
            TokenKind::Suite => Some(TOKEN_QUERY_PARAMS[1]),
            TokenKind::Provider => Some(TOKEN_QUERY_PARAMS[2]),
            TokenKind::None => None,
        }
    }
}

//! [`Secret`]: a string (a corpsecret, a token, a ticket, a permanent code) that `Debug` never shows. At the
//! bottom of the module graph: everything that holds a credential holds it in one of these.

use std::fmt;

/// A secret string (corpsecret, token). `Debug` never shows it. It serializes as the plain string, so that a
/// [`TokenStore`](crate::token::TokenStore) can persist tokens: only serialize it into a store.
#[derive(Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    /// The secret itself. Only pass it to WeCom.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Secret(s)
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Secret(s.to_string())
    }
}

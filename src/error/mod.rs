//! The crate's one error type.
//!
//! No variant ever carries an access_token, a corpsecret, an EncodingAESKey or a request URL with its query
//! string: transport errors are stored as a message taken from an error whose URL was stripped, and decode
//! errors keep only a short excerpt of a response body (never of the `gettoken` body).

mod callback;
mod throttle;

pub use callback::CallbackError;
pub use throttle::ThrottleReason;

/// Everything that can go wrong in this crate.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// WeCom answered with a non-zero `errcode`. Display shows the code, its official meaning (from
    /// [`errcode`](crate::errcode)) and the server's `errmsg` with its `hint: [...]`, which WeCom support asks
    /// for.
    #[error("WeCom API error {errcode}{} on {endpoint}: {errmsg}", meaning(*errcode))]
    Api {
        /// The path of the endpoint under `/cgi-bin/`.
        endpoint: String,
        /// WeCom's error code (see the official 全局错误码 page).
        errcode: i64,
        /// WeCom's error message.
        errmsg: String,
    },
    /// The HTTP exchange failed (connection refused, TLS, non-2xx status, ...).
    #[error("transport error on {endpoint}: {message}")]
    Transport {
        /// The path of the endpoint under `/cgi-bin/`.
        endpoint: String,
        /// What failed; never includes the URL or its query.
        message: String,
        /// The HTTP status, when an answer arrived (a non-2xx status, or a body that broke off).
        status: Option<u16>,
    },
    /// The request did not complete within the configured timeout.
    #[error("request to {endpoint} timed out")]
    Timeout {
        /// The path of the endpoint under `/cgi-bin/`.
        endpoint: String,
    },
    /// The response body could not be decoded into the endpoint's typed model.
    #[error("could not decode the response of {endpoint}: {message} (body starts: {excerpt:?})")]
    Decode {
        /// The path of the endpoint under `/cgi-bin/`.
        endpoint: String,
        /// The decoder's message.
        message: String,
        /// The first bytes of the body (empty for token responses).
        excerpt: String,
    },
    /// The request was refused before anything was sent: it does not fit the endpoint's model, the path is
    /// not in the catalog, or the client holds the wrong kind of token for the endpoint.
    #[error("invalid request for {endpoint}: {message}")]
    InvalidRequest {
        /// The path of the endpoint under `/cgi-bin/` (or what the caller passed).
        endpoint: String,
        /// What is wrong.
        message: String,
    },
    /// The call was not sent: it would have to wait longer than the client's
    /// [`Budgets::max_wait`](crate::Budgets::max_wait) for a permit of the endpoint's rate budget. Retry
    /// after `retry_after`.
    #[error("{endpoint} is {reason}; not sent (retry in {} ms)", retry_after.as_millis())]
    Throttled {
        /// The path of the endpoint under `/cgi-bin/`.
        endpoint: String,
        /// Why.
        reason: ThrottleReason,
        /// When a permit is expected.
        retry_after: std::time::Duration,
    },
    /// The client was configured wrongly (missing corp id or secret, a bad base URL, ...).
    #[error("configuration error: {0}")]
    Config(String),
    /// The token store (e.g. Redis) failed. Token fetching goes on without it; this error reaches callers
    /// only of the store's own methods.
    #[error("token store error: {0}")]
    Store(String),
    /// A callback could not be verified, decrypted, encrypted or parsed.
    #[error("callback error: {0}")]
    Callback(#[from] CallbackError),
}

/// ` (official meaning: English gloss)` of a catalogued errcode.
fn meaning(code: i64) -> String {
    match crate::errcode::lookup(code) {
        Some(info) => format!(" ({}: {})", info.meaning, info.gloss),
        None => String::new(),
    }
}

/// The first bytes of a body, for decode errors.
pub(crate) fn excerpt(body: &[u8]) -> String {
    let s = String::from_utf8_lossy(&body[..body.len().min(200)]);
    s.into_owned()
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The WeCom `errcode` when this is an API error.
    pub fn errcode(&self) -> Option<i64> {
        match self {
            Error::Api { errcode, .. } => Some(*errcode),
            _ => None,
        }
    }

    /// The WeCom `errcode` of an API error by name ([`ErrCode`](crate::errcode::ErrCode)): a named variant
    /// for every catalogued code, `Unrecognized(code)` for any other.
    ///
    /// ```
    /// use wecom_externalcontact::{errcode::ErrCode, Error};
    /// let err = Error::Api { errcode: 84061, errmsg: "not external contact".into(), endpoint: "externalcontact/remark".into() };
    /// assert_eq!(err.code(), Some(ErrCode::NotContacts));
    /// assert_eq!(err.errcode(), Some(84061));
    /// ```
    pub fn code(&self) -> Option<crate::errcode::ErrCode> {
        self.errcode().map(crate::errcode::ErrCode::from_code)
    }

    /// The class of an API error's errcode ([`errcode::classify`](crate::errcode::classify)): what it calls
    /// for, and what the client already did about it (a token refused even after one replay, a retryable
    /// code retried on a read, a rate limit returned at once, a fatal code). `None` for every other error.
    pub fn class(&self) -> Option<crate::errcode::ErrorClass> {
        self.errcode().map(crate::errcode::classify)
    }

    /// Whether the same request can succeed later: an errcode whose [`class`](Self::class) is
    /// [`Retryable`](crate::errcode::ErrorClass::Retryable) (-1, 6000, 41063) or
    /// [`Throttled`](crate::errcode::ErrorClass::Throttled) (45009 after its block, 45033 with less
    /// concurrency); timeouts, connection failures and 5xx answers. Bad input, permissions, configuration
    /// and refused tokens are not. (The client itself retries only the `Retryable` class and failures before
    /// any answer, and only on idempotent endpoints.)
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Api { errcode, .. } => crate::errcode::classify(*errcode).can_succeed_later(),
            Error::Transport { status, .. } => status.is_none_or(|s| s >= 500),
            Error::Timeout { .. } | Error::Throttled { .. } => true,
            _ => false,
        }
    }

    /// The HTTP status of a transport error that got an answer (e.g. `Some(503)`).
    pub fn http_status(&self) -> Option<u16> {
        match self {
            Error::Transport { status, .. } => *status,
            _ => None,
        }
    }
}

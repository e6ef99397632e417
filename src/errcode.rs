//! WeCom's global error codes: what each means and what it calls for, generated from `spec/errcodes.yaml`
//! (the official 全局错误码 page, doc 90313).
//!
//! Every code has one [`ErrorClass`], and that one classification is what the client's pipeline, the token
//! providers and [`Error::class`](crate::Error::class) / [`Error::is_retryable`](crate::Error::is_retryable)
//! read:
//!
//! | class | codes | what the client does |
//! |---|---|---|
//! | [`TokenInvalid`](ErrorClass::TokenInvalid) | 40001, 40014, 42001 (access_token); 40082, 42009 (suite_access_token) | drops the token it sent, fetches a new one and replays the call once |
//! | [`Retryable`](ErrorClass::Retryable) | -1, 6000, 41063 | retries idempotent endpoints (reads) per its [`RetryPolicy`](crate::RetryPolicy); never writes |
//! | [`Throttled`](ErrorClass::Throttled) | 45009 ([`Frequency`](Throttle::Frequency)), 45033 ([`Concurrency`](Throttle::Concurrency)) | returns it at once: never retried blindly |
//! | [`Fatal`](ErrorClass::Fatal) | every other code, catalogued or not | returns it at once |
//!
//! ```
//! use wecom_externalcontact::errcode::{self, ErrCode, ErrorClass, Throttle};
//! assert_eq!(errcode::classify(45009), ErrorClass::Throttled(Throttle::Frequency));
//! assert_eq!(errcode::classify(-1), ErrorClass::Retryable);
//! assert_eq!(errcode::classify(84061), ErrorClass::Fatal);
//! // Every catalogued code has a name; any other code is kept in `Unrecognized`.
//! assert_eq!(ErrCode::from(84061), ErrCode::NotContacts);
//! assert_eq!(ErrCode::NotContacts.code(), 84061);
//! assert_eq!(ErrCode::from(123_456), ErrCode::Unrecognized(123_456));
//! ```
//!
//! [`ErrCode`] names every code (generated from the spec's `name`s, with both meanings as rustdoc);
//! [`Error::code`](crate::Error::code) gives an API error's:
//!
//! ```
//! # fn handle(err: wecom_externalcontact::Error) {
//! use wecom_externalcontact::errcode::ErrCode;
//! match err.code() {
//!     Some(ErrCode::NotContacts) => { /* 84061: the member and the customer are no longer contacts */ }
//!     Some(ErrCode::InvalidExternalUserid) => { /* 40096 */ }
//!     _ => {}
//! }
//! # }
//! ```

use crate::token_kind::TokenKind;

#[allow(clippy::all)]
mod generated {
    include!(concat!(env!("OUT_DIR"), "/errcodes.rs"));
}

pub use generated::ErrCode;

impl ErrCode {
    /// What the code means and calls for; `None` for [`Unrecognized`](Self::Unrecognized).
    pub fn info(self) -> Option<&'static ErrcodeInfo> {
        lookup(self.code())
    }

    /// The code's class ([`classify`]): [`ErrorClass::Fatal`] for [`Unrecognized`](Self::Unrecognized).
    pub fn class(self) -> ErrorClass {
        classify(self.code())
    }

    /// Whether this code is not in `spec/errcodes.yaml`.
    pub fn is_unrecognized(self) -> bool {
        matches!(self, ErrCode::Unrecognized(_))
    }
}

impl From<i64> for ErrCode {
    fn from(code: i64) -> ErrCode {
        ErrCode::from_code(code)
    }
}

impl From<ErrCode> for i64 {
    fn from(code: ErrCode) -> i64 {
        code.code()
    }
}

impl PartialEq<i64> for ErrCode {
    fn eq(&self, other: &i64) -> bool {
        self.code() == *other
    }
}

impl PartialEq<ErrCode> for i64 {
    fn eq(&self, other: &ErrCode) -> bool {
        *self == other.code()
    }
}

/// The numeric code, e.g. `84061`.
impl std::fmt::Display for ErrCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.code())
    }
}

/// One of WeCom's global error codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ErrcodeInfo {
    /// The code.
    pub code: i64,
    /// The official meaning (错误说明), in Chinese.
    pub meaning: &'static str,
    /// A short English gloss.
    pub gloss: &'static str,
    /// Whether the same request can succeed later: its class is [`Retryable`](ErrorClass::Retryable) (-1,
    /// 6000, 41063) or [`Throttled`](ErrorClass::Throttled) (45009 after the block, 45033 with less
    /// concurrency). See [`class`](Self::class) for what the client does with it.
    pub retryable: bool,
    /// What the code calls for.
    pub class: ErrorClass,
}

/// What a WeCom errcode calls for. Generated from `spec/errcodes.yaml` (see the [module](self) docs for the
/// table); the client, the token providers and [`Error::class`](crate::Error::class) all read this one
/// classification. Match it with a wildcard arm: classes can be added.
///
/// ```
/// # fn handle(err: wecom_externalcontact::Error) {
/// use wecom_externalcontact::errcode::{ErrorClass, Throttle};
/// match err.class() {
///     Some(ErrorClass::Throttled(Throttle::Frequency)) => { /* wait out the block (about a minute) */ }
///     Some(ErrorClass::Throttled(Throttle::Concurrency)) => { /* fewer calls at once, then again */ }
///     Some(ErrorClass::TokenInvalid(kind)) => { /* refused even after one refresh: check the {kind:?} token's source */ }
///     _ => { /* fatal, retryable (already retried on reads), or not an API error */ }
/// }
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorClass {
    /// A token of this kind was refused as invalid or expired (access_token: 40001, 40014, 42001;
    /// suite_access_token: 40082, 42009). The client (and a token provider whose fetch carries another
    /// token, such as an authorized corp's) drops exactly the token the call carried, fetches a new one and
    /// replays the call once, never more; a call without a token (`gettoken`, whose 40001 means a wrong
    /// secret) is never replayed. A call carries one token, so the replay does not depend on the kind the
    /// code names: WeCom has no codes of its own for a refused provider_access_token and answers 40014.
    TokenInvalid(TokenKind),
    /// A passing failure (-1 system busy, 6000 data version conflict, 41063 mass message still being
    /// dispatched): the client retries idempotent endpoints (reads) with backoff per its
    /// [`RetryPolicy`](crate::RetryPolicy), and never writes.
    Retryable,
    /// A rate limit: the same request can succeed later, but repeating it at once only prolongs the limit,
    /// so the client returns it at once and never retries it blindly.
    Throttled(Throttle),
    /// Anything else, catalogued or not (bad input, permissions, configuration, domain outcomes such as
    /// 84061): the client returns it at once.
    Fatal,
}

/// The rate limit a [`Throttled`](ErrorClass::Throttled) code reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Throttle {
    /// 45009 (接口调用超过限制): too many calls of this API in a window; calls are blocked until the window
    /// ends (about a minute for per-minute limits, an hour for hourly ones). Hold further calls until then.
    Frequency,
    /// 45033 (接口并发调用超过限制): too many concurrent calls of this API per corp, or on one resource.
    /// Lower the concurrency, then call again.
    Concurrency,
}

impl ErrorClass {
    /// Whether the same request can succeed later: [`Retryable`](Self::Retryable) and
    /// [`Throttled`](Self::Throttled) (after the block, or with less concurrency).
    pub fn can_succeed_later(self) -> bool {
        matches!(self, ErrorClass::Retryable | ErrorClass::Throttled(_))
    }

    /// Whether the client retries a call that got this class: only [`Retryable`](Self::Retryable), and only
    /// on an idempotent endpoint.
    pub fn retried_on_reads(self) -> bool {
        self == ErrorClass::Retryable
    }

    /// The limit, when this is [`Throttled`](Self::Throttled).
    pub fn throttle(self) -> Option<Throttle> {
        match self {
            ErrorClass::Throttled(t) => Some(t),
            _ => None,
        }
    }
}

/// Every catalogued code, sorted by code.
pub fn all() -> &'static [ErrcodeInfo] {
    generated::ERRCODES
}

/// What `code` means, if it is catalogued.
pub fn lookup(code: i64) -> Option<&'static ErrcodeInfo> {
    let all = all();
    all.binary_search_by_key(&code, |e| e.code).ok().map(|i| &all[i])
}

/// The class of `code`: its catalogued class, [`ErrorClass::Fatal`] for a code not in the catalogue.
pub fn classify(code: i64) -> ErrorClass {
    lookup(code).map_or(ErrorClass::Fatal, |e| e.class)
}

/// The codes of class [`TokenInvalid`](ErrorClass::TokenInvalid) (of `kind`, or of every kind), in code
/// order, as an array of exactly `N`: evaluated at compile time, so a count that no longer fits the spec is
/// a build error.
pub(crate) const fn token_codes<const N: usize>(kind: Option<TokenKind>) -> [i64; N] {
    let all = generated::ERRCODES;
    let mut out = [0; N];
    let (mut i, mut n) = (0, 0);
    while i < all.len() {
        if let ErrorClass::TokenInvalid(k) = all[i].class {
            let wanted = match kind {
                Some(kind) => kind as u8 == k as u8,
                None => true,
            };
            if wanted {
                assert!(
                    n < N,
                    "spec/errcodes.yaml has more token codes: lengthen TOKEN_ERRCODES / SUITE_TOKEN_ERRCODES"
                );
                out[n] = all[i].code;
                n += 1;
            }
        }
        i += 1;
    }
    assert!(
        n == N,
        "spec/errcodes.yaml has fewer token codes: shorten TOKEN_ERRCODES / SUITE_TOKEN_ERRCODES"
    );
    out
}

/// errcode -1: 系统繁忙 (retried on idempotent endpoints). [`ErrCode::SystemBusy`] as a number.
pub const SYSTEM_BUSY: i64 = ErrCode::SystemBusy.code();
/// errcode 45009: 接口调用超过限制 (a frequency block of a minute, or an hour): the client holds the endpoint
/// for the corp until the block ends (see [`Budgets`](crate::Budgets)).
pub const FREQUENCY_LIMIT: i64 = ErrCode::FrequencyLimit.code();
/// errcode 45033: 接口并发调用超过限制: the client halves the endpoint's concurrency for the corp and retries an
/// idempotent call (a write comes back).
pub const CONCURRENCY_LIMIT: i64 = ErrCode::ConcurrencyLimit.code();

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_class_comes_from_the_spec() {
        assert_eq!(classify(SYSTEM_BUSY), ErrorClass::Retryable);
        assert_eq!(classify(6000), ErrorClass::Retryable);
        assert_eq!(classify(41063), ErrorClass::Retryable);
        assert_eq!(classify(FREQUENCY_LIMIT), ErrorClass::Throttled(Throttle::Frequency));
        assert_eq!(
            classify(CONCURRENCY_LIMIT),
            ErrorClass::Throttled(Throttle::Concurrency)
        );
        for code in [40001, 40014, 42001] {
            assert_eq!(classify(code), ErrorClass::TokenInvalid(TokenKind::Access), "{code}");
        }
        for code in [40082, 42009] {
            assert_eq!(classify(code), ErrorClass::TokenInvalid(TokenKind::Suite), "{code}");
        }
        assert_eq!(classify(84061), ErrorClass::Fatal);
        assert_eq!(classify(48002), ErrorClass::Fatal);
        assert_eq!(classify(123_456_789), ErrorClass::Fatal, "not catalogued");
        for e in all() {
            assert_eq!(e.retryable, e.class.can_succeed_later(), "{}", e.code);
        }
        assert_eq!(token_codes::<5>(None), [40001, 40014, 40082, 42001, 42009]);
        assert_eq!(token_codes::<2>(Some(TokenKind::Suite)), [40082, 42009]);
    }
}

//! WeCom's global error codes: what each means and whether retrying can help, generated from
//! `spec/errcodes.yaml` (the official 全局错误码 page, doc 90313).

#[allow(clippy::all)]
mod generated {
    include!(concat!(env!("OUT_DIR"), "/errcodes.rs"));
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
    /// Whether the same request can succeed later (-1, 6000, 41063, 45009 after the block, 45033 with less
    /// concurrency). The client itself retries only -1, and only on idempotent endpoints.
    pub retryable: bool,
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

/// errcode -1: 系统繁忙 (retried on idempotent endpoints).
pub const SYSTEM_BUSY: i64 = -1;
/// errcode 45009: 接口调用超过限制 (a frequency block of a minute, or an hour): the client holds the endpoint
/// for the corp until the block ends (see [`Budgets`](crate::Budgets)).
pub const FREQUENCY_LIMIT: i64 = 45009;
/// errcode 45033: 接口并发调用超过限制: the client halves the endpoint's concurrency for the corp and retries an
/// idempotent call (a write comes back).
pub const CONCURRENCY_LIMIT: i64 = 45033;

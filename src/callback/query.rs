//! The query string WeCom puts on callback requests.

use serde::{Deserialize, Serialize};

use super::CallbackError;

/// The query parameters of a callback request: `msg_signature`, `timestamp`, `nonce`, and on the
/// URL-verification GET also `echostr`.
///
/// Deserializes from a query string with any serde-based extractor (for example axum's `Query`), or with
/// [`CallbackQuery::parse`]. Values are kept as sent, after URL decoding. As in any form decoding, a raw
/// `+` decodes to a space; WeCom percent-encodes the `+` of base64 (`%2B`), so a signature mismatch on an
/// `echostr` with spaces usually means a proxy decoded the query twice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallbackQuery {
    /// The request signature.
    pub msg_signature: String,
    /// The timestamp the signature covers, as sent (a decimal number of seconds).
    pub timestamp: String,
    /// The nonce the signature covers.
    pub nonce: String,
    /// The encrypted challenge of the URL-verification GET; absent on message POSTs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub echostr: Option<String>,
}

impl CallbackQuery {
    /// Parses a raw query string (`msg_signature=...&timestamp=...&nonce=...[&echostr=...]`, without the
    /// leading `?`), percent-decoding each value. Unknown parameters are ignored; a repeated parameter
    /// keeps its first value. Fails with [`CallbackError::MissingField`] when one of the three signed
    /// parameters is absent.
    pub fn parse(query: &str) -> Result<CallbackQuery, crate::Error> {
        let mut msg_signature = None;
        let mut timestamp = None;
        let mut nonce = None;
        let mut echostr = None;
        for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
            let slot = match key.as_ref() {
                "msg_signature" => &mut msg_signature,
                "timestamp" => &mut timestamp,
                "nonce" => &mut nonce,
                "echostr" => &mut echostr,
                _ => continue,
            };
            if slot.is_none() {
                *slot = Some(value.into_owned());
            }
        }
        Ok(CallbackQuery {
            msg_signature: msg_signature.ok_or(CallbackError::MissingField("msg_signature"))?,
            timestamp: timestamp.ok_or(CallbackError::MissingField("timestamp"))?,
            nonce: nonce.ok_or(CallbackError::MissingField("nonce"))?,
            echostr,
        })
    }
}

//! Callback requests as WeCom sends them, built in one call: for tests of a callback receiver (yours, or
//! the crate's [`router`](super::router)).
//!
//! [`CallbackCrypto::sign_event`] writes an [`Event`] as WeCom's XML, encrypts it, signs it with a fresh
//! timestamp (the runtime's clock, [`crate::clock::unix_secs`]) and a random nonce, and returns the
//! [`SignedCallback`]: the query (`msg_signature`, `timestamp`, `nonce`) and the body (the XML envelope, or
//! the JSON form). [`CallbackCrypto::sign_xml`] does the same for a message given as raw XML. Both envelopes
//! work: an [`Event::app`] event (a self-built app's callback, receive id the corp id) and an
//! [`Event::suite`] one (a third-party suite's 指令回调, receive id the suite id).

use rand::Rng as _;

use super::crypto::cdata;
use super::{CallbackCrypto, EncryptedReply, Event};
use crate::Error;

/// One encrypted, signed callback request: what WeCom would send to a callback URL. Built by
/// [`CallbackCrypto::sign_event`], [`CallbackCrypto::sign_xml`] or [`CallbackCrypto::sign_xml_at`].
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), wecom_externalcontact::Error> {
/// use wecom_externalcontact::callback::{CallbackCrypto, CallbackQuery, Event, EventKind};
///
/// let crypto = CallbackCrypto::new("QDG6eK", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", "ww1")?;
/// let event = Event::app("ww1", EventKind::AddExternalContact {
///     user_id: "zhangsan".into(),
///     external_user_id: "wo1".into(),
///     state: None,
///     welcome_code: Some("WELCOMECODE".into()),
/// });
/// let signed = crypto.sign_event(&event)?;
///
/// // POST `signed.uri("/callback")` with `signed.body()` (with the `axum` feature,
/// // `signed.to_request("/callback")?` is that request); the receiver's side:
/// let query = CallbackQuery::parse(signed.query().as_str())?;
/// let xml = crypto.decrypt_message_query(&query, &signed.body())?;
/// assert_eq!(Event::from_xml(&xml)?, event);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedCallback {
    to_user_name: String,
    /// The ciphertext and its signature: sealed as a passive reply is, the same scheme both ways.
    sealed: EncryptedReply,
}

impl SignedCallback {
    /// The signature (`msg_signature`).
    pub fn msg_signature(&self) -> &str {
        self.sealed.msg_signature()
    }

    /// The signed timestamp (`timestamp`, unix seconds).
    pub fn timestamp(&self) -> &str {
        self.sealed.timestamp()
    }

    /// The nonce (`nonce`).
    pub fn nonce(&self) -> &str {
        self.sealed.nonce()
    }

    /// The base64 ciphertext (`Encrypt`).
    pub fn encrypt(&self) -> &str {
        self.sealed.encrypt()
    }

    /// The query parameters, in WeCom's order: `msg_signature`, `timestamp`, `nonce` (for an HTTP client's
    /// `.query(..)`).
    pub fn query_pairs(&self) -> [(&'static str, &str); 3] {
        [
            ("msg_signature", self.msg_signature()),
            ("timestamp", self.timestamp()),
            ("nonce", self.nonce()),
        ]
    }

    /// The query string, URL-encoded: `msg_signature=...&timestamp=...&nonce=...`.
    pub fn query(&self) -> String {
        url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(self.query_pairs())
            .finish()
    }

    /// `path` with the query appended: the URI WeCom posts to when `path` is the callback URL's path.
    pub fn uri(&self, path: &str) -> String {
        let separator = if path.contains('?') { '&' } else { '?' };
        format!("{path}{separator}{}", self.query())
    }

    /// The XML body: `<xml><ToUserName/><Encrypt/><AgentID/></xml>`, `ToUserName` being the receive id.
    pub fn body(&self) -> String {
        format!(
            "<xml><ToUserName>{}</ToUserName><Encrypt>{}</Encrypt><AgentID>{}</AgentID></xml>",
            cdata(&self.to_user_name),
            cdata(self.encrypt()),
            cdata("")
        )
    }

    /// The JSON body of JSON-mode receivers: `{"encrypt": "..."}`.
    pub fn json_body(&self) -> String {
        serde_json::json!({ "encrypt": self.encrypt() }).to_string()
    }

    /// The `POST` request to `path` (the query appended, the XML body, `Content-Type: text/xml`), ready for
    /// `tower::ServiceExt::oneshot` on a callback router. Fails with
    /// [`CallbackError::InvalidParameter`](super::CallbackError::InvalidParameter)`("path")` when `path` is not a valid URI path.
    #[cfg(feature = "axum")]
    #[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
    pub fn to_request(&self, path: &str) -> Result<axum::http::Request<axum::body::Body>, Error> {
        axum::http::Request::post(self.uri(path))
            .header(axum::http::header::CONTENT_TYPE, "text/xml")
            .body(axum::body::Body::from(self.body()))
            .map_err(|_| super::CallbackError::InvalidParameter("path").into())
    }
}

impl CallbackCrypto {
    /// Encrypts and signs `event` as WeCom would send it to this receiver: the event written with
    /// [`Event::to_xml`], a timestamp of now on the runtime's clock (inside any receiver's replay window,
    /// also on a paused test clock) and a random nonce. See [`SignedCallback`] for an example.
    pub fn sign_event(&self, event: &Event) -> Result<SignedCallback, Error> {
        self.sign_xml(&event.to_xml())
    }

    /// [`sign_event`](Self::sign_event) for a message given as text, sent as is (WeCom's XML, or whatever a
    /// test needs to send: a receiver must refuse what is not an event).
    pub fn sign_xml(&self, xml: &str) -> Result<SignedCallback, Error> {
        let timestamp = crate::clock::unix_secs().to_string();
        let nonce = rand::rngs::OsRng
            .gen_range(1_000_000_000u64..10_000_000_000)
            .to_string();
        self.sign_xml_at(xml, &timestamp, &nonce)
    }

    /// [`sign_xml`](Self::sign_xml) with the timestamp and nonce given (an old timestamp tests a replay
    /// window). Fails with [`CallbackError::InvalidParameter`](super::CallbackError::InvalidParameter) when either holds a control character.
    pub fn sign_xml_at(&self, xml: &str, timestamp: &str, nonce: &str) -> Result<SignedCallback, Error> {
        Ok(SignedCallback {
            to_user_name: self.receive_id().to_owned(),
            sealed: self.seal_reply(xml, timestamp, nonce)?,
        })
    }
}

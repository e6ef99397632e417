//! The spec as written in YAML: plain data, decoded key by key by `load` (so one build reports every
//! mistake), each item with [`At`], the lines of the item and its keys. Closed sets of values are serde
//! enums: an unknown value is reported with the values allowed.

use crate::types::{EventTy, TyExpr};
use serde::Deserialize;
use std::collections::BTreeMap;

/// Where an item and its keys are in their file (1-based lines).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct At {
    /// The item's first line.
    pub line: usize,
    /// The line of each key the item has.
    pub keys: BTreeMap<String, usize>,
}

impl At {
    /// The line of `key`, or the item's line when the key is absent.
    pub(crate) fn key(&self, key: &str) -> usize {
        self.keys.get(key).copied().unwrap_or(self.line)
    }
}

/// An HTTP method the spec allows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum HttpMethod {
    /// `GET`: request fields are the query.
    Get,
    /// `POST`: the request is the JSON body (or a multipart upload).
    #[default]
    Post,
}

impl HttpMethod {
    /// `"GET"` or `"POST"`.
    pub fn as_str(self) -> &'static str {
        match self {
            HttpMethod::Get => "GET",
            HttpMethod::Post => "POST",
        }
    }
}

/// Which token an endpoint takes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenKind {
    /// `access_token` (the default).
    #[default]
    Access,
    /// `suite_access_token`.
    Suite,
    /// `provider_access_token`.
    Provider,
    /// No token (`gettoken` itself).
    None,
}

impl TokenKind {
    /// The spec spelling (`access`, `suite`, `provider`, `none`).
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::Access => "access",
            TokenKind::Suite => "suite",
            TokenKind::Provider => "provider",
            TokenKind::None => "none",
        }
    }
}

/// How an endpoint pages.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PagingStyle {
    /// A cursor from the previous response.
    #[default]
    Cursor,
    /// An offset and a limit.
    Offset,
}

/// One spec file (one API group).
#[derive(Debug, Clone, Default)]
pub(crate) struct SpecFile {
    /// The group name; equals the file stem and names the cargo feature.
    pub group: String,
    /// One line about the group.
    pub doc: String,
    /// Whether the group's endpoints sit behind a cargo feature named after the group (default true).
    /// `false` for groups every build needs (`token`) and for files of shared types only (`common`).
    pub gated: bool,
    /// Where the file's top-level keys are.
    pub at: At,
    /// Named object types.
    pub types: BTreeMap<String, TypeDef>,
    /// Named enumerations.
    pub enums: BTreeMap<String, EnumDef>,
    /// Endpoints.
    pub endpoints: Vec<EndpointDef>,
    /// String codes used by callback event fields.
    pub event_values: BTreeMap<String, EnumDef>,
    /// Callback events.
    pub events: Vec<EventDef>,
    /// WeCom's global error codes (`errcodes.yaml`).
    pub errcodes: Vec<ErrcodeDef>,
    /// WeCom's frequency limits (`limits.yaml`).
    pub limits: Option<LimitsDef>,
}

/// A rate budget: calls allowed per minute and per hour.
#[derive(Debug, Clone, Default)]
pub(crate) struct BudgetDef {
    /// Where it is.
    pub at: At,
    /// Calls a minute.
    pub per_minute: u32,
    /// Calls an hour.
    pub per_hour: u32,
}

/// WeCom's documented frequency limits (访问频率限制, doc 90454), per API.
#[derive(Debug, Clone, Default)]
pub(crate) struct LimitsDef {
    /// Per corp (or authorized corp) and API.
    pub per_corp: Option<BudgetDef>,
    /// Per IP and API, for a corp's own (self-built) app.
    pub per_ip: Option<BudgetDef>,
    /// Per IP and API, for a third-party service provider.
    pub per_provider_ip: Option<BudgetDef>,
}

/// One of WeCom's global error codes.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ErrcodeDef {
    /// The code.
    pub code: i64,
    /// Its name (snake_case): the `errcode::ErrCode` variant, in UpperCamelCase.
    pub name: String,
    /// The official meaning, in Chinese.
    pub zh: String,
    /// A short English gloss.
    pub en: String,
    /// Class `retryable`: the same request can succeed later; the client retries it on reads.
    #[serde(default)]
    pub retryable: bool,
    /// Class `throttled`: a rate limit, waited out or met with less concurrency, never retried blindly.
    #[serde(default)]
    pub throttled: Option<ThrottleDef>,
    /// Class `token`: a token of this kind (spelled as an endpoint's `token`) was refused as invalid or
    /// expired; the call is replayed once with a new one.
    #[serde(default)]
    pub token: Option<TokenKind>,
    /// Its line in the file.
    #[serde(skip)]
    pub line: usize,
}

/// The rate limit a `throttled` errcode reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ThrottleDef {
    /// Too many calls in a window (45009): blocked until the window ends.
    Frequency,
    /// Too many calls at once (45033): lower the concurrency.
    Concurrency,
}

/// One callback event: a variant of `callback::EventKind`.
#[derive(Debug, Clone, Default)]
pub(crate) struct EventDef {
    /// Where it is.
    pub at: At,
    /// The variant name (UpperCamelCase).
    pub name: String,
    /// `Event` (self-built apps) or `InfoType` (third-party apps).
    pub event: String,
    /// `ChangeType`; empty (left out of the spec) for events that have none (the suite events `suite_ticket`,
    /// `create_auth`, ...).
    pub change_type: String,
    /// Official doc id.
    pub doc_id: Option<u64>,
    /// Doc.
    pub doc: String,
    /// Fields, by XML element name.
    pub fields: Vec<EventFieldDef>,
    /// The official samples of the event, one per envelope at least.
    pub samples: Vec<EventSampleDef>,
}

/// One official sample of a callback event (decrypted), like an endpoint's `example`.
#[derive(Debug, Clone, Default)]
pub(crate) struct EventSampleDef {
    /// Where it is.
    pub at: At,
    /// `app` (self-built and 代开发 apps: `ToUserName`, `Event`, ...) or `suite` (third-party 指令回调:
    /// `SuiteId`, `InfoType`, ...).
    pub envelope: String,
    /// Tells several samples of one event and envelope apart (`with-new-fields`); empty for the plain one.
    pub variant: String,
    /// The XML, as WeCom sends it once decrypted.
    pub xml: String,
    /// The event's JSON form it decodes to, when the spec pins it (`{"kind", "event", "extra"}`).
    pub expect: Option<String>,
}

/// A field of a callback event.
#[derive(Debug, Clone, Default)]
pub(crate) struct EventFieldDef {
    /// Where it is.
    pub at: At,
    /// The XML element name (`UserID`).
    pub name: String,
    /// The type, parsed.
    pub ty: EventTy,
    /// Always present (plain) or not (`Option`). Lists are never optional (absent means empty).
    pub required: bool,
    /// Doc.
    pub doc: String,
}

/// A named object type.
#[derive(Debug, Clone, Default)]
pub(crate) struct TypeDef {
    /// Where it is.
    pub at: At,
    /// Doc comment.
    pub doc: String,
    /// Fields in wire order.
    pub fields: Vec<FieldDef>,
}

/// A field of an object.
#[derive(Debug, Clone)]
pub(crate) struct FieldDef {
    /// Where it is.
    pub at: At,
    /// Wire name.
    pub name: String,
    /// The type expression, parsed.
    pub ty: TyExpr,
    /// Required (plain) or optional (`Option`).
    pub required: bool,
    /// Accept both numbers and strings.
    pub flex: bool,
    /// A credential (secret, ticket, permanent code, token): a `string` kept in `Secret` (`token::Secret` to users), which `Debug`
    /// never shows.
    pub secret: bool,
    /// Short doc.
    pub doc: String,
    /// Longer remarks.
    pub notes: Option<String>,
    /// Inline object fields (with `object` / `[object]`).
    pub fields: Option<Vec<FieldDef>>,
    /// Name of the inline object's Rust type.
    pub type_name: Option<String>,
}

/// An enumeration.
#[derive(Debug, Clone, Default)]
pub(crate) struct EnumDef {
    /// Where it is.
    pub at: At,
    /// Doc comment.
    pub doc: String,
    /// `int` or `string`.
    pub repr: EnumRepr,
    /// The documented values.
    pub values: Vec<EnumValue>,
}

/// How an enum is coded on the wire.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EnumRepr {
    /// JSON integers.
    #[default]
    Int,
    /// JSON strings.
    String,
}

/// One documented enum value.
#[derive(Debug, Clone, Default)]
pub(crate) struct EnumValue {
    /// Where it is.
    pub at: At,
    /// The wire value (integer or string).
    pub value: serde_yaml::Value,
    /// snake_case name; becomes the variant.
    pub name: String,
    /// Doc.
    pub doc: String,
}

/// One endpoint.
#[derive(Debug, Clone, Default)]
pub(crate) struct EndpointDef {
    /// Where it is.
    pub at: At,
    /// Path under `/cgi-bin/`.
    pub path: String,
    /// `GET` or `POST`.
    pub method: HttpMethod,
    /// Official doc id.
    pub doc_id: Option<u64>,
    /// Official Chinese name.
    pub name_zh: String,
    /// English summary.
    pub summary: String,
    /// Method name override.
    pub name: Option<String>,
    /// Token kind.
    pub token: TokenKind,
    /// Deprecation text naming the replacement.
    pub deprecated: Option<String>,
    /// Remarks.
    pub notes: Option<String>,
    /// Request fields.
    pub request: Vec<FieldDef>,
    /// Response fields.
    pub response: Vec<FieldDef>,
    /// Multipart file part name.
    pub upload: Option<String>,
    /// Safe to repeat (a read): retried on -1 and on failures before any answer.
    pub idempotent: bool,
    /// WeCom's documented limit on concurrent calls of this endpoint per corp.
    pub max_concurrency: Option<u32>,
    /// A request field: calls with the same value of it run one at a time (WeCom answers 45033 to
    /// concurrent edits of one customer).
    pub one_at_a_time_per: Option<String>,
    /// A per-corp budget stricter than the spec's default, where WeCom documents one.
    pub rate_limit: Option<BudgetDef>,
    /// Paging annotation.
    pub paging: Option<PagingDef>,
    /// Rules the official docs state in words about the request's fields.
    pub rules: Vec<RuleDef>,
    /// Official examples.
    pub example: Option<ExampleDef>,
}

/// A rule about an endpoint's request fields (`rules: [{at_least_one_of: [a, b]}]`).
#[derive(Debug, Clone, Default)]
pub(crate) struct RuleDef {
    /// Where it is.
    pub at: At,
    /// At least one of these top-level request fields is set: present, not null, not `""` and not `[]`.
    /// With two fields this is the docs' "not both empty" (不可同时为空).
    pub at_least_one_of: Vec<String>,
}

/// Paging annotation.
#[derive(Debug, Clone, Default)]
pub(crate) struct PagingDef {
    /// Where it is.
    pub at: At,
    /// Cursor or offset.
    pub style: PagingStyle,
    /// Request field carrying the cursor or offset.
    pub cursor: String,
    /// Response field with the next cursor.
    pub next: Option<String>,
    /// Response list field of items.
    pub items: String,
    /// Request field with the page size.
    pub limit: Option<String>,
    /// A capped request list the stream splits.
    pub chunk: Option<ChunkDef>,
    /// Response fields that report a partial failure of the page (`fail_info`), surfaced by page streams.
    pub partial: Vec<String>,
}

/// A request list the docs cap.
#[derive(Debug, Clone, Default)]
pub(crate) struct ChunkDef {
    /// Where it is.
    pub at: At,
    /// The list field.
    pub field: String,
    /// At most this many per request.
    pub max: usize,
}

/// Official example payloads.
#[derive(Debug, Clone, Default)]
pub(crate) struct ExampleDef {
    /// Where it is.
    pub at: At,
    /// Request JSON.
    pub request: Option<String>,
    /// Response JSON.
    pub response: Option<String>,
}

//! The lowered model: every Rust name decided, every type resolved. `emit` reads only this.

pub use crate::naming::RustIdent;
pub use crate::spec::{EnumRepr, HttpMethod, PagingStyle, ThrottleDef, TokenKind};
pub use crate::types::{EventTy, Scalar};
use std::collections::BTreeSet;

/// The whole API.
#[derive(Debug, Clone)]
pub struct Api {
    /// Spec groups in file order, with what each emits.
    pub groups: Vec<Group>,
    /// String codes of callback event fields, sorted by name.
    pub event_values: Vec<Enum>,
    /// Callback events, in spec order.
    pub events: Vec<Event>,
    /// WeCom's global error codes, sorted by code.
    pub errcodes: Vec<Errcode>,
    /// WeCom's frequency limits, when the spec states them.
    pub limits: Option<Limits>,
}

/// A callback event (a variant of `callback::EventKind`).
#[derive(Debug, Clone)]
pub struct Event {
    /// Variant name.
    pub name: String,
    /// The name in snake_case (`add_external_contact`), for the OpenAPI webhook's operation (`on_…`).
    pub snake_name: String,
    /// `Event` / `InfoType` value.
    pub event: String,
    /// `ChangeType` value; empty when the event has none.
    pub change_type: String,
    /// Doc lines.
    pub doc: Vec<String>,
    /// The spec's one-line doc, as written.
    pub summary: String,
    /// The official doc page, if the spec names one.
    pub doc_url: Option<String>,
    /// Fields.
    pub fields: Vec<EventField>,
    /// Its official samples.
    pub samples: Vec<EventSample>,
}

/// An official sample of a callback event: the SDK's tests decode it (one generated test each).
#[derive(Debug, Clone)]
pub struct EventSample {
    /// The generated test's name (`add_external_contact_app_sample`).
    pub test_name: String,
    /// The generated constant holding the XML (`ADD_EXTERNAL_CONTACT_APP_SAMPLE`), for hand-written tests.
    pub const_name: String,
    /// `app` or `suite`.
    pub envelope: String,
    /// The decrypted XML.
    pub xml: String,
    /// The JSON form it decodes to, when the spec pins it.
    pub expect: Option<String>,
}

/// A field of a callback event.
#[derive(Debug, Clone)]
pub struct EventField {
    /// XML element name.
    pub wire: String,
    /// Rust name.
    pub rust: RustIdent,
    /// The Rust type, already wrapped in `Option` where the field may be absent.
    pub ty: EventTy,
    /// Plain or `Option`.
    pub required: bool,
    /// Doc.
    pub doc: String,
}

/// One spec file's worth of output.
#[derive(Debug, Clone)]
pub struct Group {
    /// Group name (the file stem).
    pub name: String,
    /// One line about it.
    pub doc: String,
    /// The cargo feature that gates its endpoints (`None` for always-on groups).
    pub feature: Option<String>,
    /// Object types emitted in this group's file (named, inline, requests, responses), sorted by name.
    pub structs: Vec<Struct>,
    /// Enums defined in this group's file, sorted by name.
    pub enums: Vec<Enum>,
    /// Endpoints in spec order.
    pub endpoints: Vec<Endpoint>,
}

impl Group {
    /// Emits nothing (a file of callback events only, say).
    pub fn is_empty(&self) -> bool {
        self.structs.is_empty() && self.enums.is_empty() && self.endpoints.is_empty()
    }
}

/// A resolved Rust type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ty {
    /// A scalar.
    Scalar(Scalar),
    /// `serde_json::Value`.
    Json,
    /// `crate::secret::Secret`: a `string` field marked `secret` (a credential `Debug` never shows).
    Secret,
    /// `Vec<T>`.
    List(Box<Ty>),
    /// A generated struct, by Rust name.
    Struct(String),
    /// A generated enum, by Rust name.
    Enum(String),
}

/// A struct.
#[derive(Debug, Clone)]
pub struct Struct {
    /// Rust name.
    pub name: String,
    /// Doc lines.
    pub doc: Vec<String>,
    /// Fields.
    pub fields: Vec<Field>,
    /// Features any of which needs it (`None`: always compiled).
    pub cfg: Option<BTreeSet<String>>,
    /// Derives `Default`.
    pub default: bool,
    /// A request or an inline object of one: reject unknown keys and missing required fields when decoding.
    pub deny_unknown: bool,
    /// Where the spec defines it: `spec/<file>.yaml:<line>`, shown in its rustdoc.
    pub source: String,
}

/// A struct field.
#[derive(Debug, Clone)]
pub struct Field {
    /// Wire name.
    pub wire: String,
    /// Rust name.
    pub rust: RustIdent,
    /// Type.
    pub ty: Ty,
    /// Plain (required) or `Option`.
    pub required: bool,
    /// Accept numbers and strings alike.
    pub flex: bool,
    /// A required field that decodes to its default when missing.
    pub serde_default: bool,
    /// A list WeCom may leave out of a response: a plain `Vec`, empty when absent (types that requests use
    /// keep `Option`, where absent and empty differ).
    pub empty_when_absent: bool,
    /// Doc lines.
    pub doc: Vec<String>,
}

/// An enum.
#[derive(Debug, Clone)]
pub struct Enum {
    /// Rust name.
    pub name: String,
    /// Doc lines.
    pub doc: Vec<String>,
    /// Int or string codes.
    pub repr: EnumRepr,
    /// Documented values.
    pub values: Vec<EnumVariant>,
    /// Features any of which needs it (`None`: always compiled).
    pub cfg: Option<BTreeSet<String>>,
}

/// One enum value.
#[derive(Debug, Clone)]
pub struct EnumVariant {
    /// Variant name.
    pub name: String,
    /// Wire code: an integer or a string.
    pub code: Code,
    /// Doc.
    pub doc: String,
}

/// An enum code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Code {
    /// Integer code.
    Int(i64),
    /// String code.
    Str(String),
}

/// An endpoint.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// Path under `/cgi-bin/`.
    pub path: String,
    /// The official HTTP method.
    pub http_method: HttpMethod,
    /// Official doc URL, when there is one.
    pub doc_url: Option<String>,
    /// Official Chinese name.
    pub name_zh: String,
    /// English summary.
    pub summary: String,
    /// The `Client` method's name.
    pub fn_name: String,
    /// Request type name.
    pub request: String,
    /// Response type name.
    pub response: String,
    /// Catalog constant name.
    pub const_name: String,
    /// The token it takes.
    pub token: TokenKind,
    /// Deprecation note.
    pub deprecated: Option<String>,
    /// Remarks.
    pub notes: Option<String>,
    /// Multipart file part.
    pub upload: Option<String>,
    /// Safe to repeat (retried on -1 and on failures before any answer).
    pub idempotent: bool,
    /// Documented limit on concurrent calls.
    pub max_concurrency: Option<u32>,
    /// The request field whose value serializes calls (one at a time per value).
    pub one_at_a_time_per: Option<String>,
    /// Its per-corp rate budget (its own `rate_limit`, else the spec's default).
    pub rate_limit: Option<Budget>,
    /// Whether `rate_limit` is the endpoint's own (stricter) one.
    pub rate_limit_own: bool,
    /// Paging.
    pub paging: Option<Paging>,
    /// Request rules: each the wire names of which at least one must be set.
    pub at_least_one_of: Vec<Vec<String>>,
    /// Example request JSON (compact).
    pub example_request: Option<String>,
    /// Example response JSON (compact).
    pub example_response: Option<String>,
    /// The group feature (None: always on).
    pub feature: Option<String>,
    /// Group name.
    pub group: String,
}

/// Lowered paging annotation.
#[derive(Debug, Clone)]
pub struct Paging {
    /// The `Client` method streaming the items (`<method>_stream`).
    pub stream_fn: String,
    /// The `Client` method streaming whole pages (`<method>_pages`; cursor paging only).
    pub pages_fn: String,
    /// Cursor or offset paging, with the field each needs.
    pub style: PagingKind,
    /// Request cursor/offset field.
    pub cursor: Field,
    /// Response items field.
    pub items: Field,
    /// Element type of items.
    pub item_ty: Ty,
    /// A request list the docs cap, which the stream splits.
    pub chunk: Option<Chunk>,
    /// Wire names of the response fields that report a partial failure of a page.
    pub partial: Vec<String>,
}

/// How an endpoint pages.
#[derive(Debug, Clone)]
pub enum PagingKind {
    /// A cursor from the previous response.
    Cursor {
        /// The response field with the next cursor.
        next: Field,
        /// The request field with the page size, if any.
        limit: Option<Field>,
    },
    /// An offset and a limit; pages end when one is short.
    Offset {
        /// The request field with the page size.
        limit: Field,
    },
}

impl PagingKind {
    /// The spec's name for the style.
    pub fn style(&self) -> PagingStyle {
        match self {
            PagingKind::Cursor { .. } => PagingStyle::Cursor,
            PagingKind::Offset { .. } => PagingStyle::Offset,
        }
    }

    /// The request field with the page size, if any.
    pub fn limit(&self) -> Option<&Field> {
        match self {
            PagingKind::Cursor { limit, .. } => limit.as_ref(),
            PagingKind::Offset { limit } => Some(limit),
        }
    }
}

/// A request list the docs cap.
#[derive(Debug, Clone)]
pub struct Chunk {
    /// The list field.
    pub field: Field,
    /// At most this many items per request.
    pub max: usize,
}

impl Field {
    /// An `Option` (neither required nor a response list that is empty when absent).
    pub fn is_option(&self) -> bool {
        !self.required && !self.empty_when_absent
    }
}

/// One of WeCom's global error codes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Errcode {
    /// The code.
    pub code: i64,
    /// The `ErrCode` variant (UpperCamelCase, from the spec's `name`).
    pub variant: String,
    /// Official meaning (Chinese).
    pub zh: String,
    /// English gloss.
    pub en: String,
    /// What the code calls for.
    pub class: Class,
}

/// The class of an error code (the runtime's `errcode::ErrorClass`): from its `retryable`, `throttled` or
/// `token` key, `Fatal` without one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// A token of this kind was refused: replay once with a new one.
    TokenInvalid(TokenKind),
    /// The same request can succeed later: retried on reads.
    Retryable,
    /// A rate limit: never retried blindly.
    Throttled(ThrottleDef),
    /// Anything else.
    Fatal,
}

impl Class {
    /// Whether the same request can succeed later (the runtime's `ErrcodeInfo::retryable`).
    pub fn can_succeed_later(self) -> bool {
        matches!(self, Class::Retryable | Class::Throttled(_))
    }
}

/// A rate budget: calls allowed per minute and per hour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// Calls a minute.
    pub per_minute: u32,
    /// Calls an hour.
    pub per_hour: u32,
}

/// WeCom's frequency limits (`spec/limits.yaml`, 访问频率限制, doc 90454).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Per corp and API.
    pub per_corp: Budget,
    /// Per IP and API (a corp's own app).
    pub per_ip: Budget,
    /// Per IP and API (a third-party service provider).
    pub per_provider_ip: Budget,
}

//! The spec as written in YAML: plain data, deserialized by `load`.

use serde::Deserialize;
use std::collections::BTreeMap;

/// One spec file (one API group).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpecFile {
    /// The group name; equals the file stem and names the cargo feature.
    pub group: String,
    /// One line about the group.
    #[serde(default)]
    pub doc: String,
    /// Whether the group's endpoints sit behind a cargo feature named after the group (default true).
    /// `false` for groups every build needs (`token`) and for files of shared types only (`common`).
    #[serde(default = "yes")]
    pub gated: bool,
    /// Named object types.
    #[serde(default)]
    pub types: BTreeMap<String, TypeDef>,
    /// Named enumerations.
    #[serde(default)]
    pub enums: BTreeMap<String, EnumDef>,
    /// Endpoints.
    #[serde(default)]
    pub endpoints: Vec<EndpointDef>,
    /// String codes used by callback event fields.
    #[serde(default)]
    pub event_values: BTreeMap<String, EnumDef>,
    /// Callback events.
    #[serde(default)]
    pub events: Vec<EventDef>,
}

/// One callback event: a variant of `callback::EventKind`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventDef {
    /// The variant name (UpperCamelCase).
    pub name: String,
    /// `Event` (self-built apps) or `InfoType` (third-party apps).
    pub event: String,
    /// `ChangeType`; left out for events that have none (the suite events `suite_ticket`, `create_auth`, ...).
    #[serde(default)]
    pub change_type: String,
    /// Official doc id.
    #[serde(default)]
    pub doc_id: Option<serde_yaml::Value>,
    /// Doc.
    #[serde(default)]
    pub doc: String,
    /// Fields, by XML element name.
    #[serde(default)]
    pub fields: Vec<EventFieldDef>,
}

/// A field of a callback event.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventFieldDef {
    /// The XML element name (`UserID`).
    pub name: String,
    /// `string`, `secret` (a string kept in `token::Secret`), `u64`, `i64`, `[string]` (every `<Item>` of a list
    /// element) or an `event_values` name.
    #[serde(rename = "type")]
    pub ty: String,
    /// Always present (plain) or not (`Option`). Lists are never optional (absent means empty).
    #[serde(default)]
    pub required: bool,
    /// Doc.
    #[serde(default)]
    pub doc: String,
}

fn yes() -> bool {
    true
}

/// A named object type.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TypeDef {
    /// Doc comment.
    #[serde(default)]
    pub doc: String,
    /// Fields in wire order.
    #[serde(default)]
    pub fields: Vec<FieldDef>,
}

/// A field of an object.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldDef {
    /// Wire name.
    pub name: String,
    /// Type expression.
    #[serde(rename = "type")]
    pub ty: String,
    /// Required (plain) or optional (`Option`).
    #[serde(default)]
    pub required: bool,
    /// Accept both numbers and strings.
    #[serde(default)]
    pub flex: bool,
    /// Short doc.
    #[serde(default)]
    pub doc: String,
    /// Longer remarks.
    #[serde(default)]
    pub notes: Option<String>,
    /// Inline object fields (with `object` / `[object]`).
    #[serde(default)]
    pub fields: Option<Vec<FieldDef>>,
    /// Name of the inline object's Rust type.
    #[serde(default)]
    pub type_name: Option<String>,
}

/// An enumeration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnumDef {
    /// Doc comment.
    #[serde(default)]
    pub doc: String,
    /// `int` or `string`.
    pub repr: EnumRepr,
    /// The documented values.
    pub values: Vec<EnumValue>,
}

/// How an enum is coded on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EnumRepr {
    /// JSON integers.
    Int,
    /// JSON strings.
    String,
}

/// One documented enum value.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnumValue {
    /// The wire value (integer or string).
    pub value: serde_yaml::Value,
    /// snake_case name; becomes the variant.
    pub name: String,
    /// Doc.
    #[serde(default)]
    pub doc: String,
}

/// One endpoint.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointDef {
    /// Path under `/cgi-bin/`.
    #[serde(default)]
    pub path: String,
    /// `GET` or `POST`.
    #[serde(default)]
    pub method: String,
    /// Official doc id.
    #[serde(default)]
    pub doc_id: Option<serde_yaml::Value>,
    /// Official Chinese name.
    #[serde(default)]
    pub name_zh: String,
    /// English summary.
    #[serde(default)]
    pub summary: String,
    /// Method name override.
    #[serde(default)]
    pub name: Option<String>,
    /// Token kind: access (default), suite, provider, none.
    #[serde(default)]
    pub token: Option<String>,
    /// Deprecation text naming the replacement.
    #[serde(default)]
    pub deprecated: Option<String>,
    /// Remarks.
    #[serde(default)]
    pub notes: Option<String>,
    /// Request fields.
    #[serde(default)]
    pub request: Vec<FieldDef>,
    /// Response fields.
    #[serde(default)]
    pub response: Vec<FieldDef>,
    /// Multipart file part name.
    #[serde(default)]
    pub upload: Option<String>,
    /// Paging annotation.
    #[serde(default)]
    pub paging: Option<PagingDef>,
    /// Official examples.
    #[serde(default)]
    pub example: Option<ExampleDef>,
}

/// Paging annotation.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PagingDef {
    /// `cursor` or `offset`.
    pub style: String,
    /// Request field carrying the cursor or offset.
    pub cursor: String,
    /// Response field with the next cursor.
    #[serde(default)]
    pub next: Option<String>,
    /// Response list field of items.
    pub items: String,
    /// Request field with the page size.
    #[serde(default)]
    pub limit: Option<String>,
    /// A capped request list the stream splits.
    #[serde(default)]
    pub chunk: Option<ChunkDef>,
}

/// A request list the docs cap.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChunkDef {
    /// The list field.
    pub field: String,
    /// At most this many per request.
    pub max: usize,
}

/// Official example payloads.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExampleDef {
    /// Request JSON.
    #[serde(default)]
    pub request: Option<String>,
    /// Response JSON.
    #[serde(default)]
    pub response: Option<String>,
}

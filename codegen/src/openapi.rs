//! Stages 4 and 5 for `openapi.json`: the lowered model as an OpenAPI 3.1 document (pure, no I/O).
//!
//! One operation per endpoint (`operationId` = the client method), the Chinese name, the official doc link,
//! one tag per group, the token as a security scheme per kind, query parameters for GET (and for uploads),
//! a JSON body for POST, a multipart body for uploads, the 200 response with `errcode`/`errmsg`, every
//! struct and enum of the spec as a component schema, `deprecated`, and the official examples.
//!
//! The model is read through a few narrow accessors ([`operation_id`], [`http_method`], [`token_scheme`],
//! [`paging_style`]) so that a change of the IR touches only them.

use crate::model::{Api, Code, Endpoint, Enum, Event, EventTy, Field, Paging, PagingKind, Struct, Ty};
use crate::model::{EnumRepr, Scalar, TokenKind};
use serde_json::{json, Map, Value};

/// The security schemes: (scheme name = query key, description).
const SCHEMES: [(&str, &str); 3] = [
    (
        "access_token",
        "A corp's access_token (from gettoken with the corp id and the 客户联系 secret, or an authorized \
         third-party/代开发 app's corp token), in the query string.",
    ),
    (
        "suite_access_token",
        "A third-party suite's own suite_access_token, in the query string.",
    ),
    (
        "provider_access_token",
        "A service provider's provider_access_token, in the query string.",
    ),
];

/// The official API host, as the server of every operation.
pub(crate) const SERVER: &str = "https://qyapi.weixin.qq.com/cgi-bin";

/// The schema holding `errcode` and `errmsg`, part of every response.
pub(crate) const STATUS_SCHEMA: &str = "WeComStatus";

/// The operation id of an endpoint: the client method's name.
pub(crate) fn operation_id(ep: &Endpoint) -> String {
    ep.fn_name.to_string()
}

/// The lower-case HTTP method (`get` / `post`), the key of the operation under its path.
pub(crate) fn http_method(ep: &Endpoint) -> String {
    ep.http_method.as_str().to_ascii_lowercase()
}

/// The security scheme (= query key) of the endpoint's token; `None` for endpoints that take none.
pub(crate) fn token_scheme(ep: &Endpoint) -> Option<&'static str> {
    match ep.token {
        TokenKind::None => None,
        TokenKind::Suite => Some("suite_access_token"),
        TokenKind::Provider => Some("provider_access_token"),
        TokenKind::Access => Some("access_token"),
    }
}

/// `cursor` or `offset`.
pub(crate) fn paging_style(p: &Paging) -> &'static str {
    match p.style {
        PagingKind::Cursor { .. } => "cursor",
        PagingKind::Offset { .. } => "offset",
    }
}

fn schema_ref(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

fn joined(lines: &[String]) -> String {
    lines.join("\n").trim().to_string()
}

/// The JSON schema of a type. `flex` widens scalars to the other spelling the server is known to send.
fn ty_schema(ty: &Ty, flex: bool) -> Value {
    match ty {
        // A credential on the wire is a plain string; only the Rust type hides it from `Debug`.
        Ty::Secret => json!({ "type": "string", "format": "password" }),
        Ty::Scalar(s) => {
            let mut v = match s {
                Scalar::String => json!({ "type": "string" }),
                Scalar::Bool => json!({ "type": "boolean" }),
                Scalar::I32 => json!({ "type": "integer", "format": "int32" }),
                Scalar::I64 | Scalar::UnixTime => json!({ "type": "integer", "format": "int64" }),
                Scalar::U32 => json!({ "type": "integer", "minimum": 0, "maximum": u32::MAX }),
                Scalar::U64 => json!({ "type": "integer", "minimum": 0 }),
                Scalar::F64 => json!({ "type": "number", "format": "double" }),
            };
            if flex {
                let other = match s {
                    Scalar::String => "integer",
                    Scalar::Bool => "integer",
                    _ => "string",
                };
                let base = v["type"].clone();
                v["type"] = json!([base, other]);
                // A format or bounds would be read against the string spelling too.
                if let Value::Object(m) = &mut v {
                    m.remove("format");
                    m.remove("minimum");
                    m.remove("maximum");
                }
            }
            v
        }
        Ty::Json => json!({}),
        Ty::List(t) => json!({ "type": "array", "items": ty_schema(t, false) }),
        Ty::Struct(n) | Ty::Enum(n) => schema_ref(n),
    }
}

fn field_schema(f: &Field) -> Value {
    let mut v = ty_schema(&f.ty, f.flex);
    let doc = joined(&f.doc);
    // Beside a `$ref` too: siblings of `$ref` are allowed in 3.1, and the field's doc says more than the type's.
    if !doc.is_empty() {
        v["description"] = Value::String(doc);
    }
    v
}

/// Is the field required? The spec's word (the docs' 必须), not the decoder's leniency: the Rust model also
/// accepts an answer without a required list or number (it decodes to the default), but WeCom sends it.
fn wire_required(f: &Field) -> bool {
    f.required
}

fn struct_schema(s: &Struct) -> Value {
    let mut props = Map::new();
    for f in &s.fields {
        props.insert(f.wire.clone(), field_schema(f));
    }
    let required: Vec<&str> = s
        .fields
        .iter()
        .filter(|f| wire_required(f))
        .map(|f| f.wire.as_str())
        .collect();
    let mut v = json!({ "type": "object", "description": joined(&s.doc), "properties": props });
    if !required.is_empty() {
        v["required"] = json!(required);
    }
    if s.deny_unknown {
        v["additionalProperties"] = json!(false);
    }
    v
}

/// An enum: each documented code as a `const` with its name (`title`) and doc, plus an open case, because
/// WeCom adds codes (the official examples already carry undocumented ones) and the Rust model keeps them.
/// The open case repeats the enum's `type`: generators map each case on its own, and a case without a type
/// becomes "any" (in TypeScript `number | 0 | 1 | unknown`, which is `unknown`).
fn enum_schema(e: &Enum) -> Value {
    let code = |c: &Code| match c {
        Code::Int(n) => json!(n),
        Code::Str(s) => json!(s),
    };
    let mut doc = joined(&e.doc);
    doc.push_str("\n\nCodes:");
    for v in &e.values {
        doc.push_str(&format!("\n- `{}` ({}): {}", code(&v.code), v.name, v.doc));
    }
    doc.push_str("\n\nWeCom may add codes; a client should keep a code it does not know.");
    let ty = match e.repr {
        EnumRepr::Int => "integer",
        EnumRepr::String => "string",
    };
    let mut cases: Vec<Value> = e
        .values
        .iter()
        .map(|v| json!({ "const": code(&v.code), "title": v.name, "description": v.doc }))
        .collect();
    cases.push(json!({ "type": ty, "title": "other", "description": "A code not documented today, kept as it is." }));
    json!({ "type": ty, "description": doc, "anyOf": cases })
}

fn status_schema() -> Value {
    json!({
        "type": "object",
        "description": "The status every WeCom answer carries. A non-zero errcode is an error (see \
                        https://developer.work.weixin.qq.com/document/path/90313); the other fields are then absent.",
        "properties": {
            "errcode": { "type": "integer", "description": "0: success; anything else is an error code." },
            "errmsg": { "type": "string", "description": "\"ok\", or a description of the error." }
        },
        "required": ["errcode", "errmsg"]
    })
}

fn parse_example(s: &Option<String>) -> Option<Value> {
    s.as_deref().and_then(|j| serde_json::from_str(j).ok())
}

fn description(ep: &Endpoint) -> String {
    let mut d = format!(
        "**{}** (`{} /cgi-bin/{}`)",
        ep.name_zh,
        ep.http_method.as_str(),
        ep.path
    );
    if let Some(dep) = &ep.deprecated {
        d.push_str(&format!("\n\nDeprecated: {}", dep.trim()));
    }
    if let Some(notes) = &ep.notes {
        d.push_str("\n\n");
        d.push_str(notes.trim());
    }
    if let Some(p) = &ep.paging {
        d.push_str(&format!(
            "\n\nPaged ({} style): request field `{}`",
            paging_style(p),
            p.cursor.wire
        ));
        if let PagingKind::Cursor { next: n, .. } = &p.style {
            d.push_str(&format!(", next cursor in `{}`", n.wire));
        }
        d.push_str(&format!(", items in `{}`.", p.items.wire));
    }
    d
}

fn operation(ep: &Endpoint, request: Option<&Struct>) -> Value {
    let mut op = Map::new();
    op.insert("operationId".into(), json!(operation_id(ep)));
    op.insert("summary".into(), json!(ep.summary));
    op.insert("description".into(), json!(description(ep)));
    op.insert("tags".into(), json!([ep.group]));
    op.insert("x-wecom-name-zh".into(), json!(ep.name_zh));
    if let Some(url) = &ep.doc_url {
        op.insert("externalDocs".into(), json!({ "description": ep.name_zh, "url": url }));
    }
    op.insert(
        "security".into(),
        match token_scheme(ep) {
            Some(s) => json!([{ s: [] }]),
            None => json!([]),
        },
    );
    if ep.deprecated.is_some() {
        op.insert("deprecated".into(), json!(true));
    }
    if let Some(p) = &ep.paging {
        let mut px = json!({ "style": paging_style(p), "cursor": p.cursor.wire, "items": p.items.wire });
        match &p.style {
            PagingKind::Cursor { next, limit } => {
                px["next"] = json!(next.wire);
                if let Some(l) = limit {
                    px["limit"] = json!(l.wire);
                }
            }
            PagingKind::Offset { limit } => px["limit"] = json!(limit.wire),
        }
        if let Some(c) = &p.chunk {
            px["chunk"] = json!({ "field": c.field.wire, "max": c.max });
        }
        op.insert("x-wecom-paging".into(), px);
    }

    let example_request = parse_example(&ep.example_request);
    let in_query = http_method(ep) == "get" || ep.upload.is_some();
    if in_query {
        let params: Vec<Value> = request
            .map(|r| r.fields.as_slice())
            .unwrap_or_default()
            .iter()
            .map(|f| {
                let mut p = json!({
                    "name": f.wire,
                    "in": "query",
                    "required": f.required,
                    "schema": ty_schema(&f.ty, f.flex),
                });
                let doc = joined(&f.doc);
                if !doc.is_empty() {
                    p["description"] = json!(doc);
                }
                if let Some(x) = example_request.as_ref().and_then(|e| e.get(&f.wire)) {
                    p["example"] = x.clone();
                }
                p
            })
            .collect();
        if !params.is_empty() {
            op.insert("parameters".into(), json!(params));
        }
    }
    if let Some(part) = &ep.upload {
        op.insert(
            "requestBody".into(),
            json!({
                "required": true,
                "content": { "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": { part.as_str(): {
                            "type": "string",
                            "contentMediaType": "application/octet-stream",
                            "description": "The file (with its file name and length in the part's headers)."
                        } },
                        "required": [part]
                    }
                } }
            }),
        );
    } else if !in_query {
        let mut media = json!({ "schema": schema_ref(&ep.request) });
        if let Some(x) = example_request {
            media["example"] = x;
        }
        op.insert(
            "requestBody".into(),
            json!({ "required": true, "content": { "application/json": media } }),
        );
    }
    let mut media = json!({
        "schema": { "allOf": [schema_ref(STATUS_SCHEMA), schema_ref(&ep.response)] }
    });
    if let Some(x) = parse_example(&ep.example_response) {
        media["example"] = x;
    }
    op.insert(
        "responses".into(),
        json!({ "200": {
            "description": "WeCom always answers 200; errcode says whether the call succeeded.",
            "content": { "application/json": media }
        } }),
    );
    Value::Object(op)
}

/// The OpenAPI 3.1 document of the whole API. `version` goes into `info.version`.
pub fn document(api: &Api, version: &str) -> Value {
    let structs: Vec<&Struct> = api.groups.iter().flat_map(|g| g.structs.iter()).collect();
    let mut schemas = Map::new();
    schemas.insert(STATUS_SCHEMA.into(), status_schema());
    let mut sorted: Vec<(&str, Value)> = structs.iter().map(|s| (s.name.as_str(), struct_schema(s))).collect();
    sorted.extend(
        api.groups
            .iter()
            .flat_map(|g| g.enums.iter())
            .map(|e| (e.name.as_str(), enum_schema(e))),
    );
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    for (name, schema) in sorted {
        schemas.insert(name.to_string(), schema);
    }

    let mut paths = Map::new();
    let mut tags = Vec::new();
    for g in &api.groups {
        if g.endpoints.is_empty() {
            continue;
        }
        tags.push(json!({ "name": g.name, "description": g.doc }));
        for ep in &g.endpoints {
            let request = structs.iter().copied().find(|s| s.name == ep.request);
            let item = paths
                .entry(format!("/{}", ep.path))
                .or_insert_with(|| Value::Object(Map::new()));
            item[http_method(ep)] = operation(ep, request);
        }
    }

    let (webhooks, callback_schemas) = webhooks(api);
    if !webhooks.is_empty() {
        tags.push(json!({ "name": "callback", "description": "Callback events (the document's `webhooks`)." }));
    }
    for (name, schema) in callback_schemas {
        schemas.insert(name, schema);
    }

    let mut security = Map::new();
    for (name, doc) in SCHEMES {
        security.insert(
            name.into(),
            json!({ "type": "apiKey", "in": "query", "name": name, "description": doc }),
        );
    }

    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "WeCom 客户联系 (external contact) server API",
            "version": version,
            "summary": "Every endpoint of the WeCom 客户联系 API, generated from the wecom-externalcontact spec.",
            "description": "Generated from spec/*.yaml by wecom-externalcontact-codegen; do not edit by hand. \
                            One operation per endpoint, named after the Rust client method. Every answer is HTTP \
                            200 with `errcode`/`errmsg`; enums list the codes documented today and WeCom may add \
                            more. The official docs (linked from each operation) are authoritative.",
            "license": { "name": "MIT OR Apache-2.0", "identifier": "MIT OR Apache-2.0" }
        },
        "servers": [{ "url": SERVER, "description": "The official WeCom API host" }],
        "tags": tags,
        "paths": paths,
        "webhooks": webhooks,
        "components": { "schemas": schemas, "securitySchemes": security },
    })
}

/// The component schema name of a callback event's fields, of an `event_values` enum and of the envelopes (a
/// prefix of their own: event values share names with API enums, e.g. `TagType`).
pub(crate) fn callback_schema(name: &str) -> String {
    format!("Callback{name}")
}

/// The envelopes of a decrypted callback: (sample key, schema name, the element naming the event, description,
/// properties, required elements).
fn envelopes() -> [(&'static str, &'static str, &'static str, Value); 2] {
    let str_ = |d: &str| json!({ "type": "string", "description": d });
    let int_ = |d: &str| json!({ "type": "integer", "minimum": 0, "description": d });
    [
        (
            "app",
            "CallbackAppEnvelope",
            "Event",
            json!({
                "type": "object",
                "description": "The envelope of a self-built or 代开发 app's callback (its 接收事件服务器): the decrypted \
                                `<xml>` of the POST's `Encrypt` element.",
                "properties": {
                    "ToUserName": str_("The corp id."),
                    "FromUserName": str_("`sys`: sent by the system."),
                    "CreateTime": int_("When it was sent (unix seconds)."),
                    "MsgType": { "const": "event", "description": "Always `event`." },
                    "Event": str_("The event."),
                    "ChangeType": str_("The change, for events that have one.")
                },
                "required": ["ToUserName", "CreateTime", "MsgType", "Event"]
            }),
        ),
        (
            "suite",
            "CallbackSuiteEnvelope",
            "InfoType",
            json!({
                "type": "object",
                "description": "The envelope of a third-party app's 指令回调 (also 代开发 templates): the decrypted `<xml>` \
                                of the POST's `Encrypt` element.",
                "properties": {
                    "SuiteId": str_("The suite (third-party app) id."),
                    "AuthCorpId": str_("The authorized corp the event concerns (absent for `suite_ticket`)."),
                    "InfoType": str_("The event."),
                    "TimeStamp": int_("When it was sent (unix seconds)."),
                    "ChangeType": str_("The change, for events that have one.")
                },
                "required": ["SuiteId", "InfoType", "TimeStamp"]
            }),
        ),
    ]
}

fn event_field_schema(ty: &EventTy) -> Value {
    match ty {
        EventTy::String => json!({ "type": "string" }),
        EventTy::Secret => json!({ "type": "string", "format": "password" }),
        EventTy::U64 | EventTy::UnixTime => json!({ "type": "integer", "minimum": 0 }),
        EventTy::I64 => json!({ "type": "integer", "format": "int64" }),
        EventTy::Items => json!({
            "type": "object",
            "description": "A list: one `<Item>` per entry.",
            "properties": { "Item": { "type": "array", "items": { "type": "string" } } }
        }),
        EventTy::Values(n) => schema_ref(&callback_schema(n)),
    }
}

fn event_schema(ev: &Event) -> Value {
    let mut props = Map::new();
    for f in &ev.fields {
        let mut v = event_field_schema(&f.ty);
        if !f.doc.is_empty() {
            v["description"] = json!(f.doc);
        }
        props.insert(f.wire.clone(), v);
    }
    let required: Vec<&str> = ev
        .fields
        .iter()
        .filter(|f| f.required)
        .map(|f| f.wire.as_str())
        .collect();
    let mut v = json!({ "type": "object", "description": ev.summary, "properties": props });
    if !required.is_empty() {
        v["required"] = json!(required);
    }
    v
}

/// The official samples of an event as element maps (envelope, elements): the JSON form the spec pins in
/// each sample's `expect` (its `event`), without the elements no field names (its `extra`).
pub fn sample_elements(ev: &Event) -> Vec<(String, Map<String, Value>)> {
    ev.samples
        .iter()
        .filter_map(|s| {
            let expect: Value = serde_json::from_str(s.expect.as_deref()?).ok()?;
            let mut elements = expect.get("event")?.as_object()?.clone();
            if let Some(extra) = expect.get("extra").and_then(Value::as_object) {
                for k in extra.keys() {
                    elements.remove(k);
                }
            }
            Some((s.envelope.clone(), elements))
        })
        .collect()
}

/// Every callback event as an entry of `webhooks` (the decrypted XML as a schema of element names, in each
/// envelope it comes in, with the official samples), and the component schemas they use.
fn webhooks(api: &Api) -> (Map<String, Value>, Vec<(String, Value)>) {
    let mut schemas: Vec<(String, Value)> = Vec::new();
    for (_, name, _, schema) in envelopes() {
        schemas.push((name.to_string(), schema));
    }
    for e in &api.event_values {
        schemas.push((callback_schema(&e.name), enum_schema(e)));
    }
    let mut hooks = Map::new();
    for ev in &api.events {
        schemas.push((callback_schema(&ev.name), event_schema(ev)));
        // Events without a ChangeType are the suite's own (指令回调): the suite envelope only.
        let kinds: Vec<_> = envelopes()
            .into_iter()
            .filter(|(key, ..)| !ev.change_type.is_empty() || *key == "suite")
            .collect();
        let branches: Vec<Value> = kinds
            .iter()
            .map(|(_, env, name_key, _)| {
                let mut names = Map::new();
                names.insert((*name_key).to_string(), json!({ "const": ev.event }));
                if !ev.change_type.is_empty() {
                    names.insert("ChangeType".into(), json!({ "const": ev.change_type }));
                }
                let mut required = vec![json!(name_key)];
                if !ev.change_type.is_empty() {
                    required.push(json!("ChangeType"));
                }
                json!({ "allOf": [
                    schema_ref(env),
                    { "type": "object", "properties": names, "required": required },
                    schema_ref(&callback_schema(&ev.name))
                ] })
            })
            .collect();
        let mut examples = Map::new();
        for (env, elements) in sample_elements(ev) {
            let key = if examples.contains_key(&env) {
                format!("{env}-{}", examples.len() + 1)
            } else {
                env.clone()
            };
            let whose = if env == "app" {
                "self-built app"
            } else {
                "third-party suite"
            };
            examples.insert(
                key,
                json!({ "summary": format!("The official sample ({whose} envelope)"), "value": elements }),
            );
        }
        let which = match &ev.change_type[..] {
            "" => format!("`InfoType` `{}`", ev.event),
            ct => format!("`Event`/`InfoType` `{}`, `ChangeType` `{ct}`", ev.event),
        };
        let envelopes_text = if kinds.len() == 2 {
            "It comes in either envelope: a self-built or 代开发 app's (`ToUserName`, `FromUserName`, `CreateTime`, \
             `MsgType`, `Event`) or a third-party suite's (`SuiteId`, `AuthCorpId`, `InfoType`, `TimeStamp`)."
        } else {
            "It comes in the third-party suite's envelope (`SuiteId`, `AuthCorpId`, `InfoType`, `TimeStamp`)."
        };
        let mut op = json!({
            "operationId": format!("on_{}", ev.snake_name),
            "summary": ev.summary,
            "description": format!(
                "{which}. {envelopes_text} WeCom POSTs the XML encrypted (`<xml><ToUserName/><Encrypt/><AgentID/></xml>` \
                 with `msg_signature`, `timestamp` and `nonce` in the query); this is the decrypted `<xml>`, each \
                 element a property (a list element holds one `Item` per entry). Elements not listed may appear: \
                 keep them."
            ),
            "tags": ["callback"],
            "requestBody": {
                "required": true,
                "content": { "application/xml": {
                    "schema": { "oneOf": branches },
                    "examples": examples
                } }
            },
            "responses": { "200": { "description": "Answer `success` (or an empty body) within 5 seconds; WeCom retries otherwise." } }
        });
        if let Some(url) = &ev.doc_url {
            op["externalDocs"] = json!({ "url": url });
        }
        hooks.insert(ev.name.clone(), json!({ "post": op }));
    }
    (hooks, schemas)
}

/// The document as pretty-printed JSON with a trailing newline (deterministic: object keys keep the order
/// they were inserted in, which follows the spec and sorted type names).
pub(crate) fn render(api: &Api, version: &str) -> String {
    let mut s = serde_json::to_string_pretty(&document(api, version)).unwrap_or_default();
    s.push('\n');
    s
}

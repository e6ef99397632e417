//! Stage 2: the spec checked as a whole. Every mistake names the file, the endpoint (or type, enum, event)
//! and the field, at the line of the item, key or field it is about ([`crate::spec::At`]). All mistakes are
//! collected, not just the first, and the checks run on whatever `load` could read.

use crate::error::{Errors, Item, Scope};
use crate::load::Loaded;
use crate::naming;
use crate::spec::{
    BudgetDef, EndpointDef, EnumDef, EnumRepr, EventDef, FieldDef, HttpMethod, PagingStyle, TokenKind, TypeDef,
};
use crate::types::{self, EventTy, Scalar, TyExpr};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// Named types and enums of the whole spec, by name.
pub(crate) struct Index<'a> {
    /// Named object types: name → (file, def).
    pub types: BTreeMap<&'a str, (&'a str, &'a TypeDef)>,
    /// Enums: name → (file, def).
    pub enums: BTreeMap<&'a str, (&'a str, &'a EnumDef)>,
    /// Names of the `event_values` enums.
    pub event_values: BTreeSet<&'a str>,
}

/// Checks everything, reporting into `errors`; returns the index of named items.
pub(crate) fn validate<'a>(files: &'a [Loaded], errors: &Errors) -> Index<'a> {
    let mut index = Index {
        types: BTreeMap::new(),
        enums: BTreeMap::new(),
        event_values: files
            .iter()
            .flat_map(|l| l.spec.event_values.keys().map(String::as_str))
            .collect(),
    };

    check_errcodes(files, errors);
    check_limits(files, errors);

    // Names, files and groups.
    for l in files {
        let file = errors.file(&l.source.file);
        if l.spec.group != l.source.stem && l.spec.at.keys.contains_key("group") {
            file.line(l.spec.at.key("group")).err(format!(
                "group `{}` must equal the file name `{}`",
                l.spec.group, l.source.stem
            ));
        }
        for (name, def) in &l.spec.types {
            let previous = index.types.insert(name, (&l.source.file, def)).map(|(f, _)| f);
            declare(
                &file.item(Item::Type(name.clone()), def.at.line),
                "type",
                name,
                previous,
            );
        }
        for (name, def) in &l.spec.enums {
            let previous = index.enums.insert(name, (&l.source.file, def)).map(|(f, _)| f);
            declare(
                &file.item(Item::Enum(name.clone()), def.at.line),
                "enum",
                name,
                previous,
            );
        }
    }
    for (name, (file, def)) in &index.enums {
        if let Some((tfile, _)) = index.types.get(name) {
            errors
                .file(file)
                .item(Item::Enum(name.to_string()), def.at.line)
                .err(format!("`{name}` is both a type and an enum (the type is in {tfile})"));
        }
    }

    for l in files {
        let file = errors.file(&l.source.file);
        for (name, def) in &l.spec.enums {
            check_enum(&file.item(Item::Enum(name.clone()), def.at.line), name, def);
        }
        for (name, def) in &l.spec.types {
            check_fields_in(
                &index,
                &file.item(Item::Type(name.clone()), def.at.line),
                "",
                &def.fields,
                Query::No,
            );
        }
    }

    // Endpoints. (Their method names are decided, and checked for clashes, in `lower`.)
    let mut paths: BTreeMap<&str, &str> = BTreeMap::new();
    for l in files {
        let file = errors.file(&l.source.file);
        for ep in &l.spec.endpoints {
            let s = file.item(Item::Endpoint(ep.path.clone()), ep.at.line);
            if !ep.path.is_empty() {
                if let Some(other) = paths.insert(&ep.path, &l.source.file) {
                    s.line(ep.at.key("path"))
                        .err(format!("path is also defined in {other}"));
                }
            }
            check_endpoint(&index, &s, ep);
        }
    }

    check_events(&index, errors, files);
    index
}

/// Checks a newly declared type or enum name: UpperCamelCase, and not declared before.
fn declare(s: &Scope<'_>, kind: &str, name: &str, previous: Option<&str>) {
    if naming::camel(name) != name {
        s.err(format!("{kind} names are UpperCamelCase (`{}`)", naming::camel(name)));
    }
    if let Some(other) = previous {
        s.err(format!("{kind} `{name}` is also defined in {other}"));
    }
}

fn check_enum(s: &Scope<'_>, name: &str, def: &EnumDef) {
    if def.values.is_empty() {
        s.err(format!("enum `{name}` needs at least one value"));
    }
    let mut codes = BTreeSet::new();
    let mut variants = BTreeSet::new();
    for v in &def.values {
        let s = s.field(&v.name, v.at.line);
        let code = match (&v.value, def.repr) {
            (serde_yaml::Value::Number(n), EnumRepr::Int) if n.as_i64().is_some() => n.to_string(),
            (serde_yaml::Value::String(c), EnumRepr::String) => c.clone(),
            (other, repr) => {
                s.line(v.at.key("value"))
                    .err(format!("value {other:?} does not fit repr {repr:?}"));
                continue;
            }
        };
        if !codes.insert(code.clone()) {
            s.err(format!("value {code} appears twice"));
        }
        let variant = naming::camel(&v.name);
        if variant == naming::CATCH_ALL {
            s.err(format!("`{}` is reserved for values the crate does not know", v.name));
        }
        if !variants.insert(variant.clone()) {
            s.err(format!("two values are named `{variant}`"));
        }
    }
}

/// What a list of fields is, for the checks that depend on it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Query {
    /// Query parameters (GET requests, uploads): scalars and enums only.
    Yes,
    /// JSON (or the fields of a type).
    No,
}

fn check_fields_in(index: &Index<'_>, item: &Scope<'_>, prefix: &str, fields: &[FieldDef], query: Query) {
    let mut wire = BTreeSet::new();
    let mut rust = BTreeMap::new();
    for f in fields {
        let path = format!("{prefix}{}", f.name);
        let s = item.field(&path, f.at.line);
        if f.name.is_empty() {
            continue; // reported by `load`
        }
        if !wire.insert(f.name.as_str()) {
            s.err("the field appears twice");
        }
        let r = naming::snake(&f.name).name;
        if let Some(other) = rust.insert(r.clone(), f.name.as_str()) {
            if other != f.name {
                s.err(format!("its Rust name `{r}` is also the Rust name of field `{other}`"));
            }
        }
        if r == "new" {
            s.err("a field named `new` would clash with the constructor");
        }
        let ty = s.line(f.at.key("type"));
        if let Some(why) = crate::types::unix_time_required(&f.name, &f.ty, &f.doc) {
            ty.err(why);
        }
        let inner = f.ty.innermost();
        match inner {
            TyExpr::Named(n) if !index.types.contains_key(n.as_str()) && !index.enums.contains_key(n.as_str()) => {
                ty.err(format!("unknown type `{n}`"));
            }
            TyExpr::Object => match &f.fields {
                Some(sub) => {
                    if sub.is_empty() {
                        s.err("an inline object needs at least one field (use `json` for an opaque object)");
                    }
                    check_fields_in(index, item, &format!("{path}."), sub, Query::No);
                }
                None => ty.err("type `object` needs `fields`"),
            },
            _ => {}
        }
        if f.fields.is_some() && *inner != TyExpr::Object {
            s.line(f.at.key("fields"))
                .err("`fields` is only for `object` or `[object]`");
        }
        if let Some(tn) = &f.type_name {
            let s = s.line(f.at.key("type_name"));
            if *inner != TyExpr::Object {
                s.err("`type_name` is only for `object` or `[object]`");
            }
            if naming::camel(tn) != *tn {
                s.err(format!("type_name must be UpperCamelCase (`{}`)", naming::camel(tn)));
            }
        }
        let scalar_or_enum = match &f.ty {
            TyExpr::Scalar(_) => true,
            TyExpr::Named(n) => index.enums.contains_key(n.as_str()),
            _ => false,
        };
        if f.flex && !scalar_or_enum {
            s.line(f.at.key("flex"))
                .err("`flex` applies to scalar and enum fields only");
        }
        if query == Query::Yes && !scalar_or_enum {
            ty.err("GET request fields are query parameters and must be scalars or enums");
        }
    }
}

fn find_field<'f>(fields: &'f [FieldDef], name: &str) -> Option<&'f FieldDef> {
    fields.iter().find(|f| f.name == name)
}

/// The type of the field `name` of `fields`, if there is one.
fn field_ty<'f>(fields: &'f [FieldDef], name: &str) -> Option<&'f TyExpr> {
    find_field(fields, name).map(|f| &f.ty)
}

fn is_int(t: Option<&TyExpr>) -> bool {
    matches!(t, Some(TyExpr::Scalar(s)) if s.is_int())
}

fn check_endpoint(index: &Index<'_>, s: &Scope<'_>, ep: &EndpointDef) {
    let at = &ep.at;
    if at.keys.contains_key("path")
        && (ep.path.is_empty()
            || ep.path.starts_with('/')
            || !ep
                .path
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '/'))
    {
        s.line(at.key("path"))
            .err("path is written under /cgi-bin/ without a leading slash, in lower case (e.g. externalcontact/get)");
    }
    for (key, value) in [("name_zh", &ep.name_zh), ("summary", &ep.summary)] {
        if at.keys.contains_key(key) && value.trim().is_empty() {
            s.line(at.key(key)).err(format!("`{key}` is empty"));
        }
    }
    if let Some(n) = &ep.name {
        if naming::snake(n).name != *n {
            s.line(at.key("name")).err(format!("name `{n}` must be snake_case"));
        }
    }
    let is_get = ep.method == HttpMethod::Get;
    if ep.upload.is_some() && is_get {
        s.line(at.key("upload")).err("an upload is a POST");
    }
    check_fields_in(
        index,
        s,
        "request.",
        &ep.request,
        if is_get || ep.upload.is_some() {
            Query::Yes
        } else {
            Query::No
        },
    );
    check_fields_in(index, s, "response.", &ep.response, Query::No);
    check_retry_facts(s, ep);
    check_rules(s, ep);

    if let Some(p) = &ep.paging {
        let ps = |key: &str, field: String| s.field(field, p.at.key(key));
        let cursor_ty = field_ty(&ep.request, &p.cursor);
        match p.style {
            PagingStyle::Cursor => {
                if cursor_ty != Some(&TyExpr::Scalar(Scalar::String)) {
                    ps("cursor", format!("request.{}", p.cursor)).err("paging.cursor must name a string request field");
                }
                match &p.next {
                    Some(n) if field_ty(&ep.response, n) != Some(&TyExpr::Scalar(Scalar::String)) => {
                        ps("next", format!("response.{n}")).err("paging.next must name a string response field");
                    }
                    Some(_) => {}
                    None => s
                        .line(p.at.line)
                        .err("cursor paging needs `next` (the response's next cursor field)"),
                }
            }
            PagingStyle::Offset => {
                if !is_int(cursor_ty) {
                    ps("cursor", format!("request.{}", p.cursor))
                        .err("paging.cursor of offset paging must name an integer request field");
                }
                if !p.limit.as_deref().is_some_and(|l| is_int(field_ty(&ep.request, l))) {
                    s.line(p.at.key("limit"))
                        .err("offset paging needs `limit` naming an integer request field");
                }
            }
        }
        if !matches!(field_ty(&ep.response, &p.items), Some(TyExpr::List(_))) {
            ps("items", format!("response.{}", p.items)).err("paging.items must name a list response field");
        }
        if let Some(l) = &p.limit {
            if find_field(&ep.request, l).is_none() {
                ps("limit", format!("request.{l}")).err("paging.limit names no request field");
            }
        }
        for name in &p.partial {
            if find_field(&ep.response, name).is_none() {
                let known: Vec<&str> = ep.response.iter().map(|f| f.name.as_str()).collect();
                s.line(p.at.key("partial")).err(format!(
                    "paging.partial names `{name}`, which is not a response field; use one of: {}",
                    known.join(", ")
                ));
            }
        }
        if let Some(c) = &p.chunk {
            if !matches!(field_ty(&ep.request, &c.field), Some(TyExpr::List(_))) {
                s.field(format!("request.{}", c.field), c.at.key("field"))
                    .err("paging.chunk.field must name a list request field");
            }
            if c.max == 0 {
                s.line(c.at.key("max")).err("paging.chunk.max must be at least 1");
            }
        }
    }

    if let Some(ex) = &ep.example {
        for (which, json, fields) in [
            ("request", &ex.request, &ep.request),
            ("response", &ex.response, &ep.response),
        ] {
            let Some(json) = json else { continue };
            let s = s.field(format!("example.{which}"), ex.at.key(which));
            match serde_json::from_str::<Value>(json) {
                Ok(top @ Value::Object(_)) => {
                    let mut problems = Vec::new();
                    check_example_object(
                        index,
                        &top,
                        fields,
                        &format!("example.{which}"),
                        which == "response",
                        &mut problems,
                    );
                    for (path, m) in problems {
                        s.field(path, ex.at.key(which)).err(m);
                    }
                }
                Ok(_) => s.err("the example must be a JSON object"),
                Err(err) => s.err(format!("not valid JSON: {err}")),
            }
        }
    }
}

/// Last path segments that name a write: such an endpoint must not be marked `idempotent`.
const WRITE_WORDS: [&str; 14] = [
    "add", "del", "delete", "update", "edit", "create", "send", "remark", "mark", "transfer", "close", "cancel",
    "remind", "upload",
];

/// Whether an endpoint's last path segment names a read (`get…`, `list…`, `check…`, `…_list`, `…_result`).
fn read_named(last: &str) -> bool {
    ["get", "list", "check"].iter().any(|r| last.starts_with(r)) || last.ends_with("_list") || last.ends_with("_result")
}

/// The endpoint's retry facts: a read says whether it is `idempotent` (retried) or not; a write or an upload is
/// never `idempotent`; `max_concurrency` and `one_at_a_time_per` make sense.
fn check_retry_facts(s: &Scope<'_>, ep: &EndpointDef) {
    let at = &ep.at;
    let last = ep.path.rsplit('/').next().unwrap_or_default();
    let read = read_named(last);
    let write = !read
        && WRITE_WORDS
            .iter()
            .any(|w| last == *w || last.starts_with(&format!("{w}_")) || last.ends_with(&format!("_{w}")));
    if read && !at.keys.contains_key("idempotent") && ep.upload.is_none() {
        s.err(format!(
            "`{last}` names a read: add `idempotent: true` so the client retries it on errcode -1 and transport \
             failures (or `idempotent: false` when repeating it cannot succeed, e.g. it consumes a one-time code)"
        ));
    }
    if ep.idempotent && (write || ep.upload.is_some()) {
        s.line(at.key("idempotent")).err(format!(
            "`idempotent: true` on a write (`{last}`): writes are never retried; remove the key"
        ));
    }
    if ep.max_concurrency == Some(0) {
        s.line(at.key("max_concurrency"))
            .err("`max_concurrency` must be at least 1");
    }
    if let Some(name) = &ep.one_at_a_time_per {
        let scalar = |f: &&FieldDef| matches!(f.ty, TyExpr::Scalar(_));
        if !ep.request.iter().filter(scalar).any(|f| &f.name == name) {
            s.line(at.key("one_at_a_time_per")).err(format!(
                "`one_at_a_time_per: {name}` must name a scalar field of the request"
            ));
        }
    }
}

/// Each request rule names distinct, optional, top-level request fields (one field alone: it must not be empty).
fn check_rules(s: &Scope<'_>, ep: &EndpointDef) {
    for rule in &ep.rules {
        let s = s.line(rule.at.key("at_least_one_of"));
        let names = &rule.at_least_one_of;
        if names.is_empty() {
            s.err("`at_least_one_of` names no field; list the request fields of which one must be set");
        }
        for (i, name) in names.iter().enumerate() {
            if names[..i].contains(name) {
                s.err(format!("`at_least_one_of` names `{name}` twice; remove one"));
            }
            match ep.request.iter().find(|f| &f.name == name) {
                None => {
                    let known: Vec<&str> = ep.request.iter().map(|f| f.name.as_str()).collect();
                    s.err(format!(
                        "`at_least_one_of` names `{name}`, which is not a request field; use one of: {}",
                        known.join(", ")
                    ));
                }
                Some(f) if f.required => s.err(format!(
                    "`at_least_one_of` names `{name}`, which is required and always set; drop it from the rule"
                )),
                Some(_) => {}
            }
        }
    }
}

fn check_example_object(
    index: &Index<'_>,
    v: &Value,
    fields: &[FieldDef],
    path: &str,
    top_response: bool,
    out: &mut Vec<(String, String)>,
) {
    let Value::Object(map) = v else {
        out.push((path.to_string(), format!("expected an object, found {}", kind(v))));
        return;
    };
    for (k, val) in map {
        if top_response && (k == "errcode" || k == "errmsg") {
            continue;
        }
        match find_field(fields, k) {
            Some(f) => check_example_value(index, val, &f.ty, f, &format!("{path}.{k}"), out),
            None => out.push((
                format!("{path}.{k}"),
                "the example has a key that is not a declared field (it would be lost in a round trip)".into(),
            )),
        }
    }
    for f in fields {
        if f.required && !map.contains_key(&f.name) {
            out.push((
                format!("{path}.{}", f.name),
                "a required field is missing from the example".into(),
            ));
        }
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a bool",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn check_example_value(
    index: &Index<'_>,
    v: &Value,
    ty: &TyExpr,
    f: &FieldDef,
    path: &str,
    out: &mut Vec<(String, String)>,
) {
    let bad = |out: &mut Vec<(String, String)>, want: &str| {
        out.push((path.to_string(), format!("expected {want}, found {}", kind(v))))
    };
    match ty {
        TyExpr::Json => {}
        TyExpr::Scalar(s) => {
            let ok = match (s, v) {
                (Scalar::String, Value::String(_)) => true,
                (Scalar::String, Value::Number(_)) => f.flex,
                (Scalar::Bool, Value::Bool(_)) => true,
                (Scalar::Bool, Value::Number(n)) => f.flex && matches!(n.as_u64(), Some(0 | 1)),
                (Scalar::F64, Value::Number(_)) => true,
                (s, Value::Number(n)) if s.is_int() => s.fits(n),
                (s, Value::String(t)) if s.is_int() || *s == Scalar::F64 => f.flex && t.trim().parse::<f64>().is_ok(),
                _ => false,
            };
            if !ok {
                bad(out, s.spec_name());
            }
        }
        TyExpr::List(inner) => match v {
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    check_example_value(index, item, inner, f, &format!("{path}[{i}]"), out);
                }
            }
            _ => bad(out, "a list"),
        },
        TyExpr::Object => check_example_object(index, v, f.fields.as_deref().unwrap_or(&[]), path, false, out),
        TyExpr::Named(n) => {
            if let Some((_, def)) = index.types.get(n.as_str()) {
                check_example_object(index, v, &def.fields, path, false, out);
            } else if let Some((_, def)) = index.enums.get(n.as_str()) {
                let ok = match (def.repr, v) {
                    (EnumRepr::Int, Value::Number(n)) => n.as_i64().is_some(),
                    (EnumRepr::Int, Value::String(s)) => s.trim().parse::<i64>().is_ok(),
                    (EnumRepr::String, Value::String(_)) => true,
                    _ => false,
                };
                if !ok {
                    bad(
                        out,
                        if def.repr == EnumRepr::Int {
                            "an integer code"
                        } else {
                            "a string code"
                        },
                    );
                }
            }
        }
    }
}

fn check_events(index: &Index<'_>, errors: &Errors, files: &[Loaded]) {
    let mut variants: BTreeMap<&str, &str> = BTreeMap::new();
    let mut pairs: BTreeMap<(&str, &str), &str> = BTreeMap::new();
    for l in files {
        let file = errors.file(&l.source.file);
        for (name, def) in &l.spec.event_values {
            let s = file.item(Item::EventValue(name.clone()), def.at.line);
            if index.types.contains_key(name.as_str()) || index.enums.contains_key(name.as_str()) {
                s.err(format!("`{name}` is also a type or enum of the API models"));
            } else {
                check_enum(&s, name, def);
            }
            if def.repr != EnumRepr::String {
                s.line(def.at.key("repr"))
                    .err("event values are string codes (`repr: string`)");
            }
        }
        for ev in &l.spec.events {
            let s = file.item(Item::Event(ev.name.clone()), ev.at.line);
            if naming::camel(&ev.name) != ev.name || ev.name == "Unrecognized" {
                s.err("event names are UpperCamelCase and not `Unrecognized` (the catch-all)");
            }
            if let Some(prev) = variants.insert(&ev.name, &l.source.file) {
                s.err(format!("the event name is also used in {prev}"));
            }
            if let Some(prev) = pairs.insert((&ev.event, &ev.change_type), &ev.name) {
                s.err(format!(
                    "({}, {}) is already the event {prev}",
                    ev.event, ev.change_type
                ));
            }
            let mut seen = BTreeSet::new();
            let mut rust = BTreeSet::new();
            for f in &ev.fields {
                let fs = s.field(&f.name, f.at.line);
                if !seen.insert(f.name.as_str()) {
                    fs.err("the field appears twice");
                }
                if !rust.insert(naming::snake(&f.name).name) {
                    fs.err("two fields get the same Rust name");
                }
                match &f.ty {
                    EventTy::Values(n) if !index.event_values.contains(n.as_str()) => fs
                        .line(f.at.key("type"))
                        .err(format!("unknown event field type `{n}` ({})", types::EVENT_TYPES)),
                    EventTy::Items if f.required => fs
                        .line(f.at.key("required"))
                        .err("a list is never `required` (absent means empty)"),
                    _ => {}
                }
            }
            check_event_samples(&s, ev);
        }
    }
}

/// The header elements of each envelope, the element naming the event in it, and how to write one.
const ENVELOPES: [(&str, &[&str], &str); 2] = [
    ("app", &["ToUserName", "FromUserName", "CreateTime", "MsgType"], "Event"),
    ("suite", &["SuiteId", "TimeStamp"], "InfoType"),
];

/// An event's official samples: one per envelope it comes in (both, or the suite's alone for an event
/// without `ChangeType`), each well-formed XML in its envelope naming this event and carrying its required
/// fields; a pinned `expect` is JSON naming the event.
fn check_event_samples(s: &Scope<'_>, ev: &EventDef) {
    let wanted: &[&str] = if ev.change_type.is_empty() {
        &["suite"]
    } else {
        &["app", "suite"]
    };
    for envelope in wanted {
        if !ev.samples.iter().any(|x| x.envelope == *envelope) {
            s.line(ev.at.key("samples")).err(format!(
                "add an official `{envelope}` sample under `samples:` ({}), e.g. `- {{ envelope: {envelope}, xml: \"<xml>...</xml>\" }}`",
                if *envelope == "app" {
                    "the self-built app envelope: ToUserName, FromUserName, CreateTime, MsgType, Event"
                } else {
                    "the third-party envelope: SuiteId, InfoType, TimeStamp"
                }
            ));
        }
    }
    let mut seen = BTreeSet::new();
    for x in &ev.samples {
        let xs = s.field("samples", x.at.line);
        let Some((_, header, names_event)) = ENVELOPES.iter().find(|(e, _, _)| *e == x.envelope) else {
            xs.line(x.at.key("envelope"))
                .err(format!("envelope `{}`: write `app` or `suite`", x.envelope));
            continue;
        };
        if !wanted.contains(&x.envelope.as_str()) {
            xs.line(x.at.key("envelope"))
                .err("an event without `change_type` (a third-party 指令回调) comes in the `suite` envelope only");
        }
        if !x
            .variant
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            xs.line(x.at.key("variant"))
                .err("`variant` is lower-case words joined by `-` (e.g. `with-new-fields`)");
        }
        if !seen.insert((x.envelope.as_str(), x.variant.as_str())) {
            xs.err("a second sample of this envelope: give one a distinct `variant`");
        }
        let xml_at = xs.line(x.at.key("xml"));
        match top_level_elements(&x.xml) {
            Err(e) => xml_at.err(format!("not well-formed XML: {e}")),
            Ok(found) => {
                let text = |name: &str| found.iter().find(|(n, _)| n == name).map(|(_, t)| t.as_str());
                let mut missing: Vec<&str> = header.iter().copied().filter(|h| text(h).is_none()).collect();
                let required = ev.fields.iter().filter(|f| f.required).map(|f| f.name.as_str());
                missing.extend(required.filter(|f| text(f).is_none()));
                if !missing.is_empty() {
                    xml_at.err(format!("the sample lacks <{}>", missing.join(">, <")));
                }
                if text(names_event) != Some(ev.event.as_str()) {
                    xml_at.err(format!("the sample's <{names_event}> must be `{}`", ev.event));
                }
                if !ev.change_type.is_empty() && text("ChangeType") != Some(ev.change_type.as_str()) {
                    xml_at.err(format!("the sample's <ChangeType> must be `{}`", ev.change_type));
                }
            }
        }
        if let Some(expect) = &x.expect {
            let es = xs.line(x.at.key("expect"));
            match serde_json::from_str::<Value>(expect) {
                Ok(v) if v["kind"] == ev.name.as_str() && v["event"].is_object() => {}
                Ok(_) => es.err(format!(
                    "`expect` is the decoded JSON form: {{ \"kind\": \"{}\", \"event\": {{...}}, \"extra\": {{...}} }}",
                    ev.name
                )),
                Err(e) => es.err(format!("`expect` is not valid JSON: {e}")),
            }
        }
    }
}

/// The elements directly under the root `<xml>` of a callback, with their text (CDATA or plain); an error
/// for XML that is not well formed or whose root is not `<xml>`.
fn top_level_elements(xml: &str) -> Result<Vec<(String, String)>, String> {
    use quick_xml::events::Event as X;
    let mut reader = quick_xml::Reader::from_str(xml.strip_prefix('\u{feff}').unwrap_or(xml));
    let mut out: Vec<(String, String)> = Vec::new();
    let mut depth = 0usize;
    let mut root = false;
    loop {
        let at = reader.buffer_position();
        let event = reader.read_event().map_err(|e| format!("{e} (at byte {at})"))?;
        let name = |n: quick_xml::name::QName<'_>| String::from_utf8_lossy(n.as_ref()).into_owned();
        match event {
            X::Start(e) => {
                depth += 1;
                match depth {
                    1 if name(e.name()) == "xml" => root = true,
                    1 => return Err(format!("the root element is <{}>, not <xml>", name(e.name()))),
                    2 => out.push((name(e.name()), String::new())),
                    _ => {}
                }
            }
            X::Empty(e) if depth == 1 => out.push((name(e.name()), String::new())),
            X::End(_) => depth = depth.saturating_sub(1),
            X::Text(t) if depth == 2 => {
                let t = t.unescape().map_err(|e| e.to_string())?;
                if let Some(last) = out.last_mut() {
                    last.1.push_str(t.trim());
                }
            }
            X::CData(t) if depth == 2 => {
                if let Some(last) = out.last_mut() {
                    last.1.push_str(&String::from_utf8_lossy(&t));
                }
            }
            X::Eof if depth > 0 => return Err("an element is not closed".into()),
            X::Eof => break,
            _ => {}
        }
    }
    if !root {
        return Err("no <xml> root element".into());
    }
    Ok(out)
}

/// The errcodes: unique, uniquely named in snake_case, with both meanings, at most one class key, a real token
/// kind.
fn check_errcodes(files: &[Loaded], errors: &Errors) {
    let mut seen: BTreeMap<i64, &str> = BTreeMap::new();
    let mut names: BTreeMap<&str, i64> = BTreeMap::new();
    for l in files {
        let file = errors.file(&l.source.file);
        for e in &l.spec.errcodes {
            let s = file.item(Item::Errcode(e.code), e.line);
            if let Some(other) = seen.insert(e.code, &l.source.file) {
                s.err(format!("listed twice (also in {other})"));
            }
            let snake = e.name.starts_with(|c: char| c.is_ascii_lowercase())
                && e.name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
                && !e.name.contains("__")
                && !e.name.ends_with('_');
            if !snake {
                s.err(format!(
                    "`name: {}` must be snake_case (a-z, 0-9, single `_`, starting with a letter): it names the \
                     `errcode::ErrCode` variant",
                    e.name
                ));
            }
            if e.name == "unrecognized" {
                s.err("`name: unrecognized` is the catch-all `ErrCode::Unrecognized`: choose another name");
            }
            if let Some(other) = names.insert(&e.name, e.code) {
                s.err(format!(
                    "`name: {}` is also errcode {other}'s: names must be unique",
                    e.name
                ));
            }
            if e.zh.trim().is_empty() || e.en.trim().is_empty() {
                s.err("needs both `zh` (the official meaning) and `en` (a short gloss)");
            }
            let keys: Vec<&str> = [
                (e.retryable, "`retryable: true`"),
                (e.throttled.is_some(), "`throttled`"),
                (e.token.is_some(), "`token`"),
            ]
            .iter()
            .filter(|(set, _)| *set)
            .map(|(_, key)| *key)
            .collect();
            if keys.len() > 1 {
                s.err(format!(
                    "{} each give the code a class: keep one (`token` for a refused token, `throttled` for a \
                     rate limit, `retryable: true` for a passing failure; none for fatal)",
                    keys.join(" and ")
                ));
            }
            if e.token == Some(TokenKind::None) {
                s.err("`token: none` names no token: write the kind the code refuses (access, suite or provider)");
            }
        }
    }
}

/// Checks one budget: both counts at least 1, and an hour holds at least a minute's calls.
fn check_budget(b: &BudgetDef, what: &str, s: &Scope<'_>) {
    for (key, n) in [("per_minute", b.per_minute), ("per_hour", b.per_hour)] {
        if n == 0 && b.at.keys.contains_key(key) {
            s.line(b.at.key(key)).err(format!(
                "{what}: `{key}` must be at least 1 (leave the budget out if WeCom sets none)"
            ));
        }
    }
    if b.per_minute > 0 && b.per_hour > 0 && b.per_hour < b.per_minute {
        s.line(b.at.key("per_hour")).err(format!(
            "{what}: `per_hour: {}` is less than `per_minute: {}`; an hour holds at least a minute's calls",
            b.per_hour, b.per_minute
        ));
    }
}

/// The `limits` block (at most one in the whole spec, with all three budgets) and every endpoint's
/// `rate_limit` (only stricter than the per-corp default, and only with a complete `limits` block to be
/// stricter than).
fn check_limits(files: &[Loaded], errors: &Errors) {
    let mut first: Option<&str> = None;
    for l in files {
        let file = errors.file(&l.source.file);
        let Some(limits) = &l.spec.limits else { continue };
        let s = file.item(Item::Limits, l.spec.at.key("limits"));
        if let Some(other) = first {
            s.err(format!(
                "`limits` is set in {other} already; WeCom's limits are stated once"
            ));
        }
        first.get_or_insert(&l.source.file);
        for (key, b) in [
            ("per_corp", &limits.per_corp),
            ("per_ip", &limits.per_ip),
            ("per_provider_ip", &limits.per_provider_ip),
        ] {
            match b {
                Some(b) => check_budget(b, &format!("`{key}`"), &s),
                None => s.err(format!(
                    "missing `{key}: {{ per_minute: N, per_hour: M }}` (WeCom's documented limit, doc 90454)"
                )),
            }
        }
    }
    // The per-corp default: the first `limits` block's, when it states all three budgets.
    let default = files.iter().find_map(|l| l.spec.limits.as_ref()).and_then(|l| {
        l.per_ip.as_ref()?;
        l.per_provider_ip.as_ref()?;
        l.per_corp.as_ref()
    });
    for l in files {
        let file = errors.file(&l.source.file);
        for ep in &l.spec.endpoints {
            let Some(b) = &ep.rate_limit else { continue };
            let s = file.item(Item::Endpoint(ep.path.clone()), ep.at.key("rate_limit"));
            check_budget(b, "`rate_limit`", &s);
            match default {
                None => s.err("`rate_limit` needs the spec's `limits` block (spec/limits.yaml) to be stricter than"),
                Some(d) if b.per_minute > d.per_minute || b.per_hour > d.per_hour => s.err(format!(
                    "`rate_limit` ({}/min, {}/h) must be stricter than the per-corp default ({}/min, {}/h): \
                     set it only where WeCom documents a lower limit for this endpoint",
                    b.per_minute, b.per_hour, d.per_minute, d.per_hour
                )),
                Some(_) => {}
            }
        }
    }
}

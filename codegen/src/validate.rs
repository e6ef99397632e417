//! Stage 2: the spec checked as a whole. Every mistake names the file, the endpoint (or type, enum) and the
//! field, with the YAML line where it can be found. All mistakes are collected, not just the first.

use crate::error::{SpecError, SpecErrors};
use crate::load::{find_line, Loaded};
use crate::naming;
use crate::spec::{EndpointDef, EnumDef, EnumRepr, FieldDef, TypeDef};
use crate::types::{self, Scalar, TyExpr};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// Named types and enums of the whole spec, by name.
pub struct Index<'a> {
    /// Named object types: name → (file, def).
    pub types: BTreeMap<&'a str, (&'a str, &'a TypeDef)>,
    /// Enums: name → (file, def).
    pub enums: BTreeMap<&'a str, (&'a str, &'a EnumDef)>,
}

struct Ctx<'a> {
    index: Index<'a>,
    errors: Vec<SpecError>,
}

impl<'a> Ctx<'a> {
    fn err(&mut self, file: &str, text: &str, item: &str, field: Option<&str>, line_hint: &str, message: String) {
        let mut e = match field {
            Some(f) => SpecError::field(file, item, f, message),
            None => SpecError::item(file, item, message),
        };
        e.line = find_line(text, line_hint);
        self.errors.push(e);
    }
}

impl Ctx<'_> {
    /// Checks a newly declared type or enum name: UpperCamelCase, and not declared before.
    fn declare(&mut self, file: &str, text: &str, kind: &str, name: &str, previous: Option<&str>) {
        let (item, hint) = (format!("{kind} {name}"), format!("{name}:"));
        if naming::camel(name) != name {
            let msg = format!("{kind} names are UpperCamelCase (`{}`)", naming::camel(name));
            self.err(file, text, &item, None, &hint, msg);
        }
        if let Some(other) = previous {
            self.err(
                file,
                text,
                &item,
                None,
                &hint,
                format!("{kind} `{name}` is also defined in {other}"),
            );
        }
    }
}

/// Checks everything; returns the index of named items when the spec is sound.
pub fn validate(files: &[Loaded]) -> Result<Index<'_>, SpecErrors> {
    let mut ctx = Ctx {
        index: Index {
            types: BTreeMap::new(),
            enums: BTreeMap::new(),
        },
        errors: Vec::new(),
    };

    // Names, files and groups.
    for l in files {
        let (file, text) = (l.source.file.as_str(), l.source.text.as_str());
        if l.spec.group != l.source.stem {
            let mut e = SpecError::file(
                file,
                format!("group `{}` must equal the file name `{}`", l.spec.group, l.source.stem),
            );
            e.line = find_line(text, "group:");
            ctx.errors.push(e);
        }
        for (name, def) in &l.spec.types {
            let previous = ctx.index.types.insert(name, (file, def)).map(|(f, _)| f);
            ctx.declare(file, text, "type", name, previous);
        }
        for (name, def) in &l.spec.enums {
            let previous = ctx.index.enums.insert(name, (file, def)).map(|(f, _)| f);
            ctx.declare(file, text, "enum", name, previous);
            if ctx.index.types.contains_key(name.as_str()) {
                ctx.err(
                    file,
                    text,
                    &format!("enum {name}"),
                    None,
                    &format!("{name}:"),
                    format!("`{name}` is both a type and an enum"),
                );
            }
        }
    }
    // A type defined in a later file than an enum of the same name.
    let clashes: Vec<_> = ctx
        .index
        .types
        .keys()
        .filter(|k| ctx.index.enums.contains_key(*k))
        .map(|k| k.to_string())
        .collect();
    for name in clashes {
        let (file, _) = ctx.index.types[name.as_str()];
        if !ctx.errors.iter().any(|e| e.message.contains("both a type and an enum")) {
            ctx.errors.push(SpecError::item(
                file,
                format!("type {name}"),
                format!("`{name}` is both a type and an enum"),
            ));
        }
    }

    // Enums.
    for l in files {
        let (file, text) = (l.source.file.as_str(), l.source.text.as_str());
        for (name, def) in &l.spec.enums {
            check_enum(&mut ctx, file, text, name, def);
        }
    }

    // Types.
    for l in files {
        let (file, text) = (l.source.file.as_str(), l.source.text.as_str());
        for (name, def) in &l.spec.types {
            check_fields(&mut ctx, file, text, &format!("type {name}"), "", &def.fields, false);
        }
    }

    // Endpoints.
    let mut paths: BTreeMap<String, String> = BTreeMap::new();
    let mut methods: BTreeMap<String, String> = BTreeMap::new();
    for l in files {
        let (file, text) = (l.source.file.as_str(), l.source.text.as_str());
        for ep in &l.spec.endpoints {
            let item = format!("endpoint {}", if ep.path.is_empty() { "<no path>" } else { &ep.path });
            if let Some(other) = paths.insert(ep.path.clone(), file.to_string()) {
                ctx.err(
                    file,
                    text,
                    &item,
                    None,
                    &format!("path: {}", ep.path),
                    format!("path is also defined in {other}"),
                );
            }
            let mname = ep.name.clone().unwrap_or_else(|| naming::method_name(&ep.path));
            if let Some(other) = methods.insert(mname.clone(), ep.path.clone()) {
                if other != ep.path {
                    ctx.err(
                        file,
                        text,
                        &item,
                        None,
                        &format!("path: {}", ep.path),
                        format!("method name `{mname}` is also the name of {other}; set `name:` on one of them"),
                    );
                }
            }
            check_endpoint(&mut ctx, file, text, &item, ep);
        }
    }

    check_events(&mut ctx, files);

    if ctx.errors.is_empty() {
        Ok(ctx.index)
    } else {
        Err(SpecErrors(ctx.errors))
    }
}

fn check_enum(ctx: &mut Ctx<'_>, file: &str, text: &str, name: &str, def: &EnumDef) {
    let item = format!("enum {name}");
    if def.values.is_empty() {
        ctx.err(
            file,
            text,
            &item,
            None,
            &format!("{name}:"),
            "an enum needs at least one value".into(),
        );
    }
    let mut codes = BTreeSet::new();
    let mut variants = BTreeSet::new();
    for v in &def.values {
        let code = match (&v.value, def.repr) {
            (serde_yaml::Value::Number(n), EnumRepr::Int) if n.as_i64().is_some() => n.to_string(),
            (serde_yaml::Value::String(s), EnumRepr::String) => s.clone(),
            (other, repr) => {
                ctx.err(
                    file,
                    text,
                    &item,
                    Some(&v.name),
                    &format!("{name}:"),
                    format!("value {other:?} does not fit repr {repr:?}"),
                );
                continue;
            }
        };
        if !codes.insert(code.clone()) {
            ctx.err(
                file,
                text,
                &item,
                Some(&v.name),
                &format!("{name}:"),
                format!("value {code} appears twice"),
            );
        }
        let variant = naming::camel(&v.name);
        if variant == naming::CATCH_ALL {
            ctx.err(
                file,
                text,
                &item,
                Some(&v.name),
                &format!("{name}:"),
                format!("`{}` is reserved for values the crate does not know", v.name),
            );
        }
        if !variants.insert(variant.clone()) {
            ctx.err(
                file,
                text,
                &item,
                Some(&v.name),
                &format!("{name}:"),
                format!("two values are named `{variant}`"),
            );
        }
    }
}

fn check_fields(
    ctx: &mut Ctx<'_>,
    file: &str,
    text: &str,
    item: &str,
    prefix: &str,
    fields: &[FieldDef],
    get_query: bool,
) {
    let mut wire = BTreeSet::new();
    let mut rust = BTreeMap::new();
    for f in fields {
        let fpath = format!("{prefix}{}", f.name);
        let line_hint = format!("{{ name: {}", f.name);
        let line_hint = if find_line(text, &line_hint).is_some() {
            line_hint
        } else {
            format!("name: {}", f.name)
        };
        if f.name.is_empty() {
            ctx.err(
                file,
                text,
                item,
                Some(&fpath),
                &line_hint,
                "a field needs a name".into(),
            );
            continue;
        }
        if !wire.insert(f.name.clone()) {
            ctx.err(
                file,
                text,
                item,
                Some(&fpath),
                &line_hint,
                "the field appears twice".into(),
            );
        }
        let r = naming::snake(&f.name).name;
        if let Some(other) = rust.insert(r.clone(), f.name.clone()) {
            if other != f.name {
                ctx.err(
                    file,
                    text,
                    item,
                    Some(&fpath),
                    &line_hint,
                    format!("its Rust name `{r}` is also the Rust name of field `{other}`"),
                );
            }
        }
        if r == "new" {
            ctx.err(
                file,
                text,
                item,
                Some(&fpath),
                &line_hint,
                "a field named `new` would clash with the constructor".into(),
            );
        }
        let ty = match types::parse(&f.ty) {
            Ok(t) => t,
            Err(m) => {
                ctx.err(file, text, item, Some(&fpath), &line_hint, m);
                continue;
            }
        };
        let inner = ty.innermost().clone();
        match &inner {
            TyExpr::Named(n)
                if !ctx.index.types.contains_key(n.as_str()) && !ctx.index.enums.contains_key(n.as_str()) =>
            {
                ctx.err(
                    file,
                    text,
                    item,
                    Some(&fpath),
                    &line_hint,
                    format!("unknown type `{n}`"),
                );
            }
            TyExpr::Object => match &f.fields {
                Some(sub) => {
                    if sub.is_empty() {
                        ctx.err(
                            file,
                            text,
                            item,
                            Some(&fpath),
                            &line_hint,
                            "an inline object needs at least one field (use `json` for an opaque object)".into(),
                        );
                    }
                    check_fields(ctx, file, text, item, &format!("{fpath}."), sub, false);
                }
                None => ctx.err(
                    file,
                    text,
                    item,
                    Some(&fpath),
                    &line_hint,
                    "type `object` needs `fields`".into(),
                ),
            },
            _ => {}
        }
        if f.fields.is_some() && inner != TyExpr::Object {
            ctx.err(
                file,
                text,
                item,
                Some(&fpath),
                &line_hint,
                "`fields` is only for `object` or `[object]`".into(),
            );
        }
        if f.type_name.is_some() && inner != TyExpr::Object {
            ctx.err(
                file,
                text,
                item,
                Some(&fpath),
                &line_hint,
                "`type_name` is only for `object` or `[object]`".into(),
            );
        }
        if let Some(tn) = &f.type_name {
            if naming::camel(tn) != *tn {
                ctx.err(
                    file,
                    text,
                    item,
                    Some(&fpath),
                    &line_hint,
                    format!("type_name must be UpperCamelCase (`{}`)", naming::camel(tn)),
                );
            }
        }
        let flex_ok = match &ty {
            TyExpr::Scalar(_) => true,
            TyExpr::Named(n) => ctx.index.enums.contains_key(n.as_str()),
            _ => false,
        };
        if f.flex && !flex_ok {
            ctx.err(
                file,
                text,
                item,
                Some(&fpath),
                &line_hint,
                "`flex` applies to scalar and enum fields only".into(),
            );
        }
        if get_query {
            let ok = match &ty {
                TyExpr::Scalar(_) => true,
                TyExpr::Named(n) => ctx.index.enums.contains_key(n.as_str()),
                _ => false,
            };
            if !ok {
                ctx.err(
                    file,
                    text,
                    item,
                    Some(&fpath),
                    &line_hint,
                    "GET request fields are query parameters and must be scalars or enums".into(),
                );
            }
        }
    }
}

fn find_field<'f>(fields: &'f [FieldDef], name: &str) -> Option<&'f FieldDef> {
    fields.iter().find(|f| f.name == name)
}

fn check_endpoint(ctx: &mut Ctx<'_>, file: &str, text: &str, item: &str, ep: &EndpointDef) {
    let hint = format!("path: {}", ep.path);
    let e = |ctx: &mut Ctx<'_>, field: Option<&str>, m: String| ctx.err(file, text, item, field, &hint, m);
    if ep.path.is_empty() {
        e(ctx, None, "missing `path`".into());
    } else if ep.path.starts_with('/')
        || !ep
            .path
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '/')
    {
        e(
            ctx,
            None,
            "path is written under /cgi-bin/ without a leading slash, in lower case (e.g. externalcontact/get)".into(),
        );
    }
    let is_get = match ep.method.as_str() {
        "GET" => true,
        "POST" => false,
        "" => {
            e(ctx, None, "missing `method` (GET or POST)".into());
            false
        }
        m => {
            e(ctx, None, format!("method `{m}` is not GET or POST"));
            false
        }
    };
    if ep.name_zh.trim().is_empty() {
        e(ctx, None, "missing `name_zh` (the official Chinese name)".into());
    }
    if ep.summary.trim().is_empty() {
        e(ctx, None, "missing `summary`".into());
    }
    if let Some(id) = &ep.doc_id {
        let ok = match id {
            serde_yaml::Value::Number(n) => n.as_u64().is_some(),
            serde_yaml::Value::String(s) => !s.is_empty() && s.chars().all(|c| c.is_ascii_digit()),
            _ => false,
        };
        if !ok {
            e(ctx, None, format!("doc_id {id:?} is not a number"));
        }
    }
    if let Some(n) = &ep.name {
        if naming::snake(n).name != *n {
            e(ctx, None, format!("name `{n}` must be snake_case"));
        }
    }
    match ep.token.as_deref() {
        None | Some("access") | Some("suite") | Some("provider") | Some("none") => {}
        Some(t) => e(
            ctx,
            None,
            format!("token `{t}` is not one of access, suite, provider, none"),
        ),
    }
    if ep.upload.is_some() && is_get {
        e(ctx, None, "an upload is a POST".into());
    }
    check_fields(
        ctx,
        file,
        text,
        item,
        "request.",
        &ep.request,
        is_get || ep.upload.is_some(),
    );
    check_fields(ctx, file, text, item, "response.", &ep.response, false);

    if let Some(p) = &ep.paging {
        let req_ty = find_field(&ep.request, &p.cursor).map(|f| types::parse(&f.ty));
        match p.style.as_str() {
            "cursor" => {
                if !matches!(req_ty, Some(Ok(TyExpr::Scalar(Scalar::String)))) {
                    e(
                        ctx,
                        Some(&format!("request.{}", p.cursor)),
                        "paging.cursor must name a string request field".into(),
                    );
                }
                match &p.next {
                    Some(n) => {
                        if !matches!(
                            find_field(&ep.response, n).map(|f| types::parse(&f.ty)),
                            Some(Ok(TyExpr::Scalar(Scalar::String)))
                        ) {
                            e(
                                ctx,
                                Some(&format!("response.{n}")),
                                "paging.next must name a string response field".into(),
                            );
                        }
                    }
                    None => e(
                        ctx,
                        None,
                        "cursor paging needs `next` (the response's next cursor field)".into(),
                    ),
                }
            }
            "offset" => {
                if !matches!(req_ty, Some(Ok(TyExpr::Scalar(s))) if s.is_int()) {
                    e(
                        ctx,
                        Some(&format!("request.{}", p.cursor)),
                        "paging.cursor of offset paging must name an integer request field".into(),
                    );
                }
                match &p.limit {
                    Some(l) if matches!(find_field(&ep.request, l).map(|f| types::parse(&f.ty)), Some(Ok(TyExpr::Scalar(s))) if s.is_int()) =>
                        {}
                    _ => e(
                        ctx,
                        None,
                        "offset paging needs `limit` naming an integer request field".into(),
                    ),
                }
            }
            s => e(ctx, None, format!("paging.style `{s}` is not cursor or offset")),
        }
        if !matches!(
            find_field(&ep.response, &p.items).map(|f| types::parse(&f.ty)),
            Some(Ok(TyExpr::List(_)))
        ) {
            e(
                ctx,
                Some(&format!("response.{}", p.items)),
                "paging.items must name a list response field".into(),
            );
        }
        if let Some(l) = &p.limit {
            if find_field(&ep.request, l).is_none() {
                e(
                    ctx,
                    Some(&format!("request.{l}")),
                    "paging.limit names no request field".into(),
                );
            }
        }
        if let Some(c) = &p.chunk {
            if !matches!(
                find_field(&ep.request, &c.field).map(|f| types::parse(&f.ty)),
                Some(Ok(TyExpr::List(_)))
            ) {
                e(
                    ctx,
                    Some(&format!("request.{}", c.field)),
                    "paging.chunk.field must name a list request field".into(),
                );
            }
            if c.max == 0 {
                e(ctx, None, "paging.chunk.max must be at least 1".into());
            }
        }
    }

    if let Some(ex) = &ep.example {
        for (which, json, fields) in [
            ("request", &ex.request, &ep.request),
            ("response", &ex.response, &ep.response),
        ] {
            let Some(json) = json else { continue };
            match serde_json::from_str::<Value>(json) {
                Ok(Value::Object(map)) => {
                    let mut problems = Vec::new();
                    let top = Value::Object(map);
                    check_example_object(
                        ctx,
                        &top,
                        fields,
                        &format!("example.{which}"),
                        which == "response",
                        &mut problems,
                    );
                    for (path, m) in problems {
                        e(ctx, Some(&path), m);
                    }
                }
                Ok(_) => e(
                    ctx,
                    Some(&format!("example.{which}")),
                    "the example must be a JSON object".into(),
                ),
                Err(err) => e(ctx, Some(&format!("example.{which}")), format!("not valid JSON: {err}")),
            }
        }
    }
}

fn check_example_object(
    ctx: &Ctx<'_>,
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
            Some(f) => {
                let Ok(ty) = types::parse(&f.ty) else { continue };
                check_example_value(ctx, val, &ty, f, &format!("{path}.{k}"), out);
            }
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
    ctx: &Ctx<'_>,
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
                    check_example_value(ctx, item, inner, f, &format!("{path}[{i}]"), out);
                }
            }
            _ => bad(out, "a list"),
        },
        TyExpr::Object => check_example_object(ctx, v, f.fields.as_deref().unwrap_or(&[]), path, false, out),
        TyExpr::Named(n) => {
            if let Some((_, def)) = ctx.index.types.get(n.as_str()) {
                check_example_object(ctx, v, &def.fields, path, false, out);
            } else if let Some((_, def)) = ctx.index.enums.get(n.as_str()) {
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

/// The event field type a spec string names, if it is one.
pub fn event_type(ty: &str, values: &BTreeSet<&str>) -> Option<crate::model::EventTy> {
    use crate::model::EventTy;
    Some(match ty.trim() {
        "string" => EventTy::String,
        "secret" => EventTy::Secret,
        "u64" => EventTy::U64,
        "i64" => EventTy::I64,
        "[string]" => EventTy::Items,
        n if values.contains(n) => EventTy::Values(n.to_string()),
        _ => return None,
    })
}

fn check_events(ctx: &mut Ctx<'_>, files: &[Loaded]) {
    let values: BTreeSet<&str> = files
        .iter()
        .flat_map(|l| l.spec.event_values.keys().map(String::as_str))
        .collect();
    let mut variants: BTreeMap<String, String> = BTreeMap::new();
    let mut pairs: BTreeMap<(String, String), String> = BTreeMap::new();
    for l in files {
        let (file, text) = (l.source.file.as_str(), l.source.text.as_str());
        for (name, def) in &l.spec.event_values {
            if !ctx.index.types.contains_key(name.as_str()) && !ctx.index.enums.contains_key(name.as_str()) {
                check_enum(ctx, file, text, name, def);
            } else {
                ctx.err(
                    file,
                    text,
                    &format!("event value {name}"),
                    None,
                    &format!("{name}:"),
                    format!("`{name}` is also a type or enum of the API models"),
                );
            }
            if def.repr != EnumRepr::String {
                ctx.err(
                    file,
                    text,
                    &format!("event value {name}"),
                    None,
                    &format!("{name}:"),
                    "event values are string codes (`repr: string`)".into(),
                );
            }
        }
        for ev in &l.spec.events {
            let item = format!("event {}", ev.name);
            let hint = format!("name: {}", ev.name);
            if naming::camel(&ev.name) != ev.name || ev.name == "Unknown" {
                ctx.err(
                    file,
                    text,
                    &item,
                    None,
                    &hint,
                    "event names are UpperCamelCase and not `Unknown` (the catch-all)".into(),
                );
            }
            if let Some(prev) = variants.insert(ev.name.clone(), file.to_string()) {
                ctx.err(
                    file,
                    text,
                    &item,
                    None,
                    &hint,
                    format!("the event name is also used in {prev}"),
                );
            }
            if ev.event.is_empty() {
                ctx.err(
                    file,
                    text,
                    &item,
                    None,
                    &hint,
                    "an event needs `event` (and `change_type` when it has one)".into(),
                );
            }
            if let Some(prev) = pairs.insert((ev.event.clone(), ev.change_type.clone()), ev.name.clone()) {
                ctx.err(
                    file,
                    text,
                    &item,
                    None,
                    &hint,
                    format!("({}, {}) is already the event {prev}", ev.event, ev.change_type),
                );
            }
            let mut seen = BTreeSet::new();
            let mut rust = BTreeSet::new();
            for f in &ev.fields {
                let fhint = format!("{{ name: {}", f.name);
                if !seen.insert(f.name.clone()) {
                    ctx.err(
                        file,
                        text,
                        &item,
                        Some(&f.name),
                        &fhint,
                        "the field appears twice".into(),
                    );
                }
                if !rust.insert(naming::snake(&f.name).name) {
                    ctx.err(
                        file,
                        text,
                        &item,
                        Some(&f.name),
                        &fhint,
                        "two fields get the same Rust name".into(),
                    );
                }
                match event_type(&f.ty, &values) {
                    None => ctx.err(
                        file,
                        text,
                        &item,
                        Some(&f.name),
                        &fhint,
                        format!(
                            "unknown event field type `{}` (string, secret, u64, i64, [string], or an event_values name)",
                            f.ty
                        ),
                    ),
                    Some(crate::model::EventTy::Items) if f.required => ctx.err(
                        file,
                        text,
                        &item,
                        Some(&f.name),
                        &fhint,
                        "a list is never `required` (absent means empty)".into(),
                    ),
                    _ => {}
                }
            }
        }
    }
}

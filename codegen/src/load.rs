//! Stage 1: YAML text into spec structs, key by key, with the line of every item and key ([`crate::locate`]).
//! `parse` is pure; `read_dir` is the only I/O of the generator.

use crate::error::{Errors, Item, Scope, SpecError, SpecErrors};
use crate::locate::{Locator, Span};
use crate::spec::{
    At, BudgetDef, ChunkDef, EndpointDef, EnumDef, EnumValue, EventDef, EventFieldDef, EventSampleDef, ExampleDef,
    FieldDef, LimitsDef, PagingDef, RuleDef, SpecFile, TypeDef,
};
use crate::types::{self, EventTy, TyExpr};
use serde::de::DeserializeOwned;
use serde_yaml::{Mapping, Value};
use std::collections::BTreeMap;
use std::path::Path;

/// One spec file with its display name and text (kept so later stages can point at lines).
#[derive(Debug, Clone)]
pub struct Source {
    /// Display name, e.g. `spec/tag.yaml`.
    pub file: String,
    /// The file stem, which must equal the `group` key.
    pub stem: String,
    /// The YAML text.
    pub text: String,
}

/// A parsed spec file together with its source.
#[derive(Debug, Clone)]
pub(crate) struct Loaded {
    /// Where it came from.
    pub source: Source,
    /// What it says.
    pub spec: SpecFile,
}

/// Reads every `*.yaml` file of `dir`, sorted by name. `display_prefix` is put before file names in messages.
pub fn read_dir(dir: &Path, display_prefix: &str) -> Result<Vec<Source>, SpecErrors> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        SpecErrors(vec![SpecError::file(
            &dir.display().to_string(),
            format!("cannot read the spec folder: {e}"),
        )])
    })?;
    let mut paths: Vec<_> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    paths.sort();
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for p in paths {
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let file = format!("{display_prefix}{name}");
        let stem = p
            .file_stem()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        match std::fs::read_to_string(&p) {
            Ok(text) => out.push(Source { file, stem, text }),
            Err(e) => errors.push(SpecError::file(&file, format!("cannot read: {e}"))),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(SpecErrors(errors))
    }
}

/// Parses one source, key by key: every unknown key, missing key, bad value and bad type expression is
/// reported at its own line (inside its own item), and a file with mistakes is still read as far as it can
/// be, so later checks run on the rest. A key that fails to decode is reported and left at its default;
/// [`crate::model_from_sources`] never lowers a spec that has errors. (A YAML syntax error is the one error
/// of its file: the text cannot be read past it.)
pub(crate) fn parse(source: Source, errors: &Errors) -> Option<Loaded> {
    let scope = errors.file(&source.file);
    let value = match serde_yaml::from_str::<Value>(&source.text) {
        Ok(v) => v,
        Err(e) => {
            let line = e.location().map_or(1, |l| l.line());
            scope.line(line).err(e.to_string());
            return None;
        }
    };
    if value.is_null() {
        scope
            .line(1)
            .err("the file is empty: a spec file needs at least `group:`");
        return None;
    }
    let spec = {
        let loc = Locator::new(&source.text);
        let root = loc.root();
        let scope = scope.line(root.line());
        let mut r = Reader::new(&loc, root, &value, scope.clone(), "a spec file");
        let group: String = r.req("group");
        let doc = r.or_default("doc");
        let gated = r.opt("gated").unwrap_or(true);
        let types = r.map("types", |name, v, span| {
            let s = scope.item(Item::Type(name.to_string()), span.line());
            let mut r = Reader::new(&loc, span, v, s.clone(), "a type");
            let doc = r.or_default("doc");
            let fields = r.list("fields", |v, span| field_def(&loc, v, span, &s, ""));
            TypeDef {
                doc,
                fields,
                at: r.finish(),
            }
        });
        let enums = r.map("enums", |name, v, span| {
            enum_def(&loc, v, span, &scope.item(Item::Enum(name.to_string()), span.line()))
        });
        let endpoints = r.list("endpoints", |v, span| Some(endpoint_def(&loc, v, span, &scope)));
        let event_values = r.map("event_values", |name, v, span| {
            enum_def(
                &loc,
                v,
                span,
                &scope.item(Item::EventValue(name.to_string()), span.line()),
            )
        });
        let events = r.list("events", |v, span| Some(event_def(&loc, v, span, &scope)));
        let errcodes = r.list("errcodes", |v, span| {
            let s = scope.item(Item::Errcodes, span.line());
            let mut e: crate::spec::ErrcodeDef = Reader::decode("errcodes", v, &s)?;
            e.line = span.line();
            Some(e)
        });
        let limits = r.get("limits").map(|(v, span, scope)| {
            let mut r = Reader::new(&loc, span, v, scope, "`limits`");
            let per_corp = budget_def(&loc, &mut r, "per_corp");
            let per_ip = budget_def(&loc, &mut r, "per_ip");
            let per_provider_ip = budget_def(&loc, &mut r, "per_provider_ip");
            r.finish(); // reports unknown keys; the block's line is the file's `limits` key
            LimitsDef {
                per_corp,
                per_ip,
                per_provider_ip,
            }
        });
        SpecFile {
            limits,
            group,
            doc,
            gated,
            types,
            enums,
            endpoints,
            event_values,
            events,
            errcodes,
            at: r.finish(),
        }
    };
    Some(Loaded { source, spec })
}

/// Parses all sources, collecting every error (the sources that parse at all are returned).
pub(crate) fn parse_all(sources: Vec<Source>, errors: &Errors) -> Vec<Loaded> {
    sources.into_iter().filter_map(|s| parse(s, errors)).collect()
}

/// Decodes one YAML mapping key by key, remembering each key's line and reporting what does not fit.
struct Reader<'a> {
    loc: &'a Locator<'a>,
    span: Span,
    map: Option<&'a Mapping>,
    scope: Scope<'a>,
    known: Vec<&'static str>,
    at: At,
}

impl<'a> Reader<'a> {
    fn new(loc: &'a Locator<'a>, span: Span, value: &'a Value, scope: Scope<'a>, what: &str) -> Self {
        let map = match value {
            Value::Mapping(m) => Some(m),
            Value::Null => None,
            other => {
                scope.err(format!("{what} is a mapping of keys, found {}", yaml_kind(other)));
                None
            }
        };
        let at = At {
            line: span.line(),
            keys: Default::default(),
        };
        Reader {
            loc,
            span,
            map,
            scope,
            known: Vec::new(),
            at,
        }
    }

    /// The value of `key` and its place, if present.
    fn get(&mut self, key: &'static str) -> Option<(&'a Value, Span, Scope<'a>)> {
        self.known.push(key);
        let v = self.map?.get(key)?;
        let span = self.loc.key(self.span, key);
        self.at.keys.insert(key.to_string(), span.line());
        Some((v, span, self.scope.line(span.line())))
    }

    fn decode<T: DeserializeOwned>(key: &str, v: &Value, scope: &Scope<'_>) -> Option<T> {
        match serde_yaml::from_value(v.clone()) {
            Ok(t) => Some(t),
            Err(e) => {
                scope.err(format!("`{key}`: {e}"));
                None
            }
        }
    }

    /// An optional key.
    fn opt<T: DeserializeOwned>(&mut self, key: &'static str) -> Option<T> {
        let (v, _, scope) = self.get(key)?;
        if v.is_null() {
            return None;
        }
        Self::decode(key, v, &scope)
    }

    /// An optional key with a default.
    fn or_default<T: DeserializeOwned + Default>(&mut self, key: &'static str) -> T {
        self.opt(key).unwrap_or_default()
    }

    /// A key that must be present.
    fn req<T: DeserializeOwned + Default>(&mut self, key: &'static str) -> T {
        match self.get(key) {
            None => {
                if self.map.is_some() {
                    self.scope.err(format!("missing `{key}`"));
                }
                T::default()
            }
            Some((v, _, scope)) => Self::decode(key, v, &scope).unwrap_or_default(),
        }
    }

    /// A list of items, each decoded by `item` (which reports its own mistakes and may drop the item).
    fn list<T>(&mut self, key: &'static str, mut item: impl FnMut(&'a Value, Span) -> Option<T>) -> Vec<T> {
        let Some((v, span, scope)) = self.get(key) else {
            return Vec::new();
        };
        match v {
            Value::Null => Vec::new(),
            Value::Sequence(items) => items
                .iter()
                .enumerate()
                .filter_map(|(i, v)| item(v, self.loc.item(span, i)))
                .collect(),
            other => {
                scope.err(format!("`{key}` is a list, found {}", yaml_kind(other)));
                Vec::new()
            }
        }
    }

    /// A mapping of names to items, each decoded by `item`.
    fn map<T>(&mut self, key: &'static str, mut item: impl FnMut(&str, &'a Value, Span) -> T) -> BTreeMap<String, T> {
        let Some((v, span, scope)) = self.get(key) else {
            return BTreeMap::new();
        };
        match v {
            Value::Null => BTreeMap::new(),
            Value::Mapping(m) => {
                let mut out = BTreeMap::new();
                for (k, v) in m {
                    match k.as_str() {
                        Some(name) => {
                            let s = self.loc.key(span, name);
                            out.insert(name.to_string(), item(name, v, s));
                        }
                        None => scope.err(format!("`{key}`: names are strings, found {}", yaml_kind(k))),
                    }
                }
                out
            }
            other => {
                scope.err(format!("`{key}` is a mapping of names, found {}", yaml_kind(other)));
                BTreeMap::new()
            }
        }
    }

    /// Reports every key that is not one of those read, and returns the lines.
    fn finish(self) -> At {
        if let Some(map) = self.map {
            for k in map.keys() {
                match k.as_str() {
                    Some(k) if self.known.contains(&k) => {}
                    Some(k) => {
                        let line = self.loc.key(self.span, k).line();
                        let expected: Vec<String> = self.known.iter().map(|k| format!("`{k}`")).collect();
                        self.scope
                            .line(line)
                            .err(format!("unknown field `{k}`, expected one of {}", expected.join(", ")));
                    }
                    None => self.scope.err(format!("keys are strings, found {}", yaml_kind(k))),
                }
            }
        }
        self.at
    }
}

fn yaml_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "nothing",
        Value::Bool(_) => "a bool",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Sequence(_) => "a list",
        Value::Mapping(_) => "a mapping",
        Value::Tagged(_) => "a tagged value",
    }
}

/// A field of an object (`prefix` is the path of its parent, e.g. `request.` or `request.filter.`).
fn field_def(loc: &Locator<'_>, v: &Value, span: Span, item: &Scope<'_>, prefix: &str) -> Option<FieldDef> {
    let name = v.get("name").and_then(Value::as_str).unwrap_or_default().to_string();
    let path = format!("{prefix}{}", if name.is_empty() { "<no name>" } else { &name });
    let scope = item.field(path.clone(), span.line());
    let mut r = Reader::new(loc, span, v, scope.clone(), "a field");
    let name: String = r.req("name");
    let ty_text: Option<String> = r.opt("type");
    let ty = match ty_text.as_deref().map(types::parse) {
        Some(Ok(t)) => t,
        Some(Err(m)) => {
            scope.line(r.at.key("type")).err(m);
            TyExpr::Json
        }
        None => {
            if r.map.is_some() {
                scope.err("missing `type`");
            }
            TyExpr::Json
        }
    };
    let required = r.or_default("required");
    let flex = r.or_default("flex");
    let secret: bool = r.or_default("secret");
    if secret && ty != TyExpr::Scalar(types::Scalar::String) {
        scope
            .line(r.at.key("secret"))
            .err("`secret` is only for `string` fields");
    }
    let doc = r.or_default("doc");
    let notes = r.opt("notes");
    let prefix = format!("{path}.");
    let fields = r.get("fields").map(|(v, span, scope)| match v {
        Value::Sequence(items) => items
            .iter()
            .enumerate()
            .filter_map(|(i, v)| field_def(loc, v, loc.item(span, i), item, &prefix))
            .collect(),
        other => {
            scope.err(format!("`fields` is a list, found {}", yaml_kind(other)));
            Vec::new()
        }
    });
    let type_name = r.opt("type_name");
    let at = r.finish();
    Some(FieldDef {
        at,
        name,
        ty,
        required,
        flex,
        secret,
        doc,
        notes,
        fields,
        type_name,
    })
}

fn enum_def(loc: &Locator<'_>, v: &Value, span: Span, scope: &Scope<'_>) -> EnumDef {
    let mut r = Reader::new(loc, span, v, scope.clone(), "an enum");
    let doc = r.or_default("doc");
    let repr = r.req("repr");
    let values = r.list("values", |v, span| {
        let name = v.get("name").and_then(Value::as_str).unwrap_or("<no name>");
        let mut r = Reader::new(loc, span, v, scope.field(name, span.line()), "an enum value");
        let value = r.req("value");
        let name = r.req("name");
        let doc = r.or_default("doc");
        Some(EnumValue {
            at: r.finish(),
            value,
            name,
            doc,
        })
    });
    EnumDef {
        at: r.finish(),
        doc,
        repr,
        values,
    }
}

/// A doc id: a number, or a string of digits.
fn doc_id(r: &mut Reader<'_>) -> Option<u64> {
    let (v, _, scope) = r.get("doc_id")?;
    let id = match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) if !s.is_empty() && s.chars().all(|c| c.is_ascii_digit()) => s.parse().ok(),
        _ => None,
    };
    if id.is_none() {
        scope.err(format!("`doc_id`: {v:?} is not a number"));
    }
    id
}

fn endpoint_def(loc: &Locator<'_>, v: &Value, span: Span, file: &Scope<'_>) -> EndpointDef {
    let path = v.get("path").and_then(Value::as_str).unwrap_or("<no path>");
    let scope = file.item(Item::Endpoint(path.to_string()), span.line());
    let mut r = Reader::new(loc, span, v, scope.clone(), "an endpoint");
    let path = r.req("path");
    let method = r.req("method");
    let doc_id = doc_id(&mut r);
    let name_zh = r.req("name_zh");
    let summary = r.req("summary");
    let name = r.opt("name");
    let token = r.or_default("token");
    let deprecated = r.opt("deprecated");
    let notes = r.opt("notes");
    let request = r.list("request", |v, span| field_def(loc, v, span, &scope, "request."));
    let response = r.list("response", |v, span| field_def(loc, v, span, &scope, "response."));
    let upload = r.opt("upload");
    let idempotent = r.or_default("idempotent");
    let max_concurrency = r.opt("max_concurrency");
    let one_at_a_time_per = r.opt("one_at_a_time_per");
    let rate_limit = budget_def(loc, &mut r, "rate_limit");
    let paging = r.get("paging").map(|(v, span, scope)| {
        let mut r = Reader::new(loc, span, v, scope, "`paging`");
        let style = r.req("style");
        let cursor = r.req("cursor");
        let next = r.opt("next");
        let items = r.req("items");
        let limit = r.opt("limit");
        let partial = r.or_default("partial");
        let chunk = r.get("chunk").map(|(v, span, scope)| {
            let mut r = Reader::new(loc, span, v, scope, "`paging.chunk`");
            let field = r.req("field");
            let max = r.req("max");
            ChunkDef {
                field,
                max,
                at: r.finish(),
            }
        });
        PagingDef {
            style,
            cursor,
            next,
            items,
            limit,
            chunk,
            partial,
            at: r.finish(),
        }
    });
    let rules = r.list("rules", |v, span| {
        let mut r = Reader::new(loc, span, v, scope.clone(), "a rule");
        let at_least_one_of = r.req("at_least_one_of");
        Some(RuleDef {
            at_least_one_of,
            at: r.finish(),
        })
    });
    let example = r.get("example").map(|(v, span, scope)| {
        let mut r = Reader::new(loc, span, v, scope, "`example`");
        let request = r.opt("request");
        let response = r.opt("response");
        ExampleDef {
            request,
            response,
            at: r.finish(),
        }
    });
    EndpointDef {
        at: r.finish(),
        path,
        method,
        doc_id,
        name_zh,
        summary,
        name,
        token,
        deprecated,
        notes,
        request,
        response,
        upload,
        idempotent,
        max_concurrency,
        one_at_a_time_per,
        rate_limit,
        paging,
        rules,
        example,
    }
}

/// A budget (`{ per_minute: N, per_hour: M }`) under `key`, if present.
fn budget_def(loc: &Locator<'_>, r: &mut Reader<'_>, key: &'static str) -> Option<BudgetDef> {
    let (v, span, scope) = r.get(key)?;
    let mut b = Reader::new(loc, span, v, scope, "a budget (`{ per_minute: N, per_hour: M }`)");
    let per_minute = b.req("per_minute");
    let per_hour = b.req("per_hour");
    Some(BudgetDef {
        per_minute,
        per_hour,
        at: b.finish(),
    })
}

fn event_def(loc: &Locator<'_>, v: &Value, span: Span, file: &Scope<'_>) -> EventDef {
    let name = v.get("name").and_then(Value::as_str).unwrap_or("<no name>");
    let scope = file.item(Item::Event(name.to_string()), span.line());
    let mut r = Reader::new(loc, span, v, scope.clone(), "an event");
    let name = r.req("name");
    let event = r.req("event");
    let change_type = r.or_default("change_type"); // absent for events without a ChangeType
    let doc_id = doc_id(&mut r);
    let doc = r.or_default("doc");
    let fields = r.list("fields", |v, span| {
        let name = v.get("name").and_then(Value::as_str).unwrap_or("<no name>");
        let mut r = Reader::new(loc, span, v, scope.field(name, span.line()), "a field");
        let name = r.req("name");
        let ty_text: String = r.req("type");
        let ty = if r.at.keys.contains_key("type") {
            types::parse_event(&ty_text).unwrap_or_else(|m| {
                scope.field(&name, r.at.key("type")).err(m);
                EventTy::default()
            })
        } else {
            EventTy::default() // reported as missing
        };
        let required = r.or_default("required");
        let doc = r.or_default("doc");
        Some(EventFieldDef {
            at: r.finish(),
            name,
            ty,
            required,
            doc,
        })
    });
    let samples = r.list("samples", |v, span| {
        let mut r = Reader::new(loc, span, v, scope.field("samples", span.line()), "a sample");
        let envelope = r.req("envelope");
        let variant = r.or_default("variant");
        let xml = r.req("xml");
        let expect = r.opt("expect");
        Some(EventSampleDef {
            at: r.finish(),
            envelope,
            variant,
            xml,
            expect,
        })
    });
    EventDef {
        at: r.finish(),
        name,
        event,
        change_type,
        doc_id,
        doc,
        fields,
        samples,
    }
}

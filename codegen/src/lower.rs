//! Stage 3: from the validated spec to the model, in named passes: [`lower_enum`] (API enums and event
//! values alike), named types, endpoints (with their request, response and inline types), feature sets,
//! `Default`-ability, groups, events. Every Rust name is taken from `naming`; collisions between generated
//! type names are reported here. Field types were parsed once, by `load`.

use crate::error::{SpecError, SpecErrors};
use crate::load::Loaded;
use crate::model::*;
use crate::naming;
use crate::spec::{EndpointDef, EnumDef, FieldDef, HttpMethod};
use crate::types::TyExpr;
use crate::validate::Index;
use std::collections::{BTreeMap, BTreeSet};

/// Lowers the validated spec.
pub fn lower(files: &[Loaded], index: &Index<'_>) -> Result<Api, SpecErrors> {
    let mut lw = Lowerer {
        index,
        claimed: BTreeMap::new(),
        errors: Vec::new(),
        structs: BTreeMap::new(),
        enums: BTreeMap::new(),
        endpoints: Vec::new(),
        limits: crate::limits::lower(files),
    };
    for l in files {
        lw.enums_and_types(l);
    }
    for l in files {
        for ep in &l.spec.endpoints {
            lw.endpoint(l, ep);
        }
    }
    let events = lower_events(files, index, &mut lw.errors);
    if !lw.errors.is_empty() {
        return Err(SpecErrors(lw.errors));
    }
    let ungated: BTreeSet<&str> = files
        .iter()
        .filter(|l| !l.spec.gated)
        .map(|l| l.spec.group.as_str())
        .collect();
    let cfgs = feature_sets(&lw.structs, &lw.enums, &lw.endpoints, &ungated);
    let defaultable = defaultable(&lw.structs);
    let request_side = request_side(&lw.structs, &lw.endpoints);
    let groups = assemble_groups(files, &lw, &cfgs, &defaultable, &request_side);
    let mut event_values: Vec<Enum> = files
        .iter()
        .flat_map(|l| l.spec.event_values.iter())
        .map(|(name, def)| lower_enum(name, def))
        .collect();
    event_values.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(Api {
        groups,
        event_values,
        events,
        errcodes: crate::errcodes::lower(files),
        limits: lw.limits,
    })
}

/// The lines of a doc comment: the doc, then the notes after a blank line.
fn doc_lines(doc: &str, notes: Option<&str>) -> Vec<String> {
    let mut out: Vec<String> = doc.lines().map(|l| l.trim_end().to_string()).collect();
    if let Some(n) = notes {
        if !out.is_empty() {
            out.push(String::new());
        }
        out.extend(n.lines().map(|l| l.trim_end().to_string()));
    }
    while out.last().is_some_and(|l| l.is_empty()) {
        out.pop();
    }
    out
}

/// The official doc page of a doc id.
pub fn doc_url(doc_id: Option<u64>) -> Option<String> {
    doc_id.map(|id| format!("https://developer.work.weixin.qq.com/document/path/{id}"))
}

/// An enum of the API models or an `event_values` enum: one shape for both.
pub fn lower_enum(name: &str, def: &EnumDef) -> Enum {
    let values = def
        .values
        .iter()
        .map(|v| EnumVariant {
            name: naming::camel(&v.name),
            code: match &v.value {
                serde_yaml::Value::Number(n) => Code::Int(n.as_i64().unwrap_or_default()),
                serde_yaml::Value::String(s) => Code::Str(s.clone()),
                other => Code::Str(format!("{other:?}")),
            },
            doc: v.doc.clone(),
        })
        .collect();
    Enum {
        name: name.to_string(),
        doc: doc_lines(&def.doc, None),
        repr: def.repr,
        values,
        cfg: None,
    }
}

/// What a list of fields belongs to, which decides how strict and how lenient its struct is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FieldKind {
    /// A request, or an inline object of one: rejects unknown keys and missing required fields. `query`:
    /// the fields travel in the query string (GET, uploads), so scalars accept numbers and strings alike.
    Request { query: bool },
    /// A response, or an inline object of one.
    Response,
    /// A named type.
    Type,
}

/// Where a list of fields is lowered: the group that emits its inline types, the item it belongs to (for
/// messages), the path of its parent field and the Rust name of its owner.
struct FieldScope<'a> {
    group: &'a str,
    file: &'a str,
    item: &'a str,
    prefix: String,
    owner: String,
    kind: FieldKind,
}

struct Lowerer<'a> {
    index: &'a Index<'a>,
    /// Generated type name → who claimed it first, for collision messages.
    claimed: BTreeMap<String, String>,
    errors: Vec<SpecError>,
    /// Struct name → (group that emits it, struct).
    structs: BTreeMap<String, (String, Struct)>,
    /// Enum name → (group that emits it, enum).
    enums: BTreeMap<String, (String, Enum)>,
    endpoints: Vec<Endpoint>,
    /// The spec's frequency limits (the default budget of every endpoint).
    limits: Option<crate::limits::Limits>,
}

impl Lowerer<'_> {
    fn claim(&mut self, name: &str, file: &str, item: &str, field: Option<&str>) {
        if let Some(prev) = self.claimed.get(name) {
            let msg = format!(
                "the generated type name `{name}` is already used by {prev}; set `type_name` (inline objects) or rename"
            );
            self.errors.push(match field {
                Some(f) => SpecError::field(file, item, f, msg),
                None => SpecError::item(file, item, msg),
            });
        } else {
            let who = match field {
                Some(f) => format!("{file}: {item}: field {f}"),
                None => format!("{file}: {item}"),
            };
            self.claimed.insert(name.to_string(), who);
        }
    }

    fn resolve(&self, ty: &TyExpr, inline_name: &str) -> Ty {
        match ty {
            TyExpr::Scalar(s) => Ty::Scalar(*s),
            TyExpr::Json => Ty::Json,
            TyExpr::Object => Ty::Struct(inline_name.to_string()),
            TyExpr::List(inner) => Ty::List(Box::new(self.resolve(inner, inline_name))),
            TyExpr::Named(n) if self.index.enums.contains_key(n.as_str()) => Ty::Enum(n.clone()),
            TyExpr::Named(n) => Ty::Struct(n.clone()),
        }
    }

    /// Pass 1: a file's enums and named types.
    fn enums_and_types(&mut self, l: &Loaded) {
        let (file, group) = (l.source.file.as_str(), l.spec.group.as_str());
        for (name, def) in &l.spec.enums {
            self.claim(name, file, &format!("enum {name}"), None);
            self.enums
                .insert(name.clone(), (group.to_string(), lower_enum(name, def)));
        }
        for (name, def) in &l.spec.types {
            let item = format!("type {name}");
            self.claim(name, file, &item, None);
            let scope = FieldScope {
                group,
                file,
                item: &item,
                prefix: String::new(),
                owner: name.clone(),
                kind: FieldKind::Type,
            };
            let fields = self.fields(&scope, &def.fields);
            let st = Struct {
                name: name.clone(),
                doc: doc_lines(&def.doc, None),
                fields,
                cfg: None,
                default: false,
                deny_unknown: false,
                source: format!("{file}:{}", def.at.line),
            };
            self.structs.insert(name.clone(), (group.to_string(), st));
        }
    }

    /// Lowers a list of fields, registering their inline object types.
    fn fields(&mut self, scope: &FieldScope<'_>, defs: &[FieldDef]) -> Vec<Field> {
        let mut out = Vec::new();
        for f in defs {
            let inline_name = f
                .type_name
                .clone()
                .unwrap_or_else(|| naming::inline_type(&scope.owner, &f.name));
            if *f.ty.innermost() == TyExpr::Object {
                let path = format!("{}{}", scope.prefix, f.name);
                self.claim(&inline_name, scope.file, scope.item, Some(&path));
                let inner = FieldScope {
                    prefix: format!("{path}."),
                    owner: inline_name.clone(),
                    kind: match scope.kind {
                        FieldKind::Request { .. } => FieldKind::Request { query: false },
                        k => k,
                    },
                    ..*scope
                };
                let sub = self.fields(&inner, f.fields.as_deref().unwrap_or(&[]));
                let st = Struct {
                    name: inline_name.clone(),
                    doc: doc_lines(if f.doc.is_empty() { &f.name } else { &f.doc }, f.notes.as_deref()),
                    fields: sub,
                    cfg: None,
                    default: false,
                    deny_unknown: matches!(scope.kind, FieldKind::Request { .. }),
                    source: format!("{}:{}", scope.file, f.at.line),
                };
                self.structs
                    .entry(inline_name.clone())
                    .or_insert((scope.group.to_string(), st));
            }
            let ty = if f.secret {
                Ty::Secret
            } else {
                self.resolve(&f.ty, &inline_name)
            };
            let query = scope.kind == FieldKind::Request { query: true };
            out.push(Field {
                wire: f.name.clone(),
                rust: naming::snake(&f.name),
                flex: f.flex || (query && matches!(ty, Ty::Scalar(_))),
                ty,
                required: f.required,
                serde_default: false,
                empty_when_absent: false,
                doc: doc_lines(if f.doc.is_empty() { &f.name } else { &f.doc }, f.notes.as_deref()),
            });
        }
        out
    }

    /// Pass 2: an endpoint, with its request and response types.
    fn endpoint(&mut self, l: &Loaded, ep: &EndpointDef) {
        let (file, group) = (l.source.file.as_str(), l.spec.group.as_str());
        let item = format!("endpoint {}", ep.path);
        let fn_name = ep.name.clone().unwrap_or_else(|| naming::method_name(&ep.path));
        let base = naming::camel(&fn_name);
        let (req, resp) = (naming::request_type(&fn_name), naming::response_type(&fn_name));
        self.claim(&req, file, &item, None);
        self.claim(&resp, file, &item, None);
        let query = ep.method == HttpMethod::Get || ep.upload.is_some();
        let scope = |prefix: &str, kind| FieldScope {
            group,
            file,
            item: &item,
            prefix: prefix.to_string(),
            owner: base.clone(),
            kind,
        };
        let req_fields = self.fields(&scope("request.", FieldKind::Request { query }), &ep.request);
        let resp_fields = self.fields(&scope("response.", FieldKind::Response), &ep.response);
        let doc_url = doc_url(ep.doc_id);
        let paging = ep.paging.as_ref().and_then(|p| {
            let find = |fs: &[Field], n: Option<&str>| n.and_then(|n| fs.iter().find(|f| f.wire == n).cloned());
            let limit = find(&req_fields, p.limit.as_deref());
            let style = match (p.style, find(&resp_fields, p.next.as_deref()), limit) {
                (PagingStyle::Cursor, Some(next), limit) => Some(PagingKind::Cursor { next, limit }),
                (PagingStyle::Offset, _, Some(limit)) => Some(PagingKind::Offset { limit }),
                _ => None,
            };
            let items = find(&resp_fields, Some(&p.items));
            let (Some(style), Some(items), Some(cursor)) = (style, items, find(&req_fields, Some(&p.cursor))) else {
                let msg = "generator bug: paging names a field the endpoint lacks, yet passed validation";
                self.errors.push(SpecError::item(file, item.clone(), msg));
                return None;
            };
            let item_ty = match &items.ty {
                Ty::List(t) => (**t).clone(),
                t => t.clone(),
            };
            let chunk = p
                .chunk
                .as_ref()
                .and_then(|c| find(&req_fields, Some(&c.field)).map(|field| Chunk { field, max: c.max }));
            Some(Paging {
                style,
                cursor,
                items,
                item_ty,
                chunk,
                partial: p.partial.clone(),
            })
        });
        let doc = |which: &str| {
            let mut lines = vec![format!(
                "{which} of {} (`{} /cgi-bin/{}`).",
                ep.name_zh,
                ep.method.as_str(),
                ep.path
            )];
            if let Some(url) = &doc_url {
                lines.extend([String::new(), format!("Official docs: {url}")]);
            }
            lines
        };
        for (name, doc, fields, deny_unknown, key) in [
            (&req, doc("Request"), req_fields, true, "request"),
            (&resp, doc("Response"), resp_fields, false, "response"),
        ] {
            let st = Struct {
                name: name.clone(),
                doc,
                fields,
                cfg: None,
                default: false,
                deny_unknown,
                source: format!("{file}:{}", ep.at.key(key)),
            };
            self.structs.insert(name.clone(), (group.to_string(), st));
        }
        let compact = |s: Option<&String>| {
            s.and_then(|j| serde_json::from_str::<serde_json::Value>(j).ok())
                .map(|v| v.to_string())
        };
        let example = ep.example.as_ref();
        let budget = crate::limits::endpoint_budget(self.limits.as_ref(), ep.rate_limit.as_ref());
        self.endpoints.push(Endpoint {
            path: ep.path.clone(),
            http_method: ep.method,
            doc_url,
            name_zh: ep.name_zh.clone(),
            summary: ep.summary.clone(),
            const_name: naming::endpoint_const(&fn_name),
            fn_name,
            request: req,
            response: resp,
            token: ep.token,
            deprecated: ep.deprecated.clone(),
            notes: ep.notes.clone(),
            upload: ep.upload.clone(),
            idempotent: ep.idempotent,
            max_concurrency: ep.max_concurrency,
            one_at_a_time_per: ep.one_at_a_time_per.clone(),
            rate_limit: budget.map(|b| b.0),
            rate_limit_own: budget.is_some_and(|b| b.1),
            paging,
            at_least_one_of: ep.rules.iter().map(|r| r.at_least_one_of.clone()).collect(),
            example_request: compact(example.and_then(|e| e.request.as_ref())),
            example_response: compact(example.and_then(|e| e.response.as_ref())),
            feature: l.spec.gated.then(|| group.to_string()),
            group: group.to_string(),
        });
    }
}

/// Pass 3: which features need each struct and enum — the groups of the endpoints that reach it, plus its
/// own group. `None`: always compiled (an ungated group needs it, or nothing does).
fn feature_sets(
    structs: &BTreeMap<String, (String, Struct)>,
    enums: &BTreeMap<String, (String, Enum)>,
    endpoints: &[Endpoint],
    ungated: &BTreeSet<&str>,
) -> BTreeMap<String, Option<BTreeSet<String>>> {
    fn reach(
        name: &str,
        group: &str,
        structs: &BTreeMap<String, (String, Struct)>,
        users: &mut BTreeMap<String, BTreeSet<String>>,
    ) {
        if !users.entry(name.to_string()).or_default().insert(group.to_string()) {
            return;
        }
        if let Some((_, st)) = structs.get(name) {
            for f in &st.fields {
                let mut t = &f.ty;
                while let Ty::List(inner) = t {
                    t = inner;
                }
                if let Ty::Struct(n) | Ty::Enum(n) = t {
                    reach(n, group, structs, users);
                }
            }
        }
    }
    let mut users: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for ep in endpoints {
        reach(&ep.request, &ep.group, structs, &mut users);
        reach(&ep.response, &ep.group, structs, &mut users);
    }
    for (name, (group, _)) in structs {
        reach(name, group, structs, &mut users);
    }
    for (name, (group, _)) in enums {
        users.entry(name.clone()).or_default().insert(group.clone());
    }
    users
        .into_iter()
        .map(|(name, set)| {
            let always = set.is_empty() || set.iter().any(|g| ungated.contains(g.as_str()));
            (name, (!always).then_some(set))
        })
        .collect()
}

/// Pass 4: the structs whose required fields all have a default (a fixpoint; enums have none). Such a
/// struct can decode a missing required field of its own type leniently.
fn defaultable(structs: &BTreeMap<String, (String, Struct)>) -> BTreeSet<String> {
    let mut out: BTreeSet<String> = BTreeSet::new();
    loop {
        let before = out.len();
        for (name, (_, st)) in structs {
            if st.fields.iter().all(|f| !f.required || ty_default(&f.ty, &out)) {
                out.insert(name.clone());
            }
        }
        if out.len() == before {
            return out;
        }
    }
}

fn ty_default(ty: &Ty, defaultable: &BTreeSet<String>) -> bool {
    match ty {
        Ty::Scalar(_) | Ty::Json | Ty::Secret | Ty::List(_) => true,
        Ty::Struct(n) => defaultable.contains(n),
        Ty::Enum(_) => false,
    }
}

/// Pass 5: the structs a request uses (its own, its inline objects, the named types it reaches). The others
/// are response-side only, where a list WeCom leaves out decodes as an empty `Vec`.
fn request_side(structs: &BTreeMap<String, (String, Struct)>, endpoints: &[Endpoint]) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut todo: Vec<&str> = endpoints.iter().map(|e| e.request.as_str()).collect();
    while let Some(name) = todo.pop() {
        if !seen.insert(name.to_string()) {
            continue;
        }
        if let Some((_, st)) = structs.get(name) {
            for f in &st.fields {
                let mut t = &f.ty;
                while let Ty::List(inner) = t {
                    t = inner;
                }
                if let Ty::Struct(n) = t {
                    todo.push(n);
                }
            }
        }
    }
    seen
}

/// Pass 6: each file's structs, enums and endpoints, with their features and derives decided.
fn assemble_groups(
    files: &[Loaded],
    lw: &Lowerer<'_>,
    cfgs: &BTreeMap<String, Option<BTreeSet<String>>>,
    defaultable: &BTreeSet<String>,
    request_side: &BTreeSet<String>,
) -> Vec<Group> {
    let cfg_of = |name: &str| cfgs.get(name).cloned().flatten();
    files
        .iter()
        .map(|l| {
            let g = &l.spec.group;
            let structs = lw
                .structs
                .values()
                .filter(|(sg, _)| sg == g)
                .map(|(_, st)| {
                    let mut st = st.clone();
                    st.cfg = cfg_of(&st.name);
                    // Requests (and their inline objects) are strict and built with `new(required…)`: they
                    // get `Default` only when `new()` takes no arguments, so `default()` never skips one.
                    // Other structs keep it where serde needs it for a missing required field.
                    st.default = if st.deny_unknown {
                        st.fields.iter().all(|f| !f.required)
                    } else {
                        defaultable.contains(&st.name)
                    };
                    let response_only = !request_side.contains(&st.name);
                    for f in &mut st.fields {
                        f.serde_default = f.required && !st.deny_unknown && ty_default(&f.ty, defaultable);
                        f.empty_when_absent = response_only && !f.required && matches!(f.ty, Ty::List(_));
                    }
                    st
                })
                .collect();
            let enums = lw
                .enums
                .values()
                .filter(|(eg, _)| eg == g)
                .map(|(_, e)| Enum {
                    cfg: cfg_of(&e.name),
                    ..e.clone()
                })
                .collect();
            Group {
                name: g.clone(),
                doc: l.spec.doc.clone(),
                feature: l.spec.gated.then(|| g.clone()),
                structs,
                enums,
                endpoints: lw
                    .endpoints
                    .iter()
                    .filter(|e| &e.group == g)
                    .map(|e| {
                        let mut e = e.clone();
                        if let Some(p) = &mut e.paging {
                            // The items field as the response struct has it.
                            p.items.empty_when_absent = !p.items.required && matches!(p.items.ty, Ty::List(_));
                        }
                        e
                    })
                    .collect(),
            }
        })
        .collect()
}

/// Pass 7: the callback events, in spec order.
fn lower_events(files: &[Loaded], index: &Index<'_>, errors: &mut Vec<SpecError>) -> Vec<Event> {
    let mut out = Vec::new();
    for l in files {
        for ev in &l.spec.events {
            let mut doc = doc_lines(&ev.doc, None);
            if let Some(url) = doc_url(ev.doc_id) {
                doc.extend([String::new(), format!("Official docs: {url}")]);
            }
            let mut fields = Vec::new();
            for f in &ev.fields {
                let Some(ty) = crate::types::event_type(&f.ty, &index.event_values) else {
                    let msg = format!("generator bug: event field type `{}` passed validation", f.ty);
                    errors.push(SpecError::field(
                        &l.source.file,
                        format!("event {}", ev.name),
                        &f.name,
                        msg,
                    ));
                    continue;
                };
                fields.push(EventField {
                    wire: f.name.clone(),
                    rust: naming::snake(&f.name),
                    ty,
                    required: f.required,
                    doc: f.doc.clone(),
                });
            }
            let samples = ev
                .samples
                .iter()
                .map(|x| {
                    let test_name = naming::snake(&format!("{}_{}_sample_{}", ev.name, x.envelope, x.variant)).name;
                    EventSample {
                        const_name: test_name.to_uppercase(),
                        test_name,
                        envelope: x.envelope.clone(),
                        xml: x.xml.clone(),
                        expect: x.expect.clone(),
                    }
                })
                .collect();
            out.push(Event {
                name: ev.name.clone(),
                event: ev.event.clone(),
                change_type: ev.change_type.clone(),
                doc,
                summary: ev.doc.clone(),
                doc_url: doc_url(ev.doc_id),
                fields,
                samples,
            });
        }
    }
    out
}

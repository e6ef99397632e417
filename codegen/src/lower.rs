//! Stage 3: from the validated spec to the model, in named passes: [`lower_enum`] (API enums and event
//! values alike), named types, endpoints (with their request, response and inline types), feature sets,
//! `Default`-ability, groups, events, error codes and limits. Every Rust name is decided here, once (with the
//! rules of `naming`): emit and openapi read the names from the model. Clashes between generated names (type
//! names, method names) are reported here, into the run's one [`Errors`]. Field types were parsed once, by
//! `load`.

use crate::error::{Errors, Item, Scope};
use crate::load::Loaded;
use crate::model::*;
use crate::naming;
use crate::spec::{BudgetDef, EndpointDef, EnumDef, FieldDef};
use crate::types::TyExpr;
use crate::validate::Index;
use std::collections::{BTreeMap, BTreeSet};

/// Lowers the validated spec; clashes between generated names go to `errors` (the model is then not used).
pub(crate) fn lower(files: &[Loaded], index: &Index<'_>, errors: &Errors) -> Api {
    let mut lw = Lowerer {
        index,
        errors,
        claimed: BTreeMap::new(),
        methods: BTreeMap::new(),
        structs: BTreeMap::new(),
        enums: BTreeMap::new(),
        endpoints: Vec::new(),
        limits: lower_limits(files),
    };
    for l in files {
        lw.enums_and_types(l);
    }
    for l in files {
        for ep in &l.spec.endpoints {
            lw.endpoint(l, ep);
        }
    }
    let events = lower_events(files);
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
    Api {
        groups,
        event_values,
        events,
        errcodes: lower_errcodes(files),
        limits: lw.limits,
    }
}

/// The errcodes of all files, sorted by code, each with its class.
fn lower_errcodes(files: &[Loaded]) -> Vec<Errcode> {
    let mut out: Vec<Errcode> = files
        .iter()
        .flat_map(|l| &l.spec.errcodes)
        .map(|e| Errcode {
            code: e.code,
            variant: crate::naming::camel(&e.name),
            zh: e.zh.trim().to_string(),
            en: e.en.trim().to_string(),
            class: match (e.token, e.throttled, e.retryable) {
                (Some(kind), _, _) => Class::TokenInvalid(kind),
                (None, Some(t), _) => Class::Throttled(t),
                (None, None, true) => Class::Retryable,
                (None, None, false) => Class::Fatal,
            },
        })
        .collect();
    out.sort_by_key(|e| e.code);
    out.dedup_by_key(|e| e.code);
    out
}

fn lower_budget(b: &BudgetDef) -> Budget {
    Budget {
        per_minute: b.per_minute,
        per_hour: b.per_hour,
    }
}

/// The spec's limits, if a file states them (all three budgets).
fn lower_limits(files: &[Loaded]) -> Option<Limits> {
    let l = files.iter().find_map(|l| l.spec.limits.as_ref())?;
    Some(Limits {
        per_corp: lower_budget(l.per_corp.as_ref()?),
        per_ip: lower_budget(l.per_ip.as_ref()?),
        per_provider_ip: lower_budget(l.per_provider_ip.as_ref()?),
    })
}

/// The `Client` method of an endpoint: its `name`, else one made from its path. Decided here only; the model
/// carries it to emit and openapi.
fn method_name(ep: &EndpointDef) -> String {
    ep.name.clone().unwrap_or_else(|| naming::method_name(&ep.path))
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
pub(crate) fn doc_url(doc_id: Option<u64>) -> Option<String> {
    doc_id.map(|id| format!("https://developer.work.weixin.qq.com/document/path/{id}"))
}

/// An enum of the API models or an `event_values` enum: one shape for both.
pub(crate) fn lower_enum(name: &str, def: &EnumDef) -> Enum {
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

/// Where a list of fields is lowered: the group that emits its inline types, the file and the item it belongs
/// to (for messages), the path of its parent field and the Rust name of its owner.
struct FieldScope<'a> {
    group: &'a str,
    file: &'a str,
    item: &'a Scope<'a>,
    prefix: String,
    owner: String,
    kind: FieldKind,
}

struct Lowerer<'a> {
    index: &'a Index<'a>,
    errors: &'a Errors,
    /// Generated type name → where it was claimed first, for clash messages.
    claimed: BTreeMap<String, String>,
    /// Method name → the path of the endpoint that has it.
    methods: BTreeMap<String, String>,
    /// Struct name → (group that emits it, struct).
    structs: BTreeMap<String, (String, Struct)>,
    /// Enum name → (group that emits it, enum).
    enums: BTreeMap<String, (String, Enum)>,
    endpoints: Vec<Endpoint>,
    /// The spec's frequency limits (the default budget of every endpoint).
    limits: Option<Limits>,
}

impl Lowerer<'_> {
    /// Claims a generated type name for the item or field at `s`; a second claim is reported there.
    fn claim(&mut self, name: &str, s: &Scope<'_>) {
        if let Some(prev) = self.claimed.get(name) {
            s.err(format!(
                "the generated type name `{name}` is already used by {prev}; set `type_name` (inline objects) or rename"
            ));
        } else {
            self.claimed.insert(name.to_string(), s.place());
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
        let errors = self.errors.file(file);
        for (name, def) in &l.spec.enums {
            self.claim(name, &errors.item(Item::Enum(name.clone()), def.at.line));
            self.enums
                .insert(name.clone(), (group.to_string(), lower_enum(name, def)));
        }
        for (name, def) in &l.spec.types {
            let item = errors.item(Item::Type(name.clone()), def.at.line);
            self.claim(name, &item);
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
                self.claim(&inline_name, &scope.item.field(&path, f.at.line));
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
        let item = self.errors.file(file).item(Item::Endpoint(ep.path.clone()), ep.at.line);
        let fn_name = method_name(ep);
        if let Some(other) = self.methods.insert(fn_name.clone(), ep.path.clone()) {
            item.line(ep.at.key("path")).err(format!(
                "method name `{fn_name}` is also the name of {other}; set `name:` on one of them"
            ));
        }
        let base = naming::camel(&fn_name);
        let (req, resp) = (naming::request_type(&fn_name), naming::response_type(&fn_name));
        self.claim(&req, &item);
        self.claim(&resp, &item);
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
                item.line(p.at.line)
                    .err("generator bug: paging names a field the endpoint lacks, yet passed validation");
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
                stream_fn: naming::stream_method(&fn_name),
                pages_fn: naming::pages_method(&fn_name),
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
        // Its per-corp budget: its own `rate_limit`, else the spec's default.
        let budget = match &ep.rate_limit {
            Some(b) => Some((lower_budget(b), true)),
            None => self.limits.map(|l| (l.per_corp, false)),
        };
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
fn lower_events(files: &[Loaded]) -> Vec<Event> {
    let mut out = Vec::new();
    for l in files {
        for ev in &l.spec.events {
            let mut doc = doc_lines(&ev.doc, None);
            if let Some(url) = doc_url(ev.doc_id) {
                doc.extend([String::new(), format!("Official docs: {url}")]);
            }
            let fields = ev
                .fields
                .iter()
                .map(|f| EventField {
                    wire: f.name.clone(),
                    rust: naming::snake(&f.name),
                    ty: f.ty.clone(),
                    required: f.required,
                    doc: f.doc.clone(),
                })
                .collect();
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
                snake_name: naming::snake(&ev.name).name,
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

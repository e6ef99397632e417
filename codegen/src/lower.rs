//! Stage 3: from the validated spec to the model. Every Rust name is taken from `naming`; collisions between
//! generated type names are reported here.

use crate::error::{SpecError, SpecErrors};
use crate::load::Loaded;
use crate::model::*;
use crate::naming;
use crate::spec::{EndpointDef, FieldDef};
use crate::types::{self, TyExpr};
use crate::validate::Index;
use std::collections::{BTreeMap, BTreeSet};

/// Where each generated type name was first claimed, for collision messages.
struct Names {
    claimed: BTreeMap<String, String>,
    errors: Vec<SpecError>,
}

impl Names {
    fn claim(&mut self, name: &str, file: &str, item: &str, field: Option<&str>) {
        if let Some(prev) = self.claimed.get(name) {
            let msg = format!("the generated type name `{name}` is already used by {prev}; set `type_name` (inline objects) or rename");
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
}

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

struct Lowerer<'a> {
    index: &'a Index<'a>,
    names: Names,
    /// struct name → (group that emits it, struct)
    structs: BTreeMap<String, (String, Struct)>,
}

impl<'a> Lowerer<'a> {
    fn resolve(&self, ty: &TyExpr, inline_name: &str) -> Ty {
        match ty {
            TyExpr::Scalar(s) => Ty::Scalar(*s),
            TyExpr::Json => Ty::Json,
            TyExpr::Object => Ty::Struct(inline_name.to_string()),
            TyExpr::List(inner) => Ty::List(Box::new(self.resolve(inner, inline_name))),
            TyExpr::Named(n) => {
                if self.index.enums.contains_key(n.as_str()) {
                    Ty::Enum(n.clone())
                } else {
                    Ty::Struct(n.clone())
                }
            }
        }
    }

    /// Lowers fields of a struct named `owner`, registering inline object types under `group`.
    #[allow(clippy::too_many_arguments)]
    fn fields(
        &mut self,
        group: &str,
        file: &str,
        item: &str,
        prefix: &str,
        owner_base: &str,
        defs: &[FieldDef],
        force_flex: bool,
        strict: bool,
    ) -> Vec<Field> {
        let mut out = Vec::new();
        for f in defs {
            let Ok(te) = types::parse(&f.ty) else {
                continue;
            };
            let inline_name = f
                .type_name
                .clone()
                .unwrap_or_else(|| naming::inline_type(owner_base, &f.name));
            if *te.innermost() == TyExpr::Object {
                let fpath = format!("{prefix}{}", f.name);
                self.names.claim(&inline_name, file, item, Some(&fpath));
                let sub = self.fields(
                    group,
                    file,
                    item,
                    &format!("{fpath}."),
                    &inline_name,
                    f.fields.as_deref().unwrap_or(&[]),
                    false,
                    strict,
                );
                let st = Struct {
                    name: inline_name.clone(),
                    doc: doc_lines(if f.doc.is_empty() { &f.name } else { &f.doc }, f.notes.as_deref()),
                    fields: sub,
                    cfg: None,
                    default: false,
                    deny_unknown: strict,
                };
                self.structs
                    .entry(inline_name.clone())
                    .or_insert((group.to_string(), st));
            }
            let ty = self.resolve(&te, &inline_name);
            let flex = f.flex || (force_flex && matches!(ty, Ty::Scalar(_)));
            out.push(Field {
                wire: f.name.clone(),
                rust: naming::snake(&f.name),
                ty,
                required: f.required,
                flex,
                serde_default: false,
                doc: doc_lines(if f.doc.is_empty() { &f.name } else { &f.doc }, f.notes.as_deref()),
            });
        }
        out
    }
}

fn endpoint_doc(ep: &EndpointDef, which: &str, doc_url: &str) -> Vec<String> {
    let mut lines = vec![format!(
        "{which} of {} (`{} /cgi-bin/{}`).",
        ep.name_zh, ep.method, ep.path
    )];
    if !doc_url.is_empty() {
        lines.push(String::new());
        lines.push(format!("Official docs: {doc_url}"));
    }
    lines
}

/// The official doc page of a doc id.
pub fn doc_url(doc_id: Option<&serde_yaml::Value>) -> String {
    let id = match doc_id {
        Some(serde_yaml::Value::Number(n)) => n.to_string(),
        Some(serde_yaml::Value::String(s)) => s.clone(),
        _ => return String::new(),
    };
    format!("https://developer.work.weixin.qq.com/document/path/{id}")
}

/// Lowers the validated spec.
pub fn lower(files: &[Loaded], index: &Index<'_>) -> Result<Api, SpecErrors> {
    let mut lw = Lowerer {
        index,
        names: Names {
            claimed: BTreeMap::new(),
            errors: Vec::new(),
        },
        structs: BTreeMap::new(),
    };
    let ungated: BTreeSet<&str> = files
        .iter()
        .filter(|l| !l.spec.gated)
        .map(|l| l.spec.group.as_str())
        .collect();
    let mut enums: BTreeMap<String, (String, Enum)> = BTreeMap::new();
    let mut endpoints: Vec<Endpoint> = Vec::new();

    for l in files {
        let (file, group) = (l.source.file.as_str(), l.spec.group.as_str());
        for (name, def) in &l.spec.enums {
            lw.names.claim(name, file, &format!("enum {name}"), None);
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
            enums.insert(
                name.clone(),
                (
                    group.to_string(),
                    Enum {
                        name: name.clone(),
                        doc: doc_lines(&def.doc, None),
                        repr: def.repr,
                        values,
                        cfg: None,
                    },
                ),
            );
        }
        for (name, def) in &l.spec.types {
            lw.names.claim(name, file, &format!("type {name}"), None);
            let fields = lw.fields(
                group,
                file,
                &format!("type {name}"),
                "",
                name,
                &def.fields,
                false,
                false,
            );
            lw.structs.insert(
                name.clone(),
                (
                    group.to_string(),
                    Struct {
                        name: name.clone(),
                        doc: doc_lines(&def.doc, None),
                        fields,
                        cfg: None,
                        default: false,
                        deny_unknown: false,
                    },
                ),
            );
        }
        for ep in &l.spec.endpoints {
            let item = format!("endpoint {}", ep.path);
            let method = ep.name.clone().unwrap_or_else(|| naming::method_name(&ep.path));
            let base = naming::camel(&method);
            let (req, resp) = (naming::request_type(&method), naming::response_type(&method));
            lw.names.claim(&req, file, &item, None);
            lw.names.claim(&resp, file, &item, None);
            let query = ep.method == "GET" || ep.upload.is_some();
            let req_fields = lw.fields(group, file, &item, "request.", &base, &ep.request, query, true);
            let resp_fields = lw.fields(group, file, &item, "response.", &base, &ep.response, false, false);
            let doc_url = doc_url(ep.doc_id.as_ref());
            let paging = ep.paging.as_ref().map(|p| {
                let find = |fs: &[Field], n: &str| fs.iter().find(|f| f.wire == n).cloned();
                let items = find(&resp_fields, &p.items).expect("validated");
                let item_ty = match &items.ty {
                    Ty::List(t) => (**t).clone(),
                    t => t.clone(),
                };
                Paging {
                    cursor_style: p.style == "cursor",
                    cursor: find(&req_fields, &p.cursor).expect("validated"),
                    next: p.next.as_deref().and_then(|n| find(&resp_fields, n)),
                    items,
                    item_ty,
                    limit: p.limit.as_deref().and_then(|n| find(&req_fields, n)),
                    chunk: p
                        .chunk
                        .as_ref()
                        .and_then(|c| find(&req_fields, &c.field).map(|f| (f, c.max))),
                }
            });
            lw.structs.insert(
                req.clone(),
                (
                    group.to_string(),
                    Struct {
                        name: req.clone(),
                        doc: endpoint_doc(ep, "Request", &doc_url),
                        fields: req_fields,
                        cfg: None,
                        default: false,
                        deny_unknown: true,
                    },
                ),
            );
            lw.structs.insert(
                resp.clone(),
                (
                    group.to_string(),
                    Struct {
                        name: resp.clone(),
                        doc: endpoint_doc(ep, "Response", &doc_url),
                        fields: resp_fields,
                        cfg: None,
                        default: false,
                        deny_unknown: false,
                    },
                ),
            );
            let compact = |s: &Option<String>| {
                s.as_deref()
                    .and_then(|j| serde_json::from_str::<serde_json::Value>(j).ok())
                    .map(|v| v.to_string())
            };
            endpoints.push(Endpoint {
                path: ep.path.clone(),
                http_method: ep.method.clone(),
                doc_url,
                name_zh: ep.name_zh.clone(),
                summary: ep.summary.clone(),
                const_name: naming::endpoint_const(&method),
                method,
                request: req,
                response: resp,
                token: ep.token.clone().unwrap_or_else(|| "access".into()),
                deprecated: ep.deprecated.clone(),
                notes: ep.notes.clone(),
                upload: ep.upload.clone(),
                idempotent: ep.idempotent,
                max_concurrency: ep.max_concurrency,
                paging,
                example_request: compact(&ep.example.as_ref().and_then(|e| e.request.clone())),
                example_response: compact(&ep.example.as_ref().and_then(|e| e.response.clone())),
                feature: (!ungated.contains(group)).then(|| group.to_string()),
                group: group.to_string(),
            });
        }
    }
    if !lw.names.errors.is_empty() {
        return Err(SpecErrors(lw.names.errors));
    }

    // Which features need each type: the groups of the endpoints that reach it, plus its own group.
    let mut users: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
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
                match t {
                    Ty::Struct(n) | Ty::Enum(n) => reach(n, group, structs, users),
                    _ => {}
                }
            }
        }
    }
    for ep in &endpoints {
        reach(&ep.request, &ep.group, &lw.structs, &mut users);
        reach(&ep.response, &ep.group, &lw.structs, &mut users);
    }
    let all_structs: Vec<String> = lw.structs.keys().cloned().collect();
    for n in &all_structs {
        let g = lw.structs[n].0.clone();
        reach(n, &g, &lw.structs, &mut users);
    }
    for (n, (g, _)) in enums.clone() {
        users.entry(n).or_default().insert(g);
    }
    let cfg_of = |name: &str| -> Option<BTreeSet<String>> {
        let set = users.get(name).cloned().unwrap_or_default();
        if set.is_empty() || set.iter().any(|g| ungated.contains(g.as_str())) {
            None
        } else {
            Some(set)
        }
    };

    // Default-ability: a fixpoint over structs (enums have no default).
    let mut defaultable: BTreeSet<String> = BTreeSet::new();
    loop {
        let before = defaultable.len();
        for (name, (_, st)) in &lw.structs {
            if st.fields.iter().all(|f| !f.required || ty_default(&f.ty, &defaultable)) {
                defaultable.insert(name.clone());
            }
        }
        if defaultable.len() == before {
            break;
        }
    }

    let mut groups: Vec<Group> = Vec::new();
    for l in files {
        let g = &l.spec.group;
        let mut structs: Vec<Struct> = lw
            .structs
            .values()
            .filter(|(sg, _)| sg == g)
            .map(|(_, st)| {
                let mut st = st.clone();
                st.cfg = cfg_of(&st.name);
                st.default = defaultable.contains(&st.name);
                for f in &mut st.fields {
                    // Requests (and their inline objects) are strict: a missing required field is an error.
                    f.serde_default = f.required && !st.deny_unknown && ty_default(&f.ty, &defaultable);
                }
                st
            })
            .collect();
        structs.sort_by(|a, b| a.name.cmp(&b.name));
        let mut genums: Vec<Enum> = enums
            .values()
            .filter(|(eg, _)| eg == g)
            .map(|(_, e)| Enum {
                cfg: cfg_of(&e.name),
                ..e.clone()
            })
            .collect();
        genums.sort_by(|a, b| a.name.cmp(&b.name));
        let eps = endpoints.iter().filter(|e| &e.group == g).cloned().collect();
        groups.push(Group {
            name: g.clone(),
            doc: l.spec.doc.clone(),
            feature: l.spec.gated.then(|| g.clone()),
            structs,
            enums: genums,
            endpoints: eps,
        });
    }
    let values: BTreeSet<&str> = files
        .iter()
        .flat_map(|l| l.spec.event_values.keys().map(String::as_str))
        .collect();
    let mut event_values: Vec<Enum> = files
        .iter()
        .flat_map(|l| l.spec.event_values.iter())
        .map(|(name, def)| Enum {
            name: name.clone(),
            doc: doc_lines(&def.doc, None),
            repr: def.repr,
            values: def
                .values
                .iter()
                .map(|v| EnumVariant {
                    name: naming::camel(&v.name),
                    code: Code::Str(match &v.value {
                        serde_yaml::Value::String(s) => s.clone(),
                        other => format!("{other:?}"),
                    }),
                    doc: v.doc.clone(),
                })
                .collect(),
            cfg: None,
        })
        .collect();
    event_values.sort_by(|a, b| a.name.cmp(&b.name));
    let events = files
        .iter()
        .flat_map(|l| l.spec.events.iter())
        .map(|ev| {
            let mut doc = doc_lines(&ev.doc, None);
            let url = doc_url(ev.doc_id.as_ref());
            if !url.is_empty() {
                doc.push(String::new());
                doc.push(format!("Official docs: {url}"));
            }
            Event {
                name: ev.name.clone(),
                event: ev.event.clone(),
                change_type: ev.change_type.clone(),
                doc,
                fields: ev
                    .fields
                    .iter()
                    .map(|f| EventField {
                        wire: f.name.clone(),
                        rust: naming::snake(&f.name),
                        ty: crate::validate::event_type(&f.ty, &values).expect("validated"),
                        required: f.required,
                        doc: f.doc.clone(),
                    })
                    .collect(),
            }
        })
        .collect();
    Ok(Api {
        groups,
        event_values,
        events,
        errcodes: crate::errcodes::lower(files),
    })
}

fn ty_default(ty: &Ty, defaultable: &BTreeSet<String>) -> bool {
    match ty {
        Ty::Scalar(_) | Ty::Json | Ty::List(_) => true,
        Ty::Struct(n) => defaultable.contains(n),
        Ty::Enum(_) => false,
    }
}

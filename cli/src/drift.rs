//! `wecom drift FILE`: captured answers against the spec, and the YAML to add for what the spec lacks.
//!
//! Reads JSON lines `{"path": "externalcontact/get", "body": {…}}`, compares each body with the spec's field
//! tree of its endpoint (the one compiled into this build, or with `--spec DIR` another copy of `spec/`,
//! loaded and checked by the generator as `speccheck` does), and prints per endpoint the drift found and the
//! YAML field entries to add (names, types guessed from the JSON kinds, `doc` left empty). Like the client's
//! report it shows no value of the answers. Exit 0: nothing drifted; 1: something did.

use crate::fail::{Fail, EXIT_API};
use clap::Args;
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use wecom_externalcontact::drift::{self, Drift, DriftKind, FieldShape, Shape};
use wecom_externalcontact_codegen as codegen;

/// `wecom drift` arguments.
#[derive(Args, Debug)]
pub(crate) struct DriftArgs {
    /// A file of JSON lines `{"path": "<endpoint path>", "body": {<the answer>}}` (`-`: stdin).
    pub file: PathBuf,
    /// Compare against this copy of `spec/` instead of the spec this build was made from (checked first,
    /// as `speccheck` does).
    #[arg(long)]
    pub spec: Option<PathBuf>,
}

/// The spec's answer fields per endpoint path.
type Trees = BTreeMap<String, &'static [FieldShape]>;

fn leak<T>(v: Vec<T>) -> &'static [T] {
    Box::leak(v.into_boxed_slice())
}

/// The field trees of a spec directory, built from the generator's model (leaked: the command runs once).
fn trees_from(dir: &Path) -> Result<Trees, Fail> {
    let sources = codegen::read_dir(dir, &format!("{}/", dir.display())).map_err(|e| Fail::config(e.to_string()))?;
    let api = codegen::model_from_sources(sources).map_err(|e| Fail::config(format!("the spec has mistakes:\n{e}")))?;
    let structs: BTreeMap<&str, &codegen::model::Struct> = api
        .groups
        .iter()
        .flat_map(|g| g.structs.iter())
        .map(|s| (s.name.as_str(), s))
        .collect();
    let enums: BTreeMap<&str, &codegen::model::Enum> = api
        .groups
        .iter()
        .flat_map(|g| g.enums.iter())
        .map(|e| (e.name.as_str(), e))
        .collect();
    let mut built: BTreeMap<String, &'static [FieldShape]> = BTreeMap::new();
    fn fields_of(
        name: &str,
        structs: &BTreeMap<&str, &codegen::model::Struct>,
        enums: &BTreeMap<&str, &codegen::model::Enum>,
        built: &mut BTreeMap<String, &'static [FieldShape]>,
    ) -> &'static [FieldShape] {
        if let Some(f) = built.get(name) {
            return f;
        }
        let Some(s) = structs.get(name) else { return &[] };
        let fields: Vec<FieldShape> = s
            .fields
            .iter()
            .map(|f| FieldShape {
                name: Box::leak(f.wire.clone().into_boxed_str()),
                shape: shape_of(&f.ty, structs, enums, built),
                required: f.required,
                flex: f.flex,
            })
            .collect();
        let fields = leak(fields);
        built.insert(name.to_string(), fields);
        fields
    }
    fn shape_of(
        ty: &codegen::model::Ty,
        structs: &BTreeMap<&str, &codegen::model::Struct>,
        enums: &BTreeMap<&str, &codegen::model::Enum>,
        built: &mut BTreeMap<String, &'static [FieldShape]>,
    ) -> Shape {
        use codegen::model::Scalar;
        use codegen::model::{Code, Ty};
        match ty {
            Ty::Scalar(Scalar::String) | Ty::Secret => Shape::String,
            Ty::Scalar(Scalar::Bool) => Shape::Bool,
            Ty::Scalar(Scalar::F64) => Shape::Number,
            Ty::Scalar(_) => Shape::Integer,
            Ty::Json => Shape::Any,
            Ty::List(t) => Shape::List(Box::leak(Box::new(shape_of(t, structs, enums, built)))),
            Ty::Struct(n) => Shape::Object(
                Box::leak(n.clone().into_boxed_str()),
                fields_of(n, structs, enums, built),
            ),
            Ty::Enum(n) => match enums.get(n.as_str()) {
                Some(e) if e.values.iter().all(|v| matches!(v.code, Code::Int(_))) => Shape::IntEnum(leak(
                    e.values
                        .iter()
                        .filter_map(|v| match v.code {
                            Code::Int(i) => Some(i),
                            Code::Str(_) => None,
                        })
                        .collect(),
                )),
                Some(e) => Shape::StrEnum(leak(
                    e.values
                        .iter()
                        .filter_map(|v| match &v.code {
                            Code::Str(s) => Some(&*Box::leak(s.clone().into_boxed_str())),
                            Code::Int(_) => None,
                        })
                        .collect(),
                )),
                None => Shape::Any,
            },
        }
    }
    let mut trees = Trees::new();
    for ep in api.groups.iter().flat_map(|g| g.endpoints.iter()) {
        let f = fields_of(&ep.response, &structs, &enums, &mut built);
        trees.insert(ep.path.clone(), f);
    }
    Ok(trees)
}

/// The spec type that holds the field at `path` (the parent object's type), walking `fields`.
fn parent_type(fields: &'static [FieldShape], path: &str, root: &str) -> String {
    let parts: Vec<&str> = path.split('.').collect();
    let mut ty = root.to_string();
    let mut current = fields;
    for part in &parts[..parts.len() - 1] {
        let name = part.trim_end_matches("[]");
        let Some(f) = current.iter().find(|f| f.name == name) else {
            return ty;
        };
        let mut shape = &f.shape;
        while let Shape::List(inner) = shape {
            shape = inner;
        }
        match shape {
            Shape::Object(n, inner) => {
                ty = n.to_string();
                current = inner;
            }
            _ => return ty,
        }
    }
    ty
}

/// The value at a drift path (`a.b[].c`): the first one found, for guessing a type (never printed).
fn value_at<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    let mut cur = v;
    for part in path.split('.') {
        let (name, list) = match part.strip_suffix("[]") {
            Some(n) => (n, true),
            None => (part, false),
        };
        cur = cur.get(name)?;
        if list {
            cur = cur.as_array()?.first()?;
        }
    }
    Some(cur)
}

/// A YAML flow entry for a field, its type guessed from the JSON kind (objects with their fields).
fn yaml_field(name: &str, v: &Value) -> String {
    format!("{{ name: {name}, {}, doc: \"\" }}", yaml_type(v))
}

fn yaml_type(v: &Value) -> String {
    match v {
        Value::Bool(_) => "type: bool".into(),
        Value::Number(n) if n.is_i64() || n.is_u64() => "type: i64".into(),
        Value::Number(_) => "type: f64".into(),
        Value::String(_) => "type: string".into(),
        Value::Null => "type: json".into(),
        Value::Array(items) => match items.first() {
            Some(Value::Object(o)) => format!("type: \"[object]\", fields: [{}]", object_fields(o)),
            Some(first) => {
                let t = yaml_type(first);
                format!("type: \"[{}]\"", t.trim_start_matches("type: ").trim_matches('"'))
            }
            None => "type: \"[json]\"".into(),
        },
        Value::Object(o) if o.is_empty() => "type: json".into(),
        Value::Object(o) => format!("type: object, fields: [{}]", object_fields(o)),
    }
}

fn object_fields(o: &serde_json::Map<String, Value>) -> String {
    o.iter().map(|(k, v)| yaml_field(k, v)).collect::<Vec<_>>().join(", ")
}

/// The command.
pub(crate) fn run(args: DriftArgs) -> Result<(), Fail> {
    let custom = match &args.spec {
        Some(dir) => Some(trees_from(dir)?),
        None => None,
    };
    let fields_for = |path: &str| -> Option<&'static [FieldShape]> {
        match &custom {
            Some(t) => t.get(path).copied(),
            None => drift::response_fields(path),
        }
    };
    let reader: Box<dyn BufRead> = if args.file.as_os_str() == "-" {
        Box::new(std::io::BufReader::new(std::io::stdin()))
    } else {
        let f = std::fs::File::open(&args.file)
            .map_err(|e| Fail::config(format!("cannot read {}: {e}", args.file.display())))?;
        Box::new(std::io::BufReader::new(f))
    };
    // Per endpoint: each distinct drift, and for an unknown field the first value seen (to guess its type).
    let mut found: BTreeMap<String, BTreeMap<Drift, Option<Value>>> = BTreeMap::new();
    let mut answers = 0;
    for (i, line) in reader.lines().enumerate() {
        let line = line.map_err(|e| Fail::config(format!("cannot read {}: {e}", args.file.display())))?;
        if line.trim().is_empty() {
            continue;
        }
        let entry: Value = serde_json::from_str(&line)
            .map_err(|e| Fail::usage(format!("line {}: not JSON (column {})", i + 1, e.column())))?;
        let (Some(path), Some(body)) = (entry.get("path").and_then(Value::as_str), entry.get("body")) else {
            return Err(Fail::usage(format!(
                "line {}: expected {{\"path\": \"<endpoint>\", \"body\": {{…}}}}",
                i + 1
            )));
        };
        let Some(fields) = fields_for(path) else {
            return Err(Fail::usage(format!(
                "line {}: no endpoint `{path}` in the spec (`wecom endpoints` lists them)",
                i + 1
            )));
        };
        answers += 1;
        for d in drift::compare_with(fields, path, body) {
            let value = matches!(d.kind, DriftKind::UnknownField { .. })
                .then(|| value_at(body, &d.path).cloned())
                .flatten();
            found.entry(path.to_string()).or_default().entry(d).or_insert(value);
        }
    }
    let mut out = std::io::stdout().lock();
    let total: usize = found.values().map(BTreeMap::len).sum();
    let mut text = String::new();
    for (endpoint, drifts) in &found {
        let fields = fields_for(endpoint).unwrap_or(&[]);
        let root = format!("the `response:` of endpoint {endpoint}");
        text.push_str(&format!("{endpoint}: {} drift(s)\n", drifts.len()));
        for d in drifts.keys() {
            let shown = d.to_string();
            text.push_str(&format!(
                "  {}\n",
                shown.strip_prefix(&format!("{endpoint}: ")).unwrap_or(&shown)
            ));
        }
        let mut yaml: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (d, value) in drifts {
            let name = d.path.rsplit('.').next().unwrap_or(&d.path);
            match (&d.kind, value) {
                (DriftKind::UnknownField { .. }, Some(v)) => {
                    let parent = parent_type(fields, &d.path, &root);
                    yaml.entry(parent)
                        .or_default()
                        .push(format!("- {}", yaml_field(name, v)));
                }
                (DriftKind::KindMismatch { expected, found }, _) => text.push_str(&format!(
                    "  # {}: the spec says {expected}, the answers carry {found}: check the docs; if WeCom sends \
                     both, mark the field `flex: true`\n",
                    d.path
                )),
                (DriftKind::UnknownEnumValue { .. }, _) => text.push_str(&format!(
                    "  # {}: a code outside the enum's list: add it to the enum's `values` (the code is not shown \
                     here; read it from your captured data)\n",
                    d.path
                )),
                (DriftKind::MissingRequired, _) => text.push_str(&format!(
                    "  # {}: required in the spec but absent: check the docs; drop `required: true` if WeCom \
                     leaves it out\n",
                    d.path
                )),
                _ => {}
            }
        }
        for (parent, entries) in yaml {
            let place = if parent.starts_with("the `response:`") {
                parent
            } else {
                format!("the `fields:` of type {parent}")
            };
            text.push_str(&format!("  # YAML to add to {place} (fill in `doc`):\n"));
            for e in entries {
                text.push_str(&format!("  {e}\n"));
            }
        }
    }
    text.push_str(&format!(
        "{answers} answer(s), {total} drift(s){}\n",
        if total == 0 { ": the spec covers them" } else { "" }
    ));
    out.write_all(text.as_bytes()).map_err(Fail::io)?;
    if total > 0 {
        return Err(Fail {
            code: EXIT_API,
            message: format!("{total} drift(s) from the spec"),
        });
    }
    Ok(())
}

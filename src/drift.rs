//! Drift reports: what production answers (and callbacks) carry that the spec does not say.
//!
//! The typed models ignore unknown fields and keep unknown enum codes, so a field WeCom adds or retypes goes
//! unnoticed. With [`ClientBuilder::drift_sampling`](crate::ClientBuilder::drift_sampling) a share of the
//! JSON answers (off by default) is also compared against the spec's field tree of its endpoint (generated
//! from `spec/` as data), and [`check_event`] does the same for a decoded callback event against
//! `events.yaml`. Four kinds of drift are found:
//!
//! - a field the spec does not have ([`DriftKind::UnknownField`], with its JSON kind),
//! - a field whose JSON kind differs from the spec's type ([`DriftKind::KindMismatch`]),
//! - an enum code outside the spec's list ([`DriftKind::UnknownEnumValue`]),
//! - a required field absent ([`DriftKind::MissingRequired`]).
//!
//! Each distinct (endpoint, field path, kind of drift) is reported once per process: as a `warn!` event of
//! the tracing target `wecom_externalcontact::drift`, and in [`report`]. A report holds wire names of the
//! spec's and the answer's fields and JSON kinds only, never a value: it can be pasted into a public bug
//! report. `wecom drift FILE` reads captured answers and prints the same findings with the YAML to add to
//! the spec; spec/README.md describes the way from a report to a release.

use crate::callback::Event;
use serde_json::{Map, Value};
use std::collections::BTreeSet;
use std::fmt;
use std::sync::{Mutex, OnceLock};

mod shapes {
    include!(concat!(env!("OUT_DIR"), "/drift_shapes.rs"));
}

/// The tracing target of drift reports.
pub const TARGET: &str = "wecom_externalcontact::drift";

/// The spec's type of a field, as the drift check sees it (generated data; see `drift_shapes.rs`).
#[doc(hidden)]
#[derive(Debug, Clone, Copy)]
pub enum Shape {
    /// A string.
    String,
    /// true/false.
    Bool,
    /// An integer.
    Integer,
    /// Any number.
    Number,
    /// Any JSON (`json` in the spec): not looked into.
    Any,
    /// A list of the inner shape.
    List(&'static Shape),
    /// An object of the spec type named (empty for an event's list element) with these fields.
    Object(&'static str, &'static [FieldShape]),
    /// An integer enum with these codes (a string of digits is accepted too).
    IntEnum(&'static [i64]),
    /// A string enum with these codes (a number is accepted too).
    StrEnum(&'static [&'static str]),
}

/// A field of the spec's tree (generated data).
#[doc(hidden)]
#[derive(Debug, Clone, Copy)]
pub struct FieldShape {
    /// Wire name.
    pub name: &'static str,
    /// Type.
    pub shape: Shape,
    /// Always present per the docs.
    pub required: bool,
    /// Sent as a number or a string.
    pub flex: bool,
}

/// The kind of a JSON value (what a report says instead of the value).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum JsonKind {
    /// `null`
    Null,
    /// `true`/`false`
    Bool,
    /// A number without fraction.
    Integer,
    /// A number with a fraction.
    Number,
    /// A string.
    String,
    /// An array.
    Array,
    /// An object.
    Object,
}

impl JsonKind {
    /// The kind of `v`.
    pub fn of(v: &Value) -> JsonKind {
        match v {
            Value::Null => JsonKind::Null,
            Value::Bool(_) => JsonKind::Bool,
            Value::Number(n) if n.is_i64() || n.is_u64() => JsonKind::Integer,
            Value::Number(_) => JsonKind::Number,
            Value::String(_) => JsonKind::String,
            Value::Array(_) => JsonKind::Array,
            Value::Object(_) => JsonKind::Object,
        }
    }

    /// Lower-case name (`integer`, `string`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            JsonKind::Null => "null",
            JsonKind::Bool => "bool",
            JsonKind::Integer => "integer",
            JsonKind::Number => "number",
            JsonKind::String => "string",
            JsonKind::Array => "array",
            JsonKind::Object => "object",
        }
    }
}

impl fmt::Display for JsonKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What differs from the spec at one field path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum DriftKind {
    /// The spec has no such field; the answer carries one of this JSON kind.
    UnknownField {
        /// Its JSON kind.
        found: JsonKind,
    },
    /// The field's JSON kind is not the spec's type.
    KindMismatch {
        /// What the spec says (`string`, `integer`, `object`, `array`, …).
        expected: &'static str,
        /// What came.
        found: JsonKind,
    },
    /// An enum code outside the spec's list (the code itself is not reported).
    UnknownEnumValue {
        /// Its JSON kind.
        found: JsonKind,
    },
    /// A field the spec marks required is absent.
    MissingRequired,
    /// A callback event (`Event`/`InfoType`, `ChangeType`) events.yaml does not list.
    UnknownEvent,
}

impl DriftKind {
    /// `unknown_field`, `kind_mismatch`, `unknown_enum_value`, `missing_required` or `unknown_event`: the
    /// kind of drift, which together with the endpoint and the path makes a report distinct.
    pub fn label(&self) -> &'static str {
        match self {
            DriftKind::UnknownField { .. } => "unknown_field",
            DriftKind::KindMismatch { .. } => "kind_mismatch",
            DriftKind::UnknownEnumValue { .. } => "unknown_enum_value",
            DriftKind::MissingRequired => "missing_required",
            DriftKind::UnknownEvent => "unknown_event",
        }
    }
}

/// One drift: where and what. Holds no value of the answer.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub struct Drift {
    /// The endpoint path (`externalcontact/get`), or `callback:<Event>/<ChangeType>` for a callback event.
    pub endpoint: String,
    /// The field path: wire names joined by `.`, `[]` for the items of a list (`follow_user[].tags[].type`).
    pub path: String,
    /// What differs.
    pub kind: DriftKind,
}

impl Drift {
    /// A drift of `endpoint` at `path`.
    pub fn new(endpoint: impl Into<String>, path: impl Into<String>, kind: DriftKind) -> Drift {
        Drift {
            endpoint: endpoint.into(),
            path: path.into(),
            kind,
        }
    }
}

impl fmt::Display for Drift {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.endpoint, self.path, self.kind.label())?;
        match self.kind {
            DriftKind::UnknownField { found } | DriftKind::UnknownEnumValue { found } => write!(f, " ({found})"),
            DriftKind::KindMismatch { expected, found } => write!(f, " (spec: {expected}, found: {found})"),
            _ => Ok(()),
        }
    }
}

/// Compares a JSON answer against the spec's fields of `endpoint` and returns every drift found, in path order
/// (`errcode`/`errmsg` are not fields). `None` when the endpoint is not in the spec. Nothing is recorded: this
/// is what the client's sampling, [`check_event`] and `wecom drift` use.
pub fn compare(endpoint: &str, answer: &Value) -> Option<Vec<Drift>> {
    Some(compare_with(shapes::response_shape(endpoint)?, endpoint, answer))
}

/// The spec's fields of an endpoint's answer (as compiled into this build), for tools that walk them.
#[doc(hidden)]
pub fn response_fields(endpoint: &str) -> Option<&'static [FieldShape]> {
    shapes::response_shape(endpoint)
}

/// [`compare`] against a given field tree (e.g. one built from another copy of the spec by `wecom drift
/// --spec`).
#[doc(hidden)]
pub fn compare_with(fields: &[FieldShape], endpoint: &str, answer: &Value) -> Vec<Drift> {
    let mut found = Vec::new();
    if let Value::Object(obj) = answer {
        walk(fields, obj, "", &["errcode", "errmsg"], &mut |path, kind| {
            found.push(Drift {
                endpoint: endpoint.to_string(),
                path,
                kind,
            });
        });
    } else {
        found.push(Drift {
            endpoint: endpoint.to_string(),
            path: String::new(),
            kind: DriftKind::KindMismatch {
                expected: "object",
                found: JsonKind::of(answer),
            },
        });
    }
    found.sort();
    found.dedup();
    found
}

const APP_ENVELOPE: [&str; 6] = [
    "ToUserName",
    "FromUserName",
    "CreateTime",
    "MsgType",
    "Event",
    "ChangeType",
];
const SUITE_ENVELOPE: [&str; 5] = ["SuiteId", "AuthCorpId", "InfoType", "TimeStamp", "ChangeType"];

/// Compares a decoded callback event (its JSON form: every element it carried) against events.yaml, records
/// what differs (once per process, like answers) and returns the drift found in this event.
pub fn check_event(event: &Event) -> Vec<Drift> {
    let json = serde_json::to_value(event).unwrap_or(Value::Null);
    let Value::Object(obj) = json else {
        return Vec::new();
    };
    let name = obj
        .get("Event")
        .or_else(|| obj.get("InfoType"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let change = obj
        .get("ChangeType")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let endpoint = if change.is_empty() {
        format!("callback:{name}")
    } else {
        format!("callback:{name}/{change}")
    };
    let mut found = Vec::new();
    match shapes::event_shape(&name, &change) {
        Some(fields) => {
            let envelope: Vec<&str> = APP_ENVELOPE.iter().chain(SUITE_ENVELOPE.iter()).copied().collect();
            walk(fields, &obj, "", &envelope, &mut |path, kind| {
                found.push(Drift {
                    endpoint: endpoint.clone(),
                    path,
                    kind,
                })
            });
        }
        None => found.push(Drift {
            endpoint: endpoint.clone(),
            path: String::new(),
            kind: DriftKind::UnknownEvent,
        }),
    }
    found.sort();
    found.dedup();
    for d in &found {
        record(d);
    }
    found
}

/// Every drift recorded in this process so far (each distinct endpoint, path and kind of drift once), sorted.
pub fn report() -> Vec<Drift> {
    let seen = seen().lock().unwrap_or_else(|p| p.into_inner());
    seen.iter().map(|(_, d)| d.clone()).collect()
}

type Key = (String, String, &'static str);

fn seen() -> &'static Mutex<BTreeSet<(Key, Drift)>> {
    static SEEN: OnceLock<Mutex<BTreeSet<(Key, Drift)>>> = OnceLock::new();
    SEEN.get_or_init(Default::default)
}

/// Records a drift: logged and kept the first time its (endpoint, path, kind of drift) is seen.
fn record(d: &Drift) {
    let key = (d.endpoint.clone(), d.path.clone(), d.kind.label());
    let mut seen = seen().lock().unwrap_or_else(|p| p.into_inner());
    if seen.iter().any(|(k, _)| *k == key) {
        return;
    }
    seen.insert((key, d.clone()));
    drop(seen);
    let (expected, found) = match d.kind {
        DriftKind::UnknownField { found } | DriftKind::UnknownEnumValue { found } => ("", found.as_str()),
        DriftKind::KindMismatch { expected, found } => (expected, found.as_str()),
        _ => ("", ""),
    };
    tracing::warn!(
        target: "wecom_externalcontact::drift",
        endpoint = %d.endpoint,
        path = %d.path,
        drift = d.kind.label(),
        expected,
        found,
        "an answer differs from the spec"
    );
}

/// The client's side: a sampled share of answers is compared and what differs recorded.
#[derive(Debug, Default)]
pub(crate) struct Sampler {
    /// Every `period`-th answer is checked; 0: off.
    period: u64,
    count: std::sync::atomic::AtomicU64,
}

impl Sampler {
    /// A share of answers in [0, 1]: 0 off, 1 every answer, 0.01 one in a hundred.
    pub(crate) fn new(share: f64) -> Sampler {
        let period = if share.is_nan() || share <= 0.0 {
            0
        } else if share >= 1.0 {
            1
        } else {
            (1.0 / share).round() as u64
        };
        Sampler {
            period,
            count: Default::default(),
        }
    }

    /// Checks `body` (an answer of `endpoint` that decoded without error) if it is its turn.
    #[inline]
    pub(crate) fn maybe_check(&self, endpoint: &str, body: &[u8]) {
        if self.period == 0 {
            return;
        }
        let n = self.count.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if !n.is_multiple_of(self.period) {
            return;
        }
        let Ok(answer) = serde_json::from_slice::<Value>(body) else {
            return;
        };
        for d in compare(endpoint, &answer).unwrap_or_default() {
            record(&d);
        }
    }
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}.{name}")
    }
}

fn walk(
    fields: &[FieldShape],
    obj: &Map<String, Value>,
    prefix: &str,
    skip: &[&str],
    out: &mut dyn FnMut(String, DriftKind),
) {
    for (k, v) in obj {
        if prefix.is_empty() && skip.contains(&k.as_str()) {
            continue;
        }
        match fields.iter().find(|f| f.name == k) {
            Some(f) => value(&f.shape, f.flex, v, &join(prefix, k), out),
            None => out(join(prefix, k), DriftKind::UnknownField { found: JsonKind::of(v) }),
        }
    }
    for f in fields.iter().filter(|f| f.required) {
        if !obj.contains_key(f.name) {
            out(join(prefix, f.name), DriftKind::MissingRequired);
        }
    }
}

fn value(shape: &Shape, flex: bool, v: &Value, path: &str, out: &mut dyn FnMut(String, DriftKind)) {
    let kind = JsonKind::of(v);
    if kind == JsonKind::Null {
        return; // an optional value left empty
    }
    let mismatch = |expected: &'static str, out: &mut dyn FnMut(String, DriftKind)| {
        out(path.to_string(), DriftKind::KindMismatch { expected, found: kind })
    };
    match shape {
        Shape::Any => {}
        Shape::String => {
            if !(kind == JsonKind::String || flex && kind == JsonKind::Integer) {
                mismatch("string", out)
            }
        }
        Shape::Integer => {
            let digits = v.as_str().is_some_and(|s| s.trim().parse::<i128>().is_ok());
            if !(kind == JsonKind::Integer || flex && digits) {
                mismatch("integer", out)
            }
        }
        Shape::Number => {
            if !matches!(kind, JsonKind::Integer | JsonKind::Number) {
                mismatch("number", out)
            }
        }
        Shape::Bool => {
            if !(kind == JsonKind::Bool || flex && matches!(kind, JsonKind::Integer | JsonKind::String)) {
                mismatch("bool", out)
            }
        }
        Shape::IntEnum(codes) => {
            let code = v.as_i64().or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()));
            match code {
                Some(c) if codes.contains(&c) => {}
                Some(_) => out(path.to_string(), DriftKind::UnknownEnumValue { found: kind }),
                None => mismatch("integer", out),
            }
        }
        Shape::StrEnum(codes) => {
            let code = match v {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            };
            match code {
                Some(c) if codes.contains(&c.as_str()) => {}
                Some(_) => out(path.to_string(), DriftKind::UnknownEnumValue { found: kind }),
                None => mismatch("string", out),
            }
        }
        Shape::List(inner) => match v {
            Value::Array(items) => {
                let p = format!("{path}[]");
                for item in items {
                    value(inner, false, item, &p, out);
                }
            }
            _ => mismatch("array", out),
        },
        Shape::Object(_, fields) => match v {
            Value::Object(obj) => walk(fields, obj, path, &[], out),
            _ => mismatch("object", out),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sampling_periods() {
        assert_eq!(Sampler::new(0.0).period, 0);
        assert_eq!(Sampler::new(f64::NAN).period, 0);
        assert_eq!(Sampler::new(1.0).period, 1);
        assert_eq!(Sampler::new(0.01).period, 100);
        assert_eq!(Sampler::new(0.3).period, 3);
    }
}

//! Type expressions of the spec (`string`, `[Tag]`, `object`, ...).

/// A parsed type expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TyExpr {
    /// A built-in scalar.
    Scalar(Scalar),
    /// Any JSON value.
    Json,
    /// An inline object (its fields are given beside the type).
    Object,
    /// A list.
    List(Box<TyExpr>),
    /// A named type or enum.
    Named(String),
}

/// Built-in scalars.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scalar {
    /// `string`
    String,
    /// `bool`
    Bool,
    /// `i32`
    I32,
    /// `i64`
    I64,
    /// `u32`
    U32,
    /// `u64`
    U64,
    /// `f64`
    F64,
    /// `unix_time`: unix seconds, the runtime's `UnixTime` (an `i64` on the wire).
    UnixTime,
}

impl Scalar {
    /// Is it an integer type?
    pub fn is_int(self) -> bool {
        matches!(
            self,
            Scalar::I32 | Scalar::I64 | Scalar::U32 | Scalar::U64 | Scalar::UnixTime
        )
    }
    /// The spec spelling.
    pub fn spec_name(self) -> &'static str {
        match self {
            Scalar::String => "string",
            Scalar::Bool => "bool",
            Scalar::I32 => "i32",
            Scalar::I64 => "i64",
            Scalar::U32 => "u32",
            Scalar::U64 => "u64",
            Scalar::F64 => "f64",
            Scalar::UnixTime => "unix_time",
        }
    }
    /// Does a JSON integer fit?
    pub fn fits(self, n: &serde_json::Number) -> bool {
        match self {
            Scalar::I32 => n.as_i64().is_some_and(|v| i32::try_from(v).is_ok()),
            Scalar::I64 | Scalar::UnixTime => n.as_i64().is_some(),
            Scalar::U32 => n.as_u64().is_some_and(|v| u32::try_from(v).is_ok()),
            Scalar::U64 => n.as_u64().is_some(),
            Scalar::F64 => true,
            _ => false,
        }
    }
}

/// Parses a type expression.
pub(crate) fn parse(s: &str) -> Result<TyExpr, String> {
    let t = s.trim();
    if let Some(inner) = t.strip_prefix('[') {
        let inner = inner
            .strip_suffix(']')
            .ok_or_else(|| format!("type `{s}`: a list is written `[T]`"))?;
        return Ok(TyExpr::List(Box::new(parse(inner)?)));
    }
    Ok(match t {
        "string" => TyExpr::Scalar(Scalar::String),
        "bool" => TyExpr::Scalar(Scalar::Bool),
        "i32" => TyExpr::Scalar(Scalar::I32),
        "i64" => TyExpr::Scalar(Scalar::I64),
        "unix_time" => TyExpr::Scalar(Scalar::UnixTime),
        "u32" => TyExpr::Scalar(Scalar::U32),
        "u64" => TyExpr::Scalar(Scalar::U64),
        "f64" => TyExpr::Scalar(Scalar::F64),
        "json" => TyExpr::Json,
        "object" => TyExpr::Object,
        "" => return Err("empty type".into()),
        name if name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') && name.starts_with(|c: char| c.is_ascii_uppercase()) => {
            TyExpr::Named(name.to_string())
        }
        other => return Err(format!("unknown type `{other}` (built-ins: string, bool, i32, i64, u32, u64, f64, unix_time, json, object, [T]; named types start with an upper-case letter)")),
    })
}

impl TyExpr {
    /// The innermost element type of nested lists.
    pub(crate) fn innermost(&self) -> &TyExpr {
        match self {
            TyExpr::List(t) => t.innermost(),
            t => t,
        }
    }
}

/// Why an integer field must be typed `unix_time`, if it must: its doc says it holds unix seconds (`unix`,
/// 时间戳) or its name says it is a moment (`…time`, `timestamp`) and its doc does not call it a duration
/// (时长). `None` when the field is fine as it is.
pub(crate) fn unix_time_required(name: &str, ty: &TyExpr, doc: &str) -> Option<String> {
    let TyExpr::Scalar(s) = ty else { return None };
    if !s.is_int() || *s == Scalar::UnixTime {
        return None;
    }
    let doc_lower = doc.to_lowercase();
    let by_doc = doc_lower.contains("unix") || doc.contains("时间戳");
    let by_name = (name.ends_with("time") || name == "timestamp") && !doc.contains("时长");
    (by_doc || by_name).then(|| {
        format!(
            "`{name}` holds unix seconds: write `type: unix_time` (the runtime's `UnixTime`; a duration's doc \
             says 时长)"
        )
    })
}

/// The type of a callback event field, parsed once by `load`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum EventTy {
    /// `string`: `String`.
    #[default]
    String,
    /// `secret`: `Secret`, a string that `Debug` never shows (tickets, auth codes).
    Secret,
    /// `u64`
    U64,
    /// `i64`
    I64,
    /// `unix_time`: `crate::time::UnixTime`, unix seconds.
    UnixTime,
    /// `[string]`: `Vec<String>`, every `<Item>` of a list element.
    Items,
    /// An `event_values` enum, by name (`validate` checks that the spec defines it).
    Values(String),
}

/// What an event field's `type` may be, for messages.
pub(crate) const EVENT_TYPES: &str = "string, secret, u64, i64, unix_time, [string], or an event_values name";

/// Parses an event field type (`string`, `secret`, `u64`, `i64`, `unix_time`, `[string]` or an `event_values` name).
pub(crate) fn parse_event(s: &str) -> Result<EventTy, String> {
    Ok(match s.trim() {
        "string" => EventTy::String,
        "secret" => EventTy::Secret,
        "u64" => EventTy::U64,
        "i64" => EventTy::I64,
        "unix_time" => EventTy::UnixTime,
        "[string]" => EventTy::Items,
        n if !n.is_empty() && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') => {
            EventTy::Values(n.to_string())
        }
        other => return Err(format!("unknown event field type `{other}` ({EVENT_TYPES})")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses() {
        assert_eq!(parse("string"), Ok(TyExpr::Scalar(Scalar::String)));
        assert_eq!(
            parse("[[u32]]"),
            Ok(TyExpr::List(Box::new(TyExpr::List(Box::new(TyExpr::Scalar(
                Scalar::U32
            ))))))
        );
        assert_eq!(parse("CorpTag"), Ok(TyExpr::Named("CorpTag".into())));
        assert!(parse("[string").unwrap_err().contains("[T]"));
        assert!(parse("int").unwrap_err().contains("unknown type `int`"));
    }

    #[test]
    fn parses_event_types() {
        assert_eq!(parse_event(" u64 "), Ok(EventTy::U64));
        assert_eq!(parse_event("[string]"), Ok(EventTy::Items));
        assert_eq!(parse_event("secret"), Ok(EventTy::Secret));
        assert_eq!(parse_event("FailReason"), Ok(EventTy::Values("FailReason".into())));
        assert!(parse_event("[u64]")
            .unwrap_err()
            .contains("unknown event field type `[u64]`"));
        assert!(parse_event("").is_err());
    }
}

//! Generator errors: every one names the spec file and, where it applies, the line, the [`Item`] it is about
//! and the field. Every stage reports into one [`Errors`] collector through [`Scope`]s.

use std::fmt;

/// A mistake in the spec (or an I/O failure reading it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecError {
    /// The spec file, e.g. `spec/tag.yaml`.
    pub file: String,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// The endpoint, type, enum, event, ... it is about, when it applies.
    pub item: Option<Item>,
    /// The field path inside the item (`request.owner_filter.userid_list`), when it applies.
    pub field: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl SpecError {
    /// An error about a whole file.
    pub fn file(file: &str, message: impl Into<String>) -> Self {
        SpecError {
            file: file.to_string(),
            line: None,
            item: None,
            field: None,
            message: message.into(),
        }
    }
}

/// What a spec error is about: an item of a spec file.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Item {
    /// An endpoint, by path (`endpoint externalcontact/get`).
    Endpoint(String),
    /// A named object type (`type CorpTag`).
    Type(String),
    /// A named enum of the API models (`enum Gender`).
    Enum(String),
    /// A string-code enum of callback event fields (`event value FailReason`).
    EventValue(String),
    /// A callback event, by variant name (`event AddExternalContact`).
    Event(String),
    /// One of WeCom's error codes (`errcode 40001`).
    Errcode(i64),
    /// The `errcodes` list, where an entry cannot be read (`errcodes`).
    Errcodes,
    /// The `limits` block (`limits`).
    Limits,
}

impl fmt::Display for Item {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Item::Endpoint(path) => write!(f, "endpoint {path}"),
            Item::Type(name) => write!(f, "type {name}"),
            Item::Enum(name) => write!(f, "enum {name}"),
            Item::EventValue(name) => write!(f, "event value {name}"),
            Item::Event(name) => write!(f, "event {name}"),
            Item::Errcode(code) => write!(f, "errcode {code}"),
            Item::Errcodes => f.write_str("errcodes"),
            Item::Limits => f.write_str("limits"),
        }
    }
}

/// Where an error is: `file:line: item: field path`, each part when known.
struct Place<'a> {
    file: &'a str,
    line: Option<usize>,
    item: Option<&'a Item>,
    field: Option<&'a str>,
}

impl fmt::Display for Place<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(item) = self.item {
            write!(f, ": {item}")?;
        }
        if let Some(field) = self.field {
            write!(f, ": field {field}")?;
        }
        Ok(())
    }
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let place = Place {
            file: &self.file,
            line: self.line,
            item: self.item.as_ref(),
            field: self.field.as_deref(),
        };
        write!(f, "{place}: {}", self.message)
    }
}

impl std::error::Error for SpecError {}

/// All the mistakes found in one run, so a maintainer sees them together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecErrors(pub Vec<SpecError>);

impl fmt::Display for SpecErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} error(s) in the spec:", self.0.len())?;
        for e in &self.0 {
            writeln!(f, "  {e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for SpecErrors {}

/// Where errors go while a stage walks the spec: every [`Scope`] of one run pushes into one `Errors`.
#[derive(Debug, Default)]
pub(crate) struct Errors(std::cell::RefCell<Vec<SpecError>>);

impl Errors {
    /// A scope for errors about `file`.
    pub(crate) fn file<'s>(&'s self, file: &'s str) -> Scope<'s> {
        Scope {
            sink: self,
            file,
            item: None,
            field: None,
            line: None,
        }
    }

    /// Records an error made elsewhere.
    pub(crate) fn push(&self, e: SpecError) {
        self.0.borrow_mut().push(e);
    }

    /// `Ok` when nothing was reported so far, else every error, sorted by file and line.
    pub(crate) fn check(&self) -> Result<(), SpecErrors> {
        let mut errors = self.0.borrow().clone();
        if errors.is_empty() {
            return Ok(());
        }
        errors.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
        Err(SpecErrors(errors))
    }
}

/// The place an error is about — file, item, field path, line — narrowed step by step as a stage walks into
/// an item; [`Scope::err`] reports a message there. One short call per check.
#[derive(Debug, Clone)]
pub(crate) struct Scope<'s> {
    sink: &'s Errors,
    file: &'s str,
    item: Option<Item>,
    field: Option<String>,
    line: Option<usize>,
}

impl<'s> Scope<'s> {
    /// The scope of an item (an endpoint, a type, ...) that starts at `line`.
    pub(crate) fn item(&self, item: Item, line: usize) -> Self {
        Scope {
            item: Some(item),
            field: None,
            line: Some(line),
            ..self.clone()
        }
    }

    /// The scope of a field (a path inside the item, e.g. `request.owner_filter.userid_list`) at `line`.
    pub(crate) fn field(&self, field: impl Into<String>, line: usize) -> Self {
        Scope {
            field: Some(field.into()),
            line: Some(line),
            ..self.clone()
        }
    }

    /// The same place, at another line (a key of the item).
    pub(crate) fn line(&self, line: usize) -> Self {
        Scope {
            line: Some(line),
            ..self.clone()
        }
    }

    /// Where this scope is, as messages write it (`spec/g.yaml:12: endpoint x: field request.y`), to name
    /// the first owner of something claimed twice.
    pub(crate) fn place(&self) -> String {
        Place {
            file: self.file,
            line: self.line,
            item: self.item.as_ref(),
            field: self.field.as_deref(),
        }
        .to_string()
    }

    /// Reports `message` here.
    pub(crate) fn err(&self, message: impl Into<String>) {
        self.sink.push(SpecError {
            file: self.file.to_string(),
            line: self.line,
            item: self.item.clone(),
            field: self.field.clone(),
            message: message.into(),
        });
    }
}

//! Generator errors: every one names the spec file and, where it applies, the endpoint (or type) and field.

use std::fmt;

/// A mistake in the spec (or an I/O failure reading it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecError {
    /// The spec file, e.g. `spec/tag.yaml`.
    pub file: String,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// `endpoint <path>`, `type <Name>` or `enum <Name>`, when it applies.
    pub item: Option<String>,
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
    /// An error about an item (endpoint, type or enum) of a file.
    pub fn item(file: &str, item: impl Into<String>, message: impl Into<String>) -> Self {
        SpecError {
            item: Some(item.into()),
            ..Self::file(file, message)
        }
    }
    /// An error about one field of an item.
    pub fn field(file: &str, item: impl Into<String>, field: impl Into<String>, message: impl Into<String>) -> Self {
        SpecError {
            field: Some(field.into()),
            ..Self::item(file, item, message)
        }
    }
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(item) = &self.item {
            write!(f, ": {item}")?;
        }
        if let Some(field) = &self.field {
            write!(f, ": field {field}")?;
        }
        write!(f, ": {}", self.message)
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
pub struct Errors(std::cell::RefCell<Vec<SpecError>>);

impl Errors {
    /// A scope for errors about `file`.
    pub fn file<'s>(&'s self, file: &'s str) -> Scope<'s> {
        Scope {
            sink: self,
            file,
            item: None,
            field: None,
            line: None,
        }
    }

    /// Records an error made elsewhere.
    pub fn push(&self, e: SpecError) {
        self.0.borrow_mut().push(e);
    }

    /// Whether nothing was reported.
    pub fn is_empty(&self) -> bool {
        self.0.borrow().is_empty()
    }

    /// Everything reported, in order.
    pub fn into_vec(self) -> Vec<SpecError> {
        self.0.into_inner()
    }
}

/// The place an error is about — file, item, field path, line — narrowed step by step as a stage walks into
/// an item; [`Scope::err`] reports a message there. One short call per check.
#[derive(Debug, Clone)]
pub struct Scope<'s> {
    sink: &'s Errors,
    file: &'s str,
    item: Option<String>,
    field: Option<String>,
    line: Option<usize>,
}

impl<'s> Scope<'s> {
    /// The scope of an item (`endpoint <path>`, `type <Name>`, ...) that starts at `line`.
    pub fn item(&self, item: impl Into<String>, line: usize) -> Self {
        Scope {
            item: Some(item.into()),
            field: None,
            line: Some(line),
            ..self.clone()
        }
    }

    /// The scope of a field (a path inside the item, e.g. `request.owner_filter.userid_list`) at `line`.
    pub fn field(&self, field: impl Into<String>, line: usize) -> Self {
        Scope {
            field: Some(field.into()),
            line: Some(line),
            ..self.clone()
        }
    }

    /// The same place, at another line (a key of the item).
    pub fn line(&self, line: usize) -> Self {
        Scope {
            line: Some(line),
            ..self.clone()
        }
    }

    /// The file this scope is in.
    pub fn file_name(&self) -> &'s str {
        self.file
    }

    /// Reports `message` here.
    pub fn err(&self, message: impl Into<String>) {
        self.sink.push(SpecError {
            file: self.file.to_string(),
            line: self.line,
            item: self.item.clone(),
            field: self.field.clone(),
            message: message.into(),
        });
    }
}

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

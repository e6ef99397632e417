//! Stage 1: YAML text into spec structs. `parse` is pure; `read_dir` is the only I/O of the generator.

use crate::error::{SpecError, SpecErrors};
use crate::spec::SpecFile;
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
pub struct Loaded {
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

/// Parses one source. A YAML or shape error names the file and the line serde_yaml reports.
pub fn parse(source: Source) -> Result<Loaded, SpecError> {
    match serde_yaml::from_str::<SpecFile>(&source.text) {
        Ok(spec) => Ok(Loaded { source, spec }),
        Err(e) => {
            let mut err = SpecError::file(&source.file, e.to_string());
            err.line = e.location().map(|l| l.line());
            Err(err)
        }
    }
}

/// Parses all sources, collecting every error.
pub fn parse_all(sources: Vec<Source>) -> Result<Vec<Loaded>, SpecErrors> {
    let mut ok = Vec::new();
    let mut errors = Vec::new();
    for s in sources {
        match parse(s) {
            Ok(l) => ok.push(l),
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(ok)
    } else {
        Err(SpecErrors(errors))
    }
}

/// The 1-based line of the first line of `text` that, trimmed, starts with `needle`.
pub fn find_line(text: &str, needle: &str) -> Option<usize> {
    text.lines()
        .position(|l| {
            let t = l.trim_start().trim_start_matches("- ").trim_start();
            t.starts_with(needle)
        })
        .map(|i| i + 1)
}

//! The generator behind `wecom-externalcontact`: YAML spec → Rust models, client methods, paging streams and
//! the endpoint catalog.
//!
//! A pipeline of pure stages: [`load`] (YAML into spec structs, errors with file and line) → [`validate`] (the
//! spec as a whole) → [`lower`] (every Rust name decided in [`naming`]) → [`emit`] (`quote!` only) →
//! [`render`] (prettyplease and the `@generated` header); [`openapi`] turns the same lowered model into
//! `openapi.json`. Only [`load::read_dir`] and [`write_if_changed`] touch the file system. Output is
//! deterministic: files, types and enums are sorted; endpoints keep spec order.
#![deny(missing_docs)]

pub mod emit;
pub mod error;
pub mod load;
pub mod lower;
pub mod model;
pub mod naming;
pub mod openapi;
pub mod render;
pub mod spec;
pub mod types;
pub mod validate;

pub use error::{SpecError, SpecErrors};
use std::path::Path;

/// The generated files: (file name, contents), sorted by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    /// Files, sorted by name.
    pub files: Vec<(String, String)>,
}

/// Runs load → validate → lower on sources that were already read.
pub fn model_from_sources(sources: Vec<load::Source>) -> Result<model::Api, SpecErrors> {
    let loaded = load::parse_all(sources)?;
    let index = validate::validate(&loaded)?;
    lower::lower(&loaded, &index)
}

/// The whole pipeline on sources that were already read. Pure.
pub fn generate_from_sources(sources: Vec<load::Source>) -> Result<Output, SpecErrors> {
    let api = model_from_sources(sources)?;
    let mut files = Vec::new();
    let bug = |m: String| SpecErrors(vec![SpecError::file("<generator>", m)]);
    for g in api.groups.iter().filter(|g| !g.is_empty()) {
        let name = format!("{}.rs", g.name);
        let text = render::render(&name, emit::group_file(g)).map_err(bug)?;
        files.push((name, text));
    }
    let shared = [
        ("callback_events.rs", emit::callback_events(&api)),
        ("models.rs", emit::models_index(&api)),
        ("catalog.rs", emit::catalog_file(&api)),
        ("endpoint_tests.rs", emit::endpoint_tests(&api)),
    ];
    for (name, tokens) in shared {
        files.push((name.to_string(), render::render(name, tokens).map_err(bug)?));
    }
    files.push((
        "openapi.json".to_string(),
        openapi::render(&api, env!("CARGO_PKG_VERSION")),
    ));
    files.sort();
    Ok(Output { files })
}

/// Reads `dir/*.yaml` and runs the pipeline. Messages name files as `spec/<name>.yaml`.
pub fn generate_dir(dir: &Path) -> Result<Output, SpecErrors> {
    generate_from_sources(load::read_dir(dir, "spec/")?)
}

/// Writes each file into `out_dir` only when its contents changed (so cargo does not rebuild needlessly).
/// Returns the names of the files written.
pub fn write_if_changed(out_dir: &Path, output: &Output) -> std::io::Result<Vec<String>> {
    std::fs::create_dir_all(out_dir)?;
    let mut written = Vec::new();
    for (name, text) in &output.files {
        let p = out_dir.join(name);
        if std::fs::read_to_string(&p).ok().as_deref() != Some(text.as_str()) {
            std::fs::write(&p, text)?;
            written.push(name.clone());
        }
    }
    Ok(written)
}

/// The groups that need a cargo feature, and those missing from a `Cargo.toml`'s `[features]` table.
pub fn missing_features(api: &model::Api, cargo_toml: &str) -> Vec<String> {
    let mut in_features = false;
    let mut declared = std::collections::BTreeSet::new();
    for line in cargo_toml.lines() {
        let t = line.trim();
        if t.starts_with('[') {
            in_features = t == "[features]";
            continue;
        }
        if in_features {
            if let Some((k, _)) = t.split_once('=') {
                declared.insert(k.trim().trim_matches('"').to_string());
            }
        }
    }
    api.groups
        .iter()
        .filter_map(|g| g.feature.clone())
        .filter(|f| !declared.contains(f))
        .collect()
}

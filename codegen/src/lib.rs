//! The generator behind `wecom-externalcontact`: YAML spec → Rust models, client methods, paging streams and
//! the endpoint catalog.
//!
//! One entry: [`read_dir`] reads a spec folder, [`model_from_sources`] loads, validates and lowers it (every
//! spec mistake of the run at once, each at its file and line: [`SpecErrors`]), and [`generate`] emits and
//! renders the files of the resulting [`model::Api`]; [`write_if_changed`] writes them. [`generate_dir`] does
//! it all in one call, and [`missing_features`] checks a `Cargo.toml` against the spec's groups.
//!
//! Inside, a pipeline of pure stages whose imports run one way: `load` (YAML into spec structs, errors with
//! file and line) → `validate` (the spec as a whole, error codes and limits included) → `lower` (every Rust
//! name decided once, with the rules of `naming`) → `emit` (`quote!` only; `errcodes`, `limits` and `drift`
//! emit their parts) → `render` (prettyplease and the `@generated` header); `openapi` turns the same lowered
//! model into `openapi.json`. All stages report into one error collector. Only [`read_dir`] and
//! [`write_if_changed`] touch the file system. Output is deterministic: files, types and enums are sorted;
//! endpoints keep spec order.

mod drift;
mod emit;
mod errcodes;
mod error;
mod fresh;
mod limits;
mod load;
mod locate;
mod lower;
pub mod model;
mod naming;
mod openapi;
mod render;
mod spec;
mod types;
mod validate;

pub use error::{Item, SpecError, SpecErrors};
pub use fresh::ensure_dir_contents;
pub use load::{read_dir, Source};
pub use openapi::{document as openapi_document, sample_elements as event_sample_elements};
use std::path::Path;

/// The generated files: (file name, contents), sorted by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    /// Files, sorted by name.
    pub files: Vec<(String, String)>,
}

/// Runs load → validate → lower on sources that were already read. `validate` runs on whatever `load`
/// could read, so one run reports every mistake; nothing is lowered unless there are none.
pub fn model_from_sources(sources: Vec<Source>) -> Result<model::Api, SpecErrors> {
    let errors = error::Errors::default();
    let loaded = load::parse_all(sources, &errors);
    let index = validate::validate(&loaded, &errors);
    errors.check()?;
    let api = lower::lower(&loaded, &index, &errors);
    errors.check()?;
    Ok(api)
}

/// Emits and renders the files of a lowered model. Pure.
pub fn generate(api: &model::Api) -> Result<Output, SpecErrors> {
    let mut files = Vec::new();
    let bug = |m: String| SpecErrors(vec![SpecError::file("<generator>", m)]);
    for g in api.groups.iter().filter(|g| !g.is_empty()) {
        let name = format!("{}.rs", g.name);
        let text = render::render(&name, emit::group_file(g)).map_err(bug)?;
        files.push((name, text));
    }
    let shared = [
        ("callback_events.rs", emit::callback_events(api)),
        ("models.rs", emit::models_index(api)),
        ("catalog.rs", emit::catalog_file(api)),
        ("endpoint_tests.rs", emit::endpoint_tests(api)),
        ("event_tests.rs", emit::event_tests(api)),
        ("errcodes.rs", errcodes::emit(api)),
        ("drift_shapes.rs", drift::shapes_file(api)),
    ];
    for (name, tokens) in shared {
        files.push((name.to_string(), render::render(name, tokens).map_err(bug)?));
    }
    files.push((
        "openapi.json".to_string(),
        openapi::render(api, env!("CARGO_PKG_VERSION")),
    ));
    files.sort();
    Ok(Output { files })
}

/// Reads `dir/*.yaml` and runs the whole pipeline. Messages name files as `spec/<name>.yaml`.
pub fn generate_dir(dir: &Path) -> Result<Output, SpecErrors> {
    generate(&model_from_sources(read_dir(dir, "spec/")?)?)
}

/// Writes each file into `out_dir` only when its contents changed (so cargo does not rebuild needlessly).
/// Returns the names of the files written.
pub fn write_if_changed(out_dir: &Path, output: &Output) -> std::io::Result<Vec<String>> {
    fresh::update_dir(out_dir, output, false)
}

/// The groups that need a cargo feature and are missing from a `Cargo.toml`'s `[features]` table (or from its
/// `full` feature, which turns every group on). A `Cargo.toml` that does not parse is an error.
pub fn missing_features(api: &model::Api, cargo_toml: &str) -> Result<Vec<String>, String> {
    #[derive(serde::Deserialize)]
    struct Manifest {
        #[serde(default)]
        features: std::collections::BTreeMap<String, Vec<String>>,
    }
    let manifest: Manifest = toml::from_str(cargo_toml).map_err(|e| format!("Cargo.toml does not parse: {e}"))?;
    let full = manifest.features.get("full");
    Ok(api
        .groups
        .iter()
        .filter_map(|g| g.feature.clone())
        .filter(|f| !manifest.features.contains_key(f) || full.is_some_and(|full| !full.contains(f)))
        .collect())
}

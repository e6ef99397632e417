//! The generator behind `wecom-externalcontact`: YAML spec → Rust models, client methods, paging streams and
//! the endpoint catalog.
//!
//! A pipeline of pure stages: [`load`] (YAML into spec structs, errors with file and line) → [`validate`] (the
//! spec as a whole) → [`lower`] (every Rust name decided in [`naming`]) → [`emit`] (`quote!` only) →
//! [`render`] (prettyplease and the `@generated` header); [`openapi`] turns the same lowered model into
//! `openapi.json`. Only [`load::read_dir`] and [`fresh`] (behind [`write_if_changed`]) touch the file system.
//! Output is deterministic: files, types and enums are sorted; endpoints keep spec order.

pub mod drift;
pub mod emit;
pub mod errcodes;
pub mod error;
pub mod fresh;
pub mod limits;
pub mod load;
pub mod locate;
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

/// Runs load → validate → lower on sources that were already read. `validate` runs on whatever `load`
/// could read, so one run reports every mistake; nothing is lowered unless there are none.
pub fn model_from_sources(sources: Vec<load::Source>) -> Result<model::Api, SpecErrors> {
    let errors = error::Errors::default();
    let loaded = load::parse_all(sources, &errors);
    let index = validate::validate(&loaded, &errors);
    errors.check()?;
    let api = lower::lower(&loaded, &index, &errors);
    errors.check()?;
    Ok(api)
}

/// The whole pipeline on sources that were already read. Pure.
pub fn generate_from_sources(sources: Vec<load::Source>) -> Result<Output, SpecErrors> {
    generate(&model_from_sources(sources)?)
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

/// Reads `dir/*.yaml` and runs the pipeline. Messages name files as `spec/<name>.yaml`.
pub fn generate_dir(dir: &Path) -> Result<Output, SpecErrors> {
    generate_from_sources(load::read_dir(dir, "spec/")?)
}

/// Writes each file into `out_dir` only when its contents changed (so cargo does not rebuild needlessly).
/// Returns the names of the files written. See [`fresh::update_dir`].
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

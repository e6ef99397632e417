//! Runs the spec → Rust generator into OUT_DIR: load → validate → lower once, a check that every spec group
//! has its cargo feature, then emit and render from the same model. A spec mistake stops the build with the
//! generator's message. `WECOM_SPEC_DIR` points the build at another spec folder (scripts/measure-build-times.sh uses
//! it on a copy of `spec/`).
use std::path::PathBuf;
use wecom_externalcontact_codegen as codegen;

fn main() {
    println!("cargo:rerun-if-env-changed=WECOM_SPEC_DIR");
    println!("cargo:rerun-if-changed=Cargo.toml");
    let root = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    // src/lib.rs's unit tests compile the generator's fixture snapshot, which lives in codegen/: a separate
    // package that the published crate does not carry. Those tests exist only in a repository checkout.
    println!("cargo::rustc-check-cfg=cfg(codegen_fixture)");
    if root.join("codegen/tests/snapshots/fixture.rs").is_file() {
        println!("cargo::rustc-cfg=codegen_fixture");
    }
    let spec = std::env::var_os("WECOM_SPEC_DIR").map_or_else(|| root.join("spec"), PathBuf::from);
    println!("cargo:rerun-if-changed={}", spec.display());
    let fail = |msg: String| -> ! {
        eprintln!("{msg}");
        std::process::exit(1)
    };
    let sources = codegen::read_dir(&spec, "spec/").unwrap_or_else(|e| fail(e.to_string()));
    let api = codegen::model_from_sources(sources).unwrap_or_else(|e| fail(e.to_string()));
    let cargo_toml =
        std::fs::read_to_string(root.join("Cargo.toml")).unwrap_or_else(|e| fail(format!("Cargo.toml: {e}")));
    let missing = codegen::missing_features(&api, &cargo_toml).unwrap_or_else(|e| fail(e));
    if !missing.is_empty() {
        fail(format!(
            "Cargo.toml: add a feature for each spec group (and list it in `full`): {}",
            missing.join(", ")
        ));
    }
    let output = codegen::generate(&api).unwrap_or_else(|e| fail(e.to_string()));
    codegen::write_if_changed(&out, &output).unwrap_or_else(|e| fail(format!("cannot write OUT_DIR: {e}")));
}

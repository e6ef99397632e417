//! Runs the spec → Rust generator into OUT_DIR. A spec mistake stops the build with the generator's message.
use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-changed=spec");
    println!("cargo:rerun-if-changed=Cargo.toml");
    let root = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    // src/lib.rs's unit tests compile the generator's fixture snapshot, which lives in codegen/: a separate
    // package that the published crate does not carry. Those tests exist only in a repository checkout.
    println!("cargo::rustc-check-cfg=cfg(codegen_fixture)");
    if root.join("codegen/tests/snapshots/fixture.rs").is_file() {
        println!("cargo::rustc-cfg=codegen_fixture");
    }
    let fail = |msg: String| -> ! {
        eprintln!("{msg}");
        std::process::exit(1)
    };
    let sources = wecom_externalcontact_codegen::load::read_dir(&root.join("spec"), "spec/")
        .unwrap_or_else(|e| fail(e.to_string()));
    let api =
        wecom_externalcontact_codegen::model_from_sources(sources.clone()).unwrap_or_else(|e| fail(e.to_string()));
    let cargo_toml = std::fs::read_to_string(root.join("Cargo.toml")).unwrap_or_default();
    let missing = wecom_externalcontact_codegen::missing_features(&api, &cargo_toml);
    if !missing.is_empty() {
        fail(format!(
            "Cargo.toml: add a feature for each spec group (and list it in `full`): {}",
            missing.join(", ")
        ));
    }
    let output = wecom_externalcontact_codegen::generate_from_sources(sources).unwrap_or_else(|e| fail(e.to_string()));
    wecom_externalcontact_codegen::write_if_changed(&out, &output)
        .unwrap_or_else(|e| fail(format!("cannot write OUT_DIR: {e}")));
}

//! `generated/` holds the generator's output for people to read and review. This test regenerates it from
//! `spec/`; when the committed copy differs it rewrites it and fails, so running `cargo test` twice repairs
//! it (and a stale copy never passes CI).
use std::path::Path;

#[test]
fn generated_folder_is_fresh() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = wecom_externalcontact_codegen::generate_dir(&root.join("spec")).unwrap_or_else(|e| panic!("{e}"));
    wecom_externalcontact_codegen::fresh::ensure_dir_contents(&root.join("generated"), &out, true);
}

#[test]
fn output_is_deterministic() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let a = wecom_externalcontact_codegen::generate_dir(&root.join("spec")).unwrap();
    let b = wecom_externalcontact_codegen::generate_dir(&root.join("spec")).unwrap();
    assert_eq!(a, b);
    for (name, text) in a.files.iter().filter(|(n, _)| n.ends_with(".rs")) {
        assert!(text.starts_with("// @generated"), "{name} lacks the @generated header");
    }
}

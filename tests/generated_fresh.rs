//! `generated/` holds the generator's output for people to read and review. This test regenerates it from
//! `spec/`; when the committed copy differs it rewrites it and fails, so running `cargo test` twice repairs
//! it (and a stale copy never passes CI).
use std::path::Path;

#[test]
fn generated_folder_is_fresh() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = wecom_externalcontact_codegen::generate_dir(&root.join("spec")).unwrap_or_else(|e| panic!("{e}"));
    let dir = root.join("generated");
    std::fs::create_dir_all(&dir).unwrap();
    let mut stale = Vec::new();
    for (name, text) in &out.files {
        let p = dir.join(name);
        if std::fs::read_to_string(&p).ok().as_deref() != Some(text.as_str()) {
            std::fs::write(&p, text).unwrap();
            stale.push(name.clone());
        }
    }
    let expected: std::collections::BTreeSet<_> = out.files.iter().map(|(n, _)| n.clone()).collect();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if name.ends_with(".rs") && !expected.contains(&name) {
            std::fs::remove_file(dir.join(&name)).unwrap();
            stale.push(format!("{name} (removed)"));
        }
    }
    assert!(
        stale.is_empty(),
        "generated/ was stale and has been rewritten (commit it): {stale:?}"
    );
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

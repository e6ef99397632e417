//! `generated/` (at the repository root) holds the generator's output for people to read and review. This
//! test regenerates it from `spec/`; when the committed copy differs it rewrites it; on a maintainer's machine
//! the test then passes (review and commit the diff), under CI (`CI` set) it fails, so a stale copy never
//! passes CI.
//!
//! It lives here rather than in the SDK's tests so that the SDK does not need the generator as a
//! dev-dependency: the generator turns on serde_json's `preserve_order`, which would then be on in every
//! build of the SDK's tests and examples, unlike a user's build (the decoding benchmark compares against the
//! user's `Value`). The workspace's default members include this package, so `cargo test` runs it.
use std::path::PathBuf;
use wecom_externalcontact_codegen::{ensure_dir_contents, generate_dir};

mod support;

/// The repository root: this package is its `codegen/` folder.
fn repo_root() -> PathBuf {
    let here = support::package_dir();
    let root = here.parent().expect("codegen/ has a parent").to_path_buf();
    assert!(root.join("spec").is_dir(), "no spec/ beside {}", here.display());
    root
}

#[test]
fn generated_folder_is_fresh() {
    let root = repo_root();
    let out = generate_dir(&root.join("spec")).unwrap_or_else(|e| panic!("{e}"));
    ensure_dir_contents(&root.join("generated"), &out, true);
}

#[test]
fn output_is_deterministic() {
    let root = repo_root();
    let a = generate_dir(&root.join("spec")).unwrap();
    let b = generate_dir(&root.join("spec")).unwrap();
    assert_eq!(a, b);
    for (name, text) in a.files.iter().filter(|(n, _)| n.ends_with(".rs")) {
        assert!(text.starts_with("// @generated"), "{name} lacks the @generated header");
    }
}

//! Keeping files on disk equal to the generator's output: one helper for the build script's `OUT_DIR`, the
//! committed `generated/` copy and the generator's snapshots, in the style of rust-analyzer's
//! `ensure_file_contents`. Comparisons ignore `\r\n` versus `\n`, so a checkout with CRLF line endings is fresh.

use crate::Output;
use std::path::Path;

/// Text with every `\r\n` turned into `\n`.
pub(crate) fn normalize_newlines(text: &str) -> String {
    text.replace("\r\n", "\n")
}

/// Writes each of `output`'s files into `dir` whose contents differ (newlines normalized), creating `dir` if
/// needed, and leaves the others untouched so cargo does not rebuild needlessly. With `prune`, also removes
/// `*.rs` files in `dir` that `output` does not have. Returns the names written, then the names removed with
/// ` (removed)` appended.
pub(crate) fn update_dir(dir: &Path, output: &Output, prune: bool) -> std::io::Result<Vec<String>> {
    std::fs::create_dir_all(dir)?;
    let mut changed = Vec::new();
    for (name, text) in &output.files {
        let path = dir.join(name);
        let current = std::fs::read_to_string(&path).ok();
        if current.as_deref().map(normalize_newlines) != Some(normalize_newlines(text)) {
            std::fs::write(&path, text)?;
            changed.push(name.clone());
        }
    }
    if prune {
        let mut stale = Vec::new();
        for entry in std::fs::read_dir(dir)? {
            let name = entry?.file_name().to_string_lossy().into_owned();
            if name.ends_with(".rs") && !output.files.iter().any(|(n, _)| *n == name) {
                stale.push(name);
            }
        }
        stale.sort();
        for name in stale {
            std::fs::remove_file(dir.join(&name))?;
            changed.push(format!("{name} (removed)"));
        }
    }
    Ok(changed)
}

/// For tests: makes `dir` hold exactly `output` (as [`write_if_changed`](crate::write_if_changed) does; with
/// `prune`, also removes the `*.rs` files `output` lacks). Under CI (the `CI` environment variable
/// is set) a stale copy fails the test, naming the files and saying to run `cargo test` locally and commit the
/// result, so a stale committed copy never passes. On a maintainer's machine the copy is refreshed and the test
/// passes: one `cargo test` after a spec edit is green and leaves the diff of `generated/` to review and commit,
/// whatever order the test binaries run in and whether an unrelated test failed before this one.
pub fn ensure_dir_contents(dir: &Path, output: &Output, prune: bool) {
    ensure_dir_contents_in(dir, output, prune, std::env::var_os("CI").is_some());
}

/// [`ensure_dir_contents`] with the CI decision made by the caller: `strict` panics when anything had to change.
pub(crate) fn ensure_dir_contents_in(dir: &Path, output: &Output, prune: bool, strict: bool) {
    let changed = update_dir(dir, output, prune).unwrap_or_else(|e| panic!("cannot update {}: {e}", dir.display()));
    if changed.is_empty() || !strict {
        return;
    }
    panic!(
        "{} was not up to date: {}\nNOTE: run `cargo test` locally and commit the updated files.",
        dir.display(),
        changed.join(", ")
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn output(files: &[(&str, &str)]) -> Output {
        Output {
            files: files.iter().map(|(n, t)| (n.to_string(), t.to_string())).collect(),
        }
    }

    fn scratch(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("wecom-codegen-fresh-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn writes_only_what_differs_and_ignores_crlf() {
        let dir = scratch("crlf");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("a.rs"), "fn a() {}\r\n").unwrap();
        std::fs::write(dir.join("b.rs"), "old\n").unwrap();
        let out = output(&[("a.rs", "fn a() {}\n"), ("b.rs", "new\n"), ("c.rs", "fn c() {}\n")]);
        assert_eq!(update_dir(&dir, &out, false).unwrap(), ["b.rs", "c.rs"]);
        assert_eq!(
            std::fs::read_to_string(dir.join("a.rs")).unwrap(),
            "fn a() {}\r\n",
            "left as checked out"
        );
        assert_eq!(std::fs::read_to_string(dir.join("b.rs")).unwrap(), "new\n");
        assert!(
            update_dir(&dir, &out, false).unwrap().is_empty(),
            "a second pass finds nothing to do"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn prune_removes_rust_files_the_output_lacks() {
        let dir = scratch("prune");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("gone.rs"), "").unwrap();
        std::fs::write(dir.join("notes.txt"), "kept").unwrap();
        let out = output(&[("a.rs", "x\n")]);
        assert_eq!(update_dir(&dir, &out, true).unwrap(), ["a.rs", "gone.rs (removed)"]);
        assert!(!dir.join("gone.rs").exists());
        assert!(dir.join("notes.txt").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn ensure_under_ci_panics_naming_the_stale_files_then_passes() {
        let dir = scratch("ensure-ci");
        let out = output(&[("a.rs", "x\n")]);
        let err = std::panic::catch_unwind(|| ensure_dir_contents_in(&dir, &out, true, true)).unwrap_err();
        let msg = err.downcast_ref::<String>().unwrap();
        assert!(msg.contains("was not up to date: a.rs"), "{msg}");
        assert!(msg.contains("commit the updated files"), "{msg}");
        assert_eq!(
            std::fs::read_to_string(dir.join("a.rs")).unwrap(),
            "x\n",
            "refreshed all the same"
        );
        ensure_dir_contents_in(&dir, &out, true, true);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn ensure_outside_ci_refreshes_and_passes() {
        let dir = scratch("ensure-local");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("a.rs"), "old\n").unwrap();
        std::fs::write(dir.join("stale.rs"), "").unwrap();
        let out = output(&[("a.rs", "new\n")]);
        ensure_dir_contents_in(&dir, &out, true, false);
        assert_eq!(std::fs::read_to_string(dir.join("a.rs")).unwrap(), "new\n");
        assert!(!dir.join("stale.rs").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

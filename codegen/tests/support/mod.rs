//! Shared by the generator's test binaries.
use std::path::PathBuf;

/// This package's directory (`codegen/`), read when the test runs — cargo sets `CARGO_MANIFEST_DIR` for every
/// test process — not baked in when it was compiled. `scripts/check-spec-only.sh` runs `cargo test` in a
/// scratch copy of the repository that shares `target/`, where these binaries are the main checkout's (or the
/// copy's, when it rebuilt them): either way each run checks the checkout it was started in.
pub(crate) fn package_dir() -> PathBuf {
    PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo test sets CARGO_MANIFEST_DIR"))
}

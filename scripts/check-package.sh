#!/usr/bin/env bash
# Packages every publishable workspace member with verification (cargo builds each one from its own tarball),
# unpacks the tarballs, then builds and runs the consumer crate in tests/consumer against them through
# `[patch.crates-io]`. A file the build needs left out of a package, a path dependency without a version or a
# build script that reaches outside its package fails here, as it would for a crates.io user; cargo's
# verification also fails when a build script writes into the package's sources instead of OUT_DIR.
#
#   scripts/check-package.sh             # what .ci/run runs
#   scripts/check-package.sh --measure   # also: clean dev builds of a crate depending on the packaged crate,
#                                        # with the default features and with one group (`tag`)
#
# The members come from `cargo metadata` (every member without `publish = false`); nothing here names them.
# Build artifacts go to $CARGO_TARGET_DIR (default: target/), so CI reuses the dependencies it has built.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
target=${CARGO_TARGET_DIR:-$root/target}
case $target in /*) ;; *) target=$root/$target ;; esac
work=$target/package-check
measure=${1:-}

# name<TAB>version of each publishable member, and the root package's version (for the changelog check).
members=$(cargo metadata --no-deps --format-version 1 | python3 -c '
import json, sys
meta = json.load(sys.stdin)
for p in meta["packages"]:
    if p["publish"] != []:
        print(p["name"] + "\t" + p["version"])
')
[ -n "$members" ] || { echo "no publishable workspace member"; exit 1; }
root_version=$(cargo metadata --no-deps --format-version 1 | python3 -c '
import json, sys
meta = json.load(sys.stdin)
root = [p for p in meta["packages"] if p["manifest_path"] == meta["workspace_root"] + "/Cargo.toml"]
print(root[0]["version"])
')
if ! grep -Eq "^## \[(Unreleased|${root_version//./\\.})\]" CHANGELOG.md; then
  echo "CHANGELOG.md has neither '## [Unreleased]' nor '## [$root_version]'"
  exit 1
fi

# `cargo package --workspace` verifies each crate against the tarballs of the others through a local registry,
# whose sources cargo extracts into $CARGO_HOME/registry/src/-<hash of this target dir>/<name>-<version> and
# never refreshes: a second run from the same directory would verify against the first run's sources of an
# unchanged version (a generator change then fails, or passes, for the wrong reason). Forget those copies of
# our own crates first; nothing else in the cargo home is touched.
cargo_home=${CARGO_HOME:-$HOME/.cargo}
while IFS=$'\t' read -r name version; do
  rm -rf "$cargo_home"/registry/src/-*/"$name-$version" "$cargo_home"/registry/cache/-*/"$name-$version.crate"
done <<<"$members"

echo "== cargo package --workspace (with verification)"
# CI packages a clean checkout; a developer may run this before committing (then the working tree is packaged).
allow_dirty=()
if [ -z "${CI:-}" ]; then allow_dirty=(--allow-dirty); fi
cargo package --workspace --locked "${allow_dirty[@]}" --target-dir "$target"

echo "== unpacking the tarballs"
rm -rf "$work"
mkdir -p "$work/unpacked"
patch=""
while IFS=$'\t' read -r name version; do
  crate="$target/package/$name-$version.crate"
  tar -xzf "$crate" -C "$work/unpacked"
  patch+="$name = { path = \"$work/unpacked/$name-$version\" }"$'\n'
  echo "$name $version: $(tar -tzf "$crate" | wc -l) files, $(du -k "$crate" | cut -f1) KiB"
done <<<"$members"

# A copy of a crate that depends on the packaged crates: the lock pins the workspace's dependency versions.
consumer() { # <dir> [<source dir>]
  mkdir -p "$1"
  if [ -n "${2:-}" ]; then cp -r "$2"/. "$1"/; fi
  cp Cargo.lock "$1/Cargo.lock"
  printf '\n[patch.crates-io]\n%s' "$patch" >>"$1/Cargo.toml"
}

echo "== consumer: builds from the tarballs and calls a typed method against the stand-in"
consumer "$work/consumer" tests/consumer
(cd "$work/consumer" && cargo run --quiet --target-dir "$target")

if [ "$measure" = "--measure" ]; then
  # Wall time depends on what else the machine runs (the load average is printed); CPU time (user + sys of
  # cargo and every rustc it starts) much less so.
  for cfg in 'default|wecom-externalcontact = "*"' \
             'tag|wecom-externalcontact = { version = "*", default-features = false, features = ["tag"] }'; do
    label=${cfg%%|*}; dep=${cfg#*|}
    dir="$work/measure-$label"
    mkdir -p "$dir/src"
    printf '[package]\nname = "measure-%s"\nversion = "0.0.0"\nedition = "2021"\npublish = false\n\n[dependencies]\n%s\n\n[workspace]\n' \
      "$label" "$dep" >"$dir/Cargo.toml"
    echo 'pub use wecom_externalcontact::Client;' >"$dir/src/lib.rs"
    consumer "$dir"
    TIMEFORMAT='%R %U %S'
    t=$( { time (cd "$dir" && cargo build --quiet --target-dir "$dir/target" >"$dir/build.log" 2>&1); } 2>&1 ) ||
      { cat "$dir/build.log"; exit 1; }
    read -r real user sys <<<"$t"
    printf 'clean dev build of a crate depending on the packaged crate, %-7s features: %6.1f s wall, %6.1f s CPU (load average %s)\n' \
      "$label" "$real" "$(echo "$user + $sys" | bc)" "$(cut -d' ' -f1-3 /proc/loadavg)"
  done
fi
echo "package check ok"

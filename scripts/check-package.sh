#!/usr/bin/env bash
# Packages every publishable workspace member, unpacks the tarballs and builds from them what a crates.io user
# would: the consumer crate in tests/consumer (the SDK and, as its build-dependency, the generator) run against
# the embedded stand-in, and a check of the packaged CLI. A file the build needs left out of a
# package, a path dependency without a version or a build script that reaches outside its package fails here;
# so does a build script that writes into its package's sources instead of OUT_DIR (the unpacked sources are
# compared before and after the builds).
#
# This replaces `cargo package`'s own verification, which builds each crate alone with its default features: a
# dependency graph per crate, three more than CI otherwise builds (minutes on 2 cores). The CLI is checked here
# beside a crate that asks for the features the workspace's test build has (`align`), so its dependencies are
# the ones clippy checked in .ci/run; the consumer keeps its own graph on purpose (it checks
# what depending on the SDK does to a user's build).
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

echo "== cargo package --workspace (verified below by building from the tarballs)"
# CI packages a clean checkout; a developer may run this before committing (then the working tree is packaged).
allow_dirty=()
if [ -z "${CI:-}" ]; then allow_dirty=(--allow-dirty); fi
cargo package --workspace --locked --no-verify "${allow_dirty[@]}" --target-dir "$target"

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

# The workspace's build profiles (`[profile.*]`, e.g. no debug info for dependencies): a profile is part of
# every artifact's identity, so with cargo's defaults here nothing the main build compiled would be reused.
profiles=$(python3 - <<'PY'
import json, tomllib
def emit(prefix, table):
    scalars = {k: v for k, v in table.items() if not isinstance(v, dict)}
    if scalars:
        print(f"[{prefix}]")
        for k, v in scalars.items():
            print(f"{k} = {json.dumps(v)}")
    for k, v in table.items():
        if isinstance(v, dict):
            emit(f"{prefix}.{json.dumps(k) if not k.replace('-', '').replace('_', '').isalnum() else k}", v)
for name, table in tomllib.load(open("Cargo.toml", "rb")).get("profile", {}).items():
    emit(f"profile.{name}", table)
PY
)

# A copy of a crate that depends on the packaged crates: the lock pins the workspace's dependency versions.
consumer() { # <dir> [<source dir>]
  mkdir -p "$1"
  if [ -n "${2:-}" ]; then cp -r "$2"/. "$1"/; fi
  cp Cargo.lock "$1/Cargo.lock"
  printf '\n[patch.crates-io]\n%s\n%s\n' "$patch" "$profiles" >>"$1/Cargo.toml"
}

sources_digest() { (cd "$work/unpacked" && find . -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum); }
before=$(sources_digest)

echo "== consumer: builds from the tarballs and calls a typed method against the stand-in"
consumer "$work/consumer" tests/consumer
(cd "$work/consumer" && cargo run --quiet --target-dir "$target")

cli=$(awk -F'\t' '$1 == "wecom-cli" { print $1 "-" $2 }' <<<"$members")
if [ -n "$cli" ]; then
  echo "== the packaged CLI: checks from the tarballs"
  # `align` asks for the features the workspace's dev-dependencies turn on, so the dependencies resolve to the
  # ones clippy checked; the crates from the tarballs are what compiles here.
  mkdir -p "$work/cli/align/src"
  dev_deps=$(python3 - <<'PY'
import tomllib
deps = tomllib.load(open("Cargo.toml", "rb"))["dev-dependencies"]
for name, spec in deps.items():
    if name == "wecom-externalcontact":
        continue
    if isinstance(spec, str):
        spec = {"version": spec}
    parts = [f'version = "{spec["version"]}"']
    if "features" in spec:
        parts.append("features = [" + ", ".join(f'"{f}"' for f in spec["features"]) + "]")
    if spec.get("default-features") is False:
        parts.append("default-features = false")
    print(f"{name} = {{ {', '.join(parts)} }}")
PY
)
  printf '[package]\nname = "align"\nversion = "0.0.0"\nedition = "2021"\npublish = false\n\n[dependencies]\nwecom-externalcontact = { version = "*", features = ["standin", "axum", "redis"] }\n%s\n' \
    "$dev_deps" >"$work/cli/align/Cargo.toml"
  echo '' >"$work/cli/align/src/lib.rs"
  # The CLI's own sources are copied in (a workspace member lives under the workspace); the SDK and the
  # generator stay patched in from the unpacked tarballs.
  cp -r "$work/unpacked/$cli" "$work/cli/wecom-cli"
  printf '[workspace]\nresolver = "2"\nmembers = ["align", "wecom-cli"]\n' >"$work/cli/Cargo.toml"
  consumer "$work/cli"
  # `cargo check`, not a build: a package's defects (a file left out, a path dependency without a version, a
  # build script reaching outside its package) all stop a check, which runs the build scripts too; the
  # dependencies' checks are clippy's, so only our three crates compile (~15 s instead of ~30 s). The CLI
  # itself runs in CI from the workspace build (.ci/run).
  (cd "$work/cli" && cargo check --quiet --workspace --target-dir "$target")
  echo "the packaged wecom-cli: checked"
fi

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
after=$(sources_digest)
[ "$before" = "$after" ] || { echo "a build changed the unpacked package sources (a build script must write to OUT_DIR only)"; exit 1; }
echo "package check ok"

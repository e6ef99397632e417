#!/usr/bin/env bash
# Measures dev-profile build times of the library: every API group (`full`, the default) against one group
# (`tag`) and none. For each: a clean build (dependencies included) in a fresh target dir, then this crate
# alone (`cargo clean -p wecom-externalcontact`, then a non-incremental build: build script, generation and
# compilation of the crate). Run it on an otherwise idle machine.
#   scripts/measure-build-times.sh            # prints one line per configuration
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
now() { date +%s.%N; }
for cfg in "full|" "tag|--no-default-features --features tag" "none|--no-default-features"; do
  name=${cfg%%|*}; flags=${cfg#*|}
  export CARGO_TARGET_DIR="$tmp/$name"
  s=$(now); cargo build -q -p wecom-externalcontact --lib $flags; e=$(now)
  clean=$(echo "$e - $s" | bc)
  cargo clean -q -p wecom-externalcontact
  s=$(now); CARGO_INCREMENTAL=0 cargo build -q -p wecom-externalcontact --lib $flags; e=$(now)
  crate=$(echo "$e - $s" | bc)
  printf '%-5s clean build %6.1f s   this crate alone %5.1f s   (cargo build --lib %s)\n' "$name" "$clean" "$crate" "$flags"
done

#!/usr/bin/env bash
# Measures dev-profile build times of the library: every API group (`full`, the default) against one group
# (`tag`) and none. For each: a clean build (dependencies included) in a fresh target dir, then this crate
# alone (`cargo clean -p wecom-externalcontact`, then a non-incremental build: build script, generation and
# compilation of the crate). Then the one-field edit: with `full` built, one optional field is added to a
# type in a copy of the spec (`WECOM_SPEC_DIR`, so the repository is not touched) and `cargo build --lib` is
# timed — what a maintainer waits for after a spec edit (incremental, as `cargo build` is by default).
# Run it on an otherwise idle machine; with MEASURE_RUNS=n the one-field edit is timed n times, with
# MEASURE_CONFIGS="full" only the `full` builds are measured (`full` is always built: the edit needs it). Each figure
# is wall-clock seconds, with the CPU seconds (user + system, every process) after it: on a busy machine the
# wall time grows with the load, the CPU time much less, so compare CPU times when the machine is shared.
#   scripts/measure-build-times.sh            # prints one line per measurement
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# timed <command...>: runs it, sets $wall and $cpu (seconds)
timed() {
  /usr/bin/time -f "%e %U %S" -o "$tmp/time" "$@"
  read -r wall user sys < "$tmp/time"
  cpu=$(echo "$user + $sys" | bc)
}
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for cfg in "full|" "tag|--no-default-features --features tag" "none|--no-default-features"; do
  name=${cfg%%|*}; flags=${cfg#*|}
  case " ${MEASURE_CONFIGS:-full tag none} " in *" $name "*) ;; *) [ "$name" = full ] || continue ;; esac
  export CARGO_TARGET_DIR="$tmp/$name"
  timed cargo build -q -p wecom-externalcontact --lib $flags
  clean="$wall s (cpu $cpu s)"
  cargo clean -q -p wecom-externalcontact
  timed env CARGO_INCREMENTAL=0 cargo build -q -p wecom-externalcontact --lib $flags
  crate="$wall s (cpu $cpu s)"
  printf '%-5s clean build %-22s this crate alone %-22s (cargo build --lib %s)\n' "$name" "$clean" "$crate" "$flags"
done

# The one-field edit, on the `full` build above.
export CARGO_TARGET_DIR="$tmp/full"
cp -r spec "$tmp/spec"
export WECOM_SPEC_DIR="$tmp/spec"
cargo build -q -p wecom-externalcontact --lib   # the copy is a new spec dir: regenerate once before timing
for i in $(seq 1 "${MEASURE_RUNS:-1}"); do
  # one more optional field on the first type of tag.yaml (a new name each run)
  awk -v n="$i" '!done && /^    fields:$/ { print; print "      - { name: measure_field_" n ", type: string, doc: added by measure-build-times.sh }"; done=1; next } { print }' \
    "$tmp/spec/tag.yaml" > "$tmp/tag.yaml" && mv "$tmp/tag.yaml" "$tmp/spec/tag.yaml"
  timed cargo build -q -p wecom-externalcontact --lib
  printf 'full  one-field spec edit %s s (cpu %s s)   (cargo build --lib, incremental, run %s)\n' "$wall" "$cpu" "$i"
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

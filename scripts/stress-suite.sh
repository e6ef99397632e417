#!/usr/bin/env bash
# The suite under load: runs `cargo test --workspace --all-features` RUNS times in a row (default 5) while 4
# CPU-bound processes spin beside it, as on a busy 2-core CI machine. Timing tests run on tokio's paused clock
# (src/clock.rs), so every run must pass. Builds first (unloaded), then stops at the first failing run.
# Prints one line per run and a summary; kills the busy loops it started on exit, however it exits.
#   scripts/stress-suite.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-5}"
cargo test --workspace --all-features --no-run --quiet

hogs=()
cleanup() {
    for pid in "${hogs[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait "${hogs[@]}" 2>/dev/null || true
}
trap cleanup EXIT INT TERM
for _ in 1 2 3 4; do
    timeout 3000 sh -c 'while :; do :; done' &
    hogs+=("$!")
done

passed=0
total_start=$(date +%s)
for i in $(seq 1 "$runs"); do
    start=$(date +%s)
    log="target/stress-run-$i.log"
    if cargo test --workspace --all-features --quiet >"$log" 2>&1; then
        passed=$((passed + 1))
        echo "run $i/$runs: passed in $(($(date +%s) - start)) s"
    else
        echo "run $i/$runs: FAILED after $(($(date +%s) - start)) s (log: $log)"
        grep -E "^test .* FAILED|panicked at" "$log" | head -20 || true
        break
    fi
done
echo "stress: $passed/$runs runs passed beside 4 busy loops in $(($(date +%s) - total_start)) s"
[ "$passed" -eq "$runs" ]

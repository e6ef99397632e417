#!/usr/bin/env bash
# Another language's generated client: clients/typescript/ generates TypeScript types from
# generated/openapi.json (openapi-typescript), compiles src/check.ts with `tsc --strict`, and runs it against a
# `wecom standin` with a customer data set: gettoken, GETs, a paged POST and writes, each answer checked.
# Needs node (20 or later) and npm. Without them it skips with a message, except under CI (`CI` set), where it fails.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  if [ -n "${CI:-}" ]; then
    echo "check-typescript-client: node and npm are required under CI (install Node.js 20 or later)" >&2
    exit 1
  fi
  echo "check-typescript-client: SKIPPED, node or npm not found (install Node.js 20 or later to run it)"
  exit 0
fi

members=8
customers=400
work=$(mktemp -d)
standin_pid=
cleanup() {
  if [ -n "$standin_pid" ]; then
    kill "$standin_pid" 2>/dev/null || true
    wait "$standin_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

cd clients/typescript
echo "check-typescript-client: npm ci (versions pinned by package-lock.json)"
npm ci --no-audit --no-fund --loglevel=error
npm run --silent generate
rm -rf dist
npm run --silent build
cd ../..

echo "{\"customers\": {\"members\": $members, \"customers\": $customers}}" > "$work/standin.json"
# WECOM_BIN: a `wecom` binary already built (.ci/run passes the one `cargo test` built, so no other feature set
# is compiled); otherwise it is built here.
wecom=${WECOM_BIN:-}
if [ -z "$wecom" ]; then
  cargo build -q --bin wecom
  wecom=${CARGO_TARGET_DIR:-target}/debug/wecom
fi
# Port 0: the stand-in binds a free port itself and prints the address it got (no race for a port picked
# beforehand).
"$wecom" standin --port 0 --config "$work/standin.json" > "$work/standin.out" 2> "$work/standin.err" &
standin_pid=$!
for _ in $(seq 100); do
  [ -s "$work/standin.out" ] && break
  kill -0 "$standin_pid" 2>/dev/null || { cat "$work/standin.err" >&2; exit 1; }
  sleep 0.1
done
[ -s "$work/standin.out" ] || { echo "check-typescript-client: wecom standin printed nothing in 10 s" >&2; exit 1; }
info() { python3 -c 'import json, sys; print(json.loads(open(sys.argv[1]).readline())[sys.argv[2]])' "$work/standin.out" "$1"; }
base_url=$(info base_url)
corp_id=$(info corp_id)
secret=$(info secret)

WECOM_BASE_URL=$base_url WECOM_CORP_ID=$corp_id WECOM_SECRET=$secret \
  EXPECT_MEMBERS=$members EXPECT_CUSTOMERS=$customers \
  node clients/typescript/dist/check.js

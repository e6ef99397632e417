#!/usr/bin/env bash
# The maintainer's promise, checked the way a maintainer meets it (CONTRIBUTING.md): on a scratch copy of the
# repository's tracked files, add by YAML alone
#   - a read endpoint to an existing group file (POST, a nested object, a list, an optional flag, an official-
#     style example),
#   - a callback event with a new `event_values` enum and its official samples to spec/events.yaml,
#   - a new group file (plus its feature in Cargo.toml: the documented exception),
# then run `cargo test --workspace --all-features` as a maintainer does (`CI` unset): it must be green (rerun
# once if not, printing the first run's failures) and include the new endpoints' and the new event's
# generated tests, and it must have refreshed generated/ so that CI's strict freshness test passes. No `.rs`
# file outside generated/ may change. And a read endpoint without `idempotent` must stop the build at its spec line.
#
# The copy shares CARGO_TARGET_DIR with the main build (default: this repository's target/), so the
# dependencies are reused and only the workspace's own crates recompile.
#   usage: scripts/check-spec-only.sh            (from anywhere; prints its time at the end)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
started=$(date +%s)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target}
export CARGO_TERM_COLOR=never
scratch=$(mktemp -d "${TMPDIR:-/tmp}/wecom-spec-only.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
fail() { echo "check-spec-only: FAIL: $*" >&2; exit 1; }

echo "== spec-only addition: copying the tracked files to $scratch"
# -m: the copies get new mtimes, so cargo (whose fingerprints of workspace members are relative to the workspace
# root, so the copy shares the main build's artifacts) rebuilds what the copy changes rather than trusting the
# main build's outputs by their age.
(cd "$root" && git ls-files -z | tar --null -T - -cf -) | tar -xmf - -C "$scratch"
# The generator (codegen/) keeps its mtimes, so all of it — its library (the SDK's build-dependency),
# `speccheck` and its test binaries — stays the main build's: nothing of it changes here, and its tests read
# their directory from `CARGO_MANIFEST_DIR` when they run (codegen/tests/support), so here they check this
# copy. That takes the generator off the path to the SDK's build script, and leaves no binary in target/ that
# points at this copy once it is deleted.
(cd "$root" && git ls-files -z -- codegen | tar --null -T - -cf -) | tar -xf - -C "$scratch"
cd "$scratch"
git init -q && git add -A && git -c user.name=check -c user.email=check@localhost commit -qm base

# 1. A read endpoint appended to an existing group file.
cat >> spec/customer.yaml <<'YAML'

  - path: externalcontact/probe/get_score
    method: POST
    doc_id: 92114
    name_zh: 获取客户评分
    summary: A spec-only read added by scripts/check-spec-only.sh, with a nested object, a list and a flag.
    idempotent: true
    request:
      - { name: external_userid, type: string, required: true, doc: "外部联系人的userid" }
      - { name: need_detail, type: bool, doc: "是否返回评分明细" }
      - { name: probe_ticket, type: string, secret: true, doc: "A credential the spec marks secret: never in Debug." }
    response:
      - name: score
        type: object
        required: true
        doc: "评分"
        fields:
          - { name: total, type: u32, required: true, doc: "总分" }
          - { name: reasons, type: "[string]", doc: "评分依据" }
          - name: detail
            type: "[object]"
            doc: "评分明细"
            fields:
              - { name: item, type: string, required: true, doc: "项目" }
              - { name: points, type: i32, required: true, doc: "分值" }
    example:
      request: |
        { "external_userid": "woAJ2GCAAAXtWyujaWJHDDGi0mACAAAA", "need_detail": true, "probe_ticket": "pt-SECRET-1" }
      response: |
        {
          "errcode": 0,
          "errmsg": "ok",
          "score": {
            "total": 87,
            "reasons": ["活跃", "已成交"],
            "detail": [ { "item": "互动", "points": 40 }, { "item": "成交", "points": 47 } ]
          }
        }
YAML

# 2. An event with a new `event_values` enum and its official-style samples.
python3 - <<'PY'
text = open("spec/events.yaml", encoding="utf-8").read()
values = """event_values:
  ProbeMood:
    doc: "A spec-only event value added by scripts/check-spec-only.sh."
    repr: string
    values:
      - { value: happy, name: happy, doc: "happy." }
      - { value: grumpy, name: grumpy, doc: "grumpy." }
"""
assert "\nevent_values:\n" in text
text = text.replace("\nevent_values:\n", "\n" + values, 1)
event = """
  - name: ProbeMoodChanged
    event: change_external_contact
    change_type: probe_mood
    doc_id: 92130
    doc: "A spec-only event added by scripts/check-spec-only.sh."
    fields:
      - { name: UserID, type: string, required: true, doc: "The member." }
      - { name: Mood, type: ProbeMood, doc: "The mood." }
    samples:
      - envelope: app
        xml: |
          <xml>
              <ToUserName><![CDATA[toUser]]></ToUserName>
              <FromUserName><![CDATA[sys]]></FromUserName>
              <CreateTime>1403610513</CreateTime>
              <MsgType><![CDATA[event]]></MsgType>
              <Event><![CDATA[change_external_contact]]></Event>
              <ChangeType><![CDATA[probe_mood]]></ChangeType>
              <UserID><![CDATA[zhangsan]]></UserID>
              <Mood><![CDATA[grumpy]]></Mood>
          </xml>
        expect: |
          { "kind": "ProbeMoodChanged",
            "event": { "ToUserName": "toUser", "FromUserName": "sys", "CreateTime": 1403610513, "MsgType": "event",
                       "Event": "change_external_contact", "ChangeType": "probe_mood", "UserID": "zhangsan",
                       "Mood": "grumpy" },
            "extra": {} }
      - envelope: suite
        xml: |
          <xml>
              <SuiteId><![CDATA[ww4asffe99e54c0f4c]]></SuiteId>
              <AuthCorpId><![CDATA[wxf8b4f85f3a794e77]]></AuthCorpId>
              <InfoType><![CDATA[change_external_contact]]></InfoType>
              <TimeStamp>1403610513</TimeStamp>
              <ChangeType><![CDATA[probe_mood]]></ChangeType>
              <UserID><![CDATA[zhangsan]]></UserID>
              <Mood><![CDATA[sleepy]]></Mood>
          </xml>
"""
open("spec/events.yaml", "w", encoding="utf-8").write(text.rstrip("\n") + "\n" + event)
PY

# 3. A new group file, and its feature (listed in `full`).
cat > spec/probe_group.yaml <<'YAML'
group: probe_group
doc: A spec-only group added by scripts/check-spec-only.sh.
endpoints:
  - path: externalcontact/probe_group/list
    method: GET
    doc_id: 92113
    name_zh: 获取探针列表
    summary: A spec-only GET in a new group.
    idempotent: true
    request:
      - { name: userid, type: string, required: true, doc: "成员userid" }
    response:
      - { name: probe_list, type: "[string]", required: true, doc: "探针列表" }
    example:
      request: |
        { "userid": "zhangsan" }
      response: |
        { "errcode": 0, "errmsg": "ok", "probe_list": ["p1", "p2"] }
YAML
python3 - <<'PY'
import re
text = open("Cargo.toml", encoding="utf-8").read()
text, n = re.subn(r'(?m)^(full = \[.*)\]$', r'\1, "probe_group"]', text, count=1)
assert n == 1, "no one-line `full = [...]` in Cargo.toml"
text = text.replace("\nservice = []\n", "\nservice = []\nprobe_group = []\n", 1)
assert "\nprobe_group = []\n" in text
open("Cargo.toml", "w", encoding="utf-8").write(text)
PY

# A read endpoint without `idempotent` stops the build at its spec line, with the fix in the message.
cp spec/customer.yaml "$scratch/customer.yaml.ok"
line=$(grep -n '^  - path: externalcontact/probe/get_score$' spec/customer.yaml | cut -d: -f1)
sed -i "$line,\$ {/^    idempotent: true\$/d}" spec/customer.yaml
# (`cargo test --no-run`, the feature set of the test runs below, so no other dependency graph is built.)
if out=$(cargo test -q --workspace --all-features --no-run 2>&1); then
  fail "a read endpoint without \`idempotent\` was accepted"
fi
grep -q "spec/customer.yaml:$line: endpoint externalcontact/probe/get_score: \`get_score\` names a read: add \`idempotent: true\`" <<<"$out" \
  || fail "the build failed without the spec line and the fix:
$out"
echo "a read without \`idempotent\` stops the build: $(grep -o "spec/customer.yaml:$line:.*names a read" <<<"$out" | head -1)"
cp "$scratch/customer.yaml.ok" spec/customer.yaml

# The maintainer's machine: `CI` unset, so the freshness test refreshes generated/ and passes (CONTRIBUTING.md).
failures() { grep -E "^    [a-z_:]+$|panicked at|was not up to date|^error" "$1" | head -20 || true; }
echo "== spec-only addition: cargo test --workspace --all-features (as a maintainer runs it: CI unset)"
phase=$(date +%s)
log=$scratch/run1.log
if env -u CI cargo test --workspace --all-features > "$log" 2>&1; then
  echo "cargo test: green in $(( $(date +%s) - phase )) s"
else
  # A maintainer whose run failed for another reason reruns it; so does this check, once, and says why.
  run1=$(failures "$log")
  echo "cargo test: failed in $(( $(date +%s) - phase )) s; its failures:"
  echo "$run1"
  echo "== spec-only addition: cargo test --workspace --all-features, again"
  phase=$(date +%s)
  log=$scratch/run2.log
  env -u CI cargo test --workspace --all-features > "$log" 2>&1 \
    || { tail -60 "$log"; fail "cargo test is not green after a spec-only edit (first run's failures: $run1)"; }
  echo "cargo test, again: green in $(( $(date +%s) - phase )) s"
fi
for t in probe_get_score_examples_round_trip probe_get_score_on_the_wire probe_group_list_examples_round_trip \
  probe_group_list_on_the_wire probe_mood_changed_app_sample probe_mood_changed_suite_sample; do
  grep -q "$t \.\.\. ok" "$log" || fail "the green run lacks the generated test $t"
done
changed=$(git status --porcelain -- '*.rs' | grep -v ' generated/' || true)
[ -z "$changed" ] || fail "files other than generated/ changed:
$changed"
git status --porcelain -- generated | grep -q 'generated/probe_group.rs' || fail "generated/ was not refreshed"
# What CI will then see of the refreshed copy: the freshness test, strict, passes. (`--workspace
# --all-features`, the feature set of the run above, so nothing is rebuilt; `--test` selects the one binary.)
CI=true cargo test -q --workspace --all-features --test generated_fresh > "$scratch/fresh.log" 2>&1 \
  || { cat "$scratch/fresh.log"; fail "the refreshed generated/ does not pass CI's freshness test"; }
echo "spec-only addition: ok (cargo test green with the 6 new tests; generated/ refreshed and fresh for CI; only spec/, Cargo.toml and generated/ changed) in $(( $(date +%s) - started )) s"

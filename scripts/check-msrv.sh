#!/usr/bin/env bash
# Checks the declared MSRV (`rust-version` in Cargo.toml) offline, without the old toolchain: every package the
# locked dependency graph compiles for the libraries (normal and build dependencies, all features, every
# platform) must declare a `rust-version` no newer than ours. Our own code is held to it by clippy's
# `incompatible_msrv` lint (std APIs stabilised after our `rust-version` are errors under `-D warnings`).
# Prints the dependencies that set the floor; exits 1 when the declared MSRV is lower than the lock needs.
#   scripts/check-msrv.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo metadata --format-version 1 --locked --all-features | python3 -c '
import json, sys

def ver(v):
    return tuple(int(x) for x in (v.split(".") + ["0", "0"])[:3])

def show(v):
    return ".".join(map(str, v))

meta = json.load(sys.stdin)
pkgs = {p["id"]: p for p in meta["packages"]}
members = set(meta["workspace_members"])
declared = {pkgs[m]["name"]: pkgs[m].get("rust_version") for m in members}
missing = [n for n, v in declared.items() if not v and pkgs[[m for m in members if pkgs[m]["name"] == n][0]]["publish"] != []]
if missing:
    sys.exit("no rust-version declared by: " + ", ".join(sorted(missing)))
ours = max(ver(v) for v in declared.values() if v)
nodes = {n["id"]: n for n in meta["resolve"]["nodes"]}

def reach(kinds):
    seen, todo = set(), list(members)
    while todo:
        for dep in nodes[todo.pop()]["deps"]:
            if any(k["kind"] in kinds for k in dep["dep_kinds"]) and dep["pkg"] not in seen:
                seen.add(dep["pkg"])
                todo.append(dep["pkg"])
    return seen - members

def floor(ids):
    vs = sorted(((ver(pkgs[i]["rust_version"]), pkgs[i]["name"] + " " + pkgs[i]["version"])
                 for i in ids if pkgs[i].get("rust_version")), reverse=True)
    return (vs[0][0] if vs else (1, 0, 0)), vs

lib_ids = reach({None, "build"})
need, ranked = floor(lib_ids)
print(f"declared rust-version: {show(ours)} ({len(lib_ids)} packages in the libraries\u0027 locked graph)")
print(f"the lock needs at least {show(need)}: " + ", ".join(f"{n} ({show(v)})" for v, n in ranked[:5]))
_, dev_ranked = floor(reach({None, "build", "dev"}) - lib_ids)
if dev_ranked and dev_ranked[0][0] > ours:
    print(f"note: dev-dependencies need {show(dev_ranked[0][0])} ({dev_ranked[0][1]}): the tests need a newer toolchain than the libraries")
if need > ours:
    sys.exit(f"rust-version {show(ours)} is false: the locked dependencies need {show(need)}; raise it (workspace.package.rust-version)")
if ours > need:
    print(f"note: rust-version {show(ours)} is above what the dependencies need ({show(need)}); keep it only if our own code needs it")
print("msrv ok")
'

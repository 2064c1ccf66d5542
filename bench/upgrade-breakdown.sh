#!/usr/bin/env bash
# Where the time of the LAMP reference upgrade goes, with a warm image cache: per step,
# the wall time, and for the upgrade how much of it was apt/dpkg and the reboot inside the
# replica versus the tool's own work (sources rewrite, state snapshots, checks, probes).
#
#   bash bench/upgrade-breakdown.sh [RUNS]
#
# A benchmark, not a test: it prints figures and never fails on them.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-1}

cargo build --release --quiet
./target/release/rehearse images build lamp-bullseye >/dev/null 2>&1

for run in $(seq 1 "$runs"); do
    dir=$(mktemp -d)
    ./target/release/rehearse run scenarios/lamp-bullseye-to-bookworm.yaml --report-dir "$dir" -q >/dev/null || true
    python3 - "$dir/report.json" "$run" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
print(f"run {sys.argv[2]}: {report['scenario']} {report['verdict']} in {report['duration_ms'] / 1000:.1f}s")
print(f"  {'step':<24} {'wall':>8} {'apt/dpkg':>9} {'reboot':>8} {'tool':>8}")
for step in report["steps"]:
    wall = step["duration_ms"] / 1000
    hops = (step.get("upgrade") or {}).get("hops", [])
    if hops:
        apt = sum(h["apt_ms"] for h in hops) / 1000
        reboot = sum(h["reboot_ms"] for h in hops) / 1000
        print(f"  {step['name']:<24} {wall:>7.1f}s {apt:>8.1f}s {reboot:>7.1f}s {wall - apt - reboot:>7.1f}s")
    else:
        print(f"  {step['name']:<24} {wall:>7.1f}s {'':>9} {'':>8} {'':>8}")
PY
    rm -rf "$dir"
done

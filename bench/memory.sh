#!/usr/bin/env bash
# The tool's own memory during a cutover rehearsal probing at 1000 requests/s
# (bench/cutover-1000.yaml, about 70 s of traffic): peak resident set size from GNU time,
# and how many requests the monitor sent in that time. Target: under 100 MiB.
# A benchmark: it prints figures and never fails on them.
#
#   bash bench/memory.sh [RUNS]    # default 1
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-1}
cargo build --release --quiet
bin=./target/release/rehearse
"$bin" images build static-site >/dev/null 2>&1
for run in $(seq 1 "$runs"); do
    dir=$(mktemp -d)
    /usr/bin/time -f '%M %e' -o "$dir/time" "$bin" run bench/cutover-1000.yaml \
        --no-checkpoints --report-dir "$dir/report" -q >/dev/null 2>&1 || true
    python3 - "$dir/time" "$dir/report/report.json" "$run" <<'PY'
import json, sys
kib, wall = open(sys.argv[1]).read().split()[-2:]
r = json.load(open(sys.argv[2]))
sent = sum(m.get("sent", 0) for m in r.get("monitors", []))
failed = sum(m.get("failed", 0) for m in r.get("monitors", []))
print(f"run {sys.argv[3]}: peak RSS {int(kib) / 1024:.1f} MiB over {float(wall):.0f}s; "
      f"monitor requests {sent} ({failed} failed); verdict {r['verdict']}")
PY
    rm -rf "$dir"
done

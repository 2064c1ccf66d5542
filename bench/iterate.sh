#!/usr/bin/env bash
# Iterating on the post-upgrade part: a full warm rehearsal of the LAMP upgrade (with a
# snapshot after the upgrade, bench/lamp-iterate.yaml) against `run --from "after the
# upgrade"`, which starts from that snapshot. A benchmark: prints figures, never fails.
#
#   bash bench/iterate.sh [RUNS]    # default 3 resumed runs after one full run
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
cargo build --release --quiet
bin=./target/release/rehearse
"$bin" images build lamp-bullseye >/dev/null 2>&1
timed() {
    local start end
    start=$(date +%s.%N)
    "$bin" run bench/lamp-iterate.yaml -q --report-dir "$(mktemp -d)" "$@" >/dev/null 2>&1 || true
    end=$(date +%s.%N)
    python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$start" "$end"
}
full=$(timed)
resumed=()
for _ in $(seq 1 "$runs"); do resumed+=("$(timed --from 'after the upgrade')"); done
python3 - "$full" "${resumed[@]}" <<'PY'
import sys, statistics
full = float(sys.argv[1]); resumed = [float(x) for x in sys.argv[2:]]
m = statistics.median(resumed)
print(f"full warm rehearsal: {full:.1f}s")
print(f"--from 'after the upgrade': median {m:.1f}s (runs: {', '.join(f'{r:.1f}' for r in resumed)})")
print(f"speed-up: {full / m:.1f}x")
PY

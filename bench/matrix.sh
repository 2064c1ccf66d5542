#!/usr/bin/env bash
# Four scenarios whose hosts share the bookworm base image (static-site and lamp-bookworm),
# rehearsed one after another (`--jobs 1`) and two at once (`--jobs 2`) in one command.
# A benchmark: it prints figures and never fails on them.
#
#   bash bench/matrix.sh [RUNS]          # warm: images built once first (default 2 runs each)
#   COLD=1 bash bench/matrix.sh [RUNS]   # cold: the two images removed before each run (the
#                                        # bookworm base stays: its bootstrap is the same for both)
#
# Runs alternate (--jobs 1, --jobs 2, ...) so a slow minute hurts both alike.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-2}
cargo build --release --quiet
bin=./target/release/rehearse
scenarios=(scenarios/smoke-static-site.yaml scenarios/cutover-apache.yaml
    scenarios/migrate-cutover-apache.yaml scenarios/restore-shop.yaml)
results=$(mktemp)
trap 'rm -f "$results"' EXIT
drop_images() {
    docker images --format '{{.Repository}}:{{.Tag}}' |
        grep -E '^rehearse/(static-site|lamp-bookworm):' |
        xargs -r docker rmi -f >/dev/null 2>&1 || true
}
"$bin" images build static-site lamp-bookworm >/dev/null 2>&1
for _ in $(seq 1 "$runs"); do
    for jobs in 1 2; do
        [ "${COLD:-0}" = 1 ] && drop_images
        dir=$(mktemp -d)
        start=$(date +%s.%N)
        "$bin" run "${scenarios[@]}" --jobs "$jobs" --no-checkpoints --report-dir "$dir" -q >/dev/null 2>&1 || true
        end=$(date +%s.%N)
        python3 - "$dir/matrix.json" "$jobs" "$start" "$end" >>"$results" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
wall = float(sys.argv[4]) - float(sys.argv[3])
runs = sum(r["duration_ms"] for r in m["runs"]) / 1000
print(f"{sys.argv[2]} {wall:.1f} {runs:.1f} {m['verdict']}")
PY
        rm -rf "$dir"
    done
done
python3 - "$results" "${COLD:-0}" <<'PY'
import sys, statistics
rows = [l.split() for l in open(sys.argv[1])]
mode = "cold (images rebuilt each run)" if sys.argv[2] == "1" else "warm (images cached)"
print(f"four scenarios sharing the bookworm base, {mode}")
med = {}
for jobs in ("1", "2"):
    walls = [float(r[1]) for r in rows if r[0] == jobs]
    sums = [float(r[2]) for r in rows if r[0] == jobs]
    med[jobs] = statistics.median(walls)
    print(f"  --jobs {jobs}: median {med[jobs]:.1f}s (runs: {', '.join(f'{w:.1f}' for w in walls)}; "
          f"sum of the runs' own durations {statistics.median(sums):.1f}s; verdicts {[r[3] for r in rows if r[0] == jobs]})")
print(f"  speed-up --jobs 2 over one after another: {med['1'] / med['2']:.2f}x")
PY

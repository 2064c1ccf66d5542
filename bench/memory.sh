#!/usr/bin/env bash
# The tool's own memory during a cutover rehearsal probing at 1000 requests/s
# (bench/cutover-1000.yaml): the resident set size sampled every second from
# /proc/PID/status, its peak (VmHWM), and how many requests the monitor sent.
# Targets (issue 21): with 10 minutes of monitoring (STEADY=300: five minutes on each side
# of the cutover) the peak stays below 60 MiB, and RSS at minute 2 and at minute 10 of
# the run differ by less than 5 MiB: a monitor's memory does not grow with its duration.
# A benchmark: it prints figures and never fails on them.
#
#   bash bench/memory.sh [RUNS]            # default 1 run, 30 s on each side (about 70 s)
#   STEADY=300 bash bench/memory.sh        # 10 minutes of monitoring
#   CONNECTION=keep-alive STEADY=300 bash bench/memory.sh   # the monitor reusing connections
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-1}
steady=${STEADY:-30}
connection=${CONNECTION:-new}
cargo build --release --quiet
bin=${REHEARSE:-./target/release/rehearse}
"$bin" images build static-site >/dev/null 2>&1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The same scenario with `steady` seconds of traffic on each side of the cutover (and
# step timeouts that leave them room: an exec step's default is 5 minutes).
sed -e "s/command: sleep 30}/command: sleep $steady}\n    timeout: $((steady + 120))s/" \
    -e "s/^    rate: 1000$/    rate: 1000\n    connection: $connection/" \
    bench/cutover-1000.yaml >"$work/scenario.yaml"
for run in $(seq 1 "$runs"); do
    dir="$work/run-$run"
    mkdir -p "$dir"
    "$bin" run "$work/scenario.yaml" --no-checkpoints --report-dir "$dir/report" -q \
        >/dev/null 2>&1 &
    pid=$!
    start=$(date +%s.%N)
    # Seconds since the start, RSS and peak RSS in KiB, once a second while it runs.
    while kill -0 "$pid" 2>/dev/null; do
        if status=$(cat "/proc/$pid/status" 2>/dev/null); then
            rss=$(awk '/^VmRSS:/ {print $2}' <<<"$status")
            hwm=$(awk '/^VmHWM:/ {print $2}' <<<"$status")
            now=$(date +%s.%N)
            [ -z "$rss" ] || awk -v a="$now" -v b="$start" -v r="$rss" -v h="$hwm" \
                'BEGIN { printf "%.1f %s %s\n", a - b, r, h }' >>"$dir/rss"
        fi
        sleep 1
    done
    wait "$pid" || true
    python3 - "$dir/rss" "$dir/report/report.json" "$run" "$connection" <<'PY'
import json, sys
rows = [tuple(map(float, line.split())) for line in open(sys.argv[1]) if line.strip()]
r = json.load(open(sys.argv[2]))
sent = sum(m.get("sent", 0) for m in r.get("monitors", []))
failed = sum(m.get("failed", 0) for m in r.get("monitors", []))
monitored = max((m.get("duration_ms", 0) for m in r.get("monitors", [])), default=0) / 1000
peak = max(row[2] for row in rows) / 1024
def at(second):
    near = [row for row in rows if row[0] >= second]
    return near[0][1] / 1024 if near else None
line = (f"run {sys.argv[3]} ({sys.argv[4]} connections): peak RSS {peak:.1f} MiB over {rows[-1][0]:.0f} s "
        f"({monitored:.0f} s monitored); monitor requests {sent} ({failed} failed); "
        f"verdict {r['verdict']}")
m2, m10 = at(120), at(600)
if m2 is not None:
    line += f"; RSS at 2 min {m2:.1f} MiB"
if m2 is not None and m10 is not None:
    line += f", at 10 min {m10:.1f} MiB (difference {m10 - m2:+.1f} MiB)"
print(line)
PY
done

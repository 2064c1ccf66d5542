#!/usr/bin/env bash
# The prober with `connection: keep-alive` against a fast static target (nginx serving a
# small file, bench/keep-alive-target.yaml) on this machine, side by side with wrk in one
# run: the rate it sustains, its latency, and the CPU it takes per request, as ratios to
# wrk's. Issue 21's target: 5000 requests/s at under one core on 2 cores.
#
#   bash bench/keep-alive.sh                 # from the repository root, about 2 minutes
#   RATE=5000 DURATION=10 bash bench/keep-alive.sh
#
# wrk (Debian's, installed with apt-get if missing) is closed-loop: 16 keep-alive
# connections sending as fast as the target answers; it says how many requests a second
# this target and machine take, and how much CPU a request costs a well-known client.
# The prober is open-loop at RATE. A benchmark: it prints figures and never fails on
# them. It removes the replica it started, also when interrupted; the image stays.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

rate=${RATE:-5000}
duration=${DURATION:-10}
work=$(mktemp -d)
run_id=""

cleanup() {
    local status=$?
    trap - EXIT INT TERM
    if [ -n "$run_id" ]; then
        remove_run "$run_id"
    fi
    rm -rf "$work"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-1} cargo build --release --quiet --bin rehearse --example prober
./target/release/rehearse run bench/keep-alive-target.yaml --images-dir bench/recipes --keep \
    --no-checkpoints --report-dir "$work/report" -q >"$work/run.log" 2>&1 || {
    cat "$work/run.log" >&2
    exit 3
}
run_id=$(run_id_of "$work/report/report.json")
container=$(docker ps -q --filter "label=rehearse.run=$run_id" --filter label=rehearse.host=web)
ip=$(docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}' "$container" | awk '{ print $1 }')
url="http://$ip/index.html"
echo "target: $url (run $run_id)" >&2

ensure_wrk
wrk_report_lua "$work/report.lua"
if command -v wrk >/dev/null; then
    echo "wrk: closed-loop, 16 keep-alive connections, ${duration}s" >&2
    measured "$work/wrk.txt" "$work/wrk.cpu" \
        wrk -t1 -c16 -d"${duration}s" -s "$work/report.lua" "$url"
fi
ensure_oha 900
if [ -n "$oha" ]; then
    # Open-loop at the same rate as the prober, latency from the scheduled time like it.
    sleep 2
    echo "oha: ${rate}/s, keep-alive (50 connections), ${duration}s" >&2
    measured "$work/oha-keep-alive.json" "$work/oha-keep-alive.cpu" \
        "$oha" -z "${duration}s" -q "$rate" -c 50 --latency-correction \
        --no-tui --output-format json "$url"
    sleep 2
    echo "oha: ${rate}/s, a new connection per request, ${duration}s" >&2
    measured "$work/oha-new.json" "$work/oha-new.cpu" \
        "$oha" -z "${duration}s" -q "$rate" -c 200 --latency-correction --disable-keepalive \
        --no-tui --output-format json "$url"
fi
sleep 2
echo "prober: ${rate}/s, keep-alive, ${duration}s" >&2
measured "$work/keep-alive.json" "$work/keep-alive.cpu" \
    ./target/release/examples/prober --url "$url" --rate "$rate" --duration "${duration}s" --keep-alive
sleep 2
echo "prober: ${rate}/s, a new connection per request, ${duration}s" >&2
measured "$work/new.json" "$work/new.cpu" \
    ./target/release/examples/prober --url "$url" --rate "$rate" --duration "${duration}s"

python3 - "$work" "$rate" <<'PY'
import json, os, sys
sys.path.insert(0, "bench")
from loadtools import read_oha, read_wrk
work, rate = sys.argv[1], int(sys.argv[2])
rows = []
def prober(name, label):
    out = json.load(open(f"{work}/{name}.json"))
    cpu = json.load(open(f"{work}/{name}.cpu"))
    r = out["report"]
    ok = r["sent"] - r["failed"]
    lat = r.get("latency") or {}
    rows.append((label, out["ok_per_s"], r["failed"], lat.get("p50_ms"), lat.get("p99_ms"),
                 cpu["cpu_s"] / cpu["wall_s"], cpu["cpu_s"] / max(ok, 1) * 1e6))
def tool(m, label):
    if m is not None:
        rows.append((label, m["ok_per_s"], m["failed"], m["p50_ms"], m["p99_ms"], m["cores"],
                     m["cpu_us_per_ok"]))
prober("keep-alive", f"prober {rate}/s keep-alive")
prober("new", f"prober {rate}/s new connections")
for name, mode in (("oha-keep-alive", "keep-alive"), ("oha-new", "new connections")):
    if os.path.exists(f"{work}/{name}.cpu"):
        tool(read_oha(f"{work}/{name}.json", f"{work}/{name}.cpu"), f"oha {rate}/s {mode}")
if os.path.exists(f"{work}/wrk.cpu"):
    tool(read_wrk(f"{work}/wrk.txt", f"{work}/wrk.cpu"), "wrk 16 conns (closed-loop)")
print("| client | ok/s | failed | p50 ms | p99 ms | cores | CPU µs/request |")
print("|---|---:|---:|---:|---:|---:|---:|")
for label, okps, failed, p50, p99, cores, us in rows:
    f = lambda v: "-" if v is None else f"{v:.2f}"
    print(f"| {label} | {okps:.0f} | {failed} | {f(p50)} | {f(p99)} | {cores:.2f} | {us:.1f} |")
us = {label: row[-1] for label, *row in rows}
print()
for mode in ("keep-alive", "new connections"):
    ours, theirs = us.get(f"prober {rate}/s {mode}"), us.get(f"oha {rate}/s {mode}")
    if ours and theirs:
        print(f"CPU per request, prober / oha, {mode}: {ours / theirs:.2f}")
wrk = [v for label, v in us.items() if label.startswith("wrk")]
if wrk and us.get(f"prober {rate}/s keep-alive"):
    print(f"CPU per request, prober keep-alive / wrk: {us[f'prober {rate}/s keep-alive'] / wrk[0]:.2f}")
PY

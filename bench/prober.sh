#!/usr/bin/env bash
# How fast, how precise and how costly the continuous prober (src/monitor) is, against a
# kept replica of a static site on Apache (bench/prober-target.yaml):
#
#   1. the prober (examples/prober.rs) at each rate in RATES for DURATION seconds: the
#      rate it sustained, its failures, latency p50/p99/p99.9 from the scheduled send
#      time, and the CPU it used (cores = CPU seconds per second of run);
#   2. well-known load tools against the same page for comparison: wrk (closed-loop,
#      keep-alive, then one connection per request) and, if `cargo install oha --locked`
#      works, oha (rate-limited with -q and --latency-correction, one connection per
#      request like the prober);
#   3. the timing resolution of the unavailability measurement: while the prober sends
#      1000 requests/s, the page is moved away for 2 s inside the container three times,
#      timed there around each move; the prober's windows are compared with them.
#
#   bash bench/prober.sh                      # from the repository root, a few minutes
#   RATES="200 1000" DURATION=5 SKIP_OHA=1 bash bench/prober.sh
#
# A benchmark, not a test: it prints figures (a Markdown table at the end) and never
# fails on them. It removes the replica it started, also when interrupted or failing;
# the cached images stay.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

duration=${DURATION:-10}
rates=${RATES:-200 1000 5000}
outage_rate=1000
work=$(mktemp -d)
rehearse_pid=""
run_id=""

cleanup() {
    local status=$?
    trap - EXIT INT TERM
    if [ -n "$rehearse_pid" ] && kill -0 "$rehearse_pid" 2>/dev/null; then
        kill "$rehearse_pid" 2>/dev/null || true
        wait "$rehearse_pid" 2>/dev/null || true
    fi
    if [ -z "$run_id" ] && [ -n "$rehearse_pid" ]; then
        # Interrupted before the run said its id: find it by the owner label (host/pid/start).
        run_id=$(docker ps -a --filter label=rehearse.scenario=bench-prober-target \
            --format '{{.Label "rehearse.owner"}} {{.Label "rehearse.run"}}' |
            awk -v pid="/$rehearse_pid/" 'index($1, pid) { print $2; exit }')
    fi
    if [ -n "$run_id" ]; then
        echo "removing the replica (run $run_id)" >&2
        remove_run "$run_id"
    fi
    rm -rf "$work"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { printf '\n== %s\n' "$*" >&2; }

# One connection per request leaves the *client's* side of each connection in TIME_WAIT
# for 60 s (the client closes first), and there are only so many local ports towards one
# address: wait until enough are free for the next run, so runs do not starve each other.
wait_for_ports() {
    local need=$1 low high size waited=0 busy
    read -r low high </proc/sys/net/ipv4/ip_local_port_range
    size=$((high - low + 1))
    [ "$need" -lt $((size - 1000)) ] || need=$((size - 1000))
    while :; do
        busy=$(ss -Htan state time-wait | wc -l)
        [ $((size - busy)) -lt "$need" ] || break
        [ "$waited" -lt 70 ] || { echo "  still $busy ports in TIME_WAIT, going on" >&2; break; }
        [ "$waited" -gt 0 ] || echo "  waiting for ports in TIME_WAIT to expire ($busy busy, $need needed)" >&2
        sleep 5
        waited=$((waited + 5))
    done
}

say "building"
CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-1} cargo build --release --quiet --bin rehearse --example prober
rehearse=./target/release/rehearse
prober=./target/release/examples/prober

say "starting the replica (the first run builds the static-site image, about a minute)"
"$rehearse" run bench/prober-target.yaml --keep --report-dir "$work/report" >"$work/run.log" 2>&1 &
rehearse_pid=$!
run_status=0
wait "$rehearse_pid" || run_status=$?
run_id=$(run_id_of "$work/report/report.json" 2>/dev/null || true)
if [ "$run_status" -ne 0 ] || [ -z "$run_id" ]; then
    cat "$work/run.log" >&2
    echo "the replica did not come up (exit $run_status)" >&2
    exit 3
fi
container=$(docker ps -q --filter "label=rehearse.run=$run_id" --filter label=rehearse.host=web)
ip=$(docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}' "$container" | awk '{ print $1 }')
# The file itself, not the directory: without index.html the directory answers 200 with a listing.
url="http://$ip/index.html"
echo "  run $run_id, container ${container:0:12}, $url" >&2

results=$work/results.jsonl
: >"$results"
record() { python3 -c 'import json,sys; print(json.dumps(dict(zip(sys.argv[1::2], sys.argv[2::2]))))' "$@" >>"$results"; }

# Three outages of 2 s planted while the prober runs: the page is moved away (Apache
# answers 404, which the prober counts as failed) and back. A rename is atomic and the
# times around it are taken inside the container (whose clock is the host's) with
# $EPOCHREALTIME (no fork) just before and after each `mv`, so the planted outage is
# known to within how long an `mv` takes.
# (Stopping Apache instead blurs both edges: a graceful stop and a start each take tens
# to hundreds of milliseconds during which some requests are answered and some not.)
outage_duration=12
wait_for_ports $((outage_rate * outage_duration))
say "unavailability resolution: prober at $outage_rate req/s, the page away 3 x 2 s"
"$prober" --url "$url" --rate "$outage_rate" --duration "${outage_duration}s" >"$work/outage.json" &
prober_pid=$!
sleep 2
for _ in 1 2 3; do
    docker exec "$container" bash -c '
        cd /var/www/html
        t0=$EPOCHREALTIME; mv index.html index.html.away; t1=$EPOCHREALTIME
        sleep 2
        t2=$EPOCHREALTIME; mv index.html.away index.html; t3=$EPOCHREALTIME
        echo "$t0 $t1 $t2 $t3"' >>"$work/outages.txt"
    sleep 0.5
done
wait "$prober_pid"
record kind outage file "$work/outage.json" planted "$work/outages.txt"

# Lowest rates first: a rate the target cannot take (SYN backlog overflowing) leaves it
# draining queued connections for a while, which would spoil the runs after it.
for rate in $(tr ' ' '\n' <<<"$rates" | sort -n); do
    [ "$rate" -le 1000 ] || continue
    wait_for_ports $((rate * duration))
    say "prober at $rate req/s for ${duration}s"
    "$prober" --url "$url" --rate "$rate" --duration "${duration}s" >"$work/prober-$rate.json"
    record kind prober rate "$rate" file "$work/prober-$rate.json"
done

wrk_report_lua "$work/report.lua"
command -v wrk >/dev/null || say "installing wrk"
ensure_wrk
if command -v wrk >/dev/null; then
    say "wrk, closed-loop, 64 keep-alive connections, ${duration}s"
    measured "$work/wrk-keepalive.txt" "$work/wrk-keepalive.cpu" \
        wrk -t2 -c64 -d"${duration}s" -s "$work/report.lua" "$url"
    record kind wrk mode keep-alive file "$work/wrk-keepalive.txt" cpu "$work/wrk-keepalive.cpu"
    say "wrk, closed-loop, 64 connections, a new one per request (Connection: close), ${duration}s"
    measured "$work/wrk-close.txt" "$work/wrk-close.cpu" \
        wrk -t2 -c64 -d"${duration}s" -H 'Connection: close' -s "$work/report.lua" "$url"
    record kind wrk mode close file "$work/wrk-close.txt" cpu "$work/wrk-close.cpu"
else
    echo "  wrk is not installed and could not be; skipped" >&2
fi

# Rates above 1000 req/s last, for the reason above.
for rate in $(tr ' ' '\n' <<<"$rates" | sort -n); do
    [ "$rate" -gt 1000 ] || continue
    wait_for_ports $((rate * duration))
    say "prober at $rate req/s for ${duration}s"
    "$prober" --url "$url" --rate "$rate" --duration "${duration}s" >"$work/prober-$rate.json"
    record kind prober rate "$rate" file "$work/prober-$rate.json"
done

ensure_oha 600
if [ -n "$oha" ]; then
    for rate in $(tr ' ' '\n' <<<"$rates" | sort -rn); do
        [ "$rate" -ge 1000 ] || continue
        wait_for_ports $((rate * duration))
        say "oha at $rate req/s (-q, --latency-correction, no keep-alive), ${duration}s"
        measured "$work/oha-$rate.json" "$work/oha-$rate.cpu" \
            "$oha" -z "${duration}s" -q "$rate" -c 200 --latency-correction --disable-keepalive \
            --no-tui --output-format json "$url"
        record kind oha rate "$rate" file "$work/oha-$rate.json" cpu "$work/oha-$rate.cpu"
    done
else
    echo "  oha not available; skipped" >&2
fi

say "results"
python3 - "$results" "$duration" <<'PY'
import json, sys
sys.path.insert(0, "bench")
from loadtools import read_oha, read_wrk

rows = [json.loads(line) for line in open(sys.argv[1])]
duration = float(sys.argv[2])
print(f"\nThroughput, latency and CPU ({duration:.0f} s per run; the target shares the 2 cores)\n")
print("| tool | model | asked req/s | sustained ok/s | failed | p50 ms | p99 ms | p99.9 ms | CPU cores |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
notes = []
for row in rows:
    if row["kind"] == "prober":
        p = json.load(open(row["file"]))
        r, lat = p["report"], p["report"]["latency"] or {}
        print(f"| rehearse prober | open-loop, 1 conn/request | {r['rate']} | {p['ok_per_s']:.0f} "
              f"| {r['failed']} of {r['sent']} | {lat.get('p50_ms', float('nan')):.2f} "
              f"| {lat.get('p99_ms', float('nan')):.2f} | {lat.get('p999_ms', float('nan')):.2f} "
              f"| {p['cores_used']:.2f} |")
        if r["failed"]:
            errors = sorted({w["first_error"] for w in r["unavailability_windows"]})
            notes.append(f"prober at {r['rate']} req/s: {r['failed']} failed; "
                         f"longest window {r['longest_unavailability_ms']} ms; errors seen: {'; '.join(errors)}")
    elif row["kind"] == "wrk":
        w = read_wrk(row["file"], row["cpu"])
        model = ("closed-loop, 64 keep-alive conns" if row["mode"] == "keep-alive"
                 else "closed-loop, 64 conns, Connection: close")
        print(f"| wrk | {model} | (max) | {w['ok_per_s']:.0f} | {w['failed']} of {w['total']} "
              f"| {w['p50_ms']:.2f} | {w['p99_ms']:.2f} | {w['p999_ms']:.2f} | {w['cores']:.2f} |")
    elif row["kind"] == "oha":
        o = read_oha(row["file"], row["cpu"])
        if o is None:
            exit_code = json.load(open(row["cpu"]))["exit"]
            print(f"| oha | open-loop (-q), 1 conn/request | {row['rate']} | (no output, exit {exit_code}) | | | | | |")
            continue
        ms = lambda v: float("nan") if v is None else v
        print(f"| oha | open-loop (-q, latency correction), 1 conn/request | {row['rate']} "
              f"| {o['ok_per_s']:.0f} | {o['failed']} of {o['total']} | {ms(o['p50_ms']):.2f} "
              f"| {ms(o['p99_ms']):.2f} | {ms(o['p999_ms']):.2f} | {o['cores']:.2f} |")
        if o["errors"]:
            notes.append(f"oha at {row['rate']} req/s errors: {o['errors']}")

for row in rows:
    if row["kind"] != "outage":
        continue
    p = json.load(open(row["file"]))
    start = p["started_at_unix"]
    windows = [(start + w["start_ms"] / 1000, start + w["end_ms"] / 1000, w)
               for w in p["report"]["unavailability_windows"]]
    print(f"\nUnavailability resolution (prober at {p['report']['rate']} req/s, the page moved away for 2 s)\n")
    print("| outage | planted (ms) | measured window (ms) | error (ms) | start error (ms) | end error (ms) |")
    print("|---:|---:|---:|---:|---:|---:|")
    errors = []
    for n, line in enumerate(open(row["planted"]), 1):
        t0, t1, t2, t3 = map(float, line.split())
        # The rename is mv's last act, so each edge is taken when mv returned; how long mv
        # took bounds the error of that.
        away, back = t1, t3
        planted = (back - away) * 1000
        uncertainty = max(t1 - t0, t3 - t2) * 1000
        match = [w for w in windows if w[0] < t3 + 0.5 and w[1] > t0 - 0.5]
        if not match:
            print(f"| {n} | {planted:.1f} (mv ≤ {uncertainty:.1f}) | not seen | | | |")
            continue
        ws, we, w = max(match, key=lambda m: m[1] - m[0])
        measured = w["end_ms"] - w["start_ms"]
        errors.append(measured - planted)
        print(f"| {n} | {planted:.1f} (mv ≤ {uncertainty:.1f}) | {measured} | {measured - planted:+.1f} "
              f"| {(ws - away) * 1000:+.1f} | {(we - back) * 1000:+.1f} |")
    if errors:
        print(f"\nmean absolute error {sum(map(abs, errors)) / len(errors):.1f} ms over {len(errors)} outages")
    r = p["report"]
    print(f"\n(outage run: {r['sent']} sent, {r['failed']} failed, {len(r['unavailability_windows'])} windows kept, "
          f"CPU {p['cores_used']:.2f} cores)")

if notes:
    print("\nNotes:")
    for note in notes:
        print(f"- {note}")
print("\nwrk is closed-loop: each connection sends its next request only after the previous "
      "answer, so its latencies omit queueing delay (coordinated omission) and its rate is "
      "whatever the server allows; with keep-alive it does not pay a TCP handshake per request "
      "as the prober does.")
PY

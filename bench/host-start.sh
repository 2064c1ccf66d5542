#!/usr/bin/env bash
# Host start latency: `rehearse`'s create → start → systemd booted → site answering (its
# provision step plus the first probe, from report.json; and the whole command, process
# start, engine checks, report writing and cleanup included) against `docker run` of the same
# image and a readiness loop in shell (`systemctl is-system-running --wait`, then curl).
# A benchmark: it prints figures and never fails on them.
#
#   bash bench/host-start.sh [RUNS]    # default 5
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
cargo build --release --quiet
bin=./target/release/rehearse
image=$("$bin" images build static-site 2>&1 | grep -Eo 'rehearse/static-site:[0-9a-f]+' | head -1)
results=$(mktemp)
trap 'rm -f "$results"' EXIT
for _ in $(seq 1 "$runs"); do
    dir=$(mktemp -d)
    start=$(date +%s.%N)
    "$bin" run bench/host-start.yaml --no-checkpoints --report-dir "$dir" -q >/dev/null 2>&1
    end=$(date +%s.%N)
    python3 - "$dir/report.json" "$start" "$end" >>"$results" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
ms = sum(s["duration_ms"] for s in r["steps"])
print(f"rehearse-steps {ms / 1000:.3f}")
print(f"rehearse-command {float(sys.argv[3]) - float(sys.argv[2]):.3f}")
PY
    rm -rf "$dir"
    name=bench-start-$$
    start=$(date +%s.%N)
    docker network create "$name" >/dev/null
    docker run -d --name "$name" --network "$name" --tmpfs /run --tmpfs /run/lock --tmpfs /tmp \
        -v /sys/fs/cgroup:/sys/fs/cgroup:rw --cgroupns=host --stop-signal SIGRTMIN+3 "$image" >/dev/null
    until docker exec "$name" systemctl is-system-running --wait 2>/dev/null | grep -Eq 'running|degraded'; do sleep 0.1; done
    ip=$(docker inspect -f "{{(index .NetworkSettings.Networks \"$name\").IPAddress}}" "$name")
    until curl -fsS -o /dev/null "http://$ip/"; do sleep 0.1; done
    end=$(date +%s.%N)
    docker rm -f "$name" >/dev/null
    docker network rm "$name" >/dev/null
    python3 -c "import sys; print(f'docker {float(sys.argv[2]) - float(sys.argv[1]):.3f}')" "$start" "$end" >>"$results"
done
python3 - "$results" <<'PY'
import sys, statistics
rows = [l.split() for l in open(sys.argv[1])]
for who in ("rehearse-steps", "rehearse-command", "docker"):
    times = [float(r[1]) for r in rows if r[0] == who]
    print(f"{who:>16}: median {statistics.median(times):.2f}s  min {min(times):.2f}s  max {max(times):.2f}s  ({len(times)} runs)")
PY

#!/usr/bin/env bash
# The whole LAMP reference rehearsal, `rehearse` against the same steps scripted by hand
# with the docker CLI and mmdebstrap (bench/by-hand/lamp-upgrade.sh), side by side, as
# ratios. A benchmark: it prints figures and never fails on them.
#
#   bash bench/vs-by-hand.sh [RUNS]          # warm: both keep their images (default 3 runs)
#   COLD=1 bash bench/vs-by-hand.sh [RUNS]   # cold: both images (and bullseye bases) removed first,
#                                            # and the tool's package cache empty
#
# Runs alternate (rehearse, script, rehearse, ...) so a slow minute hurts both alike.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
cargo build --release --quiet
bin=./target/release/rehearse
results=$(mktemp)
trap 'rm -f "$results"' EXIT

drop_images() {
    docker images --format '{{.Repository}}:{{.Tag}}' |
        grep -E '^(rehearse/lamp-bullseye|rehearse/debian:bullseye|byhand/)' |
        xargs -r docker rmi -f >/dev/null 2>&1 || true
}
if [ "${COLD:-0}" != 1 ]; then
    "$bin" images build lamp-bullseye >/dev/null 2>&1
    bash bench/by-hand/lamp-upgrade.sh >/dev/null
fi

for run in $(seq 1 "$runs"); do
    [ "${COLD:-0}" = 1 ] && drop_images
    dir=$(mktemp -d)
    # Cold means an empty package cache too: the tool gets no head start on the script.
    cache=()
    [ "${COLD:-0}" = 1 ] && cache=(--cache-dir "$dir/apt-cache")
    start=$(date +%s.%N)
    "$bin" run scenarios/lamp-bullseye-to-bookworm.yaml --no-checkpoints --report-dir "$dir" -q "${cache[@]}" >/dev/null || true
    end=$(date +%s.%N)
    python3 - "$dir/report.json" "$start" "$end" >>"$results" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
wall = float(sys.argv[3]) - float(sys.argv[2])
inside = 0.0
for step in r["steps"]:
    for hop in (step.get("upgrade") or {}).get("hops", []):
        inside += (hop["apt_ms"] + hop["reboot_ms"]) / 1000
print(f"rehearse {wall:.1f} {inside:.1f} {r['verdict']}")
PY
    rm -rf "$dir"
    [ "${COLD:-0}" = 1 ] && drop_images
    start=$(date +%s.%N)
    KEEP_IMAGE=1 bash bench/by-hand/lamp-upgrade.sh >/dev/null
    end=$(date +%s.%N)
    python3 -c "import sys; print(f'script {float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$start" "$end" >>"$results"
done

python3 - "$results" "${COLD:-0}" <<'PY'
import sys, statistics
rows = [l.split() for l in open(sys.argv[1])]
tool = [float(r[1]) for r in rows if r[0] == "rehearse"]
inside = [float(r[2]) for r in rows if r[0] == "rehearse"]
script = [float(r[1]) for r in rows if r[0] == "script"]
mode = "cold (images removed before each run)" if sys.argv[2] == "1" else "warm (images kept)"
print(f"LAMP reference rehearsal, {mode}, {len(tool)} run(s) each")
print(f"  rehearse: median {statistics.median(tool):.1f}s  (runs: {', '.join(f'{t:.1f}' for t in tool)}); verdicts {[r[3] for r in rows if r[0] == 'rehearse']}")
print(f"  by hand:  median {statistics.median(script):.1f}s  (runs: {', '.join(f'{t:.1f}' for t in script)})")
print(f"  ratio rehearse / by hand: {statistics.median(tool) / statistics.median(script):.3f}")
print(f"  apt/dpkg and the reboot inside the replica: median {statistics.median(inside):.1f}s; "
      f"everything else (boots, seeding, probes, the tool itself): {statistics.median(tool) - statistics.median(inside):.1f}s "
      f"({(statistics.median(tool) - statistics.median(inside)) / statistics.median(tool) * 100:.0f}% of the rehearsal)")
PY

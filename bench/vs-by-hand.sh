#!/usr/bin/env bash
# The whole LAMP reference rehearsal, `rehearse` against the same steps scripted by hand
# (bench/by-hand/lamp-upgrade.sh; by default its one-pass image build, the fastest an
# admin has), side by side, cold and warm, as ratios. A benchmark: it prints figures and
# never fails on them.
#
#   bash bench/vs-by-hand.sh [RUNS]          # RUNS rounds (default 2) of: cold rehearse,
#                                            # cold script, warm rehearse, warm script
#   BUILD=two-pass bash bench/vs-by-hand.sh  # the script's two-pass build instead
#
# Cold: both images (and the bullseye bases) removed first, and the tool's package cache
# empty. Warm: the images the cold run just built are kept. Runs alternate so a slow
# minute hurts both alike.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-2}
export BUILD=${BUILD:-one-pass}
cargo build --release --quiet
bin=./target/release/rehearse
results=$(mktemp)
trap 'rm -f "$results"' EXIT

# Remove images whose reference matches $1.
drop_images() {
    docker images --format '{{.Repository}}:{{.Tag}}' | grep -E "$1" |
        xargs -r docker rmi -f >/dev/null 2>&1 || true
}
tool_images='^(rehearse/lamp-bullseye|rehearse/debian:bullseye)'
script_images='^byhand/'

for run in $(seq 1 "$runs"); do
    for mode in cold warm; do
        [ "$mode" = cold ] && drop_images "$tool_images"
        dir=$(mktemp -d)
        # Cold means an empty package cache too: the tool gets no head start on the script.
        cache=()
        [ "$mode" = cold ] && cache=(--cache-dir "$dir/apt-cache")
        start=$(date +%s.%N)
        "$bin" run scenarios/lamp-bullseye-to-bookworm.yaml --no-checkpoints --report-dir "$dir" -q "${cache[@]}" >/dev/null || true
        end=$(date +%s.%N)
        python3 - "$dir/report.json" "$start" "$end" "$mode" >>"$results" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
wall = float(sys.argv[3]) - float(sys.argv[2])
inside = 0.0
for step in r["steps"]:
    for hop in (step.get("upgrade") or {}).get("hops", []):
        inside += (hop["apt_ms"] + hop["reboot_ms"]) / 1000
provision = next(s["duration_ms"] for s in r["steps"] if s["name"] == "provision") / 1000
print(f"rehearse {sys.argv[4]} {wall:.1f} {inside:.1f} {r['verdict']} {provision:.1f}")
PY
        rm -rf "$dir"
        [ "$mode" = cold ] && drop_images "$script_images"
        start=$(date +%s.%N)
        line=$(KEEP_IMAGE=1 bash bench/by-hand/lamp-upgrade.sh)
        end=$(date +%s.%N)
        image=$(sed -n 's/.*(image \([0-9.]*\)s.*/\1/p' <<<"$line")
        python3 -c "import sys; print(f'script {sys.argv[3]} {float(sys.argv[2]) - float(sys.argv[1]):.1f} {sys.argv[4]}')" "$start" "$end" "$mode" "$image" >>"$results"
    done
done

python3 - "$results" "$BUILD" <<'PY'
import sys, statistics
rows = [l.split() for l in open(sys.argv[1])]
med = statistics.median
print(f"LAMP reference rehearsal, rehearse against the by-hand script ({sys.argv[2]} image build)")
for mode in ("cold", "warm"):
    tool = [r for r in rows if r[0] == "rehearse" and r[1] == mode]
    script = [r for r in rows if r[0] == "script" and r[1] == mode]
    wall = [float(r[2]) for r in tool]
    inside = [float(r[3]) for r in tool]
    provision = [float(r[5]) for r in tool]
    by_hand = [float(r[2]) for r in script]
    image = [float(r[3]) for r in script if r[3]]
    print(f"{mode}, {len(tool)} run(s) each:")
    print(f"  rehearse: median {med(wall):.1f}s (runs: {', '.join(f'{t:.1f}' for t in wall)}); "
          f"provision {med(provision):.1f}s; verdicts {[r[4] for r in tool]}")
    print(f"  by hand:  median {med(by_hand):.1f}s (runs: {', '.join(f'{t:.1f}' for t in by_hand)})"
          + (f"; image {med(image):.1f}s" if image else ""))
    print(f"  ratio rehearse / by hand: {med(wall) / med(by_hand):.2f}")
    print(f"  apt/dpkg and the reboot inside the replica: median {med(inside):.1f}s; everything else: "
          f"{med(wall) - med(inside):.1f}s ({(med(wall) - med(inside)) / med(wall) * 100:.0f}%)")
PY

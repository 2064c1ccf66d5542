#!/usr/bin/env bash
# Bytes fetched from the Debian mirror by the LAMP reference rehearsal, cold, twice with the
# same package cache: the first run fills it (base bootstrap, image build, the upgrade), the
# second, its images removed again, should fetch almost nothing upstream (target: under 2 %
# of the first), only the index files apt revalidates. Figures from report.json's `apt_cache`.
# A benchmark: it prints figures and never fails on them.
#
#   bash bench/apt-cache.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
bin=./target/release/rehearse
cache=$(mktemp -d)
results=$(mktemp)
trap 'rm -rf "$cache" "$results"' EXIT
drop_images() {
    docker images --format '{{.Repository}}:{{.Tag}}' |
        grep -E '^rehearse/(lamp-bullseye|debian:bullseye)' |
        xargs -r docker rmi -f >/dev/null 2>&1 || true
}
for run in first second; do
    drop_images
    dir=$(mktemp -d)
    start=$(date +%s.%N)
    "$bin" run scenarios/lamp-bullseye-to-bookworm.yaml --cache-dir "$cache" --no-checkpoints \
        --report-dir "$dir" -q >/dev/null 2>&1 || true
    end=$(date +%s.%N)
    python3 - "$dir/report.json" "$run" "$start" "$end" >>"$results" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
c = r.get("apt_cache") or {}
print(sys.argv[2], c.get("upstream_bytes", 0), c.get("cached_bytes", 0), c.get("hits", 0),
      c.get("misses", 0), f"{float(sys.argv[4]) - float(sys.argv[3]):.1f}", r["verdict"])
PY
    rm -rf "$dir"
done
python3 - "$results" "$cache" <<'PY'
import sys, os
rows = {l.split()[0]: l.split()[1:] for l in open(sys.argv[1])}
mib = lambda b: int(b) / 1048576
for run in ("first", "second"):
    up, cached, hits, misses, wall, verdict = rows[run]
    print(f"{run} run: {mib(up):.1f} MiB from the mirror, {mib(cached):.1f} MiB from the cache "
          f"({hits} hits, {misses} misses), {wall}s, {verdict}")
first = int(rows["first"][0]); second = int(rows["second"][0])
size = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(sys.argv[2]) for f in fs)
print(f"second / first upstream bytes: {second / max(first, 1) * 100:.2f}% (cache folder: {mib(size):.1f} MiB)")
PY

#!/usr/bin/env bash
# A Debian base image made by the built-in bootstrap against one made by mmdebstrap, cold
# (the base removed before each run, the package cache kept: what a second bootstrap
# fetches from the mirror is printed too). A benchmark: it prints figures and never fails
# on them.
#
#   bash bench/bootstrap.sh [RUNS] [SUITE]   # default 2 runs of each, bookworm
#
# Runs alternate (builtin, mmdebstrap, ...) so a slow minute hurts both alike. Each builds
# a recipe with no packages, so what is timed is the base (plus a few seconds of labels).
# The mirrors are spelled with their port: the same servers and package cache, but bases
# of their own, so the ones other images are built on stay.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-2}
suite=${2:-bookworm}
command -v mmdebstrap >/dev/null || { echo "bench: mmdebstrap is not installed"; exit 1; }
cargo build --release --quiet
bin=./target/release/rehearse
images=$(mktemp -d)
results=$(mktemp)
trap 'rm -rf "$images" "$results"' EXIT
mkdir -p "$images/bare"
printf 'suite: %s\n' "$suite" >"$images/bare/recipe.yaml"
for _ in $(seq 1 "$runs"); do
    for source in builtin mmdebstrap; do
        log=$(mktemp)
        start=$(date +%s.%N)
        "$bin" images build bare --images-dir "$images" --base-source "$source" \
            --mirror http://deb.debian.org:80/debian \
            --security-mirror http://deb.debian.org:80/debian-security 2>"$log" >/dev/null
        end=$(date +%s.%N)
        base=$(grep -o "rehearse/debian:$suite-[0-9a-f]*" "$log" | head -n 1)
        cache=$(grep '^apt cache:' "$log" || true)
        own=$(grep -o "built rehearse/debian:$suite-[0-9a-f]* in [0-9.]*s" "$log" | grep -o '[0-9.]*s$' || true)
        printf '%s %.1f %s (the base alone: %s) | %s\n' "$source" "$(echo "$end - $start" | bc)" \
            "$base" "$own" "$cache" | tee -a "$results"
        # Cold next time: the base and the image on it go.
        docker images --format '{{.Repository}}:{{.Tag}}' | grep -E '^rehearse/bare:' |
            xargs -r docker rmi -f >/dev/null 2>&1 || true
        [ -n "$base" ] && docker rmi -f "$base" >/dev/null 2>&1 || true
        rm -f "$log"
    done
done
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
b=$(awk '$1=="builtin"{print $2}' "$results" | median)
m=$(awk '$1=="mmdebstrap"{print $2}' "$results" | median)
echo "median: builtin ${b} s, mmdebstrap ${m} s, ratio $(echo "scale=2; $b / $m" | bc)"

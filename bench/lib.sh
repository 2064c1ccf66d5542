# Shell functions the benchmarks share; sourced, not run:
#   . "$(dirname "$0")/lib.sh"

# measured OUT CPU COMMAND...: run COMMAND with its stdout to OUT, and write its user+system
# CPU seconds (of it and its children) and wall seconds as JSON to CPU.
measured() {
    local out=$1 cpu=$2
    shift 2
    python3 - "$out" "$cpu" "$@" <<'PY'
import json, resource, subprocess, sys, time
out, cpu, argv = sys.argv[1], sys.argv[2], sys.argv[3:]
start = time.monotonic()
with open(out, "w") as f:
    code = subprocess.run(argv, stdout=f).returncode
wall = time.monotonic() - start
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
json.dump({"cpu_s": usage.ru_utime + usage.ru_stime, "wall_s": wall, "exit": code}, open(cpu, "w"))
PY
}

# remove_run RUN_ID: remove the containers, networks and volumes a `rehearse run --keep`
# left, found by their `rehearse.run` label. Never fails.
remove_run() {
    local run_id=$1 ids
    ids=$(docker ps -aq --filter "label=rehearse.run=$run_id")
    [ -z "$ids" ] || docker rm -f $ids >/dev/null || true
    ids=$(docker network ls -q --filter "label=rehearse.run=$run_id")
    [ -z "$ids" ] || docker network rm $ids >/dev/null || true
    ids=$(docker volume ls -q --filter "label=rehearse.run=$run_id")
    [ -z "$ids" ] || docker volume rm $ids >/dev/null || true
}

# run_id_of REPORT_JSON: the run id a report.json records.
run_id_of() {
    python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["run_id"])' "$1"
}

# ensure_wrk: install Debian's wrk when missing; the caller checks `command -v wrk`.
ensure_wrk() {
    command -v wrk >/dev/null ||
        { apt-get install -y wrk || sudo apt-get install -y wrk; } >/dev/null 2>&1 || true
}

# wrk_report_lua FILE: a wrk script whose last output line is one JSON object that
# bench/loadtools.py's read_wrk() reads.
wrk_report_lua() {
    cat >"$1" <<'LUA'
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('{"requests": %d, "duration_us": %d, "errors": %d, "p50_us": %d, "p99_us": %d, "p999_us": %d}\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.status + e.timeout,
    latency:percentile(50), latency:percentile(99), latency:percentile(99.9)))
end
LUA
}

# ensure_oha MAX_SECONDS: set $oha to oha's path, installing it from crates.io (one build
# job, at most MAX_SECONDS) when missing; $oha is empty when SKIP_OHA is set or it failed.
ensure_oha() {
    oha=""
    [ -z "${SKIP_OHA:-}" ] || return 0
    oha=$(command -v oha || echo "$HOME/.cargo/bin/oha")
    if [ ! -x "$oha" ]; then
        echo "installing oha (cargo install oha --locked, at most $(($1 / 60)) minutes)" >&2
        CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-1} timeout "$1" cargo install oha --locked --quiet >/dev/null 2>&1 || true
    fi
    [ -x "$oha" ] || oha=""
}

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

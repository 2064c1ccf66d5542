#!/usr/bin/env bash
# Where a replica's files live, and what it costs the LAMP reference upgrade: the
# measurement behind docs/src/performance.md's "Replica storage" section. A benchmark:
# it prints figures and never fails on them.
#
#   bash bench/replica-storage.sh [RUNS]    # RUNS rounds (default 2), layouts alternating
#   LAYOUTS="root var-etc" bash bench/replica-storage.sh 1
#   REHEARSE=./target/debug/rehearse bash bench/replica-storage.sh   # that binary, no build
#
# Each run starts the lamp-bullseye image (built with `rehearse images build` when
# missing) as a systemd replica the way bench/by-hand/lamp-upgrade.sh does, seeds the
# shop, times `docker commit` (what a checkpoint costs), rewrites the sources to
# bookworm, runs `apt-get upgrade --without-new-pkgs` and `full-upgrade` with dpkg's
# default safe I/O (UNSAFE_IO=0) or `DPKG_FORCE=...,unsafe-io` (UNSAFE_IO=1, both by
# default), restarts it and checks the shop still answers. Layouts:
#   root             everything on the engine's storage driver (today's replicas)
#   var-etc          /var and /etc on kernel overlayfs volumes (local driver,
#                    type=overlay) whose lower layer is a volume filled once per image
#   usr-folders      the same for /var, /etc and the folders of /usr that hold files
#                    (bin, include, lib, libexec, sbin, share)
#   usr-volume       /usr, /var and /etc on plain volumes the engine fills at create:
#                    /usr becomes a mount point, which usrmerge's preinst refuses
#                    (expect the upgrade to fail, as it would not on the real host)
# A failed upgrade prints the first line that says why.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-2}
layouts=${LAYOUTS:-root var-etc usr-folders usr-volume}
unsafe_modes=${UNSAFE_IO:-0 1}
bin=${REHEARSE:-./target/release/rehearse}
[ -n "${REHEARSE:-}" ] || cargo build --release --quiet
image=$("$bin" images build lamp-bullseye 2>/dev/null | sed -n 's/^lamp-bullseye: //p')
[ -n "$image" ] || { echo "could not build lamp-bullseye" >&2; exit 1; }
id=$$
gold=rh-bench-gold-$id
work=$(mktemp -d)
name=
made=()
cleanup() {
    [ -n "$name" ] && docker rm -f "$name" >/dev/null 2>&1
    for v in "${made[@]}"; do docker volume rm -f "$v" >/dev/null 2>&1; done
    docker volume ls -q --filter "name=$gold" | xargs -r docker volume rm -f >/dev/null 2>&1
    rm -rf "$work"
}
trap cleanup EXIT
t() { date +%s.%N; }
since() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$1" "$2"; }
vol_path() { docker volume inspect -f '{{.Mountpoint}}' "$1"; }

# The folders a layout puts on volumes.
folders() {
    case $1 in
    root) ;;
    var-etc) echo var etc ;;
    usr-folders) echo usr/bin usr/include usr/lib usr/libexec usr/sbin usr/share var etc ;;
    usr-volume) echo usr var etc ;;
    esac
}

# Lower layers for the overlay layouts, filled from the image once.
fill_gold() {
    local args=()
    for f in $(folders usr-folders); do
        docker volume create "$gold-${f//\//_}" >/dev/null
        args+=(--mount "type=volume,src=$gold-${f//\//_},dst=/$f")
    done
    docker run --rm "${args[@]}" --entrypoint /bin/true "$image"
}

one_run() {
    local layout=$1 unsafe=$2 mounts=() f v
    name=rh-bench-$layout-$id-$RANDOM
    made=()
    local s0; s0=$(t)
    for f in $(folders "$layout"); do
        v=$name-${f//\//_}
        if [ "$layout" != usr-volume ]; then
            docker volume create "$v-upper" >/dev/null
            docker volume create "$v-work" >/dev/null
            docker volume create --driver local --opt type=overlay --opt device=overlay \
                --opt "o=lowerdir=$(vol_path "$gold-${f//\//_}"),upperdir=$(vol_path "$v-upper"),workdir=$(vol_path "$v-work")" \
                "$v" >/dev/null
            made+=("$v" "$v-upper" "$v-work")
            mounts+=(--mount "type=volume,src=$v,dst=/$f,volume-nocopy")
        else
            made+=("$v")
            mounts+=(--mount "type=volume,src=$v,dst=/$f")
        fi
    done
    docker run -d --name "$name" "${mounts[@]}" --tmpfs /run --tmpfs /run/lock --tmpfs /tmp \
        -v /sys/fs/cgroup:/sys/fs/cgroup:rw --cgroupns=host --stop-signal SIGRTMIN+3 "$image" >/dev/null
    local s1; s1=$(t)
    local ip; ip=$(docker inspect -f '{{.NetworkSettings.IPAddress}}' "$name")
    booted() { docker exec "$name" systemctl is-system-running --wait 2>/dev/null | grep -Eq 'running|degraded'; }
    shop_ok() { curl -fsS -m 5 "http://$ip/" | grep -q 'shop ok: 500 items'; }
    wait_for() { for _ in $(seq 1 600); do "$@" && return 0; sleep 0.2; done; return 1; }
    wait_for booted
    docker exec "$name" sh -c 'mysql < /srv/shop/seed.sql'
    wait_for shop_ok
    local c0; c0=$(t)
    docker commit -p "$name" "$name:checkpoint" >/dev/null
    local c1; c1=$(t)
    docker rmi "$name:checkpoint" >/dev/null
    local env=(-e DEBIAN_FRONTEND=noninteractive)
    [ "$unsafe" = 1 ] && env+=(-e DPKG_FORCE=security-mac,downgrade,unsafe-io)
    local u0; u0=$(t)
    local outcome=GO
    docker exec "${env[@]}" "$name" sh -ec '
        sed -i "s/bullseye/bookworm/g" /etc/apt/sources.list
        apt-get update -q
        apt-get -y -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold upgrade --without-new-pkgs
        apt-get -y -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold full-upgrade
    ' >"$work/upgrade.log" 2>&1 || outcome="apt failed: $(grep -m1 -E '^(rmdir|/usr is|dpkg: error|E: )' "$work/upgrade.log" || true)"
    local u1; u1=$(t)
    docker restart -t 10 "$name" >/dev/null
    wait_for booted
    wait_for shop_ok || outcome="NO-GO (shop down)"
    local r1; r1=$(t)
    printf '%-16s unsafe-io=%s  create %5ss  checkpoint (commit) %4ss  upgrade %6ss  reboot %4ss  %s\n' \
        "$layout" "$unsafe" "$(since "$s0" "$s1")" "$(since "$c0" "$c1")" "$(since "$u0" "$u1")" \
        "$(since "$u1" "$r1")" "$outcome"
    docker rm -f "$name" >/dev/null
    name=
    for v in "${made[@]}"; do docker volume rm -f "$v" >/dev/null; done
    made=()
}

case " $layouts " in *" var-etc "* | *" usr-folders "*)
    s=$(t); fill_gold; echo "lower layers filled once from the image in $(since "$s" "$(t)")s" ;;
esac
for run in $(seq 1 "$runs"); do
    for unsafe in $unsafe_modes; do
        for layout in $layouts; do
            one_run "$layout" "$unsafe"
        done
    done
done

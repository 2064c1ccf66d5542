#!/usr/bin/env bash
# The LAMP reference upgrade rehearsed BY HAND, the way an admin would script it with the
# docker CLI and mmdebstrap: what `rehearse` is measured against (bench/vs-by-hand.sh).
# Same steps as scenarios/lamp-bullseye-to-bookworm.yaml: a Debian 11 Apache + mod_php +
# MariaDB host seeded with the shop, probed, sources rewritten, full-upgrade, rebooted,
# probed again. It checks what a careful script would (the page and the data) and nothing
# more: no findings, no report.
#
# The image is made the fastest way an admin has (BUILD=one-pass, the reference): ONE
# mmdebstrap pass installs the base and the recipe's packages on this machine's own
# file system, hooks add the files and enable the services, and `docker import` takes the
# tar. It is the host the recipe describes, as a real one is: the packages installed the
# way `apt-get install` does (their recommends too), APT's package lists and binary
# caches kept. LEAN=1 makes the lighter host of the first measurements instead
# (`--include`, which installs no recommends, and neither lists nor caches: 197
# packages against 220, 553 MB against 709 MB). BUILD=two-pass is the tool's first
# shape: a bootstrapped base, then `docker build` installs the packages on the engine's
# storage driver.
#
#   bash bench/by-hand/lamp-upgrade.sh          # builds the image if it is missing
#   KEEP_IMAGE=0 bash bench/by-hand/lamp-upgrade.sh   # cold: removes its image after
#   BUILD=two-pass bash bench/by-hand/lamp-upgrade.sh
#   LEAN=1 bash bench/by-hand/lamp-upgrade.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
mirror=${MIRROR:-http://deb.debian.org/debian}
security=${SECURITY_MIRROR:-http://deb.debian.org/debian-security}
build=${BUILD:-one-pass}
lean=${LEAN:-0}
image=byhand/lamp-bullseye:$build
[ "$lean" = 1 ] && image=$image-lean
name=byhand-lamp-$$
net=byhand-net-$$
work=$(mktemp -d)
cleanup() {
    docker rm -f "$name" >/dev/null 2>&1 || true
    docker network rm "$net" >/dev/null 2>&1 || true
    if [ "${KEEP_IMAGE:-1}" = 0 ]; then
        docker rmi -f "$image" byhand/debian:bullseye >/dev/null 2>&1 || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT
t() { date +%s.%N; }
start=$(t)

files=images/lamp-bullseye/files
sources=("deb $mirror bullseye main" "deb $mirror bullseye-updates main" "deb $security bullseye-security main")
base_packages=systemd,systemd-sysv,dbus,ca-certificates,procps,iproute2,curl
if docker image inspect "$image" >/dev/null 2>&1; then
    :
elif [ "$build" = one-pass ]; then
    # Base, packages, files and services in one pass on this machine's file system
    # (mmdebstrap keeps services from starting while it installs).
    lamp=apache2,libapache2-mod-php,php-mysql,mariadb-server,mariadb-client
    if [ "$lean" = 1 ]; then
        packages=(--include=$base_packages,$lamp)
    else
        # As `apt-get install` installs them, the lists and APT's caches kept.
        packages=(--include=$base_packages --aptopt='Acquire::Languages "en"'
            --skip=cleanup/apt/lists --skip=cleanup/apt/cache
            --customize-hook="chroot \"\$1\" apt-get install -y -o APT::Install-Recommends=true ${lamp//,/ }"
            --customize-hook="chroot \"\$1\" apt-get clean"
            --customize-hook="chroot \"\$1\" apt-cache gencaches >/dev/null")
    fi
    mmdebstrap --variant=minbase "${packages[@]}" \
        --setup-hook=/usr/share/mmdebstrap/hooks/merged-usr/setup00.sh \
        --customize-hook="copy-in $files/index.php /var/www/html" \
        --customize-hook="mkdir -p \"\$1/srv/shop\"" \
        --customize-hook="copy-in $files/seed.sql /srv/shop" \
        --customize-hook="cp $files/data-checksum.sh \"\$1/usr/local/bin/data-checksum\"" \
        --customize-hook="chmod 755 \"\$1/usr/local/bin/data-checksum\"; rm -f \"\$1/var/www/html/index.html\"" \
        --customize-hook="chroot \"\$1\" systemctl enable apache2 mariadb" \
        --format=tar bullseye - "${sources[@]}" 2>"$work/mmdebstrap.log" |
        docker import --change 'CMD ["/sbin/init"]' - "$image" >/dev/null
else
    # A merged-/usr Debian 11 root filesystem with systemd, imported as a base image.
    mmdebstrap --variant=minbase --include=$base_packages \
        --setup-hook=/usr/share/mmdebstrap/hooks/merged-usr/setup00.sh \
        --format=tar bullseye - "${sources[@]}" 2>"$work/mmdebstrap.log" |
        docker import - byhand/debian:bullseye >/dev/null
    mkdir -p "$work/ctx"
    cp $files/* "$work/ctx/"
    cat >"$work/ctx/Dockerfile" <<'DOCKERFILE'
FROM byhand/debian:bullseye
ARG DEBIAN_FRONTEND=noninteractive
RUN printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d
RUN apt-get update && apt-get install -y apache2 libapache2-mod-php php-mysql mariadb-server mariadb-client \
    && apt-get clean && rm -rf /var/lib/apt/lists/*
COPY index.php /var/www/html/index.php
COPY seed.sql /srv/shop/seed.sql
COPY data-checksum.sh /usr/local/bin/data-checksum
RUN chmod 755 /usr/local/bin/data-checksum && rm -f /var/www/html/index.html \
    && systemctl enable apache2 mariadb && rm /usr/sbin/policy-rc.d
CMD ["/sbin/init"]
DOCKERFILE
    DOCKER_BUILDKIT=0 docker build -q -t "$image" "$work/ctx" >/dev/null
fi
built=$(t)

docker network create "$net" >/dev/null
docker run -d --name "$name" --network "$net" --network-alias shop.example.test \
    --tmpfs /run --tmpfs /run/lock --tmpfs /tmp -v /sys/fs/cgroup:/sys/fs/cgroup:rw \
    --cgroupns=host --stop-signal SIGRTMIN+3 "$image" >/dev/null
ip=$(docker inspect -f "{{(index .NetworkSettings.Networks \"$net\").IPAddress}}" "$name")
booted() { docker exec "$name" systemctl is-system-running --wait 2>/dev/null | grep -Eq 'running|degraded'; }
wait_for() { for _ in $(seq 1 120); do "$@" && return 0; sleep 1; done; echo "timed out: $*" >&2; return 1; }
wait_for booted
docker exec "$name" sh -c 'mysql < /srv/shop/seed.sql'
shop_ok() { curl -fsS -H 'Host: shop.example.test' "http://$ip/" | grep -q 'shop ok: 500 items'; }
data_ok() { docker exec "$name" data-checksum | grep -q 'items=500 checksum=1036330541108'; }
wait_for shop_ok
data_ok
ready=$(t)

docker exec "$name" sh -ec '
    sed -i "s/bullseye/bookworm/g" /etc/apt/sources.list
    for f in /etc/apt/sources.list.d/*.list; do [ -e "$f" ] && sed -i "s/bullseye/bookworm/g" "$f"; done
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get -y -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold upgrade --without-new-pkgs
    apt-get -y -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold full-upgrade
' >"$work/upgrade.log" 2>&1
upgraded=$(t)
docker restart -t 10 "$name" >/dev/null
wait_for booted
wait_for shop_ok
data_ok
done_at=$(t)
grep -q 'VERSION_ID="12"' <(docker exec "$name" cat /etc/os-release)
python3 - "$start" "$built" "$ready" "$upgraded" "$done_at" "$build" <<'PY'
import sys
start, built, ready, upgraded, done = map(float, sys.argv[1:6])
print(f"by-hand ({sys.argv[6]}): GO in {done - start:.1f}s (image {built - start:.1f}s, up and seeded {ready - built:.1f}s, "
      f"upgrade {upgraded - ready:.1f}s, reboot and probes {done - upgraded:.1f}s)")
PY

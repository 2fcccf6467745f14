#!/usr/bin/env bash
# Build Berth, start berthd on a private socket, get a busybox image and run a container.
# Leaves the daemon running and prints how to use it; `scripts/quickstart.sh stop` stops it.
# The image: ../shared/images/busybox.tar when there, else one made from Debian's
# busybox-static (scripts/busybox-image.sh). If anything fails, the berthd this run
# started is stopped again.
set -euo pipefail
cd "$(dirname "$0")/.."
B=${BERTH_QUICKSTART_DIR:-/tmp/b}

# The pid in $B/berthd.pid if that process is still a berthd.
running_pid() {
    local pid
    pid=$(cat "$B/berthd.pid" 2>/dev/null) || return 1
    [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = berthd ] && echo "$pid"
}

# Whether process $1 still runs (an exited one waiting to be reaped does not).
alive() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    [ "$(echo "${stat##*) }" | cut -c1)" != Z ]
}

# Stop the berthd of $B/berthd.pid and wait until it is gone; fails if none was running.
stop_daemon() {
    local pid
    pid=$(running_pid) || { rm -f "$B/berthd.pid"; return 1; }
    kill "$pid"
    for _ in $(seq 400); do alive "$pid" || break; sleep 0.05; done
    if alive "$pid"; then
        echo "berthd (pid $pid) did not stop within 20s" >&2
        exit 1
    fi
    rm -f "$B/berthd.pid"
}

if [ "${1:-}" = stop ]; then
    if stop_daemon; then
        echo "berthd stopped (state kept in $B/root)"
    else
        echo "no quickstart berthd was running (pid file: $B/berthd.pid)"
    fi
    exit 0
fi

# The shim compiles seccomp filters with libseccomp (runc's library): it links against it.
# The default bridge's NAT and published ports are rules in Berth's nftables table.
need=()
[ -e /usr/include/seccomp.h ] || need+=(libseccomp-dev)
command -v nft >/dev/null || need+=(nftables)
if [ ${#need[@]} -gt 0 ]; then
    apt-get update -qq && apt-get install -y -qq "${need[@]}"
fi
cargo build --release --bins --locked
mkdir -p "$B"
export BERTH_HOST="unix://$B/berthd.sock"
berth=target/release/berth
started=
on_exit() {
    local status=$?
    if [ "$status" != 0 ] && [ -n "$started" ]; then
        echo "quickstart failed: stopping the berthd it started (log: $B/berthd.log)" >&2
        stop_daemon || true
    fi
    exit "$status"
}
trap on_exit EXIT

if ! $berth version >/dev/null 2>&1; then
    target/release/berthd --data-root "$B/root" --exec-root "$B/run" -H "$BERTH_HOST" \
        >"$B/berthd.log" 2>&1 &
    echo $! >"$B/berthd.pid"
    started=1
    for _ in $(seq 200); do
        $berth version >/dev/null 2>&1 && break
        kill -0 "$(cat "$B/berthd.pid")" 2>/dev/null || break
        sleep 0.05
    done
    if ! $berth version >/dev/null 2>&1; then
        echo "berthd did not start; its log ($B/berthd.log):" >&2
        tail -n 20 "$B/berthd.log" >&2
        exit 1
    fi
fi

if [ -f ../shared/images/busybox.tar ]; then
    $berth load -i ../shared/images/busybox.tar
elif ! $berth image inspect busybox:latest >/dev/null 2>&1; then
    echo "making a busybox image from Debian's busybox-static (scripts/busybox-image.sh)"
    scripts/busybox-image.sh "$B/busybox-rootfs.tar"
    $berth import --change 'CMD ["sh"]' "$B/busybox-rootfs.tar" busybox:latest
    rm -f "$B/busybox-rootfs.tar"
fi
$berth run --rm busybox echo hello from a Berth container
cat <<TXT

berthd is running (log: $B/berthd.log). Try:
  export BERTH_HOST=unix://$B/berthd.sock PATH=\$PWD/target/release:\$PATH
  berth run --rm busybox sh -c 'exit 3'; echo \$?
  DOCKER_HOST=unix://$B/berthd.sock docker run --rm busybox echo hello
Stop it with: scripts/quickstart.sh stop
TXT

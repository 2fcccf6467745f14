#!/usr/bin/env bash
# Build Berth, start berthd on a private socket, load busybox and run a container.
# Leaves the daemon running and prints how to use it; `scripts/quickstart.sh stop` stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
B=${BERTH_QUICKSTART_DIR:-/tmp/b}
if [ "${1:-}" = stop ]; then
    [ -f "$B/berthd.pid" ] && kill "$(cat "$B/berthd.pid")" 2>/dev/null || true
    echo "berthd stopped (state kept in $B/root)"
    exit 0
fi
cargo build --release --bins --locked
mkdir -p "$B"
if ! [ -S "$B/berthd.sock" ] || ! target/release/berth -H "unix://$B/berthd.sock" version >/dev/null 2>&1; then
    target/release/berthd --data-root "$B/root" --exec-root "$B/run" -H "unix://$B/berthd.sock" \
        >"$B/berthd.log" 2>&1 &
    echo $! >"$B/berthd.pid"
    for _ in $(seq 100); do [ -S "$B/berthd.sock" ] && break; sleep 0.05; done
fi
export BERTH_HOST="unix://$B/berthd.sock"
target/release/berth load -i ../shared/images/busybox.tar
target/release/berth run --rm busybox echo hello from a Berth container
cat <<TXT

berthd is running (log: $B/berthd.log). Try:
  export BERTH_HOST=unix://$B/berthd.sock PATH=\$PWD/target/release:\$PATH
  berth run --rm busybox sh -c 'exit 3'; echo \$?
  DOCKER_HOST=unix://$B/berthd.sock docker run --rm busybox echo hello
Stop it with: scripts/quickstart.sh stop
TXT

#!/usr/bin/env bash
# Berth vs dockerd 20.10, side by side in one run. Usage: bench/run.sh [--quick]
# Installs what it needs (docker.io, hyperfine, gnuplot), builds release binaries, starts
# both daemons on private sockets and data roots, runs every scenario interleaved, writes
# BENCHMARKS.md and bench/scaling.png, and cleans up both daemons (also on failure).
# Not part of the test command or CI.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then echo "bench/run.sh needs root" >&2; exit 1; fi
missing=()
command -v dockerd >/dev/null || missing+=(docker.io)
command -v hyperfine >/dev/null || missing+=(hyperfine)
command -v gnuplot >/dev/null || missing+=(gnuplot-nox)
command -v python3 >/dev/null || missing+=(python3)
command -v mkfs.ext4 >/dev/null || missing+=(e2fsprogs)
command -v losetup >/dev/null || missing+=(mount)
if [ ${#missing[@]} -gt 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq "${missing[@]}"
fi
[ -x /usr/local/bin/docker ] || { echo "the docker CLI is expected at /usr/local/bin/docker" >&2; exit 1; }
cargo build --release --locked -p berthd -p berth -p berth-shim
exec python3 bench/bench.py "$@"

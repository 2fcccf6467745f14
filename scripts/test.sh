#!/usr/bin/env bash
# Run every test: formatting, lints, unit tests and the end-to-end tests (real berthd, real
# containers, the real docker CLI). Needs root (namespaces, mounts, cgroups). This is the
# README's test command, and what CI runs (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo >/dev/null; then
    echo "cargo not found: install a Rust toolchain (https://rustup.rs)" >&2
    exit 1
fi
# Tools the tests call that a minimal machine may lack.
need=()
command -v umount >/dev/null || need+=(mount)
command -v tar >/dev/null || need+=(tar)
command -v runc >/dev/null || need+=(runc)  # --runtime runc tests (tests/tests/runtime.rs)
[ -x /usr/bin/tini-static ] || command -v docker-init >/dev/null || need+=(tini)  # --init
command -v gzip >/dev/null || need+=(gzip)
command -v nft >/dev/null || need+=(nftables)  # crates/net/tests/firewall.rs
command -v ip >/dev/null || need+=(iproute2)  # crates/net/tests: namespaces the tests own
command -v sysctl >/dev/null || need+=(procps)
command -v nsenter >/dev/null || need+=(util-linux)
command -v busybox >/dev/null || need+=(busybox)  # ping in crates/net/tests/link.rs
[ -e /usr/include/seccomp.h ] || need+=(libseccomp-dev)  # linked by the shim (seccomp filters)
command -v cc >/dev/null || need+=(gcc libc6-dev)  # tests/tests/seccomp.rs builds a static helper
if [ ${#need[@]} -gt 0 ]; then
    apt-get update -qq && apt-get install -y -qq "${need[@]}"
fi
[ -x /usr/local/bin/docker ] || echo "note: /usr/local/bin/docker missing: the docker CLI tests will skip" >&2
# Real clients (tests/tests/clients.rs runs tests/python with them): the docker SDK for
# Python, testcontainers and pytest in a venv, docker-compose 1.29; here they must not skip.
tests/python/setup.sh
export BERTH_REQUIRE_CLIENTS=1

cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo build --workspace --bins --locked
cargo test --workspace --locked --no-fail-fast

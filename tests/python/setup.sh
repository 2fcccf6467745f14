#!/usr/bin/env bash
# Install what the client tests (tests/python, run by tests/tests/clients.rs) need:
# a venv at target/py-venv with the pinned packages of requirements.txt, and docker-compose
# 1.29 from apt. Quick when done already: the venv is rebuilt only when requirements.txt or
# the Python interpreter changes. Needs root for apt-get (run by scripts/test.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."

venv=target/py-venv
req=tests/python/requirements.txt
python=${PYTHON:-python3}

apt=()
command -v docker-compose >/dev/null || apt+=(docker-compose)
# Debian's python3 makes venvs only with python3-venv (ensurepip).
"$python" -c 'import ensurepip, venv' 2>/dev/null || apt+=(python3-venv)
if [ ${#apt[@]} -gt 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${apt[@]}" >/dev/null
fi

stamp="$(sha256sum "$req" | cut -d' ' -f1) $("$python" -c 'import sys; print(sys.version)' | head -1)"
if [ -x "$venv/bin/python" ] && [ "$(cat "$venv/.installed" 2>/dev/null)" = "$stamp" ]; then
    exit 0
fi
rm -rf "$venv"
"$python" -m venv "$venv"
"$venv/bin/pip" install -q --disable-pip-version-check --no-input -r "$req"
echo "$stamp" >"$venv/.installed"
echo "client tests: installed $(grep -cE '^[A-Za-z]' "$req") Python packages into $venv"

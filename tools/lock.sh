#!/usr/bin/env bash
# Recompiles the lock files tools/setup.sh installs, with hashes:
#   requirements/app.lock        idlegrid's dependencies and the app and dev extras (any platform), no torch
#   requirements/torch-cpu.lock  the CPU build of torch and what it needs (Linux x86_64, CPython 3.11)
# from pyproject.toml, requirements/pins.txt (the one place for extra pins) and torch-cpu.in.
# Versions already locked stay unless you pass --upgrade (or --upgrade-package NAME).
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/uv.sh
compile() { "$UV" pip compile --quiet --generate-hashes --python-version 3.11 --custom-compile-command tools/lock.sh "$@"; }
compile pyproject.toml --extra app --extra dev --universal -c requirements/pins.txt \
  --override requirements/overrides.txt -o requirements/app.lock "${@}"
# shellcheck disable=SC2046  # the index arguments are words
compile requirements/torch-cpu.in --python-platform x86_64-manylinux_2_28 -c requirements/app.lock \
  --index-strategy unsafe-best-match $(torch_cpu_index_args) -o requirements/torch-cpu.lock "${@}"
echo "lock: requirements/app.lock and requirements/torch-cpu.lock are up to date"

#!/usr/bin/env bash
# Creates .venv and installs idlegrid with everything its tests need, at the versions of the lock
# files (requirements/*.lock, with hashes; tools/lock.sh remakes them). Idempotent: the Makefile
# runs it only when the locks, pyproject.toml or this script changed since the last success.
#
# uv installs (tools/uv.sh: the pinned uv, fetched once per machine). Its cache keeps every
# wheel once per machine, unpacked, and a new checkout's venv links to it: torch is downloaded
# and unpacked once, not once per clone. Without uv (it cannot be installed) pip does the same
# installs from the same locks, slower.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
TORCH_VERSION=$(sed -n 's/^torch==\([0-9.]*\)+cpu.*/\1/p' requirements/torch-cpu.lock)
started=$SECONDS
step() { echo "setup: [$(( SECONDS - started ))s] $*"; }

source tools/uv.sh
if [ -x "$UV" ]; then
  install() { "$UV" pip install --python .venv/bin/python --index-strategy unsafe-best-match "$@"; }
  [ -x .venv/bin/python ] || { step "creating .venv"; "$UV" venv --quiet --seed --python "$PYTHON" .venv; }
else
  echo "setup: uv is not available: installing with pip (slower)"
  install() { .venv/bin/python -m pip install --disable-pip-version-check "$@" 2>&1 | grep -v 'is ignored: it is neither' || true; }
  [ -x .venv/bin/python ] || { step "creating .venv"; "$PYTHON" -m venv .venv; }
fi

# Versions are read from the installed metadata: importing torch to ask would cost seconds per check.
installed() { .venv/bin/python -c "import sys; from importlib.metadata import version; print(version(sys.argv[1]))" "$1" 2>/dev/null; }
if [ "$(installed torch | cut -d+ -f1)" != "$TORCH_VERSION" ]; then
  if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
    step "NVIDIA GPU found: installing the CUDA build of torch $TORCH_VERSION (about 3 GB the first time on this machine)"
    install "torch==$TORCH_VERSION"
  else
    step "no NVIDIA GPU: installing the CPU build of torch $TORCH_VERSION (requirements/torch-cpu.lock)"
    # shellcheck disable=SC2046  # the index arguments are words
    install --require-hashes -r requirements/torch-cpu.lock $(torch_cpu_index_args)
  fi
fi
[ -n "$(installed torch)" ] || { echo "setup: torch failed to install" >&2; exit 1; }

step "installing the locked dependencies (requirements/app.lock)"
install --require-hashes -r requirements/app.lock
step "installing idlegrid itself (editable)"
install --no-deps -e .
.venv/bin/python -c "import sys, importlib.util as u; sys.exit(not all(map(u.find_spec, ('engine', 'torch', 'PySide6'))))" \
  || { echo "setup: install incomplete" >&2; exit 1; }
step "python environment ready in .venv"

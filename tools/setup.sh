#!/usr/bin/env bash
# Creates .venv and installs idlegrid with everything its tests need, at the versions of the lock
# files (requirements/*.lock, with hashes; tools/lock.sh remakes them). Idempotent: the Makefile
# runs it only when the locks, pyproject.toml or these scripts changed since the last success.
#
# The packages are installed once per machine, not once per checkout: into a shared environment
# under ~/.cache/idlegrid/venvs/ named by the locks' hash (built once, byte-compiled, never
# changed afterwards). A checkout's .venv is a small venv that sees it through a .pth file and
# holds only idlegrid itself (editable), so a fresh clone is ready in seconds and imports torch
# from compiled bytecode at once. A .venv made before (a full one) is kept, and the locks are
# installed into it instead. uv installs (tools/uv.sh); without it, pip does, slower.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
TORCH_VERSION=$(sed -n 's/^torch==\([0-9.]*\)+cpu.*/\1/p' requirements/torch-cpu.lock)
MARK=.venv/.idlegrid-shared  # this .venv borrows the shared environment's packages
started=$SECONDS
step() { echo "setup: [$(( SECONDS - started ))s] $*"; }

source tools/uv.sh
# install VENV ARGS...: install into the venv at VENV
if [ -x "$UV" ]; then
  install() { local venv=$1; shift; "$UV" pip install --python "$venv/bin/python" --index-strategy unsafe-best-match "$@"; }
  new_venv() { "$UV" venv --quiet --seed --python "$PYTHON" "$1"; }
else
  echo "setup: uv is not available: installing with pip (slower)"
  install() { local venv=$1; shift; "$venv/bin/python" -m pip install --disable-pip-version-check "$@" 2>&1 \
    | grep -v 'is ignored: it is neither' || true; }
  new_venv() { "$PYTHON" -m venv "$1"; }
fi
# Versions are read from the installed metadata: importing torch to ask would cost seconds per check.
installed() { "$1/bin/python" -c "import sys; from importlib.metadata import version; print(version(sys.argv[1]))" "$2" 2>/dev/null; }
purelib() { "$1/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])'; }

# install_locked VENV: torch (the CUDA build where an NVIDIA GPU is, else the locked CPU build), then the locks
install_locked() {
  local venv=$1
  if [ "$(installed "$venv" torch | cut -d+ -f1)" != "$TORCH_VERSION" ]; then
    if [ "$GPU" = cuda ]; then
      step "NVIDIA GPU found: installing the CUDA build of torch $TORCH_VERSION (about 3 GB the first time)"
      install "$venv" "torch==$TORCH_VERSION"
    else
      step "no NVIDIA GPU: installing the CPU build of torch $TORCH_VERSION (requirements/torch-cpu.lock)"
      # shellcheck disable=SC2046  # the index arguments are words
      install "$venv" --require-hashes -r requirements/torch-cpu.lock $(torch_cpu_index_args)
    fi
  fi
  [ -n "$(installed "$venv" torch)" ] || { echo "setup: torch failed to install" >&2; exit 1; }
  step "installing the locked dependencies (requirements/app.lock)"
  install "$venv" --require-hashes -r requirements/app.lock
}

GPU=cpu
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then GPU=cuda; fi

if [ -e .venv ] && [ ! -f "$MARK" ]; then
  step "using the existing .venv: installing the locks into it"
  install_locked .venv
else
  pyver=$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
  key=$(cat requirements/app.lock requirements/torch-cpu.lock | sha256sum | cut -c1-16)
  shared=$IDLEGRID_CACHE/venvs/py$pyver-$GPU-$key
  mkdir -p "$IDLEGRID_CACHE/venvs"
  exec 9>"$shared.lock"
  command -v flock >/dev/null && flock 9  # two checkouts set up at once: one builds, the other waits
  if [ ! -f "$shared/.complete" ]; then
    step "building the shared environment $shared (once per machine and lock)"
    rm -rf "$shared"
    new_venv "$shared"
    UV_COMPILE_BYTECODE=1 install_locked "$shared"
    touch "$shared/.complete"
  fi
  exec 9>&-
  [ -x .venv/bin/python ] || { step "creating .venv"; new_venv .venv; touch "$MARK"; }
  purelib "$shared" > "$(purelib .venv)/_idlegrid_shared.pth"
  step "using the shared environment $shared"
fi

step "installing idlegrid itself (editable)"
install .venv --no-deps -e .
.venv/bin/python -c "import sys, importlib.util as u; sys.exit(not all(map(u.find_spec, ('engine', 'torch', 'PySide6'))))" \
  || { echo "setup: install incomplete" >&2; exit 1; }
step "python environment ready in .venv"

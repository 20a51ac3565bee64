#!/usr/bin/env bash
# Creates .venv and installs idlegrid with everything its tests need. Idempotent: the
# Makefile runs it only when pyproject.toml or this script changed since the last success.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
TORCH_VERSION=2.13.0

[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
pip() { .venv/bin/python -m pip --disable-pip-version-check "$@"; }

if ! .venv/bin/python -c "import torch, sys; sys.exit(torch.__version__.split('+')[0] != '$TORCH_VERSION')" 2>/dev/null; then
  if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
    echo "setup: NVIDIA GPU found: installing the CUDA build of torch $TORCH_VERSION"
    pip install "torch==$TORCH_VERSION"
  else
    echo "setup: no NVIDIA GPU: installing the CPU build of torch $TORCH_VERSION"
    # +cpu sorts above the plain version, so pip takes the CPU wheel wherever one is offered.
    pip install --extra-index-url https://download.pytorch.org/whl/cpu --timeout 20 --retries 1 \
      "torch==$TORCH_VERSION" 2>&1 | grep -v -e '^WARNING: Retrying' -e 'is ignored: it is neither' || true
    .venv/bin/python -c "import torch" || { echo "setup: torch failed to install" >&2; exit 1; }
  fi
fi

pip install -q -e ".[app,dev]" 2>&1 | grep -v -e 'is ignored: it is neither' || true
.venv/bin/python -c "import engine, torch, PySide6" || { echo "setup: install incomplete" >&2; exit 1; }
echo "setup: python environment ready in .venv"

#!/usr/bin/env bash
# Fill .whl/ with the wheels tools/device_check.sh installs on a GPU machine that has no network:
# what idlegrid's training, replay, GPU monitor and tests import beyond that machine's image
# (Python 3.12 with torch+CUDA, numpy, safetensors, scikit-learn, psutil, nvidia-ml-py, pytest),
# at the versions of this checkout's .venv. Run here, from the repo root; .whl/ stays untracked
# (listed in .git/info/exclude) and travels to the machine as a carried path.
set -euo pipefail
cd "$(dirname "$0")/.."
grep -qx '/.whl/' .git/info/exclude 2>/dev/null || echo '/.whl/' >> .git/info/exclude
version() { .venv/bin/python -c "import importlib.metadata as m, sys; print(m.version(sys.argv[1]))" "$1"; }
mkdir -p .whl
for name in pydantic pydantic-core annotated-types typing-inspection typing-extensions platformdirs \
            eth-hash pycryptodome tomli-w hypothesis sortedcontainers; do
    python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
        --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
        -d .whl "$name==$(version "$name")"
done
ls -l .whl

# Sourced by tools/setup.sh and tools/lock.sh: sets UV to a uv binary (the pinned version), installing
# it once per machine under ~/.cache/idlegrid when none is on PATH. uv's own cache (~/.cache/uv) then
# holds every wheel once per machine: a new checkout's venv links them instead of downloading again.
UV_VERSION=0.13.9
IDLEGRID_CACHE=${IDLEGRID_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/idlegrid}
UV=$(command -v uv || true)
if [ -z "$UV" ]; then
  UV=$IDLEGRID_CACHE/uv-$UV_VERSION/bin/uv
  if [ ! -x "$UV" ]; then
    echo "setup: installing uv $UV_VERSION (once per machine, in $IDLEGRID_CACHE)"
    "${PYTHON:-python3}" -m venv "$IDLEGRID_CACHE/uv-$UV_VERSION"
    "$IDLEGRID_CACHE/uv-$UV_VERSION/bin/python" -m pip install -q --disable-pip-version-check "uv==$UV_VERSION" 2>&1 \
      | grep -v 'is ignored: it is neither' || true
  fi
fi

# The CPU builds of torch live on PyTorch's own index. Where it cannot be reached (an offline mirror,
# a wheel folder in PIP_FIND_LINKS) uv uses only PyPI and the folder: the lock's hashes still hold.
export UV_FIND_LINKS=${UV_FIND_LINKS:-${PIP_FIND_LINKS:-}}
TORCH_CPU_INDEX=${TORCH_CPU_INDEX:-https://download.pytorch.org/whl/cpu}
torch_cpu_index_args() {
  if "${PYTHON:-python3}" -c "import sys, urllib.request; urllib.request.urlopen(sys.argv[1] + '/torch/', timeout=5)" \
      "$TORCH_CPU_INDEX" >/dev/null 2>&1; then
    echo --extra-index-url "$TORCH_CPU_INDEX"
  else
    echo "setup: $TORCH_CPU_INDEX cannot be reached: torch's CPU build must come from PyPI or UV_FIND_LINKS (${UV_FIND_LINKS:-unset})" >&2
  fi
}

#!/usr/bin/env bash
# The GPU checks, in one run on a lent NVIDIA machine (no network there).
#
#   bash tools/device_check.sh        # from the repo root; writes $OUT/device.log (+ junit, figures)
#
# The machine has python3 with torch (CUDA build), numpy, safetensors, scikit-learn, psutil,
# nvidia-ml-py, pytest and pytest-timeout; whatever else idlegrid imports comes from the wheels
# in .whl/ (untracked: fill it with tools/device_wheels.sh, carry it to the machine). Every step runs under a timeout and the
# script goes on after a failing step; the summary at the end lists each step's exit code.
# The whole script stays under DEVICE_CHECK_BUDGET_S seconds (default 345).

set -o pipefail
export PYTHONUNBUFFERED=1

cd "$(dirname "$0")/.." || exit 2
REPO=$PWD
if [ -z "${OUT:-}" ]; then
    OUT=$(mktemp -d /tmp/device-check.XXXXXX)
fi
export OUT
mkdir -p "$OUT"
LOG="$OUT/device.log"
: >"$LOG"
exec > >(tee -a "$LOG") 2>&1
TEE_PID=$!

export IDLEGRID_HOME=${IDLEGRID_HOME:-/tmp/idlegrid-device-home}
export CUBLAS_WORKSPACE_CONFIG=${CUBLAS_WORKSPACE_CONFIG:-:4096:8}
SITE=/tmp/site
START=$(date +%s)
DEADLINE=$((START + ${DEVICE_CHECK_BUDGET_S:-345}))

NAMES=()
CODES=()
TIMES=()

# step NAME CAP_SECONDS COMMAND...: run under `timeout` (at most CAP, never past the deadline)
step() {
    local name=$1 cap=$2
    shift 2
    local now left limit rc t0 t1
    now=$(date +%s)
    left=$((DEADLINE - now))
    limit=$((cap < left ? cap : left))
    echo
    echo "===== [$name] $(date -u +%H:%M:%S) (limit ${limit}s): $*"
    if [ "$limit" -lt 5 ]; then
        echo "===== [$name] skipped: the script's time budget is spent"
        NAMES+=("$name"); CODES+=("skipped"); TIMES+=("0")
        return 0
    fi
    t0=$(date +%s.%N)
    # through bash -c so that the helper functions below (exported) run under timeout too
    timeout --kill-after=10 "$limit" bash -o pipefail -c '"$@"' step "$@"
    rc=$?
    t1=$(date +%s.%N)
    local secs
    secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
    [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ] && echo "===== [$name] TIMED OUT after ${limit}s"
    echo "===== [$name] rc=$rc in ${secs}s"
    NAMES+=("$name"); CODES+=("$rc"); TIMES+=("$secs")
    return 0
}

install_wheels() {
    shopt -s nullglob
    local wheels=("$REPO"/.whl/*.whl)
    shopt -u nullglob
    if [ ${#wheels[@]} -eq 0 ]; then
        echo "no wheels in $REPO/.whl (was .whl carried to this machine?)"
        return 3
    fi
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target "$SITE" "${wheels[@]}"
}

versions() {
    python3 - <<'EOF'
import platform, sys
print("python", sys.version.split()[0], platform.platform())
import torch
print("torch", torch.__version__, "cuda", torch.version.cuda, "cudnn", torch.backends.cudnn.version())
print("cuda available:", torch.cuda.is_available(), "devices:", torch.cuda.device_count())
if torch.cuda.is_available():
    p = torch.cuda.get_device_properties(0)
    print("device 0:", p.name, f"{p.total_memory / 2**30:.1f} GiB", f"sm_{p.major}{p.minor}", p.multi_processor_count, "SMs")
import importlib.metadata as md
for name in ("numpy", "safetensors", "scikit-learn", "psutil", "nvidia-ml-py", "pytest", "pytest-timeout",
             "pydantic", "pydantic-core", "platformdirs", "eth-hash", "pycryptodome", "tomli-w", "hypothesis"):
    try:
        print(f"  {name} {md.version(name)}")
    except md.PackageNotFoundError:
        print(f"  {name} MISSING")
# the engine's import closure for training, replay, the GPU monitor, the runner and the CLI
import engine.training.trainer, engine.gpu.backend, engine.runner, engine.commands.replay, engine.cli
engine.cli.build_parser()
from engine.commit.merkle import MerkleTree
print("engine imports ok; keccak Merkle root of one leaf:", MerkleTree([bytes(32)]).root.hex()[:16])
EOF
}

# train the README's example through the CLI, as a user would, and time it (wall clock,
# interpreter start and imports included)
train_cli() {
    local device=$1 out=/tmp/device-check-train-$1
    rm -rf "$out"
    python3 -m engine train resources/tasks/digits-mlp.json --device "$device" --out "$out" -q \
        | tee "$OUT/train-cli-$device.txt"
}

bench_cpu() {
    python3 -m bench.overhead --rounds 5 | tee "$OUT/bench-overhead-cpu.txt"
}

bench_cuda() {
    if python3 -m bench.overhead --help 2>/dev/null | grep -q -- '--device'; then
        python3 -m bench.overhead --device cuda --rounds 5 | tee "$OUT/bench-overhead-cuda.txt"
    else
        echo "bench.overhead has no --device option yet: the CUDA overhead run is skipped"
        return 0
    fi
}

export REPO SITE
export -f install_wheels versions train_cli bench_cpu bench_cuda

echo "device check: $(date -u) on $(hostname); repo $REPO; output $OUT"
step install-wheels 90 install_wheels
export PYTHONPATH="$SITE:$REPO${PYTHONPATH:+:$PYTHONPATH}"
step nvidia-smi 30 nvidia-smi
step lscpu 10 lscpu
step nvidia-smi-query 30 nvidia-smi --query-gpu=name,driver_version,memory.total,memory.used,temperature.gpu,utilization.gpu,power.draw --format=csv
step versions 90 versions
step pytest-device 270 python3 -m pytest -p no:cacheprovider -s -q -ra --durations=15 \
    --junitxml="$OUT/device-junit.xml" tests/device tests/unit/gpu
step train-cli-cuda 60 train_cli cuda
step train-cli-cpu 60 train_cli cpu
step cpu-roots 90 python3 tools/cpu_roots.py
step bench-overhead-cpu 90 bench_cpu
step bench-overhead-cuda 90 bench_cuda

echo
echo "===== summary ($(($(date +%s) - START)) s in all)"
FAILED=0
for i in "${!NAMES[@]}"; do
    printf '  %-22s rc=%-8s %8ss\n' "${NAMES[$i]}" "${CODES[$i]}" "${TIMES[$i]}"
    [ "${CODES[$i]}" = "0" ] || FAILED=$((FAILED + 1))
done
echo "===== figures"
grep -h '^FIGURE ' "$LOG" | sed 's/^FIGURE /  /' | awk '!seen[$0]++'
for d in cuda cpu; do
    f=$OUT/train-cli-$d.txt
    [ -s "$f" ] && echo "  train-cli-$d: $(tail -n 1 "$f")"
done
for d in cpu cuda; do
    f=$OUT/bench-overhead-$d.txt
    [ -s "$f" ] && grep -E '^[A-Za-z0-9_ .-]+: ' "$f" | sed "s/^/  bench-overhead-$d /"
done
echo "===== $FAILED step(s) did not succeed; log: $LOG"
exec 1>&- 2>&-
wait "$TEE_PID" 2>/dev/null
exit $((FAILED > 0))

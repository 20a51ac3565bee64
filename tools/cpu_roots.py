"""Which CPU arithmetic gives which root: digits-mlp trained on the CPU under each of torch's
vector-kernel levels (``ATEN_CPU_CAPABILITY``), with MKL's reproducible mode on or off.

Exact-mode verification compares roots bit for bit, so two machines can only check each other
when they print the same root for the same settings here. Run it on two machines and compare
(``tools/device_check.sh`` runs it on a lent GPU machine's host CPU).

    python tools/cpu_roots.py [--spec PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SETTINGS = [
    {},
    {"ATEN_CPU_CAPABILITY": "avx512"},
    {"ATEN_CPU_CAPABILITY": "avx2"},
    {"ATEN_CPU_CAPABILITY": "default"},
    {"ATEN_CPU_CAPABILITY": "avx2", "MKL_CBWR": "AVX2", "ONEDNN_MAX_CPU_ISA": "AVX2"},
]
PROBE = (
    "import json, sys; from engine.tasks.load import load_spec; from engine.training.trainer import Trainer;"
    "from engine.training.determinism import arithmetic;"
    "r = Trainer(load_spec(sys.argv[1]), sys.argv[2], device='cpu').run();"
    "print(json.dumps({'arithmetic': arithmetic('cpu'), 'root': r.merkle_root, 'loss': r.final_loss}))"
)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--spec", type=Path, default=REPO / "resources" / "tasks" / "digits-mlp.json")
    args = ap.parse_args(argv)
    for extra in SETTINGS:
        env = {
            k: v for k, v in os.environ.items() if k not in ("ATEN_CPU_CAPABILITY", "MKL_CBWR", "ONEDNN_MAX_CPU_ISA")
        }
        env.update(extra)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
        with tempfile.TemporaryDirectory() as tmp:
            done = subprocess.run([sys.executable, "-c", PROBE, str(args.spec), str(Path(tmp) / "job")],
                                  capture_output=True, text=True, cwd=REPO, env=env, check=False)
        label = " ".join(f"{k}={v}" for k, v in extra.items()) or "(defaults)"
        if done.returncode != 0:
            print(f"{label}: failed: {done.stderr.strip().splitlines()[-1:]}")
            continue
        out = json.loads(done.stdout.strip().splitlines()[-1])
        print(f"{label}: root {out['root']} loss {out['loss']} arithmetic {out['arithmetic']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

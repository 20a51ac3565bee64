"""Issue 14's done-when check, through the real CLI, for every shipped example.

Per example: ``idlegrid train SPEC --out DIR`` under this CPU's best kernel level, then
``ATEN_CPU_CAPABILITY=default idlegrid replay SPEC --from DIR --segment I`` for every segment
(must exit 0), then the same replay of one segment (the middle one) of a forged copy of the
job for every cheat of ``bench.cheats``, for NaN weights, and of segment 0 for a planted
checkpoint 0 followed by honest training (each must exit 1). Prints one ``name: ok|FAILED``
line per check and exits 1 if any failed.

    python tools/replay_check.py [--spec PATH ...]
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
sys.path.insert(0, str(REPO))

# the imports below need the sys.path entry above: this tool runs as a script from anywhere
from bench.cheats import Cheat, cheat_segment, forge_job, nan_weights, planted_start  # noqa: E402
from engine.tasks.load import load_spec  # noqa: E402
from engine.training.jobdir import JobDir  # noqa: E402

VERIFIER_LEVEL = "default"


def idlegrid(level: str | None, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if level is not None:
        env["ATEN_CPU_CAPABILITY"] = level
    return subprocess.run([sys.executable, "-m", "engine", *args], env=env, cwd=REPO, capture_output=True,
                          text=True, check=False)


def replay_exit(spec: Path, job: Path, segment: int) -> int:
    return idlegrid(VERIFIER_LEVEL, "replay", str(spec), "--from", str(job), "--segment", str(segment)).returncode


def check_example(spec: Path, work: Path) -> list[tuple[str, bool]]:
    name = spec.stem
    job = work / name
    trained = idlegrid(None, "train", str(spec), "--out", str(job), "-q", "--device", "cpu")
    if trained.returncode != 0:
        return [(f"{name}_train", False)]
    checked = load_spec(spec)
    segments = checked.spec.num_checkpoints - 1
    out = [(f"{name}_honest_segment_{i}", replay_exit(spec, job, i) == 0) for i in range(segments)]
    jd = JobDir(job)
    m = jd.read_manifest()
    assert m is not None
    mid = segments // 2
    start, end = jd.leaf_snapshot(m, mid), checked.spec.checkpoint_step(mid + 1)
    forged = {cheat.value: {mid + 1: cheat_segment(checked, start, end, cheat)} for cheat in Cheat}
    forged["nan_weights"] = {mid + 1: nan_weights(jd.leaf_snapshot(m, mid + 1))}
    for label, replaced in forged.items():
        fake = forge_job(job, work / f"{name}-{label}", replaced)
        out.append((f"{name}_cheat_{label}", replay_exit(spec, fake, mid) == 1))
    planted = planted_start(checked, seed=12345)
    first = cheat_segment(checked, planted, checked.spec.checkpoint_step(1), Cheat.NOISE)
    fake = forge_job(job, work / f"{name}-planted", {0: planted, 1: first})
    out.append((f"{name}_cheat_planted_checkpoint_0", replay_exit(spec, fake, 0) == 1))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python tools/replay_check.py", description=__doc__.split("\n")[0])
    ap.add_argument("--spec", type=Path, action="append", help="spec(s) to check (default: every shipped example)")
    args = ap.parse_args(argv)
    specs = args.spec or sorted((REPO / "resources" / "tasks").glob("*.json"))
    results: list[tuple[str, bool]] = []
    with tempfile.TemporaryDirectory(prefix="idlegrid-replay-check-") as tmp:
        for spec in specs:
            for label, ok in check_example(spec.resolve(), Path(tmp)):
                print(f"{label.replace('-', '_')}: {'ok' if ok else 'FAILED'}", flush=True)
                results.append((label, ok))
    failed = [label for label, ok in results if not ok]
    print(json.dumps({"checks": len(results), "failed": failed}))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Tolerance verification: honest divergence across arithmetics against cheats, per example.

For every shipped example (``resources/tasks/*.json``):

1. a subprocess under one arithmetic (``ATEN_CPU_CAPABILITY`` = this CPU's best level, the
   "worker") trains the spec into a job folder, then for a few segments (first, middle, last)
   computes each cheat of ``bench.cheats`` from the honest checkpoint i;
2. a subprocess under another arithmetic (``ATEN_CPU_CAPABILITY=default``, the "verifier")
   replays every segment from the honest checkpoint i and measures the distance of its
   replay to the honest checkpoint i+1 (``honest``) and to each cheat's (``cheat``), under
   both metrics of ``engine.training.tolerance``. It also checks whether checkpoint 0 is
   bit-equal to the initialisation computed under its own arithmetic, and how far from it.

Printed per example: ``<name>_honest_max`` and ``<name>_cheat_min`` of the engine's metric
and each cheat's minimum, the same two for the other metric, and ``<name>_margin``
(cheat_min / honest_max); then ``max_distance_suggested`` (the geometric middle of the
largest honest and the smallest cheat over all examples) and, last, ``verify_margin``: the
smallest margin over the examples.

    python -m bench.verify [--segments N] [--quick] [--spec PATH ...]

``--quick``: digits-mlp only, cut to 100 steps in 4 segments (a smoke run, not a figure).
``--spec``: measure a requester's own spec(s) instead of the shipped examples. Runtime on the
project's 2-core VM (shared): about 7 minutes for the three examples, 3 cheat segments each.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import torch

from bench.cheats import Cheat, cheat_segment
from engine.tasks.load import check, load_spec, parse
from engine.training import checkpoint as ckpt
from engine.training.initial import initial_snapshot
from engine.training.jobdir import JobDir
from engine.training.replay import replay
from engine.training.tolerance import METRIC, Metric, distance
from engine.training.trainer import Trainer

REPO = Path(__file__).resolve().parents[1]
TASKS = REPO / "resources" / "tasks"
REPLAY_LEVEL = "default"


def cheat_segments(segments: int, count: int) -> list[int]:
    """``count`` segments spread from the first to the last (all when there are fewer)."""
    if count >= segments:
        return list(range(segments))
    return sorted({round(k * (segments - 1) / (count - 1)) for k in range(count)}) if count > 1 else [0]


def cheat_path(job: Path, cheat: Cheat, segment: int) -> Path:
    return job / "cheats" / f"{cheat.value}-{segment:05d}.safetensors"


def role_worker(spec_path: Path, job: Path, count: int) -> None:
    """Train honestly, then write every cheat's checkpoint i+1 for the sampled segments."""
    checked = load_spec(spec_path)
    Trainer(checked, job).run()
    jd = JobDir(job)
    m = jd.read_manifest()
    assert m is not None
    (job / "cheats").mkdir(exist_ok=True)
    for i in cheat_segments(checked.spec.num_checkpoints - 1, count):
        start = jd.leaf_snapshot(m, i)
        for cheat in Cheat:
            snap = cheat_segment(checked, start, checked.spec.checkpoint_step(i + 1), cheat)
            ckpt.write(snap, cheat_path(job, cheat, i))


def role_verifier(spec_path: Path, job: Path) -> None:
    """Replay every segment; print JSON distances (honest per segment, cheats per cheat)."""
    checked = load_spec(spec_path)
    jd = JobDir(job)
    m = jd.read_manifest()
    assert m is not None
    init = initial_snapshot(checked)
    out: dict[str, object] = {
        "arithmetic": torch.backends.cpu.get_cpu_capability(),
        "init_bitwise": init.leaf.hex() == m.leaves[0],
        "init_distance": distance(init, jd.leaf_snapshot(m, 0)).value,
    }
    honest: dict[str, list[float]] = {metric.value: [] for metric in Metric}
    cheats: dict[str, dict[str, list[float]]] = {metric.value: {c.value: [] for c in Cheat} for metric in Metric}
    for i in range(checked.spec.num_checkpoints - 1):
        start = jd.leaf_snapshot(m, i)
        got = replay(checked, start, checked.spec.checkpoint_step(i + 1))
        claimed = jd.leaf_snapshot(m, i + 1)
        for metric in Metric:
            honest[metric.value].append(distance(got, claimed, start, metric).value)
        for cheat in Cheat:
            path = cheat_path(job, cheat, i)
            if path.exists():
                faked = ckpt.read(path)
                for metric in Metric:
                    cheats[metric.value][cheat.value].append(distance(got, faked, start, metric).value)
    out["honest"], out["cheats"] = honest, cheats
    print(json.dumps(out))


def _run(role: str, level: str | None, spec: Path, job: Path, count: int) -> str:
    env = dict(os.environ)
    if level is not None:
        env["ATEN_CPU_CAPABILITY"] = level
    cmd = [sys.executable, "-m", "bench.verify", "--role", role, "--role-spec", str(spec), "--job", str(job),
           "--segments", str(count)]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=REPO, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{role} subprocess failed:\n{done.stderr[-2000:]}")
    return done.stdout


def _spec_copy(path: Path, folder: Path, quick: bool) -> Path:
    raw = json.loads(path.read_text(encoding="utf-8"))
    if quick:
        raw.update(steps=100, checkpoint_every=25, schedule={"kind": "cosine", "warmup_steps": 10})
    check(parse(raw, origin=str(path)))  # refuse a broken example here, not in a subprocess
    out = folder / path.name
    out.write_text(json.dumps(raw), encoding="utf-8")
    return out


def _key(name: str) -> str:
    return name.replace("-", "_").replace(".", "_")


def measure(spec_path: Path, count: int, quick: bool, work: Path) -> tuple[str, dict[str, object]]:
    """Train under this CPU's best kernels, replay under ``REPLAY_LEVEL``; the verifier's JSON."""
    spec = _spec_copy(spec_path, work, quick)
    job = work / f"{spec_path.stem}-job"
    _run("worker", None, spec, job, count)
    return spec_path.stem, json.loads(_run("verifier", REPLAY_LEVEL, spec, job, count).strip().splitlines()[-1])


def report(results: list[tuple[str, dict[str, object]]]) -> None:
    other = next(m for m in Metric if m is not METRIC)
    margins, honest_all, cheat_all = [], [], []
    for name, r in results:
        k = _key(name)
        honest, cheats = r["honest"], r["cheats"]
        assert isinstance(honest, dict) and isinstance(cheats, dict)
        print(f"{k}_replay_arithmetic: {r['arithmetic']}")
        print(f"{k}_init_bitwise: {str(r['init_bitwise']).lower()}")
        print(f"{k}_init_distance: {r['init_distance']:.3g}")
        for metric in (METRIC, other):
            prefix = k if metric is METRIC else f"{k}_{metric.value}"
            h = max(honest[metric.value])
            per = {c: min(v) for c, v in cheats[metric.value].items() if v}
            c_min = min(per.values())
            print(f"{prefix}_honest_max: {h:.3g}")
            for cheat, v in per.items():
                print(f"{prefix}_cheat_{cheat}: {v:.3g}")
            print(f"{prefix}_cheat_min: {c_min:.3g}")
            ratio = c_min / h if h > 0 else math.inf
            print(f"{prefix}_margin: {ratio:.3g}")
            if metric is METRIC:
                margins.append(ratio)
                honest_all.append(h)
                cheat_all.append(c_min)
    print(f"metric: {METRIC.value}")
    print(f"max_distance_suggested: {math.sqrt(max(honest_all) * min(cheat_all)):.3g}")
    print(f"verify_margin: {min(margins):.4g}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.verify", description=__doc__.split("\n")[0])
    ap.add_argument("--segments", type=int, default=3, help="segments per example the cheats are measured on")
    ap.add_argument("--quick", action="store_true", help="digits-mlp only, 100 steps (smoke run)")
    ap.add_argument("--spec", dest="specs", type=Path, action="append",
                    help="measure this spec instead of the shipped examples (repeatable)")
    ap.add_argument("--role", choices=("worker", "verifier"), help=argparse.SUPPRESS)
    ap.add_argument("--role-spec", dest="spec", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--job", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.role == "worker":
        role_worker(args.spec, args.job, args.segments)
        return 0
    if args.role == "verifier":
        role_verifier(args.spec, args.job)
        return 0
    examples = args.specs or ([TASKS / "digits-mlp.json"] if args.quick else sorted(TASKS.glob("*.json")))
    print(f"train_arithmetic: {torch.backends.cpu.get_cpu_capability()}")
    with tempfile.TemporaryDirectory(prefix="idlegrid-bench-verify-") as tmp:
        results = [measure(path, args.segments, args.quick, Path(tmp)) for path in examples]
    report(results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

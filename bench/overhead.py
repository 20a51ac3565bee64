"""Engine overhead: the deterministic Trainer against a plain torch loop, same work.

Both sides train the same spec (default ``resources/tasks/digits-mlp.json``) for the same
number of steps in this one process, on the same thread count:

* **baseline** -- ``configure(spec.threads)``, ``load_data``, ``build_model``, ``make_optimizer``,
  then the loop a plain torch user writes for the same recipe: a ``torch.randperm`` index
  precomputed per epoch, forward, loss, ``zero_grad``, ``backward``, ``optimizer.step``, the
  spec's lr schedule as a ``LambdaLR`` over ``math.cos``, torch's ``nn.Dropout`` (the device
  generator, not the engine's portable hash), and the held-out evaluation the spec
  asks for at the end. No checkpoints, no hashing, no per-step reseeding, no portable cosine:
  what is left of the difference is what determinism and verifiability cost.
* **engine** -- ``Trainer(checked, tmpdir).run()`` with default hooks: per-step batch order and
  dropout masks derived from (seed, step, draw, element) by an integer hash, the lr schedule,
  a checkpoint (snapshot, leaf hash, safetensors write, manifest) every ``checkpoint_every``
  steps, the held-out evaluation and
  the Merkle root at the end.

One-time setup (thread configuration, data loading, model and optimizer building) is
INCLUDED in both timings: each side pays it once per run, the same way. The temp job
folder is created before and deleted after each engine run, outside the timing.

Runs alternate (baseline, engine) after one untimed warm-up of each, so machine noise hits
both sides alike; the figures are the medians over rounds. Headline (last line):
``overhead_ratio`` = median engine time / median baseline time. Goal <= 1.05; must be <= 1.10.

    python -m bench.overhead [--spec PATH] [--rounds N] [--quick] [--device cpu|cuda]

On ``--device cuda`` both sides train on the GPU: the same loop, the data and model moved
there, each timing ending on a host sync (the final loss and the evaluation read back).
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch

from engine.tasks import spec as s
from engine.tasks.load import CheckedSpec, check, load_spec, parse
from engine.training.datasets import load_data
from engine.training.determinism import configure
from engine.training.model import build_model
from engine.training.portable_random import PortableDropout
from engine.training.sampling import STREAM_INIT, derive
from engine.training.trainer import Trainer, loss_fn, make_optimizer

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SPEC = REPO / "resources" / "tasks" / "digits-mlp.json"


def quick_spec(path: Path) -> CheckedSpec:
    """The spec shortened to 100 steps, a checkpoint every 25 (a smoke run, not a figure)."""
    raw = json.loads(path.read_text(encoding="utf-8"))
    raw["steps"] = min(raw["steps"], 100)
    raw["checkpoint_every"] = min(raw["checkpoint_every"], 25)
    sched = raw.get("schedule", {})
    if "warmup_steps" in sched:
        sched["warmup_steps"] = min(sched["warmup_steps"], raw["steps"] // 5)
    return check(parse(raw, origin=str(path)))


def plain_schedule(spec: s.TaskSpec) -> Callable[[int], float]:
    """The spec's lr factor per step as a torch user would write it (``math.cos``)."""
    sched = spec.schedule

    def factor(step: int) -> float:
        if isinstance(sched, s.ConstantSchedule):
            return 1.0
        if step < sched.warmup_steps:
            return (step + 1) / sched.warmup_steps
        if isinstance(sched, s.WarmupSchedule):
            return 1.0
        progress = min((step - sched.warmup_steps) / max(spec.steps - sched.warmup_steps - 1, 1), 1.0)
        return sched.min_lr_ratio + (1 - sched.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))

    return factor


@torch.no_grad()
def plain_evaluate(spec: s.TaskSpec, model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    model.eval()
    out = model(x)
    loss = float(loss_fn(spec, out, y))
    if spec.loss == "cross_entropy":
        float((out.argmax(dim=-1) == y).float().mean())
    return loss


def plain_dropout(model: torch.nn.Module) -> torch.nn.Module:
    """The model with torch's own ``nn.Dropout`` (the device generator) in place of the
    engine's portable, hash-drawn one: what a plain torch user trains with."""
    for module in list(model.modules()):
        for name, child in module.named_children():
            if isinstance(child, PortableDropout):
                setattr(module, name, torch.nn.Dropout(child.p))
    return model


def run_baseline(checked: CheckedSpec, device: str = "cpu") -> float:
    spec = checked.spec
    t0 = time.perf_counter()
    configure(spec.threads)
    data = load_data(spec, None, device)
    torch.manual_seed(derive(spec.seed, STREAM_INIT))
    model = plain_dropout(build_model(spec)).to(device)
    optimizer = make_optimizer(spec, model)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, plain_schedule(spec))
    x, y = data.train.x, data.train.y
    n, bs = len(data.train), spec.batch_size
    gen = torch.Generator().manual_seed(spec.seed)
    model.train()
    order = torch.empty(0, dtype=torch.int64, device=device)
    pos = 0
    loss = None
    for _ in range(spec.steps):
        if pos + bs > order.numel():  # next epoch(s): precomputed per-epoch permutation
            order = torch.cat([order[pos:], torch.randperm(n, generator=gen).to(device)])
            pos = 0
        idx = order[pos : pos + bs]
        pos += bs
        loss = loss_fn(spec, model(x[idx]), y[idx])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
    if loss is not None:
        float(loss.detach())  # one sync at the end, as the engine reports a final loss
    plain_evaluate(spec, model, data.heldout.x, data.heldout.y)
    return time.perf_counter() - t0


def run_engine(checked: CheckedSpec, device: str = "cpu") -> tuple[float, int]:
    out = Path(tempfile.mkdtemp(prefix="idlegrid-bench-"))
    try:
        t0 = time.perf_counter()
        result = Trainer(checked, out / "job", device=device).run()
        dt = time.perf_counter() - t0
    finally:
        shutil.rmtree(out, ignore_errors=True)
    if result.steps != checked.spec.steps:
        raise SystemExit(f"engine stopped at step {result.steps} of {checked.spec.steps}")
    return dt, len(result.leaves)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.overhead", description=__doc__.split("\n")[0])
    ap.add_argument("--spec", type=Path, default=DEFAULT_SPEC, help="task spec (default: digits-mlp)")
    ap.add_argument("--rounds", type=int, default=None, help="timed rounds per side (default 9; 1 with --quick)")
    ap.add_argument("--quick", action="store_true", help="short run for smoke tests (100 steps, 1 round)")
    ap.add_argument("--device", choices=("cpu", "cuda"), default="cpu",
                    help="where both sides train (default cpu; cuda needs a GPU and torch's CUDA build)")
    args = ap.parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        ap.error("--device cuda: torch sees no CUDA GPU here")
    rounds = args.rounds if args.rounds is not None else (1 if args.quick else 9)
    checked = quick_spec(args.spec) if args.quick else load_spec(args.spec)

    device = args.device
    run_baseline(checked, device)  # warm-up: imports, allocator, dataset caches, kernels
    _, checkpoints = run_engine(checked, device)
    base, eng = [], []
    for _ in range(rounds):
        base.append(run_baseline(checked, device))
        eng.append(run_engine(checked, device)[0])

    b, e = statistics.median(base), statistics.median(eng)
    print(f"spec: {checked.spec.name}")
    print(f"steps: {checked.spec.steps}")
    print(f"checkpoints: {checkpoints}")
    print(f"device: {torch.cuda.get_device_name() if device == 'cuda' else 'cpu'}")
    print(f"threads: {checked.spec.threads}")
    print(f"rounds: {rounds}")
    print(f"baseline_s: {b:.4f}")
    print(f"engine_s: {e:.4f}")
    print(f"baseline_step_us: {b / checked.spec.steps * 1e6:.1f}")
    print(f"engine_step_us: {e / checked.spec.steps * 1e6:.1f}")
    print(f"round_ratios: {' '.join(f'{y / x:.3f}' for x, y in zip(base, eng))}")
    print(f"overhead_ratio: {e / b:.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""``idlegrid train SPEC --out DIR``: train locally, print the commitment as JSON."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from engine.config import paths
from engine.tasks.load import load_spec


def train(args: argparse.Namespace) -> int:
    checked = load_spec(args.spec)
    from engine.commands.progress import ProgressBar
    from engine.tasks.capacity import require_fits
    from engine.training.capacity import device_memory
    from engine.training.datasets import LocalBlobs
    from engine.training.determinism import arithmetic, pick_device
    from engine.training.model import meta_dry_run
    from engine.training.trainer import Hooks, Trainer

    meta_dry_run(checked)
    out = args.out or paths().jobs_dir / f"{checked.spec.name}-{checked.sha256[:12]}"
    bar = None if args.quiet else ProgressBar()
    hooks = Hooks(
        on_progress=(lambda p: bar.update(p.step, p.steps, p.loss, p.samples_per_s, p.eta_s)) if bar else None
    )
    device = pick_device(args.device)
    require_fits(checked, device_memory(device))  # before the first allocation, not in torch's allocator
    trainer = Trainer(checked, out, device=device, hooks=hooks,
                      blobs=LocalBlobs(args.blobs or paths().blobs_dir))
    try:
        result = trainer.run()
    finally:
        if bar:
            bar.close()
    # the arithmetic says whose roots this one can be compared with (bit for bit: the same)
    print(json.dumps({**result.summary(), "out": str(out), "arithmetic": arithmetic(device)}))
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "train",
        help="train a task locally and print its Merkle root",
        description="Train a task spec deterministically into a job folder. Progress goes "
        "to stderr; the last stdout line is JSON with merkle_root, leaves, steps, "
        "final_loss, metrics, out and arithmetic (the CPU or GPU arithmetic the "
        "root was computed with: roots agree bit for bit only within one). Re-running with the same --out resumes.",
    )
    p.add_argument("spec", help="path to the spec JSON file")
    p.add_argument("--out", type=Path, help="job folder (default: <data dir>/jobs/<name>-<spec hash>)")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                   help="where to train (default: auto, CUDA if torch sees a GPU)")
    p.add_argument("--blobs", type=Path, help="folder of dataset blobs named by sha256 (default: <data dir>/blobs)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=train)

"""``idlegrid replay SPEC --from DIR --segment I``: recompute one segment and compare."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from engine.config import paths
from engine.tasks.load import load_spec


def replay(args: argparse.Namespace) -> int:
    checked = load_spec(args.spec)
    from engine.training.datasets import LocalBlobs
    from engine.training.determinism import pick_device
    from engine.training.replay import replay_job_segment

    result = replay_job_segment(checked, args.job_dir, args.segment, device=pick_device(args.device),
                                blobs=LocalBlobs(args.blobs or paths().blobs_dir))
    print(json.dumps(result.to_json()))
    return 0 if result.match else 1


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("replay", help="recompute checkpoint I+1 from checkpoint I and compare",
                       description="Replay segment I of a trained job: load checkpoint I (checked against "
                                   "the job's tree), train to checkpoint I+1 and judge it as the spec says: "
                                   "in tolerance mode (the default) each tensor within the spec's max_distance, "
                                   "in exact mode equal hashes. Segment 0 also checks checkpoint 0 against the "
                                   "spec's seeded initialisation. Exit 0 on match, 1 on mismatch, 2 on bad "
                                   "input, 3 when the spec requires other arithmetic than this machine's "
                                   "(exact mode: no verdict possible here). Nothing in the job's manifest "
                                   "chooses the mode or the device.")
    p.add_argument("spec", help="path to the spec JSON file")
    p.add_argument("--from", dest="job_dir", type=Path, required=True, help="the job folder (train's --out)")
    p.add_argument("--segment", type=int, required=True, help="segment index I (0-based)")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="cpu",
                   help="where to replay (default: cpu)")
    p.add_argument("--blobs", type=Path, help="folder of dataset blobs named by sha256 (default: <data dir>/blobs)")
    # accepted and ignored until engine.evidence stops passing it: the spec names the arithmetic
    p.add_argument("--arithmetic", metavar="NAME", help=argparse.SUPPRESS)
    p.set_defaults(func=replay)

"""``idlegrid replay SPEC --from DIR --segment I``: recompute one segment and compare."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from engine.config import paths
from engine.errors import UsageError
from engine.tasks.load import load_spec


def replay(args: argparse.Namespace) -> int:
    checked = load_spec(args.spec)
    from engine.training.datasets import LocalBlobs
    from engine.training.determinism import pick_device
    from engine.training.replay import control_replay, replay_job_segment

    if args.control:
        control_replay(checked, device=pick_device(args.device), blobs=LocalBlobs(args.blobs or paths().blobs_dir))
        print(json.dumps({"control": "ok"}))
        return 0
    if args.job_dir is None or args.segment is None:
        raise UsageError("replay needs --from DIR and --segment I (or --control)",
                         hint="e.g. idlegrid replay spec.json --from job --segment 0")
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
    p.add_argument("--from", dest="job_dir", type=Path, help="the job folder (train's --out); required")
    p.add_argument("--segment", type=int, help="segment index I (0-based); required")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="cpu",
                   help="where to replay (default: cpu)")
    p.add_argument("--blobs", type=Path, help="folder of dataset blobs named by sha256 (default: <data dir>/blobs)")
    p.add_argument("--control", action="store_true",
                   help="instead: replay one step from the spec's seeded initialisation and exit 0 if it "
                        "runs (a verifier's check that a failed replay was the data's fault, not its own)")
    p.set_defaults(func=replay)

"""Train every candidate of a search space locally, as ``idlegrid train`` does, so its true best
is known; the truth (each candidate's spec sha256, parameters and metrics) is cached as JSON.

    python tools/enumerate_space.py resources/search/digits.json [--out resources/search/digits.truth.json]
                                    [--arch NAME] [--limit N]

Resumes: candidates already in the truth file are not trained again. ``--arch`` and ``--limit``
enumerate a documented subset of a space too large to train whole. Results are bit-for-bit those
of any worker of the same arithmetic (the truth file records it).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.config import paths
from engine.search.load import load_space


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("space", type=Path)
    ap.add_argument("--out", type=Path, help="truth file (default: SPACE with .truth.json)")
    ap.add_argument("--arch", help="only this architecture")
    ap.add_argument("--limit", type=int, help="at most N candidates")
    args = ap.parse_args()
    from engine.training.datasets import LocalBlobs
    from engine.training.determinism import arithmetic
    from engine.training.trainer import Trainer

    space = load_space(args.space)
    out = args.out or args.space.with_suffix(".truth.json")
    truth = json.loads(out.read_text()) if out.exists() else {"space": space.name, "metric": space.metric,
                                                               "goal": space.goal.value, "candidates": {}}
    truth["arithmetic"] = arithmetic("cpu")
    todo = [p for p in space.enumerate() if args.arch in (None, p["arch"])][: args.limit]
    for i, params in enumerate(todo, 1):
        cand = space.build(params)
        if cand.sha256 in truth["candidates"]:
            continue
        started = time.monotonic()
        with tempfile.TemporaryDirectory() as tmp:
            result = Trainer(cand.checked, Path(tmp), device="cpu", blobs=LocalBlobs(paths().blobs_dir)).run()
        summary = result.summary()
        truth["candidates"][cand.sha256] = {"params": cand.params, "metrics": summary["metrics"],
                                            "merkle_root": summary["merkle_root"]}
        out.write_text(json.dumps(truth, indent=1, sort_keys=True) + "\n")
        print(f"{i}/{len(todo)} {cand.params} {summary['metrics']} ({time.monotonic() - started:.1f} s)", flush=True)
    values = [(c["metrics"][space.metric], sha) for sha, c in truth["candidates"].items()]
    best = (max if space.goal.value == "maximize" else min)(values)
    truth["best"] = {"value": best[0], "spec_sha256": best[1]}
    out.write_text(json.dumps(truth, indent=1, sort_keys=True) + "\n")
    print(f"best {space.metric} {best[0]} (spec {best[1]}) of {len(values)}; truth in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

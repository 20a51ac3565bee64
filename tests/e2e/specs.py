"""The tiny digits tasks of the end-to-end tests, and how a requester posts them."""

from __future__ import annotations

import re
from pathlib import Path

from engine.chain.market import ETHER
from tests.e2e.actors import Actor
from tests.e2e.procs import Procs
from tests.specs import quick_mlp, write

REWARD = ETHER             # 1 ETH per task
STAKE = ETHER // 10        # the worker's stake, and so the challenge bond
WINDOW = 3600              # challenge window (s of chain time)
CLAIM_TIMEOUT = 7 * 86400  # long enough for every clock jump of a test
TRAIN_TIMEOUT = 7 * 86400
STEPS, EVERY = 10, 10      # one segment (two checkpoints): each verifier replays it once per result


def tiny_digits(name: str, seed: int, *, steps: int = STEPS, every: int = EVERY, **overrides: object) -> dict:
    """A digits MLP of ``steps`` steps, a checkpoint every ``every``: by default one 10-step
    segment, which trains in a blink and replays in the time it takes to start torch."""
    return quick_mlp(name=name, seed=seed, steps=steps, checkpoint_every=every,
                     schedule={"kind": "constant"}, **overrides)


def post(procs: Procs, requester: Actor, spec: dict, folder: Path, *, window: int = WINDOW,
         timeout: float = 60) -> int:
    """``idlegrid requester post`` as ``requester``; the new task's id."""
    path = write(folder / f"{spec['name']}.json", spec)
    proc = procs.idlegrid(f"post-{spec['name']}", requester, "requester", "post", str(path),
                          "--reward", str(REWARD / ETHER), "--stake", str(STAKE / ETHER), "--window", str(window),
                          "--claim-timeout", str(CLAIM_TIMEOUT), "--train-timeout", str(TRAIN_TIMEOUT),
                          "--devnet", "--dev-account", str(requester.index))
    code = proc.wait(timeout)
    found = re.search(r"posted task (\d+)", proc.text())
    assert code == 0 and found, f"posting {spec['name']} failed (exit {code})\n{proc.tail()}"
    return int(found.group(1))

"""``idlegrid arithmetic``: the name of the floating-point arithmetic this machine trains with.

An exact-mode spec names the arithmetic it must be trained and judged with
(``engine.tasks.judgement``); a worker asks this before claiming one, so its own process never
imports torch (``engine.roles.arithmetic``).
"""

from __future__ import annotations

import argparse


def show(args: argparse.Namespace) -> int:
    from engine.training.determinism import arithmetic, pick_device

    print(arithmetic(pick_device(args.device)))
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("arithmetic", help="print this machine's arithmetic (what an exact-mode spec names)",
                       description="Print the name of the floating-point arithmetic this machine computes "
                                   "with on DEVICE (CPU or GPU model, vector kernels, torch version): the "
                                   "value an exact-mode spec's verification.arithmetic must equal for this "
                                   "machine to train or judge it.")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto", help="default: auto")
    p.set_defaults(func=show)

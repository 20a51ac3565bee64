"""``idlegrid task validate SPEC``: check a spec without training it."""

from __future__ import annotations

import argparse

from engine.tasks.load import CheckedSpec, load_spec


def summary_line(c: CheckedSpec) -> str:
    sp, est = c.spec, c.estimate
    return (f"{sp.name}: ok: {est.params:,} params, {sp.steps} steps in {sp.num_checkpoints} checkpoints, "
            f"~{est.memory_mb:,.0f} MB, {est.flops_per_step / 1e6:,.1f} MFLOP/step, "
            f"{sp.dataset.kind} ({c.data.samples} samples), spec sha256 {c.sha256[:12]}")


def validate(args: argparse.Namespace) -> int:
    checked = load_spec(args.spec)
    # these import torch: only this command needs it
    from engine.tasks.capacity import require_fits
    from engine.training.capacity import largest_memory
    from engine.training.model import meta_dry_run

    meta_dry_run(checked)
    require_fits(checked, largest_memory())  # "ok" only for what some device here can hold
    print(summary_line(checked))
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("task", help="work with task specs", description="Work with task specs.")
    tsub = p.add_subparsers(dest="task_command", metavar="ACTION", required=True)
    v = tsub.add_parser("validate", help="check a spec; exit 0 with a summary or 2 with the error",
                        description="Check a task spec: fields, layer shapes (a meta-device dry run), "
                                    "dataset fit and limits. Exit 0 and a one-line summary, or exit 2 "
                                    "and an error naming the field.")
    v.add_argument("spec", help="path to the spec JSON file")
    v.set_defaults(func=validate)

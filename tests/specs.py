"""Small specs for tests: the shipped examples with fields overridden."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from tests.conftest import TASKS


def example(name: str) -> dict[str, Any]:
    return json.loads((TASKS / f"{name}.json").read_text())


def quick_mlp(**overrides: Any) -> dict[str, Any]:
    """digits-mlp cut to 120 steps in 6 segments: a second or two on one core."""
    spec = example("digits-mlp")
    spec.update(steps=120, checkpoint_every=20, schedule={"kind": "cosine", "warmup_steps": 10})
    spec.update(overrides)
    return spec


def write(path: Path, spec: dict[str, Any]) -> Path:
    path.write_text(json.dumps(spec))
    return path


def edit(spec: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    """A copy of ``spec`` with the field at ``dotted`` (``model.0.in_features``) set."""
    out = copy.deepcopy(spec)
    node: Any = out
    parts = dotted.split(".")
    for p in parts[:-1]:
        node = node[int(p)] if isinstance(node, list) else node[p]
    last = parts[-1]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return out


def kill_mid_job(process: Any, spec: Path, job: Path) -> None:
    """Start ``spec`` in the runner ``process`` and kill -9 it after its third checkpoint, checking
    that the job folder really holds an unfinished job (for the resume-to-the-same-root tests)."""
    from engine.training.jobdir import JobDir

    process.start(spec, job, device="cpu")
    while process.wait_for("checkpoint", timeout=60)["index"] < 2:
        pass
    process.kill()
    manifest = JobDir(job).read_manifest()
    assert manifest.result is None and 3 <= len(manifest.leaves) < 13  # really killed mid-job

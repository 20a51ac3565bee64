"""Fixtures of the GPU tests: deterministic cuBLAS from the start, and the figures to report.

Every figure a test records goes to stdout at once (``FIGURE name: value``; run pytest with
``-s``), into the terminal summary at the end, and, when ``$OUT`` is set (the device
machine's output folder), into ``$OUT/device-figures.json``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

# cuBLAS reads this when its first handle is created, which may be in any test of this
# folder (the NVML test allocates on the GPU before it imports any trainer code, which sets
# it on import: engine.training.determinism).
os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")

_FIGURES: dict[str, object] = {}


class Figures:
    def add(self, name: str, value: object) -> None:
        _FIGURES[name] = value
        print(f"FIGURE {name}: {value}", flush=True)


@pytest.fixture(scope="session")
def figures() -> Figures:
    return Figures()


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    if not _FIGURES:
        return
    terminalreporter.section("device figures")
    for name, value in _FIGURES.items():
        terminalreporter.write_line(f"{name}: {value}")
    out = os.environ.get("OUT")
    if out and Path(out).is_dir():
        (Path(out) / "device-figures.json").write_text(json.dumps(_FIGURES, indent=1, default=str) + "\n")

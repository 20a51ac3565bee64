"""Suite-wide fixtures: every test gets its own idlegrid home (config, data, cache)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REPO = Path(__file__).resolve().parents[1]
TASKS = REPO / "resources" / "tasks"


@pytest.fixture(autouse=True)
def idlegrid_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private IDLEGRID_HOME so no test reads or writes the user's real files."""
    home = tmp_path / "idlegrid-home"
    monkeypatch.setenv("IDLEGRID_HOME", str(home))
    return home


@pytest.fixture
def runner():
    """Starts ``idlegrid runner`` subprocesses (``runner(max_jobs=N)`` -> RunnerProcess); kills any left."""
    from engine.runner.client import RunnerProcess

    procs: list[RunnerProcess] = []

    def spawn(**options: Any) -> RunnerProcess:
        procs.append(RunnerProcess(**options))
        return procs[-1]

    yield spawn
    for p in procs:
        if p.proc.poll() is None:
            p.kill()

"""tools/setup.sh on a fresh clone: a .venv that imports this checkout's engine from the shared,
locked environment, and a second run that changes nothing."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.slow


def run(args: list[str], cwd: Path) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=900, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout + proc.stderr


def test_a_fresh_clone_is_set_up_from_the_locks_and_a_second_run_changes_nothing(tmp_path: Path) -> None:
    head = run(["git", "rev-parse", "HEAD"], REPO).strip()
    clone = tmp_path / "clone"
    run(["git", "clone", "--quiet", str(REPO), str(clone)], tmp_path)
    run(["git", "checkout", "--quiet", head], clone)
    first = run(["tools/setup.sh"], clone)
    assert "python environment ready in .venv" in first
    where = run(
        [".venv/bin/python", "-c", "import engine, torch; print(engine.__file__); print(torch.__file__)"], clone
    )
    engine_file, torch_file = where.split()
    assert Path(engine_file).is_relative_to(clone)  # this checkout's code, editable
    assert "/idlegrid/venvs/" in torch_file  # the packages: once per machine
    locked = {line.split(" ")[0] for line in (clone / "requirements/app.lock").read_text().splitlines()
              if "==" in line and not line.startswith(("#", " "))}
    names = ("pyside6-essentials", "optuna", "ruff", "mypy")  # the app, the search, and the checks `make lint` runs
    script = "import sys, importlib.metadata as m; print(*(m.version(n) for n in sys.argv[1:]))"
    versions = run([".venv/bin/python", "-c", script, *names], clone).split()
    assert {f"{n}=={v}" for n, v in zip(names, versions, strict=True)} <= locked
    second = run(["tools/setup.sh"], clone)
    assert "building the shared environment" not in second and "creating .venv" not in second

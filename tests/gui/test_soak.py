"""The short soak CI runs: two minutes of jobs, tray actions, tab switches and resizes under Xvfb
(`python -m bench.soak --minutes 2`) without a crash. The 30-minute figures are in docs/app.md."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from tests.conftest import REPO


@pytest.mark.slow
def test_a_two_minute_soak_has_no_crash() -> None:
    env = {k: v for k, v in os.environ.items() if k != "QT_QPA_PLATFORM"}
    env["PYTHONPATH"] = str(REPO)
    done = subprocess.run([sys.executable, "-m", "bench.soak", "--minutes", "2"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    figures = dict(re.findall(r"^(\w+): (\S+)$", done.stdout, re.MULTILINE))
    assert figures["crashes"] == "0", done.stderr[-3000:]
    assert int(figures["jobs"]) > 0 and int(figures["user_actions"]) > 0

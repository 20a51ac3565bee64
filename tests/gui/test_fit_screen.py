"""Windows fit a 1366x768 screen at 1x, 1.5x and 2x scaling (a real X server, Xvfb)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from tests.conftest import REPO

PROBE = "tests.gui.fit_probe"


@pytest.mark.parametrize("scale", ["1", "1.5", "2"])
def test_every_window_fits_1366x768(scale: str, tmp_path) -> None:
    if shutil.which("xvfb-run") is None:
        pytest.skip("xvfb-run not installed: run `make system-deps` (Debian: xvfb)")
    env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "DISPLAY")}
    env.update(PYTHONPATH=str(REPO), QT_SCALE_FACTOR=scale, QT_QPA_PLATFORM="xcb")
    done = subprocess.run(["xvfb-run", "-a", "-s", "-screen 0 1366x768x24", sys.executable, "-m", PROBE],
                          env=env, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    _sx, _sy, sw, sh = seen["screen"]
    assert (sw, sh) == (round(1366 / float(scale)), round(768 / float(scale))) or abs(sw - 1366 / float(scale)) <= 1
    for name in ("dashboard", "settings", "wizard"):
        _x, _y, w, h = seen[name]
        assert w <= sw and h <= sh, f"{name} is {w}x{h} on a {sw}x{sh} screen at {scale}x"

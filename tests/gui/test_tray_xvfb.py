"""The tray icon appears in a real tray host (trayer) on a real X server (Xvfb), and its menu acts."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO

PROBE = Path(__file__).with_name("tray_probe.py")
MISSING = [tool for tool in ("Xvfb", "trayer") if shutil.which(tool) is None]


@pytest.fixture
def x_display(tmp_path: Path) -> Iterator[str]:
    """A private Xvfb display with trayer running on it as the system tray."""
    if MISSING:
        pytest.skip(f"{' and '.join(MISSING)} not installed: run `make system-deps` (Debian: xvfb, trayer)")
    read, write = os.pipe()
    xvfb = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-screen", "0", "1024x768x24", "-nolisten", "tcp"],
                            pass_fds=(write,), stderr=subprocess.DEVNULL)
    os.close(write)
    with os.fdopen(read) as f:
        display = f":{f.readline().strip()}"
    env = {**os.environ, "DISPLAY": display}
    trayer = subprocess.Popen(["trayer", "--edge", "top", "--align", "right", "--widthtype", "pixel", "--width", "120",
                               "--height", "28", "--SetDockType", "true", "--transparent", "false"],
                              env=env, stdout=subprocess.DEVNULL, stderr=(tmp_path / "trayer.log").open("wb"))
    time.sleep(1.0)
    try:
        assert trayer.poll() is None, (tmp_path / "trayer.log").read_text()
        yield display
    finally:
        for proc in (trayer, xvfb):
            proc.terminate()
            proc.wait(10)


def test_the_tray_icon_shows_in_a_real_tray_and_its_menu_pauses(x_display: str) -> None:
    env = {**os.environ, "DISPLAY": x_display, "QT_QPA_PLATFORM": "xcb", "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, str(PROBE)], env=env, cwd=REPO, capture_output=True, text=True, timeout=60)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    assert lines, done.stderr[-2000:]
    result = json.loads(lines[-1])
    assert result["available"] and result["shown"] and result["visible"], result
    assert min(result["geometry"]) > 0, result          # the tray host embedded it
    assert result["icon"] == "tray-working" and result["tooltip"] == "idlegrid: Earning"
    assert result["menu_visible"]
    assert result["calls"] == ["pause: paused by you"] and result["pause_label"] == "Resume"

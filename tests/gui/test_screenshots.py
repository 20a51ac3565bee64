"""tools/screenshots.py refuses to run without an X display, and says how to run it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_without_a_display_it_says_to_use_xvfb_run(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "QT_QPA_PLATFORM", "WAYLAND_DISPLAY")}
    result = subprocess.run([sys.executable, str(REPO / "tools" / "screenshots.py"), "--out", str(tmp_path)],
                            capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 2
    assert "xvfb-run -a .venv/bin/python tools/screenshots.py" in result.stderr
    assert not any(tmp_path.iterdir())

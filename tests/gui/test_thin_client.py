"""The app is a thin client of the engine service: its process imports neither torch nor web3,
and its quit paths leave the service working or stop it as asked."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from app.engine_host import AppSettings, quit_stops_engine
from engine.config import save_section
from tests.conftest import REPO

HEAVY = ("torch", "web3", "eth_account")
PROBE = f"""
import json, sys
from app.application import Application
from app.main import build_parser
from app.shell import Shell
app = Application(["probe"])
shell = Shell(app, devnet=False, gpu_backend=None, quit_app=False)
shell.app.open_window("dashboard")
print(json.dumps({{m: m in sys.modules for m in {HEAVY!r}}}))
"""


def test_the_gui_process_with_its_shell_and_dashboard_imports_neither_torch_nor_web3() -> None:
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=REPO,
                          capture_output=True, text=True, timeout=120, check=False,
                          env={**os.environ, "PYTHONPATH": str(REPO), "QT_QPA_PLATFORM": "offscreen"})
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == dict.fromkeys(HEAVY, False)


def test_quit_leaves_the_service_working_unless_the_setting_says_otherwise() -> None:
    assert quit_stops_engine() is False
    save_section("app", AppSettings(quit_stops_engine=True))
    assert quit_stops_engine() is True


def test_the_tray_offers_quit_and_quit_and_stop_earning(qapp) -> None:  # type: ignore[no-untyped-def]
    from app.shell import Shell

    shell = Shell(qapp, devnet=False, gpu_backend=None, quit_app=False)
    texts = [a.text() for a in shell.tray.menu.actions()]
    assert texts[-2:] == ["Quit", "Quit and stop earning"]
    shell.deleteLater()

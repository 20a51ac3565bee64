"""`idlegrid app`: its input errors, a missing PySide6, and a real run on the devnet it starts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine.chain.anvil import free_port
from engine.cli import main
from engine.config import paths, save_section
from engine.gpu.settings import PolicySettings
from tests.conftest import REPO

PROBE = Path(__file__).with_name("app_devnet_probe.py")


def test_without_pyside6_the_app_says_what_to_install() -> None:
    code = "import sys; sys.modules['PySide6'] = None; from app.main import main; sys.exit(main([]))"
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "error: the desktop app needs PySide6, which is not installed here" in done.stderr
    assert "hint: install the app extras: `pip install 'idlegrid[app]'`" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(("argv", "message"), [
    (["--devnet-port", "70000"], "error: --devnet-port 70000 is not a TCP port (1-65535)"),
    (["--devnet-blob-port", "0"], "error: --devnet-blob-port 0 is not a TCP port (1-65535)"),
    (["--network", "--dev-account", "1"], "error: --dev-account works only with --devnet: dev keys are public"),
    (["--devnet", "--dev-account", "10"], "error: --dev-account 10 does not exist\n  hint: use 0 to 9"),
    (["--quit-after", "0"], "error: --quit-after 0 is not a positive number of seconds"),
])
def test_bad_options_fail_before_any_window_with_the_fix(argv: list[str], message: str, capfd) -> None:
    assert main(["app", *argv]) == 2  # checked by the app process `idlegrid app` starts
    assert message in capfd.readouterr().err


def test_without_a_display_the_app_says_how_to_get_one() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    done = subprocess.run([sys.executable, "-m", "engine", "app"], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "error: there is no display to show the app on" in done.stderr and "xvfb-run -a idlegrid app" in done.stderr


def test_the_engine_and_its_cli_never_import_qt() -> None:
    code = ("import sys; from engine.cli import build_parser; build_parser(); import engine.worker; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'app', 'pyqtgraph', 'torch')))")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "[]", done.stderr


@pytest.mark.slow
def test_the_app_starts_the_devnet_and_its_dashboard_shows_a_demo_job_training() -> None:
    # the test machine is busy (others' CPU use would pause CPU training): train regardless
    save_section("policy", PolicySettings(run_when="always", foreign_utilization_pct=100,
                                          pause_on_foreign_process=False, resume_after_s=0))
    cfg = {"devnet_port": free_port(), "blob_port": free_port(), "dev_account": 1, "timeout_s": 150}
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, str(PROBE), json.dumps(cfg)], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=240)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    assert lines, done.stderr[-3000:]
    seen = json.loads(lines[-1])
    assert "timeout" not in seen, seen["messages"]
    assert seen["devnet_child"] and seen["torch"] is False
    assert seen["title"].startswith("Task ") and 0 < seen["bar"][0] <= seen["bar"][1]
    service_log = (paths().log_dir / "daemon.log").read_text()   # the app started the service, it the devnet
    assert "log: starting the local devnet" in service_log
    assert seen["code"] == 0 and seen["service_after_quit"] is True  # Quit leaves the service working
    assert seen["service_stopped"] and seen["devnet_after_stop"] is False  # stopping it stops its devnet child


@pytest.mark.slow
def test_quit_after_leaves_the_service_and_daemon_stop_ends_it_and_its_devnet_cleanly(tmp_path: Path) -> None:
    """What the packaging smoke test runs on the frozen build, here from source."""
    port, blob_port = free_port(), free_port()
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "IDLEGRID_HOME": str(tmp_path / "home")}
    done = subprocess.run([sys.executable, "-m", "engine", "app", "--devnet", "--dev-account", "1",
                           "--devnet-port", str(port), "--devnet-blob-port", str(blob_port), "--quit-after", "8"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    stopped = subprocess.run([sys.executable, "-m", "engine", "daemon", "stop"], cwd=REPO, env=env,
                             capture_output=True, text=True, timeout=120)
    assert stopped.stdout == "idlegrid daemon: stopped (the job was checkpointed)\n", stopped.stderr
    leftovers = subprocess.run(["pgrep", "-f", "--", f"--port {port}"], capture_output=True, text=True)
    assert leftovers.returncode == 1, f"the devnet child (or its anvil) outlived the service: {leftovers}"

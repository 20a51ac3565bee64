"""What the desktop app and the engine service cost while they wait: CPU use and memory, next
to a bare Qt window.

Starts a devnet with no demo tasks (``idlegrid devnet --no-demo``), then, at the same time, the
app (``python -m app --devnet --dev-account 1``, offscreen: its dashboard is shown since there
is no tray) and a bare QApplication showing one empty window. The app starts the engine service
(``idlegrid daemon run``), whose worker waits for tasks. After a warm-up it measures the three
processes' CPU time over the same ``--seconds`` (default 30) and their resident memory at the
end. Everything runs under a temporary IDLEGRID_HOME.

Prints ``bare_rss_mb``, ``bare_idle_cpu_pct``, ``app_rss_mb``, ``app_idle_cpu_pct`` (the GUI
process alone), ``daemon_rss_mb`` and ``daemon_idle_cpu_pct`` (CPU time / wall time, one core
= 100 %). Targets: app at most 150 MB (goal 100), app and daemon at most 0.5 % CPU each.
``--quick`` measures 3 s (checks the benchmark works).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from engine.chain.anvil import free_port

REPO = Path(__file__).resolve().parents[1]
BARE = (
    "import sys\n"
    "from PySide6.QtWidgets import QApplication, QWidget\n"
    "app = QApplication(sys.argv)\n"
    "w = QWidget(); w.resize(980, 720); w.show()\n"
    "print('ready', flush=True)\n"
    "sys.exit(app.exec())\n"
)


def spawn(argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """A child writing to ``log`` (a pipe nobody reads would fill up and stall it)."""
    with log.open("wb") as out:
        return subprocess.Popen(argv, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def wait_for(proc: subprocess.Popen[bytes], log: Path, text: str, timeout: float, what: str) -> None:
    """Wait until ``log`` contains ``text``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in log.read_text(encoding="utf-8", errors="replace"):
            return
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    raise SystemExit(f"bench.app: {what} did not start (exit code {proc.poll()}); see {log}:\n"
                     + log.read_text(encoding="utf-8", errors="replace")[-2000:])


def cpu_seconds(proc: psutil.Process) -> float:
    t = proc.cpu_times()
    return t.user + t.system


def stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGINT, timeout: float = 60.0) -> None:
    """``sig`` (SIGINT: the app's and the devnet's clean Quit), then SIGKILL after ``timeout``."""
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def daemon_pid(home: str, timeout: float = 120.0) -> int:
    """The pid of the engine service the app started (asked over its control API)."""
    os.environ["IDLEGRID_HOME"] = home
    from engine.service import client
    from engine.service.errors import ServiceError

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            return int(client.request("status")["pid"])
        except ServiceError:
            time.sleep(0.5)
    raise SystemExit("bench.app: the app did not start the engine service")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="measurement window (default 30)")
    parser.add_argument("--warmup", type=float, default=8.0, help="seconds before measuring (default 8)")
    parser.add_argument("--quick", action="store_true", help="3 s window, 3 s warm-up: checks the benchmark works")
    args = parser.parse_args()
    seconds, warmup = (3.0, 3.0) if args.quick else (args.seconds, args.warmup)
    with tempfile.TemporaryDirectory(prefix="idlegrid-bench-app-") as home:
        env = {**os.environ, "IDLEGRID_HOME": home, "QT_QPA_PLATFORM": "offscreen", "PYTHONUNBUFFERED": "1"}
        logs = Path(home)
        devnet = spawn([sys.executable, "-m", "engine", "devnet", "--port", str(free_port()), "--blob-port",
                        str(free_port()), "--no-demo"], env, logs / "devnet.out")
        procs: list[tuple[subprocess.Popen[bytes], int]] = [(devnet, signal.SIGINT)]
        try:
            wait_for(devnet, logs / "devnet.out", "devnet: ready at", 120, "the devnet")
            app = spawn([sys.executable, "-m", "app", "--devnet", "--dev-account", "1"], env, logs / "app.out")
            bare = spawn([sys.executable, "-c", BARE], env, logs / "bare.out")
            procs += [(app, signal.SIGINT), (bare, signal.SIGTERM)]  # a bare Qt loop never sees SIGINT
            wait_for(app, logs / "app.out", "idlegrid app: running", 120, "the app")
            wait_for(bare, logs / "bare.out", "ready", 60, "the bare window")
            daemon = psutil.Process(daemon_pid(home))
            time.sleep(warmup)
            watched = {"bare": psutil.Process(bare.pid), "app": psutil.Process(app.pid), "daemon": daemon}
            start = {name: cpu_seconds(p) for name, p in watched.items()}
            t0 = time.monotonic()
            time.sleep(seconds)
            wall = time.monotonic() - t0
            used = {name: cpu_seconds(p) - start[name] for name, p in watched.items()}
            rss = {name: p.memory_info().rss / 2**20 for name, p in watched.items()}
        finally:
            for proc, sig in reversed(procs):
                if proc is devnet:  # the service first (it checkpoints), then its chain
                    subprocess.run([sys.executable, "-m", "engine", "daemon", "stop"], cwd=REPO, env=env,
                                   capture_output=True, timeout=120, check=False)
                stop(proc, sig)
    print(f"bare_rss_mb: {rss['bare']:.1f}")
    print(f"bare_idle_cpu_pct: {100 * used['bare'] / wall:.3f}")
    print(f"app_rss_mb: {rss['app']:.1f}")
    print(f"app_idle_cpu_pct: {100 * used['app'] / wall:.3f}")
    print(f"daemon_rss_mb: {rss['daemon']:.1f}")
    print(f"daemon_idle_cpu_pct: {100 * used['daemon'] / wall:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Soak run of the desktop app: ``python -m bench.soak --minutes N``.

Runs the real dashboard, tray, notifier and state model in a child process under a virtual X
server (``xvfb-run`` where there is one, else Qt's offscreen platform), with a real history
database in a throwaway IDLEGRID_HOME, and feeds them what the engine sends the app: a job every
few seconds (claiming, training with progress and loss, uploaded, paid with ledger entries,
earnings totals). Meanwhile it acts like a user: pause, resume, snooze, end snooze, tab switches
and window resizes, one every second. The child reports its resident memory every 10 s; a child
that dies (a crash, e.g. the none_dealloc abort) is counted and started again until the time
is up. Prints::

    soak_minutes: 30.0
    crashes: 0
    jobs: 412
    user_actions: 1790
    rss_start_mb: 88.1      (after a 60 s warm-up)
    rss_end_mb: 90.3
    rss_growth_mb: 2.2
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
WARMUP_S = 60.0
REPORT_S = 10.0
JOB_STEPS = 20


def child(seconds: float) -> None:
    """The app under load; prints ``rss <mb>``, ``jobs <n>`` and ``actions <n>`` lines."""
    import psutil
    from PySide6.QtCore import QTimer

    from app.application import Application
    from app.bridge import EngineBridge
    from app.dashboard import DashboardWindow
    from app.notify import Notifier
    from app.state import AppState
    from app.tray import Tray
    from engine.events import EngineEvent, EngineState, Kind
    from engine.history import History

    app = Application(["idlegrid-soak"])
    bridge = EngineBridge()
    state = AppState(bridge)
    history = History.open()
    market, chain = "0x" + "ab" * 20, 31337

    class Network:
        chain_id, market = chain, "0x" + "ab" * 20

    stop = threading.Event()
    paused = threading.Event()
    counts = {"jobs": 0, "actions": 0}

    def emit(kind: Kind, message: str, task_id: int | None = None, **data: object) -> None:
        bridge.listener(EngineEvent(kind, message, task_id, data))

    def set_state(s: EngineState, reason: str) -> None:
        emit(Kind.STATE, reason, state=s.value, reason=reason)

    class Controls:
        def pause(self, reason: str = "paused by you") -> None:
            paused.set()
            set_state(EngineState.PAUSED, reason)

        def resume(self) -> None:
            paused.clear()
            set_state(EngineState.WAITING, "looking for tasks")

        def snooze(self, seconds: float) -> None:
            paused.set()
            set_state(EngineState.PAUSED, "snoozed until 23:59")

    def engine() -> None:
        task = 0
        while not stop.is_set():
            if paused.is_set():
                time.sleep(0.2)
                continue
            task += 1
            name = f"digits-mlp-seed-{task}"
            emit(Kind.JOB, f"claiming task {task} ({name})", task, state="claiming")
            set_state(EngineState.WORKING, f"training task {task}")
            emit(Kind.JOB, f"training task {task} ({name})", task, state="training")
            for step in range(1, JOB_STEPS + 1):
                if stop.is_set() or paused.is_set():
                    break
                emit(Kind.PROGRESS, f"step {step}", task, step=step * 30, steps=JOB_STEPS * 30,
                     loss=2.0 / step, samples_per_s=900.0, eta_s=(JOB_STEPS - step) * 0.1)
                time.sleep(0.1)
            else:
                emit(Kind.JOB, f"uploaded task {task}'s checkpoints", task, state="uploaded")
                history.upsert_job(chain, market, task, "worker", name=name, state="paid", steps=600,
                                   steps_done=600, loss=0.1, reward=10**16, stake=10**15)
                history.add_ledger(chain, market, task, "reward", 10**16, tx_hash=f"0x{task:064x}")
                history.add_ledger(chain, market, task, "gas", 3 * 10**13, tx_hash=f"0x{task:064x}")
                emit(Kind.NOTICE, f"task {task} paid: earned 0.01 ETH (and the 0.001 ETH stake back)", task,
                     reward=str(10**16), stake=str(10**15))
                emit(Kind.EARNINGS, "claimable", None, pending=0, claimable=task * 10**16, withdrawn=0)
                counts["jobs"] += 1
            set_state(EngineState.WAITING, "looking for tasks")
            time.sleep(0.3)

    controls = Controls()
    tray = Tray(app, bridge, controls, state)
    tray.show()
    Notifier(app, bridge, tray.icon)
    window = DashboardWindow(app, bridge, state=state, history=history, history_path=history.path,
                             tray_visible=lambda: True, toggle_pause=tray.toggle_pause)
    window.set_network(Network())
    window.show()
    sizes = [(960, 700), (700, 500), (1300, 740), (600, 440)]
    actions = [tray.toggle_pause, tray.toggle_pause, lambda: tray.snooze(3600), tray.end_snooze]

    def act() -> None:
        i = counts["actions"]
        counts["actions"] += 1
        if i % 3 == 0:
            actions[(i // 3) % len(actions)]()
        elif i % 3 == 1:
            window.tabs.setCurrentIndex((i // 3) % window.tabs.count())
        else:
            window.resize(*sizes[(i // 3) % len(sizes)])

    proc = psutil.Process()

    def report() -> None:
        print(f"rss {proc.memory_info().rss / 2**20:.1f}", f"jobs {counts['jobs']}",
              f"actions {counts['actions']}", flush=True)

    threading.Thread(target=engine, daemon=True).start()
    user = QTimer()
    user.timeout.connect(act)
    user.start(1000)
    reporter = QTimer()
    reporter.timeout.connect(report)
    reporter.start(int(REPORT_S * 1000))
    QTimer.singleShot(int(seconds * 1000), app.quit)
    report()
    app.exec()
    stop.set()
    report()
    window.shutdown()
    history.close()


def run(minutes: float) -> dict[str, float]:
    deadline = time.monotonic() + minutes * 60
    crashes, jobs, actions = 0, 0, 0
    rss: list[tuple[float, float]] = []
    home = Path(tempfile.mkdtemp(prefix="idlegrid-soak-"))
    env = {**os.environ, "IDLEGRID_HOME": str(home), "PYTHONPATH": str(REPO)}
    wrap: list[str] = []
    if not env.get("DISPLAY") and shutil.which("xvfb-run"):
        wrap = ["xvfb-run", "-a", "-s", "-screen 0 1366x768x24"]
    elif not env.get("DISPLAY"):
        env["QT_QPA_PLATFORM"] = "offscreen"
    started = time.monotonic()
    try:
        while (left := deadline - time.monotonic()) > 5:
            run_jobs = run_actions = 0
            cmd = [*wrap, sys.executable, "-m", "bench.soak", "--child", str(left)]
            with subprocess.Popen(cmd, env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  text=True) as p:
                assert p.stdout is not None
                for line in p.stdout:
                    m = re.match(r"rss ([\d.]+) jobs (\d+) actions (\d+)", line)
                    if m:
                        rss.append((time.monotonic() - started, float(m.group(1))))
                        run_jobs, run_actions = int(m.group(2)), int(m.group(3))
                    elif "Fatal Python error" in line or "Traceback" in line:
                        print(line.rstrip(), file=sys.stderr)
                code = p.wait()
            jobs, actions = jobs + run_jobs, actions + run_actions
            if code != 0:
                crashes += 1
                print(f"soak: the app exited with {code}; starting it again", file=sys.stderr)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    warm = [mb for t, mb in rss if t >= WARMUP_S] or [mb for _, mb in rss] or [0.0]
    return {"soak_minutes": round((time.monotonic() - started) / 60, 1), "crashes": crashes, "jobs": jobs,
            "user_actions": actions, "rss_start_mb": warm[0], "rss_end_mb": warm[-1],
            "rss_growth_mb": round(warm[-1] - warm[0], 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=2.0)
    parser.add_argument("--child", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        child(args.child)
        return
    for name, value in run(args.minutes).items():
        print(f"{name}: {value}")


if __name__ == "__main__":
    main()

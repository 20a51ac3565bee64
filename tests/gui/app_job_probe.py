"""The desktop app, in a process of its own, doing one real job (run by test_app_with_worker.py).

A fresh process, because the test must see whether the *GUI process* imports torch, and the
test process itself may have imported it. The app is the real Shell (bridge, engine host,
tray, notifier, dashboard) with a real Worker on the test's anvil and blob server. The probe
only watches the dashboard's widgets and presses what a user would press (tray Pause and
Resume, the Withdraw button); it prints one JSON line per milestone, and reads one line from
stdin after "committed" (the test moves the chain's clock past the challenge window).

argv[1]: JSON {rpc_url, market, blob_url, key, task_id, timeout_s}
"""

from __future__ import annotations

import json
import sys
import threading
import time
from typing import Any

from PySide6.QtCore import QTimer

from app.application import Application
from app.bridge import state_of
from app.shell import Shell, history_path
from engine.chain.market import TaskMarket
from engine.chain.rpc import connect
from engine.events import EngineEvent, EngineState, Kind, Listener

T0 = time.monotonic()


def say(what: str, **data: Any) -> None:
    print(json.dumps({"at": what, "t": round(time.monotonic() - T0, 1), **data}), flush=True)


def main() -> int:
    cfg = json.loads(sys.argv[1])
    app = Application(["probe"])

    def make_worker(listener: Listener) -> Any:
        from eth_account import Account

        from engine.gpu.monitor import NoGpu
        from engine.gpu.nogpu import CpuBackend
        from engine.history import History
        from engine.storage import HttpStore
        from engine.worker import Worker, ignore_idle_policy
        from engine.worker.config import WorkerConfig

        market = TaskMarket(connect(cfg["rpc_url"]), cfg["market"], Account.from_key(cfg["key"]))
        config = WorkerConfig(ignore_idle=True, device="cpu", poll_s=0.2, controller_poll_s=0.05, progress_every_s=0.1)
        return Worker(market, HttpStore(cfg["blob_url"]), History.open(history_path()), config=config,
                      listener=listener, gpu_backend=CpuBackend(NoGpu("the probe trains on the CPU")),
                      policy=ignore_idle_policy(), user_idle=lambda: None, on_battery=lambda: None)

    shell = Shell(app, devnet=False, worker_factory=make_worker)
    seen: dict[str, Any] = {"states": [], "job_states": [], "errors": [], "max_progress": 0, "torch_after_start": None}
    task_id = cfg["task_id"]

    def on_event(event: EngineEvent) -> None:
        if event.kind is Kind.STATE:
            seen["states"].append(state_of(event).value)
        if event.kind is Kind.ERROR:
            seen["errors"].append(event.message)
        if event.kind is Kind.JOB and event.task_id == task_id:
            seen["job_states"].append(event.data.get("state"))

    shell.bridge.event.connect(on_event)
    stage = {"name": "start"}
    deadline = time.monotonic() + cfg["timeout_s"]
    answer: dict[str, str] = {}

    def wait_for_line() -> None:
        answer["line"] = sys.stdin.readline()

    def tick() -> None:
        dash = shell.dashboard
        if time.monotonic() > deadline:
            say("timeout", stage=stage["name"], seen=seen, status=dash.earnings_panel.status.text() if dash else None)
            app.exit(3)
            return
        if dash is None:
            return
        if seen["errors"]:  # the engine needs the user: nothing more will happen by itself
            say("failed", stage=stage["name"], seen=seen)
            app.exit(5)
            return
        panel = dash.job_panel
        now = shell.tray.state.now  # the app's one state model
        seen["max_progress"] = max(seen["max_progress"], panel.bar.value())
        name = stage["name"]
        if name == "start":
            seen["torch_after_start"] = "torch" in sys.modules
            seen["dashboard_visible"] = dash.isVisible()
            stage["name"] = "training"
            say("started")
        elif name == "training" and panel.bar.value() > 0 and now.job is not None and now.job.task_id == task_id:
            shell.tray.pause_action.trigger()   # the user pauses from the tray...
            stage["name"] = "pausing"
            say("pausing")
        elif name == "pausing" and shell.bridge.state()[0] is EngineState.PAUSED:
            seen["paused_line"] = panel.state.text()
            shell.tray.pause_action.trigger()   # ...and resumes
            stage["name"] = "resumed"
            say("resumed")
        elif name == "resumed" and "committed" in seen["job_states"]:
            rows = [dash.history_panel.model.record(r) for r in range(dash.history_panel.model.rowCount())]
            if any(r.task_id == task_id and r.state == "committed" for r in rows):
                seen["job_panel"] = {"title": panel.job_title.text(), "bar": [panel.bar.value(), panel.bar.maximum()],
                                     "loss": panel.loss.text(), "points": len(now.points)}
                say("committed")
                threading.Thread(target=wait_for_line, daemon=True).start()
                stage["name"] = "window"
        elif name == "window" and "line" in answer and "paid" in seen["job_states"]:
            button = dash.earnings_panel.withdraw_button
            if button.isEnabled() and "fee ≈" in button.text():
                seen["withdraw_button"] = button.text()
                seen["claimable"] = dash.earnings_panel.labels["claimable"].text()
                dash.earnings_panel.confirm = lambda _parent, plan: seen.update(plan=plan.amount_wei) or True
                button.click()
                stage["name"] = "withdrawing"
                say("withdrawing", button=button.text())
        elif name == "withdrawing" and dash.earnings_panel.status.text().startswith("Withdrawal failed"):
            say("failed", stage=name, status=dash.earnings_panel.status.text(), seen=seen)
            app.exit(4)
        elif name == "withdrawing" and dash.earnings_panel.status.text().startswith("Withdrawn: transaction 0x"):
            seen["withdraw_status"] = dash.earnings_panel.status.text()
            seen["withdrawn"] = dash.earnings_panel.labels["withdrawn"].text()
            seen["event_log_has_claim"] = f"claimed task {task_id}" in dash.event_log.toPlainText()
            seen["notifications"] = [n.title for n in shell.notifier.shown]
            seen["torch_after_job"] = "torch" in sys.modules
            stage["name"] = "quitting"
            app.quit_requested.emit()           # Quit: checkpoint, stop the worker, leave

    timer = QTimer()
    timer.timeout.connect(tick)
    timer.start(100)
    shell.start()
    code = app.exec()
    say("done", code=code, stage=stage["name"], seen=seen)
    return code


if __name__ == "__main__":
    sys.exit(main())

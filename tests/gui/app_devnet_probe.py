"""`idlegrid app --devnet --dev-account 1`, watched from inside (run by test_app_command.py).

Builds the app exactly as ``app.main.run_app`` does: the app starts the engine service, which
starts ``idlegrid devnet`` as its child (anvil, blob server, demo requester and verifier); the
worker signs with dev key 1 and claims a demo task. The probe watches the dashboard until the
job shows progress, then quits through the app's Quit path (the service goes on), then stops
the service as ``idlegrid daemon stop`` does, and prints one JSON line.

argv[1]: JSON {devnet_port, blob_port, dev_account, timeout_s}
"""

from __future__ import annotations

import json
import sys
import time

from PySide6.QtCore import QTimer

from app.application import Application
from app.shell import Shell
from engine.service import client
from engine.service.devnet_child import running_devnet


def main() -> int:
    cfg = json.loads(sys.argv[1])
    app = Application(["probe"])
    assert app.claim_single_instance()
    shell = Shell(app, devnet=True, devnet_port=cfg["devnet_port"], blob_port=cfg["blob_port"],
                  dev_account=cfg["dev_account"])
    seen: dict[str, object] = {"messages": []}
    shell.bridge.event.connect(lambda e: seen["messages"].append(f"{e.kind.value}: {e.message}"))
    deadline = time.monotonic() + cfg["timeout_s"]

    def tick() -> None:
        dash = shell.dashboard
        if time.monotonic() > deadline:
            seen["timeout"] = True
            app.quit_requested.emit()
            return
        if dash is None or shell.quitting or dash.job_panel.bar.value() == 0:
            return
        seen["title"] = dash.job_panel.job_title.text()
        seen["bar"] = [dash.job_panel.bar.value(), dash.job_panel.bar.maximum()]
        seen["devnet_child"] = bool(client.request("status").get("devnet_child"))
        seen["torch"] = "torch" in sys.modules
        app.quit_requested.emit()

    timer = QTimer()
    timer.timeout.connect(tick)
    timer.start(200)
    shell.start()
    seen["code"] = app.exec()
    seen["service_after_quit"] = client.is_running()
    seen["service_stopped"] = client.stop()
    seen["devnet_after_stop"] = running_devnet() is not None
    print(json.dumps(seen), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

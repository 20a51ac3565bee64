"""`idlegrid app --devnet --dev-account 1`, built as ``app.main.run_app`` builds it, that also
says on stdout whether it is connected to an engine service and to which (run by
test_app_adoption.py, which kill -9s it and starts it again).

Prints one JSON line each time that changes: {"connected": bool, "service_pid": int | null}.
argv[1]: JSON {devnet_port, blob_port, dev_account}
"""

from __future__ import annotations

import json
import sys

from PySide6.QtCore import QTimer

from app.application import Application
from app.shell import Shell


def main() -> int:
    cfg = json.loads(sys.argv[1])
    app = Application(["probe"])
    assert app.claim_single_instance()
    shell = Shell(app, devnet=True, devnet_port=cfg["devnet_port"], blob_port=cfg["blob_port"],
                  dev_account=cfg["dev_account"])
    last: dict[str, object] = {}

    def report() -> None:
        now = {"connected": shell.host.connected, "service_pid": shell.host.status.get("pid")}
        if now != last:
            last.update(now)
            print(json.dumps(now), flush=True)

    timer = QTimer()
    timer.timeout.connect(report)
    timer.start(200)
    shell.start()
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())

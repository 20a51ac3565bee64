"""The tray icon under a real X server with a tray host (run by test_tray_xvfb.py).

Prints one JSON line: whether Qt found a system tray, whether the icon is visible and embedded
(non-empty geometry), and what the context menu did when driven with the keyboard like a user:
popup, Down (the status line is disabled, so "Pause" is selected), Return.
"""

from __future__ import annotations

import json
import sys

from PySide6.QtCore import Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QSystemTrayIcon

from app.application import Application
from app.bridge import EngineBridge
from app.tray import Tray
from engine.events import EngineEvent, EngineState, Kind


class Recorder:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def pause(self, reason: str = "paused by you") -> None:
        self.calls.append(f"pause: {reason}")

    def resume(self) -> None:
        self.calls.append("resume")

    def snooze(self, seconds: float) -> None:
        self.calls.append(f"snooze: {seconds:.0f}")


def main() -> int:
    app = Application(["tray-probe"])
    bridge = EngineBridge()
    controls = Recorder()
    tray = Tray(app, bridge, controls)
    result: dict[str, object] = {"available": QSystemTrayIcon.isSystemTrayAvailable()}
    result["shown"] = tray.show()
    bridge.listener(EngineEvent(Kind.STATE, "working", data={"state": EngineState.WORKING.value, "reason": ""}))

    def drive_menu() -> None:
        geometry = tray.icon.geometry()
        result["geometry"] = [geometry.width(), geometry.height()]
        result["visible"] = tray.icon.isVisible()
        result["icon"] = tray.icon_name
        result["tooltip"] = tray.icon.toolTip()
        tray.menu.popup(geometry.center())
        QTimer.singleShot(300, choose)

    def choose() -> None:
        result["menu_visible"] = tray.menu.isVisible()
        QTest.keyClick(tray.menu, Qt.Key.Key_Down)
        QTest.keyClick(tray.menu, Qt.Key.Key_Return)
        QTimer.singleShot(300, finish)

    def finish() -> None:
        result["calls"] = controls.calls
        result["pause_label"] = tray.pause_action.text()
        print(json.dumps(result), flush=True)
        app.quit()

    QTimer.singleShot(1500, drive_menu)  # the tray host embeds the icon asynchronously
    QTimer.singleShot(20_000, app.quit)
    app.exec()
    return 0


if __name__ == "__main__":
    sys.exit(main())

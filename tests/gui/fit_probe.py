"""Opens the dashboard, the settings dialog and the first-run wizard on the display it is given
and prints, as JSON, the screen's free area and each window's frame (for test_fit_screen)."""

from __future__ import annotations

import json
import sys


def main() -> int:
    from app.application import Application
    from app.bridge import EngineBridge
    from app.dashboard import DashboardWindow
    from app.settings import SettingsDialog
    from app.wizard import FirstRunWizard

    app = Application(["fit-probe"])
    windows = {"dashboard": DashboardWindow(app, EngineBridge(), gpu_backend=None, tray_visible=lambda: True),
               "settings": SettingsDialog(), "wizard": FirstRunWizard()}
    out: dict[str, object] = {}
    for name, window in windows.items():
        window.show()
        app.processEvents()
        frame = window.frameGeometry()
        out[name] = [frame.x(), frame.y(), frame.width(), frame.height()]
    free = app.primaryScreen().availableGeometry()
    out["screen"] = [free.x(), free.y(), free.width(), free.height()]
    out["ratio"] = app.primaryScreen().devicePixelRatio()
    print(json.dumps(out))
    for window in windows.values():
        if hasattr(window, "shutdown"):
            window.shutdown()
        window.close()
        window.deleteLater()
    app.processEvents()
    return 0


if __name__ == "__main__":
    sys.exit(main())

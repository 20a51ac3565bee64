"""The Search tab keeps the GUI process light: showing a real search (and exporting it) imports
neither torch, web3 nor Optuna, nor the search's spec machinery or Pillow: the tab reads the
state with engine.search.reader (standard library) and the CLI's results module."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO
from tests.gui.search_fixtures import start_search, turn_until

HEAVY = ("torch", "web3", "eth_account", "optuna", "PIL", "engine.search.space", "engine.search.coordinator",
         "engine.tasks.load")
PROBE = """
import json, sys, time
from pathlib import Path
from app.application import Application
from app.bridge import EngineBridge
from app.dashboard import DashboardWindow
from app.dashboard.search_panel import Export
app = Application(["probe"])
root, out = Path(sys.argv[1]), Path(sys.argv[2])
window = DashboardWindow(app, EngineBridge(), gpu_backend=None, search_root=root)
window.show()
window.tabs.setCurrentWidget(window.search_panel)
panel = window.search_panel
panel.ask_path = lambda _parent, kind, _suggested: out / f"export.{kind.value}"
deadline = time.monotonic() + 60
while panel.snapshot is None and time.monotonic() < deadline:
    app.processEvents()
    time.sleep(0.02)
exported = [str(panel.export(kind)) for kind in Export]
print(json.dumps({"rows": panel.model.rowCount(), "exported": exported,
                  "heavy": {m: m in sys.modules for m in sys.argv[3].split(",")}}))
window.shutdown()
"""


def test_the_search_tab_reads_and_exports_a_search_without_heavy_imports(tmp_path: Path) -> None:
    root = tmp_path / "searches"
    c = start_search(root / "digits", budget=4, parallel=2)
    turn_until(c, lambda p: p.done >= 1)
    c.state.close()
    done = subprocess.run([sys.executable, "-c", PROBE, str(root), str(tmp_path), ",".join(HEAVY)], cwd=REPO,
                          capture_output=True, text=True, timeout=180, check=False,
                          env={**os.environ, "PYTHONPATH": str(REPO), "QT_QPA_PLATFORM": "offscreen"})
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["rows"] >= 2
    assert seen["exported"] == [str(tmp_path / "export.csv"), str(tmp_path / "export.json")]
    assert seen["heavy"] == dict.fromkeys(HEAVY, False)

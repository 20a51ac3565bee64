"""The whole app on a real chain: anvil, a blob server, a real Worker in the app's engine thread.

The app runs in its own process (tests/gui/app_job_probe.py) so that "the GUI process never
imports torch" is checked in a process that did nothing else. The dashboard must show the job
progressing (progress bar, loss curve), follow a Pause and Resume from the tray, list the job in
the history, show its earnings once paid, and withdraw them with the gas shown on the button.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.state import task_words
from engine.chain.anvil import time_travel
from engine.chain.devnet import DEV_KEYS
from engine.storage import BlobServer, HttpStore
from tests.conftest import REPO
from tests.integration.worker.helpers import REWARD, STAKE, WINDOW, Poster, tiny_spec

PROBE = Path(__file__).with_name("app_job_probe.py")
TIMEOUT_S = 240


def _lines(proc: subprocess.Popen[str]):
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("{"):
            yield json.loads(line)


@pytest.mark.slow
def test_the_app_shows_a_real_job_from_claim_to_withdrawal_and_never_imports_torch(
        chain, deployment, accounts, market_for, tmp_path: Path) -> None:
    with BlobServer(tmp_path / "server-blobs") as server:
        poster = Poster(market_for(accounts[0]), HttpStore(server.url))
        spec = tiny_spec(steps=120, checkpoint_every=30)
        task_id = poster.post(spec)
        cfg = {"rpc_url": chain.provider.endpoint_uri, "market": deployment.market_address, "blob_url": server.url,
               "key": DEV_KEYS[1], "task_id": task_id, "timeout_s": TIMEOUT_S - 20}
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        proc = subprocess.Popen([sys.executable, str(PROBE), json.dumps(cfg)], cwd=REPO, env=env, text=True,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            milestones = []
            for msg in _lines(proc):
                milestones.append(msg)
                if msg["at"] == "committed":
                    time_travel(chain, WINDOW + 1)  # the challenge window passes without a challenge
                    assert proc.stdin is not None
                    proc.stdin.write("go\n")
                    proc.stdin.flush()
                if msg["at"] in ("done", "timeout", "failed"):
                    break
            proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
        stderr = proc.stderr.read() if proc.stderr else ""
    (tmp_path / "probe.log").write_text(json.dumps(milestones, indent=1) + "\n" + stderr, encoding="utf-8")
    done = milestones[-1]
    assert done["at"] == "done" and done["code"] == 0, (milestones, stderr[-3000:])
    seen = done["seen"]
    assert seen["errors"] == []
    assert seen["dashboard_visible"]                       # offscreen: no tray, so the dashboard shows
    assert seen["torch_after_start"] is False and seen["torch_after_job"] is False
    assert seen["paused_line"] == "Paused: by you"
    # committed: training is over, so the panel shows the last job (no stale 100 %), or still the job
    assert seen["job_panel"]["title"] in (
        f"Last job: task {task_id}",
        f"Task {task_id}: {task_words(spec['name']).capitalize()}",
    )
    assert seen["job_panel"]["points"] >= 2 and seen["job_panel"]["loss"] != "–"
    assert [s for s in ("claimed", "training", "committed", "paid") if s in seen["job_states"]] == [
        "claimed", "training", "committed", "paid"]
    total = (REWARD + STAKE) / 10**18
    assert seen["claimable"] == f"{total:g} ETH" and seen["withdrawn"] == f"{total:g} ETH"
    assert seen["withdraw_button"].startswith(f"Withdraw {total:g} ETH… (fee ≈ ")
    assert seen["plan"] == REWARD + STAKE                 # the confirmation was asked, with the amount
    assert seen["withdraw_status"].startswith("Withdrawn: transaction 0x")
    assert seen["event_log_has_claim"] and seen["notifications"] == ["Paid today", "Withdrawn"]
    assert seen["states"][-1] == "stopped"                 # Quit stopped the worker cleanly

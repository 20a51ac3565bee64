"""``idlegrid search`` on a real network (anvil, blob server, an honest worker subprocess):
the coordinator is killed with SIGKILL mid-search and started again; the search finishes with
every candidate evaluated once, and the chain shows each candidate's spec posted exactly once.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from engine.chain.market import TaskPosted
from tests.e2e import roles
from tests.e2e.actors import HONEST, REQUESTER
from tests.e2e.network import TestNet
from tests.e2e.procs import Procs, wait_until

pytestmark = pytest.mark.slow
BUDGET = 6


def tiny_space(root: Path) -> Path:
    """The shipped digits space cut to 20 steps per candidate (a blink of training each)."""
    space = json.loads((Path(__file__).parents[2] / "resources" / "search" / "digits.json").read_text())
    space["base"].update(steps=20, checkpoint_every=10, schedule={"kind": "constant"})
    path = root / "space.json"
    path.write_text(json.dumps(space))
    return path


def done_count(db: Path) -> int:
    if not db.exists():
        return 0
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10) as conn:
        try:
            return int(conn.execute("SELECT COUNT(*) FROM candidates WHERE state = 'done'").fetchone()[0])
        except sqlite3.OperationalError:
            return 0


def test_a_search_killed_with_sigkill_resumes_with_nothing_lost_or_posted_twice(tmp_path: Path) -> None:
    procs = Procs(tmp_path / "logs")
    try:
        with TestNet(tmp_path / "net") as net:
            requester = net.actor("requester", REQUESTER)
            roles.worker(procs, net.actor("honest", HONEST))
            space, out = tiny_space(tmp_path), tmp_path / "search"
            argv = ("search", str(space), "--budget", str(BUDGET), "--parallel", "2", "--population", "3",
                    "--sample", "2", "--poll", "0.2", "--devnet", "--dev-account", str(REQUESTER), "--out", str(out))
            first_block = net.w3.eth.block_number
            first = procs.idlegrid("search-1", requester, *argv)
            wait_until(lambda: done_count(out / "search.sqlite3") >= 2, 300, "two candidates evaluated", procs=procs)
            first.kill9()
            assert first.returncode != 0
            second = procs.idlegrid("search-2", requester, *argv)
            assert second.wait(600) == 0, second.tail()
            text = second.text()

            posted = [e for e in roles.market_events(net, first_block) if isinstance(e, TaskPosted)]
            mine = [e for e in posted if e.requester == requester.address]
            with sqlite3.connect(out / "search.sqlite3") as conn:
                rows = conn.execute("SELECT id, spec_sha, state, value FROM candidates").fetchall()
                tasks = dict(conn.execute("SELECT task_id, candidate_id FROM tasks").fetchall())
            assert len(rows) == BUDGET and all(state == "done" and value is not None for _, _, state, value in rows)
            # each candidate's spec went on chain exactly once, and every post the chain has is one the search knows
            assert sorted(e.spec_hash.hex() for e in mine) == sorted(sha for _, sha, _, _ in rows)
            assert sorted(e.task_id for e in mine) == sorted(tasks)
            assert "best:" in text and (out / "best-fitness.png").stat().st_size > 1000
            assert len(json.loads((out / "results.json").read_text())["candidates"]) == BUDGET
    finally:
        procs.close()

"""v2's ledger kinds in the dashboard, from a real SQLite history into real Qt widgets: audit
fees, stakes won on data faults and demand bonds count as earned; a void dispute's stake and bond
come back as returned (never earned); jury fines are lost beside what was slashed. The jobs tab
says what a void dispute did."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.dashboard import DashboardWindow
from app.dashboard.history_panel import job_details
from app.engine_host import NetworkInfo
from app.notify import NOTICE_TITLES, notice_topic
from engine.events import EngineEvent, Kind
from engine.history import History
from tests.gui.conftest import noon_today

ETH = 10**18
MARKET = "0x5FbDB2315678afecb367f032d93F642f64180aa3"


@pytest.fixture
def history(tmp_path: Path) -> Iterator[History]:
    h = History.open(tmp_path / "history.sqlite3")
    yield h
    h.close()


def fill(history: History, at: float) -> None:
    """A worker's and a verifier's year on v2, one entry per movement (each its own tx)."""
    rows = [
        (1, "stake", ETH // 20), (1, "reward", ETH // 2), (1, "stake_returned", ETH // 20),  # a job paid
        (1, "reward", ETH // 25),                       # a dispute on it won: the bond less the jurors' cut
        (2, "demand_bond", ETH // 100),                 # a data demand answered
        (3, "stake", ETH // 20), (3, "stake_returned", ETH // 20),  # a void dispute: the stake back
        (4, "audit_fee", ETH // 50),                    # an assigned audit, revealed
        (5, "juror_reward", 3 * ETH // 1000),
        (6, "fine", ETH // 100), (7, "fine", ETH // 100),  # a wrong vote, a vote not revealed
        (8, "bond", ETH // 100), (8, "bond_returned", ETH // 100), (8, "data_fault", ETH // 20),  # demanded, unanswered
        (9, "bond", ETH // 20), (9, "bond_returned", ETH // 20),  # a challenge made void: the bond back
        (10, "slashed", ETH // 20),
        (None, "gas", 10**15), (None, "withdrawn", ETH // 10),
    ]
    for i, (task, kind, amount) in enumerate(rows):
        history.add_ledger(31337, MARKET, task, kind, amount, tx_hash=f"0x{i:064x}", at=at)


def test_the_dashboard_counts_each_kind_as_earned_returned_or_lost_under_its_label(
        qtbot, qapp, bridge, history: History) -> None:
    now = noon_today()
    fill(history, now - 60)
    window = DashboardWindow(qapp, bridge, history=history, history_path=history.path, gpu_backend=None)
    qtbot.addWidget(window, before_close_func=DashboardWindow.shutdown)
    window.set_network(NetworkInfo(31337, MARKET, devnet=True))
    panel = window.earnings_panel

    earned = ETH // 2 + ETH // 25 + ETH // 100 + ETH // 50 + 3 * ETH // 1000 + ETH // 20  # 0.623
    returned = ETH // 20 + ETH // 20 + ETH // 100 + ETH // 20                             # 0.16
    assert panel.profits["all"].reward_wei == earned == panel.profits["today"].reward_wei
    assert panel.period_labels[("reward", "all")].text().startswith("0.623 ETH")
    assert panel.labels["returned"].text().startswith("0.16 ETH") and returned == 16 * ETH // 100
    assert panel.labels["fined"].text().startswith("0.02 ETH")
    assert panel.labels["slashed"].text().startswith("0.05 ETH")
    assert panel.labels["claimable"].text().startswith(f"{(earned + returned - ETH // 10) / ETH:g} ETH")
    shown = {kind: (panel.kind_titles[kind].text(), panel.kind_flows[kind].text(),
                    panel.kind_values[kind].text().split(" (")[0])
             for kind in panel.kind_values if not panel.kind_values[kind].isHidden()}
    assert shown == {
        "reward": ("Task rewards and disputes won", "earned", "0.54 ETH"),
        "juror_reward": ("Juror rewards", "earned", "0.003 ETH"),
        "audit_fee": ("Audit fees", "earned", "0.02 ETH"),
        "data_fault": ("Stakes won on data faults", "earned", "0.05 ETH"),
        "demand_bond": ("Data demand bonds", "earned", "0.01 ETH"),
        "stake_returned": ("Stakes returned", "returned", "0.1 ETH"),
        "bond_returned": ("Bonds returned", "returned", "0.06 ETH"),
        "slashed": ("Lost to disputes", "lost", "0.05 ETH"),
        "fine": ("Jury fines", "lost", "0.02 ETH"),
        "gas": ("Gas fees", "spent", "0.001 ETH"),
        "withdrawn": ("Withdrawn", "withdrawn", "0.1 ETH"),
    }
    assert "stake" not in panel.kind_values and panel.kind_titles["refund"].isHidden()  # locked; none
    assert window.summary.text().startswith("Earned today: 0.623 ETH")


def test_an_empty_ledger_hides_the_breakdown(qtbot, qapp, bridge, history: History) -> None:
    window = DashboardWindow(qapp, bridge, history=history, history_path=history.path, gpu_backend=None)
    qtbot.addWidget(window, before_close_func=DashboardWindow.shutdown)
    window.set_network(NetworkInfo(31337, MARKET, devnet=True))
    assert window.earnings_panel.breakdown.isHidden()
    history.add_ledger(31337, MARKET, 1, "audit_fee", ETH // 50, tx_hash="0x01")
    window.refresh()
    assert not window.earnings_panel.breakdown.isHidden()


def test_a_void_dispute_reads_as_stake_returned_in_the_jobs_tab_and_its_notice(history: History) -> None:
    record = history.upsert_job(31337, MARKET, 3, "worker", name="digits-mlp", state="void", outcome="void",
                                reward=ETH // 2, stake=ETH // 20)
    assert "Status: Stake returned, no reward: no jury reached a verdict" in job_details(record)
    notice = EngineEvent(Kind.NOTICE, "task 3: dispute 9 was void (no jury reached a verdict); stake of 0.05 ETH "
                                      "returned, no reward, the task reopened", 3)
    assert NOTICE_TITLES[notice_topic(notice)][0] == "Dispute void: stake returned"
    won = EngineEvent(Kind.NOTICE, "task 1: the jury upheld our result in dispute 4; won 0.04 ETH", 1)
    assert NOTICE_TITLES[notice_topic(won)][0] == "Dispute won"

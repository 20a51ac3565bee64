"""The history tab over a real SQLite history: sortable, filterable, details, live refresh."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from app.application import Application
from app.dashboard import DashboardWindow
from app.dashboard.history_model import RECORD_ROLE
from app.dashboard.history_panel import HistoryPanel
from app.dashboard.history_watch import POLL_MS, HistoryWatcher
from app.engine_host import NetworkInfo
from engine.events import EngineState
from engine.history import History
from tests.gui.conftest import progress_event, state_event

MARKET = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
ETH = 10**18


@pytest.fixture
def history(tmp_path: Path) -> Iterator[History]:
    h = History.open(tmp_path / "history.sqlite3")
    yield h
    h.close()


def _jobs(history: History) -> None:
    history.upsert_job(
        31337,
        MARKET,
        1,
        "worker",
        name="digits-mlp",
        state="paid",
        outcome="paid",
        reward=5 * ETH // 10,
        steps=600,
        steps_done=600,
        loss=0.04,
        merkle_root="0x" + "ab" * 32,
    )
    history.upsert_job(31337, MARKET, 2, "worker", name="tiny-charlm", state="training", reward=12 * ETH, steps=300,
                       steps_done=100, loss=2.5)
    history.upsert_job(31337, MARKET, 10, "verifier", name="digits-cnn", state="checked", reward=ETH // 100)
    history.record_tx(31337, MARKET, 1, "worker", "claim", "0x" + "11" * 32, 21_000)


def _column(panel: HistoryPanel, column: int) -> list[str]:
    return [panel.proxy.index(r, column).data() for r in range(panel.proxy.rowCount())]


def test_rows_sort_by_value_not_by_text_and_filter_on_any_column(qtbot, history: History) -> None:
    _jobs(history)
    panel = HistoryPanel()
    qtbot.addWidget(panel)
    panel.set_jobs(history.jobs())
    panel.table.sortByColumn(7, Qt.SortOrder.AscendingOrder)        # reward: 0.01 < 0.5 < 12 ETH
    assert _column(panel, 0) == ["10", "1", "2"]
    panel.table.sortByColumn(0, Qt.SortOrder.DescendingOrder)       # task id: 10 > 2 > 1, not "2" > "10"
    assert _column(panel, 0) == ["10", "2", "1"]
    panel.filter.setText("CHARLM")
    assert _column(panel, 1) == ["tiny-charlm"]
    panel.filter.setText("verifier")
    assert _column(panel, 0) == ["10"]


def test_selecting_a_job_shows_its_root_transactions_and_outcome(qtbot, history: History) -> None:
    _jobs(history)
    panel = HistoryPanel()
    qtbot.addWidget(panel)
    panel.set_jobs(history.jobs())
    row = next(r for r in range(panel.proxy.rowCount()) if panel.proxy.index(r, 0).data() == "1")
    panel.table.selectRow(row)
    text = panel.detail.toPlainText()
    plain, advanced = text.split("\nAdvanced\n")
    assert plain.startswith("Training a digits model (task 1, as the worker)\nStatus: Paid")
    assert "Progress: 600 of 600 steps, final loss 0.0400" in plain and "Reward: 0.5 ETH" in plain
    assert "0x" not in plain                                          # hashes only under Advanced
    assert "merkle root: 0x" + "ab" * 32 in advanced and "claim: 0x" + "11" * 32 in advanced
    assert "outcome: paid" in advanced and "the local test network (devnet)" in advanced
    history.upsert_job(31337, MARKET, 2, "worker", steps_done=200)   # a refresh keeps the selection
    panel.set_jobs(history.jobs())
    selected = panel.table.selectionModel().selectedRows()
    assert [i.data(RECORD_ROLE).task_id for i in selected] == [1]


def test_a_refresh_keeps_the_details_scrolled_where_the_reader_left_them(qtbot, history: History) -> None:
    _jobs(history)
    for action in ("commit", "finalize", "withdraw", "upload", "reveal", "claim2"):
        history.record_tx(31337, MARKET, 1, "worker", action, "0x" + action.encode().hex().ljust(64, "0"), 21_000)
    panel = HistoryPanel()
    qtbot.addWidget(panel)
    panel.resize(500, 300)
    panel.show()
    panel.set_jobs(history.jobs())
    row = next(r for r in range(panel.proxy.rowCount()) if panel.proxy.index(r, 0).data() == "1")
    panel.table.selectRow(row)
    bar = panel.detail.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() > 2)
    bar.setValue(bar.maximum())
    history.upsert_job(31337, MARKET, 2, "worker", steps_done=250)  # another job changed: a refresh
    panel.set_jobs(history.jobs())
    history.upsert_job(31337, MARKET, 1, "worker", loss=0.03)       # this job changed: new text, same place
    panel.set_jobs(history.jobs())
    assert "final loss 0.0300" in panel.detail.toPlainText()
    assert bar.value() == bar.maximum() > 0


def test_the_watcher_fires_on_another_connections_commit_only(qtbot, history: History) -> None:
    _jobs(history)
    watcher = HistoryWatcher(history.path)
    fired: list[int] = []
    watcher.changed.connect(lambda: fired.append(1))
    watcher.start()
    assert fired == [1] and watcher.timer.interval() >= POLL_MS
    watcher.poll()
    assert fired == [1]                                              # nothing written: no re-read
    t = threading.Thread(target=lambda: history.upsert_job(31337, MARKET, 3, "worker", name="new"))
    t.start()
    t.join()
    watcher.poll()
    assert fired == [1, 1]
    watcher.close()


def test_the_dashboard_reads_jobs_and_earnings_while_visible(
    qtbot, qapp: Application, bridge, history: History
) -> None:
    _jobs(history)
    history.add_ledger(31337, MARKET, 1, "reward", 5 * ETH // 10, tx_hash="0x" + "22" * 32)
    path = history.path
    window = DashboardWindow(qapp, bridge, history=history, history_path=path, gpu_backend=None)
    qtbot.addWidget(window, before_close_func=DashboardWindow.shutdown)
    window.set_network(NetworkInfo(31337, MARKET, devnet=True))
    window.show()
    qtbot.waitUntil(lambda: window.history_panel.model.rowCount() == 3)
    assert window.watcher is not None and window.watcher.timer.isActive()
    assert sum(v for _, v in window.earnings_panel.chart.bars) == 0.5
    assert window.earnings_panel.period_labels[("reward", "today")].text() == "0.5 ETH"
    window.hide()
    assert not window.watcher.timer.isActive()                      # hidden: no polling at all


def test_the_training_row_shows_the_job_panels_step_and_loss_not_the_last_checkpoints(
    qtbot, qapp: Application, bridge, emit, history: History
) -> None:
    """The history database is written at checkpoints, so its row for the job in training lagged
    the job panel ("83 %" above a row saying 300/600, issue 18). Both now read the state model."""
    _jobs(history)  # task 2 is training: 100/300 in the database
    window = DashboardWindow(qapp, bridge, history=history, history_path=history.path, gpu_backend=None)
    qtbot.addWidget(window, before_close_func=DashboardWindow.shutdown)
    window.set_network(NetworkInfo(31337, MARKET, devnet=True))
    window.show()
    panel = window.history_panel
    qtbot.waitUntil(lambda: panel.model.rowCount() == 3)

    def row_of(task: int) -> tuple[str, str]:
        rows = [r for r in range(panel.proxy.rowCount()) if panel.proxy.index(r, 0).data() == str(task)]
        return panel.proxy.index(rows[0], 5).data(), panel.proxy.index(rows[0], 6).data()

    assert row_of(2) == ("100/300", "2.5000")
    emit(state_event(EngineState.WORKING, "training task 2"))
    emit(progress_event(2, 250, 300, 0.75))
    qtbot.waitUntil(lambda: row_of(2) == ("250/300", "0.7500"))
    assert window.state.now.progress_text.startswith("83 %")
    assert row_of(1) == ("600/600", "0.0400")  # other rows are the database's
    emit(state_event(EngineState.WAITING, "looking for tasks"))  # the job ended: the database's row again
    qtbot.waitUntil(lambda: row_of(2) == ("100/300", "2.5000"))

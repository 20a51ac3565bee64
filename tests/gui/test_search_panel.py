"""The dashboard's Search tab over real search states (the real coordinator's SQLite, written
turn by turn): counts, best and its spec, costs, the candidates table, the chart, live
updates while the search runs, the exports, the empty state, and files that are no search."""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from app.application import Application
from app.dashboard import DashboardWindow
from app.dashboard.search_data import START_COMMAND
from app.dashboard.search_panel import Export, SearchPanel
from app.format import eth
from engine.search.coordinator import Coordinator
from engine.search.results import build_report, write_exports
from engine.search.space import SearchSpace
from engine.search.state import CandidateState, SearchState
from engine.tasks.load import canonical_json
from tests.gui.search_fixtures import start_search, turn_until

WAIT_MS = 60_000        # a loaded machine may take long; each wait ends as soon as its condition holds


def wait(qtbot, condition) -> None:  # type: ignore[no-untyped-def]
    qtbot.waitUntil(condition, timeout=WAIT_MS)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "searches"


@pytest.fixture
def mixed(root: Path) -> Coordinator:
    """A digits search with results, candidates on the market and a dropped one (its worker
    vanished and it had one attempt); the best candidate's spec file as ChainMarket writes it."""
    c = start_search(root / "digits", budget=8, parallel=2, lose_every=2, max_attempts=1)
    turn_until(c, lambda p: p.done >= 2 and p.dropped >= 1 and p.in_flight >= 1)
    write_spec_files(c)
    return c


def write_spec_files(c: Coordinator) -> None:
    for row in c.state.candidates():
        spec = root_spec(c.space, row.params)
        (c.state.path.parent / "specs").mkdir(exist_ok=True)
        (c.state.path.parent / "specs" / f"{row.spec_sha}.json").write_bytes(spec)


def root_spec(space: SearchSpace, params: dict) -> bytes:
    return canonical_json(space.build(params).checked.spec)


def panel_on(qtbot, root: Path, **kwargs) -> SearchPanel:  # type: ignore[no-untyped-def]
    panel = SearchPanel(root, **kwargs)
    qtbot.addWidget(panel, before_close_func=SearchPanel.shutdown)
    panel.resize(900, 600)
    panel.show()
    return panel


def states_in(state: SearchState) -> list[str]:
    return sorted(r.state.value for r in state.candidates())


def test_the_tab_shows_counts_best_and_its_spec_costs_table_and_curve(qtbot, root: Path, mixed: Coordinator) -> None:
    p = mixed.progress()
    panel = panel_on(qtbot, root)
    wait(qtbot, lambda: panel.snapshot is not None)
    assert panel.chooser.currentText() == "digits" and panel.error_line.isHidden()
    assert panel.progress.text().startswith(
        f"Candidates: {p.done} done, {p.in_flight} in flight, {p.dropped} dropped; budget 8")
    assert p.best is not None and f"Best accuracy: {p.best:.4f}" in panel.best.text()
    best = next(r for r in mixed.state.candidates(CandidateState.DONE) if r.value == p.best)
    spec_name = mixed.space.build(best.params).checked.spec.name
    assert f"(candidate {best.id})\n{spec_name}: Flatten" in panel.best.text()
    assert panel.cost.text().startswith(f"Spent: {eth(p.spent_wei)} (rewards ")
    model = panel.model
    assert model.rowCount() == mixed.state.count() == p.done + p.in_flight + p.dropped
    shown_states = sorted(model.index(r, 4).data() for r in range(model.rowCount()))
    assert shown_states == states_in(mixed.state)
    assert model.headerData(3, Qt.Orientation.Horizontal) == "Accuracy"
    assert model.index(0, 0).data() == "1" and model.index(0, 3).data() == f"{p.best:.4f}"
    dropped = [r for r in range(model.rowCount()) if model.index(r, 4).data() == "dropped"]
    assert [model.index(r, 3).data() for r in dropped] == ["–"] * p.dropped
    assert panel.chart.xs == [float(n) for n in range(1, p.done + 1)] and panel.chart.ys[-1] == p.best


def test_the_tab_follows_a_running_search_as_candidates_complete(qtbot, root: Path) -> None:
    c = start_search(root / "digits", budget=6, parallel=2)
    panel = panel_on(qtbot, root)
    wait(qtbot, lambda: panel.progress.text().startswith("Candidates: 0 done, 0 in flight"))
    assert panel.best.text() == "Best: no result yet" and panel.chart.xs == []
    p = turn_until(c, lambda p: p.in_flight == 2)
    wait(qtbot, lambda: panel.progress.text().startswith("Candidates: 0 done, 2 in flight"))
    assert panel.model.rowCount() == 2
    p = turn_until(c, lambda p: p.done == 1)
    wait(qtbot, lambda: panel.progress.text().startswith(f"Candidates: 1 done, {p.in_flight} in flight"))
    assert p.best is not None and f"Best accuracy: {p.best:.4f}" in panel.best.text()
    assert len(panel.chart.xs) == 1
    p = turn_until(c, lambda p: p.done == 6)
    wait(qtbot, lambda: panel.progress.text().startswith("Candidates: 6 done, 0 in flight, 0 dropped; budget 6"))
    assert panel.model.rowCount() == 6 and len(panel.chart.xs) == 6
    assert panel.cost.text().startswith(f"Spent: {eth(p.spent_wei)} ")


def test_exports_are_the_files_the_cli_writes(qtbot, root: Path, mixed: Coordinator, tmp_path: Path) -> None:
    asked: list[tuple[Export, Path]] = []

    def ask(_parent, kind: Export, suggested: Path) -> Path:  # type: ignore[no-untyped-def]
        asked.append((kind, suggested))
        return tmp_path / f"out.{kind.value}"

    panel = panel_on(qtbot, root, ask_path=ask)
    wait(qtbot, lambda: panel.snapshot is not None)
    cli = tmp_path / "cli"                         # what `idlegrid search` writes, from the real space
    cli.mkdir()
    write_exports(build_report(mixed.space, mixed.state), cli)
    panel.export_buttons[Export.CSV].click()
    panel.export_buttons[Export.JSON].click()
    assert (tmp_path / "out.csv").read_bytes() == (cli / "results.csv").read_bytes()
    assert (tmp_path / "out.json").read_bytes() == (cli / "results.json").read_bytes()
    assert asked == [(Export.CSV, root / "digits" / "results.csv"), (Export.JSON, root / "digits" / "results.json")]
    assert panel.note.text() == f"Wrote {mixed.state.count()} candidates to {tmp_path / 'out.json'}"
    assert panel.export(Export.CSV) is not None
    panel.ask_path = lambda *_: tmp_path / "no such folder" / "x.csv"
    assert panel.export(Export.CSV) is None
    assert panel.note.text().startswith(f"Could not write {tmp_path / 'no such folder' / 'x.csv'}: ")


def test_without_searches_the_tab_says_how_to_start_one(qtbot, root: Path) -> None:
    panel = panel_on(qtbot, root)
    wait(qtbot, lambda: panel.watcher._listed is not None)
    assert panel.pages.currentWidget() is panel.empty and START_COMMAND in panel.empty.text()
    assert str(root) in panel.empty.text()
    assert not panel.export_buttons[Export.CSV].isEnabled() and panel.error_line.isHidden()
    start_search(root / "digits").state.close()                    # a search appears: the tab shows it
    wait(qtbot, lambda: panel.pages.currentWidget() is not panel.empty and panel.snapshot is not None)
    assert panel.chooser.currentText() == "digits"


NOT_SQLITE = "not a search state (the file is not an SQLite database, or it is corrupt)"


@pytest.mark.parametrize(("content", "line"), [
    (b"SQLite format 3\x00" + b"\xff" * 4000, NOT_SQLITE),     # an SQLite header, then garbage
    (b"just some text, not a database\n" * 50, NOT_SQLITE),
    ("foreign", "not an idlegrid search state (no such table: meta)"),
    ("not started", "this search has not started yet (nothing recorded)"),
    ("bad settings", "a damaged search state (its settings hold no space)"),
])
def test_a_file_that_is_no_readable_search_gives_one_line(qtbot, root: Path, content: object, line: str) -> None:
    path = root / "broken" / "search.sqlite3"
    path.parent.mkdir(parents=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content == "foreign":
        with sqlite3.connect(path) as db:
            db.execute("CREATE TABLE jobs (id INTEGER)")
        db.close()
    else:
        state = SearchState(path)
        if content == "bad settings":
            state.set_meta(settings={"sampler": "evolution"})
        state.close()
    panel = panel_on(qtbot, root)
    wait(qtbot, lambda: panel.error_line.isVisible())
    assert panel.error_line.text().startswith(f"{path}: {line}")
    assert "\n" not in panel.error_line.text() and "Traceback" not in panel.error_line.text()
    assert panel.snapshot is None and panel.model.rowCount() == 0
    assert not panel.export_buttons[Export.JSON].isEnabled()


def test_choosing_another_search_shows_it_and_a_broken_one_does_not_hide_the_others(
    qtbot, root: Path, mixed: Coordinator
) -> None:
    broken = root / "broken" / "search.sqlite3"
    broken.parent.mkdir()
    broken.write_bytes(b"garbage" * 100)
    later = time.time() + 60
    os.utime(broken, (later, later))                               # the newest: shown first
    panel = panel_on(qtbot, root)
    wait(qtbot, lambda: panel.error_line.isVisible() and panel.chooser.count() == 2)
    assert panel.chooser.currentText() == "broken"
    index = panel.chooser.findText("digits")
    panel.chooser.setCurrentIndex(index)
    panel.chooser.activated.emit(index)
    wait(qtbot, lambda: panel.snapshot is not None)
    assert panel.error_line.isHidden() and panel.model.rowCount() == mixed.state.count()
    p = turn_until(mixed, lambda p: p.done == 3)                   # followed after the switch
    wait(qtbot, lambda: panel.progress.text().startswith(f"Candidates: 3 done, {p.in_flight} in flight"))
    assert panel.chooser.currentText() == "digits" and panel.error_line.isHidden()


def test_the_dashboard_has_a_search_tab_that_reads_only_while_on_screen(
    qtbot, qapp: Application, bridge, root: Path, mixed: Coordinator
) -> None:
    window = DashboardWindow(qapp, bridge, gpu_backend=None, search_root=root)
    qtbot.addWidget(window, before_close_func=DashboardWindow.shutdown)
    window.show()
    panel = window.search_panel
    assert window.tabs.tabText(window.tabs.indexOf(panel)) == "&Search"
    assert not panel.watcher.timer.isActive()                      # another tab is on screen
    window.tabs.setCurrentWidget(panel)
    wait(qtbot, lambda: panel.snapshot is not None)
    assert panel.watcher.timer.isActive()
    window.tabs.setCurrentIndex(0)
    assert not panel.watcher.timer.isActive()
    window.activateWindow()
    wait(qtbot, lambda: qapp.activeWindow() is window)
    qtbot.keyClick(window, Qt.Key.Key_5, Qt.KeyboardModifier.ControlModifier)
    assert window.tabs.currentWidget() is panel and panel.watcher.timer.isActive()


def test_a_big_search_shows_the_first_rows_and_says_the_exports_have_all(
    qtbot, root: Path, mixed: Coordinator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("app.dashboard.search_data.MAX_ROWS", 2)
    panel = panel_on(qtbot, root)
    wait(qtbot, lambda: panel.snapshot is not None)
    total = mixed.state.count()
    assert panel.model.rowCount() == 2 < total
    assert panel.more.text() == f"The table shows the first 2 of {total} candidates; the exports have all."
    assert panel.more.isVisible() and len(panel.snapshot.report.rows) == total


def test_closing_the_watcher_waits_for_the_read_in_flight(qtbot, root: Path, mixed: Coordinator) -> None:
    # a read thread still running when Qt deletes the watcher on quit signals into freed memory
    # (`make screenshots` died with "double free or corruption" after its Search tab shot)
    import threading

    from app.dashboard.search_watch import SearchWatcher

    watcher = SearchWatcher(root)
    watcher.poll(force=True)
    watcher.close()
    assert [t for t in threading.enumerate() if t.name == "idlegrid-search"] == []
